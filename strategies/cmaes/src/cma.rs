//! One run of (μ/μ_w, λ)-CMA-ES in the unit cube (Hansen, "The CMA Evolution Strategy: A
//! Tutorial", 2016): weighted recombination with negative weights for the rank-μ update (active
//! CMA), the rank-one update along the evolution path `p_c`, cumulative step-size adaptation
//! along `p_σ`; optionally a diagonal covariance (sep-CMA, Ros & Hansen 2008), learning-rate
//! adaptation (Nomura et al. 2023) and the margin for discrete coordinates (Hamano et al. 2022).

use nalgebra::{DMatrix, DVector, SymmetricEigen};
use rand::Rng;
use rand_distr::StandardNormal;

use crate::normal;

/// Smallest eigenvalue kept in the covariance, so that its inverse square root stays finite.
const EPS: f64 = 1e-8;
/// Largest step size before the run counts as diverged.
const SIGMA_MAX: f64 = 1e32;
/// Draws tried for a sample inside the bounds before the last one is clipped.
const MAX_RESAMPLING: usize = 100;

/// The strategy parameters that depend only on the dimension and the population size.
#[derive(Clone, Debug)]
pub struct Constants {
    pub n: usize,
    pub lambda: usize,
    pub mu: usize,
    /// λ recombination weights, best first; the last λ - μ are negative (active CMA) unless
    /// the covariance is diagonal.
    pub weights: Vec<f64>,
    pub mu_eff: f64,
    pub cc: f64,
    pub c1: f64,
    pub cmu: f64,
    pub cs: f64,
    pub ds: f64,
    /// E‖N(0, I)‖.
    pub chi_n: f64,
}

impl Constants {
    /// The tutorial's defaults (its equations 49–56) for dimension `n` and population `lambda`;
    /// `separable` scales the covariance learning rates by `(n + 2) / 3` and keeps only the
    /// positive weights, as sep-CMA does.
    pub fn new(n: usize, lambda: usize, separable: bool) -> Self {
        let nf = n as f64;
        let mu = lambda / 2;
        let w_prime: Vec<f64> = (0..lambda)
            .map(|i| ((lambda as f64 + 1.0) / 2.0).ln() - ((i + 1) as f64).ln())
            .collect();
        let (pos, neg) = w_prime.split_at(mu);
        let sum_sq = |w: &[f64]| w.iter().map(|x| x * x).sum::<f64>();
        let mu_eff = pos.iter().sum::<f64>().powi(2) / sum_sq(pos);
        let mu_eff_minus = if neg.is_empty() {
            0.0
        } else {
            neg.iter().sum::<f64>().powi(2) / sum_sq(neg)
        };
        let alpha_cov = 2.0;
        let mut c1 = alpha_cov / ((nf + 1.3).powi(2) + mu_eff);
        let mut cmu = (1.0 - c1 - 1e-8).min(
            alpha_cov * (mu_eff - 2.0 + 1.0 / mu_eff)
                / ((nf + 2.0).powi(2) + alpha_cov * mu_eff / 2.0),
        );
        if separable {
            c1 = (c1 * (nf + 2.0) / 3.0).min(1.0);
            cmu = (cmu * (nf + 2.0) / 3.0).min(1.0 - c1).max(0.0);
        }
        let pos_sum: f64 = w_prime.iter().filter(|w| **w > 0.0).sum();
        let neg_sum: f64 = w_prime.iter().filter(|w| **w < 0.0).map(|w| -w).sum();
        let alpha_minus = if cmu > 0.0 {
            (1.0 + c1 / cmu)
                .min(1.0 + 2.0 * mu_eff_minus / (mu_eff + 2.0))
                .min((1.0 - c1 - cmu) / (nf * cmu))
        } else {
            0.0
        };
        let weights = w_prime
            .iter()
            .map(|&w| {
                if w >= 0.0 {
                    w / pos_sum
                } else if separable || neg_sum == 0.0 {
                    0.0
                } else {
                    alpha_minus * w / neg_sum
                }
            })
            .collect();
        let cs = (mu_eff + 2.0) / (nf + mu_eff + 5.0);
        let ds = 1.0 + 2.0 * (((mu_eff - 1.0) / (nf + 1.0)).sqrt() - 1.0).max(0.0) + cs;
        let cc = (4.0 + mu_eff / nf) / (nf + 4.0 + 2.0 * mu_eff / nf);
        let chi_n = nf.sqrt() * (1.0 - 1.0 / (4.0 * nf) + 1.0 / (21.0 * nf * nf));
        Constants {
            n,
            lambda,
            mu,
            weights,
            mu_eff,
            cc,
            c1,
            cmu,
            cs,
            ds,
            chi_n,
        }
    }
}

