//! The command objective with real child processes: `hyperplug-testprog` (this package's test
//! program) prints results and intermediate values, sleeps, crashes, hangs and ignores SIGTERM on
//! command; a hand-written trial context records reports and prunes when told.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hyperplug_command::Command;
use hyperplug_core::{
    Direction, Domain, Error, Evaluation, Metric, Objective, ObjectiveFactory, Param, Params,
    Settings, Space, TrialContext, TrialError, TrialOutcome, Value,
};
use serde_json::{Value as Json, json};

const TESTPROG: &str = env!("CARGO_BIN_EXE_hyperplug-testprog");

/// A trial context that records what it hears and prunes on cue.
#[derive(Default)]
struct Ctx {
    number: u64,
    study: String,
    devices: Vec<u32>,
    reports: Vec<(u64, f64)>,
    /// The steps reported with one value per objective.
    vectors: Vec<(u64, Vec<f64>)>,
    /// Prune once this many values have been reported.
    prune_after_reports: Option<usize>,
    /// Prune at this call of `should_prune` (counting from 1).
    prune_at_poll: Option<usize>,
    polls: usize,
    /// Created at the first report, so that the program can wait for it.
    touch_on_report: Option<PathBuf>,
    /// The first report waits until this file exists (60 s at most), as a study that has fallen
    /// behind would.
    first_report_waits_for: Option<PathBuf>,
    /// How long each report takes, as a slow store would.
    report_delay: Duration,
    /// The resource the pruner starts the trial with.
    resource: Option<u64>,
}

