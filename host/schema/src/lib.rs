//! The study schema: one serde type, [`StudyData`], for a study and its trials, shared by every
//! machine-readable output of hyperplug (`run --json`, `studies export`, `studies best --json`,
//! the HTTP API) and by every renderer (the HTML report, the dashboard). A renderer draws from
//! this data only, so what is shown and what is exported never disagree.
//!
//! The JSON form is versioned by [`SCHEMA_VERSION`] (the `schema_version` field): fields may be
//! added within a version, and readers ignore fields they do not know; a change of meaning or a
//! removal bumps the version. `docs/SCHEMA.md` describes every field with an example.
//! [`write_csv`] writes the trials as a table in the shape of Optuna's `trials_dataframe`: one
//! column per parameter (`params_*`), objective value, user attribute (`attr_*`) and step of
//! intermediate values (`step_*`).
//!
//! This crate builds on `hyperplug-core`'s types (space, directions, states, values) and does no
//! IO beyond writing to the `Write` it is given; it knows nothing of storage backends, the CLI
//! or HTML.
//!
//! ```
//! use hyperplug_core::{Direction, Domain, Param, Space, Trial, TrialState};
//! use hyperplug_schema::{StudyData, StudyInfo, TrialData};
//!
//! let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))]).unwrap();
//! let info = StudyInfo::new("demo", vec![Direction::Minimize], space);
//! let trials = [0.5, 0.25].iter().enumerate().map(|(i, &v)| {
//!     let mut t = Trial::running(i as u64, [("x".to_owned(), v.into())].into_iter().collect(), 0);
//!     t.state = TrialState::Complete;
//!     t.values = vec![v * v];
//!     TrialData::from(&t)
//! });
//! let study = StudyData::new(info, trials.collect());
//! assert_eq!(study.counts.complete, 2);
//! assert_eq!(study.best_trials[0].number, 1);
//! let text = serde_json::to_string(&study).unwrap();
//! assert_eq!(StudyData::from_json(&text).unwrap(), study);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod csv;
mod hypervolume;

use hyperplug_core::{
    Direction, Params, Space, StudyRecord, Trial, TrialState, Value, pareto_front,
};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

pub use crate::csv::{csv_header, write_csv};
pub use crate::hypervolume::Hypervolume;

/// The version of the JSON form written by this crate; see the crate documentation.
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON Schema (draft 2020-12) of [`StudyData`]'s JSON form, for clients in other languages
/// and API descriptions. A test walks real documents against it, so the two cannot drift apart.
pub const JSON_SCHEMA: &str = include_str!("../study.schema.json");

/// A study and its trials: what every output and every renderer shares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyData {
    /// [`SCHEMA_VERSION`] when written.
    pub schema_version: u32,
    /// What the study is.
    pub study: StudyInfo,
    /// How many trials are in each state.
    pub counts: Counts,
    /// One objective: the best complete trial (the earliest among ties). Several: the Pareto
    /// front, by number. Empty while no trial is complete.
    pub best_trials: Vec<TrialData>,
    /// Several objectives: the hypervolume of the Pareto front.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hypervolume: Option<Hypervolume>,
    /// Every trial, by number. Left out by `studies best --json` ([`StudyData::best_view`]),
    /// which shows the best only; `counts` still says how many there are.
    #[serde(default)]
    pub trials: Vec<TrialData>,
}

/// A study without its trial list, as `studies best --json` writes it: [`StudyData`]'s fields
/// but `trials`. It reads back as a `StudyData` with no trials.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct BestView<'a> {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// What the study is.
    pub study: &'a StudyInfo,
    /// How many trials are in each state.
    pub counts: &'a Counts,
    /// The best trial, or the Pareto front.
    pub best_trials: &'a [TrialData],
    /// Several objectives: the front's hypervolume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hypervolume: &'a Option<Hypervolume>,
}

/// What a study is, apart from its trials.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyInfo {
    /// Its name, unique in its store.
    pub name: String,
    /// One direction per objective.
    pub directions: Vec<Direction>,
    /// The objectives' names, one per direction, when the objective declared them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metric_names: Vec<String>,
    /// The space searched.
    pub space: Space,
    /// The strategy's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// The objective's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective: Option<String>,
    /// The seed every worker uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The trial budget, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_budget: Option<u64>,
    /// Where it is stored, with any password left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
    /// How often a trial whose worker was lost is queued again.
    #[serde(default)]
    pub retries: u32,
    /// How long a running trial may go without a heartbeat before it is failed, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_grace_s: Option<f64>,
    /// When it was created, in milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_ms: Option<u64>,
    /// Its last activity, in milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_ms: Option<u64>,
    /// What workers need to join it (the study file and what the run settled), as stored, with
    /// passwords left out; `null` when the study was not made by the `hyperplug` CLI.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub definition: serde_json::Value,
}

