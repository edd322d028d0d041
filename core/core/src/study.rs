use std::any::Any;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::capability::Requirements;
use crate::error::Error;
use crate::objective::{FnObjective, Objective, TrialContext};
use crate::pareto::dominates;
use crate::pruner::{PruneContext, Pruner, PrunerFactory, PrunerSetup};
use crate::settings::Settings;
use crate::space::Space;
use crate::storage::{MemoryStorage, Storage, StudyId, StudyRecord};
use crate::strategy::{AskContext, Strategy, StrategyFactory, StudySetup};
use crate::trial::{Trial, TrialError, TrialOutcome, TrialState};
use crate::value::Params;

mod define_by_run;
pub use define_by_run::OpenTrial;

/// Which way an objective is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Lower is better.
    Minimize,
    /// Higher is better.
    Maximize,
}

impl Direction {
    /// Whether `a` is strictly better than `b` in this direction.
    pub fn better(self, a: f64, b: f64) -> bool {
        match self {
            Direction::Minimize => a < b,
            Direction::Maximize => a > b,
        }
    }

    /// `value` turned so that lower is better: strategies that minimize use this.
    pub fn to_loss(self, value: f64) -> f64 {
        match self {
            Direction::Minimize => value,
            Direction::Maximize => -value,
        }
    }
}

impl FromStr for Direction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "minimize" | "min" => Ok(Direction::Minimize),
            "maximize" | "max" => Ok(Direction::Maximize),
            other => Err(format!(
                "unknown direction `{other}`; use \"minimize\" or \"maximize\""
            )),
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Minimize => "minimize",
            Direction::Maximize => "maximize",
        })
    }
}

/// What defines a study, apart from its strategy.
#[derive(Clone, Debug, PartialEq)]
pub struct StudyConfig {
    /// Its name.
    pub name: String,
    /// The space searched.
    pub space: Space,
    /// One direction per objective.
    pub directions: Vec<Direction>,
    /// The seed every random choice derives from. Once the study is open, the seed it runs
    /// with: the stored one where `seed_proposed` let the store's win.
    pub seed: u64,
    /// Whether `seed` is only proposed, because nobody chose it: a study already stored then
    /// keeps the seed it stores, and `seed` is stored only for a study that has none (the first
    /// opener's wins), so workers that start a new study together share one seed. `false`:
    /// `seed` replaces the stored one (see [`Storage::open`](crate::Storage::open)).
    pub seed_proposed: bool,
    /// How many trials may run at once.
    pub parallelism: usize,
    /// How often a trial whose worker died is queued again.
    pub retries: u32,
    /// How long a running trial may go without a heartbeat before it counts as dead.
    pub grace: Duration,
    /// Stored with the study for workers that join it later (see [`StudyRecord::definition`]).
    pub definition: serde_json::Value,
    /// Whether the space is learned from the objective's calls as trials run (see
    /// [`OpenTrial::suggest`]); it starts as `space`.
    pub define_by_run: bool,
}

impl StudyConfig {
    /// A study with seed 0 and one trial at a time.
    pub fn new(name: impl Into<String>, space: Space, directions: Vec<Direction>) -> Self {
        StudyConfig {
            name: name.into(),
            space,
            directions,
            seed: 0,
            seed_proposed: false,
            parallelism: 1,
            retries: 0,
            grace: Duration::from_secs(60),
            definition: serde_json::Value::Null,
            define_by_run: false,
        }
    }

    /// The same config with another seed, which replaces a stored study's.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self.seed_proposed = false;
        self
    }

    /// The same config with `seed` only proposed: a stored study keeps its own (see
    /// [`StudyConfig::seed_proposed`]). For a seed nobody chose, such as one from the clock.
    pub fn proposed_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self.seed_proposed = true;
        self
    }
}

/// When to stop: after a number of trials in the study, after a time, or whichever comes first.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Budget {
    /// Trials in the study, counting every trial started (running or finished, whatever its
    /// outcome) except retries of trials lost with their worker, which replace the lost trial.
    pub trials: Option<u64>,
    /// Wall time of this run.
    pub timeout: Option<Duration>,
}

impl Budget {
    /// Stop after `n` trials.
    pub fn trials(n: u64) -> Self {
        Budget {
            trials: Some(n),
            timeout: None,
        }
    }

    /// Stop after `t`.
    pub fn timeout(t: Duration) -> Self {
        Budget {
            trials: None,
            timeout: Some(t),
        }
    }
}

/// Watches a study as it runs: progress bars, logs, dashboards, and the user's wish to stop.
/// Every method has a default that does nothing. With parallel trials the executor calls it from
/// worker threads, one call at a time.
pub trait Observer {
    /// A trial has been asked for and is about to run.
    fn trial_started(&mut self, trial: &Trial) {
        let _ = trial;
    }
    /// A trial has finished; the study already holds it.
    fn trial_finished(&mut self, study: &Study, trial: &Trial) {
        let _ = (study, trial);
    }
    /// The strategy failed outside a trial (in `tell`), the pruner failed to decide, or a result came
    /// too late (the store had already failed its trial); the study goes on.
    fn strategy_error(&mut self, error: &Error) {
        let _ = error;
    }
    /// The store failed (a database that cannot be reached, a table gone): the run starts no
    /// more trials and ends with this error once the running ones have finished.
    fn store_error(&mut self, error: &Error) {
        let _ = error;
    }
    /// Polled before each new trial: `true` starts no more trials; running ones finish.
    fn stop_requested(&mut self) -> bool {
        false
    }
    /// Polled while trials run (through [`TrialContext::should_prune`]): `true` asks running
    /// trials to stop now; they are recorded as failed, "interrupted".
    fn interrupt_requested(&mut self) -> bool {
        false
    }
}

