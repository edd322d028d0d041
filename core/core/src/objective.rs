use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::settings::Settings;
use crate::space::Space;
use crate::strategy::PluginInfo;
use crate::study::Direction;
use crate::trial::{TrialError, TrialOutcome};
use crate::value::{Params, Value};

/// What an objective returns for one trial.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// One value per objective of the study, in the order of [`Objective::metrics`].
    pub values: Vec<f64>,
    /// Extra results kept with the trial (training time, parameter count, ...).
    #[serde(default)]
    pub attrs: IndexMap<String, Value>,
}

impl From<f64> for Evaluation {
    fn from(value: f64) -> Self {
        Evaluation {
            values: vec![value],
            attrs: IndexMap::new(),
        }
    }
}

impl From<Vec<f64>> for Evaluation {
    fn from(values: Vec<f64>) -> Self {
        Evaluation {
            values,
            attrs: IndexMap::new(),
        }
    }
}

/// One value an objective reports, and which way is better.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Its name, e.g. `accuracy`.
    pub name: String,
    /// Whether lower or higher is better.
    pub direction: Direction,
}

impl Metric {
    /// A metric to minimize.
    pub fn minimize(name: impl Into<String>) -> Self {
        Metric {
            name: name.into(),
            direction: Direction::Minimize,
        }
    }

    /// A metric to maximize.
    pub fn maximize(name: impl Into<String>) -> Self {
        Metric {
            name: name.into(),
            direction: Direction::Maximize,
        }
    }
}

/// What each trial of an objective needs of the machine, declared by the objective itself.
///
/// The objective knows its workload best: a GPU trainer needs a device per trial, and a study
/// file should not have to repeat it. The host reads the declaration once, when the objective is
/// created, and lends each trial that many devices from the machine's pool (see
/// [`RunOptions`](crate::RunOptions)); what the study file says explicitly wins over it. An
/// objective that declares GPUs must still run when it is lent none (the machine has none, or the
/// user asked for none): it should fall back, not fail.
///
/// New fields may follow (it is `#[non_exhaustive]`, and crosses the plugin ABI as JSON with a
/// default for every field), so build it from [`TrialResources::default`] and the `with_*`
/// methods.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct TrialResources {
    /// GPUs one trial needs; the executor lends their ids through [`TrialContext::devices`].
    pub gpus: u32,
}

impl TrialResources {
    /// The same, needing `gpus` GPUs per trial.
    pub fn with_gpus(mut self, gpus: u32) -> Self {
        self.gpus = gpus;
        self
    }
}

/// The link between a running trial and the study: intermediate values go out, pruning decisions
/// come back.
pub trait TrialContext {
    /// The trial's number.
    fn number(&self) -> u64;
    /// Reports the value reached at `step` (an epoch, a budget), for pruning and curves.
    fn report(&mut self, step: u64, value: f64);
    /// Reports the values reached at `step`, one per objective, in a study with several
    /// objectives, so that a Pareto-aware pruner (`pareto`) can judge the trial by dominance.
    /// The first value also serves as the step's single value (curves, single-value pruners).
    /// A context that keeps single values only (the default) records the first value.
    fn report_values(&mut self, step: u64, values: &[f64]) {
        if let Some(&first) = values.first() {
            self.report(step, first);
        }
    }
    /// Whether the study wants this trial to stop now (pruned, or the run interrupted); the
    /// objective should then return [`TrialError::Pruned`] promptly. Long-running objectives
    /// poll it regularly, not only when they report.
    fn should_prune(&mut self) -> bool;
    /// The devices (GPU ids) the executor assigned to this trial; empty when none.
    fn devices(&self) -> Vec<u32> {
        Vec::new()
    }
    /// The name of the study this trial belongs to.
    fn study_name(&self) -> String {
        String::new()
    }
    /// The resource this trial is started with, when the study's pruner sets one (successive
    /// halving, ASHA, Hyperband: their `max_resource`): the most steps (epochs, folds,
    /// iterations) it should run, reporting each. `None`: the objective's own settings decide.
    fn resource(&self) -> Option<u64> {
        None
    }
}

/// A workload to optimize: evaluates parameters and returns one value per metric.
pub trait Objective: Send + Sync {
    /// The space it defines for itself (synthetic functions, lookup tables), if any. When `None`
    /// the study must declare one.
    fn space(&self) -> Option<Space> {
        None
    }

    /// The values it returns, in order, with their natural directions. Empty means one value
    /// whose direction the study decides.
    fn metrics(&self) -> Vec<Metric> {
        Vec::new()
    }

    /// The best value each metric can reach, where known (synthetic functions, tables).
    fn optimum(&self) -> Option<Vec<f64>> {
        None
    }

    /// What each trial needs of the machine: nothing beyond a CPU thread unless it says so. Read
    /// once, before the first trial; a study file's `[resources]` overrides it.
    fn resources(&self) -> TrialResources {
        TrialResources::default()
    }

    /// Refuses, before the first trial, a study space this objective cannot evaluate (e.g. two
    /// names that it would pass to a program the same way). Every trial's parameters come from
    /// this space.
    fn check_space(&self, _space: &Space) -> Result<(), Error> {
        Ok(())
    }

    /// Evaluates one trial.
    fn evaluate(&self, params: &Params, ctx: &mut dyn TrialContext) -> TrialOutcome;
}

/// Makes objectives from their settings: the unit that is bundled or exported by a plugin.
pub trait ObjectiveFactory: Send + Sync {
    /// Name, version and description.
    fn info(&self) -> PluginInfo;
    /// An objective configured by `settings`.
    fn create(&self, settings: &Settings) -> Result<Box<dyn Objective>, Error>;
}

/// A closure as an objective, for studies driven from Rust code.
pub struct FnObjective<F>(pub F);

impl<F, E> Objective for FnObjective<F>
where
    F: Fn(&Params, &mut dyn TrialContext) -> Result<E, TrialError> + Send + Sync,
    E: Into<Evaluation>,
{
    fn evaluate(&self, params: &Params, ctx: &mut dyn TrialContext) -> TrialOutcome {
        (self.0)(params, ctx).map(Into::into)
    }
}
