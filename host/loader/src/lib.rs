//! Loading hyperplug plugin libraries, and the proxies that make their FFI factories look like
//! core ones. The host and `hyperplug-testkit` both load through this crate, so that an author's
//! tests load a library exactly as the host will.
//!
//! A plugin is a file path, never a name for the system's library search: a relative path is
//! taken from the current directory, and the file must exist. Before the file is mapped its
//! headers are read and checked against its size (a truncated library would otherwise be mapped
//! and crash the process with a bus error when touched). Then the ABI version: a library built
//! against the host's major ABI version loads, whatever its minor version (see `hyperplug-abi`'s
//! versioning rule); an older minor one is checked against its own version's frozen root module.
//!
//! Libraries are loaded one by one from their path (never through abi_stable's per-type cache,
//! which would hand back the first library for every later one) and never unloaded: objects from
//! them may live until the process ends. Each is lent the host's logger as soon as it is loaded,
//! so that its `log` records reach the host's log. Last, the names it exports: each must be
//! usable in a study file ([`check_name`]), and none given twice for one kind.
//!
//! Architecture invariant: this is the only crate that loads libraries.
#![warn(missing_docs)]

mod image;

pub use image::check_image;

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use abi_stable::library::{LibraryError, RootModule, lib_header_from_path};
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::sabi_types::{VersionNumber, VersionStrings};
use abi_stable::std_types::{ROption, RSlice, RStr, RString, RVec};
use hyperplug_abi::{
    ABI_VERSION, FfiLogSink, FfiLogSink_TO, FfiObjectiveBox, FfiPrunerBox, FfiStrategyBox,
    FfiTrial, FfiTrialContext, FfiTrialContext_TO, FfiVectors, LibraryInfoJson, PluginModRef,
    PrunerSetupJson, SetupJson, ffi_level_filter, from_ffi_info, from_ffi_params, level_from_ffi,
    to_ffi_params, to_ffi_trial, to_ffi_vectors,
};
use hyperplug_core::{
    AskContext, Error, Metric, Objective, ObjectiveFactory, Params, PluginInfo, PruneContext,
    Pruner, PrunerFactory, PrunerSetup, Space, Strategy, StrategyFactory, StudySetup, Trial,
    TrialContext, TrialError, TrialOutcome, TrialResources, panic_message,
};

/// Why a library could not be used as a plugin. The `Display` text is short and says what to
/// do; [`LoadError::details`] holds the full checker report for the log.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// No file at the path.
    #[error(
        "{path}: no such plugin library ({reason}); a plugin is a file path, taken from the current directory when relative (`./{name}`), never looked up on the system's library path",
        path = .path.display(),
        name = .path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
    )]
    Missing {
        /// The path as given.
        path: PathBuf,
        /// Why it cannot be read.
        reason: String,
    },
    /// A file that is not a loadable shared library: damaged, truncated, or another kind of file.
    #[error("{path}: not a usable shared library: {reason}", path = .path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The file could not be opened as a shared library.
    #[error("{path}: cannot be opened as a shared library: {reason}", path = .path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The loader's reason.
        reason: String,
    },
    /// A shared library that exports no hyperplug root module.
    #[error(
        "{path}: not a hyperplug plugin (it exports no plugin root module); build it with `hyperplug_sdk::export_plugin!`",
        path = .path.display()
    )]
    NotAPlugin {
        /// The file.
        path: PathBuf,
    },
    /// Built against a plugin ABI of another major version.
    #[error("{}", version_message(.path, .expected, .found))]
    Version {
        /// The file.
        path: PathBuf,
        /// The host's ABI version.
        expected: String,
        /// The library's.
        found: String,
    },
    /// A compatible version, but type layouts that differ from what that version defines: the
    /// library was built from a modified interface crate.
    #[error(
        "{path}: built against plugin ABI {found}, but its plugin interface has a different layout from what ABI {found} defines (built from a modified hyperplug-abi?); rebuild it against a released hyperplug-sdk (this hyperplug speaks ABI {ABI_VERSION} and loads libraries built against ABI {major}.x)\n{summary}",
        path = .path.display(),
        major = major_of(ABI_VERSION)
    )]
    Layout {
        /// The file.
        path: PathBuf,
        /// The library's ABI version.
        found: String,
        /// The checker's `Error:` lines.
        summary: String,
        /// The full report.
        details: String,
    },
    /// The library's own initialisation failed or panicked.
    #[error("{path}: the plugin failed while starting: {message}", path = .path.display())]
    Init {
        /// The file.
        path: PathBuf,
        /// Its message.
        message: String,
    },
    /// The library exports a name no study file can use, or one name twice for one kind.
    #[error(
        "{path}: the plugin exports names a study file cannot use: {}; fix the names its factories' `info()` return and rebuild it",
        .problems.join("; "),
        path = .path.display()
    )]
    Names {
        /// The file.
        path: PathBuf,
        /// One line per bad name.
        problems: Vec<String>,
    },
}

