//! Quality against epochs spent: the `mlp` objective on a bundled data set (5-fold CV accuracy,
//! epochs as the resource), searched by a strategy with or without a pruner. Prints one JSON
//! line per run: every complete trial's accuracy with the epochs spent (by every trial, pruned
//! ones included) when it finished, the total epochs and the wall time.
//!
//! ```text
//! cargo run --release -p hyperplug-bohb --example mlp_budget -- METHOD SEED TRIALS EPOCHS [DATASET [MAX_SPENT]]
//! ```
//!
//! With MAX_SPENT the run starts no new trial once its trials have spent that many epochs
//! (TRIALS is then ignored): a pruned search is run until it has spent a given share of the
//! full-budget search's epochs, however many trials that takes. Several methods, comma-separated,
//! each with its own `@MAX_SPENT` if it likes, run one after the other in this process and print
//! a line each; a configuration trained by an earlier run is replayed, not trained again (see
//! `Replay`: the objective's value is a function of the parameters alone), which makes a pruned
//! random search after the full-budget one of the same seed nearly free. Each line says how many
//! of its epochs were trained and how many replayed.
//!
//! METHOD is `random` (full budget, no pruner), `random-hyperband`, `random-asha`,
//! `tpe-median`, `tpe-hyperband`, `tpe-asha` or `bohb-hyperband`, optionally followed by the pruner's integer
//! settings as `:key=value` (`random-asha:min_resource=3`). `mlp_budget trial EPOCHS [DATASET]` trains
//! one configuration for a driver in another language (see `trial`). Every trial is started with EPOCHS epochs
//! (the resource); pruners lay out their rungs from 1 epoch, η = 3.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use hyperplug_core::{
    Budget, Direction, Error, Evaluation, Objective, ObjectiveFactory, Params, PluginInfo,
    PruneContext, Pruner, PrunerFactory, PrunerSetup, Settings, StrategyFactory, Study,
    StudyConfig, TrialContext, TrialError, TrialOutcome, TrialState,
};

/// Starts every trial with `epochs` and prunes as `inner` says (never without one).
struct WithResource {
    inner: Option<Box<dyn PrunerFactory>>,
    epochs: u64,
}

struct Started {
    inner: Option<Box<dyn Pruner>>,
    epochs: u64,
}

impl PrunerFactory for WithResource {
    fn info(&self) -> PluginInfo {
        match &self.inner {
            Some(f) => f.info(),
            None => PluginInfo::new("full-budget", "0", "", Default::default()),
        }
    }
    fn create(&self, setup: &PrunerSetup<'_>) -> Result<Box<dyn Pruner>, Error> {
        let inner = match &self.inner {
            Some(f) => Some(f.create(setup)?),
            None => None,
        };
        Ok(Box::new(Started {
            inner,
            epochs: self.epochs,
        }))
    }
}

impl Pruner for Started {
    fn prune(&mut self, ctx: &PruneContext<'_>) -> Result<bool, Error> {
        match &mut self.inner {
            Some(p) => p.prune(ctx),
            None => Ok(false),
        }
    }
    fn resource(&self, _: u64) -> Option<u64> {
        Some(self.epochs)
    }
}

/// One configuration's record: the values it reported, step by step, and its outcome once it
/// ran to the end (a pruned trial leaves only a prefix).
#[derive(Clone, Default)]
struct Memo {
    steps: Vec<f64>,
    outcome: Option<Result<Evaluation, String>>,
}

/// The `mlp` objective with a memory: its value is a function of the parameters alone (its seed
/// fixes folds, initial weights, batch order and dropout; the trial number plays no part, and
/// every trial here is started with the same epochs), so a configuration that was trained before
/// is replayed (the same reports, the same pruning decisions asked for, the same outcome) instead
/// of trained again. Random search draws trial n's parameters from (seed, n) alone, so a pruned
/// random search of the same seed asks mostly for configurations the full-budget one trained.
/// Replayed epochs count as spent, exactly as if trained.
struct Replay<'a> {
    inner: &'a dyn Objective,
    memo: Mutex<HashMap<String, Memo>>,
    /// Epochs actually trained and replayed, for the record.
    trained: AtomicU64,
    replayed: AtomicU64,
}

/// Passes a trial's reports on, recording them; the first `skip` steps were already replayed
/// (reported, and their pruning decisions asked for), so they are only recorded.
struct Recording<'c> {
    inner: &'c mut dyn TrialContext,
    skip: usize,
    steps: Vec<f64>,
}

