//! Trials to and from the text columns. JSON has no NaN or infinity, yet intermediate values and
//! objective attributes may hold them, so they get spellings of their own and come back as they
//! went in.

use hyperplug_core::{Params, Trial, TrialState, Value};
use serde_json::{Map, Number, Value as Json};

use crate::error::StorageError;

/// The key of an object that stands for a float JSON cannot write (`{"$float": "NaN"}`). No
/// parameter value is an object, so it cannot be mistaken for one.
const FLOAT_KEY: &str = "$float";

pub(crate) fn state_text(state: TrialState) -> &'static str {
    match state {
        TrialState::Running => "running",
        TrialState::Complete => "complete",
        TrialState::Pruned => "pruned",
        TrialState::Failed => "failed",
    }
}

pub(crate) fn parse_state(text: &str) -> Result<TrialState, StorageError> {
    Ok(match text {
        "running" => TrialState::Running,
        "complete" => TrialState::Complete,
        "pruned" => TrialState::Pruned,
        "failed" => TrialState::Failed,
        other => return Err(corrupt(format!("unknown trial state `{other}`"))),
    })
}

pub(crate) fn encode_params(params: &Params) -> String {
    let map: Map<String, Json> = params
        .iter()
        .map(|(k, v)| (k.clone(), value_json(v)))
        .collect();
    Json::Object(map).to_string()
}

pub(crate) fn decode_params(text: &str) -> Result<Params, StorageError> {
    let Json::Object(map) = parse(text)? else {
        return Err(corrupt(format!("parameters are not a JSON object: {text}")));
    };
    map.into_iter()
        .map(|(k, v)| Ok((k, json_value(v)?)))
        .collect()
}

fn value_json(v: &Value) -> Json {
    match v {
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::Number((*i).into()),
        Value::Float(x) => float_json(*x),
        Value::Str(s) => Json::String(s.clone()),
    }
}