impl StudyInfo {
    /// A study known only by its name, directions and space.
    pub fn new(name: impl Into<String>, directions: Vec<Direction>, space: Space) -> Self {
        StudyInfo {
            name: name.into(),
            directions,
            metric_names: Vec::new(),
            space,
            strategy: None,
            objective: None,
            seed: None,
            trial_budget: None,
            storage: None,
            retries: 0,
            heartbeat_grace_s: None,
            created_ms: None,
            updated_ms: None,
            definition: serde_json::Value::Null,
        }
    }

    /// What a stored study's record says; the caller adds what its definition knows.
    pub fn from_record(record: &StudyRecord) -> Self {
        let mut info = StudyInfo::new(
            &record.name,
            record.directions.clone(),
            record.space.clone(),
        );
        info.retries = record.retries;
        info.heartbeat_grace_s = Some(record.grace_s);
        info.seed = record.seed;
        info
    }

    /// The name of objective `i`: the declared metric name, `value` for a single objective, or
    /// `value i`.
    pub fn objective_name(&self, i: usize) -> String {
        match self.metric_names.get(i) {
            Some(n) => n.clone(),
            None if self.directions.len() == 1 => "value".into(),
            None => format!("value {i}"),
        }
    }
}

/// How many trials are in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Running now.
    pub running: u64,
    /// Finished with values.
    pub complete: u64,
    /// Stopped early.
    pub pruned: u64,
    /// Failed.
    pub failed: u64,
    /// Waiting in the store's queue (enqueued or retries), not yet started; not among `trials`.
    #[serde(default)]
    pub queued: u64,
}

impl Counts {
    /// The counts of `trials`' states (nothing queued).
    pub fn of<'a>(trials: impl IntoIterator<Item = &'a TrialData>) -> Self {
        let mut c = Counts::default();
        for t in trials {
            match t.state {
                TrialState::Running => c.running += 1,
                TrialState::Complete => c.complete += 1,
                TrialState::Pruned => c.pruned += 1,
                TrialState::Failed => c.failed += 1,
            }
        }
        c
    }

    /// Every trial started: running, complete, pruned and failed.
    pub fn total(&self) -> u64 {
        self.running + self.complete + self.pruned + self.failed
    }
}

/// One trial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialData {
    /// Its number within the study, from 0.
    pub number: u64,
    /// Where it stands.
    pub state: TrialState,
    /// One value per objective when complete; empty otherwise.
    #[serde(default)]
    pub values: Vec<f64>,
    /// The parameters it was given (the active ones only), in the space's order.
    pub params: Params,
    /// The values it reported along the way, as `[step, value]` pairs in the order reported.
    #[serde(default)]
    pub intermediate: Vec<(u64, f64)>,
    /// In a study with several objectives, the steps reported with one value per objective, as
    /// `[step, [v1, v2, ...]]` in the order reported (each step's first value is also in
    /// `intermediate`); absent when the trial reported single values only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intermediate_values: Vec<(u64, Vec<f64>)>,
    /// What the objective attached (training time, model size, ...).
    #[serde(default)]
    pub user_attrs: IndexMap<String, Value>,
    /// When it started, in milliseconds since the Unix epoch (0 if it never started).
    pub started_ms: u64,
    /// When it finished, in milliseconds since the Unix epoch.
    #[serde(default)]
    pub finished_ms: Option<u64>,
    /// How long it ran, in seconds, once finished.
    #[serde(default)]
    pub duration_s: Option<f64>,
    /// Why it failed, or was pruned.
    #[serde(default)]
    pub message: Option<String>,
    /// The worker that ran it, when the store knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// The trial it retries, when its worker was lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_of: Option<u64>,
}

