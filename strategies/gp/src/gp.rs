//! The Gaussian process: a Matérn-5/2 kernel with one length scale per input (ARD), where a
//! categorical input adds `[a ≠ b] / ℓ²` to the squared distance (a Hamming-distance kernel), a
//! constant mean and Gaussian observation noise. Hyperparameters are the maximum a posteriori
//! estimate under the priors below, found by multi-start bounded L-BFGS on the log marginal
//! likelihood and its exact gradient.

use nalgebra::{Cholesky, DMatrix, DVector, Dyn};

use crate::lbfgs;

const SQRT5: f64 = 2.236_067_977_499_79;

/// Matérn-5/2 of a squared distance, scaled to 1 at 0, and its derivative in the squared
/// distance.
fn matern52(r2: f64) -> (f64, f64) {
    let r = r2.max(0.0).sqrt();
    let e = (-SQRT5 * r).exp();
    let k = (1.0 + SQRT5 * r + 5.0 / 3.0 * r2) * e;
    let dk = -5.0 / 6.0 * (1.0 + SQRT5 * r) * e;
    (k, dk)
}

/// The variance a believed point is added with: enough to keep the factorization stable.
const BELIEF_JITTER: f64 = 1e-8;

/// The hyperparameters, in log scale where positive.
#[derive(Clone, Debug, PartialEq)]
pub struct Hyper {
    /// `ln(1 / ℓ²)` per input.
    pub log_inv_sq_len: Vec<f64>,
    /// `ln σ_f²`, the kernel's variance.
    pub log_signal: f64,
    /// `ln σ_n²`, the noise variance.
    pub log_noise: f64,
    /// The constant mean.
    pub mean: f64,
}

/// The priors, each a normal in the hyperparameter's log (or, for the mean, its value).
#[derive(Clone, Copy, Debug)]
pub struct Priors {
    /// Centre and spread of `ln ℓ` (ℓ in units of the unit cube): 0 and 1, so length scales
    /// between about 0.14 and 7 are plausible. Chosen on development seeds over the
    /// dimension-scaled prior of Hvarfner et al. (2024, centre `√2 + ln(d) / 2`, spread `√3`),
    /// under which 10-D fits explained Ackley's ripples with two or three very short length
    /// scales and left the rest at 13: the search stalled at random search's level.
    pub log_len: (f64, f64),
    pub log_signal: (f64, f64),
    pub log_noise: (f64, f64),
    pub mean: (f64, f64),
}

impl Priors {
    /// The priors for outputs standardized to mean 0 and variance 1.
    pub fn new(log_noise: f64) -> Self {
        Priors {
            log_len: (0.0, 1.0),
            log_signal: (0.0, 1.0),
            log_noise: (log_noise, 2.0),
            mean: (0.0, 1.0),
        }
    }

    /// The hyperparameters at the priors' centres.
    pub fn centre(&self, d: usize) -> Hyper {
        Hyper {
            log_inv_sq_len: vec![-2.0 * self.log_len.0; d],
            log_signal: self.log_signal.0,
            log_noise: self.log_noise.0,
            mean: self.mean.0,
        }
    }
}

/// Bounds of the hyperparameters, so that no fit can make the kernel matrix singular or
/// flat: length scales in `[0.01, 100]` (of the unit cube), noise in `[1e-6, 1]`.
const LOG_INV_SQ_LEN: (f64, f64) = (-9.210_340_371_976_184, 9.210_340_371_976_184);
const LOG_SIGNAL: (f64, f64) = (-4.605_170_185_988_091, 4.605_170_185_988_091);
pub const LOG_NOISE: (f64, f64) = (-13.815_510_557_964_274, 0.0);
const MEAN: (f64, f64) = (-3.0, 3.0);

impl Hyper {
    fn to_vec(&self) -> Vec<f64> {
        let mut v = self.log_inv_sq_len.clone();
        v.extend([self.log_signal, self.log_noise, self.mean]);
        v
    }

    fn from_slice(v: &[f64]) -> Self {
        let d = v.len() - 3;
        Hyper {
            log_inv_sq_len: v[..d].to_vec(),
            log_signal: v[d],
            log_noise: v[d + 1],
            mean: v[d + 2],
        }
    }

    fn bounds(d: usize) -> (Vec<f64>, Vec<f64>) {
        let mut lo = vec![LOG_INV_SQ_LEN.0; d];
        let mut hi = vec![LOG_INV_SQ_LEN.1; d];
        lo.extend([LOG_SIGNAL.0, LOG_NOISE.0, MEAN.0]);
        hi.extend([LOG_SIGNAL.1, LOG_NOISE.1, MEAN.1]);
        (lo, hi)
    }
}

