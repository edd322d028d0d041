//! Turning a study file into a running study: look up the strategy and objective, settle the
//! space and directions, check capabilities, run, and report.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use hyperplug_core::{
    Budget, Direction, Objective, Observer, RunOptions, Space, Study, StudyConfig, Trial,
    TrialState,
};
use serde::Serialize;

use crate::config::StudyFile;
use crate::registry::Registry;
use crate::resources::Machine;

/// A study ready to run: the study, its objective and its budget.
pub struct Prepared {
    /// The study, its strategy created and checked.
    pub study: Study,
    /// The objective, created with its settings.
    pub objective: Box<dyn Objective>,
    /// When to stop.
    pub budget: Budget,
    /// The objective's name.
    pub objective_name: String,
    /// Devices to lend to trials.
    pub options: RunOptions,
}

/// Builds the study a file describes, refusing before any trial whatever cannot work: an unknown
/// strategy or objective, bad settings, a space given twice or not at all, directions that do
/// not match the objective, a strategy lacking a capability the study needs.
pub fn prepare(file: &StudyFile, registry: &Registry, machine: &Machine) -> Result<Prepared> {
    let strategy = registry
        .strategy(&file.strategy.name)
        .ok_or_else(|| anyhow!(registry.unknown("strategy", &file.strategy.name)))?;
    let objective_entry = registry
        .objective(&file.objective.name)
        .ok_or_else(|| anyhow!(registry.unknown("objective", &file.objective.name)))?;
    let objective = objective_entry
        .factory
        .create(&file.objective.settings)
        .with_context(|| format!("cannot create objective `{}`", file.objective.name))?;

    let space = match (objective.space(), &file.space) {
        (Some(_), Some(_)) => bail!(
            "objective `{}` defines its own search space; remove the [space] table",
            file.objective.name
        ),
        (Some(own), None) => own,
        (None, Some(space)) => space.clone(),
        (None, None) => bail!(
            "objective `{}` needs a search space; add a [space] table",
            file.objective.name
        ),
    };
    let directions = directions(file, &*objective)?;
    let seed = file.seed.unwrap_or_else(fresh_seed);
    let (parallelism, options) = machine.plan(file.parallelism, &file.resources);
    let config = StudyConfig {
        seed,
        parallelism,
        ..StudyConfig::new(file.name.clone(), space, directions)
    };
    let study = Study::new(config, &*strategy.factory, &file.strategy.settings)
        .with_context(|| format!("cannot start study `{}`", file.name))?;
    Ok(Prepared {
        study,
        objective,
        budget: file.budget,
        objective_name: file.objective.name.clone(),
        options,
    })
}

fn directions(file: &StudyFile, objective: &dyn Objective) -> Result<Vec<Direction>> {
    let metrics = objective.metrics();
    match &file.directions {
        Some(d) if !metrics.is_empty() && d.len() != metrics.len() => bail!(
            "the study gives {} direction(s) but objective `{}` returns {} value(s) ({}); give one direction per value",
            d.len(),
            file.objective.name,
            metrics.len(),
            metrics
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Some(d) => Ok(d.clone()),
        None if !metrics.is_empty() => Ok(metrics.iter().map(|m| m.direction).collect()),
        None => bail!(
            "objective `{}` does not say which way is better; set `direction = \"minimize\"` or \"maximize\" in [study]",
            file.objective.name
        ),
    }
}

/// A seed for studies that give none, from the clock; it is reported with the results so the
/// run can be repeated.
fn fresh_seed() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A finished study as JSON: every trial, the best ones, and what produced them.
#[derive(Serialize)]
pub struct Report<'a> {
    /// The study's name.
    pub study: &'a str,
    /// The strategy's name.
    pub strategy: &'a str,
    /// The objective's name.
    pub objective: &'a str,
    /// The seed used.
    pub seed: u64,
    /// One per objective.
    pub directions: &'a [Direction],
    /// The space searched.
    pub space: &'a Space,
    /// Trials by state.
    pub counts: Counts,
    /// The best trial (single objective) or the Pareto front.
    pub best_trials: Vec<&'a Trial>,
    /// Every trial, by number.
    pub trials: Vec<&'a Trial>,
}

/// How many trials ended in each state.
#[derive(Serialize, Default, Debug, PartialEq, Eq)]
pub struct Counts {
    /// Complete.
    pub complete: usize,
    /// Pruned.
    pub pruned: usize,
    /// Failed.
    pub failed: usize,
}

impl<'a> Report<'a> {
    /// The report of `study`, whose objective is `objective`.
    pub fn of(study: &'a Study, objective: &'a str) -> Self {
        let mut counts = Counts::default();
        for t in study.finished() {
            match t.state {
                TrialState::Complete => counts.complete += 1,
                TrialState::Pruned => counts.pruned += 1,
                TrialState::Failed => counts.failed += 1,
                TrialState::Running => {}
            }
        }
        Report {
            study: &study.config().name,
            strategy: study.strategy_name(),
            objective,
            seed: study.config().seed,
            directions: &study.config().directions,
            space: &study.config().space,
            counts,
            best_trials: study.best_trials(),
            trials: study.trials(),
        }
    }
}

/// Runs a prepared study to its budget, reporting progress through `observer`.
pub fn run(prepared: &mut Prepared, observer: &mut (dyn Observer + Send)) -> Result<()> {
    let Prepared {
        study,
        objective,
        budget,
        options,
        ..
    } = prepared;
    study
        .optimize_with(&**objective, *budget, options, observer)
        .context("the study stopped")
}
