//! Real documents against the published JSON Schema: every field written is declared with its
//! type, and every field the schema requires is written.

use hyperplug_core::{Direction, Domain, Param, Space, TrialState, Value};
use serde_json::Value as Json;

use crate::{JSON_SCHEMA, StudyData, StudyInfo};

/// The keywords of JSON Schema this walker knows: `$ref` (local), `type`, `const`, `enum`,
/// `properties`, `required`, `additionalProperties` (a schema), `items`, `prefixItems`,
/// `minItems`, `maxItems`. An object's keys must be declared unless `additionalProperties`
/// gives their schema.
fn check(v: &Json, schema: &Json, root: &Json, path: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Json::as_str) {
        let name = r.trim_start_matches("#/$defs/");
        return check(v, &root["$defs"][name], root, path, errors);
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Json::String(s) => vec![s.as_str()],
            Json::Array(a) => a.iter().filter_map(Json::as_str).collect(),
            _ => Vec::new(),
        };
        let fits = types.iter().any(|t| match *t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            _ => false,
        });
        if !fits {
            errors.push(format!("{path}: {v} is not {types:?}"));
            return;
        }
    }
    if let Some(c) = schema.get("const")
        && c != v
    {
        errors.push(format!("{path}: {v} is not {c}"));
    }
    if let Some(e) = schema.get("enum").and_then(Json::as_array)
        && !e.contains(v)
    {
        errors.push(format!("{path}: {v} is not one of {e:?}"));
    }
    if let Some(object) = v.as_object() {
        let properties = schema.get("properties").and_then(Json::as_object);
        for (k, x) in object {
            let at = format!("{path}.{k}");
            match (
                properties.and_then(|p| p.get(k)),
                schema.get("additionalProperties"),
            ) {
                (Some(s), _) => check(x, s, root, &at, errors),
                (None, Some(s)) if s.is_object() => check(x, s, root, &at, errors),
                (None, _) if properties.is_some() => {
                    errors.push(format!("{at}: not in the schema"))
                }
                (None, _) => {}
            }
        }
        for r in schema
            .get("required")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(Json::as_str)
        {
            if !object.contains_key(r) {
                errors.push(format!("{path}: required `{r}` is missing"));
            }
        }
    }
    if let Some(items) = v.as_array() {
        let n = items.len() as u64;
        if schema
            .get("minItems")
            .and_then(Json::as_u64)
            .is_some_and(|m| n < m)
            || schema
                .get("maxItems")
                .and_then(Json::as_u64)
                .is_some_and(|m| n > m)
        {
            errors.push(format!("{path}: {n} items"));
        }
        let prefix = schema.get("prefixItems").and_then(Json::as_array);
        for (i, x) in items.iter().enumerate() {
            let at = format!("{path}[{i}]");
            match (prefix.and_then(|p| p.get(i)), schema.get("items")) {
                (Some(s), _) | (None, Some(s)) => check(x, s, root, &at, errors),
                (None, None) => {}
            }
        }
    }
}

fn full_study() -> StudyData {
    let space = Space::new(vec![
        Param::new("lr", Domain::float(1e-4, 1e-1).log()),
        Param::new("layers", Domain::int(1, 3)),
        Param::new("act", Domain::choice(["relu", "tanh"])),
        Param::new("units_2", Domain::int(8, 64).step(8.0)).when("layers", [2, 3]),
        Param::new("drop", Domain::float(0.0, 0.5).step(0.1)),
    ])
    .unwrap();
    let mut info = StudyInfo::new("s", vec![Direction::Minimize, Direction::Maximize], space);
    info.metric_names = vec!["loss".into(), "accuracy".into()];
    info.strategy = Some("nsga2".into());
    info.objective = Some("command".into());
    info.seed = Some(7);
    info.trial_budget = Some(10);
    info.storage = Some("sqlite://x.db".into());
    info.created_ms = Some(1);
    info.updated_ms = Some(2);
    info.definition = serde_json::json!({"file": "s.toml", "seed": 7});
    let mut trials = Vec::new();
    for (i, state) in [
        TrialState::Complete,
        TrialState::Complete,
        TrialState::Pruned,
        TrialState::Failed,
        TrialState::Running,
    ]
    .into_iter()
    .enumerate()
    {
        let mut t = crate::tests::trial(i as u64, state, &[], 0.0);
        t.params = [
            ("lr".to_owned(), Value::Float(0.01)),
            ("layers".to_owned(), Value::Int(2)),
            ("act".to_owned(), Value::Str("relu".into())),
            ("units_2".to_owned(), Value::Int(16)),
            ("drop".to_owned(), Value::Float(0.1)),
        ]
        .into_iter()
        .collect();
        if state == TrialState::Complete {
            t.values = vec![i as f64, 1.0 - i as f64];
        }
        t.intermediate = vec![(0, 1.0), (1, 0.5)];
        // Two objectives: the steps carry one value per objective too.
        t.intermediate_values = vec![(0, vec![1.0, 2.0]), (1, vec![0.5, 2.5])];
        t.user_attrs.insert("gpu".into(), Value::Bool(true));
        t.user_attrs.insert("size".into(), Value::Int(3));
        t.message = Some("why".into());
        t.worker = Some("host:1".into());
        t.retry_of = Some(0);
        if state == TrialState::Running {
            t.duration_s = None;
            t.finished_ms = None;
        }
        trials.push(t);
    }
    let mut s = StudyData::new(info, trials);
    s.counts.queued = 2;
    s
}

#[test]
fn documents_fit_the_published_json_schema() {
    let schema: Json = serde_json::from_str(JSON_SCHEMA).unwrap();
    let full = full_study();
    assert!(full.hypervolume.is_some());
    let best = serde_json::to_value(full.best_view()).unwrap();
    assert!(best.get("trials").is_none());
    let read = StudyData::from_json(&best.to_string()).unwrap();
    assert_eq!(read.best_trials, full.best_trials);
    assert!(read.trials.is_empty());
    let minimal = StudyData::new(
        StudyInfo::new("m", vec![Direction::Minimize], Space::empty()),
        Vec::new(),
    );
    for (name, doc) in [
        ("full", serde_json::to_value(&full).unwrap()),
        ("best only", serde_json::to_value(full.best_view()).unwrap()),
        ("minimal", serde_json::to_value(&minimal).unwrap()),
    ] {
        let mut errors = Vec::new();
        check(&doc, &schema, &schema, "$", &mut errors);
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
    // The walker does catch drift.
    let mut doc = serde_json::to_value(full_study()).unwrap();
    doc["trials"][0]["extra"] = Json::Bool(true);
    doc["counts"].as_object_mut().unwrap().remove("failed");
    doc["trials"][1]["state"] = Json::String("done".into());
    let mut errors = Vec::new();
    check(&doc, &schema, &schema, "$", &mut errors);
    assert_eq!(errors.len(), 3, "{errors:#?}");
}