fn major_of(version: &str) -> &str {
    version.split('.').next().unwrap_or(version)
}

/// What a version error says: both versions, which libraries this host loads, and what to do,
/// which depends on which side is older.
fn version_message(path: &Path, host: &str, found: &str) -> String {
    let path = path.display();
    let major = major_of(host);
    let (library, ours) = (
        major_of(found).parse::<u64>().ok(),
        major.parse::<u64>().ok(),
    );
    match (library, ours) {
        (Some(l), Some(h)) if l > h => format!(
            "{path}: built against plugin ABI {found}, newer than this hyperplug's ABI {host} (it loads libraries built against ABI {major}.x); upgrade hyperplug to a release that speaks ABI {l}.x, or rebuild the plugin against a hyperplug-sdk for ABI {major}.x"
        ),
        (Some(_), Some(_)) => format!(
            "{path}: built against plugin ABI {found}, older than this hyperplug's ABI {host} (it loads libraries built against ABI {major}.x); rebuild the plugin against a hyperplug-sdk for ABI {major}.x, or use a hyperplug release that speaks ABI {found}"
        ),
        _ => format!(
            "{path}: its plugin ABI version is unreadable ({found}); this hyperplug speaks ABI {host}: rebuild the plugin against a hyperplug-sdk for ABI {major}.x"
        ),
    }
}

impl LoadError {
    /// The full report behind the message, for the log (the layout checker's runs to hundreds of
    /// lines).
    pub fn details(&self) -> Option<&str> {
        match self {
            LoadError::Layout { details, .. } => Some(details),
            _ => None,
        }
    }
}

/// The most characters a name may have: a study file's line, not a page (a name built by a bug
/// would otherwise fill every listing and message that shows it).
pub const MAX_NAME_CHARS: usize = 100;

/// Whether `name` can be used in a study file: one word of letters, digits, `-`, `_` and `.`,
/// optionally qualified by one vendor prefix (`acme/de`), at most [`MAX_NAME_CHARS`] characters.
/// The error says what is allowed.
pub fn check_name(name: &str) -> Result<(), String> {
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        let start: String = name.chars().take(40).collect();
        return Err(format!(
            "`{start}…` is not a usable name: it has {chars} characters, and a name has at most {MAX_NAME_CHARS}"
        ));
    }
    let word_ok = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    let parts: Vec<&str> = name.split('/').collect();
    if parts.len() <= 2 && parts.iter().all(|w| word_ok(w)) {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a usable name: use letters, digits, `-`, `_` and `.`, optionally after one vendor prefix (`acme/de`)"
        ))
    }
}

/// What one plugin library holds.
pub struct Library {
    /// Where it was loaded from: the file path, made absolute.
    pub path: PathBuf,
    /// The plugin ABI version it was built against.
    pub abi_version: String,
    /// Its own name and version, and the SDK it was built with; `None` for a library built
    /// against ABI 1.0, which does not say.
    pub info: Option<LibraryInfoJson>,
    /// Its strategy factories.
    pub strategies: Vec<Arc<dyn StrategyFactory>>,
    /// Its objective factories.
    pub objectives: Vec<Arc<dyn ObjectiveFactory>>,
    /// Its pruner factories; none for a library built against ABI 1.0 or 1.1, which had no
    /// pruners.
    pub pruners: Vec<Arc<dyn PrunerFactory>>,
}

impl Library {
    /// One line on the library: its own name and version, the ABI it was built against, the SDK.
    pub fn describe(&self) -> String {
        match &self.info {
            Some(i) => format!(
                "{} {}, built against plugin ABI {} with hyperplug-sdk {}",
                i.name, i.version, self.abi_version, i.sdk
            ),
            None => format!(
                "built against plugin ABI {} (its own version unknown: ABI {} libraries do not say)",
                self.abi_version, self.abi_version
            ),
        }
    }
}

