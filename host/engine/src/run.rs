//! Turning a study file into a running study: look up the strategy and objective, settle the
//! space and directions, check capabilities, open the study in its store (creating it, or
//! continuing it with every earlier trial), run, and report.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use hyperplug_core::{
    Budget, Direction, MemoryStorage, Objective, Observer, RunOptions, Storage, Study, StudyConfig,
    StudyRecord, Trial, TrialState,
};
use hyperplug_schema::{StudyData, StudyInfo, TrialData};
use hyperplug_storage::{DEFAULT_URL, Location, Mode, Store};
use serde::{Deserialize, Serialize};

use crate::config::StudyFile;
use crate::lease::{AskTellDefinition, checked_pruner};
use crate::registry::Registry;
use crate::resources::Machine;

/// A study ready to run: the study, its objective and its budget.
pub struct Prepared {
    /// The study, its strategy created and checked, holding every trial already stored.
    pub study: Study,
    /// The objective, created with its settings.
    pub objective: Box<dyn Objective>,
    /// When to stop. `trials` counts every trial of the study, earlier runs' included.
    pub budget: Budget,
    /// The objective's name.
    pub objective_name: String,
    /// Devices to lend to trials.
    pub options: RunOptions,
    /// Where the study is stored, for people.
    pub location: String,
    /// The persistent store, unless the study lives in memory.
    pub store: Option<Arc<dyn Store>>,
    /// Trials the study held when it was opened that count toward its budget (retries do not).
    pub existing: u64,
    /// Stop after this many failed trials in a row (0: never).
    pub max_consecutive_failures: u32,
    /// Trials this process started, retries included (counted by [`run`]).
    pub started: u64,
}

/// What a stored study keeps for workers that join it: the study file itself, and what the run
/// settled that the file may leave open.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    /// The study file's path as given, for messages.
    pub file: String,
    /// The study file's text.
    pub study_file: String,
    /// The seed, in studies stored before the record kept it ([`StudyRecord::seed`], see
    /// [`stored_seed`]). New studies leave it out: a definition is written before the store
    /// settles the seed, so it could name another seed than the one stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The study's trial budget, after `--trials`.
    pub trials: Option<u64>,
    /// The strategy's name, for listings.
    pub strategy: String,
    /// The objective's name, for listings.
    pub objective: String,
    /// The pruner's name, for listings, when the study has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pruner: Option<String>,
}

impl Definition {
    /// The definition a stored study carries, if `hyperplug` stored one.
    pub fn of(record: &StudyRecord) -> Option<Definition> {
        serde_json::from_value(record.definition.clone()).ok()
    }

    /// The stored definition as JSON to show, with any password the stored study file holds
    /// left out (studies stored before passwords were left out of them hold one).
    pub fn shown(record: &StudyRecord) -> serde_json::Value {
        let Some(mut definition) = Definition::of(record) else {
            return record.definition.clone();
        };
        if let Ok(file) = StudyFile::parse(Path::new(&definition.file), &definition.study_file) {
            definition.study_file = file.stored_text();
        }
        serde_json::to_value(&definition).unwrap_or_else(|_| record.definition.clone())
    }

    /// The study file it holds, with the budget it settled, stored in `storage`. Its seed is
    /// the file's own, if it has one: without, [`prepare`] runs with the stored seed.
    pub fn study_file(&self, storage: &str) -> Result<StudyFile> {
        let mut file = StudyFile::parse(Path::new(&self.file), &self.study_file)
            .context("the study file stored with the study cannot be read by this hyperplug")?;
        file.budget.trials = self.trials;
        file.storage = Some(storage.to_owned());
        Ok(file)
    }
}

