//! `hyperplug._native`: the Python binding of the hyperplug engine. It converts Python values to
//! the engine's types and back and calls the engine, releasing the GIL while strategies think
//! and the store works; the Optuna-shaped API is the pure-Python package around it
//! (`python/hyperplug`).
//!
//! Architecture invariant: no engine logic here. Opening a study (which strategy, seed and
//! space a stored study continues with), define-by-run and trial leases live in the engine;
//! this crate only maps arguments, results and errors.
#![forbid(unsafe_code)]

use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyperplug::run::Definition;
use hyperplug::{
    Direction, Domain, Error, Evaluation, MemoryStorage, OpenTrial, Registry, Settings, Space,
    Storage, StrategyFactory, Study, StudyConfig, StudyRecord, TrialError, Value,
};
use hyperplug_storage::{Location, Mode, StorageError};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};

create_exception!(
    hyperplug,
    HyperplugError,
    PyException,
    "Anything the engine refuses: the message says what and what to do."
);
create_exception!(
    hyperplug,
    StorageError_,
    HyperplugError,
    "The store failed or holds no such study."
);
create_exception!(
    hyperplug,
    DuplicatedStudyError,
    HyperplugError,
    "A study of that name already exists and `load_if_exists` was not given."
);
create_exception!(
    hyperplug,
    StrategyError,
    HyperplugError,
    "The strategy failed, or cannot run this study (a missing capability)."
);
create_exception!(
    hyperplug,
    SpaceError,
    HyperplugError,
    "A parameter's distribution is invalid or conflicts with the one the study knows."
);
create_exception!(
    hyperplug,
    TrialNotRunningError,
    HyperplugError,
    "The trial is finished already (or its lease was lost)."
);

fn engine_error(e: Error) -> PyErr {
    let message = e.to_string();
    match e {
        Error::Space(_) => SpaceError::new_err(message),
        Error::Strategy(_) | Error::MissingCapability { .. } | Error::Exhausted(_) => {
            StrategyError::new_err(message)
        }
        Error::NotRunning(_) => TrialNotRunningError::new_err(message),
        Error::Storage(_) => StorageError_::new_err(message),
        _ => HyperplugError::new_err(message),
    }
}

fn storage_error(e: StorageError) -> PyErr {
    StorageError_::new_err(e.to_string())
}

/// Every strategy a study may use: the bundled ones and the plugin path's, loaded once.
fn registry() -> MutexGuard<'static, Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY
        .get_or_init(|| {
            let mut r = Registry::bundled();
            r.load_plugin_path(&[]);
            Mutex::new(r)
        })
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Loads the plugin libraries in `dir` (after those on `HYPERPLUG_PLUGIN_PATH`); a strategy
/// of a name already known replaces it. Returns the names of the strategies known afterwards.
#[pyfunction]
fn load_plugins(py: Python<'_>, dir: std::path::PathBuf) -> Vec<String> {
    py.detach(|| {
        let mut r = registry();
        r.load_dir(&dir);
        r.strategies().iter().map(|e| e.info.name.clone()).collect()
    })
}

/// The strategies known, with their sources, and the libraries that failed to load.
#[pyfunction]
fn strategies(py: Python<'_>) -> (Vec<(String, String)>, Vec<String>) {
    py.detach(|| {
        let r = registry();
        (
            r.strategies()
                .iter()
                .map(|e| (e.info.name.clone(), e.source.to_string()))
                .collect(),
            r.failures()
                .iter()
                .map(|f| format!("{}: {}", f.path.display(), f.error))
                .collect(),
        )
    })
}

struct Inner {
    study: Study,
    factory: Arc<dyn StrategyFactory>,
    settings: Settings,
}

/// A study opened in this process. Methods lock it only to call the engine.
#[pyclass(frozen, module = "hyperplug._native")]
struct NativeStudy {
    inner: Arc<Mutex<Inner>>,
    name: String,
    directions: Vec<String>,
    strategy: String,
    seed: u64,
    location: String,
}

