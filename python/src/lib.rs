//! `hyperplug._native`: the Python binding of the hyperplug engine. It converts Python values to
//! the engine's types and back and calls the engine, releasing the GIL while strategies think
//! and the store works; the Optuna-shaped API is the pure-Python package around it
//! (`python/hyperplug`).
//!
//! Architecture invariant: no engine logic here. Opening a study (which strategy, seed and
//! space a stored study continues with), define-by-run and trial leases live in the engine;
//! this crate only maps arguments, results and errors.
#![forbid(unsafe_code)]

use std::path::Path;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use hyperplug_engine::config::StudyFile;
use hyperplug_engine::lease::{AskTellDefinition, OpenLease};
use hyperplug_engine::run::Definition;
use hyperplug_engine::{
    Component, Direction, Domain, Error, Evaluation, Registry, Settings, SharedStudy, Space,
    StudyConfig, TrialError, Value,
};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyOverflowError};
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

/// An error of the engine's study-level calls (opening, loading), with its context.
fn open_error(e: anyhow::Error) -> PyErr {
    let message = format!("{e:#}");
    if e.chain().any(|c| {
        c.downcast_ref::<hyperplug_storage::StorageError>()
            .is_some()
    }) {
        return StorageError_::new_err(message);
    }
    match e.downcast::<Error>() {
        Ok(Error::Space(_)) => SpaceError::new_err(message),
        Ok(Error::Strategy(_) | Error::MissingCapability { .. }) => StrategyError::new_err(message),
        Ok(Error::Storage(_)) => StorageError_::new_err(message),
        _ => HyperplugError::new_err(message),
    }
}

/// Reads the pruner the Python package describes as JSON (`{"name": …, "library": …,
/// "settings": {…}}`, the engine's [`Component`]).
fn parse_pruner(text: &str) -> PyResult<Component> {
    serde_json::from_str(text).map_err(|e| {
        HyperplugError::new_err(format!(
            "the pruner is not {{\"name\": ..., \"settings\": {{...}}}}: {e}"
        ))
    })
}