/// Builds the study a file describes, in the file's store (the default
/// [`DEFAULT_URL`] when it names none), refusing before any trial whatever cannot work: an
/// unknown strategy or objective, bad settings, a space given twice or not at all, directions
/// that do not match the objective, GPUs the machine cannot give, a strategy lacking a
/// capability the study needs, a stored study of that name with another space or directions.
/// Trials get the GPUs the file's `[resources]` asks for, or else those the objective declares
/// (none, with a warning, on a machine without GPUs: see [`Machine::plan`]).
pub fn prepare(file: &StudyFile, registry: &Registry, machine: &Machine) -> Result<Prepared> {
    let strategy = registry
        .find_strategy(&file.strategy.name, file.strategy.library.as_deref())
        .map_err(|e| anyhow!(e))?;
    let objective_entry = registry
        .find_objective(&file.objective.name, file.objective.library.as_deref())
        .map_err(|e| anyhow!(e))?;
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
    objective.check_space(&space).with_context(|| {
        format!(
            "objective `{}` cannot take this [space]",
            file.objective.name
        )
    })?;
    let directions = directions(file, &*objective)?;
    // The pruner, checked before the store is touched.
    let pruner = match &file.pruner {
        Some(c) => Some(checked_pruner(c, &directions, 0, registry)?),
        None => None,
    };
    // Explicit `[resources]` keys win over what the objective declares it needs per trial.
    let (parallelism, options) = machine.plan(
        file.parallelism,
        &file.resources,
        objective.resources(),
        &file.objective.name,
    )?;

    // Only now, with everything else checked, touch the store: a mistake leaves no file.
    let url = file.storage.as_deref().unwrap_or(DEFAULT_URL);
    let location = Location::parse(url)?;
    let (storage, store): (Arc<dyn Storage>, Option<Arc<dyn Store>>) = match &location {
        Location::Memory => (Arc::new(MemoryStorage::new()), None),
        persistent => {
            let store = persistent.open_store(Mode::Create)?;
            (store.clone(), Some(store))
        }
    };
    let stored = match &store {
        Some(s) => s.find(&file.name)?,
        None => None,
    };
    // Without a seed in the file, the study runs with the stored one (a resumed study goes on
    // as it started: strategies keyed by seed, a shuffled grid, continue where they were). The
    // seed proposed here is stored only if the study has none yet, inside the store's open, so
    // that workers starting a new study at once all run with the first creator's seed.
    let seed = file.seed.unwrap_or_else(|| {
        stored
            .as_ref()
            .and_then(|s| stored_seed(&s.record))
            .unwrap_or_else(fresh_seed)
    });
    let definition = Definition {
        file: file.path.display().to_string(),
        study_file: file.stored_text(),
        seed: None,
        trials: file.budget.trials,
        strategy: file.strategy.name.clone(),
        objective: file.objective.name.clone(),
        pruner: file.pruner.as_ref().map(|p| p.name.clone()),
    };
    let config = StudyConfig {
        seed,
        seed_proposed: file.seed.is_none(),
        parallelism,
        retries: file.retries,
        grace: file.heartbeat_grace,
        definition: serde_json::to_value(&definition).context("cannot encode the study")?,
        ..StudyConfig::new(file.name.clone(), space, directions)
    };
    let mut study = Study::open(config, &*strategy.factory, &file.strategy.settings, storage)
        .with_context(|| format!("cannot start study `{}` in {location}", file.name))?;
    if file.seed.is_none() && (stored.is_some() || study.config().seed != seed) {
        log::info!("seed {} from the stored study", study.config().seed);
    }
    if let Some((pruner, c)) = pruner.zip(file.pruner.as_ref()) {
        study
            .set_pruner(&*pruner, &c.settings)
            .with_context(|| format!("cannot use pruner `{}`", c.name))?;
    }
    let existing = study
        .storage()
        .counted(study.id())
        .with_context(|| format!("cannot read study `{}`", file.name))?;
    Ok(Prepared {
        study,
        objective,
        budget: file.budget,
        objective_name: file.objective.name.clone(),
        options,
        location: location.to_string(),
        store,
        existing,
        max_consecutive_failures: file.max_consecutive_failures,
        started: 0,
    })
}

