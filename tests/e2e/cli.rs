//! The CLI: running studies, reproducibility, and clean errors for bad input.

use crate::{assert_clean_failure, hyperplug, report, text, write};

const BRANIN: &str = r#"
[study]
name = "branin-random"
trials = 60
seed = 11

[strategy]
name = "random"

[objective]
name = "branin"
"#;

#[test]
fn the_quickstart_runs_and_finds_a_good_point() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // In memory: a test leaves no store in the repository.
    let out = hyperplug(
        &[
            "run",
            "examples/quickstart.toml",
            "--json",
            "--storage",
            "memory",
        ],
        &root,
        &[],
    );
    let r = report(&out);
    let trials = r["trials"].as_array().expect("trials");
    assert_eq!(
        trials.len() as u64,
        r["counts"]["complete"].as_u64().unwrap()
    );
    assert_eq!(trials.len(), 100);
    assert_eq!(r["study"]["strategy"], "tpe");
    let best = r["best_trials"][0]["values"][0].as_f64().unwrap();
    // Hartmann-6 ranges over [-3.32237, 0]. 100 random trials reach about -2.0 (median of the
    // reference figures); TPE gets within a few tenths of the optimum.
    assert!((-3.32237..-2.8).contains(&best), "best {best}");
}

#[test]
fn a_seeded_study_reproduces_exactly_and_another_seed_differs() {
    let dir = tempfile::tempdir().unwrap();
    let study = write(dir.path(), "s.toml", BRANIN);
    // In memory: the same study twice is two runs, not one continued.
    let memory = ["--json", "--storage", "memory"];
    let a = report(&hyperplug(
        &[&["run", &study][..], &memory].concat(),
        dir.path(),
        &[],
    ));
    let b = report(&hyperplug(
        &[&["run", &study][..], &memory].concat(),
        dir.path(),
        &[],
    ));
    let params = |r: &serde_json::Value| -> Vec<serde_json::Value> {
        r["trials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["params"].clone())
            .collect()
    };
    assert_eq!(params(&a).len(), 60);
    assert_eq!(params(&a), params(&b));
    let other = write(
        dir.path(),
        "o.toml",
        &BRANIN.replace("seed = 11", "seed = 12"),
    );
    let c = report(&hyperplug(
        &[&["run", &other][..], &memory].concat(),
        dir.path(),
        &[],
    ));
    assert_ne!(params(&a), params(&c));
    // Random search on Branin with 60 trials lands within 2 of the optimum 0.3979.
    let best = a["best_trials"][0]["values"][0].as_f64().unwrap();
    assert!((0.397887..2.4).contains(&best), "best {best}");
}

#[test]
fn without_a_terminal_each_trial_is_logged_and_a_summary_printed() {
    let dir = tempfile::tempdir().unwrap();
    let study = write(
        dir.path(),
        "s.toml",
        &BRANIN.replace("trials = 60", "trials = 5"),
    );
    let out = hyperplug(&["run", &study], dir.path(), &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.is_empty(), "no --json, nothing on stdout: {stdout}");
    assert_eq!(stderr.matches("complete:").count(), 5, "{stderr}");
    assert!(
        stderr.contains("5 trials (5 complete, 0 pruned, 0 failed), seed 11"),
        "{stderr}"
    );
    assert!(stderr.contains("best: trial"), "{stderr}");
}

#[test]
fn a_two_objective_study_reports_its_pareto_front() {
    let dir = tempfile::tempdir().unwrap();
    let study = write(
        dir.path(),
        "zdt.toml",
        "[study]\ntrials = 40\nseed = 3\n[strategy]\nname = \"qmc\"\n[objective]\nname = \"zdt1\"\ndim = 5\n",
    );
    let r = report(&hyperplug(&["run", &study, "--json"], dir.path(), &[]));
    assert_eq!(
        r["study"]["directions"],
        serde_json::json!(["minimize", "minimize"])
    );
    let front = r["best_trials"].as_array().unwrap();
    assert!(!front.is_empty() && front.len() < 40);
    // Its hypervolume, against each objective's worst complete value plus a tenth of its range.
    let hv = &r["hypervolume"];
    let reference: Vec<f64> = (0..2)
        .map(|j| {
            let all: Vec<f64> = r["trials"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["values"][j].as_f64().unwrap())
                .collect();
            let (lo, hi) = all
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                    (a.min(*v), b.max(*v))
                });
            hi + 0.1 * (hi - lo)
        })
        .collect();
    assert_eq!(hv["reference_point"], serde_json::json!(reference));
    assert!(hv["value"].as_f64().unwrap() > 0.0, "{hv}");
    assert_eq!(hv["estimate"], false);
    // `studies best` prints the same front and hypervolume from the store.
    let name = r["study"]["name"].as_str().unwrap();
    let best = hyperplug(&["studies", "best", name], dir.path(), &[]);
    let (stdout, stderr) = text(&best);
    assert!(best.status.success(), "{stderr}");
    assert!(
        stdout.contains(&format!("{} trials", front.len())),
        "{stdout}"
    );
    let value = hv["value"].as_f64().unwrap();
    assert!(
        stdout.contains(&format!("hypervolume {}", hyperplug::format::number(value))),
        "{stdout}"
    );
    // No trial on the reported front is dominated by any complete trial.
    let vals = |t: &serde_json::Value| {
        (
            t["values"][0].as_f64().unwrap(),
            t["values"][1].as_f64().unwrap(),
        )
    };
    for f in front {
        let (f1, f2) = vals(f);
        for t in r["trials"].as_array().unwrap() {
            let (g1, g2) = vals(t);
            assert!(
                !(g1 <= f1 && g2 <= f2 && (g1 < f1 || g2 < f2)),
                "{f} dominated by {t}"
            );
        }
    }
}

