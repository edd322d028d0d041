//! Persistent studies: SQLite and PostgreSQL, many workers, heartbeats, resuming.
//!
//! PostgreSQL tests use the server in `HYPERPLUG_TEST_POSTGRES`, or the local one as user
//! `postgres` or `root`, each in a schema of its own that it drops afterwards. Without a server
//! they print why and pass, except under `CI=true`, where they fail.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::{assert_clean_failure, bin, export, hyperplug, report, text, try_export, write};
use hyperplug_storage::testing::PgTestSchema;

/// A process of the binary under test, its output collected when it ends.
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

/// Waits for every child at once, so that no pipe fills while another is waited for.
fn wait_all(children: Vec<Child>) -> Vec<Output> {
    std::thread::scope(|s| {
        let handles: Vec<_> = children
            .into_iter()
            .map(|c| s.spawn(move || c.wait_with_output().expect("wait")))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("join"))
            .collect()
    })
}

fn trials(export: &Json) -> Vec<Json> {
    export["trials"].as_array().expect("trials").clone()
}

/// Polls the store until a trial of `name` is running with its parameters; returns it.
fn wait_for_running(dir: &Path, url: &str, name: &str) -> Json {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if let Some(t) = trials(&export(dir, url, name)).into_iter().find(|t| {
            t["state"] == "running" && t["params"].as_object().is_some_and(|p| !p.is_empty())
        }) {
            return t;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no trial of `{name}` started within a minute");
}

/// `kill -STOP`: the process lives on but does nothing, heartbeats included.
fn stop(child: &Child) {
    let status = Command::new("kill")
        .args(["-STOP", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// A study file with a trivial objective.
fn branin(name: &str, trials: u64) -> String {
    format!(
        "[study]\nname = \"{name}\"\ntrials = {trials}\nseed = 5\n[strategy]\nname = \"random\"\n[objective]\nname = \"branin\"\n"
    )
}

/// A study file whose trials take `seconds` (the bundled `command` objective runs `sleep`).
fn slow(name: &str, trials: u64, seconds: f64, extra: &str) -> String {
    format!(
        "[study]\nname = \"{name}\"\ndirection = \"minimize\"\ntrials = {trials}\nseed = 1\n{extra}\n[objective]\nname = \"command\"\ncmd = [\"sh\", \"-c\", \"sleep {seconds}; echo {{x}}\"]\n[space]\nx = {{ float = [0.0, 1.0] }}\n"
    )
}

/// Runs `workers` worker processes on one study until its budget is spent, and checks that
/// every number was given once, every result stored once, and every worker saw all of them.
fn many_workers_run_one_study_to_its_budget(url: &str, workers: usize, budget: u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let study = write(dir.path(), "s.toml", &branin("crowd", budget));
    let out = hyperplug(
        &["studies", "create", &study, "--storage", url],
        dir.path(),
        &[],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let children: Vec<Child> = (0..workers)
        .map(|_| {
            spawn(
                &["worker", "--study", "crowd", "--storage", url, "--json"],
                dir.path(),
            )
        })
        .collect();
    let outputs = wait_all(children);
    for out in &outputs {
        let (_, stderr) = text(out);
        assert!(out.status.success(), "a worker failed:\n{stderr}");
        assert!(!stderr.to_lowercase().contains("locked"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        // Each worker's strategy saw the others' results: its study holds them all.
        let r = report(out);
        assert_eq!(r["trials"].as_array().expect("trials").len() as u64, budget);
        assert_eq!(r["counts"]["complete"].as_u64(), Some(budget));
    }
    let all = trials(&export(dir.path(), url, "crowd"));
    let numbers: Vec<u64> = all
        .iter()
        .map(|t| t["number"].as_u64().expect("number"))
        .collect();
    assert_eq!(
        numbers,
        (0..budget).collect::<Vec<_>>(),
        "each number once, none missing"
    );
    assert!(
        all.iter()
            .all(|t| t["state"] == "complete" && t["values"][0].is_f64())
    );
    let by: HashSet<&str> = all
        .iter()
        .map(|t| t["worker"].as_str().expect("worker"))
        .collect();
    assert!(by.len() > 1, "the workers shared the work: {by:?}");
    assert!(
        !dir.path().join("hyperplug.db").exists(),
        "only the store named was used"
    );
}

#[test]
fn eight_workers_share_one_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    many_workers_run_one_study_to_its_budget(&url, 8, 320);
}

#[test]
fn sixteen_workers_share_one_postgres_database() {
    let Some(pg) = PgTestSchema::new("sixteen") else {
        return;
    };
    many_workers_run_one_study_to_its_budget(&pg.url, 16, 480);
}

/// A worker killed mid-trial: the worker that is left fails its trial (at once, since the
/// killed process is gone from this machine) and runs the retry, with the same parameters.
fn a_killed_worker_s_trial_is_failed_and_retried(url: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let study = write(
        dir.path(),
        "s.toml",
        &slow("killed", 4, 0.4, "retries = 1\nheartbeat_grace = \"60s\""),
    );
    let out = hyperplug(
        &["studies", "create", &study, "--storage", url],
        dir.path(),
        &[],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let worker = ["worker", "--study", "killed", "--storage", url];
    let mut doomed = spawn(&worker, dir.path());
    let lost = wait_for_running(dir.path(), url, "killed");
    doomed.kill().expect("kill"); // SIGKILL
    doomed.wait().expect("wait");
    let survivor = wait_all(vec![spawn(&worker, dir.path())]).remove(0);
    let (_, stderr) = text(&survivor);
    assert!(survivor.status.success(), "{stderr}");

    let all = trials(&export(dir.path(), url, "killed"));
    let number = lost["number"].as_u64().expect("number");
    let failed = &all[number as usize];
    assert_eq!(failed["state"], "failed");
    let message = failed["message"].as_str().expect("message");
    assert!(
        message.starts_with("worker stopped responding"),
        "{message}"
    );
    let retry = all
        .iter()
        .find(|t| t["retry_of"].as_u64() == Some(number))
        .unwrap_or_else(|| panic!("no retry of trial {number}: {all:?}"));
    assert_eq!(retry["params"], lost["params"], "same parameters");
    assert_eq!(retry["state"], "complete");
    assert_eq!(
        retry["values"][0], lost["params"]["x"],
        "the objective echoes x"
    );
    assert_eq!(
        all.len(),
        5,
        "the budget of four (the lost trial and three more), and the retry on top"
    );
    assert!(
        all.iter()
            .all(|t| t["state"] == "complete" || t["number"] == number),
        "{all:?}"
    );
}

#[test]
fn a_killed_worker_s_trial_is_failed_and_retried_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("k.db").display());
    a_killed_worker_s_trial_is_failed_and_retried(&url);
}

#[test]
fn a_killed_worker_s_trial_is_failed_and_retried_in_postgres() {
    let Some(pg) = PgTestSchema::new("killed") else {
        return;
    };
    a_killed_worker_s_trial_is_failed_and_retried(&pg.url);
}

/// A worker that stops beating but lives on (a hung process, a lost machine): after the grace
/// period another worker fails its trial with the heartbeat message and runs the retry, even
/// though the study's budget is already spent.
fn a_silent_worker_s_trial_is_failed_after_the_grace_period(url: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let study = write(
        dir.path(),
        "s.toml",
        &slow("silent", 3, 0.3, "retries = 1\nheartbeat_grace = \"2s\""),
    );
    let out = hyperplug(
        &["studies", "create", &study, "--storage", url],
        dir.path(),
        &[],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let worker = ["worker", "--study", "silent", "--storage", url];
    let mut hung = spawn(&worker, dir.path());
    let lost = wait_for_running(dir.path(), url, "silent");
    stop(&hung);
    let started = Instant::now();
    let survivor = wait_all(vec![spawn(&worker, dir.path())]).remove(0);
    hung.kill().expect("kill");
    hung.wait().expect("wait");
    let (_, stderr) = text(&survivor);
    assert!(survivor.status.success(), "{stderr}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the survivor waited out the grace period"
    );

    let all = trials(&export(dir.path(), url, "silent"));
    let number = lost["number"].as_u64().expect("number");
    let failed = &all[number as usize];
    assert_eq!(failed["state"], "failed");
    let message = failed["message"].as_str().expect("message");
    assert!(
        message.starts_with("worker stopped responding (no heartbeat for"),
        "{message}"
    );
    let retry = all
        .iter()
        .find(|t| t["retry_of"].as_u64() == Some(number))
        .unwrap_or_else(|| panic!("no retry of trial {number}: {all:?}"));
    assert_eq!(
        (&retry["params"], &retry["state"]),
        (&lost["params"], &"complete".into())
    );
    assert_eq!(
        all.len(),
        4,
        "three trials, and the retry beyond the spent budget"
    );
}

#[test]
fn a_silent_worker_s_trial_is_failed_after_the_grace_period_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("h.db").display());
    a_silent_worker_s_trial_is_failed_after_the_grace_period(&url);
}

#[test]
fn a_silent_worker_s_trial_is_failed_after_the_grace_period_in_postgres() {
    let Some(pg) = PgTestSchema::new("silent") else {
        return;
    };
    a_silent_worker_s_trial_is_failed_after_the_grace_period(&pg.url);
}

#[test]
fn a_study_killed_mid_trial_resumes_to_its_budget() {
    let dir = tempfile::tempdir().unwrap();
    let study = write(dir.path(), "s.toml", &slow("resumed", 5, 0.3, ""));
    let url = "sqlite://hyperplug.db";
    let mut first = spawn(&["run", &study], dir.path());
    // Kill it while its third trial runs.
    let start = Instant::now();
    loop {
        // Until the run has created the store, there is nothing to export.
        let all =
            try_export(dir.path(), url, "resumed").map_or_else(|_| Vec::new(), |e| trials(&e));
        if all.len() == 3 && all[2]["state"] == "running" {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{all:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let out = hyperplug(&["run", &study, "--json"], dir.path(), &[]);
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("continuing with 3 trials already stored"),
        "{stderr}"
    );
    let r = report(&out);
    let all = r["trials"].as_array().unwrap();
    let numbers: Vec<u64> = all.iter().map(|t| t["number"].as_u64().unwrap()).collect();
    assert_eq!(
        numbers,
        [0, 1, 2, 3, 4],
        "continued to the budget, not past it"
    );
    assert_eq!(all[2]["state"], "failed", "lost with the killed run");
    assert!(
        all[2]["message"]
            .as_str()
            .unwrap()
            .starts_with("worker stopped responding"),
        "{}",
        all[2]
    );
    assert_eq!(r["counts"]["complete"], 4);
    // Nothing left to do: a third run starts no trial and says why.
    let out = hyperplug(&["run", &study], dir.path(), &[]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("already has 5 trials") && stderr.contains("--trials"),
        "{stderr}"
    );
}

#[test]
fn a_spent_budget_is_reported_whatever_the_retries_and_a_retry_run_here_is_not_called_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let study = write(
        d,
        "s.toml",
        "[study]\nname = \"r\"\ntrials = 2\nseed = 5\nretries = 1\nheartbeat_grace = \"200ms\"\n[strategy]\nname = \"random\"\n[objective]\nname = \"branin\"\n",
    );
    assert!(hyperplug(&["run", &study], d, &[]).status.success());
    // Trial 0 as a worker killed long ago would leave it: running, no heartbeat since.
    let db = rusqlite::Connection::open(d.join("hyperplug.db")).unwrap();
    db.execute(
        "UPDATE trials SET state = 'running', heartbeat_ms = 1, trial_values = '[]' WHERE number = 0",
        [],
    )
    .unwrap();
    drop(db);
    // The budget is spent, but this run finds the lost trial and runs its retry: it started one.
    let out = hyperplug(&["run", &study], d, &[]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("no trial was started"), "{stderr}");
    let all = trials(&export(d, "sqlite://hyperplug.db", "r"));
    assert_eq!(all.len(), 3, "two counted trials and a retry: {all:?}");
    assert_eq!(all[2]["retry_of"], 0);
    // Now 3 trials are stored, 2 of them counted: nothing is left to do, and the run says so.
    let out = hyperplug(&["run", &study], d, &[]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("already has 2 trials counting toward its budget of 2"),
        "{stderr}"
    );
}

#[test]
fn a_study_continues_where_it_stopped_and_its_strategy_sees_every_earlier_trial() {
    let dir = tempfile::tempdir().unwrap();
    let study = write(dir.path(), "s.toml", &branin("grow", 10));
    let first = report(&hyperplug(&["run", &study, "--json"], dir.path(), &[]));
    assert!(
        dir.path().join("hyperplug.db").exists(),
        "the default store"
    );
    let more = report(&hyperplug(
        &["run", &study, "--json", "--trials", "25"],
        dir.path(),
        &[],
    ));
    let params = |r: &Json| -> Vec<Json> {
        r["trials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["params"].clone())
            .collect()
    };
    assert_eq!(params(&more).len(), 25);
    assert_eq!(
        params(&more)[..10],
        params(&first)[..],
        "the first ten are the same trials"
    );
    // In one go, the same seed gives the same 25 trials: resuming changed nothing.
    let memory = report(&hyperplug(
        &[
            "run",
            &study,
            "--json",
            "--trials",
            "25",
            "--storage",
            "memory",
        ],
        dir.path(),
        &[],
    ));
    assert_eq!(params(&memory), params(&more));
    let best = |r: &Json| r["best_trials"][0]["number"].clone();
    assert_eq!(best(&memory), best(&more));
}

#[test]
fn a_changed_space_or_direction_is_refused_saying_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let study = write(
        dir.path(),
        "s.toml",
        "[study]\nname = \"r\"\ntrials = 3\n[objective]\nname = \"rosenbrock\"\ndim = 2\n",
    );
    assert!(
        hyperplug(&["run", &study], dir.path(), &[])
            .status
            .success()
    );
    let grown = write(
        dir.path(),
        "s.toml",
        "[study]\nname = \"r\"\ntrials = 6\n[objective]\nname = \"rosenbrock\"\ndim = 3\n",
    );
    let out = hyperplug(&["run", &grown], dir.path(), &[]);
    let err = assert_clean_failure(
        &out,
        &[
            "study `r` exists with a different definition",
            "parameter `x2` was added",
        ],
    );
    assert!(!err.contains("trial 3"), "{err}");
    let flipped = write(
        dir.path(),
        "s.toml",
        "[study]\nname = \"r\"\ntrials = 6\ndirection = \"maximize\"\n[objective]\nname = \"rosenbrock\"\ndim = 2\n",
    );
    let out = hyperplug(&["run", &flipped], dir.path(), &[]);
    assert_clean_failure(&out, &["directions were [Minimize], now [Maximize]"]);
    // A new strategy, seed and budget are fine: the trials keep their meaning.
    let other = write(
        dir.path(),
        "s.toml",
        "[study]\nname = \"r\"\ntrials = 6\nseed = 99\n[strategy]\nname = \"qmc\"\n[objective]\nname = \"rosenbrock\"\ndim = 2\n",
    );
    let r = report(&hyperplug(&["run", &other, "--json"], dir.path(), &[]));
    assert_eq!(
        (
            r["trials"].as_array().unwrap().len(),
            &r["study"]["strategy"]
        ),
        (6, &"qmc".into())
    );
}

#[test]
fn enqueued_trials_run_first_with_their_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let study = write(dir.path(), "s.toml", &branin("warm", 4));
    let url = "sqlite://hyperplug.db";
    assert!(
        hyperplug(&["studies", "create", &study], dir.path(), &[])
            .status
            .success()
    );
    let out = hyperplug(
        &["enqueue", "--study", "warm", "x0=9.42478", "x1=2.475"],
        dir.path(),
        &[],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let out = hyperplug(
        &[
            "enqueue",
            "--study",
            "warm",
            "--params",
            r#"{"x0": 1, "x1": 2.5}"#,
            "--storage",
            url,
        ],
        dir.path(),
        &[],
    );
    assert!(
        text(&out).1.contains("queued 1 trial(s)"),
        "{}",
        text(&out).1
    );
    for (args, needles) in [
        (
            vec!["x0=99", "x1=1"],
            vec!["`x0` = 99 (float) is outside its domain, float [-5, 10]"],
        ),
        (vec!["lr=1"], vec!["`lr` is not a parameter", "x0, x1"]),
        (vec!["x0=1"], vec!["`x1` is missing"]),
    ] {
        let mut full = vec!["enqueue", "--study", "warm"];
        full.extend(args);
        assert_clean_failure(&hyperplug(&full, dir.path(), &[]), &needles);
    }
    assert_clean_failure(
        &hyperplug(
            &["enqueue", "--study", "cold", "x0=1", "x1=1"],
            dir.path(),
            &[],
        ),
        &["no study `cold`", "`warm`"],
    );
    let r = report(&hyperplug(&["run", &study, "--json"], dir.path(), &[]));
    let t = r["trials"].as_array().unwrap();
    assert_eq!(t.len(), 4);
    assert_eq!(
        t[0]["params"],
        serde_json::json!({"x0": 9.42478, "x1": 2.475})
    );
    assert_eq!(
        t[1]["params"],
        serde_json::json!({"x0": 1.0, "x1": 2.5}),
        "an integer for a float parameter is read as a float"
    );
    // The first is an optimum of Branin (0.397887), so it stays the best.
    let v = t[0]["values"][0].as_f64().expect("value");
    assert!((v - 0.397887).abs() < 1e-3, "{v}");
    assert_eq!(r["best_trials"][0]["number"], 0);
}

#[test]
fn studies_are_listed_shown_exported_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = write(d, "a.toml", &branin("alpha", 6));
    let z = write(
        d,
        "z.toml",
        "[study]\nname = \"zeta\"\ntrials = 30\nseed = 2\n[objective]\nname = \"zdt1\"\ndim = 3\n",
    );
    assert!(hyperplug(&["run", &a], d, &[]).status.success());
    assert!(hyperplug(&["run", &z], d, &[]).status.success());
    let run = |args: &[&str]| {
        let out = hyperplug(args, d, &[]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{args:?}: {stderr}");
        stdout
    };

    let list = run(&["studies", "list"]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 3, "{list}");
    assert!(
        lines[0].starts_with("study") && lines[0].contains("last activity"),
        "{list}"
    );
    let alpha: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        &alpha[..7],
        ["alpha", "6", "6", "0", "0", "0", "0"],
        "{list}"
    );
    assert!(
        lines[2].starts_with("zeta") && lines[2].contains("minimize, minimize"),
        "{list}"
    );
    // Columns line up: every row's second column ends where the header's does.
    let end = lines[0].find("trials").unwrap() + "trials".len();
    assert!(
        lines[1..]
            .iter()
            .all(|l| l[..end].ends_with(|c: char| c.is_ascii_digit())),
        "{list}"
    );

    let show = run(&["studies", "show", "alpha"]);
    for needle in [
        "strategy       random",
        "objective      branin",
        "6: 6 complete",
        "best           trial",
    ] {
        assert!(show.contains(needle), "{needle}:\n{show}");
    }
    let best = run(&["studies", "best", "alpha"]);
    assert!(
        best.starts_with("trial ") && best.contains("x0") && best.contains("x1"),
        "{best}"
    );
    let front = run(&["studies", "best", "zeta"]);
    assert!(front.starts_with("Pareto front of study `zeta`"), "{front}");
    let table = run(&["studies", "trials", "alpha", "--state", "complete"]);
    assert_eq!(table.lines().count(), 7, "{table}");
    assert!(run(&["studies", "trials", "alpha", "--state", "failed"]).contains("no such trial"));

    let csv = run(&["studies", "export", "zeta"]);
    let mut rows = csv.lines();
    let header = rows.next().unwrap();
    assert!(
        header.starts_with("number,values_0,values_1,datetime_start,datetime_complete,duration_s,params_x0,params_x1,params_x2,state"),
        "{header}"
    );
    assert_eq!(rows.count(), 30);
    let out = d.join("alpha.json");
    run(&[
        "studies",
        "export",
        "alpha",
        "--format",
        "json",
        "--out",
        out.to_str().unwrap(),
    ]);
    let json: Json = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(json["study"]["name"], "alpha");
    assert_eq!(json["study"]["definition"]["strategy"], "random");
    let t = &json["trials"][5];
    assert_eq!(
        (t["number"].as_u64(), &t["state"]),
        (Some(5), &"complete".into())
    );
    for key in [
        "params",
        "values",
        "intermediate",
        "started_ms",
        "duration_s",
        "worker",
    ] {
        assert!(!t[key].is_null(), "{key}: {t}");
    }

    assert_clean_failure(
        &hyperplug(&["studies", "delete", "alpha"], d, &[]),
        &["removes its 6 trials", "--yes"],
    );
    run(&["studies", "delete", "alpha", "--yes"]);
    assert!(!run(&["studies", "list"]).contains("alpha"));
    assert_clean_failure(
        &hyperplug(&["studies", "show", "alpha"], d, &[]),
        &["no study `alpha`", "`zeta`"],
    );
}

#[test]
fn bad_urls_unreachable_servers_and_newer_schemas_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let study = write(d, "s.toml", &branin("b", 3));
    assert_clean_failure(
        &hyperplug(&["run", &study, "--storage", "mysql://me@db/x"], d, &[]),
        &[
            "not a storage URL",
            "sqlite://PATH",
            "postgres://",
            "memory",
        ],
    );
    assert_clean_failure(
        &hyperplug(&["run", &study, "--storage", "studies.db"], d, &[]),
        &["write sqlite://studies.db"],
    );
    let out = hyperplug(
        &[
            "run",
            &study,
            "--storage",
            "postgres://nobody:secret@127.0.0.1:1/test",
        ],
        d,
        &[],
    );
    let err = assert_clean_failure(
        &out,
        &[
            "cannot open postgres://nobody:***@127.0.0.1:1/test",
            "is the server running",
        ],
    );
    assert!(!err.contains("secret"), "{err}");
    assert_clean_failure(
        &hyperplug(&["studies", "list"], d, &[]),
        &["sqlite://hyperplug.db", "no such file"],
    );
    assert!(!d.join("hyperplug.db").exists(), "listing creates nothing");
    assert_clean_failure(
        &hyperplug(&["studies", "list", "--storage", "memory"], d, &[]),
        &["`memory` keeps a study only while one process runs it"],
    );
    assert_clean_failure(
        &hyperplug(&["worker", "--study", "b"], d, &[]),
        &["no such file"],
    );

    assert!(hyperplug(&["run", &study], d, &[]).status.success());
    let db = rusqlite::Connection::open(d.join("hyperplug.db")).unwrap();
    db.execute(
        "UPDATE meta SET value = '7' WHERE key = 'schema_version'",
        [],
    )
    .unwrap();
    drop(db);
    for args in [vec!["run", &study], vec!["studies", "list"]] {
        assert_clean_failure(
            &hyperplug(&args, d, &[]),
            &["schema version 7", "newer hyperplug", "Upgrade hyperplug"],
        );
    }
}

/// A study whose trials run a 50 ms command: over two floats, or for `grid` one int of 10,000
/// values (a grid needs finite axes).
fn quick(name: &str, strategy: &str, trials: u64) -> String {
    let space = if strategy == "grid" {
        "x = { int = [0, 9999] }"
    } else {
        "x = { float = [0.0, 1.0] }\ny = { float = [0.0, 1.0] }"
    };
    format!(
        "[study]\nname = \"{name}\"\ndirection = \"minimize\"\ntrials = {trials}\nseed = 3\n[strategy]\nname = \"{strategy}\"\n[objective]\nname = \"command\"\ncmd = [\"sh\", \"-c\", \"sleep 0.05; echo {{x}}\"]\n[space]\n{space}\n"
    )
}

/// `hyperplug run` and `workers - 1` worker processes on one study: every trial's parameters
/// are the strategy's for that trial's number, so no two trials evaluate the same point.
fn parallel_workers_never_evaluate_the_same_parameters(url: &str, workers: usize, budget: u64) {
    for strategy in ["random", "qmc", "grid", "tpe"] {
        let dir = tempfile::tempdir().expect("temp dir");
        let name = format!("distinct-{strategy}");
        let study = write(dir.path(), "s.toml", &quick(&name, strategy, budget));
        let out = hyperplug(
            &["studies", "create", &study, "--storage", url],
            dir.path(),
            &[],
        );
        assert!(out.status.success(), "{}", text(&out).1);
        let mut children = vec![spawn(&["run", &study, "--storage", url], dir.path())];
        children.extend(
            (1..workers)
                .map(|_| spawn(&["worker", "--study", &name, "--storage", url], dir.path())),
        );
        for out in wait_all(children) {
            assert!(out.status.success(), "{strategy}: {}", text(&out).1);
        }
        let all = trials(&export(dir.path(), url, &name));
        let numbers: Vec<u64> = all.iter().filter_map(|t| t["number"].as_u64()).collect();
        assert_eq!(numbers, (0..budget).collect::<Vec<_>>(), "{strategy}");
        assert!(
            all.iter().all(|t| t["state"] == "complete"),
            "{strategy}: {all:?}"
        );
        let mut seen: HashMap<String, u64> = HashMap::new();
        for t in &all {
            *seen.entry(t["params"].to_string()).or_default() += 1;
        }
        let repeated: Vec<(&String, &u64)> = seen.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            repeated.is_empty(),
            "{strategy}: {} distinct parameter sets in {budget} trials; repeated: {repeated:?}",
            seen.len()
        );
    }
}

#[test]
fn parallel_workers_never_evaluate_the_same_parameters_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("d.db").display());
    parallel_workers_never_evaluate_the_same_parameters(&url, 8, 120);
}