/// Joins the study `name` stored at `url` as another worker: rebuilds its strategy and
/// objective from the study file stored with it (from this process's registry, so plugins on
/// this machine's plugin path serve), with the same seed and budget. `parallelism` overrides
/// the study file's.
pub fn join(
    url: &str,
    name: &str,
    registry: &Registry,
    machine: &Machine,
    parallelism: Option<usize>,
) -> Result<Prepared> {
    let store = hyperplug_storage::open_store(url, Mode::Existing)?;
    let summary = find(&*store, name)?;
    let definition = Definition::of(&summary.record).ok_or_else(|| {
        anyhow!(
            "study `{name}` in {} was not created by `hyperplug run` (it stores no study file), so a worker cannot rebuild it",
            store.location()
        )
    })?;
    let mut file = definition.study_file(url)?;
    if let Some(p) = parallelism {
        file.parallelism = p;
    }
    // The stored file may name the study differently only if it was renamed by hand.
    file.name = name.to_owned();
    prepare(&file, registry, machine)
}

/// The seed the workers of a stored study run with: its record's, or, in a study stored before
/// the record kept it, its definition's (`hyperplug run`'s or ask/tell's).
pub fn stored_seed(record: &StudyRecord) -> Option<u64> {
    record.seed.or_else(|| {
        Definition::of(record)
            .and_then(|d| d.seed)
            .or_else(|| AskTellDefinition::of(record).and_then(|d| d.seed))
    })
}

/// The stored study `name`, or an error listing the studies there.
pub fn find(store: &dyn Store, name: &str) -> Result<hyperplug_storage::StudySummary> {
    if let Some(s) = store.find(name)? {
        return Ok(s);
    }
    let names: Vec<String> = store
        .studies()?
        .into_iter()
        .map(|s| s.record.name)
        .collect();
    if names.is_empty() {
        bail!("{} holds no study yet", store.location());
    }
    bail!(
        "no study `{name}` in {}; it holds {}",
        store.location(),
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

impl Prepared {
    /// Why this run will start no trial, when the study already holds its budget (to be said
    /// only if [`run`] then started none: a lost trial found here is retried here).
    pub fn already_done(&self) -> Option<String> {
        let n = self.budget.trials?;
        (self.existing >= n).then(|| {
            format!(
                "study `{}` already has {} trials counting toward its budget of {n} in {}, so no trial was started; raise `trials` in the study file, or pass --trials with more than {}, to run more",
                self.study.config().name,
                self.existing,
                self.location,
                self.existing,
            )
        })
    }

    /// The budget of this run alone: the trials it may add, for progress bars.
    pub fn remaining(&self) -> Budget {
        Budget {
            trials: self.budget.trials.map(|n| n.saturating_sub(self.existing)),
            timeout: self.budget.timeout,
        }
    }
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

impl Prepared {
    /// The study as it stands, in the study schema: what `run --json` prints. Its trials are
    /// the study's mirror of its store (every worker's, the running ones included).
    pub fn study_data(&self) -> StudyData {
        let config = self.study.config();
        let mut info = StudyInfo::new(
            &config.name,
            config.directions.clone(),
            config.space.clone(),
        );
        let metrics = self.objective.metrics();
        if metrics.len() == config.directions.len() {
            info.metric_names = metrics.into_iter().map(|m| m.name).collect();
        }
        info.strategy = Some(self.study.strategy_name().to_owned());
        info.objective = Some(self.objective_name.clone());
        info.seed = Some(config.seed);
        info.trial_budget = self.budget.trials;
        info.storage = Some(self.location.clone());
        let trials = self
            .study
            .trials()
            .into_iter()
            .map(TrialData::from)
            .collect();
        StudyData::new(info, trials)
    }
}

/// How often a worker whose budget is spent looks again at other workers' running trials.
const WAIT_POLL: Duration = Duration::from_millis(500);

/// Why a run stopped before its budget: too many trials failed in a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureStop {
    /// Failed trials in a row.
    pub in_a_row: u32,
    /// The last one's message.
    pub last: String,
}

impl std::fmt::Display for FailureStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "stopped after {} failed trials in a row; the last failed with: {}. Fix what makes trials fail, or raise `max_consecutive_failures` in [study] (0 never stops)",
            self.in_a_row, self.last
        )
    }
}

/// Passes everything to `inner`, and asks the study to stop once `limit` trials of this
/// process have failed in a row (a complete or pruned trial starts the count again).
struct FailureStreak<'o> {
    inner: &'o mut (dyn Observer + Send),
    started: &'o mut u64,
    limit: u32,
    streak: u32,
    last: String,
}

