//! Do the irrelevant parameters rank last? Synthetic functions padded with parameters they
//! ignore, sampled uniformly at random (300 and 1,000 trials a seed), ranked by fANOVA and PED-ANOVA;
//! counted over seeds 100–119, which no default of this crate was chosen on (the unit tests'
//! mixed problem, seeds 0–20, was the development problem), with Optuna's defaults and with the
//! smaller forest `hyperplug-report` grows ([`REPORT`]). Then the report's forest on a study
//! larger than its bootstrap cap: 3,000 trials ranked by it against uncapped trees.
//!
//! `cargo bench -p hyperplug-importance --bench ranking`; with `HP_IMPORTANCE_DUMP=DIR` it also
//! writes each problem, size and seed's trials to `DIR` as JSON, for
//! `bench/compare/importance.py` to rank the same trials with Optuna's evaluators.

use std::time::Instant;

use hyperplug_core::{Domain, Param, Params, Space};
use hyperplug_importance::{Fanova, Importance, PedAnova};
use hyperplug_synthetic::Function;
use rand::{Rng, SeedableRng};

/// The forest `hyperplug-report` grows by default (its `Options::trees` and `max_samples`):
/// 32 trees of at most 2,000 bootstrap samples each, half the 64 × 2,000 it grew before; timed
/// on the report bench's 10,000-trial study (same ranking there), checked here on held-out
/// problems against the previous forest and a cheaper one that loses quality (32 × 1,000).
const REPORT: (usize, usize) = (32, 2000);

struct Problem {
    name: &'static str,
    function: Function,
    dim: usize,
    /// Irrelevant floats and categoricals added.
    noise_floats: usize,
    noise_choices: usize,
}

fn space(p: &Problem) -> Space {
    let mut params: Vec<Param> = (0..p.dim)
        .map(|i| {
            let (lo, hi) = p.function.bounds(i);
            Param::new(format!("x{i}"), Domain::float(lo, hi))
        })
        .collect();
    params.extend(
        (0..p.noise_floats).map(|i| Param::new(format!("noise{i}"), Domain::float(0.0, 1.0))),
    );
    params.extend(
        (0..p.noise_choices)
            .map(|i| Param::new(format!("noise_c{i}"), Domain::choice(["a", "b", "c"]))),
    );
    Space::new(params).expect("space")
}

fn sample(p: &Problem, space: &Space, n: usize, seed: u64) -> Vec<(Params, f64)> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let params = space.assign(|q| q.domain.from_unit(rng.random::<f64>()));
            let x: Vec<f64> = (0..p.dim)
                .map(|i| params[&format!("x{i}")].as_f64().unwrap_or(0.0))
                .collect();
            let v = p.function.evaluate(&x)[0];
            (params, v)
        })
        .collect()
}

fn noise_last(ranking: &[Importance], noise: usize) -> bool {
    ranking[ranking.len() - noise..]
        .iter()
        .all(|i| i.param.starts_with("noise"))
}

