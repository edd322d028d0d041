//! Reading what the program prints: intermediate lines (`{"step": 3, "accuracy": 0.81}`, or
//! `{"step": 3, "values": [0.81, 12.5]}` with one value per objective), the
//! result (the last JSON object holding the metrics, or a bare number on the last line), and the
//! tail of stderr for failure messages.

use std::collections::VecDeque;

use hyperplug_core::Value;
use indexmap::IndexMap;
use serde_json::{Map, Value as Json};

/// The key that marks an intermediate line.
pub(crate) const STEP_KEY: &str = "step";

/// The key of a step line's values, one per objective (a study with several objectives).
pub(crate) const VALUES_KEY: &str = "values";

/// What one stdout line means.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Line {
    /// An intermediate value to report now.
    Step { step: u64, value: f64 },
    /// Intermediate values, one per objective, to report now.
    Values { step: u64, values: Vec<f64> },
    /// Anything else (a result is remembered, not returned).
    Other,
}

/// The values read from a result line, in metric order, and the extra keys it held.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Found {
    pub values: Vec<f64>,
    pub extras: IndexMap<String, Value>,
    /// The line as printed, for messages.
    pub raw: String,
}

/// Follows the program's stdout line by line.
#[derive(Debug)]
pub(crate) struct Output {
    /// The metric names; empty means one unnamed value.
    metrics: Vec<String>,
    /// The key read from step lines; `None` means the step line's only other key.
    intermediate: Option<String>,
    /// The last JSON object that holds every metric.
    last_object: Option<Found>,
    /// A bare number on the last non-empty line so far.
    last_number: Option<Found>,
    /// Why the last JSON-looking line that was not a result was passed over, for the message.
    near_miss: Option<String>,
    /// Step lines whose intermediate key was missing or not a number, reported once.
    pub unreadable_steps: u64,
}

impl Output {
    pub(crate) fn new(metrics: Vec<String>, intermediate: Option<String>) -> Self {
        Output {
            metrics,
            intermediate,
            last_object: None,
            last_number: None,
            near_miss: None,
            unreadable_steps: 0,
        }
    }

    /// Reads one stdout line.
    pub(crate) fn line(&mut self, line: &str) -> Line {
        let text = line.trim();
        if text.is_empty() {
            return Line::Other;
        }
        if text.starts_with('{') {
            self.last_number = None;
            let object = match parse_object(text) {
                Ok(o) => o,
                Err(e) => {
                    self.near_miss = Some(format!("`{}` is not valid JSON ({e})", clip(text)));
                    return Line::Other;
                }
            };
            if object.contains_key(STEP_KEY) {
                return self.step_line(&object);
            }
            self.object_line(object, text);
            return Line::Other;
        }
        // A bare number counts only as the last line, so that numbers in progress output do not
        // pass for results.
        self.last_number = match text.parse::<f64>() {
            Ok(x) if self.metrics.len() <= 1 => Some(Found {
                values: vec![x],
                extras: IndexMap::new(),
                raw: text.to_owned(),
            }),
            _ => None,
        };
        Line::Other
    }

    fn step_line(&mut self, object: &Map<String, Json>) -> Line {
        let Some(step) = object.get(STEP_KEY).and_then(as_step) else {
            self.unreadable_steps += 1;
            return Line::Other;
        };
        // `"values": [..]`: one value per objective, all finite, or the line is passed over.
        if let Some(Json::Array(items)) = object.get(VALUES_KEY) {
            let values: Option<Vec<f64>> = items
                .iter()
                .map(|v| as_number(v).filter(|x| x.is_finite()))
                .collect();
            return match values {
                Some(values) if !values.is_empty() => Line::Values { step, values },
                _ => {
                    self.unreadable_steps += 1;
                    Line::Other
                }
            };
        }
        let key = match &self.intermediate {
            Some(k) => Some(k.as_str()),
            None => {
                let mut others = object.keys().filter(|k| *k != STEP_KEY);
                match (others.next(), others.next()) {
                    (Some(k), None) => Some(k.as_str()),
                    _ => None,
                }
            }
        };
        // Non-finite values would only confuse a pruner's comparisons; they are not reported.
        match key.and_then(|k| object.get(k)).and_then(as_number) {
            Some(value) if value.is_finite() => Line::Step { step, value },
            _ => {
                self.unreadable_steps += 1;
                Line::Other
            }
        }
    }

