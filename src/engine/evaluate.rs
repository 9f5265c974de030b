//! `recofinement evaluate`: offline evaluation of the engines against baselines.
//!
//! The interactions (a MovieLens-style ratings file, or one medium of a database) are split in time,
//! per user: each user's latest `test_fraction` of interactions are hidden, the rest train the
//! engines. Every engine then recommends 10 contents per user, never one the user has in the training
//! part, and is scored on the hidden ones: precision@10, recall@10 and NDCG@10 (binary relevance:
//! the user went on to interact with it), averaged over users with hidden interactions; catalogue
//! coverage (share of contents recommended to someone); wall seconds to train and recommend.
//!
//! Baselines, as the reference computed them (api-reference.md 5.1): `most-popular` ranks by the IMDB
//! weighted rating with m = the 90th percentile of rating counts; `reference-als` is explicit ALS of
//! rank 10 (Spark's defaults: 10 iterations, λ = 0.1 scaled by each row's ratings), recommending the
//! highest predicted ratings. Two stronger ones: `most-popular-count` ranks by interaction count in
//! the training part, `ease` is the dense EASE regression (`super::ease`, λ = `--ease-lambda`), for
//! datasets of up to 20,000 items. Beside accuracy and coverage, `head_share` is the share of the
//! recommendations that are among the 10 % most interacted-with items (of the training part): how
//! much a list collapses onto the head of the catalogue.

use super::collaborative::{self, Model, best, fold_in};
use super::taste::Interaction;
use crate::media::Medium;
use crate::util::idhash::{IdMap, IdSet};
use rand::{Rng, SeedableRng};
use rusqlite::Connection;
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

pub use super::metrics::AT;

/// One interaction of the dataset, with dense user and item indices.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    pub user: u32,
    pub item: u32,
    pub interaction: Interaction,
    /// Anything that sorts in time (seconds, or an ISO date's rank).
    pub time: i64,
}

#[derive(Debug, Default)]
pub struct Dataset {
    pub users: usize,
    pub items: usize,
    pub events: Vec<Event>,
    /// Content-based side information, when the dataset comes from a database.
    pub side: Option<Side>,
}

/// What the content-based engines need: similarity neighbours and genres of items, liked genres.
#[derive(Debug, Default)]
pub struct Side {
    pub similar: Vec<Vec<(u32, f32)>>,
    pub item_genres: Vec<Vec<i64>>,
    pub liked_genres: Vec<IdSet<i64>>,
}

#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0}: no line of the form `user item rating timestamp`")]
    Empty(String),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// Reads `user item rating timestamp` lines (tabs or spaces; MovieLens `u.data`, RecBole's
/// `ml-100k.inter` with its header). Lines that do not parse are skipped.
pub fn read_ratings(path: &Path) -> Result<Dataset, EvaluateError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| EvaluateError::Read(path.display().to_string(), e))?;
    let mut users: IdMap<String, u32> = IdMap::default();
    let mut items: IdMap<String, u32> = IdMap::default();
    let mut events = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [user, item, rating, time, ..] = fields.as_slice() else {
            continue;
        };
        let (Ok(rating), Ok(time)) = (rating.parse::<f64>(), time.parse::<f64>()) else {
            continue;
        };
        let next = users.len() as u32;
        let user = *users.entry((*user).to_owned()).or_insert(next);
        let next = items.len() as u32;
        let item = *items.entry((*item).to_owned()).or_insert(next);
        events.push(Event {
            user,
            item,
            interaction: Interaction {
                rating: Some(rating.round() as i64),
                views: 0,
                count: 0,
            },
            time: time as i64,
        });
    }
    if events.is_empty() {
        return Err(EvaluateError::Empty(path.display().to_string()));
    }
    Ok(Dataset {
        users: users.len(),
        items: items.len(),
        events,
        side: None,
    })
}

