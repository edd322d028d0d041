//! TPE on the tabular benchmarks in `shared/data` (NAS-Bench-201, HPOLib), with the protocol of
//! `shared/reference/optuna-tabular.md`: every parameter is categorical (numeric choices
//! sorted); a trial's value is the metric of one training seed drawn at random per trial; a
//! run's result is the mean-over-seeds metric of the configuration it observed best, and its
//! regret the distance of that to the table's best mean.
//!
//! ```sh
//! cargo run --release -p hyperplug-tpe --example tabular -- --data ../shared/data --seeds 50
//! cargo run --release -p hyperplug-tpe --example tabular -- --tables nasbench201/cifar10 \
//!     --settings '{"candidates": 48}'
//! # The HPOLib tables with numeric parameters as integer indices, two settings side by side
//! # (`--per-seed` also writes each run's regret to stderr),
//! # on development seeds 0..199:
//! cargo run --release -p hyperplug-tpe --example tabular -- --encoding ordinal --seeds 200 \
//!     --tables hpolib/parkinsons_telemonitoring --variant a='{}' --variant b='{"gamma": 0.15}'
//! ```

use std::collections::HashMap;
use std::io::{BufRead, BufReader};

use hyperplug_core::{
    Budget, Direction, Domain, Param, Settings, Space, Study, StudyConfig, TrialError, TrialState,
    Value, trial_rng,
};
use hyperplug_tpe::Tpe;
use rand::Rng;

const TABLES: [&str; 7] = [
    "nasbench201/cifar10",
    "nasbench201/cifar100",
    "nasbench201/imagenet16-120",
    "hpolib/naval_propulsion",
    "hpolib/parkinsons_telemonitoring",
    "hpolib/protein_structure",
    "hpolib/slice_localization",
];

fn arg(args: &[String], key: &str) -> Option<String> {
    args.iter()
        .position(|a| a == key)
        .and_then(|i| args.get(i + 1).cloned())
}

/// One table: its space, and per configuration (the choice indices) the metric of each seed.
struct Table {
    space: Space,
    direction: Direction,
    /// Per parameter: the choices in the order of the space, as written in the CSV.
    labels: Vec<Vec<String>>,
    metrics: HashMap<Vec<u16>, Vec<f64>>,
    optimum: f64,
}

fn load(data: &str, name: &str, ordinal: bool) -> Table {
    let (bench, table) = name.split_once('/').expect("bench/table");
    let spec: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{data}/{bench}/space.json")).expect("space.json"),
    )
    .expect("space.json is JSON");
    let main = spec["main_metric"].as_str().expect("main_metric");
    let direction = match spec["metrics"][main].as_str() {
        Some("maximize") => Direction::Maximize,
        _ => Direction::Minimize,
    };
    let mut params = Vec::new();
    let mut labels = Vec::new();
    for (pname, p) in spec["params"].as_object().expect("params") {
        let mut choices: Vec<serde_json::Value> = p["choices"].as_array().expect("choices").clone();
        let numeric = choices.iter().all(|c| c.is_number());
        if numeric {
            choices.sort_by(|a, b| {
                a.as_f64()
                    .unwrap_or(0.0)
                    .total_cmp(&b.as_f64().unwrap_or(0.0))
            });
        }
        let values: Vec<Value> = choices
            .iter()
            .map(|c| match c {
                serde_json::Value::Number(n) if n.is_i64() => Value::Int(n.as_i64().unwrap_or(0)),
                serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
                other => Value::Str(other.as_str().unwrap_or_default().to_owned()),
            })
            .collect();
        labels.push(values.iter().map(|v| v.to_string()).collect::<Vec<_>>());
        // The ordinal encoding: a numeric parameter as an index into its sorted choices.
        let domain = if ordinal && numeric {
            Domain::int(0, values.len() as i64 - 1)
        } else {
            Domain::Categorical { choices: values }
        };
        params.push(Param::new(pname.clone(), domain));
    }
    let names: Vec<String> = params.iter().map(|p| p.name.clone()).collect();
    let space = Space::new(params).expect("valid space");

    let file = std::fs::File::open(format!("{data}/{bench}/{table}.csv.gz")).expect("table file");
    let mut lines = BufReader::new(flate2::read::GzDecoder::new(file)).lines();
    let header: Vec<String> = lines
        .next()
        .expect("header")
        .expect("utf-8")
        .split(',')
        .map(str::to_owned)
        .collect();
    let cols: Vec<usize> = names
        .iter()
        .map(|n| header.iter().position(|h| h == n).expect("param column"))
        .collect();
    let metric_col = header
        .iter()
        .position(|h| h == main)
        .expect("metric column");
    let mut metrics: HashMap<Vec<u16>, Vec<f64>> = HashMap::new();
    for line in lines {
        let line = line.expect("utf-8");
        let fields: Vec<&str> = line.split(',').collect();
        let key: Vec<u16> = cols
            .iter()
            .zip(&labels)
            .map(|(&c, ls)| {
                let f = fields[c];
                // Numeric labels may be written differently ("8" vs "8.0"): compare as numbers.
                ls.iter()
                    .position(|l| {
                        l == f
                            || matches!((l.parse::<f64>(), f.parse::<f64>()), (Ok(a), Ok(b)) if a == b)
                    })
                    .unwrap_or_else(|| panic!("value {f} not among {ls:?}")) as u16
            })
            .collect();
        let v: f64 = fields[metric_col].parse().expect("a number");
        metrics.entry(key).or_default().push(v);
    }
    let optimum = metrics
        .values()
        .map(|v| direction.to_loss(v.iter().sum::<f64>() / v.len() as f64))
        .fold(f64::INFINITY, f64::min);
    Table {
        space,
        direction,
        labels,
        metrics,
        optimum: direction.to_loss(optimum),
    }
}

