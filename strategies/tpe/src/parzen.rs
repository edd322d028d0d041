//! The Parzen estimators: mixtures of product kernels over a group of coordinates, one kernel
//! per observation plus a prior kernel (and, for large bad sets, one merged kernel).
//!
//! Continuous coordinates get Gaussians truncated to `[0, 1]`; discrete ones the same Gaussians
//! integrated over each value's cell; categorical ones a distribution that puts most of its
//! mass on the observed choice. A mixture is rebuilt in place on every ask, so its buffers are
//! allocated once per study.

use rand::Rng;

#[cfg(test)]
use crate::encode::Cells;
use crate::encode::Kind;
use crate::math::{log_mass, log_phi, log_sum_exp, log_unit_mass, trunc_normal_unit};

/// How numeric bandwidths are chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bandwidth {
    /// Let the outermost observations use the distance to the domain's end too.
    pub consider_endpoints: bool,
    /// Bound bandwidths below by `max(min_bandwidth, 1 / (n + 2)^magic_exponent)` (in unit
    /// coordinates), after Bergstra et al.'s "magic clip"; without it, by `1e-12`.
    pub magic_clip: bool,
    /// The exponent of the magic clip: 1 is hyperopt's and Optuna's rule.
    pub magic_exponent: f64,
    /// The floor of the magic clip: Optuna's `1 / min(100, n + 2)` is a floor of 0.01.
    pub min_bandwidth: f64,
    /// Multiplies every observation's bandwidth before clipping.
    pub scale: f64,
    /// What a categorical kernel spreads over the choices besides its own: `smoothing / (n + 1)`
    /// each, before normalizing (Optuna uses the prior weight).
    pub categorical_smoothing: f64,
    /// The least bandwidth of a discrete coordinate's kernel, as a fraction of the width of the
    /// cell it is centred in: below about 0.3 a kernel puts all its mass on its own value, and
    /// the search stops trying the neighbouring ones.
    pub discrete_floor: f64,
}

impl Bandwidth {
    fn min_sigma(&self, n: usize) -> f64 {
        if self.magic_clip {
            (1.0 / (n as f64 + 2.0).powf(self.magic_exponent)).max(self.min_bandwidth)
        } else {
            1e-12
        }
    }
}

/// The parameters of one extra kernel given explicitly (the merged kernel of a large bad set).
#[derive(Clone, Debug, Default)]
pub struct ExtraKernel {
    /// Its weight, on the scale of the observations' weights.
    pub weight: f64,
    /// Per coordinate: `(mu, sigma)` for numeric ones (ignored for categorical).
    pub num: Vec<(f64, f64)>,
    /// Per coordinate: the choice probabilities for categorical ones (empty for numeric).
    pub cat: Vec<Vec<f64>>,
}

/// One coordinate of a mixture: per-kernel parameters.
#[derive(Clone, Debug, Default)]
struct Dim {
    /// Numeric: centres, bandwidths, their inverses, and the per-kernel log normalizer
    /// (`-ln σ - ln Z - ln √(2π)` for continuous, `-ln Z` for discrete).
    mu: Vec<f64>,
    sigma: Vec<f64>,
    inv_sigma: Vec<f64>,
    log_norm: Vec<f64>,
    /// Categorical: kernel-major log probabilities, `n_choices` per kernel.
    log_p: Vec<f64>,
    /// Scratch for sorting when choosing bandwidths.
    order: Vec<u64>,
}

/// A mixture of product kernels over the coordinates of one group.
#[derive(Clone, Debug, Default)]
pub struct Mixture {
    kinds: Vec<Kind>,
    n_kernels: usize,
    log_w: Vec<f64>,
    cum_w: Vec<f64>,
    dims: Vec<Dim>,
    /// Scratch: per candidate, per kernel log terms.
    acc: Vec<f64>,
    /// Scratch: one coordinate of every candidate, and the cells of discrete ones.
    xs: Vec<f64>,
    cells: Vec<(f64, f64)>,
}

