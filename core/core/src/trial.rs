use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::objective::Evaluation;
use crate::value::{Params, Value};

/// Where a trial stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrialState {
    /// Asked for and not yet told.
    Running,
    /// Finished with one value per objective.
    Complete,
    /// Stopped early by a pruner; its intermediate values say how far it got.
    Pruned,
    /// Failed: the objective or the strategy returned an error, panicked, or produced NaN.
    Failed,
}

impl TrialState {
    /// Whether the trial has ended, one way or another.
    pub fn is_finished(self) -> bool {
        self != TrialState::Running
    }
}

/// One evaluation of the objective at one point of the space.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// The trial's number within its study, from 0, never reused.
    pub number: u64,
    /// The parameters it was given.
    pub params: Params,
    /// Where it stands.
    pub state: TrialState,
    /// One value per objective of the study, when complete.
    #[serde(default)]
    pub values: Vec<f64>,
    /// The values it reported along the way, by step, in the order reported. In a study with
    /// several objectives, a step reported as a vector (see [`Trial::intermediate_values`])
    /// appears here by its first value, so single-objective readers (plots, most pruners) see
    /// the first objective's curve.
    #[serde(default)]
    pub intermediate: Vec<(u64, f64)>,
    /// The steps reported with one value per objective
    /// ([`TrialContext::report_values`](crate::TrialContext::report_values)), by step, in the
    /// order reported; empty when the trial reported single values only. Pareto-aware pruners
    /// judge these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intermediate_values: Vec<(u64, Vec<f64>)>,
    /// When it started, in milliseconds since the Unix epoch.
    pub started_ms: u64,
    /// How long it ran, in seconds, once finished.
    #[serde(default)]
    pub duration_s: Option<f64>,
    /// Extra results the objective attached (training time, model size, ...).
    #[serde(default)]
    pub user_attrs: IndexMap<String, Value>,
    /// Why it failed, or was pruned.
    #[serde(default)]
    pub message: Option<String>,
}

impl Trial {
    /// A trial that has just started.
    pub fn running(number: u64, params: Params, started_ms: u64) -> Self {
        Trial {
            number,
            params,
            state: TrialState::Running,
            values: Vec::new(),
            intermediate: Vec::new(),
            intermediate_values: Vec::new(),
            started_ms,
            duration_s: None,
            user_attrs: IndexMap::new(),
            message: None,
        }
    }

    /// The last intermediate value reported, if any.
    pub fn last_intermediate(&self) -> Option<(u64, f64)> {
        self.intermediate.last().copied()
    }

    /// Records an intermediate report: one value, or one per objective. A vector goes to
    /// [`Trial::intermediate_values`] and its first value to [`Trial::intermediate`]; a single
    /// value (or a vector of one) to [`Trial::intermediate`] only. Empty `values` record nothing.
    pub fn push_intermediate(&mut self, step: u64, values: &[f64]) {
        match values {
            [] => {}
            [v] => self.intermediate.push((step, *v)),
            [first, ..] => {
                self.intermediate.push((step, *first));
                self.intermediate_values.push((step, values.to_vec()));
            }
        }
    }

    /// Every intermediate report in the order reported, each as the values it carried: a vector
    /// where the step was reported with one value per objective, one value otherwise. The
    /// inverse of [`Trial::push_intermediate`], for storage and export.
    pub fn intermediate_reports(&self) -> Vec<(u64, Vec<f64>)> {
        let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
        let mut vectors = self.intermediate_values.iter().peekable();
        self.intermediate
            .iter()
            .map(|&(step, v)| match vectors.peek() {
                Some((s, vs)) if *s == step && vs.first().is_some_and(|&f| same(f, v)) => {
                    let out = (step, vs.clone());
                    vectors.next();
                    out
                }
                _ => (step, vec![v]),
            })
            .collect()
    }
}

/// Why a trial did not complete, as an objective reports it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TrialError {
    /// The objective stopped because the pruner said so.
    #[error("pruned")]
    Pruned,
    /// The objective failed; the message is kept with the trial.
    #[error("{0}")]
    Failed(String),
}

impl TrialError {
    /// A failure with a message.
    pub fn failed(message: impl Into<String>) -> Self {
        TrialError::Failed(message.into())
    }
}

/// What an objective made of a trial: the values, or why there are none.
pub type TrialOutcome = Result<Evaluation, TrialError>;
