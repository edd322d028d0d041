//! BOHB's sampler (Falkner et al., 2018): Bayesian optimization for Hyperband. Pair it with the
//! `hyperband` pruner (or `asha`, `successive-halving`), which decides how far each trial runs;
//! this strategy decides where trials start.
//!
//! Each ask looks for the largest budget (a step: an epoch, say) that at least `min_points`
//! finished trials reached, complete or pruned, and models their values at that budget with TPE
//! (`hyperplug-tpe`): a trial's value at a step is the last it reported at or before it. Early
//! in a study the model rests on many cheap observations at small budgets; as trials survive
//! the rungs it moves to larger ones, whose results are the ones that matter. A share
//! `random_fraction` of the trials (BOHB's ρ, drawn per trial number from the seed) are drawn
//! at random instead, which keeps the search honest where the model is wrong. While no budget
//! has enough observations, TPE sees the finished trials as they are (pruned ones ranked by how
//! far they got, as Optuna does).
//!
//! Settings (unknown keys are refused by name):
//!
//! | key | default | what |
//! |---|---|---|
//! | `min_points` | parameters + 1 | finished trials a budget needs before it is modelled |
//! | `random_fraction` | `1/3` | share of trials drawn at random |
//! | `tpe` | `{}` | the TPE model's settings (see `hyperplug-tpe`); its `startup` defaults to `min_points` |
//!
//! Intermediate values are read in the direction of the first objective; one objective only.
//!
//! Architecture invariant: depends on `hyperplug-core` and `hyperplug-tpe` only; no IO, no FFI,
//! no global RNG.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use hyperplug_core::{
    AskContext, Capabilities, Error, Params, PluginInfo, Settings, Strategy, StrategyFactory,
    StudySetup, Trial, TrialState, trial_rng, value_at,
};
use hyperplug_tpe::Tpe;
use rand::Rng;
use serde::Deserialize;

const NAME: &str = "bohb";

/// Makes BOHB strategies; see the crate documentation for the settings.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bohb;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BohbSettings {
    #[serde(default)]
    min_points: Option<usize>,
    #[serde(default = "third")]
    random_fraction: f64,
    #[serde(default)]
    tpe: Option<Settings>,
}

fn third() -> f64 {
    1.0 / 3.0
}

impl StrategyFactory for Bohb {
    fn info(&self) -> PluginInfo {
        PluginInfo::new(
            NAME,
            env!("CARGO_PKG_VERSION"),
            "BOHB: TPE over the results at the largest budget with enough observations, for Hyperband.",
            Capabilities {
                multi_objective: false,
                ..Capabilities::all()
            },
        )
    }

    fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
        let s: BohbSettings = setup.settings.parse(NAME)?;
        if !(0.0..=1.0).contains(&s.random_fraction) {
            return Err(Error::settings(
                NAME,
                format!(
                    "`random_fraction` is {}; give a share from 0 to 1 (BOHB's default is 1/3)",
                    s.random_fraction
                ),
            ));
        }
        let min_points = s.min_points.unwrap_or(setup.space.params().len() + 1);
        if min_points == 0 {
            return Err(Error::settings(NAME, "`min_points` is 0; give 1 or more"));
        }
        let mut tpe = s.tpe.unwrap_or_default();
        if tpe.get("startup").is_none() {
            tpe = tpe.with("startup", min_points);
        }
        // Refuse bad TPE settings now rather than at the first ask.
        Tpe.create(&StudySetup {
            settings: &tpe,
            ..*setup
        })
        .map_err(|e| Error::settings(NAME, format!("in `tpe`: {e}")))?;
        Ok(Box::new(BohbStrategy {
            min_points,
            random_fraction: s.random_fraction,
            tpe,
        }))
    }
}

struct BohbStrategy {
    min_points: usize,
    random_fraction: f64,
    tpe: Settings,
}

