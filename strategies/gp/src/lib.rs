//! Gaussian-process Bayesian optimization (`gp`).
//!
//! After `startup` quasi-random trials (scrambled Sobol), each ask models the finished trials
//! with a Gaussian process and suggests the point that maximizes an acquisition function.
//!
//! - **Model.** A Matérn-5/2 kernel with one length scale per parameter (ARD) on the unit cube
//!   of [`Domain::to_unit`](hyperplug_core::Domain::to_unit): log scales in log space, ints and
//!   steps at the centres of their values' cells, so the model sees only takeable values.
//!   Categorical parameters add `[a ≠ b] / ℓ²` to the squared distance (a Hamming-distance
//!   kernel with its own length scale). A constant mean and Gaussian noise. Losses are
//!   standardized, after a Yeo-Johnson power transform when `warp` (heavy tails).
//! - **Hyperparameters.** Maximum a posteriori: log marginal likelihood plus priors
//!   (log-normal on length scales, centred at 1 with log-spread 1, chosen on development seeds
//!   over the dimension-scaled prior of Hvarfner et al. 2024; log-normal on signal and noise;
//!   normal on the mean), by bounded L-BFGS (argmin): up to 30 trials from the last fit and
//!   from the priors' centre (and a random start on the first fit), then from the last fit
//!   alone (a warm start: half the cost of each refit, the default that makes a 300-trial 10-D
//!   run 1.5× cheaper; `restart_every = k` keeps the restart from the centre in every k-th
//!   refit, which on held-out seeds was no better, docs/BENCHMARKS.md).
//! - **Acquisition.** `logei`: the logarithm of expected improvement over the best feasible
//!   trial (of expected hypervolume improvement with several objectives), computed stably far into the tail (Ament et al. 2023); or `lcb`: `μ - √β·σ` of the
//!   loss. Maximized over `candidates` points (half uniform, half near the five best trials at
//!   a quarter of their length scale), then the best `polish` are refined by L-BFGS on the
//!   numeric coordinates; ints and steps are rounded afterwards, and a point that repeats a
//!   finished or running trial is passed over for the next best.
//! - **Parallel workers.** Under `batch = "believer"` each running trial is added to the model
//!   as if observed at its posterior mean (the Kriging believer): the mean does not move, the
//!   variance collapses around it, and the incumbent becomes the better of the best trial and
//!   the believed means, so the next ask looks elsewhere. A candidate within 0.1 length scales
//!   of a running trial (kernel correlation above 0.99, a redundant evaluation) is passed over.
//! - **Constraints.** Each name in `constraints` is a trial attribute that must be ≤ 0; each
//!   gets its own process, and LogEI adds the log probability that all hold. Before any trial
//!   is feasible the acquisition is that probability alone.
//! - **Conditional spaces.** Modelled, not refused: an inactive parameter is imputed (numeric
//!   at -½, outside the cube; categorical as one more choice), as SMAC does, so trials of
//!   different branches are far apart and each branch's trials compare as usual. Parents of
//!   conditions are not moved by the gradient polish (it would change which parameters exist).
//! - **Several objectives.** One process per objective (each standardized and warped on its
//!   own), and LogEHVI: the logarithm of the expected hypervolume improvement over the feasible
//!   Pareto front (with believed running trials), from the front's box decomposition (module
//!   `ehvi`): exact while its grid has at most 1,024 cells (every 2-objective front up to 1,023
//!   points, a 3-objective one up to 31; a larger front is thinned evenly along the first
//!   objective to fit), against a reference point 10 % beyond the worst
//!   standardized loss of each objective, as Optuna's GPSampler places it. Constraints add
//!   their log probability of feasibility as with one objective; `lcb` is refused.
//!
//! Cost: a hyperparameter fit costs `O(f³)` per L-BFGS step on at most `fit_points` trials
//! (the best half and an even spread of the rest); fits happen at every ask up to 30 trials,
//! then when the trials have grown by `refit_growth` since the last one. Between fits the
//! Cholesky factor is extended by one row per new trial (`O(n²)`). Past `max_points` trials the
//! model keeps the best half and the newest half of them, so an ask costs the same at 3,000
//! trials as at `max_points`.
//!
//! Settings (all optional):
//!
//! | key | default | what |
//! |---|---|---|
//! | `startup` | `10` | quasi-random trials before the model is used |
//! | `acquisition` | `"logei"` | `"logei"` (LogEHVI with several objectives) or `"lcb"` (one objective) |
//! | `beta` | `4.0` | `lcb`'s `β` |
//! | `candidates` | `512` | points scored per ask before the polish |
//! | `polish` | `4` | best candidates refined by L-BFGS |
//! | `polish_iters` | `25` | L-BFGS iterations per polish |
//! | `fit_iters` | `40` | L-BFGS iterations per hyperparameter start |
//! | `fit_points` | `128` | most trials the hyperparameters are fitted on |
//! | `max_points` | `400` | most trials the model holds |
//! | `refit_growth` | `0.05` | refit once the trials grew by this fraction (every ask below 30 trials) |
//! | `restart_every` | `0` | past 30 trials, every this-many-th refit also restarts from the priors' centre (`0`: never, `1`: every refit) |
//! | `deterministic` | `false` | the objective has no noise: fix the noise at its floor (1e-6) |
//! | `warp` | `true` | Yeo-Johnson transform of the losses before standardizing |
//! | `batch` | `"believer"` | `"believer"` (Kriging believer for running trials) or `"none"` |
//! | `constraints` | `[]` | trial attributes (`Evaluation::attrs`) that must be ≤ 0 |
//!
//! ```
//! use hyperplug_core::{Budget, Direction, Domain, Param, Settings, Space, Study, StudyConfig};
//! use hyperplug_gp::Gp;
//!
//! let space = Space::new(vec![
//!     Param::new("x", Domain::float(-5.0, 5.0)),
//!     Param::new("n", Domain::int(1, 64).log()),
//! ])
//! .unwrap();
//! let config = StudyConfig::new("demo", space, vec![Direction::Minimize]).seed(1);
//! let mut study = Study::new(config, &Gp, &Settings::default()).unwrap();
//! study
//!     .optimize_fn(Budget::trials(25), |p, _| {
//!         let (x, n) = (p["x"].as_f64().unwrap(), p["n"].as_f64().unwrap());
//!         Ok((x - 1.0).powi(2) + (n.ln() - 2.0).powi(2))
//!     })
//!     .unwrap();
//! assert!(study.best_trial().unwrap().values[0] < 0.05);
//! ```
//!
//! Architecture invariant: depends on `hyperplug-core`, `nalgebra` (Cholesky), `argmin`
//! (L-BFGS), `sobol_burley`, `rand`, `serde`, `libm` and `log` only; no IO, no FFI, no global
//! RNG: every draw comes from `trial_rng(seed, trial number)`, so the same seed and history
//! give the same suggestion.
#![forbid(unsafe_code)]