/// The file a plugin path names: taken from the current directory when relative, and it must
/// exist. `dlopen` would search the system's library path for a name without a slash (so
/// `libm.so.6` would load the system's libm): a plugin is a file, never a library name.
pub fn resolve(path: &Path) -> Result<PathBuf, LoadError> {
    let missing = |reason: String| LoadError::Missing {
        path: path.to_path_buf(),
        reason,
    };
    let absolute = std::path::absolute(path).map_err(|e| missing(e.to_string()))?;
    match std::fs::metadata(&absolute) {
        Ok(m) if m.is_file() => Ok(absolute),
        Ok(_) => Err(missing("not a file".into())),
        Err(e) => Err(missing(e.to_string())),
    }
}

/// Loads one plugin library: checks the file, its ABI version and its layouts.
pub fn load(path: &Path) -> Result<Library, LoadError> {
    let owned = resolve(path)?;
    let data = std::fs::read(&owned).map_err(|e| LoadError::Missing {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    check_image(&data).map_err(|reason| LoadError::Malformed {
        path: owned.clone(),
        reason,
    })?;
    drop(data);
    let header = lib_header_from_path(&owned).map_err(|e| library_error(&owned, e))?;
    let found = header.version_strings();
    let module = init(header, found).map_err(|e| library_error(&owned, e))?;
    // Before anything else in the library runs, so that all of its log records reach the host.
    // `None`: a library without the field, which does without the host's log.
    if let Some(set_log_sink) = module.set_log_sink()
        && let Err(e) = set_log_sink(FfiLogSink_TO::from_value(HostLog, TD_Opaque)).into_result()
    {
        log::warn!(
            "{}: cannot lend it the host's logger, so its log records are lost: {}",
            owned.display(),
            e.message
        );
    }
    let init = |message: String| LoadError::Init {
        path: owned.clone(),
        message,
    };
    let info = match module.library_info() {
        Some(f) => Some(
            serde_json::from_str::<LibraryInfoJson>(f().as_str())
                .map_err(|e| init(format!("it described itself badly: {e}")))?,
        ),
        None => None,
    };
    let strategies = module.strategies()()
        .into_result()
        .map_err(|e| init(e.message.into_string()))?;
    let objectives = module.objectives()()
        .into_result()
        .map_err(|e| init(e.message.into_string()))?;
    let pruners = match module.pruners() {
        Some(f) => f()
            .into_result()
            .map_err(|e| init(e.message.into_string()))?,
        None => RVec::new(),
    };

    let mut lib = Library {
        path: owned.clone(),
        abi_version: found.to_string(),
        info,
        strategies: Vec::new(),
        objectives: Vec::new(),
        pruners: Vec::new(),
    };
    let info_of = |ffi: Result<hyperplug_abi::FfiInfo, hyperplug_abi::FfiError>| {
        let ffi = ffi.map_err(|e| init(e.message.into_string()))?;
        let (info, unknown) =
            from_ffi_info(&ffi).map_err(|e| init(format!("`{}`: {e}", ffi.name)))?;
        if !unknown.is_empty() {
            log::debug!(
                "{}: `{}` declares capabilities this hyperplug does not know, so never asks for: {}",
                owned.display(),
                info.name,
                unknown.join(", ")
            );
        }
        Ok::<_, LoadError>(info)
    };
    for ffi in strategies {
        let info = info_of(ffi.info().into_result())?;
        lib.strategies
            .push(Arc::new(PluginStrategyFactory { info, ffi }));
    }
    for ffi in objectives {
        let info = info_of(ffi.info().into_result())?;
        lib.objectives
            .push(Arc::new(PluginObjectiveFactory { info, ffi }));
    }
    for ffi in pruners {
        let info = info_of(ffi.info().into_result())?;
        lib.pruners
            .push(Arc::new(PluginPrunerFactory { info, ffi }));
    }
    let problems = name_problems(&[
        (
            "strategy",
            lib.strategies.iter().map(|f| f.info().name).collect(),
        ),
        (
            "objective",
            lib.objectives.iter().map(|f| f.info().name).collect(),
        ),
        (
            "pruner",
            lib.pruners.iter().map(|f| f.info().name).collect(),
        ),
    ]);
    if !problems.is_empty() {
        return Err(LoadError::Names {
            path: owned,
            problems,
        });
    }
    Ok(lib)
}

/// What is wrong with the names a library exports, given as each kind's names: each that
/// [`check_name`] refuses, and each given to two factories of one kind (one would hide the
/// other, and no pin tells them apart).
fn name_problems(kinds: &[(&str, Vec<String>)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (kind, names) in kinds {
        for (i, name) in names.iter().enumerate() {
            if let Err(why) = check_name(name) {
                problems.push(format!("{kind} {why}"));
            } else if names[..i].iter().filter(|n| *n == name).count() == 1 {
                // Said once, at the name's second use.
                problems.push(format!("more than one {kind} is named `{name}`"));
            }
        }
    }
    problems
}

/// The library's root module, by the ABI's versioning rule: the same major version as the host's
/// and any minor. A newer minor extends the host's layout, which abi_stable's checker accepts as
/// it is; an older one is checked against the frozen root module of its own version and then
/// read as the current one, its missing fields as `None`.
fn init(
    header: &'static abi_stable::library::LibHeader,
    found: VersionStrings,
) -> Result<PluginModRef, LibraryError> {
    let host = VersionNumber::new(PluginModRef::VERSION_STRINGS)?;
    let library = VersionNumber::new(found)?;
    if library.major != host.major {
        return Err(LibraryError::IncompatibleVersionNumber {
            library_name: PluginModRef::NAME,
            expected_version: host,
            actual_version: library,
        });
    }
    if library.minor >= host.minor {
        return header.init_root_module::<PluginModRef>();
    }
    let incompatible = || LibraryError::IncompatibleVersionNumber {
        library_name: PluginModRef::NAME,
        expected_version: host,
        actual_version: library,
    };
    hyperplug_abi::compat::ensure_layout(header, library.major, library.minor)
        .ok_or_else(incompatible)??;
    // SAFETY: the library's root module has the layout of ABI `library`'s frozen module (just
    // checked), which is a prefix of the current one (hyperplug-abi's tests check every frozen
    // module against it); the current module's fields past that prefix are optional, and their
    // accessors return `None` for a library that lacks them.
    unsafe { header.init_root_module_with_unchecked_layout::<PluginModRef>() }
}

/// The host's logger as a plugin library's log sink: records go through the host's `log`
/// facade, so its level, `RUST_LOG` targets and format apply to them as to the host's own.
struct HostLog;

impl FfiLogSink for HostLog {
    fn max_level(&self) -> u8 {
        ffi_level_filter(log::max_level())
    }

    fn enabled(&self, level: u8, target: RStr<'_>) -> bool {
        let Some(level) = level_from_ffi(level) else {
            return false;
        };
        // A panic must not unwind into the plugin (it would end the process): a logger that
        // panics is taken to log nothing.
        catch_unwind(AssertUnwindSafe(|| {
            level <= log::max_level()
                && log::logger().enabled(
                    &log::Metadata::builder()
                        .level(level)
                        .target(target.as_str())
                        .build(),
                )
        }))
        .unwrap_or(false)
    }

    fn log(&self, level: u8, target: RStr<'_>, message: RStr<'_>) {
        let Some(level) = level_from_ffi(level) else {
            return;
        };
        // As in `enabled`: the record is lost rather than the process.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            if level <= log::max_level() {
                log::logger().log(
                    &log::Record::builder()
                        .level(level)
                        .target(target.as_str())
                        .args(format_args!("{message}"))
                        .build(),
                );
            }
        }));
    }
}

