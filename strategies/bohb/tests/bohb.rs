//! BOHB with Hyperband on a problem whose learning curves rank configurations early: the suite,
//! and that it beats random search paired with the same pruner.

use hyperplug_bohb::Bohb;
use hyperplug_core::{
    Budget, Direction, Domain, Param, Settings, Space, StrategyFactory, Study, StudyConfig,
    TrialError, TrialState,
};
use hyperplug_pruners::Hyperband;
use hyperplug_testkit::check_strategy;

#[test]
fn bohb_conforms() {
    check_strategy(&Bohb, &Settings::default());
}

/// Loss after `s` of 27 epochs for (x, y): a quadratic bowl around (0.7, 0.2) that curves
/// down as epochs pass.
fn curve(x: f64, y: f64, s: u64) -> f64 {
    (x - 0.7).powi(2) + (y - 0.2).powi(2) + 0.5 / s as f64
}

fn best_after(factory: &dyn StrategyFactory, seed: u64) -> f64 {
    let space = Space::new(vec![
        Param::new("x", Domain::float(0.0, 1.0)),
        Param::new("y", Domain::float(0.0, 1.0)),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    let config = StudyConfig::new("bohb", space, vec![Direction::Minimize]).seed(seed);
    let mut study =
        Study::new(config, factory, &Settings::default()).unwrap_or_else(|e| panic!("{e}"));
    study
        .set_pruner(&Hyperband, &Settings::default().with("max_resource", 27))
        .unwrap_or_else(|e| panic!("{e}"));
    study
        .optimize_fn(Budget::trials(120), |p, ctx| {
            let (x, y) = (
                p["x"].as_f64().unwrap_or(0.0),
                p["y"].as_f64().unwrap_or(0.0),
            );
            for s in 1..=ctx.resource().unwrap_or(27) {
                ctx.report(s, curve(x, y, s));
                if ctx.should_prune() {
                    return Err(TrialError::Pruned);
                }
            }
            Ok(curve(x, y, 27))
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        study
            .finished()
            .iter()
            .any(|t| t.state == TrialState::Pruned)
    );
    study.best_trial().map_or(f64::INFINITY, |t| t.values[0])
}

#[test]
fn bohb_finds_better_points_than_random_search_under_the_same_hyperband() {
    let seeds = 0..5;
    let mut bohb: Vec<f64> = seeds.clone().map(|s| best_after(&Bohb, s)).collect();
    let mut random: Vec<f64> = seeds
        .map(|s| best_after(&hyperplug_random_like::Uniform, s))
        .collect();
    bohb.sort_by(f64::total_cmp);
    random.sort_by(f64::total_cmp);
    let (b, r) = (bohb[2] - 0.5 / 27.0, random[2] - 0.5 / 27.0);
    eprintln!("median regret over 5 seeds: BOHB {b:.5}, random {r:.5}");
    assert!(b < r, "median regret: BOHB {b:.5}, random {r:.5}");
}

/// Uniform draws per trial, as a baseline without a model.
mod hyperplug_random_like {
    use hyperplug_core::{
        AskContext, Capabilities, Error, Params, PluginInfo, Strategy, StrategyFactory, StudySetup,
        trial_rng,
    };
    use rand::Rng;

    pub struct Uniform;

    impl StrategyFactory for Uniform {
        fn info(&self) -> PluginInfo {
            PluginInfo::new("uniform", "0", "", Capabilities::all())
        }
        fn create(&self, _: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
            Ok(Box::new(Uniform))
        }
    }

    impl Strategy for Uniform {
        fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
            let mut rng = trial_rng(ctx.seed, ctx.number);
            Ok(ctx.space.assign(|p| p.domain.from_unit(rng.random())))
        }
    }
}
