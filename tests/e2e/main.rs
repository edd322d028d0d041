//! End-to-end tests: they run the built `hyperplug` binary and load the built plugin libraries.
//!
//! The plugin crates are dev-dependencies of the host, so `cargo test` builds every library these
//! tests load; no test runs cargo itself.

mod bench;
mod cli;
mod command;
mod conformance;
mod executor;
mod hardening;
mod nas;
mod plugins;
mod reports;
mod resources;
mod storage;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `hyperplug` binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hyperplug"))
}

/// The built plugin library of package `package` (e.g. `hyperplug-plugin-random`).
pub fn library(package: &str) -> PathBuf {
    let file = format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        package.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    );
    let dir = bin().parent().map(Path::to_path_buf).unwrap_or_default();
    // `cargo test` builds dev-dependency libraries into deps/; `cargo build` next to the binary.
    for candidate in [dir.join("deps").join(&file), dir.join(&file)] {
        if candidate.exists() {
            return candidate;
        }
    }
    panic!("{file} was not built; it should be a dev-dependency of the host");
}

/// A temporary directory holding copies of the named plugin libraries.
pub fn plugin_dir(packages: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for p in packages {
        let lib = library(p);
        let name = lib.file_name().expect("file name");
        std::fs::copy(&lib, dir.path().join(name)).expect("copy plugin");
    }
    dir
}

/// Runs the binary with `args` in `cwd`, with an empty plugin path unless `env` sets one.
pub fn hyperplug(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("HYPERPLUG_PLUGIN_PATH")
        .env_remove("RUST_LOG")
        .env("RUST_BACKTRACE", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the binary runs")
}

/// Writes `text` as `name` in `dir` and returns its path as a string.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write file");
    path.to_string_lossy().into_owned()
}

/// stdout and stderr as text.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts a run failed cleanly: non-zero exit, an `error:` line containing every `needle`,
/// and no panic or backtrace.
pub fn assert_clean_failure(out: &Output, needles: &[&str]) -> String {
    let (_, err) = text(out);
    assert!(
        !out.status.success(),
        "expected failure, got success:\n{err}"
    );
    assert!(err.contains("error:"), "no error line:\n{err}");
    for n in needles {
        assert!(err.contains(n), "expected `{n}` in:\n{err}");
    }
    for bad in ["thread '", "stack backtrace", "RUST_BACKTRACE"] {
        assert!(!err.contains(bad), "`{bad}` leaked to the user:\n{err}");
    }
    err
}

/// Parses the `--json` report on stdout.
pub fn report(out: &Output) -> serde_json::Value {
    let (stdout, stderr) = text(out);
    assert!(out.status.success(), "run failed:\n{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("bad JSON ({e}):\n{stdout}\n{stderr}"))
}

/// The study as `hyperplug studies export --format json` writes it.
pub fn export(dir: &Path, url: &str, name: &str) -> serde_json::Value {
    try_export(dir, url, name).unwrap_or_else(|e| panic!("export failed:\n{e}"))
}

/// The export, or why there is none (yet).
pub fn try_export(dir: &Path, url: &str, name: &str) -> Result<serde_json::Value, String> {
    let out = hyperplug(
        &[
            "studies",
            "export",
            name,
            "--format",
            "json",
            "--storage",
            url,
        ],
        dir,
        &[],
    );
    let (stdout, stderr) = text(&out);
    if !out.status.success() {
        return Err(stderr);
    }
    Ok(serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("bad export ({e}):\n{stdout}")))
}
