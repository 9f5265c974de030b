//! EASE restricted to each item's neighbourhood (after Steck, WWW 2019, and the sparse approximations
//! of SANSA, Spišák et al., RecSys 2023): item `j` is predicted from its candidate neighbours only, by
//! ridge regression over the users — `b = (G_NN + λI)⁻¹ G_Nj`, with `G` the item Gram matrix XᵀX.
//! Over every other item this is exactly EASE's column `j` (its zero-diagonal constraint is the same
//! as leaving `j` out of the predictors); over a few hundred candidates it is a K×K solve per item,
//! so it runs at any catalogue size and in parallel. Negative weights are kept: they are how the
//! regression discounts what two neighbours explain together, which is where plain cosine lists
//! pile onto the popular head.

/// Most candidates an item is regressed on (one bit each in a user's mask).
pub const MAX_CANDIDATES: usize = 64;

/// The regression weights of every item from its candidates: per item `i`, the items `j` it speaks
/// for with weight `B[i][j]` (the fold-in's direction). `item_users[i]` is item `i`'s column of X
/// (its users; X is 0/1), `users` the number of users, `candidates[j]` the items `j` is regressed on
/// (the first `MAX_CANDIDATES`).
///
/// The Gram entries among `j`'s candidates are counted user by user: each user of a candidate gets
/// a bit mask of the candidates they consumed, and each user adds their mask's pairs — the work is
/// the co-occurrences themselves, where merging the candidates' user lists pair by pair costs
/// ~`candidates` times the lists' length. The diagonal is each candidate's number of users, and a
/// candidate that shares no user with another one is its own 1×1 block of the (then block-diagonal)
/// system: only the candidates that share users go through the Cholesky solve.
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
    let sorted = item_users
        .iter()
        .all(|users| users.windows(2).all(|pair| pair[0] < pair[1]));
    let columns: Vec<Vec<Column>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|offset| {
                scope.spawn(move || {
                    let mut out = Vec::new();
                    let mut solver = Solver::new(users);
                    for j in (offset..items).step_by(threads) {
                        let members = &candidates[j][..candidates[j].len().min(MAX_CANDIDATES)];
                        if members.is_empty() {
                            continue;
                        }
                        let weights =
                            solver.column(item_users, &item_users[j], members, lambda, sorted);
                        let weights = members
                            .iter()
                            .zip(weights)
                            .map(|((a, _), w)| (*a, *w as f32))
                            .filter(|(_, w)| w.is_finite() && *w != 0.0)
                            .collect();
                        out.push((j as u32, weights));
                    }
                    out
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap_or_default())
            .collect()
    });
    // Transposed into rows sized exactly, each column freed as it is moved: on the large seed's
    // tracks, copying the columns into one list and pushing rows of doubling capacity held the
    // weights some four times over.
    let mut lengths = vec![0usize; items];
    for (_, weights) in columns.iter().flatten() {
        for (i, _) in weights {
            lengths[*i as usize] += 1;
        }
    }
    let mut rows: Vec<Vec<(u32, f32)>> = lengths.into_iter().map(Vec::with_capacity).collect();
    for (j, weights) in columns.into_iter().flatten() {
        for (i, w) in weights {
            rows[i as usize].push((j, w));
        }
    }
    rows
}

/// Item `j` and the weights (i, B[i][j]) of the candidates it is regressed on.
type Column = (u32, Vec<(u32, f32)>);

/// One thread's scratch space for the per-item solves.
struct Solver {
    /// Per user, the candidates (bits) of the current item they consumed.
    masks: Vec<u64>,
    touched: Vec<u32>,
    /// Position of each coupled candidate in the reduced system.
    position: [usize; MAX_CANDIDATES],
    gram: Vec<f64>,
    rhs: Vec<f64>,
    reduced: Vec<f64>,
}

impl Solver {
    fn new(users: usize) -> Solver {
        Solver {
            masks: vec![0; users],
            touched: Vec::new(),
            position: [0; MAX_CANDIDATES],
            gram: Vec::new(),
            rhs: Vec::new(),
            reduced: Vec::new(),
        }
    }

