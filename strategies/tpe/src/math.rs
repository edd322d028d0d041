//! Normal-distribution helpers in log space, truncated-normal sampling, and log-sum-exp.
//!
//! Kernels live on the unit interval with bandwidths down to about 1e-3, so a candidate can sit
//! hundreds of standard deviations from a kernel's centre. Everything here therefore works with
//! logarithms and never lets a density underflow to zero.

use rand::Rng;

const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
const FRAC_1_SQRT_2: f64 = std::f64::consts::FRAC_1_SQRT_2;

/// `ln Φ(x)`, the log of the standard normal CDF, accurate in both tails.
pub fn log_ndtr(x: f64) -> f64 {
    if x > 6.0 {
        // Φ(x) = 1 - Q(x) with Q tiny: ln(1 - Q) without cancellation.
        (-0.5 * libm::erfc(x * FRAC_1_SQRT_2)).ln_1p()
    } else if x > -20.0 {
        (0.5 * libm::erfc(-x * FRAC_1_SQRT_2)).ln()
    } else {
        // Asymptotic series: Φ(x) ≈ φ(x)/|x| (1 - 1/x² + 3/x⁴ - 15/x⁶); erfc underflows soon after.
        let z = 1.0 / (x * x);
        -0.5 * x * x - LN_SQRT_2PI - (-x).ln() + (z * (-1.0 + z * (3.0 - 15.0 * z))).ln_1p()
    }
}

/// `ln(1 - e^d)` for `d ≤ 0`, without cancellation at either end.
fn log1m_exp(d: f64) -> f64 {
    if d > -std::f64::consts::LN_2 {
        (-d.exp_m1()).ln()
    } else {
        (-d.exp()).ln_1p()
    }
}

/// `ln(Φ(b) - Φ(a))` for `a ≤ b`: the log mass a standard normal puts on `[a, b]`.
pub fn log_mass(a: f64, b: f64) -> f64 {
    if a >= b {
        return f64::NEG_INFINITY;
    }
    if a >= 0.0 {
        // Both in the upper tail: reflect, so that the small tail masses are subtracted.
        return log_mass(-b, -a);
    }
    if b <= 0.0 {
        let (la, lb) = (log_ndtr(a), log_ndtr(b));
        return lb + log1m_exp(la - lb);
    }
    // Straddles 0: one minus two tails.
    let tails = 0.5 * libm::erfc(-a * FRAC_1_SQRT_2) + 0.5 * libm::erfc(b * FRAC_1_SQRT_2);
    (-tails).ln_1p()
}

/// `ln φ(z)`, the standard normal log density.
#[inline]
pub fn log_phi(z: f64) -> f64 {
    -0.5 * z * z - LN_SQRT_2PI
}

/// The log of the normalizing mass of `N(mu, sigma)` truncated to `[0, 1]`. Exactly 0 when both
/// ends are more than 8.3 standard deviations away (the mass then differs from 1 by < 1e-16).
pub fn log_unit_mass(mu: f64, sigma: f64) -> f64 {
    let (a, b) = (-mu / sigma, (1.0 - mu) / sigma);
    if a < -8.3 && b > 8.3 {
        0.0
    } else {
        log_mass(a, b)
    }
}

/// A standard normal draw (Box–Muller; one of the pair is enough here).
pub fn std_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    // 1 - u is in (0, 1], so the log is finite.
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A draw of `N(mu, sigma)` truncated to `[0, 1]`, by rejection. Kernel centres lie in `[0, 1]`
/// and bandwidths are at most 1, so at least a third of the draws land inside; after 64 misses
/// (probability < 1e-11) a uniform draw is returned.
pub fn trunc_normal_unit<R: Rng + ?Sized>(rng: &mut R, mu: f64, sigma: f64) -> f64 {
    for _ in 0..64 {
        let x = mu + sigma * std_normal(rng);
        if (0.0..=1.0).contains(&x) {
            return x;
        }
    }
    rng.random()
}

/// `ln Σ exp(x_i)` over `xs`; `-inf` for an empty slice or all `-inf`.
pub fn log_sum_exp(xs: &[f64]) -> f64 {
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY || max.is_nan() {
        return max;
    }
    // Terms more than 40 nats below the largest change the sum by less than 1e-17.
    let sum: f64 = xs
        .iter()
        .map(|&x| {
            if x - max > -40.0 {
                (x - max).exp()
            } else {
                0.0
            }
        })
        .sum();
    max + sum.ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn log_ndtr_matches_known_values_in_both_tails() {
        assert!((log_ndtr(0.0) - 0.5f64.ln()).abs() < 1e-15);
        // Φ(1.96) = 0.9750021048517795.
        assert!((log_ndtr(1.96) - 0.975_002_104_851_779_5f64.ln()).abs() < 1e-14);
        // Φ(-10) = 7.619853024160527e-24.
        assert!((log_ndtr(-10.0) - 7.619_853_024_160_527e-24f64.ln()).abs() < 1e-10);
        // Continuity where the asymptotic series takes over.
        assert!((log_ndtr(-20.0 + 1e-9) - log_ndtr(-20.0 - 1e-9)).abs() < 1e-6);
        // Far tail: ln Φ(-40) = -804.608442013754.
        assert!((log_ndtr(-40.0) - (-804.608_442_013_754)).abs() < 1e-6);
        assert!(log_ndtr(9.0) < 0.0 && log_ndtr(9.0) > -1e-18);
    }

    #[test]
    fn log_mass_is_stable_in_the_tails_and_symmetric() {
        // Φ(1) - Φ(-1) = 0.6826894921370859.
        assert!((log_mass(-1.0, 1.0) - 0.682_689_492_137_085_9f64.ln()).abs() < 1e-14);
        // Far out, the mass of a short interval is density times width.
        let (a, b) = (30.0, 30.001);
        let approx = log_phi(30.0005) + 0.001f64.ln();
        assert!((log_mass(a, b) - approx).abs() < 1e-3, "{}", log_mass(a, b));
        assert!((log_mass(-b, -a) - log_mass(a, b)).abs() < 1e-12);
        assert_eq!(log_mass(1.0, 1.0), f64::NEG_INFINITY);
        assert!(log_mass(200.0, 201.0).is_finite());
    }

    #[test]
    fn truncated_normal_draws_stay_inside_and_have_the_right_mean() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let n = 20_000;
        let xs: Vec<f64> = (0..n)
            .map(|_| trunc_normal_unit(&mut rng, 0.0, 0.2))
            .collect();
        assert!(xs.iter().all(|x| (0.0..=1.0).contains(x)));
        // Half-normal mean: σ √(2/π) = 0.15958 (the upper cut at 5σ is negligible).
        let mean = xs.iter().sum::<f64>() / n as f64;
        assert!((mean - 0.159_58).abs() < 0.003, "{mean}");
    }

    #[test]
    fn log_sum_exp_handles_infinities_and_large_values() {
        assert_eq!(log_sum_exp(&[]), f64::NEG_INFINITY);
        assert_eq!(log_sum_exp(&[f64::NEG_INFINITY; 3]), f64::NEG_INFINITY);
        assert!((log_sum_exp(&[1000.0, 1000.0]) - (1000.0 + 2f64.ln())).abs() < 1e-12);
        assert!((log_sum_exp(&[0.0, f64::NEG_INFINITY]) - 0.0).abs() < 1e-15);
    }
}
