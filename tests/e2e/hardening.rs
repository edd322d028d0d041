//! Bad input, failing studies, secrets and other programs' files (issue 11): a study that
//! produces nothing fails loudly, counts that run nothing are refused, a PostgreSQL password is
//! never printed or stored, and read-only commands leave a database as they found it.

use std::path::Path;
use std::process::Output;

use hyperplug_storage::testing::PgTestSchema;
use hyperplug_storage::{Mode, open_store};

use crate::{assert_clean_failure, export, hyperplug, report, text, write};

/// A study of `trials` trials of a program that always exits with status 3.
fn crashing(name: &str, trials: u64, extra: &str) -> String {
    format!(
        "[study]\nname = \"{name}\"\ndirection = \"minimize\"\ntrials = {trials}\nseed = 1\n{extra}\n[objective]\nname = \"command\"\ncmd = [\"sh\", \"-c\", \"exit 3\"]\n[space]\nx = {{ float = [0, 1] }}\n"
    )
}

#[test]
fn a_study_whose_every_trial_fails_stops_early_and_exits_non_zero_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let study = write(d, "c.toml", &crashing("crash", 30, ""));
    let out = hyperplug(&["run", &study], d, &[]);
    let err = assert_clean_failure(
        &out,
        &[
            "study `crash` stopped after 20 failed trials in a row",
            "exited with status 3",
            "max_consecutive_failures",
        ],
    );
    assert!(
        err.contains("20 trials (0 complete, 0 pruned, 20 failed)"),
        "{err}"
    );
    let stored = export(d, "sqlite://hyperplug.db", "crash");
    assert_eq!(
        stored["trials"].as_array().unwrap().len(),
        20,
        "the rest was not spent"
    );

    // Without the early stop the whole budget fails, and the exit status still says so.
    let all = write(
        d,
        "a.toml",
        &crashing("all", 30, "max_consecutive_failures = 0"),
    );
    let out = hyperplug(&["run", &all], d, &[]);
    assert_clean_failure(
        &out,
        &[
            "study `all` has no complete trial (30 failed, 0 pruned)",
            "exited with status 3",
        ],
    );

    // A worker of such a study fails the same way.
    let w = write(
        d,
        "w.toml",
        &crashing("joined", 10, "max_consecutive_failures = 4"),
    );
    let out = hyperplug(&["studies", "create", &w], d, &[]);
    assert!(out.status.success(), "{}", text(&out).1);
    let out = hyperplug(&["worker", "--study", "joined"], d, &[]);
    assert_clean_failure(
        &out,
        &["study `joined` stopped after 4 failed trials in a row"],
    );

    // One complete trial among failures is a result: the run succeeds.
    let flaky = crashing("flaky", 6, "").replace(
        "cmd = [\"sh\", \"-c\", \"exit 3\"]",
        "cmd = [\"sh\", \"-c\", \"[ $HYPERPLUG_TRIAL = 2 ] && echo 0.5 || exit 3\"]",
    );
    let flaky = write(d, "f.toml", &flaky);
    let r = report(&hyperplug(&["run", &flaky, "--json"], d, &[]));
    assert_eq!(
        (
            r["counts"]["complete"].as_u64(),
            r["counts"]["failed"].as_u64()
        ),
        (Some(1), Some(5))
    );
}

#[test]
fn a_strategy_that_panics_on_every_ask_stops_the_study_with_an_error() {
    let dir = crate::plugin_dir(&["hyperplug-fixture-panicking"]);
    let study = write(
        dir.path(),
        "s.toml",
        "[study]\ntrials = 300\nseed = 0\nstorage = \"memory\"\n[strategy]\nname = \"panicking\"\npanic_in = \"ask\"\n[objective]\nname = \"branin\"\n",
    );
    let plugins = dir.path().to_str().unwrap();
    let out = hyperplug(&["run", &study, "--plugin-dir", plugins], dir.path(), &[]);
    let err = assert_clean_failure(
        &out,
        &[
            "stopped after 20 failed trials in a row",
            "deliberate panic in ask",
        ],
    );
    assert!(
        err.contains("20 trials (0 complete, 0 pruned, 20 failed)"),
        "{err}"
    );
}