impl From<&Trial> for TrialData {
    fn from(t: &Trial) -> Self {
        TrialData {
            number: t.number,
            state: t.state,
            values: t.values.clone(),
            params: t.params.clone(),
            intermediate: t.intermediate.clone(),
            intermediate_values: t.intermediate_values.clone(),
            user_attrs: t.user_attrs.clone(),
            started_ms: t.started_ms,
            finished_ms: t
                .duration_s
                .filter(|d| t.started_ms > 0 && d.is_finite() && *d >= 0.0)
                .map(|d| t.started_ms + (d * 1000.0).round() as u64),
            duration_s: t.duration_s,
            message: t.message.clone(),
            worker: None,
            retry_of: None,
        }
    }
}

impl TrialData {
    /// Whether it finished with values.
    pub fn is_complete(&self) -> bool {
        self.state == TrialState::Complete
    }
}

/// Why a text is not a study this crate can read.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// Not JSON of this shape; the message names the field.
    #[error("not a hyperplug study document: {0}")]
    Shape(String),
    /// Written by a newer hyperplug.
    #[error(
        "the study document has schema version {found}, newer than this hyperplug reads ({SCHEMA_VERSION}); upgrade hyperplug"
    )]
    TooNew {
        /// The version found.
        found: u32,
    },
}

impl StudyData {
    /// The study `info` with `trials` (sorted here by number): counts, the best trials and the
    /// front's hypervolume are computed from them.
    pub fn new(info: StudyInfo, mut trials: Vec<TrialData>) -> Self {
        trials.sort_by_key(|t| t.number);
        let mut study = StudyData {
            schema_version: SCHEMA_VERSION,
            study: info,
            counts: Counts::default(),
            best_trials: Vec::new(),
            hypervolume: None,
            trials,
        };
        study.refresh();
        study
    }

    /// Recomputes counts (keeping `queued`), best trials and hypervolume after `trials`
    /// changed, e.g. when a live view adds the trials that finished since.
    pub fn refresh(&mut self) {
        let queued = self.counts.queued;
        self.counts = Counts::of(&self.trials);
        self.counts.queued = queued;
        let directions = &self.study.directions;
        let complete: Vec<&TrialData> = self
            .trials
            .iter()
            .filter(|t| t.is_complete() && t.values.len() == directions.len())
            .collect();
        self.best_trials = best_of(directions, &complete)
            .into_iter()
            .cloned()
            .collect();
        self.hypervolume =
            Hypervolume::of(directions, complete.iter().map(|t| t.values.as_slice()));
    }

    /// The study with the trial list left out: what `studies best --json` shows.
    pub fn best_view(&self) -> BestView<'_> {
        BestView {
            schema_version: self.schema_version,
            study: &self.study,
            counts: &self.counts,
            best_trials: &self.best_trials,
            hypervolume: &self.hypervolume,
        }
    }

    /// The complete trials with one value per objective.
    pub fn complete(&self) -> impl Iterator<Item = &TrialData> {
        let m = self.study.directions.len();
        self.trials
            .iter()
            .filter(move |t| t.is_complete() && t.values.len() == m)
    }

    /// Reads a study document, naming the field at fault when the text does not fit.
    pub fn from_json(text: &str) -> Result<Self, SchemaError> {
        #[derive(Deserialize)]
        struct Version {
            schema_version: Option<u32>,
        }
        let version: Version =
            serde_json::from_str(text).map_err(|e| SchemaError::Shape(e.to_string()))?;
        match version.schema_version {
            None => {
                return Err(SchemaError::Shape(
                    "it has no `schema_version` (write it with `hyperplug studies export NAME --format json`)".into(),
                ));
            }
            Some(v) if v > SCHEMA_VERSION => return Err(SchemaError::TooNew { found: v }),
            Some(_) => {}
        }
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de)
            .map_err(|e| SchemaError::Shape(format!("at `{}`: {}", e.path(), e.inner())))
    }
}

/// The best complete trial (one objective, the earliest among ties) or the Pareto front by
/// number. `complete` holds complete trials with one value per direction.
fn best_of<'a>(directions: &[Direction], complete: &[&'a TrialData]) -> Vec<&'a TrialData> {
    if let [d] = directions {
        return complete
            .iter()
            .copied()
            .fold(None, |best: Option<&TrialData>, t| match best {
                Some(b) if !d.better(t.values[0], b.values[0]) => Some(b),
                _ => Some(t),
            })
            .into_iter()
            .collect();
    }
    if directions.is_empty() {
        return Vec::new();
    }
    let points: Vec<&[f64]> = complete.iter().map(|t| t.values.as_slice()).collect();
    let mut front: Vec<&TrialData> = pareto_front(&points, directions)
        .into_iter()
        .map(|i| complete[i])
        .collect();
    front.sort_by_key(|t| t.number);
    front
}