/// The default population size, `4 + ⌊3 ln n⌋`.
pub fn default_popsize(n: usize) -> usize {
    4 + (3.0 * (n.max(1) as f64).ln()).floor() as usize
}

/// How each coordinate is bounded and whether the margin applies to it.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Per coordinate: the inner cell boundaries (ascending, in the unit interval) of a discrete
    /// coordinate under the margin, or `None` for a coordinate kept inside `[0, 1]`.
    pub cells: Vec<Option<Vec<f64>>>,
    /// The margin α: the least probability of leaving the mean's cell on each side.
    pub margin: f64,
}

/// Learning-rate adaptation state (Nomura et al. 2023): exponential moving averages of the
/// normalized one-step changes of the mean and of the covariance, whose signal-to-noise
/// ratio steers `eta_mean` and `eta_sigma`.
#[derive(Clone, Debug)]
struct Lra {
    e_mean: DVector<f64>,
    e_sigma: DMatrix<f64>,
    v_mean: f64,
    v_sigma: f64,
    eta_mean: f64,
    eta_sigma: f64,
}

impl Lra {
    const ALPHA: f64 = 1.4;
    const BETA_MEAN: f64 = 0.1;
    const BETA_SIGMA: f64 = 0.03;
    const GAMMA: f64 = 0.1;

    fn new(n: usize) -> Self {
        Lra {
            e_mean: DVector::zeros(n),
            e_sigma: DMatrix::zeros(n, n),
            v_mean: 0.0,
            v_sigma: 0.0,
            eta_mean: 1.0,
            eta_sigma: 1.0,
        }
    }
}

/// The termination tolerances that end a run (and trigger a restart).
#[derive(Clone, Copy, Debug)]
pub struct Tolerances {
    /// Range of the best and worst values over recent generations.
    pub tolfun: f64,
    /// Step size times every axis and the rank-one path, relative to the initial step.
    pub tolx: f64,
}

/// What stays the same over every run of a study.
#[derive(Clone, Debug)]
pub struct Options {
    /// sep-CMA: a diagonal covariance.
    pub separable: bool,
    /// Learning-rate adaptation.
    pub lr_adapt: bool,
    pub layout: Layout,
    pub tol: Tolerances,
}

/// The search distribution `N(m, σ² C)` of one run, and its update.
#[derive(Clone, Debug)]
pub struct Cma {
    pub k: Constants,
    pub mean: DVector<f64>,
    pub sigma: f64,
    sigma0: f64,
    /// The covariance; for sep-CMA its diagonal as one column.
    c: DMatrix<f64>,
    separable: bool,
    /// Eigenvectors of `C` (identity, unused, for sep-CMA).
    b: DMatrix<f64>,
    /// Square roots of the eigenvalues of `C` (of its diagonal for sep-CMA).
    d: DVector<f64>,
    pc: DVector<f64>,
    ps: DVector<f64>,
    /// Generations completed.
    pub generation: usize,
    lra: Option<Lra>,
    layout: Layout,
    /// Margin scaling of the discrete coordinates.
    a: DVector<f64>,
    /// Best and worst value of the recent generations.
    funhist: Vec<(f64, f64)>,
    tol: Tolerances,
    /// Set when an update produced a non-finite number; the run must end.
    broken: bool,
}