#[test]
fn the_benchmark_report_lists_failed_runs_instead_of_ranking_them_last() {
    let dir = tempfile::tempdir().unwrap();
    let line = |strategy: &str, seed: u64, best: Option<f64>, error: Option<&str>| {
        let mut r = serde_json::json!({
            "system": "hyperplug", "strategy": strategy, "problem": "branin",
            "direction": "minimize", "seed": seed, "budget": 30, "best_value": best,
            "optimum": 0.5, "trials": 30, "failed": if best.is_some() { 0 } else { 30 },
        });
        if let Some(e) = error {
            r["error"] = e.into();
        }
        r.to_string()
    };
    let records = [
        line("random", 0, Some(1.0), None),
        line("random", 1, Some(3.0), None),
        line("tpe", 0, Some(2.0), None),
        line("tpe", 1, Some(0.6), None),
        line(
            "broken",
            0,
            None,
            Some("no trial completed; the first failed with: exit status 3"),
        ),
        line("broken", 1, None, Some("panicked: deliberate")),
    ];
    let file = write(dir.path(), "r.jsonl", &records.join("\n"));
    let out = hyperplug(&["bench", "report", &file], dir.path(), &[]);
    let (md, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    // random and tpe rank over both seeds (one win each); broken has no rank, only failures.
    assert!(md.contains("ranks over 2 seed(s)"), "{md}");
    assert!(
        md.contains("| hyperplug | random | 2 | 2 | 1 | 1.5 | 1 | 1.50 |"),
        "{md}"
    );
    assert!(
        md.contains("| hyperplug | tpe | 2 | 1.3 | 0.7 | 0.8 | 0.7 | 1.50 |"),
        "{md}"
    );
    assert!(
        md.contains("| hyperplug | broken | 2 (2 failed) | – | – | – | – | – |"),
        "{md}"
    );
    assert!(md.contains("| 60 of 60 |"), "{md}");
    assert!(
        md.contains(
            "- hyperplug broken seed 0: no trial completed; the first failed with: exit status 3"
        ),
        "{md}"
    );
    assert!(
        md.contains("- hyperplug broken seed 1: panicked: deliberate"),
        "{md}"
    );
}

#[test]
fn counts_that_run_nothing_are_refused_on_the_command_line_as_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let study = write(
        d,
        "s.toml",
        "[study]\ntrials = 3\nstorage = \"memory\"\n[objective]\nname = \"branin\"\n",
    );
    for args in [
        vec!["run", study.as_str(), "--trials", "0"],
        vec!["worker", "--study", "s", "--parallelism", "0"],
    ] {
        let out = hyperplug(&args, d, &[]);
        let (_, err) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("0 runs nothing; give at least 1"),
            "{args:?}: {err}"
        );
    }
    assert!(!d.join("hyperplug.db").exists(), "nothing was opened");
}

#[test]
fn ranges_that_floating_point_cannot_spread_are_refused_at_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let head = "[study]\ntrials = 3\nstorage = \"memory\"\ndirection = \"minimize\"\n[objective]\nname = \"command\"\ncmd = [\"echo\", \"1\"]\n[space]\n";
    for (param, needles) in [
        (
            "w = { float = [-1e308, 1e308] }",
            &["s.toml:9:5", "`w`", "too wide"][..],
        ),
        (
            "s = { float = [0, 1e300], step = 1e-300 }",
            &["s.toml:9:5", "`s`", "more than the 9.007199254740992e15"][..],
        ),
    ] {
        let study = write(d, "s.toml", &format!("{head}{param}\n"));
        let out = hyperplug(&["run", &study], d, &[]);
        assert_clean_failure(&out, needles);
    }
}

