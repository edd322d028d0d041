//! TPE on the conditional problems of `tests/conditional` (`plateau` for development, `models`
//! for validation), beside `bench/compare/conditional.py` for Optuna. Writes one JSON line per
//! run in the harness's format (`hyperplug bench report` and `bench/compare/summary.py` read
//! them) and prints mean ± standard error of the best value and the share of runs stuck outside
//! the optimum's branch.
//!
//! ```sh
//! cargo run --release -p hyperplug-tpe --example conditional -- --seeds 1000..1500 \
//!     --variant tpe='{}' --variant tpe-indep='{"multivariate": false}' --out results/cond.jsonl
//! ```
//!
//! Options: `--problems plateau,models`, `--seeds A..B`, `--trials 100`, `--jobs 1`, and any
//! number of `--variant LABEL=SETTINGS` (JSON; default the two above).

#[path = "../tests/conditional/mod.rs"]
mod conditional;

use std::io::Write;

use hyperplug_core::{Budget, Direction, Settings, Study, StudyConfig};
use hyperplug_tpe::Tpe;

use conditional::{PROBLEMS, Problem};

fn arg(args: &[String], key: &str) -> Option<String> {
    args.iter()
        .position(|a| a == key)
        .and_then(|i| args.get(i + 1).cloned())
}

/// One run: the best value and the harness's JSON line.
fn run(
    problem: &Problem,
    label: &str,
    settings: &serde_json::Value,
    seed: u64,
    trials: u64,
) -> (f64, String) {
    let config =
        StudyConfig::new(problem.name, (problem.space)(), vec![Direction::Minimize]).seed(seed);
    let mut s = Settings::default();
    for (k, v) in settings.as_object().expect("settings are a JSON object") {
        s = s.with(k, v.clone());
    }
    let start = std::time::Instant::now();
    let mut study = Study::new(config, &Tpe, &s).expect("valid settings");
    study
        .optimize_fn(Budget::trials(trials), |p, _| Ok((problem.value)(p)))
        .expect("the objective never fails");
    let (mut best, mut best_trial) = (f64::INFINITY, 0);
    let mut so_far = Vec::with_capacity(trials as usize);
    for t in study.finished() {
        if let Some(&v) = t.values.first()
            && v < best
        {
            (best, best_trial) = (v, t.number);
        }
        so_far.push(best);
    }
    let line = serde_json::json!({
        "kind": "quality",
        "system": "hyperplug",
        "system_version": env!("CARGO_PKG_VERSION"),
        "strategy": label,
        "strategy_name": "tpe",
        "strategy_settings": settings,
        "problem": format!("conditional/{}", problem.name),
        "objective": "conditional",
        "problem_settings": {},
        "direction": "minimize",
        "seed": seed,
        "budget": trials,
        "trials": trials,
        "complete": trials,
        "failed": 0,
        "best_value": best,
        "best_observed": best,
        "best_trial": best_trial,
        "optimum": problem.optimum,
        "regret": best - problem.optimum,
        "best_so_far": so_far,
        "wall_s": start.elapsed().as_secs_f64(),
    });
    (best, line.to_string())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (a, b) = arg(&args, "--seeds")
        .unwrap_or_else(|| "0..40".into())
        .split_once("..")
        .map(|(a, b)| {
            (
                a.parse::<u64>().expect("seed"),
                b.parse::<u64>().expect("seed"),
            )
        })
        .expect("--seeds A..B");
    let trials: u64 = arg(&args, "--trials").map_or(100, |t| t.parse().expect("trials"));
    let jobs: usize = arg(&args, "--jobs").map_or(1, |j| j.parse().expect("jobs"));
    let wanted = arg(&args, "--problems");
    let mut variants: Vec<(String, serde_json::Value)> = args
        .windows(2)
        .filter(|w| w[0] == "--variant")
        .map(|w| {
            let (label, json) = w[1].split_once('=').expect("--variant LABEL=JSON");
            (
                label.to_owned(),
                serde_json::from_str(json).expect("JSON settings"),
            )
        })
        .collect();
    if variants.is_empty() {
        variants = vec![
            ("tpe".into(), serde_json::json!({})),
            (
                "tpe-indep".into(),
                serde_json::json!({"multivariate": false}),
            ),
        ];
    }
    let mut out = arg(&args, "--out").map(|path| std::fs::File::create(path).expect("--out"));
    for problem in PROBLEMS.iter().filter(|p| {
        wanted
            .as_deref()
            .is_none_or(|w| w.split(',').any(|n| n == p.name))
    }) {
        for (label, settings) in &variants {
            let seeds: Vec<u64> = (a..b).collect();
            let results: Vec<(f64, String)> = std::thread::scope(|scope| {
                let chunks: Vec<_> = seeds
                    .chunks(seeds.len().div_ceil(jobs.max(1)).max(1))
                    .map(|chunk| {
                        scope.spawn(move || {
                            chunk
                                .iter()
                                .map(|&seed| run(problem, label, settings, seed, trials))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                chunks
                    .into_iter()
                    .flat_map(|h| h.join().expect("a run panicked"))
                    .collect()
            });
            if let Some(f) = out.as_mut() {
                for (_, line) in &results {
                    writeln!(f, "{line}").expect("write");
                }
            }
            let n = results.len() as f64;
            let mean = results.iter().map(|r| r.0).sum::<f64>() / n;
            let var = results.iter().map(|r| (r.0 - mean).powi(2)).sum::<f64>() / (n - 1.0);
            let stuck = results.iter().filter(|r| r.0 >= problem.trap).count() as f64 / n;
            println!(
                "{:8} {:24} mean best {:.5} ± {:.5}  stuck {:.3}  ({} seeds)",
                problem.name,
                label,
                mean,
                (var / n).sqrt(),
                stuck,
                results.len()
            );
        }
    }
}
