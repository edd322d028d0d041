//! The suite through a built plugin library, loaded as the host loads it (by `hyperplug-loader`):
//! what an author runs from the library crate's own tests, and what
//! `hyperplug plugins check --conformance` runs.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use hyperplug_core::{Settings, panic_message};
use hyperplug_loader::LoadError;

use crate::{check_objective, check_pruner, check_strategy};

/// One strategy, objective or pruner of a library, and how it fared.
#[derive(Clone, Debug)]
pub struct Checked {
    /// `strategy`, `objective` or `pruner`.
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// `Err` with the suite's message when it failed.
    pub outcome: Result<(), String>,
}

/// Loads the library at `path` as the host does and runs the suite on every strategy
/// ([`check_strategy`]), objective ([`check_objective`]) and pruner ([`check_pruner`]) in it, each with `settings(name)`.
/// A failure is the suite's panic message; the run goes on to the next. Refused libraries are
/// the loader's error, as `hyperplug plugins check` prints it.
pub fn run_library_checks(
    path: &Path,
    settings: &dyn Fn(&str) -> Settings,
) -> Result<Vec<Checked>, LoadError> {
    let lib = hyperplug_loader::load(path)?;
    let mut out = Vec::new();
    // The loader has refused names a study file cannot use.
    let mut run = |kind: &'static str, name: String, check: &dyn Fn()| {
        let outcome = catch_unwind(AssertUnwindSafe(check)).map_err(|p| panic_message(&*p));
        out.push(Checked {
            kind,
            name,
            outcome,
        });
    };
    for factory in &lib.strategies {
        let name = factory.info().name;
        let s = settings(&name);
        run("strategy", name, &|| check_strategy(&**factory, &s));
    }
    for factory in &lib.objectives {
        let name = factory.info().name;
        let s = settings(&name);
        run("objective", name, &|| check_objective(&**factory, &s));
    }
    for factory in &lib.pruners {
        let name = factory.info().name;
        let s = settings(&name);
        run("pruner", name, &|| check_pruner(&**factory, &s));
    }
    Ok(out)
}

/// Runs the conformance suite on every strategy, objective and pruner of the built library at `path`,
/// loaded as the host loads it, with default settings; panics naming every failure (and when the
/// library cannot be loaded, or holds nothing). Call it from a test of the plugin crate:
///
/// ```no_run
/// // tests/library.rs of a crate with `crate-type = ["cdylib", "rlib"]`
/// #[test]
/// fn the_built_library_conforms() {
///     let lib = hyperplug_testkit::built_library(env!("CARGO_PKG_NAME"));
///     hyperplug_testkit::check_library(&lib);
/// }
/// ```
pub fn check_library(path: impl AsRef<Path>) {
    check_library_with(path, |_| Settings::default());
}

/// [`check_library`] with each strategy's, objective's and pruner's settings given by name (e.g.
/// `points` for a grid, the command for a command objective).
pub fn check_library_with(path: impl AsRef<Path>, settings: impl Fn(&str) -> Settings) {
    let path = path.as_ref();
    let results = run_library_checks(path, &settings)
        .unwrap_or_else(|e| panic!("conformance: the host refuses the library: {e}"));
    assert!(
        !results.is_empty(),
        "conformance: {} exports no strategy, objective or pruner; list them in `hyperplug_sdk::export_plugin!`",
        path.display()
    );
    let failures: Vec<String> = results
        .iter()
        .filter_map(|r| {
            r.outcome
                .as_ref()
                .err()
                .map(|e| format!("{} `{}`: {e}", r.kind, r.name))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "conformance: {} of {} in {} failed:\n{}",
        failures.len(),
        results.len(),
        path.display(),
        failures.join("\n")
    );
}

/// The library that `cargo test` built for `package` (e.g. `env!("CARGO_PKG_NAME")` in the
/// plugin crate's own tests): `lib<package>.so` (or the platform's name for it) in the directory
/// of the running test binary or the one above it, wherever the target directory is. The crate
/// must list `"cdylib"` with `"rlib"` in `crate-type`, so that cargo builds the library for its
/// tests.
pub fn built_library(package: &str) -> PathBuf {
    let file = format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        package.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    );
    let exe = std::env::current_exe().unwrap_or_default();
    let dirs: Vec<&Path> = exe.ancestors().skip(1).take(2).collect();
    dirs.iter()
        .map(|d| d.join(&file))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{file} was not built next to {}; give the crate `crate-type = [\"cdylib\", \"rlib\"]`",
                exe.display()
            )
        })
}
