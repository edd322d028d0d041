//! The README's table of bundled strategies follows the engine's one list of them.

use hyperplug_engine::registry::BUNDLED_STRATEGIES;

/// The strategy names in the first column of the README table headed `| name | what | settings |`.
fn readme_rows(readme: &str) -> Vec<String> {
    readme
        .lines()
        .skip_while(|l| !l.starts_with("| name | what | settings |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| {
            let cell = l.trim_start_matches('|').split('|').next()?.trim();
            Some(cell.trim_matches('`').to_owned())
        })
        .collect()
}

#[test]
fn the_readme_strategy_table_lists_exactly_the_bundled_strategies() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let readme = std::fs::read_to_string(path).expect("README.md is readable");
    let rows = readme_rows(&readme);
    assert!(
        !rows.is_empty(),
        "README.md has no `| name | what | settings |` table"
    );
    for b in BUNDLED_STRATEGIES {
        assert!(
            rows.iter().any(|r| r == b.name),
            "README.md's bundled-strategy table has no row for `{}`; add one",
            b.name
        );
    }
    for row in &rows {
        assert!(
            BUNDLED_STRATEGIES.iter().any(|b| b.name == row),
            "README.md's bundled-strategy table has a row for `{row}`, which is not in BUNDLED_STRATEGIES"
        );
    }
}

#[test]
fn a_missing_row_is_named() {
    let readme = "x\n| name | what | settings |\n|---|---|---|\n| `random` | r | — |\n\nafter\n";
    assert_eq!(readme_rows(readme), ["random"]);
}
