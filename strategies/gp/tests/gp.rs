//! Behaviour of the `gp` strategy through the public API: conformance, reproducibility,
//! optimization quality, rounding without repeats, conditional spaces, constraints and the
//! Kriging believer for parallel asks.

use hyperplug_core::{
    Budget, Direction, Domain, Error, Evaluation, Param, Params, PluginInfo, Settings, Space,
    Strategy, StrategyFactory, Study, StudyConfig, StudySetup, Trial, TrialState, Value,
};
use hyperplug_gp::Gp;
use hyperplug_synthetic::Function;
use rand::Rng;

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

fn study(s: Space, seed: u64, settings: &Settings) -> Study {
    let config = StudyConfig::new("gp", s, vec![Direction::Minimize]).seed(seed);
    Study::new(config, &Gp, settings).expect("valid")
}

#[test]
fn passes_the_conformance_suite() {
    hyperplug_testkit::check_strategy(&Gp, &Settings::default());
}

/// `gp` with LCB, seen as the one-objective strategy LCB is: the conformance suite then
/// checks that studies of several objectives are refused before the strategy is made.
struct OneObjective;

impl StrategyFactory for OneObjective {
    fn info(&self) -> PluginInfo {
        let mut info = Gp.info();
        info.capabilities.multi_objective = false;
        info
    }
    fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
        Gp.create(setup)
    }
}

#[test]
fn passes_the_conformance_suite_with_lcb_and_no_batching() {
    hyperplug_testkit::check_strategy(
        &OneObjective,
        &Settings::default()
            .with("acquisition", "lcb")
            .with("batch", "none")
            .with("warp", false),
    );
}

#[test]
fn passes_the_conformance_suite_without_batching_or_warping() {
    hyperplug_testkit::check_strategy(
        &Gp,
        &Settings::default()
            .with("batch", "none")
            .with("warp", false),
    );
}

#[test]
fn finds_branins_minimum_in_thirty_trials() {
    // Branin's minimum is 0.397887; random search's median best over 30 trials is about 1.5.
    let best: Vec<f64> = (0..3)
        .map(|seed| {
            let mut st = study(
                space(vec![
                    Param::new("x0", Domain::float(-5.0, 10.0)),
                    Param::new("x1", Domain::float(0.0, 15.0)),
                ]),
                seed,
                &Settings::default(),
            );
            st.optimize_fn(Budget::trials(30), |p, _| {
                Ok(hyperplug_synthetic::branin(&[
                    float(p, "x0"),
                    float(p, "x1"),
                ]))
            })
            .expect("bounded");
            st.best_trial().expect("trials").values[0]
        })
        .collect();
    assert!(median(best.clone()) < 0.41, "{best:?}");
}

#[test]
fn the_same_seed_and_history_give_the_same_suggestions() {
    let run = |seed: u64| -> Vec<Params> {
        let mut st = study(
            space(vec![
                Param::new("x", Domain::float(-2.0, 2.0)),
                Param::new("n", Domain::int(1, 64).log()),
                Param::new("act", Domain::choice(["relu", "tanh", "gelu"])),
            ]),
            seed,
            &Settings::default(),
        );
        st.optimize_fn(Budget::trials(20), |p, _| {
            let act = if p["act"] == Value::from("tanh") {
                0.0
            } else {
                1.0
            };
            Ok(float(p, "x").powi(2) + (float(p, "n").ln() - 2.0).powi(2) + act)
        })
        .expect("bounded");
        st.finished().iter().map(|t| t.params.clone()).collect()
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3), run(4));
}

#[test]
fn integers_are_rounded_and_never_repeated() {
    // 1-D integers 0..=30, best at 12: the model quickly knows where the minimum is, and each
    // suggestion must still be a value not tried before.
    let mut st = study(
        space(vec![Param::new("n", Domain::int(0, 30))]),
        5,
        &Settings::default(),
    );
    st.optimize_fn(Budget::trials(25), |p, _| {
        Ok(((p["n"].as_i64().unwrap_or(0) - 12) as f64).powi(2))
    })
    .expect("bounded");
    let values: Vec<i64> = st
        .finished()
        .iter()
        .map(|t| t.params["n"].as_i64().expect("an int"))
        .collect();
    let mut unique = values.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), values.len(), "a repeat in {values:?}");
    assert!(values.contains(&12), "{values:?}");
}

