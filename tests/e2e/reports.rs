//! One study schema across the CLI's outputs (`run --json`, `studies export`, `studies best
//! --json`), and the HTML report of a stored study.

use std::path::Path;

use serde_json::Value as Json;

use crate::{assert_clean_failure, hyperplug, text, write};

/// A study whose command objective reports three intermediate values, fails when `x > 4`, and
/// attaches a `size`; `noise` is conditional and unused.
const STUDY: &str = r#"
[study]
name = "rep"
direction = "minimize"
trials = 40
seed = 5

[strategy]
name = "random"

[objective]
name = "command"
cmd = ["awk", "-v", "x={x}", "-v", "y={y}", "-v", "k={kind}", "-f", "loss.awk"]
metric = "loss"

[space]
x = { float = [-5.0, 5.0] }
y = { float = [-5.0, 5.0] }
kind = { choice = ["a", "b"] }
noise = { float = [0.0, 1.0], when = { kind = ["b"] } }
"#;

const LOSS: &str = r#"BEGIN {
  v = (x - 1) ^ 2 + (y + 2) ^ 2 + (k == "b" ? 1 : 0)
  for (s = 0; s < 3; s++) printf "{\"step\": %d, \"loss\": %.6f}\n", s, v + 3 - s
  if (x > 4) exit 3
  printf "{\"loss\": %.6f, \"size\": 7}\n", v
}
"#;

fn stored_study(dir: &Path) {
    write(dir, "study.toml", STUDY);
    write(dir, "loss.awk", LOSS);
    let out = hyperplug(&["run", "study.toml"], dir, &[]);
    assert!(out.status.success(), "{}", text(&out).1);
}

fn json_of(dir: &Path, args: &[&str]) -> Json {
    let out = hyperplug(args, dir, &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{args:?}: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}\n{stdout}"))
}

#[test]
fn run_export_and_best_write_one_schema() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "study.toml", STUDY);
    write(d, "loss.awk", LOSS);
    let run = json_of(d, &["run", "study.toml", "--json"]);
    let export = json_of(d, &["studies", "export", "rep", "--format", "json"]);
    let best = json_of(d, &["studies", "best", "rep", "--json"]);
    for doc in [&run, &export, &best] {
        assert_eq!(doc["schema_version"], 1);
        let s = &doc["study"];
        assert_eq!(
            (
                &s["name"],
                &s["strategy"],
                &s["objective"],
                &s["seed"],
                &s["trial_budget"]
            ),
            (
                &"rep".into(),
                &"random".into(),
                &"command".into(),
                &5.into(),
                &40.into()
            ),
            "{s}"
        );
        assert_eq!(s["directions"], serde_json::json!(["minimize"]));
        assert_eq!(s["space"].as_array().map(Vec::len), Some(4));
    }
    // The same trials, field by field, from the run and from the store.
    let (ran, stored) = (
        run["trials"].as_array().unwrap(),
        export["trials"].as_array().unwrap(),
    );
    assert_eq!(ran.len(), 40);
    assert_eq!(stored.len(), 40);
    for (a, b) in ran.iter().zip(stored) {
        for key in [
            "number",
            "state",
            "values",
            "params",
            "intermediate",
            "user_attrs",
            "started_ms",
            "duration_s",
            "message",
        ] {
            assert_eq!(a[key], b[key], "{key}: {a} / {b}");
        }
        assert!(b["worker"].is_string(), "the store knows the worker: {b}");
        let failed = a["params"]["x"].as_f64().unwrap() > 4.0;
        assert_eq!(
            a["state"],
            if failed { "failed" } else { "complete" },
            "{a}"
        );
        assert_eq!(a["intermediate"].as_array().unwrap().len(), 3, "{a}");
        assert_eq!(
            a["params"].get("noise").is_some(),
            a["params"]["kind"] == "b",
            "{a}"
        );
        if !failed {
            assert_eq!(a["user_attrs"]["size"], 7, "{a}");
        }
    }
    let failed = ran.iter().filter(|t| t["state"] == "failed").count() as u64;
    assert!(failed > 0);
    for doc in [&run, &export, &best] {
        assert_eq!(
            doc["counts"]["failed"].as_u64(),
            Some(failed),
            "{}",
            doc["counts"]
        );
        assert_eq!(doc["counts"]["complete"].as_u64(), Some(40 - failed));
        assert_eq!(
            doc["best_trials"][0]["number"],
            export["best_trials"][0]["number"]
        );
    }
    assert_eq!(best["best_trials"], export["best_trials"]);
    assert!(
        best.get("trials").is_none(),
        "best --json leaves the trials out"
    );
    let b = &best["best_trials"][0];
    let min = ran
        .iter()
        .filter_map(|t| t["values"][0].as_f64())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(b["values"][0].as_f64(), Some(min));

    // CSV: a column per parameter, attribute and step, as Optuna's trials_dataframe.
    let out = hyperplug(&["studies", "export", "rep"], d, &[]);
    let csv = text(&out).0;
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let head = [
        "number",
        "value",
        "datetime_start",
        "datetime_complete",
        "duration_s",
        "params_x",
        "params_y",
        "params_kind",
        "params_noise",
    ];
    let tail = [
        "state", "step_0", "step_1", "step_2", "message", "worker", "retry_of",
    ];
    assert_eq!(header[..head.len()], head, "{header:?}");
    assert_eq!(header[header.len() - tail.len()..], tail, "{header:?}");
    let attrs = &header[head.len()..header.len() - tail.len()];
    assert!(attrs.iter().all(|h| h.starts_with("attr_")), "{header:?}");
    assert!(attrs.contains(&"attr_size"), "{header:?}");
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 40);
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    for (row, t) in rows.iter().zip(stored) {
        assert_eq!(row[col("number")], t["number"].to_string());
        assert_eq!(
            row[col("value")].parse::<f64>().ok(),
            t["values"][0].as_f64(),
            "{row:?}"
        );
        assert_eq!(
            row[col("step_2")].parse::<f64>().ok(),
            t["intermediate"][2][1].as_f64()
        );
    }
}

