//! The normal-distribution pieces of the acquisition functions, stable far in the tails: LogEI
//! must keep ranking candidates whose improvement is 1e-300 likely, or the search stalls on a
//! plateau of zeros (Ament et al. 2023, "Unexpected improvements to expected improvement").

use std::f64::consts::{FRAC_1_SQRT_2, PI};

/// `ln(1 / sqrt(2π))`.
const LN_INV_SQRT_2PI: f64 = -0.918_938_533_204_672_8;

/// Beyond this many standard deviations the tail is taken from its asymptotic series.
const FAR: f64 = 20.0;

/// The standard normal density.
pub fn pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * PI).sqrt()
}

/// The standard normal distribution function.
pub fn cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z * FRAC_1_SQRT_2)
}

/// Mills' ratio `Φ(-t) / φ(t)` for `t ≥ 0`.
fn mills(t: f64) -> f64 {
    if t <= FAR {
        cdf(-t) / pdf(t)
    } else {
        let s = 1.0 / (t * t);
        (1.0 - s * (1.0 - s * (3.0 - s * (15.0 - 105.0 * s)))) / t
    }
}

/// `1 - t·mills(t)` for `t ≥ 0`, without its cancellation far out.
fn one_minus_t_mills(t: f64) -> f64 {
    if t <= FAR {
        1.0 - t * mills(t)
    } else {
        let s = 1.0 / (t * t);
        s * (1.0 - s * (3.0 - s * (15.0 - 105.0 * s)))
    }
}

/// `ln h(z)` and its derivative, where `h(z) = φ(z) + z·Φ(z)` is the expected improvement of a
/// standard normal over `-z`: `EI = σ·h((best - μ) / σ)`.
pub fn log_h(z: f64) -> (f64, f64) {
    if z >= 0.0 {
        let (p, c) = (pdf(z), cdf(z));
        let h = p + z * c;
        (h.ln(), c / h)
    } else {
        let t = -z;
        let rest = one_minus_t_mills(t).max(f64::MIN_POSITIVE);
        // h(z) = φ(t)·(1 - t·R(t)), Φ(z) = φ(t)·R(t).
        (LN_INV_SQRT_2PI - 0.5 * t * t + rest.ln(), mills(t) / rest)
    }
}

/// `ln φ(z)`.
pub fn log_pdf(z: f64) -> f64 {
    LN_INV_SQRT_2PI - 0.5 * z * z
}

/// `ln(1 - eˣ)` for `x ≤ 0`, accurate at both ends (Mächler 2012).
pub fn log1mexp(x: f64) -> f64 {
    if x > -std::f64::consts::LN_2 {
        (-x.exp_m1()).ln()
    } else {
        (-x.exp()).ln_1p()
    }
}

/// `ln Φ(u)` and its derivative.
pub fn log_cdf(u: f64) -> (f64, f64) {
    if u >= -5.0 {
        let c = cdf(u);
        (c.ln(), pdf(u) / c)
    } else {
        let r = mills(-u);
        (LN_INV_SQRT_2PI - 0.5 * u * u + r.ln(), 1.0 / r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_h_matches_the_direct_formula_and_stays_finite_far_out() {
        for z in [-8.0, -3.0, -1.0, -0.1, 0.0, 0.5, 2.0, 6.0] {
            let direct = (pdf(z) + z * cdf(z)).ln();
            let (v, d) = log_h(z);
            assert!(
                (v - direct).abs() < 1e-9 * direct.abs().max(1.0),
                "{z}: {v} {direct}"
            );
            // The derivative by central differences.
            let e = 1e-6;
            let fd = (log_h(z + e).0 - log_h(z - e).0) / (2.0 * e);
            assert!((d - fd).abs() < 1e-5 * d.abs().max(1.0), "{z}: {d} {fd}");
        }
        // Continuous across the switch to the series, and monotone far into the tail.
        let (a, b) = (log_h(-FAR + 1e-9).0, log_h(-FAR - 1e-9).0);
        assert!((a - b).abs() < 1e-6, "{a} {b}");
        let far: Vec<f64> = [-30.0, -100.0, -1000.0]
            .iter()
            .map(|&z| log_h(z).0)
            .collect();
        assert!(far.iter().all(|v| v.is_finite()));
        assert!(far[0] > far[1] && far[1] > far[2]);
        // ln h(-100) ≈ -100²/2 - ln(√(2π)) - 2 ln 100.
        assert!((far[1] - (-5000.0 - 0.918_938_533 - 2.0 * 100f64.ln())).abs() < 1e-3);
    }

    #[test]
    fn log_cdf_is_exact_near_zero_and_finite_far_out() {
        assert!((log_cdf(0.0).0 - 0.5f64.ln()).abs() < 1e-15);
        let (a, b) = (log_cdf(-5.0 + 1e-9).0, log_cdf(-5.0 - 1e-9).0);
        assert!((a - b).abs() < 1e-6, "{a} {b}");
        assert!(log_cdf(-60.0).0.is_finite() && log_cdf(-60.0).0 < -1800.0);
        let e = 1e-6;
        for u in [-7.0, -2.0, 1.0] {
            let fd = (log_cdf(u + e).0 - log_cdf(u - e).0) / (2.0 * e);
            assert!((log_cdf(u).1 - fd).abs() < 1e-5 * fd.abs().max(1.0), "{u}");
        }
    }
}
