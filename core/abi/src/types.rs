//! The `#[repr(C)]` mirrors of the domain model and the plugin traits.

use abi_stable::sabi_types::RMut;
use abi_stable::std_types::{RBox, ROption, RResult, RSlice, RStr, RString, RVec, Tuple2};
use abi_stable::{StableAbi, sabi_trait};

/// A parameter value.
#[repr(u8)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub enum FfiValue {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(RString),
}

/// A named value: one parameter, or one user attribute.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct FfiParam {
    /// The parameter's name.
    pub name: RString,
    /// Its value.
    pub value: FfiValue,
}

/// The parameters of a trial, in the space's order.
pub type FfiParams = RVec<FfiParam>;

/// Where a trial stands, as a code rather than an enum: a set of states that can grow without
/// changing the layout. A code this side does not know (sent by a newer host) stands for a
/// finished trial that is neither complete nor pruned, and is read as failed.
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
pub struct FfiTrialState(pub u8);

impl FfiTrialState {
    /// Running.
    pub const RUNNING: Self = Self(0);
    /// Complete.
    pub const COMPLETE: Self = Self(1);
    /// Pruned.
    pub const PRUNED: Self = Self(2);
    /// Failed.
    pub const FAILED: Self = Self(3);
}

/// A trial, as a strategy sees it.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct FfiTrial {
    /// Its number.
    pub number: u64,
    /// Its parameters.
    pub params: FfiParams,
    /// Its state.
    pub state: FfiTrialState,
    /// One value per objective, when complete.
    pub values: RVec<f64>,
    /// Intermediate values by step.
    pub intermediate: RVec<Tuple2<u64, f64>>,
    /// Start time, ms since the Unix epoch.
    pub started_ms: u64,
    /// Duration in seconds, when finished.
    pub duration_s: ROption<f64>,
    /// Extra results.
    pub user_attrs: FfiParams,
    /// Failure message.
    pub message: ROption<RString>,
}

/// What kind of error crossed the boundary, as a code rather than an enum: a set of kinds that can
/// grow without changing the layout. A code this side does not know (sent by a newer library or
/// host) is read as [`FfiErrorKind::FAILED`]: an error with a message.
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
pub struct FfiErrorKind(pub u8);

impl FfiErrorKind {
    /// Settings that the strategy or objective refuses.
    pub const SETTINGS: Self = Self(0);
    /// A space it cannot work with.
    pub const SPACE: Self = Self(1);
    /// A capability it lacks.
    pub const UNSUPPORTED: Self = Self(2);
    /// A strategy with nothing left to suggest.
    pub const EXHAUSTED: Self = Self(3);
    /// A trial stopped by the pruner.
    pub const PRUNED: Self = Self(4);
    /// A failure with a message.
    pub const FAILED: Self = Self(5);
    /// A panic caught inside the plugin.
    pub const PANICKED: Self = Self(6);
}

/// An error from a plugin.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct FfiError {
    /// Its kind.
    pub kind: FfiErrorKind,
    /// The message for the user.
    pub message: RString,
}

impl FfiError {
    /// An error of `kind` with `message`.
    pub fn new(kind: FfiErrorKind, message: impl Into<RString>) -> Self {
        FfiError {
            kind,
            message: message.into(),
        }
    }
}

/// Name, version, description and capabilities of a strategy or objective.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct FfiInfo {
    /// The name study files use.
    pub name: RString,
    /// Its version.
    pub version: RString,
    /// One line.
    pub description: RString,
    /// What a strategy can handle, as a JSON list of names (`["categorical", "parallel"]`; an
    /// objective sends `[]`): a set that grows without changing the layout. A name the host does
    /// not know is a capability it cannot ask for, and is ignored. See
    /// [`capabilities_to_json`](crate::capabilities_to_json).
    pub capabilities: RString,
}

/// The result of an evaluation.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct FfiEvaluation {
    /// One value per metric.
    pub values: RVec<f64>,
    /// Extra results.
    pub attrs: FfiParams,
}

/// A strategy living in a plugin. The host mirrors the study's history into it incrementally:
/// every call carries `new_trials`, the trials that finished since the previous call, in finish
/// order, so each finished trial crosses the boundary once.
#[sabi_trait]
pub trait FfiStrategy: Send {
    /// The next trial's parameters; `running` are all trials running now.
    fn ask(
        &mut self,
        new_trials: RSlice<'_, FfiTrial>,
        running: RSlice<'_, FfiTrial>,
        number: u64,
    ) -> RResult<FfiParams, FfiError>;

    /// A trial has finished: it is the last of `new_trials`.
    fn tell(&mut self, new_trials: RSlice<'_, FfiTrial>) -> RResult<(), FfiError>;

    /// Whether running trial `number` (one of `running`) should stop now. Kept for the layout
    /// of ABI 1.0: since 1.2 pruning is an [`FfiPruner`]'s job, hosts no longer call it, and
    /// the SDK answers `false`.
    #[sabi(last_prefix_field)]
    fn should_prune(
        &mut self,
        new_trials: RSlice<'_, FfiTrial>,
        running: RSlice<'_, FfiTrial>,
        number: u64,
    ) -> RResult<bool, FfiError>;
}

/// A boxed plugin strategy.
pub type FfiStrategyBox = FfiStrategy_TO<'static, RBox<()>>;

/// Makes strategies.
#[sabi_trait]
pub trait FfiStrategyFactory: Send + Sync {
    /// Name, version, description, capabilities.
    fn info(&self) -> RResult<FfiInfo, FfiError>;

