//! Content similarity → `similars_content`: each content's nearest neighbours in its medium, by cosine
//! of field-weighted TF-IDF vectors (title words, genres, people, companies, years; per-medium weights in
//! `crate::media`).
//!
//! Neighbours are found through an inverted index, never by comparing all pairs: a content's candidates
//! are the contents sharing a token with it (for very common tokens, an even sample of their postings),
//! the best candidates by partial score are then scored exactly. An incremental run only computes the
//! contents added or changed since the watermark, and patches their neighbours' lists; the lists that
//! name a content deleted since are computed again (the column is not indexed, V11: one scan, only
//! when contents were deleted).

use super::ROWS_PER_TRANSACTION;
use super::{EngineError, RunOutcome, Window, commit, window};
use crate::media::{MEDIA, Medium, Tokens};
use rusqlite::{Connection, OptionalExtension};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub const STAGE: &str = "similarity";
/// Neighbours kept per content.
pub const NEIGHBOURS: usize = 10;
/// Postings read per token when looking for candidates (beyond, an even sample).
const POSTINGS_READ: usize = 256;
/// Candidates scored exactly per content.
const CANDIDATES: usize = 200;
const GENRE_WEIGHT: f32 = 2.0;

const STOP_WORDS: &[&str] = &[
    "the", "and", "for", "from", "with", "of", "in", "a", "an", "to", "on", "at", "by",
];

/// A medium's contents as unit TF-IDF vectors, with their inverted index.
struct Space {
    ids: Vec<i64>,
    /// Per content: (token, weight), sorted by token.
    vectors: Vec<Vec<(u32, f32)>>,
    postings: Vec<Vec<u32>>,
}

fn tokens_of(kind: Tokens, text: &str, out: &mut Vec<String>, prefix: &str) {
    match kind {
        Tokens::Words => {
            for word in text
                .split(|c: char| !c.is_alphanumeric())
                .map(str::to_lowercase)
            {
                if word.chars().count() >= 2 && !STOP_WORDS.contains(&word.as_str()) {
                    out.push(format!("{prefix}:{word}"));
                }
            }
        }
        Tokens::Names => {
            for name in text
                .split([',', '|', '/', '&'])
                .map(|n| n.trim().to_lowercase())
                .filter(|n| !n.is_empty())
            {
                out.push(format!("{prefix}:{name}"));
            }
        }
        Tokens::Whole => {
            let whole = text.trim().to_lowercase();
            if !whole.is_empty() {
                out.push(format!("{prefix}:{whole}"));
            }
        }
        Tokens::Decade => {
            if let Some(year) = text.trim().get(..4).and_then(|y| y.parse::<i32>().ok()) {
                out.push(format!("{prefix}:{}", year / 10));
            }
        }
    }
}

