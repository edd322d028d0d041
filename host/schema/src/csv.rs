//! The trials as CSV, in the shape of Optuna's `trials_dataframe`: one row per trial and one
//! column per parameter, objective value, user attribute and step of intermediate values, so
//! that a data-frame library reads it without unpacking JSON cells.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::time::{Duration, UNIX_EPOCH};

use hyperplug_core::{TrialState, Value};

use crate::{StudyData, TrialData};

/// The columns [`write_csv`] writes for `study`, in order: `number`, `value` (one objective) or
/// `values_0`, `values_1`, … (several), `datetime_start`, `datetime_complete`, `duration_s`,
/// `params_<name>` per parameter of the space, `attr_<key>` per user attribute any trial has
/// (in order of first appearance), `state`, `step_<k>` per step any trial reported (ascending),
/// `message`, `worker`, `retry_of`.
pub fn csv_header(study: &StudyData) -> Vec<String> {
    let columns = Columns::of(study);
    columns.header(study)
}

/// Writes `study`'s trials as CSV (RFC 4180; see [`csv_header`] for the columns). Empty cells
/// stand for what a trial does not have: values of a trial that did not complete, inactive
/// parameters, attributes and steps it did not report.
pub fn write_csv(study: &StudyData, out: &mut dyn Write) -> io::Result<()> {
    let columns = Columns::of(study);
    line(out, &columns.header(study))?;
    let mut row: Vec<String> = Vec::new();
    for t in &study.trials {
        row.clear();
        columns.row(study, t, &mut row);
        line(out, &row)?;
    }
    out.flush()
}

struct Columns {
    objectives: usize,
    attrs: Vec<String>,
    steps: Vec<u64>,
}

impl Columns {
    fn of(study: &StudyData) -> Self {
        let mut attrs: Vec<String> = Vec::new();
        let mut steps = BTreeSet::new();
        for t in &study.trials {
            for k in t.user_attrs.keys() {
                if !attrs.contains(k) {
                    attrs.push(k.clone());
                }
            }
            steps.extend(t.intermediate.iter().map(|(s, _)| *s));
        }
        Columns {
            objectives: study.study.directions.len(),
            attrs,
            steps: steps.into_iter().collect(),
        }
    }

    fn header(&self, study: &StudyData) -> Vec<String> {
        let mut h = vec!["number".to_owned()];
        if self.objectives == 1 {
            h.push("value".into());
        } else {
            h.extend((0..self.objectives).map(|i| format!("values_{i}")));
        }
        h.extend(["datetime_start", "datetime_complete", "duration_s"].map(String::from));
        h.extend(
            study
                .study
                .space
                .params()
                .iter()
                .map(|p| format!("params_{}", p.name)),
        );
        h.extend(self.attrs.iter().map(|k| format!("attr_{k}")));
        h.push("state".into());
        h.extend(self.steps.iter().map(|s| format!("step_{s}")));
        h.extend(["message", "worker", "retry_of"].map(String::from));
        h
    }

    fn row(&self, study: &StudyData, t: &TrialData, row: &mut Vec<String>) {
        row.push(t.number.to_string());
        row.extend(
            (0..self.objectives).map(|i| t.values.get(i).map_or_else(String::new, f64::to_string)),
        );
        row.push(datetime(Some(t.started_ms).filter(|&ms| ms > 0)));
        row.push(datetime(t.finished_ms));
        row.push(t.duration_s.map_or_else(String::new, |d| d.to_string()));
        row.extend(study.study.space.params().iter().map(|p| {
            t.params
                .get(&p.name)
                .map_or_else(String::new, Value::to_string)
        }));
        row.extend(self.attrs.iter().map(|k| {
            t.user_attrs
                .get(k)
                .map_or_else(String::new, Value::to_string)
        }));
        row.push(state_name(t.state).into());
        row.extend(self.steps.iter().map(|s| {
            // The last value reported for a step, as Optuna keeps it.
            t.intermediate
                .iter()
                .rev()
                .find(|(k, _)| k == s)
                .map_or_else(String::new, |(_, v)| v.to_string())
        }));
        row.push(t.message.clone().unwrap_or_default());
        row.push(t.worker.clone().unwrap_or_default());
        row.push(t.retry_of.map_or_else(String::new, |r| r.to_string()));
    }
}

/// Text from a study (a categorical value, a user attribute, a failure message, a parameter
/// name) that starts like a formula (`=`, `+`, `-`, `@`, a tab or a carriage return) gets a
/// leading `'`, so that a spreadsheet opening the export shows it instead of running it
/// (OWASP's advice on CSV injection). Numbers, negative ones included, are left as they are.
fn defuse(field: &str) -> std::borrow::Cow<'_, str> {
    let formula = field.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula && field.parse::<f64>().is_err() {
        format!("'{field}").into()
    } else {
        field.into()
    }
}

