//! NSGA-II / NSGA-III on ZDT1–3 (30-D) and DTLZ2 (12-D), the hyperplug side of
//! `bench/compare/multiobjective.py`: one JSON line per (problem, seed, checkpoint) with the
//! hypervolume of the complete trials' front against the problem's reference point, and the
//! seconds spent up to that checkpoint in the strategy's `ask` and `tell` (`sampler_s`, as
//! `hyperplug bench` counts it) and in `Study::ask` + `Study::tell` (`study_s`: the strategy
//! plus the in-memory study's bookkeeping, the nearer match to what Optuna's figure includes).
//!
//! ```sh
//! cargo run --release -p hyperplug-nsga --example zdt -- nsga2 zdt1,zdt2,zdt3 0..10 1000,5000
//! cargo run --release -p hyperplug-nsga --example zdt -- nsga3 dtlz2 0..10 1000,5000
//! ```
//! Settings may follow as `key=value` (JSON values): `population=100`.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use hyperplug_core::{
    AskContext, Direction, Error, Params, PluginInfo, Settings, Strategy, StrategyFactory, Study,
    StudyConfig, StudySetup, Trial, hypervolume,
};
use hyperplug_synthetic::Function;

/// Wraps a factory so that its strategies add the seconds of every ask and tell to `seconds`.
struct Timed<'a> {
    inner: &'a dyn StrategyFactory,
    seconds: Arc<Mutex<f64>>,
}

struct TimedStrategy {
    inner: Box<dyn Strategy>,
    seconds: Arc<Mutex<f64>>,
}

impl StrategyFactory for Timed<'_> {
    fn info(&self) -> PluginInfo {
        self.inner.info()
    }
    fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
        Ok(Box::new(TimedStrategy {
            inner: self.inner.create(setup)?,
            seconds: Arc::clone(&self.seconds),
        }))
    }
}

impl TimedStrategy {
    fn add(&self, since: Instant) {
        if let Ok(mut s) = self.seconds.lock() {
            *s += since.elapsed().as_secs_f64();
        }
    }
}

impl Strategy for TimedStrategy {
    fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
        let t = Instant::now();
        let out = self.inner.ask(ctx);
        self.add(t);
        out
    }
    fn tell(&mut self, ctx: &AskContext<'_>, trial: &Trial) -> Result<(), Error> {
        let t = Instant::now();
        let out = self.inner.tell(ctx, trial);
        self.add(t);
        out
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        eprintln!("usage: zdt STRATEGY PROBLEMS SEEDS(a..b) CHECKPOINTS [key=value ...]");
        std::process::exit(2);
    }
    let factory: &dyn StrategyFactory = match args[0].as_str() {
        "nsga2" => &hyperplug_nsga::Nsga2,
        "nsga3" => &hyperplug_nsga::Nsga3,
        other => {
            eprintln!("unknown strategy `{other}`: nsga2 or nsga3");
            std::process::exit(2);
        }
    };
    let (a, b) = args[2].split_once("..").unwrap_or(("0", "10"));
    let seeds: std::ops::Range<u64> = a.parse().unwrap_or(0)..b.parse().unwrap_or(10);
    let checkpoints: Vec<usize> = args[3].split(',').filter_map(|c| c.parse().ok()).collect();
    let mut settings = Settings::default();
    for kv in &args[4..] {
        if let Some((k, v)) = kv.split_once('=') {
            let value = serde_json::from_str(v).unwrap_or(serde_json::Value::String(v.into()));
            settings = settings.with(k, value);
        }
    }
    let last = checkpoints.iter().copied().max().unwrap_or(1000);
    for name in args[1].split(',') {
        let Some(f) = Function::from_name(name).filter(|f| f.is_multi_objective()) else {
            eprintln!("`{name}` is not a multi-objective synthetic function");
            std::process::exit(2);
        };
        let reference = f.reference_point().unwrap_or_default();
        let dirs = vec![Direction::Minimize; reference.len()];
        for seed in seeds.clone() {
            let config = StudyConfig::new(
                name,
                f.space(f.default_dim()).expect("default dim"),
                dirs.clone(),
            )
            .seed(seed);
            let seconds = Arc::new(Mutex::new(0.0));
            let timed = Timed {
                inner: factory,
                seconds: Arc::clone(&seconds),
            };
            let mut study = Study::new(config, &timed, &settings).expect("valid settings");
            let mut study_s = 0.0;
            let mut values: Vec<Vec<f64>> = Vec::with_capacity(last);
            for n in 1..=last {
                let t0 = Instant::now();
                let trial = study.ask().expect("ask");
                study_s += t0.elapsed().as_secs_f64();
                let x: Vec<f64> = (0..f.default_dim())
                    .map(|i| {
                        trial.params[&Function::param_name(i)]
                            .as_f64()
                            .unwrap_or(0.0)
                    })
                    .collect();
                let v = f.evaluate(&x);
                values.push(v.clone());
                let t1 = Instant::now();
                study.tell(trial.number, Ok(v.into())).expect("tell");
                study_s += t1.elapsed().as_secs_f64();
                if checkpoints.contains(&n) {
                    let points: Vec<&[f64]> = values.iter().map(|v| v.as_slice()).collect();
                    let hv = hypervolume(&points, &reference).unwrap_or(f64::NAN);
                    println!(
                        "{}",
                        serde_json::json!({
                            "system": "hyperplug", "strategy": args[0], "settings": settings.to_json(),
                            "problem": name, "seed": seed, "trials": n,
                            "hypervolume": hv, "front_hypervolume": f.front_hypervolume(),
                            "sampler_s": *seconds.lock().expect("not poisoned"), "study_s": study_s,
                        })
                    );
                }
            }
        }
    }
}
