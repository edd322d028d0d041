//! The median and percentile pruners.

use hyperplug_core::{
    Error, PluginInfo, PruneContext, Pruner, PrunerFactory, PrunerSetup, TrialState, value_at,
};
use serde::Deserialize;

use crate::{best_loss, check_interval, first, judged_at, loss, pruner_info};

/// Stops a trial whose best value so far is worse than the median of the other trials' values
/// at the step it just reported (Optuna's `MedianPruner`). Settings as [`Percentile`]'s, less
/// `percentile`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Median;

/// Stops a trial whose best value so far is worse than the given percentile of the other
/// trials' values at the step it just reported (`percentile = 25`: only trials in the best
/// quarter go on). Settings: `percentile` (required, 0–100), `n_startup_trials` (5: no
/// pruning until that many trials are complete), `n_warmup_steps` (0: no pruning before this
/// step), `interval_steps` (1), `n_min_trials` (1: the fewest other trials at the step to judge
/// by).
///
/// The other trials are the complete ones and those still running (any worker's, so that
/// trials started together judge each other) that got as far as the step, each with the last
/// value it reported at or before the step: trials that report at different steps, or stopped
/// at different depths, are compared on what they had reached, and a trial never judges another
/// by values it never got to. Pruned and failed trials are left out, as Optuna leaves them out:
/// worse by construction, they would lower the bar as they accumulate.
#[derive(Clone, Copy, Debug, Default)]
pub struct Percentile;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MedianSettings {
    #[serde(default = "five")]
    n_startup_trials: usize,
    #[serde(default)]
    n_warmup_steps: u64,
    #[serde(default = "one")]
    interval_steps: u64,
    #[serde(default = "one_usize")]
    n_min_trials: usize,
}

/// The median's settings and `percentile` (serde refuses unknown keys only without `flatten`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PercentileSettings {
    percentile: f64,
    #[serde(default = "five")]
    n_startup_trials: usize,
    #[serde(default)]
    n_warmup_steps: u64,
    #[serde(default = "one")]
    interval_steps: u64,
    #[serde(default = "one_usize")]
    n_min_trials: usize,
}

fn five() -> usize {
    5
}
fn one() -> u64 {
    1
}
fn one_usize() -> usize {
    1
}

impl PrunerFactory for Median {
    fn info(&self) -> PluginInfo {
        pruner_info(
            "median",
            "Stops a trial whose best value is worse than the median of the others at its step.",
        )
    }

    fn create(&self, setup: &PrunerSetup<'_>) -> Result<Box<dyn Pruner>, Error> {
        let s: MedianSettings = setup.settings.parse("median")?;
        rule(s, 50.0, "median")
    }
}

impl PrunerFactory for Percentile {
    fn info(&self) -> PluginInfo {
        pruner_info(
            "percentile",
            "Stops a trial whose best value is worse than a percentile of the others at its step.",
        )
    }

    fn create(&self, setup: &PrunerSetup<'_>) -> Result<Box<dyn Pruner>, Error> {
        let s: PercentileSettings = setup.settings.parse("percentile")?;
        if !(0.0..=100.0).contains(&s.percentile) {
            return Err(Error::settings(
                "percentile",
                format!(
                    "`percentile` is {}; give a number from 0 to 100 (25 keeps the best quarter)",
                    s.percentile
                ),
            ));
        }
        let rest = MedianSettings {
            n_startup_trials: s.n_startup_trials,
            n_warmup_steps: s.n_warmup_steps,
            interval_steps: s.interval_steps,
            n_min_trials: s.n_min_trials,
        };
        rule(rest, s.percentile, "percentile")
    }
}

fn rule(s: MedianSettings, percentile: f64, name: &str) -> Result<Box<dyn Pruner>, Error> {
    check_interval(name, s.interval_steps)?;
    Ok(Box::new(PercentileRule {
        percentile,
        settings: s,
    }))
}

struct PercentileRule {
    percentile: f64,
    settings: MedianSettings,
}

