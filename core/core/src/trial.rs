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
    /// The values it reported along the way, by step, in the order reported.
    #[serde(default)]
    pub intermediate: Vec<(u64, f64)>,
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
