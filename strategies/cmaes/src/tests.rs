//! Strategy-level tests: conformance, convergence, restarts, replay on resume and in joining
//! workers, warm start, margin, fallback for categorical and conditional parameters, settings.

use hyperplug_core::{
    AskContext, Direction, Domain, Param, Params, Settings, Space, Strategy, StrategyFactory,
    StudySetup, Trial, TrialState, Value,
};

use crate::CmaEs;
use crate::strategy::CmaStrategy;

fn space(params: Vec<Param>) -> Space {
    Space::new(params).expect("test space is valid")
}

fn floats(n: usize, low: f64, high: f64) -> Space {
    space(
        (0..n)
            .map(|i| Param::new(format!("x{i}"), Domain::float(low, high)))
            .collect(),
    )
}

fn strategy(space: &Space, settings: &Settings, seed: u64) -> CmaStrategy {
    CmaStrategy::new(&StudySetup {
        space,
        directions: &[Direction::Minimize],
        seed,
        settings,
    })
    .expect("valid settings")
}

fn complete(number: u64, params: Params, value: f64) -> Trial {
    let mut t = Trial::running(number, params, 0);
    t.state = TrialState::Complete;
    t.values = vec![value];
    t
}

fn ctx<'a>(space: &'a Space, seed: u64, trials: &'a [Trial], number: u64) -> AskContext<'a> {
    AskContext {
        space,
        directions: &[Direction::Minimize],
        seed,
        trials,
        running: &[],
        number,
    }
}

/// Runs `n` more sequential trials (ask, evaluate, finish) after `trials`.
fn drive(
    s: &mut CmaStrategy,
    space: &Space,
    seed: u64,
    trials: &mut Vec<Trial>,
    n: usize,
    f: impl Fn(&Params) -> f64,
) {
    for _ in 0..n {
        let number = trials.len() as u64;
        let p = s.ask(&ctx(space, seed, trials, number)).expect("ask");
        let v = f(&p);
        trials.push(complete(number, p, v));
    }
}

fn xs(p: &Params) -> Vec<f64> {
    p.values().filter_map(Value::as_f64).collect()
}

fn sphere(p: &Params) -> f64 {
    xs(p).iter().map(|x| (x - 1.0).powi(2)).sum()
}

