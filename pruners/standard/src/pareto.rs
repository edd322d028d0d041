//! The Pareto pruner: pruning for studies with several objectives.

use hyperplug_core::{
    Direction, Error, PluginInfo, PruneContext, Pruner, PrunerFactory, PrunerSetup, TrialState,
    dominates, values_at,
};
use serde::Deserialize;

use crate::{check_interval, judged_at, multi_objective, pruner_info};

/// Stops a trial whose values at the step it just reported, one per objective, are
/// Pareto-dominated by at least a `fraction` of the complete trials' values at that step (and
/// by one at least). Trials report one value per objective with
/// [`TrialContext::report_values`](hyperplug_core::TrialContext::report_values); in a study
/// with one objective, dominated means worse, and the rule is a percentile rule.
///
/// Why a share of dominators rather than "dominated by the front": with two objectives most
/// points are dominated by some front point, so that rule stops nearly every trial early on,
/// when curves still cross; a share keeps the median pruner's meaning (stop what most finished
/// trials beat, in every objective at once, at the same step). A trial best at its step in any
/// one objective is never dominated, so the front's extremes always go on. The default
/// `fraction = 0.5` is the median's.
///
/// Settings: `fraction` (0.5, in (0, 1]), `n_startup_trials` (5: no pruning until that many
/// complete trials reached the step with a vector), `n_warmup_steps` (0), `interval_steps` (1).
/// A trial whose vector holds NaN is stopped once judged; complete trials with NaN at the step
/// are left out. Steps reported with one value in a study with several objectives are not
/// judged.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pareto;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParetoSettings {
    #[serde(default = "half")]
    fraction: f64,
    #[serde(default = "five")]
    n_startup_trials: usize,
    #[serde(default)]
    n_warmup_steps: u64,
    #[serde(default = "one")]
    interval_steps: u64,
}

fn half() -> f64 {
    0.5
}
fn five() -> usize {
    5
}
fn one() -> u64 {
    1
}

impl PrunerFactory for Pareto {
    fn info(&self) -> PluginInfo {
        multi_objective(pruner_info(
            "pareto",
            "Stops a trial dominated at its step by a share of the complete trials (several objectives).",
        ))
    }

    fn create(&self, setup: &PrunerSetup<'_>) -> Result<Box<dyn Pruner>, Error> {
        let s: ParetoSettings = setup.settings.parse("pareto")?;
        if !(s.fraction > 0.0 && s.fraction <= 1.0) {
            return Err(Error::settings(
                "pareto",
                format!(
                    "`fraction` is {}; give a share in (0, 1] of the complete trials that must dominate a trial to stop it (0.5: half)",
                    s.fraction
                ),
            ));
        }
        check_interval("pareto", s.interval_steps)?;
        Ok(Box::new(s))
    }
}