fn main() {
    let problems = [
        Problem {
            name: "branin + 3 floats",
            function: Function::Branin,
            dim: 2,
            noise_floats: 3,
            noise_choices: 0,
        },
        Problem {
            name: "hartmann3 + 2 floats + 1 choice",
            function: Function::Hartmann3,
            dim: 3,
            noise_floats: 2,
            noise_choices: 1,
        },
        Problem {
            name: "hartmann6 + 2 floats + 2 choices",
            function: Function::Hartmann6,
            dim: 6,
            noise_floats: 2,
            noise_choices: 2,
        },
        Problem {
            name: "styblinski-tang 4-D + 4 floats",
            function: Function::StyblinskiTang,
            dim: 4,
            noise_floats: 4,
            noise_choices: 0,
        },
    ];
    let seeds = 100..120u64;
    let dump = std::env::var_os("HP_IMPORTANCE_DUMP").map(std::path::PathBuf::from);
    if let Some(dir) = &dump {
        std::fs::create_dir_all(dir).expect("the dump directory");
    }
    println!(
        "| problem | trials | irrelevant | fANOVA: irrelevant last | fANOVA as the report grows it: irrelevant last | PED-ANOVA: irrelevant last | fANOVA s/seed | report's fANOVA s/seed | PED-ANOVA s/seed |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    // `-- cap`: only the comparison of forests below.
    let only_cap = std::env::args().any(|a| a == "cap");
    let sizes: &[usize] = if only_cap { &[] } else { &[300, 1000] };
    for (p, n) in problems
        .iter()
        .flat_map(|p| sizes.iter().map(move |n| (p, *n)))
    {
        let space = space(p);
        let noise = p.noise_floats + p.noise_choices;
        let (mut f_ok, mut p_ok, mut f_s, mut p_s) = (0, 0, 0.0, 0.0);
        let (mut r_ok, mut r_s) = (0, 0.0);
        for seed in seeds.clone() {
            let trials = sample(p, &space, n, seed);
            if let Some(dir) = &dump {
                let doc = serde_json::json!({
                    "problem": p.name,
                    "trials_count": n,
                    "seed": seed,
                    "irrelevant": noise,
                    "space": &space,
                    "trials": trials.iter().map(|(q, v)| serde_json::json!({"params": q, "value": v})).collect::<Vec<_>>(),
                });
                let file = dir.join(format!("{}-{n}-{seed}.json", p.function.name()));
                std::fs::write(&file, doc.to_string()).expect("write the dump");
            }
            let view: Vec<(&Params, f64)> = trials.iter().map(|(q, v)| (q, *v)).collect();
            let t = Instant::now();
            let f = Fanova {
                seed,
                ..Fanova::default()
            }
            .evaluate(&space, &view)
            .expect("fanova");
            f_s += t.elapsed().as_secs_f64();
            let t = Instant::now();
            let r = Fanova {
                seed,
                trees: REPORT.0,
                max_samples: Some(REPORT.1),
                ..Fanova::default()
            }
            .evaluate(&space, &view)
            .expect("fanova");
            r_s += t.elapsed().as_secs_f64();
            r_ok += usize::from(noise_last(&r, noise));
            let t = Instant::now();
            let g = PedAnova::default()
                .evaluate(&space, &view)
                .expect("ped-anova");
            p_s += t.elapsed().as_secs_f64();
            f_ok += usize::from(noise_last(&f, noise));
            p_ok += usize::from(noise_last(&g, noise));
        }
        let k = seeds.clone().count();
        println!(
            "| {} | {n} | {noise} | {f_ok}/{k} | {r_ok}/{k} | {p_ok}/{k} | {:.3} | {:.3} | {:.3} |",
            p.name,
            f_s / k as f64,
            r_s / k as f64,
            p_s / k as f64
        );
    }
    // The report's forest, its trees capped, on a study larger than the cap: beside the
    // uncapped forest and the report's previous one (64 trees of at most 2,000 samples).
    let p = &problems[2];
    let space = space(p);
    let forests = [
        ("uncapped", Fanova::default().trees, None),
        ("previous report", 64, Some(2000)),
        ("report", REPORT.0, Some(REPORT.1)),
        ("a quarter of the previous work", 32, Some(1000)),
    ];
    let cap_seeds = 100..120u64;
    let mut last = [0usize; 4];
    let mut same_top = [0usize; 4];
    let mut secs = [0.0f64; 4];
    for seed in cap_seeds.clone() {
        let trials = sample(p, &space, 3000, seed);
        let view: Vec<(&Params, f64)> = trials.iter().map(|(q, v)| (q, *v)).collect();
        let top = |r: &[Importance]| {
            r.iter()
                .take(3)
                .map(|i| i.param.clone())
                .collect::<Vec<_>>()
        };
        let mut uncapped_top = Vec::new();
        for (i, (_, trees, max_samples)) in forests.iter().enumerate() {
            let t = Instant::now();
            let ranking = Fanova {
                seed,
                trees: *trees,
                max_samples: *max_samples,
                ..Fanova::default()
            }
            .evaluate(&space, &view)
            .expect("fanova");
            secs[i] += t.elapsed().as_secs_f64();
            last[i] += usize::from(noise_last(&ranking, 4));
            if i == 0 {
                uncapped_top = top(&ranking);
            }
            same_top[i] += usize::from(top(&ranking) == uncapped_top);
        }
    }
    let k = cap_seeds.count();
    println!(
        "\n{}, 3,000 trials, seeds 100-119\n\n| forest | trees | bootstrap cap | irrelevant last | same top three as uncapped | s/seed |\n|---|---:|---:|---:|---:|---:|",
        p.name
    );
    for (i, (name, trees, max_samples)) in forests.iter().enumerate() {
        println!(
            "| {name} | {trees} | {} | {}/{k} | {}/{k} | {:.2} |",
            max_samples.map_or_else(|| "none".to_owned(), |m| m.to_string()),
            last[i],
            same_top[i],
            secs[i] / k as f64
        );
    }
}
