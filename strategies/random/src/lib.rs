//! Random search: uniform and log-uniform sampling that respects steps and conditions.
//!
//! Each trial draws one uniform number in `[0, 1)` per parameter of the space from
//! [`trial_rng`]`(seed, trial number)` and maps it through
//! [`Domain::from_unit`](hyperplug_core::Domain::from_unit), which handles
//! log scales, steps and categorical choices; [`Space::assign`](hyperplug_core::Space::assign)
//! leaves out inactive conditional parameters. Because a trial's draws depend only on the seed
//! and its number, a study reproduces whatever order its trials finish in, and parallel asks
//! are independent draws without any coordination.
//!
//! ```
//! use hyperplug_core::{Direction, Domain, Param, Settings, Space, Study, StudyConfig};
//! use hyperplug_random::Random;
//!
//! let space = Space::new(vec![Param::new("lr", Domain::float(1e-4, 1e-1).log())]).unwrap();
//! let config = StudyConfig::new("demo", space, vec![Direction::Minimize]).seed(42);
//! let mut study = Study::new(config, &Random, &Settings::default()).unwrap();
//! let lr = study.ask().unwrap().params["lr"].as_f64().unwrap();
//! assert!((1e-4..=1e-1).contains(&lr));
//! ```
//!
//! Architecture invariant: depends on `hyperplug-core` and `rand` only; no IO, no FFI, no global
//! RNG.
#![forbid(unsafe_code)]

use hyperplug_core::{
    AskContext, Capabilities, Error, Params, PluginInfo, Strategy, StrategyFactory, StudySetup,
    trial_rng,
};
use rand::Rng;
use serde::Deserialize;

/// The name study files use for this strategy.
const NAME: &str = "random";

/// Makes random-search strategies. Takes no settings.
#[derive(Clone, Copy, Debug, Default)]
pub struct Random;

/// No keys: the struct exists so that any key is refused by name.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RandomSettings {}

impl StrategyFactory for Random {
    fn info(&self) -> PluginInfo {
        PluginInfo::new(
            NAME,
            env!("CARGO_PKG_VERSION"),
            "Random search: independent uniform (or log-uniform) draws per trial.",
            Capabilities::all(),
        )
    }

    fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
        let RandomSettings {} = setup.settings.parse(NAME)?;
        Ok(Box::new(RandomStrategy))
    }
}

/// Stateless: everything it needs is in the ask context.
struct RandomStrategy;

impl Strategy for RandomStrategy {
    fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
        let mut rng = trial_rng(ctx.seed, ctx.number);
        // One draw per parameter, active or not, so that a parameter's value does not shift
        // with the activity of the parameters before it.
        let units: Vec<f64> = ctx.space.params().iter().map(|_| rng.random()).collect();
        let params = ctx.space.params();
        Ok(ctx.space.assign(|p| {
            let i = params.iter().position(|q| q.name == p.name).unwrap_or(0);
            p.domain.from_unit(units.get(i).copied().unwrap_or(0.5))
        }))
    }
}

#[cfg(test)]
mod tests {
    use hyperplug_core::{
        Direction, Domain, Param, Settings, Space, Study, StudyConfig, TrialState, Value,
    };

    use super::*;

    fn strategy(space: &Space, settings: &Settings) -> Result<Box<dyn Strategy>, Error> {
        Random.create(&StudySetup {
            space,
            directions: &[Direction::Minimize],
            seed: 3,
            settings,
        })
    }

    /// Asks for trial `number` with seed `seed` and an empty history.
    fn ask(space: &Space, seed: u64, number: u64) -> Params {
        let mut s = strategy(space, &Settings::default()).expect("no settings is valid");
        s.ask(&AskContext {
            space,
            directions: &[Direction::Minimize],
            seed,
            trials: &[],
            running: &[],
            number,
        })
        .expect("random never fails to ask")
    }

    fn space(params: Vec<Param>) -> Space {
        Space::new(params).expect("test space is valid")
    }

    fn floats(space: &Space, name: &str, n: u64) -> Vec<f64> {
        (0..n)
            .map(|i| ask(space, 11, i)[name].as_f64().expect("a float"))
            .collect()
    }