/// The seed of the stream that decides which trials are drawn at random, apart from every
/// trial's own stream.
const RANDOM_STREAM: u64 = 0xb0b0_b0b0_b0b0_b0b0;

impl BohbStrategy {
    /// The largest step that at least `min_points` finished trials reached, and those trials
    /// as complete ones whose value is their value at that step.
    fn at_budget(&self, trials: &[Trial]) -> Option<(u64, Vec<Trial>)> {
        let mut reached: Vec<u64> = trials
            .iter()
            .filter(|t| matches!(t.state, TrialState::Complete | TrialState::Pruned))
            .filter_map(|t| t.intermediate.iter().map(|&(s, _)| s).max())
            .collect();
        if reached.len() < self.min_points {
            return None;
        }
        reached.sort_unstable_by(|a, b| b.cmp(a));
        let budget = reached[self.min_points - 1];
        let observed: Vec<Trial> = trials
            .iter()
            .filter(|t| matches!(t.state, TrialState::Complete | TrialState::Pruned))
            .filter_map(|t| {
                let v = value_at(t, budget)?;
                let mut seen = t.clone();
                seen.state = TrialState::Complete;
                seen.values = vec![v];
                Some(seen)
            })
            .collect();
        Some((budget, observed))
    }
}

impl Strategy for BohbStrategy {
    fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
        let setup = StudySetup {
            space: ctx.space,
            directions: &ctx.directions[..1],
            seed: ctx.seed,
            settings: &self.tpe,
        };
        // A fresh model per ask: the trials it sees change with the budget, and TPE keeps
        // incremental state only for a history that grows at its end.
        let mut model = Tpe.create(&setup)?;
        let random =
            trial_rng(ctx.seed ^ RANDOM_STREAM, ctx.number).random::<f64>() < self.random_fraction;
        let observed = if random {
            Vec::new()
        } else {
            match self.at_budget(ctx.trials) {
                Some((_, observed)) => observed,
                None => ctx.trials.to_vec(),
            }
        };
        model.ask(&AskContext {
            trials: &observed,
            directions: &ctx.directions[..1],
            ..*ctx
        })
    }
}

#[cfg(test)]
mod tests {
    use hyperplug_core::Params;

    use super::*;

    fn trial(number: u64, state: TrialState, steps: &[(u64, f64)]) -> Trial {
        let mut t = Trial::running(number, Params::new(), 0);
        t.state = state;
        t.intermediate = steps.to_vec();
        if state == TrialState::Complete {
            t.values = vec![steps.last().map_or(0.0, |s| s.1)];
        }
        t
    }

    #[test]
    fn the_budget_is_the_largest_step_enough_trials_reached() {
        let s = BohbStrategy {
            min_points: 3,
            random_fraction: 0.0,
            tpe: Settings::default(),
        };
        let trials = vec![
            trial(0, TrialState::Complete, &[(1, 0.9), (3, 0.5), (9, 0.2)]),
            trial(1, TrialState::Pruned, &[(1, 0.8)]),
            trial(2, TrialState::Pruned, &[(1, 0.7), (3, 0.6)]),
            trial(3, TrialState::Complete, &[(1, 0.6), (3, 0.4), (9, 0.1)]),
            trial(4, TrialState::Failed, &[(1, 0.1), (3, 0.1), (9, 0.0)]),
            trial(5, TrialState::Running, &[(1, 0.1), (3, 0.1), (9, 0.0)]),
        ];
        let (budget, seen) = s.at_budget(&trials).unwrap();
        // Steps 9, 9 and 3 were reached by finished trials: 3 is the largest three reached.
        assert_eq!(budget, 3);
        let values: Vec<(u64, f64)> = seen.iter().map(|t| (t.number, t.values[0])).collect();
        assert_eq!(values, [(0, 0.5), (2, 0.6), (3, 0.4)]);
        assert!(seen.iter().all(|t| t.state == TrialState::Complete));
        assert!(s.at_budget(&trials[..2]).is_none());
    }
}
