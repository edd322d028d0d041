//! The patient pruner.

use hyperplug_core::{
    Error, PluginInfo, PruneContext, Pruner, PrunerFactory, PrunerSetup, Settings,
};
use serde::Deserialize;

use crate::{by_name, first, loss, pruner_info};

/// Waits until a trial has gone `patience` steps without improving by at least `min_delta`,
/// then asks the pruner it wraps, or stops the trial if it wraps none (Optuna's
/// `PatientPruner`): a trial that still improves is never stopped, however it compares.
/// Settings: `patience` (required), `min_delta` (0), and `wrapped`, a table with the wrapped
/// pruner's `name` and its settings (`wrapped = { name = "median", n_startup_trials = 3 }`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Patient;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatientSettings {
    patience: usize,
    #[serde(default)]
    min_delta: f64,
    #[serde(default)]
    wrapped: Option<Settings>,
}

impl PrunerFactory for Patient {
    fn info(&self) -> PluginInfo {
        pruner_info(
            "patient",
            "Stops a trial (or asks the pruner it wraps) once it stops improving for `patience` steps.",
        )
    }

    fn create(&self, setup: &PrunerSetup<'_>) -> Result<Box<dyn Pruner>, Error> {
        let s: PatientSettings = setup.settings.parse("patient")?;
        if s.min_delta.is_nan() || s.min_delta < 0.0 {
            return Err(Error::settings(
                "patient",
                format!("`min_delta` is {}; give 0 or more", s.min_delta),
            ));
        }
        let wrapped = match s.wrapped {
            None => None,
            Some(w) => Some(wrap(&w, setup)?),
        };
        Ok(Box::new(PatientRule {
            patience: s.patience,
            min_delta: s.min_delta,
            wrapped,
        }))
    }
}

/// The pruner named in a `wrapped` table, made with the table's other keys.
fn wrap(table: &Settings, setup: &PrunerSetup<'_>) -> Result<Box<dyn Pruner>, Error> {
    let names = || {
        crate::factories()
            .iter()
            .map(|f| f.info().name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let name = match table.get("name") {
        Some(serde_json::Value::String(n)) => n.clone(),
        _ => {
            return Err(Error::settings(
                "patient",
                format!("`wrapped` needs a `name`: one of {}", names()),
            ));
        }
    };
    if name == "patient" {
        return Err(Error::settings(
            "patient",
            "`wrapped` cannot be another patient pruner",
        ));
    }
    let Some(factory) = by_name(&name) else {
        return Err(Error::settings(
            "patient",
            format!(
                "`wrapped.name` is `{name}`, not a pruner this one can wrap: {}",
                names()
            ),
        ));
    };
    let mut inner = match serde_json::to_value(table) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    inner.remove("name");
    factory
        .create(&PrunerSetup {
            settings: &Settings::new(inner),
            ..*setup
        })
        .map_err(|e| Error::settings("patient", format!("in `wrapped`: {e}")))
}

struct PatientRule {
    patience: usize,
    min_delta: f64,
    wrapped: Option<Box<dyn Pruner>>,
}

impl Pruner for PatientRule {
    fn prune(&mut self, ctx: &PruneContext<'_>) -> Result<bool, Error> {
        let direction = first(ctx.directions);
        let mut steps: Vec<(u64, f64)> = ctx.trial.intermediate.clone();
        steps.sort_by_key(|&(s, _)| s);
        let losses: Vec<f64> = steps.iter().map(|&(_, v)| loss(direction, v)).collect();
        if losses.len() <= self.patience + 1 {
            return Ok(false);
        }
        let split = losses.len() - self.patience - 1;
        let best = |xs: &[f64]| xs.iter().copied().filter(|v| !v.is_nan()).reduce(f64::min);
        let stalled = match (best(&losses[..split]), best(&losses[split..])) {
            (Some(before), Some(after)) => before - self.min_delta < after,
            // Nothing but NaN lately: no improvement.
            (Some(_), None) => true,
            (None, _) => false,
        };
        if !stalled {
            return Ok(false);
        }
        match &mut self.wrapped {
            None => Ok(true),
            Some(p) => p.prune(ctx),
        }
    }
}

#[cfg(test)]
mod tests {
    use hyperplug_core::{Direction, TrialState::*};
    use serde_json::json;

    use super::*;
    use crate::testing::{curve, decide, pruner, trial};

    #[test]
    fn a_trial_stops_only_after_patience_steps_without_improvement() {
        let mut p = pruner(&Patient, Settings::default().with("patience", 2));
        let at = |p: &mut dyn Pruner, steps: &[(u64, f64)]| {
            decide(
                p,
                Direction::Minimize,
                &[],
                &[trial(0, Running, steps, 0.0)],
                0,
            )
        };
        // Best 1.0 at step 2, then 1.1 and 1.2: two steps, and the window holds step 2.
        assert!(!at(&mut *p, &[(1, 2.0), (2, 1.0), (3, 1.1), (4, 1.2)]));
        assert!(at(
            &mut *p,
            &[(1, 2.0), (2, 1.0), (3, 1.1), (4, 1.2), (5, 1.05)]
        ));
        assert!(!at(
            &mut *p,
            &[(1, 2.0), (2, 1.0), (3, 1.1), (4, 1.2), (5, 0.9)]
        ));
        let mut tolerant = pruner(
            &Patient,
            Settings::default()
                .with("patience", 2)
                .with("min_delta", 0.2),
        );
        assert!(at(
            &mut *tolerant,
            &[(1, 2.0), (2, 1.0), (3, 1.1), (4, 1.2), (5, 0.9)]
        ));
    }

    #[test]
    fn a_stalled_trial_is_judged_by_the_wrapped_pruner() {
        let settings = Settings::default()
            .with("patience", 1)
            .with("wrapped", json!({"name": "median", "n_startup_trials": 2}));
        let mut p = pruner(&Patient, settings);
        let finished: Vec<_> = (0..2)
            .map(|i| trial(i, Complete, &curve(1.0, 0.5, 4), 0.125))
            .collect();
        // Stalled, but better than the median at step 4 (0.125): goes on.
        let good = trial(
            2,
            Running,
            &[(1, 0.1), (2, 0.05), (3, 0.06), (4, 0.07)],
            0.0,
        );
        // Stalled and worse: stops.
        let bad = trial(3, Running, &[(1, 0.9), (2, 0.5), (3, 0.6), (4, 0.7)], 0.0);
        let running = [good, bad];
        assert!(!decide(
            &mut *p,
            Direction::Minimize,
            &finished,
            &running,
            2
        ));
        assert!(decide(&mut *p, Direction::Minimize, &finished, &running, 3));
    }

    #[test]
    fn a_wrapped_table_without_a_known_name_is_refused_listing_the_names() {
        let err = |w: serde_json::Value| match Patient.create(&PrunerSetup {
            directions: &[Direction::Minimize],
            seed: 0,
            settings: &Settings::default().with("patience", 1).with("wrapped", w),
        }) {
            Ok(_) => panic!("accepted"),
            Err(e) => e.to_string(),
        };
        let e = err(json!({"name": "medain"}));
        assert!(
            e.contains("`medain`") && e.contains("median, percentile"),
            "{e}"
        );
        let e = err(json!({"n_startup_trials": 1}));
        assert!(e.contains("needs a `name`"), "{e}");
        let e = err(json!({"name": "median", "n_startup": 1}));
        assert!(e.contains("in `wrapped`") && e.contains("n_startup"), "{e}");
    }
}
