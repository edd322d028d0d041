//! The two-objective ZDT functions, the three-objective DTLZ2, and points on their true Pareto
//! fronts.
//!
//! Definitions: Zitzler, Deb & Thiele, "Comparison of Multiobjective Evolutionary Algorithms:
//! Empirical Results", *Evolutionary Computation* 8(2), 2000. All three are minimized on
//! `[0, 1]^n`, `n ≥ 2`, with `f1 = x0` and `g = 1 + 9 Σ_{i≥1} x_i / (n - 1)`; the Pareto-optimal
//! points are those with `g = 1`, i.e. `x = (t, 0, …, 0)`.

use std::f64::consts::PI;

/// The parts of ZDT3's front, as closed ranges of `f1`: the non-dominated pieces of the curve
/// `f2 = 1 - √f1 - f1 sin(10π f1)`. Each piece ends at a local minimum of the curve; each piece
/// after the first starts where the curve falls back to the end value of the piece before, so
/// that start point itself is only weakly non-dominated (it ties in `f2` with the previous end).
/// Computed to double precision (local minima and level crossings of the curve, solved with
/// 40-digit arithmetic); the crate's tests check them against a dense scan of the curve.
pub const ZDT3_FRONT_SEGMENTS: [(f64, f64); 5] = [
    (0.0, 0.083_001_534_926_911_63),
    (0.182_228_728_029_399_78, 0.257_762_363_387_830_2),
    (0.409_313_674_808_656_8, 0.453_882_104_088_830_2),
    (0.618_396_794_439_265_8, 0.652_511_703_804_662_5),
    (0.823_331_798_326_632_7, 0.851_832_865_436_413_9),
];

/// The lowest `f2` on ZDT3's front (at the end of its last piece): the second coordinate of its
/// ideal point.
pub const ZDT3_MIN_F2: f64 = -0.773_369_012_326_640_5;

/// `f1` and `g` of a ZDT point.
fn f1_and_g(name: &str, x: &[f64]) -> (f64, f64) {
    assert!(
        x.len() >= 2,
        "{name} takes at least 2 coordinates, got {}",
        x.len()
    );
    let rest: f64 = x[1..].iter().sum();
    (x[0], 1.0 + 9.0 * rest / (x.len() - 1) as f64)
}

/// ZDT1: `f2 = g (1 - √(f1 / g))`. Its front is convex: `f2 = 1 - √f1`, `f1 ∈ [0, 1]`.
///
/// # Panics
///
/// When `x` has fewer than 2 coordinates.
pub fn zdt1(x: &[f64]) -> [f64; 2] {
    let (f1, g) = f1_and_g("zdt1", x);
    [f1, g * (1.0 - (f1 / g).sqrt())]
}

/// ZDT2: `f2 = g (1 - (f1 / g)²)`. Its front is concave: `f2 = 1 - f1²`, `f1 ∈ [0, 1]`.
///
/// # Panics
///
/// When `x` has fewer than 2 coordinates.
pub fn zdt2(x: &[f64]) -> [f64; 2] {
    let (f1, g) = f1_and_g("zdt2", x);
    [f1, g * (1.0 - (f1 / g).powi(2))]
}

/// ZDT3: `f2 = g (1 - √(f1 / g) - (f1 / g) sin(10π f1))`. Its front is disconnected: the curve
/// `f2 = 1 - √f1 - f1 sin(10π f1)` over the five ranges of [`ZDT3_FRONT_SEGMENTS`].
///
/// # Panics
///
/// When `x` has fewer than 2 coordinates.
pub fn zdt3(x: &[f64]) -> [f64; 2] {
    let (f1, g) = f1_and_g("zdt3", x);
    let r = f1 / g;
    [f1, g * (1.0 - r.sqrt() - r * (10.0 * PI * f1).sin())]
}

/// `n` evenly spaced values from 0 to `length`, both ends included (just 0 when `n` is 1).
fn spread(n: usize, length: f64) -> impl Iterator<Item = f64> {
    let step = if n > 1 { length / (n - 1) as f64 } else { 0.0 };
    (0..n).map(move |k| {
        if k + 1 == n && n > 1 {
            length
        } else {
            k as f64 * step
        }
    })
}

/// `n` points on ZDT1's Pareto front, evenly spaced in `f1` from `(0, 1)` to `(1, 0)` (both
/// included; just `(0, 1)` when `n` is 1), in increasing `f1`.
pub fn zdt1_front(n: usize) -> Vec<[f64; 2]> {
    spread(n, 1.0).map(|f1| [f1, 1.0 - f1.sqrt()]).collect()
}

/// `n` points on ZDT2's Pareto front, evenly spaced in `f1` from `(0, 1)` to `(1, 0)` (both
/// included; just `(0, 1)` when `n` is 1), in increasing `f1`.
pub fn zdt2_front(n: usize) -> Vec<[f64; 2]> {
    spread(n, 1.0).map(|f1| [f1, 1.0 - f1 * f1]).collect()
}