impl Observer for () {}

/// How trials run: the devices (GPU ids) the machine offers and how many each trial takes.
/// Concurrency is `StudyConfig::parallelism`, capped by the devices when trials need some.
/// The caller settles `devices_per_trial` from the user's request or the objective's own
/// declaration ([`Objective::resources`](crate::Objective::resources)); core cannot see the
/// machine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Device ids available to the study.
    pub devices: Vec<u32>,
    /// Devices each trial needs.
    pub devices_per_trial: usize,
}

/// A study: a space, one or more objectives, a strategy, and the trials so far. Drive it with
/// [`Study::optimize`] or by hand with [`Study::ask`] and [`Study::tell`].
///
/// The trials live in a [`Storage`]; the study keeps a mirror of them (finished trials in the
/// store's finish order, running ones with their live intermediate values) and writes through,
/// so several studies in several processes can share one stored study.
pub struct Study {
    config: StudyConfig,
    strategy_name: String,
    strategy: Box<dyn Strategy>,
    storage: Arc<dyn Storage>,
    id: StudyId,
    finished: Vec<Trial>,
    /// Where in `finished` the best complete trials are: for one objective the best (the
    /// earliest among equals), for several the Pareto front. Kept as trials arrive, so that
    /// observers asking after every trial do not rescan the study (the front's scan is
    /// quadratic in the trials).
    best: Vec<usize>,
    cursor: u64,
    /// Running trials that have parameters (a trial reserved by another worker and not yet
    /// given its parameters is left out: strategies have nothing to learn from it).
    running: Vec<Trial>,
    /// Numbers of the running trials this study started (the others are other workers'),
    /// reserved ones included. Shared with the heartbeat, which reads it without the study.
    own: Arc<Mutex<Vec<u64>>>,
    /// Other workers' running trials still waiting for their parameters.
    reserved_elsewhere: usize,
    /// The pruner and its name, if the study has one.
    pruner: Option<(String, Box<dyn Pruner>)>,
    /// The last decision on each of this study's running trials, with how many intermediate
    /// values it was made on: objectives poll between reports, and a decision is made once per
    /// reported step.
    decided: Vec<(u64, usize, bool)>,
}

/// What an ask gave: a trial to run, or one that failed before it could run because the
/// strategy could not suggest (it is already stored, failed, with the message).
pub(crate) enum Asked {
    Run(Trial),
    Failed(Trial, Error),
}

/// Keeps a study's running trials alive in its store from another thread, without the study:
/// a worker busy with the store (or waiting for it) does not hold up the heartbeat. The
/// executor beats with one while it runs; front ends that lend trials out by ask/tell beat with
/// one while the trials are out (see [`Study::pulse`]).
pub struct Pulse {
    storage: Arc<dyn Storage>,
    id: StudyId,
    own: Arc<Mutex<Vec<u64>>>,
}

impl Pulse {
    /// Marks the study's running trials (those its [`Study`] started, reserved ones included)
    /// as alive in the store; nothing when none runs.
    pub fn beat(&self) -> Result<(), Error> {
        let numbers = locked(&self.own).clone();
        if numbers.is_empty() {
            return Ok(());
        }
        self.storage.heartbeat(self.id, &numbers)
    }