/// The inputs of a model: `n` rows of `d` coordinates, with which coordinates are categorical.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    pub d: usize,
    /// Row-major.
    pub x: Vec<f64>,
    pub categorical: Vec<bool>,
}

impl Inputs {
    pub fn new(d: usize, categorical: Vec<bool>) -> Self {
        Inputs {
            d,
            x: Vec::new(),
            categorical,
        }
    }

    pub fn len(&self) -> usize {
        self.x.len().checked_div(self.d).unwrap_or(0)
    }

    pub fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.d..(i + 1) * self.d]
    }

    pub fn push(&mut self, row: &[f64]) {
        self.x.extend_from_slice(row);
    }
}

/// The per-coordinate squared differences `a` to `b` as the kernel sees them.
#[inline]
fn sq_diff(a: f64, b: f64, categorical: bool) -> f64 {
    if categorical {
        if a == b { 0.0 } else { 1.0 }
    } else {
        (a - b) * (a - b)
    }
}

/// The kernel (without noise) between two rows, and `dk/dr²` there.
#[inline]
fn kernel(a: &[f64], b: &[f64], lambda: &[f64], categorical: &[bool], signal: f64) -> (f64, f64) {
    let mut r2 = 0.0;
    for j in 0..a.len() {
        r2 += lambda[j] * sq_diff(a[j], b[j], categorical[j]);
    }
    let (k, dk) = matern52(r2);
    (signal * k, signal * dk)
}

/// The negative log posterior of `h` on `(inputs, y)` and its gradient in the order of
/// [`Hyper::to_vec`]; `None` if the kernel matrix is not positive definite.
fn neg_log_posterior(
    h: &Hyper,
    inputs: &Inputs,
    y: &[f64],
    priors: &Priors,
    grad: &mut [f64],
) -> Option<f64> {
    let n = inputs.len();
    let d = inputs.d;
    let lambda: Vec<f64> = h.log_inv_sq_len.iter().map(|l| l.exp()).collect();
    let (signal, noise) = (h.log_signal.exp(), h.log_noise.exp());
    let mut k = DMatrix::<f64>::zeros(n, n);
    let mut dk = DMatrix::<f64>::zeros(n, n);
    for a in 0..n {
        k[(a, a)] = signal + noise;
        dk[(a, a)] = signal * matern52(0.0).1;
        for b in 0..a {
            let (v, dv) = kernel(
                inputs.row(a),
                inputs.row(b),
                &lambda,
                &inputs.categorical,
                signal,
            );
            k[(a, b)] = v;
            k[(b, a)] = v;
            dk[(a, b)] = dv;
        }
    }
    let chol = k.clone().cholesky()?;
    let r = DVector::from_iterator(n, y.iter().map(|v| v - h.mean));
    let alpha = chol.solve(&r);
    let log_det: f64 = chol.l_dirty().diagonal().iter().map(|v| v.ln()).sum();
    let mut nll =
        0.5 * r.dot(&alpha) + log_det + 0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln();
    // W = ααᵀ - K⁻¹; ∂(log likelihood)/∂θ = ½ tr(W ∂K/∂θ).
    let inv = chol.inverse();
    grad.iter_mut().for_each(|g| *g = 0.0);
    let mut g_signal = 0.0;
    for a in 0..n {
        let w = alpha[a] * alpha[a] - inv[(a, a)];
        g_signal += 0.5 * w * signal;
        for b in 0..a {
            let w = alpha[a] * alpha[b] - inv[(a, b)];
            // Both triangles: the factor ½ cancels.
            g_signal += w * (k[(a, b)]);
            let c = w * dk[(a, b)];
            let (ra, rb) = (inputs.row(a), inputs.row(b));
            for j in 0..d {
                grad[j] += c * lambda[j] * sq_diff(ra[j], rb[j], inputs.categorical[j]);
            }
        }
    }
    let g_noise: f64 = (0..n)
        .map(|a| 0.5 * (alpha[a] * alpha[a] - inv[(a, a)]) * noise)
        .sum();
    let g_mean: f64 = alpha.sum();
    for g in grad[..d].iter_mut() {
        *g = -*g;
    }
    grad[d] = -g_signal;
    grad[d + 1] = -g_noise;
    grad[d + 2] = -g_mean;
    // Priors. On ln ℓ = -½ ln λ: normal in ln ℓ.
    let (m, s) = priors.log_len;
    for (g, l) in grad[..d].iter_mut().zip(&h.log_inv_sq_len) {
        let ll = -0.5 * l;
        nll += 0.5 * ((ll - m) / s).powi(2);
        *g += (ll - m) / (s * s) * -0.5;
    }
    for (i, (v, (m, s))) in [
        (h.log_signal, priors.log_signal),
        (h.log_noise, priors.log_noise),
        (h.mean, priors.mean),
    ]
    .into_iter()
    .enumerate()
    {
        nll += 0.5 * ((v - m) / s).powi(2);
        grad[d + i] += (v - m) / (s * s);
    }
    nll.is_finite().then_some(nll)
}

