//! What an objective declares it needs per trial, through a plugin library to the executor:
//! `mlp-gpu` declares one GPU. With GPUs, each trial is lent one of its own; without, the study
//! still runs, on the CPU, and says so; a study file's explicit `gpus` wins either way.

use std::path::Path;

use crate::{assert_clean_failure, hyperplug, plugin_dir, report, text, write};

/// A tiny `mlp-gpu` study (iris, two folds, at most three epochs) with no `[resources]` table
/// unless `tail` adds one.
fn study(trials: u64, parallelism: usize, tail: &str) -> String {
    format!(
        r#"
[study]
name = "gpu"
trials = {trials}
seed = 3
parallelism = {parallelism}
storage = "memory"

[strategy]
name = "random"

[objective]
name = "mlp-gpu"
dataset = "iris"
folds = 2
max_epochs = 3
space = "study"

[space]
lr = {{ float = [0.001, 0.1], log = true }}
units_1 = {{ int = [4, 16] }}
layers = {{ int = [1, 1] }}
{tail}
"#
    )
}

/// Runs `args` with the `mlp-gpu` plugin and `CUDA_VISIBLE_DEVICES` set to `visible`.
fn run_gpu(args: &[&str], cwd: &Path, visible: &str) -> std::process::Output {
    let plugins = plugin_dir(&["hyperplug-plugin-nn-gpu"]);
    let mut all = args.to_vec();
    all.extend([
        "--plugin-dir",
        plugins.path().to_str().expect("a UTF-8 path"),
    ]);
    hyperplug(&all, cwd, &[("CUDA_VISIBLE_DEVICES", visible)])
}

const NO_GPU: &str =
    "`mlp-gpu` asks for 1 GPU per trial but this machine has none; its trials run without a device";

/// Every trial complete, with a finite accuracy, trained on the CPU, lent no device.
fn assert_ran_on_the_cpu(r: &serde_json::Value, trials: usize) {
    assert_eq!(r["counts"]["complete"], trials, "{r}");
    for t in r["trials"].as_array().expect("a list of trials") {
        let accuracy = t["values"][0].as_f64().expect("an accuracy");
        assert!(
            accuracy.is_finite() && (0.0..=1.0).contains(&accuracy),
            "{t}"
        );
        let backend = t["user_attrs"]["backend"]
            .as_str()
            .expect("a backend attribute");
        assert!(backend.starts_with("candle-cpu (no CUDA: "), "{backend}");
        assert!(
            t["user_attrs"].get("device").is_none(),
            "lent a device: {t}"
        );
    }
}

#[test]
fn mlp_gpu_without_resources_runs_on_the_cpu_of_a_machine_without_gpus_in_run_and_worker() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "gpu.toml", &study(3, 2, ""));
    // An empty CUDA_VISIBLE_DEVICES hides every GPU, from the host and from the CUDA driver alike.
    let out = run_gpu(&["run", &path, "--json"], dir.path(), "");
    let (_, stderr) = text(&out);
    assert_ran_on_the_cpu(&report(&out), 3);
    assert!(stderr.contains(NO_GPU), "{stderr}");
    assert!(
        stderr.contains("mlp-gpu: cannot use GPU 0: ")
            && stderr.contains("; training on the CPU with candle"),
        "the plugin's fallback line is missing:\n{stderr}"
    );

    // A worker joining the stored study settles its resources the same way.
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let out = run_gpu(
        &["studies", "create", &path, "--storage", &url],
        dir.path(),
        "",
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let out = run_gpu(
        &["worker", "--storage", &url, "--study", "gpu", "--json"],
        dir.path(),
        "",
    );
    let (_, stderr) = text(&out);
    assert_ran_on_the_cpu(&report(&out), 3);
    assert!(stderr.contains(NO_GPU), "{stderr}");
    assert!(
        stderr.contains("training on the CPU with candle"),
        "{stderr}"
    );
}

#[test]
fn an_explicit_gpus_the_machine_lacks_is_refused_before_any_trial() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "gpu.toml",
        &study(3, 1, "[resources]\ngpus = 1\n"),
    );
    let out = run_gpu(&["run", &path], dir.path(), "");
    let stderr = assert_clean_failure(
        &out,
        &[
            "[resources] `gpus = 1` asks for 1 GPU per trial but this machine has none",
            "lower `gpus`",
        ],
    );
    assert!(!stderr.contains("training on the CPU"), "{stderr}");

    // `gpus = 0` is honoured over the declaration, silently.
    let path = write(
        dir.path(),
        "cpu.toml",
        &study(1, 1, "[resources]\ngpus = 0\n"),
    );
    let out = run_gpu(&["run", &path, "--json"], dir.path(), "0,1");
    let (_, stderr) = text(&out);
    assert_ran_on_the_cpu(&report(&out), 1);
    assert!(!stderr.contains("asks for"), "{stderr}");
}

#[test]
fn a_declared_gpu_is_lent_to_each_trial_through_the_plugin_and_never_shared() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "gpu.toml", &study(6, 4, ""));
    // Two devices as far as the host can tell; on a machine without them the plugin falls back
    // to the CPU per trial, and still records the device it was lent.
    let out = run_gpu(&["run", &path, "--json"], dir.path(), "0,1");
    let (_, stderr) = text(&out);
    let r = report(&out);
    assert_eq!(r["counts"]["complete"], 6, "{r}");
    assert!(!stderr.contains("asks for"), "{stderr}");
    let spans: Vec<(f64, f64, i64)> = r["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let start = t["started_ms"].as_f64().unwrap();
            let end = start + 1000.0 * t["duration_s"].as_f64().unwrap();
            let device = t["user_attrs"]["device"]
                .as_i64()
                .unwrap_or_else(|| panic!("trial lent no device: {t}"));
            (start, end, device)
        })
        .collect();
    let mut devices: Vec<i64> = spans.iter().map(|s| s.2).collect();
    devices.sort_unstable();
    devices.dedup();
    assert_eq!(
        devices,
        [0, 1],
        "each of the two devices is used: {spans:?}"
    );
    let overlap = |a: &(f64, f64, i64), b: &(f64, f64, i64)| a.0 < b.1 && b.0 < a.1;
    for (i, a) in spans.iter().enumerate() {
        // Trials running the moment this one started, itself included.
        let running = spans.iter().filter(|b| b.0 <= a.0 && a.0 < b.1).count();
        assert!(running <= 2, "more trials at once than devices: {spans:?}");
        for b in &spans[i + 1..] {
            assert!(
                !overlap(a, b) || a.2 != b.2,
                "device {} lent to two running trials: {spans:?}",
                a.2
            );
        }
    }
    assert!(
        spans
            .iter()
            .enumerate()
            .any(|(i, a)| spans[i + 1..].iter().any(|b| overlap(a, b))),
        "trials never ran at once: {spans:?}"
    );
}
