//! Per-person lists → `recommended_content` (users), `recommended_content_for_group` (groups) and
//! `recommendation_launched_result` (sandbox profiles), for all six media.
//!
//! Three engines feed a person's list in each medium, each keeping its `PER_ENGINE` best contents:
//! * `CollaborativeFiltering` (priority 5): the collaborative model folded in with the person's
//!   current interactions (`collaborative::fold_in`);
//! * `FromProfile` (4): the most popular contents of the genres the person likes (cold start: a
//!   medium where nothing else applies gets its most popular contents);
//! * `FromSimilarContent` (2): the content-similarity neighbours of what the person liked.
//!
//! A content found by several engines is kept once, under the highest priority. Its stored `score` is
//! the engine's relevance scaled to [0, 1] within the list, times priority / 5, so that the routes'
//! `ORDER BY score DESC` puts the strongest collaborative picks first and still lets a very close
//! similar content outrank a weak collaborative guess. Nothing the person consumed (rated or
//! counted) or reported as a bad recommendation is ever listed.
//!
//! Lists are a function of the current data, so recomputing one is always safe: the stage's events
//! only say whose lists are stale (the authors of new interactions), and a full run recomputes all.
//! Rows naming contents deleted since are removed by `clean_deleted` before each run of the stage
//! (not by the fold-ins: a rating must not wait for its scan).

use super::collaborative::{self, best, fold_in};
use super::due;
use super::taste::Interaction;
use super::{EngineError, RunOutcome, Window, commit, window};
use crate::media::MEDIA;
use crate::util::idhash::{IdMap, IdSet};
use rusqlite::{Connection, Transaction, params};
use std::collections::BTreeSet;

pub const STAGE: &str = "recommendations";
/// Contents each engine keeps per person and medium.
pub const PER_ENGINE: usize = 10;
/// A person's strongest interactions that seed collaborative and similar contents.
const HISTORY_CAP: usize = 200;
/// Popular contents per medium that "liked genres" choose from.
const POOL: usize = 600;
/// Users computed together in a full run (halves on each core).
const CHUNK: usize = 250;
/// Users (or groups) per write transaction in a full run, about `super::ROWS_PER_TRANSACTION` rows:
/// the API's writers wait for one of them at most.
const PEOPLE_PER_TRANSACTION: usize = 80;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Engine {
    FromSimilarContent,
    FromProfile,
    CollaborativeFiltering,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::FromSimilarContent => "FromSimilarContent",
            Engine::FromProfile => "FromProfile",
            Engine::CollaborativeFiltering => "CollaborativeFiltering",
        }
    }

    pub fn priority(self) -> i64 {
        match self {
            Engine::FromSimilarContent => 2,
            Engine::FromProfile => 4,
            Engine::CollaborativeFiltering => 5,
        }
    }

    fn by_name(name: &str) -> Option<Engine> {
        [
            Engine::FromSimilarContent,
            Engine::FromProfile,
            Engine::CollaborativeFiltering,
        ]
        .into_iter()
        .find(|e| e.name() == name)
    }
}

/// What the lists of one person are computed from.
#[derive(Debug, Default, Clone)]
pub struct Person {
    /// Per medium (index in `MEDIA`): (content id, interaction).
    pub interactions: Vec<Vec<(i64, Interaction)>>,
    /// Per medium: the liked genres of that medium.
    pub liked_genres: Vec<IdSet<i64>>,
    pub reported: IdSet<i64>,
}

impl Person {
    fn empty() -> Person {
        Person {
            interactions: vec![Vec::new(); MEDIA.len()],
            liked_genres: vec![IdSet::default(); MEDIA.len()],
            reported: IdSet::default(),
        }
    }
}

/// One recommended content.
#[derive(Debug, Clone, PartialEq)]
pub struct Pick {
    pub content_id: i64,
    pub engine: Engine,
    /// In [0, 1]; the stored score (see the module docs).
    pub score: f64,
    pub medium: usize,
}

/// A popular content with its genres.
struct Popular {
    content_id: i64,
    popularity: f32,
    genres: Vec<i64>,
}

/// Which neighbour lists a `Lists` reads.
#[derive(Clone, Copy)]
enum Model {
    Collaborative,
    Similar,
}

/// Neighbour lists, all preloaded for a medium (full run) or read on demand and cached.
struct Lists {
    model: Model,
    cache: IdMap<i64, Vec<(i64, f32)>>,
    complete: bool,
    /// Read on demand: contents deleted since the model's stage last ran, which its stored lists
    /// may still name (V11); they are no candidates.
    gone: Option<IdSet<i64>>,
}

impl Lists {
    fn lazy(model: Model) -> Lists {
        Lists {
            model,
            cache: IdMap::default(),
            complete: false,
            gone: None,
        }
    }

    /// Every list of one medium, in one pass, naming only `live` contents (by id: the content's
    /// medium, `None` when there is no such content).
    fn preload(
        conn: &Connection,
        model: Model,
        content_type: &str,
        live: &[Option<u8>],
    ) -> rusqlite::Result<Lists> {
        let is_live = |id: i64| {
            usize::try_from(id)
                .ok()
                .and_then(|i| live.get(i).copied().flatten())
                .is_some()
        };
        let mut cache: IdMap<i64, Vec<(i64, f32)>> = IdMap::default();
        match model {
            Model::Collaborative => {
                let mut stmt = conn.prepare(
                    "SELECT n.content_id, n.neighbours FROM collaborative_neighbours n
                     JOIN content c ON c.content_id = n.content_id WHERE c.content_type = ?1",
                )?;
                let mut rows = stmt.query([content_type])?;
                while let Some(row) = rows.next()? {
                    let blob: Vec<u8> = row.get(1)?;
                    let mut list = collaborative::unpack(&blob);
                    list.retain(|(id, _)| is_live(*id));
                    cache.insert(row.get(0)?, list);
                }
            }
            Model::Similar => {
                let mut stmt = conn.prepare(
                    "SELECT content_id0, content_id1, similarity FROM similars_content WHERE content_type0 = ?1",
                )?;
                let mut rows = stmt.query([content_type])?;
                while let Some(row) = rows.next()? {
                    let similarity: Option<f64> = row.get(2)?;
                    let neighbour: i64 = row.get(1)?;
                    if is_live(neighbour) {
                        cache
                            .entry(row.get(0)?)
                            .or_default()
                            .push((neighbour, similarity.unwrap_or(0.0) as f32));
                    }
                }
            }
        }
        Ok(Lists {
            model,
            cache,
            complete: true,
            gone: None,
        })
    }

