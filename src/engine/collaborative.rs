//! Collaborative filtering: item-based nearest neighbours on implicit feedback.
//!
//! Two contents are similar when the same users consumed both: the cosine of their interaction
//! vectors (weights from `taste::Interaction::strength`, each user damped by how much they consumed so
//! that a few omnivores do not link everything), shrunk toward zero when the overlap is small. The
//! co-occurrences are counted user by user (Σ over users of their history squared, never items²),
//! on all cores, and only each content's best `NEIGHBOURS` are kept in `collaborative_neighbours`.
//!
//! Each medium's model is one of two, chosen on that medium's own held-out interactions at each
//! training (`choose`): these cosine lists, or EASE's regression restricted to each content's best
//! cosine candidates (`super::regression`), which leads on MovieLens while the cosine leads on the
//! seeded databases' genre-wide tastes.
//!
//! A user's list is then folded in from the model at any time: the sum, over what the user consumed,
//! of the neighbours' similarities weighted by the user's own interaction strength. So one new rating
//! changes that user's list at once, without retraining; the model itself is retrained when the
//! interactions it learned from have grown by `RETRAIN_FRACTION`.

use super::ROWS_PER_TRANSACTION;
use super::taste::Interaction;
use super::{EngineError, RunOutcome, commit, window};
use crate::media::MEDIA;
use crate::util::idhash::IdMap;
use rusqlite::{Connection, params};
use std::hash::Hash;

pub const STAGE: &str = "collaborative";
/// Neighbours kept per content.
pub const NEIGHBOURS: usize = 30;
/// New interactions, as a share of all, that make the model worth retraining.
const RETRAIN_FRACTION: f64 = 0.05;

#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub neighbours: usize,
    /// Added to the cosine's denominator: similarities resting on few shared users count less.
    pub shrink: f32,
    /// A user's most telling interactions that count toward co-occurrences.
    pub history_cap: usize,
    /// The cosine divided by the neighbour's popularity (its number of users) to this power. Off: on
    /// MovieLens 100K 0.25 doubled coverage at the same NDCG, but on the seeded series it cost 78 % of
    /// NDCG, where popularity carries real signal (BENCHMARKS.md, issue 16).
    pub popularity_penalty: f32,
    /// Neighbourhood-restricted EASE over the cosine candidates (None: the cosine lists themselves).
    pub regression: Option<Regression>,
}

/// The `NeighbourhoodEASE` model of `evaluate` (`super::regression`). Its hyper-parameters were
/// chosen on MovieLens 100K's validation split (BENCHMARKS.md, issue 16).
#[derive(Debug, Clone, Copy)]
pub struct Regression {
    /// Best cosine neighbours each item is regressed on.
    pub candidates: usize,
    /// Ridge penalty on the 0/1 Gram matrix.
    pub lambda: f32,
    /// Weight of the cosine similarity (best `NEIGHBOURS`) added to the regression weights.
    pub cosine_blend: f32,
}

impl Regression {
    pub const CHOSEN: Regression = Regression {
        candidates: 50,
        lambda: 1.0,
        cosine_blend: 0.03,
    };
    /// Weights kept per item (each item speaks for about `candidates` others, plus its cosine ones).
    pub const KEPT: usize = 100;
}

impl Params {
    /// The `NeighbourhoodEASE` model: the regression over the cosine candidates.
    pub fn regression() -> Params {
        Params {
            neighbours: Regression::KEPT,
            regression: Some(Regression::CHOSEN),
            ..Params::default()
        }
    }
}

impl Default for Params {
    fn default() -> Self {
        Params {
            neighbours: NEIGHBOURS,
            shrink: 10.0,
            history_cap: 400,
            popularity_penalty: 0.0,
            regression: None,
        }
    }
}