#[test]
fn conditional_spaces_are_modelled_by_branch() {
    // The best branch is `quad` with x = 0.3; `flat` is worse everywhere.
    let s = space(vec![
        Param::new("kind", Domain::choice(["flat", "quad"])),
        Param::new("x", Domain::float(0.0, 1.0)).when("kind", ["quad"]),
        Param::new("y", Domain::float(0.0, 1.0)).when("kind", ["flat"]),
    ]);
    let late_quad: Vec<f64> = (0..3)
        .map(|seed| {
            let mut st = study(s.clone(), seed, &Settings::default());
            st.optimize_fn(Budget::trials(30), |p, _| {
                Ok(match p.get("x") {
                    Some(x) => (x.as_f64().unwrap_or(0.0) - 0.3).powi(2),
                    None => 0.5 + 0.1 * float(p, "y"),
                })
            })
            .expect("bounded");
            let best = st.best_trial().expect("trials").values[0];
            assert!(best < 1e-3, "seed {seed}: best {best}");
            let late = &st.finished()[15..];
            late.iter().filter(|t| t.params.contains_key("x")).count() as f64 / late.len() as f64
        })
        .collect();
    assert!(median(late_quad.clone()) > 0.8, "{late_quad:?}");
}

fn constrained_run(settings: &Settings, seed: u64) -> (f64, f64) {
    let mut st = study(
        space(vec![
            Param::new("x", Domain::float(0.0, 1.0)),
            Param::new("y", Domain::float(0.0, 1.0)),
        ]),
        seed,
        settings,
    );
    st.optimize_fn(Budget::trials(40), |p, _| {
        let (x, y) = (float(p, "x"), float(p, "y"));
        // Best unconstrained at (0.9, 0.9); feasible only where x + y <= 1.
        let mut e = Evaluation::from((x - 0.9).powi(2) + (y - 0.9).powi(2));
        e.attrs.insert("c".into(), Value::Float(x + y - 1.0));
        Ok(e)
    })
    .expect("bounded");
    let c = |t: &Trial| t.user_attrs["c"].as_f64().unwrap_or(1.0);
    let late = &st.finished()[15..];
    let deep = late.iter().filter(|t| c(t) > 0.2).count();
    let best_feasible = st
        .finished()
        .iter()
        .filter(|t| c(t) <= 0.0)
        .map(|t| t.values[0])
        .fold(f64::INFINITY, f64::min);
    (deep as f64 / late.len() as f64, best_feasible)
}

#[test]
fn constraints_steer_to_the_feasible_optimum() {
    // The feasible optimum is (0.5, 0.5), worth 0.32.
    let constrained = Settings::default().with("constraints", serde_json::json!(["c"]));
    let (with, with_best): (Vec<f64>, Vec<f64>) =
        (0..3).map(|s| constrained_run(&constrained, s)).unzip();
    let (without, _): (Vec<f64>, Vec<f64>) = (0..3)
        .map(|s| constrained_run(&Settings::default(), s))
        .unzip();
    assert!(median(with.clone()) < 0.15, "with constraints {with:?}");
    assert!(median(without.clone()) > 0.6, "without {without:?}");
    assert!(median(with_best.clone()) < 0.33, "{with_best:?}");
}

#[test]
fn a_missing_constraint_fails_the_trial_with_its_name() {
    let settings = Settings::default().with("constraints", serde_json::json!(["memory"]));
    let mut st = study(
        space(vec![Param::new("x", Domain::float(0.0, 1.0))]),
        1,
        &settings,
    );
    st.optimize_fn(Budget::trials(12), |p, _| Ok(float(p, "x")))
        .expect("bounded");
    let last = st.finished().last().expect("trials");
    assert_eq!(last.state, TrialState::Failed);
    assert!(
        last.message.as_deref().unwrap_or("").contains("`memory`"),
        "{last:?}"
    );
}

