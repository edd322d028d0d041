//! Adapters from the core traits to the FFI traits, run inside the plugin.

use std::any::Any;
use std::cell::RefCell;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RErr, ROption, RResult, RSlice, RStr, RString, RVec};
use hyperplug_abi::{
    FfiError, FfiErrorKind, FfiEvaluation, FfiInfo, FfiObjective, FfiObjective_TO, FfiObjectiveBox,
    FfiObjectiveFactory, FfiObjectiveFactory_TO, FfiObjectiveFactoryBox, FfiParam, FfiParams,
    FfiPruner, FfiPruner_TO, FfiPrunerBox, FfiPrunerFactory, FfiPrunerFactory_TO,
    FfiPrunerFactoryBox, FfiStrategy, FfiStrategy_TO, FfiStrategyBox, FfiStrategyFactory,
    FfiStrategyFactory_TO, FfiStrategyFactoryBox, FfiTrial, FfiTrialContextRef, FfiVectors,
    PrunerSetupJson, SetupJson, from_ffi_params, from_ffi_trial, to_ffi_params,
};
use hyperplug_core::{
    AskContext, Direction, Objective, ObjectiveFactory, PruneContext, Pruner, PrunerFactory,
    PrunerSetup, Settings, Space, Strategy, StrategyFactory, StudySetup, Trial, TrialContext,
    panic_message,
};

thread_local! {
    static PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

static QUIET_PANICS: Once = Once::new();

/// Runs `f`, turning a panic into an [`FfiErrorKind::PANICKED`] error that says where it
/// happened. A panic must never unwind out of a plugin: abi_stable would end the whole host.
pub fn guard<T>(f: impl FnOnce() -> Result<T, FfiError>) -> RResult<T, FfiError> {
    // The plugin has its own std, hence its own panic hook: record the location for the error
    // instead of printing a backtrace on the host's terminal.
    QUIET_PANICS.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let at = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()));
            PANIC_LOCATION.with(|p| *p.borrow_mut() = at);
        }));
    });
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result.into(),
        Err(payload) => RErr(FfiError::new(FfiErrorKind::PANICKED, caught(payload))),
    }
}

/// A caught panic's message, with where it happened when the hook [`guard`] installs saw it.
fn caught(payload: Box<dyn Any + Send>) -> String {
    let at = PANIC_LOCATION.with(|p| p.borrow_mut().take());
    let mut message = panic_message(payload.as_ref());
    if let Some(at) = at {
        message.push_str(&format!(" (at {at})"));
    }
    message
}

/// A plugin's object that the host drops through the ABI. Its `Drop` runs in an `extern "C"`
/// function of abi_stable's, which aborts the host on a panic (a strategy dropped after its
/// study, with every result stored), so a panic there is caught and logged instead.
struct Contained<T> {
    inner: ManuallyDrop<T>,
    /// What it is, for the log: ``strategy `tpe` ``.
    what: String,
}

impl<T> Contained<T> {
    fn new(inner: T, what: String) -> Self {
        Contained {
            inner: ManuallyDrop::new(inner),
            what,
        }
    }
}

impl<T> Deref for Contained<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T> DerefMut for Contained<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T> Drop for Contained<T> {
    fn drop(&mut self) {
        // SAFETY: `inner` is taken here, once, and never touched again: `self` is being dropped.
        let inner = unsafe { ManuallyDrop::take(&mut self.inner) };
        if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(inner))) {
            log::warn!(
                "{} panicked while being dropped: {}",
                self.what,
                caught(payload)
            );
        }
    }
}

fn err(e: &hyperplug_core::Error) -> FfiError {
    e.into()
}

/// The body of a plugin's `strategies` export: builds the factories (catching panics) and wraps
/// each for the ABI.
pub fn export_strategies(
    make: impl FnOnce() -> Vec<Box<dyn StrategyFactory>>,
) -> RResult<RVec<FfiStrategyFactoryBox>, FfiError> {
    guard(|| {
        Ok(make()
            .into_iter()
            .map(|f| {
                let what = format!("strategy factory `{}`", f.info().name);
                FfiStrategyFactory_TO::from_value(
                    StrategyFactoryAdapter(Contained::new(f, what)),
                    TD_Opaque,
                )
            })
            .collect())
    })
}