    #[test]
    fn passes_the_conformance_suite() {
        hyperplug_testkit::check_strategy(&Random, &Settings::default());
    }

    #[test]
    fn each_trial_is_the_unit_draw_of_its_own_trial_rng() {
        let s = space(vec![Param::new("x", Domain::float(-2.0, 6.0))]);
        for number in [0, 1, 17, 1 << 40] {
            let u: f64 = trial_rng(99, number).random();
            assert_eq!(ask(&s, 99, number)["x"], Value::Float(-2.0 + 8.0 * u));
        }
    }

    #[test]
    fn trials_do_not_depend_on_the_order_they_are_asked_in() {
        let s = space(vec![
            Param::new("a", Domain::float(0.0, 1.0)),
            Param::new("b", Domain::int(0, 1000)),
        ]);
        let mut forward = strategy(&s, &Settings::default()).expect("valid");
        let mut backward = strategy(&s, &Settings::default()).expect("valid");
        let ctx = |number| AskContext {
            space: &s,
            directions: &[Direction::Minimize],
            seed: 5,
            trials: &[],
            running: &[],
            number,
        };
        let a: Vec<Params> = (0..10).map(|n| forward.ask(&ctx(n)).expect("ok")).collect();
        let mut b: Vec<Params> = (0..10)
            .rev()
            .map(|n| backward.ask(&ctx(n)).expect("ok"))
            .collect();
        b.reverse();
        assert_eq!(a, b);
        assert_ne!(a[0], a[1], "different trials draw differently");
        assert_ne!(
            ask(&s, 5, 0),
            ask(&s, 6, 0),
            "different seeds draw differently"
        );
    }

    #[test]
    fn uniform_floats_fill_their_range_evenly() {
        let s = space(vec![Param::new("x", Domain::float(-5.0, 5.0))]);
        let xs = floats(&s, "x", 4000);
        assert!(xs.iter().all(|x| (-5.0..=5.0).contains(x)));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        // Standard error of the mean: 10 / sqrt(12 * 4000) = 0.046; allow 4 of them.
        assert!(mean.abs() < 0.19, "mean {mean}");
        let below = xs.iter().filter(|&&x| x < -2.5).count() as f64 / 4000.0;
        assert!((below - 0.25).abs() < 0.03, "quarter below -2.5: {below}");
    }

    #[test]
    fn log_floats_have_their_median_at_the_geometric_mean() {
        let s = space(vec![Param::new("lr", Domain::float(1e-5, 1e-1).log())]);
        let mut xs = floats(&s, "lr", 4001);
        xs.sort_by(f64::total_cmp);
        let median = xs[2000];
        // Geometric mean of 1e-5 and 1e-1 is 1e-3; a plain uniform would put it near 0.05.
        assert!((median.log10() + 3.0).abs() < 0.1, "median {median}");
        let decade = xs.iter().filter(|&&x| x < 1e-4).count() as f64 / 4001.0;
        assert!((decade - 0.25).abs() < 0.03, "first decade holds {decade}");
    }

    #[test]
    fn ints_are_uniform_over_their_values_and_log_ints_favour_small_ones() {
        let s = space(vec![Param::new("n", Domain::int(1, 6))]);
        let mut counts = [0u32; 6];
        for i in 0..6000 {
            let n = ask(&s, 1, i)["n"].as_i64().expect("an int");
            counts[(n - 1) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (880..=1120).contains(&c)),
            "{counts:?}"
        );

        let s = space(vec![Param::new("u", Domain::int(1, 1024).log())]);
        let small = (0..4000)
            .filter(|&i| ask(&s, 1, i)["u"].as_i64().expect("an int") <= 32)
            .count() as f64
            / 4000.0;
        // P(u <= 32) = ln(32.5 / 0.5) / ln(1024.5 / 0.5) = 0.547 on the log scale (0.03 uniform).
        assert!((small - 0.547).abs() < 0.03, "{small}");
    }

