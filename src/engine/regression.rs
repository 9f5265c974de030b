//! EASE restricted to each item's neighbourhood (after Steck, WWW 2019, and the sparse approximations
//! of SANSA, Spišák et al., RecSys 2023): item `j` is predicted from its candidate neighbours only, by
//! ridge regression over the users — `b = (G_NN + λI)⁻¹ G_Nj`, with `G` the item Gram matrix XᵀX.
//! Over every other item this is exactly EASE's column `j` (its zero-diagonal constraint is the same
//! as leaving `j` out of the predictors); over a few hundred candidates it is a K×K solve per item,
//! so it runs at any catalogue size and in parallel. Negative weights are kept: they are how the
//! regression discounts what two neighbours explain together, which is where plain cosine lists
//! pile onto the popular head.

/// Most candidates an item is regressed on (one bit each in a user's mask).
pub const MAX_CANDIDATES: usize = 128;

/// The regression weights of every item from its candidates: per item `i`, the items `j` it speaks
/// for with weight `B[i][j]` (the fold-in's direction). `item_users[i]` is item `i`'s column of X
/// (its users; X is 0/1), `users` the number of users, `candidates[j]` the items `j` is regressed on
/// (the first `MAX_CANDIDATES`).
///
/// The Gram entries among `j`'s candidates are counted user by user: each user of a candidate gets
/// a bit mask of the candidates they consumed, and each user adds their mask's pairs — the work is
/// the co-occurrences themselves, where merging the candidates' user lists pair by pair costs
/// ~`candidates` times the lists' length.
pub fn refine(
    item_users: &[Vec<u32>],
    users: usize,
    candidates: &[Vec<(u32, f32)>],
    lambda: f32,
) -> Vec<Vec<(u32, f32)>> {
    let items = item_users.len();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let lambda = f64::from(lambda);
    let mut columns: Vec<(u32, Vec<(u32, f32)>)> = Vec::with_capacity(items);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|offset| {
                scope.spawn(move || {
                    let mut out = Vec::new();
                    let mut masks = vec![0u128; users];
                    let mut touched: Vec<u32> = Vec::new();
                    let (mut gram, mut rhs) = (Vec::new(), Vec::new());
                    let mut bits = [0usize; MAX_CANDIDATES];
                    for j in (offset..items).step_by(threads) {
                        let members = &candidates[j][..candidates[j].len().min(MAX_CANDIDATES)];
                        let n = members.len();
                        if n == 0 {
                            continue;
                        }
                        for (a, (candidate, _)) in members.iter().enumerate() {
                            for user in &item_users[*candidate as usize] {
                                let mask = &mut masks[*user as usize];
                                if *mask == 0 {
                                    touched.push(*user);
                                }
                                *mask |= 1u128 << a;
                            }
                        }
                        gram.clear();
                        gram.resize(n * n, 0f64);
                        for user in &touched {
                            let mut mask = masks[*user as usize];
                            let mut k = 0;
                            while mask != 0 {
                                bits[k] = mask.trailing_zeros() as usize;
                                mask &= mask - 1;
                                k += 1;
                            }
                            // Bits ascend: (bits[x], bits[y ≤ x]) is the lower triangle, which
                            // is all the Cholesky solve reads.
                            for x in 0..k {
                                let row = bits[x] * n;
                                for y in &bits[..=x] {
                                    gram[row + y] += 1.0;
                                }
                            }
                        }
                        rhs.clear();
                        rhs.resize(n, 0f64);
                        for user in &item_users[j] {
                            let mut mask = masks[*user as usize];
                            while mask != 0 {
                                rhs[mask.trailing_zeros() as usize] += 1.0;
                                mask &= mask - 1;
                            }
                        }
                        for user in touched.drain(..) {
                            masks[user as usize] = 0;
                        }
                        for a in 0..n {
                            gram[a * n + a] += lambda;
                        }
                        super::linalg::solve_spd(&mut gram, &mut rhs, n);
                        let weights = members
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
        let mut item_users: Vec<Vec<u32>> = vec![Vec::new(); items];
        for (user, history) in histories.iter().enumerate() {
            for item in history {
                item_users[*item as usize].push(user as u32);
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
        let rows = refine(&item_users, histories.len(), &candidates, lambda);
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
