//! Architecture spaces in study files: sugar that expands into ordinary parameters with `when`
//! conditions, so every strategy sees a plain conditional space.
//!
//! A **layer block** is a count and per-layer choices that exist only for the layers present:
//!
//! ```toml
//! [space.layers]
//! repeat = [1, 6]                             # `layers`, an int in [1, 6]
//! units = { int = [16, 512], log = true }     # units_1 … units_6
//! activation = { choice = ["relu", "tanh"] }  # activation_1 … activation_6
//! ```
//!
//! expands into `layers = { int = [1, 6] }` and, for layer `i`, `units_i` and `activation_i`,
//! unconditional for the layers every architecture has (`i ≤ 1` here) and otherwise
//! `when = { layers = [i, …, 6] }`.
//!
//! A **cell** is a small directed acyclic graph whose nodes are numbered `0 … nodes − 1`, with an
//! edge from every node to every later one and an operation to choose on each edge:
//!
//! ```toml
//! [space.cell]
//! nodes = 4
//! ops = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
//! names = "Op{edge}"    # the default is "{cell}_{from}_{to}"
//! ```
//!
//! expands into one categorical parameter per edge, in the order (0→1), (0→2), (1→2), (0→3),
//! (1→3), (2→3), …: NAS-Bench-201's six edges, named `Op0` … `Op5` as its table names them.
//! In `names`, `{cell}` is the entry's name, `{edge}` the edge's index and `{from}`, `{to}` its
//! nodes.

use hyperplug_core::{Domain, Param, Value};

use super::{ParamToml, param};

/// The most layers a block may repeat, and the most nodes of a cell: far beyond any search
/// that a study could cover, low enough that a typo cannot expand into millions of parameters.
const MAX_REPEAT: i64 = 64;
const MAX_NODES: i64 = 32;

/// The parameters that the `[space]` entry `name` stands for: a plain parameter, or the
/// expansion of a layer block (a table with `repeat`) or a cell (a table with `nodes`).
pub(super) fn expand(name: &str, entry: toml::Value) -> Result<Vec<Param>, String> {
    match entry {
        toml::Value::Table(mut t) if t.contains_key("repeat") => {
            let repeat = t.remove("repeat").unwrap_or(toml::Value::Integer(0));
            block(name, &repeat, t)
        }
        toml::Value::Table(mut t) if t.contains_key("nodes") => {
            let nodes = t.remove("nodes").unwrap_or(toml::Value::Integer(0));
            cell(name, &nodes, t)
        }
        other => {
            let spec: ParamToml = other
                .try_into()
                .map_err(|e| e.to_string().trim().to_owned())?;
            Ok(vec![param(name, spec)?])
        }
    }
}

fn block(name: &str, repeat: &toml::Value, fields: toml::Table) -> Result<Vec<Param>, String> {
    let (low, high) = match repeat.as_array().map(Vec::as_slice) {
        Some([toml::Value::Integer(a), toml::Value::Integer(b)]) => (*a, *b),
        _ => {
            return Err(format!(
                "`repeat` must be the range of the layer count, e.g. `repeat = [1, 6]`, got {}",
                show(repeat)
            ));
        }
    };
    if low < 0 || low > high || high > MAX_REPEAT {
        return Err(format!(
            "`repeat = [{low}, {high}]` must satisfy 0 ≤ low ≤ high ≤ {MAX_REPEAT}"
        ));
    }
    if fields.is_empty() {
        return Err(format!(
            "the layer block has no per-layer parameters; add some, e.g. `units = {{ int = [16, 512] }}`, or use `{name} = {{ int = [{low}, {high}] }}`"
        ));
    }
    let mut out = vec![Param::new(name, Domain::int(low, high))];
    for i in 1..=high {
        for (field, spec) in &fields {
            let spec: ParamToml = spec
                .clone()
                .try_into()
                .map_err(|e| format!("`{field}`: {}", e.to_string().trim()))?;
            if spec.when.is_some() {
                return Err(format!(
                    "`{field}`: a per-layer parameter cannot have its own `when`; it exists when its layer does"
                ));
            }
            let p = param(&format!("{field}_{i}"), spec).map_err(|m| format!("`{field}`: {m}"))?;
            out.push(if i <= low {
                p
            } else {
                p.when(name, (i..=high).map(Value::Int))
            });
        }
    }
    Ok(out)
}