/// Builds the TF-IDF space of one medium from the database.
fn space(conn: &Connection, medium: &Medium) -> rusqlite::Result<Space> {
    let columns: Vec<&str> = medium.similarity.iter().map(|(c, _, _)| *c).collect();
    let sql = format!(
        "SELECT content_id, {} FROM {} ORDER BY content_id",
        columns.join(", "),
        medium.table.name
    );
    let mut genres: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut stmt = conn.prepare(
        "SELECT cg.content_id, cg.genre_id FROM content_genres cg JOIN content c ON c.content_id = cg.content_id WHERE c.content_type = ?1",
    )?;
    let mut rows = stmt.query([medium.table.content_type])?;
    while let Some(row) = rows.next()? {
        genres.entry(row.get(0)?).or_default().push(row.get(1)?);
    }

    let mut interner: HashMap<String, u32> = HashMap::new();
    let mut ids = Vec::new();
    let mut raw: Vec<Vec<(u32, f32)>> = Vec::new();
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    let mut words = Vec::new();
    while let Some(row) = rows.next()? {
        let content_id: i64 = row.get(0)?;
        let mut weighted: BTreeMap<u32, f32> = BTreeMap::new();
        for (i, (column, kind, weight)) in medium.similarity.iter().enumerate() {
            let text: Option<String> = match row.get_ref(i + 1)? {
                rusqlite::types::ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                rusqlite::types::ValueRef::Integer(n) => Some(n.to_string()),
                _ => None,
            };
            let Some(text) = text else { continue };
            words.clear();
            tokens_of(*kind, &text, &mut words, column);
            for token in words.drain(..) {
                let next = interner.len() as u32;
                let id = *interner.entry(token).or_insert(next);
                *weighted.entry(id).or_default() += weight;
            }
        }
        for genre in genres.get(&content_id).into_iter().flatten() {
            let next = interner.len() as u32;
            let id = *interner.entry(format!("genre:{genre}")).or_insert(next);
            *weighted.entry(id).or_default() += GENRE_WEIGHT;
        }
        ids.push(content_id);
        raw.push(weighted.into_iter().collect());
    }
    // The tokens' text is not needed past here (on a large medium it is as large as the vectors).
    let tokens = interner.len();
    drop((interner, genres));
    // Inverse document frequency, then unit length.
    let mut df = vec![0u32; tokens];
    for vector in &raw {
        for (token, _) in vector {
            df[*token as usize] += 1;
        }
    }
    let n = ids.len().max(1) as f32;
    let mut postings: Vec<Vec<u32>> = vec![Vec::new(); tokens];
    let vectors: Vec<Vec<(u32, f32)>> = raw
        .into_iter()
        .enumerate()
        .map(|(item, vector)| {
            let mut weighted: Vec<(u32, f32)> = vector
                .into_iter()
                .map(|(t, w)| (t, w * (n / df[t as usize] as f32).ln().max(0.0)))
                .collect();
            let norm = weighted.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
            if norm > 0.0 {
                for (_, w) in weighted.iter_mut() {
                    *w /= norm;
                }
            }
            weighted.retain(|(_, w)| *w > 0.0);
            for (token, _) in &weighted {
                postings[*token as usize].push(item as u32);
            }
            weighted
        })
        .collect();
    Ok(Space {
        ids,
        vectors,
        postings,
    })
}

/// Per-thread scratch space: a dense accumulator over the medium's items and the items it touched
/// (an array beats a hash map by several times on the hot loop of a full rebuild).
struct Scratch {
    partial: Vec<f32>,
    touched: Vec<u32>,
    /// The item's own vector spread over all tokens: a candidate's exact score is then a gather
    /// per token of the candidate instead of a branchy merge of two sorted lists.
    spread: Vec<f32>,
}

impl Scratch {
    fn new(space: &Space) -> Scratch {
        Scratch {
            partial: vec![0.0; space.ids.len()],
            touched: Vec::new(),
            spread: vec![0.0; space.postings.len()],
        }
    }
}

/// The nearest neighbours of one item: (item, similarity), best first.
fn neighbours(space: &Space, item: usize, scratch: &mut Scratch) -> Vec<(usize, f32)> {
    let vector = &space.vectors[item];
    for (token, weight) in vector {
        let posting = &space.postings[*token as usize];
        let step = (posting.len() / POSTINGS_READ).max(1);
        for &other in posting.iter().step_by(step).take(POSTINGS_READ) {
            if other as usize != item {
                let slot = &mut scratch.partial[other as usize];
                if *slot == 0.0 {
                    scratch.touched.push(other);
                }
                *slot += weight;
            }
        }
    }
    let mut candidates: Vec<(u32, f32)> = scratch
        .touched
        .drain(..)
        .map(|other| {
            let slot = &mut scratch.partial[other as usize];
            let partial = *slot;
            *slot = 0.0;
            (other, partial)
        })
        .collect();
    if candidates.len() > CANDIDATES {
        candidates
            .select_nth_unstable_by(CANDIDATES, |a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        candidates.truncate(CANDIDATES);
    }
    for (token, weight) in vector {
        scratch.spread[*token as usize] = *weight;
    }
    let spread = &scratch.spread;
    let mut scored: Vec<(usize, f32)> = candidates
        .into_iter()
        .map(|(other, _)| {
            let score: f32 = space.vectors[other as usize]
                .iter()
                .map(|(token, weight)| weight * spread[*token as usize])
                .sum();
            (other as usize, score)
        })
        .filter(|(_, s)| *s > 0.0)
        .collect();
    for (token, _) in vector {
        scratch.spread[*token as usize] = 0.0;
    }
    scored.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then(space.ids[a.0].cmp(&space.ids[b.0]))
    });
    scored.truncate(NEIGHBOURS);
    scored
}

