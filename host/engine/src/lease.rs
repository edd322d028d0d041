//! Trials lent out by ask/tell, for front ends that evaluate trials themselves (the Python
//! package, the HTTP server): a [`SharedStudy`] any number of threads ask at once, and a
//! [`Lease`] per asked trial whose heartbeat is kept while it is open.
//!
//! The executor keeps its own trials alive while it runs them; a trial asked here runs in
//! someone else's code for as long as it takes, so one background thread per process beats for
//! every open lease of every shared study (it never takes a study's lock, so a slow strategy or
//! store does not hold it up). A lease ends with [`Lease::tell`]; one dropped without it is told
//! failed ("the lease was dropped without a result"), so a trial is never left running for the
//! grace period to reap.
//!
//! Define-by-run front ends (the Python package: the objective names its parameters as it runs)
//! ask with [`SharedStudy::ask_open`] instead: an [`OpenLease`] whose parameters the code
//! suggests one by one, new ones joining the study's space when it is told (see core's
//! [`Study::ask_open`]).
//!
//! The budget and store protocol are the executor's: [`Study::ask_within`] reserves a number in
//! the store (counting every worker's trials toward `trials`, retries of lost trials not), asks
//! the strategy for that number's parameters, stores them, or releases the number when the
//! strategy has nothing more to suggest.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use hyperplug_core::{
    Direction, Domain, Error, Evaluation, OpenTrial, Params, PrunerFactory, Pulse, Settings, Space,
    StrategyFactory, Study, StudyConfig, StudyRecord, Trial, TrialError, TrialOutcome, Value,
};
use hyperplug_storage::{Location, Mode};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::config::Component;
use crate::registry::Registry;
use crate::resources::Machine;
use crate::run::{Definition, find};

/// What a study created through [`SharedStudy::create`] stores for processes that load it
/// later: its strategy and budget (space, directions, retries and grace are in the study's
/// record).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AskTellDefinition {
    /// The strategy's name.
    pub strategy: String,
    /// The plugin library the strategy must come from, or `bundled`; `None`: any.
    pub library: Option<String>,
    /// The strategy's settings.
    pub settings: Settings,
    /// The seed, in studies stored before the record kept it ([`StudyRecord::seed`], see
    /// [`stored_seed`](crate::run::stored_seed)); left out since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Trials the study may start, every process's counted, retries not; `None`: no limit.
    pub trials: Option<u64>,
    /// The pruner every process asks, if any (studies stored before pruners had none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pruner: Option<Component>,
}

impl AskTellDefinition {
    /// The definition a stored study carries, if ask/tell stored one.
    pub fn of(record: &StudyRecord) -> Option<AskTellDefinition> {
        serde_json::from_value(record.definition.clone()).ok()
    }
}

/// The factory of `pruner`, once it is known to judge a study with `directions` and its
/// settings are checked (by making one), so that a wrong `[pruner]` is refused before any store
/// is touched.
pub(crate) fn checked_pruner(
    pruner: &Component,
    directions: &[Direction],
    seed: u64,
    registry: &Registry,
) -> Result<Arc<dyn PrunerFactory>> {
    let entry = registry
        .find_pruner(&pruner.name, pruner.library.as_deref())
        .map_err(|e| anyhow!(e))?;
    if directions.len() > 1 && !entry.info.capabilities.multi_objective {
        bail!(
            "pruner `{}` judges one objective and the study has {}; remove the [pruner] table, or use a pruner that judges several objectives (pareto, threshold)",
            pruner.name,
            directions.len()
        );
    }
    entry
        .factory
        .create(&hyperplug_core::PrunerSetup {
            directions,
            seed,
            settings: &pruner.settings,
        })
        .with_context(|| format!("cannot use pruner `{}`", pruner.name))?;
    Ok(Arc::clone(&entry.factory))
}

