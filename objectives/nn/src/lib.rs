//! A neural-network objective: a multilayer perceptron trained with candle on a tabular dataset
//! and judged by k-fold cross-validation (stratified for classification).
//!
//! The objective `mlp` ([`Mlp`]) tunes the learning rate, batch size, optimizer (SGD with
//! momentum, Adam), L1 and L2 penalties, dropout, depth, each layer's width, activation and
//! epochs (see [`Hyperparams`] for names and defaults, [`default_space`] for the space it offers).
//! Each trial trains one network per fold, the folds in lockstep epoch by epoch, and reports the
//! cross-validated value after every epoch so a pruner can stop it early. It returns the mean of
//! the selected scores over the folds, or their standard deviation, the training time or the
//! parameter count — any of them as objectives, so accuracy against time against size is one
//! multi-objective study.
//!
//! Data: five bundled datasets from scikit-learn's copies of the UCI and LARS data (digits,
//! breast_cancer, wine, iris, diabetes; `data/README.md` states sources and licences) or any CSV
//! file with a header row. Features are standardized with each training fold's statistics only.
//!
//! Settings (`[objective]` keys; unknown keys are refused by name):
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `dataset` | `digits`, `breast_cancer`, `wine`, `iris` or `diabetes` | `digits` |
//! | `csv` | a CSV file instead (path relative to the working directory) | — |
//! | `target` | the CSV column to predict (required with `csv`) | — |
//! | `task` | `classification` or `regression` (CSV only; inferred when obvious) | inferred |
//! | `folds` | k of k-fold cross-validation | 5 |
//! | `metrics` | the values returned, in order, from `accuracy`, `log_loss`, `rmse`, `r2`, their `_std` across folds, `train_time` (seconds), `params` | `["accuracy"]` or `["rmse"]` |
//! | `seed` | fixes the folds, initial weights, batch order and dropout | 0 |
//! | `threads` | CPU threads per trial: folds train in parallel on a pool of this size (match it with the study's `[resources] cpus`) | 1 |
//! | `max_epochs` | the most epochs a trial may ask for | 500 |
//! | `space` | `"default"`: the objective offers [`default_space`]; `"study"`: the study file's `[space]` is used instead (parameters it leaves out take their defaults) | `"default"` |
//!
//! Everything random derives from `seed`: [`hyperplug_core::trial_rng`]`(seed, 0)` splits the
//! rows, and fold i's network draws its initial weights, batch order and dropout masks from
//! `trial_rng(seed, i + 1)`. The trial number plays no part, so the same parameters give the same
//! result in any trial (and trials differ only by their parameters).
//!
//! The intermediate value at step e (epochs count from 1) is the first metric's value as if
//! training stopped after epoch e. Epochs are the trial's resource: when the study's pruner
//! starts trials with one ([`TrialContext::resource`], e.g. Hyperband's `max_resource`), the
//! trial trains that many epochs (at most `max_epochs`) whatever its `epochs` parameter says. Each complete trial carries the attributes `accuracy`,
//! `accuracy_std`, `log_loss`, `log_loss_std` (or `rmse`, `r2` and their `_std`), `train_time`,
//! `params`, `epochs` and `backend`.
//!
//! Training runs behind the [`Backend`] trait: [`CandleCpu`] here; the GPU plugin
//! (`hyperplug-plugin-nn-gpu`) supplies a CUDA backend and reuses everything else through
//! [`MlpObjective::evaluate_on`].
//!
//! Architecture invariant: this crate depends on `hyperplug-core` and candle's CPU backend only;
//! no CUDA, no host, no plugin machinery. Its only IO is reading a CSV file the settings name,
//! and it changes no global state.
//!
//! Speed: candle splits every matrix product over all cores unless `RAYON_NUM_THREADS` says
//! otherwise, even inside a trial's pool, which roughly doubles an epoch's time and makes
//! parallel trials contend. The `hyperplug` host sets `RAYON_NUM_THREADS=1` at start-up when the
//! user has not; a program that runs the objective in-process should do the same before it
//! starts any thread (as `examples/epoch.rs` and `examples/tune.rs` do): changing the
//! environment later is not sound, so a library must not.
//!
//! ```
//! use hyperplug_core::{ObjectiveFactory, Settings};
//! use hyperplug_nn::Mlp;
//!
//! let settings = Settings::default()
//!     .with("dataset", "iris")
//!     .with("folds", 3)
//!     .with("metrics", serde_json::json!(["accuracy", "params"]));
//! let objective = Mlp.create(&settings).unwrap();
//! let names: Vec<String> = objective.metrics().into_iter().map(|m| m.name).collect();
//! assert_eq!(names, ["accuracy", "params"]);
//! assert!(objective.space().unwrap().get("units_3").is_some());
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod candle;
mod cv;
mod data;
mod engine;
mod error;
mod hyper;
mod metrics;

use std::path::Path;

use hyperplug_core::{
    Capabilities, Error, Metric, Objective, ObjectiveFactory, Params, PluginInfo, Settings, Space,
    TrialContext, TrialError, TrialOutcome, trial_rng,
};
use serde::Deserialize;