/// One run: returns the regret of the configuration observed best.
fn run(t: &Table, seed: u64, trials: u64, settings: &Settings) -> f64 {
    let config = StudyConfig::new("table", t.space.clone(), vec![t.direction]).seed(seed);
    let mut study = Study::new(config, &Tpe, settings).expect("valid settings");
    let key = |p: &hyperplug_core::Params| -> Vec<u16> {
        t.space
            .params()
            .iter()
            .zip(&t.labels)
            .map(|(param, ls)| match (&param.domain, &p[&param.name]) {
                (Domain::Int { .. }, Value::Int(i)) => *i as u16,
                (_, v) => {
                    let s = v.to_string();
                    ls.iter().position(|l| *l == s).unwrap_or(0) as u16
                }
            })
            .collect()
    };
    study
        .optimize_fn(Budget::trials(trials), |p, ctx| {
            let seeds = t
                .metrics
                .get(&key(p))
                .ok_or_else(|| TrialError::failed("configuration not in the table"))?;
            // The noise: one training seed per trial, from a stream of its own.
            let mut rng = trial_rng(seed ^ 0x5EED_0000_0000, ctx.number());
            Ok(seeds[rng.random_range(0..seeds.len())])
        })
        .expect("bounded");
    let best = study
        .finished()
        .iter()
        .filter(|x| x.state == TrialState::Complete)
        .fold(None, |b: Option<&hyperplug_core::Trial>, x| match b {
            Some(b) if !t.direction.better(x.values[0], b.values[0]) => Some(b),
            _ => Some(x),
        })
        .expect("some trial completed");
    let seeds = &t.metrics[&key(&best.params)];
    let mean = seeds.iter().sum::<f64>() / seeds.len() as f64;
    (t.optimum - mean).abs()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let data = arg(&args, "--data").unwrap_or_else(|| "../shared/data".into());
    let seeds: u64 = arg(&args, "--seeds").map_or(50, |s| s.parse().expect("--seeds N"));
    let first: u64 = arg(&args, "--first-seed").map_or(0, |s| s.parse().expect("--first-seed N"));
    let trials: u64 = arg(&args, "--trials").map_or(100, |s| s.parse().expect("--trials N"));
    let jobs: usize = arg(&args, "--jobs").map_or(1, |s| s.parse().expect("--jobs N"));
    let ordinal = arg(&args, "--encoding").is_some_and(|e| e == "ordinal");
    // `--per-seed`: each run's regret on stderr too, as `table,variant,seed,regret`.
    let per_seed = args.iter().any(|a| a == "--per-seed");
    // `--settings JSON` once, or `--variant LABEL=JSON` for several settings side by side.
    let mut variants: Vec<(String, Settings)> = args
        .windows(2)
        .filter(|w| w[0] == "--variant")
        .map(|w| {
            let (label, json) = w[1].split_once('=').expect("--variant LABEL=JSON");
            let s = Settings::from_json(json).expect("--variant takes a JSON object");
            (label.to_owned(), s)
        })
        .collect();
    if variants.is_empty() {
        let settings = arg(&args, "--settings")
            .map(|s| Settings::from_json(&s).expect("--settings takes a JSON object"))
            .unwrap_or_default();
        variants.push(("tpe".into(), settings));
    }
    let tables = arg(&args, "--tables");
    println!("table,variant,seeds,trials,mean_regret,se_regret,median_regret");
    for name in TABLES {
        if tables
            .as_ref()
            .is_some_and(|ts| !ts.split(',').any(|x| x == name))
        {
            continue;
        }
        let t = load(&data, name, ordinal);
        for (label, settings) in &variants {
            let all: Vec<u64> = (first..first + seeds).collect();
            let mut r: Vec<f64> = std::thread::scope(|scope| {
                let handles: Vec<_> = all
                    .chunks(all.len().div_ceil(jobs.max(1)).max(1))
                    .map(|chunk| {
                        let t = &t;
                        scope.spawn(move || {
                            chunk
                                .iter()
                                .map(|&s| {
                                    let r = run(t, s, trials, settings);
                                    if per_seed {
                                        eprintln!("{name},{label},{s},{r:e}");
                                    }
                                    r
                                })
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().expect("a run panicked"))
                    .collect()
            });
            let n = r.len() as f64;
            let mean = r.iter().sum::<f64>() / n;
            let var = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
            r.sort_by(f64::total_cmp);
            println!(
                "{name},{label},{seeds},{trials},{mean:.6e},{:.6e},{:.6e}",
                (var / n).sqrt(),
                r[r.len() / 2]
            );
        }
    }
}