impl Pruner for ParetoSettings {
    fn prune(&mut self, ctx: &PruneContext<'_>) -> Result<bool, Error> {
        let m = ctx.directions.len().max(1);
        // The step just reported, as a vector of the study's length.
        let mine = if m == 1 {
            ctx.trial.last_intermediate().map(|(s, v)| (s, vec![v]))
        } else {
            match (
                ctx.trial.last_intermediate(),
                ctx.trial.intermediate_values.last(),
            ) {
                (Some((s, _)), Some((vs, v))) if s == *vs => Some((s, v.clone())),
                // The last report carried one value: nothing to judge by dominance.
                _ => None,
            }
        };
        let Some((step, mine)) = mine.filter(|(_, v)| v.len() == m) else {
            return Ok(false);
        };
        if !judged_at(step, self.n_warmup_steps, self.interval_steps) {
            return Ok(false);
        }
        let directions: Vec<Direction> = if ctx.directions.is_empty() {
            vec![Direction::Minimize]
        } else {
            ctx.directions.to_vec()
        };
        let others: Vec<Vec<f64>> = ctx
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Complete && t.number != ctx.trial.number)
            .filter_map(|t| values_at(t, step))
            .filter(|v| v.len() == m && v.iter().all(|x| !x.is_nan()))
            .collect();
        if others.len() < self.n_startup_trials.max(1) {
            return Ok(false);
        }
        if mine.iter().any(|x| x.is_nan()) {
            return Ok(true);
        }
        let dominating = others
            .iter()
            .filter(|o| dominates(o, &mine, &directions))
            .count();
        Ok(dominating >= 1 && dominating as f64 >= self.fraction * others.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use hyperplug_core::{Params, Settings, Trial};

    use super::*;

    fn vector_trial(number: u64, state: TrialState, steps: &[(u64, [f64; 2])]) -> Trial {
        let mut t = Trial::running(number, Params::new(), 0);
        t.state = state;
        for (s, v) in steps {
            t.push_intermediate(*s, v);
        }
        if state == TrialState::Complete {
            t.values = steps.last().map(|(_, v)| v.to_vec()).unwrap_or_default();
        }
        t
    }

    fn pareto(settings: Settings, directions: &[Direction]) -> Box<dyn Pruner> {
        match Pareto.create(&PrunerSetup {
            directions,
            seed: 0,
            settings: &settings,
        }) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    fn ask(p: &mut dyn Pruner, d: &[Direction], done: &[Trial], me: &Trial) -> bool {
        let running = std::slice::from_ref(me);
        match p.prune(&PruneContext {
            directions: d,
            seed: 0,
            trials: done,
            running,
            trial: me,
            previous: 0,
        }) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    /// Four complete trials on a trade-off at step 2 (minimize both): (1,4) (2,3) (3,2) (4,1).
    fn front() -> Vec<Trial> {
        (0..4)
            .map(|i| {
                let x = 1.0 + i as f64;
                vector_trial(
                    i,
                    TrialState::Complete,
                    &[(1, [9.0, 9.0]), (2, [x, 5.0 - x])],
                )
            })
            .collect()
    }

    #[test]
    fn a_trial_dominated_by_enough_complete_trials_at_its_step_stops() {
        let d = [Direction::Minimize, Direction::Minimize];
        let s = Settings::default().with("n_startup_trials", 4);
        let mut p = pareto(s.clone(), &d);
        let done = front();
        // (4.5, 4.5) is dominated by (2,3) and (3,2) only: 2 of 4 = half.
        let me = vector_trial(9, TrialState::Running, &[(1, [9.0, 9.0]), (2, [3.5, 3.5])]);
        assert!(ask(&mut *p, &d, &done, &me));
        // (2.5, 2.5) beats them all in one objective or the other: on the front's reach.
        let good = vector_trial(9, TrialState::Running, &[(2, [2.5, 2.5])]);
        assert!(!ask(&mut *p, &d, &done, &good));
        // Best in one objective is never dominated, however bad the other.
        let extreme = vector_trial(9, TrialState::Running, &[(2, [0.5, 100.0])]);
        assert!(!ask(&mut *p, &d, &done, &extreme));
        // A stricter share needs more dominators.
        let mut strict = pareto(s.with("fraction", 0.75), &d);
        assert!(!ask(&mut *strict, &d, &done, &me));
        let worst = vector_trial(9, TrialState::Running, &[(2, [5.0, 5.0])]);
        assert!(ask(&mut *strict, &d, &done, &worst));
        // Judged at its own step: at step 1 everyone stood at (9, 9).
        let early = vector_trial(9, TrialState::Running, &[(1, [9.0, 9.0])]);
        assert!(!ask(&mut *p, &d, &done, &early));
        // NaN stops it.
        let nan = vector_trial(9, TrialState::Running, &[(2, [f64::NAN, 1.0])]);
        assert!(ask(&mut *p, &d, &done, &nan));
    }

    #[test]
    fn directions_count_and_startup_and_single_reports_hold_it_back() {
        let d = [Direction::Minimize, Direction::Maximize];
        let mut p = pareto(Settings::default().with("n_startup_trials", 4), &d);
        let done = front();
        // Maximizing the second objective turns the trade-off around: (3.5, 3.5) beats (2, 3)
        // in the second and loses in the first; only (1, 4) dominates it... and (2,3)? no.
        let me = vector_trial(9, TrialState::Running, &[(2, [3.5, 3.5])]);
        assert!(!ask(&mut *p, &d, &done, &me), "1 of 4 dominates it");
        let mut wait = pareto(Settings::default(), &d);
        let worst = vector_trial(9, TrialState::Running, &[(2, [5.0, 0.0])]);
        assert!(
            !ask(&mut *wait, &d, &done, &worst),
            "4 complete trials < 5 startup"
        );
        assert!(ask(&mut *p, &d, &done, &worst));
        // A single value reported in a study with two objectives is not judged.
        let mut single = Trial::running(9, Params::new(), 0);
        single.intermediate = vec![(2, 100.0)];
        assert!(!ask(&mut *p, &d, &done, &single));
    }

    #[test]
    fn bad_settings_are_refused_by_name() {
        for (k, v) in [
            ("fraction", 0.0),
            ("fraction", 1.5),
            ("interval_steps", 0.0),
        ] {
            let s = if k == "interval_steps" {
                Settings::default().with(k, 0)
            } else {
                Settings::default().with(k, v)
            };
            let e = Pareto
                .create(&PrunerSetup {
                    directions: &[Direction::Minimize, Direction::Minimize],
                    seed: 0,
                    settings: &s,
                })
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(k), "{k} = {v}: {e}");
        }
    }
}