#[test]
fn parallel_workers_never_evaluate_the_same_parameters_in_postgres() {
    let Some(pg) = PgTestSchema::new("distinct") else {
        return;
    };
    parallel_workers_never_evaluate_the_same_parameters(&pg.url, 16, 160);
}

/// A lock held on the study's row for longer than the grace period (a stalled database, a slow
/// migration, an administrator's transaction) while trials run: workers wait for it, but their
/// heartbeats, on a connection of their own, do not, so no live trial is failed.
#[test]
fn a_database_stall_longer_than_the_grace_fails_no_live_trial() {
    let Some(pg) = PgTestSchema::new("stall") else {
        return;
    };
    let url = pg.url.as_str();
    let dir = tempfile::tempdir().expect("temp dir");
    let study = write(
        dir.path(),
        "s.toml",
        &slow(
            "stall",
            6,
            3.0,
            "parallelism = 2\nretries = 1\nheartbeat_grace = \"2s\"",
        ),
    );
    let out = hyperplug(
        &["studies", "create", &study, "--storage", url],
        dir.path(),
        &[],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let children = vec![
        spawn(&["run", &study, "--storage", url], dir.path()),
        spawn(
            &["worker", "--study", "stall", "--storage", url],
            dir.path(),
        ),
    ];
    wait_for_running(dir.path(), url, "stall");
    std::thread::sleep(Duration::from_millis(500));
    let mut client = pg.client().expect("a client of the test server");
    let mut stall = client.transaction().expect("begin");
    stall
        .batch_execute("SELECT * FROM studies FOR UPDATE")
        .expect("lock the study row");
    // Twice the grace: every worker's next ask and tell waits behind this lock.
    std::thread::sleep(Duration::from_secs(4));
    stall.commit().expect("commit");
    for out in wait_all(children) {
        let (_, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        assert!(!stderr.contains("stopped responding"), "{stderr}");
    }
    let all = trials(&export(dir.path(), url, "stall"));
    assert_eq!(all.len(), 6, "no retry was needed: {all:?}");
    assert!(
        all.iter().all(|t| t["state"] == "complete"),
        "no live trial failed: {all:?}"
    );
}

/// One trial row that cannot be read (parameters that are not JSON) leaves the rest of the
/// study usable: `export`, `run` and `worker` go on without it and name it in a warning.
fn one_unreadable_trial_leaves_the_study_usable(url: &str, corrupt: &dyn Fn(&str)) {
    let dir = tempfile::tempdir().expect("temp dir");
    let study = write(dir.path(), "s.toml", &branin("damaged", 5));
    let out = hyperplug(&["run", &study, "--storage", url], dir.path(), &[]);
    assert!(out.status.success(), "{}", text(&out).1);
    corrupt("UPDATE trials SET params = 'not json {' WHERE number = 2");
    let warning = "study `damaged`, trial 2 is unreadable and left out";

    let out = hyperplug(
        &[
            "studies",
            "export",
            "damaged",
            "--format",
            "json",
            "--storage",
            url,
        ],
        dir.path(),
        &[],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(warning), "{stderr}");
    assert!(stderr.contains("unreadable JSON"), "{stderr}");
    let exported: Json = serde_json::from_str(&stdout).expect("JSON");
    let numbers: Vec<u64> = trials(&exported)
        .iter()
        .filter_map(|t| t["number"].as_u64())
        .collect();
    assert_eq!(numbers, [0, 1, 3, 4]);

    let out = hyperplug(
        &["run", &study, "--storage", url, "--trials", "7", "--json"],
        dir.path(),
        &[],
    );
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(warning), "{stderr}");
    let r = report(&out);
    assert_eq!(
        r["trials"].as_array().expect("trials").len(),
        6,
        "two more trials beside the four readable ones"
    );
    let out = hyperplug(
        &["worker", "--study", "damaged", "--storage", url, "--json"],
        dir.path(),
        &[],
    );
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(warning), "{stderr}");
}

