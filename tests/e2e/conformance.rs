//! The conformance suite against every strategy, linked in-process and loaded as a plugin.

use std::sync::Arc;

use hyperplug::{Registry, Settings, Source, StrategyFactory};
use hyperplug_testkit::check_strategy;

use crate::library;

/// Settings each strategy needs to run on the suite's spaces.
fn settings_for(name: &str) -> Settings {
    match name {
        "grid" => Settings::default().with("points", 5),
        _ => Settings::default(),
    }
}

#[test]
fn every_bundled_strategy_conforms_in_process() {
    let registry = Registry::bundled();
    let names: Vec<&str> = registry
        .strategies()
        .iter()
        .map(|e| e.info.name.as_str())
        .collect();
    assert_eq!(names, ["gp", "grid", "qmc", "random", "tpe"]);
    for entry in registry.strategies() {
        assert_eq!(entry.source, Source::Bundled);
        check_strategy(&*entry.factory, &settings_for(&entry.info.name));
    }
}

#[test]
fn every_strategy_conforms_through_its_plugin_library() {
    let libs = [
        ("hyperplug-plugin-random", vec!["random"]),
        ("hyperplug-plugin-grid", vec!["grid"]),
        ("hyperplug-plugin-qmc", vec!["qmc"]),
        ("hyperplug-plugin-tpe", vec!["tpe"]),
        ("hyperplug-plugin-gp", vec!["gp"]),
        ("hyperplug-example-sampler", vec!["local-search"]),
        (
            "hyperplug-example-library",
            vec!["halton", "latin-hypercube"],
        ),
    ];
    for (package, names) in libs {
        let lib =
            hyperplug::plugin::load(&library(package)).unwrap_or_else(|e| panic!("{package}: {e}"));
        let found: Vec<String> = lib.strategies.iter().map(|f| f.info().name).collect();
        assert_eq!(found, names, "{package}");
        for factory in &lib.strategies {
            let factory: &Arc<dyn StrategyFactory> = factory;
            check_strategy(&**factory, &settings_for(&factory.info().name));
        }
    }
}