    fn load(&mut self, conn: &Connection, ids: &[i64]) -> rusqlite::Result<()> {
        if self.complete {
            return Ok(());
        }
        let gone = match &mut self.gone {
            Some(gone) => gone,
            slot => {
                let stage = match self.model {
                    Model::Collaborative => collaborative::STAGE,
                    Model::Similar => super::similarity::STAGE,
                };
                slot.insert(super::deleted_since(conn, super::watermark(conn, stage)?)?)
            }
        };
        for id in ids {
            if self.cache.contains_key(id) {
                continue;
            }
            let mut list: Vec<(i64, f32)> = match self.model {
                Model::Collaborative => collaborative::stored(conn, *id)?,
                Model::Similar => conn
                    .prepare_cached(
                        "SELECT content_id1, similarity FROM similars_content WHERE content_id0 = ?1",
                    )?
                    .query_map([id], |r| {
                        Ok((r.get(0)?, r.get::<_, Option<f64>>(1)?.unwrap_or(0.0) as f32))
                    })?
                    .collect::<Result<_, _>>()?,
            };
            list.retain(|(neighbour, _)| !gone.contains(neighbour));
            self.cache.insert(*id, list);
        }
        Ok(())
    }

    fn get(&self, id: i64) -> Option<&[(i64, f32)]> {
        self.cache.get(&id).map(Vec::as_slice)
    }
}

/// Models and popular pools, per medium.
pub struct Sources {
    collaborative: Vec<Lists>,
    similar: Vec<Lists>,
    pools: Vec<Option<Vec<Popular>>>,
}

impl Sources {
    /// Reads what a person needs on demand (incremental runs, one user, one profile).
    pub fn lazy() -> Sources {
        Sources {
            collaborative: MEDIA
                .iter()
                .map(|_| Lists::lazy(Model::Collaborative))
                .collect(),
            similar: MEDIA.iter().map(|_| Lists::lazy(Model::Similar)).collect(),
            pools: MEDIA.iter().map(|_| None).collect(),
        }
    }

    /// Preloads one medium's models (full runs go medium by medium to bound memory).
    fn preload_medium(
        &mut self,
        conn: &Connection,
        medium: usize,
        live: &[Option<u8>],
    ) -> rusqlite::Result<()> {
        let content_type = MEDIA[medium].table.content_type;
        self.collaborative[medium] =
            Lists::preload(conn, Model::Collaborative, content_type, live)?;
        self.similar[medium] = Lists::preload(conn, Model::Similar, content_type, live)?;
        Ok(())
    }

    fn release_medium(&mut self, medium: usize) {
        self.collaborative[medium] = Lists::lazy(Model::Collaborative);
        self.similar[medium] = Lists::lazy(Model::Similar);
    }

    fn load_pool(&mut self, conn: &Connection, medium: usize) -> rusqlite::Result<()> {
        if self.pools[medium].is_some() {
            return Ok(());
        }
        let pool: Vec<Popular> = conn
            .prepare_cached(
                "SELECT p.content_id, p.score, group_concat(cg.genre_id)
                 FROM (SELECT content_id, coalesce(popularity_score, 0) AS score FROM content WHERE content_type = ?1
                       ORDER BY popularity_score DESC, content_id LIMIT ?2) p
                 LEFT JOIN content_genres cg ON cg.content_id = p.content_id
                 GROUP BY p.content_id ORDER BY p.score DESC, p.content_id",
            )?
            .query_map(params![MEDIA[medium].table.content_type, POOL as i64], |r| {
                let genres: Option<String> = r.get(2)?;
                Ok(Popular {
                    content_id: r.get(0)?,
                    popularity: r.get::<_, f64>(1)? as f32,
                    genres: genres
                        .unwrap_or_default()
                        .split(',')
                        .filter_map(|g| g.parse().ok())
                        .collect(),
                })
            })?
            .collect::<Result<_, _>>()?;
        self.pools[medium] = Some(pool);
        Ok(())
    }

    /// Reads what `person`'s lists in `medium` need (nothing when preloaded).
    fn load_for(
        &mut self,
        conn: &Connection,
        person: &Person,
        medium: usize,
    ) -> rusqlite::Result<()> {
        let (history, liked) = inputs(person, medium);
        let ids: Vec<i64> = history.iter().map(|(id, _)| *id).collect();
        self.collaborative[medium].load(conn, &ids)?;
        let ids: Vec<i64> = liked.iter().map(|(id, _)| *id).collect();
        self.similar[medium].load(conn, &ids)?;
        self.load_pool(conn, medium)
    }
}

/// Keeps the `PER_ENGINE` best of `scores` that are allowed, scaled so the best has relevance 1.
fn ranked(scores: IdMap<i64, f32>, excluded: &IdSet<i64>) -> Vec<(i64, f32)> {
    let mut allowed: Vec<(i64, f32)> = scores
        .into_iter()
        .filter(|(id, s)| *s > 0.0 && !excluded.contains(id))
        .collect();
    let kept = best(allowed.as_mut_slice(), PER_ENGINE);
    let top = kept.first().map(|(_, s)| *s).unwrap_or(1.0);
    kept.into_iter().map(|(id, s)| (id, s / top)).collect()
}

/// The lists of one person in every medium.
pub fn lists(
    conn: &Connection,
    sources: &mut Sources,
    person: &Person,
) -> rusqlite::Result<Vec<Pick>> {
    let mut picks = Vec::new();
    for medium in 0..MEDIA.len() {
        picks.extend(medium_lists(conn, sources, person, medium)?);
    }
    Ok(picks)
}

