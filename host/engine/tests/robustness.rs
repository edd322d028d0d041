//! Every bundled strategy, with default settings, against generated spaces and histories: a
//! valid suggestion or a clear error, never a panic, a hang, NaN or a point outside the space.

use hyperplug_core::Settings;
use hyperplug_engine::registry::BUNDLED_STRATEGIES;

#[test]
fn every_bundled_strategy_survives_any_space_and_history() {
    for b in BUNDLED_STRATEGIES {
        let factory = (b.factory)();
        hyperplug_testkit::check_strategy_robust(&*factory, &Settings::default());
    }
}

/// The grid refuses most spaces without `points` (continuous floats); with it, it meets them all.
#[test]
fn the_grid_with_points_survives_any_space_and_history() {
    let grid = BUNDLED_STRATEGIES
        .iter()
        .find(|b| b.name == "grid")
        .map(|b| (b.factory)())
        .expect("grid is bundled");
    hyperplug_testkit::check_strategy_robust(&*grid, &Settings::default().with("points", 3));
}