/// The body of a plugin's `objectives` export.
pub fn export_objectives(
    make: impl FnOnce() -> Vec<Box<dyn ObjectiveFactory>>,
) -> RResult<RVec<FfiObjectiveFactoryBox>, FfiError> {
    guard(|| {
        Ok(make()
            .into_iter()
            .map(|f| {
                let what = format!("objective factory `{}`", f.info().name);
                FfiObjectiveFactory_TO::from_value(
                    ObjectiveFactoryAdapter(Contained::new(f, what)),
                    TD_Opaque,
                )
            })
            .collect())
    })
}

/// The body of a plugin's `pruners` export.
pub fn export_pruners(
    make: impl FnOnce() -> Vec<Box<dyn PrunerFactory>>,
) -> RResult<RVec<FfiPrunerFactoryBox>, FfiError> {
    guard(|| {
        Ok(make()
            .into_iter()
            .map(|f| {
                let what = format!("pruner factory `{}`", f.info().name);
                FfiPrunerFactory_TO::from_value(
                    PrunerFactoryAdapter(Contained::new(f, what)),
                    TD_Opaque,
                )
            })
            .collect())
    })
}

struct PrunerFactoryAdapter(Contained<Box<dyn PrunerFactory>>);

impl FfiPrunerFactory for PrunerFactoryAdapter {
    fn info(&self) -> RResult<FfiInfo, FfiError> {
        guard(|| Ok((&self.0.info()).into()))
    }

    fn create(&self, setup: RStr<'_>) -> RResult<FfiPrunerBox, FfiError> {
        guard(|| {
            let setup: PrunerSetupJson = serde_json::from_str(setup.as_str()).map_err(|e| {
                FfiError::new(
                    FfiErrorKind::FAILED,
                    format!("malformed set-up from the host: {e}"),
                )
            })?;
            let pruner = self
                .0
                .create(&PrunerSetup {
                    directions: &setup.directions,
                    seed: setup.seed,
                    settings: &setup.settings,
                })
                .map_err(|e| err(&e))?;
            Ok(FfiPruner_TO::from_value(
                PrunerAdapter {
                    inner: Contained::new(pruner, format!("pruner `{}`", self.0.info().name)),
                    directions: setup.directions,
                    seed: setup.seed,
                    history: Vec::new(),
                },
                TD_Opaque,
            ))
        })
    }
}

/// A pruner plus the plugin's copy of its study's finished trials, grown by the host's deltas.
struct PrunerAdapter {
    inner: Contained<Box<dyn Pruner>>,
    directions: Vec<Direction>,
    seed: u64,
    history: Vec<Trial>,
}

impl FfiPruner for PrunerAdapter {
    fn resource(&self, number: u64) -> ROption<u64> {
        // A panic here has no error to become: it means no resource.
        catch_unwind(AssertUnwindSafe(|| self.inner.resource(number)))
            .ok()
            .flatten()
            .into()
    }

    fn prune(
        &mut self,
        new_trials: RSlice<'_, FfiTrial>,
        running: RSlice<'_, FfiTrial>,
        number: u64,
        previous: u64,
    ) -> RResult<bool, FfiError> {
        self.prune_values(
            new_trials,
            RSlice::EMPTY,
            running,
            RSlice::EMPTY,
            number,
            previous,
        )
    }