#[test]
fn user_spaces_with_conditions_are_searched_and_respected() {
    let dir = tempfile::tempdir().unwrap();
    let study = write(
        dir.path(),
        "s.toml",
        r#"
[study]
direction = "minimize"
trials = 30
seed = 5
[strategy]
name = "grid"
[objective]
name = "bowl"
[space]
layers = { int = [1, 3] }
units_2 = { int = [16, 64], step = 16, when = { layers = [2, 3] } }
act = { choice = ["relu", "tanh"] }
"#,
    );
    // `bowl` defines its own space, so this must be refused before any trial.
    let lib_dir = crate::plugin_dir(&["hyperplug-example-library"]);
    let out = hyperplug(
        &[
            "run",
            &study,
            "--plugin-dir",
            lib_dir.path().to_str().unwrap(),
        ],
        dir.path(),
        &[],
    );
    assert_clean_failure(
        &out,
        &["defines its own search space", "remove the [space] table"],
    );
}

#[test]
fn bad_study_files_get_clear_errors_without_backtraces() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[&str])] = &[
        (
            "[study]\ntrials = 5\n[objective\nname = \"branin\"\n",
            &["bad.toml:3:", "malformed"],
        ),
        (
            "[study]\ntrials = 5\n[strategy]\nname = \"nope\"\n[objective]\nname = \"branin\"\n",
            &["unknown strategy `nope`", "random", "grid", "qmc"],
        ),
        (
            "[study]\ntrials = 5\n[objective]\nname = \"nope\"\n",
            &["unknown objective `nope`", "branin", "zdt1"],
        ),
        (
            "[study]\ntrials = 5\ndirection = \"minimize\"\n[objective]\nname = \"cmd\"\n",
            &["unknown objective `cmd`"],
        ),
        (
            "[study]\ntrials = 5\n[objective]\nname = \"branin\"\ncolour = 1\n",
            &["branin", "colour"],
        ),
        (
            "[study]\ntrials = 5\n[objective]\nname = \"rosenbrock\"\ndim = 0\n",
            &["rosenbrock", "dim"],
        ),
        (
            "[study]\n[objective]\nname = \"branin\"\n",
            &["no budget", "trials = N"],
        ),
        (
            "[study]\ntrials = 5\ndirections = [\"minimize\"]\n[objective]\nname = \"zdt1\"\n",
            &["1 direction(s)", "2 value(s)"],
        ),
        (
            "[study]\ntrials = 5\n[strategy]\nname = \"grid\"\n[objective]\nname = \"branin\"\n",
            &["grid", "points"],
        ),
    ];
    for (i, (toml, needles)) in cases.iter().enumerate() {
        let study = write(dir.path(), "bad.toml", toml);
        let out = hyperplug(&["run", &study], dir.path(), &[]);
        let err = assert_clean_failure(&out, needles);
        assert!(!err.contains("trial 0"), "case {i} ran a trial:\n{err}");
    }
}

#[test]
fn bad_spaces_point_at_the_parameter_and_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let head =
        "[study]\ndirection = \"minimize\"\ntrials = 5\n[objective]\nname = \"bowl\"\n[space]\n";
    let cases: &[(&str, &[&str])] = &[
        (
            "lr = { float = [0.1, 0.01] }\n",
            &["s.toml:7:", "`lr`", "inverted"],
        ),
        ("n = { int = [5, 1] }\n", &["`n`", "inverted"]),
        (
            "lr = { float = [0.0, 1.0], log = true }\n",
            &["`lr`", "log scale needs a positive range"],
        ),
        (
            "u = { int = [1, 3], when = { depth = [2] } }\n",
            &["s.toml:7:", "`u`", "`depth`", "not a parameter"],
        ),
        ("a = { choice = [] }\n", &["`a`", "at least one value"]),
        ("a = { float = [0, 1], int = [0, 1] }\n", &["only one of"]),
        ("a = { range = [0, 1] }\n", &["s.toml:7:", "range"]),
    ];
    for (space, needles) in cases {
        let study = write(dir.path(), "s.toml", &format!("{head}{space}"));
        let out = hyperplug(&["run", &study], dir.path(), &[]);
        assert_clean_failure(&out, needles);
    }
}

