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
//! (TRIALS is then a ceiling): a pruned search is run until it has spent a given share of the
//! full-budget search's epochs, however many trials that takes.
//!
//! METHOD is `random` (full budget, no pruner), `random-hyperband`, `random-asha`,
//! `tpe-median`, `tpe-hyperband` or `bohb-hyperband`. Every trial is started with EPOCHS epochs
//! (the resource); pruners lay out their rungs from 1 epoch, η = 3.

use std::time::Instant;

use hyperplug_core::{
    Budget, Direction, Error, ObjectiveFactory, PluginInfo, PruneContext, Pruner, PrunerFactory,
    PrunerSetup, Settings, StrategyFactory, Study, StudyConfig, TrialState,
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [method, seed, trials, epochs, rest @ ..] = &args[..] else {
        return Err("usage: mlp_budget METHOD SEED TRIALS EPOCHS [DATASET [MAX_SPENT]]".into());
    };
    let seed: u64 = seed.parse()?;
    let trials: u64 = trials.parse()?;
    let epochs: u64 = epochs.parse()?;
    let dataset = rest.first().map_or("digits", String::as_str);
    let max_spent: Option<u64> = rest.get(1).map(|s| s.parse()).transpose()?;
    let (strategy, pruner): (Box<dyn StrategyFactory>, Option<&str>) = match method.as_str() {
        "random" => (Box::new(hyperplug_random::Random), None),
        "random-hyperband" => (Box::new(hyperplug_random::Random), Some("hyperband")),
        "random-asha" => (Box::new(hyperplug_random::Random), Some("asha")),
        "tpe-median" => (Box::new(hyperplug_tpe::Tpe), Some("median")),
        "tpe-hyperband" => (Box::new(hyperplug_tpe::Tpe), Some("hyperband")),
        "bohb-hyperband" => (Box::new(hyperplug_bohb::Bohb), Some("hyperband")),
        other => return Err(format!("unknown method `{other}`").into()),
    };
    let pruner_settings = match pruner {
        Some("hyperband") => Settings::default().with("max_resource", epochs),
        Some("asha") => Settings::default().with("max_resource", epochs),
        _ => Settings::default(),
    };
    let inner = pruner.map(|name| {
        hyperplug_pruners::factories()
            .into_iter()
            .find(|f| f.info().name == name)
            .ok_or_else(|| format!("no pruner `{name}`"))
    });
    let inner = inner.transpose()?;
    let objective = hyperplug_nn::Mlp.create(
        &Settings::default()
            .with("dataset", dataset)
            .with("max_epochs", epochs),
    )?;
    let space = objective
        .space()
        .ok_or("the mlp objective offers its own space")?;
    let config = StudyConfig::new("budget", space, vec![Direction::Maximize]).seed(seed);
    let mut study = Study::new(config, &*strategy, &Settings::default())?;
    study.set_pruner(&WithResource { inner, epochs }, &pruner_settings)?;
    let started = Instant::now();
    match max_spent {
        None => study.optimize(&*objective, Budget::trials(trials), &mut ())?,
        // One trial at a time, so that the run stops as soon as the epochs are spent.
        Some(cap) => {
            for n in 1..=trials {
                study.optimize(&*objective, Budget::trials(n), &mut ())?;
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
    println!(
        "{}",
        serde_json::json!({
            "method": method, "seed": seed, "trials": study.finished().len(), "epochs": epochs,
            "max_spent": max_spent, "load": std::fs::read_to_string("/proc/loadavg").ok(),
            "dataset": dataset, "pruned": pruned, "total_epochs": spent,
            "seconds": seconds, "complete": curve,
        })
    );
    Ok(())
}
