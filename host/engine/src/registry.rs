//! The registry: every strategy, objective and pruner the host knows, bundled or loaded from
//! plugins.
//!
//! One name, one algorithm: a plugin that exports a bundled name replaces the bundled one, and of
//! two libraries exporting one name the later on the plugin path wins. Both are warnings naming
//! both sides, and `plugins list` marks what replaced what; a study file can pin the library a
//! name comes from (`library = "..."` in its `[strategy]` or `[objective]` table), which also reaches
//! the replaced ones. Names may be vendor-qualified (`acme/de`), so that an organization's
//! algorithms never meet another's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyperplug_core::{ObjectiveFactory, PluginInfo, PrunerFactory, StrategyFactory};

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

impl Source {
    /// Whether `pin`, a study file's `library` value, names this source: `bundled`, the library's
    /// path (relative to the current directory, or as it was loaded), its file name, or the name
    /// of the crate it was built from (`crate_name`).
    pub fn matches(&self, pin: &str, crate_name: Option<&str>) -> bool {
        match self {
            Source::Bundled => pin == "bundled",
            Source::Plugin(path) => {
                let pinned = Path::new(pin);
                path.as_path() == pinned
                    || std::path::absolute(pinned).is_ok_and(|p| p == *path)
                    || path.file_name().is_some_and(|n| n == pin)
                    || crate_name.is_some_and(|c| c == pin || c.replace('-', "_") == pin)
            }
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
    /// The sources of the entries of the same name this one replaced, earliest first.
    pub replaced: Vec<Source>,
}

/// A plugin library that loaded, as `plugins list` shows it.
#[derive(Clone, Debug)]
pub struct LoadedLibrary {
    /// Its file.
    pub path: PathBuf,
    /// The plugin ABI version it was built against.
    pub abi_version: String,
    /// Its own name, version and SDK; `None` for an ABI 1.0 library, which does not say.
    pub info: Option<hyperplug_abi::LibraryInfoJson>,
    /// One line on it.
    pub description: String,
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
    pruners: Vec<Entry<dyn PrunerFactory>>,
    /// Entries replaced by a later one of the same name: reachable only by a `library` pin.
    replaced_strategies: Vec<Entry<dyn StrategyFactory>>,
    replaced_objectives: Vec<Entry<dyn ObjectiveFactory>>,
    replaced_pruners: Vec<Entry<dyn PrunerFactory>>,
    libraries: Vec<LoadedLibrary>,
    failures: Vec<Failure>,
}

/// One bundled strategy: its factory, and the plugin package that exports the same algorithm
/// (for the conformance run through plugins).
pub struct BundledStrategy {
    /// The strategy's name in study files.
    pub name: &'static str,
    /// The plugin package (`plugins/`) that exports it too.
    pub plugin: &'static str,
    /// Makes its factory.
    pub factory: fn() -> Arc<dyn StrategyFactory>,
}

/// The bundled strategies: the one list that [`Registry::bundled`] registers, the end-to-end
/// conformance run checks (in-process and through each plugin package) and the README's
/// strategy table is checked against. A new bundled strategy is one row here (and its crate in
/// the manifests).
pub const BUNDLED_STRATEGIES: &[BundledStrategy] = &[
    BundledStrategy {
        name: "random",
        plugin: "hyperplug-plugin-random",
        factory: || Arc::new(hyperplug_random::Random),
    },
    BundledStrategy {
        name: "grid",
        plugin: "hyperplug-plugin-grid",
        factory: || Arc::new(hyperplug_grid::Grid),
    },
    BundledStrategy {
        name: "qmc",
        plugin: "hyperplug-plugin-qmc",
        factory: || Arc::new(hyperplug_qmc::Qmc),
    },
    BundledStrategy {
        name: "tpe",
        plugin: "hyperplug-plugin-tpe",
        factory: || Arc::new(hyperplug_tpe::Tpe),
    },
    BundledStrategy {
        name: "cmaes",
        plugin: "hyperplug-plugin-cmaes",
        factory: || Arc::new(hyperplug_cmaes::CmaEs),
    },
    BundledStrategy {
        name: "evolution",
        plugin: "hyperplug-plugin-evolution",
        factory: || Arc::new(hyperplug_evolution::Evolution),
    },
    BundledStrategy {
        name: "reinforce",
        plugin: "hyperplug-plugin-reinforce",
        factory: || Arc::new(hyperplug_reinforce::Reinforce),
    },
    BundledStrategy {
        name: "ga",
        plugin: "hyperplug-plugin-genetic",
        factory: || Arc::new(hyperplug_genetic::Genetic),
    },
    BundledStrategy {
        name: "de",
        plugin: "hyperplug-plugin-genetic",
        factory: || Arc::new(hyperplug_genetic::DifferentialEvolution),
    },
    BundledStrategy {
        name: "nsga2",
        plugin: "hyperplug-plugin-nsga",
        factory: || Arc::new(hyperplug_nsga::Nsga2),
    },
    BundledStrategy {
        name: "nsga3",
        plugin: "hyperplug-plugin-nsga",
        factory: || Arc::new(hyperplug_nsga::Nsga3),
    },
    BundledStrategy {
        name: "gp",
        plugin: "hyperplug-plugin-gp",
        factory: || Arc::new(hyperplug_gp::Gp),
    },
    BundledStrategy {
        name: "bohb",
        plugin: "hyperplug-plugin-pruners",
        factory: || Arc::new(hyperplug_bohb::Bohb),
    },
];

/// The plugin package that exports every bundled pruner ([`hyperplug_pruners::factories`]) too.
pub const PRUNERS_PLUGIN: &str = "hyperplug-plugin-pruners";

/// The environment variable that lists plugin directories, separated like `PATH`.
pub const PLUGIN_PATH_VAR: &str = "HYPERPLUG_PLUGIN_PATH";

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// The strategies, objectives and pruners compiled into the host: random, grid, qmc, TPE,
    /// GP and CMA-ES search, regularized evolution and REINFORCE, the genetic algorithm,
    /// differential evolution, NSGA-II and NSGA-III, BOHB,
    /// the synthetic benchmark functions, the command objective (any program) and the table
    /// objective (lookup-table benchmarks), and every pruner of `hyperplug-pruners` (median,
    /// percentile, patient, threshold, Wilcoxon, successive halving, ASHA, Hyperband).
    ///
    /// Objectives too heavy for the engine's dependents (the CLI's MLP builds candle) are added
    /// by their front end on top, with [`Registry::add_objective`] and [`Source::Bundled`]: they
    /// then list and resolve as bundled ones.
    pub fn bundled() -> Self {
        let mut r = Registry::new();
        for b in BUNDLED_STRATEGIES {
            r.add_strategy((b.factory)(), Source::Bundled);
        }
        for f in hyperplug_synthetic::factories() {
            r.add_objective(Arc::from(f), Source::Bundled);
        }
        r.add_objective(Arc::new(hyperplug_command::Command), Source::Bundled);
        r.add_objective(Arc::new(hyperplug_table::TableFactory), Source::Bundled);
        for f in hyperplug_pruners::factories() {
            r.add_pruner(Arc::from(f), Source::Bundled);
        }
        r
    }

    /// Registers a pruner, as [`Registry::add_strategy`] does a strategy.
    pub fn add_pruner(&mut self, factory: Arc<dyn PrunerFactory>, source: Source) {
        let info = factory.info();
        if let Some(replaced) = replace(
            &mut self.pruners,
            Entry {
                info,
                source,
                factory,
                replaced: Vec::new(),
            },
            "pruner",
        ) {
            self.replaced_pruners.push(replaced);
        }
    }

    /// Registers a strategy; one with the same name is replaced, with a warning naming both.
    /// A name that cannot be written in a study file is refused with a warning.
    pub fn add_strategy(&mut self, factory: Arc<dyn StrategyFactory>, source: Source) {
        let info = factory.info();
        if let Some(replaced) = replace(
            &mut self.strategies,
            Entry {
                info,
                source,
                factory,
                replaced: Vec::new(),
            },
            "strategy",
        ) {
            self.replaced_strategies.push(replaced);
        }
    }

    /// Registers an objective, as [`Registry::add_strategy`] does a strategy.
    pub fn add_objective(&mut self, factory: Arc<dyn ObjectiveFactory>, source: Source) {
        let info = factory.info();
        if let Some(replaced) = replace(
            &mut self.objectives,
            Entry {
                info,
                source,
                factory,
                replaced: Vec::new(),
            },
            "objective",
        ) {
            self.replaced_objectives.push(replaced);
        }
    }

    /// Loads one plugin library and registers everything in it; returns it as listed. A file
    /// already loaded (its directory named twice on the plugin path, or a link to it such as
    /// `libacme.so -> libacme.so.1`) is not registered again: it would replace its own names,
    /// with a warning that it exports them twice.
    pub fn load_library(&mut self, path: &Path) -> Result<LoadedLibrary, LoadError> {
        let file = plugin::resolve(path)?;
        let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let target = real(&file);
        if let Some(loaded) = self.libraries.iter().find(|l| real(&l.path) == target) {
            return Ok(loaded.clone());
        }
        let lib = plugin::load(&file)?;
        for f in lib.strategies.iter() {
            self.add_strategy(f.clone(), Source::Plugin(lib.path.clone()));
        }
        for f in lib.objectives.iter() {
            self.add_objective(f.clone(), Source::Plugin(lib.path.clone()));
        }
        for f in lib.pruners.iter() {
            self.add_pruner(f.clone(), Source::Plugin(lib.path.clone()));
        }
        let loaded = LoadedLibrary {
            description: lib.describe(),
            path: lib.path,
            abi_version: lib.abi_version,
            info: lib.info,
        };
        self.libraries.push(loaded.clone());
        Ok(loaded)
    }

    /// The libraries that loaded, in load order.
    pub fn libraries(&self) -> &[LoadedLibrary] {
        &self.libraries
    }

    /// The strategy called `name`, from the library `pin` names when given (see
    /// [`Source::matches`]), even one that another library replaced.
    pub fn find_strategy(
        &self,
        name: &str,
        pin: Option<&str>,
    ) -> Result<&Entry<dyn StrategyFactory>, String> {
        self.find(
            "strategy",
            name,
            pin,
            &self.strategies,
            &self.replaced_strategies,
        )
    }

    /// The objective called `name`, from the library `pin` names when given.
    pub fn find_objective(
        &self,
        name: &str,
        pin: Option<&str>,
    ) -> Result<&Entry<dyn ObjectiveFactory>, String> {
        self.find(
            "objective",
            name,
            pin,
            &self.objectives,
            &self.replaced_objectives,
        )
    }

    /// The pruner called `name`, from the library `pin` names when given.
    pub fn find_pruner(
        &self,
        name: &str,
        pin: Option<&str>,
    ) -> Result<&Entry<dyn PrunerFactory>, String> {
        self.find("pruner", name, pin, &self.pruners, &self.replaced_pruners)
    }

    fn find<'a, F: ?Sized>(
        &'a self,
        kind: &str,
        name: &str,
        pin: Option<&str>,
        active: &'a [Entry<F>],
        replaced: &'a [Entry<F>],
    ) -> Result<&'a Entry<F>, String> {
        let Some(pin) = pin else {
            return active
                .iter()
                .find(|e| e.info.name == name)
                .ok_or_else(|| self.unknown(kind, name));
        };
        let crate_of = |source: &Source| match source {
            Source::Plugin(path) => self
                .libraries
                .iter()
                .find(|l| l.path == *path)
                .and_then(|l| l.info.as_ref().map(|i| i.name.as_str())),
            Source::Bundled => None,
        };
        // In load order: the replaced ones first.
        let named: Vec<&Entry<F>> = replaced
            .iter()
            .chain(active)
            .filter(|e| e.info.name == name)
            .collect();
        if named.is_empty() {
            return Err(self.unknown(kind, name));
        }
        named
            .iter()
            .find(|e| e.source.matches(pin, crate_of(&e.source)))
            .copied()
            .ok_or_else(|| {
                let from: Vec<String> = named.iter().map(|e| e.source.to_string()).collect();
                format!(
                    "{kind} `{name}` is pinned to library `{pin}`, which does not provide it; it comes from {}. Put that library on the plugin path (--plugin-dir or {PLUGIN_PATH_VAR}), or change `library` to a path, file name or crate name of one of these",
                    from.join(", ")
                )
            })
    }

    /// Loads every shared library in `dir` (sorted by name, so the order is stable). A library
    /// that fails is logged and remembered in [`Registry::failures`]; the others still load. A
    /// `dir` that does not exist holds nothing; one that cannot be read is a warning.
    pub fn load_dir(&mut self, dir: &Path) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            // The plugin path may name directories that do not exist (`plugins/` next to the
            // executable usually does not), as `PATH` may.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                log::debug!("plugin directory {} does not exist", dir.display());
                return;
            }
            // One that exists but cannot be read (a library's own path given as a directory, a
            // directory without permission) leaves out every plugin meant to be in it.
            Err(e) => {
                log::warn!(
                    "plugin directory {}: cannot be read as a directory of plugin libraries ({e}); its plugins are left out. Give {PLUGIN_PATH_VAR} and --plugin-dir directories, not files",
                    dir.display()
                );
                return;
            }
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

    /// The pruner called `name`.
    pub fn pruner(&self, name: &str) -> Option<&Entry<dyn PrunerFactory>> {
        self.pruners.iter().find(|e| e.info.name == name)
    }

    /// Every pruner, by name.
    pub fn pruners(&self) -> &[Entry<dyn PrunerFactory>] {
        &self.pruners
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
            "pruner" => self.pruners.iter().map(|e| e.info.name.as_str()).collect(),
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

/// Puts `entry` in `list`, sorted by name; returns the entry it replaced, if any, after warning
/// with both sources.
fn replace<F: ?Sized>(
    list: &mut Vec<Entry<F>>,
    mut entry: Entry<F>,
    kind: &str,
) -> Option<Entry<F>> {
    if let Err(why) = plugin::check_name(&entry.info.name) {
        log::warn!("skipping {kind} from {}: {why}", entry.source);
        return None;
    }
    match list.iter_mut().find(|e| e.info.name == entry.info.name) {
        Some(old) => {
            let name = &entry.info.name;
            match &old.source {
                Source::Bundled => log::warn!(
                    "{kind} `{name}` {} from {} replaces the bundled `{name}` {}; pin `library = \"bundled\"` in a study file to use the bundled one, or give the plugin's a vendor-qualified name (`acme/{name}`)",
                    entry.info.version,
                    entry.source,
                    old.info.version,
                ),
                Source::Plugin(_) => log::warn!(
                    "{kind} `{name}` is exported by both {} and {}; the latter, later on the plugin path, wins. Pin `library = \"...\"` in a study file to choose, or give them vendor-qualified names (`acme/{name}`)",
                    old.source,
                    entry.source,
                ),
            }
            entry.replaced = std::mem::take(&mut old.replaced);
            entry.replaced.push(old.source.clone());
            Some(std::mem::replace(old, entry))
        }
        None => {
            let at = list
                .binary_search_by(|e| e.info.name.as_str().cmp(&entry.info.name))
                .unwrap_or_else(|i| i);
            list.insert(at, entry);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use hyperplug_core::{Error, Strategy, StudySetup};

    use super::*;

    /// Random search under another name.
    struct Named(&'static str);

    impl StrategyFactory for Named {
        fn info(&self) -> PluginInfo {
            PluginInfo {
                name: self.0.into(),
                ..hyperplug_random::Random.info()
            }
        }

        fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
            hyperplug_random::Random.create(setup)
        }
    }

    #[test]
    fn each_bundled_strategy_is_registered_under_its_listed_name() {
        let r = Registry::bundled();
        for b in BUNDLED_STRATEGIES {
            assert_eq!((b.factory)().info().name, b.name);
            assert_eq!(
                r.strategy(b.name).map(|e| &e.source),
                Some(&Source::Bundled)
            );
        }
        assert_eq!(r.strategies().len(), BUNDLED_STRATEGIES.len());
    }

    #[test]
    fn vendor_qualified_names_are_kept_apart_and_unusable_names_are_skipped() {
        let mut r = Registry::bundled();
        let bundled = r.strategies().len();
        let lib = |name: &str| Source::Plugin(PathBuf::from(format!("/p/lib{name}.so")));
        r.add_strategy(Arc::new(Named("acme/random")), lib("acme"));
        r.add_strategy(Arc::new(Named("globex/random")), lib("globex"));
        for bad in ["", "a b", "acme/", "/x", "a/b/c", "x\n"] {
            r.add_strategy(Arc::new(Named(bad)), lib("bad"));
        }
        let vendored: Vec<&str> = r
            .strategies()
            .iter()
            .map(|e| e.info.name.as_str())
            .filter(|name| name.contains('/'))
            .collect();
        assert_eq!(vendored, ["acme/random", "globex/random"]);
        assert_eq!(
            r.strategies().len(),
            bundled + 2,
            "the bad names are skipped"
        );
        assert_eq!(
            r.find_strategy("acme/random", None)
                .map(|e| e.source.clone()),
            Ok(lib("acme"))
        );
        assert_eq!(
            r.find_strategy("random", None).map(|e| e.source.clone()),
            Ok(Source::Bundled)
        );
        assert!(r.strategies().iter().all(|e| e.replaced.is_empty()));
    }

    #[test]
    fn a_replaced_entry_stays_reachable_by_a_pin_and_the_winner_says_what_it_replaced() {
        let mut r = Registry::bundled();
        let a = Source::Plugin(PathBuf::from("/p/liba.so"));
        let b = Source::Plugin(PathBuf::from("/q/libb.so"));
        r.add_strategy(Arc::new(Named("random")), a.clone());
        r.add_strategy(Arc::new(Named("random")), b.clone());
        let winner = r.find_strategy("random", None).unwrap();
        assert_eq!(winner.source, b);
        assert_eq!(winner.replaced, [Source::Bundled, a.clone()]);
        let pinned = |pin| {
            r.find_strategy("random", Some(pin))
                .map(|e| e.source.clone())
        };
        assert_eq!(pinned("bundled"), Ok(Source::Bundled));
        assert_eq!(pinned("liba.so"), Ok(a.clone()));
        assert_eq!(pinned("/p/liba.so"), Ok(a));
        assert_eq!(pinned("libb.so"), Ok(b));
        let e = pinned("libc.so").unwrap_err();
        assert!(
            e.contains("pinned to library `libc.so`, which does not provide it")
                && e.contains("bundled, /p/liba.so, /q/libb.so"),
            "{e}"
        );
        assert!(
            r.find_strategy("nope", Some("bundled"))
                .err()
                .unwrap_or_default()
                .contains("unknown strategy `nope`")
        );
    }
}
