//! Trials lent out by ask/tell: many threads on one SQLite study, leases outliving the grace
//! period, leases dropped without a result, and a study loaded by name in another handle.

use std::sync::Arc;
use std::time::Duration;

use hyperplug_engine::{
    Component, Direction, Domain, Param, Registry, Settings, SharedStudy, Space, Study,
    StudyConfig, TrialError, TrialState,
};

fn config(name: &str, grace: Duration) -> StudyConfig {
    let space = Space::new(vec![
        Param::new("x", Domain::float(-2.0, 2.0)),
        Param::new("k", Domain::int(0, 9)),
    ])
    .expect("a valid space");
    StudyConfig {
        grace,
        ..StudyConfig::new(name, space, vec![Direction::Minimize]).seed(3)
    }
}

fn sqlite(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("study.db").display())
}

fn create(url: &str, name: &str, grace: Duration, trials: Option<u64>) -> SharedStudy {
    SharedStudy::create(
        url,
        config(name, grace),
        "random",
        None,
        &Settings::default(),
        None,
        trials,
        &Registry::bundled(),
    )
    .expect("the study opens")
}

#[test]
fn threads_asking_at_once_get_distinct_numbers_and_the_exact_budget() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = sqlite(&dir);
    let study = create(&url, "threads", Duration::from_secs(60), Some(60));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let study = study.clone();
            std::thread::spawn(move || {
                let mut numbers = Vec::new();
                while let Some(lease) = study.ask().expect("ask") {
                    let x = lease.params()["x"].as_f64().expect("x is a float");
                    numbers.push(lease.number());
                    let told = lease.tell(Ok((x * x).into())).expect("tell");
                    assert_eq!(told.state, TrialState::Complete);
                }
                numbers
            })
        })
        .collect();
    let mut all: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("no thread panics"))
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..60).collect::<Vec<u64>>());
    let trials = study.trials().expect("trials");
    assert_eq!(trials.len(), 60);
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
    let best = study.best_trial().expect("best").expect("a complete trial");
    assert!(
        trials.iter().all(|t| t.values[0] >= best.values[0]),
        "{best:?}"
    );
    // Another handle on the same file sees the budget spent.
    let again = SharedStudy::load(&url, "threads", &Registry::bundled()).expect("load");
    assert_eq!(again.budget(), Some(60));
    assert!(again.ask().expect("ask").is_none());
}

#[test]
fn a_lease_open_past_the_grace_period_is_kept_alive() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = sqlite(&dir);
    let grace = Duration::from_millis(800);
    let study = create(&url, "grace", grace, None);
    let lease = study.ask().expect("ask").expect("a trial");

    // A trial asked from a bare study, which nobody beats for, beside it: it is the control,
    // showing that the grace period is short enough to reap in this test.
    let store: Arc<dyn hyperplug_engine::Storage> =
        hyperplug_storage::open_store(&url, hyperplug_storage::Mode::Existing).expect("store");
    let random = Registry::bundled();
    let random = random.strategy("random").expect("random is bundled");
    // The same definition: opening a study stores the one it is given.
    let same = StudyConfig {
        definition: study.with(|s| s.config().definition.clone()),
        ..config("grace", grace)
    };
    let mut bare = Study::open(same, &*random.factory, &Settings::default(), store)
        .expect("the bare study opens");
    let unbeaten = bare.ask().expect("ask").number;

    std::thread::sleep(grace * 3);
    // Another worker looks at the study: it fails lost trials (the store reaps on sync).
    let other = SharedStudy::load(&url, "grace", &Registry::bundled()).expect("load");
    let trials = other.trials().expect("trials");
    let state = |n: u64| {
        trials
            .iter()
            .find(|t| t.number == n)
            .map(|t| t.state)
            .expect("the trial is stored")
    };
    assert_eq!(state(unbeaten), TrialState::Failed);
    assert_eq!(state(lease.number()), TrialState::Running);
    let told = lease.tell(Ok(1.5.into())).expect("tell");
    assert_eq!(told.state, TrialState::Complete);
    assert_eq!(told.values, vec![1.5]);
}