impl FailureStreak<'_> {
    fn stop(&self) -> Option<FailureStop> {
        (self.limit > 0 && self.streak >= self.limit).then(|| FailureStop {
            in_a_row: self.streak,
            last: self.last.clone(),
        })
    }
}

impl Observer for FailureStreak<'_> {
    fn trial_started(&mut self, trial: &Trial) {
        *self.started += 1;
        self.inner.trial_started(trial);
    }

    fn trial_finished(&mut self, study: &Study, trial: &Trial) {
        match trial.state {
            TrialState::Failed => {
                self.streak += 1;
                self.last = trial.message.clone().unwrap_or_else(|| "no message".into());
            }
            TrialState::Complete | TrialState::Pruned => self.streak = 0,
            TrialState::Running => {}
        }
        self.inner.trial_finished(study, trial);
    }

    fn strategy_error(&mut self, error: &hyperplug_core::Error) {
        self.inner.strategy_error(error);
    }

    fn store_error(&mut self, error: &hyperplug_core::Error) {
        self.inner.store_error(error);
    }

    fn stop_requested(&mut self) -> bool {
        self.stop().is_some() || self.inner.stop_requested()
    }

    fn interrupt_requested(&mut self) -> bool {
        self.inner.interrupt_requested()
    }
}

/// Runs a prepared study to its budget, reporting progress through `observer`; returns why it
/// stopped early when trials kept failing (`max_consecutive_failures`).
///
/// With other workers in the study, a budget is spent once the study holds that many trials,
/// some of them still running elsewhere. This run then waits for them: they finish there, or,
/// when their worker stops beating, they fail here and their retries (when the study allows
/// them) run here. So the study is whole when the last worker returns, and no trial is lost
/// with its worker.
pub fn run(
    prepared: &mut Prepared,
    observer: &mut (dyn Observer + Send),
) -> Result<Option<FailureStop>> {
    let Prepared {
        study,
        objective,
        budget,
        options,
        max_consecutive_failures,
        started,
        ..
    } = prepared;
    let mut watch = FailureStreak {
        inner: observer,
        started,
        limit: *max_consecutive_failures,
        streak: 0,
        last: String::new(),
    };
    let observer = &mut watch;
    let start = Instant::now();
    let mut waiting = false;
    loop {
        let left = match budget.timeout {
            Some(t) if start.elapsed() >= t => return Ok(None),
            Some(t) => Some(t - start.elapsed()),
            None => None,
        };
        let this_round = Budget {
            trials: budget.trials,
            timeout: left,
        };
        study
            .optimize_with(&**objective, this_round, options, observer)
            .context("the study stopped")?;
        if observer.stop_requested() {
            return Ok(observer.stop());
        }
        let seen = study.finished().len();
        let reaped = study
            .storage()
            .reap(study.id())
            .context("the study stopped")?;
        study.sync().context("the study stopped")?;
        // A trial that finished since the last ask may have been failed by a reap (another
        // process's, or this study's own in `sync`) that queued its retry: ask once more
        // before leaving, or nobody may be left to run it.
        let news = study.finished().len() > seen;
        if reaped.is_empty() && !news && study.unfinished() == 0 {
            return Ok(None);
        }
        if reaped.is_empty() && study.unfinished() > 0 {
            if !waiting {
                log::info!(
                    "study `{}`: the budget is spent; waiting for {} trial(s) running in other workers",
                    study.config().name,
                    study.unfinished()
                );
                waiting = true;
            }
            std::thread::sleep(WAIT_POLL);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;

    #[derive(Default)]
    struct Seen {
        store_errors: Vec<String>,
    }

    impl Observer for Seen {
        fn store_error(&mut self, error: &hyperplug_core::Error) {
            self.store_errors.push(error.to_string());
        }
    }

    #[test]
    fn the_failure_watch_passes_store_errors_on_and_counts_started_trials() {
        let mut seen = Seen::default();
        let mut started = 0;
        let mut watch = FailureStreak {
            inner: &mut seen,
            started: &mut started,
            limit: 20,
            streak: 0,
            last: String::new(),
        };
        watch.store_error(&hyperplug_core::Error::Storage("table gone".into()));
        watch.trial_started(&Trial::running(0, Default::default(), 0));
        assert_eq!(started, 1);
        assert_eq!(seen.store_errors.len(), 1);
        assert!(seen.store_errors[0].contains("table gone"));
    }

    /// A worker's store that leaves reaping to the other workers (as its own reaps may be
    /// throttled at any moment), and where another process reaps a lost trial just after this
    /// worker found the budget spent: that process queues the retry and goes its way.
    struct OthersReap {
        mine: hyperplug_storage::SqliteStorage,
        other: hyperplug_storage::SqliteStorage,
        lost_at: Instant,
        grace: Duration,
        reaped: std::sync::atomic::AtomicBool,
    }

    impl Storage for OthersReap {
        fn open(&self, r: &StudyRecord) -> Result<(i64, StudyRecord), hyperplug_core::Error> {
            self.mine.open(r)
        }
        fn claim_queued(
            &self,
            id: i64,
            limit: Option<u64>,
        ) -> Result<Option<Trial>, hyperplug_core::Error> {
            self.mine.claim_queued(id, limit)
        }
        fn reserve(
            &self,
            id: i64,
            limit: Option<u64>,
        ) -> Result<Option<Trial>, hyperplug_core::Error> {
            let reserved = self.mine.reserve(id, limit)?;
            let lost = self.lost_at.elapsed() > self.grace * 2;
            if reserved.is_none() && lost && !self.reaped.swap(true, Ordering::SeqCst) {
                assert_eq!(self.other.reap(id)?.len(), 1, "the lost trial is reaped");
            }
            Ok(reserved)
        }
        fn set_params(
            &self,
            id: i64,
            n: u64,
            p: &hyperplug_core::Params,
        ) -> Result<(), hyperplug_core::Error> {
            self.mine.set_params(id, n, p)
        }
        fn release(&self, id: i64, n: u64) -> Result<(), hyperplug_core::Error> {
            self.mine.release(id, n)
        }
        fn counted(&self, id: i64) -> Result<u64, hyperplug_core::Error> {
            self.mine.counted(id)
        }
        fn report(&self, id: i64, n: u64, s: u64, v: f64) -> Result<(), hyperplug_core::Error> {
            self.mine.report(id, n, s, v)
        }
        fn finish(&self, id: i64, t: &Trial) -> Result<(), hyperplug_core::Error> {
            self.mine.finish(id, t)
        }
        fn finished_since(
            &self,
            id: i64,
            cursor: u64,
        ) -> Result<(Vec<Trial>, u64), hyperplug_core::Error> {
            self.mine.finished_since(id, cursor)
        }
        fn running(&self, id: i64) -> Result<Vec<Trial>, hyperplug_core::Error> {
            self.mine.running(id)
        }
        fn enqueue(
            &self,
            id: i64,
            p: &hyperplug_core::Params,
        ) -> Result<(), hyperplug_core::Error> {
            self.mine.enqueue(id, p)
        }
        fn heartbeat(&self, id: i64, numbers: &[u64]) -> Result<(), hyperplug_core::Error> {
            self.mine.heartbeat(id, numbers)
        }
        fn heartbeat_interval(&self) -> Option<Duration> {
            self.mine.heartbeat_interval()
        }
    }

    /// Processes starting one new study at the same moment, none with a seed in its file (the
    /// documented way to add workers): every one runs with the one seed stored, the first
    /// creator's, on SQLite and PostgreSQL.
    #[test]
    fn workers_starting_a_new_study_at_once_run_with_the_one_stored_seed() {
        const WORKERS: usize = 8;
        let dir = tempfile::tempdir().unwrap();
        let sqlite = format!("sqlite://{}", dir.path().join("s.db").display());
        let pg = hyperplug_storage::testing::PgTestSchema::new("seed_race");
        let machine = Machine {
            cpus: 1,
            gpus: Vec::new(),
        };
        for url in [Some(sqlite), pg.as_ref().map(|s| s.url.clone())]
            .into_iter()
            .flatten()
        {
            for round in 0..30 {
                let name = format!("race{round}");
                let text = format!(
                    "[study]\nname = \"{name}\"\nstorage = \"{url}\"\ntrials = 1\n[strategy]\nname = \"random\"\n[objective]\nname = \"branin\"\n"
                );
                let file = StudyFile::parse(Path::new("race.toml"), &text).unwrap();
                let at_once = std::sync::Barrier::new(WORKERS);
                let seeds: Vec<u64> = std::thread::scope(|scope| {
                    let workers: Vec<_> = (0..WORKERS)
                        .map(|_| {
                            let (file, machine, at_once) = (&file, &machine, &at_once);
                            scope.spawn(move || {
                                let registry = crate::Registry::bundled();
                                at_once.wait();
                                prepare(file, &registry, machine)
                                    .unwrap()
                                    .study
                                    .config()
                                    .seed
                            })
                        })
                        .collect();
                    workers.into_iter().map(|w| w.join().unwrap()).collect()
                });
                let store = hyperplug_storage::open_store(&url, Mode::Existing).unwrap();
                let stored = crate::studies::study_info(&*store, &find(&*store, &name).unwrap());
                assert!(
                    seeds.iter().all(|&s| Some(s) == stored.seed),
                    "{url}, round {round}: the workers ran with seeds {seeds:?}, the study stores {:?}",
                    stored.seed
                );
            }
        }
    }

    #[test]
    fn a_worker_waiting_at_the_end_runs_a_retry_another_process_queued() {
        use hyperplug_core::{Domain, FnObjective, Param, Space, Value};
        use hyperplug_storage::SqliteStorage;
        use std::sync::atomic::AtomicBool;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))]).unwrap();
        let grace = Duration::from_millis(200);
        let config = StudyConfig {
            retries: 1,
            grace,
            ..StudyConfig::new("end", space, vec![Direction::Minimize]).seed(1)
        };
        let mut record = StudyRecord::new("end", config.space.clone(), config.directions.clone());
        record.retries = 1;
        record.grace_s = grace.as_secs_f64();
        let mine = SqliteStorage::open(&path, Mode::Create).unwrap();
        let id = mine.open(&record).unwrap().0;
        // A worker that took trial 0 and was lost: it never beats.
        let lost = SqliteStorage::open(&path, Mode::Existing).unwrap();
        lost.open(&record).unwrap();
        let t = lost.reserve(id, Some(2)).unwrap().unwrap();
        let params = [("x".to_owned(), Value::Float(0.25))].into_iter().collect();
        lost.set_params(id, t.number, &params).unwrap();
        let storage = Arc::new(OthersReap {
            mine,
            other: SqliteStorage::open(&path, Mode::Existing).unwrap(),
            lost_at: Instant::now(),
            grace,
            reaped: AtomicBool::new(false),
        });
        let registry = crate::Registry::bundled();
        let strategy = registry.find_strategy("random", None).unwrap();
        let study = Study::open(
            config,
            &*strategy.factory,
            &Default::default(),
            storage.clone(),
        )
        .unwrap();
        let mut prepared = Prepared {
            study,
            objective: Box::new(FnObjective(
                |p: &hyperplug_core::Params, _: &mut dyn hyperplug_core::TrialContext| {
                    Ok::<f64, hyperplug_core::TrialError>(p["x"].as_f64().unwrap_or(1.0))
                },
            )),
            budget: Budget::trials(2),
            objective_name: "echo".into(),
            options: RunOptions::default(),
            location: "test".into(),
            store: None,
            existing: 1,
            max_consecutive_failures: 0,
            started: 0,
        };
        assert_eq!(run(&mut prepared, &mut ()).unwrap(), None);
        assert!(
            storage.reaped.load(Ordering::SeqCst),
            "the other process reaped"
        );
        let mut all = Vec::new();
        Store::each_trial(&storage.mine, id, &mut |t| {
            all.push((t.trial.number, t.trial.state, t.retry_of));
            true
        })
        .unwrap();
        assert!(
            all.contains(&(2, TrialState::Complete, Some(0))),
            "the retry of the lost trial ran before the worker left: {all:?}"
        );
        assert_eq!(
            Store::find(&storage.mine, "end").unwrap().unwrap().queued,
            0
        );
    }
}