/// (content id, weight) pairs.
type Weighted = Vec<(i64, f32)>;

/// A person's strongest interactions in a medium, and the liked ones among them.
fn inputs(person: &Person, medium: usize) -> (Weighted, Weighted) {
    let interactions = person
        .interactions
        .get(medium)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut strongest: Vec<(i64, f32, bool)> = interactions
        .iter()
        .map(|(id, i)| (*id, i.strength(), i.liked()))
        .filter(|(_, s, _)| *s > 0.0)
        .collect();
    if strongest.len() > HISTORY_CAP {
        strongest.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        strongest.truncate(HISTORY_CAP);
    }
    let liked = strongest
        .iter()
        .filter(|(_, _, liked)| *liked)
        .map(|(id, s, _)| (*id, *s))
        .collect();
    let history = strongest.into_iter().map(|(id, s, _)| (id, s)).collect();
    (history, liked)
}

fn medium_lists(
    conn: &Connection,
    sources: &mut Sources,
    person: &Person,
    medium: usize,
) -> rusqlite::Result<Vec<Pick>> {
    sources.load_for(conn, person, medium)?;
    Ok(compute(sources, person, medium))
}

/// A person's merged list in one medium, from loaded sources.
fn compute(sources: &Sources, person: &Person, medium: usize) -> Vec<Pick> {
    let interactions = person
        .interactions
        .get(medium)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut excluded: IdSet<i64> = person.reported.clone();
    excluded.extend(
        interactions
            .iter()
            .filter(|(_, i)| i.consumed())
            .map(|(id, _)| *id),
    );
    let (history, liked) = inputs(person, medium);
    let mut found: Vec<(Engine, Vec<(i64, f32)>)> = Vec::new();
    let model = &sources.collaborative[medium];
    found.push((
        Engine::CollaborativeFiltering,
        ranked(fold_in(&history, |id| model.get(id)), &excluded),
    ));
    let similar = &sources.similar[medium];
    found.push((
        Engine::FromSimilarContent,
        ranked(fold_in(&liked, |id| similar.get(id)), &excluded),
    ));
    let empty = IdSet::default();
    let liked_genres = person.liked_genres.get(medium).unwrap_or(&empty);
    let mut from_genres: IdMap<i64, f32> = IdMap::default();
    let pool = sources.pools[medium].as_deref().unwrap_or(&[]);
    for popular in pool {
        let matched = popular
            .genres
            .iter()
            .filter(|g| liked_genres.contains(g))
            .count();
        if matched > 0 {
            // A content in several liked genres fits the profile better.
            from_genres.insert(
                popular.content_id,
                (popular.popularity + 1e-3) * (1.0 + 0.25 * (matched - 1) as f32),
            );
        }
    }
    if from_genres.is_empty() && found.iter().all(|(_, l)| l.is_empty()) {
        // Cold start without liked genres in this medium: its most popular contents.
        for popular in pool {
            from_genres.insert(popular.content_id, popular.popularity + 1e-3);
        }
    }
    found.push((Engine::FromProfile, ranked(from_genres, &excluded)));

    let mut chosen: IdMap<i64, (Engine, f32)> = IdMap::default();
    for (engine, list) in found {
        for (id, relevance) in list {
            let slot = chosen.entry(id).or_insert((engine, relevance));
            if engine > slot.0 {
                *slot = (engine, relevance);
            }
        }
    }
    let mut picks: Vec<Pick> = chosen
        .into_iter()
        .map(|(content_id, (engine, relevance))| Pick {
            content_id,
            engine,
            score: round(f64::from(relevance) * engine.priority() as f64 / 5.0),
            medium,
        })
        .collect();
    picks.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.content_id.cmp(&b.content_id))
    });
    picks
}

fn round(score: f64) -> f64 {
    (score * 1e6).round() / 1e6
}