#[test]
fn studies_create_stores_the_study_where_its_file_says_unless_told_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let study = write(
        d,
        "s.toml",
        "[study]\nname = \"s\"\ntrials = 3\nstorage = \"sqlite://from-file.db\"\n[objective]\nname = \"branin\"\n",
    );
    let out = hyperplug(&["studies", "create", &study], d, &[]);
    let (_, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("--storage sqlite://from-file.db --study s"),
        "{err}"
    );
    assert!(d.join("from-file.db").exists());
    assert!(!d.join("hyperplug.db").exists(), "the default was not used");
    let out = hyperplug(
        &["studies", "create", &study, "--storage", "sqlite://cli.db"],
        d,
        &[],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(d.join("cli.db").exists(), "--storage wins over the file");
    let out = hyperplug(
        &["studies", "create", &study, "--storage", "memory"],
        d,
        &[],
    );
    assert_clean_failure(&out, &["workers could not join it"]);
}

/// `url` with `password` written into its credentials, when it has a user and no password.
fn with_password(url: &str, password: &str) -> Option<String> {
    let head = url.find("://")? + 3;
    let at = head + url[head..].find('@')?;
    if url[head..at].contains(':') {
        return None;
    }
    Some(format!("{}:{password}{}", &url[..at], &url[at..]))
}

/// Asserts that no output of `out` holds any of `secrets`, nor a server notice.
fn assert_no_secret(out: &Output, secrets: &[&str], what: &str) {
    let (stdout, stderr) = text(out);
    for s in secrets {
        assert!(
            !stdout.contains(s) && !stderr.contains(s),
            "{what} printed `{s}`:\n{stdout}\n{stderr}"
        );
    }
    assert!(
        !stderr.contains("NOTICE"),
        "{what} printed a server notice:\n{stderr}"
    );
}

#[test]
fn a_postgres_password_is_never_printed_nor_stored() {
    let Some(pg) = PgTestSchema::new("secret") else {
        return;
    };
    // The local server trusts its clients, so any password connects: what matters here is
    // where the password goes. `/` and `?` in it, and a second `password=` option.
    let (inline, option) = ("s3cr/et?pw", "0ther5ecret");
    let Some(url) = with_password(&pg.url, inline) else {
        eprintln!("skipping: {} has no user to give a password to", pg.base);
        return;
    };
    let url = format!("{url}&password={option}&password={option}2");
    let secrets = [inline, "s3cr", option];
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file_text = format!(
        "[study]\nname = \"pw\"\ntrials = 4\nseed = 3\nstorage = \"{url}\"\n[objective]\nname = \"branin\"\n"
    );
    let study = write(d, "s.toml", &file_text);

    let out = hyperplug(&["studies", "create", &study, "-v"], d, &[]);
    assert!(out.status.success(), "{}", text(&out).1);
    assert_no_secret(&out, &secrets, "studies create");
    let (_, err) = text(&out);
    assert!(err.contains("the password is not shown"), "{err}");

    let out = hyperplug(&["run", &study, "-v", "--json"], d, &[]);
    assert!(out.status.success(), "{}", text(&out).1);
    assert_no_secret(&out, &secrets, "run");
    let out = hyperplug(
        &["worker", "--study", "pw", "--storage", &url, "-v"],
        d,
        &[],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    assert_no_secret(&out, &secrets, "worker");
    for args in [
        vec!["studies", "list"],
        vec!["studies", "show", "pw"],
        vec!["studies", "trials", "pw"],
        vec!["studies", "export", "pw", "--format", "json"],
        vec!["studies", "export", "pw"],
    ] {
        let out = hyperplug(&[&args[..], &["--storage", &url, "-vv"]].concat(), d, &[]);
        assert!(out.status.success(), "{args:?}: {}", text(&out).1);
        assert_no_secret(&out, &secrets, &args.join(" "));
    }
    // Errors: an option the client refuses, and a server that does not answer.
    let bad = format!("{url}&colour=red");
    let out = hyperplug(&["studies", "list", "--storage", &bad], d, &[]);
    assert_clean_failure(&out, &["colour"]);
    assert_no_secret(&out, &secrets, "a bad URL's error");
    let unreachable =
        format!("postgres://u:{inline}@127.0.0.1:1/test?connect_timeout=2&password={option}");
    let out = hyperplug(&["studies", "list", "--storage", &unreachable], d, &[]);
    assert_clean_failure(&out, &["cannot open postgres://u:***@127.0.0.1:1/test"]);
    assert_no_secret(&out, &secrets, "an unreachable server's error");

    // The stored record keeps the study file without its password.
    let store = open_store(&pg.url, Mode::Read).unwrap();
    let record = store.find("pw").unwrap().unwrap().record;
    let stored = serde_json::to_string(&record).unwrap();
    for s in secrets {
        assert!(
            !stored.contains(s),
            "the stored study holds `{s}`: {stored}"
        );
    }
    assert!(
        stored.contains("postgres://") && stored.contains(":***@"),
        "{stored}"
    );
}

#[test]
fn a_password_in_a_study_file_is_left_out_of_the_stored_study_whatever_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let study = write(
        d,
        "s.toml",
        "[study]\nname = \"pw\"\ntrials = 2\nseed = 3\nstorage = 'postgres://me:hunter2@db.example/test?password=hunter3'\n[objective]\nname = \"branin\"\n",
    );
    let out = hyperplug(&["run", &study, "--storage", "sqlite://s.db"], d, &[]);
    assert!(out.status.success(), "{}", text(&out).1);
    assert_no_secret(&out, &["hunter"], "run");
    let stored = std::fs::read(d.join("s.db")).unwrap();
    assert!(
        !stored.windows(6).any(|w| w == b"hunter"),
        "the SQLite file holds the password"
    );
    let export = export(d, "sqlite://s.db", "pw");
    let file = export["study"]["definition"]["study_file"]
        .as_str()
        .unwrap();
    assert!(
        file.contains("storage = \"postgres://me:***@db.example/test?password=***\""),
        "{file}"
    );
    // A worker rebuilds the study from that stored file.
    let out = hyperplug(
        &["worker", "--study", "pw", "--storage", "sqlite://s.db"],
        d,
        &[],
    );
    assert!(out.status.success(), "{}", text(&out).1);
}