    /// How often to beat; `None` when the store needs no heartbeat (in memory).
    pub fn every(&self) -> Option<Duration> {
        self.storage.heartbeat_interval()
    }
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Study {
    /// A new in-memory study whose strategy `factory` makes with `settings`. Refuses, before
    /// any trial, a strategy that lacks a capability the study needs.
    pub fn new(
        config: StudyConfig,
        factory: &dyn StrategyFactory,
        settings: &Settings,
    ) -> Result<Self, Error> {
        Study::open(config, factory, settings, Arc::new(MemoryStorage::new()))
    }

    /// Opens the study `config.name` in `storage`, creating it or continuing it: the strategy
    /// sees every trial already stored. A stored study with another space or directions is
    /// refused, saying what changed. The study runs with the seed the store keeps for it (see
    /// [`StudyConfig::seed_proposed`]), which its [`Study::config`] then holds.
    pub fn open(
        config: StudyConfig,
        factory: &dyn StrategyFactory,
        settings: &Settings,
        storage: Arc<dyn Storage>,
    ) -> Result<Self, Error> {
        if config.directions.is_empty() {
            return Err(Error::Objectives(
                "a study needs at least one objective direction".into(),
            ));
        }
        let info = factory.info();
        let needs = Requirements::of(&config.space, &config.directions, config.parallelism);
        let missing = info.capabilities.missing(&needs);
        if !missing.is_empty() {
            return Err(Error::MissingCapability {
                strategy: info.name,
                missing,
            });
        }
        let setup = |seed| StudySetup {
            space: &config.space,
            directions: &config.directions,
            seed,
            settings,
        };
        // Made before the store is touched, so that bad settings leave no study behind.
        let mut strategy = factory.create(&setup(config.seed))?;
        let mut record = StudyRecord::new(
            config.name.clone(),
            config.space.clone(),
            config.directions.clone(),
        );
        record.retries = config.retries;
        record.grace_s = config.grace.as_secs_f64();
        record.definition = config.definition.clone();
        record.define_by_run = config.define_by_run;
        record.seed = Some(config.seed);
        record.seed_proposed = config.seed_proposed;
        let (id, stored) = storage.open(&record)?;
        // A proposed seed loses to the stored one: made again with the seed every worker uses.
        if let Some(seed) = stored.seed.filter(|&s| s != config.seed) {
            strategy = factory.create(&setup(seed))?;
        }
        let mut config = config;
        config.seed = stored.seed.unwrap_or(config.seed);
        config.seed_proposed = false;
        let mut study = Study {
            config,
            strategy_name: info.name,
            strategy,
            storage,
            id,
            finished: Vec::new(),
            best: Vec::new(),
            cursor: 0,
            running: Vec::new(),
            own: Arc::new(Mutex::new(Vec::new())),
            reserved_elsewhere: 0,
            pruner: None,
            decided: Vec::new(),
        };
        study.sync()?;
        Ok(study)
    }

    /// Gives the study a pruner that `factory` makes with `settings`: from now on it decides,
    /// after each step a trial reports, whether the trial stops. A study with several
    /// objectives is refused unless the pruner can judge them.
    pub fn set_pruner(
        &mut self,
        factory: &dyn PrunerFactory,
        settings: &Settings,
    ) -> Result<(), Error> {
        let info = factory.info();
        if self.config.directions.len() > 1 && !info.capabilities.multi_objective {
            return Err(Error::settings(
                &info.name,
                format!(
                    "this pruner judges one objective and the study has {}; use a pruner that supports several objectives, or none",
                    self.config.directions.len()
                ),
            ));
        }
        let pruner = factory.create(&PrunerSetup {
            directions: &self.config.directions,
            seed: self.config.seed,
            settings,
        })?;
        self.pruner = Some((info.name, pruner));
        self.decided.clear();
        Ok(())
    }

    /// The resource trial `number` is started with, as its pruner says (see
    /// [`Pruner::resource`]); `None` without a pruner or when the pruner leaves it to the
    /// objective.
    pub fn resource(&self, number: u64) -> Option<u64> {
        self.pruner.as_ref().and_then(|(_, p)| p.resource(number))
    }

    /// The name of its pruner, if it has one.
    pub fn pruner_name(&self) -> Option<&str> {
        self.pruner.as_ref().map(|(name, _)| name.as_str())
    }

    /// The study's definition.
    pub fn config(&self) -> &StudyConfig {
        &self.config
    }

    /// The name of its strategy.
    pub fn strategy_name(&self) -> &str {
        &self.strategy_name
    }

    /// The store the study lives in.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// The study's key in its store.
    pub fn id(&self) -> StudyId {
        self.id
    }

    /// Finished trials, in the order they finished.
    pub fn finished(&self) -> &[Trial] {
        &self.finished
    }

    /// Trials that are running, this study's and other workers', once they have their
    /// parameters (a trial whose number is reserved and whose strategy is still being asked is
    /// not listed).
    pub fn running(&self) -> &[Trial] {
        &self.running
    }

    /// How many trials are started and not finished, in every worker: [`Study::running`] and
    /// the other workers' trials still waiting for their parameters.
    pub fn unfinished(&self) -> usize {
        self.running.len() + self.reserved_elsewhere
    }

    /// Every trial, by number.
    pub fn trials(&self) -> Vec<&Trial> {
        let mut all: Vec<&Trial> = self.finished.iter().chain(&self.running).collect();
        all.sort_by_key(|t| t.number);
        all
    }

    /// Brings the mirror up to date: trials other workers finished or started, and trials
    /// the store failed for a lost heartbeat.
    pub fn sync(&mut self) -> Result<(), Error> {
        self.storage.reap(self.id)?;
        let (new, cursor) = self.storage.finished_since(self.id, self.cursor)?;
        self.cursor = cursor;
        for trial in new {
            locked(&self.own).retain(|&n| n != trial.number);
            self.finished.push(trial);
            self.note_best(self.finished.len() - 1);
        }
        let own = locked(&self.own).clone();
        let mine: Vec<Trial> = self
            .running
            .drain(..)
            .filter(|t| own.contains(&t.number))
            .collect();
        let asked = self.config.space.is_empty();
        let (others, reserved): (Vec<Trial>, Vec<Trial>) = self
            .storage
            .running(self.id)?
            .into_iter()
            .filter(|t| !own.contains(&t.number))
            .partition(|t| asked || !t.params.is_empty());
        self.reserved_elsewhere = reserved.len();
        self.running = mine;
        self.running.extend(others);
        Ok(())
    }

    /// Queues a trial with fixed parameters (a warm start): it runs before the strategy's own
    /// suggestions. Parameters outside the space are refused.
    pub fn enqueue(&mut self, params: &Params) -> Result<(), Error> {
        self.config.space.validate(params)?;
        self.storage.enqueue(self.id, params)
    }

    /// Asks for the next trial (a queued one first, else the strategy's suggestion) and marks it
    /// running. A strategy that cannot suggest (an error, or a suggestion outside the space)
    /// fails the trial it was asked for, which the study keeps, and its error is returned.
    pub fn ask(&mut self) -> Result<Trial, Error> {
        self.ask_within(None)?
            .ok_or_else(|| Error::Storage("the store refused to start a trial".into()))
    }

    /// [`Study::ask`], unless the study already counts `limit` trials (counting every worker's;
    /// see [`Budget::trials`]).
    pub fn ask_within(&mut self, limit: Option<u64>) -> Result<Option<Trial>, Error> {
        match self.next_trial(limit)? {
            None => Ok(None),
            Some(Asked::Run(trial)) => Ok(Some(trial)),
            Some(Asked::Failed(_, e)) => Err(e),
        }
    }

    /// The next trial: a queued one, else a number reserved in the store and the strategy's
    /// suggestion for exactly that number. `Err` is the store's failure, or
    /// [`Error::Exhausted`] (the reserved number is then released).
    pub(crate) fn next_trial(&mut self, limit: Option<u64>) -> Result<Option<Asked>, Error> {
        loop {
            self.sync()?;
            if let Some(trial) = self.storage.claim_queued(self.id, limit)? {
                return Ok(Some(Asked::Run(self.started(trial))));
            }
            let Some(mut trial) = self.storage.reserve(self.id, limit)? else {
                return Ok(None);
            };
            let number = trial.number;
            // Beating from now on: a worker lost before the parameters are stored is reaped.
            locked(&self.own).push(number);
            let ctx = context(&self.config, &self.finished, &self.running, number);
            let suggested = self.strategy.ask(&ctx).and_then(|params| {
                self.config.space.validate(&params).map_err(|e| {
                    Error::Strategy(format!(
                        "strategy `{}` suggested parameters outside the space: {e}",
                        self.strategy_name
                    ))
                })?;
                Ok(params)
            });
            match suggested {
                Ok(params) => match self.storage.set_params(self.id, number, &params) {
                    Ok(()) => {
                        trial.params = params;
                        self.running.push(trial.clone());
                        return Ok(Some(Asked::Run(trial)));
                    }
                    Err(e) => {
                        // Not beating it any more: the store fails it once the grace is over.
                        locked(&self.own).retain(|&n| n != number);
                        match e {
                            // Failed meanwhile for a lost heartbeat (a stalled worker): ask again.
                            Error::NotRunning(_) => continue,
                            e => return Err(e),
                        }
                    }
                },
                Err(e @ Error::Exhausted(_)) => {
                    locked(&self.own).retain(|&n| n != number);
                    self.storage.release(self.id, number)?;
                    return Err(e);
                }
                Err(e) => {
                    // The strategy is not told of a trial it never suggested.
                    trial.state = TrialState::Failed;
                    trial.message = Some(e.to_string());
                    trial.duration_s = Some(0.0);
                    let at = match self.record(trial) {
                        Ok(at) => at,
                        Err(Error::NotRunning(_)) => continue,
                        Err(e) => return Err(e),
                    };
                    return Ok(Some(Asked::Failed(self.finished[at].clone(), e)));
                }
            }
        }
    }

    fn started(&mut self, trial: Trial) -> Trial {
        locked(&self.own).push(trial.number);
        self.running.push(trial.clone());
        trial
    }

    /// Marks this study's running trials as alive in the store.
    pub fn heartbeat(&self) -> Result<(), Error> {
        self.pulse().beat()
    }

    /// The heartbeat of this study's running trials, to run from another thread.
    pub fn pulse(&self) -> Pulse {
        Pulse {
            storage: Arc::clone(&self.storage),
            id: self.id,
            own: Arc::clone(&self.own),
        }
    }

    fn is_own(&self, number: u64) -> bool {
        locked(&self.own).contains(&number)
    }

    /// Records an intermediate value of a running trial.
    pub fn report(&mut self, number: u64, step: u64, value: f64) -> Result<(), Error> {
        let trial = self
            .running
            .iter_mut()
            .find(|t| t.number == number)
            .filter(|_| locked(&self.own).contains(&number))
            .ok_or(Error::NotRunning(number))?;
        trial.intermediate.push((step, value));
        self.storage.report(self.id, number, step, value)
    }

    /// Records the intermediate values of a running trial at `step`, one per objective (see
    /// [`TrialContext::report_values`](crate::TrialContext::report_values)). One value is
    /// [`Study::report`]; any other count than the study's objectives is refused.
    pub fn report_values(&mut self, number: u64, step: u64, values: &[f64]) -> Result<(), Error> {
        let objectives = self.config.directions.len();
        match values {
            [v] => return self.report(number, step, *v),
            _ if values.len() != objectives => {
                return Err(Error::Objectives(format!(
                    "trial {number} reported {} intermediate values at step {step}, but the study has {objectives} objective(s); report one value, or one per objective",
                    values.len()
                )));
            }
            _ => {}
        }
        let trial = self
            .running
            .iter_mut()
            .find(|t| t.number == number)
            .filter(|_| locked(&self.own).contains(&number))
            .ok_or(Error::NotRunning(number))?;
        trial.push_intermediate(step, values);
        self.storage.report_values(self.id, number, step, values)
    }

    /// Asks the pruner whether a running trial of this study's should stop now; `false` without
    /// a pruner. The pruner is asked once per reported step, on the store's latest view (other
    /// workers' trials included); asked again before the next report, the study repeats its
    /// decision.
    pub fn should_prune(&mut self, number: u64) -> Result<bool, Error> {
        if self.pruner.is_none() {
            return Ok(false);
        }
        let reported = self
            .running
            .iter()
            .find(|t| t.number == number)
            .filter(|_| self.is_own(number))
            .ok_or(Error::NotRunning(number))?
            .intermediate
            .len();
        if let Some(&(_, _, prune)) = self
            .decided
            .iter()
            .find(|&&(n, seen, _)| n == number && seen == reported)
        {
            return Ok(prune);
        }
        if reported == 0 {
            return Ok(false);
        }
        let previous = self
            .decided
            .iter()
            .find(|&&(n, _, _)| n == number)
            .map_or(0, |&(_, seen, _)| seen);
        self.sync()?;
        let Some((_, pruner)) = self.pruner.as_mut() else {
            return Ok(false);
        };
        let trial = self
            .running
            .iter()
            .find(|t| t.number == number)
            .ok_or(Error::NotRunning(number))?;
        let prune = pruner.prune(&PruneContext {
            directions: &self.config.directions,
            seed: self.config.seed,
            trials: &self.finished,
            running: &self.running,
            trial,
            previous,
        })?;
        self.decided.retain(|&(n, _, _)| n != number);
        self.decided.push((number, reported, prune));
        Ok(prune)
    }

    /// Finishes a running trial with `outcome`. Values that are NaN or infinite, or of the wrong
    /// count, fail the trial. The trial is stored before the strategy hears of it, so an error
    /// from the strategy (returned here) never loses the result.
    pub fn tell(&mut self, number: u64, outcome: TrialOutcome) -> Result<&Trial, Error> {
        let i = self
            .running
            .iter()
            .position(|t| t.number == number)
            .filter(|_| self.is_own(number))
            .ok_or(Error::NotRunning(number))?;
        let mut trial = self.running[i].clone();
        let n = self.config.directions.len();
        match outcome {
            Ok(eval) if eval.values.len() != n => {
                trial.state = TrialState::Failed;
                trial.message = Some(format!(
                    "the objective returned {} value(s) but the study has {n} objective(s)",
                    eval.values.len()
                ));
            }
            Ok(eval) if eval.values.iter().any(|v| !v.is_finite()) => {
                trial.state = TrialState::Failed;
                trial.message = Some(format!(
                    "the objective returned a value that is not a finite number: {:?}",
                    eval.values
                ));
                trial.user_attrs = eval.attrs;
            }
            Ok(eval) => {
                trial.state = TrialState::Complete;
                trial.values = eval.values;
                trial.user_attrs = eval.attrs;
            }
            Err(TrialError::Pruned) => trial.state = TrialState::Pruned,
            Err(TrialError::Failed(message)) => {
                trial.state = TrialState::Failed;
                trial.message = Some(message);
            }
        }
        trial.duration_s = Some(now_ms().saturating_sub(trial.started_ms) as f64 / 1000.0);
        let at = self.record(trial)?;
        let ctx = context(&self.config, &self.finished, &self.running, number);
        self.strategy.tell(&ctx, &self.finished[at])?;
        Ok(&self.finished[at])
    }

    /// Stores a finished trial of this study's and brings the mirror up to date; returns the
    /// trial's position in the finish order.
    fn record(&mut self, trial: Trial) -> Result<usize, Error> {
        let number = trial.number;
        let stored = self.storage.finish(self.id, &trial);
        // Stored or refused (the store failed it for a lost heartbeat, or it finished
        // elsewhere), it is no longer this study's to run.
        locked(&self.own).retain(|&n| n != number);
        self.running.retain(|t| t.number != number);
        self.decided.retain(|&(n, _, _)| n != number);
        stored?;
        self.sync()?;
        self.finished
            .iter()
            .rposition(|t| t.number == number)
            .ok_or(Error::NotRunning(number))
    }

    /// The best complete trial of a single-objective study (the earliest among ties). `None`
    /// before any trial completes, and for several objectives: see [`Study::best_trials`].
    pub fn best_trial(&self) -> Option<&Trial> {
        if self.config.directions.len() != 1 {
            return None;
        }
        self.best.first().map(|&i| &self.finished[i])
    }

    /// Updates the best trials with the finished trial at `at`. One objective: it becomes the
    /// best if it is complete and strictly better (of equal values, the one that finished first
    /// stays). Several: it joins the front unless a member dominates it, and displaces the
    /// members it dominates; by transitivity no trial outside the front can dominate it.
    fn note_best(&mut self, at: usize) {
        let t = &self.finished[at];
        if t.state != TrialState::Complete {
            return;
        }
        let directions = &self.config.directions;
        if let [direction] = directions[..] {
            let better = self
                .best
                .first()
                .is_none_or(|&b| direction.better(t.values[0], self.finished[b].values[0]));
            if better {
                self.best = vec![at];
            }
            return;
        }
        let finished = &self.finished;
        if self
            .best
            .iter()
            .any(|&b| dominates(&finished[b].values, &t.values, directions))
        {
            return;
        }
        self.best
            .retain(|&b| !dominates(&t.values, &finished[b].values, directions));
        self.best.push(at);
    }

    /// The complete trials on the Pareto front, by number. For one objective: the best trial.
    pub fn best_trials(&self) -> Vec<&Trial> {
        let mut best: Vec<&Trial> = self.best.iter().map(|&i| &self.finished[i]).collect();
        best.sort_by_key(|t| t.number);
        best
    }

    /// Runs trials until the budget is spent or the strategy has nothing left to suggest, one
    /// at a time, on this thread. A failing or panicking objective, or a strategy that fails to
    /// suggest, fails that trial and the study goes on. See [`Study::optimize_with`] for
    /// parallel trials and devices.
    pub fn optimize(
        &mut self,
        objective: &dyn Objective,
        budget: Budget,
        observer: &mut (dyn Observer + Send),
    ) -> Result<(), Error> {
        crate::executor::run(self, objective, budget, &RunOptions::default(), observer)
    }

    /// Runs trials like [`Study::optimize`], up to `config.parallelism` at once on worker
    /// threads, handing each trial the devices it needs from `options`.
    pub fn optimize_with(
        &mut self,
        objective: &dyn Objective,
        budget: Budget,
        options: &RunOptions,
        observer: &mut (dyn Observer + Send),
    ) -> Result<(), Error> {
        crate::executor::run(self, objective, budget, options, observer)
    }

    /// [`Study::optimize`] with a closure as the objective and no observer.
    pub fn optimize_fn<F, E>(&mut self, budget: Budget, f: F) -> Result<(), Error>
    where
        F: Fn(&Params, &mut dyn TrialContext) -> Result<E, TrialError> + Send + Sync,
        E: Into<crate::objective::Evaluation>,
    {
        self.optimize(&FnObjective(f), budget, &mut ())
    }
}

/// The strategy's view of the study; a free function so that it borrows only the fields it
/// reads, leaving the strategy free to be borrowed mutably.
fn context<'a>(
    config: &'a StudyConfig,
    finished: &'a [Trial],
    running: &'a [Trial],
    number: u64,
) -> AskContext<'a> {
    AskContext {
        space: &config.space,
        directions: &config.directions,
        seed: config.seed,
        trials: finished,
        running,
        number,
    }
}