    /// A strategy for one study; `setup` is JSON: `{"space": .., "directions": .., "seed": ..,
    /// "settings": ..}`.
    #[sabi(last_prefix_field)]
    fn create(&self, setup: RStr<'_>) -> RResult<FfiStrategyBox, FfiError>;
}

/// A boxed plugin strategy factory.
pub type FfiStrategyFactoryBox = FfiStrategyFactory_TO<'static, RBox<()>>;

/// A pruner living in a plugin (since ABI 1.2). As for strategies, the host mirrors the study's
/// finished trials into it incrementally: every call carries `new_trials`, the trials that
/// finished since the previous call, in finish order, so each crosses the boundary once;
/// `running` holds every running trial with the intermediate values reported so far.
#[sabi_trait]
pub trait FfiPruner: Send {
    /// The resource trial `number` is started with (its most steps), if the pruner sets one.
    fn resource(&self, number: u64) -> ROption<u64>;

    /// Whether running trial `number` (one of `running`) should stop now; `previous` is how
    /// many of its intermediate values there were when last asked (see
    /// `hyperplug_core::PruneContext::previous`).
    #[sabi(last_prefix_field)]
    fn prune(
        &mut self,
        new_trials: RSlice<'_, FfiTrial>,
        running: RSlice<'_, FfiTrial>,
        number: u64,
        previous: u64,
    ) -> RResult<bool, FfiError>;

    /// [`prune`](FfiPruner::prune) with the trials' intermediate vectors (since ABI 1.3): in
    /// a study with several objectives, the steps each trial reported with one value per
    /// objective (`hyperplug_core::Trial::intermediate_values`), which `FfiTrial` cannot hold.
    /// `new_values` and `running_values` run parallel to `new_trials` and `running` (empty
    /// lists for trials that reported single values only). The host calls this method; a
    /// pruner from a library built before 1.3 lacks it, and the default runs its `prune`,
    /// which never saw vectors anyway.
    fn prune_values(
        &mut self,
        new_trials: RSlice<'_, FfiTrial>,
        new_values: RSlice<'_, FfiVectors>,
        running: RSlice<'_, FfiTrial>,
        running_values: RSlice<'_, FfiVectors>,
        number: u64,
        previous: u64,
    ) -> RResult<bool, FfiError> {
        let _ = (new_values, running_values);
        self.prune(new_trials, running, number, previous)
    }
}

/// One trial's intermediate vectors: `(step, one value per objective)` in the order reported
/// (since ABI 1.3; see [`FfiPruner::prune_values`]).
pub type FfiVectors = RVec<Tuple2<u64, RVec<f64>>>;

/// A boxed plugin pruner.
pub type FfiPrunerBox = FfiPruner_TO<'static, RBox<()>>;

/// Makes pruners (since ABI 1.2).
#[sabi_trait]
pub trait FfiPrunerFactory: Send + Sync {
    /// Name, version, description, capabilities (`["multi-objective"]` for a pruner that judges
    /// studies with several objectives).
    fn info(&self) -> RResult<FfiInfo, FfiError>;

    /// A pruner for one study; `setup` is JSON: `{"directions": .., "seed": .., "settings": ..}`
    /// (see [`PrunerSetupJson`](crate::PrunerSetupJson)).
    #[sabi(last_prefix_field)]
    fn create(&self, setup: RStr<'_>) -> RResult<FfiPrunerBox, FfiError>;
}

/// A boxed plugin pruner factory.
pub type FfiPrunerFactoryBox = FfiPrunerFactory_TO<'static, RBox<()>>;

/// The host's side of a running trial, lent to an objective for the length of one evaluation.
#[sabi_trait]
pub trait FfiTrialContext {
    /// The trial's number.
    fn number(&self) -> u64;
    /// Reports an intermediate value.
    fn report(&mut self, step: u64, value: f64);
    /// Whether the trial should stop now.
    fn should_prune(&mut self) -> bool;
    /// The devices assigned to the trial.
    fn devices(&self) -> RVec<u32>;
    /// The study's name.
    #[sabi(last_prefix_field)]
    fn study_name(&self) -> RString;

    /// The resource the trial is started with (its most steps), when the study's pruner sets
    /// one (since ABI 1.3). A plugin on a host built before 1.3 gets `RNone`, the default.
    fn resource(&self) -> ROption<u64> {
        ROption::RNone
    }

