//! Behaviour of the `tpe` strategy through the public API: conformance, reproducibility,
//! optimization quality against random search, conditional spaces, constraints, the constant
//! liar, and several objectives.

use std::sync::Arc;

use hyperplug_core::{
    AskContext, Budget, Direction, Domain, Error, Evaluation, MemoryStorage, Param, Params,
    Settings, Space, Strategy, StrategyFactory, Study, StudyConfig, StudySetup, Trial, TrialState,
    Value,
};
use hyperplug_random::Random;
use hyperplug_tpe::Tpe;

mod conditional;

fn space(params: Vec<Param>) -> Space {
    Space::new(params).expect("test space is valid")
}

fn float(p: &Params, name: &str) -> f64 {
    p[name].as_f64().expect("a number")
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    0.5 * (xs[(n - 1) / 2] + xs[n / 2])
}

/// The best value of a Branin study of `trials` trials with `factory`.
fn branin_best(factory: &dyn StrategyFactory, seed: u64, trials: u64) -> f64 {
    let s = space(vec![
        Param::new("x0", Domain::float(-5.0, 10.0)),
        Param::new("x1", Domain::float(0.0, 15.0)),
    ]);
    let config = StudyConfig::new("branin", s, vec![Direction::Minimize]).seed(seed);
    let mut study = Study::new(config, factory, &Settings::default()).expect("valid");
    study
        .optimize_fn(Budget::trials(trials), |p, _| {
            Ok(hyperplug_synthetic::branin(&[
                float(p, "x0"),
                float(p, "x1"),
            ]))
        })
        .expect("bounded");
    study.best_trial().expect("trials completed").values[0]
}

#[test]
fn passes_the_conformance_suite() {
    hyperplug_testkit::check_strategy(&Tpe, &Settings::default());
}

#[test]
fn passes_the_conformance_suite_as_independent_tpe_too() {
    hyperplug_testkit::check_strategy(&Tpe, &Settings::default().with("multivariate", false));
}

#[test]
fn beats_random_search_on_branin() {
    // Branin's minimum is 0.397887. Over 10 seeds at 60 trials, random search's median best is
    // about 0.8; TPE's must be below 0.5, which random search does not reach.
    let tpe: Vec<f64> = (0..10).map(|s| branin_best(&Tpe, s, 60)).collect();
    let random: Vec<f64> = (0..10).map(|s| branin_best(&Random, s, 60)).collect();
    let (tpe, random) = (median(tpe), median(random));
    assert!(tpe < 0.5, "TPE median best {tpe}");
    assert!(
        random > 0.5,
        "random median best {random}: the threshold is too loose"
    );
}

#[test]
fn the_same_seed_and_history_give_the_same_suggestions() {
    let run = |seed: u64| -> Vec<Params> {
        let s = space(vec![
            Param::new("x", Domain::float(-2.0, 2.0)),
            Param::new("n", Domain::int(1, 64).log()),
            Param::new("act", Domain::choice(["relu", "tanh", "gelu"])),
        ]);
        let config = StudyConfig::new("r", s, vec![Direction::Minimize]).seed(seed);
        let mut study = Study::new(config, &Tpe, &Settings::default()).expect("valid");
        study
            .optimize_fn(Budget::trials(40), |p, _| {
                let act = if p["act"].as_str() == Some("tanh") {
                    0.0
                } else {
                    1.0
                };
                Ok(float(p, "x").powi(2) + (float(p, "n") - 8.0).abs() / 8.0 + act)
            })
            .expect("bounded");
        study.finished().iter().map(|t| t.params.clone()).collect()
    };
    let (a, b, c) = (run(3), run(3), run(4));
    assert_eq!(a, b);
    assert_ne!(a[20..], c[20..], "another seed suggests otherwise");
    // A strategy that has seen the same history answers the same, however it got there.
    let s = space(vec![Param::new("x", Domain::float(0.0, 1.0))]);
    let trials: Vec<Trial> = (0..30)
        .map(|i| {
            let x = (i as f64 * 0.37) % 1.0;
            finished(i, &[("x", Value::Float(x))], vec![(x - 0.3).abs()])
        })
        .collect();
    let ask_fresh = || {
        let mut st = create(&s, &Settings::default(), 1);
        st.ask(&ctx(&s, &trials, &[], 30)).expect("asks")
    };
    let mut incremental = create(&s, &Settings::default(), 1);
    for n in 10..30 {
        incremental
            .ask(&ctx(&s, &trials[..n], &[], n as u64))
            .expect("asks");
    }
    let inc = incremental.ask(&ctx(&s, &trials, &[], 30)).expect("asks");
    assert_eq!(ask_fresh(), ask_fresh());
    assert_eq!(ask_fresh(), inc);
}