    fn prune_values(
        &mut self,
        new_trials: RSlice<'_, FfiTrial>,
        new_values: RSlice<'_, FfiVectors>,
        running: RSlice<'_, FfiTrial>,
        running_values: RSlice<'_, FfiVectors>,
        number: u64,
        previous: u64,
    ) -> RResult<bool, FfiError> {
        guard(|| {
            self.history
                .extend(with_vectors(new_trials.as_slice(), new_values.as_slice()));
            let running = with_vectors(running.as_slice(), running_values.as_slice());
            let Some(trial) = running.iter().find(|t| t.number == number) else {
                return Err(FfiError::new(
                    FfiErrorKind::FAILED,
                    format!("trial {number} is not among the running trials"),
                ));
            };
            let ctx = PruneContext {
                directions: &self.directions,
                seed: self.seed,
                trials: &self.history,
                running: &running,
                trial,
                previous: usize::try_from(previous).unwrap_or(usize::MAX),
            };
            self.inner.prune(&ctx).map_err(|e| err(&e))
        })
    }
}

/// Trials from their FFI form, each with its intermediate vectors where `vectors` has them
/// (parallel to `trials`; shorter, or empty, when the host sent none).
fn with_vectors(trials: &[FfiTrial], vectors: &[FfiVectors]) -> Vec<Trial> {
    trials
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut trial = from_ffi_trial(t);
            if let Some(vs) = vectors.get(i) {
                trial.intermediate_values = vs.iter().map(|p| (p.0, p.1.to_vec())).collect();
            }
            trial
        })
        .collect()
}

struct StrategyFactoryAdapter(Contained<Box<dyn StrategyFactory>>);

impl FfiStrategyFactory for StrategyFactoryAdapter {
    fn info(&self) -> RResult<FfiInfo, FfiError> {
        guard(|| Ok((&self.0.info()).into()))
    }

    fn create(&self, setup: RStr<'_>) -> RResult<FfiStrategyBox, FfiError> {
        guard(|| {
            let setup: SetupJson = serde_json::from_str(setup.as_str()).map_err(|e| {
                FfiError::new(
                    FfiErrorKind::FAILED,
                    format!("malformed set-up from the host: {e}"),
                )
            })?;
            let strategy = self
                .0
                .create(&StudySetup {
                    space: &setup.space,
                    directions: &setup.directions,
                    seed: setup.seed,
                    settings: &setup.settings,
                })
                .map_err(|e| err(&e))?;
            Ok(FfiStrategy_TO::from_value(
                StrategyAdapter {
                    inner: Contained::new(strategy, format!("strategy `{}`", self.0.info().name)),
                    study: Mirror {
                        space: setup.space,
                        directions: setup.directions,
                        seed: setup.seed,
                        history: Vec::new(),
                    },
                },
                TD_Opaque,
            ))
        })
    }
}

/// A strategy plus the plugin's mirror of its study.
struct StrategyAdapter {
    inner: Contained<Box<dyn Strategy>>,
    study: Mirror,
}

/// The plugin's copy of the study: set up once, its history grown by the host's deltas.
struct Mirror {
    space: Space,
    directions: Vec<Direction>,
    seed: u64,
    history: Vec<Trial>,
}

impl Mirror {
    fn sync(&mut self, new_trials: RSlice<'_, FfiTrial>) {
        self.history.extend(new_trials.iter().map(from_ffi_trial));
    }

    fn context<'a>(&'a self, running: &'a [Trial], number: u64) -> AskContext<'a> {
        AskContext {
            space: &self.space,
            directions: &self.directions,
            seed: self.seed,
            trials: &self.history,
            running,
            number,
        }
    }
}

impl FfiStrategy for StrategyAdapter {
    fn ask(
        &mut self,
        new_trials: RSlice<'_, FfiTrial>,
        running: RSlice<'_, FfiTrial>,
        number: u64,
    ) -> RResult<FfiParams, FfiError> {
        guard(|| {
            self.study.sync(new_trials);
            let running: Vec<Trial> = running.iter().map(from_ffi_trial).collect();
            let ctx = self.study.context(&running, number);
            let params = self.inner.ask(&ctx).map_err(|e| err(&e))?;
            Ok(to_ffi_params(&params))
        })
    }

