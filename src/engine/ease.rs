//! EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019), the `ease` baseline
//! of `recofinement evaluate`: the closed-form item-item regression B = I − P·diag(1/diag(P)), with
//! P = (XᵀX + λI)⁻¹ over the binary user × item matrix X, and B's diagonal zero. A user's scores are
//! their row of X·B. Dense items × items in f64: for datasets up to [`MAX_ITEMS`] contents, never
//! the server's catalogue.

/// Above this many items the dense inverse (n³ / 3 multiplications, 8n² bytes) is refused.
pub const MAX_ITEMS: usize = 20_000;
pub const DEFAULT_LAMBDA: f64 = 250.0;

/// B, row-major (`b[i * items + j]`: how much having `i` speaks for `j`).
pub struct Model {
    pub items: usize,
    pub b: Vec<f64>,
}

/// Trains on binary histories (`histories[user]` = the items the user has, each once).
pub fn train(items: usize, histories: &[Vec<u32>], lambda: f64) -> Model {
    let n = items;
    let mut g = vec![0f64; n * n];
    for history in histories {
        for &i in history {
            let row = i as usize * n;
            for &j in history {
                g[row + j as usize] += 1.0;
            }
        }
    }
    for i in 0..n {
        g[i * n + i] += lambda;
    }
    let p = inverse_spd(g, n);
    let mut b = vec![0f64; n * n];
    for i in 0..n {
        for j in 0..n {
            if i != j {
                b[i * n + j] = -p[i * n + j] / p[j * n + j];
            }
        }
    }
    Model { items: n, b }
}

impl Model {
    /// One user's scores over every item.
    pub fn scores(&self, history: &[u32]) -> Vec<f64> {
        let mut scores = vec![0f64; self.items];
        for &i in history {
            let row = &self.b[i as usize * self.items..(i as usize + 1) * self.items];
            for (score, weight) in scores.iter_mut().zip(row) {
                *score += weight;
            }
        }
        scores
    }
}

/// The inverse of a symmetric positive definite matrix (row-major), by Cholesky: G = L·Lᵀ, then
/// G⁻¹ = L⁻ᵀ·L⁻¹.
fn inverse_spd(mut a: Vec<f64>, n: usize) -> Vec<f64> {
    // L in the lower triangle of `a`.
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        let d = d.max(f64::MIN_POSITIVE).sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            let (ri, rj) = (i * n, j * n);
            for k in 0..j {
                s -= a[ri + k] * a[rj + k];
            }
            a[ri + j] = s / d;
        }
    }
    // M = L⁻¹ (lower triangular), row by row.
    let mut m = vec![0f64; n * n];
    for i in 0..n {
        m[i * n + i] = 1.0 / a[i * n + i];
        for j in 0..i {
            let mut s = 0.0;
            for k in j..i {
                s += a[i * n + k] * m[k * n + j];
            }
            m[i * n + j] = -s / a[i * n + i];
        }
    }
    // G⁻¹ = Mᵀ·M: entry (i, j) = Σ_{k ≥ max(i, j)} M[k][i]·M[k][j]; accumulated row of M by row.
    let mut inv = vec![0f64; n * n];
    for k in 0..n {
        let row = &m[k * n..k * n + k + 1];
        for i in 0..=k {
            let mki = row[i];
            if mki == 0.0 {
                continue;
            }
            let out = &mut inv[i * n..i * n + k + 1];
            for (o, mkj) in out.iter_mut().zip(row) {
                *o += mki * mkj;
            }
        }
    }
    // Only j ≤ k was accumulated for row i ≤ k: mirror the upper part from the lower one.
    for i in 0..n {
        for j in 0..i {
            inv[j * n + i] = inv[i * n + j];
        }
    }
    inv
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three users {0, 1}, {0, 1}, {1, 2}, λ = 1: G = [[3, 2, 0], [2, 4, 1], [0, 1, 2]], whose inverse
    /// is [[7, −4, 2], [−4, 6, −3], [2, −3, 8]] / 13 (by hand, via the adjugate; det = 13). So
    /// B = −P_ij / P_jj: B₀₁ = 4/6, B₀₂ = −2/8, B₁₀ = 4/7, B₁₂ = 3/8, B₂₀ = −2/7, B₂₁ = 3/6.
    #[test]
    fn a_known_small_case() {
        let model = train(3, &[vec![0, 1], vec![0, 1], vec![1, 2]], 1.0);
        let expected = [
            0.0,
            4.0 / 6.0,
            -2.0 / 8.0,
            4.0 / 7.0,
            0.0,
            3.0 / 8.0,
            -2.0 / 7.0,
            3.0 / 6.0,
            0.0,
        ];
        for (got, want) in model.b.iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{:?}", model.b);
        }
        // A user with item 0 is pointed to item 1 (co-occurring), away from item 2.
        let scores = model.scores(&[0]);
        assert!(scores[1] > 0.0 && scores[2] < 0.0);
    }

    #[test]
    fn the_inverse_inverts() {
        let n = 6;
        let mut g = vec![0f64; n * n];
        for i in 0..n {
            for j in 0..n {
                g[i * n + j] =
                    1.0 / (1.0 + (i as f64 - j as f64).abs()) + if i == j { n as f64 } else { 0.0 };
            }
        }
        let inv = inverse_spd(g.clone(), n);
        for i in 0..n {
            for j in 0..n {
                let product: f64 = (0..n).map(|k| g[i * n + k] * inv[k * n + j]).sum();
                assert!((product - if i == j { 1.0 } else { 0.0 }).abs() < 1e-10);
            }
        }
    }
}
