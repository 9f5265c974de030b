//! Small dense linear algebra shared by the engines: the ridge solves of `regression` and of the
//! reference's ALS baseline.

/// Solves `a · x = b` for a symmetric positive definite `a` (n×n, row-major) by Cholesky, in place.
/// Only the lower triangle of `a` is read.
pub fn solve_spd(a: &mut [f64], b: &mut [f64], n: usize) {
    for j in 0..n {
        let row_j = j * n;
        let diagonal = a[row_j + j] - dot(&a[row_j..row_j + j], &a[row_j..row_j + j]);
        let diagonal = diagonal.max(1e-12).sqrt();
        a[row_j + j] = diagonal;
        for i in j + 1..n {
            let row_i = i * n;
            let value = a[row_i + j] - dot(&a[row_i..row_i + j], &a[row_j..row_j + j]);
            a[row_i + j] = value / diagonal;
        }
    }
    for i in 0..n {
        let value = b[i] - dot(&a[i * n..i * n + i], &b[..i]);
        b[i] = value / a[i * n + i];
    }
    for i in (0..n).rev() {
        let mut value = b[i];
        for k in i + 1..n {
            value -= a[k * n + i] * b[k];
        }
        b[i] = value / a[i * n + i];
    }
}

/// Σ x·y over independent partial sums: a single running sum waits on each addition, these let
/// the additions overlap and vectorise (the factorisation is most of the regression's time).
fn dot(x: &[f64], y: &[f64]) -> f64 {
    const LANES: usize = 8;
    let mut partial = [0f64; LANES];
    let (xs, ys) = (x.chunks_exact(LANES), y.chunks_exact(LANES));
    let tail: f64 = xs
        .remainder()
        .iter()
        .zip(ys.remainder())
        .map(|(a, b)| a * b)
        .sum();
    for (a, b) in xs.zip(ys) {
        for lane in 0..LANES {
            partial[lane] += a[lane] * b[lane];
        }
    }
    partial.iter().sum::<f64>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_small_system() {
        // [4 2; 2 3] x = [2; 1] → x = [0.5, 0]
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        let mut b = vec![2.0, 1.0];
        solve_spd(&mut a, &mut b, 2);
        assert!((b[0] - 0.5).abs() < 1e-9 && b[1].abs() < 1e-9, "{b:?}");
    }

    #[test]
    fn cholesky_solves_a_system_longer_than_the_partial_sums() {
        // A = MᵀM + I for an irregular M (SPD), 19×19: exercises full chunks and remainders.
        let n = 19;
        let m: Vec<f64> = (0..n * n).map(|k| ((k * 37 % 11) as f64) - 5.0).collect();
        let mut a = vec![0f64; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..n).map(|k| m[k * n + i] * m[k * n + j]).sum::<f64>()
                    + if i == j { 1.0 } else { 0.0 };
            }
        }
        let x: Vec<f64> = (0..n).map(|i| i as f64 * 0.5 - 3.0).collect();
        let mut b: Vec<f64> = (0..n)
            .map(|i| (0..n).map(|j| a[i * n + j] * x[j]).sum())
            .collect();
        solve_spd(&mut a.clone(), &mut b, n);
        for (got, want) in b.iter().zip(&x) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
    }
}
