//! The registry: every strategy and objective the host knows, bundled or loaded from plugins.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyperplug_core::{ObjectiveFactory, PluginInfo, StrategyFactory};

use crate::plugin::{self, LoadError};

/// Where a strategy or objective comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Compiled into the host.
    Bundled,
    /// Loaded from this plugin library.
    Plugin(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Bundled => f.write_str("bundled"),
            Source::Plugin(p) => write!(f, "{}", p.display()),
        }
    }
}

/// One registered factory with its description and origin.
#[derive(Clone)]
pub struct Entry<F: ?Sized> {
    /// What it says about itself.
    pub info: PluginInfo,
    /// Where it comes from.
    pub source: Source,
    /// The factory.
    pub factory: Arc<F>,
}

/// A library that failed to load while scanning the plugin path.
#[derive(Debug)]
pub struct Failure {
    /// The library.
    pub path: PathBuf,
    /// Why.
    pub error: LoadError,
}

/// Every strategy and objective available to studies, by name.
#[derive(Default)]
pub struct Registry {
    strategies: Vec<Entry<dyn StrategyFactory>>,
    objectives: Vec<Entry<dyn ObjectiveFactory>>,
    failures: Vec<Failure>,
}

/// The environment variable that lists plugin directories, separated like `PATH`.
pub const PLUGIN_PATH_VAR: &str = "HYPERPLUG_PLUGIN_PATH";

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// The strategies and objectives compiled into the host: random, grid, qmc, TPE and GP search,
    /// the synthetic benchmark functions, the command objective (any program), the table
    /// objective (lookup-table benchmarks), and the MLP objective (a neural network by
    /// cross-validation).
    pub fn bundled() -> Self {
        let mut r = Registry::new();
        let strategies: [Arc<dyn StrategyFactory>; 5] = [
            Arc::new(hyperplug_random::Random),
            Arc::new(hyperplug_grid::Grid),
            Arc::new(hyperplug_qmc::Qmc),
            Arc::new(hyperplug_tpe::Tpe),
            Arc::new(hyperplug_gp::Gp),
        ];
        for f in strategies {
            r.add_strategy(f, Source::Bundled);
        }
        for f in hyperplug_synthetic::factories() {
            r.add_objective(Arc::from(f), Source::Bundled);
        }
        r.add_objective(Arc::new(hyperplug_command::Command), Source::Bundled);
        r.add_objective(Arc::new(hyperplug_table::TableFactory), Source::Bundled);
        r.add_objective(Arc::new(hyperplug_nn::Mlp), Source::Bundled);
        r
    }

    /// Registers a strategy; one with the same name is replaced, and the log says so.
    pub fn add_strategy(&mut self, factory: Arc<dyn StrategyFactory>, source: Source) {
        let info = factory.info();
        replace(
            &mut self.strategies,
            Entry {
                info,
                source,
                factory,
            },
            "strategy",
        );
    }

    /// Registers an objective; one with the same name is replaced, and the log says so.
    pub fn add_objective(&mut self, factory: Arc<dyn ObjectiveFactory>, source: Source) {
        let info = factory.info();
        replace(
            &mut self.objectives,
            Entry {
                info,
                source,
                factory,
            },
            "objective",
        );
    }

    /// Loads one plugin library and registers everything in it.
    pub fn load_library(&mut self, path: &Path) -> Result<(), LoadError> {
        let lib = plugin::load(path)?;
        for f in lib.strategies {
            self.add_strategy(f, Source::Plugin(lib.path.clone()));
        }
        for f in lib.objectives {
            self.add_objective(f, Source::Plugin(lib.path.clone()));
        }
        Ok(())
    }

    /// Loads every shared library in `dir` (sorted by name, so the order is stable). A library
    /// that fails is logged and remembered in [`Registry::failures`]; the others still load.
    pub fn load_dir(&mut self, dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            log::debug!(
                "plugin directory {} does not exist or cannot be read",
                dir.display()
            );
            return;
        };
        let mut libs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(std::env::consts::DLL_SUFFIX))
            })
            .collect();
        libs.sort();
        for path in libs {
            if let Err(error) = self.load_library(&path) {
                log::warn!("skipping plugin library: {error}");
                if let Some(details) = error.details() {
                    log::debug!("full report for {}:\n{details}", path.display());
                }
                self.failures.push(Failure { path, error });
            }
        }
    }

    /// Loads the plugin path, lowest precedence first so that later directories win: `plugins/`
    /// next to the executable, then each directory of `HYPERPLUG_PLUGIN_PATH`, then `extra` (the
    /// `--plugin-dir` options) in order.
    pub fn load_plugin_path(&mut self, extra: &[PathBuf]) {
        let mut dirs = Vec::new();
        if let Some(dir) = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|d| d.join("plugins")))
        {
            dirs.push(dir);
        }
        if let Some(path) = std::env::var_os(PLUGIN_PATH_VAR) {
            dirs.extend(std::env::split_paths(&path).filter(|p| !p.as_os_str().is_empty()));
        }
        dirs.extend(extra.iter().cloned());
        for dir in dirs {
            self.load_dir(&dir);
        }
    }

    /// The strategy called `name`.
    pub fn strategy(&self, name: &str) -> Option<&Entry<dyn StrategyFactory>> {
        self.strategies.iter().find(|e| e.info.name == name)
    }

    /// The objective called `name`.
    pub fn objective(&self, name: &str) -> Option<&Entry<dyn ObjectiveFactory>> {
        self.objectives.iter().find(|e| e.info.name == name)
    }

    /// Every strategy, by name.
    pub fn strategies(&self) -> &[Entry<dyn StrategyFactory>] {
        &self.strategies
    }

    /// Every objective, by name.
    pub fn objectives(&self) -> &[Entry<dyn ObjectiveFactory>] {
        &self.objectives
    }

    /// The libraries that failed to load.
    pub fn failures(&self) -> &[Failure] {
        &self.failures
    }

    /// The error for an unknown strategy: lists the names that exist, and any library that
    /// failed to load (it may have held the one asked for).
    pub fn unknown(&self, kind: &str, name: &str) -> String {
        let names: Vec<&str> = match kind {
            "strategy" => self
                .strategies
                .iter()
                .map(|e| e.info.name.as_str())
                .collect(),
            _ => self
                .objectives
                .iter()
                .map(|e| e.info.name.as_str())
                .collect(),
        };
        let mut msg = format!("unknown {kind} `{name}`; available: {}", names.join(", "));
        for f in &self.failures {
            msg.push_str(&format!(
                "\n  (a plugin library failed to load: {})",
                f.error
            ));
        }
        msg
    }
}

fn replace<F: ?Sized>(list: &mut Vec<Entry<F>>, entry: Entry<F>, kind: &str) {
    match list.iter_mut().find(|e| e.info.name == entry.info.name) {
        Some(old) => {
            log::info!(
                "{kind} `{}` {} from {} replaces version {} from {}",
                entry.info.name,
                entry.info.version,
                entry.source,
                old.info.version,
                old.source
            );
            *old = entry;
        }
        None => {
            let at = list
                .binary_search_by(|e| e.info.name.as_str().cmp(&entry.info.name))
                .unwrap_or_else(|i| i);
            list.insert(at, entry);
        }
    }
}