pub use crate::candle::{CandleCpu, init_bound, init_weights, init_weights_per_layer};
pub use crate::cv::{Fold, kfold, shuffle, stratified_kfold};
pub use crate::data::{Bundled, Dataset, MAX_INFERRED_CLASSES, Targets, Task};
pub use crate::engine::{Backend, FoldData, FoldModel, FoldTargets};
pub use crate::error::{DataError, TrainError};
pub use crate::hyper::{
    ADAM_BETA1, ADAM_BETA2, ADAM_EPS, Activation, Hyperparams, LayerSpec, MAX_LAYERS, MAX_UNITS,
    Optimizer, PARAM_NAMES, default_space,
};
pub use crate::metrics::{
    LOG_LOSS_EPS, METRIC_NAMES, Score, Selected, accuracy, argmax, log_loss, mean_std, r2, rmse,
};

use crate::engine::{CvSetup, PreparedFold, cross_validate, prepare_fold};

/// The `mlp` objective's factory. See the crate documentation for its settings.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mlp;

impl ObjectiveFactory for Mlp {
    fn info(&self) -> PluginInfo {
        PluginInfo::new(
            "mlp",
            env!("CARGO_PKG_VERSION"),
            "a multilayer perceptron trained with candle on the CPU, judged by k-fold cross-validation on a bundled dataset or a CSV file",
            Capabilities::default(),
        )
    }

    fn create(&self, settings: &Settings) -> Result<Box<dyn Objective>, Error> {
        Ok(Box::new(MlpObjective::from_settings(settings, "mlp")?))
    }
}

/// The default of `max_epochs`.
pub const DEFAULT_MAX_EPOCHS: usize = 500;

/// The most threads `threads` may ask for.
pub const MAX_THREADS: usize = 256;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    #[serde(default)]
    dataset: Option<String>,
    #[serde(default)]
    csv: Option<String>,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    task: Option<String>,
    #[serde(default = "default_folds")]
    folds: usize,
    #[serde(default)]
    metrics: Option<Vec<String>>,
    #[serde(default)]
    seed: u64,
    #[serde(default = "default_threads")]
    threads: usize,
    #[serde(default = "default_max_epochs")]
    max_epochs: usize,
    #[serde(default)]
    space: Option<String>,
}

fn default_folds() -> usize {
    5
}

fn default_threads() -> usize {
    1
}

fn default_max_epochs() -> usize {
    DEFAULT_MAX_EPOCHS
}

/// A configured MLP objective: the data, its folds (standardized once), the selected metrics.
pub struct MlpObjective {
    dataset: Dataset,
    folds: Vec<PreparedFold>,
    selected: Vec<Selected>,
    seed: u64,
    max_epochs: usize,
    own_space: Option<Space>,
    threads: usize,
}