/// Contents (per medium) added or changed in the window, and whether a medium needs a full pass.
fn touched(
    conn: &Connection,
    w: Window,
) -> rusqlite::Result<BTreeMap<&'static str, BTreeSet<i64>>> {
    let mut out: BTreeMap<&'static str, BTreeSet<i64>> = BTreeMap::new();
    for medium in MEDIA.iter() {
        let sql = format!(
            "SELECT object_id FROM {added} WHERE id > ?1 AND id <= ?2
             UNION SELECT object_id FROM changed_event WHERE id > ?1 AND id <= ?2 AND model_name = ?3",
            added = medium.table.added_event_table()
        );
        let ids: BTreeSet<i64> = conn
            .prepare(&sql)?
            .query_map(rusqlite::params![w.from, w.to, medium.name()], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if !ids.is_empty() {
            out.insert(medium.name(), ids);
        }
    }
    // Lists naming a content deleted in the window are computed again (without it).
    let deleted = super::deleted_in(conn, w)?;
    let mut content_type = conn.prepare_cached(
        "SELECT content_type0 FROM similars_content WHERE content_id0 = ?1 LIMIT 1",
    )?;
    for (owner, _) in NAMING.rows_naming(conn, &deleted)? {
        let medium: Option<String> = content_type
            .query_row([owner], |r| r.get(0))
            .optional()?
            .flatten();
        if let Some(medium) = medium.as_deref().and_then(Medium::by_content_type) {
            out.entry(medium.name()).or_default().insert(owner);
        }
    }
    Ok(out)
}

/// `similars_content` names neighbours in `content_id1`, not indexed (V11).
const NAMING: super::NamingTable = super::NamingTable {
    table: "similars_content",
    owner: "content_id0",
    content: "content_id1",
};

/// What a run writes for one medium: neighbour pairs as positions in `ids`, and the contents whose
/// lists are replaced.
struct Output {
    ids: Vec<i64>,
    pairs: Vec<(u32, u32, f32)>,
    replaced: Vec<u32>,
}

/// Neighbour lists to write: for a full pass every content's list (computed on all cores); otherwise
/// the changed contents' lists plus the patched lists of their neighbours (those whose list a changed
/// content now enters).
fn compute(
    conn: &Connection,
    medium: &'static Medium,
    only: Option<&BTreeSet<i64>>,
) -> rusqlite::Result<Output> {
    let space = space(conn, medium)?;
    let position: HashMap<i64, u32> = space
        .ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i as u32))
        .collect();
    let Some(only) = only else {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .max(1);
        let chunk = space.ids.len().div_ceil(threads).max(1);
        let pairs: Vec<(u32, u32, f32)> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..space.ids.len())
                .step_by(chunk)
                .map(|start| {
                    let space = &space;
                    scope.spawn(move || {
                        let mut scratch = Scratch::new(space);
                        let end = (start + chunk).min(space.ids.len());
                        let mut pairs = Vec::with_capacity((end - start) * NEIGHBOURS);
                        for item in start..end {
                            for (other, score) in neighbours(space, item, &mut scratch) {
                                pairs.push((item as u32, other as u32, score));
                            }
                        }
                        pairs
                    })
                })
                .collect();
            // Appended to the first part, each part freed once moved: not two copies at once.
            let mut parts = workers.into_iter().map(|w| w.join().unwrap_or_default());
            let mut pairs = parts.next().unwrap_or_default();
            for part in parts {
                pairs.extend(part);
            }
            pairs
        });
        let replaced = (0..space.ids.len() as u32).collect();
        return Ok(Output {
            ids: space.ids,
            pairs,
            replaced,
        });
    };
    let mut scratch = Scratch::new(&space);
    let mut pairs = Vec::new();
    let mut replaced: Vec<u32> = Vec::new();
    let mut current: BTreeMap<u32, Vec<(u32, f32)>> = BTreeMap::new();
    for item in only.iter().filter_map(|id| position.get(id).copied()) {
        let found = neighbours(&space, item as usize, &mut scratch);
        replaced.push(item);
        for (other, score) in &found {
            pairs.push((item, *other as u32, *score));
        }
        // Patch the neighbours' own lists: this content enters those where it beats the weakest.
        for (other, score) in found {
            let other = other as u32;
            if let std::collections::btree_map::Entry::Vacant(slot) = current.entry(other) {
                let stored: Vec<(u32, f32)> = conn
                    .prepare_cached("SELECT content_id1, similarity FROM similars_content WHERE content_id0 = ?1")?
                    .query_map([space.ids[other as usize]], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, f64>(1)? as f32)))?
                    .filter_map(|row| row.ok().and_then(|(id, s)| position.get(&id).map(|p| (*p, s))))
                    .collect();
                slot.insert(stored);
            }
            if let Some(list) = current.get_mut(&other) {
                list.retain(|(n, _)| *n != item);
                list.push((item, score));
                list.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                list.truncate(NEIGHBOURS);
            }
        }
    }
    for (other, list) in current {
        if replaced.contains(&other) {
            continue;
        }
        replaced.push(other);
        pairs.extend(list.into_iter().map(|(n, s)| (other, n, s)));
    }
    Ok(Output {
        ids: space.ids,
        pairs,
        replaced,
    })
}

