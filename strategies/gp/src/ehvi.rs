//! Log expected hypervolume improvement (LogEHVI) for several objectives, each modelled by its
//! own process (independent normals), as Optuna's GPSampler scores them.
//!
//! The region that the Pareto front does not dominate, below the reference point, is cut into
//! boxes along a grid of the front's coordinates: in the first `m - 1` objectives the grid
//! cells, and in the last one, per cell, everything below the least last objective of the
//! front points that dominate the cell's lower corner. A point `y` improves the hypervolume by
//! `Σ_boxes Π_j (u_j - max(l_j, y_j))⁺`, and for independent normals the expectation of each
//! factor is `σ_j · (h(z_u) - h(z_l))` with `h(z) = φ(z) + z·Φ(z)` and `z = (bound - μ_j) / σ_j`.
//! The sum is taken in log space (log-sum-exp over boxes of sums of log factors), so candidates
//! whose improvement is 1e-300 likely are still ranked (Ament et al. 2023). Exact for any
//! number of objectives while the grid has at most [`MAX_BOXES`] cells; beyond, the front is
//! thinned (an even spread along the first objective) to fit.

use crate::math;

/// Most boxes scored per candidate: 1,024 is every 2-objective front up to 1,023 points and a
/// 3-objective one up to 31; the cost per candidate grows with the box count.
pub const MAX_BOXES: usize = 1024;

/// The non-dominated region as boxes. Per objective, the distinct intervals `(lo, hi]` the
/// boxes use (`lo` may be `-∞`); each box is one interval index per objective.
#[derive(Clone, Debug)]
pub struct Boxes {
    m: usize,
    intervals: Vec<Vec<(f64, f64)>>,
    /// `m` interval indices per box, row-major.
    boxes: Vec<usize>,
}

impl Boxes {
    /// The region below `reference` that no point of `points` (losses, `m` each) dominates.
    pub fn new(points: &[Vec<f64>], reference: &[f64]) -> Self {
        let m = reference.len();
        // Only points strictly inside the reference box dominate any of it; then the front.
        let inside: Vec<&[f64]> = points
            .iter()
            .filter(|p| p.iter().zip(reference).all(|(v, r)| v < r))
            .map(Vec::as_slice)
            .collect();
        let directions = vec![hyperplug_core::Direction::Minimize; m];
        let mut front: Vec<&[f64]> = hyperplug_core::pareto_front(&inside, &directions)
            .into_iter()
            .map(|i| inside[i])
            .collect();
        front.sort_by(|a, b| a[0].total_cmp(&b[0]));
        front.dedup();
        // Thin the front until the grid fits: (k + 1)^(m - 1) cells.
        let cells = |k: usize| (k + 1).saturating_pow(m.saturating_sub(1) as u32);
        let mut k = front.len();
        while k > 1 && cells(k) > MAX_BOXES {
            k -= 1;
        }
        if k < front.len() {
            let n = front.len();
            front = (0..k)
                .map(|i| front[i * (n - 1) / (k - 1).max(1)])
                .collect();
        }
        // Grid edges in the first m - 1 objectives.
        let mut intervals: Vec<Vec<(f64, f64)>> = Vec::with_capacity(m);
        for (j, r) in reference.iter().enumerate().take(m - 1) {
            let mut c: Vec<f64> = front.iter().map(|p| p[j]).collect();
            c.sort_by(f64::total_cmp);
            c.dedup();
            let mut lo = f64::NEG_INFINITY;
            let mut iv = Vec::with_capacity(c.len() + 1);
            for v in c.into_iter().chain([*r]) {
                iv.push((lo, v));
                lo = v;
            }
            intervals.push(iv);
        }
        // Per cell, the last objective below the least of the dominating points' last values.
        let mut last: Vec<(f64, f64)> = Vec::new();
        let mut boxes = Vec::new();
        let mut idx = vec![0usize; m - 1];
        'cells: loop {
            let lower: Vec<f64> = (0..m - 1).map(|j| intervals[j][idx[j]].0).collect();
            let top = front
                .iter()
                .filter(|p| p[..m - 1].iter().zip(&lower).all(|(v, l)| v <= l))
                .map(|p| p[m - 1])
                .fold(reference[m - 1], f64::min);
            let t = match last.iter().position(|iv| iv.1 == top) {
                Some(t) => t,
                None => {
                    last.push((f64::NEG_INFINITY, top));
                    last.len() - 1
                }
            };
            boxes.extend_from_slice(&idx);
            boxes.push(t);
            // Next cell, odometer order.
            for j in 0..m - 1 {
                idx[j] += 1;
                if idx[j] < intervals[j].len() {
                    continue 'cells;
                }
                idx[j] = 0;
            }
            break;
        }
        intervals.push(last);
        Boxes {
            m,
            intervals,
            boxes,
        }
    }

    /// How many boxes.
    pub fn len(&self) -> usize {
        self.boxes.len() / self.m
    }

    /// `ln EHVI` at independent normals `N(mean[j], var[j])`, and, when `grad` is given, its
    /// derivatives in each mean (`grad[j]`) and variance (`grad[m + j]`).
    pub fn log_ehvi(&self, mean: &[f64], var: &[f64], grad: Option<&mut [f64]>) -> f64 {
        let m = self.m;
        // Each interval's log factor and its derivatives, once per objective.
        let mut factors: Vec<Vec<(f64, f64, f64)>> = Vec::with_capacity(m);
        for j in 0..m {
            let sd = var[j].sqrt();
            factors.push(
                self.intervals[j]
                    .iter()
                    .map(|&(lo, hi)| log_factor(mean[j], sd, lo, hi))
                    .collect(),
            );
        }
        let nb = self.len();
        let mut s = vec![0.0; nb];
        let mut top = f64::NEG_INFINITY;
        for (b, sb) in s.iter_mut().enumerate() {
            let idx = &self.boxes[b * m..(b + 1) * m];
            *sb = (0..m).map(|j| factors[j][idx[j]].0).sum();
            top = top.max(*sb);
        }
        if !top.is_finite() {
            if let Some(g) = grad {
                g.iter_mut().for_each(|v| *v = 0.0);
            }
            return top;
        }
        let total: f64 = s.iter().map(|v| (v - top).exp()).sum();
        if let Some(g) = grad {
            g.iter_mut().for_each(|v| *v = 0.0);
            for (b, sb) in s.iter().enumerate() {
                let w = (sb - top).exp() / total;
                if w == 0.0 {
                    continue;
                }
                let idx = &self.boxes[b * m..(b + 1) * m];
                for j in 0..m {
                    let (_, dm, dv) = factors[j][idx[j]];
                    g[j] += w * dm;
                    g[m + j] += w * dv;
                }
            }
        }
        top + total.ln()
    }
}