    fn object_line(&mut self, object: Map<String, Json>, raw: &str) {
        let names: Vec<String> = if self.metrics.is_empty() {
            if object.len() != 1 {
                let keys: Vec<&str> = object.keys().map(String::as_str).collect();
                self.near_miss = Some(format!(
                    "`{}` has {} keys ({}) and no metric is named; name the result's key with `metric = \"…\"` or `metrics = [...]`",
                    clip(raw),
                    keys.len(),
                    keys.join(", ")
                ));
                return;
            }
            object.keys().cloned().collect()
        } else {
            self.metrics.clone()
        };
        let mut values = Vec::with_capacity(names.len());
        for name in &names {
            match object.get(name) {
                Some(v) => match as_number(v) {
                    Some(x) => values.push(x),
                    None => {
                        self.near_miss = Some(format!(
                            "`{}` holds `{name}` = {v}, which is not a number",
                            clip(raw)
                        ));
                        return;
                    }
                },
                None => {
                    self.near_miss = Some(format!("`{}` lacks `{name}`", clip(raw)));
                    return;
                }
            }
        }
        let extras = object
            .into_iter()
            .filter(|(k, _)| !names.contains(k))
            .filter_map(|(k, v)| scalar(&v).map(|v| (k, v)))
            .collect();
        self.last_object = Some(Found {
            values,
            extras,
            raw: raw.to_owned(),
        });
    }

    /// The result: a bare number on the last line, else the last JSON object holding the metrics.
    pub(crate) fn result(&self) -> Option<&Found> {
        self.last_number.as_ref().or(self.last_object.as_ref())
    }

    /// What the program should have printed and, where one was seen, why the nearest candidate
    /// did not count.
    pub(crate) fn no_result_hint(&self) -> String {
        let wanted = match self.metrics.as_slice() {
            [] => {
                "a JSON object with one key (`{\"value\": 0.93}`) or a bare number on the last line"
                    .to_owned()
            }
            [one] => format!(
                "a JSON object holding `{one}` (`{{\"{one}\": 0.93}}`) or a bare number on the last line"
            ),
            many => format!(
                "a JSON object holding {}",
                many.iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        match &self.near_miss {
            Some(why) => format!("expected {wanted} on stdout; {why}"),
            None => format!("expected {wanted} on stdout"),
        }
    }
}

/// A step number: a whole number ≥ 0 (`3` or `3.0`).
fn as_step(v: &Json) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|x| *x >= 0.0 && x.fract() == 0.0 && *x <= u64::MAX as f64)
            .map(|x| x as u64)
    })
}