impl Cma {
    /// A run from `mean` with step `sigma` and covariance `cov` (identity when `None`).
    pub fn new(
        mean: DVector<f64>,
        sigma: f64,
        cov: Option<DMatrix<f64>>,
        lambda: usize,
        opts: &Options,
    ) -> Self {
        let Options {
            separable,
            lr_adapt,
            ref layout,
            tol,
        } = *opts;
        let layout = layout.clone();
        let n = mean.len();
        let k = Constants::new(n, lambda, separable);
        // sep-CMA keeps only the diagonal, as one column, so that memory stays O(n).
        let c = match cov {
            Some(c) if separable => DMatrix::from_column_slice(n, 1, c.diagonal().as_slice()),
            None if separable => DMatrix::from_element(n, 1, 1.0),
            Some(c) => c,
            None => DMatrix::identity(n, n),
        };
        let mut cma = Cma {
            k,
            mean,
            sigma,
            sigma0: sigma,
            c,
            separable,
            b: if separable {
                DMatrix::zeros(0, 0)
            } else {
                DMatrix::identity(n, n)
            },
            d: DVector::from_element(n, 1.0),
            pc: DVector::zeros(n),
            ps: DVector::zeros(n),
            generation: 0,
            lra: lr_adapt.then(|| Lra::new(n)),
            layout,
            a: DVector::from_element(n, 1.0),
            funhist: Vec::new(),
            tol,
            broken: false,
        };
        cma.decompose();
        cma
    }

    pub fn dim(&self) -> usize {
        self.k.n
    }

    pub fn lambda(&self) -> usize {
        self.k.lambda
    }

    /// `C_jj`.
    fn var(&self, j: usize) -> f64 {
        if self.separable {
            self.c[(j, 0)]
        } else {
            self.c[(j, j)]
        }
    }

    /// `B D z`: a draw of `N(0, C)` from a standard normal `z`.
    fn transform(&self, z: &DVector<f64>) -> DVector<f64> {
        let dz = self.d.component_mul(z);
        if self.separable { dz } else { &self.b * dz }
    }

    /// `C^{-1/2} y`.
    fn inv_sqrt(&self, y: &DVector<f64>) -> DVector<f64> {
        if self.separable {
            y.component_div(&self.d)
        } else {
            &self.b * (self.b.tr_mul(y).component_div(&self.d))
        }
    }

    /// A sample `x ~ N(m, σ² C)` with its bounded coordinates inside `[0, 1]`: redrawn up to
    /// 100 times, then clipped. Every draw comes from `rng`, so the same generator gives the
    /// same sample.
    pub fn sample<R: Rng>(&self, rng: &mut R) -> DVector<f64> {
        let n = self.dim();
        let mut x = DVector::zeros(n);
        for _ in 0..MAX_RESAMPLING {
            let z = DVector::from_fn(n, |_, _| rng.sample::<f64, _>(StandardNormal));
            x = &self.mean + self.transform(&z) * self.sigma;
            if self.feasible(&x) {
                return x;
            }
        }
        for (j, xj) in x.iter_mut().enumerate() {
            if self.layout.cells[j].is_none() {
                *xj = xj.clamp(0.0, 1.0);
            }
        }
        x
    }

    fn feasible(&self, x: &DVector<f64>) -> bool {
        x.iter()
            .zip(&self.layout.cells)
            .all(|(v, cells)| cells.is_some() || (0.0..=1.0).contains(v))
    }

    /// Where a sample is evaluated: discrete coordinates under the margin are stretched by
    /// their factor `A` about the mean (CMA-ES with margin), all clipped into `[0, 1]`.
    pub fn encode(&self, x: &DVector<f64>) -> Vec<f64> {
        x.iter()
            .enumerate()
            .map(|(j, &v)| {
                let v = match self.layout.cells[j] {
                    Some(_) => (v - self.mean[j]) * self.a[j] + self.mean[j],
                    None => v,
                };
                v.clamp(0.0, 1.0)
            })
            .collect()
    }

