//! The single-objective functions, as pure functions of a point, with their optima.
//!
//! Unless a comment says otherwise, definitions, domains and constants follow Surjanovic & Bingham,
//! *Virtual Library of Simulation Experiments: Test Functions and Datasets*
//! (<https://www.sfu.ca/~ssurjano/optimization.html>).

use std::f64::consts::{E, PI};

/// The minimum of [`branin`]: `5 / (4π)`, reached at three points (see [`BRANIN_MINIMIZERS`]).
pub const BRANIN_OPTIMUM: f64 = 0.397_887_357_729_738_3;

/// The three global minimizers of [`branin`]: `(-π, 12.275)`, `(π, 2.275)`, `(3π, 2.475)`.
pub const BRANIN_MINIMIZERS: [[f64; 2]; 3] = [[-PI, 12.275], [PI, 2.275], [3.0 * PI, 2.475]];

/// The minimum of [`hartmann3`] with its constants here (the Dixon & Szegő table, `P[3][0] =
/// 0.03815`).
pub const HARTMANN3_OPTIMUM: f64 = -3.862_782_147_820_755;

/// The global minimizer of [`hartmann3`], to double precision (commonly quoted as
/// `(0.114614, 0.555649, 0.852547)`).
pub const HARTMANN3_MINIMIZER: [f64; 3] = [
    0.114_614_338_589_671_97,
    0.555_648_849_971_856_9,
    0.852_546_953_520_865_8,
];

/// The minimum of [`hartmann6`].
pub const HARTMANN6_OPTIMUM: f64 = -3.322_368_011_415_515;

/// The global minimizer of [`hartmann6`], to double precision (commonly quoted as
/// `(0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573)`).
pub const HARTMANN6_MINIMIZER: [f64; 6] = [
    0.201_689_511_006_705_4,
    0.150_010_691_823_457_97,
    0.476_873_974_221_897,
    0.275_332_430_494_056_1,
    0.311_651_616_600_113_24,
    0.657_300_534_065_620_3,
];

/// The minimum of [`styblinski_tang`] per dimension: the minimum in `d` dimensions is `d` times
/// this.
pub const STYBLINSKI_TANG_OPTIMUM_PER_DIM: f64 = -39.166_165_703_771_41;

/// The coordinate of the minimizer of [`styblinski_tang`], the same in every dimension: the root
/// of `4x³ - 32x + 5` near -2.9035.
pub const STYBLINSKI_TANG_MINIMIZER: f64 = -2.903_534_027_771_177;

/// Panics with a message naming the function when `x` has the wrong number of coordinates.
fn check_len(name: &str, x: &[f64], expected: usize) {
    assert!(
        x.len() == expected,
        "{name} takes {expected} coordinates, got {}",
        x.len()
    );
}

/// Panics with a message naming the function when `x` has fewer than `min` coordinates.
fn check_min_len(name: &str, x: &[f64], min: usize) {
    assert!(
        x.len() >= min,
        "{name} takes at least {min} coordinate(s), got {}",
        x.len()
    );
}

/// Branin(-Hoo) in 2-D, domain `x0 ∈ [-5, 10]`, `x1 ∈ [0, 15]`:
/// `a (x1 - b x0² + c x0 - r)² + s (1 - t) cos x0 + s` with `a = 1`, `b = 5.1 / (4π²)`,
/// `c = 5 / π`, `r = 6`, `s = 10`, `t = 1 / (8π)`. Minimum [`BRANIN_OPTIMUM`].
///
/// # Panics
///
/// When `x` does not have exactly 2 coordinates.
pub fn branin(x: &[f64]) -> f64 {
    check_len("branin", x, 2);
    let (x0, x1) = (x[0], x[1]);
    let b = 5.1 / (4.0 * PI * PI);
    let c = 5.0 / PI;
    let (r, s, t) = (6.0, 10.0, 1.0 / (8.0 * PI));
    (x1 - b * x0 * x0 + c * x0 - r).powi(2) + s * (1.0 - t) * x0.cos() + s
}

/// `-Σ_i alpha_i exp(-Σ_j A_ij (x_j - P_ij)²)`, the Hartmann family.
fn hartmann<const D: usize>(
    alpha: &[f64; 4],
    a: &[[f64; D]; 4],
    p: &[[f64; D]; 4],
    x: &[f64],
) -> f64 {
    -(0..4)
        .map(|i| {
            let inner: f64 = (0..D).map(|j| a[i][j] * (x[j] - p[i][j]).powi(2)).sum();
            alpha[i] * (-inner).exp()
        })
        .sum::<f64>()
}

const HARTMANN_ALPHA: [f64; 4] = [1.0, 1.2, 3.0, 3.2];

// Hartmann-3 constants: Dixon & Szegő (eds.), *Towards Global Optimisation 2* (1978), as
// tabulated by Hedar and in Finkel's DIRECT test set. Surjanovic & Bingham print P[3][0] rounded
// to 0.0381, which moves the minimum to -3.862779787; with 0.03815 the minimum is the widely quoted
// -3.86278214782076, reached at (0.114614, 0.555649, 0.852547).
const HARTMANN3_A: [[f64; 3]; 4] = [
    [3.0, 10.0, 30.0],
    [0.1, 10.0, 35.0],
    [3.0, 10.0, 30.0],
    [0.1, 10.0, 35.0],
];
const HARTMANN3_P: [[f64; 3]; 4] = [
    [0.3689, 0.1170, 0.2673],
    [0.4699, 0.4387, 0.7470],
    [0.1091, 0.8732, 0.5547],
    [0.038_15, 0.5743, 0.8828],
];