impl Mixture {
    /// Rebuilds the mixture over coordinates `kinds` from `n` observations `obs` (row-major,
    /// `kinds.len()` per row) with weights `w`, a prior kernel of weight `prior_weight` (always
    /// present when there is no observation), and an optional extra kernel.
    pub fn build(
        &mut self,
        kinds: &[Kind],
        obs: &[f64],
        w: &[f64],
        prior_weight: f64,
        bandwidth: &Bandwidth,
        extra: Option<&ExtraKernel>,
    ) {
        let g = kinds.len();
        let n = w.len();
        debug_assert_eq!(obs.len(), n * g);
        self.kinds.clear();
        self.kinds.extend_from_slice(kinds);
        let prior = if n == 0 { 1.0 } else { prior_weight };
        let extra = extra.filter(|e| e.weight > 0.0);
        let with_prior = prior > 0.0;
        self.n_kernels = n + usize::from(with_prior) + usize::from(extra.is_some());

        self.log_w.clear();
        self.log_w.extend_from_slice(w);
        if with_prior {
            self.log_w.push(prior);
        }
        if let Some(e) = extra {
            self.log_w.push(e.weight);
        }
        let total: f64 = self.log_w.iter().sum();
        self.cum_w.clear();
        let mut run = 0.0;
        // Most weights repeat (1 for recent observations): reuse the last logarithm.
        let mut last = (f64::NAN, 0.0);
        for x in &mut self.log_w {
            run += *x / total;
            self.cum_w.push(run);
            if *x != last.0 {
                last = (*x, (*x / total).ln());
            }
            *x = last.1;
        }

        self.dims.resize_with(g, Dim::default);
        for (j, kind) in kinds.iter().enumerate() {
            let dim = &mut self.dims[j];
            dim.mu.clear();
            dim.sigma.clear();
            dim.inv_sigma.clear();
            dim.log_norm.clear();
            dim.log_p.clear();
            match *kind {
                Kind::Categorical(c) => {
                    // Optuna's categorical kernel: the observed choice gets 1, every choice
                    // gets smoothing / (n + 1) more, then normalize.
                    let fill = bandwidth.categorical_smoothing.max(0.0) / (n as f64 + 1.0);
                    let observed = (1.0 + fill).ln() - (1.0 + c as f64 * fill).ln();
                    let other = if fill > 0.0 {
                        fill.ln() - (1.0 + c as f64 * fill).ln()
                    } else {
                        f64::NEG_INFINITY
                    };
                    for i in 0..n {
                        let k = obs[i * g + j] as usize;
                        dim.log_p
                            .extend((0..c).map(|x| if x == k { observed } else { other }));
                    }
                    if with_prior {
                        dim.log_p.extend((0..c).map(|_| -(c as f64).ln()));
                    }
                    if let Some(e) = extra {
                        let p = &e.cat[j];
                        dim.log_p.extend(p.iter().map(|q| q.ln()));
                    }
                }
                Kind::Continuous | Kind::Discrete(_) => {
                    dim.mu.extend((0..n).map(|i| obs[i * g + j]));
                    neighbour_sigmas(&dim.mu, &mut dim.order, &mut dim.sigma, bandwidth);
                    if let Kind::Discrete(cells) = kind
                        && bandwidth.discrete_floor > 0.0
                    {
                        for (s, &mu) in dim.sigma.iter_mut().zip(&dim.mu) {
                            let (lo, hi) = cells.cell(mu);
                            *s = s.max(bandwidth.discrete_floor * (hi - lo)).min(1.0);
                        }
                    }
                    if with_prior {
                        dim.mu.push(0.5);
                        dim.sigma.push(1.0);
                    }
                    if let Some(e) = extra {
                        let (mu, sigma) = e.num[j];
                        dim.mu.push(mu);
                        dim.sigma.push(sigma);
                    }
                    let continuous = matches!(kind, Kind::Continuous);
                    // Many bandwidths sit at the clip: reuse the last logarithm.
                    let mut last = (f64::NAN, 0.0);
                    for (&mu, &sigma) in dim.mu.iter().zip(&dim.sigma) {
                        dim.inv_sigma.push(1.0 / sigma);
                        let log_z = log_unit_mass(mu, sigma);
                        dim.log_norm.push(if continuous {
                            if sigma != last.0 {
                                last = (sigma, sigma.ln());
                            }
                            -last.1 - log_z - 0.918_938_533_204_672_8
                        } else {
                            -log_z
                        });
                    }
                }
            }
        }
    }