fn best(trials: &[Trial]) -> f64 {
    trials
        .iter()
        .map(|t| t.values[0])
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn passes_the_conformance_suite() {
    hyperplug_testkit::check_strategy(&CmaEs, &Settings::default());
    hyperplug_testkit::check_strategy(&CmaEs, &Settings::default().with("independent", "random"));
}

#[test]
fn the_sphere_converges_to_the_exact_seeded_numbers() {
    let sp = floats(4, -5.0, 5.0);
    let mut s = strategy(&sp, &Settings::default().with("restart", "none"), 1);
    let mut trials = Vec::new();
    drive(&mut s, &sp, 1, &mut trials, 400, sphere);
    let cma = s.run().expect("a run");
    // λ = 4 + ⌊3 ln 4⌋ = 8: the ask for trial 399 has seen 399 trials, 49 generations.
    assert_eq!((cma.lambda(), cma.generation), (8, 49));
    let b = best(&trials);
    assert!(b < 1e-5, "best {b}");
    // The step size (unit cube) shrank from 0.1 by orders of magnitude.
    assert!(cma.sigma < 2e-3, "sigma {}", cma.sigma);
    assert_eq!(format!("{b:.3e} {:.3e}", cma.sigma), "6.365e-6 1.185e-3");
}

#[test]
fn a_replay_continues_the_same_generation() {
    // A strategy created later (a resumed study, a worker joining mid-generation) asks for the
    // same parameters as the one that saw every trial arrive.
    let sp = floats(3, -2.0, 2.0);
    let settings = Settings::default();
    let mut first = strategy(&sp, &settings, 5);
    let mut trials = Vec::new();
    drive(&mut first, &sp, 5, &mut trials, 45, sphere);
    // λ = 7: trial 38 is the fourth of generation 6.
    for cut in [0, 1, 7, 38, 44] {
        let mut joined = strategy(&sp, &settings, 5);
        let asked = joined
            .ask(&ctx(&sp, 5, &trials[..cut], cut as u64))
            .expect("ask");
        assert_eq!(asked, trials[cut].params, "trial {cut}");
    }
    let mut joined = strategy(&sp, &settings, 5);
    joined.ask(&ctx(&sp, 5, &trials, 45)).expect("ask");
    first.ask(&ctx(&sp, 5, &trials, 45)).expect("ask");
    let (a, b) = (first.run().expect("run"), joined.run().expect("run"));
    assert_eq!(a.generation, 6);
    assert_eq!(
        (a.generation, &a.mean, a.sigma),
        (b.generation, &b.mean, b.sigma)
    );
}

#[test]
fn parallel_asks_differ_and_late_results_are_injected() {
    let sp = floats(3, -2.0, 2.0);
    let settings = Settings::default();
    let mut s = strategy(&sp, &settings, 2);
    let mut trials: Vec<Trial> = Vec::new();
    // Four workers: four asks from the same state, then their results in reverse order.
    for batch in 0..15u64 {
        let numbers: Vec<u64> = (batch * 4..batch * 4 + 4).collect();
        let asked: Vec<Params> = numbers
            .iter()
            .map(|&n| s.ask(&ctx(&sp, 2, &trials, n)).expect("ask"))
            .collect();
        assert!(asked.windows(2).all(|w| w[0] != w[1]));
        for (&n, p) in numbers.iter().zip(asked).rev() {
            let v = sphere(&p);
            trials.push(complete(n, p, v));
        }
    }
    s.ask(&ctx(&sp, 2, &trials, 60)).expect("ask");
    // Another process replaying the same store holds the same distribution.
    let mut other = strategy(&sp, &settings, 2);
    other.ask(&ctx(&sp, 2, &trials, 60)).expect("ask");
    let (a, b) = (s.run().expect("run"), other.run().expect("run"));
    assert_eq!(a.generation, 8);
    assert_eq!((&a.mean, a.sigma), (&b.mean, b.sigma));
    assert!(best(&trials) < 0.05, "{}", best(&trials));
}

#[test]
fn ipop_restarts_double_the_population() {
    // A loose tolerance makes runs on the sphere end quickly.
    let sp = floats(2, -1.0, 3.0);
    let settings = Settings::default().with("tolx", 1e-2);
    let mut s = strategy(&sp, &settings, 4);
    let mut trials = Vec::new();
    drive(&mut s, &sp, 4, &mut trials, 600, sphere);
    let r = s.restarts();
    assert!(r >= 2, "restarts {r}");
    assert_eq!(s.run().expect("run").lambda(), 6 << r);
    assert_eq!(r, 2);
    let none = Settings::default()
        .with("tolx", 1e-2)
        .with("restart", "none");
    let mut s = strategy(&sp, &none, 4);
    let mut trials = Vec::new();
    drive(&mut s, &sp, 4, &mut trials, 300, sphere);
    assert_eq!((s.restarts(), s.run().expect("run").lambda()), (0, 6));
}

#[test]
fn bipop_alternates_small_and_large_populations() {
    let sp = floats(2, -1.0, 3.0);
    let settings = Settings::default()
        .with("tolx", 1e-2)
        .with("restart", "bipop");
    let mut s = strategy(&sp, &settings, 4);
    let mut trials = Vec::new();
    let mut lambdas = Vec::new();
    for _ in 0..60 {
        drive(&mut s, &sp, 4, &mut trials, 20, sphere);
        let l = s.run().expect("run").lambda();
        if lambdas.last() != Some(&l) {
            lambdas.push(l);
        }
    }
    assert!(lambdas.iter().any(|&l| l < 6), "{lambdas:?}");
    assert!(lambdas.iter().any(|&l| l > 6), "{lambdas:?}");
    assert_eq!(lambdas, [6, 5, 12, 6, 24]);
}

#[test]
fn integers_reach_their_optimum_with_the_margin() {
    let sp = space(
        (0..6)
            .map(|i| Param::new(format!("k{i}"), Domain::int(-20, 20)))
            .collect(),
    );
    let f = |p: &Params| {
        p.values()
            .filter_map(Value::as_i64)
            .map(|k| ((k - 3) as f64).powi(2))
            .sum::<f64>()
    };
    let mut with = strategy(&sp, &Settings::default().with("restart", "none"), 3);
    let mut trials = Vec::new();
    drive(&mut with, &sp, 3, &mut trials, 300, f);
    assert_eq!(best(&trials), 0.0);
    let first_zero = trials.iter().position(|t| t.values[0] == 0.0);
    assert_eq!(first_zero, Some(146));
}

#[test]
fn warm_start_fits_the_first_trials() {
    let sp = floats(2, 0.0, 10.0);
    let settings = Settings::default().with("warm_start", 20);
    let mut s = strategy(&sp, &settings, 6);
    let mut trials = Vec::new();
    // 20 earlier trials on a grid; the best ones lie around (8, 2).
    let f = |p: &Params| {
        let x = xs(p);
        (x[0] - 8.0).powi(2) + (x[1] - 2.0).powi(2)
    };
    for i in 0..20u64 {
        let p: Params = [
            ("x0".to_owned(), Value::Float((i % 5) as f64 * 2.0 + 1.0)),
            ("x1".to_owned(), Value::Float((i / 5) as f64 * 2.5 + 0.5)),
        ]
        .into_iter()
        .collect();
        let v = f(&p);
        trials.push(complete(i, p, v));
    }
    s.ask(&ctx(&sp, 6, &trials, 20)).expect("ask");
    let cma = s.run().expect("started from the warm trials");
    // The best two (10% of 20): (7, 3) and (9, 3) → mean (8, 3) in the unit cube (0.8, 0.3).
    assert!(
        (cma.mean[0] - 0.8).abs() < 1e-12 && (cma.mean[1] - 0.3).abs() < 1e-12,
        "{}",
        cma.mean
    );
    // Before 20 complete trials, asks are uniform: no run yet.
    let mut early = strategy(&sp, &settings, 6);
    early.ask(&ctx(&sp, 6, &trials[..10], 10)).expect("ask");
    assert!(early.run().is_none());
}

#[test]
fn x0_and_sigma0_set_the_start() {
    let sp = floats(2, 0.0, 10.0);
    let mut x0 = serde_json::Map::new();
    x0.insert("x0".into(), 2.0.into());
    x0.insert("x1".into(), serde_json::Value::from(7));
    let settings = Settings::default()
        .with("x0", serde_json::Value::Object(x0))
        .with("sigma0", 0.001);
    let mut s = strategy(&sp, &settings, 1);
    let p = s.ask(&ctx(&sp, 1, &[], 0)).expect("ask");
    let x = xs(&p);
    assert!(
        (x[0] - 2.0).abs() < 0.05 && (x[1] - 7.0).abs() < 0.05,
        "{x:?}"
    );
}

#[test]
fn categorical_and_conditional_parameters_fall_back_to_tpe() {
    let sp = space(vec![
        Param::new("x", Domain::float(-3.0, 3.0)),
        Param::new("act", Domain::choice(["relu", "tanh", "gelu"])),
        Param::new("depth", Domain::int(1, 3)),
        Param::new("dropout", Domain::float(0.0, 0.5)).when("depth", [2i64, 3]),
    ]);
    assert_eq!(crate::strategy::modelled(&sp), [0, 2]);
    let f = |p: &Params| {
        let x = p["x"].as_f64().unwrap_or(0.0);
        let a = if p["act"].as_str() == Some("gelu") {
            0.0
        } else {
            1.0
        };
        x * x + a + p.get("dropout").and_then(Value::as_f64).unwrap_or(0.3)
    };
    let mut s = strategy(&sp, &Settings::default(), 8);
    let mut trials = Vec::new();
    drive(&mut s, &sp, 8, &mut trials, 120, f);
    for t in &trials {
        assert!(sp.validate(&t.params).is_ok(), "{:?}", t.params);
    }
    let late_gelu = trials[60..]
        .iter()
        .filter(|t| t.params["act"].as_str() == Some("gelu"))
        .count();
    assert!(
        late_gelu > 30,
        "TPE favours the good choice: {late_gelu} of 60"
    );
    assert!(best(&trials) < 0.05, "{}", best(&trials));
}

#[test]
fn bad_settings_are_refused_with_what_to_change() {
    let sp = space(vec![
        Param::new("x", Domain::float(0.0, 1.0)),
        Param::new("c", Domain::choice(["a", "b"])),
    ]);
    let cases: [(Settings, &str); 8] = [
        (
            Settings::default().with("popsize", 1),
            "`popsize`: 1 is not in [2, 1048576]",
        ),
        (
            Settings::default().with("popsize", 1u64 << 40),
            "is not in [2, 1048576]",
        ),
        (
            Settings::default().with("sigma0", 0.0),
            "`sigma0`: 0 is not in (0, 1]",
        ),
        (
            Settings::default().with("restart", "often"),
            "unknown variant `often`",
        ),
        (
            Settings::default().with("x0", serde_json::json!({"y": 1.0})),
            "`y` is not a parameter of the space",
        ),
        (
            Settings::default().with("x0", serde_json::json!({"c": "a"})),
            "`c` is categorical or conditional",
        ),
        (
            Settings::default().with("x0", serde_json::json!({"x": 2.0})),
            "`x` = 2.0 is not a value of",
        ),
        (
            Settings::default()
                .with("lr_adapt", true)
                .with("separable", true),
            "drop `separable = true`",
        ),
    ];
    for (settings, want) in cases {
        let e = CmaEs
            .create(&StudySetup {
                space: &sp,
                directions: &[Direction::Minimize],
                seed: 0,
                settings: &settings,
            })
            .err()
            .expect("refused");
        assert!(e.to_string().contains(want), "{e}");
        assert!(e.to_string().contains("cmaes"), "{e}");
    }
}

#[test]
fn learning_rate_adaptation_copes_with_noise() {
    let sp = floats(3, -2.0, 2.0);
    let noisy = |p: &Params| {
        let h = xs(p)
            .iter()
            .fold(0u64, |h, x| h ^ x.to_bits().rotate_left(17));
        let e = (h % 1000) as f64 / 1000.0 - 0.5;
        sphere(p) + e
    };
    let mut s = strategy(&sp, &Settings::default().with("lr_adapt", true), 3);
    let mut trials = Vec::new();
    drive(&mut s, &sp, 3, &mut trials, 700, noisy);
    let m = &s.run().expect("run").mean;
    // The mean (unit cube) ends near the optimum (1 + 2) / 4 = 0.75 despite the noise.
    assert!(m.iter().all(|v| (v - 0.75).abs() < 0.1), "{m}");
}

#[test]
fn separable_runs_in_high_dimension() {
    let sp = floats(120, -1.0, 3.0);
    let mut s = strategy(&sp, &Settings::default().with("restart", "none"), 2);
    let mut trials = Vec::new();
    drive(&mut s, &sp, 2, &mut trials, 1500, sphere);
    let start = trials[0].values[0];
    // Separable by default from 100 parameters; the sphere improves a lot in 1,500 trials.
    assert!(best(&trials) < start / 5.0, "{} vs {start}", best(&trials));
}

/// Asks and tells one trial of `study` on the sphere.
fn step(study: &mut hyperplug_core::Study) {
    let t = study.ask().expect("ask");
    let v = sphere(&t.params);
    study.tell(t.number, Ok(v.into())).expect("tell");
}

fn open(storage: &std::sync::Arc<hyperplug_core::MemoryStorage>) -> hyperplug_core::Study {
    let config =
        hyperplug_core::StudyConfig::new("shared", floats(3, -2.0, 2.0), vec![Direction::Minimize])
            .seed(11);
    hyperplug_core::Study::open(config, &CmaEs, &Settings::default(), storage.clone())
        .expect("open")
}

fn params_of(study: &hyperplug_core::Study) -> Vec<Params> {
    study.finished().iter().map(|t| t.params.clone()).collect()
}

#[test]
fn workers_and_resumed_studies_on_one_store_continue_the_same_generations() {
    let alone = std::sync::Arc::new(hyperplug_core::MemoryStorage::new());
    let mut one = open(&alone);
    for _ in 0..45 {
        step(&mut one);
    }
    // Two workers (two strategies) taking turns on one store: each sees the other's results.
    let shared = std::sync::Arc::new(hyperplug_core::MemoryStorage::new());
    let (mut a, mut b) = (open(&shared), open(&shared));
    for i in 0..45 {
        step(if i % 2 == 0 { &mut a } else { &mut b });
    }
    a.sync().expect("sync");
    assert_eq!(params_of(&a), params_of(&one));
    // A study stopped mid-generation (λ = 7; 38 = 5 · 7 + 3) and resumed by a new process.
    let resumed = std::sync::Arc::new(hyperplug_core::MemoryStorage::new());
    let mut first = open(&resumed);
    for _ in 0..38 {
        step(&mut first);
    }
    drop(first);
    let mut again = open(&resumed);
    for _ in 38..45 {
        step(&mut again);
    }
    assert_eq!(params_of(&again), params_of(&one));
}

#[test]
fn eval_mean_asks_each_generations_mean_once_and_leaves_it_out_of_the_update() {
    let sp = floats(3, -2.0, 2.0);
    let settings = Settings::default().with("eval_mean", true);
    let mut s = strategy(&sp, &settings, 4);
    let mut trials = Vec::new();
    drive(&mut s, &sp, 4, &mut trials, 31, sphere);
    // λ = 7: generation 0 is trials 0–6 (a run's first mean is not evaluated); then each
    // generation is its mean and 7 samples: trials 7, 15 and 23 are means.
    for (cut, mean_trial) in [(7, true), (8, false), (15, true), (23, true), (24, false)] {
        let mut replay = strategy(&sp, &settings, 4);
        replay
            .ask(&ctx(&sp, 4, &trials[..cut], cut as u64))
            .expect("ask");
        let cma = replay.run().expect("run");
        let at_mean: Vec<Value> = cma
            .encode(&cma.mean)
            .iter()
            .map(|&u| Domain::float(-2.0, 2.0).from_unit(u))
            .collect();
        let got: Vec<Value> = trials[cut].params.values().cloned().collect();
        assert_eq!(got == at_mean, mean_trial, "trial {cut}");
    }
    s.ask(&ctx(&sp, 4, &trials, 31)).expect("ask");
    assert_eq!(s.run().expect("run").generation, 4);
}