/// Item neighbours from user histories (`histories[user]` = (item, strength), items < `items`).
/// Returns, per item, its best neighbours (item, similarity), best first.
pub fn train(items: usize, histories: &[Vec<(u32, f32)>], params: Params) -> Vec<Vec<(u32, f32)>> {
    let kept = match params.regression {
        Some(r) => r.candidates,
        None => params.neighbours,
    };
    let started = std::time::Instant::now();
    let pass = cosine(items, histories, &params, kept);
    let cosine_seconds = started.elapsed().as_secs_f64();
    match params.regression {
        None => pass.lists,
        Some(r) => {
            let lists = regress(pass, r, params.neighbours);
            tracing::debug!(
                items,
                cosine_seconds,
                regression_seconds = started.elapsed().as_secs_f64() - cosine_seconds,
                "collaborative model trained"
            );
            lists
        }
    }
}

/// The cosine neighbours of every item, with what the regression goes on to need.
struct CosinePass {
    /// Per item, its best `kept` cosine neighbours, best first.
    lists: Vec<Vec<(u32, f32)>>,
    /// Per item, its users (ascending).
    item_users: Vec<Vec<u32>>,
    users: usize,
}

fn cosine(items: usize, histories: &[Vec<(u32, f32)>], params: &Params, kept: usize) -> CosinePass {
    // Each user's histories, capped and damped: a user's weight shrinks with the log of its size.
    let damped: Vec<Vec<(u32, f32)>> = histories
        .iter()
        .map(|history| {
            let mut kept = history.clone();
            if kept.len() > params.history_cap {
                kept.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                kept.truncate(params.history_cap);
            }
            let damping = 1.0 / (2.0 + kept.len() as f32).ln().sqrt();
            kept.iter().map(|(i, w)| (*i, w * damping)).collect()
        })
        .collect();
    let mut item_users: Vec<Vec<(u32, f32)>> = vec![Vec::new(); items];
    for (user, history) in damped.iter().enumerate() {
        for (item, weight) in history {
            item_users[*item as usize].push((user as u32, *weight));
        }
    }
    let norms: Vec<f32> = item_users
        .iter()
        .map(|users| users.iter().map(|(_, w)| w * w).sum::<f32>().sqrt())
        .collect();
    let penalty: Vec<f32> = item_users
        .iter()
        .map(|users| {
            (users.len() as f32)
                .max(1.0)
                .powf(params.popularity_penalty)
        })
        .collect();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let mut lists: Vec<Vec<(u32, f32)>> = vec![Vec::new(); items];
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|offset| {
                let (damped, item_users, norms, penalty) = (&damped, &item_users, &norms, &penalty);
                scope.spawn(move || {
                    let mut acc = vec![0f32; items];
                    let mut touched: Vec<u32> = Vec::new();
                    let mut out = Vec::new();
                    // Interleaved items balance popular and rare ones between the threads.
                    for item in (offset..items).step_by(threads) {
                        for (user, wi) in &item_users[item] {
                            for (other, wj) in &damped[*user as usize] {
                                if *other as usize == item {
                                    continue;
                                }
                                let slot = &mut acc[*other as usize];
                                if *slot == 0.0 {
                                    touched.push(*other);
                                }
                                *slot += wi * wj;
                            }
                        }
                        let mut scored: Vec<(u32, f32)> = touched
                            .iter()
                            .map(|other| {
                                let o = *other as usize;
                                let cosine = acc[o] / (norms[item] * norms[o] + params.shrink);
                                (*other, cosine / penalty[o])
                            })
                            .collect();
                        for other in touched.drain(..) {
                            acc[other as usize] = 0.0;
                        }
                        out.push((item, best(scored.as_mut_slice(), kept)));
                    }
                    out
                })
            })
            .collect();
        for worker in workers {
            for (item, list) in worker.join().unwrap_or_default() {
                lists[item] = list;
            }
        }
    });
    // EASE's Gram is over 0/1 interactions (measured better than the damped strengths).
    let item_users = item_users
        .into_iter()
        .map(|users| users.into_iter().map(|(user, _)| user).collect())
        .collect();
    CosinePass {
        lists,
        item_users,
        users: damped.len(),
    }
}