    /// A solution that was not sampled from this distribution (an enqueued trial, one asked
    /// under an earlier generation by a parallel worker): its step `y = (x - m) / σ` is
    /// shortened to Mahalanobis length at most `√n + 2n / (n + 2)`, as the tutorial
    /// recommends for injected solutions, so that it cannot blow up the paths.
    pub fn inject(&self, x: &DVector<f64>) -> DVector<f64> {
        let nf = self.dim() as f64;
        let y = (x - &self.mean) / self.sigma;
        let len = self.inv_sqrt(&y).norm();
        let cap = nf.sqrt() + 2.0 * nf / (nf + 2.0);
        let y = if len > cap { y * (cap / len) } else { y };
        &self.mean + y * self.sigma
    }

    /// One generation: `solutions` are `λ` samples with their losses (smaller is better).
    pub fn tell(&mut self, solutions: &mut [(DVector<f64>, f64)]) {
        debug_assert_eq!(solutions.len(), self.k.lambda);
        solutions.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (best, worst) = (solutions[0].1, solutions[solutions.len() - 1].1);
        let term = self.funhist_term();
        if self.funhist.len() == term {
            self.funhist.remove(0);
        }
        self.funhist.push((best, worst));

        let k = self.k.clone();
        let n = k.n;
        let old = self.lra.is_some().then(|| {
            let inv_sqrt_c = if self.separable {
                DMatrix::from_diagonal(&self.d.map(|d| 1.0 / d))
            } else {
                &self.b * DMatrix::from_diagonal(&self.d.map(|d| 1.0 / d)) * self.b.transpose()
            };
            (
                self.mean.clone(),
                &self.c * (self.sigma * self.sigma),
                inv_sqrt_c / self.sigma,
            )
        });

        let ys: Vec<DVector<f64>> = solutions
            .iter()
            .map(|(x, _)| (x - &self.mean) / self.sigma)
            .collect();
        let mut yw = DVector::zeros(n);
        for (y, &w) in ys.iter().zip(&k.weights).take(k.mu) {
            yw += y * w;
        }
        self.mean += &yw * self.sigma;

        let c_inv_yw = self.inv_sqrt(&yw);
        self.ps = &self.ps * (1.0 - k.cs) + c_inv_yw * (k.cs * (2.0 - k.cs) * k.mu_eff).sqrt();
        let ps_norm = self.ps.norm();
        self.sigma *= ((k.cs / k.ds) * (ps_norm / k.chi_n - 1.0)).exp();
        self.sigma = self.sigma.min(SIGMA_MAX);

        let g = self.generation as i32 + 1;
        let h_left = ps_norm / (1.0 - (1.0 - k.cs).powi(2 * g)).sqrt();
        let h_sigma = h_left < (1.4 + 2.0 / (n as f64 + 1.0)) * k.chi_n;
        let h = if h_sigma { 1.0 } else { 0.0 };
        self.pc = &self.pc * (1.0 - k.cc) + &yw * (h * (k.cc * (2.0 - k.cc) * k.mu_eff).sqrt());
        let delta_h = (1.0 - h) * k.cc * (2.0 - k.cc);
        let w_sum: f64 = k.weights.iter().sum();
        let decay = 1.0 + k.c1 * delta_h - k.c1 - k.cmu * w_sum;

        if self.separable {
            for j in 0..n {
                let rank_mu: f64 = ys
                    .iter()
                    .zip(&k.weights)
                    .map(|(y, &w)| w * y[j] * y[j])
                    .sum();
                let cjj = decay * self.c[(j, 0)] + k.c1 * self.pc[j] * self.pc[j] + k.cmu * rank_mu;
                self.c[(j, 0)] = cjj;
            }
        } else {
            let mut rank_mu = DMatrix::zeros(n, n);
            for (y, &w) in ys.iter().zip(&k.weights) {
                // Negative weights are rescaled so that a long bad step cannot make C indefinite.
                let w = if w >= 0.0 {
                    w
                } else {
                    w * n as f64 / (self.inv_sqrt(y).norm_squared() + EPS)
                };
                rank_mu.ger(w, y, y, 1.0);
            }
            self.c = &self.c * decay + &self.pc * self.pc.transpose() * k.c1 + rank_mu * k.cmu;
        }

        if let Some((old_mean, old_cov, old_inv_sqrt)) = old {
            self.adapt_learning_rates(&old_mean, &old_cov, &old_inv_sqrt);
        }
        self.generation += 1;
        self.decompose();
        if !self.layout.cells.iter().all(Option::is_none) {
            self.correct_margin();
        }
    }