impl TrialContext for Recording<'_> {
    fn number(&self) -> u64 {
        self.inner.number()
    }
    fn report(&mut self, step: u64, value: f64) {
        self.steps.push(value);
        if self.steps.len() > self.skip {
            self.inner.report(step, value);
        }
    }
    fn should_prune(&mut self) -> bool {
        self.steps.len() > self.skip && self.inner.should_prune()
    }
    fn devices(&self) -> Vec<u32> {
        self.inner.devices()
    }
    fn study_name(&self) -> String {
        self.inner.study_name()
    }
    fn resource(&self) -> Option<u64> {
        self.inner.resource()
    }
}

impl Objective for Replay<'_> {
    fn space(&self) -> Option<hyperplug_core::Space> {
        self.inner.space()
    }
    fn metrics(&self) -> Vec<hyperplug_core::Metric> {
        self.inner.metrics()
    }
    fn evaluate(&self, params: &Params, ctx: &mut dyn TrialContext) -> TrialOutcome {
        let key = serde_json::to_string(params).map_err(|e| TrialError::failed(e.to_string()))?;
        let memo = self
            .memo
            .lock()
            .map_err(|_| TrialError::failed("memo poisoned"))?
            .get(&key)
            .cloned()
            .unwrap_or_default();
        for (i, &v) in memo.steps.iter().enumerate() {
            ctx.report(i as u64 + 1, v);
            self.replayed.fetch_add(1, Ordering::Relaxed);
            if ctx.should_prune() {
                return Err(TrialError::Pruned);
            }
        }
        if let Some(outcome) = memo.outcome {
            return outcome.map_err(TrialError::Failed);
        }
        // Known only up to where a pruner stopped it, or not at all: train it from the start.
        let mut rec = Recording {
            inner: ctx,
            skip: memo.steps.len(),
            steps: Vec::new(),
        };
        let outcome = self.inner.evaluate(params, &mut rec);
        self.trained
            .fetch_add(rec.steps.len() as u64, Ordering::Relaxed);
        self.replayed.fetch_sub(
            memo.steps.len().min(rec.steps.len()) as u64,
            Ordering::Relaxed,
        );
        let done = match &outcome {
            Ok(e) => Some(Ok(e.clone())),
            Err(TrialError::Failed(m)) => Some(Err(m.clone())),
            Err(TrialError::Pruned) => None,
        };
        let mut all = self
            .memo
            .lock()
            .map_err(|_| TrialError::failed("memo poisoned"))?;
        let entry = all.entry(key).or_default();
        if rec.steps.len() >= entry.steps.len() {
            entry.steps = rec.steps;
        }
        if done.is_some() {
            entry.outcome = done;
        }
        outcome
    }
}

/// A trial driven from another process (`mlp_budget trial`): each report is printed as a JSON
/// line, and each pruning decision is read from stdin (`prune` stops; anything else goes on; the
/// end of input stops), so that the driver counts exactly the epochs trained.
struct Piped {
    epochs: u64,
}

impl TrialContext for Piped {
    fn number(&self) -> u64 {
        0
    }
    fn report(&mut self, step: u64, value: f64) {
        println!("{}", serde_json::json!({ "step": step, "value": value }));
    }
    fn should_prune(&mut self) -> bool {
        let mut line = String::new();
        match std::io::stdin().read_line(&mut line) {
            Ok(0) | Err(_) => true,
            Ok(_) => line.trim() == "prune",
        }
    }
    fn resource(&self) -> Option<u64> {
        Some(self.epochs)
    }
}

/// `mlp_budget trial EPOCHS [DATASET]`: one configuration (a JSON object on stdin's first
/// line) trained for EPOCHS epochs, for a driver in another language (bench/compare/mlp_optuna.py).
fn trial(epochs: u64, dataset: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let params: Params = serde_json::from_str(&line)?;
    let mlp = hyperplug_nn::Mlp.create(
        &Settings::default()
            .with("dataset", dataset)
            .with("max_epochs", epochs),
    )?;
    let out = match mlp.evaluate(&params, &mut Piped { epochs }) {
        Ok(e) => serde_json::json!({ "value": e.values[0] }),
        Err(TrialError::Pruned) => serde_json::json!({ "pruned": true }),
        Err(TrialError::Failed(m)) => serde_json::json!({ "failed": m }),
    };
    println!("{out}");
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [mode, epochs, rest @ ..] = &args[..]
        && mode == "trial"
    {
        return trial(
            epochs.parse()?,
            rest.first().map_or("digits", String::as_str),
        );
    }
    let [methods, seed, trials, epochs, rest @ ..] = &args[..] else {
        return Err(
            "usage: mlp_budget METHOD[@MAX_SPENT][,METHOD…] SEED TRIALS EPOCHS [DATASET [MAX_SPENT]]"
                .into(),
        );
    };
    let seed: u64 = seed.parse()?;
    let trials: u64 = trials.parse()?;
    let epochs: u64 = epochs.parse()?;
    let dataset = rest.first().map_or("digits", String::as_str);
    let max_spent: Option<u64> = rest.get(1).map(|s| s.parse()).transpose()?;
    let mlp = hyperplug_nn::Mlp.create(
        &Settings::default()
            .with("dataset", dataset)
            .with("max_epochs", epochs),
    )?;
    let replay = Replay {
        inner: &*mlp,
        memo: Mutex::new(HashMap::new()),
        trained: AtomicU64::new(0),
        replayed: AtomicU64::new(0),
    };
    for spec in methods.split(',') {
        let (method, cap) = match spec.split_once('@') {
            Some((m, c)) => (m, Some(c.parse::<u64>()?)),
            None => (spec, max_spent),
        };
        let before = (
            replay.trained.load(Ordering::Relaxed),
            replay.replayed.load(Ordering::Relaxed),
        );
        let mut line = run(method, seed, trials, epochs, cap, &replay)?;
        line["dataset"] = dataset.into();
        line["trained_epochs"] = (replay.trained.load(Ordering::Relaxed) - before.0).into();
        line["replayed_epochs"] = (replay.replayed.load(Ordering::Relaxed) - before.1).into();
        println!("{line}");
    }
    Ok(())
}