/// A study that threads (and, through its store, other processes) share by ask/tell. Cheap to
/// clone: clones are the same study.
#[derive(Clone)]
pub struct SharedStudy {
    inner: Arc<Inner>,
}

struct Inner {
    study: Mutex<Study>,
    trials: Option<u64>,
    /// The strategy's factory and settings, to make it again over a grown define-by-run space;
    /// `None` for a study shared with [`SharedStudy::new`].
    strategy: Option<(Arc<dyn StrategyFactory>, Settings)>,
    /// Keeps the study registered with the heartbeat thread while it lives.
    _pulse: Option<Arc<Beating>>,
}

impl SharedStudy {
    /// Creates the study `config.name` in the store at `url` (`memory`, a SQLite path or URL,
    /// a PostgreSQL URL), or opens it there when it exists with the same space and directions
    /// (its trials then count). `strategy` is a name in `registry`, pinned to a `library` when
    /// given; `trials` is the budget over every process's trials (retries of lost trials not
    /// counted); `pruner`, when given, judges every lease's reports (and is stored, so that
    /// every process that loads the study asks it). `config.definition` is replaced by what
    /// [`SharedStudy::load`] needs. A study of that name created by `hyperplug run` is refused:
    /// load it instead. The study runs with `config.seed`, or, when that is only proposed
    /// ([`StudyConfig::seed_proposed`]), with the seed already stored for it.
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        url: &str,
        mut config: StudyConfig,
        strategy: &str,
        library: Option<&str>,
        settings: &Settings,
        pruner: Option<&Component>,
        trials: Option<u64>,
        registry: &Registry,
    ) -> Result<Self> {
        crate::config::check_study_name(&config.name).map_err(|m| anyhow!(m))?;
        let entry = registry
            .find_strategy(strategy, library)
            .map_err(|e| anyhow!(e))?;
        // Checked before the store is touched: a wrong pruner leaves no study behind.
        let pruner_entry = match pruner {
            Some(p) => Some(checked_pruner(
                p,
                &config.directions,
                config.seed,
                registry,
            )?),
            None => None,
        };
        let definition = AskTellDefinition {
            strategy: strategy.to_owned(),
            library: library.map(str::to_owned),
            settings: settings.clone(),
            seed: None,
            trials,
            pruner: pruner.cloned(),
        };
        config.definition = serde_json::to_value(&definition).context("cannot encode the study")?;
        let location = Location::parse(url)?;
        let name = config.name.clone();
        let storage: Arc<dyn hyperplug_core::Storage> = match &location {
            Location::Memory => Arc::new(hyperplug_core::MemoryStorage::new()),
            persistent => {
                let store = persistent.open_store(Mode::Create)?;
                // Opening stores the definition given; one `hyperplug run` stored (its study
                // file, which workers rebuild the study from) must not be replaced.
                if let Some(stored) = store.find(&name)?
                    && Definition::of(&stored.record).is_some()
                {
                    bail!(
                        "study `{name}` in {location} was created from a study file by `hyperplug run`; load it by name instead of creating it"
                    );
                }
                store
            }
        };
        let mut study = Study::open(config, &*entry.factory, settings, storage)
            .with_context(|| format!("cannot start study `{name}` in {location}"))?;
        if let Some((factory, p)) = pruner_entry.zip(pruner) {
            study
                .set_pruner(&*factory, &p.settings)
                .with_context(|| format!("cannot use pruner `{}`", p.name))?;
        }
        Ok(SharedStudy::with_strategy(
            study,
            trials,
            Arc::clone(&entry.factory),
            settings.clone(),
        ))
    }

    /// Loads the study `name` stored at `url` with the strategy, seed and budget stored with
    /// it, as `hyperplug worker` joins one: a study created by `hyperplug run` (its study file is
    /// stored; its objective is created too, and must be available here) or by
    /// [`SharedStudy::create`].
    pub fn load(url: &str, name: &str, registry: &Registry) -> Result<Self> {
        let store = hyperplug_storage::open_store(url, Mode::Existing)?;
        let record = find(&*store, name)?.record;
        if let Some(definition) = Definition::of(&record) {
            let mut file = definition.study_file(url)?;
            file.name = name.to_owned();
            let machine = Machine {
                cpus: 1,
                gpus: Vec::new(),
            };
            let prepared = crate::run::prepare(&file, registry, &machine)?;
            let entry = registry
                .find_strategy(&file.strategy.name, file.strategy.library.as_deref())
                .map_err(|e| anyhow!(e))?;
            return Ok(SharedStudy::with_strategy(
                prepared.study,
                prepared.budget.trials,
                Arc::clone(&entry.factory),
                file.strategy.settings.clone(),
            ));
        }
        let Some(definition) = AskTellDefinition::of(&record) else {
            bail!(
                "study `{name}` in {} stores neither a study file nor a strategy, so it cannot be loaded; it was written by another program",
                store.location()
            );
        };
        let entry = registry
            .find_strategy(&definition.strategy, definition.library.as_deref())
            .map_err(|e| anyhow!(e))?;
        // Proposed: the study runs with the seed stored when it is opened (0 only in a study
        // stored without any, which then keeps 0).
        let seed = crate::run::stored_seed(&record).unwrap_or(0);
        let config = StudyConfig {
            retries: record.retries,
            grace: Duration::from_secs_f64(record.grace_s.max(0.0)),
            definition: record.definition.clone(),
            define_by_run: record.define_by_run,
            ..StudyConfig::new(name, record.space, record.directions).proposed_seed(seed)
        };
        let pruner = match &definition.pruner {
            Some(p) => Some(checked_pruner(
                p,
                &config.directions,
                config.seed,
                registry,
            )?),
            None => None,
        };
        let storage: Arc<dyn hyperplug_core::Storage> = store.clone();
        let mut study = Study::open(config, &*entry.factory, &definition.settings, storage)
            .with_context(|| format!("cannot load study `{name}` from {}", store.location()))?;
        if let Some((factory, p)) = pruner.zip(definition.pruner.as_ref()) {
            study
                .set_pruner(&*factory, &p.settings)
                .with_context(|| format!("cannot use pruner `{}`", p.name))?;
        }
        Ok(SharedStudy::with_strategy(
            study,
            definition.trials,
            Arc::clone(&entry.factory),
            definition.settings,
        ))
    }

    /// The record of the study `name` stored at `url`, if there is one (`None` in memory,
    /// which holds no study before it is created).
    pub fn stored(url: &str, name: &str) -> Result<Option<StudyRecord>> {
        match Location::parse(url)? {
            Location::Memory => Ok(None),
            persistent => Ok(persistent
                .open_store(Mode::Create)?
                .find(name)?
                .map(|s| s.record)),
        }
    }

    /// Shares `study`, which may start `trials` trials (see [`SharedStudy::create`]). Its
    /// define-by-run trials ([`SharedStudy::ask_open`]) cannot add parameters: see
    /// [`SharedStudy::with_strategy`].
    pub fn new(study: Study, trials: Option<u64>) -> Self {
        SharedStudy::shared(study, trials, None)
    }

    /// [`SharedStudy::new`], keeping the strategy's `factory` and `settings` to make it again
    /// when define-by-run trials add parameters to the space.
    pub fn with_strategy(
        study: Study,
        trials: Option<u64>,
        factory: Arc<dyn StrategyFactory>,
        settings: Settings,
    ) -> Self {
        SharedStudy::shared(study, trials, Some((factory, settings)))
    }

    fn shared(
        study: Study,
        trials: Option<u64>,
        strategy: Option<(Arc<dyn StrategyFactory>, Settings)>,
    ) -> Self {
        let pulse = study.pulse();
        let beating = pulse.every().map(|every| {
            let beating = Arc::new(Beating {
                pulse,
                every,
                last: Mutex::new(Instant::now()),
            });
            heartbeat().register(&beating);
            beating
        });
        SharedStudy {
            inner: Arc::new(Inner {
                study: Mutex::new(study),
                trials,
                strategy,
                _pulse: beating,
            }),
        }
    }

    /// Runs `f` on the study, locked (the same lock every ask and tell takes; keep it short).
    pub fn with<R>(&self, f: impl FnOnce(&mut Study) -> R) -> R {
        f(&mut locked(&self.inner.study))
    }

    /// The study's name.
    pub fn name(&self) -> String {
        self.with(|s| s.config().name.clone())
    }

    /// The budget: trials the study may start, every process's counted, retries not.
    pub fn budget(&self) -> Option<u64> {
        self.inner.trials
    }

    /// Lends the next trial (a queued one first, else the strategy's suggestion); `None` when
    /// the budget is spent or the strategy has nothing more to suggest. A strategy that fails
    /// to suggest fails the trial it was asked for (it is stored, failed) and its error is
    /// returned.
    pub fn ask(&self) -> Result<Option<Lease>, Error> {
        let asked = self.with(|s| s.ask_within(self.inner.trials));
        match asked {
            Ok(Some(trial)) => Ok(Some(Lease {
                study: self.clone(),
                trial,
                attrs: IndexMap::new(),
                told: false,
            })),
            Ok(None) | Err(Error::Exhausted(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Queues a trial with fixed parameters, lent before the strategy's suggestions. In a
    /// define-by-run study the parameters may be a part of the space, or new to it (see
    /// [`Study::enqueue_open`]).
    pub fn enqueue(&self, params: &Params) -> Result<(), Error> {
        self.with(|s| {
            if s.config().define_by_run {
                s.enqueue_open(params)
            } else {
                s.enqueue(params)
            }
        })
    }

    /// Lends the next define-by-run trial (a queued one first, else the strategy's suggestion
    /// over the space known so far); `None` as for [`SharedStudy::ask`].
    pub fn ask_open(&self) -> Result<Option<OpenLease>, Error> {
        match self.with(|s| s.ask_open_within(self.inner.trials)) {
            Ok(Some(trial)) => Ok(Some(OpenLease {
                study: self.clone(),
                number: trial.number(),
                trial: Some(trial),
            })),
            Ok(None) | Err(Error::Exhausted(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn tell_open(&self, trial: OpenTrial, outcome: TrialOutcome) -> Result<Trial, Error> {
        let Some((factory, settings)) = &self.inner.strategy else {
            return Err(Error::Other(
                "this shared study was made without its strategy's factory (SharedStudy::new), so its trials cannot add parameters; make it with SharedStudy::with_strategy".into(),
            ));
        };
        self.with(|s| s.tell_open(trial, outcome, &**factory, settings).cloned())
    }

    /// The space known so far (for a define-by-run study, it grows as trials are told).
    pub fn space(&self) -> Space {
        self.with(|s| s.config().space.clone())
    }

    /// Every trial, every process's, by number, brought up to date from the store.
    pub fn trials(&self) -> Result<Vec<Trial>, Error> {
        self.with(|s| {
            s.sync()?;
            Ok(s.trials().into_iter().cloned().collect())
        })
    }

    /// The best complete trial of a single-objective study, up to date; `None` before one
    /// completes, and for several objectives (see [`SharedStudy::best_trials`]).
    pub fn best_trial(&self) -> Result<Option<Trial>, Error> {
        self.with(|s| {
            s.sync()?;
            Ok(s.best_trial().cloned())
        })
    }

    /// The best trial, or for several objectives the Pareto front, up to date.
    pub fn best_trials(&self) -> Result<Vec<Trial>, Error> {
        self.with(|s| {
            s.sync()?;
            Ok(s.best_trials().into_iter().cloned().collect())
        })
    }
}

/// A trial lent out by [`SharedStudy::ask`], kept alive in the store while the lease is open.
/// Send it to the thread that evaluates it; end it with [`Lease::tell`]. Dropped without a tell
/// (an exception, a client gone), the trial is told failed, "the lease was dropped without a
/// result".
pub struct Lease {
    study: SharedStudy,
    trial: Trial,
    attrs: IndexMap<String, Value>,
    told: bool,
}

impl Lease {
    /// The trial's number in the study.
    pub fn number(&self) -> u64 {
        self.trial.number
    }

    /// The parameters to evaluate.
    pub fn params(&self) -> &Params {
        &self.trial.params
    }

    /// The trial as lent (running, with its parameters).
    pub fn trial(&self) -> &Trial {
        &self.trial
    }

    /// The study it belongs to.
    pub fn study(&self) -> &SharedStudy {
        &self.study
    }

    /// Records an intermediate value at `step` and asks the study's pruner whether to stop the
    /// trial now (then tell it [`TrialError::Pruned`]); `false` when the study has no pruner
    /// (give it one with `study.with(|s| s.set_pruner(..))`).
    pub fn report(&mut self, step: u64, value: f64) -> Result<bool, Error> {
        let number = self.trial.number;
        self.study.with(|s| {
            s.report(number, step, value)?;
            s.should_prune(number)
        })
    }

    /// As [`Lease::report`], with one value per objective at `step` (a study with several
    /// objectives; see `TrialContext::report_values`): what the `pareto` pruner judges.
    pub fn report_values(&mut self, step: u64, values: &[f64]) -> Result<bool, Error> {
        let number = self.trial.number;
        self.study.with(|s| {
            s.report_values(number, step, values)?;
            s.should_prune(number)
        })
    }

    /// Keeps `value` with the trial under `key`, stored when it completes.
    pub fn set_user_attr(&mut self, key: impl Into<String>, value: Value) {
        self.attrs.insert(key.into(), value);
    }

    /// Ends the lease: the trial completes with its values (with the user attributes set on
    /// the lease, over the outcome's own), is pruned, or fails with a message. Returns the
    /// trial as stored. The store refuses a trial another worker already failed (its heartbeat
    /// lost): [`Error::NotRunning`].
    pub fn tell(mut self, outcome: TrialOutcome) -> Result<Trial, Error> {
        self.told = true;
        let attrs = std::mem::take(&mut self.attrs);
        let outcome = outcome.map(|mut eval: Evaluation| {
            eval.attrs.extend(attrs);
            eval
        });
        let number = self.trial.number;
        self.study.with(|s| s.tell(number, outcome).cloned())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.told {
            return;
        }
        let number = self.trial.number;
        let told = self.study.with(|s| s.tell(number, dropped()).map(|_| ()));
        if let Err(e) = told {
            log::warn!("trial {number} was dropped without a result and could not be failed: {e}");
        }
    }
}

/// A define-by-run trial lent out by [`SharedStudy::ask_open`]: its objective suggests its
/// parameters one by one ([`OpenLease::suggest`]); kept alive in the store while the lease is
/// open. Dropped without a tell, the trial is told failed, as a [`Lease`] is.
pub struct OpenLease {
    study: SharedStudy,
    number: u64,
    trial: Option<OpenTrial>,
}

impl OpenLease {
    /// The trial's number in the study.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The parameters suggested so far.
    pub fn params(&self) -> Option<&Params> {
        self.trial.as_ref().map(OpenTrial::params)
    }

    /// The user attributes set so far.
    pub fn user_attrs(&self) -> Option<&IndexMap<String, Value>> {
        self.trial.as_ref().map(OpenTrial::user_attrs)
    }

    /// The value of parameter `name` over `domain` (see [`OpenTrial::suggest`]); the study's
    /// lock is not taken.
    pub fn suggest(&mut self, name: &str, domain: Domain) -> Result<Value, Error> {
        self.open()?.suggest(name, domain)
    }

    /// Keeps `value` with the trial under `key`, whatever its outcome.
    pub fn set_user_attr(&mut self, key: impl Into<String>, value: Value) -> Result<(), Error> {
        self.open()?.set_user_attr(key, value);
        Ok(())
    }

    /// Records an intermediate value at `step`.
    pub fn report(&self, step: u64, value: f64) -> Result<(), Error> {
        self.study.with(|s| s.report(self.number, step, value))
    }

    /// Records one value per objective at `step` (a study with several objectives).
    pub fn report_values(&self, step: u64, values: &[f64]) -> Result<(), Error> {
        self.study
            .with(|s| s.report_values(self.number, step, values))
    }

    /// Whether the study's pruner would stop the trial now (no pruner: never).
    pub fn should_prune(&self) -> Result<bool, Error> {
        self.study.with(|s| s.should_prune(self.number))
    }

    /// Ends the lease with `outcome`, recording the parameters the code suggested (new ones join
    /// the study's space; see [`Study::tell_open`]). Returns the trial as stored.
    pub fn tell(mut self, outcome: TrialOutcome) -> Result<Trial, Error> {
        let trial = self.trial.take().ok_or(Error::NotRunning(self.number))?;
        self.study.tell_open(trial, outcome)
    }

    fn open(&mut self) -> Result<&mut OpenTrial, Error> {
        self.trial.as_mut().ok_or(Error::NotRunning(self.number))
    }
}

impl Drop for OpenLease {
    fn drop(&mut self) {
        let Some(trial) = self.trial.take() else {
            return;
        };
        let number = self.number;
        if let Err(e) = self.study.tell_open(trial, dropped()) {
            log::warn!("trial {number} was dropped without a result and could not be failed: {e}");
        }
    }
}

/// What a lease dropped without a result tells its trial, plain or define-by-run.
fn dropped() -> TrialOutcome {
    Err(TrialError::Failed(
        "the lease was dropped without a result".into(),
    ))
}

/// One shared study's heartbeat, as the heartbeat thread sees it.
struct Beating {
    pulse: Pulse,
    every: Duration,
    last: Mutex<Instant>,
}

/// The process's heartbeat thread and the studies it beats for (weakly: a study dropped stops
/// beating).
struct Heartbeat {
    studies: Mutex<Vec<Weak<Beating>>>,
}

/// How often the heartbeat thread looks at its studies; each beats at its store's interval.
const TICK: Duration = Duration::from_millis(50);

fn heartbeat() -> &'static Heartbeat {
    static HEARTBEAT: OnceLock<Heartbeat> = OnceLock::new();
    HEARTBEAT.get_or_init(|| {
        std::thread::Builder::new()
            .name("hyperplug-heartbeat".into())
            .spawn(beat_forever)
            .map_err(|e| log::warn!("cannot start the heartbeat thread: {e}"))
            .ok();
        Heartbeat {
            studies: Mutex::new(Vec::new()),
        }
    })
}

impl Heartbeat {
    fn register(&self, study: &Arc<Beating>) {
        locked(&self.studies).push(Arc::downgrade(study));
    }
}

fn beat_forever() {
    loop {
        std::thread::sleep(TICK);
        let due: Vec<Arc<Beating>> = {
            let mut studies = locked(&heartbeat().studies);
            studies.retain(|s| s.strong_count() > 0);
            studies.iter().filter_map(Weak::upgrade).collect()
        };
        for study in due {
            {
                let mut last = locked(&study.last);
                if last.elapsed() < study.every {
                    continue;
                }
                *last = Instant::now();
            }
            if let Err(e) = study.pulse.beat() {
                log::warn!("cannot keep leased trials alive: {e}");
            }
        }
    }
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic under the lock comes from a strategy or a caller's closure; the study's own state
    // stays consistent, as the executor assumes too.
    m.lock().unwrap_or_else(|p| p.into_inner())
}
