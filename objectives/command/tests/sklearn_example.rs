//! The scikit-learn example (`examples/sklearn`) run through the command objective, in process:
//! the objective settings of its `study.toml`, the real `train.py`, real scikit-learn.
//!
//! It needs `python3`; scikit-learn is installed with pip into a directory under the target
//! directory when the interpreter lacks it (so the first run needs the network). Where `python3`
//! is absent the test is skipped, saying so; on CI (`CI=true`) it fails instead.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use hyperplug_command::Command;
use hyperplug_core::{Metric, ObjectiveFactory, Params, Settings, TrialError, Value};
use hyperplug_testkit::RecordingContext;
use serde_json::Value as Json;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `PYTHONPATH` for an interpreter with scikit-learn, or `None` when it is absent (skip).
fn python_with_sklearn() -> Option<Option<String>> {
    if Process::new("python3").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "python3 is not installed; CI must run the sklearn example"
        );
        eprintln!("skipped: python3 is not installed, so the sklearn example cannot run");
        return None;
    }
    let has_sklearn = |pythonpath: Option<&Path>| {
        let mut p = Process::new("python3");
        p.args(["-c", "import sklearn"]);
        if let Some(dir) = pythonpath {
            p.env("PYTHONPATH", dir);
        }
        p.output().is_ok_and(|o| o.status.success())
    };
    if has_sklearn(None) {
        return Some(None);
    }
    let site = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sklearn-example-site");
    if !has_sklearn(Some(&site)) {
        let requirements = repo_root().join("examples/sklearn/requirements.txt");
        let out = Process::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--target"])
            .arg(&site)
            .arg("-r")
            .arg(&requirements)
            .output()
            .expect("run pip");
        assert!(
            out.status.success(),
            "pip could not install {}: {}",
            requirements.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            has_sklearn(Some(&site)),
            "sklearn installed but not importable"
        );
    }
    Some(Some(site.display().to_string()))
}

/// The `[objective]` table of the example's study file, as settings, with `overrides`.
fn study_objective(overrides: &[(&str, Json)]) -> (Settings, Vec<String>) {
    let text = std::fs::read_to_string(repo_root().join("examples/sklearn/study.toml"))
        .expect("read study.toml");
    let file: toml::Table = toml::from_str(&text).expect("parse study.toml");
    let json = serde_json::to_value(&file).expect("as JSON");
    let mut table = json["objective"].as_object().expect("[objective]").clone();
    assert_eq!(table.remove("name"), Some(Json::from("command")));
    for (k, v) in overrides {
        table.insert(k.to_string(), v.clone());
    }
    let space = json["space"]
        .as_object()
        .expect("[space]")
        .keys()
        .cloned()
        .collect();
    (Settings::new(table), space)
}

/// Trial 0 of the example's study.
fn trial_context() -> RecordingContext {
    RecordingContext {
        study: "sklearn-svc-digits".into(),
        ..RecordingContext::new(0)
    }
}

fn params(kernel: &str, c: f64, gamma: f64, degree: Option<i64>) -> Params {
    let mut p: Params = [
        ("kernel".to_owned(), Value::Str(kernel.into())),
        ("C".to_owned(), Value::Float(c)),
        ("gamma".to_owned(), Value::Float(gamma)),
    ]
    .into_iter()
    .collect();
    if let Some(d) = degree {
        p.insert("degree".into(), Value::Int(d));
    }
    p
}