    /// Draws `count` points (row-major, one coordinate per group member) into `out`.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R, count: usize, out: &mut Vec<f64>) {
        let g = self.kinds.len();
        out.clear();
        for _ in 0..count {
            let u: f64 = rng.random();
            let k = self
                .cum_w
                .partition_point(|&c| c < u)
                .min(self.n_kernels - 1);
            for (j, kind) in self.kinds.iter().enumerate() {
                let dim = &self.dims[j];
                let x = match *kind {
                    Kind::Categorical(c) => {
                        let row = &dim.log_p[k * c..(k + 1) * c];
                        let mut u: f64 = rng.random();
                        let mut pick = c - 1;
                        for (x, lp) in row.iter().enumerate() {
                            let p = lp.exp();
                            if u < p {
                                pick = x;
                                break;
                            }
                            u -= p;
                        }
                        pick as f64
                    }
                    _ => trunc_normal_unit(rng, dim.mu[k], dim.sigma[k]),
                };
                out.push(x);
            }
        }
        debug_assert_eq!(out.len(), count * g);
    }

    /// The log density (log mass for discrete and categorical coordinates) of each point of
    /// `points` (row-major) into `out`.
    pub fn log_pdf(&mut self, points: &[f64], out: &mut Vec<f64>) {
        let g = self.kinds.len();
        let m = points.len() / g.max(1);
        let k_n = self.n_kernels;
        self.acc.clear();
        for _ in 0..m {
            self.acc.extend_from_slice(&self.log_w);
        }
        for (j, kind) in self.kinds.iter().enumerate() {
            let dim = &self.dims[j];
            self.xs.clear();
            self.xs.extend((0..m).map(|c| points[c * g + j]));
            match kind {
                Kind::Continuous => {
                    // The hot loop: zipped slices so that it vectorizes without bounds checks.
                    for (row, &x) in self.acc.chunks_exact_mut(k_n).zip(&self.xs) {
                        for (((a, &mu), &inv), &norm) in row
                            .iter_mut()
                            .zip(&dim.mu)
                            .zip(&dim.inv_sigma)
                            .zip(&dim.log_norm)
                        {
                            let z = (x - mu) * inv;
                            *a += norm - 0.5 * z * z;
                        }
                    }
                }
                Kind::Discrete(cells) => {
                    self.cells.clear();
                    self.cells.extend(self.xs.iter().map(|&x| cells.cell(x)));
                    for (row, &(lo, hi)) in self.acc.chunks_exact_mut(k_n).zip(&self.cells) {
                        for (((a, &mu), &inv), &norm) in row
                            .iter_mut()
                            .zip(&dim.mu)
                            .zip(&dim.inv_sigma)
                            .zip(&dim.log_norm)
                        {
                            *a += norm + cell_log_mass(lo, hi, mu, inv);
                        }
                    }
                }
                Kind::Categorical(n) => {
                    for (row, &x) in self.acc.chunks_exact_mut(k_n).zip(&self.xs) {
                        let x = x as usize;
                        for (a, probs) in row.iter_mut().zip(dim.log_p.chunks_exact(*n)) {
                            *a += probs[x];
                        }
                    }
                }
            }
        }
        out.clear();
        out.extend(self.acc.chunks_exact(k_n.max(1)).take(m).map(log_sum_exp));
    }
}

/// The log mass `N(mu, 1 / inv_sigma)` puts on `[lo, hi]`. Narrow cells use the density at
/// their middle times their width, which is accurate to (width / σ)² / 24 and much cheaper.
#[inline]
fn cell_log_mass(lo: f64, hi: f64, mu: f64, inv_sigma: f64) -> f64 {
    let (a, b) = ((lo - mu) * inv_sigma, (hi - mu) * inv_sigma);
    if b - a < 0.2 {
        log_phi(0.5 * (a + b)) + (b - a).ln()
    } else {
        log_mass(a, b)
    }
}

