//! The Python package end to end: the pytest suite (python/tests) against the built extension
//! module, the built `hyperplug` binary and the built example-sampler plugin, in a virtual
//! environment under target/ that gets pytest, scikit-learn and pandas from pip.
//!
//! The extension is a dev-dependency of the host, so `cargo test` has built it; the package is
//! assembled here as a wheel holds it (the pure-Python files, and the library as
//! `hyperplug/_native.abi3.so`), so no test runs cargo or maturin.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{bin, library, plugin_dir};

/// A virtual environment with the suite's requirements, or `None` when there is no `python3`
/// (the test is skipped, except on CI, where it fails).
fn venv(root: &Path) -> Option<PathBuf> {
    if Command::new("python3").arg("--version").output().is_err() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "python3 is not installed; CI must run the Python package's tests"
        );
        eprintln!("skipped: python3 is not installed, so the Python package cannot be tested");
        return None;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-venv");
    let python = dir.join("bin").join("python");
    let ready = |python: &Path| {
        Command::new(python)
            .args(["-c", "import pytest, sklearn, pandas"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !ready(&python) {
        let out = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&dir)
            .output()
            .expect("run python3 -m venv");
        assert!(
            out.status.success(),
            "cannot make a virtual environment: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "-r"])
            .arg(root.join("python/tests/requirements.txt"))
            .output()
            .expect("run pip");
        assert!(
            out.status.success(),
            "pip could not install the suite's requirements: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Some(python)
}

/// The package as a wheel lays it out, in a fresh directory to put on `PYTHONPATH`.
fn assemble(root: &Path) -> tempfile::TempDir {
    let site = tempfile::tempdir().expect("temp dir");
    let package = site.path().join("hyperplug");
    std::fs::create_dir(&package).expect("package dir");
    for entry in std::fs::read_dir(root.join("python/hyperplug")).expect("python/hyperplug") {
        let path = entry.expect("entry").path();
        let keep = path
            .extension()
            .is_some_and(|e| e == "py" || e == "pyi" || e == "typed");
        if keep {
            std::fs::copy(&path, package.join(path.file_name().expect("name"))).expect("copy");
        }
    }
    std::fs::copy(library("_native"), package.join("_native.abi3.so")).expect("copy extension");
    site
}

#[test]
fn the_python_package_passes_its_pytest_suite() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repository root");
    let Some(python) = venv(&root) else {
        return;
    };
    let site = assemble(&root);
    let plugins = plugin_dir(&["hyperplug-example-sampler"]);
    let work = tempfile::tempdir().expect("temp dir");
    let out = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp"])
        .arg(work.path().join("pytest"))
        .arg(root.join("python/tests"))
        .current_dir(work.path())
        .env("PYTHONPATH", site.path())
        .env("HYPERPLUG_BIN", bin())
        .env("HYPERPLUG_TEST_PLUGIN_DIR", plugins.path())
        .env_remove("HYPERPLUG_PLUGIN_PATH")
        .env_remove("RUST_LOG")
        .output()
        .expect("run pytest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pytest failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every test ran: none may skip on CI, and a silent collection error would pass nothing.
    assert!(stdout.contains(" passed"), "{stdout}");
    if std::env::var("CI").as_deref() == Ok("true") {
        assert!(
            !stdout.contains("skipped"),
            "tests skipped on CI:\n{stdout}"
        );
    }
}