/// `n` points on ZDT3's Pareto front, evenly spaced in `f1` over the total length of its five
/// pieces ([`ZDT3_FRONT_SEGMENTS`]), in increasing `f1`. The first point is `(0, 1)` and, for
/// `n ≥ 2`, the last is the end of the last piece, `f2 =` [`ZDT3_MIN_F2`]. A point that falls on
/// the seam between two pieces is put at the end of the earlier piece, never at the (weakly
/// dominated) start of the later one, so the points are mutually non-dominated.
pub fn zdt3_front(n: usize) -> Vec<[f64; 2]> {
    let total: f64 = ZDT3_FRONT_SEGMENTS.iter().map(|(a, b)| b - a).sum();
    spread(n, total)
        .map(|s| {
            let f1 = zdt3_f1_at(s);
            [f1, zdt3_curve(f1)]
        })
        .collect()
}

/// The front curve of ZDT3, `1 - √f1 - f1 sin(10π f1)`, defined on all of `[0, 1]` but Pareto
/// optimal only on [`ZDT3_FRONT_SEGMENTS`].
fn zdt3_curve(f1: f64) -> f64 {
    1.0 - f1.sqrt() - f1 * (10.0 * PI * f1).sin()
}

/// The `f1` at distance `s` along the pieces of ZDT3's front, taking the first piece as closed
/// and the others as open at their start.
fn zdt3_f1_at(s: f64) -> f64 {
    let mut rest = s;
    for &(start, end) in &ZDT3_FRONT_SEGMENTS {
        let length = end - start;
        if rest <= length {
            return start + rest;
        }
        rest -= length;
    }
    ZDT3_FRONT_SEGMENTS[ZDT3_FRONT_SEGMENTS.len() - 1].1
}

/// DTLZ2 with three objectives (Deb, Thiele, Laumanns & Zitzler 2005), minimized on `[0, 1]^n`,
/// `n ≥ 3`: with `g = Σ_{i≥2} (x_i - ½)²`, `f1 = (1 + g) cos(x0 π/2) cos(x1 π/2)`,
/// `f2 = (1 + g) cos(x0 π/2) sin(x1 π/2)`, `f3 = (1 + g) sin(x0 π/2)`. Its front is the unit
/// sphere's positive octant, reached where `x_i = ½` for `i ≥ 2`.
///
/// # Panics
///
/// When `x` has fewer than 3 coordinates.
pub fn dtlz2(x: &[f64]) -> [f64; 3] {
    assert!(
        x.len() >= 3,
        "dtlz2 takes at least 3 coordinates, got {}",
        x.len()
    );
    let g: f64 = x[2..].iter().map(|v| (v - 0.5).powi(2)).sum();
    let (a, b) = (x[0] * PI / 2.0, x[1] * PI / 2.0);
    [
        (1.0 + g) * a.cos() * b.cos(),
        (1.0 + g) * a.cos() * b.sin(),
        (1.0 + g) * a.sin(),
    ]
}

/// Points on DTLZ2's front: the images of the grid `x0, x1 ∈ {0, 1/k, …, 1}` (`k ≥ 1`), each on
/// the unit sphere; `(k + 1)²` of them, some repeated at the pole `x0 = 1`.
pub fn dtlz2_front(k: usize) -> Vec<[f64; 3]> {
    let k = k.max(1);
    let mut out = Vec::with_capacity((k + 1) * (k + 1));
    for i in 0..=k {
        for j in 0..=k {
            let mut x = vec![0.5; 3];
            x[0] = i as f64 / k as f64;
            x[1] = j as f64 / k as f64;
            out.push(dtlz2(&x));
        }
    }
    out
}

#[cfg(test)]
mod dtlz2_tests {
    use super::*;

    #[test]
    fn dtlz2_front_points_lie_on_the_unit_sphere_and_hypervolume_matches_the_closed_form() {
        let front = dtlz2_front(40);
        for p in &front {
            let r: f64 = p.iter().map(|v| v * v).sum();
            assert!((r - 1.0).abs() < 1e-12, "{p:?}");
        }
        // Off the front: g > 0 scales the point out.
        let off = dtlz2(&[0.0, 0.0, 1.0, 0.5]);
        assert_eq!(off, [1.25, 0.0, 0.0]);
        // The dense front's staircase approaches 1.331 - π/6 from below.
        let points: Vec<&[f64]> = front.iter().map(|p| p.as_slice()).collect();
        let hv = hyperplug_core::hypervolume(&points, &[1.1; 3]).unwrap();
        let exact = 1.331 - PI / 6.0;
        assert!(hv < exact && exact - hv < 0.03, "{hv} vs {exact}");
    }
}
