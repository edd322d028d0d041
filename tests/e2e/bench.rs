//! `hyperplug bench` end to end: a run's JSON line, table problems, plugins, the report, the
//! overhead benchmark, and clean errors for bad input.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{assert_clean_failure, hyperplug, plugin_dir, report, text, write};

/// The repository root (the fixture tables live under tests/data).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture_table() -> String {
    root()
        .join("tests/data/table/tiny.csv.gz")
        .to_string_lossy()
        .into_owned()
}

/// Runs `hyperplug bench` with `args` in `dir`, asserts success and returns the records.
fn bench(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Vec<Value> {
    let out = dir.join("r.jsonl");
    let out_text = out.to_string_lossy().into_owned();
    let mut all = vec!["bench"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", &out_text, "--md", "report.md"]);
    let result = hyperplug(&all, dir, env);
    let (_, stderr) = text(&result);
    assert!(result.status.success(), "bench failed:\n{stderr}");
    std::fs::read_to_string(&out)
        .expect("results written")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

#[test]
fn a_runs_json_line_matches_what_hyperplug_run_finds_with_the_same_seed() {
    let dir = tempfile::tempdir().unwrap();
    let records = bench(
        dir.path(),
        &[
            "--strategies",
            "random",
            "--problems",
            "branin",
            "--seeds",
            "3..4",
            "--budgets",
            "20",
        ],
        &[],
    );
    assert_eq!(records.len(), 1);
    let r = &records[0];
    for (key, expected) in [
        ("kind", "quality"),
        ("system", "hyperplug"),
        ("strategy", "random"),
        ("strategy_name", "random"),
        ("problem", "branin"),
        ("objective", "branin"),
        ("direction", "minimize"),
    ] {
        assert_eq!(r[key], expected, "{key} in {r}");
    }
    assert_eq!(
        (r["seed"].as_u64(), r["budget"].as_u64()),
        (Some(3), Some(20))
    );
    assert_eq!(
        (r["trials"].as_u64(), r["complete"].as_u64()),
        (Some(20), Some(20))
    );
    let curve = floats(&r["best_so_far"]);
    assert_eq!(curve.len(), 20);
    assert!(
        curve.windows(2).all(|w| w[1] <= w[0]),
        "best so far never worsens: {curve:?}"
    );
    let best = r["best_value"].as_f64().unwrap();
    assert_eq!(curve[19], best);
    let optimum = r["optimum"].as_f64().unwrap();
    assert!((optimum - 0.397_887_357_729_738).abs() < 1e-12);
    assert_eq!(r["regret"].as_f64().unwrap(), best - optimum);
    assert_eq!(floats(&r["sampler_s"]).len(), 20);
    assert_eq!(floats(&r["trial_s"]).len(), 20);
    assert!(r["wall_s"].as_f64().unwrap() > 0.0);
    assert!(r.get("error").is_none());

    let study = write(
        dir.path(),
        "s.toml",
        "[study]\ntrials = 20\nseed = 3\n[strategy]\nname = \"random\"\n[objective]\nname = \"branin\"\n",
    );
    let run = report(&hyperplug(&["run", &study, "--json"], dir.path(), &[]));
    assert_eq!(run["best_trials"][0]["values"][0].as_f64(), Some(best));
    assert_eq!(run["best_trials"][0]["number"], r["best_trial"]);

    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("## branin · 20 trials"), "{md}");
    assert!(md.contains("| hyperplug | random | 1 |"), "{md}");
}

/// Every configuration mean of the fixture table (tests/data/table/README.md).
const FIXTURE_MEANS: [f64; 11] = [
    55.0, 72.0, 63.0, 82.0, 42.0, 76.0, 67.0, 92.0, 21.0, 33.0, 90.0,
];

#[test]
fn a_noisy_table_problem_is_charged_the_mean_of_the_configuration_it_believed_best() {
    let dir = tempfile::tempdir().unwrap();
    let suite = format!(
        r#"
seeds = 6
budgets = [8]
[[strategy]]
name = "random"
[[problem]]
label = "tiny"
objective = "table"
path = "{table}"
noise_seed = "{{seed}}"
[[problem]]
label = "tiny-mean"
objective = "table"
path = "{table}"
mode = "mean"
"#,
        table = fixture_table()
    );
    let suite = write(dir.path(), "suite.toml", &suite);
    let records = bench(dir.path(), &["--suite", &suite], &[]);
    assert_eq!(records.len(), 12);
    let mut charged_less_than_observed = 0;
    for r in &records {
        assert_eq!(r["direction"], "maximize");
        assert_eq!(r["optimum"].as_f64(), Some(92.0));
        let best = r["best_value"].as_f64().unwrap();
        let observed = r["best_observed"].as_f64().unwrap();
        assert!(
            FIXTURE_MEANS.contains(&best),
            "{best} is a configuration mean"
        );
        assert_eq!(r["regret"].as_f64(), Some(92.0 - best));
        if r["problem"] == "tiny-mean" {
            assert_eq!(
                best, observed,
                "without noise the observed value is the mean"
            );
        } else if best != observed {
            charged_less_than_observed += 1;
        }
        // The 8 trials draw configurations; some may be the missing one and fail.
        let (complete, failed) = (
            r["complete"].as_u64().unwrap(),
            r["failed"].as_u64().unwrap(),
        );
        assert_eq!(complete + failed, 8);
    }
    assert!(
        charged_less_than_observed > 0,
        "noise made some observed best differ from its mean"
    );

    // Same suite, same records (apart from timings).
    let again = bench(dir.path(), &["--suite", &suite, "--jobs", "1"], &[]);
    let key = |r: &Value| {
        (
            r["problem"].to_string(),
            r["seed"].as_u64(),
            r["best_so_far"].to_string(),
        )
    };
    let mut a: Vec<_> = records.iter().map(key).collect();
    let mut b: Vec<_> = again.iter().map(key).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn plugin_strategies_run_through_plugin_dir() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(&["hyperplug-example-library"]);
    let records = bench(
        dir.path(),
        &[
            "--plugin-dir",
            &plugins.path().to_string_lossy(),
            "--strategies",
            "halton,random",
            "--problems",
            "hartmann3",
            "--seeds",
            "2",
            "--budgets",
            "16",
        ],
        &[],
    );
    assert_eq!(records.len(), 4);
    assert!(
        records
            .iter()
            .all(|r| r["trials"] == 16 && r.get("error").is_none())
    );
    assert!(records.iter().any(|r| r["strategy"] == "halton"));
}

#[test]
fn the_report_puts_every_system_in_one_table_with_one_curve_each() {
    let dir = tempfile::tempdir().unwrap();
    let line = |system: &str, strategy: &str, seed: u64, best: f64| {
        serde_json::json!({
            "system": system, "strategy": strategy, "problem": "branin", "direction": "minimize",
            "seed": seed, "budget": 3, "best_value": best, "optimum": 0.5,
            "best_so_far": [best + 2.0, best + 1.0, best], "sampler_s": [0.001, 0.001, 0.004]
        })
        .to_string()
    };
    let ours: Vec<String> = (0..4)
        .map(|s| line("hyperplug", "qmc", s, 1.0 + s as f64))
        .collect();
    let theirs: Vec<String> = (0..4)
        .map(|s| line("optuna", "tpe", s, 0.5 + 2.0 * s as f64))
        .collect();
    let a = write(dir.path(), "a.jsonl", &ours.join("\n"));
    let b = write(dir.path(), "b.jsonl", &(theirs.join("\n") + "\n"));
    let out = hyperplug(
        &[
            "bench",
            "report",
            &a,
            &b,
            "--md",
            "out/report.md",
            "--svg-dir",
            "out/figures",
        ],
        dir.path(),
        &[],
    );
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let md = std::fs::read_to_string(dir.path().join("out/report.md")).unwrap();
    // qmc: best 1, 2, 3, 4 → median 2.5, IQR 1.5, regret median 2; tpe: 0.5, 2.5, 4.5, 6.5 →
    // median 3.5, IQR 3. tpe wins seed 0 (0.5 < 1), qmc seeds 1 to 3: mean ranks 1.25 and 1.75.
    assert!(
        md.contains("| hyperplug | qmc | 4 | 2.5 | 1.5 | 2 | 1.5 | 1.25 | 2 |"),
        "{md}"
    );
    assert!(
        md.contains("| optuna | tpe | 4 | 3.5 | 3 | 3 | 3 | 1.75 | 2 |"),
        "{md}"
    );
    assert!(md.contains("](figures/branin-3.svg)"), "{md}");
    let svg = std::fs::read_to_string(dir.path().join("out/figures/branin-3.svg")).unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<path ").count(), 2, "one median curve per row");
    assert!(svg.contains("optuna tpe"));

    // Without --md the report goes to standard output.
    let out = hyperplug(&["bench", "report", &a], dir.path(), &[]);
    let (stdout, _) = text(&out);
    assert!(stdout.contains("| hyperplug | qmc | 4 |"), "{stdout}");
}

#[test]
fn the_overhead_benchmark_times_each_strategy_per_trial() {
    let dir = tempfile::tempdir().unwrap();
    let out = hyperplug(
        &[
            "bench",
            "overhead",
            "--strategies",
            "random,qmc",
            "--trials",
            "60,120",
            "--out",
            "o.jsonl",
            "--md",
            "o.md",
        ],
        dir.path(),
        &[],
    );
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let lines = std::fs::read_to_string(dir.path().join("o.jsonl")).unwrap();
    let records: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    for r in &records {
        assert_eq!(r["kind"], "overhead");
        assert_eq!(r["problem"], "sphere10");
        assert_eq!(r["checkpoints"], serde_json::json!([60, 120]));
        assert_eq!(floats(&r["trial_s"]).len(), 120);
        assert_eq!(floats(&r["sampler_s"]).len(), 120);
    }
    let md = std::fs::read_to_string(dir.path().join("o.md")).unwrap();
    assert!(md.contains("## Sampler overhead (sphere10)"), "{md}");
    assert!(
        md.contains("| system | strategy | trials run | trial ms @60 | trial ms @120 |"),
        "{md}"
    );
    assert!(md.contains("| hyperplug | qmc | 120 |"), "{md}");
}

#[test]
fn a_budget_beyond_memory_runs_until_its_timeout_instead_of_aborting() {
    let dir = tempfile::tempdir().unwrap();
    let out = hyperplug(
        &[
            "bench",
            "overhead",
            "--strategies",
            "random",
            "--dim",
            "2",
            "--trials",
            "1000000000000",
            "--timeout",
            "1s",
            "--out",
            "o.jsonl",
            "--md",
            "o.md",
        ],
        dir.path(),
        &[],
    );
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let lines = std::fs::read_to_string(dir.path().join("o.jsonl")).unwrap();
    let r: Value = serde_json::from_str(lines.trim()).unwrap();
    let trials = r["trials"].as_u64().unwrap();
    assert!(trials > 0, "{r}");
    assert_eq!(floats(&r["sampler_s"]).len() as u64, trials);
}

#[test]
fn a_problem_can_come_from_a_study_file() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "levy.toml",
        "[study]\nname = \"levy4\"\ntrials = 1\n[objective]\nname = \"levy\"\ndim = 4\n",
    );
    let suite = write(
        dir.path(),
        "suite.toml",
        "seeds = 2\nbudgets = [10]\n[[strategy]]\nname = \"qmc\"\n[[problem]]\nstudy = \"levy.toml\"\n",
    );
    let records = bench(dir.path(), &["--suite", &suite], &[]);
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["problem"], "levy4");
    assert_eq!(
        records[0]["problem_settings"],
        serde_json::json!({"dim": 4})
    );
    assert_eq!(records[0]["optimum"].as_f64(), Some(0.0));
}