fn interaction(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Interaction> {
    Ok(Interaction {
        rating: row.get(first)?,
        views: row.get::<_, Option<i64>>(first + 1)?.unwrap_or(0),
        count: row.get::<_, Option<i64>>(first + 2)?.unwrap_or(0),
    })
}

fn medium_index(content_type: Option<String>) -> Option<usize> {
    content_type.and_then(|t| MEDIA.iter().position(|m| m.table.content_type == t))
}

/// A person's inputs from their metas (`metas`: content id, content type, rating, views, count) and
/// liked genres (`genres`: genre id, content type), both keyed by `key`.
fn person(conn: &Connection, metas: &str, genres: &str, key: i64) -> rusqlite::Result<Person> {
    let mut person = Person::empty();
    let mut stmt = conn.prepare_cached(metas)?;
    let mut rows = stmt.query([key])?;
    while let Some(row) = rows.next()? {
        if let Some(medium) = medium_index(row.get(1)?) {
            person.interactions[medium].push((row.get(0)?, interaction(row, 2)?));
        }
    }
    let mut stmt = conn.prepare_cached(genres)?;
    let mut rows = stmt.query([key])?;
    while let Some(row) = rows.next()? {
        if let Some(medium) = medium_index(row.get(1)?) {
            person.liked_genres[medium].insert(row.get(0)?);
        }
    }
    Ok(person)
}

/// A user's current inputs.
pub fn user(conn: &Connection, user_id: i64) -> rusqlite::Result<Person> {
    let mut person = person(
        conn,
        "SELECT m.content_id, c.content_type, m.rating, m.review_see_count, m.count
         FROM meta_user_content m JOIN content c ON c.content_id = m.content_id WHERE m.user_id = ?1",
        "SELECT l.genre_id, g.content_type FROM liked_genres l JOIN genre g ON g.genre_id = l.genre_id WHERE l.user_id = ?1",
        user_id,
    )?;
    person.reported = conn
        .prepare_cached(
            "SELECT DISTINCT content_id FROM bad_recommendation_content WHERE user_id = ?1",
        )?
        .query_map([user_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(person)
}

/// A sandbox profile's inputs as its launch snapshot froze them.
pub fn launch(conn: &Connection, event_id: i64) -> rusqlite::Result<Person> {
    person(
        conn,
        "SELECT m.content_id, c.content_type, m.rating, m.review_see_count, m.count
         FROM recommendation_launched_meta m JOIN content c ON c.content_id = m.content_id WHERE m.event_id = ?1",
        "SELECT genre_id, content_type FROM recommendation_launched_liked_genre WHERE event_id = ?1",
        event_id,
    )
}

/// Replaces a user's stored lists (in the caller's write transaction).
fn store_user(tx: &Transaction<'_>, user_id: i64, picks: &[Pick]) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM recommended_content WHERE user_id = ?1")?
        .execute([user_id])?;
    // The user or a content may have been deleted since the lists were computed.
    let mut insert = tx.prepare_cached(
        "INSERT INTO recommended_content (user_id, content_id, score, engine, engine_priority, content_type)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6
         WHERE EXISTS (SELECT 1 FROM \"user\" WHERE user_id = ?1) AND EXISTS (SELECT 1 FROM content WHERE content_id = ?2)
           AND NOT EXISTS (SELECT 1 FROM bad_recommendation_content WHERE user_id = ?1 AND content_id = ?2)",
    )?;
    insert_picks(&mut insert, user_id, picks)
}

/// Runs `insert` (parameters: owner, content, score, engine, priority, content type) for each pick.
fn insert_picks(
    insert: &mut rusqlite::Statement<'_>,
    owner: i64,
    picks: &[Pick],
) -> rusqlite::Result<()> {
    for pick in picks {
        insert.execute(params![
            owner,
            pick.content_id,
            pick.score,
            pick.engine.name(),
            pick.engine.priority(),
            MEDIA[pick.medium].table.content_type
        ])?;
    }
    Ok(())
}

/// One listed content of a full run, compact (twelve million of them on a large catalogue).
#[derive(Debug, Clone, Copy)]
struct Listed {
    content: u32,
    score: f32,
    engine: Engine,
    medium: u8,
}

/// Writes a full run's chunk of users' lists, with foreign keys off (see
/// `super::without_foreign_keys`): users gone meanwhile are skipped, contents deleted since the
/// snapshot left out, users who wrote interactions since keep the fresher lists an incremental run
/// wrote for them, and lists equal to the stored ones are not rewritten. Returns the rows of the
/// users' lists (written or already stored).
fn store_chunk(
    tx: &Transaction<'_>,
    users: &[i64],
    lists: &mut [Vec<Listed>],
    snapshot: i64,
) -> rusqlite::Result<usize> {
    let fresher = authors(tx, snapshot, i64::MAX)?;
    let deleted = super::deleted_since(tx, snapshot)?;
    let mut exists =
        tx.prepare_cached(r#"SELECT EXISTS (SELECT 1 FROM "user" WHERE user_id = ?1)"#)?;
    let mut clear = tx.prepare_cached("DELETE FROM recommended_content WHERE user_id = ?1")?;
    let stored = stored_rows(tx, users)?;
    let mut rows: Vec<(i64, Listed)> = Vec::new();
    let mut listed_rows = 0;
    for (user_id, list) in users.iter().zip(lists.iter_mut()) {
        if fresher.contains(user_id) || !exists.query_row([user_id], |r| r.get::<_, bool>(0))? {
            continue;
        }
        list.retain(|listed| !deleted.contains(&i64::from(listed.content)));
        list.sort_by_key(|l| l.content);
        listed_rows += list.len();
        let fresh: Vec<StoredRow> = list
            .iter()
            .map(|l| {
                let score = round(f64::from(l.score));
                (
                    i64::from(l.content),
                    score,
                    Some(l.engine),
                    Some(usize::from(l.medium)),
                )
            })
            .collect();
        // A list as stored already is left alone: on a rebuild most are, and every row not
        // rewritten is a write the API does not wait for.
        if !stored
            .get(user_id)
            .map_or(fresh.is_empty(), |old| *old == fresh)
        {
            clear.execute([user_id])?;
            rows.extend(list.iter().map(|listed| (*user_id, *listed)));
        }
        list.clear();
        list.shrink_to_fit();
    }
    super::insert_batched(
        tx,
        "INSERT INTO recommended_content (user_id, content_id, score, engine, engine_priority, content_type) VALUES",
        6,
        &rows,
        |statement, first, (user_id, listed)| {
            statement.raw_bind_parameter(first, user_id)?;
            statement.raw_bind_parameter(first + 1, listed.content)?;
            // Stored as the incremental path computes it (f64 rounded to 6 places).
            statement.raw_bind_parameter(first + 2, round(f64::from(listed.score)))?;
            statement.raw_bind_parameter(first + 3, listed.engine.name())?;
            statement.raw_bind_parameter(first + 4, listed.engine.priority())?;
            statement.raw_bind_parameter(
                first + 5,
                MEDIA[usize::from(listed.medium)].table.content_type,
            )
        },
    )?;
    // A report made while the lists were computed wins over them.
    let mut reported = tx.prepare_cached(
        "DELETE FROM recommended_content WHERE user_id = ?1
           AND content_id IN (SELECT content_id FROM bad_recommendation_content WHERE user_id = ?1)",
    )?;
    for user_id in users {
        reported.execute([user_id])?;
    }
    Ok(listed_rows)
}

/// A stored list row: content, score, engine, medium.
type StoredRow = (i64, f64, Option<Engine>, Option<usize>);

/// The stored lists of `users` (ascending), by content, read in one pass over their key range.
fn stored_rows(conn: &Connection, users: &[i64]) -> rusqlite::Result<IdMap<i64, Vec<StoredRow>>> {
    let mut lists: IdMap<i64, Vec<StoredRow>> = IdMap::default();
    let (Some(low), Some(high)) = (users.first(), users.last()) else {
        return Ok(lists);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT user_id, content_id, score, engine, engine_priority, content_type FROM recommended_content
         WHERE user_id BETWEEN ?1 AND ?2 ORDER BY user_id, content_id",
    )?;
    let mut rows = stmt.query([low, high])?;
    while let Some(row) = rows.next()? {
        let engine: Option<String> = row.get(3)?;
        let engine = engine.as_deref().and_then(Engine::by_name);
        // A priority that is not the engine's own makes the row differ from any fresh one.
        let priority: Option<i64> = row.get(4)?;
        let engine = engine.filter(|e| Some(e.priority()) == priority);
        let score: Option<f64> = row.get(2)?;
        lists.entry(row.get(0)?).or_default().push((
            row.get(1)?,
            score.unwrap_or(f64::NAN),
            engine,
            medium_index(row.get(5)?),
        ));
    }
    Ok(lists)
}

/// Recomputes one user's lists and their groups' now (after `PUT /api/user/preferences_defined`).
pub fn refresh_user(conn: &mut Connection, user_id: i64) -> Result<usize, EngineError> {
    let picks = {
        let tx = conn.transaction()?;
        let person = user(&tx, user_id)?;
        let picks = lists(&tx, &mut Sources::lazy(), &person)?;
        tx.commit()?;
        picks
    };
    let tx = crate::db::write_transaction(conn)?;
    store_user(&tx, user_id, &picks)?;
    let groups = groups_of(&tx, &[user_id])?;
    refresh_groups(&tx, &groups)?;
    tx.commit()?;
    Ok(picks.len())
}

/// Computes a sandbox profile launch's results from its snapshot (read outside any write lock).
pub fn launch_results(conn: &Connection, event_id: i64) -> rusqlite::Result<Vec<Pick>> {
    let person = launch(conn, event_id)?;
    lists(conn, &mut Sources::lazy(), &person)
}

/// Writes a launch's results (in the caller's write transaction); contents deleted meanwhile are
/// left out.
pub fn store_launch_results(
    conn: &Connection,
    event_id: i64,
    picks: &[Pick],
) -> rusqlite::Result<usize> {
    let mut insert = conn.prepare_cached(
        "INSERT OR REPLACE INTO recommendation_launched_result (event_id, content_id, score, engine)
         SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM content WHERE content_id = ?2)",
    )?;
    let mut written = 0;
    for pick in picks {
        written += insert.execute(params![
            event_id,
            pick.content_id,
            pick.score,
            pick.engine.name()
        ])?;
    }
    Ok(written)
}

/// Users who wrote interactions in the window.
fn authors(conn: &Connection, from: i64, to: i64) -> rusqlite::Result<BTreeSet<i64>> {
    conn.prepare_cached(
        "SELECT occured_by FROM meta_added_event WHERE id > ?1 AND id <= ?2 AND occured_by IS NOT NULL
         UNION SELECT occured_by FROM changed_event
               WHERE id > ?1 AND id <= ?2 AND model_name = 'meta_user_content' AND occured_by IS NOT NULL",
    )?
    .query_map([from, to], |r| r.get(0))?
    .collect()
}

/// Groups that users own or belong to.
fn groups_of(conn: &Connection, users: &[i64]) -> rusqlite::Result<BTreeSet<i64>> {
    let mut out = BTreeSet::new();
    let mut stmt = conn.prepare_cached(
        r#"SELECT group_id FROM "group" WHERE owner_id = ?1 UNION SELECT group_id FROM group_members WHERE user_id = ?1"#,
    )?;
    for user in users {
        for group in stmt.query_map([user], |r| r.get(0))? {
            out.insert(group?);
        }
    }
    Ok(out)
}

/// A group's people: its owner and members, in id order.
fn people_of(conn: &Connection, group: i64) -> rusqlite::Result<Vec<i64>> {
    conn.prepare_cached(
        r#"SELECT owner_id FROM "group" WHERE group_id = ?1 AND owner_id IS NOT NULL
           UNION SELECT user_id FROM group_members WHERE group_id = ?1 ORDER BY 1"#,
    )?
    .query_map([group], |r| r.get(0))?
    .collect()
}

/// A group's list, blended from its people's lists: the mean of the people's scores (absent = 0)
/// blended half and half with the least of them, so that contents the whole group is shown rank
/// above one member's favourite, and never a content any of them consumed or reported (least misery
/// as a hard guard).
struct Blend {
    people: usize,
    vetoed: IdSet<i64>,
    /// content → (sum, count, least, best engine, medium)
    merged: IdMap<i64, (f64, usize, f64, Engine, usize)>,
}

impl Blend {
    fn new(people: usize) -> Blend {
        Blend {
            people,
            vetoed: IdSet::default(),
            merged: IdMap::default(),
        }
    }

    fn veto(&mut self, content_id: i64) {
        self.vetoed.insert(content_id);
    }

    /// One content of one person's list.
    fn add(&mut self, content_id: i64, score: f64, engine: Engine, medium: usize) {
        let slot = self
            .merged
            .entry(content_id)
            .or_insert((0.0, 0, f64::INFINITY, engine, medium));
        slot.0 += score;
        slot.1 += 1;
        slot.2 = slot.2.min(score);
        slot.3 = slot.3.max(engine);
    }

    /// The group's list: per medium, the best `3 × PER_ENGINE`.
    fn picks(self) -> Vec<Pick> {
        if self.people == 0 {
            return Vec::new();
        }
        let n = self.people as f64;
        let mut by_medium: Vec<Vec<(i64, f32)>> = vec![Vec::new(); MEDIA.len()];
        let mut facts: IdMap<i64, Engine> = IdMap::default();
        for (content_id, (sum, count, lowest, engine, medium)) in self.merged {
            if self.vetoed.contains(&content_id) {
                continue;
            }
            let mean = sum / n;
            // The least satisfied person's score: 0 for whoever does not have it in their list.
            let least = if count == self.people { lowest } else { 0.0 };
            by_medium[medium].push((content_id, (0.5 * mean + 0.5 * least) as f32));
            facts.insert(content_id, engine);
        }
        let mut picks = Vec::new();
        for (medium, mut scored) in by_medium.into_iter().enumerate() {
            for (content_id, score) in best(scored.as_mut_slice(), 3 * PER_ENGINE) {
                picks.push(Pick {
                    content_id,
                    engine: facts
                        .get(&content_id)
                        .copied()
                        .unwrap_or(Engine::FromProfile),
                    score: round(f64::from(score)),
                    medium,
                });
            }
        }
        picks
    }
}

/// Replaces a group's stored list (in the caller's write transaction).
fn store_group(tx: &Transaction<'_>, group: i64, picks: &[Pick]) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM recommended_content_for_group WHERE group_id = ?1")?
        .execute([group])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO recommended_content_for_group (group_id, content_id, score, engine, engine_priority, content_type)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    insert_picks(&mut insert, group, picks)
}

/// Recomputes groups' lists (see `Blend`) from their people's stored lists.
fn refresh_groups(tx: &Transaction<'_>, groups: &BTreeSet<i64>) -> rusqlite::Result<()> {
    let mut lists_of = tx.prepare_cached(
        "SELECT r.content_id, r.score, r.engine, c.content_type FROM recommended_content r
         JOIN content c ON c.content_id = r.content_id WHERE r.user_id = ?1",
    )?;
    let mut vetoed_by = tx.prepare_cached(
        "SELECT content_id FROM meta_user_content WHERE user_id = ?1 AND (rating > 0 OR count > 0)
         UNION SELECT content_id FROM bad_recommendation_content WHERE user_id = ?1",
    )?;
    for group in groups {
        let people = people_of(tx, *group)?;
        let mut blend = Blend::new(people.len());
        for person in &people {
            for id in vetoed_by.query_map([person], |r| r.get(0))? {
                blend.veto(id?);
            }
            let mut rows = lists_of.query([person])?;
            while let Some(row) = rows.next()? {
                let engine: Option<String> = row.get(2)?;
                if let (Some(engine), Some(medium)) = (
                    engine.as_deref().and_then(Engine::by_name),
                    medium_index(row.get(3)?),
                ) {
                    let score: Option<f64> = row.get(1)?;
                    blend.add(row.get(0)?, score.unwrap_or(0.0), engine, medium);
                }
            }
        }
        store_group(tx, *group, &blend.picks())?;
    }
    Ok(())
}

/// Incremental run: the authors of the window's interactions get fresh lists (a fold-in with the
/// current model), and so do their groups; so do the users and groups queued for other reasons
/// (liked genres, group people: `due`), whose entries go with the same commit.
fn run_incremental(conn: &mut Connection, w: Window) -> Result<RunOutcome, EngineError> {
    let (users, picks, due) = {
        let tx = conn.transaction()?;
        let due = due::read(&tx)?;
        let mut users = authors(&tx, w.from, w.to)?;
        users.extend(&due.users);
        let users: Vec<i64> = users.into_iter().collect();
        let mut sources = Sources::lazy();
        let mut picks = Vec::with_capacity(users.len());
        for user_id in &users {
            let person = user(&tx, *user_id)?;
            picks.push(lists(&tx, &mut sources, &person)?);
        }
        tx.commit()?;
        (users, picks, due)
    };
    let updated = picks.iter().map(Vec::len).sum();
    let committed = commit(conn, STAGE, w, false, |tx| {
        for (user_id, picks) in users.iter().zip(&picks) {
            store_user(tx, *user_id, picks)?;
        }
        let mut groups = groups_of(tx, &users)?;
        groups.extend(&due.groups);
        refresh_groups(tx, &groups)?;
        due::consumed(tx, due.through)?;
        Ok(())
    })?;
    let nothing = users.is_empty() && due.groups.is_empty();
    Ok(RunOutcome::of(committed, nothing, w, updated))
}

/// The lists name contents in a column that is not indexed (V11): rows naming a deleted content are
/// removed by `clean_deleted`.
const NAMING: [super::NamingTable; 2] = [
    super::NamingTable {
        table: "recommended_content",
        owner: "user_id",
        content: "content_id",
    },
    super::NamingTable {
        table: "recommended_content_for_group",
        owner: "group_id",
        content: "content_id",
    },
];

/// The watermark of `clean_deleted`: the last deletion event whose rows it removed.
const CLEANED: &str = "recommendations.deleted";

/// Removes the list rows that name contents deleted since the last clean-up (they are not shown
/// meanwhile: the routes join the content tables). One scan per table, read outside the write lock,
/// only when contents were deleted; the rows go by key with the watermark, in one transaction.
pub fn clean_deleted(conn: &mut Connection) -> Result<RunOutcome, EngineError> {
    let (w, stale) = {
        let tx = conn.transaction()?;
        let w = window(&tx, CLEANED, false)?;
        let deleted = super::deleted_in(&tx, w)?;
        let mut stale = Vec::new();
        for table in NAMING {
            stale.push((table, table.rows_naming(&tx, &deleted)?));
        }
        tx.commit()?;
        (w, stale)
    };
    if w.from == w.to {
        return Ok(RunOutcome::UpToDate { watermark: w.to });
    }
    let updated = stale.iter().map(|(_, keys)| keys.len()).sum();
    let committed = commit(conn, CLEANED, w, false, |tx| {
        for (table, keys) in &stale {
            table.delete(tx, keys)?;
        }
        Ok(())
    })?;
    Ok(RunOutcome::of(committed, updated == 0, w, updated))
}

/// One interaction, compact, for a full run: ten million of them take about 120 MB.
#[derive(Debug, Clone, Copy)]
struct Kept {
    content: u32,
    medium: u8,
    rating: i8,
    views: u16,
    count: u16,
}

/// A user's inputs, compact.
#[derive(Debug, Default)]
struct KeptPerson {
    interactions: Vec<Kept>,
    /// (medium, genre)
    liked_genres: Vec<(u8, i64)>,
    reported: Vec<i64>,
}

impl KeptPerson {
    /// The `Person` of one medium.
    fn person(&self, medium: usize) -> Person {
        let mut person = Person::empty();
        person.interactions[medium] = self
            .interactions
            .iter()
            .filter(|k| usize::from(k.medium) == medium)
            .map(|k| {
                let interaction = Interaction {
                    rating: (k.rating != 0).then_some(i64::from(k.rating)),
                    views: i64::from(k.views),
                    count: i64::from(k.count),
                };
                (i64::from(k.content), interaction)
            })
            .collect();
        person.liked_genres[medium] = self
            .liked_genres
            .iter()
            .filter(|(m, _)| usize::from(*m) == medium)
            .map(|(_, g)| *g)
            .collect();
        person.reported = self.reported.iter().copied().collect();
        person
    }
}

/// Every user's interactions, compact, read in one pass (by user, as the table is keyed).
fn everyone(conn: &Connection) -> rusqlite::Result<(Vec<i64>, Vec<KeptPerson>)> {
    let media = collaborative::media_of_contents(conn)?;
    let ids: Vec<i64> = conn
        .prepare(r#"SELECT user_id FROM "user" ORDER BY user_id"#)?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let index: IdMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut people: Vec<KeptPerson> = ids.iter().map(|_| KeptPerson::default()).collect();
    let mut stmt = conn.prepare(
        "SELECT user_id, content_id, rating, coalesce(review_see_count, 0), coalesce(count, 0) FROM meta_user_content",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let content_id: i64 = row.get(1)?;
        let medium = usize::try_from(content_id)
            .ok()
            .and_then(|i| media.get(i).copied().flatten());
        let (Some(person), Some(medium), Ok(content)) =
            (index.get(&row.get(0)?), medium, u32::try_from(content_id))
        else {
            continue;
        };
        let rating: Option<i64> = row.get(2)?;
        let small = |n: i64| u16::try_from(n.max(0)).unwrap_or(u16::MAX);
        people[*person].interactions.push(Kept {
            content,
            medium,
            rating: rating.map_or(0, |r| r.clamp(0, 5) as i8),
            views: small(row.get(3)?),
            count: small(row.get(4)?),
        });
    }
    let mut stmt = conn.prepare(
        "SELECT l.user_id, l.genre_id, g.content_type FROM liked_genres l JOIN genre g ON g.genre_id = l.genre_id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        if let (Some(person), Some(medium)) = (index.get(&row.get(0)?), medium_index(row.get(2)?)) {
            people[*person]
                .liked_genres
                .push((medium as u8, row.get(1)?));
        }
    }
    let mut stmt = conn.prepare("SELECT user_id, content_id FROM bad_recommendation_content")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        if let Some(person) = index.get(&row.get(0)?) {
            people[*person].reported.push(row.get(1)?);
        }
    }
    Ok((ids, people))
}

/// Every group's list, blended (see `Blend`) from the people's lists computed by a full run: a
/// group's people and their lists as the run's snapshot saw them.
fn blend_groups(
    ids: &[i64],
    people: &[KeptPerson],
    lists: &[Vec<Listed>],
    groups: Vec<(i64, Vec<i64>)>,
) -> Vec<(i64, Vec<i64>, Vec<Pick>)> {
    let index: IdMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    groups
        .into_iter()
        .map(|(group, members)| {
            let mut blend = Blend::new(members.len());
            for i in members.iter().filter_map(|id| index.get(id).copied()) {
                let person = &people[i];
                person
                    .interactions
                    .iter()
                    .filter(|k| k.rating > 0 || k.count > 0)
                    .for_each(|k| blend.veto(i64::from(k.content)));
                person.reported.iter().for_each(|id| blend.veto(*id));
                for listed in &lists[i] {
                    blend.add(
                        i64::from(listed.content),
                        round(f64::from(listed.score)),
                        listed.engine,
                        usize::from(listed.medium),
                    );
                }
            }
            (group, members, blend.picks())
        })
        .collect()
}

/// Writes a full run's chunk of group lists. A group whose people changed since the snapshot, or
/// one of whose people wrote interactions since (and so has fresher stored lists), or whose list
/// names a content deleted or reported by one of the people since, is blended again from the stored
/// lists.
fn store_groups_chunk(
    tx: &Transaction<'_>,
    groups: &[(i64, Vec<i64>, Vec<Pick>)],
    snapshot: i64,
) -> rusqlite::Result<()> {
    let fresher = authors(tx, snapshot, i64::MAX)?;
    let deleted = super::deleted_since(tx, snapshot)?;
    let mut reports =
        tx.prepare_cached("SELECT content_id FROM bad_recommendation_content WHERE user_id = ?1")?;
    let mut again = BTreeSet::new();
    for (group, people, picks) in groups {
        if people_of(tx, *group)? != *people || people.iter().any(|p| fresher.contains(p)) {
            again.insert(*group);
            continue;
        }
        let mut left_out = deleted.clone();
        for person in people {
            for id in reports.query_map([person], |r| r.get(0))? {
                left_out.insert(id?);
            }
        }
        // Leaving a content out would leave its slot empty: such a group is blended again.
        if picks.iter().any(|pick| left_out.contains(&pick.content_id)) {
            again.insert(*group);
        } else {
            store_group(tx, *group, picks)?;
        }
    }
    refresh_groups(tx, &again)
}

/// Full run: every user's lists, medium by medium (one medium's models in memory at a time), written
/// in chunks of users so that the API's writers never wait long; then every group. A user whose
/// interactions changed after the run started keeps the fresher lists an incremental run wrote.
fn run_full(conn: &mut Connection, w: Window, model: i64) -> Result<RunOutcome, EngineError> {
    let mut timer = super::Timer::default();
    let (ids, people, groups, queued) = {
        let tx = conn.transaction()?;
        let queued = due::newest(&tx)?;
        let (ids, people) = everyone(&tx)?;
        let groups: Vec<i64> = tx
            .prepare(r#"SELECT group_id FROM "group""#)?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let groups: Vec<(i64, Vec<i64>)> = groups
            .into_iter()
            .map(|group| Ok((group, people_of(&tx, group)?)))
            .collect::<rusqlite::Result<_>>()?;
        tx.commit()?;
        (ids, people, groups, queued)
    };
    let live = {
        let tx = conn.transaction()?;
        let live = collaborative::media_of_contents(&tx)?;
        tx.commit()?;
        live
    };
    timer.lap("read interactions");
    let mut sources = Sources::lazy();
    // Every user's lists in all media, compact, so that each user's rows are written at once, in
    // key order (appends, not six scattered passes).
    let mut lists: Vec<Vec<Listed>> = ids.iter().map(|_| Vec::new()).collect();
    for medium in 0..MEDIA.len() {
        {
            let tx = conn.transaction()?;
            sources.preload_medium(&tx, medium, &live)?;
            sources.load_pool(&tx, medium)?;
            tx.commit()?;
        }
        timer.lap("load models");
        for (chunk, chunk_lists) in people.chunks(CHUNK).zip(lists.chunks_mut(CHUNK)) {
            // The models are in memory: both cores compute, halves of the chunk each.
            let picks: Option<Vec<Vec<Pick>>> = std::thread::scope(|scope| {
                let sources = &sources;
                let half = chunk.len().div_ceil(2).max(1);
                let workers: Vec<_> = chunk
                    .chunks(half)
                    .map(|part| {
                        scope.spawn(move || {
                            part.iter()
                                .map(|person| compute(sources, &person.person(medium), medium))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                // A worker that panicked must not shift the other users' lists onto the wrong users.
                workers
                    .into_iter()
                    .map(|w| w.join().ok())
                    .collect::<Option<Vec<_>>>()
                    .map(|parts| parts.into_iter().flatten().collect())
            });
            let picks = picks.ok_or(EngineError::WorkerPanicked)?;
            for (slot, picks) in chunk_lists.iter_mut().zip(picks) {
                slot.reserve_exact(picks.len());
                slot.extend(picks.into_iter().filter_map(|pick| {
                    // The model may name contents deleted since it was trained.
                    let live = usize::try_from(pick.content_id)
                        .ok()
                        .and_then(|i| live.get(i).copied().flatten())
                        .is_some();
                    live.then_some(())?;
                    Some(Listed {
                        content: u32::try_from(pick.content_id).ok()?,
                        score: pick.score as f32,
                        engine: pick.engine,
                        medium: pick.medium as u8,
                    })
                }));
            }
            timer.lap("compute lists");
        }
        sources.release_medium(medium);
    }
    drop(sources);
    let group_lists = blend_groups(&ids, &people, &lists, groups);
    timer.lap("compute groups");
    let mut updated = 0;
    for (chunk_ids, chunk) in ids
        .chunks(PEOPLE_PER_TRANSACTION)
        .zip(lists.chunks_mut(PEOPLE_PER_TRANSACTION))
    {
        let tx = crate::db::write_transaction(conn)?;
        updated += store_chunk(&tx, chunk_ids, chunk, w.to)?;
        tx.commit()?;
        super::chunk_committed(conn);
    }
    timer.lap("write lists");
    for chunk in group_lists.chunks(PEOPLE_PER_TRANSACTION) {
        let tx = crate::db::write_transaction(conn)?;
        store_groups_chunk(&tx, chunk, w.to)?;
        tx.commit()?;
        super::chunk_committed(conn);
    }
    timer.lap("write groups");
    timer.log(STAGE);
    // Every list was recomputed from data at least as new as `w.to`, and users with newer events
    // kept their fresher lists: the watermark moves to `w.to` unless an incremental run already
    // took it further (never backwards, and a full run is never thrown away), and the model this
    // run used is recorded as seen.
    let tx = crate::db::write_transaction(conn)?;
    for (stage, value) in [(STAGE, w.to), (MODEL_SEEN, model)] {
        tx.execute(
            "INSERT INTO engine_stage (stage, last_event_id, last_run_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (stage) DO UPDATE SET
                 last_event_id = CASE WHEN ?1 = ?4 THEN max(last_event_id, excluded.last_event_id)
                                      ELSE excluded.last_event_id END,
                 last_run_at = excluded.last_run_at",
            params![stage, value, crate::util::time::now_text(), STAGE],
        )?;
    }
    // Everyone's lists were computed from a snapshot that had the queue's entries up to `queued`.
    due::consumed(&tx, queued)?;
    tx.commit()?;
    Ok(RunOutcome::Ran {
        from: w.from,
        to: w.to,
        updated,
    })
}

/// The collaborative model's watermark that the last full run used: a retrained model makes every
/// list worth recomputing.
const MODEL_SEEN: &str = "recommendations.model";

/// One run of the stage: full when asked, on the first run, or after the model was retrained.
pub fn run(conn: &mut Connection, full: bool) -> Result<RunOutcome, EngineError> {
    clean_deleted(conn)?;
    let (w, model, model_changed) = {
        let tx = conn.transaction()?;
        let w = window(&tx, STAGE, full)?;
        let model = super::watermark(&tx, collaborative::STAGE)?;
        let seen = super::watermark(&tx, MODEL_SEEN)?;
        tx.commit()?;
        (w, model, model != seen)
    };
    if full || w.from == 0 || model_changed {
        super::without_foreign_keys(conn, |conn| {
            run_full(conn, Window { from: 0, to: w.to }, model)
        })
    } else {
        run_incremental(conn, w)
    }
}

/// The server's fast path: fold new interactions into their authors' lists, but leave a due full
/// run (first run, retrained model) to the slow loop, so that ratings never wait behind one.
pub fn run_fold_ins(conn: &mut Connection) -> Result<RunOutcome, EngineError> {
    let (w, full_due) = {
        let tx = conn.transaction()?;
        let w = window(&tx, STAGE, false)?;
        let due = w.from == 0
            || super::watermark(&tx, collaborative::STAGE)? != super::watermark(&tx, MODEL_SEEN)?;
        tx.commit()?;
        (w, due)
    };
    if full_due {
        return Ok(RunOutcome::UpToDate { watermark: w.from });
    }
    run_incremental(conn, w)
}