    /// The weights of `members` (≤ `MAX_CANDIDATES`) predicting the item whose users are `target`.
    fn column(
        &mut self,
        item_users: &[Vec<u32>],
        target: &[u32],
        members: &[(u32, f32)],
        lambda: f64,
        sorted_users: bool,
    ) -> &[f64] {
        let n = members.len();
        // The most popular candidate's users are not walked: those who share another candidate
        // are found by looking each touched user up in its (ascending) user list, and those who
        // share none only add to its diagonal, which is its number of users. On a skewed
        // catalogue that list is the longest of the walks.
        let largest = if sorted_users {
            members
                .iter()
                .enumerate()
                .max_by_key(|(_, (candidate, _))| item_users[*candidate as usize].len())
                .map(|(a, (candidate, _))| (a, item_users[*candidate as usize].as_slice()))
        } else {
            None
        };
        for (a, (candidate, _)) in members.iter().enumerate() {
            if largest.is_some_and(|(l, _)| l == a) {
                continue;
            }
            // Without a branch: whether a user was touched before is a coin toss the processor
            // cannot predict; every user is written at the end and kept only if new.
            let users = &item_users[*candidate as usize];
            let mut len = self.touched.len();
            self.touched.resize(len + users.len(), 0);
            for user in users {
                let mask = &mut self.masks[*user as usize];
                self.touched[len] = *user;
                len += usize::from(*mask == 0);
                *mask |= 1u64 << a;
            }
            self.touched.truncate(len);
        }
        if let Some((l, users_of_largest)) = largest {
            for user in &self.touched {
                if users_of_largest.binary_search(user).is_ok() {
                    self.masks[*user as usize] |= 1u64 << l;
                }
            }
        }
        self.rhs.clear();
        self.rhs.resize(n, 0f64);
        for user in target {
            let mut mask = self.masks[*user as usize];
            if mask == 0 {
                if let Some((l, users_of_largest)) = largest
                    && users_of_largest.binary_search(user).is_ok()
                {
                    self.rhs[l] += 1.0;
                }
                continue;
            }
            while mask != 0 {
                self.rhs[mask.trailing_zeros() as usize] += 1.0;
                mask &= mask - 1;
            }
        }
        // Candidates that share a user with another candidate, in the reduced system's order.
        let mut coupled = 0u64;
        for user in &self.touched {
            let mask = self.masks[*user as usize];
            if mask & (mask - 1) != 0 {
                coupled |= mask;
            }
        }
        let m = coupled.count_ones() as usize;
        let mut bits = coupled;
        let mut k = 0;
        while bits != 0 {
            self.position[bits.trailing_zeros() as usize] = k;
            bits &= bits - 1;
            k += 1;
        }
        self.gram.clear();
        self.gram.resize(m * m, 0f64);
        let mut picked = [0usize; MAX_CANDIDATES];
        for user in self.touched.drain(..) {
            let mask = std::mem::take(&mut self.masks[user as usize]);
            if mask & (mask - 1) == 0 {
                continue;
            }
            let (mut rest, mut count) = (mask, 0);
            while rest != 0 {
                picked[count] = self.position[rest.trailing_zeros() as usize];
                rest &= rest - 1;
                count += 1;
            }
            // Positions ascend with the bits: (picked[x], picked[y ≤ x]) is the lower triangle,
            // which is all the Cholesky solve reads; the diagonal is set below.
            for x in 1..count {
                let row = picked[x] * m;
                for y in &picked[..x] {
                    self.gram[row + y] += 1.0;
                }
            }
        }
        self.reduced.clear();
        for (a, (candidate, _)) in members.iter().enumerate() {
            let diagonal = item_users[*candidate as usize].len() as f64 + lambda;
            if coupled & (1u64 << a) != 0 {
                let p = self.position[a];
                self.gram[p * m + p] = diagonal;
                self.reduced.push(self.rhs[a]);
            } else {
                self.rhs[a] /= diagonal;
            }
        }
        if m > 0 {
            super::linalg::solve_spd(&mut self.gram, &mut self.reduced, m);
            for a in 0..n {
                if coupled & (1u64 << a) != 0 {
                    self.rhs[a] = self.reduced[self.position[a]];
                }
            }
        }
        &self.rhs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_every_other_item_it_is_dense_ease() {
        // 12 users over 6 items, deterministic but irregular, and two users of items 0 and 6 only:
        // for item 0, candidate 6 shares no user with another candidate (a 1×1 block of its own).
        let mut histories: Vec<Vec<u32>> = (0..12u32)
            .map(|u| {
                (0..6u32)
                    .filter(|i| (u * 7 + i * 5 + u * i) % 3 != 0)
                    .collect()
            })
            .collect();
        histories.extend([vec![0, 6], vec![0, 6]]);
        let items = 7;
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
            for j in (0..items).filter(|j| *j != i) {
                let weight = row
                    .iter()
                    .find(|(other, _)| *other as usize == j)
                    .map_or(0.0, |(_, w)| f64::from(*w));
                let expected = dense.b[i * items + j];
                assert!(
                    (weight - expected).abs() < 1e-4,
                    "B[{i}][{j}]: {weight} vs {expected}"
                );
            }
        }
        // The decoupled candidate's weight is its own ridge ratio: 2 shared users / (2 users + λ).
        let six_for_zero = rows[6].iter().find(|(j, _)| *j == 0).map(|(_, w)| *w);
        assert_eq!(six_for_zero, Some(0.5));
    }
}
