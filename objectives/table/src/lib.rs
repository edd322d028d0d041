//! Lookup-table benchmarks as objectives: any long-form CSV with a space.json.
//!
//! A tabular benchmark trained every configuration of a discrete space beforehand, several times
//! (seeds), so evaluating a configuration is a look-up. The format is the one of `../shared/data`:
//! a CSV (plain or gzip'd) with one column per parameter, a `seed` column and one column per
//! metric, one row per (configuration, seed); and a `space.json` giving each parameter's `type`
//! (`str`, `int`, `float`, `bool`) and `choices`, each metric's direction, and the
//! `main_metric`.
//!
//! [`TableFactory`] (objective name `table`) makes the objective from settings (`path`, `space`,
//! `metric`, `mode`, `noise_seed`, `encoding`, `optimum`; see its docs). Its search space is read
//! from space.json; a trial's value is the metric of one seed drawn from the trial's generator
//! (noisy, like real training) or the mean over seeds. The optimum is the best mean over seeds.
//! Tables are parsed once per process and shared ([`Table::cached`]).
//!
//! ```
//! use hyperplug_core::{Direction, Objective, ObjectiveFactory, Settings, Study, StudyConfig};
//! use hyperplug_table::TableFactory;
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/table/tiny.csv.gz");
//! let objective = TableFactory.create(&Settings::default().with("path", path))?;
//! assert_eq!(objective.metrics()[0].name, "acc"); // the main metric, maximized
//! assert_eq!(objective.optimum(), Some(vec![92.0])); // the best mean over seeds
//! assert_eq!(objective.space().map(|s| s.len()), Some(3));
//! # Ok::<(), hyperplug_core::Error>(())
//! ```
//!
//! Architecture invariant: depends on `hyperplug-core` and file-format crates only; it reads the
//! files it is pointed at and nothing else, logs nothing, and keeps one global: the table cache.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod objective;
mod table;

