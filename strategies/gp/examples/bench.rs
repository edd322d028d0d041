//! Side-by-side measurements of `gp` (and `tpe` for comparison) in one process, for
//! docs/BENCHMARKS.md's GP section. Prints one JSON line per run.
//!
//! ```sh
//! # Quality: best value at 50 and 100 trials on the synthetic suite, seeds 0..19 (held-out
//! # problems: PROBLEMS=hartmann3,rastrigin10,griewank10).
//! cargo run --release -p hyperplug-gp --example bench -- quality gp,tpe 0 20 [key=value ...]
//! # Speed: sampler seconds per trial (mean of the 50 trials ending at each checkpoint) on a
//! # 10-D sum of squares, and one suggestion at each checkpoint timed on its own.
//! cargo run --release -p hyperplug-gp --example bench -- overhead 100,300,1000,3000
//! # Mixed space: regret at 100 trials on the HPOLib tables with ordinal encoding.
//! cargo run --release -p hyperplug-gp --example bench -- tabular gp,tpe 0 50
//! # Several objectives: hypervolume at checkpoints on ZDT1-2 in 5-D, beside MOTPE and NSGA-II,
//! # in the JSON lines of bench/compare/multiobjective.py.
//! cargo run --release -p hyperplug-gp --example bench -- mo gp,motpe,nsga2 zdt1,zdt2 5 0 20 50,100
//! # Parallel: best value after 60 s of wall time with 1 and 4 workers, 1 s of sleep per trial;
//! # the distances (in length scales) of each suggestion to the nearest running trial.
//! cargo run --release -p hyperplug-gp --example bench -- parallel hartmann6 60 1000 0 5
//! ```

use std::sync::Mutex;
use std::time::{Duration, Instant};

use hyperplug_core::{
    Budget, Direction, Domain, Param, Settings, Space, StrategyFactory, Study, StudyConfig,
};
use hyperplug_synthetic::Function;

/// The issue's six problems, then three held out for confirming defaults (run them by naming
/// them in `PROBLEMS=...`).
const PROBLEMS: [(&str, &str, usize); 9] = [
    ("branin", "branin", 2),
    ("hartmann6", "hartmann6", 6),
    ("rosenbrock10", "rosenbrock", 10),
    ("ackley10", "ackley", 10),
    ("levy10", "levy", 10),
    ("styblinski_tang10", "styblinski_tang", 10),
    ("hartmann3", "hartmann3", 3),
    ("rastrigin10", "rastrigin", 10),
    ("griewank10", "griewank", 10),
];

/// How many of [`PROBLEMS`] run when `PROBLEMS` is not set.
const ISSUE_PROBLEMS: usize = 6;

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
        "tpe" | "motpe" => Box::new(hyperplug_tpe::Tpe),
        "nsga2" => Box::new(hyperplug_nsga::Nsga2),
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
    for (i, (label, name, dim)) in PROBLEMS.into_iter().enumerate() {
        let chosen = match &only {
            Some(o) => o.iter().any(|p| p == label),
            None => i < ISSUE_PROBLEMS,
        };
        if !chosen {
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

/// Several objectives: the hypervolume (reference point 1.1 in each objective) of the
/// complete trials at each checkpoint, and the seconds spent in `Study::ask` and `Study::tell`
/// up to it; the lines of bench/compare/multiobjective.py, problems labelled with their
/// dimension (`zdt1-5d`).
fn multiobjective(
    strategies: &str,
    problems: &str,
    dim: usize,
    seeds: std::ops::Range<u64>,
    checkpoints: &str,
    extra: &[String],
) {
    let checkpoints: Vec<usize> = checkpoints
        .split(',')
        .map(|c| c.parse().expect("trial counts"))
        .collect();
    let last = checkpoints.iter().copied().max().unwrap_or(0);
    for name in problems.split(',') {
        let f = Function::from_name(name)
            .filter(|f| f.is_multi_objective())
            .expect("a multi-objective synthetic function");
        let reference = f.reference_point().expect("a reference point");
        for strategy in strategies.split(',') {
            for seed in seeds.clone() {
                let config = StudyConfig::new(
                    name,
                    f.space(dim).expect("a valid dimension"),
                    vec![Direction::Minimize; reference.len()],
                )
                .seed(seed);
                let set = if strategy == "gp" {
                    settings(extra)
                } else {
                    Settings::default()
                };
                let mut study = Study::new(config, &*factory(strategy), &set).expect("valid");
                let mut values: Vec<Vec<f64>> = Vec::with_capacity(last);
                let mut sampler = 0.0;
                for n in 1..=last {
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
                    let v = f.evaluate(&x);
                    values.push(v.clone());
                    let start = Instant::now();
                    study.tell(trial.number, Ok(v.into())).expect("tells");
                    sampler += start.elapsed().as_secs_f64();
                    if checkpoints.contains(&n) {
                        let points: Vec<&[f64]> = values.iter().map(Vec::as_slice).collect();
                        let hv = hyperplug_core::hypervolume(&points, &reference)
                            .expect("2 or 3 objectives");
                        println!(
                            "{}",
                            serde_json::json!({
                                "system": "hyperplug", "strategy": strategy,
                                "problem": format!("{name}-{dim}d"), "seed": seed, "trials": n,
                                "hypervolume": hv, "sampler_s": sampler,
                            })
                        );
                    }
                }
            }
        }
    }
}

/// What `gp` says at debug level about each suggestion made while trials run: its distance,
/// in length scales, to the nearest running trial.
struct Distances(Mutex<Vec<f64>>);

static DISTANCES: Distances = Distances(Mutex::new(Vec::new()));

impl log::Log for Distances {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Debug
    }
    fn log(&self, record: &log::Record) {
        let text = record.args().to_string();
        let near = text
            .split_once(": ")
            .and_then(|(_, rest)| rest.split_once(": "))
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok());
        if let (Some(v), Ok(mut all)) = (near, self.0.lock()) {
            all.push(v);
        }
    }
    fn flush(&self) {}
}