fn cell(name: &str, nodes: &toml::Value, mut rest: toml::Table) -> Result<Vec<Param>, String> {
    let nodes = match nodes {
        toml::Value::Integer(n) if (2..=MAX_NODES).contains(n) => *n,
        _ => {
            return Err(format!(
                "`nodes` must be a whole number of nodes between 2 and {MAX_NODES}, got {}",
                show(nodes)
            ));
        }
    };
    let ops = match rest.remove("ops") {
        Some(toml::Value::Array(ops)) if !ops.is_empty() => ops
            .into_iter()
            .map(|v| v.try_into::<Value>().map_err(|e| format!("`ops`: {e}")))
            .collect::<Result<Vec<Value>, String>>()?,
        Some(other) => {
            return Err(format!(
                "`ops` must be a non-empty list of operations, got {}",
                show(&other)
            ));
        }
        None => {
            return Err(
                "a cell needs `ops`, the operations to choose from on each edge, e.g. `ops = [\"conv3x3\", \"skip\", \"none\"]`"
                    .into(),
            );
        }
    };
    let template = match rest.remove("names") {
        None => "{cell}_{from}_{to}".to_owned(),
        Some(toml::Value::String(s)) => s,
        Some(other) => return Err(format!("`names` must be a string, got {}", show(&other))),
    };
    if let Some(key) = rest.keys().next() {
        return Err(format!(
            "unknown key `{key}` in a cell; a cell takes `nodes`, `ops` and `names`"
        ));
    }
    let has = |p: &str| template.contains(p);
    let unique = has("{edge}") || (has("{from}") && has("{to}"));
    if !unique {
        return Err(format!(
            "`names` = \"{template}\" would give every edge the same name; use `{{edge}}`, or `{{from}}` and `{{to}}`"
        ));
    }
    let stripped = ["{cell}", "{edge}", "{from}", "{to}"]
        .iter()
        .fold(template.clone(), |s, p| s.replace(p, ""));
    if stripped.contains('{') || stripped.contains('}') {
        return Err(format!(
            "`names` = \"{template}\": the placeholders are {{cell}}, {{edge}}, {{from}} and {{to}}"
        ));
    }
    let mut out = Vec::new();
    let mut edge = 0;
    for to in 1..nodes {
        for from in 0..to {
            let n = template
                .replace("{cell}", name)
                .replace("{edge}", &edge.to_string())
                .replace("{from}", &from.to_string())
                .replace("{to}", &to.to_string());
            out.push(Param::new(n, Domain::choice(ops.clone())));
            edge += 1;
        }
    }
    Ok(out)
}

