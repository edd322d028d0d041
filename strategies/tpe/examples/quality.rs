//! Measures TPE on the synthetic suite and its sampler time.
//!
//! ```sh
//! # Median best value after 100 trials over 20 seeds on the six problems of issue 6:
//! cargo run --release -p hyperplug-tpe --example quality -- quality --seeds 20 --trials 100
//! # Sampler time (ask + tell, trivial objective) on a 10-D float space:
//! cargo run --release -p hyperplug-tpe --example quality -- speed --trials 1000,10000
//! # Any setting can be passed as JSON:
//! cargo run --release -p hyperplug-tpe --example quality -- quality --settings '{"candidates": 64}'
//! ```
//!
//! Seeds are 0..N; the study seed is the run's seed. Prints one line per problem.

use std::time::Instant;

use hyperplug_core::{
    Budget, Direction, Domain, Param, Params, Settings, Space, Study, StudyConfig, TrialState,
};
use hyperplug_synthetic::Function;
use hyperplug_tpe::Tpe;

const PROBLEMS: [(&str, usize); 6] = [
    ("branin", 2),
    ("hartmann6", 6),
    ("rosenbrock", 10),
    ("ackley", 10),
    ("levy", 10),
    ("styblinski_tang", 10),
];

fn arg(args: &[String], key: &str) -> Option<String> {
    args.iter()
        .position(|a| a == key)
        .and_then(|i| args.get(i + 1).cloned())
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        0.5 * (xs[n / 2 - 1] + xs[n / 2])
    }
}

fn point(p: &Params, dim: usize) -> Vec<f64> {
    (0..dim)
        .map(|i| p[&Function::param_name(i)].as_f64().unwrap_or(f64::NAN))
        .collect()
}

fn run(f: Function, dim: usize, seed: u64, trials: u64, settings: &Settings) -> f64 {
    let space = f.space(dim).expect("valid dim");
    let config = StudyConfig::new(f.name(), space, vec![Direction::Minimize]).seed(seed);
    let mut study = Study::new(config, &Tpe, settings).expect("valid settings");
    study
        .optimize_fn(Budget::trials(trials), |p, _| {
            Ok(f.evaluate(&point(p, dim))[0])
        })
        .expect("bounded");
    study
        .finished()
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .map(|t| t.values[0])
        .fold(f64::INFINITY, f64::min)
}

fn quality(args: &[String], settings: &Settings) {
    let seeds: u64 = arg(args, "--seeds").map_or(20, |s| s.parse().expect("--seeds N"));
    let first: u64 = arg(args, "--first-seed").map_or(0, |s| s.parse().expect("--first-seed N"));
    let trials: u64 = arg(args, "--trials").map_or(100, |s| s.parse().expect("--trials N"));
    let only = arg(args, "--problems");
    println!("problem,dim,seeds,trials,median_best,mean_best,seconds");
    for (name, dim) in PROBLEMS {
        if only
            .as_ref()
            .is_some_and(|o| !o.split(',').any(|x| x == name))
        {
            continue;
        }
        let f = Function::from_name(name).expect("known");
        let start = Instant::now();
        let mut best: Vec<f64> = (first..first + seeds)
            .map(|seed| run(f, dim, seed, trials, settings))
            .collect();
        let mean = best.iter().sum::<f64>() / best.len() as f64;
        println!(
            "{name},{dim},{seeds},{trials},{:.6},{mean:.6},{:.2}",
            median(&mut best),
            start.elapsed().as_secs_f64()
        );
    }
}

/// Sampler time: ask + tell around a trivial objective on `[0, 1]^10`, per trial, with the
/// mean over the last 100 trials before each checkpoint.
fn speed(args: &[String], settings: &Settings) {
    let list = arg(args, "--trials").unwrap_or_else(|| "1000,10000".into());
    let dim: usize = arg(args, "--dim").map_or(10, |s| s.parse().expect("--dim N"));
    let seed: u64 = arg(args, "--seed").map_or(1, |s| s.parse().expect("--seed N"));
    println!("trials,total_sampler_s,ms_per_trial_last100,best");
    for n in list
        .split(',')
        .map(|s| s.parse::<usize>().expect("trial counts"))
    {
        let params = (0..dim)
            .map(|i| Param::new(format!("x{i}"), Domain::float(0.0, 1.0)))
            .collect();
        let space = Space::new(params).expect("valid");
        let config = StudyConfig::new("speed", space, vec![Direction::Minimize]).seed(seed);
        let random = arg(args, "--strategy").is_some_and(|s| s == "random");
        let factory: &dyn hyperplug_core::StrategyFactory = if random {
            &hyperplug_random::Random
        } else {
            &Tpe
        };
        let mut study = Study::new(config, factory, settings).expect("valid settings");
        let mut times = Vec::with_capacity(n);
        let mut best = f64::INFINITY;
        for _ in 0..n {
            let t0 = Instant::now();
            let trial = study.ask().expect("ask");
            let t_ask = t0.elapsed();
            // Trivial objective: distance to the centre.
            let v: f64 = trial
                .params
                .values()
                .map(|x| (x.as_f64().unwrap_or(0.0) - 0.5).powi(2))
                .sum();
            best = best.min(v);
            let t1 = Instant::now();
            study.tell(trial.number, Ok(v.into())).expect("tell");
            times.push((t_ask + t1.elapsed()).as_secs_f64());
        }
        let total: f64 = times.iter().sum();
        let tail = &times[n.saturating_sub(100)..];
        let per = tail.iter().sum::<f64>() / tail.len() as f64;
        println!("{n},{total:.4},{:.4},{best:.3e}", per * 1e3);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = arg(&args, "--settings")
        .map(|s| Settings::from_json(&s).expect("--settings takes a JSON object"))
        .unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("speed") => speed(&args, &settings),
        _ => quality(&args, &settings),
    }
}