/// One medium of a database: its users' interactions (time = their latest dated change), the
/// stored content similarity, genres and the users' liked genres.
pub fn read_database(conn: &Connection, medium: &Medium) -> Result<Dataset, EvaluateError> {
    let mut users: IdMap<i64, u32> = IdMap::default();
    let mut items: IdMap<i64, u32> = IdMap::default();
    let mut dated: Vec<(Event, String)> = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT m.user_id, m.content_id, m.rating, coalesce(m.review_see_count, 0), coalesce(m.count, 0),
                max(coalesce(m.last_rating_date, ''), coalesce(m.last_count_increment, ''), coalesce(m.last_review_see_date, ''))
         FROM meta_user_content m JOIN content c ON c.content_id = m.content_id WHERE c.content_type = ?1",
    )?;
    let mut rows = stmt.query([medium.table.content_type])?;
    while let Some(row) = rows.next()? {
        let next = users.len() as u32;
        let user = *users.entry(row.get(0)?).or_insert(next);
        let next = items.len() as u32;
        let item = *items.entry(row.get(1)?).or_insert(next);
        let interaction = Interaction {
            rating: row.get(2)?,
            views: row.get(3)?,
            count: row.get(4)?,
        };
        if interaction.strength() > 0.0 {
            let event = Event {
                user,
                item,
                interaction,
                time: 0,
            };
            dated.push((event, row.get(5)?));
        }
    }
    // ISO dates sort as text: their rank is the time.
    dated.sort_by(|a, b| a.1.cmp(&b.1));
    let events: Vec<Event> = dated
        .into_iter()
        .enumerate()
        .map(|(rank, (event, _))| Event {
            time: rank as i64,
            ..event
        })
        .collect();
    let mut side = Side {
        similar: vec![Vec::new(); items.len()],
        item_genres: vec![Vec::new(); items.len()],
        liked_genres: vec![IdSet::default(); users.len()],
    };
    let mut stmt = conn.prepare(
        "SELECT content_id0, content_id1, similarity FROM similars_content WHERE content_type0 = ?1",
    )?;
    let mut rows = stmt.query([medium.table.content_type])?;
    while let Some(row) = rows.next()? {
        if let (Some(a), Some(b)) = (items.get(&row.get(0)?), items.get(&row.get(1)?)) {
            let similarity: Option<f64> = row.get(2)?;
            side.similar[*a as usize].push((*b, similarity.unwrap_or(0.0) as f32));
        }
    }
    let mut stmt = conn.prepare(
        "SELECT cg.content_id, cg.genre_id FROM content_genres cg JOIN genre g ON g.genre_id = cg.genre_id WHERE g.content_type = ?1",
    )?;
    let mut rows = stmt.query([medium.table.content_type])?;
    while let Some(row) = rows.next()? {
        if let Some(item) = items.get(&row.get(0)?) {
            side.item_genres[*item as usize].push(row.get(1)?);
        }
    }
    let mut stmt = conn.prepare(
        "SELECT l.user_id, l.genre_id FROM liked_genres l JOIN genre g ON g.genre_id = l.genre_id WHERE g.content_type = ?1",
    )?;
    let mut rows = stmt.query([medium.table.content_type])?;
    while let Some(row) = rows.next()? {
        if let Some(user) = users.get(&row.get(0)?) {
            side.liked_genres[*user as usize].insert(row.get(1)?);
        }
    }
    Ok(Dataset {
        users: users.len(),
        items: items.len(),
        events,
        side: Some(side),
    })
}

/// The training part (per user: (item, interaction)) and the hidden part (per user: items).
pub struct Split {
    pub train: Vec<Vec<(u32, Interaction)>>,
    pub test: Vec<IdSet<u32>>,
}

/// Per user, the latest `fraction` of interactions (at least one, for users with two or more) are
/// hidden; ties in time keep the file's order.
pub fn split(dataset: &Dataset, fraction: f64) -> Split {
    let mut per_user: Vec<Vec<&Event>> = vec![Vec::new(); dataset.users];
    for event in &dataset.events {
        per_user[event.user as usize].push(event);
    }
    let mut train = vec![Vec::new(); dataset.users];
    let mut test = vec![IdSet::default(); dataset.users];
    for (user, mut events) in per_user.into_iter().enumerate() {
        events.sort_by_key(|e| e.time);
        let hidden = if events.len() >= 2 {
            ((events.len() as f64 * fraction).round() as usize).clamp(1, events.len() - 1)
        } else {
            0
        };
        let cut = events.len() - hidden;
        for event in &events[..cut] {
            train[user].push((event.item, event.interaction));
        }
        for event in &events[cut..] {
            test[user].insert(event.item);
        }
    }
    Split { train, test }
}