impl TrialContext for Ctx {
    fn number(&self) -> u64 {
        self.number
    }
    fn report(&mut self, step: u64, value: f64) {
        if let Some(gate) = self.first_report_waits_for.take() {
            let since = Instant::now();
            while !gate.exists() {
                assert!(
                    since.elapsed() < Duration::from_secs(60),
                    "the program never got past its intermediate values while the study was busy"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        std::thread::sleep(self.report_delay);
        self.reports.push((step, value));
        if let Some(p) = &self.touch_on_report {
            std::fs::write(p, b"go").expect("touch");
        }
    }
    fn report_values(&mut self, step: u64, values: &[f64]) {
        self.vectors.push((step, values.to_vec()));
    }
    fn should_prune(&mut self) -> bool {
        self.polls += 1;
        self.prune_after_reports
            .is_some_and(|k| self.reports.len() >= k)
            || self.prune_at_poll.is_some_and(|k| self.polls >= k)
    }
    fn devices(&self) -> Vec<u32> {
        self.devices.clone()
    }
    fn study_name(&self) -> String {
        self.study.clone()
    }
    fn resource(&self) -> Option<u64> {
        self.resource
    }
}

fn settings(value: Json) -> Settings {
    match value {
        Json::Object(map) => Settings::new(map),
        other => panic!("settings must be an object, got {other}"),
    }
}

/// The objective for `extra` settings, logging into `dir`.
fn objective(dir: &Path, extra: Json) -> Box<dyn Objective> {
    let mut s = settings(extra);
    if s.get("log_dir").is_none() {
        s = s.with("log_dir", dir.join("logs").display().to_string());
    }
    Command
        .create(&s)
        .unwrap_or_else(|e| panic!("settings {s:?} refused: {e}"))
}

/// The objective running the test program with `actions`.
fn testprog(dir: &Path, actions: &[&str], extra: Json) -> Box<dyn Objective> {
    let mut cmd = vec![TESTPROG.to_owned()];
    cmd.extend(actions.iter().map(|a| a.to_string()));
    let mut s = extra;
    s["cmd"] = json!(cmd);
    objective(dir, s)
}

/// `text` as a literal argument: its braces are not placeholders.
fn lit(text: &str) -> String {
    text.replace('{', "{{").replace('}', "}}")
}

fn params() -> Params {
    [
        ("lr".to_owned(), Value::Float(0.001)),
        ("layers".to_owned(), Value::Int(3)),
        ("act".to_owned(), Value::Str("it's relu".into())),
        ("batch-size".to_owned(), Value::Int(64)),
    ]
    .into_iter()
    .collect()
}

fn run(objective: &dyn Objective, ctx: &mut Ctx) -> TrialOutcome {
    objective.evaluate(&params(), ctx)
}

fn ok(outcome: TrialOutcome) -> Evaluation {
    outcome.unwrap_or_else(|e| panic!("the trial failed: {e}"))
}

fn failed(outcome: TrialOutcome) -> String {
    match outcome {
        Err(TrialError::Failed(m)) => m,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn refused(s: Json) -> String {
    match Command.create(&settings(s)) {
        Err(Error::Settings { owner, message }) => {
            assert_eq!(owner, "command");
            message
        }
        Err(e) => panic!("expected a settings error, got {e:?}"),
        Ok(_) => panic!("bad settings were accepted"),
    }
}

fn read_pid(path: &Path) -> u32 {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("no pid in {}: {e}", path.display()))
        .trim()
        .parse()
        .expect("a pid")
}

/// Whether `pid` still runs: its /proc entry exists and it is not a zombie.
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Asserts that `pid` is gone, allowing an orphan's new parent a moment to reap it.
fn assert_gone(pid: u32, what: &str) {
    let since = Instant::now();
    while running(pid) {
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "{what} (pid {pid}) still runs"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn log_of(eval: &Evaluation) -> String {
    let path = eval.attrs["log"].as_str().expect("a log path");
    std::fs::read_to_string(path).expect("the log exists")
}

#[test]
fn parameters_reach_the_program_in_arguments_environment_and_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");
    let dump = dir.path().join("dump.json");
    let obj = testprog(
        dir.path(),
        &[
            &format!("dump:{}", dump.display()),
            "out:--lr={lr} layers={layers}{{x}}",
            "out:0.5",
        ],
        json!({ "cwd": work.display().to_string(), "env": { "EXTRA": "x-{layers}", "N": 4 } }),
    );
    let mut ctx = Ctx {
        number: 7,
        study: "s1".into(),
        devices: vec![1, 3],
        ..Ctx::default()
    };
    let eval = ok(run(&*obj, &mut ctx));
    assert_eq!(eval.values, vec![0.5]);

    let dump: Json =
        serde_json::from_str(&std::fs::read_to_string(&dump).expect("dump")).expect("json");
    assert_eq!(dump["args"][2], "out:--lr=0.001 layers=3{x}");
    assert_eq!(Path::new(dump["cwd"].as_str().expect("cwd")), work);
    let env = &dump["env"];
    assert_eq!(env["HYPERPLUG_PARAM_LR"], "0.001");
    assert_eq!(env["HYPERPLUG_PARAM_LAYERS"], "3");
    assert_eq!(env["HYPERPLUG_PARAM_ACT"], "it's relu");
    assert_eq!(env["HYPERPLUG_PARAM_BATCH_SIZE"], "64");
    assert_eq!(env["HYPERPLUG_TRIAL"], "7");
    assert_eq!(env["HYPERPLUG_STUDY"], "s1");
    assert_eq!(env["HYPERPLUG_DEVICES"], "1,3");
    assert_eq!(env["CUDA_VISIBLE_DEVICES"], "1,3");
    assert_eq!(env["EXTRA"], "x-3");
    assert_eq!(env["N"], "4");
    assert_eq!(
        env["HYPERPLUG_LOG"],
        eval.attrs["log"].as_str().expect("log")
    );
    assert_eq!(
        dump["params"],
        json!({ "lr": 0.001, "layers": 3, "act": "it's relu", "batch-size": 64 })
    );
    // The parameter file was the trial's alone, in a private directory removed with the trial.
    let params_file = PathBuf::from(env["HYPERPLUG_PARAMS"].as_str().expect("params path"));
    let private = params_file.parent().expect("its directory");
    assert!(
        private
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("hyperplug-trial-")),
        "{}",
        params_file.display()
    );
    assert!(!private.exists(), "{} was left behind", private.display());
    assert!(
        log_of(&eval)
            .contains(r#"# parameters: {"lr":0.001,"layers":3,"act":"it's relu","batch-size":64}"#),
        "the log names the parameters"
    );
    if std::env::var_os("PYTHONUNBUFFERED").is_none() {
        assert_eq!(env["PYTHONUNBUFFERED"], "1");
    }
}

#[test]
fn the_resource_a_trial_is_started_with_is_a_placeholder_and_a_variable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dump = dir.path().join("dump.json");
    let obj = testprog(
        dir.path(),
        &[
            &format!("dump:{}", dump.display()),
            "out:--epochs={resource}",
            "out:1",
        ],
        json!({ "env": { "EPOCHS": "{resource}" } }),
    );
    let space = Space::new(vec![Param::new("lr", Domain::float(1e-4, 1.0))]).expect("space");
    obj.check_space(&space)
        .expect("`{resource}` names no parameter, yet is known");
    let mut ctx = Ctx {
        resource: Some(27),
        ..Ctx::default()
    };
    ok(run(&*obj, &mut ctx));
    let dump: Json =
        serde_json::from_str(&std::fs::read_to_string(&dump).expect("dump")).expect("json");
    assert_eq!(dump["args"][2], "out:--epochs=27");
    assert_eq!(dump["env"]["HYPERPLUG_RESOURCE"], "27");
    assert_eq!(dump["env"]["EPOCHS"], "27");
    // A study whose pruner sets no resource fails the trial, saying how to give one.
    let Err(TrialError::Failed(message)) = run(&*obj, &mut Ctx::default()) else {
        panic!("ran without a resource");
    };
    assert!(
        message.contains("sets none; give the pruner a `max_resource`"),
        "{message}"
    );
}

#[test]
fn without_devices_cuda_visible_devices_is_left_as_it_was() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dump = dir.path().join("dump.json");
    let obj = testprog(
        dir.path(),
        &[&format!("dump:{}", dump.display()), "out:1"],
        json!({}),
    );
    ok(run(&*obj, &mut Ctx::default()));
    let dump: Json =
        serde_json::from_str(&std::fs::read_to_string(&dump).expect("dump")).expect("json");
    assert_eq!(dump["env"]["HYPERPLUG_DEVICES"], "");
    assert_eq!(
        dump["env"]
            .get("CUDA_VISIBLE_DEVICES")
            .and_then(Json::as_str),
        std::env::var("CUDA_VISIBLE_DEVICES").ok().as_deref()
    );
    // With no study name the logs still get a directory of their own.
    let eval_dir = dir.path().join("logs");
    assert!(eval_dir.join("trial-0.log").is_file());
}

#[test]
fn optional_placeholders_drop_their_argument_and_missing_ones_fail_the_trial() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dump = dir.path().join("dump.json");
    let obj = testprog(
        dir.path(),
        &[
            &format!("dump:{}", dump.display()),
            "out:units={units?}",
            "out:2",
        ],
        json!({}),
    );
    assert_eq!(ok(run(&*obj, &mut Ctx::default())).values, vec![2.0]);
    let dump: Json =
        serde_json::from_str(&std::fs::read_to_string(&dump).expect("dump")).expect("json");
    assert_eq!(dump["args"].as_array().map(Vec::len), Some(3), "{dump}");

    let obj = testprog(dir.path(), &["out:--units={units}"], json!({}));
    let m = failed(run(&*obj, &mut Ctx::default()));
    assert!(
        m.contains("`cmd[1]` refers to `{units}`")
            && m.contains("parameters: lr, layers, act, batch-size")
            && m.contains("{units?}"),
        "{m}"
    );
}

#[test]
fn the_last_json_line_with_every_metric_is_the_result() {
    let dir = tempfile::tempdir().expect("tempdir");
    let obj = testprog(
        dir.path(),
        &[
            "out:loading",
            &lit(r#"out:{"accuracy": 0.5, "train_time": 1.0}"#),
            &lit(r#"out:{"step": 3, "accuracy": 0.99}"#),
            &lit(r#"out:{"accuracy": 0.93, "train_time": 12.1, "n_features": 30, "model": "svc"}"#),
            &lit(r#"out:{"accuracy": 0.7}"#),
            "out:bye",
        ],
        json!({ "metrics": [
            { "name": "accuracy", "direction": "maximize" },
            { "name": "train_time", "direction": "minimize" },
        ] }),
    );
    assert_eq!(
        obj.metrics(),
        vec![Metric::maximize("accuracy"), Metric::minimize("train_time")]
    );
    let mut ctx = Ctx::default();
    let eval = ok(run(&*obj, &mut ctx));
    assert_eq!(eval.values, vec![0.93, 12.1]);
    assert_eq!(eval.attrs["n_features"], Value::Int(30));
    assert_eq!(eval.attrs["model"], Value::Str("svc".into()));
    assert_eq!(eval.attrs["exit_code"], Value::Int(0));
    assert!(eval.attrs["duration_s"].as_f64().is_some_and(|d| d > 0.0));
    assert_eq!(ctx.reports, vec![(3, 0.99)]);
}

#[test]
fn step_lines_with_values_report_one_value_per_objective() {
    let dir = tempfile::tempdir().expect("tempdir");
    let obj = testprog(
        dir.path(),
        &[
            &lit(r#"out:{"step": 1, "values": [0.5, 20]}"#),
            &lit(r#"out:{"step": 2, "accuracy": 0.7}"#),
            &lit(r#"out:{"step": 3, "values": [0.9, "NaN"]}"#),
            &lit(r#"out:{"accuracy": 0.93, "train_time": 12.1}"#),
        ],
        json!({ "metrics": ["accuracy", "train_time"], "intermediate": "accuracy" }),
    );
    let mut ctx = Ctx::default();
    let eval = ok(run(&*obj, &mut ctx));
    assert_eq!(eval.values, vec![0.93, 12.1]);
    // A vector goes to report_values, a single value to report; one with NaN is passed over.
    assert_eq!(ctx.vectors, vec![(1, vec![0.5, 20.0])]);
    assert_eq!(ctx.reports, vec![(2, 0.7)]);
}

#[test]
fn a_bare_number_on_the_last_line_or_a_one_key_object_is_a_single_result() {
    let dir = tempfile::tempdir().expect("tempdir");
    let obj = testprog(dir.path(), &["out:epoch 1", "out:  -1.25e-3  "], json!({}));
    assert!(obj.metrics().is_empty(), "the study decides the direction");
    assert_eq!(ok(run(&*obj, &mut Ctx::default())).values, vec![-1.25e-3]);

    let obj = testprog(
        dir.path(),
        &[&lit(r#"out:{"loss": 0.125}"#), "out:done"],
        json!({}),
    );
    assert_eq!(ok(run(&*obj, &mut Ctx::default())).values, vec![0.125]);

    // A named metric without direction: read by name, direction left to the study.
    let obj = testprog(
        dir.path(),
        &[&lit(r#"out:{"loss": 0.5, "acc": 0.75}"#)],
        json!({ "metric": "acc" }),
    );
    assert!(obj.metrics().is_empty());
    assert_eq!(ok(run(&*obj, &mut Ctx::default())).values, vec![0.75]);

    // A number that is not on the last line is progress output, not a result.
    let obj = testprog(dir.path(), &["out:0.5", "out:done"], json!({}));
    let m = failed(run(&*obj, &mut Ctx::default()));
    assert!(m.contains("printed no result"), "{m}");
}

#[test]
fn a_nan_result_reaches_the_study_with_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let obj = testprog(
        dir.path(),
        &[&lit(r#"out:{"loss": NaN, "epochs": 3}"#)],
        json!({ "metric": { "name": "loss", "direction": "minimize" } }),
    );
    assert_eq!(obj.metrics(), vec![Metric::minimize("loss")]);
    let eval = ok(run(&*obj, &mut Ctx::default()));
    assert!(eval.values[0].is_nan());
    assert_eq!(
        eval.attrs["result_line"],
        Value::Str(r#"{"loss": NaN, "epochs": 3}"#.into())
    );
}

#[test]
fn intermediate_values_arrive_while_the_program_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let go = dir.path().join("go");
    // The program waits for the file the context writes when it hears the first value: without
    // live reporting it would give up after 30 s and exit 98.
    let obj = testprog(
        dir.path(),
        &[
            "steps:1:acc:0",
            &format!("wait-file:{}", go.display()),
            "steps:3:acc:0",
            &lit(r#"out:{"acc": 0.9}"#),
        ],
        json!({ "metric": "acc" }),
    );
    let mut ctx = Ctx {
        touch_on_report: Some(go),
        ..Ctx::default()
    };
    let eval = ok(run(&*obj, &mut ctx));
    assert_eq!(eval.values, vec![0.9]);
    let third = 1.0 / 3.0;
    assert_eq!(
        ctx.reports,
        vec![(0, 1.0), (0, third), (1, 2.0 * third), (2, 1.0)]
    );
}

#[test]
fn the_intermediate_key_can_differ_from_the_first_metric() {
    let dir = tempfile::tempdir().expect("tempdir");
    let obj = testprog(
        dir.path(),
        &[
            &lit(r#"out:{"step": 0, "acc": 0.5, "loss": 2.0}"#),
            &lit(r#"out:{"step": 1, "acc": 0.6}"#),
            &lit(r#"out:{"acc": 0.7, "loss": 1.0}"#),
        ],
        json!({ "metrics": ["acc", "loss"], "intermediate": "loss" }),
    );
    let mut ctx = Ctx::default();
    assert_eq!(ok(run(&*obj, &mut ctx)).values, vec![0.7, 1.0]);
    assert_eq!(ctx.reports, vec![(0, 2.0)], "step 1 has no loss");
}

#[test]
fn pruning_mid_run_stops_the_program() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid = dir.path().join("pid");
    let obj = testprog(
        dir.path(),
        &[
            &format!("pid:{}", pid.display()),
            "steps:1000:acc:20",
            &lit(r#"out:{"acc": 1.0}"#),
        ],
        json!({}),
    );
    let mut ctx = Ctx {
        prune_after_reports: Some(3),
        ..Ctx::default()
    };
    assert_eq!(run(&*obj, &mut ctx), Err(TrialError::Pruned));
    assert_eq!(ctx.reports.len(), 3, "nothing is reported after the prune");
    assert_gone(read_pid(&pid), "the pruned program");
    let log = std::fs::read_to_string(dir.path().join("logs/trial-0.log")).expect("log");
    assert!(
        log.contains("# pruned") && log.contains("stopped with SIGTERM"),
        "{log}"
    );
}

#[test]
fn a_silent_program_is_pruned_with_everything_it_started() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (pid, child) = (dir.path().join("pid"), dir.path().join("child"));
    let obj = testprog(
        dir.path(),
        &[
            &format!("pid:{}", pid.display()),
            &format!("spawn:{}", child.display()),
            "hang",
        ],
        json!({}),
    );
    // The pruner says stop at its fifth poll; the program prints nothing at all.
    let mut ctx = Ctx {
        prune_at_poll: Some(5),
        ..Ctx::default()
    };
    let since = Instant::now();
    assert_eq!(run(&*obj, &mut ctx), Err(TrialError::Pruned));
    assert_eq!(ctx.polls, 5);
    assert!(since.elapsed() < Duration::from_secs(60), "pruned promptly");
    assert_gone(read_pid(&pid), "the pruned program");
    assert_gone(read_pid(&child), "its child");
}

#[test]
fn a_program_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid = dir.path().join("pid");
    let obj = testprog(
        dir.path(),
        &[
            "ignore-term",
            &format!("pid:{}", pid.display()),
            "steps:1:acc:0",
            "hang",
        ],
        json!({ "grace": "300ms" }),
    );
    let mut ctx = Ctx {
        prune_after_reports: Some(1),
        ..Ctx::default()
    };
    let since = Instant::now();
    assert_eq!(run(&*obj, &mut ctx), Err(TrialError::Pruned));
    assert!(
        since.elapsed() >= Duration::from_millis(300),
        "SIGKILL came before the grace period ended"
    );
    assert_gone(read_pid(&pid), "the program that ignores SIGTERM");
    let log = std::fs::read_to_string(dir.path().join("logs/trial-0.log")).expect("log");
    assert!(
        log.contains("still running 300ms after SIGTERM: sent SIGKILL"),
        "{log}"
    );
}

#[test]
fn a_timeout_fails_the_trial_with_the_tail_of_stderr() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid = dir.path().join("pid");
    let obj = testprog(
        dir.path(),
        &[
            &format!("pid:{}", pid.display()),
            "err:loading data",
            "hang",
        ],
        json!({ "timeout": "2s" }),
    );
    let m = failed(run(&*obj, &mut Ctx::default()));
    assert!(
        m.contains("timed out after 2s (stopped with SIGTERM)"),
        "{m}"
    );
    assert!(m.ends_with("stderr ends with:\nloading data"), "{m}");
    assert!(m.contains("trial-0.log"), "{m}");
    assert_gone(read_pid(&pid), "the program that timed out");

    let obj = testprog(
        dir.path(),
        &["ignore-term", "err:stuck", "hang"],
        json!({ "timeout": "1s", "grace": "200ms" }),
    );
    let m = failed(run(&*obj, &mut Ctx::default()));
    assert!(
        m.contains("timed out after 1s (SIGKILLed after ignoring SIGTERM for 200ms)"),
        "{m}"
    );
}

#[test]
fn a_non_zero_exit_fails_the_trial_with_the_last_stderr_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let obj = testprog(
        dir.path(),
        &["out:0.5", "err-lines:30", "exit:3"],
        json!({}),
    );
    let m = failed(run(&*obj, &mut Ctx::default()));
    assert!(m.contains("exited with status 3"), "{m}");
    let tail = m.split_once("stderr ends with:\n").expect("a tail").1;
    let lines: Vec<&str> = tail.lines().collect();
    assert_eq!(lines.len(), 20, "{tail}");
    assert_eq!(lines[0], "stderr line 11");
    assert_eq!(lines[19], "stderr line 30");
}

#[test]
fn death_by_signal_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let obj = objective(
        dir.path(),
        json!({ "cmd": "echo about to die >&2; kill -KILL $$", "shell": true }),
    );
    let m = failed(run(&*obj, &mut Ctx::default()));
    assert!(m.contains("was killed by signal 9 (SIGKILL)"), "{m}");
    assert!(m.ends_with("about to die"), "{m}");
}

#[test]
fn no_result_fails_the_trial_saying_what_was_expected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let obj = testprog(
        dir.path(),
        &["out:hello", &lit(r#"out:{"accuracy": 0.9}"#)],
        json!({ "metrics": ["accuracy", "train_time"] }),
    );
    let m = failed(run(&*obj, &mut Ctx::default()));
    assert!(
        m.contains("printed no result: expected a JSON object holding `accuracy`, `train_time`")
            && m.contains(r#"`{"accuracy": 0.9}` lacks `train_time`"#)
            && m.contains("stderr was empty"),
        "{m}"
    );
}

#[test]
fn the_log_holds_both_streams_and_its_path_is_an_attribute() {
    let dir = tempfile::tempdir().expect("tempdir");
    let obj = testprog(
        dir.path(),
        &["out:hello", "err:oops", "sleep:50", "out:0.25"],
        json!({}),
    );
    let mut ctx = Ctx {
        number: 12,
        ..Ctx::default()
    };
    let eval = ok(run(&*obj, &mut ctx));
    assert_eq!(
        Path::new(eval.attrs["log"].as_str().expect("log")),
        dir.path().join("logs/trial-12.log")
    );
    let log = log_of(&eval);
    // Each stream keeps its order; how the two interleave is up to the scheduler.
    let tagged = |tag: &str| -> Vec<&str> { log.lines().filter(|l| l.starts_with(tag)).collect() };
    assert_eq!(tagged("out| "), vec!["out| hello", "out| 0.25"], "{log}");
    assert_eq!(tagged("err| "), vec!["err| oops"], "{log}");
    assert_eq!(
        log.lines().filter(|l| !l.starts_with('#')).count(),
        3,
        "{log}"
    );
    assert!(
        log.starts_with("# hyperplug trial 12 of study ``: "),
        "{log}"
    );
    assert!(log.contains("# exited with status 0 after"), "{log}");
}

#[test]
fn the_default_log_directory_is_per_study_under_the_working_directory() {
    // Only this test relies on the process's directory, and it changes nothing in it: it reads
    // where the log went.
    let obj = Command
        .create(&settings(json!({ "cmd": [TESTPROG, "out:1"] })))
        .expect("settings");
    let study = format!("command test {}", std::process::id());
    let mut ctx = Ctx {
        number: 2,
        study: study.clone(),
        ..Ctx::default()
    };
    let eval = ok(run(&*obj, &mut ctx));
    let expected = std::env::current_dir()
        .expect("cwd")
        .join("hyperplug-logs")
        .join(study.replace(' ', "_"));
    assert_eq!(
        Path::new(eval.attrs["log"].as_str().expect("log")),
        expected.join("trial-2.log")
    );
    std::fs::remove_dir_all(&expected).expect("clean up");
    let _ = std::fs::remove_dir(expected.parent().expect("parent"));
}

#[test]
fn processes_left_behind_by_a_finished_program_are_stopped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let child = dir.path().join("child");
    // The child inherits stdout and hangs: the trial must neither wait for it nor leave it.
    let obj = testprog(
        dir.path(),
        &[&format!("spawn:{}", child.display()), "out:0.75"],
        json!({}),
    );
    let eval = ok(run(&*obj, &mut Ctx::default()));
    assert_eq!(eval.values, vec![0.75]);
    assert_gone(read_pid(&child), "the leftover child");
    assert!(log_of(&eval).contains("left processes running"));
}

#[test]
fn shell_mode_quotes_values_into_single_words() {
    let dir = tempfile::tempdir().expect("tempdir");
    let obj = objective(
        dir.path(),
        json!({ "cmd": ["test", "{act}", "=", "\"it's relu\"", "&&", "echo", "{layers}"], "shell": true }),
    );
    assert_eq!(ok(run(&*obj, &mut Ctx::default())).values, vec![3.0]);
}

#[test]
fn a_program_that_cannot_start_fails_the_trial() {
    let dir = tempfile::tempdir().expect("tempdir");
    let obj = objective(dir.path(), json!({ "cmd": ["{act}"] }));
    let m = failed(run(&*obj, &mut Ctx::default()));
    assert!(m.starts_with("cannot start `it's relu`: "), "{m}");
}

#[test]
fn bad_settings_are_refused_naming_the_key() {
    let prog = TESTPROG;
    let cases: Vec<(Json, &str)> = vec![
        (json!({}), "missing field `cmd`"),
        (json!({ "cmd": [] }), "`cmd` is empty"),
        (json!({ "cmd": [""] }), "`cmd` is empty"),
        (json!({ "cmd": "python3 train.py" }), "`cmd` is the string"),
        (
            json!({ "cmd": [prog, 3] }),
            "`cmd`: element 1 is 3, not a string",
        ),
        (json!({ "cmd": 3 }), "`cmd`: expected an array of strings"),
        (
            json!({ "cmd": [prog, "{lr"] }),
            "`cmd[1]`: `{lr` has a `{` that is not closed",
        ),
        (
            json!({ "cmd": [prog], "timeout": "soon" }),
            "`timeout`: `soon` is not a duration",
        ),
        (
            json!({ "cmd": [prog], "timeout": 10 }),
            "`timeout`: expected a duration",
        ),
        (
            json!({ "cmd": [prog], "timeout": "0s" }),
            "`timeout` is zero",
        ),
        (
            json!({ "cmd": [prog], "grace": "a while" }),
            "`grace`: `a while` is not a duration",
        ),
        (
            json!({ "cmd": [prog], "timout": "1m" }),
            "unknown field `timout`",
        ),
        (
            json!({ "cmd": [prog], "metric": "a", "metrics": ["b"] }),
            "both set",
        ),
        (
            json!({ "cmd": [prog], "metrics": [] }),
            "`metrics`: the list is empty",
        ),
        (
            json!({ "cmd": [prog], "metrics": ["a", "a"] }),
            "`metrics`: metric `a` is named twice",
        ),
        (
            json!({ "cmd": [prog], "metric": "step" }),
            "`metric`: a metric cannot be named `step`",
        ),
        (
            json!({ "cmd": [prog], "metrics": [{ "name": "a", "direction": "maximize" }, "b"] }),
            "`metrics`: give every metric a direction or none",
        ),
        (
            json!({ "cmd": [prog], "metric": { "name": "a", "direction": "up" } }),
            "`metric`: unknown direction `up`",
        ),
        (
            json!({ "cmd": [prog], "metric": { "nme": "a" } }),
            "`metric`: unknown key `nme` in a metric",
        ),
        (
            json!({ "cmd": [prog], "metrics": ["a"], "intermediate": "b" }),
            "`intermediate` is `b`, which is not one of the metrics (a)",
        ),
        (
            json!({ "cmd": [prog], "cwd": "/no/such/dir" }),
            "`cwd`: `/no/such/dir` is not a directory",
        ),
        (
            json!({ "cmd": ["no-such-program-xyz"] }),
            "`cmd[0]`: program `no-such-program-xyz` is not found on PATH",
        ),
        (
            json!({ "cmd": ["./no-such-script.sh"] }),
            "`cmd[0]`: `./no-such-script.sh` does not exist",
        ),
        (
            json!({ "cmd": [prog], "env": { "A": [1] } }),
            "`env`: `A` is [1]",
        ),
        (
            json!({ "cmd": [prog], "env": { "A=B": "1" } }),
            "`env`: `A=B` cannot be",
        ),
        (
            json!({ "cmd": [prog], "env": { "A": "{x" } }),
            "`env.A`: `{x` has a `{`",
        ),
        (
            json!({ "cmd": [prog], "timeout": "500000000000y" }),
            "`timeout` is 500000000000years, longer than the 1year it may be; leave it out for no limit",
        ),
        (
            json!({ "cmd": [prog], "timeout": "2y" }),
            "`timeout` is 2years, longer than the 1year",
        ),
        (
            json!({ "cmd": [prog], "grace": "2d" }),
            "`grace` is 2days, longer than the 1day it may be",
        ),
        (
            json!({ "cmd": [prog], "log_limit": "1kB" }),
            "`log_limit` is 1000 bytes, below the 4.0 KiB it must be at least",
        ),
        (
            json!({ "cmd": [prog], "log_limit": "lots" }),
            "`log_limit`: `lots` is not a size",
        ),
        (
            json!({ "cmd": [prog], "log_limit": -1 }),
            "`log_limit`: `-1` is not a size",
        ),
        (
            json!({ "cmd": "echo '{c}'", "shell": true }),
            "`cmd[0]`: the placeholder `{c}` in `echo '{c}'` is between single quotes",
        ),
        (
            json!({ "cmd": "echo \"`echo {c}`\"", "shell": true }),
            "is inside backquotes",
        ),
    ];
    for (s, expected) in cases {
        let m = refused(s.clone());
        assert!(
            m.contains(expected),
            "settings {s}: expected `{expected}` in: {m}"
        );
    }
}

#[test]
fn directions_come_from_the_metrics_only_when_all_have_one() {
    let obj = Command
        .create(&settings(
            json!({ "cmd": [TESTPROG], "metrics": ["a", "b"] }),
        ))
        .expect("settings");
    assert!(obj.metrics().is_empty());
    assert!(obj.space().is_none(), "the study declares the space");
    let obj = Command
        .create(&settings(
            json!({ "cmd": [TESTPROG], "metric": { "name": "a", "direction": "max" } }),
        ))
        .expect("settings");
    assert_eq!(
        obj.metrics(),
        vec![Metric {
            name: "a".into(),
            direction: Direction::Maximize
        }]
    );
    assert_eq!(Command.info().name, "command");
}

#[test]
fn environment_placeholders_follow_the_same_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dump = dir.path().join("dump.json");
    let obj = testprog(
        dir.path(),
        &[&format!("dump:{}", dump.display()), "out:1"],
        json!({ "env": { "UNITS": "{units?}", "PYTHONUNBUFFERED": "0" } }),
    );
    ok(run(&*obj, &mut Ctx::default()));
    let dump: Json =
        serde_json::from_str(&std::fs::read_to_string(&dump).expect("dump")).expect("json");
    assert!(
        dump["env"].get("UNITS").is_none(),
        "an inactive parameter sets nothing"
    );
    assert_eq!(
        dump["env"]["PYTHONUNBUFFERED"], "0",
        "the study's `env` wins"
    );

    let obj = testprog(
        dir.path(),
        &["out:1"],
        json!({ "env": { "UNITS": "{units}" } }),
    );
    let m = failed(run(&*obj, &mut Ctx::default()));
    assert!(m.starts_with("`env.UNITS` refers to `{units}`"), "{m}");
}

/// Issue 11, item 5: the process running a trial (here `hyperplug-trialhost`, as a worker would)
/// dies by SIGKILL; the program and the child it started must not outlive it.
#[cfg(target_os = "linux")]
#[test]
fn a_killed_worker_takes_its_trial_s_processes_with_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (pid, child) = (dir.path().join("pid"), dir.path().join("child"));
    let settings = json!({
        "cmd": [
            TESTPROG,
            format!("spawn:{}", child.display()),
            format!("pid:{}", pid.display()),
            "hang",
        ],
        "log_dir": dir.path().join("logs").display().to_string(),
    });
    let mut worker = std::process::Command::new(env!("CARGO_BIN_EXE_hyperplug-trialhost"))
        .arg(settings.to_string())
        .spawn()
        .expect("start the worker");
    let since = Instant::now();
    while !pid.exists() {
        assert!(
            since.elapsed() < Duration::from_secs(30),
            "the trial never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let (program, grandchild) = (read_pid(&pid), read_pid(&child));
    // Should the test fail, it leaves nothing running either.
    struct Reap([u32; 2]);
    impl Drop for Reap {
        fn drop(&mut self) {
            for pid in self.0.into_iter().filter(|&p| running(p)) {
                let _ = std::process::Command::new("kill")
                    .args(["-9", &pid.to_string()])
                    .status();
            }
        }
    }
    let _reap = Reap([program, grandchild]);
    assert!(running(program) && running(grandchild));
    worker.kill().expect("SIGKILL");
    worker.wait().expect("wait");
    assert_gone(program, "the program of the killed worker's trial");
    assert_gone(grandchild, "the child that program started");
}

/// Two studies of the same name in one directory (each in its own store) run trial 0 at once:
/// each program reads its own parameters, and each trial keeps a log of its own.
#[test]
fn same_named_studies_never_share_parameter_files_or_logs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let go = dir.path().join("go");
    let (dump_a, dump_b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    // `a` starts first and reads its parameters only after `b` has started and written its own.
    let a = testprog(
        dir.path(),
        &[
            &format!("wait-file:{}", go.display()),
            &format!("dump:{}", dump_a.display()),
            "out:1",
        ],
        json!({}),
    );
    let b = testprog(
        dir.path(),
        &[
            &format!("dump:{}", dump_b.display()),
            &format!("pid:{}", go.display()),
            "out:2",
        ],
        json!({}),
    );
    let with = |x: &str| -> Params {
        [("x".to_owned(), Value::Str(x.into()))]
            .into_iter()
            .collect()
    };
    let study = |n| Ctx {
        study: "same".into(),
        number: n,
        ..Ctx::default()
    };
    let (eval_a, eval_b) = std::thread::scope(|s| {
        let a = s.spawn(|| a.evaluate(&with("from a"), &mut study(0)));
        let since = Instant::now();
        while std::fs::read_dir(dir.path().join("logs")).map_or(0, Iterator::count) == 0 {
            assert!(since.elapsed() < Duration::from_secs(30), "a never started");
            std::thread::sleep(Duration::from_millis(5));
        }
        let b = b.evaluate(&with("from b"), &mut study(0));
        (a.join().expect("a"), b)
    });
    let (eval_a, eval_b) = (ok(eval_a), ok(eval_b));
    assert_eq!((eval_a.values[0], eval_b.values[0]), (1.0, 2.0));
    let read = |p: &Path| -> Json {
        serde_json::from_str(&std::fs::read_to_string(p).expect("dump")).expect("json")
    };
    let (dump_a, dump_b) = (read(&dump_a), read(&dump_b));
    assert_eq!(dump_a["params"], json!({ "x": "from a" }));
    assert_eq!(dump_b["params"], json!({ "x": "from b" }));
    assert_ne!(
        dump_a["env"]["HYPERPLUG_PARAMS"],
        dump_b["env"]["HYPERPLUG_PARAMS"]
    );

    let (log_a, log_b) = (log_of(&eval_a), log_of(&eval_b));
    assert_ne!(eval_a.attrs["log"], eval_b.attrs["log"]);
    assert!(
        log_a.contains(r#"{"x":"from a"}"#) && log_a.contains("out| 1"),
        "{log_a}"
    );
    assert!(
        log_b.contains(r#"{"x":"from b"}"#) && log_b.contains("out| 2"),
        "{log_b}"
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("logs"))
        .expect("logs")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["trial-0-2.log", "trial-0.log"]);
}

/// 25,000 intermediate lines, then the result, while the study takes each value slowly and is
/// busy for as long as the program runs: the program is never held back, the result is read, and
/// the study hears the latest values.
#[test]
fn a_flood_of_intermediate_values_neither_holds_the_program_back_nor_loses_the_result() {
    let dir = tempfile::tempdir().expect("tempdir");
    let done = dir.path().join("done");
    const STEPS: u64 = 25_000;
    let obj = testprog(
        dir.path(),
        &[
            &format!("steps:{STEPS}:acc:0"),
            &format!("pid:{}", done.display()),
            "out:0.5",
        ],
        json!({ "metric": "acc" }),
    );
    // The first report returns only once the program has printed every step: a reader that
    // waited for the study would hold the program back forever, and this would fail after 60 s.
    let mut ctx = Ctx {
        first_report_waits_for: Some(done),
        report_delay: Duration::from_millis(2),
        ..Ctx::default()
    };
    let eval = ok(run(&*obj, &mut ctx));
    assert_eq!(eval.values, vec![0.5]);
    // At most 100 values wait at once and the study takes one per 2 ms; after the program ends
    // the reader still parses what the pipe buffered, so a few hundred reach the study, never
    // anything near the 25,000 printed (the exact count races the reader against the study).
    let reported = ctx.reports.len() as u64;
    assert!(
        (1..=1_000).contains(&reported),
        "{reported} values reported"
    );
    assert!(
        ctx.reports.windows(2).all(|w| w[0].0 < w[1].0),
        "steps in order"
    );
    assert_eq!(
        ctx.reports.last(),
        Some(&(STEPS - 1, 1.0)),
        "the last value"
    );
    let log = log_of(&eval);
    assert!(
        log.contains(&format!(
            "# {} intermediate value(s) were not reported",
            STEPS - reported
        )),
        "{}",
        &log[log.len().saturating_sub(2000)..]
    );
    assert!(
        log.contains(r#"out| {"acc":1.0,"step":24999}"#)
            || log.contains(r#"out| {"step":24999,"acc":1.0}"#)
    );
    assert!(log.contains("\nout| 0.5\n"));
}

#[test]
fn parameters_whose_variables_would_clash_fail_the_trial() {
    let dir = tempfile::tempdir().expect("tempdir");
    let obj = testprog(dir.path(), &["out:1"], json!({}));
    let params: Params = [
        ("a-b".to_owned(), Value::Int(1)),
        ("a_b".to_owned(), Value::Int(2)),
    ]
    .into_iter()
    .collect();
    let m = failed(obj.evaluate(&params, &mut Ctx::default()));
    assert_eq!(
        m,
        "parameters `a-b` and `a_b` would both be passed as the environment variable `HYPERPLUG_PARAM_A_B` (names are upper-cased, with anything but ASCII letters and digits as `_`); rename one of them in [space]"
    );
    // The study refuses such a space before its first trial.
    let space = Space::new(vec![
        Param::new("a-b", Domain::int(0, 3)),
        Param::new("a_b", Domain::int(0, 3)),
    ])
    .expect("space");
    let err = obj.check_space(&space).expect_err("clash refused");
    assert!(err.to_string().contains(&m), "{err}");
    let fine = Space::new(vec![Param::new("a_b", Domain::int(0, 3))]).expect("space");
    obj.check_space(&fine).expect("no clash");
}

#[test]
fn a_placeholder_naming_no_parameter_is_refused_before_the_first_trial() {
    let dir = tempfile::tempdir().expect("tempdir");
    let space = Space::new(vec![Param::new("lr", Domain::float(0.0, 1.0))]).expect("space");
    let make = |settings: Json| objective(dir.path(), settings);
    let typo = make(json!({"cmd": ["echo", "--lr", "{lr}", "{step: 1}"]}));
    let err = typo
        .check_space(&space)
        .expect_err("unknown placeholder")
        .to_string();
    assert!(
        err.contains("`cmd[3]` refers to `{step: 1}`") && err.contains("parameters: lr"),
        "{err}"
    );
    let env = make(json!({"cmd": ["echo"], "env": {"RATE": "{rate}"}}));
    let err = env
        .check_space(&space)
        .expect_err("unknown placeholder")
        .to_string();
    assert!(err.contains("`env.RATE` refers to `{rate}`"), "{err}");
    make(json!({"cmd": ["echo", "{lr}", "{{literal}}"], "env": {"LR": "{lr}"}}))
        .check_space(&space)
        .expect("every placeholder names a parameter");
}

#[cfg(unix)]
#[test]
fn a_planted_link_is_never_written_through_and_old_logs_are_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").expect("victim");
    std::os::unix::fs::symlink(&victim, logs.join("trial-0.log")).expect("symlink");
    let obj = testprog(dir.path(), &["out:1"], json!({}));
    let m = failed(run(&*obj, &mut Ctx::default()));
    assert!(
        m.contains("trial-0.log is a symbolic link (to ")
            && m.contains("hyperplug never writes a log through a link"),
        "{m}"
    );
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim"),
        "precious"
    );
    // A dangling link is refused too (create-exclusive never follows it).
    std::os::unix::fs::symlink(dir.path().join("nowhere"), logs.join("trial-1.log"))
        .expect("symlink");
    let m = failed(run(
        &*obj,
        &mut Ctx {
            number: 1,
            ..Ctx::default()
        },
    ));
    assert!(m.contains("trial-1.log is a symbolic link"), "{m}");
    assert!(!dir.path().join("nowhere").exists());

    // A log already there (an earlier study of that name) is kept, and the trial writes beside it.
    std::fs::write(logs.join("trial-2.log"), "old").expect("old log");
    let eval = ok(run(
        &*obj,
        &mut Ctx {
            number: 2,
            ..Ctx::default()
        },
    ));
    assert_eq!(
        Path::new(eval.attrs["log"].as_str().expect("log")),
        logs.join("trial-2-2.log")
    );
    assert_eq!(
        std::fs::read_to_string(logs.join("trial-2.log")).expect("old"),
        "old"
    );
}

#[test]
fn a_long_log_keeps_its_first_and_last_part_and_says_what_was_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 3,000 stderr lines of about 20 bytes: 60 kB into a log that keeps 8 KiB.
    let obj = testprog(
        dir.path(),
        &["err-lines:3000", "out:0.25"],
        json!({ "log_limit": "8KiB" }),
    );
    let eval = ok(run(&*obj, &mut Ctx::default()));
    assert_eq!(eval.values, vec![0.25]);
    let log = log_of(&eval);
    // stdout and stderr are read by two threads: their lines interleave as the scheduler says.
    assert!(log.contains("err| stderr line 1\n"), "the head is kept");
    assert!(log.contains("err| stderr line 3000\n"), "the tail is kept");
    // The result line may land in the cut middle (the two readers race), so it is counted, not
    // looked for: the value above proves it was read.
    let cut = log
        .lines()
        .find(|l| l.contains("cut here"))
        .expect("a line saying what was cut");
    let exit = log
        .lines()
        .find(|l| l.starts_with("# exited"))
        .expect("the closing note");
    // Only the two notes written after the cut go beyond the limit.
    assert!(
        log.len() - cut.len() - exit.len() - 2 <= 8 << 10,
        "{} bytes",
        log.len()
    );
    let lines: u64 = cut
        .trim_start_matches("# … ")
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count");
    let kept = log
        .lines()
        .filter(|l| l.starts_with("err| ") || l.starts_with("out| "))
        .count() as u64;
    assert_eq!(kept + lines, 3001, "{cut}");
    assert!(
        cut.ends_with("the log keeps its first and last 4.0 KiB (`log_limit`)"),
        "{cut}"
    );
}

/// The attacks of issue 11 with `shell = true`: none of them runs anything, each value reaches
/// the program as one argument, exactly.
#[test]
fn shell_values_are_data_never_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");
    let obj = objective(
        dir.path(),
        json!({
            "cmd": "printf '[%s]' {c} > bare; printf '[%s]' \"<{c}>\" > quoted; printf '[%s]' \"$(printf '%s' {c})\" > sub; echo 1",
            "shell": true,
            "cwd": work.display().to_string(),
        }),
    );
    for attack in [
        "'; touch pwned; '",
        "\"; touch pwned; \"",
        "$(touch pwned)",
        "`touch pwned`",
        "a b  *  ?",
        "x\ny; touch pwned",
        "\\",
        "${IFS}$(touch${IFS}pwned)",
        "",
        "-n",
    ] {
        let params: Params = [("c".to_owned(), Value::Str(attack.into()))]
            .into_iter()
            .collect();
        let eval = ok(obj.evaluate(&params, &mut Ctx::default()));
        assert_eq!(eval.values, vec![1.0]);
        let read = |f: &str| std::fs::read_to_string(work.join(f)).expect("output");
        assert_eq!(read("bare"), format!("[{attack}]"), "{attack:?}");
        assert_eq!(read("quoted"), format!("[<{attack}>]"), "{attack:?}");
        // `$(…)` drops trailing newlines, as it does for any command's output.
        assert_eq!(
            read("sub"),
            format!("[{}]", attack.trim_end_matches('\n')),
            "{attack:?}"
        );
        assert!(!work.join("pwned").exists(), "{attack:?} ran a command");
    }
}

mod shell_property {
    use proptest::prelude::*;

    use super::*;

    /// Strings rich in what a shell treats specially, and any other character but NUL (which
    /// no argument can hold).
    fn nasty() -> impl Strategy<Value = String> {
        let special = prop::sample::select(
            "'\"`$(){}[];&|<>*?~!#\\\n\t =%-"
                .chars()
                .collect::<Vec<_>>(),
        );
        let any = any::<char>().prop_filter("no NUL", |c| *c != '\0');
        prop::collection::vec(prop_oneof![3 => special, 1 => any], 0..24)
            .prop_map(|cs| cs.into_iter().collect())
    }

    fn cases() -> u32 {
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(48)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

        /// For any string, the shell receives exactly that string as one argument (bare and
        /// between double quotes) and runs nothing else: the working directory ends up holding
        /// only the two files the script writes.
        #[test]
        fn the_shell_receives_any_value_as_exactly_one_argument(value in nasty()) {
            let dir = tempfile::tempdir().expect("tempdir");
            let work = dir.path().join("work");
            std::fs::create_dir(&work).expect("mkdir");
            let obj = objective(
                dir.path(),
                json!({
                    "cmd": ["printf", "'<%s>'", "{v}", ">", "bare;", "printf", "'<%s>'", "\"={v}=\"", ">", "quoted;", "echo", "1"],
                    "shell": true,
                    "cwd": work.display().to_string(),
                }),
            );
            let params: Params = [("v".to_owned(), Value::Str(value.clone()))].into_iter().collect();
            let eval = ok(obj.evaluate(&params, &mut Ctx::default()));
            prop_assert_eq!(eval.values, vec![1.0]);
            let read = |f: &str| std::fs::read_to_string(work.join(f)).expect("output");
            prop_assert_eq!(read("bare"), format!("<{value}>"));
            prop_assert_eq!(read("quoted"), format!("<={value}=>"));
            let mut names: Vec<String> = std::fs::read_dir(&work)
                .expect("work")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            prop_assert_eq!(names, vec!["bare".to_owned(), "quoted".to_owned()]);
        }
    }
}