fn insert_pairs(
    tx: &rusqlite::Transaction<'_>,
    medium: &Medium,
    out: &Output,
    pairs: &[(u32, u32, f32)],
) -> rusqlite::Result<()> {
    let content_type = medium.table.content_type;
    super::insert_batched(
        tx,
        "INSERT OR REPLACE INTO similars_content (content_id0, content_id1, similarity, content_type0, content_type1) VALUES",
        5,
        pairs,
        |statement, first, (a, b, score)| {
            statement.raw_bind_parameter(first, out.ids[*a as usize])?;
            statement.raw_bind_parameter(first + 1, out.ids[*b as usize])?;
            statement.raw_bind_parameter(first + 2, f64::from(*score))?;
            statement.raw_bind_parameter(first + 3, content_type)?;
            statement.raw_bind_parameter(first + 4, content_type)
        },
    )
}

/// The stored lists of `ids`: content → (neighbour, similarity) by neighbour. One key lookup per
/// content (a key range would also cover the other media's contents between them).
fn stored_lists(
    conn: &Connection,
    ids: &[i64],
) -> rusqlite::Result<crate::util::idhash::IdMap<i64, Vec<(i64, f64)>>> {
    let mut lists: crate::util::idhash::IdMap<i64, Vec<(i64, f64)>> = Default::default();
    let mut stmt = conn.prepare_cached(
        "SELECT content_id1, coalesce(similarity, 0) FROM similars_content
         WHERE content_id0 = ?1 ORDER BY content_id1",
    )?;
    for id in ids {
        let list: Vec<(i64, f64)> = stmt
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        if !list.is_empty() {
            lists.insert(*id, list);
        }
    }
    Ok(lists)
}

/// Writes every list of one medium in short transactions (with foreign keys off, see
/// `super::without_foreign_keys`), so that the API keeps writing during a rebuild: each transaction
/// covers a run of contents (no mass delete, which would visit the whole table in one transaction)
/// and rewrites the lists that differ from the stored ones. An interrupted rebuild leaves old and
/// new lists side by side, all valid. Contents deleted since the snapshot are left out; the last
/// transaction removes the lists of those deleted meanwhile and moves the watermark (lists naming
/// them are computed again by the next run, which sees their deletion events).
fn write_full(
    conn: &mut Connection,
    w: Window,
    medium: &'static Medium,
    out: &Output,
) -> Result<(), EngineError> {
    let items_per_transaction = (ROWS_PER_TRANSACTION / NEIGHBOURS).max(1);
    // Pairs are grouped by item, in item order.
    let mut rest: &[(u32, u32, f32)] = &out.pairs;
    for first in (0..out.ids.len()).step_by(items_per_transaction) {
        let end = (first + items_per_transaction).min(out.ids.len()) as u32;
        let split = rest.partition_point(|(item, _, _)| *item < end);
        let (pairs, later) = rest.split_at(split);
        rest = later;
        let tx = crate::db::write_transaction(conn)?;
        // Contents deleted since the snapshot are left out: their own lists and mentions.
        let deleted = super::deleted_since(&tx, w.to)?;
        let live = |item: &u32| !deleted.contains(&out.ids[*item as usize]);
        let stored = stored_lists(&tx, &out.ids[first..end as usize])?;
        // Only the lists that differ from the stored ones are rewritten: on a rebuild most
        // are the same, and every row not rewritten is a write the API does not wait for.
        let mut changed: Vec<(u32, u32, f32)> = Vec::new();
        let mut clear = tx.prepare_cached("DELETE FROM similars_content WHERE content_id0 = ?1")?;
        for item in first as u32..end {
            let from = pairs.partition_point(|(a, _, _)| *a < item);
            let to = pairs.partition_point(|(a, _, _)| *a <= item);
            let mut list: Vec<(i64, f64)> = pairs[from..to]
                .iter()
                .filter(|(a, b, _)| live(a) && live(b))
                .map(|(_, b, score)| (out.ids[*b as usize], f64::from(*score)))
                .collect();
            list.sort_by_key(|(id, _)| *id);
            let id = out.ids[item as usize];
            if stored.get(&id).map_or(list.is_empty(), |old| *old == list) {
                continue;
            }
            clear.execute([id])?;
            changed.extend(
                pairs[from..to]
                    .iter()
                    .filter(|(a, b, _)| live(a) && live(b)),
            );
        }
        drop(clear);
        insert_pairs(&tx, medium, out, &changed)?;
        tx.commit()?;
        super::chunk_committed(conn);
    }
    Ok(())
}

