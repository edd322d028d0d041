//! Bounded minimization with argmin's L-BFGS: each bounded coordinate `x ∈ [lo, hi]` is written
//! `x = lo + (hi - lo)·(1 + sin z) / 2` and L-BFGS runs unconstrained in `z`, so every point it
//! tries is feasible and the bounds need no projection.

use std::cell::RefCell;

use argmin::core::{CostFunction, Error as ArgminError, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;

/// A function to minimize: writes the gradient into its second argument, returns the value.
pub type Objective<'a> = dyn FnMut(&[f64], &mut [f64]) -> f64 + 'a;

struct Boxed<'a, 'f> {
    f: &'a RefCell<&'a mut Objective<'f>>,
    lo: &'a [f64],
    hi: &'a [f64],
    /// The last point evaluated, its value and gradient in `z`: argmin asks for the cost and
    /// the gradient separately, while one evaluation gives both.
    cache: &'a RefCell<(Vec<f64>, f64, Vec<f64>)>,
    /// The best point met and its value: a failed line search still returns it.
    best: &'a RefCell<(Vec<f64>, f64)>,
}

impl Boxed<'_, '_> {
    fn x_of(&self, z: &[f64]) -> Vec<f64> {
        z.iter()
            .zip(self.lo.iter().zip(self.hi))
            .map(|(z, (lo, hi))| lo + (hi - lo) * 0.5 * (1.0 + z.sin()))
            .collect()
    }

    fn eval(&self, z: &[f64]) {
        let mut cache = self.cache.borrow_mut();
        if cache.0.as_slice() == z && !cache.2.is_empty() {
            return;
        }
        let x = self.x_of(z);
        let mut gx = vec![0.0; x.len()];
        let mut fx = (self.f.borrow_mut())(&x, &mut gx);
        if !fx.is_finite() {
            fx = f64::MAX;
            gx.iter_mut().for_each(|g| *g = 0.0);
        }
        let gz: Vec<f64> = gx
            .iter()
            .zip(z)
            .zip(self.lo.iter().zip(self.hi))
            .map(|((g, z), (lo, hi))| {
                let d = g * (hi - lo) * 0.5 * z.cos();
                if d.is_finite() { d } else { 0.0 }
            })
            .collect();
        let mut best = self.best.borrow_mut();
        if fx < best.1 {
            *best = (x, fx);
        }
        *cache = (z.to_vec(), fx, gz);
    }
}

impl CostFunction for Boxed<'_, '_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, z: &Vec<f64>) -> Result<f64, ArgminError> {
        self.eval(z);
        Ok(self.cache.borrow().1)
    }
}

impl Gradient for Boxed<'_, '_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, z: &Vec<f64>) -> Result<Vec<f64>, ArgminError> {
        self.eval(z);
        Ok(self.cache.borrow().2.clone())
    }
}

/// Minimizes `f` over the box `[lo, hi]` from `x0` with at most `iters` L-BFGS iterations.
/// Returns the best point met and its value (`x0` and `f(x0)` if nothing better was found).
pub fn minimize(
    f: &mut Objective<'_>,
    x0: &[f64],
    lo: &[f64],
    hi: &[f64],
    iters: u64,
) -> (Vec<f64>, f64) {
    let z0: Vec<f64> = x0
        .iter()
        .zip(lo.iter().zip(hi))
        .map(|(x, (lo, hi))| {
            let t = if hi > lo { (x - lo) / (hi - lo) } else { 0.5 };
            // Start just inside the box: on a bound the sine's slope, and so the gradient, is 0.
            (2.0 * t.clamp(1e-6, 1.0 - 1e-6) - 1.0).asin()
        })
        .collect();
    let f = RefCell::new(f);
    let cache = RefCell::new((Vec::new(), 0.0, Vec::new()));
    let best = RefCell::new((x0.to_vec(), f64::INFINITY));
    let problem = || Boxed {
        f: &f,
        lo,
        hi,
        cache: &cache,
        best: &best,
    };
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7);
    let solver = match solver
        .with_tolerance_grad(1e-8)
        .and_then(|s| s.with_tolerance_cost(1e-10))
    {
        Ok(s) => s,
        Err(_) => LBFGS::new(MoreThuenteLineSearch::new(), 7),
    };
    // A failed line search (flat or noisy surface) only ends the run; the best point met stands.
    let end = Executor::new(problem(), solver)
        .configure(|state| state.param(z0.clone()).max_iters(iters))
        .run();
    if let Ok(res) = end
        && let Some(z) = res.state().get_best_param()
    {
        problem().eval(z);
    }
    problem().eval(&z0);
    best.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_an_interior_minimum_and_stops_at_a_bound() {
        // (x - 0.3)² + (y - 2)² on [0, 1]²: the minimum is at (0.3, 1), on the edge.
        let mut f = |x: &[f64], g: &mut [f64]| {
            g[0] = 2.0 * (x[0] - 0.3);
            g[1] = 2.0 * (x[1] - 2.0);
            (x[0] - 0.3).powi(2) + (x[1] - 2.0).powi(2)
        };
        let (x, fx) = minimize(&mut f, &[0.9, 0.1], &[0.0, 0.0], &[1.0, 1.0], 100);
        assert!((x[0] - 0.3).abs() < 1e-4, "{x:?}");
        assert!(x[1] > 0.999 && x[1] <= 1.0, "{x:?}");
        assert!((fx - 1.0).abs() < 1e-3, "{fx}");
    }

    #[test]
    fn a_function_that_returns_nan_keeps_the_start() {
        let mut f = |_: &[f64], _: &mut [f64]| f64::NAN;
        let (x, _) = minimize(&mut f, &[0.5], &[0.0], &[1.0], 10);
        assert_eq!(x, [0.5]);
    }
}