/// The regression over each item's cosine candidates, blended with its best cosine neighbours;
/// `kept` weights per item.
fn regress(pass: CosinePass, r: Regression, kept: usize) -> Vec<Vec<(u32, f32)>> {
    let started = std::time::Instant::now();
    let rows = super::regression::refine(&pass.item_users, pass.users, &pass.lists, r.lambda);
    tracing::debug!(
        seconds = started.elapsed().as_secs_f64(),
        "regression weights solved"
    );
    drop(pass.item_users);
    // One item after the other: merged on both cores, the same rebuild's peak grew by 240 MB (the
    // workers' allocator arenas) and took no less time. Both inputs are consumed as the merged
    // lists grow, so that the three are not all in memory at once.
    rows.into_iter()
        .zip(pass.lists)
        .map(|(row, cosine)| {
            let mut merged: IdMap<u32, f32> = row.into_iter().collect();
            for (other, similarity) in cosine.iter().take(NEIGHBOURS) {
                *merged.entry(*other).or_default() += r.cosine_blend * similarity;
            }
            let mut merged: Vec<(u32, f32)> = merged.into_iter().collect();
            best(merged.as_mut_slice(), kept)
        })
        .collect()
}

/// Which item-item model a medium's lists come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// The cosine neighbours (`Params::default`).
    Cosine,
    /// The neighbourhood-restricted EASE regression (`Params::regression`).
    Regression,
}

impl Model {
    pub fn params(self) -> Params {
        match self {
            Model::Cosine => Params::default(),
            Model::Regression => Params::regression(),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Model::Cosine => "cosine",
            Model::Regression => "neighbourhood EASE",
        }
    }
}

/// The outcome of a medium's model choice: each model's NDCG@10 on the held-out interactions.
#[derive(Debug, Clone, Copy)]
pub struct Choice {
    pub model: Model,
    pub cosine: f64,
    pub regression: f64,
    /// Users whose held-out interactions were scored.
    pub users: usize,
}

/// Share of each user's history held out to choose the model.
const HELD_OUT: f64 = 0.2;
/// Training interactions the choice may use: above, every k-th user only.
const CHOICE_BUDGET: usize = 100_000;

/// Chooses the model for one medium on its own data: the latest `HELD_OUT` of each user's history
/// (in stored order, which is when the user first interacted) is hidden, both models learn from the
/// rest and recommend 10 items per user, and the better NDCG@10 on the hidden part wins (ties to
/// the cheaper cosine). Neither model wins everywhere: the regression leads on MovieLens, the cosine
/// on the seeded databases' genre-wide tastes (BENCHMARKS.md, issue 16).
pub fn choose(items: usize, histories: &[Vec<(u32, f32)>]) -> Choice {
    let total: usize = histories.iter().map(Vec::len).sum();
    let step = total.div_ceil(CHOICE_BUDGET).max(1);
    let (mut train_part, mut hidden_part) = (Vec::new(), Vec::new());
    for history in histories.iter().step_by(step) {
        let hidden = if history.len() >= 2 {
            ((history.len() as f64 * HELD_OUT).round() as usize).clamp(1, history.len() - 1)
        } else {
            0
        };
        let (kept, held) = history.split_at(history.len() - hidden);
        train_part.push(kept.to_vec());
        hidden_part.push(held.iter().map(|(item, _)| *item).collect::<Vec<u32>>());
    }
    let score = |lists: &[Vec<(u32, f32)>]| {
        let (mut sum, mut users) = (0.0, 0usize);
        for (history, hidden) in train_part.iter().zip(&hidden_part) {
            if hidden.is_empty() {
                continue;
            }
            let seen: crate::util::idhash::IdSet<u32> = history.iter().map(|(i, _)| *i).collect();
            let mut scores: Vec<(u32, f32)> =
                fold_in(history, |item| lists.get(item as usize).map(Vec::as_slice))
                    .into_iter()
                    .filter(|(item, score)| *score > 0.0 && !seen.contains(item))
                    .collect();
            let top: Vec<u32> = best(scores.as_mut_slice(), super::metrics::AT)
                .into_iter()
                .map(|(item, _)| item)
                .collect();
            sum += super::metrics::ndcg(&top, |item| hidden.contains(&item), hidden.len());
            users += 1;
        }
        (sum / users.max(1) as f64, users)
    };
    // Both models start from the same cosine pass: the cosine model is its best `NEIGHBOURS`
    // (`best` is a total order, so the best 30 of the best 50 are the best 30), the regression
    // refines its best `candidates`.
    let (cosine_params, regression_params) = (Model::Cosine.params(), Model::Regression.params());
    let r = regression_params.regression.unwrap_or(Regression::CHOSEN);
    let pass = cosine(
        items,
        &train_part,
        &regression_params,
        r.candidates.max(cosine_params.neighbours),
    );
    let cosine_lists: Vec<Vec<(u32, f32)>> = pass
        .lists
        .iter()
        .map(|list| list[..list.len().min(cosine_params.neighbours)].to_vec())
        .collect();
    let (cosine, users) = score(&cosine_lists);
    drop(cosine_lists);
    let (regression, _) = score(&regress(pass, r, regression_params.neighbours));
    Choice {
        model: if regression > cosine {
            Model::Regression
        } else {
            Model::Cosine
        },
        cosine,
        regression,
        users,
    }
}