#[test]
fn postgres_commands_print_no_server_notices() {
    let Some(pg) = PgTestSchema::new("notice") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let study = write(
        d,
        "s.toml",
        "[study]\nname = \"n\"\ntrials = 2\nseed = 1\n[objective]\nname = \"branin\"\n",
    );
    // The second open of the schema is the one where the server used to say it exists.
    for args in [
        vec!["run", study.as_str()],
        vec!["run", study.as_str(), "--trials", "3"],
        vec!["worker", "--study", "n"],
        vec!["studies", "list"],
    ] {
        let args = [&args[..], &["--storage", &pg.url]].concat();
        let out = hyperplug(&args, d, &[]);
        let (_, err) = text(&out);
        assert!(out.status.success(), "{args:?}: {err}");
        assert!(!err.contains("NOTICE"), "{args:?}:\n{err}");
    }
}

/// Runs the binary as an unprivileged user when this process is root (whom permissions do
/// not stop), so that read-only files are read-only to it.
fn as_unprivileged(args: &[&str], cwd: &Path) -> Output {
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false);
    if !root {
        return hyperplug(args, cwd, &[]);
    }
    let mut cmd = std::process::Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(crate::bin())
        .args(args)
        .current_dir(cwd)
        .env_remove("HYPERPLUG_PLUGIN_PATH")
        .env_remove("RUST_LOG");
    cmd.output().expect("setpriv runs (util-linux)")
}

/// Every file in `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("a readable directory")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name()
                    .expect("a file name")
                    .to_string_lossy()
                    .into_owned(),
                std::fs::read(&p).expect("a readable file"),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn read_only_commands_leave_a_foreign_database_untouched_and_refuse_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let app = d.join("app.db");
    let conn = rusqlite::Connection::open(&app).unwrap();
    conn.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users VALUES (1, 'ada');")
        .unwrap();
    drop(conn);
    let study = write(
        d,
        "s.toml",
        "[study]\nname = \"s\"\ntrials = 2\n[objective]\nname = \"branin\"\n",
    );
    let before = snapshot(d);
    for args in [
        vec!["studies", "list"],
        vec!["studies", "show", "s"],
        vec!["studies", "best", "s"],
        vec!["studies", "trials", "s"],
        vec!["studies", "export", "s"],
        vec!["studies", "delete", "s", "--yes"],
        vec!["studies", "create", study.as_str()],
        vec!["run", study.as_str()],
        vec!["worker", "--study", "s"],
        vec!["enqueue", "--study", "s", "x0=1"],
    ] {
        let out = hyperplug(
            &[&args[..], &["--storage", "sqlite://app.db"]].concat(),
            d,
            &[],
        );
        assert_clean_failure(
            &out,
            &["sqlite://app.db is not a hyperplug database", "`users`"],
        );
        assert_eq!(snapshot(d), before, "{args:?} changed the directory");
    }
}