/// A TOML value for a message: scalars as written, arrays and tables by their kind.
fn show(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("\"{s}\""),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(x) => x.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => format!(
            "{} {}",
            if matches!(other, toml::Value::Array(_)) {
                "an"
            } else {
                "a"
            },
            other.type_str()
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use hyperplug_core::{Domain, Param, Space};

    use super::super::StudyFile;

    fn space(entries: &str) -> Result<Space, String> {
        let text = format!("[study]\ntrials = 5\n[objective]\nname = \"x\"\n{entries}");
        StudyFile::parse(Path::new("s.toml"), &text)
            .map(|f| f.space.expect("a space"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_layer_block_expands_into_conditional_per_layer_parameters() {
        let s = space(
            "[space]\nlr = { float = [1e-4, 1e-1], log = true }\n[space.layers]\nrepeat = [2, 4]\nunits = { int = [16, 512], log = true }\nactivation = { choice = [\"relu\", \"tanh\"] }\n",
        )
        .expect("valid");
        let want = Space::new(vec![
            Param::new("lr", Domain::float(1e-4, 1e-1).log()),
            Param::new("layers", Domain::int(2, 4)),
            Param::new("units_1", Domain::int(16, 512).log()),
            Param::new("activation_1", Domain::choice(["relu", "tanh"])),
            Param::new("units_2", Domain::int(16, 512).log()),
            Param::new("activation_2", Domain::choice(["relu", "tanh"])),
            Param::new("units_3", Domain::int(16, 512).log()).when("layers", [3i64, 4]),
            Param::new("activation_3", Domain::choice(["relu", "tanh"])).when("layers", [3i64, 4]),
            Param::new("units_4", Domain::int(16, 512).log()).when("layers", [4i64]),
            Param::new("activation_4", Domain::choice(["relu", "tanh"])).when("layers", [4i64]),
        ])
        .expect("valid");
        assert_eq!(s, want);
    }

    #[test]
    fn a_cell_expands_into_one_choice_per_edge_as_nas_bench_201_names_them() {
        let ops =
            "[\"none\", \"skip_connect\", \"nor_conv_1x1\", \"nor_conv_3x3\", \"avg_pool_3x3\"]";
        let s = space(&format!(
            "[space.cell]\nnodes = 4\nops = {ops}\nnames = \"Op{{edge}}\"\n"
        ))
        .expect("valid");
        let names: Vec<&str> = s.params().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Op0", "Op1", "Op2", "Op3", "Op4", "Op5"]);
        // The space the table objective builds from NAS-Bench-201's space.json.
        let ops = [
            "none",
            "skip_connect",
            "nor_conv_1x1",
            "nor_conv_3x3",
            "avg_pool_3x3",
        ];
        let table = (0..6).map(|i| Param::new(format!("Op{i}"), Domain::choice(ops)));
        assert_eq!(s, Space::new(table.collect()).expect("valid"));
        let s = space("[space.c]\nnodes = 3\nops = [\"a\", \"b\"]\n").expect("valid");
        let names: Vec<&str> = s.params().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["c_0_1", "c_0_2", "c_1_2"]);
    }

    #[test]
    fn bad_blocks_and_cells_are_refused_at_their_line() {
        let e = |entries: &str| space(entries).expect_err("refused");
        let msg = e("[space.layers]\nrepeat = [3, 1]\nunits = { int = [1, 2] }\n");
        assert!(
            msg.starts_with("s.toml:5:1: space.layers: `repeat = [3, 1]` must satisfy"),
            "{msg}"
        );
        let msg = e("[space.layers]\nrepeat = 3\nunits = { int = [1, 2] }\n");
        assert!(msg.contains("e.g. `repeat = [1, 6]`, got 3"), "{msg}");
        let msg = e("[space.layers]\nrepeat = [1, 1000]\nunits = { int = [1, 2] }\n");
        assert!(msg.contains("high ≤ 64"), "{msg}");
        let msg = e("[space.layers]\nrepeat = [1, 3]\n");
        assert!(msg.contains("no per-layer parameters"), "{msg}");
        let msg =
            e("[space.layers]\nrepeat = [1, 3]\nunits = { int = [1, 2], when = { x = 1 } }\n");
        assert!(msg.contains("cannot have its own `when`"), "{msg}");
        let msg = e("[space.layers]\nrepeat = [1, 3]\nunits = { int = [5, 2] }\n");
        assert!(
            msg.contains("`units_1`") && msg.contains("inverted"),
            "{msg}"
        );
        let msg = e("[space.layers]\nrepeat = [1, 3]\nunits = { ints = [1, 2] }\n");
        assert!(msg.contains("`units`: unknown field `ints`"), "{msg}");
        let msg = e("[space.cell]\nnodes = 1\nops = [\"a\"]\n");
        assert!(msg.contains("between 2 and 32, got 1"), "{msg}");
        let msg = e("[space.cell]\nnodes = 3\n");
        assert!(msg.contains("a cell needs `ops`"), "{msg}");
        let msg = e("[space.cell]\nnodes = 3\nops = [\"a\"]\nnames = \"op\"\n");
        assert!(msg.contains("the same name"), "{msg}");
        let msg = e("[space.cell]\nnodes = 3\nops = [\"a\"]\nnames = \"{edg}{edge}\"\n");
        assert!(msg.contains("the placeholders are"), "{msg}");
        let msg = e("[space.cell]\nnodes = 3\nops = [\"a\"]\nedges = 2\n");
        assert!(msg.contains("unknown key `edges`"), "{msg}");
        let msg = e("[space.cell]\nnodes = 3\nops = [\"a\", \"a\"]\n");
        assert!(msg.contains("twice"), "{msg}");
        // A plain parameter keeps its own errors.
        let msg = e("[space]\nlr = { float = [0.1, 0.01] }\n");
        assert!(msg.contains("inverted"), "{msg}");
    }
}
