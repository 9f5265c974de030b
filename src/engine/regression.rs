//! EASE restricted to each item's neighbourhood (after Steck, WWW 2019, and the sparse approximations
//! of SANSA, Spišák et al., RecSys 2023): item `j` is predicted from its candidate neighbours only, by
//! ridge regression over the users — `b = (G_NN + λI)⁻¹ G_Nj`, with `G` the item Gram matrix XᵀX.
//! Over every other item this is exactly EASE's column `j` (its zero-diagonal constraint is the same
//! as leaving `j` out of the predictors); over a few hundred candidates it is a K×K solve per item,
//! so it runs at any catalogue size and in parallel. Negative weights are kept: they are how the
//! regression discounts what two neighbours explain together, which is where plain cosine lists
//! pile onto the popular head.

/// Dot product of two items' user columns (each sorted by user).
fn dot(a: &[(u32, f32)], b: &[(u32, f32)]) -> f32 {
    let (mut i, mut k, mut sum) = (0, 0, 0f32);
    while i < a.len() && k < b.len() {
        match a[i].0.cmp(&b[k].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => k += 1,
            std::cmp::Ordering::Equal => {
                sum += a[i].1 * b[k].1;
                i += 1;
                k += 1;
            }
        }
    }
    sum
}

/// The regression weights of every item from its candidates: per item `i`, the items `j` it speaks
/// for with weight `B[i][j]` (the fold-in's direction). `item_users[i]` is item `i`'s column of X,
/// sorted by user; `candidates[j]` the items `j` is regressed on.
pub fn refine(
    item_users: &[Vec<(u32, f32)>],
    candidates: &[Vec<(u32, f32)>],
    lambda: f32,
) -> Vec<Vec<(u32, f32)>> {
    let items = item_users.len();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let mut columns: Vec<(u32, Vec<(u32, f32)>)> = Vec::with_capacity(items);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|offset| {
                scope.spawn(move || {
                    let mut out = Vec::new();
                    let (mut gram, mut rhs) = (Vec::new(), Vec::new());
                    for j in (offset..items).step_by(threads) {
                        let n = candidates[j].len();
                        if n == 0 {
                            continue;
                        }
                        let members: Vec<&[(u32, f32)]> = candidates[j]
                            .iter()
                            .map(|(a, _)| item_users[*a as usize].as_slice())
                            .collect();
                        gram.clear();
                        gram.resize(n * n, 0f64);
                        rhs.clear();
                        for (a, users_a) in members.iter().enumerate() {
                            rhs.push(f64::from(dot(users_a, &item_users[j])));
                            gram[a * n + a] = f64::from(dot(users_a, users_a) + lambda);
                            for (b, users_b) in members.iter().enumerate().skip(a + 1) {
                                let g = f64::from(dot(users_a, users_b));
                                gram[a * n + b] = g;
                                gram[b * n + a] = g;
                            }
                        }
                        super::linalg::solve_spd(&mut gram, &mut rhs, n);
                        let weights = candidates[j]
                            .iter()
                            .zip(&rhs)
                            .map(|((a, _), w)| (*a, *w as f32))
                            .filter(|(_, w)| w.is_finite() && *w != 0.0)
                            .collect();
                        out.push((j as u32, weights));
                    }
                    out
                })
            })
            .collect();
        for worker in workers {
            columns.extend(worker.join().unwrap_or_default());
        }
    });
    let mut rows: Vec<Vec<(u32, f32)>> = vec![Vec::new(); items];
    for (j, weights) in columns {
        for (i, w) in weights {
            rows[i as usize].push((j, w));
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_every_other_item_it_is_dense_ease() {
        // 12 users over 6 items, deterministic but irregular.
        let histories: Vec<Vec<u32>> = (0..12u32)
            .map(|u| {
                (0..6u32)
                    .filter(|i| (u * 7 + i * 5 + u * i) % 3 != 0)
                    .collect()
            })
            .collect();
        let items = 6;
        let mut item_users: Vec<Vec<(u32, f32)>> = vec![Vec::new(); items];
        for (user, history) in histories.iter().enumerate() {
            for item in history {
                item_users[*item as usize].push((user as u32, 1.0));
            }
        }
        let candidates: Vec<Vec<(u32, f32)>> = (0..items as u32)
            .map(|j| {
                (0..items as u32)
                    .filter(|i| *i != j)
                    .map(|i| (i, 0.0))
                    .collect()
            })
            .collect();
        let lambda = 2.0;
        let rows = refine(&item_users, &candidates, lambda);
        let dense = crate::engine::ease::train(items, &histories, f64::from(lambda));
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(row.len(), items - 1);
            for (j, weight) in row {
                let expected = dense.b[i * items + *j as usize];
                assert!(
                    (f64::from(*weight) - expected).abs() < 1e-4,
                    "B[{i}][{j}]: {weight} vs {expected}"
                );
            }
        }
    }
}