impl MlpObjective {
    /// Reads `settings` (see the crate documentation); `owner` names the objective in errors.
    pub fn from_settings(settings: &Settings, owner: &str) -> Result<MlpObjective, Error> {
        let raw: RawSettings = settings.parse(owner)?;
        let bad = |message: String| Error::settings(owner, message);
        let task = match raw.task.as_deref() {
            None => None,
            Some(t) => Some(Task::from_name(t).ok_or_else(|| {
                bad(format!(
                    "`task` is \"{t}\"; use \"classification\" or \"regression\""
                ))
            })?),
        };
        let dataset = match (&raw.dataset, &raw.csv) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "give either `dataset` (a bundled one) or `csv` (a file), not both".into(),
                ));
            }
            (Some(_), None) | (None, None) => {
                let name = raw.dataset.as_deref().unwrap_or("digits");
                let bundled = Bundled::from_name(name).ok_or_else(|| {
                    bad(format!(
                        "`dataset` = \"{name}\" is not bundled; use one of digits, breast_cancer, wine, iris, diabetes, or `csv` for a file"
                    ))
                })?;
                if raw.target.is_some() {
                    return Err(bad("`target` applies to `csv` files only".into()));
                }
                let data = bundled.load().map_err(|e| bad(e.to_string()))?;
                if let Some(t) = task
                    && t != data.task()
                {
                    return Err(bad(format!(
                        "`task` = \"{t}\" does not fit `{name}`, a {} dataset; remove `task`",
                        data.task()
                    )));
                }
                data
            }
            (None, Some(path)) => {
                let Some(target) = &raw.target else {
                    let header = std::fs::read_to_string(path)
                        .ok()
                        .and_then(|t| t.lines().next().map(str::to_owned))
                        .unwrap_or_default();
                    return Err(bad(format!(
                        "`target` is required with `csv`: name the column to predict (the header of {path} reads: {header})"
                    )));
                };
                Dataset::from_csv_path(Path::new(path), target, task)
                    .map_err(|e| bad(e.to_string()))?
            }
        };
        let data_task = dataset.task();

        let names = raw
            .metrics
            .unwrap_or_else(|| vec![Score::of(data_task)[0].name().to_owned()]);
        if names.is_empty() {
            return Err(bad(format!(
                "`metrics` is empty; name at least one of {METRIC_NAMES}"
            )));
        }
        let mut selected = Vec::new();
        for name in &names {
            let sel = Selected::from_name(name).ok_or_else(|| {
                bad(format!(
                    "`metrics`: unknown metric `{name}`; use {METRIC_NAMES}"
                ))
            })?;
            if let Some(score) = sel.score()
                && score.task() != data_task
            {
                let fits: Vec<&str> = Score::of(data_task).iter().map(|s| s.name()).collect();
                return Err(bad(format!(
                    "`metrics`: `{name}` judges {}, but {} is a {data_task} dataset; use {}",
                    score.task(),
                    dataset.name(),
                    fits.join(" or ")
                )));
            }
            if selected.contains(&sel) {
                return Err(bad(format!("`metrics` names `{name}` twice")));
            }
            selected.push(sel);
        }
        if !(1..=MAX_THREADS).contains(&raw.threads) {
            return Err(bad(format!(
                "`threads` must be between 1 and {MAX_THREADS}, got {}",
                raw.threads
            )));
        }
        if raw.max_epochs == 0 {
            return Err(bad("`max_epochs` must be at least 1".into()));
        }
        let own_space = match raw.space.as_deref() {
            None | Some("default") => {
                Some(default_space(raw.max_epochs).map_err(|e| bad(e.to_string()))?)
            }
            Some("study") => None,
            Some(other) => {
                return Err(bad(format!(
                    "`space` is \"{other}\"; use \"default\" (the objective's space) or \"study\" (the study file's [space])"
                )));
            }
        };

        let mut rng = trial_rng(raw.seed, 0);
        let folds = match dataset.targets() {
            Targets::Classes { labels, names } => {
                let folds = stratified_kfold(labels, raw.folds, &mut rng).map_err(bad)?;
                for (c, name) in names.iter().enumerate() {
                    let count = labels.iter().filter(|&&l| l as usize == c).count();
                    if count < raw.folds {
                        log::warn!(
                            "{}: class `{name}` has {count} row(s), fewer than the {} folds; some validation folds will not contain it",
                            dataset.name(),
                            raw.folds
                        );
                    }
                }
                folds
            }
            Targets::Values(v) => kfold(v.len(), raw.folds, &mut rng).map_err(bad)?,
        };
        let folds = folds.iter().map(|f| prepare_fold(&dataset, f)).collect();
        Ok(MlpObjective {
            dataset,
            folds,
            selected,
            seed: raw.seed,
            max_epochs: raw.max_epochs,
            own_space,
            threads: raw.threads,
        })
    }

    /// The data it trains on.
    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    /// The values it returns, in order.
    pub fn selected(&self) -> &[Selected] {
        &self.selected
    }

    /// Evaluates one trial, training on `backend`.
    pub fn evaluate_on(
        &self,
        backend: &dyn Backend,
        params: &Params,
        ctx: &mut dyn TrialContext,
    ) -> TrialOutcome {
        let mut hyper =
            Hyperparams::from_params(params, self.max_epochs).map_err(TrialError::failed)?;
        // Epochs are the resource: a pruner that lays out rungs in epochs (Hyperband, ASHA,
        // successive halving) starts the trial with its `max_resource`, whatever the `epochs`
        // parameter says (the pruner, not the sampler, decides how long a trial trains).
        if let Some(r) = ctx.resource() {
            hyper.epochs = usize::try_from(r)
                .unwrap_or(usize::MAX)
                .clamp(1, self.max_epochs);
        }
        if !hyper.layers.is_empty() && !backend.per_layer() {
            return Err(TrialError::failed(format!(
                "the architecture mode (per-layer activation_k, dropout_k, skip_k) runs on the CPU objective `mlp`; {} builds uniform networks only",
                backend.describe()
            )));
        }
        // A pool per trial: concurrent trials each get their own `threads`, and candle's matrix
        // products, which run on the current rayon pool, stay on this trial's threads instead of
        // spreading over every core. Starting a pool costs well under a millisecond.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .thread_name(|i| format!("hyperplug-nn-{i}"))
            .build()
            .map_err(|e| {
                TrialError::failed(format!("cannot start {} thread(s): {e}", self.threads))
            })?;
        let task = self.dataset.task();
        let setup = CvSetup {
            task,
            inputs: self.dataset.n_features(),
            outputs: match task {
                Task::Classification => self.dataset.n_classes(),
                Task::Regression => 1,
            },
            folds: &self.folds,
            selected: &self.selected,
            seed: self.seed,
            pool: &pool,
        };
        cross_validate(&setup, &hyper, backend, ctx)
    }
}

impl Objective for MlpObjective {
    fn space(&self) -> Option<Space> {
        self.own_space.clone()
    }

    fn metrics(&self) -> Vec<Metric> {
        self.selected.iter().map(|s| s.metric()).collect()
    }

    fn evaluate(&self, params: &Params, ctx: &mut dyn TrialContext) -> TrialOutcome {
        self.evaluate_on(&CandleCpu, params, ctx)
    }
}