impl Pruner for PercentileRule {
    fn prune(&mut self, ctx: &PruneContext<'_>) -> Result<bool, Error> {
        let s = &self.settings;
        let Some((step, _)) = ctx.trial.last_intermediate() else {
            return Ok(false);
        };
        if !judged_at(step, s.n_warmup_steps, s.interval_steps) {
            return Ok(false);
        }
        let complete = ctx
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .count();
        if complete < s.n_startup_trials {
            return Ok(false);
        }
        let direction = first(ctx.directions);
        // A trial that only ever reported NaN has nothing to go on with.
        let Some(best) = best_loss(ctx.trial, direction) else {
            return Ok(true);
        };
        let mut others: Vec<f64> = ctx
            .others()
            .filter(|t| matches!(t.state, TrialState::Complete | TrialState::Running))
            .filter_map(|t| value_at(t, step))
            .map(|v| loss(direction, v))
            .filter(|v| !v.is_nan())
            .collect();
        if others.len() < s.n_min_trials.max(1) {
            return Ok(false);
        }
        Ok(best > percentile(&mut others, self.percentile))
    }
}

/// The `q`-th percentile (0–100) of `xs` (not empty, no NaN), interpolating linearly between
/// ranks as NumPy's default does. Selects rather than sorts: linear in the trials, which a
/// decision after every report of a long study needs. Reorders `xs`.
fn percentile(xs: &mut [f64], q: f64) -> f64 {
    let rank = q / 100.0 * (xs.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let (_, &mut below, above) = xs.select_nth_unstable_by(lo, f64::total_cmp);
    match above.iter().copied().min_by(f64::total_cmp) {
        Some(next) if rank > lo as f64 => below + (next - below) * (rank - lo as f64),
        _ => below,
    }
}

#[cfg(test)]
mod tests {
    use hyperplug_core::{Direction, Settings, TrialState::*};

    use super::*;
    use crate::testing::{curve, decide, pruner, pruner_for, trial};

    #[test]
    fn percentiles_interpolate_as_numpy_does() {
        let xs = [3.0, 1.0, 4.0, 2.0];
        assert_eq!(percentile(&mut xs.clone(), 50.0), 2.5);
        assert_eq!(percentile(&mut xs.clone(), 25.0), 1.75);
        assert_eq!(percentile(&mut xs.clone(), 0.0), 1.0);
        assert_eq!(percentile(&mut xs.clone(), 100.0), 4.0);
        assert_eq!(percentile(&mut [7.0], 30.0), 7.0);
        assert_eq!(percentile(&mut [5.0, 5.0, 1.0], 50.0), 5.0);
    }

    #[test]
    fn a_trial_worse_than_the_median_at_its_step_stops_and_a_better_one_goes_on() {
        let finished: Vec<_> = (0..5)
            .map(|i| {
                let c = curve(1.0 + i as f64, 0.5, 10);
                let last = c[9].1;
                trial(i, Complete, &c, last)
            })
            .collect();
        let mut p = pruner(&Median, Settings::default());
        // At step 3 the others hold 0.25, 0.5, 0.75, 1.0, 1.25: the median is 0.75.
        let bad = trial(5, Running, &curve(3.2, 0.5, 3), 0.0);
        let good = trial(6, Running, &curve(2.8, 0.5, 3), 0.0);
        let running = [bad, good];
        assert!(decide(&mut *p, Direction::Minimize, &finished, &running, 5));
        assert!(!decide(
            &mut *p,
            Direction::Minimize,
            &finished,
            &running,
            6
        ));
        // Maximizing the negated values is the same study.
        let negated = |ts: &[hyperplug_core::Trial]| -> Vec<hyperplug_core::Trial> {
            ts.iter()
                .map(|t| {
                    let mut t = t.clone();
                    t.intermediate.iter_mut().for_each(|(_, v)| *v = -*v);
                    t.values.iter_mut().for_each(|v| *v = -*v);
                    t
                })
                .collect()
        };
        let (finished, running) = (negated(&finished), negated(&running));
        let mut p = pruner_for(&Median, Settings::default(), Direction::Maximize);
        assert!(decide(&mut *p, Direction::Maximize, &finished, &running, 5));
        assert!(!decide(
            &mut *p,
            Direction::Maximize,
            &finished,
            &running,
            6
        ));
    }

    #[test]
    fn startup_trials_warm_up_steps_and_intervals_hold_back_judgement() {
        let finished: Vec<_> = (0..3)
            .map(|i| trial(i, Complete, &curve(1.0, 0.5, 10), 0.0))
            .collect();
        let running = [trial(3, Running, &curve(9.0, 0.5, 4), 0.0)];
        let settings = |k: &str, v: u64| Settings::default().with("n_startup_trials", 3).with(k, v);
        let mut p = pruner(&Median, settings("n_warmup_steps", 0));
        assert!(decide(&mut *p, Direction::Minimize, &finished, &running, 3));
        let mut p = pruner(&Median, Settings::default().with("n_startup_trials", 4));
        assert!(!decide(
            &mut *p,
            Direction::Minimize,
            &finished,
            &running,
            3
        ));
        let mut p = pruner(&Median, settings("n_warmup_steps", 5));
        assert!(!decide(
            &mut *p,
            Direction::Minimize,
            &finished,
            &running,
            3
        ));
        let mut p = pruner(&Median, settings("interval_steps", 3));
        assert!(
            !decide(&mut *p, Direction::Minimize, &finished, &running, 3),
            "step 4"
        );
        let mut p = pruner(&Median, settings("n_min_trials", 4));
        assert!(!decide(
            &mut *p,
            Direction::Minimize,
            &finished,
            &running,
            3
        ));
    }

    /// Optuna's median pruner reads other trials at exactly the trial's step: one that reports
    /// every other epoch is never compared with one that reports every epoch, and trials pruned
    /// early count at steps they never reached only if those steps match.
    #[test]
    fn trials_reporting_at_different_steps_are_compared_on_what_they_reached() {
        // Finished trials report at even steps only, and reached step 8.
        let even: Vec<(u64, f64)> = (1..=4).map(|k| (2 * k, 1.0 / k as f64)).collect();
        let finished: Vec<_> = (0..5).map(|i| trial(i, Complete, &even, 0.25)).collect();
        // A trial at the odd step 3 is judged against their values at step 2 (1.0 each).
        let worse = trial(5, Running, &[(1, 1.2), (2, 1.1), (3, 1.05)], 0.0);
        let better = trial(6, Running, &[(1, 1.2), (2, 1.1), (3, 0.95)], 0.0);
        let running = [worse, better];
        let mut p = pruner(&Median, Settings::default());
        assert!(decide(&mut *p, Direction::Minimize, &finished, &running, 5));
        assert!(!decide(
            &mut *p,
            Direction::Minimize,
            &finished,
            &running,
            6
        ));
        // Trials that stopped at step 2 say nothing about step 9: no one to judge by.
        let deep = trial(7, Running, &curve(5.0, 1.0, 9), 0.0);
        let mut p = pruner(&Median, Settings::default());
        assert!(!decide(&mut *p, Direction::Minimize, &finished, &[deep], 7));
    }

    #[test]
    fn bad_settings_are_refused_by_name() {
        let err = |f: &dyn PrunerFactory, s: Settings| match f.create(&PrunerSetup {
            directions: &[Direction::Minimize],
            seed: 0,
            settings: &s,
        }) {
            Ok(_) => panic!("accepted"),
            Err(e) => e.to_string(),
        };
        assert!(err(&Percentile, Settings::default()).contains("percentile"));
        let e = err(&Percentile, Settings::default().with("percentile", 120.0));
        assert!(e.contains("from 0 to 100"), "{e}");
        let e = err(&Median, Settings::default().with("n_startup", 1));
        assert!(e.contains("n_startup"), "{e}");
        let e = err(&Median, Settings::default().with("interval_steps", 0));
        assert!(e.contains("interval_steps"), "{e}");
    }
}