#[test]
fn an_external_command_is_a_problem_through_its_study_file() {
    let dir = tempfile::tempdir().unwrap();
    // (x - 0.3)² computed by awk: any program that prints a number will do.
    write(
        dir.path(),
        "quad.toml",
        r#"
[study]
name = "quad"
direction = "minimize"
trials = 1
[objective]
name = "command"
cmd = ["awk", "BEGIN {{ print ({x} - 0.3) ^ 2 }}"]
[space]
x = { float = [-1.0, 1.0] }
"#,
    );
    let suite = write(
        dir.path(),
        "suite.toml",
        "seeds = 2\nbudgets = [6]\n[[strategy]]\nname = \"random\"\n[[problem]]\nstudy = \"quad.toml\"\n",
    );
    let records = bench(dir.path(), &["--suite", &suite], &[]);
    assert_eq!(records.len(), 2);
    for r in &records {
        assert_eq!(
            (r["problem"].as_str(), r["objective"].as_str()),
            (Some("quad"), Some("command"))
        );
        assert_eq!(
            (r["complete"].as_u64(), r["failed"].as_u64()),
            (Some(6), Some(0))
        );
        let best = r["best_value"].as_f64().unwrap();
        assert!((0.0..=1.69).contains(&best), "{best}");
        assert!(r["optimum"].is_null() && r["regret"].is_null());
    }
}

