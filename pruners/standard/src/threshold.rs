//! The threshold pruner.

use hyperplug_core::{Error, PluginInfo, PruneContext, Pruner, PrunerFactory, PrunerSetup};
use serde::Deserialize;

use crate::{check_interval, judged_at, multi_objective, pruner_info};

/// Stops a trial whose latest value falls below `lower` or rises above `upper`, or is not a
/// number (Optuna's `ThresholdPruner`): a diverging loss, an accuracy at chance. Settings:
/// `lower` and/or `upper` (at least one), `n_warmup_steps` (0), `interval_steps` (1).
#[derive(Clone, Copy, Debug, Default)]
pub struct Threshold;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdSettings {
    #[serde(default)]
    lower: Option<f64>,
    #[serde(default)]
    upper: Option<f64>,
    #[serde(default)]
    n_warmup_steps: u64,
    #[serde(default = "one")]
    interval_steps: u64,
}

fn one() -> u64 {
    1
}

impl PrunerFactory for Threshold {
    fn info(&self) -> PluginInfo {
        // Bounds on the reported value hold whatever the number of objectives.
        multi_objective(pruner_info(
            "threshold",
            "Stops a trial whose value leaves [lower, upper] or is not a number.",
        ))
    }

    fn create(&self, setup: &PrunerSetup<'_>) -> Result<Box<dyn Pruner>, Error> {
        let s: ThresholdSettings = setup.settings.parse("threshold")?;
        let refuse = |m: String| Err(Error::settings("threshold", m));
        match (s.lower, s.upper) {
            (None, None) => {
                return refuse(
                    "give `lower`, `upper` or both: the values a trial must stay within".into(),
                );
            }
            (Some(l), Some(u)) if l > u => {
                return refuse(format!("`lower` ({l}) is above `upper` ({u})"));
            }
            _ => {}
        }
        if s.lower.is_some_and(f64::is_nan) || s.upper.is_some_and(f64::is_nan) {
            return refuse("`lower` and `upper` must be numbers".into());
        }
        check_interval("threshold", s.interval_steps)?;
        Ok(Box::new(s))
    }
}

impl Pruner for ThresholdSettings {
    fn prune(&mut self, ctx: &PruneContext<'_>) -> Result<bool, Error> {
        let Some((step, value)) = ctx.trial.last_intermediate() else {
            return Ok(false);
        };
        if !judged_at(step, self.n_warmup_steps, self.interval_steps) {
            return Ok(false);
        }
        Ok(value.is_nan()
            || self.lower.is_some_and(|l| value < l)
            || self.upper.is_some_and(|u| value > u))
    }
}

#[cfg(test)]
mod tests {
    use hyperplug_core::{Direction, Settings, TrialState::Running};

    use super::*;
    use crate::testing::{decide, pruner, trial};

    #[test]
    fn values_outside_the_bounds_or_nan_stop_the_trial() {
        let s = Settings::default().with("lower", 0.2).with("upper", 2.0);
        let mut p = pruner(&Threshold, s.clone());
        let at = |p: &mut dyn Pruner, v: f64| {
            decide(
                p,
                Direction::Minimize,
                &[],
                &[trial(0, Running, &[(1, v)], 0.0)],
                0,
            )
        };
        assert!(!at(&mut *p, 1.0));
        assert!(at(&mut *p, 0.1));
        assert!(at(&mut *p, 2.5));
        assert!(at(&mut *p, f64::NAN));
        let mut late = pruner(&Threshold, s.with("n_warmup_steps", 2));
        assert!(!at(&mut *late, 9.0), "step 1 is in the warm-up");
    }

    #[test]
    fn missing_or_crossed_bounds_are_refused() {
        let err = |s: Settings| match Threshold.create(&PrunerSetup {
            directions: &[Direction::Minimize],
            seed: 0,
            settings: &s,
        }) {
            Ok(_) => panic!("accepted"),
            Err(e) => e.to_string(),
        };
        assert!(err(Settings::default()).contains("give `lower`, `upper` or both"));
        let e = err(Settings::default().with("lower", 3.0).with("upper", 1.0));
        assert!(e.contains("above `upper`"), "{e}");
    }
}