/// Equal bounds fix a parameter (as in Optuna): every trial gets the value, and a grid needs no
/// `points` for it.
#[test]
fn equal_bounds_fix_a_parameter() {
    let dir = tempfile::tempdir().unwrap();
    for strategy in ["name = \"grid\"\npoints = 3", "name = \"tpe\""] {
        let study = write(
            dir.path(),
            "s.toml",
            &format!(
                r#"
[study]
direction = "minimize"
trials = 6
seed = 2
[strategy]
{strategy}
[objective]
name = "command"
cmd = ["sh", "-c", 'echo $HYPERPLUG_PARAM_X']
metric = "value"
[space]
x = {{ float = [0.0, 1.0] }}
lr = {{ float = [0.1, 0.1] }}
n = {{ int = [4, 4] }}
"#
            ),
        );
        let out = hyperplug(&["run", &study, "--json"], dir.path(), &[]);
        let r = report(&out);
        let trials = r["trials"].as_array().unwrap();
        assert_eq!(trials.len(), if strategy.contains("grid") { 3 } else { 6 });
        for t in trials {
            assert_eq!(t["state"], "complete", "{t}");
            assert_eq!(
                (t["params"]["lr"].as_f64(), t["params"]["n"].as_i64()),
                (Some(0.1), Some(4))
            );
        }
    }
}

#[test]
fn a_missing_study_file_and_bad_arguments_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out = hyperplug(&["run", "nowhere.toml"], dir.path(), &[]);
    assert_clean_failure(&out, &["nowhere.toml", "cannot read"]);
    let out = hyperplug(&["fly"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_export_or_report_never_writes_over_the_store_it_reads_nor_a_file_it_cannot_fill() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let study = write(d, "s.toml", &BRANIN.replace("trials = 60", "trials = 3"));
    let out = hyperplug(&["run", &study, "--storage", "sqlite://s.db"], d, &[]);
    assert!(out.status.success(), "{}", text(&out).1);
    std::os::unix::fs::symlink(d.join("s.db"), d.join("link.db")).unwrap();
    let stored = |what: &str| {
        let out = hyperplug(&["studies", "list", "--storage", "sqlite://s.db"], d, &[]);
        let (stdout, stderr) = text(&out);
        assert!(
            out.status.success() && stdout.contains("branin-random"),
            "{what} lost the store:\n{stdout}{stderr}"
        );
    };
    for target in ["s.db", "./s.db", "link.db"] {
        let out = hyperplug(
            &[
                "studies",
                "export",
                "branin-random",
                "--storage",
                "sqlite://s.db",
                "--out",
                target,
            ],
            d,
            &[],
        );
        assert_clean_failure(&out, &[target, "the store"]);
        stored(&format!("export --out {target}"));
        let out = hyperplug(
            &[
                "report",
                "branin-random",
                "--storage",
                "sqlite://s.db",
                "--out",
                target,
            ],
            d,
            &[],
        );
        assert_clean_failure(&out, &[target, "the store"]);
        stored(&format!("report --out {target}"));
    }
    // A study that is not there leaves the file it would have been written to as it was.
    write(d, "keep.csv", "precious\n");
    let out = hyperplug(
        &[
            "studies",
            "export",
            "typo",
            "--storage",
            "sqlite://s.db",
            "--out",
            "keep.csv",
        ],
        d,
        &[],
    );
    assert_clean_failure(&out, &["typo"]);
    assert_eq!(
        std::fs::read_to_string(d.join("keep.csv")).unwrap(),
        "precious\n"
    );
}

/// Runs the binary with its stdout a pipe nobody reads any more, as `hyperplug ... | head -1`
/// leaves it once `head` has its line.
fn into_a_closed_pipe(args: &[&str], cwd: &std::path::Path) -> std::process::Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    std::process::Command::new(crate::bin())
        .args(args)
        .current_dir(cwd)
        .env_remove("HYPERPLUG_PLUGIN_PATH")
        .env("RUST_BACKTRACE", "1")
        .stdout(writer)
        .output()
        .expect("the binary runs")
}

#[test]
fn output_into_a_closed_pipe_ends_quietly_like_any_filter() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let study = write(d, "s.toml", &BRANIN.replace("trials = 60", "trials = 3"));
    let out = hyperplug(&["run", &study, "--storage", "sqlite://s.db"], d, &[]);
    assert!(out.status.success(), "{}", text(&out).1);
    let out = hyperplug(
        &[
            "bench",
            "--strategies",
            "random",
            "--problems",
            "branin",
            "--seeds",
            "1",
            "--budgets",
            "3",
            "--out",
            "r.jsonl",
            "--md",
            "r.md",
        ],
        d,
        &[],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    for args in [
        &["run", &study, "--storage", "memory", "--json"][..],
        &["plugins", "list"],
        &["bench", "report", "r.jsonl"],
        &[
            "studies",
            "best",
            "branin-random",
            "--json",
            "--storage",
            "sqlite://s.db",
        ],
        &[
            "studies",
            "export",
            "branin-random",
            "--format",
            "json",
            "--storage",
            "sqlite://s.db",
        ],
    ] {
        let out = into_a_closed_pipe(args, d);
        let (_, stderr) = text(&out);
        assert!(
            out.status.success() && !stderr.contains("panicked") && !stderr.contains("error"),
            "{args:?} into a closed pipe: {:?}\n{stderr}",
            out.status
        );
    }
}