fn create(s: &Space, settings: &Settings, seed: u64) -> Box<dyn Strategy> {
    Tpe.create(&StudySetup {
        space: s,
        directions: &[Direction::Minimize],
        seed,
        settings,
    })
    .expect("valid settings")
}

fn ctx<'a>(s: &'a Space, trials: &'a [Trial], running: &'a [Trial], number: u64) -> AskContext<'a> {
    AskContext {
        space: s,
        directions: &[Direction::Minimize],
        seed: 1,
        trials,
        running,
        number,
    }
}

fn finished(number: u64, params: &[(&str, Value)], values: Vec<f64>) -> Trial {
    let params: Params = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let mut t = Trial::running(number, params, 0);
    t.state = TrialState::Complete;
    t.values = values;
    t
}

#[test]
fn the_suggestion_follows_the_good_trials() {
    // Thirty trials on a grid, best near 0.3: the next suggestion lands near 0.3.
    let s = space(vec![Param::new("x", Domain::float(0.0, 1.0))]);
    let trials: Vec<Trial> = (0..30)
        .map(|i| {
            let x = i as f64 / 29.0;
            finished(i, &[("x", Value::Float(x))], vec![(x - 0.3).abs()])
        })
        .collect();
    for seed in 0..5 {
        let mut st = create(&s, &Settings::default(), seed);
        let c = AskContext {
            seed,
            ..ctx(&s, &trials, &[], 30)
        };
        let x = float(&st.ask(&c).expect("asks"), "x");
        assert!((x - 0.3).abs() < 0.1, "seed {seed}: {x}");
    }
}

#[test]
fn conditional_parameters_are_learnt_from_their_own_trials() {
    // `xa` exists under `a` and is best at 0.9; `xb` under `b` and best at 0.1; both branches
    // reach 0. They never appear together, so TPE models each from the trials that have it.
    let s = space(vec![
        Param::new("kind", Domain::choice(["a", "b"])),
        Param::new("xa", Domain::float(0.0, 1.0)).when("kind", ["a"]),
        Param::new("xb", Domain::float(0.0, 1.0)).when("kind", ["b"]),
    ]);
    let config = StudyConfig::new("cond", s, vec![Direction::Minimize]).seed(5);
    let mut study = Study::new(config, &Tpe, &Settings::default()).expect("valid");
    study
        .optimize_fn(Budget::trials(80), |p, _| {
            Ok(match p.get("xa") {
                Some(x) => (x.as_f64().unwrap_or(0.0) - 0.9).abs(),
                None => (float(p, "xb") - 0.1).abs(),
            })
        })
        .expect("bounded");
    let late = &study.finished()[40..];
    let xa: Vec<f64> = late
        .iter()
        .filter_map(|t| t.params.get("xa")?.as_f64())
        .collect();
    let xb: Vec<f64> = late
        .iter()
        .filter_map(|t| t.params.get("xb")?.as_f64())
        .collect();
    assert_eq!(xa.len() + xb.len(), 40);
    // Whichever branch the search settled on, its own parameter went to its own optimum (the
    // other branch's is explored, having no good trials of its own late on).
    if xa.len() >= 20 {
        assert!(median(xa.clone()) > 0.8, "xa {xa:?}");
    } else {
        assert!(xb.len() >= 20 && median(xb.clone()) < 0.2, "xb {xb:?}");
    }
    assert!(
        late.iter()
            .all(|t| t.params.contains_key("xa") != t.params.contains_key("xb"))
    );
}

