//! The seeded people: accounts with tastes in the latent space shared with the genres, their groups,
//! and their interactions, which follow their tastes with long-tailed popularity.

use super::*;

/// A user's tastes: how much they use each medium, and their position in the latent space.
pub(super) struct Taste {
    vector: [f32; K],
    media: [f64; 6],
}

pub(super) fn taste(root: &Rng, user_index: u64) -> Taste {
    let mut rng = root.fork(1_000_000 + user_index);
    let vector = random_vector(&mut rng);
    let mut media = [0f64; 6];
    for w in media.iter_mut() {
        *w = (1.2 * rng.normal()).exp();
    }
    Taste { vector, media }
}

/// Softmax weights of the pools of one medium for a taste (β = 1.5).
pub(super) fn pool_weights(pools: &[Pool], medium: usize, taste: &Taste) -> Vec<(usize, f64)> {
    let scored: Vec<(usize, f64)> = pools
        .iter()
        .enumerate()
        .filter(|(_, p)| p.medium == medium && !p.items.is_empty())
        .map(|(i, p)| {
            (
                i,
                (1.5 * f64::from(dot(&p.vector, &taste.vector)) / (K as f64).sqrt()).exp(),
            )
        })
        .collect();
    let total: f64 = scored.iter().map(|(_, w)| w).sum();
    scored.into_iter().map(|(i, w)| (i, w / total)).collect()
}