/// Bandwidths by the distance to the neighbouring observations (hyperopt's and Optuna's rule):
/// each observation's is the larger of its gaps to its neighbours in sorted order (the domain's
/// ends count as neighbours), then clipped to `[min_sigma, 1]`.
fn neighbour_sigmas(mus: &[f64], order: &mut Vec<u64>, sigmas: &mut Vec<f64>, bw: &Bandwidth) {
    let n = mus.len();
    sigmas.clear();
    sigmas.resize(n, 1.0);
    if n == 0 {
        return;
    }
    // Sort packed keys (the value on 40 bits of fixed point, the index on 24) rather than
    // indices with a comparator: several times faster, and 1e-12 is far below any bandwidth.
    order.clear();
    if n < 1 << 24 {
        order.extend(
            mus.iter()
                .enumerate()
                .map(|(i, &x)| ((x.clamp(0.0, 1.0) * (1u64 << 40) as f64) as u64) << 24 | i as u64),
        );
        order.sort_unstable();
        for k in order.iter_mut() {
            *k &= (1 << 24) - 1;
        }
    } else {
        order.extend(0..n as u64);
        order.sort_unstable_by(|&a, &b| mus[a as usize].total_cmp(&mus[b as usize]));
    }
    let at = |i: usize| mus[order[i] as usize];
    for i in 0..n {
        let left = if i == 0 { at(0) } else { at(i) - at(i - 1) };
        let right = if i + 1 == n {
            1.0 - at(i)
        } else {
            at(i + 1) - at(i)
        };
        let mut s = left.max(right);
        if !bw.consider_endpoints && n >= 2 {
            if i == 0 {
                s = right;
            } else if i + 1 == n {
                s = left;
            }
        }
        sigmas[order[i] as usize] = s;
    }
    let (lo, hi) = (bw.min_sigma(n), 1.0);
    for s in sigmas.iter_mut() {
        *s = (*s * bw.scale).clamp(lo, hi);
    }
}

