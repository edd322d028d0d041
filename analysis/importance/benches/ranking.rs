//! Do the irrelevant parameters rank last? Synthetic functions padded with parameters they
//! ignore, sampled uniformly at random (300 and 1,000 trials a seed), ranked by fANOVA and PED-ANOVA;
//! counted over seeds 100–119, which no default of this crate was chosen on (the unit tests'
//! mixed problem, seeds 0–20, was the development problem). Then the report's bootstrap cap:
//! 3,000 trials ranked with trees of at most 2,000 samples against uncapped trees.
//!
//! `cargo bench -p hyperplug-importance --bench ranking`; with `HP_IMPORTANCE_DUMP=DIR` it also
//! writes each problem, size and seed's trials to `DIR` as JSON, for
//! `bench/compare/importance.py` to rank the same trials with Optuna's evaluators.

use std::time::Instant;

use hyperplug_core::{Domain, Param, Params, Space};
use hyperplug_importance::{Fanova, Importance, PedAnova};
use hyperplug_synthetic::Function;
use rand::{Rng, SeedableRng};

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
        "| problem | trials | irrelevant | fANOVA: irrelevant last | PED-ANOVA: irrelevant last | fANOVA s/seed | PED-ANOVA s/seed |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (p, n) in problems.iter().flat_map(|p| [(p, 300), (p, 1000)]) {
        let space = space(p);
        let noise = p.noise_floats + p.noise_choices;
        let (mut f_ok, mut p_ok, mut f_s, mut p_s) = (0, 0, 0.0, 0.0);
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
            let g = PedAnova::default()
                .evaluate(&space, &view)
                .expect("ped-anova");
            p_s += t.elapsed().as_secs_f64();
            f_ok += usize::from(noise_last(&f, noise));
            p_ok += usize::from(noise_last(&g, noise));
        }
        let k = seeds.clone().count();
        println!(
            "| {} | {n} | {noise} | {f_ok}/{k} | {p_ok}/{k} | {:.3} | {:.3} |",
            p.name,
            f_s / k as f64,
            p_s / k as f64
        );
    }
    // The report's cap on each tree's bootstrap sample, on a study larger than the cap.
    let p = &problems[2];
    let space = space(p);
    let (mut same_top, mut both_last, mut capped_s, mut full_s) = (0, 0, 0.0, 0.0);
    let cap_seeds = 100..105u64;
    for seed in cap_seeds.clone() {
        let trials = sample(p, &space, 3000, seed);
        let view: Vec<(&Params, f64)> = trials.iter().map(|(q, v)| (q, *v)).collect();
        let t = Instant::now();
        let full = Fanova {
            seed,
            ..Fanova::default()
        }
        .evaluate(&space, &view)
        .expect("fanova");
        full_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let capped = Fanova {
            seed,
            max_samples: Some(2000),
            ..Fanova::default()
        }
        .evaluate(&space, &view)
        .expect("fanova");
        capped_s += t.elapsed().as_secs_f64();
        let top = |r: &[Importance]| {
            r.iter()
                .take(3)
                .map(|i| i.param.clone())
                .collect::<Vec<_>>()
        };
        same_top += usize::from(top(&full) == top(&capped));
        both_last += usize::from(noise_last(&full, 4) && noise_last(&capped, 4));
    }
    let k = cap_seeds.count();
    println!(
        "\n{}, 3,000 trials, seeds 100-104: the same top three with trees of at most 2,000 samples as without in {same_top}/{k} seeds, irrelevant last in both in {both_last}/{k}; {:.2} s uncapped, {:.2} s capped (mean, wall clock)",
        p.name,
        full_s / k as f64,
        capped_s / k as f64
    );
}
