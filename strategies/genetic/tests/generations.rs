//! The population is a function of the stored finished trials: a study resumed from its store,
//! or a second worker on the same store, continues the same generations.

use std::sync::Arc;

use hyperplug_core::{
    Budget, Direction, Domain, MemoryStorage, Param, Settings, Space, Storage, StrategyFactory,
    Study, StudyConfig, Value,
};
use hyperplug_genetic::{DifferentialEvolution, Genetic};

fn space() -> Space {
    Space::new(vec![
        Param::new("x", Domain::float(-2.0, 2.0)),
        Param::new("n", Domain::int(1, 16).log()),
        Param::new("kind", Domain::choice(["a", "b", "c"])),
        Param::new("y", Domain::float(0.0, 1.0)).when("kind", ["b"]),
    ])
    .expect("a valid space")
}

fn objective(p: &hyperplug_core::Params) -> f64 {
    let x = p["x"].as_f64().unwrap_or(0.0);
    let n = p["n"].as_f64().unwrap_or(1.0);
    let k = match p["kind"].as_str() {
        Some("b") => p["y"].as_f64().unwrap_or(1.0),
        Some("a") => 0.5,
        _ => 1.0,
    };
    (x - 0.7).powi(2) + (n.ln() - 1.5).powi(2) + k
}

fn run(
    factory: &dyn StrategyFactory,
    storage: &Arc<MemoryStorage>,
    trials: u64,
) -> Vec<Vec<(String, Value)>> {
    let config = StudyConfig::new("g", space(), vec![Direction::Minimize]).seed(9);
    let store: Arc<dyn Storage> = storage.clone();
    let mut study = Study::open(
        config,
        factory,
        &Settings::default().with("population", 8),
        store,
    )
    .expect("the study opens");
    study
        .optimize_fn(Budget::trials(trials), |p, _| Ok(objective(p)))
        .expect("the run ends");
    study
        .finished()
        .iter()
        .map(|t| t.params.clone().into_iter().collect())
        .collect()
}

#[test]
fn a_resumed_study_continues_the_same_generations() {
    for factory in [&Genetic as &dyn StrategyFactory, &DifferentialEvolution] {
        let name = factory.info().name;
        let whole = run(factory, &Arc::new(MemoryStorage::new()), 100);
        // Stop mid-generation (37 is not a multiple of 8), then a new strategy, built from the
        // store alone, goes on.
        let storage = Arc::new(MemoryStorage::new());
        run(factory, &storage, 37);
        let resumed = run(factory, &storage, 100);
        assert_eq!(resumed.len(), 100, "{name}");
        assert_eq!(whole, resumed, "{name}: the resumed run went another way");
    }
}

#[test]
fn two_workers_on_one_store_breed_from_the_same_parents() {
    // Two studies on one store take turns: each sees the other's trials, so both read the same
    // finished list and must suggest what one strategy alone suggests for the same numbers.
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let config = || StudyConfig::new("w", space(), vec![Direction::Minimize]).seed(4);
    let settings = Settings::default().with("population", 8);
    let mut a = Study::open(config(), &Genetic, &settings, storage.clone()).unwrap();
    let mut b = Study::open(config(), &Genetic, &settings, storage.clone()).unwrap();
    for round in 0..40 {
        let study = if round % 2 == 0 { &mut a } else { &mut b };
        let t = study.ask().unwrap();
        study
            .tell(t.number, Ok(objective(&t.params).into()))
            .unwrap();
    }
    a.sync().unwrap();
    let shared: Vec<_> = a.finished().iter().map(|t| t.params.clone()).collect();
    assert_eq!(shared.len(), 40);
    let config = StudyConfig::new("w", space(), vec![Direction::Minimize]).seed(4);
    let store: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let mut lone = Study::open(config, &Genetic, &settings, store).unwrap();
    lone.optimize_fn(Budget::trials(40), |p, _| Ok(objective(p)))
        .unwrap();
    let lone: Vec<_> = lone.finished().iter().map(|t| t.params.clone()).collect();
    assert_eq!(shared, lone);
}
