//! Runs a study file of the `mlp` objective in-process and prints each trial and the best, without
//! the host, its store or its plugins: the runner behind docs/benchmarks/nn.md's figures and the
//! CPU side of `examples/nn/gpu-check.sh`. It reads the keys the host
//! reads — `[study]` name, direction(s), trials, seed; `[strategy]` name (`random`, `qmc` or
//! `tpe`) and settings; `[objective]` settings — and refuses a `[space]` (the objective's own is
//! used) or any other objective.
//!
//! ```sh
//! cargo run --release -p hyperplug-nn --example tune -- examples/nn/digits.toml
//! ```

use std::time::Instant;

use hyperplug_core::{
    Budget, Direction, ObjectiveFactory, Observer, Settings, StrategyFactory, Study, StudyConfig,
    Trial, TrialState,
};
use hyperplug_nn::Mlp;
use serde_json::Value as Json;

struct Print(Instant);

impl Observer for Print {
    fn trial_finished(&mut self, study: &Study, trial: &Trial) {
        let elapsed = self.0.elapsed().as_secs_f64();
        let attr = |k: &str| {
            trial
                .user_attrs
                .get(k)
                .and_then(|v| v.as_f64())
                .unwrap_or(f64::NAN)
        };
        match trial.state {
            TrialState::Complete => {
                let best = study.best_trial().map_or(f64::NAN, |t| t.values[0]);
                println!(
                    "trial {:>3}  values {:?}  accuracy_std {:.4}  params {:>7}  train {:>6.2} s  best {best:.4}  [{elapsed:>6.1} s]  {}",
                    trial.number,
                    trial.values,
                    attr("accuracy_std"),
                    attr("params"),
                    attr("train_time"),
                    serde_json::to_string(&trial.params).unwrap_or_default()
                );
            }
            state => println!(
                "trial {:>3}  {state:?} {}  [{elapsed:>6.1} s]",
                trial.number,
                trial.message.clone().unwrap_or_default()
            ),
        }
    }
}

fn table(doc: &Json, key: &str) -> serde_json::Map<String, Json> {
    doc.get(key)
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Keeps candle's matrix products on one thread, as the `hyperplug` host does: candle otherwise
/// splits each over every core even inside a trial's pool. Called first thing in `main`, while
/// no other thread exists to read the environment.
fn limit_candle_threads() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: no other thread exists yet.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", "1") };
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    limit_candle_threads();
    let path = std::env::args().nth(1).ok_or("usage: tune STUDY.toml")?;
    let doc: Json = toml::from_str(&std::fs::read_to_string(&path)?)?;
    if doc.get("space").is_some() {
        return Err("this runner uses the objective's own space; remove [space]".into());
    }
    let study = table(&doc, "study");
    let mut strategy = table(&doc, "strategy");
    let mut objective = table(&doc, "objective");
    let strategy_name = strategy
        .remove("name")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "random".into());
    match objective.remove("name").as_ref().and_then(Json::as_str) {
        Some("mlp") => {}
        other => return Err(format!("this runner runs the mlp objective, not {other:?}").into()),
    }
    let factory: Box<dyn StrategyFactory> = match strategy_name.as_str() {
        "random" => Box::new(hyperplug_random::Random),
        "qmc" => Box::new(hyperplug_qmc::Qmc),
        "tpe" => Box::new(hyperplug_tpe::Tpe),
        other => return Err(format!("unknown strategy `{other}`; use random, qmc or tpe").into()),
    };
    let objective = Mlp.create(&Settings::new(objective))?;
    let directions: Vec<Direction> = match (study.get("direction"), study.get("directions")) {
        (Some(d), _) => vec![d.as_str().unwrap_or("").parse()?],
        (None, Some(Json::Array(ds))) => ds
            .iter()
            .map(|d| d.as_str().unwrap_or("").parse())
            .collect::<Result<_, _>>()?,
        _ => objective.metrics().iter().map(|m| m.direction).collect(),
    };
    let trials = study
        .get("trials")
        .and_then(Json::as_u64)
        .ok_or("[study] trials is required")?;
    let seed = study.get("seed").and_then(Json::as_u64).unwrap_or(0);
    let name = study.get("name").and_then(Json::as_str).unwrap_or("mlp");
    let space = objective
        .space()
        .ok_or("the objective has no space of its own")?;
    let config = StudyConfig::new(name, space, directions).seed(seed);
    let mut study = Study::new(config, &*factory, &Settings::new(strategy))?;
    let started = Instant::now();
    study.optimize(&*objective, Budget::trials(trials), &mut Print(started))?;
    let wall = started.elapsed().as_secs_f64();
    for best in study.best_trials() {
        println!(
            "best: trial {}  values {:?}  accuracy_std {}  params {}  train_time {}\n{}",
            best.number,
            best.values,
            best.user_attrs
                .get("accuracy_std")
                .map(ToString::to_string)
                .unwrap_or_default(),
            best.user_attrs
                .get("params")
                .map(ToString::to_string)
                .unwrap_or_default(),
            best.user_attrs
                .get("train_time")
                .map(ToString::to_string)
                .unwrap_or_default(),
            serde_json::to_string(&best.params)?
        );
    }
    println!("{} trials, wall time {wall:.1} s", study.finished().len());
    Ok(())
}