    fn funhist_term(&self) -> usize {
        10 + (30.0 * self.k.n as f64 / self.k.lambda as f64).ceil() as usize
    }

    /// Learning-rate adaptation (Nomura et al. 2023): compare the one-step changes of the mean
    /// and of `Σ = σ² C`, in the coordinates of the old distribution, with their moving
    /// averages; a low signal-to-noise ratio (noise) lowers the learning rates, a high one
    /// raises them back towards 1. The update is then redone with those rates.
    fn adapt_learning_rates(
        &mut self,
        old_mean: &DVector<f64>,
        old_cov: &DMatrix<f64>,
        old_inv_sqrt: &DMatrix<f64>,
    ) {
        let n = self.dim();
        let Some(lra) = self.lra.as_mut() else {
            return;
        };
        let d_mean = &self.mean - old_mean;
        let cov = &self.c * (self.sigma * self.sigma);
        let d_cov = &cov - old_cov;
        let loc_mean = old_inv_sqrt * &d_mean;
        let loc_cov = old_inv_sqrt * &d_cov * old_inv_sqrt / std::f64::consts::SQRT_2;

        let (bm, bs) = (Lra::BETA_MEAN, Lra::BETA_SIGMA);
        lra.e_mean = &lra.e_mean * (1.0 - bm) + &loc_mean * bm;
        lra.e_sigma = &lra.e_sigma * (1.0 - bs) + &loc_cov * bs;
        lra.v_mean = (1.0 - bm) * lra.v_mean + bm * loc_mean.norm_squared();
        lra.v_sigma = (1.0 - bs) * lra.v_sigma + bs * loc_cov.norm_squared();

        let snr = |e: f64, v: f64, beta: f64| (e - beta / (2.0 - beta) * v) / (v - e);
        let snr_mean = snr(lra.e_mean.norm_squared(), lra.v_mean, bm);
        let snr_sigma = snr(lra.e_sigma.norm_squared(), lra.v_sigma, bs);
        let before = lra.eta_mean;
        let step = |eta: f64, snr: f64, beta: f64| {
            let rel = (snr / Lra::ALPHA / eta - 1.0).clamp(-1.0, 1.0);
            let rel = if rel.is_nan() { 0.0 } else { rel };
            (eta * ((Lra::GAMMA * eta).min(beta) * rel).exp()).min(1.0)
        };
        lra.eta_mean = step(lra.eta_mean, snr_mean, bm);
        lra.eta_sigma = step(lra.eta_sigma, snr_sigma, bs);

        self.mean = old_mean + d_mean * lra.eta_mean;
        let cov = old_cov + d_cov * lra.eta_sigma;
        let cov = (&cov + cov.transpose()) / 2.0;
        let eig = SymmetricEigen::new(cov.clone());
        let log_det: f64 = eig.eigenvalues.iter().map(|e| e.max(EPS * EPS).ln()).sum();
        let sigma = (log_det / (2.0 * n as f64)).exp().min(SIGMA_MAX);
        self.c = cov / (sigma * sigma);
        self.sigma = sigma * before / lra.eta_mean;
    }

    /// Eigendecomposition of `C` (or the square roots of its diagonal for sep-CMA), with
    /// eigenvalues floored at a small positive number and `C` rebuilt from them so that it
    /// stays symmetric positive definite.
    fn decompose(&mut self) {
        if self.separable {
            let n = self.dim();
            for j in 0..n {
                let cjj = self.c[(j, 0)].max(EPS);
                self.c[(j, 0)] = cjj;
                self.d[j] = cjj.sqrt();
            }
        } else {
            let sym = (&self.c + self.c.transpose()) / 2.0;
            if !sym.iter().all(|v| v.is_finite()) {
                self.broken = true;
                return;
            }
            let eig = SymmetricEigen::new(sym);
            let d2 = eig.eigenvalues.map(|e| e.max(EPS));
            self.b = eig.eigenvectors;
            self.c = &self.b * DMatrix::from_diagonal(&d2) * self.b.transpose();
            self.d = d2.map(f64::sqrt);
        }
        if !self.sigma.is_finite() || !self.mean.iter().all(|v| v.is_finite()) {
            self.broken = true;
        }
    }