/// Share of trials 20..60 of a constrained toy problem that lie deep in the infeasible region
/// (violation above 0.25; the constrained optimum is on the boundary, so TPE samples both sides
/// of it), and the best feasible value.
fn infeasible_share(settings: &Settings, seed: u64) -> (f64, f64) {
    let s = space(vec![
        Param::new("x", Domain::float(0.0, 1.0)),
        Param::new("y", Domain::float(0.0, 1.0)),
    ]);
    let config = StudyConfig::new("c", s, vec![Direction::Minimize]).seed(seed);
    let mut study = Study::new(config, &Tpe, settings).expect("valid");
    study
        .optimize_fn(Budget::trials(60), |p, _| {
            let (x, y) = (float(p, "x"), float(p, "y"));
            // Best unconstrained at (0.9, 0.9); feasible only where x + y <= 1.
            let mut e = Evaluation::from((x - 0.9).powi(2) + (y - 0.9).powi(2));
            e.attrs.insert("c".into(), Value::Float(x + y - 1.0));
            Ok(e)
        })
        .expect("bounded");
    let c = |t: &Trial| t.user_attrs["c"].as_f64().unwrap_or(1.0);
    let late = &study.finished()[20..];
    let deep = late.iter().filter(|t| c(t) > 0.25).count();
    let best_feasible = study
        .finished()
        .iter()
        .filter(|t| c(t) <= 0.0)
        .map(|t| t.values[0])
        .fold(f64::INFINITY, f64::min);
    (deep as f64 / late.len() as f64, best_feasible)
}

#[test]
fn constraints_steer_away_from_the_infeasible_region() {
    // The feasible optimum is (0.5, 0.5), worth 0.32.
    let constrained = Settings::default().with("constraints", serde_json::json!(["c"]));
    let (with, with_best): (Vec<f64>, Vec<f64>) =
        (0..5).map(|s| infeasible_share(&constrained, s)).unzip();
    let (without, without_best): (Vec<f64>, Vec<f64>) = (0..5)
        .map(|s| infeasible_share(&Settings::default(), s))
        .unzip();
    assert!(median(with.clone()) < 0.15, "with constraints {with:?}");
    assert!(median(without.clone()) > 0.6, "without {without:?}");
    assert!(
        median(with_best.clone()) < median(without_best.clone()),
        "best feasible: with {with_best:?}, without {without_best:?}"
    );
    assert!(median(with_best.clone()) < 0.36, "{with_best:?}");
}

#[test]
fn a_missing_constraint_fails_the_trial_with_its_name() {
    let s = space(vec![Param::new("x", Domain::float(0.0, 1.0))]);
    let config = StudyConfig::new("c", s, vec![Direction::Minimize]).seed(1);
    let settings = Settings::default().with("constraints", serde_json::json!(["memory"]));
    let mut study = Study::new(config, &Tpe, &settings).expect("valid");
    study
        .optimize_fn(Budget::trials(12), |p, _| Ok(float(p, "x")))
        .expect("bounded");
    let last = study.finished().last().expect("trials");
    assert_eq!(last.state, TrialState::Failed);
    assert!(
        last.message.as_deref().unwrap_or("").contains("`memory`"),
        "{last:?}"
    );
}

/// Four asks in a row, none told, after 20 trials on the integers 0..=20 (best at 7).
fn four_parallel_asks(settings: &Settings) -> Vec<i64> {
    let s = space(vec![Param::new("n", Domain::int(0, 20))]);
    let mut config = StudyConfig::new("p", s, vec![Direction::Minimize]).seed(2);
    config.parallelism = 4;
    let mut study = Study::new(config, &Tpe, settings).expect("valid");
    study
        .optimize_fn(Budget::trials(20), |p, _| {
            Ok((p["n"].as_i64().unwrap_or(0) - 7).abs() as f64)
        })
        .expect("bounded");
    (0..4)
        .map(|_| {
            study.ask().expect("asks").params["n"]
                .as_i64()
                .unwrap_or(-1)
        })
        .collect()
}

#[test]
fn the_constant_liar_spreads_parallel_asks() {
    let mut liar = four_parallel_asks(&Settings::default());
    liar.sort_unstable();
    liar.dedup();
    assert_eq!(
        liar.len(),
        4,
        "distinct points under the constant liar: {liar:?}"
    );
    let mut honest = four_parallel_asks(&Settings::default().with("constant_liar", false));
    honest.sort_unstable();
    honest.dedup();
    assert!(
        honest.len() < 4,
        "without the liar the asks pile up: {honest:?}"
    );
}