/// What a study was created with from Python, stored with it so that `load_study` continues it
/// with the same strategy, settings and seed.
fn python_definition(strategy: &str, settings: &Settings, seed: u64) -> serde_json::Value {
    serde_json::json!({ "python": {
        "strategy": strategy,
        "settings": serde_json::from_str::<serde_json::Value>(&settings.to_json()).unwrap_or_default(),
        "seed": seed,
    }})
}

/// The strategy, settings and seed a stored study was made with: by Python, or by
/// `hyperplug run` (its study file).
fn stored_choice(record: &StudyRecord, url: &str) -> Option<(String, Settings, u64)> {
    if let Some(p) = record.definition.get("python") {
        let strategy = p.get("strategy")?.as_str()?.to_owned();
        let settings = Settings::from_json(&p.get("settings")?.to_string()).ok()?;
        return Some((strategy, settings, p.get("seed")?.as_u64()?));
    }
    let d = Definition::of(record)?;
    let file = d.study_file(url).ok()?;
    Some((file.strategy.name, file.strategy.settings, d.seed))
}

fn parse_directions(names: &[String]) -> PyResult<Vec<Direction>> {
    names
        .iter()
        .map(|d| d.parse::<Direction>().map_err(HyperplugError::new_err))
        .collect()
}

fn fresh_seed() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Opens a study: creates it, or continues the stored one (`load_if_exists`, or `must_exist`
/// for `load_study`). Arguments left `None` come from the stored study, else the defaults:
/// minimize, TPE, a seed from the clock.
#[pyfunction]
#[pyo3(signature = (name, storage, directions, strategy, settings, seed, load_if_exists, must_exist))]
#[allow(clippy::too_many_arguments)]
fn open_study(
    py: Python<'_>,
    name: String,
    storage: Option<String>,
    directions: Option<Vec<String>>,
    strategy: Option<String>,
    settings: Option<String>,
    seed: Option<u64>,
    load_if_exists: bool,
    must_exist: bool,
) -> PyResult<NativeStudy> {
    let url = storage.unwrap_or_else(|| "memory".into());
    let directions = directions.map(|d| parse_directions(&d)).transpose()?;
    let settings = settings
        .map(|s| Settings::from_json(&s))
        .transpose()
        .map_err(engine_error)?;
    py.detach(move || {
        let location = Location::parse(&url).map_err(storage_error)?;
        let (store, stored): (Arc<dyn Storage>, Option<StudyRecord>) = match &location {
            Location::Memory if must_exist => {
                return Err(StorageError_::new_err(format!(
                    "no study `{name}` to load: a study in memory lives only in the Study object that created it; give create_study a storage URL (e.g. \"sqlite:///studies.db\") to load it later"
                )));
            }
            Location::Memory => (Arc::new(MemoryStorage::new()), None),
            persistent => {
                let mode = if must_exist { Mode::Existing } else { Mode::Create };
                let store = persistent.open_store(mode).map_err(storage_error)?;
                let stored = if must_exist {
                    Some(
                        hyperplug::run::find(&*store, &name)
                            .map_err(|e| StorageError_::new_err(format!("{e:#}")))?
                            .record,
                    )
                } else {
                    store.find(&name).map_err(storage_error)?.map(|s| s.record)
                };
                (store, stored)
            }
        };
        if stored.is_some() && !load_if_exists && !must_exist {
            return Err(DuplicatedStudyError::new_err(format!(
                "study `{name}` already exists in {location}; pass load_if_exists=True to continue it, or choose another name"
            )));
        }
        let chosen = stored.as_ref().and_then(|r| stored_choice(r, &url));
        let (strategy_name, settings) = match (strategy, settings) {
            (Some(s), settings) => (s, settings.unwrap_or_default()),
            (None, settings) => match &chosen {
                Some((s, stored_settings, _)) => {
                    (s.clone(), settings.unwrap_or_else(|| stored_settings.clone()))
                }
                None => ("tpe".to_owned(), settings.unwrap_or_default()),
            },
        };
        let seed = seed
            .or(chosen.as_ref().map(|c| c.2))
            .unwrap_or_else(fresh_seed);
        let directions = directions
            .or_else(|| stored.as_ref().map(|r| r.directions.clone()))
            .unwrap_or_else(|| vec![Direction::Minimize]);
        let factory = {
            let r = registry();
            r.find_strategy(&strategy_name, None)
                .map_err(StrategyError::new_err)?
                .factory
                .clone()
        };
        let mut config = StudyConfig::new(
            name.clone(),
            stored
                .as_ref()
                .map_or_else(Space::empty, |r| r.space.clone()),
            directions.clone(),
        )
        .seed(seed);
        config.define_by_run = stored.as_ref().is_none_or(|r| r.define_by_run);
        match &stored {
            Some(r) => {
                // Continued as stored: a study `hyperplug run` made keeps its study file, so
                // its workers can still join it.
                config.definition = r.definition.clone();
                config.retries = r.retries;
                config.grace = Duration::from_secs_f64(r.grace_s.max(0.0));
            }
            None => config.definition = python_definition(&strategy_name, &settings, seed),
        }
        let study = Study::open(config, &*factory, &settings, store).map_err(engine_error)?;
        let inner = Arc::new(Mutex::new(Inner {
            study,
            factory,
            settings,
        }));
        keep_alive(&inner);
        Ok(NativeStudy {
            inner,
            name,
            directions: directions.iter().map(ToString::to_string).collect(),
            strategy: strategy_name,
            seed,
            location: location.to_string(),
        })
    })
}

/// Beats for the study's running trials from a thread of its own while the study lives, so
/// that a trial open in Python longer than the store's grace period is not taken for lost.
fn keep_alive(inner: &Arc<Mutex<Inner>>) {
    let Some(every) = lock(inner).study.storage().heartbeat_interval() else {
        return;
    };
    let weak: Weak<Mutex<Inner>> = Arc::downgrade(inner);
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(every);
            let Some(inner) = weak.upgrade() else { return };
            if let Err(e) = lock(&inner).study.heartbeat() {
                // No Python here: the interpreter may be shutting down.
                eprintln!(
                    "hyperplug: study `{}`: heartbeat failed: {e}",
                    lock(&inner).study.config().name
                );
            }
        }
    });
}

