//! Pruners: deciding, after each step a running trial reports, whether it stops early. A pruner
//! is its own kind beside [`Strategy`](crate::Strategy), so any strategy combines with any
//! pruner; the study asks its pruner, never its strategy.

use crate::error::Error;
use crate::settings::Settings;
use crate::strategy::PluginInfo;
use crate::study::Direction;
use crate::trial::Trial;

/// Everything a pruner learns when it is created for a study.
#[derive(Clone, Copy, Debug)]
pub struct PrunerSetup<'a> {
    /// One direction per objective; intermediate values are judged in the first one's.
    pub directions: &'a [Direction],
    /// The study's seed.
    pub seed: u64,
    /// Its own settings from the study file.
    pub settings: &'a Settings,
}

/// Makes pruners: the unit that is bundled into the host or exported by a plugin library.
pub trait PrunerFactory: Send + Sync {
    /// Name, version, description and capabilities (`multi_objective` for pruners that judge
    /// studies with several objectives; the others are refused for them before the first trial).
    fn info(&self) -> PluginInfo;

    /// A pruner for one study. Settings are checked here, so that a bad one is refused before
    /// the first trial.
    fn create(&self, setup: &PrunerSetup<'_>) -> Result<Box<dyn Pruner>, Error>;
}

/// What a pruner sees when asked about a running trial.
#[derive(Clone, Copy, Debug)]
pub struct PruneContext<'a> {
    /// One direction per objective.
    pub directions: &'a [Direction],
    /// The study's seed.
    pub seed: u64,
    /// Every finished trial (complete, pruned or failed), every worker's, in the order they
    /// finished; within one pruner's life this list only grows at the end. Pruned trials keep
    /// the intermediate values they reported.
    pub trials: &'a [Trial],
    /// The trials that run now, every worker's, with the intermediate values they have
    /// reported so far; `trial` is one of them.
    pub running: &'a [Trial],
    /// The trial to decide on. Its last intermediate value is the one just reported.
    pub trial: &'a Trial,
    /// How many of the trial's intermediate values there were when this study last asked about
    /// it (0 the first time): the ones after them arrived since, several at once when the
    /// objective reports faster than it polls. A pruner that judges a trial once per rung
    /// (ASHA) judges the rungs these values crossed.
    pub previous: usize,
}

impl PruneContext<'_> {
    /// Every trial but the one decided on: finished first, in finish order, then running.
    pub fn others(&self) -> impl Iterator<Item = &Trial> + Clone {
        let me = self.trial.number;
        self.trials
            .iter()
            .chain(self.running)
            .filter(move |t| t.number != me)
    }
}

/// Decides whether a running trial stops now, from its intermediate values and every other
/// trial's. The study asks after each step the trial reports; `true` stops the trial, which is
/// recorded as pruned with the values it reported. Decisions must depend only on the context
/// (the store's trials), not on what one pruner saw before, so that every worker sharing a
/// store, and a resumed study, decide alike.
pub trait Pruner: Send {
    /// Whether `ctx.trial` should stop now.
    fn prune(&mut self, ctx: &PruneContext<'_>) -> Result<bool, Error>;

    /// The resource trial `number` is started with: the most steps (epochs, folds, iterations)
    /// it should run, which its objective reads from [`TrialContext::resource`]; `None` (the
    /// default) leaves that to the objective's own settings. Successive halving, ASHA and
    /// Hyperband give their `max_resource`, the budget their rungs are laid out in.
    ///
    /// [`TrialContext::resource`]: crate::TrialContext::resource
    fn resource(&self, number: u64) -> Option<u64> {
        let _ = number;
        None
    }
}

/// Intermediate values made comparable: a trial's value at a step, read as "the last value it
/// reported at or before that step, provided it got that far". Trials that report at different steps (every epoch, every other one) or stop at
/// different depths are compared fairly: one that never reached a step says nothing about it.
pub fn value_at(trial: &Trial, step: u64) -> Option<f64> {
    let reached = trial.intermediate.iter().any(|&(s, _)| s >= step);
    if !reached {
        return None;
    }
    trial
        .intermediate
        .iter()
        .filter(|&&(s, _)| s <= step)
        .max_by_key(|&&(s, _)| s)
        .map(|&(_, v)| v)
}

/// [`value_at`] for vectors: a trial's values at a step, one per objective, read as "the last
/// vector it reported at or before that step, provided its vectors got that far"
/// ([`Trial::intermediate_values`]). A trial that reported single values only gives them as
/// vectors of one, so a rule over vectors also judges single-objective studies.
pub fn values_at(trial: &Trial, step: u64) -> Option<Vec<f64>> {
    if trial.intermediate_values.is_empty() {
        return value_at(trial, step).map(|v| vec![v]);
    }
    let vectors = &trial.intermediate_values;
    if !vectors.iter().any(|(s, _)| *s >= step) {
        return None;
    }
    vectors
        .iter()
        .filter(|(s, _)| *s <= step)
        .max_by_key(|(s, _)| *s)
        .map(|(_, v)| v.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Params;

    fn trial(number: u64, steps: &[(u64, f64)]) -> Trial {
        let mut t = Trial::running(number, Params::new(), 0);
        t.intermediate = steps.to_vec();
        t
    }

    #[test]
    fn a_value_at_a_step_is_the_last_at_or_before_it_once_the_trial_got_that_far() {
        let t = trial(0, &[(2, 0.5), (4, 0.3), (6, 0.2)]);
        assert_eq!(value_at(&t, 4), Some(0.3));
        assert_eq!(value_at(&t, 5), Some(0.3));
        assert_eq!(value_at(&t, 6), Some(0.2));
        assert_eq!(value_at(&t, 7), None, "it never got there");
        assert_eq!(value_at(&t, 1), None, "nothing reported at or before");
        assert_eq!(value_at(&trial(1, &[]), 0), None);
    }

    #[test]
    fn vectors_at_a_step_follow_the_same_rule_and_single_values_read_as_vectors_of_one() {
        let mut t = trial(0, &[]);
        t.push_intermediate(2, &[0.5, 1.0]);
        t.push_intermediate(4, &[0.3, 2.0]);
        assert_eq!(values_at(&t, 3), Some(vec![0.5, 1.0]));
        assert_eq!(values_at(&t, 4), Some(vec![0.3, 2.0]));
        assert_eq!(values_at(&t, 5), None);
        assert_eq!(values_at(&t, 1), None);
        assert_eq!(values_at(&trial(1, &[(1, 0.7)]), 1), Some(vec![0.7]));
        assert_eq!(
            t.intermediate,
            [(2, 0.5), (4, 0.3)],
            "first values are the curve"
        );
    }
}