/// The hypervolume of a two-objective front against `r` (minimization).
fn hypervolume(points: &[[f64; 2]], r: [f64; 2]) -> f64 {
    let mut pts: Vec<[f64; 2]> = points
        .iter()
        .copied()
        .filter(|p| p[0] < r[0] && p[1] < r[1])
        .collect();
    pts.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let mut hv = 0.0;
    let mut best_f2 = r[1];
    for p in pts {
        if p[1] < best_f2 {
            hv += (r[0] - p[0]) * (best_f2 - p[1]);
            best_f2 = p[1];
        }
    }
    hv
}

fn zdt1_hypervolume(factory: &dyn StrategyFactory, seed: u64) -> f64 {
    let dim = 6;
    let s = space(
        (0..dim)
            .map(|i| Param::new(format!("x{i}"), Domain::float(0.0, 1.0)))
            .collect(),
    );
    let config = StudyConfig::new("zdt1", s, vec![Direction::Minimize; 2]).seed(seed);
    let mut study = Study::new(config, factory, &Settings::default()).expect("valid");
    study
        .optimize_fn(Budget::trials(120), |p, _| {
            let x: Vec<f64> = (0..dim).map(|i| float(p, &format!("x{i}"))).collect();
            Ok(hyperplug_synthetic::zdt1(&x).to_vec())
        })
        .expect("bounded");
    let points: Vec<[f64; 2]> = study
        .best_trials()
        .iter()
        .map(|t| [t.values[0], t.values[1]])
        .collect();
    hypervolume(&points, [1.1, 6.0])
}

#[test]
fn the_zdt1_front_improves_over_random_search() {
    let tpe: Vec<f64> = (0..5).map(|s| zdt1_hypervolume(&Tpe, s)).collect();
    let random: Vec<f64> = (0..5).map(|s| zdt1_hypervolume(&Random, s)).collect();
    let wins = tpe.iter().zip(&random).filter(|(t, r)| t > r).count();
    assert!(wins >= 4, "TPE {tpe:?} vs random {random:?}");
    assert!(
        median(tpe.clone()) > median(random.clone()) + 0.1,
        "TPE {tpe:?} vs random {random:?}"
    );
}

#[test]
fn unknown_and_bad_settings_are_refused_by_name() {
    let s = space(vec![Param::new("x", Domain::float(0.0, 1.0))]);
    let config = StudyConfig::new("s", s, vec![Direction::Minimize]);
    let e = Study::new(
        config.clone(),
        &Tpe,
        &Settings::default().with("n_startup", 5),
    )
    .err()
    .expect("unknown key");
    assert!(
        matches!(&e, Error::Settings { message, .. } if message.contains("n_startup")),
        "{e}"
    );
    let e = Study::new(config, &Tpe, &Settings::default().with("gamma", 3.0))
        .err()
        .expect("gamma out of range");
    assert!(e.to_string().contains("`gamma`"), "{e}");
}

/// The mean best value over `seeds` of 100-trial studies of a conditional problem, and the share
/// of them stuck outside the optimum's branch.
fn conditional_mean_best(
    problem: &conditional::Problem,
    settings: &Settings,
    seeds: std::ops::Range<u64>,
) -> (f64, f64) {
    let n = (seeds.end - seeds.start) as f64;
    let best: Vec<f64> = seeds
        .map(|seed| {
            let config =
                StudyConfig::new(problem.name, (problem.space)(), vec![Direction::Minimize])
                    .seed(seed);
            let mut study = Study::new(config, &Tpe, settings).expect("valid");
            study
                .optimize_fn(Budget::trials(100), |p, _| Ok((problem.value)(p)))
                .expect("bounded");
            study.best_trial().expect("trials completed").values[0]
        })
        .collect();
    assert!(best.iter().all(|&b| b >= problem.optimum - 1e-12));
    let stuck = best.iter().filter(|&&b| b >= problem.trap).count() as f64;
    (best.iter().sum::<f64>() / n, stuck / n)
}

