//! The pruner suite catches each way a pruner can break its contract, and says what to fix.

use hyperplug_core::{
    Capabilities, Error, PluginInfo, PruneContext, Pruner, PrunerFactory, PrunerSetup, Settings,
};
use hyperplug_testkit::check_pruner;

#[derive(Clone, Copy, PartialEq)]
enum Flaw {
    None,
    AcceptsAnySettings,
    PrunesSilentTrials,
    RemembersCalls,
    FailsOnNaN,
}

struct Factory(Flaw);

impl PrunerFactory for Factory {
    fn info(&self) -> PluginInfo {
        PluginInfo::new("flawed", "0.1.0", "", Capabilities::default())
    }
    fn create(&self, setup: &PrunerSetup<'_>) -> Result<Box<dyn Pruner>, Error> {
        if self.0 != Flaw::AcceptsAnySettings && !setup.settings.is_empty() {
            return Err(Error::settings(
                "flawed",
                format!("unknown keys: {}", setup.settings.to_json()),
            ));
        }
        Ok(Box::new(Flawed {
            flaw: self.0,
            calls: 0,
        }))
    }
}

/// Stops a trial whose last value is above 2 (in the study's direction), flawed as told.
struct Flawed {
    flaw: Flaw,
    calls: u64,
}

impl Pruner for Flawed {
    fn prune(&mut self, ctx: &PruneContext<'_>) -> Result<bool, Error> {
        self.calls += 1;
        let Some((_, v)) = ctx.trial.last_intermediate() else {
            return Ok(self.flaw == Flaw::PrunesSilentTrials);
        };
        if v.is_nan() && self.flaw == Flaw::FailsOnNaN {
            return Err(Error::Other("cannot judge NaN".into()));
        }
        if self.flaw == Flaw::RemembersCalls && self.calls > 20 {
            return Ok(true);
        }
        Ok(ctx.directions[0].to_loss(v) > 2.0)
    }
}

#[test]
fn a_sound_pruner_passes() {
    check_pruner(&Factory(Flaw::None), &Settings::default());
}

#[test]
#[should_panic(expected = "accepted the unknown settings key `testkit_no_such_key`")]
fn accepting_unknown_settings_is_caught() {
    check_pruner(&Factory(Flaw::AcceptsAnySettings), &Settings::default());
}

#[test]
#[should_panic(expected = "stopped a trial that had reported nothing")]
fn pruning_a_silent_trial_is_caught() {
    check_pruner(&Factory(Flaw::PrunesSilentTrials), &Settings::default());
}

#[test]
#[should_panic(expected = "a fresh pruner answered false where the study's had answered true")]
fn decisions_from_memory_are_caught() {
    check_pruner(&Factory(Flaw::RemembersCalls), &Settings::default());
}

#[test]
#[should_panic(expected = "failed while deciding")]
fn errors_while_deciding_are_caught() {
    check_pruner(&Factory(Flaw::FailsOnNaN), &Settings::default());
}