/// One medium's model: chosen on held-out data (`choose`), then trained on everything.
pub fn train_chosen(items: usize, histories: &[Vec<(u32, f32)>]) -> (Vec<Vec<(u32, f32)>>, Choice) {
    let choice = choose(items, histories);
    (train(items, histories, choice.model.params()), choice)
}

/// The `n` best (key, score) pairs, best first; ties by key for stable output.
pub fn best<K: Copy + Ord>(scored: &mut [(K, f32)], n: usize) -> Vec<(K, f32)> {
    let order = |a: &(K, f32), b: &(K, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if scored.len() > n && n > 0 {
        scored.select_nth_unstable_by(n, order);
    }
    let mut kept: Vec<(K, f32)> = scored.iter().take(n).copied().collect();
    kept.sort_by(order);
    kept
}

/// A user's scores from a neighbour model: Σ over the history of strength × similarity.
pub fn fold_in<'a, K, F>(history: &[(K, f32)], mut neighbours: F) -> IdMap<K, f32>
where
    K: Copy + Eq + Hash + 'a,
    F: FnMut(K) -> Option<&'a [(K, f32)]>,
{
    let mut scores: IdMap<K, f32> = IdMap::default();
    for (item, strength) in history {
        for (other, similarity) in neighbours(*item).unwrap_or(&[]) {
            *scores.entry(*other).or_default() += strength * similarity;
        }
    }
    scores
}

/// The first byte of a model row in the compact layout: (content_id u32 LE, similarity f32 LE)
/// pairs after it, so a row's length is 1 + 8k, never a multiple of 12 as in the first layout
/// (content_id i64 LE, similarity f32 LE), which is still read.
const COMPACT: u8 = 1;

/// A model row: compact when every id fits 32 bits (a regression row of 100 weights is 801 bytes
/// instead of 1,200, which the rebuild writes and the lists read back).
pub fn pack(list: &[(i64, f32)]) -> Vec<u8> {
    let compact: Option<Vec<u32>> = list.iter().map(|(id, _)| u32::try_from(*id).ok()).collect();
    match compact {
        Some(ids) => {
            let mut blob = Vec::with_capacity(1 + list.len() * 8);
            blob.push(COMPACT);
            for (id, (_, similarity)) in ids.iter().zip(list) {
                blob.extend_from_slice(&id.to_le_bytes());
                blob.extend_from_slice(&similarity.to_le_bytes());
            }
            blob
        }
        None => {
            let mut blob = Vec::with_capacity(list.len() * 12);
            for (id, similarity) in list {
                blob.extend_from_slice(&id.to_le_bytes());
                blob.extend_from_slice(&similarity.to_le_bytes());
            }
            blob
        }
    }
}

pub fn unpack(blob: &[u8]) -> Vec<(i64, f32)> {
    let four = |bytes: &[u8]| {
        let mut out = [0u8; 4];
        out.copy_from_slice(bytes);
        out
    };
    match blob.split_first() {
        Some((&COMPACT, pairs)) if !blob.len().is_multiple_of(12) => pairs
            .chunks_exact(8)
            .map(|pair| {
                (
                    i64::from(u32::from_le_bytes(four(&pair[..4]))),
                    f32::from_le_bytes(four(&pair[4..])),
                )
            })
            .collect(),
        _ => blob
            .chunks_exact(12)
            .map(|pair| {
                let mut id = [0u8; 8];
                id.copy_from_slice(&pair[..8]);
                (i64::from_le_bytes(id), f32::from_le_bytes(four(&pair[8..])))
            })
            .collect(),
    }
}

/// The stored neighbours of one content.
pub fn stored(conn: &Connection, content_id: i64) -> rusqlite::Result<Vec<(i64, f32)>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .prepare_cached("SELECT neighbours FROM collaborative_neighbours WHERE content_id = ?1")?
        .query_row([content_id], |r| r.get::<_, Vec<u8>>(0))
        .optional()?
        .map(|blob| unpack(&blob))
        .unwrap_or_default())
}

