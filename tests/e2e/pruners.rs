//! Pruners end to end: a `[pruner]` table in a study file, command objectives that report
//! steps, two worker processes on one SQLite store, and a resumed Hyperband study.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value as Json;

use crate::{assert_clean_failure, bin, export, hyperplug, plugin_dir, text, write};

/// The `awk` program of [`study`]: braces doubled, as the command objective reads `{` as a
/// placeholder.
const AWK: &str = r#"BEGIN {{ for (s = 1; s <= n; s++) {{ printf "{{\"step\": %d, \"loss\": %f}}\n", s, x + 1 / s; fflush(); if (pause > 0) system("sleep " pause) }} printf "{{\"loss\": %f}}\n", x }}"#;

/// A study file whose objective is `awk`: trial x reports `x + 1/s` at steps 1..=`steps` (the
/// resource when the pruner gives one), `pause` seconds apart, and ends with `x`.
fn study(name: &str, trials: u64, steps: &str, pause: f64, pruner: &str) -> String {
    format!(
        r#"[study]
name = "{name}"
direction = "minimize"
trials = {trials}
seed = 3
storage = "sqlite://p.db"
[strategy]
name = "random"
[objective]
name = "command"
cmd = ["awk", "-v", "x={{x}}", "-v", "n={steps}", "-v", "pause={pause}", '{AWK}']
metric = "loss"
{pruner}
[space]
x = {{ float = [0, 1] }}
"#
    )
}

fn trials(dir: &Path, name: &str) -> Vec<Json> {
    export(dir, "sqlite://p.db", name)["trials"]
        .as_array()
        .expect("trials")
        .clone()
}

fn steps(t: &Json) -> usize {
    t["intermediate"].as_array().map_or(0, Vec::len)
}

#[test]
fn the_median_pruner_stops_command_trials_that_report_steps() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(
        dir.path(),
        "s.toml",
        &study(
            "median",
            16,
            "6",
            0.05,
            "[pruner]\nname = \"median\"\nn_startup_trials = 3",
        ),
    );
    let out = hyperplug(&["run", &file], dir.path(), &[]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let all = trials(dir.path(), "median");
    assert_eq!(all.len(), 16);
    let pruned: Vec<&Json> = all.iter().filter(|t| t["state"] == "pruned").collect();
    assert!(pruned.len() >= 4, "{} of 16 pruned", pruned.len());
    // The values each reported are kept; most stopped well before the end (a decision on the
    // last step may come after the program has printed it).
    assert!(pruned.iter().all(|t| (1..=6).contains(&steps(t))));
    let early = pruned.iter().filter(|t| steps(t) < 5).count();
    assert!(2 * early >= pruned.len(), "{pruned:?}");
    for t in all.iter().filter(|t| t["state"] == "complete") {
        assert_eq!(steps(t), 6, "{t}");
    }
    assert!(stderr.contains("pruned at step"), "{stderr}");
    // The studies listing counts them.
    let out = hyperplug(
        &["studies", "list", "--storage", "sqlite://p.db"],
        dir.path(),
        &[],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("pruned"), "{stdout}");
}

#[test]
fn a_pruner_table_with_an_unknown_name_or_setting_is_refused_before_any_trial() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(
        dir.path(),
        "s.toml",
        &study("bad", 4, "3", 0.0, "[pruner]\nname = \"medain\""),
    );
    let out = hyperplug(&["run", &file], dir.path(), &[]);
    assert_clean_failure(&out, &["unknown pruner `medain`", "median"]);
    let file = write(
        dir.path(),
        "s.toml",
        &study(
            "bad",
            4,
            "3",
            0.0,
            "[pruner]\nname = \"hyperband\"\nmax_resorce = 9",
        ),
    );
    let out = hyperplug(&["run", &file], dir.path(), &[]);
    assert_clean_failure(&out, &["hyperband", "max_resorce"]);
    assert!(!dir.path().join("p.db").exists(), "no store was touched");
}

