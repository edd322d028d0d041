//! The conformance suite against every strategy, linked in-process and loaded as a plugin.

use hyperplug_engine::registry::BUNDLED_STRATEGIES;
use hyperplug_engine::{Registry, Settings, Source};
use hyperplug_testkit::{
    STEPS, check_library_with, check_pruner, check_strategy, run_library_checks,
};

use crate::library;

/// Settings each strategy needs to run on the suite's spaces, and each pruner on the suite's
/// trials (which report `STEPS` steps).
fn settings_for(name: &str) -> Settings {
    let s = Settings::default();
    match name {
        "grid" => s.with("points", 5),
        "median" => s.with("n_startup_trials", 3),
        "percentile" => s.with("percentile", 25.0).with("n_startup_trials", 3),
        "patient" => s.with("patience", 2),
        "threshold" => s.with("upper", 2.0),
        "wilcoxon" => s.with("n_startup_steps", 3),
        "pareto" => s.with("n_startup_trials", 3),
        "successive-halving" | "hyperband" => s.with("max_resource", STEPS),
        _ => s,
    }
}

#[test]
fn every_bundled_pruner_conforms_in_process() {
    let registry = Registry::bundled();
    let names: Vec<&str> = registry
        .pruners()
        .iter()
        .map(|e| e.info.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "asha",
            "hyperband",
            "median",
            "pareto",
            "patient",
            "percentile",
            "successive-halving",
            "threshold",
            "wilcoxon"
        ]
    );
    for entry in registry.pruners() {
        assert_eq!(entry.source, Source::Bundled);
        check_pruner(&*entry.factory, &settings_for(&entry.info.name));
    }
}

#[test]
fn every_bundled_strategy_conforms_in_process() {
    let registry = Registry::bundled();
    let mut names: Vec<&str> = registry
        .strategies()
        .iter()
        .map(|e| e.info.name.as_str())
        .collect();
    let mut listed: Vec<&str> = BUNDLED_STRATEGIES.iter().map(|b| b.name).collect();
    names.sort_unstable();
    listed.sort_unstable();
    assert_eq!(names, listed);
    for entry in registry.strategies() {
        assert_eq!(entry.source, Source::Bundled);
        check_strategy(&*entry.factory, &settings_for(&entry.info.name));
    }
}

/// Through each built library, loaded as the host loads it: `hyperplug_testkit::check_library`
/// runs the strategy suite and the objective suite on everything a library exports.
#[test]
fn every_plugin_library_conforms_through_check_library() {
    // Each bundled strategy's plugin package, with the strategies it exports in list order.
    let mut libs: Vec<(&str, Vec<&str>, Vec<&str>)> = Vec::new();
    for b in BUNDLED_STRATEGIES {
        match libs.iter_mut().find(|(package, _, _)| *package == b.plugin) {
            Some((_, strategies, _)) => strategies.push(b.name),
            None => libs.push((b.plugin, vec![b.name], vec![])),
        }
    }
    libs.extend([
        ("hyperplug-example-sampler", vec!["local-search"], vec![]),
        (
            "hyperplug-example-library",
            vec!["halton", "latin-hypercube"],
            vec!["bowl"],
        ),
        ("hyperplug-fixture-abi-1-0", vec!["random"], vec![]),
    ]);
    for (package, strategies, objectives) in libs {
        let lib = hyperplug_engine::plugin::load(&library(package))
            .unwrap_or_else(|e| panic!("{package}: {e}"));
        let found: Vec<String> = lib.strategies.iter().map(|f| f.info().name).collect();
        assert_eq!(found, strategies, "{package}");
        let found: Vec<String> = lib.objectives.iter().map(|f| f.info().name).collect();
        assert_eq!(found, objectives, "{package}");
        if package == hyperplug_engine::registry::PRUNERS_PLUGIN {
            let found: Vec<String> = lib.pruners.iter().map(|f| f.info().name).collect();
            let bundled: Vec<String> = Registry::bundled()
                .pruners()
                .iter()
                .map(|e| e.info.name.clone())
                .collect();
            let mut sorted = found.clone();
            sorted.sort();
            assert_eq!(sorted, bundled, "{package} exports every bundled pruner");
        }
        check_library_with(library(package), settings_for);
    }
    // Every synthetic objective, through its library.
    let synthetic = library("hyperplug-plugin-synthetic");
    let results = run_library_checks(&synthetic, &settings_for).unwrap();
    assert!(results.len() >= 10, "{results:?}");
    for r in &results {
        assert_eq!(r.kind, "objective");
        assert!(r.outcome.is_ok(), "{}: {:?}", r.name, r.outcome);
    }
}