#[test]
fn listing_an_empty_database_creates_nothing_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("empty.db"), b"").unwrap();
    let out = hyperplug(
        &["studies", "list", "--storage", "sqlite://empty.db"],
        d,
        &[],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout.trim(), "sqlite://empty.db holds no study yet");
    let out = hyperplug(
        &["studies", "show", "x", "--storage", "sqlite://empty.db"],
        d,
        &[],
    );
    assert_clean_failure(&out, &["sqlite://empty.db holds no study yet"]);
    assert_eq!(std::fs::metadata(d.join("empty.db")).unwrap().len(), 0);
    assert_eq!(snapshot(d).len(), 1, "no journal or WAL file beside it");
    if let Some(pg) = PgTestSchema::new("empty") {
        let out = hyperplug(&["studies", "list", "--storage", &pg.url], d, &[]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        assert!(stdout.contains("holds no study yet"), "{stdout}");
        // The schema was not created: a store opened to read makes nothing.
        let mut client = postgres::Client::connect(&pg.base, postgres::NoTls).unwrap();
        let n = client
            .query("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&pg.name])
            .unwrap()
            .len();
        assert_eq!(n, 0, "studies list created schema {}", pg.name);
    }
}

#[test]
fn a_read_only_study_file_and_directory_can_be_listed_shown_and_exported() {
    use std::os::unix::fs::PermissionsExt;
    let outer = tempfile::tempdir().unwrap();
    std::fs::set_permissions(outer.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = outer.path().join("store");
    std::fs::create_dir(&d).unwrap();
    let study = write(
        &d,
        "s.toml",
        "[study]\nname = \"s\"\ntrials = 3\nseed = 5\n[objective]\nname = \"branin\"\n",
    );
    let out = hyperplug(&["run", &study, "--storage", "sqlite://s.db"], &d, &[]);
    assert!(out.status.success(), "{}", text(&out).1);
    std::fs::set_permissions(d.join("s.db"), std::fs::Permissions::from_mode(0o444)).unwrap();
    // Writable by all (the file alone is read-only), then read-only to all.
    for mode in [0o777, 0o555] {
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode)).unwrap();
        let before = snapshot(&d);
        for args in [
            vec!["studies", "list"],
            vec!["studies", "show", "s"],
            vec!["studies", "best", "s"],
            vec!["studies", "trials", "s"],
            vec!["studies", "export", "s", "--format", "json"],
        ] {
            let out = as_unprivileged(&[&args[..], &["--storage", "sqlite://s.db"]].concat(), &d);
            let (stdout, stderr) = text(&out);
            assert!(
                out.status.success(),
                "{args:?} in a {mode:o} directory: {stderr}"
            );
            assert!(!stdout.trim().is_empty(), "{args:?} printed nothing");
            let after = snapshot(&d);
            // SQLite may leave its empty shared-memory files beside a file it read; the
            // database itself is byte for byte the same.
            let db = |s: &[(String, Vec<u8>)]| s.iter().find(|(n, _)| n == "s.db").cloned();
            assert_eq!(db(&after), db(&before), "{args:?} changed s.db");
        }
        if mode == 0o555 {
            let names =
                |s: Vec<(String, Vec<u8>)>| s.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
            assert_eq!(
                names(snapshot(&d)),
                names(before),
                "a read-only directory gained a file"
            );
        }
    }
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_worker_role_with_only_the_documented_grants_runs_a_study_and_can_change_no_table() {
    let Some(pg) = PgTestSchema::new("grants") else {
        return;
    };
    let Some(rest) = pg.url.strip_prefix("postgres://postgres@") else {
        eprintln!("skipping: {} does not connect as user postgres", pg.base);
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let study = write(
        d,
        "s.toml",
        "[study]\nname = \"g\"\ntrials = 6\nseed = 2\nretries = 1\n[objective]\nname = \"branin\"\n",
    );
    let out = hyperplug(&["studies", "create", &study, "--storage", &pg.url], d, &[]);
    assert!(out.status.success(), "{}", text(&out).1);

    // The grants README.md gives, for a role of this test's own.
    let role = format!("{}_w", pg.name);
    let s = &pg.name;
    let mut admin = postgres::Client::connect(&pg.base, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN;
             GRANT USAGE ON SCHEMA {s} TO {role};
             GRANT SELECT, INSERT, UPDATE ON {s}.trials, {s}.queue TO {role};
             GRANT SELECT, UPDATE (next_number, budgeted, finish_seq, updated_ms) ON {s}.studies TO {role};
             GRANT DELETE ON {s}.queue TO {role};
             GRANT SELECT ON {s}.meta TO {role};
             GRANT USAGE ON ALL SEQUENCES IN SCHEMA {s} TO {role};"
        ))
        .unwrap();
    let worker_url = format!("postgres://{role}@{rest}");
    let out = hyperplug(
        &["worker", "--study", "g", "--storage", &worker_url],
        d,
        &[],
    );
    let worked = out.status.success();
    let mut as_worker = postgres::Client::connect(
        &pg.base
            .replacen("postgres://postgres@", &format!("postgres://{role}@"), 1),
        postgres::NoTls,
    )
    .unwrap();
    let refused: Vec<bool> = [
        format!("DROP TABLE {s}.trials"),
        format!("DELETE FROM {s}.trials"),
        format!("CREATE TABLE {s}.mine (x int)"),
        format!("ALTER TABLE {s}.studies ADD COLUMN y int"),
        // The definition decides what every worker runs.
        format!("UPDATE {s}.studies SET record = '{{}}'"),
        format!("INSERT INTO {s}.studies (name, record, created_ms, updated_ms) VALUES ('x', '{{}}', 0, 0)"),
        format!("DELETE FROM {s}.studies"),
    ]
    .iter()
    .map(|sql| as_worker.batch_execute(sql).is_err())
    .collect();
    drop(as_worker);
    admin
        .batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE {role};"))
        .unwrap();
    assert!(
        worked,
        "the worker role could not run the study: {}",
        text(&out).1
    );
    assert_eq!(
        refused, [true; 7],
        "the worker role could change the schema or the study's definition"
    );
    let stored = export(d, &pg.url, "g");
    let states: Vec<&str> = stored["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["complete"; 6]);
}

/// A stand-in PostgreSQL server on a free local port that asks each client for a cleartext
/// password and keeps what it is sent, then hangs up: it shows which password a client sends.
struct PasswordCatcher {
    port: u16,
    caught: std::sync::mpsc::Receiver<String>,
}

impl PasswordCatcher {
    fn start() -> Self {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().expect("an address").port();
        let (tx, caught) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let mut len = [0u8; 4];
                if s.read_exact(&mut len).is_err() {
                    continue;
                }
                let mut startup = vec![0u8; (u32::from_be_bytes(len) as usize).saturating_sub(4)];
                if s.read_exact(&mut startup).is_err() {
                    continue;
                }
                // AuthenticationCleartextPassword.
                if s.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3]).is_err() {
                    continue;
                }
                let mut head = [0u8; 5];
                if s.read_exact(&mut head).is_err() || head[0] != b'p' {
                    continue;
                }
                let n = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
                let mut body = vec![0u8; n.saturating_sub(4)];
                if s.read_exact(&mut body).is_ok() {
                    let password = String::from_utf8_lossy(&body)
                        .trim_end_matches('\0')
                        .to_owned();
                    let _ = tx.send(password);
                }
            }
        });
        PasswordCatcher { port, caught }
    }

    /// The password the client sent, if one came within a few seconds.
    fn password(&self) -> Option<String> {
        self.caught
            .recv_timeout(std::time::Duration::from_secs(5))
            .ok()
    }
}