fn spawn(args: &[&str], cwd: &Path) -> Child {
    Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .env_remove("HYPERPLUG_PLUGIN_PATH")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs")
}

/// Two worker processes share one SQLite store under ASHA: both run trials, each judged at the
/// rungs (steps 1 and 3 of 9) against every trial that reached them, either worker's.
#[test]
fn two_workers_share_asha_rungs_through_one_sqlite_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(
        dir.path(),
        "s.toml",
        &study(
            "asha",
            30,
            "{resource}",
            0.02,
            "[pruner]\nname = \"asha\"\nmax_resource = 9",
        ),
    );
    let out = hyperplug(
        &["studies", "create", &file, "--storage", "sqlite://p.db"],
        dir.path(),
        &[],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let worker = ["worker", "--study", "asha", "--storage", "sqlite://p.db"];
    let children = vec![spawn(&worker, dir.path()), spawn(&worker, dir.path())];
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{}", text(&out).1);
    }
    let all = trials(dir.path(), "asha");
    assert_eq!(all.len(), 30);
    let workers: std::collections::HashSet<&str> =
        all.iter().filter_map(|t| t["worker"].as_str()).collect();
    assert_eq!(workers.len(), 2, "both workers ran trials");
    let pruned: Vec<&Json> = all.iter().filter(|t| t["state"] == "pruned").collect();
    assert!(pruned.len() >= 10, "{} of 30 pruned", pruned.len());
    // ASHA decides only where a trial reaches a rung (1 or 3); a busy machine may let the
    // program print a step or two more before it is stopped.
    assert!(
        pruned.iter().all(|t| (1..9).contains(&steps(t))),
        "{pruned:?}"
    );
    let at_rungs = pruned.iter().filter(|t| [1, 3].contains(&steps(t))).count();
    assert!(2 * at_rungs >= pruned.len(), "{pruned:?}");
    for t in all.iter().filter(|t| t["state"] == "complete") {
        assert_eq!(steps(t), 9, "the resource, 9 steps: {t}");
    }
}

/// A Hyperband study stopped after 20 trials and run again to 45 keeps its brackets: with
/// R = 9 and η = 3 each round of 17 trial numbers holds 9 trials of the bracket with rungs at 1
/// and 3, 5 of the bracket with a rung at 3 and 3 that run in full, numbered from the study's
/// first trial, not from the first trial a process ran.
#[test]
fn a_resumed_hyperband_study_continues_its_brackets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pruner = "[pruner]\nname = \"hyperband\"\nmax_resource = 9";
    let file = write(
        dir.path(),
        "s.toml",
        &study("hb", 45, "{resource}", 0.01, pruner),
    );
    let run = |args: &[&str]| {
        let out = hyperplug(args, dir.path(), &[]);
        assert!(out.status.success(), "{}", text(&out).1);
    };
    run(&["run", &file, "--trials", "20"]);
    assert_eq!(trials(dir.path(), "hb").len(), 20);
    run(&["run", &file]);
    let all = trials(dir.path(), "hb");
    assert_eq!(all.len(), 45);
    let mut pruned_after_resume = 0;
    for t in &all {
        let n = t["number"].as_u64().expect("number");
        let pruned = t["state"] == "pruned";
        match n % 17 {
            // The bracket that runs every trial in full.
            14..=16 => assert!(!pruned, "trial {n} of the last bracket was pruned: {t}"),
            // The bracket whose first rung is at step 3.
            9..=13 => assert!(
                !pruned || steps(t) >= 3,
                "trial {n} pruned before step 3: {t}"
            ),
            _ => {}
        }
        if pruned && n >= 20 {
            pruned_after_resume += 1;
        }
    }
    assert!(pruned_after_resume >= 5, "{all:?}");
}

