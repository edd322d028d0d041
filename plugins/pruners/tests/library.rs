//! The built library, loaded as the host loads it, through the testkit's conformance suite.

#![allow(clippy::unwrap_used)]

use hyperplug_sdk::Settings;
use hyperplug_testkit::{STEPS, built_library, check_library_with};

#[test]
fn the_built_library_exports_every_pruner_and_each_conforms() {
    let path = built_library(env!("CARGO_PKG_NAME"));
    let lib = hyperplug_loader::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<String> = lib.pruners.iter().map(|f| f.info().name).collect();
    let bundled: Vec<String> = hyperplug_pruners::factories()
        .iter()
        .map(|f| f.info().name)
        .collect();
    assert_eq!(names, bundled);
    let strategies: Vec<String> = lib.strategies.iter().map(|f| f.info().name).collect();
    assert_eq!(strategies, ["bohb"]);
    assert!(lib.objectives.is_empty());
    check_library_with(&path, |name| {
        let s = Settings::default();
        match name {
            "median" => s.with("n_startup_trials", 3),
            "percentile" => s.with("percentile", 25.0).with("n_startup_trials", 3),
            "patient" => s.with("patience", 2),
            "threshold" => s.with("upper", 2.0),
            "wilcoxon" => s.with("n_startup_steps", 3),
            "pareto" => s.with("n_startup_trials", 3),
            "successive-halving" | "hyperband" => s.with("max_resource", STEPS),
            _ => s,
        }
    });
}

/// A study pruned by the plugin's Hyperband ends with the same trials, step for step, as one
/// pruned by the same pruner linked in-process.
#[test]
fn a_plugin_pruner_decides_as_the_bundled_one() {
    use hyperplug_sdk::{
        Budget, Direction, Domain, Param, PrunerFactory, Space, Study, StudyConfig, TrialError,
    };
    let lib = hyperplug_loader::load(&built_library(env!("CARGO_PKG_NAME")))
        .unwrap_or_else(|e| panic!("{e}"));
    let run = |factory: &dyn PrunerFactory| {
        let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))]).unwrap();
        let config = StudyConfig::new("p", space, vec![Direction::Minimize]).seed(3);
        let mut study =
            Study::new(config, &hyperplug_random::Random, &Settings::default()).unwrap();
        study
            .set_pruner(factory, &Settings::default().with("max_resource", 9))
            .unwrap();
        study
            .optimize_fn(Budget::trials(40), |p, ctx| {
                let x = p["x"].as_f64().unwrap_or(0.0);
                for s in 1..=9 {
                    ctx.report(s, (x - 0.4).powi(2) + 1.0 / s as f64);
                    if ctx.should_prune() {
                        return Err(TrialError::Pruned);
                    }
                }
                Ok((x - 0.4).powi(2))
            })
            .unwrap();
        study
            .finished()
            .iter()
            .map(|t| (t.number, t.state, t.intermediate.len()))
            .collect::<Vec<_>>()
    };
    let plugin = lib
        .pruners
        .iter()
        .find(|f| f.info().name == "hyperband")
        .unwrap();
    let started = plugin
        .create(&hyperplug_sdk::PrunerSetup {
            directions: &[Direction::Minimize],
            seed: 0,
            settings: &Settings::default().with("max_resource", 9),
        })
        .unwrap();
    assert_eq!(started.resource(5), Some(9), "the resource crosses the ABI");
    let by_plugin = run(&**plugin);
    assert_eq!(by_plugin, run(&hyperplug_pruners::Hyperband));
    let pruned = by_plugin
        .iter()
        .filter(|t| t.1 == hyperplug_sdk::TrialState::Pruned)
        .count();
    assert!(pruned >= 10, "{pruned} of 40 pruned");
}

/// A two-objective study pruned by the plugin's `pareto` ends as one pruned by the linked
/// pruner, trial by trial: the intermediate vectors cross the ABI beside the trials
/// (`FfiPruner::prune_values`), or the plugin would judge nothing and prune nothing.
#[test]
fn a_plugin_pareto_pruner_sees_the_vectors_and_decides_as_the_bundled_one() {
    use hyperplug_sdk::{
        Budget, Direction, Domain, Param, PrunerFactory, Space, Study, StudyConfig, TrialError,
    };
    let lib = hyperplug_loader::load(&built_library(env!("CARGO_PKG_NAME")))
        .unwrap_or_else(|e| panic!("{e}"));
    let run = |factory: &dyn PrunerFactory| {
        let space = Space::new(vec![
            Param::new("x", Domain::float(0.0, 1.0)),
            Param::new("y", Domain::float(0.0, 1.0)),
        ])
        .unwrap();
        let directions = vec![Direction::Minimize, Direction::Minimize];
        let config = StudyConfig::new("p", space, directions).seed(5);
        let mut study =
            Study::new(config, &hyperplug_random::Random, &Settings::default()).unwrap();
        study.set_pruner(factory, &Settings::default()).unwrap();
        study
            .optimize_fn(Budget::trials(40), |p, ctx| {
                let x = p["x"].as_f64().unwrap_or(0.0);
                let y = p["y"].as_f64().unwrap_or(0.0);
                let at = |s: f64| vec![x + y / s, 1.0 - x + y / s];
                for s in 1..=6 {
                    ctx.report_values(s, &at(s as f64));
                    if ctx.should_prune() {
                        return Err(TrialError::Pruned);
                    }
                }
                Ok(at(7.0))
            })
            .unwrap();
        study
            .finished()
            .iter()
            .map(|t| (t.number, t.state, t.intermediate_values.len()))
            .collect::<Vec<_>>()
    };
    let plugin = lib
        .pruners
        .iter()
        .find(|f| f.info().name == "pareto")
        .unwrap();
    assert!(plugin.info().capabilities.multi_objective);
    let by_plugin = run(&**plugin);
    assert_eq!(by_plugin, run(&hyperplug_pruners::Pareto));
    let pruned = by_plugin
        .iter()
        .filter(|t| t.1 == hyperplug_sdk::TrialState::Pruned)
        .count();
    assert!(pruned >= 8, "{pruned} of 40 pruned");
}