#[cfg(test)]
mod schema_tests;

#[cfg(test)]
mod tests {
    use hyperplug_core::{Domain, Param};

    use super::*;

    pub(crate) fn trial(number: u64, state: TrialState, values: &[f64], x: f64) -> TrialData {
        let mut t = Trial::running(
            number,
            [("x".to_owned(), Value::Float(x))].into_iter().collect(),
            1_700_000_000_000 + number * 1000,
        );
        t.state = state;
        t.values = values.to_vec();
        t.duration_s = Some(0.5);
        TrialData::from(&t)
    }

    fn info(directions: Vec<Direction>) -> StudyInfo {
        let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))]).unwrap();
        StudyInfo::new("s", directions, space)
    }

    #[test]
    fn the_best_is_the_earliest_among_ties_and_counts_cover_every_state() {
        let trials = vec![
            trial(3, TrialState::Complete, &[1.0], 0.3),
            trial(0, TrialState::Complete, &[2.0], 0.0),
            trial(1, TrialState::Complete, &[1.0], 0.1),
            trial(2, TrialState::Pruned, &[], 0.2),
            trial(4, TrialState::Failed, &[], 0.4),
            trial(5, TrialState::Running, &[], 0.5),
        ];
        let s = StudyData::new(info(vec![Direction::Minimize]), trials);
        assert_eq!(s.best_trials.len(), 1);
        assert_eq!(s.best_trials[0].number, 1);
        assert_eq!(
            s.counts,
            Counts {
                running: 1,
                complete: 3,
                pruned: 1,
                failed: 1,
                queued: 0
            }
        );
        assert_eq!(
            s.trials.iter().map(|t| t.number).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4, 5]
        );
        assert_eq!(s.trials[0].finished_ms, Some(1_700_000_000_500));
        assert!(s.hypervolume.is_none());
    }

    #[test]
    fn several_objectives_give_the_front_and_its_hypervolume() {
        let d = vec![Direction::Minimize, Direction::Maximize];
        let trials = vec![
            trial(0, TrialState::Complete, &[1.0, 1.0], 0.0),
            trial(1, TrialState::Complete, &[2.0, 3.0], 0.1),
            trial(2, TrialState::Complete, &[2.0, 0.5], 0.2), // dominated by 0
        ];
        let s = StudyData::new(info(d), trials);
        let front: Vec<u64> = s.best_trials.iter().map(|t| t.number).collect();
        assert_eq!(front, [0, 1]);
        let hv = s.hypervolume.as_ref().unwrap();
        // Losses (1,-1), (2,-3), (2,-0.5): reference (2.1, -0.25). Area: strip of trial 0
        // (2.1-1)·(-0.25+1) = 0.825, then trial 1 adds (2.1-2)·(-1+3) = 0.2.
        assert!((hv.value - 1.025).abs() < 1e-12, "{hv:?}");
        assert_eq!(hv.reference_point, [2.1, 0.25]);
        assert!(!hv.estimate);
    }

    #[test]
    fn json_round_trips_and_bad_documents_are_refused_by_field() {
        let s = StudyData::new(
            info(vec![Direction::Maximize]),
            vec![trial(0, TrialState::Complete, &[0.5], 0.5)],
        );
        let text = serde_json::to_string_pretty(&s).unwrap();
        assert_eq!(StudyData::from_json(&text).unwrap(), s);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["study"]["directions"][0], "maximize");
        assert_eq!(v["trials"][0]["params"]["x"], 0.5);
        assert_eq!(v["best_trials"][0]["number"], 0);

        let bad = text.replace("\"state\": \"complete\"", "\"state\": \"done\"");
        let e = StudyData::from_json(&bad).unwrap_err().to_string();
        assert!(e.contains("state") && e.contains("done"), "{e}");
        let newer = text.replace("\"schema_version\": 1", "\"schema_version\": 9");
        let e = StudyData::from_json(&newer).unwrap_err().to_string();
        assert!(e.contains("version 9") && e.contains("upgrade"), "{e}");
        let e = StudyData::from_json("{\"study\": {}}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("schema_version"), "{e}");
        assert!(StudyData::from_json("[1,").is_err());
    }
}
