//! Side-by-side measurements of `gp` (and `tpe` for comparison) in one process, for
//! docs/BENCHMARKS.md's GP section. Prints one JSON line per run.
//!
//! ```sh
//! # Quality: best value at 50 and 100 trials on the synthetic suite, seeds 0..19.
//! cargo run --release -p hyperplug-gp --example bench -- quality gp,tpe 0 20 [key=value ...]
//! # Speed: sampler seconds per trial (mean of the 50 trials ending at each checkpoint) on a
//! # 10-D sum of squares, and one suggestion at each checkpoint timed on its own.
//! cargo run --release -p hyperplug-gp --example bench -- overhead 100,300,1000,3000
//! # Mixed space: regret at 100 trials on the HPOLib tables with ordinal encoding.
//! cargo run --release -p hyperplug-gp --example bench -- tabular gp,tpe 0 50
//! ```

use std::time::Instant;

use hyperplug_core::{
    Direction, Domain, Param, Settings, Space, StrategyFactory, Study, StudyConfig,
};
use hyperplug_synthetic::Function;

const PROBLEMS: [(&str, &str, usize); 6] = [
    ("branin", "branin", 2),
    ("hartmann6", "hartmann6", 6),
    ("rosenbrock10", "rosenbrock", 10),
    ("ackley10", "ackley", 10),
    ("levy10", "levy", 10),
    ("styblinski_tang10", "styblinski_tang", 10),
];

/// This thread's CPU time in seconds (Linux: `/proc/thread-self/stat`, 10 ms ticks), which
/// other processes' load on a shared machine does not inflate; 0 elsewhere.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the command name's closing parenthesis; utime and stime are the 12th and
    // 13th of them.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    f.iter().sum::<f64>() / 100.0
}

fn factory(name: &str) -> Box<dyn StrategyFactory> {
    match name {
        "tpe" => Box::new(hyperplug_tpe::Tpe),
        _ => Box::new(hyperplug_gp::Gp),
    }
}

fn settings(extra: &[String]) -> Settings {
    let mut s = Settings::default();
    for kv in extra {
        let Some((k, v)) = kv.split_once('=') else {
            eprintln!("settings are key=value, got {kv}");
            std::process::exit(2);
        };
        let value: serde_json::Value =
            serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.to_owned()));
        s = s.with(k, value);
    }
    s
}

fn quality(strategies: &str, first: u64, seeds: u64, extra: &[String]) {
    let only: Option<Vec<String>> = std::env::var("PROBLEMS")
        .ok()
        .map(|p| p.split(',').map(str::to_owned).collect());
    for (label, name, dim) in PROBLEMS {
        if only.as_ref().is_some_and(|o| !o.iter().any(|p| p == label)) {
            continue;
        }
        let f = Function::from_name(name).expect("a catalog function");
        for strategy in strategies.split(',') {
            for seed in first..first + seeds {
                let space = f.space(dim).expect("a valid dimension");
                let config = StudyConfig::new(label, space, vec![Direction::Minimize]).seed(seed);
                let set = if strategy == "gp" {
                    settings(extra)
                } else {
                    Settings::default()
                };
                let mut study = Study::new(config, &*factory(strategy), &set).expect("valid");
                let (mut best, mut best50, mut sampler) = (f64::INFINITY, f64::INFINITY, 0.0);
                let cpu = cpu_s();
                for t in 0..100 {
                    let start = Instant::now();
                    let trial = study.ask().expect("asks");
                    sampler += start.elapsed().as_secs_f64();
                    let x: Vec<f64> = (0..dim)
                        .map(|i| {
                            trial.params[&Function::param_name(i)]
                                .as_f64()
                                .expect("a number")
                        })
                        .collect();
                    let v = f.evaluate(&x)[0];
                    best = best.min(v);
                    if t == 49 {
                        best50 = best;
                    }
                    study.tell(trial.number, Ok(v.into())).expect("tells");
                }
                println!(
                    "{{\"problem\":\"{label}\",\"strategy\":\"{strategy}\",\"seed\":{seed},\
                     \"best50\":{best50},\"best100\":{best},\"sampler_s\":{sampler:.4},\
                     \"cpu_s\":{:.2}}}",
                    cpu_s() - cpu
                );
            }
        }
    }
}