#[test]
fn a_branch_behind_a_plateau_is_still_learnt() {
    // The development problem of tests/conditional: the optimum 0.02 is in a narrow basin of
    // branch a, branch b is a plateau at 0.095. Split globally (Optuna's way, and ours before),
    // branch a's parameters had no good trials of their own while b filled the good set: mean
    // best 0.043 (multivariate) and 0.051 (independent) over seeds 0..200, stuck on the plateau
    // in 28 % and 30 % of them; split per group, 0.029 and 0.031, stuck in 11 % and 12 %. Over
    // seeds 0..40 (standard error about 0.004) that split gave 0.0275 and 0.0272, the global
    // split 0.0434 (both with the branch choice's prior at weight 1, as here).
    let plateau = &conditional::PROBLEMS[0];
    let optuna_prior = || Settings::default().with("branch_prior_weight", 1.0);
    for settings in [optuna_prior(), optuna_prior().with("multivariate", false)] {
        let (mean, stuck) = conditional_mean_best(plateau, &settings, 0..40);
        assert!(
            mean < 0.036 && stuck < 0.2,
            "{settings:?}: mean best {mean}, stuck {stuck}"
        );
    }
    let (global, stuck) =
        conditional_mean_best(plateau, &optuna_prior().with("split", "global"), 0..40);
    assert!(
        global > 0.036 && stuck > 0.2,
        "the global split: {global}, stuck {stuck}"
    );
}
#[test]
fn the_choice_of_a_branch_keeps_exploring_the_others() {
    // The prior kernel of a parameter that decides which others exist weighs 5, not 1: the
    // choice keeps trying every branch now and then, whose parameters the per-group split then
    // tunes on their own. Development problems (seeds 0..1000): `plateau` 0.0303 → 0.0210,
    // `branches` 0.090 → 0.081; the cost where one branch is best throughout, `focus`,
    // 0.00012 → 0.00018. Here, the held-out `models` over seeds 0..40.
    let models = &conditional::PROBLEMS[1];
    for multivariate in [true, false] {
        let base = Settings::default().with("multivariate", multivariate);
        let (before, stuck_before) = conditional_mean_best(
            models,
            &base.clone().with("branch_prior_weight", 1.0),
            0..40,
        );
        let (after, stuck_after) = conditional_mean_best(models, &base, 0..40);
        assert!(
            after < before && stuck_after <= stuck_before && stuck_after <= 0.025,
            "multivariate {multivariate}: weight 1 {before} (stuck {stuck_before}), \
             5 {after} (stuck {stuck_after})"
        );
    }
}

/// [`conditional_mean_best`] with the problem asked define-by-run: its objective suggests each
/// parameter whose condition holds, as a user's code would, so the strategy sees a space
/// without conditions and has to find the branches from the trials.
fn define_by_run_mean_best(
    problem: &conditional::Problem,
    settings: &Settings,
    seeds: std::ops::Range<u64>,
) -> (f64, f64) {
    let n = (seeds.end - seeds.start) as f64;
    let declared = (problem.space)();
    let best: Vec<f64> = seeds
        .map(|seed| {
            let mut config =
                StudyConfig::new(problem.name, Space::empty(), vec![Direction::Minimize])
                    .seed(seed);
            config.define_by_run = true;
            let store = Arc::new(MemoryStorage::new());
            let mut study = Study::open(config, &Tpe, settings, store).expect("opens");
            for _ in 0..100 {
                let mut trial = study.ask_open().expect("asks");
                let mut params = Params::new();
                for p in declared.params() {
                    let active = p.condition.as_ref().is_none_or(|c| {
                        params.get(&c.parent).is_some_and(|v| c.values.contains(v))
                    });
                    if active {
                        let v = trial.suggest(&p.name, p.domain.clone()).expect("suggests");
                        params.insert(p.name.clone(), v);
                    }
                }
                let value = (problem.value)(&params);
                study
                    .tell_open(trial, Ok(value.into()), &Tpe, settings)
                    .expect("tells");
            }
            study.best_trial().expect("trials completed").values[0]
        })
        .collect();
    let stuck = best.iter().filter(|&&b| b >= problem.trap).count() as f64;
    (best.iter().sum::<f64>() / n, stuck / n)
}

