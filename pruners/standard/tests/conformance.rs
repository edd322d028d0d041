//! Every pruner of the crate through the testkit's conformance suite, in-process (the plugin
//! library `hyperplug-plugin-pruners` runs the same suite through the built library).

use hyperplug_core::Settings;
use hyperplug_pruners::factories;
use hyperplug_testkit::{STEPS, check_pruner};

/// The settings each pruner is checked with: the suite's trials report `STEPS` steps.
fn settings_for(name: &str) -> Settings {
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
}

#[test]
fn every_pruner_conforms() {
    let names: Vec<String> = factories().iter().map(|f| f.info().name).collect();
    assert_eq!(
        names,
        [
            "median",
            "percentile",
            "patient",
            "threshold",
            "wilcoxon",
            "successive-halving",
            "asha",
            "hyperband",
            "pareto"
        ]
    );
    for f in factories() {
        check_pruner(&*f, &settings_for(&f.info().name));
    }
}