pub use error::TableError;
pub use objective::{Encoding, Mode, NAME, Options, TableFactory, TableObjective};
pub use table::{Kind, Table, TableMetric, TableParam};

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use hyperplug_core::{
        Direction, Domain, Objective, ObjectiveFactory, Params, Settings, TrialError, Value,
    };

    use super::*;
    use hyperplug_testkit::RecordingContext;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data/table")
            .join(name)
    }

    fn tiny() -> Arc<Table> {
        Table::cached(&fixture("tiny.csv"), &fixture("space.json")).unwrap()
    }

    fn params(op: &str, width: i64, lr: f64) -> Params {
        [
            ("op".to_owned(), Value::from(op)),
            ("width".to_owned(), Value::Int(width)),
            ("lr".to_owned(), Value::Float(lr)),
        ]
        .into_iter()
        .collect()
    }

    fn objective(settings: Settings) -> Box<dyn Objective> {
        let path = fixture("tiny.csv");
        TableFactory
            .create(&settings.with("path", path.to_string_lossy().as_ref()))
            .unwrap()
    }

    #[test]
    fn reads_the_fixture_and_its_gzip_twin_alike() {
        let plain = tiny();
        let gz = Table::load(&fixture("tiny.csv.gz"), &fixture("space.json")).unwrap();
        assert_eq!((plain.configs(), plain.rows()), (11, 32));
        assert_eq!((gz.configs(), gz.rows()), (11, 32));
        let acc = plain.metric_index("acc").unwrap();
        assert_eq!(plain.main_metric(), Some(acc));
        assert_eq!(plain.metrics()[acc].direction, Direction::Maximize);
        let best = plain.find(&[1, 1, 1]).unwrap(); // b, 16, 0.1
        assert_eq!(plain.mean(best, acc), 92.0);
        assert_eq!(plain.optimum(acc), Some((best, 92.0)));
        assert_eq!(gz.optimum(acc).map(|o| o.1), Some(92.0));
        // `time` is minimized: the fastest mean is c, 8, 0.01 at 5.
        let time = plain.metric_index("time").unwrap();
        let (fastest, t) = plain.optimum(time).unwrap();
        assert_eq!(t, 5.0);
        assert_eq!(
            plain.config_values(fastest),
            [
                ("op", &Value::from("c")),
                ("width", &Value::Int(8)),
                ("lr", &Value::Float(0.01))
            ]
        );
        // Rows written out of seed order come back ordered; a two-seed config has two rows.
        let b8 = plain.find(&[1, 0, 1]).unwrap();
        let seeds: Vec<i64> = (0..3).map(|k| plain.sample(b8, k, acc).0).collect();
        assert_eq!(seeds, [0, 1, 2]);
        assert_eq!(plain.sample(b8, 2, acc).1, 77.0);
        assert_eq!(plain.seed_count(plain.find(&[0, 0, 0]).unwrap()), 2);
        assert_eq!(
            plain.find(&[2, 1, 1]),
            None,
            "c, 16, 0.1 is missing on purpose"
        );
        assert!(
            Arc::ptr_eq(&plain, &tiny()),
            "the second load is the cached one"
        );
    }

    #[test]
    fn mean_mode_averages_the_seeds() {
        let o = objective(Settings::default().with("mode", "mean"));
        let e = o
            .evaluate(&params("a", 8, 0.01), &mut RecordingContext::new(0))
            .unwrap();
        assert_eq!(e.values, [55.0]);
        assert_eq!(e.attrs["mean_acc"], Value::Float(55.0));
        let e = o
            .evaluate(&params("c", 16, 0.01), &mut RecordingContext::new(5))
            .unwrap();
        assert_eq!(e.values, [90.0]);
        assert_eq!(o.optimum(), Some(vec![92.0]));
        assert!(!e.attrs.contains_key("table_seed"));
    }

    #[test]
    fn noisy_mode_draws_a_seed_reproducibly_from_the_trial_rng() {
        let o = objective(Settings::default().with("noise_seed", 7));
        let p = params("c", 16, 0.01); // 85, 86, 99
        let draws: Vec<(f64, Value)> = (0..40)
            .map(|n| {
                let e = o.evaluate(&p, &mut RecordingContext::new(n)).unwrap();
                assert_eq!(e.attrs["mean_acc"], Value::Float(90.0));
                (e.values[0], e.attrs["table_seed"].clone())
            })
            .collect();
        // Each value is the row of the seed it reports, and all three seeds come up.
        for (v, s) in &draws {
            let expected = match s {
                Value::Int(0) => 85.0,
                Value::Int(1) => 86.0,
                Value::Int(2) => 99.0,
                other => panic!("seed {other}"),
            };
            assert_eq!(*v, expected);
        }
        for seed in 0..3 {
            assert!(
                draws.iter().any(|(_, s)| *s == Value::Int(seed)),
                "{draws:?}"
            );
        }
        // The same noise seed and trial number draw the same seed; another noise seed differs.
        let again = objective(Settings::default().with("noise_seed", 7));
        let other = objective(Settings::default().with("noise_seed", 8));
        let seq = |o: &dyn Objective| -> Vec<f64> {
            (0..40)
                .map(|n| {
                    o.evaluate(&p, &mut RecordingContext::new(n))
                        .unwrap()
                        .values[0]
                })
                .collect()
        };
        assert_eq!(seq(&*again), draws.iter().map(|d| d.0).collect::<Vec<_>>());
        assert_ne!(seq(&*other), seq(&*again));
        // The other metrics of the drawn row travel as attributes.
        let e = o.evaluate(&p, &mut RecordingContext::new(0)).unwrap();
        assert_eq!(e.attrs["time"], Value::Float(40.0));
    }

    #[test]
    fn unknown_configurations_and_values_fail_the_trial_with_a_message() {
        let o = objective(Settings::default());
        let Err(TrialError::Failed(m)) =
            o.evaluate(&params("c", 16, 0.1), &mut RecordingContext::new(0))
        else {
            panic!("the missing configuration must fail")
        };
        assert!(
            m.contains("op=c width=16 lr=0.1 is not in the table"),
            "{m}"
        );
        let Err(TrialError::Failed(m)) =
            o.evaluate(&params("d", 16, 0.1), &mut RecordingContext::new(0))
        else {
            panic!("an unknown value must fail")
        };
        assert!(
            m.contains("`op` = d is not one of the table's values (a, b, c)"),
            "{m}"
        );
        let mut p = params("a", 8, 0.1);
        p.shift_remove("lr");
        let Err(TrialError::Failed(m)) = o.evaluate(&p, &mut RecordingContext::new(0)) else {
            panic!("a missing parameter must fail")
        };
        assert!(m.contains("`lr` is missing"), "{m}");
    }

    #[test]
    fn the_space_comes_from_space_json_and_ordinal_encoding_indexes_numbers() {
        let o = objective(Settings::default());
        let space = o.space().unwrap();
        assert_eq!(
            space.get("width").unwrap().domain,
            Domain::choice([Value::Int(8), Value::Int(16)])
        );
        assert_eq!(space.get("lr").unwrap().domain, Domain::choice([0.01, 0.1]));
        let o = objective(
            Settings::default()
                .with("encoding", "ordinal")
                .with("mode", "mean"),
        );
        let space = o.space().unwrap();
        assert_eq!(space.get("width").unwrap().domain, Domain::int(0, 1));
        assert_eq!(space.get("lr").unwrap().domain, Domain::int(0, 1));
        assert_eq!(
            space.get("op").unwrap().domain,
            Domain::choice(["a", "b", "c"])
        );
        let mut p = Params::new();
        p.insert("op".into(), Value::from("b"));
        p.insert("width".into(), Value::Int(1));
        p.insert("lr".into(), Value::Int(1));
        assert_eq!(
            o.evaluate(&p, &mut RecordingContext::new(0))
                .unwrap()
                .values,
            [92.0]
        );
    }

    #[test]
    fn settings_choose_the_metric_and_may_override_the_optimum() {
        let o = objective(
            Settings::default()
                .with("metric", "time")
                .with("mode", "mean"),
        );
        assert_eq!(o.metrics()[0].direction, Direction::Minimize);
        assert_eq!(o.optimum(), Some(vec![5.0]));
        let o = objective(Settings::default().with("optimum", 100.0));
        assert_eq!(o.optimum(), Some(vec![100.0]));

        let path = fixture("tiny.csv").to_string_lossy().into_owned();
        let err = |s: Settings| {
            TableFactory
                .create(&s)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        let e = err(Settings::default()
            .with("path", path.as_str())
            .with("metric", "loss"));
        assert!(e.contains("`metric` = \"loss\" is not a metric of"), "{e}");
        assert!(e.contains("it has acc, time"), "{e}");
        let e = err(Settings::default()
            .with("path", path.as_str())
            .with("mode", "median"));
        assert!(
            e.contains("`mode`") && e.contains("unknown variant `median`"),
            "{e}"
        );
        let e = err(Settings::default()
            .with("path", path.as_str())
            .with("seeds", 3));
        assert!(e.contains("unknown field `seeds`"), "{e}");
        let e = err(Settings::default());
        assert!(e.contains("missing field `path`"), "{e}");
        let e = err(Settings::default().with("path", "/nonexistent/t.csv"));
        assert!(
            e.contains("/nonexistent/t.csv: cannot read the file"),
            "{e}"
        );
        let e = err(Settings::default()
            .with("path", path.as_str())
            .with("space", "/nonexistent/space.json"));
        assert!(
            e.contains("/nonexistent/space.json: cannot read the file"),
            "{e}"
        );
    }

    /// Writes `csv` and `space` into a temporary folder and loads them.
    fn load_text(csv: &str, space: &str) -> Result<Table, TableError> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("hyperplug-table-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("t.csv"), csv).unwrap();
        std::fs::write(dir.join("space.json"), space).unwrap();
        let r = Table::load(&dir.join("t.csv"), &dir.join("space.json"));
        let _ = std::fs::remove_dir_all(&dir);
        r
    }

    const SPACE: &str = r#"{"params": {"k": {"type": "int", "choices": [1, 2]}},
 "metrics": {"loss": "minimize"}, "main_metric": "loss"}"#;

    #[test]
    fn bad_csv_errors_name_the_file_line_and_column() {
        let e = load_text("k,seed,loss\n1,0,0.5\n3,0,0.4\n", SPACE).unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("t.csv:3: column `k`: \"3\" is not one of the choices"),
            "{m}"
        );
        let m = load_text("k,seed,loss\n1,0,0.5\n2,0,abc\n", SPACE)
            .unwrap_err()
            .to_string();
        assert!(
            m.contains("t.csv:3: column `loss`: \"abc\" is not a number"),
            "{m}"
        );
        let m = load_text("k,seed,loss\n1,0,0.5\n1,x,0.5\n", SPACE)
            .unwrap_err()
            .to_string();
        assert!(m.contains("t.csv:3: column `seed`"), "{m}");
        let m = load_text("k,seed,loss\n1,0,0.5\n2,0\n", SPACE)
            .unwrap_err()
            .to_string();
        assert!(
            m.contains("t.csv:3: the row has 2 fields but the header has 3"),
            "{m}"
        );
        let m = load_text("k,seed,loss,extra\n1,0,0.5,1\n", SPACE)
            .unwrap_err()
            .to_string();
        assert!(
            m.contains("t.csv:1: column `extra`: is neither a parameter"),
            "{m}"
        );
        let m = load_text("k,loss\n1,0.5\n", SPACE).unwrap_err().to_string();
        assert!(
            m.contains("t.csv:1: the header has no `seed` column"),
            "{m}"
        );
        let m = load_text("k,seed,loss\n1,0,0.5\n2,0,0.1\n1,0,0.7\n", SPACE)
            .unwrap_err()
            .to_string();
        assert!(
            m.contains("t.csv:4: column `seed`: the same configuration and seed 0 as line 2"),
            "{m}"
        );
        let m = load_text("k,seed,loss\n", SPACE).unwrap_err().to_string();
        assert!(m.contains("no rows"), "{m}");
    }

    #[test]
    fn bad_space_json_errors_name_the_file_and_line() {
        let csv = "k,seed,loss\n1,0,0.5\n";
        let m = load_text(
            csv,
            "{\n \"params\": {\n  \"k\": {\"type\": \"int\" \"choices\": [1]}\n }\n}",
        )
        .unwrap_err()
        .to_string();
        assert!(m.contains("space.json:3:"), "{m}");
        let m = load_text(
            csv,
            r#"{"params": {"k": {"type": "int", "choices": [1, "two"]}}, "metrics": {"loss": "minimize"}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            m.contains("space.json: parameter `k`: choice \"two\" is not a value of type \"int\""),
            "{m}"
        );
        let m = load_text(
            csv,
            r#"{"params": {"k": {"type": "int", "choices": [1]}}, "metrics": {"loss": "lower"}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            m.contains("metric `loss`: unknown direction `lower`"),
            "{m}"
        );
        let m = load_text(
            csv,
            r#"{"params": {"k": {"type": "int", "choices": [1]}}, "metrics": {"loss": "minimize"}, "main_metric": "acc"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            m.contains("`main_metric` = \"acc\" is not one of the metrics (loss)"),
            "{m}"
        );
    }

    #[test]
    fn the_optimum_skips_configurations_whose_mean_is_not_finite() {
        // A diverged run logged as -inf would otherwise be the optimum no trial can reach (its
        // trials fail for a value that is not finite), and every regret infinite.
        let t = load_text("k,seed,loss\n1,0,-inf\n1,1,0.2\n2,0,0.5\n", SPACE).unwrap();
        assert_eq!(t.optimum(0), Some((1, 0.5)));
        let o = TableObjective::new(Arc::new(t), Options::default()).unwrap();
        assert_eq!(o.optimum(), Some(vec![0.5]));
        let t = load_text("k,seed,loss\n1,0,NaN\n2,0,inf\n", SPACE).unwrap();
        assert_eq!(t.optimum(0), None);
    }
}
