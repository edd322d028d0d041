//! The cost of a pruning decision at 10,000 stored intermediate values: 1,000 finished trials of
//! 10 steps each (half complete, half pruned at a random depth), then 200 reports of running
//! trials, each followed by the study's pruning decision, timed per pruner and per store.
//!
//! ```text
//! cargo run --release -p hyperplug-pruners --example decision_overhead [-- TRIALS STEPS]
//! ```
//!
//! Prints one line per store and pruner: the median and the 95th percentile of the decision
//! (`Study::should_prune`: syncing the mirror with the store, then the pruner) and of the report
//! that precedes it (`Study::report`: one store write), in milliseconds.

use std::sync::Arc;
use std::time::Instant;

use hyperplug_core::{
    Direction, Domain, Error, Param, Settings, Space, Storage, Study, StudyConfig, TrialError,
};
use hyperplug_testkit::Sweep;

fn curve(x: f64, s: u64) -> f64 {
    (x - 0.3).powi(2) + 1.0 / s as f64
}

fn x_of(number: u64) -> f64 {
    (number as f64 * 0.618_033_988_749_895).fract()
}

fn fill(store: Arc<dyn Storage>, name: &str, trials: u64, steps: u64) -> Result<(), Error> {
    let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))])?;
    let config = StudyConfig::new(name, space, vec![Direction::Minimize]);
    // `Sweep`: x from the trial number alone, so no strategy cost is in the measure.
    let mut study = Study::open(config, &Sweep, &Settings::default(), store)?;
    for i in 0..trials {
        let t = study.ask()?;
        let x = x_of(t.number);
        // Every other trial stops at a depth from 1 to `steps`, as if pruned.
        let depth = if i % 2 == 0 {
            steps
        } else {
            1 + (i / 2) % steps
        };
        for s in 1..=depth {
            study.report(t.number, s, curve(x, s))?;
        }
        let outcome = if depth == steps {
            Ok(curve(x, steps).into())
        } else {
            Err(TrialError::Pruned)
        };
        study.tell(t.number, outcome)?;
    }
    Ok(())
}

fn quantile(xs: &mut [f64], q: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[((xs.len() - 1) as f64 * q).round() as usize]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let trials = args.first().copied().unwrap_or(1000);
    let steps = args.get(1).copied().unwrap_or(10);
    let dir = std::env::temp_dir().join(format!("hyperplug-overhead-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let sqlite = format!("sqlite://{}", dir.join("study.db").display());
    let pruners: Vec<(&str, Settings)> = vec![
        ("median", Settings::default()),
        ("percentile", Settings::default().with("percentile", 25.0)),
        ("threshold", Settings::default().with("upper", 10.0)),
        (
            "patient",
            Settings::default()
                .with("patience", 2)
                .with("wrapped", serde_json::json!({"name": "median"})),
        ),
        ("wilcoxon", Settings::default()),
        (
            "successive-halving",
            Settings::default().with("max_resource", steps),
        ),
        ("asha", Settings::default()),
        ("hyperband", Settings::default().with("max_resource", steps)),
    ];
    println!(
        "{trials} finished trials x up to {steps} steps ({} intermediate values stored)",
        (0..trials)
            .map(|i| if i % 2 == 0 {
                steps
            } else {
                1 + (i / 2) % steps
            })
            .sum::<u64>()
    );
    println!("store    pruner               decision p50  p95 (ms)   report p50 (ms)");
    for url in ["memory", sqlite.as_str()] {
        let store = hyperplug_storage::open(url)?;
        for (k, (name, settings)) in pruners.iter().enumerate() {
            // One stored study per pruner, so that probes of one do not feed the next.
            let study_name = format!("overhead-{k}");
            fill(store.clone(), &study_name, trials, steps)?;
            let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))])?;
            let config = StudyConfig::new(&study_name, space, vec![Direction::Minimize]);
            let mut study = Study::open(config, &Sweep, &Settings::default(), store.clone())?;
            let factory = hyperplug_pruners::factories()
                .into_iter()
                .find(|f| f.info().name == *name)
                .ok_or("no such pruner")?;
            study.set_pruner(&*factory, settings)?;
            let (mut decide, mut report) = (Vec::new(), Vec::new());
            while decide.len() < 200 {
                let t = study.ask()?;
                let x = x_of(t.number);
                let mut pruned = false;
                for s in 1..=steps {
                    let started = Instant::now();
                    study.report(t.number, s, curve(x, s))?;
                    let reported = Instant::now();
                    pruned = study.should_prune(t.number)?;
                    decide.push(reported.elapsed().as_secs_f64() * 1e3);
                    report.push((reported - started).as_secs_f64() * 1e3);
                    if pruned {
                        break;
                    }
                }
                let outcome = if pruned {
                    Err(TrialError::Pruned)
                } else {
                    Ok(curve(x, steps).into())
                };
                study.tell(t.number, outcome)?;
            }
            let store_name = if url == "memory" { "memory" } else { "sqlite" };
            println!(
                "{store_name:<8} {name:<20} {:>8.3} {:>8.3}   {:>8.3}",
                quantile(&mut decide, 0.5),
                quantile(&mut decide, 0.95),
                quantile(&mut report, 0.5)
            );
        }
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