/// The pruner stored with a study: in its definition when ask/tell created it, in the
/// `[pruner]` table of its stored study file when `hyperplug run` or `studies create` did.
fn stored_pruner(definition: &serde_json::Value) -> Option<Component> {
    if let Ok(d) = serde_json::from_value::<Definition>(definition.clone()) {
        return StudyFile::parse(Path::new(&d.file), &d.study_file)
            .ok()
            .and_then(|f| f.pruner);
    }
    serde_json::from_value::<AskTellDefinition>(definition.clone())
        .ok()
        .and_then(|d| d.pruner)
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

/// A study opened in this process. Its methods call the engine with the GIL released.
#[pyclass(frozen, module = "hyperplug._native")]
struct NativeStudy {
    study: SharedStudy,
    name: String,
    directions: Vec<String>,
    strategy: String,
    seed: u64,
    location: String,
    /// The stored pruner as JSON, when the study has one that Python can describe.
    pruner: Option<String>,
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

/// Opens a study: creates it (define-by-run: its space starts empty), or continues the stored
/// one (`load_if_exists`, or `must_exist` for `load_study`) with the strategy, settings, seed
/// and budget stored with it (its pruner too). New studies default to minimize, TPE, no pruner
/// and a seed from the clock. `pruner` is JSON: `{"name": …, "library": …, "settings": {…}}`.
#[pyfunction]
#[pyo3(signature = (name, storage, directions, strategy, settings, seed, load_if_exists, must_exist, pruner=None))]
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
    pruner: Option<String>,
) -> PyResult<NativeStudy> {
    let url = storage.unwrap_or_else(|| "memory".into());
    let pruner = pruner.as_deref().map(parse_pruner).transpose()?;
    let directions = directions.map(|d| parse_directions(&d)).transpose()?;
    let settings = settings
        .map(|s| Settings::from_json(&s))
        .transpose()
        .map_err(engine_error)?;
    py.detach(move || {
        let location = hyperplug_storage::redact(&url);
        if must_exist && url == "memory" {
            return Err(StorageError_::new_err(format!(
                "no study `{name}` to load: a study in memory lives only in the Study object that created it; give create_study a storage URL (e.g. \"sqlite:///studies.db\") to load it later"
            )));
        }
        let exists = SharedStudy::stored(&url, &name)
            .map_err(open_error)?
            .is_some();
        if must_exist && !exists {
            // The engine's message lists the studies the store holds.
            let e = SharedStudy::load(&url, &name, &registry()).err();
            return Err(StorageError_::new_err(e.map_or_else(
                || format!("no study `{name}` in {location}"),
                |e| format!("{e:#}"),
            )));
        }
        let study = if exists {
            if !load_if_exists && !must_exist {
                return Err(DuplicatedStudyError::new_err(format!(
                    "study `{name}` already exists in {location}; pass load_if_exists=True to continue it, or choose another name"
                )));
            }
            let study = SharedStudy::load(&url, &name, &registry()).map_err(open_error)?;
            let (stored_strategy, stored_seed, stored_directions, kept_pruner) =
                study.with(|s| {
                    (
                        s.strategy_name().to_owned(),
                        s.config().seed,
                        s.config().directions.clone(),
                        stored_pruner(&s.config().definition),
                    )
                });
            let differs = strategy.as_ref().is_some_and(|s| *s != stored_strategy)
                || settings.is_some()
                || seed.is_some_and(|s| s != stored_seed)
                || directions.as_ref().is_some_and(|d| *d != stored_directions)
                || pruner.as_ref().is_some_and(|p| Some(p) != kept_pruner.as_ref());
            if differs {
                return Err(HyperplugError::new_err(format!(
                    "study `{name}` in {location} continues with what it was made with (strategy `{stored_strategy}`, its settings, seed {stored_seed}, directions {}, {}); leave strategy, settings, seed, directions and pruner out to load it, or create a new study",
                    stored_directions
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    kept_pruner.map_or_else(
                        || "no pruner".to_owned(),
                        |p| format!("pruner `{}`", p.name)
                    )
                )));
            }
            study
        } else {
            let strategy = strategy.unwrap_or_else(|| "tpe".to_owned());
            registry()
                .find_strategy(&strategy, None)
                .map_err(StrategyError::new_err)?;
            let config = StudyConfig {
                define_by_run: true,
                ..StudyConfig::new(
                    name.clone(),
                    Space::empty(),
                    directions.unwrap_or_else(|| vec![Direction::Minimize]),
                )
            };
            // A seed from the clock is only proposed: if another process creates the study
            // first, this one runs with the seed stored by that one.
            let config = match seed {
                Some(seed) => config.seed(seed),
                None => config.proposed_seed(fresh_seed()),
            };
            SharedStudy::create(
                &url,
                config,
                &strategy,
                None,
                &settings.unwrap_or_default(),
                pruner.as_ref(),
                None,
                &registry(),
            )
            .map_err(open_error)?
        };
        let (strategy, seed, directions, pruner) = study.with(|s| {
            (
                s.strategy_name().to_owned(),
                s.config().seed,
                s.config()
                    .directions
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                stored_pruner(&s.config().definition),
            )
        });
        let pruner = pruner
            .map(|p| serde_json::to_string(&p))
            .transpose()
            .map_err(|e| HyperplugError::new_err(e.to_string()))?;
        Ok(NativeStudy {
            study,
            name,
            directions,
            strategy,
            seed,
            location,
            pruner,
        })
    })
}

fn to_py(py: Python<'_>, v: &Value) -> PyResult<Py<PyAny>> {
    Ok(match v {
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        Value::Int(i) => i.into_pyobject(py)?.into_any().unbind(),
        Value::Float(x) => x.into_pyobject(py)?.into_any().unbind(),
        Value::Str(s) => s.into_pyobject(py)?.into_any().unbind(),
    })
}

/// `v` as the engine's int; one beyond 64 bits is refused saying whose value it is (PyO3's own
/// OverflowError names neither the parameter nor the argument).
fn int_of(v: &Bound<'_, PyAny>, what: &str) -> PyResult<i64> {
    v.extract::<i64>().map_err(|e| {
        if e.is_instance_of::<PyOverflowError>(v.py()) {
            PyOverflowError::new_err(format!(
                "{what}: {} does not fit in a 64-bit integer, the ints hyperplug keeps ({} to {})",
                v.repr().map_or_else(|_| "?".into(), |r| r.to_string()),
                i64::MIN,
                i64::MAX
            ))
        } else {
            e
        }
    })
}

fn from_py(v: &Bound<'_, PyAny>, what: &str) -> PyResult<Value> {
    if v.is_instance_of::<PyBool>() {
        Ok(Value::Bool(v.extract()?))
    } else if v.is_instance_of::<PyInt>() {
        Ok(Value::Int(int_of(v, what)?))
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

    /// The study's pruner as JSON (`{"name": …, "library": …, "settings": {…}}`), or `None`.
    #[getter]
    fn pruner_json(&self) -> Option<String> {
        self.pruner.clone()
    }

    /// Starts the next trial (a queued one first); `None` when the study's budget is spent
    /// or its strategy has nothing more to suggest.
    fn ask(&self, py: Python<'_>) -> PyResult<Option<NativeTrial>> {
        let lease = py.detach(|| self.study.ask_open()).map_err(engine_error)?;
        Ok(lease.map(|lease| NativeTrial {
            number: lease.number(),
            lease: Mutex::new(Some(lease)),
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
        let lease = lock(&trial.lease).take().ok_or_else(|| {
            TrialNotRunningError::new_err(format!(
                "trial {} is already finished; tell each trial once",
                trial.number
            ))
        })?;
        py.detach(|| {
            let told = lease.tell(outcome)?;
            serde_json::to_string(&told).map_err(|e| Error::Other(e.to_string()))
        })
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
        py.detach(|| self.study.enqueue(&fixed))
            .map_err(engine_error)
    }

    /// Every trial (finished ones and running ones, other workers' too), by number, as JSON,
    /// read from the store.
    fn trials_json(&self, py: Python<'_>) -> PyResult<String> {
        py.detach(|| {
            serde_json::to_string(&self.study.trials()?).map_err(|e| Error::Other(e.to_string()))
        })
        .map_err(engine_error)
    }

    /// The best trial (one objective) or the Pareto front, as JSON.
    fn best_trials_json(&self, py: Python<'_>) -> PyResult<String> {
        py.detach(|| {
            serde_json::to_string(&self.study.best_trials()?)
                .map_err(|e| Error::Other(e.to_string()))
        })
        .map_err(engine_error)
    }

    /// The space learned so far, as JSON.
    fn space_json(&self, py: Python<'_>) -> PyResult<String> {
        py.detach(|| serde_json::to_string(&self.study.space()))
            .map_err(|e| HyperplugError::new_err(e.to_string()))
    }
}

/// A running trial asked from Python: the engine's lease on it, until it is told. Dropped
/// untold (the Python object collected), the trial is failed.
#[pyclass(frozen, module = "hyperplug._native")]
struct NativeTrial {
    number: u64,
    lease: Mutex<Option<OpenLease>>,
}

impl NativeTrial {
    fn open<R>(&self, what: &str, f: impl FnOnce(&mut OpenLease) -> R) -> PyResult<R> {
        let mut lease = lock(&self.lease);
        let lease = lease.as_mut().ok_or_else(|| {
            TrialNotRunningError::new_err(format!(
                "trial {} is finished; {what} before telling its result",
                self.number
            ))
        })?;
        Ok(f(lease))
    }

    fn suggest(&self, py: Python<'_>, name: &str, domain: Domain) -> PyResult<Py<PyAny>> {
        let value = self
            .open("suggest parameters", |l| l.suggest(name, domain))?
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

    #[pyo3(signature = (name, low, high, step=None, log=false))]
    fn suggest_int(
        &self,
        py: Python<'_>,
        name: &str,
        low: &Bound<'_, PyAny>,
        high: &Bound<'_, PyAny>,
        step: Option<&Bound<'_, PyAny>>,
        log: bool,
    ) -> PyResult<Py<PyAny>> {
        let domain = Domain::Int {
            low: int_of(low, &format!("parameter `{name}`, low"))?,
            high: int_of(high, &format!("parameter `{name}`, high"))?,
            log,
            step: step.map_or(Ok(1), |s| int_of(s, &format!("parameter `{name}`, step")))?,
        };
        self.suggest(py, name, domain)
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

    /// Records an intermediate value.
    fn report(&self, py: Python<'_>, step: u64, value: f64) -> PyResult<()> {
        if !value.is_finite() {
            return Err(HyperplugError::new_err(format!(
                "trial {}: the intermediate value at step {step} is {value}; report finite numbers",
                self.number
            )));
        }
        py.detach(|| self.open("report values", |l| l.report(step, value)))?
            .map_err(engine_error)
    }

    /// Records one intermediate value per objective at `step` (a study with several objectives).
    fn report_values(&self, py: Python<'_>, step: u64, values: Vec<f64>) -> PyResult<()> {
        if let Some(v) = values.iter().find(|v| !v.is_finite()) {
            return Err(HyperplugError::new_err(format!(
                "trial {}: an intermediate value at step {step} is {v}; report finite numbers",
                self.number
            )));
        }
        py.detach(|| self.open("report values", |l| l.report_values(step, &values)))?
            .map_err(engine_error)
    }

    /// Whether the strategy would stop the trial now.
    fn should_prune(&self, py: Python<'_>) -> PyResult<bool> {
        py.detach(|| self.open("ask about pruning", |l| l.should_prune()))?
            .map_err(engine_error)
    }

    /// The parameters suggested so far.
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        match lock(&self.lease).as_ref().and_then(OpenLease::params) {
            Some(p) => params_dict(py, p),
            None => Ok(PyDict::new(py)),
        }
    }

    /// Keeps `value` with the trial under `key`.
    fn set_user_attr(&self, key: String, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let value = from_py(value, &format!("user attribute `{key}`"))?;
        self.open("set its attributes", |l| l.set_user_attr(key, value))?
            .map_err(engine_error)
    }

    /// The user attributes set so far.
    fn user_attrs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        match lock(&self.lease).as_ref().and_then(OpenLease::user_attrs) {
            Some(a) => params_dict(py, a),
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