fn to_py(py: Python<'_>, v: &Value) -> PyResult<Py<PyAny>> {
    Ok(match v {
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        Value::Int(i) => i.into_pyobject(py)?.into_any().unbind(),
        Value::Float(x) => x.into_pyobject(py)?.into_any().unbind(),
        Value::Str(s) => s.into_pyobject(py)?.into_any().unbind(),
    })
}

fn from_py(v: &Bound<'_, PyAny>, what: &str) -> PyResult<Value> {
    if v.is_instance_of::<PyBool>() {
        Ok(Value::Bool(v.extract()?))
    } else if v.is_instance_of::<PyInt>() {
        Ok(Value::Int(v.extract()?))
    } else if v.is_instance_of::<PyFloat>() {
        Ok(Value::Float(v.extract()?))
    } else if v.is_instance_of::<PyString>() {
        Ok(Value::Str(v.extract()?))
    } else {
        Err(SpaceError::new_err(format!(
            "{what}: {} is a {}; hyperplug keeps bools, ints, floats and strings",
            v.repr().map_or_else(|_| "?".into(), |r| r.to_string()),
            v.get_type()
                .name()
                .map_or_else(|_| "?".into(), |n| n.to_string())
        )))
    }
}

fn params_dict<'py>(
    py: Python<'py>,
    params: &indexmap::IndexMap<String, Value>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in params {
        d.set_item(k, to_py(py, v)?)?;
    }
    Ok(d)
}

#[pymethods]
impl NativeStudy {
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    #[getter]
    fn directions(&self) -> Vec<String> {
        self.directions.clone()
    }

    #[getter]
    fn strategy(&self) -> &str {
        &self.strategy
    }

    #[getter]
    fn seed(&self) -> u64 {
        self.seed
    }

    #[getter]
    fn location(&self) -> &str {
        &self.location
    }