    fn tell(&mut self, new_trials: RSlice<'_, FfiTrial>) -> RResult<(), FfiError> {
        guard(|| {
            self.study.sync(new_trials);
            let Some(trial) = self.study.history.last() else {
                return Ok(());
            };
            let ctx = self.study.context(&[], trial.number);
            self.inner.tell(&ctx, trial).map_err(|e| err(&e))
        })
    }

    fn should_prune(
        &mut self,
        new_trials: RSlice<'_, FfiTrial>,
        running: RSlice<'_, FfiTrial>,
        number: u64,
    ) -> RResult<bool, FfiError> {
        // Kept in the ABI's layout (1.0); pruning is a pruner's job since 1.2, and no host of
        // 1.2 or later calls this. Older hosts asked it and got `false` from every strategy.
        let _ = (running, number);
        guard(|| {
            self.study.sync(new_trials);
            Ok(false)
        })
    }
}

struct ObjectiveFactoryAdapter(Contained<Box<dyn ObjectiveFactory>>);

impl FfiObjectiveFactory for ObjectiveFactoryAdapter {
    fn info(&self) -> RResult<FfiInfo, FfiError> {
        guard(|| Ok((&self.0.info()).into()))
    }

    fn create(&self, settings: RStr<'_>) -> RResult<FfiObjectiveBox, FfiError> {
        guard(|| {
            let settings = Settings::from_json(settings.as_str()).map_err(|e| err(&e))?;
            let objective = self.0.create(&settings).map_err(|e| err(&e))?;
            Ok(FfiObjective_TO::from_value(
                ObjectiveAdapter(Contained::new(
                    objective,
                    format!("objective `{}`", self.0.info().name),
                )),
                TD_Opaque,
            ))
        })
    }
}

struct ObjectiveAdapter(Contained<Box<dyn Objective>>);

impl FfiObjective for ObjectiveAdapter {
    fn space(&self) -> RResult<ROption<RString>, FfiError> {
        guard(|| {
            let space = self.0.space();
            Ok(space
                .map(|s| RString::from(serde_json::to_string(&s).unwrap_or_default()))
                .into())
        })
    }

    fn metrics(&self) -> RResult<RString, FfiError> {
        guard(|| {
            Ok(serde_json::to_string(&self.0.metrics())
                .unwrap_or_else(|_| "[]".into())
                .into())
        })
    }

    fn optimum(&self) -> RResult<ROption<RVec<f64>>, FfiError> {
        guard(|| Ok(self.0.optimum().map(RVec::from).into()))
    }

    fn evaluate(
        &self,
        params: RSlice<'_, FfiParam>,
        ctx: FfiTrialContextRef<'_>,
    ) -> RResult<FfiEvaluation, FfiError> {
        guard(|| {
            let params = from_ffi_params(&params);
            let mut ctx = HostContext(ctx);
            match self.0.evaluate(&params, &mut ctx) {
                Ok(eval) => Ok((&eval).into()),
                Err(e) => Err((&e).into()),
            }
        })
    }

    fn resources(&self) -> RResult<RString, FfiError> {
        guard(|| {
            serde_json::to_string(&self.0.resources())
                .map(RString::from)
                .map_err(|e| {
                    FfiError::new(
                        FfiErrorKind::FAILED,
                        format!("cannot encode the objective's resources as JSON: {e}"),
                    )
                })
        })
    }
}

/// The host's trial context, seen from inside the plugin.
struct HostContext<'a>(FfiTrialContextRef<'a>);

impl TrialContext for HostContext<'_> {
    fn number(&self) -> u64 {
        self.0.number()
    }

    fn report(&mut self, step: u64, value: f64) {
        self.0.report(step, value);
    }

    fn report_values(&mut self, step: u64, values: &[f64]) {
        self.0.report_values(step, RSlice::from_slice(values));
    }

    fn should_prune(&mut self) -> bool {
        self.0.should_prune()
    }

    fn devices(&self) -> Vec<u32> {
        self.0.devices().into_vec()
    }

    fn study_name(&self) -> String {
        self.0.study_name().into_string()
    }

    fn resource(&self) -> Option<u64> {
        self.0.resource().into_option()
    }
}