fn library_error(path: &Path, e: LibraryError) -> LoadError {
    let path = path.to_path_buf();
    let found = || {
        lib_header_from_path(&path)
            .map(|h| h.version_strings().to_string())
            .unwrap_or_else(|_| "?".into())
    };
    match e {
        LibraryError::OpenError { err, .. } => LoadError::Open {
            path,
            reason: err.to_string(),
        },
        LibraryError::GetSymbolError { .. } => LoadError::NotAPlugin { path },
        LibraryError::IncompatibleVersionNumber {
            expected_version,
            actual_version,
            ..
        } => LoadError::Version {
            path,
            expected: expected_version.to_string(),
            found: actual_version.to_string(),
        },
        LibraryError::ParseVersionError(v) => LoadError::Version {
            path,
            expected: ABI_VERSION.to_owned(),
            found: format!("an unreadable version ({v})"),
        },
        LibraryError::AbiInstability(report) => {
            let details = report.to_string();
            let summary = error_lines(&details);
            LoadError::Layout {
                found: found(),
                path,
                summary,
                details,
            }
        }
        LibraryError::RootModule { err, .. } => LoadError::Init {
            path,
            message: err.to_string(),
        },
        other => {
            let details = other.to_string();
            LoadError::Layout {
                found: found(),
                path,
                summary: error_lines(&details),
                details,
            }
        }
    }
}

/// The checker's `Error:` lines, deduplicated, at most ten: what a person needs to see.
fn error_lines(report: &str) -> String {
    let mut lines: Vec<&str> = Vec::new();
    for line in report.lines().map(str::trim) {
        if line.starts_with("Error:") && !lines.contains(&line) {
            lines.push(line);
        }
    }
    if lines.is_empty() {
        lines.extend(
            report
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .take(3),
        );
    }
    let more = lines.len().saturating_sub(10);
    let mut out: Vec<String> = lines.iter().take(10).map(|l| format!("  {l}")).collect();
    if more > 0 {
        out.push(format!(
            "  ... and {more} more (full report in the debug log)"
        ));
    }
    out.join("\n")
}