    /// Starts the next trial (a queued one first); `None` when the study already counts
    /// `limit` trials or its strategy has nothing more to suggest.
    #[pyo3(signature = (limit=None))]
    fn ask(&self, py: Python<'_>, limit: Option<u64>) -> PyResult<Option<NativeTrial>> {
        let trial = match py.detach(|| lock(&self.inner).study.ask_open_within(limit)) {
            Ok(trial) => trial,
            // A finished grid: no trial, as when the budget is spent.
            Err(Error::Exhausted(_)) => None,
            Err(e) => return Err(engine_error(e)),
        };
        Ok(trial.map(|t| NativeTrial {
            number: t.number(),
            trial: Mutex::new(Some(t)),
        }))
    }

    /// Finishes `trial`: `state` is "complete" (with `values`), "pruned" or "fail" (with
    /// `message`). Returns the stored trial as JSON.
    #[pyo3(signature = (trial, state, values=None, message=None))]
    fn tell(
        &self,
        py: Python<'_>,
        trial: &NativeTrial,
        state: &str,
        values: Option<Vec<f64>>,
        message: Option<String>,
    ) -> PyResult<String> {
        let outcome = match (state, values) {
            ("complete", Some(values)) => Ok(Evaluation {
                values,
                attrs: Default::default(),
            }),
            ("complete", None) => {
                return Err(HyperplugError::new_err(
                    "a complete trial needs its value(s); pass values, or state=\"fail\"",
                ));
            }
            ("pruned", _) => Err(TrialError::Pruned),
            ("fail", _) => Err(TrialError::Failed(
                message.unwrap_or_else(|| "failed by tell".into()),
            )),
            (other, _) => {
                return Err(HyperplugError::new_err(format!(
                    "unknown trial state `{other}`; use \"complete\", \"pruned\" or \"fail\""
                )));
            }
        };
        let open = lock(&trial.trial).take().ok_or_else(|| {
            TrialNotRunningError::new_err(format!(
                "trial {} is already finished; tell each trial once",
                trial.number
            ))
        })?;
        py.detach(|| {
            let mut inner = lock(&self.inner);
            let Inner {
                study,
                factory,
                settings,
            } = &mut *inner;
            let told = study.tell_open(open, outcome, &**factory, settings)?;
            serde_json::to_string(told).map_err(|e| Error::Other(e.to_string()))
        })
        .map_err(engine_error)
    }

    /// Records an intermediate value of a running trial.
    fn report(&self, py: Python<'_>, number: u64, step: u64, value: f64) -> PyResult<()> {
        if !value.is_finite() {
            return Err(HyperplugError::new_err(format!(
                "trial {number}: the intermediate value at step {step} is {value}; report finite numbers"
            )));
        }
        py.detach(|| lock(&self.inner).study.report(number, step, value))
            .map_err(engine_error)
    }

    /// Whether the strategy would stop the running trial now.
    fn should_prune(&self, py: Python<'_>, number: u64) -> PyResult<bool> {
        py.detach(|| lock(&self.inner).study.should_prune(number))
            .map_err(engine_error)
    }

    /// Queues a trial with these fixed parameter values.
    fn enqueue(&self, py: Python<'_>, params: &Bound<'_, PyDict>) -> PyResult<()> {
        let mut fixed = indexmap::IndexMap::new();
        for (k, v) in params.iter() {
            let k: String = k.extract()?;
            let v = from_py(&v, &format!("enqueued parameter `{k}`"))?;
            fixed.insert(k, v);
        }
        py.detach(|| lock(&self.inner).study.enqueue_open(&fixed))
            .map_err(engine_error)
    }

    /// Every trial (finished ones and running ones, other workers' too), by number, as JSON,
    /// after reading what other workers did.
    fn trials_json(&self, py: Python<'_>) -> PyResult<String> {
        py.detach(|| {
            let mut inner = lock(&self.inner);
            inner.study.sync()?;
            serde_json::to_string(&inner.study.trials()).map_err(|e| Error::Other(e.to_string()))
        })
        .map_err(engine_error)
    }

    /// The best trial (one objective) or the Pareto front, as JSON.
    fn best_trials_json(&self, py: Python<'_>) -> PyResult<String> {
        py.detach(|| {
            let mut inner = lock(&self.inner);
            inner.study.sync()?;
            serde_json::to_string(&inner.study.best_trials())
                .map_err(|e| Error::Other(e.to_string()))
        })
        .map_err(engine_error)
    }