/// A metric value: a JSON number, or the strings that [`parse_object`] makes of Python's `NaN`,
/// `Infinity` and `-Infinity`.
fn as_number(v: &Json) -> Option<f64> {
    match v {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => match s.as_str() {
            "NaN" | "nan" => Some(f64::NAN),
            "Infinity" | "inf" => Some(f64::INFINITY),
            "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

/// An extra result key kept as a trial attribute.
fn scalar(v: &Json) -> Option<Value> {
    match v {
        Json::Number(n) => n
            .as_i64()
            .map(Value::Int)
            .or_else(|| n.as_f64().map(Value::Float)),
        Json::String(s) => Some(Value::Str(s.clone())),
        Json::Bool(b) => Some(Value::Bool(*b)),
        _ => None,
    }
}

/// A JSON object, also as Python's `json.dumps` writes it by default: with bare `NaN`,
/// `Infinity` and `-Infinity`, which strict JSON lacks. Those become strings that
/// [`as_number`] reads back, so a NaN result reaches the study (which fails the trial) instead of
/// passing for "no result".
fn parse_object(text: &str) -> Result<Map<String, Json>, serde_json::Error> {
    match serde_json::from_str(text) {
        Ok(o) => Ok(o),
        Err(e) => match quote_non_finite(text) {
            Some(fixed) => serde_json::from_str(&fixed).map_err(|_| e),
            None => Err(e),
        },
    }
}

/// `text` with bare `NaN`, `Infinity` and `-Infinity` outside strings quoted; `None` when there
/// are none.
fn quote_non_finite(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 8);
    let mut in_string = false;
    let mut escaped = false;
    let mut changed = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if let Some(token) = ["NaN", "Infinity", "-Infinity"]
            .into_iter()
            .find(|t| rest.starts_with(t))
        {
            out.push('"');
            out.push_str(token);
            out.push('"');
            rest = &rest[token.len()..];
            changed = true;
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    changed.then_some(out)
}

/// At most 200 characters of a line, for messages.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 200;
    match s.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

/// The last lines of stderr, bounded in lines and bytes, for failure messages.
#[derive(Debug, Default)]
pub(crate) struct Tail {
    lines: VecDeque<String>,
    bytes: usize,
}

impl Tail {
    /// At most this many lines are kept...
    pub(crate) const MAX_LINES: usize = 20;
    /// ...and at most this many bytes.
    pub(crate) const MAX_BYTES: usize = 2048;

    pub(crate) fn push(&mut self, line: &str) {
        // A progress bar redraws itself with `\r`; only its last state is worth showing.
        let line = line
            .rsplit('\r')
            .find(|s| !s.trim().is_empty())
            .unwrap_or("");
        let line = if line.len() > Self::MAX_BYTES {
            let mut cut = line.len() - Self::MAX_BYTES;
            while !line.is_char_boundary(cut) {
                cut += 1;
            }
            &line[cut..]
        } else {
            line
        };
        self.bytes += line.len();
        self.lines.push_back(line.to_owned());
        while self.lines.len() > Self::MAX_LINES || self.bytes > Self::MAX_BYTES {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.len();
            }
        }
    }

    /// The kept lines joined, or `None` when stderr was empty.
    pub(crate) fn text(&self) -> Option<String> {
        let joined = self
            .lines
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n");
        (!joined.trim().is_empty()).then_some(joined)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(metrics: &[&str]) -> Output {
        Output::new(metrics.iter().map(|s| s.to_string()).collect(), None)
    }

    #[test]
    fn step_lines_with_values_report_one_per_objective() {
        let mut o = Output::new(vec!["a".into(), "b".into()], None);
        assert_eq!(
            o.line(r#"{"step": 2, "values": [0.5, 3]}"#),
            Line::Values {
                step: 2,
                values: vec![0.5, 3.0]
            }
        );
        assert_eq!(o.line(r#"{"step": 3, "values": [0.5, NaN]}"#), Line::Other);
        assert_eq!(o.line(r#"{"step": 3, "values": []}"#), Line::Other);
        assert_eq!(o.line(r#"{"step": 3, "values": ["x"]}"#), Line::Other);
        assert_eq!(o.unreadable_steps, 3);
    }

    #[test]
    fn step_lines_report_the_intermediate_metric() {
        let mut o = Output::new(vec!["acc".into(), "time".into()], Some("acc".into()));
        assert_eq!(
            o.line(r#"{"step": 3, "acc": 0.81, "time": 1}"#),
            Line::Step {
                step: 3,
                value: 0.81
            }
        );
        assert_eq!(
            o.line(r#"{"step": 4.0, "acc": 0.5}"#),
            Line::Step {
                step: 4,
                value: 0.5
            }
        );
        assert_eq!(o.line(r#"{"step": -1, "acc": 0.5}"#), Line::Other);
        assert_eq!(o.line(r#"{"step": 5, "time": 0.5}"#), Line::Other);
        assert_eq!(o.line(r#"{"step": 6, "acc": NaN}"#), Line::Other);
        assert_eq!(o.unreadable_steps, 3);
        assert!(o.result().is_none(), "step lines are not results");

        // Without a metric name, the step line's only other key.
        let mut o = output(&[]);
        assert_eq!(
            o.line(r#"{"step": 0, "loss": 2.5}"#),
            Line::Step {
                step: 0,
                value: 2.5
            }
        );
        assert_eq!(o.line(r#"{"step": 1, "loss": 2.5, "lr": 1}"#), Line::Other);
    }

    #[test]
    fn the_last_object_holding_every_metric_wins() {
        let mut o = output(&["accuracy", "train_time"]);
        o.line("epoch 1 done");
        o.line(r#"{"accuracy": 0.5, "train_time": 1}"#);
        o.line(r#"{"accuracy": 0.93, "train_time": 12.1, "n": 30, "model": "svc", "nested": {}}"#);
        o.line(r#"{"accuracy": 0.99}"#);
        o.line("bye");
        let found = o.result().expect("a result");
        assert_eq!(found.values, vec![0.93, 12.1]);
        assert_eq!(
            found.extras.clone().into_iter().collect::<Vec<_>>(),
            vec![
                ("n".to_owned(), Value::Int(30)),
                ("model".to_owned(), Value::Str("svc".into()))
            ]
        );
        assert!(o.no_result_hint().contains("lacks `train_time`"));
    }

    #[test]
    fn values_are_read_exactly_as_printed() {
        // Python prints the shortest text that reads back as the same float; so must we read it.
        let mut o = output(&["acc"]);
        assert_eq!(
            o.line(r#"{"step": 1, "acc": 0.9916666666666667}"#),
            Line::Step {
                step: 1,
                value: 0.9916666666666667
            }
        );
        o.line(r#"{"acc": 0.987753017641597}"#);
        assert_eq!(o.result().map(|f| f.values[0]), Some(0.987753017641597));
    }

    #[test]
    fn a_bare_number_counts_only_on_the_last_line() {
        let mut o = output(&[]);
        o.line("0.25");
        assert_eq!(o.result().map(|f| f.values.clone()), Some(vec![0.25]));
        o.line("");
        assert_eq!(o.result().map(|f| f.values.clone()), Some(vec![0.25]));
        o.line("done");
        assert!(o.result().is_none());
        o.line(r#"{"loss": 1.5}"#);
        o.line("7");
        assert_eq!(o.result().map(|f| f.values.clone()), Some(vec![7.0]));
        o.line(r#"{"step": 1, "loss": 1}"#);
        assert_eq!(
            o.result().map(|f| f.values.clone()),
            Some(vec![1.5]),
            "after a later JSON line, the last object counts"
        );

        // Several metrics cannot come as one number.
        let mut o = output(&["a", "b"]);
        o.line("0.5");
        assert!(o.result().is_none());
    }

    #[test]
    fn one_unnamed_value_needs_a_one_key_object() {
        let mut o = output(&[]);
        o.line(r#"{"acc": 0.9, "time": 3}"#);
        assert!(o.result().is_none());
        let hint = o.no_result_hint();
        assert!(
            hint.contains("has 2 keys (acc, time)") && hint.contains("metric ="),
            "{hint}"
        );
        o.line(r#"{"acc": 0.9}"#);
        assert_eq!(o.result().map(|f| f.values.clone()), Some(vec![0.9]));
    }

    #[test]
    fn python_nan_and_infinity_are_read_not_rejected() {
        let mut o = output(&["loss"]);
        o.line(r#"{"loss": NaN, "note": "NaN stays a string", "x": -Infinity}"#);
        let found = o.result().expect("a result");
        assert!(found.values[0].is_nan());
        assert_eq!(
            found.extras["note"],
            Value::Str("NaN stays a string".into())
        );
        assert_eq!(found.extras["x"], Value::Str("-Infinity".into()));

        let mut o = output(&["loss"]);
        o.line(r#"{"loss": 0.5"#);
        assert!(o.result().is_none());
        assert!(o.no_result_hint().contains("is not valid JSON"));
        o.line(r#"{"loss": "high"}"#);
        assert!(o.no_result_hint().contains("not a number"));
    }

    #[test]
    fn the_tail_keeps_the_last_lines_within_bounds() {
        let mut t = Tail::default();
        assert_eq!(t.text(), None);
        for i in 0..50 {
            t.push(&format!("line {i}"));
        }
        let text = t.text().expect("lines");
        assert!(
            text.starts_with("line 30\n") && text.ends_with("line 49"),
            "{text}"
        );
        t.push(&"x".repeat(5000));
        let text = t.text().expect("lines");
        assert_eq!(text.len(), Tail::MAX_BYTES);
        // The long line made room for the next one by leaving.
        t.push("10%\r50%\r100%\r");
        assert_eq!(t.text().as_deref(), Some("100%"));
    }
}

/// The parser fuzzed: arbitrary lines never panic, and generated programs' output is read as a
/// reference interpretation of the rules says. Runs briefly with `cargo test`; longer with
/// `PROPTEST_CASES=100000 cargo test --release -p hyperplug-command fuzz`.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;

    /// One line a program may print, with what it means.
    #[derive(Clone, Debug)]
    enum Spec {
        Step { step: u64, value: f64 },
        Result(Vec<f64>),
        Number(f64),
        Text(String),
        Blank(String),
        Broken(String),
    }

    /// Python's spelling of a float, NaN and infinities included.
    fn py(x: f64) -> String {
        if x.is_nan() {
            "NaN".into()
        } else if x.is_infinite() {
            if x > 0.0 { "Infinity" } else { "-Infinity" }.into()
        } else {
            format!("{x:?}")
        }
    }

    fn names(metrics: usize) -> Vec<String> {
        (0..metrics).map(|i| format!("m{i}")).collect()
    }

    fn render(spec: &Spec, metrics: usize) -> String {
        let keys = match metrics {
            0 => vec!["value".to_owned()],
            n => names(n),
        };
        match spec {
            Spec::Step { step, value } => {
                format!(r#"{{"step": {step}, "{}": {value:?}}}"#, keys[0])
            }
            Spec::Result(values) => {
                let body: Vec<String> = keys
                    .iter()
                    .zip(values)
                    .map(|(k, v)| format!(r#""{k}": {}"#, py(*v)))
                    .collect();
                format!("{{{}}}", body.join(", "))
            }
            Spec::Number(x) => format!("  {x:e} "),
            Spec::Text(t) | Spec::Blank(t) | Spec::Broken(t) => t.clone(),
        }
    }

    fn float() -> impl Strategy<Value = f64> {
        prop_oneof![
            8 => any::<f64>().prop_filter("finite", |x| x.is_finite()),
            1 => Just(f64::NAN),
            1 => Just(f64::INFINITY),
            1 => Just(f64::NEG_INFINITY),
        ]
    }

    fn finite() -> impl Strategy<Value = f64> {
        any::<f64>().prop_filter("finite", |x| x.is_finite())
    }

    fn spec(metrics: usize) -> impl Strategy<Value = Spec> {
        let width = metrics.max(1);
        prop_oneof![
            (any::<u64>(), finite()).prop_map(|(step, value)| Spec::Step { step, value }),
            prop::collection::vec(float(), width).prop_map(Spec::Result),
            finite().prop_map(Spec::Number),
            "[^\n\r]{0,40}"
                .prop_filter("neither JSON nor a number", |t| {
                    let t = t.trim();
                    !t.is_empty() && !t.starts_with('{') && t.parse::<f64>().is_err()
                })
                .prop_map(Spec::Text),
            "[ \t]{0,3}".prop_map(Spec::Blank),
            "\\{[^\n\r}]{0,30}".prop_map(Spec::Broken),
        ]
    }

    /// The rules, read off the whole output at once: the result is a bare number when it is on
    /// the last non-blank line (and there is at most one metric), else the last object holding
    /// every metric; step lines are reported in order.
    fn reference(specs: &[Spec], metrics: usize) -> (Option<Vec<f64>>, Vec<(u64, f64)>) {
        let last = specs.iter().rev().find(|s| !matches!(s, Spec::Blank(_)));
        let result = match last {
            Some(Spec::Number(x)) if metrics <= 1 => Some(vec![*x]),
            _ => specs.iter().rev().find_map(|s| match s {
                Spec::Result(v) => Some(v.clone()),
                _ => None,
            }),
        };
        let steps = specs
            .iter()
            .filter_map(|s| match s {
                Spec::Step { step, value } => Some((*step, *value)),
                _ => None,
            })
            .collect();
        (result, steps)
    }

    fn same(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
    }

    fn specs() -> impl Strategy<Value = (usize, Vec<Spec>)> {
        (0usize..=3).prop_flat_map(|m| (Just(m), prop::collection::vec(spec(m), 0..30)))
    }

    proptest! {
        #[test]
        fn arbitrary_lines_never_panic(
            metrics in 0usize..=3,
            lines in prop::collection::vec(
                prop_oneof![
                    any::<String>(),
                    "\\{[ -~]{0,40}\\}",
                    "[ -~]{0,40}",
                    "\\{\"step\": ?-?[0-9.eE+]{0,12}, \"(m0|value)\": ?[-0-9.eENaInfity]{0,12}\\}",
                ],
                0..20,
            ),
        ) {
            let mut o = Output::new(names(metrics), None);
            for line in &lines {
                if let Line::Step { value, .. } = o.line(line) {
                    prop_assert!(value.is_finite());
                }
            }
            if let Some(found) = o.result() {
                prop_assert_eq!(found.values.len(), metrics.max(1));
                prop_assert!(lines.iter().any(|l| l.trim() == found.raw));
            } else {
                prop_assert!(!o.no_result_hint().is_empty());
            }
        }

        #[test]
        fn generated_output_is_read_as_the_rules_say((metrics, specs) in specs()) {
            let mut o = Output::new(names(metrics), None);
            let mut steps = Vec::new();
            for s in &specs {
                match o.line(&render(s, metrics)) {
                    Line::Step { step, value } => steps.push((step, value)),
                    Line::Values { .. } => prop_assert!(false, "no generated line has `values`"),
                    Line::Other => {}
                }
            }
            let (result, expected_steps) = reference(&specs, metrics);
            prop_assert_eq!(steps, expected_steps);
            let got = o.result().map(|f| f.values.clone());
            match (&got, &result) {
                (Some(g), Some(r)) => prop_assert!(same(g, r), "{:?} != {:?}", got, result),
                (None, None) => {}
                _ => prop_assert!(false, "{:?} != {:?}", got, result),
            }
        }
    }
}