struct PluginStrategyFactory {
    info: PluginInfo,
    ffi: hyperplug_abi::FfiStrategyFactoryBox,
}

impl StrategyFactory for PluginStrategyFactory {
    fn info(&self) -> PluginInfo {
        self.info.clone()
    }

    fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
        let json = serde_json::to_string(&SetupJson {
            space: setup.space.clone(),
            directions: setup.directions.to_vec(),
            seed: setup.seed,
            settings: setup.settings.clone(),
        })
        .map_err(|e| Error::Other(e.to_string()))?;
        let ffi = self
            .ffi
            .create(json.as_str().into())
            .into_result()
            .map_err(|e| e.into_error(&self.info.name))?;
        Ok(Box::new(PluginStrategy {
            name: self.info.name.clone(),
            ffi,
            sent: 0,
        }))
    }
}

/// A plugin strategy seen as a core one. `sent` counts the finished trials already mirrored
/// into the plugin, so each crosses the boundary once.
struct PluginStrategy {
    name: String,
    ffi: FfiStrategyBox,
    sent: usize,
}

impl PluginStrategy {
    fn delta(&mut self, ctx: &AskContext<'_>) -> Vec<FfiTrial> {
        let new = ctx.trials[self.sent.min(ctx.trials.len())..]
            .iter()
            .map(to_ffi_trial)
            .collect();
        self.sent = ctx.trials.len();
        new
    }
}

impl Strategy for PluginStrategy {
    fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
        let new = self.delta(ctx);
        let running: Vec<FfiTrial> = ctx.running.iter().map(to_ffi_trial).collect();
        self.ffi
            .ask(
                RSlice::from(&new[..]),
                RSlice::from(&running[..]),
                ctx.number,
            )
            .into_result()
            .map(|p| from_ffi_params(&p))
            .map_err(|e| e.into_error(&self.name))
    }

    fn tell(&mut self, ctx: &AskContext<'_>, _trial: &Trial) -> Result<(), Error> {
        let new = self.delta(ctx);
        self.ffi
            .tell(RSlice::from(&new[..]))
            .into_result()
            .map_err(|e| e.into_error(&self.name))
    }
}

struct PluginPrunerFactory {
    info: PluginInfo,
    ffi: hyperplug_abi::FfiPrunerFactoryBox,
}

impl PrunerFactory for PluginPrunerFactory {
    fn info(&self) -> PluginInfo {
        self.info.clone()
    }

    fn create(&self, setup: &PrunerSetup<'_>) -> Result<Box<dyn Pruner>, Error> {
        let json = serde_json::to_string(&PrunerSetupJson {
            directions: setup.directions.to_vec(),
            seed: setup.seed,
            settings: setup.settings.clone(),
        })
        .map_err(|e| Error::Other(e.to_string()))?;
        let ffi = self
            .ffi
            .create(json.as_str().into())
            .into_result()
            .map_err(|e| e.into_error(&self.info.name))?;
        Ok(Box::new(PluginPruner {
            name: self.info.name.clone(),
            ffi,
            sent: 0,
        }))
    }
}

/// A plugin pruner seen as a core one; `sent` as for [`PluginStrategy`].
struct PluginPruner {
    name: String,
    ffi: FfiPrunerBox,
    sent: usize,
}

impl Pruner for PluginPruner {
    fn resource(&self, number: u64) -> Option<u64> {
        self.ffi.resource(number).into_option()
    }

    fn prune(&mut self, ctx: &PruneContext<'_>) -> Result<bool, Error> {
        let first = self.sent.min(ctx.trials.len());
        let new: Vec<FfiTrial> = ctx.trials[first..].iter().map(to_ffi_trial).collect();
        self.sent = ctx.trials.len();
        let new_values: Vec<FfiVectors> = ctx.trials[first..].iter().map(to_ffi_vectors).collect();
        let running: Vec<FfiTrial> = ctx.running.iter().map(to_ffi_trial).collect();
        let running_values: Vec<FfiVectors> = ctx.running.iter().map(to_ffi_vectors).collect();
        // A library built before ABI 1.3 lacks `prune_values`: its default calls `prune`.
        self.ffi
            .prune_values(
                RSlice::from(&new[..]),
                RSlice::from(&new_values[..]),
                RSlice::from(&running[..]),
                RSlice::from(&running_values[..]),
                ctx.trial.number,
                ctx.previous as u64,
            )
            .into_result()
            .map_err(|e| e.into_error(&self.name))
    }
}