/// Fits the hyperparameters from each of `starts`, keeping the best; returns it and its
/// negative log posterior.
pub fn fit(
    inputs: &Inputs,
    y: &[f64],
    priors: &Priors,
    starts: &[Hyper],
    iters: u64,
    fix_noise: bool,
) -> Option<(Hyper, f64)> {
    let (lo, mut hi) = Hyper::bounds(inputs.d);
    if fix_noise {
        // A deterministic objective: the noise stays at its floor.
        hi[inputs.d + 1] = lo[inputs.d + 1];
    }
    let mut best: Option<(Hyper, f64)> = None;
    for start in starts {
        let mut f = |v: &[f64], g: &mut [f64]| {
            neg_log_posterior(&Hyper::from_slice(v), inputs, y, priors, g).unwrap_or(f64::NAN)
        };
        let x0: Vec<f64> = start
            .to_vec()
            .iter()
            .zip(lo.iter().zip(&hi))
            .map(|(v, (lo, hi))| v.clamp(*lo, *hi))
            .collect();
        let (x, fx) = lbfgs::minimize(&mut f, &x0, &lo, &hi, iters);
        if fx.is_finite() && fx < f64::MAX && best.as_ref().is_none_or(|b| fx < b.1) {
            best = Some((Hyper::from_slice(&x), fx));
        }
    }
    best
}

#[derive(Clone)]
/// The posterior of a fitted process: predictions of the mean and variance of the latent
/// function, with gradients for the acquisition's polish.
pub struct Posterior {
    pub hyper: Hyper,
    lambda: Vec<f64>,
    signal: f64,
    noise: f64,
    pub inputs: Inputs,
    chol: Cholesky<f64, Dyn>,
    /// `K⁻¹(y - mean)`, with 0 for rows added by [`Posterior::believe`].
    alpha: DVector<f64>,
}

impl Posterior {
    /// The posterior given `h` on `(inputs, y)`; `None` if the kernel matrix is singular.
    pub fn new(h: Hyper, inputs: Inputs, y: &[f64]) -> Option<Self> {
        let n = inputs.len();
        let lambda: Vec<f64> = h.log_inv_sq_len.iter().map(|l| l.exp()).collect();
        let (signal, noise) = (h.log_signal.exp(), h.log_noise.exp());
        let k = DMatrix::from_fn(n, n, |a, b| {
            if a == b {
                signal + noise
            } else {
                kernel(
                    inputs.row(a),
                    inputs.row(b),
                    &lambda,
                    &inputs.categorical,
                    signal,
                )
                .0
            }
        });
        let chol = k.cholesky()?;
        let r = DVector::from_iterator(n, y.iter().map(|v| v - h.mean));
        let alpha = chol.solve(&r);
        Some(Posterior {
            hyper: h,
            lambda,
            signal,
            noise,
            inputs,
            chol,
            alpha,
        })
    }

    /// The posterior with the rows of `more` appended (same hyperparameters): one `O(n²)`
    /// Cholesky update per row instead of a new `O(n³)` factorization.
    pub fn extend(mut self, more: &Inputs, y_all: &[f64]) -> Option<Self> {
        for i in 0..more.len() {
            self.insert_row(more.row(i), self.noise)?;
        }
        let r = DVector::from_iterator(y_all.len(), y_all.iter().map(|v| v - self.hyper.mean));
        (r.len() == self.inputs.len()).then_some(())?;
        self.alpha = self.chol.solve(&r);
        Some(self)
    }