/// The tabular protocol of docs/BENCHMARKS.md on the HPOLib tables with `encoding =
/// "ordinal"` (ints and floats as ordered indices, activations and schedules categorical): a
/// trial's value is one seed's metric drawn from the run's seed and the trial number; a run is
/// charged the mean-over-seeds metric of the configuration it observed as best, as regret to
/// the table's best mean.
fn tabular(strategies: &str, first: u64, seeds: u64, trials: u64, extra: &[String]) {
    use hyperplug_core::ObjectiveFactory as _;
    for table in [
        "naval_propulsion",
        "parkinsons_telemonitoring",
        "protein_structure",
        "slice_localization",
    ] {
        for strategy in strategies.split(',') {
            for seed in first..first + seeds {
                let path = format!("../shared/data/hpolib/{table}.csv.gz");
                let objective = hyperplug_table::TableFactory
                    .create(
                        &Settings::default()
                            .with("path", path)
                            .with("encoding", "ordinal")
                            .with("noise_seed", seed),
                    )
                    .expect("the HPOLib tables (run from the repository root)");
                let space = objective.space().expect("a table has its space");
                let direction = objective.metrics()[0].direction;
                let optimum = objective.optimum().expect("a table knows its optimum")[0];
                let config = StudyConfig::new(table, space, vec![direction]).seed(seed);
                let set = if strategy == "gp" {
                    settings(extra)
                } else {
                    Settings::default()
                };
                let mut study = Study::new(config, &*factory(strategy), &set).expect("valid");
                let mut best: Option<(f64, f64)> = None;
                for _ in 0..trials {
                    let trial = study.ask().expect("asks");
                    let mut ctx = hyperplug_testkit::RecordingContext::new(trial.number);
                    let e = objective
                        .evaluate(&trial.params, &mut ctx)
                        .expect("in the table");
                    let loss = direction.to_loss(e.values[0]);
                    let mean = e
                        .attrs
                        .iter()
                        .find(|(k, _)| k.starts_with("mean_"))
                        .and_then(|(_, v)| v.as_f64())
                        .expect("the configuration's mean");
                    if best.is_none_or(|b| loss < b.0) {
                        best = Some((loss, mean));
                    }
                    study.tell(trial.number, Ok(e)).expect("tells");
                }
                let regret = best.map_or(f64::NAN, |b| {
                    direction.to_loss(b.1) - direction.to_loss(optimum)
                });
                println!(
                    "{{\"problem\":\"hpolib/{table}\",\"strategy\":\"{strategy}\",\"seed\":{seed},\
                     \"regret\":{regret}}}"
                );
            }
        }
    }
}

fn overhead(checkpoints: &str, extra: &[String]) {
    let checkpoints: Vec<usize> = checkpoints
        .split(',')
        .map(|c| c.parse().expect("trial counts"))
        .collect();
    let last = checkpoints.iter().copied().max().unwrap_or(0);
    let space = Space::new(
        (0..10)
            .map(|i| Param::new(format!("x{i}"), Domain::float(-5.0, 5.0)))
            .collect(),
    )
    .expect("valid");
    let config = StudyConfig::new("overhead", space.clone(), vec![Direction::Minimize]).seed(0);
    let set = settings(extra);
    let mut study = Study::new(config, &hyperplug_gp::Gp, &set).expect("valid");
    let mut times = Vec::with_capacity(last);
    let mut cpu_marks = vec![cpu_s()];
    let total = Instant::now();
    for n in 0..last {
        let start = Instant::now();
        let trial = study.ask().expect("asks");
        let v: f64 = trial
            .params
            .values()
            .map(|v| v.as_f64().unwrap_or(0.0).powi(2))
            .sum();
        study.tell(trial.number, Ok(v.into())).expect("tells");
        times.push(start.elapsed().as_secs_f64());
        cpu_marks.push(cpu_s());
        if checkpoints.contains(&(n + 1)) {
            let window = &times[n + 1 - 50.min(n + 1)..];
            let mean = window.iter().sum::<f64>() / window.len() as f64;
            let cpu_mean =
                (cpu_marks[n + 1] - cpu_marks[n + 1 - window.len()]) / window.len() as f64;
            // One more suggestion from a fresh strategy on this whole history: the cost of a
            // single ask at this size, including the first hyperparameter fit.
            let setup = hyperplug_core::StudySetup {
                space: &space,
                directions: &[Direction::Minimize],
                seed: 0,
                settings: &set,
            };
            let mut fresh = hyperplug_gp::Gp.create(&setup).expect("valid");
            let ctx = hyperplug_core::AskContext {
                space: &space,
                directions: &[Direction::Minimize],
                seed: 0,
                trials: study.finished(),
                running: &[],
                number: (n + 1) as u64,
            };
            let (start, cpu0) = (Instant::now(), cpu_s());
            fresh.ask(&ctx).expect("asks");
            let single = start.elapsed().as_secs_f64();
            let single_cpu = cpu_s() - cpu0;
            println!(
                "{{\"trials\":{},\"sampler_ms_per_trial\":{:.3},\"cpu_ms_per_trial\":{:.1},\
                 \"cold_ask_ms\":{:.3},\"cold_ask_cpu_ms\":{:.0},\"elapsed_s\":{:.3},\
                 \"cpu_s\":{:.2},\"best\":{:.6}}}",
                n + 1,
                1e3 * mean,
                1e3 * cpu_mean,
                1e3 * single,
                1e3 * single_cpu,
                total.elapsed().as_secs_f64(),
                cpu_marks[n + 1] - cpu_marks[0],
                study.best_trial().map_or(f64::NAN, |t| t.values[0])
            );
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("quality") if args.len() >= 4 => {
            let first = args[2].parse().expect("first seed");
            let seeds = args[3].parse().expect("seed count");
            quality(&args[1], first, seeds, &args[4..]);
        }
        Some("tabular") if args.len() >= 4 => {
            let first = args[2].parse().expect("first seed");
            let seeds = args[3].parse().expect("seed count");
            tabular(&args[1], first, seeds, 100, &args[4..]);
        }
        Some("overhead") if args.len() >= 2 => overhead(&args[1], &args[2..]),
        _ => {
            eprintln!(
                "usage: bench quality STRATEGIES FIRST_SEED SEEDS [k=v..] | overhead N,N.. [k=v..]"
            );
            std::process::exit(2);
        }
    }
}