#[test]
fn a_dropped_lease_fails_its_trial_and_a_pruned_one_is_pruned() {
    let study = create("memory", "dropped", Duration::from_secs(60), Some(3));
    let dropped = study.ask().expect("ask").expect("a trial");
    let number = dropped.number();
    drop(dropped);
    let mut pruned = study.ask().expect("ask").expect("a trial");
    // Random search never prunes; reporting records the value.
    assert!(!pruned.report(1, 0.25).expect("report"));
    pruned.tell(Err(TrialError::Pruned)).expect("tell");
    let mut done = study.ask().expect("ask").expect("a trial");
    done.set_user_attr("note", "kept".into());
    done.tell(Ok(2.0.into())).expect("tell");
    assert!(study.ask().expect("ask").is_none(), "the budget is 3");

    let trials = study.trials().expect("trials");
    assert_eq!(trials[number as usize].state, TrialState::Failed);
    assert_eq!(
        trials[number as usize].message.as_deref(),
        Some("the lease was dropped without a result")
    );
    assert_eq!(trials[1].state, TrialState::Pruned);
    assert_eq!(trials[1].intermediate, vec![(1, 0.25)]);
    assert_eq!(trials[2].state, TrialState::Complete);
    assert_eq!(trials[2].user_attrs["note"], "kept".into());
}

#[test]
fn enqueued_parameters_are_lent_first_and_bad_ones_refused() {
    let study = create("memory", "queue", Duration::from_secs(60), None);
    let params: hyperplug_engine::Params =
        [("x".to_owned(), 0.5.into()), ("k".to_owned(), 4_i64.into())]
            .into_iter()
            .collect();
    study.enqueue(&params).expect("enqueue");
    let lease = study.ask().expect("ask").expect("a trial");
    assert_eq!(lease.params(), &params);
    lease.tell(Ok(0.25.into())).expect("tell");
    let outside: hyperplug_engine::Params =
        [("x".to_owned(), 9.0.into()), ("k".to_owned(), 4_i64.into())]
            .into_iter()
            .collect();
    let e = study
        .enqueue(&outside)
        .expect_err("x = 9 is outside [-2, 2]");
    assert!(e.to_string().contains('x'), "{e}");
}

#[test]
fn a_wrong_pruner_is_refused_before_the_store_is_touched() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = sqlite(&dir);
    let registry = Registry::bundled();
    for (pruner, expected) in [
        (
            Component {
                name: "no-such-pruner".into(),
                library: None,
                settings: Settings::default(),
            },
            "no-such-pruner",
        ),
        (
            Component {
                name: "percentile".into(),
                library: None,
                settings: Settings::default().with("percentile", 150.0),
            },
            "percentile",
        ),
    ] {
        let e = SharedStudy::create(
            &url,
            config("refused", Duration::from_secs(60)),
            "random",
            None,
            &Settings::default(),
            Some(&pruner),
            None,
            &registry,
        )
        .err()
        .expect("the pruner is refused");
        assert!(format!("{e:#}").contains(expected), "{e:#}");
        assert!(
            SharedStudy::stored(&url, "refused")
                .expect("the store opens")
                .is_none(),
            "nothing is stored"
        );
    }
}

#[test]
fn a_study_from_a_study_file_is_loaded_with_its_budget_and_never_recreated() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = sqlite(&dir);
    let text = format!(
        "[study]\nname = \"from-file\"\ntrials = 3\nseed = 5\nstorage = \"{url}\"\n[strategy]\nname = \"qmc\"\n[objective]\nname = \"rosenbrock\"\ndim = 2\n"
    );
    let file = hyperplug_engine::config::StudyFile::parse(std::path::Path::new("s.toml"), &text)
        .expect("a valid study file");
    let machine = hyperplug_engine::resources::Machine {
        cpus: 1,
        gpus: Vec::new(),
    };
    let registry = Registry::bundled();
    let prepared =
        hyperplug_engine::run::prepare(&file, &registry, &machine).expect("the study is stored");
    drop(prepared);

    let e = SharedStudy::create(
        &url,
        config("from-file", Duration::from_secs(60)),
        "random",
        None,
        &Settings::default(),
        None,
        None,
        &registry,
    )
    .err()
    .expect("creating over a study file's study is refused");
    assert!(e.to_string().contains("load it by name"), "{e}");

    let study = SharedStudy::load(&url, "from-file", &registry).expect("load");
    assert_eq!(study.budget(), Some(3));
    assert_eq!(study.with(|s| s.strategy_name().to_owned()), "qmc");
    let mut numbers = Vec::new();
    while let Some(lease) = study.ask().expect("ask") {
        numbers.push(lease.number());
        lease.tell(Ok(1.0.into())).expect("tell");
    }
    assert_eq!(numbers, [0, 1, 2]);
}