/// The cells of a discrete coordinate, re-exported for tests of the estimator.
#[cfg(test)]
pub fn cells_of(kind: &Kind) -> Option<&Cells> {
    match kind {
        Kind::Discrete(c) => Some(c),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn optuna_bw() -> Bandwidth {
        Bandwidth {
            consider_endpoints: false,
            magic_clip: true,
            magic_exponent: 1.0,
            min_bandwidth: 0.01,
            scale: 1.0,
            categorical_smoothing: 1.0,
            discrete_floor: 0.0,
        }
    }

    fn mixture(kinds: &[Kind], obs: &[f64], prior: f64) -> Mixture {
        let mut m = Mixture::default();
        let w = vec![1.0; obs.len() / kinds.len()];
        // Optuna's categorical kernel smooths by the prior weight.
        let bw = Bandwidth {
            categorical_smoothing: prior,
            ..optuna_bw()
        };
        m.build(kinds, obs, &w, prior, &bw, None);
        m
    }

    #[test]
    fn a_continuous_density_integrates_to_one() {
        let kinds = [Kind::Continuous];
        let mut m = mixture(&kinds, &[0.02, 0.3, 0.31, 0.9, 1.0], 1.0);
        let n = 20_000;
        let grid: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
        let mut out = Vec::new();
        m.log_pdf(&grid, &mut out);
        let integral: f64 = out.iter().map(|l| l.exp() / n as f64).sum();
        assert!((integral - 1.0).abs() < 1e-3, "{integral}");
    }

    #[test]
    fn a_two_dimensional_density_integrates_to_one() {
        let kinds = [Kind::Continuous, Kind::Continuous];
        let mut m = mixture(&kinds, &[0.1, 0.9, 0.5, 0.5, 0.95, 0.05], 1.0);
        let n = 400;
        let mut grid = Vec::new();
        for i in 0..n {
            for j in 0..n {
                grid.push((i as f64 + 0.5) / n as f64);
                grid.push((j as f64 + 0.5) / n as f64);
            }
        }
        let mut out = Vec::new();
        m.log_pdf(&grid, &mut out);
        let integral: f64 = out.iter().map(|l| l.exp()).sum::<f64>() / (n * n) as f64;
        assert!((integral - 1.0).abs() < 2e-3, "{integral}");
    }

    #[test]
    fn discrete_and_categorical_masses_sum_to_one() {
        let domain = hyperplug_core::Domain::int(1, 1024).log();
        let kinds = [Kind::of(&domain), Kind::Categorical(4)];
        let cells = cells_of(&kinds[0]).expect("discrete").clone();
        let coord = crate::encode::Coord {
            kind: kinds[0].clone(),
            domain: domain.clone(),
        };
        let x = |v: i64| {
            coord
                .encode(&hyperplug_core::Value::Int(v))
                .expect("in domain")
        };
        let obs = [x(3), 1.0, x(700), 3.0, x(64), 1.0];
        let mut m = mixture(&kinds, &obs, 1.0);
        // One point per (value, choice): the masses over every pair must sum to 1.
        let mut points = Vec::new();
        for v in domain.values().expect("finite") {
            let u = coord.encode(&v).expect("in domain");
            for c in 0..4 {
                points.push(u);
                points.push(c as f64);
            }
        }
        let mut out = Vec::new();
        m.log_pdf(&points, &mut out);
        let total: f64 = out.iter().map(|l| l.exp()).sum();
        assert!((total - 1.0).abs() < 1e-3, "{total}");
        // The cell of 3 holds much more mass than its neighbour 1's cell would under a uniform.
        let (lo, hi) = cells.cell(x(3));
        assert!(hi > lo);
    }

    #[test]
    fn a_discrete_kernel_keeps_its_mass_on_the_grid_and_near_its_level() {
        // An int in 0..=9 (cells of width 0.1), eight good trials all at 6: the neighbour gaps
        // are 0, so without the magic clip every bandwidth is next to 0.
        let domain = hyperplug_core::Domain::int(0, 9);
        let coord = crate::encode::Coord {
            kind: Kind::of(&domain),
            domain: domain.clone(),
        };
        let kinds = [coord.kind.clone()];
        let six = coord
            .encode(&hyperplug_core::Value::Int(6))
            .expect("in domain");
        let levels: Vec<f64> = (0..10)
            .map(|v| {
                coord
                    .encode(&hyperplug_core::Value::Int(v))
                    .expect("in domain")
            })
            .collect();
        let masses = |floor: f64| {
            let mut m = Mixture::default();
            let bw = Bandwidth {
                discrete_floor: floor,
                magic_clip: false,
                ..optuna_bw()
            };
            m.build(&kinds, &[six; 8], &[1.0; 8], 0.0, &bw, None);
            let mut out = Vec::new();
            m.log_pdf(&levels, &mut out);
            let p: Vec<f64> = out.iter().map(|l| l.exp()).collect();
            // Every draw decodes to a value of the domain, and the masses of the ten values
            // are all there is.
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
            let mut draws = Vec::new();
            m.sample(&mut rng, 2000, &mut draws);
            let hits = draws
                .iter()
                .filter(|&&u| coord.decode(u) == hyperplug_core::Value::Int(6))
                .count();
            assert!(
                draws.iter().all(|&u| domain.contains(&coord.decode(u))),
                "draws off the grid"
            );
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{p:?}");
            (p, hits as f64 / 2000.0)
        };
        // Without a floor the kernel is a point mass: nothing leaks to 5 or 7.
        let (p, hits) = masses(0.0);
        assert!(p[6] > 1.0 - 1e-9 && p[5] < 1e-12 && p[7] < 1e-12, "{p:?}");
        assert_eq!(hits, 1.0);
        // With the floor of a quarter cell, 6 keeps most of the mass and its neighbours get a
        // little (2.3 % each: the cell edge is two bandwidths away), the far values next to none.
        let (p, hits) = masses(0.25);
        assert!((p[6] - 0.954).abs() < 1e-3, "{p:?}");
        assert!(
            (p[5] - 0.0228).abs() < 1e-3 && (p[7] - 0.0228).abs() < 1e-3,
            "{p:?}"
        );
        assert!(p[3] < 1e-6 && p[9] < 1e-6, "{p:?}");
        assert!((hits - p[6]).abs() < 0.02, "{hits} drawn at 6, {p:?}");
    }

    #[test]
    fn categorical_weights_follow_the_observations_and_the_prior() {
        let kinds = [Kind::Categorical(3)];
        // Four observations: choice 2 three times, choice 0 once.
        let mut m = mixture(&kinds, &[2.0, 2.0, 0.0, 2.0], 1.0);
        let mut out = Vec::new();
        m.log_pdf(&[0.0, 1.0, 2.0], &mut out);
        let p: Vec<f64> = out.iter().map(|l| l.exp()).collect();
        // Each observed kernel: 1 + 1/5 on its choice, 1/5 on the others, over 1 + 3/5; the
        // prior kernel is uniform; five kernels of equal weight.
        let fill = 0.2;
        let own = (1.0 + fill) / (1.0 + 3.0 * fill);
        let other = fill / (1.0 + 3.0 * fill);
        let expect = [
            (own + 3.0 * other + 1.0 / 3.0) / 5.0,
            (4.0 * other + 1.0 / 3.0) / 5.0,
            (3.0 * own + other + 1.0 / 3.0) / 5.0,
        ];
        for (a, b) in p.iter().zip(expect) {
            assert!((a - b).abs() < 1e-12, "{p:?} vs {expect:?}");
        }
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn categorical_smoothing_is_set_apart_from_the_prior_weight() {
        let kinds = [Kind::Categorical(4)];
        let bw = Bandwidth {
            categorical_smoothing: 0.5,
            ..optuna_bw()
        };
        // One observation of choice 1 and the prior kernel, of weights 1 and 2.
        let mut m = Mixture::default();
        m.build(&kinds, &[1.0], &[1.0], 2.0, &bw, None);
        let mut out = Vec::new();
        m.log_pdf(&[0.0, 1.0], &mut out);
        // The observed kernel: 1 + 0.5/2 on choice 1 and 0.5/2 on each other, over 1 + 4 · 0.25.
        let (own, other) = (1.25 / 2.0, 0.25 / 2.0);
        let expect = [(other + 2.0 * 0.25) / 3.0, (own + 2.0 * 0.25) / 3.0];
        for (a, b) in out.iter().map(|l| l.exp()).zip(expect) {
            assert!((a - b).abs() < 1e-12, "{out:?} vs {expect:?}");
        }
    }

    #[test]
    fn bandwidths_follow_the_neighbours_and_the_magic_clip() {
        let mut order = Vec::new();
        let mut s = Vec::new();
        // Sorted: 0.1, 0.2, 0.6; gaps 0.1 and 0.4; the ends use their inner gap only, and 0.1
        // is clipped up to 1 / (3 + 2).
        neighbour_sigmas(&[0.6, 0.1, 0.2], &mut order, &mut s, &optuna_bw());
        for (got, want) in s.iter().zip([0.4, 0.2, 0.4]) {
            assert!((got - want).abs() < 1e-12, "{s:?}");
        }
        // Five close points: the magic clip holds them at 1 / (5 + 2).
        neighbour_sigmas(
            &[0.5, 0.501, 0.502, 0.503, 0.504],
            &mut order,
            &mut s,
            &optuna_bw(),
        );
        assert!(s.iter().all(|&x| (x - 1.0 / 7.0).abs() < 1e-15), "{s:?}");
        // A lone observation spans to the farther end.
        neighbour_sigmas(&[0.3], &mut order, &mut s, &optuna_bw());
        assert_eq!(s, [0.7]);
    }

    #[test]
    fn the_density_ratio_picks_the_candidate_among_the_good_points() {
        let kinds = [Kind::Continuous, Kind::Categorical(3)];
        // Good points near (0.2, choice 1), bad ones spread elsewhere.
        let good = [0.18, 1.0, 0.22, 1.0, 0.2, 1.0];
        let bad = [
            0.8, 0.0, 0.7, 2.0, 0.9, 1.0, 0.5, 0.0, 0.6, 2.0, 0.95, 0.0, 0.45, 2.0,
        ];
        let mut l = mixture(&kinds, &good, 1.0);
        let mut g = mixture(&kinds, &bad, 1.0);
        let candidates = [0.8, 0.0, 0.5, 1.0, 0.2, 1.0, 0.2, 2.0, 0.35, 0.0];
        let (mut ll, mut lg) = (Vec::new(), Vec::new());
        l.log_pdf(&candidates, &mut ll);
        g.log_pdf(&candidates, &mut lg);
        let ratio: Vec<f64> = ll.iter().zip(&lg).map(|(a, b)| a - b).collect();
        let best = (0..ratio.len())
            .max_by(|&a, &b| ratio[a].total_cmp(&ratio[b]))
            .expect("candidates");
        assert_eq!(best, 2, "{ratio:?}");
        // The right choice matters as much as the right place.
        assert!(ratio[2] > ratio[3] + 1.0, "{ratio:?}");
        assert!(ratio[0] < 0.0, "a bad point scores below 0: {ratio:?}");
    }

    #[test]
    fn samples_come_from_the_kernels() {
        let kinds = [Kind::Continuous, Kind::Categorical(3)];
        // No prior: every draw comes from one of the two kernels.
        let mut m = Mixture::default();
        m.build(
            &kinds,
            &[0.2, 0.0, 0.8, 2.0],
            &[1.0, 3.0],
            0.0,
            &Bandwidth {
                categorical_smoothing: 0.0,
                ..optuna_bw()
            },
            None,
        );
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut out = Vec::new();
        m.sample(&mut rng, 4000, &mut out);
        let high = out.chunks(2).filter(|p| p[0] > 0.5).count() as f64 / 4000.0;
        // Weights 1:3, bandwidth 0.6 each (the gap between them): under the truncated kernels
        // P(x > 0.5) is 0.403 from 0.2 and 0.597 from 0.8, so 0.548 overall (sd 0.008 here).
        assert!((0.52..0.58).contains(&high), "{high}");
        // Categories follow their kernel: with no prior, a kernel's own choice only.
        assert!(
            out.chunks(2).all(|p| p[1] == 0.0 || p[1] == 2.0),
            "no prior mass"
        );
    }

    #[test]
    fn a_discrete_estimator_gives_optuna_s_masses() {
        // An int in 0..=9 and Optuna's choices (unit weights, prior weight 1, clip 1 / (n + 2),
        // no floor): the log masses of the ten values, as Optuna 5.0's `_ParzenEstimator` gives
        // them for the same observations (computed with it, to six decimals).
        let kinds = [Kind::Discrete(Cells::Equal(10.0))];
        let levels: Vec<f64> = (0..10).map(|k| (k as f64 + 0.5) / 10.0).collect();
        for (obs, optuna) in [
            (
                vec![6.0],
                [
                    -2.479956, -2.399583, -2.333749, -2.283224, -2.248645, -2.230515, -2.229194,
                    -2.244907, -2.277736, -2.327626,
                ],
            ),
            (
                vec![6.0, 6.0, 2.0],
                [
                    -2.716678, -2.573600, -2.432617, -2.283480, -2.139231, -2.039620, -2.028541,
                    -2.129981, -2.337565, -2.615148,
                ],
            ),
            (
                vec![6., 6., 6., 7., 2., 6., 5., 6., 9., 0.],
                [
                    -2.915811, -2.889274, -2.957323, -3.014161, -2.702148, -1.838972, -1.389595,
                    -1.764817, -2.478236, -2.832745,
                ],
            ),
        ] {
            let o: Vec<f64> = obs.iter().map(|k| (k + 0.5) / 10.0).collect();
            let mut m = Mixture::default();
            m.build(&kinds, &o, &vec![1.0; o.len()], 1.0, &optuna_bw(), None);
            let mut out = Vec::new();
            m.log_pdf(&levels, &mut out);
            // Within the midpoint rule's error for cells narrower than a fifth of a bandwidth.
            for (a, b) in out.iter().zip(optuna) {
                assert!((a - b).abs() < 1e-3, "{out:?} vs {optuna:?}");
            }
        }
    }
}