#[test]
fn the_sklearn_example_tunes_a_real_model() {
    let Some(pythonpath) = python_with_sklearn() else {
        return;
    };
    let logs = tempfile::tempdir().expect("tempdir");
    let root = repo_root().canonicalize().expect("repo root");
    let (settings, space) = study_objective(&[]);
    let mut env = settings
        .get("env")
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(p) = &pythonpath {
        env.insert("PYTHONPATH".into(), p.clone().into());
    }
    // The study file's paths are relative to the repository root, where it is meant to be run.
    let settings = settings
        .with("cwd", root.display().to_string())
        .with("log_dir", logs.path().display().to_string())
        .with("env", env);
    let objective = Command
        .create(&settings)
        .expect("the study's objective settings");
    assert!(
        objective.metrics().is_empty(),
        "the study file's direction decides"
    );
    let mut names = params("poly", 1.0, 1e-3, Some(3))
        .keys()
        .cloned()
        .collect::<Vec<_>>();
    names.sort();
    let mut declared = space.clone();
    declared.sort();
    assert_eq!(
        names, declared,
        "the parameters the test sends are the study's"
    );

    // A good RBF kernel: near-perfect accuracy, five folds reported live, extras kept.
    let mut ctx = trial_context();
    let eval = objective
        .evaluate(&params("rbf", 10.0, 1e-3, None), &mut ctx)
        .unwrap_or_else(|e| panic!("{e}"));
    let accuracy = eval.values[0];
    assert!(accuracy > 0.98, "rbf C=10 gamma=1e-3 scored {accuracy}");
    assert_eq!(
        ctx.reports.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    assert_eq!(
        ctx.reports[4].1, accuracy,
        "the last fold's running mean is the result"
    );
    assert!(eval.attrs["train_time"].as_f64().is_some_and(|t| t > 0.0));
    assert!(
        eval.attrs["support_vectors"]
            .as_f64()
            .is_some_and(|n| n > 100.0)
    );
    let log = std::fs::read_to_string(eval.attrs["log"].as_str().expect("log")).expect("log");
    let header = log.lines().next().expect("a header");
    assert!(
        header.contains("--kernel rbf --C 10 --gamma 0.001") && !header.contains("--degree"),
        "an inactive `degree` drops its argument: {header}"
    );

    // Too large a gamma: every test digit looks alike, accuracy near chance.
    let eval = objective
        .evaluate(&params("rbf", 10.0, 0.1, None), &mut trial_context())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        eval.values[0] < 0.2,
        "rbf gamma=0.1 scored {}",
        eval.values[0]
    );

    // The conditional parameter reaches the program when active.
    let eval = objective
        .evaluate(&params("poly", 1.0, 1e-3, Some(3)), &mut trial_context())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        eval.values[0] > 0.98,
        "poly degree 3 scored {}",
        eval.values[0]
    );
    let log = std::fs::read_to_string(eval.attrs["log"].as_str().expect("log")).expect("log");
    assert!(
        log.lines()
            .next()
            .is_some_and(|h| h.ends_with("--degree=3")),
        "{log}"
    );

    // Pruned after the first fold: Python is stopped, the trial says so.
    let mut ctx = RecordingContext {
        prune_after: Some(1),
        ..trial_context()
    };
    let outcome = objective.evaluate(&params("sigmoid", 1.0, 1e-3, None), &mut ctx);
    assert_eq!(outcome, Err(TrialError::Pruned));
    assert_eq!(ctx.reports.len(), 1);

    // A value the script refuses: its stderr explains the failure.
    match objective.evaluate(&params("rbf", -1.0, 1e-3, None), &mut trial_context()) {
        Err(TrialError::Failed(m)) => assert!(
            m.contains("exited with status 2") && m.contains("C and gamma must be positive"),
            "{m}"
        ),
        other => panic!("expected a failure, got {other:?}"),
    }

    // The same program as a two-objective study: accuracy up, training time down.
    let two = settings.clone().with(
        "metrics",
        serde_json::json!([
            { "name": "accuracy", "direction": "maximize" },
            { "name": "train_time", "direction": "minimize" },
        ]),
    );
    let mut map = serde_json::to_value(&two).expect("json");
    map.as_object_mut().expect("object").remove("metric");
    let two = Settings::new(map.as_object().expect("object").clone());
    let objective = Command.create(&two).expect("two metrics");
    assert_eq!(
        objective.metrics(),
        vec![Metric::maximize("accuracy"), Metric::minimize("train_time")]
    );
    let eval = objective
        .evaluate(&params("poly", 1.0, 1e-3, Some(2)), &mut trial_context())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(eval.values.len(), 2);
    assert!(
        eval.values[0] > 0.95 && eval.values[1] > 0.0,
        "{:?}",
        eval.values
    );
}