/// The command objective loaded as a plugin (`hyperplug-plugin-command`, which replaces the
/// bundled one) reads its trial's resource through the ABI (`FfiTrialContext::resource`, since
/// 1.3): under Hyperband every trial that runs to the end reports the 9 steps of `{resource}`.
/// Without the resource the placeholder would have no value and no trial would run.
#[test]
fn a_plugin_objective_reads_its_resource_under_hyperband() {
    let dir = tempfile::tempdir().expect("temp dir");
    let plugins = plugin_dir(&["hyperplug-plugin-command"]);
    let pruner = "[pruner]\nname = \"hyperband\"\nmax_resource = 9";
    let file = write(
        dir.path(),
        "s.toml",
        &study("hb-plugin", 17, "{resource}", 0.0, pruner),
    );
    let out = hyperplug(
        &[
            "run",
            &file,
            "--plugin-dir",
            plugins.path().to_str().expect("a UTF-8 temporary path"),
        ],
        dir.path(),
        &[],
    );
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("replaces the bundled `command`"),
        "the plugin ran the trials: {stderr}"
    );
    let all = trials(dir.path(), "hb-plugin");
    assert_eq!(all.len(), 17);
    let complete: Vec<&Json> = all.iter().filter(|t| t["state"] == "complete").collect();
    assert!(complete.len() >= 3, "{all:?}");
    for t in &complete {
        assert_eq!(steps(t), 9, "the resource, 9 steps: {t}");
    }
    assert!(all.iter().any(|t| t["state"] == "pruned"), "{all:?}");
}

/// The `awk` program of [`two_objectives`]: at step s trial (x, y) reports the vector
/// `(x + y/s, 1 - x + y/s)` as `{"step": s, "values": [..]}`, 0.03 s apart (so that a decision
/// reaches the program before it ends), and ends with its value at step 7.
const AWK2: &str = r#"BEGIN {{ for (s = 1; s <= 6; s++) {{ printf "{{\"step\": %d, \"values\": [%f, %f]}}\n", s, x + y / s, 1 - x + y / s; fflush(); system("sleep 0.03") }} printf "{{\"a\": %f, \"b\": %f}}\n", x + y / 7, 1 - x + y / 7 }}"#;

fn two_objectives(name: &str, pruner: &str) -> String {
    format!(
        r#"[study]
name = "{name}"
directions = ["minimize", "minimize"]
trials = 30
seed = 3
storage = "sqlite://p.db"
[strategy]
name = "random"
[objective]
name = "command"
cmd = ["awk", "-v", "x={{x}}", "-v", "y={{y}}", '{AWK2}']
metrics = ["a", "b"]
{pruner}
[space]
x = {{ float = [0, 1] }}
y = {{ float = [0, 1] }}
"#
    )
}

/// A two-objective command study whose program prints one value per objective at each step:
/// the `pareto` pruner stops trials dominated at their step, the store keeps the vectors, and
/// the export shows them as `intermediate_values`. A single-objective pruner is refused for
/// the study, naming what it lacks.
#[test]
fn the_pareto_pruner_stops_dominated_command_trials_of_a_two_objective_study() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(
        dir.path(),
        "s.toml",
        &two_objectives("mo", "[pruner]\nname = \"pareto\""),
    );
    let out = hyperplug(&["run", &file], dir.path(), &[]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let all = trials(dir.path(), "mo");
    assert_eq!(all.len(), 30);
    let pruned: Vec<&Json> = all.iter().filter(|t| t["state"] == "pruned").collect();
    let states: Vec<&Json> = all.iter().map(|t| &t["state"]).collect();
    assert!(
        pruned.len() >= 4,
        "{} of 30 pruned: {states:?}",
        pruned.len()
    );
    for t in &all {
        let vectors = t["intermediate_values"].as_array().expect("vectors");
        assert_eq!(vectors.len(), steps(t), "{t}");
        assert_eq!(vectors[0][1].as_array().map(Vec::len), Some(2), "{t}");
        assert_eq!(vectors[0][1][0], t["intermediate"][0][1], "{t}");
    }
    let median = write(
        dir.path(),
        "m.toml",
        &two_objectives("mo-median", "[pruner]\nname = \"median\""),
    );
    let out = hyperplug(&["run", &median], dir.path(), &[]);
    assert_clean_failure(&out, &["median", "several objectives"]);
}