/// Four asks in a row, none told, after 20 trials of a 2-D quadratic (best at (0.7, 0.2)):
/// the smallest distance between two of them.
fn closest_pair_of_four(settings: &Settings) -> f64 {
    let s = space(vec![
        Param::new("x", Domain::float(0.0, 1.0)),
        Param::new("y", Domain::float(0.0, 1.0)),
    ]);
    let config = StudyConfig::new("p", s, vec![Direction::Minimize]).seed(2);
    let mut config = config;
    config.parallelism = 4;
    let mut st = Study::new(config, &Gp, settings).expect("valid");
    st.optimize_fn(Budget::trials(20), |p, _| {
        Ok((float(p, "x") - 0.7).powi(2) + (float(p, "y") - 0.2).powi(2))
    })
    .expect("bounded");
    let asks: Vec<(f64, f64)> = (0..4)
        .map(|_| {
            let t = st.ask().expect("asks");
            (float(&t.params, "x"), float(&t.params, "y"))
        })
        .collect();
    let mut closest = f64::INFINITY;
    for i in 0..4 {
        for j in 0..i {
            let d = ((asks[i].0 - asks[j].0).powi(2) + (asks[i].1 - asks[j].1).powi(2)).sqrt();
            closest = closest.min(d);
        }
    }
    closest
}

#[test]
fn the_believer_spreads_parallel_asks() {
    let spread = closest_pair_of_four(&Settings::default());
    let alone = closest_pair_of_four(&Settings::default().with("batch", "none"));
    eprintln!("closest pair of four pending asks: believer {spread:.4}, none {alone:.2e}");
    // Without the believer every ask sees the same model and lands on the same maximizer.
    assert!(alone < 1e-3, "without batching: {alone}");
    assert!(spread > 0.01, "with the believer: {spread}");
}

#[test]
fn lcb_with_several_objectives_is_refused_naming_the_setting() {
    let config = StudyConfig::new(
        "mo",
        space(vec![Param::new("x", Domain::float(0.0, 1.0))]),
        vec![Direction::Minimize, Direction::Minimize],
    );
    match Study::new(config, &Gp, &Settings::default().with("acquisition", "lcb")) {
        Ok(_) => panic!("a study of two objectives was created with lcb"),
        Err(e) => {
            let text = e.to_string();
            assert!(
                text.contains("`acquisition`") && text.contains("logei"),
                "{text}"
            );
        }
    }
}

/// The hypervolume (reference point 1.1, 1.1) of the first `trials` points of `f` in `dim`
/// dimensions: proposed by `gp` (with `settings`), or drawn uniformly when `settings` is `None`.
fn zdt_hypervolume(
    f: Function,
    dim: usize,
    seed: u64,
    trials: u64,
    settings: Option<&Settings>,
) -> f64 {
    let mut values: Vec<Vec<f64>> = Vec::new();
    match settings {
        Some(settings) => {
            let config = StudyConfig::new(
                f.name(),
                f.space(dim).expect("valid dim"),
                vec![Direction::Minimize; 2],
            )
            .seed(seed);
            let mut st = Study::new(config, &Gp, settings).expect("two objectives");
            st.optimize_fn(Budget::trials(trials), |p, _| {
                let x: Vec<f64> = (0..dim)
                    .map(|i| float(p, &Function::param_name(i)))
                    .collect();
                Ok(f.evaluate(&x))
            })
            .expect("runs");
            for t in st.finished() {
                values.push(t.values.clone());
            }
        }
        None => {
            for n in 0..trials {
                let mut rng = hyperplug_core::trial_rng(seed, n);
                let x: Vec<f64> = (0..dim).map(|_| rng.random::<f64>()).collect();
                values.push(f.evaluate(&x));
            }
        }
    }
    let points: Vec<&[f64]> = values.iter().map(Vec::as_slice).collect();
    hyperplug_core::hypervolume(&points, &[1.1, 1.1]).expect("two objectives")
}

