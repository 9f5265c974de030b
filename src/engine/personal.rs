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
use crate::media::{MEDIA, MEDIA_COUNT};
use crate::util::idhash::{IdMap, IdSet};
use rusqlite::{Connection, Transaction, params};
use std::collections::BTreeSet;

mod full;
mod groups;
mod sources;

use full::*;
use groups::*;
pub use sources::Sources;

pub const STAGE: &str = "recommendations";
/// Contents each engine keeps per person and medium.
pub const PER_ENGINE: usize = 10;
/// A person's strongest interactions that seed collaborative and similar contents.
const HISTORY_CAP: usize = 200;
/// Popular contents per medium that "liked genres" choose from.
const POOL: usize = 600;
/// Users computed together in a full run (halves on each core); whole write transactions of them,
/// since the writer takes them chunk by chunk.
const CHUNK: usize = 3 * PEOPLE_PER_TRANSACTION;
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
    // The neighbour lists hold 32-bit ids (`Lists`).
    let fold = |inputs: &[(i64, f32)], lists: &sources::Lists| {
        let inputs: Vec<(u32, f32)> = inputs
            .iter()
            .filter_map(|(id, strength)| Some((u32::try_from(*id).ok()?, *strength)))
            .collect();
        let scores: IdMap<i64, f32> = fold_in(&inputs, |id| lists.get(id))
            .into_iter()
            .map(|(id, score)| (i64::from(id), score))
            .collect();
        ranked(scores, &excluded)
    };
    found.push((
        Engine::CollaborativeFiltering,
        fold(&history, &sources.collaborative[medium]),
    ));
    found.push((
        Engine::FromSimilarContent,
        fold(&liked, &sources.similar[medium]),
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