#[test]
fn one_unreadable_trial_leaves_the_study_usable_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let url = format!("sqlite://{}", path.display());
    one_unreadable_trial_leaves_the_study_usable(&url, &|sql| {
        rusqlite::Connection::open(&path)
            .and_then(|c| c.execute(sql, []))
            .expect("corrupt the row");
    });
}

#[test]
fn one_unreadable_trial_leaves_the_study_usable_in_postgres() {
    let Some(pg) = PgTestSchema::new("unreadable") else {
        return;
    };
    one_unreadable_trial_leaves_the_study_usable(&pg.url, &|sql| {
        pg.client()
            .and_then(|mut c| c.batch_execute(sql).map_err(|e| e.to_string()))
            .expect("corrupt the row");
    });
}

/// The store fails mid-run (its trials table renamed away): the run ends with the database's
/// error and a non-zero status, soon, instead of hanging on a heartbeat that failed.
#[test]
fn a_store_that_fails_mid_run_ends_the_run_with_its_error() {
    let Some(pg) = PgTestSchema::new("gone") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let study = write(
        dir.path(),
        "s.toml",
        &slow("gone", 40, 0.5, "parallelism = 2\nheartbeat_grace = \"1s\""),
    );
    let out = hyperplug(
        &["studies", "create", &study, "--storage", &pg.url],
        dir.path(),
        &[],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let mut run = spawn(&["run", &study, "--storage", &pg.url], dir.path());
    wait_for_running(dir.path(), &pg.url, "gone");
    let started = Instant::now();
    pg.client()
        .and_then(|mut c| {
            c.batch_execute("ALTER TABLE trials RENAME TO trials_gone")
                .map_err(|e| e.to_string())
        })
        .expect("rename the table");
    // Its output is small: the pipes do not fill while it runs.
    while run.try_wait().expect("poll").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = run.kill();
            panic!("the run hung for a minute after its store failed");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = run.wait_with_output().expect("output");
    let (_, stderr) = text(&out);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("error:") && stderr.contains("relation \"trials\" does not exist"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `hyperplug run study.toml` started several times at once on a new study whose file has no
/// `seed` (the documented way to add workers): every process runs with the seed the study
/// stores, the first creator's, so the run can be repeated from that seed.
fn runs_started_at_once_without_a_seed_share_the_stored_one(url: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    for round in 0..3 {
        let name = format!("seedless{round}");
        let study = write(
            dir.path(),
            &format!("{name}.toml"),
            &format!(
                "[study]\nname = \"{name}\"\nstorage = \"{url}\"\ntrials = 6\n[strategy]\nname = \"random\"\n[objective]\nname = \"branin\"\n"
            ),
        );
        let children: Vec<Child> = (0..6)
            .map(|_| spawn(&["run", &study, "--json"], dir.path()))
            .collect();
        let seeds: Vec<Json> = wait_all(children)
            .iter()
            .map(|out| report(out)["study"]["seed"].clone())
            .collect();
        let stored = export(dir.path(), url, &name)["study"]["seed"].clone();
        assert!(stored.is_u64(), "the study stores its seed: {stored}");
        assert!(
            seeds.iter().all(|s| *s == stored),
            "round {round}: the processes ran with seeds {seeds:?}, the study stores {stored}"
        );
    }
}

#[test]
fn runs_started_at_once_without_a_seed_share_the_stored_one_in_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    runs_started_at_once_without_a_seed_share_the_stored_one(&url);
}

#[test]
fn runs_started_at_once_without_a_seed_share_the_stored_one_in_postgres() {
    let Some(schema) = PgTestSchema::new("seedless") else {
        return;
    };
    runs_started_at_once_without_a_seed_share_the_stored_one(&schema.url);
}
