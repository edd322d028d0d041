//! The real tables in `../shared/data`: sizes and optima as the data README states them.
//!
//! The data lives beside the repository (`../shared/data`), where CI has it. A fresh clone may not:
//! then these tests print why and pass, except under `CI=true`, where missing data is a failure.

use std::path::PathBuf;

use hyperplug_core::{Direction, ObjectiveFactory, Settings};
use hyperplug_table::{Table, TableFactory};

fn data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.join("README.md").exists() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but the shared data is missing at {}",
        dir.display()
    );
    eprintln!(
        "skipped: the shared data is not at {} (it lives beside the repository)",
        dir.display()
    );
    None
}

/// (table, configurations, main-metric direction, optimum from the data README, tolerance)
const TABLES: [(&str, usize, Direction, f64, f64); 7] = [
    (
        "nasbench201/cifar10",
        15_625,
        Direction::Maximize,
        91.6067,
        1e-4,
    ),
    (
        "nasbench201/cifar100",
        15_625,
        Direction::Maximize,
        73.4933,
        1e-4,
    ),
    (
        "nasbench201/imagenet16-120",
        15_625,
        Direction::Maximize,
        46.7333,
        1e-4,
    ),
    (
        "hpolib/naval_propulsion",
        62_208,
        Direction::Minimize,
        3.1911e-05,
        1e-9,
    ),
    (
        "hpolib/parkinsons_telemonitoring",
        62_208,
        Direction::Minimize,
        6.7059e-03,
        1e-7,
    ),
    (
        "hpolib/protein_structure",
        62_208,
        Direction::Minimize,
        0.221379,
        1e-6,
    ),
    (
        "hpolib/slice_localization",
        62_208,
        Direction::Minimize,
        1.9160e-04,
        1e-8,
    ),
];

#[test]
fn every_shared_table_loads_with_the_documented_optimum() {
    let Some(dir) = data_dir() else { return };
    for (name, configs, direction, optimum, tol) in TABLES {
        let csv = dir.join(format!("{name}.csv.gz"));
        let space = csv.with_file_name("space.json");
        let table = Table::cached(&csv, &space).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(table.configs(), configs, "{name}");
        let metric = table.main_metric().expect("a main metric");
        assert_eq!(table.metrics()[metric].direction, direction, "{name}");
        let (_, best) = table.optimum(metric).expect("an optimum");
        assert!(
            (best - optimum).abs() <= tol,
            "{name}: optimum {best}, README {optimum}"
        );

        let objective = TableFactory
            .create(&Settings::default().with("path", csv.to_string_lossy().as_ref()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(objective.optimum(), Some(vec![best]), "{name}");
        assert_eq!(
            objective.space().map(|s| s.len()),
            Some(table.params().len())
        );
    }
}