#[test]
fn a_stored_study_reports_as_one_self_contained_page() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    stored_study(d);
    let out = hyperplug(&["report", "rep", "-o", "r.html"], d, &[]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("r.html"), "{stderr}");
    let html = std::fs::read_to_string(d.join("r.html")).unwrap();
    for id in [
        "history",
        "importance",
        "parallel",
        "slice",
        "contour",
        "rank",
        "intermediate",
        "edf",
        "timeline",
    ] {
        assert!(html.contains(&format!("id=\"fig-{id}\"")), "{id}");
    }
    for outside in ["http://", "https://", "src=", "url(", "<link", "@import"] {
        assert!(
            !html.contains(outside),
            "the page reaches outside itself: {outside}"
        );
    }
    assert!(
        html.contains("class=\"s-failed\""),
        "failed trials are drawn as such"
    );
    assert!(html.contains("Study <code>rep</code>"));

    // From an export: the same data, the same page.
    let out = hyperplug(
        &[
            "studies", "export", "rep", "--format", "json", "--out", "rep.json",
        ],
        d,
        &[],
    );
    assert!(out.status.success());
    let out = hyperplug(&["report", "--from", "rep.json", "-o", "r2.html"], d, &[]);
    assert!(out.status.success(), "{}", text(&out).1);
    assert_eq!(std::fs::read_to_string(d.join("r2.html")).unwrap(), html);

    // `bench report` reads a single-objective export as one run of its strategy.
    let out = hyperplug(&["bench", "report", "rep.json"], d, &[]);
    let (md, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(md.contains("rep") && md.contains("random"), "{md}");

    // Bad input: clear errors, no page.
    assert_clean_failure(&hyperplug(&["report", "nope"], d, &[]), &["nope"]);
    assert_clean_failure(
        &hyperplug(&["report", "rep", "--objective", "1"], d, &[]),
        &["objective 1 does not exist", "1 objective"],
    );
    write(
        d,
        "bad.json",
        "{\"schema_version\": 1, \"study\": {\"name\": 3}}",
    );
    assert_clean_failure(
        &hyperplug(&["report", "--from", "bad.json"], d, &[]),
        &["bad.json", "not a hyperplug study document", "study.name"],
    );
    assert_clean_failure(&hyperplug(&["report"], d, &[]), &["STUDY", "--from"]);
    assert!(!d.join("report.html").exists());
}