/// `hyperplug studies list --storage URL` with exactly the PostgreSQL variables in `env`.
fn list_with(url: &str, cwd: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = std::process::Command::new(crate::bin());
    cmd.args(["studies", "list", "-vv", "--storage", url])
        .current_dir(cwd)
        .env_remove("PGPASSWORD")
        .env_remove("PGPASSFILE")
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the binary runs")
}

#[test]
fn a_password_kept_out_of_the_url_is_found_where_libpq_looks_and_never_printed() {
    use std::os::unix::fs::PermissionsExt;
    let server = PasswordCatcher::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = format!(
        "postgres://me@127.0.0.1:{}/db?connect_timeout=5",
        server.port
    );
    let pw_file = write(d, "pw", "from-password-file\n");
    let passfile = write(
        d,
        "pgpass",
        &format!(
            "other:*:*:*:wrong\n127.0.0.1:{}:db:me:from-pgpass\n",
            server.port
        ),
    );
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o600)).unwrap();
    // The URL, the environment, and the password the server must receive.
    type Case<'a> = (String, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            url.clone(),
            vec![("PGPASSWORD", "from-pgpassword")],
            "from-pgpassword",
        ),
        (
            url.clone(),
            vec![("PGPASSFILE", passfile.as_str())],
            "from-pgpass",
        ),
        (
            format!("{url}&password_file={pw_file}"),
            vec![("PGPASSWORD", "no")],
            "from-password-file",
        ),
        (
            format!("{url}&password_env=HP_TEST_PW"),
            vec![("HP_TEST_PW", "from-named-variable"), ("PGPASSWORD", "no")],
            "from-named-variable",
        ),
        (
            url.replacen("me@", "me:from-url@", 1),
            vec![("PGPASSWORD", "no"), ("PGPASSFILE", passfile.as_str())],
            "from-url",
        ),
    ];
    for (url, env, want) in cases {
        let out = list_with(&url, d, &env);
        assert_eq!(server.password().as_deref(), Some(want), "{url} {env:?}");
        assert!(!out.status.success());
        let (stdout, stderr) = text(&out);
        assert!(
            !stdout.contains(want) && !stderr.contains(want),
            "{want} printed:\n{stderr}"
        );
    }
    // A password file others may read is not used, and the user is told why.
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = list_with(&url, d, &[("PGPASSFILE", passfile.as_str())]);
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("ignoring the password file") && stderr.contains("chmod 0600"),
        "{stderr}"
    );
    assert!(!stderr.contains("from-pgpass"), "{stderr}");
}