/// One run of `method`: `trials` trials, or trials until `cap` epochs are spent.
fn run(
    method: &str,
    seed: u64,
    trials: u64,
    epochs: u64,
    cap: Option<u64>,
    objective: &dyn Objective,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    // `METHOD:key=value:…` passes settings to the pruner (e.g. `random-asha:min_resource=3`).
    let mut parts = method.split(':');
    let name = parts.next().unwrap_or_default();
    let (strategy, pruner): (Box<dyn StrategyFactory>, Option<&str>) = match name {
        "random" => (Box::new(hyperplug_random::Random), None),
        "random-hyperband" => (Box::new(hyperplug_random::Random), Some("hyperband")),
        "random-asha" => (Box::new(hyperplug_random::Random), Some("asha")),
        "tpe-median" => (Box::new(hyperplug_tpe::Tpe), Some("median")),
        "tpe-hyperband" => (Box::new(hyperplug_tpe::Tpe), Some("hyperband")),
        "tpe-asha" => (Box::new(hyperplug_tpe::Tpe), Some("asha")),
        "bohb-hyperband" => (Box::new(hyperplug_bohb::Bohb), Some("hyperband")),
        other => return Err(format!("unknown method `{other}`").into()),
    };
    let mut pruner_settings = match pruner {
        Some("hyperband" | "asha") => Settings::default().with("max_resource", epochs),
        _ => Settings::default(),
    };
    for kv in parts {
        let (key, value) = kv
            .split_once('=')
            .ok_or_else(|| format!("`{kv}` in `{method}` is not key=value"))?;
        let value: u64 = value
            .parse()
            .map_err(|e| format!("`{kv}` in `{method}`: {e}"))?;
        pruner_settings = pruner_settings.with(key, value);
    }
    let inner = pruner.map(|name| {
        hyperplug_pruners::factories()
            .into_iter()
            .find(|f| f.info().name == name)
            .ok_or_else(|| format!("no pruner `{name}`"))
    });
    let inner = inner.transpose()?;
    let space = objective
        .space()
        .ok_or("the mlp objective offers its own space")?;
    let config = StudyConfig::new("budget", space, vec![Direction::Maximize]).seed(seed);
    let mut study = Study::new(config, &*strategy, &Settings::default())?;
    study.set_pruner(&WithResource { inner, epochs }, &pruner_settings)?;
    let started = Instant::now();
    match cap {
        None => study.optimize(objective, Budget::trials(trials), &mut ())?,
        // One trial at a time, so that the run stops as soon as the epochs are spent, however
        // many trials that takes.
        Some(cap) => {
            for n in 1.. {
                study.optimize(objective, Budget::trials(n), &mut ())?;
                let spent: u64 = study
                    .finished()
                    .iter()
                    .map(|t| t.intermediate.len() as u64)
                    .sum();
                if spent >= cap {
                    break;
                }
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    // The epochs spent when each complete trial finished: every trial's reported steps, counted
    // in finish order.
    let mut spent = 0u64;
    let mut curve = Vec::new();
    for t in study.finished() {
        spent += t.intermediate.len() as u64;
        if t.state == TrialState::Complete {
            curve.push(serde_json::json!([spent, t.values[0]]));
        }
    }
    let pruned = study
        .finished()
        .iter()
        .filter(|t| t.state == TrialState::Pruned)
        .count();
    Ok(serde_json::json!({
        "method": method, "seed": seed, "trials": study.finished().len(), "epochs": epochs,
        "max_spent": cap, "load": std::fs::read_to_string("/proc/loadavg").ok(),
        "pruned": pruned, "total_epochs": spent, "seconds": seconds, "complete": curve,
    }))
}