/// The same cut applied to the training part alone: its latest `fraction` per user become the
/// hidden part. Hyper-parameters are chosen here, never on the test part.
pub fn validation_split(dataset: &Dataset, fraction: f64) -> Split {
    let outer = split(dataset, fraction);
    let kept: IdSet<(u32, u32)> = outer
        .train
        .iter()
        .enumerate()
        .flat_map(|(user, history)| history.iter().map(move |(item, _)| (user as u32, *item)))
        .collect();
    let training = Dataset {
        users: dataset.users,
        items: dataset.items,
        events: dataset
            .events
            .iter()
            .filter(|e| kept.contains(&(e.user, e.item)))
            .copied()
            .collect(),
        side: None,
    };
    split(&training, fraction)
}

/// One row of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Score {
    pub engine: String,
    #[serde(rename = "precision@10")]
    pub precision: f64,
    #[serde(rename = "recall@10")]
    pub recall: f64,
    #[serde(rename = "ndcg@10")]
    pub ndcg: f64,
    pub coverage: f64,
    /// Share of recommended items among the 10 % with the most training interactions.
    pub head_share: f64,
    pub seconds: f64,
}

/// Scores top-10 lists against the hidden interactions.
pub fn measure(
    engine: &str,
    lists: &[Vec<u32>],
    split: &Split,
    items: usize,
    seconds: f64,
) -> Score {
    let (mut precision, mut recall, mut ndcg, mut evaluated) = (0.0, 0.0, 0.0, 0usize);
    let mut shown: IdSet<u32> = IdSet::default();
    let head = head_items(items, split);
    let (mut recommended, mut from_head) = (0usize, 0usize);
    for (user, list) in lists.iter().enumerate() {
        shown.extend(list.iter().copied());
        recommended += list.len();
        from_head += list.iter().filter(|item| head.contains(item)).count();
        let hidden = &split.test[user];
        if hidden.is_empty() {
            continue;
        }
        evaluated += 1;
        let hits = list
            .iter()
            .take(AT)
            .filter(|item| hidden.contains(item))
            .count();
        precision += hits as f64 / AT as f64;
        recall += hits as f64 / hidden.len() as f64;
        ndcg += super::metrics::ndcg(list, |item| hidden.contains(&item), hidden.len());
    }
    let n = evaluated.max(1) as f64;
    Score {
        engine: engine.to_owned(),
        precision: precision / n,
        recall: recall / n,
        ndcg: ndcg / n,
        coverage: shown.len() as f64 / items.max(1) as f64,
        head_share: from_head as f64 / recommended.max(1) as f64,
        seconds,
    }
}

/// The 10 % of items with the most training interactions (ties by index).
fn head_items(items: usize, split: &Split) -> IdSet<u32> {
    let counts = counts(items, split);
    let mut order: Vec<u32> = (0..items as u32).collect();
    order.sort_by(|a, b| {
        counts[*b as usize]
            .total_cmp(&counts[*a as usize])
            .then(a.cmp(b))
    });
    order.truncate(items.div_ceil(10));
    order.into_iter().collect()
}

/// The 10 best unseen items of one user's scores.
fn top(scores: impl IntoIterator<Item = (u32, f32)>, seen: &IdSet<u32>) -> Vec<u32> {
    let mut allowed: Vec<(u32, f32)> = scores
        .into_iter()
        .filter(|(item, score)| *score > 0.0 && !seen.contains(item))
        .collect();
    best(allowed.as_mut_slice(), AT)
        .into_iter()
        .map(|(item, _)| item)
        .collect()
}

/// The same list for everyone but what each user has seen: the scores ranked once, as `top` ranks
/// them, then each user's first `AT` unseen (not a scan of every item per user).
fn same_for_everyone(mut scores: Vec<(u32, f32)>, split: &Split) -> Vec<Vec<u32>> {
    scores.retain(|(_, score)| *score > 0.0);
    scores.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    seen_sets(split)
        .iter()
        .map(|seen| {
            scores
                .iter()
                .filter(|(item, _)| !seen.contains(item))
                .take(AT)
                .map(|(item, _)| *item)
                .collect()
        })
        .collect()
}