    fn insert_row(&mut self, row: &[f64], noise: f64) -> Option<()> {
        let n = self.inputs.len();
        let mut col = DVector::<f64>::zeros(n + 1);
        for i in 0..n {
            col[i] = self.k(row, self.inputs.row(i)).0;
        }
        col[n] = self.signal + noise;
        let chol = self.chol.insert_column(n, col);
        if !chol
            .l_dirty()
            .diagonal()
            .iter()
            .all(|v| v.is_finite() && *v > 0.0)
        {
            return None;
        }
        self.chol = chol;
        self.inputs.push(row);
        Some(())
    }

    /// Adds `row` as if it had been observed at the current posterior mean (the Kriging
    /// believer): the mean stays as it is everywhere, the variance shrinks around `row`, so
    /// the next suggestion looks elsewhere. Returns false if the row could not be added.
    pub fn believe(&mut self, row: &[f64]) -> bool {
        // Believed without noise: a pending point will be observed exactly there, so nothing is
        // left to learn at it (with the model's noise the variance would only halve).
        if self
            .insert_row(row, BELIEF_JITTER.min(self.noise))
            .is_none()
        {
            return false;
        }
        // A believed value equal to the mean leaves K⁻¹(y - m) unchanged on the old rows and 0
        // on the new one.
        let n = self.alpha.len();
        self.alpha = self.alpha.clone().insert_row(n, 0.0);
        true
    }

    fn k(&self, a: &[f64], b: &[f64]) -> (f64, f64) {
        kernel(a, b, &self.lambda, &self.inputs.categorical, self.signal)
    }

    /// The rows' count.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Means and variances of the latent function at each of the `rows` (row-major).
    pub fn predict(&self, rows: &[f64], mean: &mut Vec<f64>, var: &mut Vec<f64>) {
        let d = self.inputs.d;
        let c = rows.len() / d.max(1);
        let n = self.len();
        let mut ks = DMatrix::<f64>::zeros(n, c);
        for j in 0..c {
            let x = &rows[j * d..(j + 1) * d];
            for i in 0..n {
                ks[(i, j)] = self.k(x, self.inputs.row(i)).0;
            }
        }
        mean.clear();
        mean.extend((0..c).map(|j| self.hyper.mean + ks.column(j).dot(&self.alpha)));
        self.chol.l_dirty().solve_lower_triangular_mut(&mut ks);
        var.clear();
        var.extend((0..c).map(|j| (self.signal - ks.column(j).norm_squared()).max(1e-12)));
    }

    /// The mean and variance at `x` with their gradients in the coordinates `free`.
    pub fn predict_grad(
        &self,
        x: &[f64],
        free: &[usize],
        dmean: &mut [f64],
        dvar: &mut [f64],
    ) -> (f64, f64) {
        let n = self.len();
        let mut kx = DVector::<f64>::zeros(n);
        let mut dkr = vec![0.0; n];
        for i in 0..n {
            let (k, dk) = self.k(x, self.inputs.row(i));
            kx[i] = k;
            dkr[i] = dk;
        }
        let mean = self.hyper.mean + kx.dot(&self.alpha);
        let v = self.chol.solve(&kx);
        let var = (self.signal - kx.dot(&v)).max(1e-12);
        for (g, &j) in free.iter().enumerate() {
            let (mut dm, mut ds) = (0.0, 0.0);
            for i in 0..n {
                // ∂k/∂x_j = dk/dr² · 2λ_j (x_j - X_ij) (continuous coordinates only).
                let dkj = dkr[i] * 2.0 * self.lambda[j] * (x[j] - self.inputs.row(i)[j]);
                dm += self.alpha[i] * dkj;
                ds += v[i] * dkj;
            }
            dmean[g] = dm;
            dvar[g] = -2.0 * ds;
        }
        (mean, var)
    }

    /// The squared distance between two inputs in length scales, as the kernel sees it.
    pub fn scaled_sq_dist(&self, a: &[f64], b: &[f64]) -> f64 {
        (0..a.len())
            .map(|j| self.lambda[j] * sq_diff(a[j], b[j], self.inputs.categorical[j]))
            .sum()
    }