mod ehvi;
mod encode;
mod gp;
mod lbfgs;
mod math;
mod settings;
mod strategy;
mod warp;

use hyperplug_core::{Capabilities, Error, PluginInfo, Strategy, StrategyFactory, StudySetup};

use crate::settings::{Acquisition, GpSettings};
use crate::strategy::GpStrategy;

/// The name study files use for this strategy.
const NAME: &str = "gp";

/// Makes GP strategies; see the crate documentation for the settings.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gp;

impl StrategyFactory for Gp {
    fn info(&self) -> PluginInfo {
        PluginInfo::new(
            NAME,
            env!("CARGO_PKG_VERSION"),
            "Gaussian-process Bayesian optimization: Matérn-5/2 ARD, LogEI or LCB, LogEHVI for \
             several objectives, Kriging believer for parallel trials, constraints, conditional \
             spaces.",
            Capabilities {
                categorical: true,
                conditional: true,
                multi_objective: true,
                parallel: true,
            },
        )
    }

    fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
        let settings = GpSettings::parse(setup.settings)?;
        if setup.directions.len() > 1 && settings.acquisition == Acquisition::Lcb {
            return Err(Error::settings(
                NAME,
                format!(
                    "`acquisition`: \"lcb\" scores one objective, and this study has {}; use \
                     \"logei\" (log expected hypervolume improvement with several objectives)",
                    setup.directions.len()
                ),
            ));
        }
        Ok(Box::new(GpStrategy::new(
            setup.space,
            setup.directions.len(),
            settings,
        )))
    }
}