#[test]
fn define_by_run_leases_grow_the_stored_space_and_a_loaded_handle_continues_it() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = sqlite(&dir);
    let registry = Registry::bundled();
    let mut config = StudyConfig::new("dbr", Space::empty(), vec![Direction::Minimize]).seed(9);
    config.define_by_run = true;
    let study = SharedStudy::create(
        &url,
        config,
        "tpe",
        None,
        &Settings::default(),
        None,
        None,
        &registry,
    )
    .expect("the study opens");
    for i in 0..6 {
        let mut lease = study.ask_open().expect("ask").expect("a trial");
        let x = lease.suggest("x", Domain::float(0.0, 1.0)).expect("x");
        let x = x.as_f64().expect("a float");
        // `k` only on even trials: a conditional parameter born of an `if`.
        let k = if i % 2 == 0 {
            lease.suggest("k", Domain::int(0, 9)).expect("k").as_i64()
        } else {
            None
        };
        lease.report(0, x).expect("report");
        lease
            .tell(Ok((x + k.unwrap_or(0) as f64).into()))
            .expect("tell");
    }
    let names: Vec<String> = study
        .space()
        .params()
        .iter()
        .map(|p| p.name.clone())
        .collect();
    assert_eq!(names, ["x", "k"]);
    let trials = study.trials().expect("trials");
    assert_eq!(trials.len(), 6);
    for t in &trials {
        let expected = if t.number % 2 == 0 { 2 } else { 1 };
        assert_eq!(
            t.params.len(),
            expected,
            "only the suggested parameters: {t:?}"
        );
        assert_eq!(t.intermediate.len(), 1);
    }

    // Another handle loads it with its strategy and seed, and starts from the stored space.
    let loaded = SharedStudy::load(&url, "dbr", &registry).expect("load");
    assert_eq!(
        loaded.with(|s| (s.strategy_name().to_owned(), s.config().seed)),
        ("tpe".to_owned(), 9)
    );
    assert_eq!(loaded.space(), study.space());
    // A lease dropped untold fails its trial; a conflicting distribution is refused by name.
    let mut lease = loaded.ask_open().expect("ask").expect("a trial");
    let e = lease.suggest("x", Domain::int(0, 3)).expect_err("conflict");
    assert!(e.to_string().contains("`x` is float [0, 1]"), "{e}");
    drop(lease);
    let last = loaded.trials().expect("trials").pop().expect("a trial");
    assert_eq!(last.state, TrialState::Failed);
    assert_eq!(
        last.message.as_deref(),
        Some("the lease was dropped without a result")
    );
}

/// A lease's report asks the study's pruner: every thread's trials, through the store.
#[test]
fn a_lease_s_report_asks_the_pruner_the_study_was_created_with() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = sqlite(&dir);
    let registry = Registry::bundled();
    let median = Component {
        name: "median".into(),
        library: None,
        settings: Settings::default().with("n_startup_trials", 2),
    };
    let created = SharedStudy::create(
        &url,
        config("pruned", Duration::from_secs(60)),
        "random",
        None,
        &Settings::default(),
        Some(&median),
        Some(12),
        &registry,
    )
    .expect("the study opens");
    drop(created);
    // Another process loading the study by name gets its pruner back from the store.
    let study = SharedStudy::load(&url, "pruned", &registry).expect("the study loads");
    assert_eq!(
        study.with(|s| s.pruner_name().map(str::to_owned)),
        Some("median".into())
    );
    let mut pruned = 0;
    while let Some(mut lease) = study.ask().expect("ask") {
        // Trials 0 and 1 are good; every later one is worse at every step.
        let level = if lease.number() < 2 { 0.0 } else { 10.0 };
        let mut stopped = false;
        for step in 1..=5 {
            if lease
                .report(step, level + 1.0 / step as f64)
                .expect("report")
            {
                stopped = true;
                break;
            }
        }
        if stopped {
            pruned += 1;
            let t = lease.tell(Err(TrialError::Pruned)).expect("tell");
            assert_eq!(
                (t.state, t.intermediate.len()),
                (TrialState::Pruned, 1),
                "{t:?}"
            );
        } else {
            lease.tell(Ok(level.into())).expect("tell");
        }
    }
    assert_eq!(
        pruned, 10,
        "every trial after the start-up ones stops at its first step"
    );
}