    /// Reports one value per objective at `step` (since ABI 1.3). On a host built before 1.3
    /// the default reports the first value with [`report`](FfiTrialContext::report), which is
    /// all such a host keeps.
    fn report_values(&mut self, step: u64, values: RSlice<'_, f64>) {
        if let Some(&first) = values.first() {
            self.report(step, first);
        }
    }
}

/// A borrowed host trial context.
pub type FfiTrialContextRef<'a> = FfiTrialContext_TO<'a, RMut<'a, ()>>;

/// An objective living in a plugin.
#[sabi_trait]
pub trait FfiObjective: Send + Sync {
    /// Its own space as JSON, if it defines one.
    fn space(&self) -> RResult<ROption<RString>, FfiError>;
    /// Its metrics as JSON (`[{"name": .., "direction": ..}]`).
    fn metrics(&self) -> RResult<RString, FfiError>;
    /// The known optimum, if any.
    fn optimum(&self) -> RResult<ROption<RVec<f64>>, FfiError>;
    /// Evaluates one trial.
    #[sabi(last_prefix_field)]
    fn evaluate(
        &self,
        params: RSlice<'_, FfiParam>,
        ctx: FfiTrialContextRef<'_>,
    ) -> RResult<FfiEvaluation, FfiError>;

    /// What each trial needs of the machine, as JSON (`{"gpus": 1}`; a missing key means none).
    ///
    /// Added after `evaluate`, the `last_prefix_field`, which stays where it is: moving it would
    /// change the prefix every library shares, so a library built with this method would no
    /// longer load into a host built before it.
    fn resources(&self) -> RResult<RString, FfiError>;
}

/// A boxed plugin objective.
pub type FfiObjectiveBox = FfiObjective_TO<'static, RBox<()>>;

/// Makes objectives.
#[sabi_trait]
pub trait FfiObjectiveFactory: Send + Sync {
    /// Name, version, description.
    fn info(&self) -> RResult<FfiInfo, FfiError>;
    /// An objective configured by `settings` (JSON object).
    #[sabi(last_prefix_field)]
    fn create(&self, settings: RStr<'_>) -> RResult<FfiObjectiveBox, FfiError>;
}

/// A boxed plugin objective factory.
pub type FfiObjectiveFactoryBox = FfiObjectiveFactory_TO<'static, RBox<()>>;

/// The host's logger, lent to a plugin library so that the library's `log` records reach the
/// host's log: a library carries its own copy of the `log` crate, with no logger in it unless the
/// host lends one. The host implements it; its methods never panic.
///
/// Levels travel as `u8`, as `log` numbers them: 1 error, 2 warn, 3 info, 4 debug, 5 trace; a
/// maximum level may also be 0, off. A level outside these is ignored. See
/// [`ffi_level`](crate::ffi_level), [`level_from_ffi`](crate::level_from_ffi),
/// [`ffi_level_filter`](crate::ffi_level_filter) and
/// [`level_filter_from_ffi`](crate::level_filter_from_ffi).
#[sabi_trait]
pub trait FfiLogSink: Send + Sync {
    /// The most verbose level the host logs anything at, 0 when it logs nothing: the plugin
    /// drops more verbose records without crossing the boundary.
    fn max_level(&self) -> u8;

    /// Whether the host logs a record of `level` from `target` (by default the module path of
    /// the code that logs it), so that the plugin formats only records that will be written.
    fn enabled(&self, level: u8, target: RStr<'_>) -> bool;

    /// Logs `message`, already formatted by the plugin, at `level` from `target`.
    #[sabi(last_prefix_field)]
    fn log(&self, level: u8, target: RStr<'_>, message: RStr<'_>);
}

/// A boxed host log sink.
pub type FfiLogSinkBox = FfiLogSink_TO<'static, RBox<()>>;

/// The root module of a plugin library: the one symbol the host looks up.
///
/// Fields after `objectives`, the `last_prefix_field`, are optional (`missing_field(option)`):
/// their accessors return `None` for a library built against an ABI minor version before they
/// were added. A new field goes at the end, in a new minor version, with a frozen copy of the
/// previous root module in [`compat`](crate::compat) (see the crate's versioning rule).
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
#[sabi(missing_field(option))]
pub struct PluginMod {
    /// The strategy factories in this library.
    pub strategies: extern "C" fn() -> RResult<RVec<FfiStrategyFactoryBox>, FfiError>,
    /// The objective factories in this library.
    #[sabi(last_prefix_field)]
    pub objectives: extern "C" fn() -> RResult<RVec<FfiObjectiveFactoryBox>, FfiError>,
    /// Lends the library the host's logger: its `log` records go to `sink` from then on, at the
    /// sink's maximum level. The host calls it once, right after loading the library; a later
    /// call replaces the sink. Since ABI 1.0.
    pub set_log_sink: extern "C" fn(FfiLogSinkBox) -> RResult<(), FfiError>,
    /// What the library says of itself, as JSON: `{"name": .., "version": .., "sdk": ..}` (its
    /// crate's name and version, and the hyperplug-sdk version it was built with); see
    /// [`LibraryInfoJson`](crate::LibraryInfoJson). Since ABI 1.1.
    pub library_info: extern "C" fn() -> RString,
    /// The pruner factories in this library. Since ABI 1.2.
    pub pruners: extern "C" fn() -> RResult<RVec<FfiPrunerFactoryBox>, FfiError>,
}