struct PluginObjectiveFactory {
    info: PluginInfo,
    ffi: hyperplug_abi::FfiObjectiveFactoryBox,
}

impl ObjectiveFactory for PluginObjectiveFactory {
    fn info(&self) -> PluginInfo {
        self.info.clone()
    }

    fn create(&self, settings: &hyperplug_core::Settings) -> Result<Box<dyn Objective>, Error> {
        let name = &self.info.name;
        let ffi = self
            .ffi
            .create(settings.to_json().as_str().into())
            .into_result()
            .map_err(|e| e.into_error(name))?;
        // The objective's description (space, metrics, optimum, resources) is read once, here,
        // rather than on every trial; a bad answer refuses the objective before any trial.
        let space = match ffi.space().into_result().map_err(|e| e.into_error(name))? {
            abi_stable::std_types::RSome(json) => Some(parse::<Space>(name, &json, "space")?),
            abi_stable::std_types::RNone => None,
        };
        let metrics = ffi
            .metrics()
            .into_result()
            .map_err(|e| e.into_error(name))?;
        let metrics = parse::<Vec<Metric>>(name, &metrics, "metrics")?;
        let optimum = ffi
            .optimum()
            .into_result()
            .map_err(|e| e.into_error(name))?
            .into_option()
            .map(|v| v.to_vec());
        let resources = ffi
            .resources()
            .into_result()
            .map_err(|e| e.into_error(name))?;
        let resources = parse::<TrialResources>(name, &resources, "resources")?;
        Ok(Box::new(PluginObjective {
            ffi,
            space,
            metrics,
            optimum,
            resources,
        }))
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    owner: &str,
    json: &RString,
    what: &str,
) -> Result<T, Error> {
    serde_json::from_str(json.as_str()).map_err(|e| {
        // Enough of the answer to recognise it; a space can run to pages.
        let sent: String = json.chars().take(200).collect();
        let more = if sent.len() < json.len() { "…" } else { "" };
        Error::Other(format!(
            "objective `{owner}` described its {what} badly ({e}); it sent `{sent}{more}`. The plugin must be fixed, or rebuilt against this hyperplug's hyperplug-sdk"
        ))
    })
}

struct PluginObjective {
    ffi: FfiObjectiveBox,
    space: Option<Space>,
    metrics: Vec<Metric>,
    optimum: Option<Vec<f64>>,
    resources: TrialResources,
}

impl Objective for PluginObjective {
    fn space(&self) -> Option<Space> {
        self.space.clone()
    }

    fn metrics(&self) -> Vec<Metric> {
        self.metrics.clone()
    }

    fn optimum(&self) -> Option<Vec<f64>> {
        self.optimum.clone()
    }

    fn resources(&self) -> TrialResources {
        self.resources
    }

    fn evaluate(&self, params: &Params, ctx: &mut dyn TrialContext) -> TrialOutcome {
        let params = to_ffi_params(params);
        let mut host = HostContext {
            ctx,
            panicked: RefCell::new(None),
        };
        let result = self
            .ffi
            .evaluate(
                RSlice::from(&params[..]),
                FfiTrialContext_TO::from_ptr(&mut host, TD_Opaque),
            )
            .into_result();
        // What the objective made of a failed callback does not count: the trial fails with it.
        if let Some(message) = host.panicked.into_inner() {
            return Err(TrialError::Failed(message));
        }
        match result {
            Ok(eval) => Ok((&eval).into()),
            Err(e) => Err(e.into_trial_error()),
        }
    }
}

/// The study's trial context lent to a plugin. Its methods run host code (the store, the
/// pruner, observers) from inside the plugin's frames, where a panic would end the process
/// (abi_stable aborts rather than unwind through them), so each runs inside `catch_unwind`. The
/// first panic is kept to fail the trial, and from then on the trial is asked to stop.
struct HostContext<'a> {
    ctx: &'a mut dyn TrialContext,
    panicked: RefCell<Option<String>>,
}

/// `f`, or `fallback` when it panics, the first panic kept in `panicked` for the trial.
fn contain<T>(
    panicked: &RefCell<Option<String>>,
    call: &str,
    fallback: T,
    f: impl FnOnce() -> T,
) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        panicked.borrow_mut().get_or_insert_with(|| {
            format!(
                "the host panicked in `{call}`, called by the objective: {}",
                panic_message(payload.as_ref())
            )
        });
        fallback
    })
}

