//! Pruners: stopping running trials early from the intermediate values they report.
//!
//! - [`Median`] and [`Percentile`]: a trial stops when its best value so far is worse than the
//!   median (a percentile) of the other trials' values at the same step.
//! - [`Threshold`]: a trial stops when its value leaves a range, or is not a number.
//! - [`Patient`]: waits until a trial has not improved for `patience` steps, then asks the
//!   pruner it wraps (or stops the trial).
//! - [`Wilcoxon`]: for objectives evaluated over instances or folds (one step per instance): a
//!   trial stops when a signed-rank test says it is worse than the best trial on the instances
//!   both saw.
//! - [`SuccessiveHalving`], [`Asha`] and [`Hyperband`]: rungs at `min_resource · η^k` steps;
//!   at each rung only the best `1/η` go on. Successive halving judges trials in cohorts of
//!   trial numbers, so a trial that reaches a rung first gains nothing by it; ASHA judges each
//!   trial when it reaches a rung against all that reached it before, and never waits;
//!   Hyperband assigns trials to brackets of different aggressiveness by their number.
//! - [`Pareto`]: for studies with several objectives, whose trials report one value per
//!   objective at a step: a trial stops when a share of the complete trials dominate it there.
//!
//! Every decision is a function of the stored trials (their numbers, states and intermediate
//! values) and the settings, never of what one pruner remembers: every worker sharing a store
//! decides alike, and a resumed study continues the same rungs and brackets.
//!
//! Intermediate values are judged in the direction of the study's first objective; a step is an
//! epoch, a fold, an iteration: whatever the objective counts.
//!
//! ```
//! use hyperplug_core::{Budget, Direction, Domain, Param, Settings, Space, Study, StudyConfig, TrialError};
//! use hyperplug_pruners::Median;
//! # use hyperplug_core::{AskContext, Capabilities, Error, Params, PluginInfo, Strategy, StrategyFactory, StudySetup};
//! # struct Grid;
//! # impl StrategyFactory for Grid {
//! #     fn info(&self) -> PluginInfo { PluginInfo::new("grid", "0", "", Capabilities::all()) }
//! #     fn create(&self, _: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> { Ok(Box::new(Grid)) }
//! # }
//! # impl Strategy for Grid {
//! #     fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
//! #         let x = (ctx.number % 10) as f64 / 10.0;
//! #         Ok(ctx.space.assign(|p| p.domain.from_unit(x)))
//! #     }
//! # }
//! let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))]).unwrap();
//! let config = StudyConfig::new("demo", space, vec![Direction::Minimize]);
//! let mut study = Study::new(config, &Grid, &Settings::default()).unwrap();
//! study.set_pruner(&Median, &Settings::default().with("n_startup_trials", 2)).unwrap();
//! study
//!     .optimize_fn(Budget::trials(10), |params, ctx| {
//!         let x = params["x"].as_f64().unwrap_or(0.0);
//!         for epoch in 1..=5 {
//!             ctx.report(epoch, x / epoch as f64);
//!             if ctx.should_prune() {
//!                 return Err(TrialError::Pruned);
//!             }
//!         }
//!         Ok(x / 5.0)
//!     })
//!     .unwrap();
//! // The first two run to the end; every later one is worse than their median at epoch 1.
//! let pruned = study.finished().iter().filter(|t| t.intermediate.len() == 1).count();
//! assert_eq!(pruned, 8);
//! ```
//!
//! Architecture invariant: depends on `hyperplug-core` and serde only; no IO, no FFI, no RNG.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod halving;
mod pareto;
mod patient;
mod percentile;
mod threshold;
mod wilcoxon;

pub use halving::{Asha, Hyperband, SuccessiveHalving};
pub use pareto::Pareto;
pub use patient::Patient;
pub use percentile::{Median, Percentile};
pub use threshold::Threshold;
pub use wilcoxon::Wilcoxon;

use hyperplug_core::{Capabilities, Direction, Error, PluginInfo, PrunerFactory, Trial};

/// Every pruner of this crate, for a host's registry or a plugin library.
pub fn factories() -> Vec<Box<dyn PrunerFactory>> {
    vec![
        Box::new(Median),
        Box::new(Percentile),
        Box::new(Patient),
        Box::new(Threshold),
        Box::new(Wilcoxon),
        Box::new(SuccessiveHalving),
        Box::new(Asha),
        Box::new(Hyperband),
        Box::new(Pareto),
    ]
}