#[test]
fn several_objectives_beat_random_search_on_zdt() {
    // ZDT1 and ZDT2 in 5-D, 40 trials, seeds 0-2; the true fronts' hypervolumes are 0.8767 and
    // 0.5433. Measured: gp 0.8550 / 0.8566 / 0.8552 on ZDT1 and 0.5208 / 0.5209 / 0.5224 on
    // ZDT2; random search 0 / 0.014 / 0.068 and 0 / 0 / 0 (its points mostly miss the
    // reference box). The bounds leave about 0.04 of room below the measured values.
    for (f, at_least) in [(Function::Zdt1, 0.81), (Function::Zdt2, 0.48)] {
        let gp: Vec<f64> = (0..3)
            .map(|seed| zdt_hypervolume(f, 5, seed, 40, Some(&Settings::default())))
            .collect();
        let random: Vec<f64> = (0..3)
            .map(|seed| zdt_hypervolume(f, 5, seed, 40, None))
            .collect();
        eprintln!("{}: gp {gp:?}, random {random:?}", f.name());
        let worst_gp = gp.iter().copied().fold(f64::INFINITY, f64::min);
        let best_random = random.iter().copied().fold(0.0, f64::max);
        assert!(
            worst_gp > at_least && worst_gp > best_random + 0.4,
            "{}: gp {gp:?} vs random {random:?}",
            f.name()
        );
    }
}

#[test]
fn huge_and_non_finite_values_do_not_break_the_search() {
    let mut st = study(
        space(vec![Param::new("x", Domain::float(0.0, 1.0))]),
        3,
        &Settings::default(),
    );
    st.optimize_fn(Budget::trials(25), |p, ctx| {
        let x = float(p, "x");
        Ok(match ctx.number() % 5 {
            0 => f64::NAN,
            1 => 1e300,
            _ => (x - 0.4).powi(2),
        })
    })
    .expect("bounded");
    let xs: Vec<f64> = st
        .finished()
        .iter()
        .filter_map(|t| t.params["x"].as_f64())
        .collect();
    assert_eq!(xs.len(), 25);
    assert!(xs.iter().all(|x| (0.0..=1.0).contains(x)), "{xs:?}");
}

#[test]
fn restart_every_acts_only_past_thirty_trials() {
    // Ackley in 4-D: a multimodal marginal likelihood, so a refit that also restarts from the
    // priors' centre can land elsewhere than one from the last fit alone.
    let f = Function::from_name("ackley").expect("a catalog function");
    let run = |every: u64| -> Vec<Params> {
        let mut st = study(
            f.space(4).expect("a valid dimension"),
            5,
            &Settings::default().with("restart_every", every),
        );
        st.optimize_fn(Budget::trials(40), |p, _| {
            let x: Vec<f64> = (0..4).map(|i| float(p, &Function::param_name(i))).collect();
            Ok(f.evaluate(&x)[0])
        })
        .expect("bounded");
        st.finished().iter().map(|t| t.params.clone()).collect()
    };
    let (warm, every) = (run(0), run(1));
    // Up to 30 finished trials every refit restarts from the centre whatever the setting.
    assert_eq!(warm[..31], every[..31]);
    assert_ne!(warm, every);
}

/// Found by the testkit's robustness property: an int on a log scale so close to `i64::MAX`
/// that both ends are one float had no finite unit coordinate, so re-encoding a candidate that
/// activates it cut the model input short and the next coordinate indexed past its end (a
/// panic). The history never activates it, so the model is built and candidates reach it.
#[test]
fn a_log_int_range_narrower_than_a_float_ulp_is_modelled() {
    let s = space(vec![
        Param::new("branch", Domain::choice(["a", "b"])),
        Param::new("n", Domain::int(i64::MAX - 10, i64::MAX).log()).when("branch", ["b"]),
        Param::new("x", Domain::float(0.0, 1.0)),
    ]);
    let mut study = study(s.clone(), 3, &Settings::default());
    for i in 0..12 {
        let p: Params = [
            ("branch".to_owned(), Value::from("a")),
            ("x".to_owned(), Value::Float(f64::from(i) / 12.0)),
        ]
        .into_iter()
        .collect();
        study.enqueue(&p).expect("a point of the space");
    }
    for _ in 0..16 {
        let t = study.ask().expect("gp suggests a point");
        assert!(s.validate(&t.params).is_ok(), "{:?}", t.params);
        let y = float(&t.params, "x");
        study.tell(t.number, Ok(y.into())).expect("told");
    }
}