/// `ln E[(hi - max(lo, y))⁺]` for `y ~ N(mean, sd²)` and its derivatives in the mean and the
/// variance: `ln σ + ln(h(z_hi) - h(z_lo))`, with `∂/∂μ = -(Φ_hi - Φ_lo) / (σ D)` and
/// `∂/∂σ = (φ_hi - φ_lo) / (σ D)`, `D = h(z_hi) - h(z_lo)`, all ratios taken from logs.
fn log_factor(mean: f64, sd: f64, lo: f64, hi: f64) -> (f64, f64, f64) {
    let zu = (hi - mean) / sd;
    let (lhu, _) = math::log_h(zu);
    let (lcu, lpu) = (math::log_cdf(zu).0, math::log_pdf(zu));
    let (log_d, lcl, lpl) = if lo == f64::NEG_INFINITY {
        (lhu, f64::NEG_INFINITY, f64::NEG_INFINITY)
    } else {
        let zl = (lo - mean) / sd;
        let (lhl, _) = math::log_h(zl);
        if lhl >= lhu {
            return (f64::NEG_INFINITY, 0.0, 0.0);
        }
        (
            lhu + math::log1mexp(lhl - lhu),
            math::log_cdf(zl).0,
            math::log_pdf(zl),
        )
    };
    let d_mean = -((lcu - log_d).exp() - (lcl - log_d).exp()) / sd;
    let d_sd = ((lpu - log_d).exp() - (lpl - log_d).exp()) / sd;
    (sd.ln() + log_d, d_mean, d_sd / (2.0 * sd))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seeded Monte Carlo estimate of EHVI, from the exact hypervolume.
    fn monte_carlo(points: &[Vec<f64>], reference: &[f64], mean: &[f64], sd: &[f64]) -> f64 {
        use rand::Rng;
        let mut rng = hyperplug_core::trial_rng(7, 0);
        let refs: Vec<&[f64]> = points.iter().map(Vec::as_slice).collect();
        let base = hyperplug_core::hypervolume(&refs, reference).expect("2 or 3 objectives");
        let draws = 200_000;
        let mut sum = 0.0;
        for _ in 0..draws {
            let y: Vec<f64> = mean
                .iter()
                .zip(sd)
                .map(|(m, s)| {
                    let u: f64 = rng.random::<f64>().max(1e-300);
                    let v: f64 = rng.random();
                    m + s * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
                })
                .collect();
            let mut with = refs.clone();
            with.push(&y);
            sum += hyperplug_core::hypervolume(&with, reference).expect("hv") - base;
        }
        sum / draws as f64
    }

    #[test]
    fn the_boxes_match_the_hypervolume_and_ehvi_matches_monte_carlo() {
        let two = vec![
            vec![0.1, 0.9],
            vec![0.4, 0.5],
            vec![0.8, 0.2],
            vec![0.9, 0.95],
        ];
        let three = vec![
            vec![0.1, 0.7, 0.6],
            vec![0.5, 0.2, 0.7],
            vec![0.6, 0.6, 0.1],
            vec![0.3, 0.3, 0.4],
        ];
        for (points, reference) in [(two, vec![1.0, 1.0]), (three, vec![1.0, 1.0, 1.0])] {
            let m = reference.len();
            let boxes = Boxes::new(&points, &reference);
            // The boxes, clipped at 0 below, fill the cube less the dominated volume.
            let refs: Vec<&[f64]> = points.iter().map(Vec::as_slice).collect();
            let hv = hyperplug_core::hypervolume(&refs, &reference).expect("hv");
            let mut free = 0.0;
            for b in 0..boxes.len() {
                free += (0..m)
                    .map(|j| {
                        let (lo, hi) = boxes.intervals[j][boxes.boxes[b * m + j]];
                        hi - lo.max(0.0)
                    })
                    .product::<f64>();
            }
            let cube: f64 = reference.iter().product();
            assert!((free + hv - cube).abs() < 1e-12, "{free} + {hv} vs {cube}");
            // EHVI against a Monte Carlo estimate (standard error about 0.2 %).
            let mean = vec![0.35; m];
            let sd = vec![0.2; m];
            let var: Vec<f64> = sd.iter().map(|s| s * s).collect();
            let exact = boxes.log_ehvi(&mean, &var, None).exp();
            let mc = monte_carlo(&points, &reference, &mean, &sd);
            assert!(
                (exact - mc).abs() < 0.01 * mc,
                "{m} objectives: {exact} vs {mc}"
            );
        }
    }

    #[test]
    fn the_gradient_matches_finite_differences_and_the_tail_stays_finite() {
        let points = vec![
            vec![0.1, 0.7, 0.6],
            vec![0.5, 0.2, 0.7],
            vec![0.6, 0.6, 0.1],
        ];
        let boxes = Boxes::new(&points, &[1.0, 1.0, 1.0]);
        for (mean, var) in [
            ([0.3, 0.4, 0.5], [0.04, 0.09, 0.01]),
            ([3.05, 2.0, 4.0], [0.01, 0.02, 0.01]),
        ] {
            let mut g = [0.0; 6];
            let v = boxes.log_ehvi(&mean, &var, Some(&mut g));
            assert!(v.is_finite(), "{v}");
            for (i, gi) in g.iter().enumerate() {
                let e = 1e-6;
                let (mut up, mut dn) = ((mean, var), (mean, var));
                if i < 3 {
                    up.0[i] += e;
                    dn.0[i] -= e;
                } else {
                    up.1[i - 3] += e;
                    dn.1[i - 3] -= e;
                }
                let fd = (boxes.log_ehvi(&up.0, &up.1, None) - boxes.log_ehvi(&dn.0, &dn.1, None))
                    / (2.0 * e);
                assert!(
                    (gi - fd).abs() < 1e-4 * fd.abs().max(1.0),
                    "{i}: {gi} vs {fd}"
                );
            }
        }
        // Far beyond the front, the improvement is astronomically unlikely yet still ranked.
        let far = boxes.log_ehvi(&[30.0, 30.0, 30.0], &[0.01; 3], None);
        let farther = boxes.log_ehvi(&[40.0, 40.0, 40.0], &[0.01; 3], None);
        assert!(far.is_finite() && farther.is_finite() && farther < far && far < -1e4);
    }

    #[test]
    fn a_large_front_is_thinned_to_the_box_cap() {
        let points: Vec<Vec<f64>> = (0..200)
            .map(|i| {
                let a = i as f64 / 199.0 * std::f64::consts::FRAC_PI_2;
                vec![a.cos(), a.sin() * 0.5, a.sin() * 0.5]
            })
            .collect();
        let boxes = Boxes::new(&points, &[1.1, 1.1, 1.1]);
        assert!(
            boxes.len() <= MAX_BOXES && boxes.len() > MAX_BOXES / 2,
            "{}",
            boxes.len()
        );
        let two = Boxes::new(
            &points.iter().map(|p| p[..2].to_vec()).collect::<Vec<_>>(),
            &[1.1, 1.1],
        );
        assert_eq!(two.len(), 201);
    }
}