/// The message of a caught panic.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_owned()
    }
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::Capabilities;
    use crate::objective::Evaluation;
    use crate::space::{Domain, Param};
    use crate::strategy::PluginInfo;

    /// Suggests x = 0.1 * number, or something outside the space, or nothing, as told.
    struct Scripted {
        caps: Capabilities,
        limit: u64,
        out_of_space_at: Option<u64>,
    }

    impl StrategyFactory for Scripted {
        fn info(&self) -> PluginInfo {
            PluginInfo::new("scripted", "0", "", self.caps)
        }
        fn create(&self, _: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
            Ok(Box::new(Scripted { ..*self }))
        }
    }

    impl Strategy for Scripted {
        fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
            if ctx.number >= self.limit {
                return Err(Error::Exhausted("done".into()));
            }
            let x = if Some(ctx.number) == self.out_of_space_at {
                5.0
            } else {
                0.1 * ctx.number as f64
            };
            Ok([("x".to_owned(), crate::Value::Float(x))]
                .into_iter()
                .collect())
        }
    }

    fn scripted() -> Scripted {
        Scripted {
            caps: Capabilities::default(),
            limit: u64::MAX,
            out_of_space_at: None,
        }
    }

    fn study(factory: &Scripted, directions: Vec<Direction>) -> Result<Study, Error> {
        let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))])?;
        Study::new(
            StudyConfig::new("t", space, directions),
            factory,
            &Settings::default(),
        )
    }

    /// Makes scripted strategies, noting the seed of each.
    #[derive(Default)]
    struct SeedsSeen(Mutex<Vec<u64>>);

    impl StrategyFactory for SeedsSeen {
        fn info(&self) -> PluginInfo {
            scripted().info()
        }
        fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
            locked(&self.0).push(setup.seed);
            Ok(Box::new(scripted()))
        }
    }

    #[test]
    fn a_proposed_seed_gives_way_to_the_stored_one_which_the_strategy_gets() {
        let store: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))]).unwrap();
        let config = StudyConfig::new("t", space, vec![Direction::Minimize]);
        let seen = SeedsSeen::default();
        let open = |c: StudyConfig| {
            Study::open(c, &seen, &Settings::default(), store.clone())
                .unwrap()
                .config()
                .seed
        };
        assert_eq!(open(config.clone().proposed_seed(1)), 1, "a new study");
        assert_eq!(open(config.clone().proposed_seed(2)), 1, "the stored seed");
        assert_eq!(
            *locked(&seen.0),
            [1, 2, 1],
            "made with its own seed to check it, then with the stored one"
        );
        assert_eq!(open(config.clone().seed(3)), 3, "a chosen seed replaces it");
        assert_eq!(open(config.proposed_seed(4)), 3);
    }

    #[test]
    fn an_incapable_strategy_is_refused_naming_what_it_lacks() {
        let err = study(&scripted(), vec![Direction::Minimize, Direction::Maximize])
            .err()
            .unwrap();
        assert_eq!(
            err,
            Error::MissingCapability {
                strategy: "scripted".into(),
                missing: vec!["several objectives"]
            }
        );
        assert!(
            err.to_string()
                .contains("does not support several objectives")
        );
        assert!(study(&scripted(), vec![]).is_err());
    }

    #[test]
    fn the_pareto_front_kept_as_trials_arrive_is_the_front_of_all_complete_trials() {
        use rand::{Rng, SeedableRng};
        let caps = Capabilities {
            multi_objective: true,
            ..Capabilities::default()
        };
        let factory = Scripted { caps, ..scripted() };
        let directions = vec![Direction::Minimize, Direction::Maximize];
        // Wide enough for the scripted x = 0.1 · number of 400 trials.
        let space = Space::new(vec![Param::new("x", Domain::float(0.0, 100.0))]).unwrap();
        let config = StudyConfig::new("t", space, directions.clone());
        let mut s = Study::new(config, &factory, &Settings::default()).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        // Coarse values, so that ties and duplicates of front points occur; every 7th fails.
        let values: Vec<[f64; 2]> = (0..400)
            .map(|_| {
                [
                    rng.random_range(0..20) as f64,
                    rng.random_range(0..20) as f64,
                ]
            })
            .collect();
        let mut fronts_checked = 0;
        for (i, v) in values.iter().enumerate() {
            let outcome: TrialOutcome = if i % 7 == 6 {
                Err(TrialError::Failed("deliberate".into()))
            } else {
                Ok(Evaluation::from(v.to_vec()))
            };
            let number = s.ask().unwrap().number;
            s.tell(number, outcome).unwrap();
            if i % 50 == 49 || i < 10 {
                let complete: Vec<&Trial> = s
                    .finished()
                    .iter()
                    .filter(|t| t.state == TrialState::Complete)
                    .collect();
                let points: Vec<&[f64]> = complete.iter().map(|t| t.values.as_slice()).collect();
                let scanned: Vec<u64> = crate::pareto_front(&points, &directions)
                    .into_iter()
                    .map(|k| complete[k].number)
                    .collect();
                let kept: Vec<u64> = s.best_trials().iter().map(|t| t.number).collect();
                assert_eq!(kept, scanned, "after {} trials", i + 1);
                fronts_checked += 1;
            }
        }
        assert_eq!(fronts_checked, 18);
        assert!(s.best_trials().len() > 1);
    }

    #[test]
    fn nan_wrong_counts_and_panics_fail_their_trial_and_the_study_goes_on() {
        let mut s = study(&scripted(), vec![Direction::Minimize]).unwrap();
        s.optimize_fn(Budget::trials(5), |p, ctx| match ctx.number() {
            0 => Ok(Evaluation::from(f64::NAN)),
            1 => Ok(Evaluation::from(f64::INFINITY)),
            2 => Ok(Evaluation::from(vec![1.0, 2.0])),
            3 => panic!("boom at {}", p["x"]),
            _ => Ok(Evaluation::from(0.5)),
        })
        .unwrap();
        let states: Vec<TrialState> = s.finished().iter().map(|t| t.state).collect();
        use TrialState::*;
        assert_eq!(states, [Failed, Failed, Failed, Failed, Complete]);
        let msg = |i: usize| s.finished()[i].message.clone().unwrap();
        assert!(msg(0).contains("not a finite number"));
        assert!(msg(2).contains("returned 2 value(s) but the study has 1"));
        assert_eq!(
            msg(3),
            "the objective panicked: boom at 0.30000000000000004"
        );
        assert_eq!(s.best_trial().unwrap().number, 4);
    }

    #[test]
    fn a_suggestion_outside_the_space_fails_that_trial_only() {
        let f = Scripted {
            out_of_space_at: Some(1),
            ..scripted()
        };
        let mut s = study(&f, vec![Direction::Minimize]).unwrap();
        s.optimize_fn(Budget::trials(3), |p, _| Ok(p["x"].as_f64().unwrap_or(9.0)))
            .unwrap();
        assert_eq!(s.finished().len(), 3);
        let t = &s.finished()[1];
        assert_eq!(t.state, TrialState::Failed);
        assert!(
            t.message.as_deref().unwrap().contains("outside the space"),
            "{t:?}"
        );
        assert_eq!(s.finished()[2].state, TrialState::Complete);
    }

    #[test]
    fn an_exhausted_strategy_ends_the_study_early() {
        let f = Scripted {
            limit: 4,
            ..scripted()
        };
        let mut s = study(&f, vec![Direction::Maximize]).unwrap();
        s.optimize_fn(Budget::trials(100), |p, _| {
            Ok(p["x"].as_f64().unwrap_or(0.0))
        })
        .unwrap();
        assert_eq!(s.finished().len(), 4);
        assert_eq!(
            s.best_trial().unwrap().number,
            3,
            "maximize picks the largest x"
        );
    }

    #[test]
    fn ask_tell_by_hand_and_its_errors() {
        let mut s = study(&scripted(), vec![Direction::Minimize]).unwrap();
        let a = s.ask().unwrap();
        let b = s.ask().unwrap();
        assert_eq!((a.number, b.number), (0, 1));
        assert_eq!(s.running().len(), 2);
        s.report(b.number, 1, 0.7).unwrap();
        s.tell(b.number, Err(TrialError::Pruned)).unwrap();
        s.tell(a.number, Ok(0.2.into())).unwrap();
        assert_eq!(
            s.tell(a.number, Ok(0.2.into())).err(),
            Some(Error::NotRunning(0))
        );
        assert_eq!(s.finished()[0].intermediate, vec![(1, 0.7)]);
        assert_eq!(
            s.trials().iter().map(|t| t.number).collect::<Vec<_>>(),
            [0, 1]
        );
        assert_eq!(
            s.optimize_fn(Budget::default(), |_, _| Ok(0.0)).err(),
            Some(Error::UnboundedBudget)
        );
    }

    /// Prunes a trial whose last value is above every finished trial's best, counting its calls.
    struct AboveBest(Arc<Mutex<u32>>);

    impl crate::PrunerFactory for AboveBest {
        fn info(&self) -> PluginInfo {
            PluginInfo::new("above-best", "0", "", Capabilities::default())
        }
        fn create(&self, _: &crate::PrunerSetup<'_>) -> Result<Box<dyn Pruner>, Error> {
            Ok(Box::new(AboveBest(self.0.clone())))
        }
    }

    impl Pruner for AboveBest {
        fn prune(&mut self, ctx: &PruneContext<'_>) -> Result<bool, Error> {
            *locked(&self.0) += 1;
            let best = ctx
                .trials
                .iter()
                .filter_map(|t| t.last_intermediate())
                .map(|(_, v)| v)
                .fold(f64::INFINITY, f64::min);
            Ok(ctx.trial.last_intermediate().is_some_and(|(_, v)| v > best))
        }
        fn resource(&self, _number: u64) -> Option<u64> {
            Some(3)
        }
    }

    #[test]
    fn the_pruner_decides_once_per_reported_step_and_pruned_trials_keep_their_values() {
        let calls = Arc::new(Mutex::new(0));
        let mut s = study(&scripted(), vec![Direction::Minimize]).unwrap();
        assert!(!s.should_prune(0).is_ok_and(|p| p), "no trial 0 yet");
        s.set_pruner(&AboveBest(calls.clone()), &Settings::default())
            .unwrap();
        assert_eq!(s.pruner_name(), Some("above-best"));
        // Trial k reports k/10 at steps 1..=3 (the resource it is started with), polling twice
        // after each report.
        s.optimize_fn(Budget::trials(3), |p, ctx| {
            let x = p["x"].as_f64().unwrap_or(0.0);
            for step in 1..=ctx.resource().unwrap_or(0) {
                ctx.report(step, x);
                if ctx.should_prune() | ctx.should_prune() {
                    return Err(TrialError::Pruned);
                }
            }
            Ok(x)
        })
        .unwrap();
        let states: Vec<TrialState> = s.finished().iter().map(|t| t.state).collect();
        use TrialState::*;
        assert_eq!(states, [Complete, Pruned, Pruned]);
        assert_eq!(s.finished()[1].intermediate, vec![(1, 0.1)]);
        // 3 decisions for trial 0, 1 each for the pruned ones: the repeated polls are free.
        assert_eq!(*locked(&calls), 5);
    }

    #[test]
    fn a_single_objective_pruner_is_refused_for_several_objectives() {
        let caps = Capabilities {
            multi_objective: true,
            ..Capabilities::default()
        };
        let f = Scripted { caps, ..scripted() };
        let mut s = study(&f, vec![Direction::Minimize, Direction::Minimize]).unwrap();
        let err = s
            .set_pruner(&AboveBest(Arc::default()), &Settings::default())
            .unwrap_err();
        assert!(err.to_string().contains("judges one objective"), "{err}");
    }

    #[test]
    fn another_worker_s_trial_still_being_asked_is_unfinished_but_not_shown_to_the_strategy() {
        let store: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))]).unwrap();
        let config = StudyConfig::new("t", space, vec![Direction::Minimize]);
        let mut s = Study::open(
            config.clone(),
            &scripted(),
            &Settings::default(),
            store.clone(),
        )
        .unwrap();
        // Another worker has reserved a number and not yet stored its parameters.
        let reserved = store.reserve(s.id(), None).unwrap().unwrap();
        s.sync().unwrap();
        assert!(s.running().is_empty());
        assert_eq!(s.unfinished(), 1);
        let mine = s.ask().unwrap();
        assert_eq!(
            (mine.number, mine.params["x"].as_f64()),
            (1, Some(0.1)),
            "the next number, and the strategy's point for it"
        );
        assert_eq!((s.running().len(), s.unfinished()), (1, 2));
        store
            .set_params(s.id(), reserved.number, &mine.params)
            .unwrap();
        s.sync().unwrap();
        assert_eq!((s.running().len(), s.unfinished()), (2, 2));
    }
}
