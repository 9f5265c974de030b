//! Popularity: `content.popularity_score` for every content, on one [0, 1] scale per medium.
//!
//! Score = ½ · (Bayesian average rating / 5) · confidence + ½ · implicit signal, where the Bayesian
//! average pulls a content's mean rating R over v ratings toward its medium's mean C with the weight m
//! of an average content (v·R + m·C) / (v + m), confidence = v / (v + m) keeps barely rated contents
//! low, and the implicit signal is ln(1 + views + 2 · consumers), divided by the medium's largest.
//! A run recomputes the media that the new events touched (ratings, views, consumption, additions,
//! deletions) and writes only scores that changed. The implicit signals are kept in `content_signal`:
//! a full run counts them in one pass over the interactions, an incremental one recounts only the
//! contents its events name.

use super::ROWS_PER_TRANSACTION;
use super::{EngineError, RunOutcome, Window, commit, window};
use crate::media::MEDIA;
use rusqlite::Connection;
use std::collections::{BTreeSet, HashMap};

pub const STAGE: &str = "popularity";

/// Content types whose scores the events of the window may change.
fn touched(conn: &Connection, w: Window) -> rusqlite::Result<BTreeSet<String>> {
    let mut sources = vec![
        "SELECT object_id FROM meta_added_event WHERE id > ?1 AND id <= ?2".to_owned(),
        "SELECT object_id FROM changed_event WHERE id > ?1 AND id <= ?2 AND model_name = 'meta_user_content'".to_owned(),
    ];
    for medium in MEDIA.iter() {
        sources.push(format!(
            "SELECT object_id FROM {} WHERE id > ?1 AND id <= ?2",
            medium.table.added_event_table()
        ));
    }
    let sql = format!(
        "SELECT DISTINCT content_type FROM content WHERE content_type IS NOT NULL AND content_id IN ({})",
        sources.join(" UNION ")
    );
    let mut out: BTreeSet<String> = conn
        .prepare(&sql)?
        .query_map([w.from, w.to], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    // A deletion changes its medium's averages and maxima.
    let deleted: Vec<String> = conn
        .prepare("SELECT DISTINCT model_name FROM deletion_event WHERE id > ?1 AND id <= ?2")?
        .query_map([w.from, w.to], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for model in deleted {
        if let Some(medium) = MEDIA.iter().find(|m| m.name() == model) {
            out.insert(medium.table.content_type.to_owned());
        }
    }
    Ok(out
        .into_iter()
        .filter(|t| MEDIA.iter().any(|m| m.table.content_type == t))
        .collect())
}

struct Row {
    content_id: i64,
    rating: Option<f64>,
    count: i64,
    current: Option<f64>,
    views: i64,
    consumers: i64,
}

/// Signals to store: every content's for a full run (one pass over the interactions, in table order),
/// otherwise the touched contents' (through the interactions' content index).
fn signals(conn: &Connection, w: Window, full: bool) -> rusqlite::Result<HashMap<i64, (i64, i64)>> {
    let mut signal: HashMap<i64, (i64, i64)> = HashMap::new();
    if full {
        let mut stmt = conn.prepare("SELECT content_id, coalesce(review_see_count, 0), coalesce(count, 0) FROM meta_user_content")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let entry = signal.entry(row.get(0)?).or_default();
            entry.0 += row.get::<_, i64>(1)?;
            entry.1 += i64::from(row.get::<_, i64>(2)? > 0);
        }
        return Ok(signal);
    }
    let touched: Vec<i64> = conn
        .prepare(
            "SELECT object_id FROM meta_added_event WHERE id > ?1 AND id <= ?2
             UNION SELECT object_id FROM changed_event WHERE id > ?1 AND id <= ?2 AND model_name = 'meta_user_content'",
        )?
        .query_map([w.from, w.to], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut stmt = conn.prepare_cached(
        "SELECT coalesce(sum(review_see_count), 0), coalesce(sum(count > 0), 0) FROM meta_user_content WHERE content_id = ?1",
    )?;
    for id in touched {
        signal.insert(id, stmt.query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?);
    }
    Ok(signal)
}

/// New scores of the contents of `media` (only those that differ from the stored ones), given the
/// fresh signals (others are read from `content_signal`).
fn compute(
    conn: &Connection,
    media: &BTreeSet<String>,
    fresh: &HashMap<i64, (i64, i64)>,
    full: bool,
) -> rusqlite::Result<Vec<(i64, f64)>> {
    let mut updates = Vec::new();
    for content_type in media {
        let contents: Vec<Row> = conn
            .prepare(
                "SELECT c.content_id, c.rating, coalesce(c.rating_count, 0), c.popularity_score, s.views, s.consumers
                 FROM content c LEFT JOIN content_signal s ON s.content_id = c.content_id WHERE c.content_type = ?1",
            )?
            .query_map([content_type], |r| {
                let stored = (r.get::<_, Option<i64>>(4)?.unwrap_or(0), r.get::<_, Option<i64>>(5)?.unwrap_or(0));
                let content_id: i64 = r.get(0)?;
                let (views, consumers) = match fresh.get(&content_id) {
                    Some(signal) => *signal,
                    None if full => (0, 0),
                    None => stored,
                };
                Ok(Row { content_id, rating: r.get(1)?, count: r.get(2)?, current: r.get(3)?, views, consumers })
            })?
            .collect::<Result<_, _>>()?;
        let rated: Vec<&Row> = contents
            .iter()
            .filter(|r| r.count > 0 && r.rating.is_some())
            .collect();
        let votes: i64 = rated.iter().map(|r| r.count).sum();
        let mean = if votes > 0 {
            rated
                .iter()
                .map(|r| r.rating.unwrap_or(0.0) * r.count as f64)
                .sum::<f64>()
                / votes as f64
        } else {
            0.0
        };
        let weight = if rated.is_empty() {
            1.0
        } else {
            (votes as f64 / rated.len() as f64).max(1.0)
        };
        let implicit = |row: &Row| (1.0 + row.views as f64 + 2.0 * row.consumers as f64).ln();
        let most = contents
            .iter()
            .map(implicit)
            .fold(0.0f64, f64::max)
            .max(f64::MIN_POSITIVE);
        for row in &contents {
            let v = row.count as f64;
            let bayes = (v * row.rating.unwrap_or(0.0) + weight * mean) / (v + weight);
            let confidence = v / (v + weight);
            let score = 0.5 * (bayes / 5.0) * confidence + 0.5 * implicit(row) / most;
            let score = (score.clamp(0.0, 1.0) * 10_000.0).round() / 10_000.0;
            if row.current != Some(score) {
                updates.push((row.content_id, score));
            }
        }
    }
    Ok(updates)
}

/// One run of the stage (see the module docs of `engine` for the guarantees).
pub fn run(conn: &mut Connection, full: bool) -> Result<RunOutcome, EngineError> {
    let mut timer = super::Timer::default();
    // One read snapshot for the window and the computation.
    let (w, full, media, fresh, updates) = {
        let tx = conn.transaction()?;
        let w = window(&tx, STAGE, full)?;
        // Without stored signals (a first run, or a database from before they were kept) there is
        // nothing to build on: count everything.
        let no_signals: bool = tx.query_row(
            "SELECT NOT EXISTS (SELECT 1 FROM content_signal)",
            [],
            |r| r.get(0),
        )?;
        let full = full || w.from == 0 || no_signals;
        let media: BTreeSet<String> = if full {
            MEDIA
                .iter()
                .map(|m| m.table.content_type.to_owned())
                .collect()
        } else {
            touched(&tx, w)?
        };
        let (fresh, updates) = if media.is_empty() {
            (HashMap::new(), Vec::new())
        } else {
            let fresh = signals(&tx, w, full)?;
            let updates = compute(&tx, &media, &fresh, full)?;
            (fresh, updates)
        };
        tx.commit()?;
        (w, full, media, fresh, updates)
    };
    let updated = updates.len();
    // In key order, B-tree writes are appends to the pages just written.
    let mut updates = updates;
    updates.sort_unstable_by_key(|(id, _)| *id);
    let mut signals: Vec<(i64, (i64, i64))> = fresh.into_iter().collect();
    signals.sort_unstable_by_key(|(id, _)| *id);
    let write_signals = |tx: &rusqlite::Transaction<'_>, rows: &[(i64, (i64, i64))]| {
        let mut keep = tx.prepare_cached(
            "INSERT INTO content_signal (content_id, views, consumers)
             SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM content WHERE content_id = ?1)
             ON CONFLICT (content_id) DO UPDATE SET views = excluded.views, consumers = excluded.consumers",
        )?;
        for (content_id, (views, consumers)) in rows {
            keep.execute(rusqlite::params![content_id, views, consumers])?;
        }
        Ok::<_, rusqlite::Error>(())
    };
    let write_scores = |tx: &rusqlite::Transaction<'_>, rows: &[(i64, f64)]| {
        let mut stmt =
            tx.prepare_cached("UPDATE content SET popularity_score = ?2 WHERE content_id = ?1")?;
        for (content_id, score) in rows {
            stmt.execute(rusqlite::params![content_id, score])?;
        }
        Ok::<_, rusqlite::Error>(())
    };
    let committed = if full {
        timer.lap("compute");
        // Hundreds of thousands of rows: written in short transactions so that the API's writers
        // never wait long; the watermark moves last (a crash leaves it, and the next run redoes it).
        {
            let tx = crate::db::write_transaction(conn)?;
            tx.execute("DELETE FROM content_signal", [])?;
            tx.commit()?;
            super::chunk_committed(conn);
        }
        for rows in signals.chunks(ROWS_PER_TRANSACTION) {
            let tx = crate::db::write_transaction(conn)?;
            write_signals(&tx, rows)?;
            tx.commit()?;
            super::chunk_committed(conn);
        }
        for rows in updates.chunks(ROWS_PER_TRANSACTION) {
            let tx = crate::db::write_transaction(conn)?;
            write_scores(&tx, rows)?;
            tx.commit()?;
            super::chunk_committed(conn);
        }
        let committed = commit(conn, STAGE, w, true, |_| Ok(()))?;
        timer.lap("write");
        timer.log(STAGE);
        committed
    } else {
        commit(conn, STAGE, w, false, |tx| {
            write_signals(tx, &signals)?;
            write_scores(tx, &updates)?;
            Ok(())
        })?
    };
    Ok(RunOutcome::of(committed, media.is_empty(), w, updated))
}