/// Every content's medium, indexed by content id (ids are dense: AUTOINCREMENT from 1).
pub fn media_of_contents(conn: &Connection) -> rusqlite::Result<Vec<Option<u8>>> {
    let mut out: Vec<Option<u8>> = Vec::new();
    let mut stmt = conn.prepare("SELECT content_id, content_type FROM content")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let content_type: Option<String> = row.get(1)?;
        let Some(medium) =
            content_type.and_then(|t| MEDIA.iter().position(|m| m.table.content_type == t))
        else {
            continue;
        };
        let Ok(index) = usize::try_from(id) else {
            continue;
        };
        if out.len() <= index {
            out.resize(index + 1, None);
        }
        out[index] = Some(medium as u8);
    }
    Ok(out)
}

/// One medium's interactions with dense item positions.
struct Matrix {
    ids: Vec<i64>,
    position: IdMap<i64, u32>,
    histories: Vec<Vec<(u32, f32)>>,
}

/// Reads all interactions once, in table order (by user), split by medium.
fn matrices(conn: &Connection) -> rusqlite::Result<Vec<Matrix>> {
    let media = media_of_contents(conn)?;
    let mut out: Vec<Matrix> = MEDIA
        .iter()
        .map(|_| Matrix {
            ids: Vec::new(),
            position: IdMap::default(),
            histories: Vec::new(),
        })
        .collect();
    // Rows come in table order, which interleaves users whose interactions arrived together:
    // each matrix keeps its own row per user.
    let mut rows_of: Vec<IdMap<i64, usize>> = MEDIA.iter().map(|_| IdMap::default()).collect();
    let mut stmt = conn.prepare(
        "SELECT user_id, content_id, rating, coalesce(review_see_count, 0), coalesce(count, 0) FROM meta_user_content",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let user: i64 = row.get(0)?;
        let content_id: i64 = row.get(1)?;
        let interaction = Interaction {
            rating: row.get(2)?,
            views: row.get(3)?,
            count: row.get(4)?,
        };
        let strength = interaction.strength();
        let medium = usize::try_from(content_id)
            .ok()
            .and_then(|i| media.get(i).copied().flatten());
        let (Some(medium), true) = (medium, strength > 0.0) else {
            continue;
        };
        let medium = usize::from(medium);
        let matrix = &mut out[medium];
        let next = matrix.ids.len() as u32;
        let position = *matrix.position.entry(content_id).or_insert(next);
        if position == next {
            matrix.ids.push(content_id);
        }
        let next_row = matrix.histories.len();
        let user_row = *rows_of[medium].entry(user).or_insert(next_row);
        if user_row == next_row {
            matrix.histories.push(Vec::new());
        }
        matrix.histories[user_row].push((position, strength));
    }
    Ok(out)
}

