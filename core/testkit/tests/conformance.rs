//! The suite against in-file strategies: a correct one passes (with every capability and with
//! none), and each deliberately broken one is caught with the right message.

use std::sync::atomic::{AtomicU64, Ordering};

use hyperplug_core::{
    AskContext, Capabilities, Domain, Error, Params, PluginInfo, Settings, Strategy,
    StrategyFactory, StudySetup, TrialState, Value,
};
use hyperplug_testkit::check_strategy;

/// The ways a test strategy can be broken.
#[derive(Clone, Copy, PartialEq)]
enum Flaw {
    None,
    /// Floats come out above their upper bound.
    OutOfBounds,
    /// Ints come out as floats.
    WrongType,
    /// Every parameter is set, active or not.
    IgnoresConditions,
    /// The seed is not used.
    IgnoresSeed,
    /// A process-wide counter leaks into the draws.
    NotReproducible,
    /// Unknown settings are silently accepted.
    AcceptsAnySettings,
    /// Asking fails once the history holds a failed trial.
    ChokesOnFailures,
    /// Only 5 points per space, then `Exhausted` (like a small grid): allowed.
    RunsOut,
    /// Every parallel ask gets the same point.
    SamePointWhileRunning,
}

struct Factory {
    flaw: Flaw,
    caps: Capabilities,
}

impl Factory {
    fn new(flaw: Flaw) -> Self {
        Factory {
            flaw,
            caps: Capabilities::all(),
        }
    }
}

impl StrategyFactory for Factory {
    fn info(&self) -> PluginInfo {
        PluginInfo::new("test-uniform", "0.0.1", "uniform test sampler", self.caps)
    }

    fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
        if !setup.settings.is_empty() && self.flaw != Flaw::AcceptsAnySettings {
            return Err(Error::settings(
                "test-uniform",
                format!("it takes no settings, got {}", setup.settings.to_json()),
            ));
        }
        Ok(Box::new(Uniform { flaw: self.flaw }))
    }
}

struct Uniform {
    flaw: Flaw,
}

static CALLS: AtomicU64 = AtomicU64::new(0);

fn mix(mut z: u64) -> u64 {
    // SplitMix64's finalizer: a good enough hash for test draws, with no dependency.
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Strategy for Uniform {
    fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
        if self.flaw == Flaw::RunsOut && ctx.number >= 5 {
            return Err(Error::Exhausted("only 5 points".into()));
        }
        if self.flaw == Flaw::ChokesOnFailures
            && ctx.trials.iter().any(|t| t.state == TrialState::Failed)
        {
            return Err(Error::Strategy("a failed trial confused me".into()));
        }
        let seed = if self.flaw == Flaw::IgnoresSeed {
            0
        } else {
            ctx.seed
        };
        let number = if self.flaw == Flaw::SamePointWhileRunning {
            ctx.trials.len() as u64
        } else {
            ctx.number
        };
        let noise = if self.flaw == Flaw::NotReproducible {
            CALLS.fetch_add(1, Ordering::Relaxed)
        } else {
            0
        };
        let mut state = mix(seed ^ mix(number ^ mix(noise)));
        let mut draw = || {
            state = mix(state);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        if self.flaw == Flaw::IgnoresConditions {
            return Ok(ctx
                .space
                .params()
                .iter()
                .map(|p| (p.name.clone(), p.domain.from_unit(draw())))
                .collect());
        }
        Ok(ctx.space.assign(|p| {
            let v = p.domain.from_unit(draw());
            match (self.flaw, &p.domain, v) {
                (Flaw::OutOfBounds, &Domain::Float { high, .. }, Value::Float(_)) => {
                    Value::Float(high + 1.0)
                }
                (Flaw::WrongType, Domain::Int { .. }, Value::Int(i)) => Value::Float(i as f64),
                (_, _, v) => v,
            }
        }))
    }
}

#[test]
fn a_correct_strategy_passes() {
    check_strategy(&Factory::new(Flaw::None), &Settings::default());
}

#[test]
fn a_strategy_with_no_optional_capability_passes_and_its_refusals_are_checked() {
    let factory = Factory {
        flaw: Flaw::None,
        caps: Capabilities::default(),
    };
    check_strategy(&factory, &Settings::default());
}

#[test]
fn a_strategy_that_runs_out_of_points_is_accepted() {
    check_strategy(&Factory::new(Flaw::RunsOut), &Settings::default());
}

#[test]
#[should_panic(expected = "`x` = 6: outside the bounds [-5, 5]")]
fn values_outside_the_bounds_are_caught() {
    check_strategy(&Factory::new(Flaw::OutOfBounds), &Settings::default());
}

#[test]
#[should_panic(expected = "an int parameter got a float value")]
fn values_of_the_wrong_type_are_caught() {
    check_strategy(&Factory::new(Flaw::WrongType), &Settings::default());
}

#[test]
#[should_panic(expected = "is present although its condition does not hold")]
fn ignored_conditions_are_caught() {
    check_strategy(&Factory::new(Flaw::IgnoresConditions), &Settings::default());
}

#[test]
#[should_panic(expected = "it ignores the study seed")]
fn an_ignored_seed_is_caught() {
    check_strategy(&Factory::new(Flaw::IgnoresSeed), &Settings::default());
}

#[test]
#[should_panic(expected = "two runs with seed 7 differ at trial 0")]
fn irreproducible_runs_are_caught() {
    check_strategy(&Factory::new(Flaw::NotReproducible), &Settings::default());
}

#[test]
#[should_panic(expected = "accepted the unknown settings key `testkit_no_such_key`")]
fn accepting_unknown_settings_is_caught() {
    check_strategy(
        &Factory::new(Flaw::AcceptsAnySettings),
        &Settings::default(),
    );
}

#[test]
#[should_panic(expected = "(failed and pruned trials): ask failed after 3 asked trials")]
fn choking_on_failed_trials_is_caught() {
    check_strategy(&Factory::new(Flaw::ChokesOnFailures), &Settings::default());
}

#[test]
#[should_panic(expected = "asks before any tell all suggested")]
fn identical_parallel_suggestions_are_caught() {
    check_strategy(
        &Factory::new(Flaw::SamePointWhileRunning),
        &Settings::default(),
    );
}

#[test]
fn a_broken_strategy_is_caught_on_the_first_space_that_shows_it() {
    // catch_unwind instead of should_panic, to read the whole message.
    let caught = std::panic::catch_unwind(|| {
        check_strategy(&Factory::new(Flaw::OutOfBounds), &Settings::default());
    });
    let payload = caught.expect_err("an out-of-bounds strategy must fail the suite");
    let message = hyperplug_core::panic_message(payload.as_ref());
    assert!(
        message.starts_with(
            "conformance: strategy `test-uniform` on space `float` (direct asks without a Study)"
        ),
        "{message}"
    );
}