/// The pruner of this crate called `name`.
fn by_name(name: &str) -> Option<Box<dyn PrunerFactory>> {
    factories().into_iter().find(|f| f.info().name == name)
}

/// The info of this crate's pruner `name`: the crate's version, and one objective only (see
/// [`multi_objective`]).
fn pruner_info(name: &str, description: &str) -> PluginInfo {
    PluginInfo::new(
        name,
        env!("CARGO_PKG_VERSION"),
        description,
        Capabilities::default(),
    )
}

/// `info` of a pruner that judges studies with several objectives too.
fn multi_objective(info: PluginInfo) -> PluginInfo {
    PluginInfo {
        capabilities: Capabilities {
            multi_objective: true,
            ..info.capabilities
        },
        ..info
    }
}

/// `value` turned so that lower is better, NaN kept.
fn loss(direction: Direction, value: f64) -> f64 {
    direction.to_loss(value)
}

/// The direction intermediate values are judged in: the first objective's.
fn first(directions: &[Direction]) -> Direction {
    directions.first().copied().unwrap_or(Direction::Minimize)
}

/// The best loss a trial reported so far, ignoring NaN; `None` when every value is NaN.
fn best_loss(trial: &Trial, direction: Direction) -> Option<f64> {
    trial
        .intermediate
        .iter()
        .map(|&(_, v)| loss(direction, v))
        .filter(|v| !v.is_nan())
        .reduce(f64::min)
}

/// Whether a pruner with `n_warmup_steps` and `interval_steps` judges a trial at `step`: after
/// the warm-up, every `interval_steps` steps from its end.
fn judged_at(step: u64, n_warmup_steps: u64, interval_steps: u64) -> bool {
    step >= n_warmup_steps && (step - n_warmup_steps).is_multiple_of(interval_steps.max(1))
}

/// Refuses `interval_steps = 0` for pruner `name`: [`judged_at`] would quietly read it as 1.
fn check_interval(name: &str, interval_steps: u64) -> Result<(), Error> {
    if interval_steps == 0 {
        return Err(Error::settings(
            name,
            "`interval_steps` is 0; give 1 or more (1 judges every step)",
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod testing {
    use hyperplug_core::{Params, PruneContext, Pruner, Settings, Trial, TrialState};

    use super::*;

    /// A trial in `state` with `steps` as its intermediate values and `value` as its result.
    pub fn trial(number: u64, state: TrialState, steps: &[(u64, f64)], value: f64) -> Trial {
        let mut t = Trial::running(number, Params::new(), 0);
        t.state = state;
        t.intermediate = steps.to_vec();
        if state == TrialState::Complete {
            t.values = vec![value];
        }
        t
    }

    /// A curve of `steps` values from 1: `start`, then `decay` times that each step.
    pub fn curve(start: f64, decay: f64, steps: u64) -> Vec<(u64, f64)> {
        (1..=steps)
            .map(|s| (s, start * decay.powi(s as i32 - 1)))
            .collect()
    }

    /// `factory`'s pruner with `settings` for a study that minimizes.
    pub fn pruner(factory: &dyn PrunerFactory, settings: Settings) -> Box<dyn Pruner> {
        pruner_for(factory, settings, Direction::Minimize)
    }

    /// `factory`'s pruner with `settings` for a study in `direction`.
    pub fn pruner_for(
        factory: &dyn PrunerFactory,
        settings: Settings,
        direction: Direction,
    ) -> Box<dyn Pruner> {
        match factory.create(&hyperplug_core::PrunerSetup {
            directions: &[direction],
            seed: 0,
            settings: &settings,
        }) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    /// Asks `pruner` about `me` among `finished` and `running` (which holds `me`).
    pub fn decide(
        pruner: &mut dyn Pruner,
        direction: Direction,
        finished: &[Trial],
        running: &[Trial],
        me: u64,
    ) -> bool {
        let Some(trial) = running.iter().find(|t| t.number == me) else {
            panic!("trial {me} is not running");
        };
        // As if the study had asked after each report before this one.
        let ctx = PruneContext {
            directions: &[direction],
            seed: 0,
            trials: finished,
            running,
            trial,
            previous: trial.intermediate.len().saturating_sub(1),
        };
        match pruner.prune(&ctx) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }
}