#[test]
fn a_branch_choice_is_found_from_the_trials_of_a_define_by_run_study() {
    // No `when` conditions to read: the branch choice is the categorical parameter under one
    // of whose values some parameter never appears. Over seeds 0..40 of `models`, with the
    // branch choice's prior at weight 1 and at the default 5.
    let models = &conditional::PROBLEMS[1];
    let base = Settings::default();
    let (before, stuck_before) = define_by_run_mean_best(
        models,
        &base.clone().with("branch_prior_weight", 1.0),
        0..40,
    );
    let (after, stuck_after) = define_by_run_mean_best(models, &base, 0..40);
    assert!(
        after < before && stuck_after <= stuck_before && stuck_after <= 0.025,
        "weight 1 {before} (stuck {stuck_before}), 5 {after} (stuck {stuck_after})"
    );
}

#[test]
fn an_integer_with_few_levels_concentrates_on_its_best_level_and_tries_its_neighbours() {
    // `k` in 0..=7 with its best level at 5, beside a float: late trials pick 5 most often,
    // and the neighbours 4 and 6 still get tried (the kernels of a discrete parameter are not
    // point masses).
    let s = space(vec![
        Param::new("k", Domain::int(0, 7)),
        Param::new("x", Domain::float(0.0, 1.0)),
    ]);
    let (mut at_best, mut near, mut late) = (0, 0, 0);
    for seed in 0..10 {
        let config = StudyConfig::new("int", s.clone(), vec![Direction::Minimize]).seed(seed);
        let mut study = Study::new(config, &Tpe, &Settings::default()).expect("valid");
        study
            .optimize_fn(Budget::trials(60), |p, _| {
                let k = p["k"].as_i64().expect("an int");
                assert!((0..=7).contains(&k), "{k} is off the grid");
                Ok(0.1 * (k - 5).abs() as f64 + (float(p, "x") - 0.5).powi(2))
            })
            .expect("bounded");
        for t in &study.finished()[30..] {
            let k = t.params["k"].as_i64().expect("an int");
            late += 1;
            at_best += usize::from(k == 5);
            near += usize::from(k == 4 || k == 6);
        }
    }
    let (best, near) = (at_best as f64 / late as f64, near as f64 / late as f64);
    assert!(best > 0.5, "level 5 in {best} of the late trials");
    assert!(near > 0.05, "levels 4 and 6 in {near} of the late trials");
}

/// Trials after the start-up that repeat an earlier configuration, over seeds 0..10, for
/// independent TPE over three ints with `settings`.
fn independent_repeats(settings: &Settings) -> usize {
    let s = space(vec![
        Param::new("a", Domain::int(0, 4)),
        Param::new("b", Domain::int(0, 4)),
        Param::new("c", Domain::int(0, 4)),
    ]);
    let mut repeats = 0;
    for seed in 0..10 {
        let config = StudyConfig::new("ints", s.clone(), vec![Direction::Minimize]).seed(seed);
        let mut study = Study::new(config, &Tpe, settings).expect("valid");
        study
            .optimize_fn(Budget::trials(40), |p, _| {
                let v = |n: &str| p[n].as_i64().expect("an int") as f64;
                Ok((v("a") - 3.0).powi(2) + (v("b") - 1.0).powi(2) + 0.1 * v("c"))
            })
            .expect("bounded");
        let key = |t: &Trial| ["a", "b", "c"].map(|n| t.params[n].as_i64().expect("an int"));
        let done = study.finished();
        repeats += (10..done.len())
            .filter(|&i| done[..i].iter().any(|t| key(t) == key(&done[i])))
            .count();
    }
    repeats
}

#[test]
fn independent_tpe_over_ints_tries_a_new_configuration_rather_than_a_repeat() {
    // Each value is chosen on its own, so the best value of each parameter together make the
    // best trial again and again; with `avoid_repeated_trials` one value moves instead.
    let independent = Settings::default().with("multivariate", false);
    let before = independent_repeats(&independent.clone().with("avoid_repeated_trials", false));
    let after = independent_repeats(&independent.with("avoid_repeated_trials", true));
    assert!(before >= 50, "{before} repeats without the setting");
    assert!(
        after * 10 <= before,
        "{after} repeats with it, {before} without"
    );
}
