//! Small dense linear algebra shared by the engines: the ridge solves of `regression` and of the
//! reference's ALS baseline.

/// Solves `a · x = b` for a symmetric positive definite `a` (n×n, row-major) by Cholesky, in place.
/// Only the lower triangle of `a` is read.
pub fn solve_spd(a: &mut [f64], b: &mut [f64], n: usize) {
    for j in 0..n {
        let mut diagonal = a[j * n + j];
        for k in 0..j {
            diagonal -= a[j * n + k] * a[j * n + k];
        }
        let diagonal = diagonal.max(1e-12).sqrt();
        a[j * n + j] = diagonal;
        for i in j + 1..n {
            let mut value = a[i * n + j];
            for k in 0..j {
                value -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = value / diagonal;
        }
    }
    for i in 0..n {
        let mut value = b[i];
        for k in 0..i {
            value -= a[i * n + k] * b[k];
        }
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
}