    /// The margin correction (Hamano et al. 2022): for each discrete coordinate, keep at least
    /// probability α/2 of leaving the mean's cell towards each neighbour, by moving the mean
    /// (at the ends of the range) or rescaling the coordinate's factor `A` (in between).
    fn correct_margin(&mut self) {
        let alpha = self.layout.margin;
        for j in 0..self.dim() {
            let Some(bounds) = &self.layout.cells[j] else {
                continue;
            };
            if bounds.is_empty() {
                continue;
            }
            let m = self.mean[j];
            let last = bounds.len() - 1;
            let pos = bounds.partition_point(|&b| b < m);
            let low = bounds[pos.saturating_sub(1).min(last)];
            let up = bounds[pos.min(last)];
            let sd_c = self.var(j).sqrt();
            let scale = self.sigma * self.a[j] * sd_c;
            let low_cdf = normal::cdf((low - m) / scale);
            let up_cdf = 1.0 - normal::cdf((up - m) / scale);
            let mid_cdf = 1.0 - low_cdf - up_cdf;
            if low_cdf.max(up_cdf) > 0.5 {
                // At an end cell: move the mean so that the one neighbour keeps probability α.
                if low_cdf.min(up_cdf) < alpha {
                    let dist = scale * normal::ppf(1.0 - alpha);
                    self.mean[j] = up + (m - up).signum() * dist;
                }
                continue;
            }
            let low_cdf = low_cdf.max(alpha / 2.0);
            let up_cdf = up_cdf.max(alpha / 2.0);
            let excess = 1.0 - low_cdf - up_cdf - mid_cdf;
            let denom = low_cdf + mid_cdf + up_cdf - 3.0 * alpha / 2.0;
            let lo = (low_cdf + excess * (low_cdf - alpha / 2.0) / denom).clamp(1e-10, 0.5 - 1e-10);
            let hi = (up_cdf + excess * (up_cdf - alpha / 2.0) / denom).clamp(1e-10, 0.5 - 1e-10);
            let (q_lo, q_hi) = (normal::ppf(1.0 - lo), normal::ppf(1.0 - hi));
            self.a[j] = (up - low) / ((q_lo + q_hi) * self.sigma * sd_c);
            self.mean[j] = (low * q_hi + up * q_lo) / (q_lo + q_hi);
        }
    }