#[test]
fn bad_input_fails_cleanly_naming_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "bench",
            "--seeds",
            "2",
            "--budgets",
            "5",
            "--out",
            "r.jsonl",
        ];
        args.extend_from_slice(extra);
        hyperplug(&args, d, &[])
    };
    assert_clean_failure(
        &run(&["--strategies", "anneal", "--problems", "branin"]),
        &["unknown strategy `anneal`", "available:", "random"],
    );
    assert_clean_failure(
        &run(&["--strategies", "random", "--problems", "brannin"]),
        &["problem `brannin`", "unknown objective `brannin`"],
    );
    assert_clean_failure(
        &run(&[
            "--strategies",
            "random",
            "--problems",
            "table:path=missing.csv",
        ]),
        &[
            "problem `table:path=missing.csv`",
            "missing.csv",
            "cannot read the file",
        ],
    );
    assert_clean_failure(
        &run(&["--suite", "nope.toml"]),
        &["cannot read the suite file nope.toml"],
    );
    let bad = write(
        d,
        "bad.toml",
        "seeds = 2\n[[strategy]]\nname = \"random\"\nlabel = 3\n",
    );
    assert_clean_failure(
        &run(&["--suite", &bad]),
        &["[[strategy]] #1", "`label` must be a string"],
    );
    let out = hyperplug(
        &["bench", "--strategies", "random", "--problems", "branin"],
        d,
        &[],
    );
    assert_clean_failure(&out, &["--out results.jsonl"]);
    assert_clean_failure(
        &hyperplug(&["bench", "report", "none.jsonl"], d, &[]),
        &["cannot read results file none.jsonl"],
    );
    let junk = write(d, "junk.jsonl", "{\"system\": \"x\"}\n");
    assert_clean_failure(
        &hyperplug(&["bench", "report", &junk], d, &[]),
        &["junk.jsonl:1: not a benchmark record", "missing field"],
    );
    assert!(
        !d.join("r.jsonl").exists(),
        "nothing ran, so nothing was written"
    );
}

#[test]
fn several_objectives_are_scored_by_hypervolume_against_the_known_front() {
    let dir = tempfile::tempdir().unwrap();
    let out = hyperplug(
        &[
            "bench",
            "--strategies",
            "nsga2,random",
            "--problems",
            "zdt1:dim=5",
            "--seeds",
            "2",
            "--budgets",
            "200",
            "--out",
            "r.jsonl",
        ],
        dir.path(),
        &[],
    );
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let lines = std::fs::read_to_string(dir.path().join("r.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 4);
    for r in &records {
        assert_eq!(r["direction"], "maximize", "{r}");
        let optimum = r["optimum"].as_f64().unwrap();
        assert!((optimum - (1.21 - 1.0 / 3.0)).abs() < 1e-12);
        let hv = r["best_value"].as_f64().unwrap();
        assert!(hv > 0.0 && hv < optimum, "{r}");
        assert!((r["regret"].as_f64().unwrap() - (optimum - hv)).abs() < 1e-12);
    }
}