#[test]
fn parameters_a_program_would_read_under_one_variable_are_refused_before_any_trial() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let study = write(
        d,
        "clash.toml",
        "[study]\nname = \"clash\"\ndirection = \"minimize\"\ntrials = 3\n\n[objective]\nname = \"command\"\ncmd = [\"sh\", \"-c\", \"echo 1\"]\n\n[space]\na-b = { int = [0, 3] }\na_b = { int = [0, 3] }\n",
    );
    let out = hyperplug(&["run", &study], d, &[]);
    assert_clean_failure(
        &out,
        &[
            "objective `command` cannot take this [space]",
            "parameters `a-b` and `a_b` would both be passed as the environment variable `HYPERPLUG_PARAM_A_B`",
        ],
    );
    assert!(
        !d.join("hyperplug.db").exists(),
        "refused before the store is touched"
    );
}

#[test]
fn the_worker_command_that_create_prints_pastes_into_a_shell_as_the_same_words() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let name = "x; touch pwned #'$(id)";
    let url = "sqlite://it's here.db";
    let study = write(
        d,
        "s.toml",
        &format!(
            "[study]\nname = {}\ntrials = 1\n[objective]\nname = \"branin\"\n",
            serde_json::Value::from(name)
        ),
    );
    let out = hyperplug(&["studies", "create", &study, "--storage", url], d, &[]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let line = stderr
        .split_once("workers join it with `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(line, _)| line)
        .unwrap_or_else(|| panic!("no worker command in: {stderr}"));
    assert_eq!(
        shlex::split(line).unwrap_or_default(),
        ["hyperplug", "worker", "--storage", url, "--study", name],
        "{line}"
    );
}