    /// The length scales of the inputs, `1 / √λ`.
    pub fn length_scales(&self) -> Vec<f64> {
        self.lambda.iter().map(|l| 1.0 / l.sqrt()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> (Inputs, Vec<f64>) {
        let mut inputs = Inputs::new(2, vec![false, true]);
        let mut y = Vec::new();
        for i in 0..n {
            let x = (i as f64 * 0.618_034) % 1.0;
            let c = (i % 3) as f64;
            inputs.push(&[x, c]);
            y.push((6.0 * x).sin() + 0.5 * c);
        }
        (inputs, y)
    }

    #[test]
    fn the_gradient_of_the_log_posterior_matches_finite_differences() {
        let (inputs, y) = data(12);
        let priors = Priors::new(-8.0);
        let h = Hyper {
            log_inv_sq_len: vec![1.3, -0.4],
            log_signal: 0.2,
            log_noise: -3.0,
            mean: 0.1,
        };
        let mut g = vec![0.0; 5];
        let f0 = neg_log_posterior(&h, &inputs, &y, &priors, &mut g).expect("positive definite");
        assert!(f0.is_finite());
        let v = h.to_vec();
        for i in 0..v.len() {
            let e = 1e-6;
            let (mut up, mut dn) = (v.clone(), v.clone());
            up[i] += e;
            dn[i] -= e;
            let mut scratch = vec![0.0; 5];
            let fu = neg_log_posterior(&Hyper::from_slice(&up), &inputs, &y, &priors, &mut scratch);
            let fd = neg_log_posterior(&Hyper::from_slice(&dn), &inputs, &y, &priors, &mut scratch);
            let fd = (fu.expect("pd") - fd.expect("pd")) / (2.0 * e);
            assert!(
                (g[i] - fd).abs() < 1e-4 * fd.abs().max(1.0),
                "{i}: {} vs {fd}",
                g[i]
            );
        }
    }

    #[test]
    fn a_fit_interpolates_and_the_believer_shrinks_variance_but_not_the_mean() {
        let (inputs, y) = data(20);
        let priors = Priors::new(-8.0);
        let (h, _) = fit(&inputs, &y, &priors, &[priors.centre(2)], 50, false).expect("a fit");
        let post = Posterior::new(h, inputs.clone(), &y).expect("pd");
        let (mut m, mut v) = (Vec::new(), Vec::new());
        post.predict(&inputs.x, &mut m, &mut v);
        for (mi, yi) in m.iter().zip(&y) {
            assert!((mi - yi).abs() < 0.05, "{mi} vs {yi}");
        }
        // Gradients of the mean and variance against finite differences.
        let x = [0.37, 1.0];
        let (mut dm, mut dv) = ([0.0], [0.0]);
        post.predict_grad(&x, &[0], &mut dm, &mut dv);
        let e = 1e-6;
        let (mut a, mut b) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
        post.predict(&[x[0] + e, 1.0], &mut a.0, &mut a.1);
        post.predict(&[x[0] - e, 1.0], &mut b.0, &mut b.1);
        assert!((dm[0] - (a.0[0] - b.0[0]) / (2.0 * e)).abs() < 1e-4);
        assert!((dv[0] - (a.1[0] - b.1[0]) / (2.0 * e)).abs() < 1e-4);

        let mut believer = Posterior::new(post.hyper.clone(), inputs.clone(), &y).expect("pd");
        let probe = [0.123, 5.0];
        let (mut m0, mut v0) = (Vec::new(), Vec::new());
        believer.predict(&probe, &mut m0, &mut v0);
        assert!(believer.believe(&probe));
        let (mut m1, mut v1) = (Vec::new(), Vec::new());
        believer.predict(&probe, &mut m1, &mut v1);
        assert!((m0[0] - m1[0]).abs() < 1e-9, "{m0:?} {m1:?}");
        assert!(v1[0] < 0.01 * v0[0], "{v0:?} {v1:?}");
    }

    #[test]
    fn extending_matches_a_fresh_factorization() {
        let (inputs, y) = data(15);
        let h = Priors::new(-8.0).centre(2);
        let mut head = Inputs::new(2, vec![false, true]);
        let mut tail = Inputs::new(2, vec![false, true]);
        for i in 0..15 {
            if i < 10 {
                head.push(inputs.row(i))
            } else {
                tail.push(inputs.row(i))
            }
        }
        let grown = Posterior::new(h.clone(), head, &y[..10])
            .and_then(|p| p.extend(&tail, &y))
            .expect("pd");
        let fresh = Posterior::new(h, inputs, &y).expect("pd");
        let probe = [0.5, 0.0, 0.9, 2.0];
        let (mut a, mut b) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
        grown.predict(&probe, &mut a.0, &mut a.1);
        fresh.predict(&probe, &mut b.0, &mut b.1);
        for i in 0..2 {
            assert!((a.0[i] - b.0[i]).abs() < 1e-9 && (a.1[i] - b.1[i]).abs() < 1e-9);
        }
    }
}
