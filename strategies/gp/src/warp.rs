//! Output standardization, and the Yeo-Johnson power transform for heavy-tailed losses (as
//! HEBO does, Cowen-Rivers et al. 2022): a few huge losses (Rosenbrock's 1e5 beside an optimum
//! of 0) would otherwise flatten the model around the good region.

/// The Yeo-Johnson transform of `x ≥ 0` with exponent `lambda`: Box-Cox of `1 + x`.
fn yeo_johnson(x: f64, lambda: f64) -> f64 {
    if lambda.abs() < 1e-9 {
        x.ln_1p()
    } else {
        ((x + 1.0).powf(lambda) - 1.0) / lambda
    }
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let sd = var.sqrt();
    (
        mean,
        if sd > 1e-12 && sd.is_finite() {
            sd
        } else {
            1.0
        },
    )
}

/// `values` shifted and scaled to mean 0 and variance 1, first warped by the Yeo-Johnson
/// exponent (in `[-2, 1]`: never stretching the tail) of largest profile likelihood when `warp`. Returns them with the mean and spread
/// of the (unwarped) standardization, to map thresholds.
pub fn standardize(values: &[f64], warp: bool) -> (Vec<f64>, (f64, f64)) {
    let (mean, sd) = mean_sd(values);
    let z: Vec<f64> = values.iter().map(|v| (v - mean) / sd).collect();
    if !warp || values.len() < 3 {
        return (z, (mean, sd));
    }
    // From the best value up, in units of the median distance to it, so that only the
    // positive branch (Box-Cox of 1 + x) is used and a heavy tail of bad losses lies far out,
    // where the transform pulls it in while the good end keeps its resolution.
    let low = z.iter().copied().fold(f64::INFINITY, f64::min);
    let mut above: Vec<f64> = z.iter().map(|x| x - low).collect();
    above.sort_by(f64::total_cmp);
    let median = above[above.len() / 2];
    let unit = if median > 1e-12 { median } else { 1.0 };
    let z: Vec<f64> = z.iter().map(|x| (x - low) / unit).collect();
    let n = z.len() as f64;
    let jac_sum: f64 = z.iter().map(|x| x.ln_1p()).sum();
    let mut best = (f64::NEG_INFINITY, 1.0);
    for step in 0..=12 {
        let lambda = -2.0 + 0.25 * f64::from(step);
        let t: Vec<f64> = z.iter().map(|x| yeo_johnson(*x, lambda)).collect();
        let (_, s) = mean_sd(&t);
        let ll = -0.5 * n * (s * s).ln() + (lambda - 1.0) * jac_sum;
        if ll.is_finite() && ll > best.0 {
            best = (ll, lambda);
        }
    }
    let t: Vec<f64> = z.iter().map(|x| yeo_johnson(*x, best.1)).collect();
    let (m, s) = mean_sd(&t);
    (t.iter().map(|x| (x - m) / s).collect(), (mean, sd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standardized_values_have_mean_zero_and_unit_variance_and_keep_their_order() {
        let heavy: Vec<f64> = (0..40).map(|i| f64::from(i).powi(4)).collect();
        for warp in [false, true] {
            let (y, _) = standardize(&heavy, warp);
            let (m, s) = mean_sd(&y);
            assert!(m.abs() < 1e-9 && (s - 1.0).abs() < 1e-9, "{warp}: {m} {s}");
            assert!(y.windows(2).all(|w| w[0] < w[1]), "{warp}: order kept");
        }
        // The warp pulls the heavy tail in: the best values spread further from each other.
        let (plain, _) = standardize(&heavy, false);
        let (warped, _) = standardize(&heavy, true);
        assert!(warped[5] - warped[0] > 5.0 * (plain[5] - plain[0]));
        // Constant values do not divide by zero.
        let (flat, _) = standardize(&[3.0, 3.0, 3.0, 3.0], true);
        assert!(flat.iter().all(|v| v.is_finite()));
    }
}