/// A study with two objectives lent out by ask/tell: leases report one value per objective, the
/// store keeps the vectors, and the `pareto` pruner stops trials dominated at their step.
#[test]
fn leases_of_a_two_objective_study_report_vectors_that_the_pareto_pruner_judges() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = sqlite(&dir);
    let registry = Registry::bundled();
    let pareto = Component {
        name: "pareto".into(),
        library: None,
        settings: Settings::default().with("n_startup_trials", 2),
    };
    let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))]).expect("a space");
    let config = StudyConfig::new(
        "pareto",
        space,
        vec![Direction::Minimize, Direction::Minimize],
    );
    let study = SharedStudy::create(
        &url,
        config,
        "random",
        None,
        &Settings::default(),
        Some(&pareto),
        Some(8),
        &registry,
    )
    .expect("the study opens");
    let mut pruned = 0;
    while let Some(mut lease) = study.ask().expect("ask") {
        // Trials 0 and 1 are good in both objectives; every later one is worse in both.
        let level = if lease.number() < 2 { 0.0 } else { 10.0 };
        let at = |s: u64| [level + 1.0 / s as f64, level + 2.0 / s as f64];
        let mut stopped = false;
        for step in 1..=4 {
            if lease.report_values(step, &at(step)).expect("report") {
                stopped = true;
                break;
            }
        }
        if stopped {
            pruned += 1;
            let t = lease.tell(Err(TrialError::Pruned)).expect("tell");
            assert_eq!(t.intermediate_values, [(1, at(1).to_vec())], "{t:?}");
        } else {
            lease.tell(Ok(at(5).to_vec().into())).expect("tell");
        }
    }
    assert_eq!(
        pruned, 6,
        "every trial after the start-up ones stops at its first step"
    );
    // A vector of the wrong length is refused, naming the counts.
    let err = study
        .with(|s| s.report_values(0, 1, &[1.0, 2.0, 3.0]))
        .expect_err("three values for two objectives");
    assert!(err.to_string().contains("3 intermediate values"), "{err}");
}

/// Processes creating one new study at once with seeds nobody chose (the Python package's
/// `create_study` without `seed`, HTTP without `seed`) each propose their own; all run with the
/// first creator's, which a later `load` gets too, and a chosen seed replaces it.
#[test]
fn creators_racing_with_proposed_seeds_all_run_with_the_first_one() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = sqlite(&dir);
    let at_once = std::sync::Barrier::new(8);
    let seeds: Vec<u64> = std::thread::scope(|scope| {
        let creators: Vec<_> = (0..8u64)
            .map(|proposal| {
                let (url, at_once) = (&url, &at_once);
                scope.spawn(move || {
                    let config = config("seeds", Duration::from_secs(60)).proposed_seed(proposal);
                    let registry = Registry::bundled();
                    at_once.wait();
                    SharedStudy::create(
                        url,
                        config,
                        "random",
                        None,
                        &Settings::default(),
                        None,
                        None,
                        &registry,
                    )
                    .expect("the study opens")
                    .with(|s| s.config().seed)
                })
            })
            .collect();
        creators
            .into_iter()
            .map(|c| c.join().expect("no panic"))
            .collect()
    });
    assert!(seeds.iter().all(|&s| s == seeds[0]), "{seeds:?}");
    let loaded = SharedStudy::load(&url, "seeds", &Registry::bundled()).expect("it loads");
    assert_eq!(loaded.with(|s| s.config().seed), seeds[0]);
    let chosen = SharedStudy::create(
        &url,
        config("seeds", Duration::from_secs(60)).seed(99),
        "random",
        None,
        &Settings::default(),
        None,
        None,
        &Registry::bundled(),
    )
    .expect("the study opens");
    assert_eq!(chosen.with(|s| s.config().seed), 99);
}