/// Whether enough has changed since the model was trained (or there is no model yet).
fn worth_retraining(conn: &Connection, from: i64, to: i64) -> rusqlite::Result<bool> {
    if from == 0 {
        return Ok(true);
    }
    let pending: i64 = conn.query_row(
        "SELECT (SELECT count(*) FROM meta_added_event WHERE id > ?1 AND id <= ?2)
              + (SELECT count(*) FROM changed_event WHERE id > ?1 AND id <= ?2 AND model_name = 'meta_user_content')",
        [from, to],
        |r| r.get(0),
    )?;
    if pending == 0 {
        return Ok(false);
    }
    // The highest rowid counts the interactions ever stored, in one B-tree descent (a count(*)
    // would read ten million rows every few seconds while ratings arrive); deleted ones only make
    // the next retraining come a little later.
    let total: i64 = conn.query_row(
        "SELECT coalesce(max(rowid), 0) FROM meta_user_content",
        [],
        |r| r.get(0),
    )?;
    Ok(pending as f64 >= (total as f64 * RETRAIN_FRACTION).max(1.0))
}

/// One run of the stage: retrains every medium's model when worth it; otherwise leaves the pending
/// events for later (the watermark stays, so they still count toward the next decision).
pub fn run(conn: &mut Connection, full: bool) -> Result<RunOutcome, EngineError> {
    let mut timer = super::Timer::default();
    let (w, matrices) = {
        let tx = conn.transaction()?;
        let w = window(&tx, STAGE, full)?;
        if !full && !worth_retraining(&tx, w.from, w.to)? {
            return Ok(RunOutcome::UpToDate { watermark: w.from });
        }
        let matrices = matrices(&tx)?;
        tx.commit()?;
        (w, matrices)
    };
    timer.lap("read");
    // One medium at a time, trained from the snapshot and written before the next one is trained:
    // only one medium's model is ever in memory (holding all six, a large rebuild peaked at 1,285 MB;
    // one at a time, 987 MB).
    let mut written: Vec<i64> = Vec::new();
    for (medium, matrix) in MEDIA.iter().zip(matrices) {
        let choice = choose(matrix.ids.len(), &matrix.histories);
        timer.lap("choose");
        let lists = train(matrix.ids.len(), &matrix.histories, choice.model.params());
        drop(matrix.histories);
        if !matrix.ids.is_empty() {
            tracing::info!(
                medium = medium.table.content_type,
                model = choice.model.name(),
                cosine_ndcg = format!("{:.4}", choice.cosine),
                regression_ndcg = format!("{:.4}", choice.regression),
                users = choice.users,
                "collaborative model chosen on held-out interactions"
            );
        }
        timer.lap("train");
        let ids = matrix.ids;
        let mut order: Vec<u32> = (0..lists.len() as u32)
            .filter(|item| !lists[*item as usize].is_empty())
            .collect();
        order.sort_unstable_by_key(|item| ids[*item as usize]);
        write_rows(conn, &ids, lists, &order)?;
        written.extend(order.iter().map(|item| ids[*item as usize]));
        // Handed back before the next medium, as similarity does (see there).
        crate::util::memory::release_free_memory();
        timer.lap("write");
    }
    written.sort_unstable();
    remove_unwritten(conn, &written)?;
    let committed = commit(conn, STAGE, w, true, |_| Ok(()))?;
    timer.lap("write");
    timer.log(STAGE);
    Ok(RunOutcome::of(committed, false, w, written.len()))
}