fn seen_sets(split: &Split) -> Vec<IdSet<u32>> {
    split
        .train
        .iter()
        .map(|history| history.iter().map(|(item, _)| *item).collect())
        .collect()
}

fn strengths(history: &[(u32, Interaction)]) -> Vec<(u32, f32)> {
    history
        .iter()
        .map(|(item, i)| (*item, i.strength()))
        .filter(|(_, s)| *s > 0.0)
        .collect()
}

/// Our collaborative filtering, trained and folded in exactly as the server does: the model chosen
/// on the training part's own held-out interactions (`None`), or the one given.
pub fn collaborative_lists(items: usize, split: &Split, model: Option<Model>) -> Vec<Vec<u32>> {
    let histories: Vec<Vec<(u32, f32)>> = split.train.iter().map(|h| strengths(h)).collect();
    let model = match model {
        Some(model) => collaborative::train(items, &histories, model.params()),
        None => {
            let (lists, choice) = collaborative::train_chosen(items, &histories);
            tracing::info!(
                model = choice.model.name(),
                cosine_ndcg = format!("{:.4}", choice.cosine),
                regression_ndcg = format!("{:.4}", choice.regression),
                users = choice.users,
                "collaborative model chosen on held-out interactions"
            );
            lists
        }
    };
    let seen = seen_sets(split);
    histories
        .iter()
        .zip(&seen)
        .map(|(history, seen)| {
            let scores = fold_in(history, |item| Some(model[item as usize].as_slice()));
            top(scores, seen)
        })
        .collect()
}

/// Neighbours of what each user liked (the server's `FromSimilarContent`).
fn similar_lists(split: &Split, side: &Side) -> Vec<Vec<u32>> {
    let seen = seen_sets(split);
    split
        .train
        .iter()
        .zip(&seen)
        .map(|(history, seen)| {
            let liked: Vec<(u32, f32)> = history
                .iter()
                .filter(|(_, i)| i.liked())
                .map(|(item, i)| (*item, i.strength()))
                .collect();
            let scores = fold_in(&liked, |item| {
                side.similar.get(item as usize).map(Vec::as_slice)
            });
            top(scores, seen)
        })
        .collect()
}

/// How many training interactions each item has.
fn counts(items: usize, split: &Split) -> Vec<f32> {
    let mut counts = vec![0f32; items];
    for history in &split.train {
        for (item, _) in history {
            counts[*item as usize] += 1.0;
        }
    }
    counts
}

/// Popular contents of each user's liked genres (the server's `FromProfile`), popularity counted on
/// the training part only.
fn profile_lists(items: usize, split: &Split, side: &Side) -> Vec<Vec<u32>> {
    let counts = counts(items, split);
    let seen = seen_sets(split);
    side.liked_genres
        .iter()
        .zip(&seen)
        .map(|(liked, seen)| {
            let scores = (0..items as u32).filter_map(|item| {
                let matched = side.item_genres[item as usize]
                    .iter()
                    .filter(|g| liked.contains(g))
                    .count();
                (matched > 0).then(|| {
                    (
                        item,
                        (counts[item as usize] + 1e-3) * (1.0 + 0.25 * (matched - 1) as f32),
                    )
                })
            });
            top(scores, seen)
        })
        .collect()
}

/// Plain popularity: the items with the most training interactions, for everyone.
pub fn most_popular_count_lists(items: usize, split: &Split) -> Vec<Vec<u32>> {
    let counts = counts(items, split);
    let scores: Vec<(u32, f32)> = (0..items as u32)
        .filter(|i| counts[*i as usize] > 0.0)
        .map(|i| (i, counts[i as usize]))
        .collect();
    same_for_everyone(scores, split)
}

