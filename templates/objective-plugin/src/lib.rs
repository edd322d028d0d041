//! `my-org/valley`: an objective with its own space that "trains" for a number of epochs,
//! reporting a value after each, and stops early when the host asks. Rename it, keep the shape:
//! replace the body of `evaluate` with your model's training and evaluation.
//!
//! An objective may run in several threads at once (one trial each): keep `evaluate` free of
//! shared mutable state. A panic fails the trial; an abort or a segfault ends the host, so run
//! risky native code in a subprocess (see docs/PLUGINS.md).

use hyperplug_sdk::serde::Deserialize;
use hyperplug_sdk::{
    Direction, Domain, Error, Evaluation, Metric, Objective, ObjectiveFactory, Param, Params,
    PluginInfo, Settings, Space, TrialContext, TrialError, TrialOutcome,
};

/// The name study files use: vendor-qualified, so that it never meets another organization's.
pub const NAME: &str = "my-org/valley";

/// The factory the library exports.
pub struct Valley;

/// The settings, from the study file's `[objective]` table. Unknown keys are refused by name.
#[derive(Deserialize)]
#[serde(crate = "hyperplug_sdk::serde", deny_unknown_fields, default)]
struct ValleySettings {
    /// Epochs per trial, each reporting an intermediate value.
    epochs: u64,
}

impl Default for ValleySettings {
    fn default() -> Self {
        ValleySettings { epochs: 5 }
    }
}

impl ObjectiveFactory for Valley {
    fn info(&self) -> PluginInfo {
        PluginInfo::new(
            NAME,
            env!("CARGO_PKG_VERSION"),
            "a valley in (lr, width), approached epoch by epoch",
            Default::default(),
        )
    }

    fn create(&self, settings: &Settings) -> Result<Box<dyn Objective>, Error> {
        let s: ValleySettings = settings.parse(NAME)?;
        if s.epochs == 0 {
            return Err(Error::settings(NAME, "`epochs` must be at least 1"));
        }
        Ok(Box::new(Run { epochs: s.epochs }))
    }
}

struct Run {
    epochs: u64,
}

impl Objective for Run {
    /// Its own space: a study file then needs no [space] table.
    fn space(&self) -> Option<Space> {
        Space::new(vec![
            Param::new("lr", Domain::float(1e-4, 1.0).log()),
            Param::new("width", Domain::int(8, 256)),
        ])
        .ok()
    }

    fn metrics(&self) -> Vec<Metric> {
        vec![Metric {
            name: "loss".into(),
            direction: Direction::Minimize,
        }]
    }

    fn evaluate(&self, params: &Params, ctx: &mut dyn TrialContext) -> TrialOutcome {
        let (Some(lr), Some(width)) = (
            params.get("lr").and_then(|v| v.as_f64()),
            params.get("width").and_then(|v| v.as_i64()),
        ) else {
            return Err(TrialError::Failed(
                "needs a float `lr` and an int `width`".into(),
            ));
        };
        let floor = (lr.log10() + 2.0).powi(2) + ((width as f64).log2() - 6.0).powi(2) / 4.0;
        let mut loss = floor + 1.0;
        for epoch in 1..=self.epochs {
            loss = floor + 1.0 / (epoch as f64 + 1.0);
            ctx.report(epoch, loss);
            if ctx.should_prune() {
                return Err(TrialError::Pruned);
            }
        }
        Ok(Evaluation::from(loss))
    }
}

hyperplug_sdk::export_plugin!(objectives: [Valley]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_the_conformance_suite_in_process() {
        hyperplug_testkit::check_objective(&Valley, &Settings::default());
    }

    #[test]
    fn reports_every_epoch_and_reaches_its_floor_at_the_optimum() {
        let objective = Valley
            .create(&Settings::default())
            .expect("default settings");
        let params = objective
            .space()
            .expect("own space")
            .assign(|p| match p.name.as_str() {
                "lr" => 0.01.into(),
                _ => 64i64.into(),
            });
        let mut ctx = hyperplug_testkit::RecordingContext::new(0);
        let eval = objective.evaluate(&params, &mut ctx).expect("evaluates");
        assert_eq!(ctx.reports.len(), 5);
        assert!(
            (eval.values[0] - 1.0 / 6.0).abs() < 1e-12,
            "{:?}",
            eval.values
        );
    }
}