/// Replaces the model rows of the items in `order` (sorted by content id) in short transactions (the
/// API keeps writing), each packed as it is written: all of a medium's rows packed at once were
/// another copy of its model in memory. The watermark moves last, so an interrupted run is redone,
/// and fold-ins meanwhile read a partly new model.
fn write_rows(
    conn: &mut Connection,
    ids: &[i64],
    mut lists: Vec<Vec<(u32, f32)>>,
    order: &[u32],
) -> Result<(), EngineError> {
    let mut named: Vec<(i64, f32)> = Vec::new();
    for chunk in order.chunks(ROWS_PER_TRANSACTION) {
        let tx = crate::db::write_transaction(conn)?;
        // A content deleted since the snapshot must not come back as a model row.
        let mut insert = tx.prepare_cached(
            "INSERT OR REPLACE INTO collaborative_neighbours (content_id, neighbours)
             SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM content WHERE content_id = ?1)",
        )?;
        for item in chunk {
            let list = std::mem::take(&mut lists[*item as usize]);
            named.clear();
            named.extend(list.iter().map(|(o, s)| (ids[*o as usize], *s)));
            insert.execute(params![ids[*item as usize], pack(&named)])?;
        }
        drop(insert);
        tx.commit()?;
        super::chunk_committed(conn);
    }
    Ok(())
}

/// Deletes the model rows of contents this run wrote none for (`written`, sorted): one range delete
/// per gap between written ids, on the primary key (no scan of the model's blobs).
fn remove_unwritten(conn: &mut Connection, written: &[i64]) -> Result<(), EngineError> {
    let mut gaps: Vec<(i64, i64)> = Vec::new();
    let mut low = i64::MIN;
    for id in written {
        if *id > low {
            gaps.push((low, id - 1));
        }
        low = id.saturating_add(1);
    }
    gaps.push((low, i64::MAX));
    for chunk in gaps.chunks(ROWS_PER_TRANSACTION) {
        let tx = crate::db::write_transaction(conn)?;
        let mut delete = tx.prepare_cached(
            "DELETE FROM collaborative_neighbours WHERE content_id BETWEEN ?1 AND ?2",
        )?;
        for (from, to) in chunk {
            delete.execute([from, to])?;
        }
        drop(delete);
        tx.commit()?;
        super::chunk_committed(conn);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_consumed_together_are_neighbours() {
        // Users 0-2 consume items 0 and 1; users 3-5 consume items 2 and 3; user 6 bridges 1 and 2.
        let histories = vec![
            vec![(0, 1.0), (1, 1.0)],
            vec![(0, 1.0), (1, 1.0)],
            vec![(0, 1.0), (1, 1.0)],
            vec![(2, 1.0), (3, 1.0)],
            vec![(2, 1.0), (3, 1.0)],
            vec![(2, 1.0), (3, 1.0)],
            vec![(1, 1.0), (2, 1.0)],
        ];
        let lists = train(4, &histories, Params::default());
        assert_eq!(lists[0].first().map(|n| n.0), Some(1));
        assert_eq!(lists[3].first().map(|n| n.0), Some(2));
        assert!(lists[0].iter().all(|(o, _)| *o != 3), "never co-consumed");
        let scores = fold_in(&[(0u32, 1.0)], |i| Some(lists[i as usize].as_slice()));
        assert!(scores[&1] > scores.get(&2).copied().unwrap_or(0.0));
    }

    #[test]
    fn packing_round_trips() {
        // Ids past 32 bits keep the first layout; the others are packed compact.
        let wide = vec![(7i64, 0.5f32), (1 << 40, 0.25)];
        assert_eq!(pack(&wide).len(), 24);
        assert_eq!(unpack(&pack(&wide)), wide);
        let narrow = vec![(7i64, 0.5f32), (u32::MAX as i64, -0.25), (1, 1.0)];
        assert_eq!(pack(&narrow).len(), 25);
        assert_eq!(unpack(&pack(&narrow)), narrow);
        assert_eq!(unpack(&pack(&[])), vec![]);
    }

    #[test]
    fn rows_of_the_first_layout_are_still_read() {
        // A row written before the compact layout whose first byte happens to be the marker.
        let list = vec![(1i64, 0.5f32), (2, 0.25)];
        let mut first_layout = Vec::new();
        for (id, similarity) in &list {
            first_layout.extend_from_slice(&id.to_le_bytes());
            first_layout.extend_from_slice(&similarity.to_le_bytes());
        }
        assert_eq!(first_layout[0], COMPACT);
        assert_eq!(unpack(&first_layout), list);
    }
}
