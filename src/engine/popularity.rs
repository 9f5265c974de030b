//! Popularity: `content.popularity_score` for every content, on one [0, 1] scale per medium.
//!
//! Score = ½ · (Bayesian average rating / 5) · confidence + ½ · implicit signal, where the Bayesian
//! average pulls a content's mean rating R over v ratings toward its medium's mean C with the weight m
//! of an average content (v·R + m·C) / (v + m), confidence = v / (v + m) keeps barely rated contents
//! low, and the implicit signal is ln(1 + views + 2 · consumers), divided by the medium's largest.
//! A run recomputes the media that the new events touched (ratings, views, consumption, additions,
//! deletions) and writes only scores that changed.

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
}

/// New scores of the contents of `media` (only those that differ from the stored ones).
fn compute(conn: &Connection, media: &BTreeSet<String>) -> rusqlite::Result<Vec<(i64, f64)>> {
    // Implicit signals: one pass over the interactions, in table order (no index lookups).
    let mut signal: HashMap<i64, (i64, i64)> = HashMap::new();
    let mut stmt = conn.prepare("SELECT content_id, coalesce(review_see_count, 0), coalesce(count, 0) FROM meta_user_content")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let entry = signal.entry(row.get(0)?).or_default();
        entry.0 += row.get::<_, i64>(1)?;
        entry.1 += i64::from(row.get::<_, i64>(2)? > 0);
    }
    let mut updates = Vec::new();
    for content_type in media {
        let contents: Vec<Row> = conn
            .prepare("SELECT content_id, rating, coalesce(rating_count, 0), popularity_score FROM content WHERE content_type = ?1")?
            .query_map([content_type], |r| Ok(Row { content_id: r.get(0)?, rating: r.get(1)?, count: r.get(2)?, current: r.get(3)? }))?
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
        let implicit = |id: i64| {
            let (views, consumers) = signal.get(&id).copied().unwrap_or_default();
            (1.0 + views as f64 + 2.0 * consumers as f64).ln()
        };
        let most = contents
            .iter()
            .map(|r| implicit(r.content_id))
            .fold(0.0f64, f64::max)
            .max(f64::MIN_POSITIVE);
        for row in &contents {
            let v = row.count as f64;
            let bayes = (v * row.rating.unwrap_or(0.0) + weight * mean) / (v + weight);
            let confidence = v / (v + weight);
            let score = 0.5 * (bayes / 5.0) * confidence + 0.5 * implicit(row.content_id) / most;
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
    // One read snapshot for the window and the computation.
    let (w, media, updates) = {
        let tx = conn.transaction()?;
        let w = window(&tx, STAGE, full)?;
        let media: BTreeSet<String> = if full {
            MEDIA
                .iter()
                .map(|m| m.table.content_type.to_owned())
                .collect()
        } else {
            touched(&tx, w)?
        };
        let updates = if media.is_empty() {
            Vec::new()
        } else {
            compute(&tx, &media)?
        };
        tx.commit()?;
        (w, media, updates)
    };
    let updated = updates.len();
    let committed = commit(conn, STAGE, w, full, |tx| {
        let mut stmt =
            tx.prepare_cached("UPDATE content SET popularity_score = ?2 WHERE content_id = ?1")?;
        for (content_id, score) in &updates {
            stmt.execute(rusqlite::params![content_id, score])?;
        }
        Ok(())
    })?;
    Ok(match (committed, media.is_empty()) {
        (false, _) => RunOutcome::Superseded,
        (true, true) => RunOutcome::UpToDate { watermark: w.to },
        (true, false) => RunOutcome::Ran {
            from: w.from,
            to: w.to,
            updated,
        },
    })
}