    /// The space learned so far, as JSON.
    fn space_json(&self, py: Python<'_>) -> PyResult<String> {
        py.detach(|| serde_json::to_string(&lock(&self.inner).study.config().space))
            .map_err(|e| HyperplugError::new_err(e.to_string()))
    }
}

/// A running trial asked from Python: the engine's open trial, until it is told.
#[pyclass(frozen, module = "hyperplug._native")]
struct NativeTrial {
    number: u64,
    trial: Mutex<Option<OpenTrial>>,
}

impl NativeTrial {
    fn suggest(&self, py: Python<'_>, name: &str, domain: Domain) -> PyResult<Py<PyAny>> {
        let value = lock(&self.trial)
            .as_mut()
            .ok_or_else(|| {
                TrialNotRunningError::new_err(format!(
                    "trial {} is finished; suggest parameters before telling its result",
                    self.number
                ))
            })?
            .suggest(name, domain)
            .map_err(engine_error)?;
        to_py(py, &value)
    }
}

#[pymethods]
impl NativeTrial {
    #[getter]
    fn number(&self) -> u64 {
        self.number
    }

    #[pyo3(signature = (name, low, high, step=None, log=false))]
    fn suggest_float(
        &self,
        py: Python<'_>,
        name: &str,
        low: f64,
        high: f64,
        step: Option<f64>,
        log: bool,
    ) -> PyResult<Py<PyAny>> {
        self.suggest(
            py,
            name,
            Domain::Float {
                low,
                high,
                log,
                step,
            },
        )
    }

    #[pyo3(signature = (name, low, high, step=1, log=false))]
    fn suggest_int(
        &self,
        py: Python<'_>,
        name: &str,
        low: i64,
        high: i64,
        step: i64,
        log: bool,
    ) -> PyResult<Py<PyAny>> {
        self.suggest(
            py,
            name,
            Domain::Int {
                low,
                high,
                log,
                step,
            },
        )
    }

    fn suggest_categorical(
        &self,
        py: Python<'_>,
        name: &str,
        choices: Vec<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let choices = choices
            .iter()
            .map(|c| from_py(c, &format!("a choice of `{name}`")))
            .collect::<PyResult<Vec<_>>>()?;
        self.suggest(py, name, Domain::Categorical { choices })
    }

    /// The parameters suggested so far.
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        match &*lock(&self.trial) {
            Some(t) => params_dict(py, t.params()),
            None => Ok(PyDict::new(py)),
        }
    }

    /// Keeps `value` with the trial under `key`.
    fn set_user_attr(&self, key: String, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let value = from_py(value, &format!("user attribute `{key}`"))?;
        if let Some(t) = lock(&self.trial).as_mut() {
            t.set_user_attr(key, value);
            Ok(())
        } else {
            Err(TrialNotRunningError::new_err(format!(
                "trial {} is finished; set its attributes before telling its result",
                self.number
            )))
        }
    }

    /// The user attributes set so far.
    fn user_attrs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        match &*lock(&self.trial) {
            Some(t) => params_dict(py, t.user_attrs()),
            None => Ok(PyDict::new(py)),
        }
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_function(wrap_pyfunction!(open_study, m)?)?;
    m.add_function(wrap_pyfunction!(load_plugins, m)?)?;
    m.add_function(wrap_pyfunction!(strategies, m)?)?;
    m.add_class::<NativeStudy>()?;
    m.add_class::<NativeTrial>()?;
    m.add("HyperplugError", py.get_type::<HyperplugError>())?;
    m.add("StorageError", py.get_type::<StorageError_>())?;
    m.add(
        "DuplicatedStudyError",
        py.get_type::<DuplicatedStudyError>(),
    )?;
    m.add("StrategyError", py.get_type::<StrategyError>())?;
    m.add("SpaceError", py.get_type::<SpaceError>())?;
    m.add(
        "TrialNotRunningError",
        py.get_type::<TrialNotRunningError>(),
    )?;
    Ok(())
}