    #[test]
    fn steps_and_choices_are_respected() {
        let s = space(vec![
            Param::new("batch", Domain::int(16, 128).step(16.0)),
            Param::new("ratio", Domain::float(0.0, 1.0).step(0.25)),
            Param::new("act", Domain::choice(["relu", "tanh", "gelu"])),
        ]);
        let mut seen_batch = std::collections::BTreeSet::new();
        let mut acts = [0u32; 3];
        for i in 0..900 {
            let p = ask(&s, 2, i);
            assert!(s.validate(&p).is_ok(), "{p:?}");
            seen_batch.insert(p["batch"].as_i64().expect("an int"));
            let k = ["relu", "tanh", "gelu"]
                .iter()
                .position(|a| p["act"].as_str() == Some(a))
                .expect("one of the choices");
            acts[k] += 1;
        }
        assert_eq!(
            seen_batch.into_iter().collect::<Vec<_>>(),
            [16, 32, 48, 64, 80, 96, 112, 128]
        );
        assert!(acts.iter().all(|&c| (240..=360).contains(&c)), "{acts:?}");
    }

    #[test]
    fn conditional_parameters_appear_exactly_when_their_parent_allows() {
        let s = space(vec![
            Param::new("layers", Domain::int(1, 3)),
            Param::new("units_2", Domain::int(8, 64)).when("layers", [2i64, 3]),
            Param::new("units_3", Domain::int(8, 64)).when("layers", [3i64]),
        ]);
        let mut with_units_2 = 0;
        for i in 0..3000 {
            let p = ask(&s, 4, i);
            let layers = p["layers"].as_i64().expect("an int");
            assert_eq!(p.contains_key("units_2"), layers >= 2, "{p:?}");
            assert_eq!(p.contains_key("units_3"), layers == 3, "{p:?}");
            with_units_2 += usize::from(layers >= 2);
        }
        let share = with_units_2 as f64 / 3000.0;
        assert!((share - 2.0 / 3.0).abs() < 0.03, "{share}");
    }

    #[test]
    fn a_child_keeps_its_draw_whatever_its_siblings_do() {
        // `b` is the third parameter in both spaces; its value must not depend on whether the
        // conditional `a` before it is active.
        let cond = space(vec![
            Param::new("on", Domain::choice([false, true])),
            Param::new("a", Domain::float(0.0, 1.0)).when("on", [true]),
            Param::new("b", Domain::float(0.0, 1.0)),
        ]);
        let flat = space(vec![
            Param::new("on", Domain::choice([false, true])),
            Param::new("a", Domain::float(0.0, 1.0)),
            Param::new("b", Domain::float(0.0, 1.0)),
        ]);
        let mut inactive = 0;
        for i in 0..40 {
            let (p, q) = (ask(&cond, 8, i), ask(&flat, 8, i));
            assert_eq!(p["b"], q["b"]);
            inactive += usize::from(!p.contains_key("a"));
        }
        assert!(inactive > 5, "the test needs trials with `a` inactive");
    }

    #[test]
    fn unknown_settings_are_refused_by_name() {
        let s = space(vec![Param::new("x", Domain::float(0.0, 1.0))]);
        let settings = Settings::default().with("n_startup", 10);
        let e = strategy(&s, &settings)
            .err()
            .expect("random takes no settings");
        assert!(
            matches!(&e, Error::Settings { owner, message } if owner == "random" && message.contains("n_startup")),
            "{e}"
        );
    }

    #[test]
    fn a_study_of_mixed_outcomes_keeps_going() {
        let s = space(vec![Param::new("x", Domain::float(0.0, 1.0))]);
        let config = StudyConfig::new("t", s, vec![Direction::Minimize]).seed(9);
        let mut study = Study::new(config, &Random, &Settings::default()).expect("valid");
        study
            .optimize_fn(hyperplug_core::Budget::trials(30), |p, ctx| {
                if ctx.number() % 2 == 0 {
                    Err(hyperplug_core::TrialError::failed("odd"))
                } else {
                    Ok(p["x"].as_f64().unwrap_or(f64::NAN))
                }
            })
            .expect("the budget is bounded");
        let complete = study
            .finished()
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .count();
        assert_eq!((study.finished().len(), complete), (30, 15));
        let best = study.best_trial().expect("some complete").values[0];
        let min = study
            .finished()
            .iter()
            .filter_map(|t| t.values.first().copied())
            .fold(f64::INFINITY, f64::min);
        assert_eq!(best, min);
    }
}