fn json_value(v: Json) -> Result<Value, StorageError> {
    Ok(match v {
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => match n.as_i64() {
            // serde_json reads `2` as an integer and `2.0` as a float, as they were written.
            Some(i) if !n.is_f64() => Value::Int(i),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::Str(s),
        Json::Object(m) => Value::Float(special_float(&m)?),
        other => return Err(corrupt(format!("not a parameter value: {other}"))),
    })
}

fn float_json(x: f64) -> Json {
    match Number::from_f64(x) {
        Some(n) => Json::Number(n),
        None => {
            let text = if x.is_nan() {
                "NaN"
            } else if x > 0.0 {
                "inf"
            } else {
                "-inf"
            };
            let mut m = Map::new();
            m.insert(FLOAT_KEY.into(), Json::String(text.into()));
            Json::Object(m)
        }
    }
}

fn special_float(m: &Map<String, Json>) -> Result<f64, StorageError> {
    match m.get(FLOAT_KEY).and_then(Json::as_str) {
        Some("NaN") => Ok(f64::NAN),
        Some("inf") => Ok(f64::INFINITY),
        Some("-inf") => Ok(f64::NEG_INFINITY),
        _ => Err(corrupt(format!(
            "not a parameter value: {}",
            Json::Object(m.clone())
        ))),
    }
}

fn json_float(v: &Json) -> Result<f64, StorageError> {
    match v {
        Json::Number(n) => Ok(n.as_f64().unwrap_or(f64::NAN)),
        Json::Object(m) => special_float(m),
        // Older writers, and SQL's NULL for NaN, leave null.
        Json::Null => Ok(f64::NAN),
        other => Err(corrupt(format!("not a number: {other}"))),
    }
}

pub(crate) fn encode_values(values: &[f64]) -> String {
    Json::Array(values.iter().map(|x| float_json(*x)).collect()).to_string()
}

pub(crate) fn decode_values(text: &str) -> Result<Vec<f64>, StorageError> {
    match parse(text)? {
        Json::Array(items) => items.iter().map(json_float).collect(),
        _ => Err(corrupt(format!("values are not a JSON array: {text}"))),
    }
}

/// One intermediate report as the element appended to the stored list: `[step, value]`, or
/// `[step, [v1, v2, ...]]` for one value per objective.
pub(crate) fn encode_point(step: u64, values: &[f64]) -> String {
    point_json(step, values).to_string()
}

fn point_json(step: u64, values: &[f64]) -> Json {
    let value = match values {
        [v] => float_json(*v),
        _ => Json::Array(values.iter().map(|x| float_json(*x)).collect()),
    };
    Json::Array(vec![Json::Number(step.into()), value])
}

/// A trial's intermediate reports as stored: see [`encode_point`].
pub(crate) fn encode_intermediate(trial: &Trial) -> String {
    let items = trial
        .intermediate_reports()
        .iter()
        .map(|(s, vs)| point_json(*s, vs))
        .collect();
    Json::Array(items).to_string()
}

/// The stored intermediate reports, as `Trial::intermediate` and `Trial::intermediate_values`
/// hold them. Lists written before vectors existed hold `[step, value]` pairs only.
pub(crate) fn decode_intermediate(text: &str) -> Result<IntermediateLists, StorageError> {
    let Json::Array(items) = parse(text)? else {
        return Err(corrupt(format!(
            "intermediate values are not a JSON array: {text}"
        )));
    };
    let mut t = Trial::running(0, Params::new(), 0);
    for item in &items {
        let Some([step, value]) = item.as_array().map(Vec::as_slice) else {
            return Err(corrupt(format!("not a [step, value] pair: {item}")));
        };
        let step = step
            .as_u64()
            .ok_or_else(|| corrupt(format!("not a step: {step}")))?;
        let values = match value {
            Json::Array(vs) if !vs.is_empty() => {
                vs.iter().map(json_float).collect::<Result<_, _>>()?
            }
            Json::Array(_) => {
                return Err(corrupt(format!("an empty vector at step {step}: {item}")));
            }
            v => vec![json_float(v)?],
        };
        t.push_intermediate(step, &values);
    }
    Ok((t.intermediate, t.intermediate_values))
}

/// A trial's single intermediate values and its vectors, as [`Trial`] holds them.
pub(crate) type IntermediateLists = (Vec<(u64, f64)>, Vec<(u64, Vec<f64>)>);

fn parse(text: &str) -> Result<Json, StorageError> {
    serde_json::from_str(text).map_err(|e| corrupt(format!("unreadable JSON ({e}): {text}")))
}

fn corrupt(message: String) -> StorageError {
    StorageError::Corrupt(format!("a stored trial cannot be read: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_back_as_they_went_in_with_their_types_and_non_finite_floats() {
        let params: Params = [
            ("f".to_owned(), Value::Float(2.0)),
            ("i".to_owned(), Value::Int(2)),
            ("big".to_owned(), Value::Int(i64::MIN)),
            ("s".to_owned(), Value::Str("relu".into())),
            ("b".to_owned(), Value::Bool(true)),
            ("tiny".to_owned(), Value::Float(5e-324)),
            ("nan".to_owned(), Value::Float(f64::NAN)),
            ("inf".to_owned(), Value::Float(f64::NEG_INFINITY)),
        ]
        .into_iter()
        .collect();
        let back = decode_params(&encode_params(&params)).unwrap();
        assert_eq!(
            back.keys().collect::<Vec<_>>(),
            params.keys().collect::<Vec<_>>()
        );
        for (k, v) in &params {
            match (v, &back[k]) {
                (Value::Float(a), Value::Float(b)) if a.is_nan() => assert!(b.is_nan()),
                (a, b) => assert_eq!(a, b, "{k}"),
            }
        }
        let mut t = Trial::running(0, Params::new(), 0);
        t.intermediate = vec![(0, 0.1), (3, f64::INFINITY), (7, 1e300)];
        let (points, vectors) = decode_intermediate(&encode_intermediate(&t)).unwrap();
        assert_eq!(points, t.intermediate);
        assert!(vectors.is_empty());
        assert_eq!(encode_point(4, &[0.5]), "[4,0.5]");
        assert!(decode_values("[null]").unwrap()[0].is_nan());
        assert_eq!(
            decode_values(&encode_values(&[1.5, -0.0])).unwrap(),
            [1.5, -0.0]
        );
        assert!(decode_params("[1]").is_err());
        assert_eq!(
            parse_state(state_text(TrialState::Pruned)).unwrap(),
            TrialState::Pruned
        );
        assert!(parse_state("lost").is_err());
    }

    #[test]
    fn vectors_are_stored_as_step_and_list_and_old_pairs_still_read() {
        assert_eq!(encode_point(2, &[0.5, 3.0]), "[2,[0.5,3.0]]");
        let mut t = Trial::running(0, Params::new(), 0);
        t.push_intermediate(1, &[0.9]);
        t.push_intermediate(2, &[0.5, 3.0]);
        t.push_intermediate(3, &[f64::NAN, 2.0]);
        let text = encode_intermediate(&t);
        assert_eq!(
            text,
            r#"[[1,0.9],[2,[0.5,3.0]],[3,[{"$float":"NaN"},2.0]]]"#
        );
        let (points, vectors) = decode_intermediate(&text).unwrap();
        assert_eq!(points[..2], [(1, 0.9), (2, 0.5)]);
        assert!(points[2].1.is_nan());
        assert_eq!(vectors.len(), 2);
        assert_eq!(vectors[0], (2, vec![0.5, 3.0]));
        assert_eq!(vectors[1].1[1], 2.0);
        // What a store written before vectors holds, and one appended to since.
        let (points, vectors) = decode_intermediate("[[1,0.5],[2,0.25],[3,[0.2,7]]]").unwrap();
        assert_eq!(points, [(1, 0.5), (2, 0.25), (3, 0.2)]);
        assert_eq!(vectors, [(3, vec![0.2, 7.0])]);
        assert!(decode_intermediate("[[1,[]]]").is_err());
        assert!(decode_intermediate("[[1,[\"a\"]]]").is_err());
    }
}