#[test]
fn a_multi_objective_report_shows_the_front_and_its_hypervolume() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "zdt.toml",
        "[study]\nname = \"zdt\"\ntrials = 30\nseed = 2\n\n[strategy]\nname = \"random\"\n\n[objective]\nname = \"zdt1\"\n",
    );
    let out = hyperplug(&["run", "zdt.toml", "--storage", "sqlite://z.db"], d, &[]);
    assert!(out.status.success(), "{}", text(&out).1);
    let best = json_of(
        d,
        &[
            "studies",
            "best",
            "zdt",
            "--storage",
            "sqlite://z.db",
            "--json",
        ],
    );
    let hv = best["hypervolume"]["value"].as_f64().expect("hypervolume");
    let out = hyperplug(
        &[
            "report",
            "zdt",
            "--storage",
            "sqlite://z.db",
            "-o",
            "z.html",
        ],
        d,
        &[],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let html = std::fs::read_to_string(d.join("z.html")).unwrap();
    assert!(html.contains("id=\"fig-pareto\""));
    assert!(html.contains("<h2>Pareto front</h2>"));
    assert!(html.contains("hypervolume is <strong>"), "{hv}");
    // A benchmark report compares one objective, and says so.
    let out = hyperplug(
        &[
            "studies",
            "export",
            "zdt",
            "--storage",
            "sqlite://z.db",
            "--format",
            "json",
            "--out",
            "z.json",
        ],
        d,
        &[],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    assert_clean_failure(
        &hyperplug(&["bench", "report", "z.json"], d, &[]),
        &["z.json", "2 objectives", "hyperplug report"],
    );
    let front = best["best_trials"].as_array().unwrap().len();
    assert!(html.contains(&format!("{front} trials are on the Pareto front")));
}

/// The report in a real browser, headless Chromium: its script runs (the trial table fills in
/// and counts the trials), and a screenshot is saved next to the test binary's temporary files.
/// Skipped where no Chromium is installed, unless CI=true (`.ci/run` installs it).
#[test]
fn the_report_works_in_headless_chromium() {
    let Some(browser) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true: the browser test needs chromium (apt-get install chromium)"
        );
        eprintln!("skipped: no chromium installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    stored_study(d);
    let out = hyperplug(&["report", "rep", "-o", "r.html"], d, &[]);
    assert!(out.status.success(), "{}", text(&out).1);
    let url = format!("file://{}", d.join("r.html").display());
    let chromium = |extra: &[&str]| {
        std::process::Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
            ])
            .arg("--virtual-time-budget=5000")
            .arg(format!("--user-data-dir={}", d.join("profile").display()))
            .args(extra)
            .arg(&url)
            .output()
            .expect("chromium runs")
    };
    let dom = String::from_utf8_lossy(&chromium(&["--dump-dom"]).stdout).into_owned();
    assert!(
        dom.contains("id=\"hp-count\">40 of 40 trials"),
        "the script did not run:\n{}",
        &dom[..dom.len().min(2000)]
    );
    assert_eq!(
        dom.matches("<tr data-n=").count(),
        40,
        "one row per trial on the first page"
    );
    assert!(dom.contains("id=\"fig-history\""));
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    let _ = std::fs::remove_file(&shot);
    let arg = format!("--screenshot={}", shot.display());
    chromium(&[&arg, "--window-size=1280,2400"]);
    let size = std::fs::metadata(&shot).map_or(0, |m| m.len());
    assert!(
        size > 20_000,
        "screenshot {} is {size} bytes",
        shot.display()
    );
}
