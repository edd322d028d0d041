//! The command objective end to end: the sklearn example (`examples/sklearn`) tuned by the built
//! binary, each trial a real Python process; same-named studies in two stores at once; a killed
//! `hyperplug` taking its trial's processes with it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{hyperplug, text, write};

/// `PYTHONPATH` for a `python3` with scikit-learn (`Some(None)`: its own site has it), or `None`
/// when there is no `python3` (the test is skipped, except on CI, where it fails).
fn python_with_sklearn(root: &Path) -> Option<Option<PathBuf>> {
    if Command::new("python3").arg("--version").output().is_err() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "python3 is not installed; CI must run the sklearn example"
        );
        eprintln!("skipped: python3 is not installed, so the sklearn example cannot run");
        return None;
    }
    let importable = |path: Option<&Path>| {
        let mut p = Command::new("python3");
        p.args(["-c", "import sklearn"]);
        if let Some(path) = path {
            p.env("PYTHONPATH", path);
        }
        p.output().is_ok_and(|o| o.status.success())
    };
    if importable(None) {
        return Some(None);
    }
    let site = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sklearn-example-site");
    if !importable(Some(&site)) {
        let out = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--target"])
            .arg(&site)
            .arg("-r")
            .arg(root.join("examples/sklearn/requirements.txt"))
            .output()
            .expect("run pip");
        assert!(
            out.status.success(),
            "pip could not install the example's requirements: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Some(Some(site))
}

#[test]
fn the_sklearn_example_tunes_a_real_model_end_to_end() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repository root");
    let Some(pythonpath) = python_with_sklearn(&root) else {
        return;
    };
    // The study as shipped, with 8 trials instead of 30 and the script's absolute path, run in a
    // temporary directory that receives its logs.
    let dir = tempfile::tempdir().expect("temp dir");
    let script = root.join("examples/sklearn/train.py");
    let shipped = std::fs::read_to_string(root.join("examples/sklearn/study.toml")).expect("study");
    let study = shipped.replace("trials = 30", "trials = 8").replace(
        "\"examples/sklearn/train.py\"",
        &format!("{:?}", script.display().to_string()),
    );
    assert!(study.contains("trials = 8") && study.contains(&*script.to_string_lossy()));
    write(dir.path(), "study.toml", &study);

    let mut env = vec![];
    let pythonpath = pythonpath.map(|p| p.display().to_string());
    if let Some(p) = &pythonpath {
        env.push(("PYTHONPATH", p.as_str()));
    }
    let out = hyperplug(&["run", "study.toml", "--json"], dir.path(), &env);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("the --json report");
    assert_eq!(report["study"]["objective"], "command");
    assert_eq!(
        report["counts"],
        json!({ "running": 0, "complete": 8, "pruned": 0, "failed": 0, "queued": 0 }),
        "{stderr}"
    );

    let logs = dir.path().join("hyperplug-logs/sklearn-svc-digits");
    for t in report["trials"].as_array().expect("trials") {
        let n = t["number"].as_u64().expect("number");
        let accuracy = t["values"][0].as_f64().expect("accuracy");
        assert!((0.0..=1.0).contains(&accuracy), "trial {n}: {accuracy}");
        // One live value per fold, the last equal to the result.
        let steps = t["intermediate"].as_array().expect("intermediate");
        assert_eq!(steps.len(), 5, "trial {n}: {t}");
        assert_eq!(steps[4][1].as_f64(), Some(accuracy), "trial {n}");
        let attrs = &t["user_attrs"];
        assert_eq!(attrs["exit_code"], 0);
        assert!(
            attrs["train_time"].as_f64().is_some_and(|s| s > 0.0),
            "trial {n}: {attrs}"
        );
        let log = PathBuf::from(attrs["log"].as_str().expect("log path"));
        assert_eq!(log, logs.join(format!("trial-{n}.log")));
        let text = std::fs::read_to_string(&log).expect("the trial's log");
        assert!(text.contains("out| {\"step\": 4, \"accuracy\": "), "{text}");
        // `degree` exists for the polynomial kernel only, and so does its argument.
        let poly = t["params"]["kernel"] == "poly";
        assert_eq!(t["params"].get("degree").is_some(), poly, "trial {n}");
        assert_eq!(
            text.lines().next().is_some_and(|h| h.contains("--degree=")),
            poly,
            "trial {n}"
        );
    }
    // Seed 7 draws a poly kernel scoring 0.986 among its first 8 trials (scikit-learn 1.9.1).
    let best = report["best_trials"][0]["values"][0]
        .as_f64()
        .expect("best");
    assert!(best > 0.97, "the best of 8 trials scored {best}");
}

