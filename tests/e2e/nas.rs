//! Architecture spaces in a study file, searched by the NAS strategies through the binary.

use crate::{hyperplug, report, write};

/// A layer block and a cell, scored by a command from the environment: depth plus one per
/// `none` edge of the cell, plus one unless the first layer is 64 wide; the optimum, 0, is one
/// layer of 64 units and a cell without `none`.
fn study(strategy: &str) -> String {
    format!(
        r#"
[study]
direction = "minimize"
trials = 60
seed = 4
[strategy]
{strategy}
[objective]
name = "command"
cmd = ["sh", "-c", 'n=0; for e in "$HYPERPLUG_PARAM_C_0_1" "$HYPERPLUG_PARAM_C_0_2" "$HYPERPLUG_PARAM_C_1_2"; do [ "$e" = none ] && n=$((n+1)); done; u=1; [ "$HYPERPLUG_PARAM_UNITS_1" = 64 ] && u=0; echo $((HYPERPLUG_PARAM_LAYERS - 1 + n + u))']
[space.layers]
repeat = [1, 4]
units = {{ choice = [16, 32, 64] }}
act = {{ choice = ["relu", "tanh"] }}
[space.c]
nodes = 3
ops = ["none", "conv", "skip"]
"#
    )
}

#[test]
fn nas_strategies_search_layer_blocks_and_cells_from_a_study_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    for strategy in [
        "name = \"evolution\"\npopulation = 8\nsample_size = 3",
        "name = \"reinforce\"\nlearning_rate = 0.3",
    ] {
        let path = write(dir.path(), "s.toml", &study(strategy));
        let out = hyperplug(
            &["run", &path, "--json", "--storage", "memory"],
            dir.path(),
            &[],
        );
        let r = report(&out);
        let trials = r["trials"].as_array().expect("trials");
        assert_eq!(trials.len(), 60, "{strategy}");
        for t in trials {
            let p = t["params"].as_object().expect("params");
            let layers = p["layers"].as_i64().expect("layers");
            // Per-layer parameters exist exactly for the layers present.
            for k in 1..=4 {
                for field in ["units", "act"] {
                    assert_eq!(
                        p.contains_key(&format!("{field}_{k}")),
                        k <= layers,
                        "{strategy}: {p:?}"
                    );
                }
            }
            for edge in ["c_0_1", "c_0_2", "c_1_2"] {
                assert!(p.contains_key(edge), "{p:?}");
            }
        }
        let best = r["best_trials"][0]["values"][0].as_f64().expect("best");
        assert_eq!(
            best, 0.0,
            "{strategy} did not find the optimum in 60 trials"
        );
    }
}