pub(super) fn weighted(rng: &mut Rng, weights: &[(usize, f64)]) -> Option<usize> {
    let mut x = rng.unit() * weights.iter().map(|(_, w)| w).sum::<f64>();
    for (i, w) in weights {
        if x < *w {
            return Some(*i);
        }
        x -= w;
    }
    weights.last().map(|(i, _)| *i)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn seed_users(
    conn: &Connection,
    plan: &Plan,
    root: &Rng,
    demo_hash: &str,
    user_offset: u64,
    pools: &[Pool],
    report: &mut Report,
) -> Result<Vec<i64>, SeedError> {
    let bar = progress(plan.show_progress, plan.users, "users");
    let mut ids = Vec::with_capacity(plan.users);
    for i in 0..plan.users as u64 {
        let mut rng = root.fork(2_000_000 + i);
        // A new database's first account is the admin; the others count from 1.
        let is_admin = !plan.append && i == 0;
        let n = user_offset + i + u64::from(plan.append);
        let (email, username) = if is_admin {
            ("admin@example.com".to_owned(), "admin".to_owned())
        } else {
            (format!("user{n}@example.com"), format!("user{n}"))
        };
        let uuid = random_uuid(&mut rng).to_string();
        let user_id = users::insert(
            conn,
            &users::NewUser {
                uuid: &uuid,
                email: &email,
                username: &username,
                password_hash: demo_hash,
            },
        )?;
        users::attach_role(conn, user_id, "user")?;
        if is_admin {
            users::attach_role(conn, user_id, "admin")?;
        }
        conn.execute(
            r#"UPDATE "user" SET preferences_defined = 1 WHERE user_id = ?1"#,
            [user_id],
        )?;
        // Liked genres: the best-matching genre of the user's two favourite media.
        let t = taste(root, i);
        let mut media: Vec<usize> = (0..6).collect();
        media.sort_by(|a, b| t.media[*b].total_cmp(&t.media[*a]));
        for &m in media.iter().take(2) {
            let weights = pool_weights(pools, m, &t);
            let best = weights
                .iter()
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .and_then(|(p, _)| pools[*p].genre_id);
            if let Some(genre_id) = best {
                users::like_genre(conn, user_id, genre_id)?;
            }
        }
        ids.push(user_id);
        bar.inc(1);
    }
    bar.finish_and_clear();
    report.users = ids.len();
    Ok(ids)
}

pub(super) fn seed_groups(
    conn: &Connection,
    root: &Rng,
    user_ids: &[i64],
    report: &mut Report,
) -> rusqlite::Result<()> {
    if user_ids.len() < 3 {
        return Ok(());
    }
    let mut rng = root.fork(3);
    for g in 0..user_ids.len() / 25 {
        let owner = *rng.pick(user_ids);
        conn.execute(
            r#"INSERT INTO "group" (name, owner_id) VALUES (?1, ?2)"#,
            rusqlite::params![format!("group{}", g + 1), owner],
        )?;
        let group_id = conn.last_insert_rowid();
        for _ in 0..rng.range(2, 8) {
            let member = *rng.pick(user_ids);
            if member != owner {
                conn.execute(
                    "INSERT OR IGNORE INTO group_members (user_id, group_id) VALUES (?1, ?2)",
                    [member, group_id],
                )?;
            }
        }
        for _ in 0..rng.range(0, 2) {
            let invitee = *rng.pick(user_ids);
            conn.execute(
                "INSERT OR IGNORE INTO invitations (user_id, group_id)
                 SELECT ?1, ?2 WHERE ?1 != ?3 AND NOT EXISTS (SELECT 1 FROM group_members WHERE user_id = ?1 AND group_id = ?2)",
                [invitee, group_id, owner],
            )?;
        }
        report.groups += 1;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(super) fn seed_interactions(
    conn: &Connection,
    plan: &Plan,
    root: &Rng,
    user_ids: &[i64],
    items: &[Item],
    pools: &[Pool],
    report: &mut Report,
) -> Result<(), SeedError> {
    if user_ids.is_empty() || items.is_empty() {
        return Ok(());
    }
    let bar = progress(plan.show_progress, plan.interactions, "interactions");
    let start = NaiveDate::from_ymd_opt(2025, 12, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    let quotas = quotas(
        root,
        user_ids.len(),
        plan.interactions,
        (items.len() / 4).max(1),
    );
    let media_present: Vec<bool> = (0..6)
        .map(|m| items.iter().any(|it| it.medium == m))
        .collect();
    // What a user could not place (a small catalogue saturates) passes on to the next user.
    let mut carried = 0usize;
    for (i, &user_id) in user_ids.iter().enumerate() {
        let mut rng = root.fork(4_000_000 + i as u64);
        let t = taste(root, i as u64);
        let wanted = quotas[i] + carried;
        let weights: Vec<Vec<(usize, f64)>> = (0..6).map(|m| pool_weights(pools, m, &t)).collect();
        let media: Vec<(usize, f64)> = (0..6)
            .filter(|&m| media_present[m])
            .map(|m| (m, t.media[m]))
            .collect();
        let mut seen: HashSet<u32> = HashSet::with_capacity(wanted);
        let mut moment = start + Duration::seconds(rng.below(180 * 86_400) as i64);
        let mut written = 0;
        let mut attempts = 0;
        while written < wanted && attempts < wanted * 50 {
            attempts += 1;
            let Some(m) = weighted(&mut rng, &media) else {
                break;
            };
            let Some(p) = weighted(&mut rng, &weights[m]) else {
                continue;
            };
            let pool = &pools[p].items;
            let index = pool[rng.long_tail(pool.len(), 2.5)];
            if !seen.insert(index) {
                continue;
            }
            let item = &items[index as usize];
            moment += Duration::seconds(60 + rng.below(3 * 86_400) as i64);
            let at = time::to_db_text(moment);
            let affinity = f64::from(dot(&t.vector, &item.vector)) / (K as f64).sqrt();
            let views = 1 + rng.long_tail(8, 2.0) as i64;
            let rating = rng.chance(0.4).then(|| {
                (2.6 + 1.3 * affinity + 0.7 * rng.normal())
                    .round()
                    .clamp(0.0, 5.0) as i64
            });
            let consumed = rng.chance(0.55 + 0.1 * affinity.clamp(-1.0, 1.0));
            let amount = match item.medium {
                5 => 1 + rng.long_tail(40, 2.0) as i64,
                2 => 1 + rng.long_tail(100, 2.0) as i64,
                4 => 1 + rng.long_tail(20, 1.5) as i64,
                0 => 1 + rng.long_tail(30, 2.0) as i64,
                _ => 1,
            };
            let row = Meta {
                rating,
                last_rating_date: rating.map(|_| at.clone()),
                review_see_count: views,
                last_review_see_date: Some(at.clone()),
                count: if consumed { amount } else { 0 },
                last_count_increment: consumed.then(|| at.clone()),
            };
            meta::insert(
                conn,
                &EventContext {
                    at,
                    by: Some(user_id),
                },
                user_id,
                item.content_id,
                &row,
            )?;
            written += 1;
            bar.inc(1);
        }
        carried = wanted - written;
        report.interactions += written;
    }
    bar.finish_and_clear();
    Ok(())
}

/// How many interactions each user gets: long-tailed activity (a few heavy users, many light ones),
/// each at most `cap`, summing to `total` when the caps allow it.
pub(super) fn quotas(root: &Rng, users: usize, total: usize, cap: usize) -> Vec<usize> {
    let mut rng = root.fork(5);
    let activity: Vec<f64> = (0..users).map(|_| -rng.unit().max(1e-9).ln()).collect();
    let sum: f64 = activity.iter().sum::<f64>().max(1e-9);
    let mut quotas: Vec<usize> = activity
        .iter()
        .map(|a| ((a / sum) * total as f64) as usize)
        .map(|q| q.min(cap))
        .collect();
    // Hand out what rounding and caps left over, one at a time, to users below the cap.
    let mut left = total.saturating_sub(quotas.iter().sum());
    let mut index = 0;
    let mut idle_rounds = 0;
    while left > 0 && idle_rounds < 2 {
        if quotas[index] < cap {
            quotas[index] += 1;
            left -= 1;
            idle_rounds = 0;
        }
        index += 1;
        if index == users {
            index = 0;
            idle_rounds += 1;
        }
    }
    quotas
}