// Hartmann-6 constants: Surjanovic & Bingham (after Dixon & Szegő 1978).
const HARTMANN6_A: [[f64; 6]; 4] = [
    [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
    [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
    [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
    [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
];
const HARTMANN6_P: [[f64; 6]; 4] = [
    [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
    [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
    [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
    [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
];

/// Hartmann-3 on `[0, 1]³`; minimum [`HARTMANN3_OPTIMUM`] at [`HARTMANN3_MINIMIZER`].
///
/// # Panics
///
/// When `x` does not have exactly 3 coordinates.
pub fn hartmann3(x: &[f64]) -> f64 {
    check_len("hartmann3", x, 3);
    hartmann(&HARTMANN_ALPHA, &HARTMANN3_A, &HARTMANN3_P, x)
}

/// Hartmann-6 on `[0, 1]⁶`; minimum [`HARTMANN6_OPTIMUM`] at [`HARTMANN6_MINIMIZER`].
///
/// # Panics
///
/// When `x` does not have exactly 6 coordinates.
pub fn hartmann6(x: &[f64]) -> f64 {
    check_len("hartmann6", x, 6);
    hartmann(&HARTMANN_ALPHA, &HARTMANN6_A, &HARTMANN6_P, x)
}

/// Rosenbrock in `d ≥ 2` dimensions, domain `[-5, 10]^d`:
/// `Σ_{i<d-1} 100 (x_{i+1} - x_i²)² + (x_i - 1)²`. Minimum 0 at `(1, …, 1)`.
///
/// # Panics
///
/// When `x` has fewer than 2 coordinates.
pub fn rosenbrock(x: &[f64]) -> f64 {
    check_min_len("rosenbrock", x, 2);
    x.windows(2)
        .map(|w| 100.0 * (w[1] - w[0] * w[0]).powi(2) + (w[0] - 1.0).powi(2))
        .sum()
}

/// Ackley in `d ≥ 1` dimensions, domain `[-32.768, 32.768]^d`, with `a = 20`, `b = 0.2`,
/// `c = 2π`: `-a exp(-b √(Σ x_i² / d)) - exp(Σ cos(c x_i) / d) + a + e`. Minimum 0 at the origin.
///
/// # Panics
///
/// When `x` is empty.
pub fn ackley(x: &[f64]) -> f64 {
    check_min_len("ackley", x, 1);
    let (a, b, c) = (20.0, 0.2, 2.0 * PI);
    let d = x.len() as f64;
    let squares: f64 = x.iter().map(|v| v * v).sum();
    let cosines: f64 = x.iter().map(|v| (c * v).cos()).sum();
    -a * (-b * (squares / d).sqrt()).exp() - (cosines / d).exp() + a + E
}

/// Levy in `d ≥ 1` dimensions, domain `[-10, 10]^d`, with `w_i = 1 + (x_i - 1) / 4`:
/// `sin²(π w_0) + Σ_{i<d-1} (w_i - 1)² (1 + 10 sin²(π w_i + 1)) + (w_{d-1} - 1)² (1 + sin²(2π
/// w_{d-1}))`. Minimum 0 at `(1, …, 1)`.
///
/// # Panics
///
/// When `x` is empty.
pub fn levy(x: &[f64]) -> f64 {
    check_min_len("levy", x, 1);
    let w: Vec<f64> = x.iter().map(|v| 1.0 + (v - 1.0) / 4.0).collect();
    let last = w[w.len() - 1];
    let middle: f64 = w[..w.len() - 1]
        .iter()
        .map(|wi| (wi - 1.0).powi(2) * (1.0 + 10.0 * (PI * wi + 1.0).sin().powi(2)))
        .sum();
    (PI * w[0]).sin().powi(2)
        + middle
        + (last - 1.0).powi(2) * (1.0 + (2.0 * PI * last).sin().powi(2))
}

/// Styblinski-Tang in `d ≥ 1` dimensions, domain `[-5, 5]^d`: `½ Σ x_i⁴ - 16 x_i² + 5 x_i`.
/// Minimum `d ·` [`STYBLINSKI_TANG_OPTIMUM_PER_DIM`] with every coordinate at
/// [`STYBLINSKI_TANG_MINIMIZER`].
///
/// # Panics
///
/// When `x` is empty.
pub fn styblinski_tang(x: &[f64]) -> f64 {
    check_min_len("styblinski_tang", x, 1);
    0.5 * x
        .iter()
        .map(|v| v.powi(4) - 16.0 * v * v + 5.0 * v)
        .sum::<f64>()
}

/// Rastrigin in `d ≥ 1` dimensions, domain `[-5.12, 5.12]^d`: `10 d + Σ x_i² - 10 cos(2π x_i)`.
/// Minimum 0 at the origin.
///
/// # Panics
///
/// When `x` is empty.
pub fn rastrigin(x: &[f64]) -> f64 {
    check_min_len("rastrigin", x, 1);
    10.0 * x.len() as f64
        + x.iter()
            .map(|v| v * v - 10.0 * (2.0 * PI * v).cos())
            .sum::<f64>()
}

/// Griewank in `d ≥ 1` dimensions, domain `[-600, 600]^d`:
/// `Σ x_i² / 4000 - Π cos(x_i / √(i + 1)) + 1` (`i` from 0). Minimum 0 at the origin.
///
/// # Panics
///
/// When `x` is empty.
pub fn griewank(x: &[f64]) -> f64 {
    check_min_len("griewank", x, 1);
    let sum: f64 = x.iter().map(|v| v * v / 4000.0).sum();
    let product: f64 = x
        .iter()
        .enumerate()
        .map(|(i, v)| (v / ((i + 1) as f64).sqrt()).cos())
        .product();
    sum - product + 1.0
}
