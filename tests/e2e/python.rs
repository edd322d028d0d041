//! The Python package end to end: the pytest suite (python/tests) against the built extension
//! module, the built `hyperplug` binary and the built example-sampler plugin, in a virtual
//! environment under target/ that gets pytest, scikit-learn and pandas from pip.
//!
//! The extension is a dev-dependency of the host, so `cargo test` has built it; the package is
//! assembled here as a wheel holds it (the pure-Python files, and the library as
//! `hyperplug/_native.abi3.so`), so no test runs cargo or maturin. CI instead installs the
//! package as users do (`pip install ./python` into a fresh virtual environment, see `.ci/run`)
//! and names that environment's Python in `HYPERPLUG_TEST_PYTHON`: the suite then runs against
//! the installed package.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{bin, library, plugin_dir};

/// A Python with the suite's requirements: a virtual environment under target/, or, where
/// `python3 -m venv` is unavailable (Debian without python3-venv), `python3` with the
/// requirements installed into a directory of their own (`Some(dir)`, for `PYTHONPATH`).
/// `None` when there is no `python3` (the test is skipped, except on CI, where it fails).
fn python(root: &Path) -> Option<(PathBuf, Option<PathBuf>)> {
    if Command::new("python3").arg("--version").output().is_err() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "python3 is not installed; CI must run the Python package's tests"
        );
        eprintln!("skipped: python3 is not installed, so the Python package cannot be tested");
        return None;
    }
    let requirements = root.join("python/tests/requirements.txt");
    let ready = |python: &Path, site: Option<&Path>| {
        let mut p = Command::new(python);
        p.args(["-c", "import pytest, sklearn, pandas"]);
        if let Some(site) = site {
            p.env("PYTHONPATH", site);
        }
        p.output().is_ok_and(|o| o.status.success())
    };
    let pip = |python: &Path, extra: &[&std::ffi::OsStr]| {
        let out = Command::new(python)
            .args(["-m", "pip", "install", "--quiet"])
            .args(extra)
            .arg("-r")
            .arg(&requirements)
            .output()
            .expect("run pip");
        assert!(
            out.status.success(),
            "pip could not install the suite's requirements: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let venv = tmp.join("python-venv");
    let in_venv = venv.join("bin").join("python");
    if ready(&in_venv, None) {
        return Some((in_venv, None));
    }
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .is_ok_and(|o| o.status.success());
    if made {
        pip(&in_venv, &[]);
        return Some((in_venv, None));
    }
    let site = tmp.join("python-site");
    let python3 = PathBuf::from("python3");
    if !ready(&python3, Some(&site)) {
        pip(&python3, &["--target".as_ref(), site.as_os_str()]);
    }
    Some((python3, Some(site)))
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

/// `python` imports `hyperplug` from its own site-packages (installed), not from the source tree.
fn assert_installed(python: &Path, root: &Path) {
    let out = Command::new(python)
        .args([
            "-c",
            "import hyperplug, hyperplug._native as n; print(hyperplug.__file__); print(n.__file__)",
        ])
        .current_dir(std::env::temp_dir())
        .env_remove("PYTHONPATH")
        .output()
        .unwrap_or_else(|e| panic!("HYPERPLUG_TEST_PYTHON={}: {e}", python.display()));
    assert!(
        out.status.success(),
        "HYPERPLUG_TEST_PYTHON={} cannot import hyperplug; install it there with `pip install ./python[test]`: {}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let files = String::from_utf8_lossy(&out.stdout);
    for file in files.lines() {
        assert!(
            !Path::new(file).starts_with(root.join("python")),
            "HYPERPLUG_TEST_PYTHON imports hyperplug from the source tree ({file}), not an installed package"
        );
    }
}

#[test]
fn the_python_package_passes_its_pytest_suite() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repository root");
    // A Python with the package installed (CI), or the package assembled here.
    let installed = std::env::var_os("HYPERPLUG_TEST_PYTHON").map(PathBuf::from);
    let (python, requirements, site) = match installed {
        Some(python) => {
            assert_installed(&python, &root);
            (python, None, None)
        }
        None => {
            let Some((python, requirements)) = python(&root) else {
                return;
            };
            (python, requirements, Some(assemble(&root)))
        }
    };
    let plugins = plugin_dir(&["hyperplug-example-sampler"]);
    let work = tempfile::tempdir().expect("temp dir");
    let mut pytest = Command::new(&python);
    pytest
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp"])
        .arg(work.path().join("pytest"))
        .arg(root.join("python/tests"))
        .current_dir(work.path())
        .env("HYPERPLUG_BIN", bin())
        .env("HYPERPLUG_TEST_PLUGIN_DIR", plugins.path())
        .env_remove("PYTHONPATH")
        .env_remove("HYPERPLUG_PLUGIN_PATH")
        .env_remove("RUST_LOG");
    let path: Vec<PathBuf> = site
        .iter()
        .map(|s| s.path().to_path_buf())
        .chain(requirements)
        .collect();
    if !path.is_empty() {
        pytest.env(
            "PYTHONPATH",
            std::env::join_paths(path).expect("PYTHONPATH"),
        );
    }
    let out = pytest.output().expect("run pytest");
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
