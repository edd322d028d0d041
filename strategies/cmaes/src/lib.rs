//! CMA-ES: the covariance matrix adaptation evolution strategy, (μ/μ_w, λ) with rank-one and
//! rank-μ updates and cumulative step-size adaptation (Hansen, "The CMA Evolution Strategy: A
//! Tutorial"), in the unit cube of [`Domain::to_unit`](hyperplug_core::Domain::to_unit).
//!
//! - **Restarts.** When a run converges or stalls (the tutorial's termination criteria: flat
//!   values, tiny steps, no effect along an axis or a coordinate, an ill-conditioned
//!   covariance), the next run starts from a uniform random mean: IPOP multiplies the
//!   population by `inc_popsize`; BIPOP alternates that with runs of small populations and
//!   steps, giving both regimes the same number of evaluations.
//! - **Noisy objectives.** `lr_adapt = true` adapts the learning rates of the mean and the
//!   covariance to the signal-to-noise ratio of their updates (LRA-CMA-ES, Nomura et al. 2023).
//! - **Integers and steps.** Ints and stepped floats are modelled as continuous coordinates that
//!   are rounded to their cell; the margin (CMA-ES with Margin, Hamano et al. 2022) keeps at
//!   least a probability α of leaving the mean's cell on each side, so that rounding cannot
//!   freeze a coordinate.
//! - **High dimension.** `separable = true` (the default from 100 parameters) keeps a diagonal
//!   covariance with faster learning rates (sep-CMA, Ros & Hansen 2008): `O(n)` per sample.
//! - **Warm start.** `x0` and `sigma0` set the initial mean and step; `warm_start = N` fits the
//!   initial mean and covariance to the best of the study's first `N` complete trials (an
//!   earlier run with another strategy, enqueued trials, another study's best; WS-CMA-ES,
//!   Nomura et al. 2021), drawing uniformly until there are `N`. A resumed CMA-ES study needs
//!   none of this: it continues where it stopped (below).
//! - **Categorical and conditional parameters** are not modelled: they are drawn by univariate
//!   TPE (`independent = "tpe"`, the default) or uniformly (`independent = "random"`), and the
//!   strategy logs which parameters those are when it is created. CMA-ES models every
//!   unconditional float and int.
//! - **Parallel workers and resumed studies.** The state is a function of the finished trials:
//!   complete trials are taken λ at a time in the order they finished, and trial `n`'s sample
//!   is drawn from a generator of its own, so a replay finds the exact sample each trial got;
//!   trials that differ from it (enqueued, or asked under an earlier generation by another
//!   worker) join the generation as injected solutions, their step shortened to a Mahalanobis
//!   length of at most `√n + 2n/(n+2)`. Any process that reads the same store therefore holds
//!   the same generation, mean, step size and covariance.
//!
//! Settings (all optional):
//!
//! | key | default | what |
//! |---|---|---|
//! | `popsize` | `4 + ⌊3 ln n⌋` | population λ of the first run |
//! | `sigma0` | `0.1` | initial step size, as a fraction of each parameter's range (unit cube; Optuna's is 1/6) |
//! | `x0` | centre | initial mean: `{ name = value, ... }` for modelled parameters |
//! | `restart` | `"ipop"` | `"none"`, `"ipop"` or `"bipop"` |
//! | `inc_popsize` | `2` | population factor of each (large) restart |
//! | `max_restarts` | unlimited | restarts at most |
//! | `lr_adapt` | `false` | learning-rate adaptation for noisy objectives (full covariance only) |
//! | `separable` | from 100 parameters | diagonal covariance (sep-CMA) |
//! | `margin` | `true` | the margin for ints and stepped floats |
//! | `margin_alpha` | `1 / (n λ)` | the margin's least probability of leaving the cell |
//! | `warm_start` | `0` | fit the initial distribution to the first N complete trials |
//! | `warm_start_gamma` | `0.1` | fraction of those (the best) it is fitted to |
//! | `independent` | `"tpe"` | sampler of categorical and conditional parameters: `"tpe"` or `"random"` |
//! | `eval_mean` | `false` | evaluate each generation's mean once (from a run's second generation), outside the update |
//! | `tolfun` | `1e-12` | a run ends when recent generations' values span less |
//! | `tolx` | `1e-12` | a run ends when every step is below this fraction of its initial step |
//!
//! ```
//! use hyperplug_core::{Budget, Direction, Domain, Param, Settings, Space, Study, StudyConfig};
//! use hyperplug_cmaes::CmaEs;
//!
//! let space = Space::new(vec![
//!     Param::new("x", Domain::float(-5.0, 5.0)),
//!     Param::new("y", Domain::float(-5.0, 5.0)),
//! ])
//! .unwrap();
//! let config = StudyConfig::new("demo", space, vec![Direction::Minimize]).seed(1);
//! let mut study = Study::new(config, &CmaEs, &Settings::default()).unwrap();
//! study
//!     .optimize_fn(Budget::trials(120), |p, _| {
//!         let (x, y) = (p["x"].as_f64().unwrap(), p["y"].as_f64().unwrap());
//!         Ok((x - 1.0).powi(2) + (y + 2.0).powi(2))
//!     })
//!     .unwrap();
//! assert!(study.best_trial().unwrap().values[0] < 1e-3);
//! ```
//!
//! Architecture invariant: depends on `hyperplug-core`, `hyperplug-tpe` (the independent
//! sampler), `nalgebra` (eigendecomposition), `rand`/`rand_distr`, `serde` and `libm` only; no
//! IO, no FFI, no global RNG.
#![forbid(unsafe_code)]

mod cma;
mod normal;
mod settings;
mod strategy;

use hyperplug_core::{Capabilities, Error, PluginInfo, Strategy, StrategyFactory, StudySetup};

use crate::strategy::CmaStrategy;

/// The name study files use for this strategy.
const NAME: &str = "cmaes";

/// Makes CMA-ES strategies; see the crate documentation for the settings.
#[derive(Clone, Copy, Debug, Default)]
pub struct CmaEs;

impl StrategyFactory for CmaEs {
    fn info(&self) -> PluginInfo {
        PluginInfo::new(
            NAME,
            env!("CARGO_PKG_VERSION"),
            "CMA-ES: IPOP/BIPOP restarts, learning-rate adaptation, margin for integers, \
             sep-CMA, warm start; categorical and conditional parameters by univariate TPE.",
            Capabilities {
                categorical: true,
                conditional: true,
                multi_objective: false,
                parallel: true,
            },
        )
    }

    fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
        Ok(Box::new(CmaStrategy::new(setup)?))
    }
}

#[cfg(test)]
mod tests;
