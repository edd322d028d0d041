//! The report of a 10,000-trial study: how long `render` takes and how large the page is
//! (the targets: under 1 s and under 5 MB), with the importances' share of the time.
//!
//! `cargo bench -p hyperplug-report` (optionally `-- TRIALS OUT.html` to size the study and
//! keep the page).

use std::time::Instant;

use hyperplug_core::{Direction, Domain, Param, Space, Trial, TrialState, Value};
use hyperplug_importance::{Fanova, PedAnova};
use hyperplug_report::{Importances, Options, figures, render};
use hyperplug_schema::{StudyData, StudyInfo, TrialData};
use rand::{Rng, SeedableRng};

/// A tuning study as a pruning sampler leaves it: six parameters (log, linear, int, stepped,
/// categorical, conditional), ten intermediate values per trial, 15% pruned, 3% failed.
fn study(n: u64) -> StudyData {
    let space = Space::new(vec![
        Param::new("lr", Domain::float(1e-5, 1e-1).log()),
        Param::new("dropout", Domain::float(0.0, 0.5)),
        Param::new("layers", Domain::int(1, 4)),
        Param::new("batch", Domain::choice([32, 64, 128, 256])),
        Param::new("optimizer", Domain::choice(["adam", "sgd", "rmsprop"])),
        Param::new("momentum", Domain::float(0.5, 0.99).step(0.01)).when("optimizer", ["sgd"]),
    ])
    .expect("space");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let mut info = StudyInfo::new("bench-10k", vec![Direction::Minimize], space.clone());
    info.strategy = Some("tpe".into());
    info.objective = Some("command".into());
    let trials = (0..n)
        .map(|i| {
            let params = space.assign(|p| p.domain.from_unit(rng.random::<f64>()));
            let lr = params["lr"].as_f64().unwrap_or(1e-3).log10();
            let opt = match params["optimizer"].as_str() {
                Some("adam") => 0.0,
                Some("sgd") => 0.1,
                _ => 0.05,
            };
            let m = params
                .get("momentum")
                .and_then(Value::as_f64)
                .unwrap_or(0.9);
            let loss = 0.1 * (lr + 3.0).powi(2)
                + opt
                + 0.2 * (m - 0.9).abs()
                + 0.05 * params["dropout"].as_f64().unwrap_or(0.0)
                + 0.02 * rng.random::<f64>();
            let mut t = Trial::running(i, params, 1_750_000_000_000 + i * 900);
            t.intermediate = (0..10u64)
                .map(|s| (s, loss + 0.5 / (s as f64 + 1.0)))
                .collect();
            t.duration_s = Some(2.0 + 6.0 * rng.random::<f64>());
            let r: f64 = rng.random();
            if r < 0.03 {
                t.state = TrialState::Failed;
                t.message = Some("CUDA out of memory".into());
                t.intermediate.truncate(3);
            } else if r < 0.18 {
                t.state = TrialState::Pruned;
                t.intermediate.truncate(4);
                t.message = Some("pruned at step 3".into());
            } else {
                t.state = TrialState::Complete;
                t.values = vec![loss];
            }
            TrialData::from(&t)
        })
        .collect();
    StudyData::new(info, trials)
}

/// This process's CPU time (user and system, every thread) in seconds, from /proc on Linux: on
/// a machine shared with other work, wall-clock time varies with the load and this does less.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let n: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let s = study(n);
    let mut options = Options::default();
    if let Some(t) = std::env::var("HP_TREES").ok().and_then(|v| v.parse().ok()) {
        options.trees = t;
    }
    if let Some(m) = std::env::var("HP_MAX_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        options.max_samples = Some(m);
    }
    let runs = 5;
    let mut times = Vec::new();
    let mut html = String::new();
    let cpu_before = cpu_seconds();
    for _ in 0..runs {
        let t = Instant::now();
        html = render(&s, &options).expect("render");
        times.push(t.elapsed().as_secs_f64());
    }
    let cpu = cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| (after - before) / runs as f64);
    times.sort_by(f64::total_cmp);
    let t = Instant::now();
    let imp = Importances::of(&s, 0, options.trees, options.max_samples);
    let importance_s = t.elapsed().as_secs_f64();
    let samples: Vec<(&hyperplug_core::Params, f64)> =
        s.complete().map(|t| (&t.params, t.values[0])).collect();
    let t = Instant::now();
    let _ = PedAnova::default().evaluate(&s.study.space, &samples);
    let ped_s = t.elapsed().as_secs_f64();
    let one_thread = |trees: usize| {
        let t = Instant::now();
        let _ = Fanova {
            trees,
            ..Fanova::default()
        }
        .evaluate(&s.study.space, &samples);
        t.elapsed().as_secs_f64()
    };
    let fanova_8_s = one_thread(8);
    let t = Instant::now();
    let (figs, _) = figures(
        &s,
        &Options {
            importance: false,
            ..Options::default()
        },
    )
    .expect("figures");
    let plots_s = t.elapsed().as_secs_f64();
    println!(
        "report of {n} trials ({} complete, {} pruned, {} failed): render median {:.3} s (min {:.3}, max {:.3}) over {runs} runs, {} CPU s per render; {:.2} MB ({} bytes)",
        s.counts.complete,
        s.counts.pruned,
        s.counts.failed,
        times[runs / 2],
        times[0],
        times[runs - 1],
        cpu.map_or_else(|| "?".to_owned(), |c| format!("{c:.3}")),
        html.len() as f64 / 1e6,
        html.len()
    );
    println!(
        "  of which importances (fANOVA {} trees of at most {:?} samples + PED-ANOVA) {importance_s:.3} s, figures without importances {plots_s:.3} s ({} figures); PED-ANOVA alone {ped_s:.3} s, fANOVA with 8 trees {fanova_8_s:.3} s",
        options.trees,
        options.max_samples,
        figs.len()
    );
    if let Ok(ranking) = &imp.fanova {
        let names: Vec<String> = ranking
            .iter()
            .map(|i| format!("{} {:.3}", i.param, i.importance))
            .collect();
        println!("  fANOVA ranking: {}", names.join(", "));
    }
    if let Ok(ranking) = &imp.ped_anova {
        let names: Vec<String> = ranking
            .iter()
            .map(|i| format!("{} {:.3}", i.param, i.importance))
            .collect();
        println!("  PED-ANOVA ranking: {}", names.join(", "));
    }
    if let Some(out) = args.get(1) {
        std::fs::write(out, &html).expect("write the page");
        println!("  written to {out}");
    }
}
