//! The executor through the CLI: parallel trials as real child processes, devices lent without
//! oversubscription, and Ctrl-C once and twice.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{bin, report, write};

/// A study whose trials run `script` in `sh` and print `value` (among other keys, or alone), with
/// `study_extra` lines in [study] and `tail` after.
fn study(trials: u64, study_extra: &str, script: &str, tail: &str) -> String {
    format!(
        r#"
[study]
direction = "minimize"
trials = {trials}
seed = 1
{study_extra}

[strategy]
name = "random"

[objective]
name = "command"
cmd = ["sh", "-c", '{script}']
metric = "value"

[space]
x = {{ float = [0.0, 1.0] }}
{tail}
"#
    )
}

fn now_ms() -> &'static str {
    // `date +%s%3N` is GNU; plain seconds with nanoseconds cut to milliseconds works everywhere here.
    "$(($(date +%s%N) / 1000000))"
}

#[test]
fn trials_run_in_parallel_and_share_devices_without_oversubscription() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        // `{{{{`/`}}}}` become `{{`/`}}` in the file: the command objective's escape for a brace.
        "s={now}; sleep 0.3; echo \"{{{{\\\"value\\\": $HYPERPLUG_PARAM_X, \\\"device\\\": $CUDA_VISIBLE_DEVICES, \\\"start\\\": $s, \\\"end\\\": {now}}}}}\"",
        now = now_ms()
    );
    let text = study(
        8,
        "parallelism = 4",
        &script,
        "[resources]\ncpus = 1\ngpus = 1\ndevices = [3, 5]\n",
    );
    let path = write(dir.path(), "s.toml", &text);
    let out = Command::new(bin())
        .args(["run", &path, "--json"])
        .current_dir(dir.path())
        .env_remove("CUDA_VISIBLE_DEVICES")
        .output()
        .unwrap();
    let r = report(&out);
    let trials = r["trials"].as_array().unwrap();
    assert_eq!(r["counts"]["complete"], 8, "{r}");
    let spans: Vec<(u64, u64, i64)> = trials
        .iter()
        .map(|t| {
            let a = &t["user_attrs"];
            (
                a["start"].as_u64().unwrap(),
                a["end"].as_u64().unwrap(),
                a["device"].as_i64().unwrap(),
            )
        })
        .collect();
    // Trials running at the moment each one started.
    let at_start = |a: &(u64, u64, i64)| spans.iter().filter(|b| b.0 <= a.0 && a.0 < b.1).count();
    for (i, a) in spans.iter().enumerate() {
        assert!(a.2 == 3 || a.2 == 5, "device {} was never offered", a.2);
        assert!(
            at_start(a) <= 2,
            "more than two trials at once with two devices: {spans:?}"
        );
        for (j, b) in spans.iter().enumerate() {
            if i != j && b.0 < a.1 && a.0 < b.1 {
                assert_ne!(
                    a.2, b.2,
                    "device {} lent to two running trials: {spans:?}",
                    a.2
                );
            }
        }
    }
    assert!(
        spans.iter().any(|a| at_start(a) == 2),
        "trials never overlapped: {spans:?}"
    );
}

/// Starts a long study and returns the child with its stdout captured.
fn start_long_study(dir: &std::path::Path, per_trial: &str) -> std::process::Child {
    let script = format!("sleep {per_trial}; echo $HYPERPLUG_PARAM_X");
    let path = write(dir, "s.toml", &study(50, "parallelism = 2", &script, ""));
    Command::new(bin())
        .args(["run", &path, "--json"])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

fn interrupt(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

#[test]
fn ctrl_c_once_lets_running_trials_finish_starts_no_more_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let child = start_long_study(dir.path(), "0.4");
    std::thread::sleep(Duration::from_millis(1000));
    interrupt(&child);
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "it waited only for the running trials"
    );
    assert_eq!(
        out.status.code(),
        Some(130),
        "an interrupted run is not a success"
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let n = r["trials"].as_array().unwrap().len();
    assert!((2..20).contains(&n), "{n} trials");
    assert_eq!(
        r["counts"]["complete"].as_u64().unwrap() as usize,
        n,
        "every trial finished: {r}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stopping: no new trials"), "{stderr}");
    assert!(stderr.contains("run it again to continue"), "{stderr}");
}

#[test]
fn ctrl_c_twice_interrupts_running_trials_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let child = start_long_study(dir.path(), "30");
    std::thread::sleep(Duration::from_millis(800));
    interrupt(&child);
    std::thread::sleep(Duration::from_millis(300));
    interrupt(&child);
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "interrupted trials do not run 30 s"
    );
    assert_eq!(out.status.code(), Some(130));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let trials = r["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 2, "{r}");
    for t in trials {
        assert_eq!(t["state"], "failed");
        assert_eq!(t["message"], "interrupted");
    }
}