/// Parallel workers at equal wall time: each trial sleeps `sleep_ms` before its value, so wall
/// time is the evaluations'; 1 worker, then 4 with the Kriging believer, then 4 without
/// (`batch = "none"`). Per run: the trials finished, the best value, and the distances of the
/// suggestions made beside running trials to the nearest of them, in length scales.
fn parallel(
    problems: &str,
    seconds: f64,
    sleep_ms: u64,
    seeds: std::ops::Range<u64>,
    extra: &[String],
) {
    let _ = log::set_logger(&DISTANCES);
    log::set_max_level(log::LevelFilter::Debug);
    for label in problems.split(',') {
        let (name, dim) = PROBLEMS
            .iter()
            .find(|p| p.0 == label)
            .map(|p| (p.1, p.2))
            .expect("a problem of the synthetic suite");
        let f = Function::from_name(name).expect("a catalog function");
        for seed in seeds.clone() {
            for (workers, batch) in [(1, "believer"), (4, "believer"), (4, "none")] {
                let mut config =
                    StudyConfig::new(label, f.space(dim).expect("dim"), vec![Direction::Minimize])
                        .seed(seed);
                config.parallelism = workers;
                let set = settings(extra).with("batch", batch);
                let mut study = Study::new(config, &hyperplug_gp::Gp, &set).expect("valid");
                if let Ok(mut all) = DISTANCES.0.lock() {
                    all.clear();
                }
                let budget = Budget::timeout(Duration::from_secs_f64(seconds));
                study
                    .optimize_fn(budget, |p, _| {
                        std::thread::sleep(Duration::from_millis(sleep_ms));
                        let x: Vec<f64> = (0..dim)
                            .map(|i| p[&Function::param_name(i)].as_f64().unwrap_or(0.0))
                            .collect();
                        Ok(f.evaluate(&x)[0])
                    })
                    .expect("runs");
                let mut near = DISTANCES.0.lock().map(|d| d.clone()).unwrap_or_default();
                near.sort_by(f64::total_cmp);
                let quantile = |q: f64| {
                    near.get((q * (near.len() as f64 - 1.0)).round() as usize)
                        .copied()
                };
                println!(
                    "{}",
                    serde_json::json!({
                        "problem": label, "workers": workers, "batch": batch, "seed": seed,
                        "seconds": seconds, "sleep_ms": sleep_ms,
                        "trials": study.finished().len(),
                        "best": study.best_trial().map_or(f64::NAN, |t| t.values[0]),
                        "asks_beside_running": near.len(),
                        "min_length_scales": quantile(0.0),
                        "p10_length_scales": quantile(0.1),
                        "median_length_scales": quantile(0.5),
                    })
                );
            }
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
        Some("mo") if args.len() >= 7 => {
            let dim = args[3].parse().expect("dimension");
            let first = args[4].parse().expect("first seed");
            let seeds: u64 = args[5].parse().expect("seed count");
            multiobjective(
                &args[1],
                &args[2],
                dim,
                first..first + seeds,
                &args[6],
                &args[7..],
            );
        }
        Some("parallel") if args.len() >= 6 => {
            let seconds = args[2].parse().expect("seconds");
            let sleep_ms = args[3].parse().expect("sleep ms");
            let first = args[4].parse().expect("first seed");
            let seeds: u64 = args[5].parse().expect("seed count");
            parallel(
                &args[1],
                seconds,
                sleep_ms,
                first..first + seeds,
                &args[6..],
            );
        }
        _ => {
            eprintln!(
                "usage: bench quality STRATEGIES FIRST_SEED SEEDS [k=v..] | overhead N,N.. [k=v..] \
                 | tabular STRATEGIES FIRST_SEED SEEDS [k=v..] \
                 | mo STRATEGIES PROBLEMS DIM FIRST_SEED SEEDS CHECKPOINTS [k=v..] \
                 | parallel PROBLEMS SECONDS SLEEP_MS FIRST_SEED SEEDS [k=v..]"
            );
            std::process::exit(2);
        }
    }
}