impl FfiTrialContext for HostContext<'_> {
    fn number(&self) -> u64 {
        contain(&self.panicked, "number", 0, || self.ctx.number())
    }

    fn report(&mut self, step: u64, value: f64) {
        contain(&self.panicked, "report", (), || {
            self.ctx.report(step, value)
        });
    }

    fn should_prune(&mut self) -> bool {
        if self.panicked.borrow().is_some() {
            return true;
        }
        contain(&self.panicked, "should_prune", true, || {
            self.ctx.should_prune()
        })
    }

    fn devices(&self) -> RVec<u32> {
        contain(&self.panicked, "devices", RVec::new(), || {
            RVec::from(self.ctx.devices())
        })
    }

    fn study_name(&self) -> RString {
        contain(&self.panicked, "study_name", RString::new(), || {
            RString::from(self.ctx.study_name())
        })
    }

    fn resource(&self) -> ROption<u64> {
        contain(&self.panicked, "resource", ROption::RNone, || {
            self.ctx.resource().into()
        })
    }

    fn report_values(&mut self, step: u64, values: RSlice<'_, f64>) {
        contain(&self.panicked, "report_values", (), || {
            self.ctx.report_values(step, values.as_slice())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::RResult;

    #[test]
    fn version_errors_name_both_versions_and_what_to_do_either_way() {
        let path = Path::new("/p/libx.so");
        let older = version_message(path, "1.1.0", "0.3.0");
        assert_eq!(
            older,
            "/p/libx.so: built against plugin ABI 0.3.0, older than this hyperplug's ABI 1.1.0 (it loads libraries built against ABI 1.x); rebuild the plugin against a hyperplug-sdk for ABI 1.x, or use a hyperplug release that speaks ABI 0.3.0"
        );
        let newer = version_message(path, "1.1.0", "2.0.1");
        assert!(
            newer.contains("built against plugin ABI 2.0.1, newer than this hyperplug's ABI 1.1.0")
                && newer.contains("upgrade hyperplug to a release that speaks ABI 2.x"),
            "{newer}"
        );
        let odd = version_message(path, "1.1.0", "x.y");
        assert!(
            odd.contains("unreadable (x.y)") && odd.contains("ABI 1.x"),
            "{odd}"
        );
    }

    #[test]
    fn names_may_carry_one_vendor_prefix() {
        for ok in ["tpe", "acme/de", "a.b_c-1", "ÆØ/x"] {
            assert_eq!(check_name(ok), Ok(()), "{ok}");
        }
        for bad in ["", " ", "a b", "a/b/c", "/a", "a/", "a\tb", "a;b"] {
            assert!(check_name(bad).unwrap_err().contains("acme/de"), "{bad:?}");
        }
        assert_eq!(check_name(&"x".repeat(MAX_NAME_CHARS)), Ok(()));
        let e = check_name(&"x".repeat(1_000_000)).unwrap_err();
        assert!(
            e.len() < 200 && e.contains("1000000 characters") && e.contains("at most 100"),
            "{e}"
        );
    }

    #[test]
    fn unusable_and_repeated_names_are_each_said_once() {
        let names = |list: &[&str]| list.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(
            name_problems(&[
                ("strategy", names(&["my sampler", "ok", "acme/ok"])),
                ("objective", names(&["twice", "twice", "twice", "once"])),
                ("pruner", names(&["once"])),
            ]),
            [
                "strategy `my sampler` is not a usable name: use letters, digits, `-`, `_` and `.`, optionally after one vendor prefix (`acme/de`)",
                "more than one objective is named `twice`",
            ]
        );
    }

    /// A plugin objective stand-in that reports, asks whether to stop, and then succeeds.
    struct Reporting;

    impl hyperplug_abi::FfiObjective for Reporting {
        fn space(&self) -> RResult<ROption<RString>, hyperplug_abi::FfiError> {
            RResult::ROk(ROption::RNone)
        }
        fn metrics(&self) -> RResult<RString, hyperplug_abi::FfiError> {
            RResult::ROk(r#"[{"name": "value", "direction": "minimize"}]"#.into())
        }
        fn optimum(&self) -> RResult<ROption<RVec<f64>>, hyperplug_abi::FfiError> {
            RResult::ROk(ROption::RNone)
        }
        fn evaluate(
            &self,
            _params: RSlice<'_, hyperplug_abi::FfiParam>,
            mut ctx: hyperplug_abi::FfiTrialContextRef<'_>,
        ) -> RResult<hyperplug_abi::FfiEvaluation, hyperplug_abi::FfiError> {
            ctx.report(1, 0.5);
            let stop = ctx.should_prune();
            RResult::ROk(hyperplug_abi::FfiEvaluation {
                values: RVec::from(vec![if stop { 1.0 } else { 0.0 }]),
                attrs: RVec::new(),
            })
        }
        fn resources(&self) -> RResult<RString, hyperplug_abi::FfiError> {
            RResult::ROk("{}".into())
        }
    }

    /// A study's side that panics when the objective reports (an observer or a pruner that
    /// panics, say).
    struct Panicking;

    impl TrialContext for Panicking {
        fn number(&self) -> u64 {
            7
        }
        fn report(&mut self, _step: u64, _value: f64) {
            panic!("the store fell over");
        }
        fn should_prune(&mut self) -> bool {
            false
        }
    }

    #[test]
    fn a_panic_in_the_hosts_callback_fails_the_trial_instead_of_ending_the_process() {
        // Without `contain`, the panic unwinds into the objective's frames through abi_stable's
        // shim, which aborts the whole process (this test binary).
        let objective = PluginObjective {
            ffi: hyperplug_abi::FfiObjective_TO::from_value(Reporting, TD_Opaque),
            space: None,
            metrics: Vec::new(),
            optimum: None,
            resources: TrialResources::default(),
        };
        let outcome = objective.evaluate(&Params::new(), &mut Panicking);
        assert!(
            matches!(&outcome, Err(TrialError::Failed(m)) if m == "the host panicked in `report`, called by the objective: the store fell over"),
            "{outcome:?}"
        );
    }

    #[test]
    fn a_bad_description_is_an_error_naming_the_objective_and_what_it_sent() {
        let ok = parse::<TrialResources>("mlp-gpu", &RString::from(r#"{"gpus": 1}"#), "resources");
        assert_eq!(ok.unwrap(), TrialResources::default().with_gpus(1));
        let empty = parse::<TrialResources>("old", &RString::from("{}"), "resources");
        assert_eq!(
            empty.unwrap(),
            TrialResources::default(),
            "missing keys mean none"
        );
        let e = parse::<TrialResources>("mlp-gpu", &RString::from(r#"{"gpus": -1}"#), "resources")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("objective `mlp-gpu` described its resources badly")
                && e.contains(r#"it sent `{"gpus": -1}`"#),
            "{e}"
        );
        let long = format!("[{}]", "1,".repeat(500));
        let e = parse::<Vec<Metric>>("x", &RString::from(long), "metrics")
            .unwrap_err()
            .to_string();
        assert!(e.len() < 500 && e.contains("…`"), "{e}");
    }

    /// Keeps the records with a target under `sink_test`; panics on target `sink_test::panic`.
    struct Recorder(std::sync::Mutex<Vec<(log::Level, String, String)>>);

    impl log::Log for Recorder {
        fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
            assert_ne!(metadata.target(), "sink_test::panic", "a panicking logger");
            metadata.target().starts_with("sink_test")
        }

        fn log(&self, record: &log::Record<'_>) {
            if self.enabled(record.metadata()) {
                self.0.lock().unwrap().push((
                    record.level(),
                    record.target().to_owned(),
                    record.args().to_string(),
                ));
            }
        }

        fn flush(&self) {}
    }

    // The only test here that sets the process's logger.
    #[test]
    fn the_sink_lent_to_plugins_logs_through_the_hosts_logger_and_never_panics() {
        static RECORDER: Recorder = Recorder(std::sync::Mutex::new(Vec::new()));
        log::set_logger(&RECORDER).unwrap();
        log::set_max_level(log::LevelFilter::Debug);
        let sink = HostLog;
        assert_eq!(sink.max_level(), 4);
        assert!(sink.enabled(4, "sink_test".into()));
        assert!(!sink.enabled(5, "sink_test".into()), "above the maximum");
        assert!(!sink.enabled(3, "other".into()), "filtered by target");
        for invalid in [0, 6, u8::MAX] {
            assert!(!sink.enabled(invalid, "sink_test".into()));
            sink.log(invalid, "sink_test".into(), "dropped".into());
        }
        sink.log(2, "sink_test::a".into(), "warned".into());
        sink.log(5, "sink_test".into(), "too verbose".into());
        // The panic stays in the host.
        assert!(!sink.enabled(1, "sink_test::panic".into()));
        sink.log(1, "sink_test::panic".into(), "lost".into());
        assert_eq!(
            *RECORDER.0.lock().unwrap(),
            [(
                log::Level::Warn,
                "sink_test::a".to_owned(),
                "warned".to_owned()
            )]
        );
    }
}