/// EASE on the binary training matrix; `None` when the dataset has too many items for it.
pub fn ease_lists(items: usize, split: &Split, lambda: f64) -> Option<Vec<Vec<u32>>> {
    if items > super::ease::MAX_ITEMS {
        return None;
    }
    let seen = seen_sets(split);
    let histories: Vec<Vec<u32>> = seen.iter().map(|s| s.iter().copied().collect()).collect();
    let model = super::ease::train(items, &histories, lambda);
    Some(
        histories
            .iter()
            .zip(&seen)
            .map(|(history, seen)| {
                let scores = model.scores(history);
                let mut ranked: Vec<(u32, f32)> = scores
                    .iter()
                    .enumerate()
                    .filter(|(item, _)| !seen.contains(&(*item as u32)))
                    .map(|(item, s)| (item as u32, *s as f32))
                    .collect();
                best(ranked.as_mut_slice(), AT)
                    .into_iter()
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect(),
    )
}

/// The reference's popularity: IMDB weighted rating over the training ratings, for contents with at
/// least the 90th percentile of rating counts.
pub fn most_popular_lists(items: usize, split: &Split) -> Vec<Vec<u32>> {
    let mut sum = vec![0f64; items];
    let mut votes = vec![0f64; items];
    for history in &split.train {
        for (item, interaction) in history {
            if let Some(rating) = interaction.rating.filter(|r| *r > 0) {
                sum[*item as usize] += rating as f64;
                votes[*item as usize] += 1.0;
            }
        }
    }
    let rated: Vec<usize> = (0..items).filter(|i| votes[*i] > 0.0).collect();
    let total_votes: f64 = rated.iter().map(|i| votes[*i]).sum();
    let mean = rated.iter().map(|i| sum[*i]).sum::<f64>() / total_votes.max(1.0);
    let mut sorted: Vec<f64> = rated.iter().map(|i| votes[*i]).collect();
    sorted.sort_by(f64::total_cmp);
    let m = sorted
        .get(((sorted.len() as f64 * 0.9).ceil() as usize).saturating_sub(1))
        .copied()
        .unwrap_or(0.0);
    let scores: Vec<(u32, f32)> = rated
        .iter()
        .filter(|i| votes[**i] >= m)
        .map(|i| {
            let (v, r) = (votes[*i], sum[*i] / votes[*i]);
            let weighted = v / (v + m) * r + m / (v + m) * mean;
            (*i as u32, weighted as f32)
        })
        .collect();
    same_for_everyone(scores, split)
}

/// One half-step of explicit ALS-WR: each row's factors from the other side's, ridge-regularised by
/// λ times the row's number of ratings.
fn als_half(rows: &[Vec<(u32, f64)>], other: &[f64], rank: usize, lambda: f64) -> Vec<f64> {
    let mut out = vec![0.0; rows.len() * rank];
    let mut a = vec![0.0; rank * rank];
    let mut b = vec![0.0; rank];
    for (row, ratings) in rows.iter().enumerate() {
        if ratings.is_empty() {
            continue;
        }
        a.iter_mut().for_each(|v| *v = 0.0);
        b.iter_mut().for_each(|v| *v = 0.0);
        for (col, rating) in ratings {
            let y = &other[*col as usize * rank..][..rank];
            for i in 0..rank {
                b[i] += rating * y[i];
                for j in 0..rank {
                    a[i * rank + j] += y[i] * y[j];
                }
            }
        }
        for i in 0..rank {
            a[i * rank + i] += lambda * ratings.len() as f64;
        }
        super::linalg::solve_spd(&mut a, &mut b, rank);
        out[row * rank..][..rank].copy_from_slice(&b);
    }
    out
}

/// The reference's collaborative filtering: explicit ALS, rank 10, 10 iterations, λ = 0.1, on the
/// training ratings; recommends the highest predicted ratings.
pub fn reference_als_lists(items: usize, split: &Split) -> Vec<Vec<u32>> {
    const RANK: usize = 10;
    let by_user: Vec<Vec<(u32, f64)>> = split
        .train
        .iter()
        .map(|history| {
            history
                .iter()
                .filter_map(|(item, i)| i.rating.filter(|r| *r > 0).map(|r| (*item, r as f64)))
                .collect()
        })
        .collect();
    let mut by_item: Vec<Vec<(u32, f64)>> = vec![Vec::new(); items];
    for (user, ratings) in by_user.iter().enumerate() {
        for (item, rating) in ratings {
            by_item[*item as usize].push((user as u32, *rating));
        }
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let scale = 1.0 / (RANK as f64).sqrt();
    let mut item_factors: Vec<f64> = (0..items * RANK)
        .map(|_| rng.random::<f64>() * scale)
        .collect();
    let mut user_factors = Vec::new();
    for _ in 0..10 {
        user_factors = als_half(&by_user, &item_factors, RANK, 0.1);
        item_factors = als_half(&by_item, &user_factors, RANK, 0.1);
    }
    let seen = seen_sets(split);
    (0..by_user.len())
        .map(|user| {
            let x = &user_factors[user * RANK..][..RANK];
            let scores = (0..items).map(|item| {
                let y = &item_factors[item * RANK..][..RANK];
                let predicted: f64 = x.iter().zip(y).map(|(a, b)| a * b).sum();
                // Predicted ratings can be negative; shift so that `top` keeps every candidate.
                (item as u32, (predicted + 100.0) as f32)
            });
            top(scores, &seen[user])
        })
        .collect()
}

/// What `evaluate` runs, and on which split.
pub struct Options {
    pub test_fraction: f64,
    /// Score on the validation split (cut from the training part) instead of the test part.
    pub validation: bool,
    pub ease_lambda: f64,
    /// Only these engines (empty: all).
    pub engines: Vec<String>,
}

/// The engines' names, in the order `evaluate` runs them.
pub const ENGINES: &[&str] = &[
    "CollaborativeFiltering",
    "ItemCosine",
    "NeighbourhoodEASE",
    "FromSimilarContent",
    "FromProfile",
    "most-popular",
    "most-popular-count",
    "ease",
    "reference-als",
];

/// Computes every user's top-10 list (`None`: the engine cannot run on this dataset).
type Engine<'a> = Box<dyn Fn() -> Option<Vec<Vec<u32>>> + 'a>;

/// Evaluates every engine the dataset supports, then the two baselines. `progress` hears each
/// engine's name before it runs.
pub fn evaluate(
    dataset: &Dataset,
    options: &Options,
    mut progress: impl FnMut(&str),
) -> Vec<Score> {
    let (test_fraction, ease_lambda, only) =
        (options.test_fraction, options.ease_lambda, &options.engines);
    let split = if options.validation {
        validation_split(dataset, test_fraction)
    } else {
        split(dataset, test_fraction)
    };
    let items = dataset.items;
    let mut engines: Vec<(&str, Engine<'_>)> = vec![(
        "CollaborativeFiltering",
        Box::new(|| Some(collaborative_lists(items, &split, None))),
    )];
    for (name, model) in [
        ("ItemCosine", Model::Cosine),
        ("NeighbourhoodEASE", Model::Regression),
    ] {
        let split = &split;
        engines.push((
            name,
            Box::new(move || Some(collaborative_lists(items, split, Some(model)))),
        ));
    }
    if let Some(side) = &dataset.side {
        engines.push((
            "FromSimilarContent",
            Box::new(|| Some(similar_lists(&split, side))),
        ));
        engines.push((
            "FromProfile",
            Box::new(|| Some(profile_lists(items, &split, side))),
        ));
    }
    engines.push((
        "most-popular",
        Box::new(|| Some(most_popular_lists(items, &split))),
    ));
    engines.push((
        "most-popular-count",
        Box::new(|| Some(most_popular_count_lists(items, &split))),
    ));
    engines.push(("ease", Box::new(|| ease_lists(items, &split, ease_lambda))));
    engines.push((
        "reference-als",
        Box::new(|| Some(reference_als_lists(items, &split))),
    ));
    engines
        .into_iter()
        .filter(|(name, _)| only.is_empty() || only.iter().any(|o| o == name))
        .filter_map(|(name, lists)| {
            progress(name);
            let started = Instant::now();
            let lists = lists()?;
            let seconds = started.elapsed().as_secs_f64();
            Some(measure(
                name,
                &lists,
                &split,
                items,
                (seconds * 1000.0).round() / 1000.0,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_of_a_known_list() {
        let split = Split {
            train: vec![Vec::new()],
            test: vec![[1u32, 5].into_iter().collect()],
        };
        // Hits at ranks 1 and 3 of 10.
        let score = measure("x", &[vec![1, 2, 5, 3]], &split, 8, 0.0);
        assert!((score.precision - 0.2).abs() < 1e-9);
        assert!((score.recall - 1.0).abs() < 1e-9);
        let ideal = 1.0 + 1.0 / 3f64.log2();
        assert!((score.ndcg - (1.0 + 0.5) / ideal).abs() < 1e-9);
        assert!((score.coverage - 0.5).abs() < 1e-9);
    }
}