    /// Why this run should end, if it should: the tutorial's and the `cmaes` package's
    /// termination criteria.
    pub fn should_stop(&self) -> Option<&'static str> {
        if self.broken {
            return Some("numerical breakdown");
        }
        let n = self.dim();
        let dc: Vec<f64> = (0..n).map(|j| self.var(j)).collect();
        let term = self.funhist_term();
        if self.generation > term && self.funhist.len() == term {
            let (lo, hi) = self
                .funhist
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(b, w)| {
                    (lo.min(b), hi.max(w))
                });
            if hi - lo < self.tol.tolfun {
                return Some("flat values (tolfun)");
            }
        }
        let tolx = self.tol.tolx * self.sigma0;
        if dc.iter().all(|&c| self.sigma * c.sqrt() < tolx)
            && self.pc.iter().all(|&p| (self.sigma * p).abs() < tolx)
        {
            return Some("tiny steps (tolx)");
        }
        let d_max = self.d.max();
        if self.sigma * d_max > 1e4 {
            return Some("diverging step size (tolxup)");
        }
        if !self.separable {
            let i = self.generation % n;
            let axis = self.b.column(i) * (0.1 * self.sigma * self.d[i]);
            if self.mean.iter().zip(axis.iter()).all(|(&m, &a)| m == m + a) {
                return Some("no effect along an axis");
            }
        }
        if self
            .mean
            .iter()
            .zip(&dc)
            .any(|(&m, &c)| m == m + 0.2 * self.sigma * c.sqrt())
        {
            return Some("no effect in a coordinate");
        }
        let d_min = self.d.min();
        if (d_max / d_min).powi(2) > 1e14 {
            return Some("ill-conditioned covariance");
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use hyperplug_core::SeedRng;
    use rand::SeedableRng;

    use super::*;

    fn plain(n: usize) -> Layout {
        Layout {
            cells: vec![None; n],
            margin: 0.0,
        }
    }

    const TOL: Tolerances = Tolerances {
        tolfun: 1e-12,
        tolx: 1e-12,
    };

    /// A full-covariance run of `lambda` started at the centre of the `n`-cube with step `sigma`.
    fn centred(n: usize, sigma: f64, lambda: usize) -> Cma {
        Cma::new(
            DVector::from_element(n, 0.5),
            sigma,
            None,
            lambda,
            &Options {
                separable: false,
                lr_adapt: false,
                layout: plain(n),
                tol: TOL,
            },
        )
    }

    #[test]
    fn constants_match_the_tutorial_for_n_10() {
        let k = Constants::new(10, 10, false);
        assert_eq!((k.lambda, k.mu), (10, 5));
        let pos: f64 = k.weights[..5].iter().sum();
        assert!((pos - 1.0).abs() < 1e-12);
        assert!(k.weights[5..].iter().all(|&w| w < 0.0));
        // μ_eff for λ = 10 and the learning rates from equations 55–57.
        assert!(
            (k.mu_eff - 3.167_299_281_410_7).abs() < 1e-12,
            "{}",
            k.mu_eff
        );
        assert!((k.c1 - 2.0 / (11.3f64.powi(2) + k.mu_eff)).abs() < 1e-15);
        assert!((k.cs - (k.mu_eff + 2.0) / (15.0 + k.mu_eff)).abs() < 1e-15);
        assert_eq!(default_popsize(10), 10);
        assert_eq!(default_popsize(1), 4);
        let sep = Constants::new(10, 10, true);
        assert!((sep.c1 - k.c1 * 4.0).abs() < 1e-15);
        assert!(sep.weights[5..].iter().all(|&w| w == 0.0));
    }

    /// Minimizes `f` for `generations`, returning the run.
    fn minimize(cma: &mut Cma, generations: usize, seed: u64, f: impl Fn(&[f64]) -> f64) {
        let mut rng = SeedRng::seed_from_u64(seed);
        for _ in 0..generations {
            let mut sols: Vec<(DVector<f64>, f64)> = (0..cma.lambda())
                .map(|_| {
                    let x = cma.sample(&mut rng);
                    let v = f(&cma.encode(&x));
                    (x, v)
                })
                .collect();
            cma.tell(&mut sols);
        }
    }

    fn sphere(x: &[f64]) -> f64 {
        x.iter().map(|v| (v - 0.3) * (v - 0.3)).sum()
    }

    #[test]
    fn the_sphere_converges_and_the_step_size_shrinks() {
        for separable in [false, true] {
            let mut cma = Cma::new(
                DVector::from_element(5, 0.5),
                0.2,
                None,
                8,
                &Options {
                    separable,
                    lr_adapt: false,
                    layout: plain(5),
                    tol: TOL,
                },
            );
            minimize(&mut cma, 120, 3, sphere);
            let err = (cma.mean.add_scalar(-0.3)).norm();
            assert!(err < 1e-6, "separable {separable}: mean error {err}");
            assert!(
                cma.sigma < 1e-5,
                "separable {separable}: sigma {}",
                cma.sigma
            );
        }
    }

    #[test]
    fn the_step_size_grows_on_a_linear_slope() {
        // Far from the optimum along a slope, cumulative step-size adaptation lengthens steps.
        let mut cma = centred(4, 0.001, 8);
        minimize(&mut cma, 10, 1, |x| x.iter().sum());
        assert!(cma.sigma > 0.003, "sigma {}", cma.sigma);
    }

    #[test]
    fn the_covariance_learns_an_ill_conditioned_ellipsoid() {
        let mut cma = centred(3, 0.1, 7);
        minimize(&mut cma, 150, 5, |x| {
            1e4 * (x[0] - 0.4).powi(2) + (x[1] - 0.4).powi(2) + (x[2] - 0.4).powi(2)
        });
        // The variance of the steep coordinate ends ~100x smaller in standard deviation.
        let ratio = (cma.c[(1, 1)] / cma.c[(0, 0)]).sqrt();
        assert!(ratio > 30.0, "sd ratio {ratio}");
    }

    #[test]
    fn convergence_triggers_a_stop() {
        let mut cma = centred(2, 0.2, 6);
        let mut gens = 0;
        let mut rng = SeedRng::seed_from_u64(2);
        while cma.should_stop().is_none() && gens < 1000 {
            let mut sols: Vec<(DVector<f64>, f64)> = (0..6)
                .map(|_| {
                    let x = cma.sample(&mut rng);
                    let v = sphere(&cma.encode(&x));
                    (x, v)
                })
                .collect();
            cma.tell(&mut sols);
            gens += 1;
        }
        assert!(cma.should_stop().is_some() && gens < 1000, "{gens}");
    }

    #[test]
    fn the_margin_keeps_a_binary_coordinate_alive() {
        // One coordinate with two cells ([0, ½) and [½, 1]); the objective prefers the lower one.
        let layout = Layout {
            cells: vec![Some(vec![0.5]), None],
            margin: 1.0 / (2.0 * 6.0),
        };
        let mut cma = Cma::new(
            DVector::from_element(2, 0.5),
            0.2,
            None,
            6,
            &Options {
                separable: false,
                lr_adapt: false,
                layout,
                tol: TOL,
            },
        );
        minimize(&mut cma, 200, 9, |x| {
            f64::from(u8::from(x[0] >= 0.5)) + (x[1] - 0.3).powi(2)
        });
        // The mean sits in the lower cell, yet the upper one keeps at least probability α = 1/12.
        let m = cma.mean[0];
        let scale = cma.sigma * cma.a[0] * cma.c[(0, 0)].sqrt();
        let p_up = 1.0 - normal::cdf((0.5 - m) / scale);
        assert!(m < 0.5, "mean {m}");
        assert!((1.0 / 12.0 - 1e-9..0.5).contains(&p_up), "p_up {p_up}");
        // Without the margin the same run fixes the coordinate for good.
        let mut fixed = centred(2, 0.2, 6);
        minimize(&mut fixed, 200, 9, |x| {
            f64::from(u8::from(x[0] >= 0.5)) + (x[1] - 0.3).powi(2)
        });
        let scale = fixed.sigma * fixed.c[(0, 0)].sqrt();
        assert!(1.0 - normal::cdf((0.5 - fixed.mean[0]) / scale) < 1e-6);
    }

    #[test]
    fn learning_rate_adaptation_lowers_the_rates_under_noise() {
        let mut cma = Cma::new(
            DVector::from_element(3, 0.5),
            0.2,
            None,
            7,
            &Options {
                separable: false,
                lr_adapt: true,
                layout: plain(3),
                tol: TOL,
            },
        );
        let mut noise = SeedRng::seed_from_u64(11);
        let mut rng = SeedRng::seed_from_u64(12);
        for _ in 0..100 {
            let mut sols: Vec<(DVector<f64>, f64)> = (0..7)
                .map(|_| {
                    let x = cma.sample(&mut rng);
                    let e: f64 = noise.sample(StandardNormal);
                    (x.clone(), sphere(&cma.encode(&x)) + e)
                })
                .collect();
            cma.tell(&mut sols);
        }
        let lra = cma.lra.as_ref().expect("on");
        assert!(lra.eta_mean < 0.5, "eta_mean {}", lra.eta_mean);
        assert!(lra.eta_sigma < 0.5, "eta_sigma {}", lra.eta_sigma);
    }

    #[test]
    fn injected_steps_are_shortened() {
        let cma = centred(4, 0.01, 8);
        let far = DVector::from_element(4, 1.0);
        let x = cma.inject(&far);
        let len = ((&x - &cma.mean) / cma.sigma).norm();
        assert!((len - (2.0 + 8.0 / 6.0)).abs() < 1e-9, "{len}");
        let near = DVector::from_element(4, 0.505);
        assert_eq!(cma.inject(&near), near);
    }
}