/// The state as the schema spells it.
pub(crate) fn state_name(s: TrialState) -> &'static str {
    match s {
        TrialState::Running => "running",
        TrialState::Complete => "complete",
        TrialState::Pruned => "pruned",
        TrialState::Failed => "failed",
    }
}

/// `2024-05-01T12:34:56.789Z`, or empty.
fn datetime(ms: Option<u64>) -> String {
    ms.map_or_else(String::new, |ms| {
        humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
    })
}

/// One CSV record (RFC 4180): fields with commas, quotes or line breaks are quoted, and text
/// that a spreadsheet would run as a formula is defused (see [`defuse`]).
fn line(out: &mut dyn Write, fields: &[String]) -> io::Result<()> {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        let f = defuse(f);
        if f.contains([',', '"', '\n', '\r']) {
            write!(out, "\"{}\"", f.replace('"', "\"\""))?;
        } else {
            out.write_all(f.as_bytes())?;
        }
    }
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use hyperplug_core::{Direction, Domain, Param, Space};

    use super::*;
    use crate::StudyInfo;

    #[test]
    fn one_column_per_parameter_value_attribute_and_step() {
        let space = Space::new(vec![
            Param::new("layers", Domain::int(1, 2)),
            Param::new("units_2", Domain::int(8, 64)).when("layers", [2]),
        ])
        .unwrap();
        let info = StudyInfo::new("s", vec![Direction::Minimize, Direction::Minimize], space);
        let mut a = crate::tests::trial(0, TrialState::Complete, &[1.5, 2.0], 0.0);
        a.params = [("layers".to_owned(), Value::Int(1))].into_iter().collect();
        a.user_attrs
            .insert("note".into(), Value::Str("a, \"b\"".into()));
        a.intermediate = vec![(0, 3.0), (2, 2.5)];
        let mut b = crate::tests::trial(1, TrialState::Pruned, &[], 0.0);
        b.params = [
            ("layers".to_owned(), Value::Int(2)),
            ("units_2".to_owned(), Value::Int(16)),
        ]
        .into_iter()
        .collect();
        b.intermediate = vec![(1, 4.0), (1, 3.5)];
        b.user_attrs.insert("gpu".into(), Value::Bool(true));
        b.message = Some("pruned at step 1".into());
        let study = StudyData::new(info, vec![a, b]);
        let mut out = Vec::new();
        write_csv(&study, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "number,values_0,values_1,datetime_start,datetime_complete,duration_s,params_layers,\
             params_units_2,attr_note,attr_gpu,state,step_0,step_1,step_2,message,worker,retry_of"
        );
        assert_eq!(
            lines[1],
            "0,1.5,2,2023-11-14T22:13:20.000Z,2023-11-14T22:13:20.500Z,0.5,1,,\"a, \"\"b\"\"\",,\
             complete,3,,2.5,,,"
        );
        assert_eq!(
            lines[2],
            "1,,,2023-11-14T22:13:21.000Z,2023-11-14T22:13:21.500Z,0.5,2,16,,true,pruned,,3.5,,\
             pruned at step 1,,"
        );
        assert_eq!(csv_header(&study), lines[0].split(',').collect::<Vec<_>>());
    }

    #[test]
    fn text_that_a_spreadsheet_would_run_is_defused_and_numbers_are_not() {
        let space = Space::new(vec![Param::new("x", Domain::float(-5.0, 5.0))]).unwrap();
        let info = StudyInfo::new("s", vec![Direction::Minimize], space);
        let mut a = crate::tests::trial(0, TrialState::Failed, &[], 0.0);
        a.params = [("x".to_owned(), Value::Float(-2.5))].into_iter().collect();
        a.user_attrs.insert(
            "cmd".into(),
            Value::Str("=HYPERLINK(\"http://evil\",\"x\")".into()),
        );
        a.user_attrs
            .insert("at".into(), Value::Str("@SUM(A1)".into()));
        a.message = Some("-2+3".into());
        a.worker = Some("\tcmd".into());
        let mut b = crate::tests::trial(1, TrialState::Complete, &[-1e-3], 0.0);
        b.user_attrs.insert("cmd".into(), Value::Str("-inf".into()));
        let study = StudyData::new(info, vec![a, b]);
        let mut out = Vec::new();
        write_csv(&study, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[1].contains("\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\""),
            "{}",
            lines[1]
        );
        assert!(lines[1].contains(",'@SUM(A1),"), "{}", lines[1]);
        assert!(lines[1].contains(",'-2+3,'\tcmd,"), "{}", lines[1]);
        assert!(
            lines[1].contains(",-2.5,"),
            "a negative number stays: {}",
            lines[1]
        );
        assert!(lines[2].starts_with("1,-0.001,"), "{}", lines[2]);
        assert!(lines[2].contains(",-inf,"), "{}", lines[2]);
    }
}