/// A study file named `same` whose trials print the `x` they read from the parameter file, after
/// a pause that leaves another process time to write its own file in between.
fn echo_x_study(low: f64, high: f64) -> String {
    format!(
        r#"[study]
name = "same"
direction = "minimize"
trials = 30
seed = 3

[objective]
name = "command"
cmd = "sleep 0.05; sed -n 's/.*\"x\": *\\([-+0-9.eE]*\\).*/\\1/p' \"$HYPERPLUG_PARAMS\""
shell = true

[space]
x = {{ float = [{low}, {high}] }}
"#
    )
}

/// Issue 11, item 2: two studies of the same name in one directory, in the stores `a.db` and
/// `b.db`, run at once; every stored result is computed from that trial's own parameters.
#[test]
fn same_named_studies_in_two_stores_at_once_read_only_their_own_parameters() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "a.toml", &echo_x_study(0.0, 1.0));
    write(dir.path(), "b.toml", &echo_x_study(10.0, 11.0));
    let start = |file: &str, db: &str| {
        Command::new(crate::bin())
            .args([
                "run",
                file,
                "--json",
                "--storage",
                &format!("sqlite://{db}"),
            ])
            .current_dir(dir.path())
            .env_remove("HYPERPLUG_PLUGIN_PATH")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hyperplug")
    };
    let (a, b) = (start("a.toml", "a.db"), start("b.toml", "b.db"));
    let mut logs = Vec::new();
    for (run, range) in [(a, 0.0..1.0), (b, 10.0..11.0)] {
        let out = run.wait_with_output().expect("wait");
        let r = crate::report(&out);
        assert_eq!(r["counts"]["complete"], 30, "{r}");
        for t in r["trials"].as_array().expect("trials") {
            let x = t["params"]["x"].as_f64().expect("x");
            assert!(range.contains(&x), "{t}");
            assert_eq!(t["values"][0].as_f64(), Some(x), "another study's x: {t}");
            logs.push(t["user_attrs"]["log"].as_str().expect("log").to_owned());
        }
    }
    logs.sort();
    logs.dedup();
    assert_eq!(logs.len(), 60, "every trial has a log of its own");
}

/// Whether `pid` still runs: its /proc entry exists and it is not a zombie.
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

fn wait_for_pid(path: &Path) -> u32 {
    let since = Instant::now();
    loop {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return pid;
        }
        assert!(
            since.elapsed() < Duration::from_secs(60),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Issue 11, item 5: `hyperplug` killed with SIGKILL mid-trial takes the trial's program and
/// everything in its process group with it, so that a retry never runs beside an orphan.
#[cfg(target_os = "linux")]
#[test]
fn a_killed_hyperplug_leaves_no_trial_process_behind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let study = write(
        dir.path(),
        "s.toml",
        r#"[study]
name = "orphans"
direction = "minimize"
trials = 1

[objective]
name = "command"
cmd = "echo $$ > program.tmp && mv program.tmp program.pid; sleep 300 & echo $! > child.tmp && mv child.tmp child.pid; wait"
shell = true

[space]
x = { float = [0, 1] }
"#,
    );
    let mut worker = Command::new(crate::bin())
        .args(["run", &study, "--storage", "memory"])
        .current_dir(dir.path())
        .env_remove("HYPERPLUG_PLUGIN_PATH")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hyperplug");
    let program = wait_for_pid(&dir.path().join("program.pid"));
    let child = wait_for_pid(&dir.path().join("child.pid"));
    assert!(running(program) && running(child));
    worker.kill().expect("SIGKILL"); // SIGKILL
    worker.wait().expect("wait");
    let since = Instant::now();
    while running(program) || running(child) {
        if since.elapsed() > Duration::from_secs(10) {
            // Leave nothing behind even when the test fails.
            for pid in [program, child] {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
            panic!(
                "10 s after hyperplug was killed, its trial's program ({}) and child ({}) still run",
                if running(program) { "alive" } else { "gone" },
                if running(child) { "alive" } else { "gone" },
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
