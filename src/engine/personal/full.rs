//! A full run: every user's lists from one snapshot, computed in memory a medium at a time on both
//! cores, written in short transactions; then every group.

use super::*;

/// One interaction, compact, for a full run: ten million of them take about 120 MB.
#[derive(Debug, Clone, Copy)]
pub(super) struct Kept {
    content: u32,
    medium: u8,
    rating: i8,
    views: u16,
    count: u16,
}

/// A user's inputs, compact.
#[derive(Debug, Default)]
pub(super) struct KeptPerson {
    interactions: Vec<Kept>,
    /// (medium, genre)
    liked_genres: Vec<(u8, i64)>,
    reported: Vec<i64>,
}

impl KeptPerson {
    /// The `Person` of one medium.
    pub(super) fn person(&self, medium: usize) -> Person {
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
pub(super) fn everyone(conn: &Connection) -> rusqlite::Result<(Vec<i64>, Vec<KeptPerson>)> {
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
pub(super) fn blend_groups(
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
pub(super) fn store_groups_chunk(
    tx: &Transaction<'_>,
    groups: &[(i64, Vec<i64>, Vec<Pick>)],
    snapshot: i64,
) -> rusqlite::Result<()> {
    let fresher = authors(tx, snapshot, i64::MAX)?;
    let deleted = crate::engine::deleted_since(tx, snapshot)?;
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

/// The media in the order a full run computes their lists: the one with the most interactions (and
/// so the most computing) last, since the writing of the lists runs beside that medium's computing.
fn computing_order(people: &[KeptPerson]) -> [usize; MEDIA_COUNT] {
    let mut interactions = [0usize; MEDIA_COUNT];
    for kept in people.iter().flat_map(|person| &person.interactions) {
        if let Some(count) = interactions.get_mut(usize::from(kept.medium)) {
            *count += 1;
        }
    }
    let mut order: [usize; MEDIA_COUNT] = std::array::from_fn(|medium| medium);
    order.sort_by_key(|medium| (interactions[*medium], *medium));
    order
}

/// Preloads one medium's models and popular pool, from a snapshot of their own.
fn load_medium(
    conn: &mut Connection,
    sources: &mut Sources,
    medium: usize,
    live: &[Option<u8>],
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    sources.preload_medium(&tx, medium, live)?;
    sources.load_pool(&tx, medium)?;
    tx.commit()
}

/// One medium's lists of a chunk of users, into their slots. The models are in memory: both cores
/// compute, halves of the chunk each.
fn compute_chunk(
    sources: &Sources,
    live: &[Option<u8>],
    chunk: &[KeptPerson],
    slots: &mut [Vec<Listed>],
    medium: usize,
) -> Result<(), EngineError> {
    let picks: Option<Vec<Vec<Pick>>> = std::thread::scope(|scope| {
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
    for (slot, picks) in slots.iter_mut().zip(picks) {
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
    Ok(())
}

/// Full run: every user's lists, medium by medium (one medium's models in memory at a time), written
/// in chunks of users so that the API's writers never wait long, beside the last medium's
/// computing; then every group. A user whose
/// interactions changed after the run started keeps the fresher lists an incremental run wrote.
pub(super) fn run_full(
    conn: &mut Connection,
    w: Window,
    model: i64,
) -> Result<RunOutcome, EngineError> {
    let mut timer = crate::engine::Timer::default();
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
    let [earlier @ .., last] = computing_order(&people);
    for medium in earlier {
        load_medium(conn, &mut sources, medium, &live)?;
        timer.lap("load models");
        let started = std::time::Instant::now();
        for (chunk, slots) in people.chunks(CHUNK).zip(lists.chunks_mut(CHUNK)) {
            compute_chunk(&sources, &live, chunk, slots, medium)?;
        }
        tracing::debug!(
            medium = MEDIA[medium].table.content_type,
            seconds = started.elapsed().as_secs_f64(),
            "one medium's lists computed"
        );
        timer.lap("compute lists");
        sources.release_medium(medium);
        crate::util::memory::release_free_memory();
    }
    // The last medium's chunks of users are complete once computed: a writer beside the computing
    // takes them as they come. Writing is one core's work, and after the computing it left the
    // other core idle (15 s of a large rebuild's 48 s of lists).
    load_medium(conn, &mut sources, last, &live)?;
    timer.lap("load models");
    let updated = std::thread::scope(|scope| {
        let (send, receive) = std::sync::mpsc::channel::<(&[i64], &mut [Vec<Listed>])>();
        let conn = &mut *conn;
        // The writer queues for the server's writer gate as this thread would.
        let gate = crate::db::writer::inherit();
        let writer = scope.spawn(move || {
            gate.enter(|| -> Result<usize, EngineError> {
                let mut updated = 0;
                for (ids, chunk) in receive {
                    for (ids, chunk) in ids
                        .chunks(PEOPLE_PER_TRANSACTION)
                        .zip(chunk.chunks_mut(PEOPLE_PER_TRANSACTION))
                    {
                        let tx = crate::db::write_transaction(conn)?;
                        updated += store_chunk(&tx, ids, chunk, w.to)?;
                        tx.commit()?;
                        crate::engine::chunk_committed(conn);
                    }
                }
                Ok(updated)
            })
        });
        let mut computed = Ok(());
        let chunks = ids.chunks(CHUNK).zip(lists.chunks_mut(CHUNK));
        for (chunk, (chunk_ids, slots)) in people.chunks(CHUNK).zip(chunks) {
            if let Err(e) = compute_chunk(&sources, &live, chunk, slots, last) {
                computed = Err(e);
                break;
            }
            // A writer that stopped has its error to tell, below.
            if send.send((chunk_ids, slots)).is_err() {
                break;
            }
        }
        drop(send);
        let written = writer.join().map_err(|_| EngineError::WorkerPanicked)?;
        computed.and(written)
    })?;
    drop(sources);
    timer.lap("compute and write lists");
    let group_lists = blend_groups(&ids, &people, &lists, groups);
    drop(lists);
    timer.lap("compute groups");
    for chunk in group_lists.chunks(PEOPLE_PER_TRANSACTION) {
        let tx = crate::db::write_transaction(conn)?;
        store_groups_chunk(&tx, chunk, w.to)?;
        tx.commit()?;
        crate::engine::chunk_committed(conn);
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