/// A full run, medium by medium: each medium's lists are computed from a snapshot of their own and
/// written before the next medium is computed, so that one medium's lists are in memory at a time
/// (a medium's lists name only its own contents). A snapshot taken after `w.to` sees no less than
/// the window: whatever it sees beyond it, the next run handles again. The largest medium (tracks,
/// last in `MEDIA`) comes first: the collaborative lane beside it trains that medium last, and the
/// two largest working sets then do not meet (at the same end, a large rebuild peaked at 972 MB,
/// against 868–929 MB).
fn run_full(conn: &mut Connection, w: Window) -> Result<RunOutcome, EngineError> {
    let mut timer = super::Timer::default();
    let mut updated = 0;
    for medium in MEDIA.iter().rev() {
        let out = {
            let tx = conn.transaction()?;
            let out = compute(&tx, medium, None)?;
            tx.commit()?;
            out
        };
        updated += out.pairs.len();
        timer.lap("compute");
        super::without_foreign_keys(conn, |conn| write_full(conn, w, medium, &out))?;
        // What a medium freed stays in its threads' arenas, resident, under the other lane's
        // working set: handed back, a large rebuild peaked at 787-817 MB instead of 913-957 MB.
        drop(out);
        crate::util::memory::release_free_memory();
        timer.lap("write");
    }
    // A content deleted after its chunk was written: its own list goes now, its mentions at the
    // next run (its deletion event is past this run's watermark).
    let committed = commit(conn, STAGE, w, true, |tx| {
        let mut orphaned =
            tx.prepare_cached("DELETE FROM similars_content WHERE content_id0 = ?1")?;
        for id in super::deleted_since(tx, w.to)? {
            orphaned.execute([id])?;
        }
        Ok(())
    })?;
    timer.lap("write");
    timer.log(STAGE);
    Ok(RunOutcome::of(committed, false, w, updated))
}

/// One run of the stage.
pub fn run(conn: &mut Connection, full: bool) -> Result<RunOutcome, EngineError> {
    let (w, work) = {
        let tx = conn.transaction()?;
        let w = window(&tx, STAGE, full)?;
        // A first run covers everything: it writes as a full one does, in short transactions.
        if full || w.from == 0 {
            tx.commit()?;
            return run_full(conn, w);
        }
        let mut work = Vec::new();
        for (name, ids) in touched(&tx, w)? {
            if let Some(medium) = Medium::by_name(name) {
                work.push((medium, compute(&tx, medium, Some(&ids))?));
            }
        }
        tx.commit()?;
        (w, work)
    };
    let updated: usize = work.iter().map(|(_, out)| out.pairs.len()).sum();
    let nothing = work.is_empty();
    let committed = commit(conn, STAGE, w, false, |tx| {
        // Contents deleted in the window or since the snapshot: their own lists go, and no
        // list written here names them.
        let deleted = super::deleted_since(tx, w.from)?;
        let mut clear = tx.prepare_cached("DELETE FROM similars_content WHERE content_id0 = ?1")?;
        for id in &deleted {
            clear.execute([id])?;
        }
        for (medium, out) in &work {
            // Only the changed contents' lists and the lists they entered are replaced.
            for item in &out.replaced {
                clear.execute([out.ids[*item as usize]])?;
            }
            let live = |item: &u32| !deleted.contains(&out.ids[*item as usize]);
            let pairs: Vec<(u32, u32, f32)> = out
                .pairs
                .iter()
                .filter(|(a, b, _)| live(a) && live(b))
                .copied()
                .collect();
            insert_pairs(tx, medium, out, &pairs)?;
        }
        Ok(())
    })?;
    Ok(RunOutcome::of(committed, nothing, w, updated))
}
