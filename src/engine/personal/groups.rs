//! Group lists: blended from their people's lists (the mean and the least of their scores), with
//! anything one of them consumed or reported left out.

use super::*;

/// Groups that users own or belong to.
pub(super) fn groups_of(conn: &Connection, users: &[i64]) -> rusqlite::Result<BTreeSet<i64>> {
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
pub(super) fn people_of(conn: &Connection, group: i64) -> rusqlite::Result<Vec<i64>> {
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
pub(super) struct Blend {
    people: usize,
    vetoed: IdSet<i64>,
    /// content → (sum, count, least, best engine, medium)
    merged: IdMap<i64, (f64, usize, f64, Engine, usize)>,
}

impl Blend {
    pub(super) fn new(people: usize) -> Blend {
        Blend {
            people,
            vetoed: IdSet::default(),
            merged: IdMap::default(),
        }
    }

    pub(super) fn veto(&mut self, content_id: i64) {
        self.vetoed.insert(content_id);
    }

    /// One content of one person's list.
    pub(super) fn add(&mut self, content_id: i64, score: f64, engine: Engine, medium: usize) {
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
    pub(super) fn picks(self) -> Vec<Pick> {
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
pub(super) fn store_group(
    tx: &Transaction<'_>,
    group: i64,
    picks: &[Pick],
) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM recommended_content_for_group WHERE group_id = ?1")?
        .execute([group])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO recommended_content_for_group (group_id, content_id, score, engine, engine_priority, content_type)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    insert_picks(&mut insert, group, picks)
}

/// Recomputes groups' lists (see `Blend`) from their people's stored lists.
pub(super) fn refresh_groups(tx: &Transaction<'_>, groups: &BTreeSet<i64>) -> rusqlite::Result<()> {
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
