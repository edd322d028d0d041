//! Stored studies for people: listings and tables on the terminal, CSV and JSON exports,
//! deleting, and parameters typed by hand for `hyperplug enqueue`.

use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use hyperplug_core::{
    Direction, Domain, Params, Space, StudyRecord, TrialState, Value, pareto_front,
};
use hyperplug_storage::{Store, StoredTrial, StudySummary};
use serde_json::json;

use crate::format::{number, params_text, values_text};
use crate::run::{Definition, find};

/// Export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One row per trial; parameters and values in columns of their own.
    Csv,
    /// The study and every trial, as one JSON document.
    Json,
}

/// Trial states, as the command line spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StateArg {
    /// Running now.
    Running,
    /// Finished with values.
    Complete,
    /// Stopped early.
    Pruned,
    /// Failed.
    Failed,
}

impl From<StateArg> for TrialState {
    fn from(s: StateArg) -> Self {
        match s {
            StateArg::Running => TrialState::Running,
            StateArg::Complete => TrialState::Complete,
            StateArg::Pruned => TrialState::Pruned,
            StateArg::Failed => TrialState::Failed,
        }
    }
}

/// Aligned columns; numbers to the right.
struct Table {
    headers: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(headers: &[&str]) -> Self {
        Table {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            right: vec![true; headers.len()],
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        for (i, c) in cells.iter().enumerate() {
            // A column is right-aligned while every cell in it reads as a number.
            let number = c.is_empty() || c == "-" || c.parse::<f64>().is_ok();
            if !number && let Some(r) = self.right.get_mut(i) {
                *r = false;
            }
        }
        self.rows.push(cells);
    }

    fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let n = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, c) in row.iter().enumerate().take(n) {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        let line = |cells: &[String], out: &mut dyn Write| -> std::io::Result<()> {
            let mut text = String::new();
            for (i, c) in cells.iter().enumerate().take(n) {
                let pad = widths[i].saturating_sub(c.chars().count());
                if i > 0 {
                    text.push_str("  ");
                }
                if self.right[i] {
                    text.push_str(&" ".repeat(pad));
                    text.push_str(c);
                } else {
                    text.push_str(c);
                    if i + 1 < n {
                        text.push_str(&" ".repeat(pad));
                    }
                }
            }
            writeln!(out, "{}", text.trim_end())
        };
        line(&self.headers, out)?;
        for row in &self.rows {
            line(row, out)?;
        }
        Ok(())
    }
}

/// `2024-05-01 12:34:56 UTC`.
fn when(ms: u64) -> String {
    if ms == 0 {
        return "-".into();
    }
    let t = UNIX_EPOCH + Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .replace('T', " ")
        .replace('Z', " UTC")
}

fn directions_text(ds: &[Direction]) -> String {
    ds.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn best_text(s: &StudySummary) -> String {
    match (&s.best, s.record.directions.len()) {
        (Some((n, values)), _) => format!("{} (#{n})", values_text(values)),
        (None, 1) => "-".into(),
        (None, k) => format!("Pareto front ({k} objectives)"),
    }
}

/// `hyperplug studies list`: every study with its counts, best value and last activity.
pub fn list(store: &dyn Store, out: &mut dyn Write) -> Result<()> {
    let studies = store.studies()?;
    if studies.is_empty() {
        writeln!(out, "{} holds no study yet", store.location())?;
        return Ok(());
    }
    let mut t = Table::new(&[
        "study",
        "trials",
        "complete",
        "pruned",
        "failed",
        "running",
        "queued",
        "best",
        "directions",
        "last activity",
    ]);
    for s in &studies {
        let c = s.counts;
        t.row(vec![
            s.record.name.clone(),
            s.total().to_string(),
            c.complete.to_string(),
            c.pruned.to_string(),
            c.failed.to_string(),
            c.running.to_string(),
            s.queued.to_string(),
            best_text(s),
            directions_text(&s.record.directions),
            when(s.updated_ms),
        ]);
    }
    t.write(out)?;
    Ok(())
}

fn space_lines(space: &Space) -> Vec<String> {
    space
        .params()
        .iter()
        .map(|p| {
            let mut line = format!("{} {}", p.name, p.domain.describe());
            if let Some(c) = &p.condition {
                let values: Vec<String> = c.values.iter().map(Value::to_string).collect();
                line.push_str(&format!(" when {} in [{}]", c.parent, values.join(", ")));
            }
            line
        })
        .collect()
}

/// Every trial of a study, read in one query.
fn all_trials(store: &dyn Store, study: &StudySummary) -> Result<Vec<StoredTrial>> {
    let mut trials = Vec::with_capacity(study.total() as usize);
    store.each_trial(study.id, &mut |t| {
        trials.push(t);
        true
    })?;
    Ok(trials)
}

/// The best complete trial (one objective) or the Pareto front, by number.
fn best_of<'a>(record: &StudyRecord, trials: &'a [StoredTrial]) -> Vec<&'a StoredTrial> {
    let complete: Vec<&StoredTrial> = trials
        .iter()
        .filter(|t| t.trial.state == TrialState::Complete)
        .collect();
    if let [d] = record.directions[..] {
        // The earliest among ties, as the study itself reports.
        return complete
            .into_iter()
            .fold(None, |best: Option<&StoredTrial>, t| match best {
                Some(b) if !d.better(t.trial.values[0], b.trial.values[0]) => Some(b),
                _ => Some(t),
            })
            .into_iter()
            .collect();
    }
    let points: Vec<&[f64]> = complete.iter().map(|t| t.trial.values.as_slice()).collect();
    let mut front: Vec<&StoredTrial> = pareto_front(&points, &record.directions)
        .into_iter()
        .map(|i| complete[i])
        .collect();
    front.sort_by_key(|t| t.trial.number);
    front
}

/// `hyperplug studies show NAME`: what the study is, where it stands, and its best.
pub fn show(store: &dyn Store, name: &str, out: &mut dyn Write) -> Result<()> {
    let s = find(store, name)?;
    let r = &s.record;
    let def = Definition::of(r);
    let mut rows: Vec<(&str, String)> = vec![
        ("study", r.name.clone()),
        ("stored in", store.location()),
        ("directions", directions_text(&r.directions)),
    ];
    let mut space = space_lines(&r.space).into_iter();
    rows.push(("space", space.next().unwrap_or_else(|| "-".into())));
    rows.extend(space.map(|l| ("", l)));
    if let Some(d) = &def {
        rows.push(("strategy", d.strategy.clone()));
        rows.push(("objective", d.objective.clone()));
        rows.push(("seed", d.seed.to_string()));
        rows.push((
            "budget",
            d.trials
                .map_or_else(|| "no trial limit".into(), |n| format!("{n} trials")),
        ));
        rows.push(("study file", d.file.clone()));
    }
    rows.push((
        "retries",
        format!("{} (heartbeat grace {}s)", r.retries, number(r.grace_s)),
    ));
    let c = s.counts;
    rows.push((
        "trials",
        format!(
            "{}: {} complete, {} pruned, {} failed, {} running; {} queued",
            s.total(),
            c.complete,
            c.pruned,
            c.failed,
            c.running,
            s.queued
        ),
    ));
    let trials = all_trials(store, &s)?;
    let best = best_of(r, &trials);
    rows.push(match (best.as_slice(), r.directions.len()) {
        ([], _) => ("best", "no trial completed".into()),
        ([b], 1) => (
            "best",
            format!(
                "trial {} = {} with {}",
                b.trial.number,
                values_text(&b.trial.values),
                params_text(&b.trial.params)
            ),
        ),
        (front, _) => (
            "best",
            format!(
                "a Pareto front of {} trials (`hyperplug studies best {name}`)",
                front.len()
            ),
        ),
    });
    rows.push(("created", when(s.created_ms)));
    rows.push(("last activity", when(s.updated_ms)));
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in rows {
        writeln!(out, "{k:<width$}  {v}")?;
    }
    Ok(())
}

/// `hyperplug studies best NAME`: the best trial, or the Pareto front as a table.
pub fn best(store: &dyn Store, name: &str, out: &mut dyn Write) -> Result<()> {
    let s = find(store, name)?;
    let trials = all_trials(store, &s)?;
    let best = best_of(&s.record, &trials);
    if best.is_empty() {
        writeln!(out, "study `{name}` has no complete trial yet")?;
        return Ok(());
    }
    if let ([b], 1) = (best.as_slice(), s.record.directions.len()) {
        writeln!(
            out,
            "trial {} = {} ({})",
            b.trial.number,
            values_text(&b.trial.values),
            s.record.directions[0]
        )?;
        let width = b.trial.params.keys().map(|k| k.len()).max().unwrap_or(0);
        for (k, v) in &b.trial.params {
            writeln!(out, "  {k:<width$}  {}", value_text(v))?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "Pareto front of study `{name}` ({}): {} trials",
        directions_text(&s.record.directions),
        best.len()
    )?;
    let complete = trials
        .iter()
        .filter(|t| t.trial.state == TrialState::Complete)
        .map(|t| t.trial.values.as_slice());
    if let Some(hv) = crate::run::FrontHypervolume::of(&s.record.directions, complete) {
        let reference: Vec<String> = hv.reference_point.iter().map(|v| number(*v)).collect();
        writeln!(
            out,
            "hypervolume {}{} against the reference point ({}): each objective's worst complete \
             value, a tenth of its range further",
            number(hv.value),
            if hv.estimate {
                " (Monte Carlo estimate)"
            } else {
                ""
            },
            reference.join(", ")
        )?;
    }
    let mut headers: Vec<String> = vec!["trial".into()];
    headers.extend((0..s.record.directions.len()).map(|i| format!("value {i}")));
    headers.push("params".into());
    let mut t = Table::new(&headers.iter().map(String::as_str).collect::<Vec<_>>());
    for b in best {
        let mut row = vec![b.trial.number.to_string()];
        row.extend(b.trial.values.iter().map(|v| number(*v)));
        row.push(params_text(&b.trial.params));
        t.row(row);
    }
    t.write(out)?;
    Ok(())
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Float(x) => number(*x),
        other => other.to_string(),
    }
}

fn state_text(s: TrialState) -> &'static str {
    match s {
        TrialState::Running => "running",
        TrialState::Complete => "complete",
        TrialState::Pruned => "pruned",
        TrialState::Failed => "failed",
    }
}

/// `hyperplug studies trials NAME`: one line per trial, optionally of one state.
pub fn trials(
    store: &dyn Store,
    name: &str,
    state: Option<TrialState>,
    out: &mut dyn Write,
) -> Result<()> {
    let s = find(store, name)?;
    let mut t = Table::new(&[
        "trial", "state", "value", "duration", "started", "worker", "params", "note",
    ]);
    store.each_trial(s.id, &mut |st| {
        if state.is_some_and(|w| w != st.trial.state) {
            return true;
        }
        let tr = &st.trial;
        let mut note = tr.message.clone().unwrap_or_default();
        if let Some(r) = st.retry_of {
            note = format!("retry of #{r}{}", if note.is_empty() { "" } else { "; " }) + &note;
        }
        t.row(vec![
            tr.number.to_string(),
            state_text(tr.state).into(),
            if tr.values.is_empty() {
                "-".into()
            } else {
                values_text(&tr.values)
            },
            tr.duration_s
                .map_or_else(|| "-".into(), |d| format!("{}s", number(d))),
            when(tr.started_ms),
            st.worker.clone().unwrap_or_else(|| "-".into()),
            params_text(&tr.params),
            note,
        ]);
        true
    })?;
    if t.rows.is_empty() {
        writeln!(out, "study `{name}` has no such trial")?;
        return Ok(());
    }
    t.write(out)?;
    Ok(())
}

/// `hyperplug studies export NAME`: every trial with its parameters, values, state,
/// intermediate values and timings, streamed from one query.
pub fn export(store: &dyn Store, name: &str, format: Format, out: &mut dyn Write) -> Result<()> {
    let s = find(store, name)?;
    let mut failed: Option<std::io::Error> = None;
    match format {
        Format::Csv => {
            let params: Vec<&str> = s
                .record
                .space
                .params()
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            let values: Vec<String> = match s.record.directions.len() {
                1 => vec!["value".into()],
                k => (0..k).map(|i| format!("value_{i}")).collect(),
            };
            let mut header: Vec<String> = vec!["number".into(), "state".into()];
            header.extend(values.iter().cloned());
            header.extend(params.iter().map(|p| format!("param_{p}")));
            header.extend(
                [
                    "started",
                    "started_ms",
                    "duration_s",
                    "intermediate",
                    "attrs",
                    "message",
                    "worker",
                    "retry_of",
                ]
                .map(String::from),
            );
            csv_line(out, &header)?;
            store.each_trial(s.id, &mut |st| {
                let t = &st.trial;
                let mut row = vec![t.number.to_string(), state_text(t.state).to_owned()];
                row.extend(
                    (0..values.len())
                        .map(|i| t.values.get(i).map_or_else(String::new, |v| v.to_string())),
                );
                row.extend(
                    params
                        .iter()
                        .map(|p| t.params.get(*p).map_or_else(String::new, Value::to_string)),
                );
                row.push(if t.started_ms == 0 {
                    String::new()
                } else {
                    humantime::format_rfc3339_millis(
                        UNIX_EPOCH + Duration::from_millis(t.started_ms),
                    )
                    .to_string()
                });
                row.push(t.started_ms.to_string());
                row.push(t.duration_s.map_or_else(String::new, |d| d.to_string()));
                row.push(json!(t.intermediate).to_string());
                row.push(if t.user_attrs.is_empty() {
                    String::new()
                } else {
                    json!(t.user_attrs).to_string()
                });
                row.push(t.message.clone().unwrap_or_default());
                row.push(st.worker.clone().unwrap_or_default());
                row.push(st.retry_of.map_or_else(String::new, |r| r.to_string()));
                match csv_line(out, &row) {
                    Ok(()) => true,
                    Err(e) => {
                        failed = Some(e);
                        false
                    }
                }
            })?;
        }
        Format::Json => {
            let study = json!({
                "name": s.record.name,
                "directions": s.record.directions,
                "space": s.record.space,
                "retries": s.record.retries,
                "heartbeat_grace_s": s.record.grace_s,
                "definition": Definition::shown(&s.record),
                "created_ms": s.created_ms,
                "updated_ms": s.updated_ms,
            });
            write!(out, "{{\n\"study\": {study},\n\"trials\": [")?;
            let mut first = true;
            store.each_trial(s.id, &mut |st| {
                let t = &st.trial;
                let item = json!({
                    "number": t.number,
                    "state": t.state,
                    "values": t.values,
                    "params": t.params,
                    "intermediate": t.intermediate,
                    "started_ms": t.started_ms,
                    "duration_s": t.duration_s,
                    "user_attrs": t.user_attrs,
                    "message": t.message,
                    "worker": st.worker,
                    "retry_of": st.retry_of,
                });
                let sep = if first { "\n" } else { ",\n" };
                first = false;
                match write!(out, "{sep}{item}") {
                    Ok(()) => true,
                    Err(e) => {
                        failed = Some(e);
                        false
                    }
                }
            })?;
            writeln!(out, "\n]\n}}")?;
        }
    }
    if let Some(e) = failed {
        return Err(e).context("cannot write the export");
    }
    out.flush()?;
    Ok(())
}

/// One CSV record (RFC 4180): fields with commas, quotes or line breaks are quoted.
fn csv_line(out: &mut dyn Write, fields: &[String]) -> std::io::Result<()> {
    let line: Vec<String> = fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect();
    writeln!(out, "{}", line.join(","))
}

/// `hyperplug studies delete NAME --yes`: removes the study with its trials.
pub fn delete(store: &dyn Store, name: &str, yes: bool) -> Result<u64> {
    let s = find(store, name)?;
    if !yes {
        bail!(
            "deleting study `{name}` removes its {} trials from {} for good; add --yes to do it",
            s.total(),
            store.location()
        );
    }
    Ok(store.delete(s.id)?)
}

/// Parameters given by hand, checked against `space`: JSON objects (`{"x": 1.5}`) or
/// `name=value` pairs, each value read as its parameter's domain expects. Each JSON object is
/// one trial; the pairs together make one more.
pub fn parse_params(space: &Space, json: &[String], pairs: &[String]) -> Result<Vec<Params>> {
    let mut trials = Vec::new();
    for text in json {
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
            .map_err(|e| anyhow!("`{text}` is not a JSON object of parameters: {e}"))?;
        let given = object
            .into_iter()
            .map(|(k, v)| {
                let domain = domain_of(space, &k)?;
                let value =
                    from_json(domain, &v).ok_or_else(|| mismatch(&k, &v.to_string(), domain))?;
                Ok((k, value))
            })
            .collect::<Result<Vec<_>>>()?;
        trials.push(in_space_order(space, given)?);
    }
    if !pairs.is_empty() {
        let given = pairs
            .iter()
            .map(|pair| {
                let (k, v) = pair.split_once('=').ok_or_else(|| {
                    anyhow!("`{pair}` is not a parameter; write name=value, e.g. lr=0.01")
                })?;
                let (k, v) = (k.trim(), v.trim());
                let domain = domain_of(space, k)?;
                let value = from_text(domain, v).ok_or_else(|| mismatch(k, v, domain))?;
                Ok((k.to_owned(), value))
            })
            .collect::<Result<Vec<_>>>()?;
        trials.push(in_space_order(space, given)?);
    }
    if trials.is_empty() {
        bail!("give the parameters: --params '{{\"x\": 1.5}}' or x=1.5 y=relu");
    }
    Ok(trials)
}

fn domain_of<'a>(space: &'a Space, name: &str) -> Result<&'a Domain> {
    space.get(name).map(|p| &p.domain).ok_or_else(|| {
        let known: Vec<&str> = space.params().iter().map(|p| p.name.as_str()).collect();
        anyhow!(
            "`{name}` is not a parameter of this study (its parameters: {})",
            known.join(", ")
        )
    })
}

fn mismatch(name: &str, value: &str, domain: &Domain) -> anyhow::Error {
    anyhow!(
        "`{name}` = {value} does not fit its domain, {}",
        domain.describe()
    )
}

fn from_json(domain: &Domain, v: &serde_json::Value) -> Option<Value> {
    match domain {
        Domain::Float { .. } => v.as_f64().map(Value::Float),
        Domain::Int { .. } => v
            .as_i64()
            .or_else(|| v.as_f64().filter(|x| x.fract() == 0.0).map(|x| x as i64))
            .map(Value::Int),
        Domain::Categorical { choices } => choices
            .iter()
            .find(|c| {
                serde_json::to_value(c).is_ok_and(|j| &j == v)
                    || v.as_str().is_some_and(|s| s == c.to_string())
            })
            .cloned(),
    }
}

fn from_text(domain: &Domain, v: &str) -> Option<Value> {
    match domain {
        Domain::Float { .. } => v.parse::<f64>().ok().map(Value::Float),
        Domain::Int { .. } => v.parse::<i64>().ok().map(Value::Int),
        Domain::Categorical { choices } => choices.iter().find(|c| c.to_string() == v).cloned(),
    }
}

/// The parameters in the space's order, checked: every active one given, none inactive.
fn in_space_order(space: &Space, given: Vec<(String, Value)>) -> Result<Params> {
    let mut params = Params::new();
    for p in space.params() {
        if let Some((_, v)) = given.iter().find(|(k, _)| *k == p.name) {
            params.insert(p.name.clone(), v.clone());
        }
    }
    space
        .validate(&params)
        .map_err(|e| anyhow!("these parameters do not fit the study's space: {e}"))?;
    Ok(params)
}

#[cfg(test)]
mod tests {
    use hyperplug_core::Param;

    use super::*;

    fn space() -> Space {
        Space::new(vec![
            Param::new("lr", Domain::float(1e-4, 1e-1).log()),
            Param::new("layers", Domain::int(1, 3)),
            Param::new("act", Domain::choice(["relu", "tanh"])),
            Param::new("batch", Domain::choice([32, 64])),
            Param::new("units_2", Domain::int(8, 64)).when("layers", [2, 3]),
        ])
        .unwrap()
    }

    #[test]
    fn parameters_by_hand_are_typed_by_their_domain_and_checked() {
        let s = space();
        let from_pairs = parse_params(
            &s,
            &[],
            &["act=tanh", "layers=2", "lr=0.01", "batch=64", "units_2=16"].map(String::from),
        )
        .unwrap();
        let from_json = parse_params(
            &s,
            &[r#"{"units_2": 16.0, "lr": 0.01, "layers": 2, "act": "tanh", "batch": 64}"#.into()],
            &[],
        )
        .unwrap();
        assert_eq!(from_pairs, from_json);
        let p = &from_pairs[0];
        assert_eq!(
            p.keys().collect::<Vec<_>>(),
            ["lr", "layers", "act", "batch", "units_2"],
            "space order"
        );
        assert_eq!(p["lr"], Value::Float(0.01));
        assert_eq!(p["batch"], Value::Int(64));

        for (pairs, needle) in [
            (
                vec!["lr=0.5"],
                "`lr` = 0.5 (float) is outside its domain, float [0.0001, 0.1] log",
            ),
            (vec!["momentum=0.9"], "`momentum` is not a parameter"),
            (vec!["layers=1.5"], "`layers` = 1.5 does not fit"),
            (vec!["act=gelu"], "`act` = gelu does not fit"),
            (vec!["lr"], "name=value"),
            (
                vec!["lr=0.01", "layers=1", "act=relu", "batch=32", "units_2=8"],
                "condition does not hold",
            ),
            (vec!["lr=0.01"], "is missing"),
        ] {
            let pairs: Vec<String> = pairs.into_iter().map(String::from).collect();
            let e = format!("{:#}", parse_params(&s, &[], &pairs).unwrap_err());
            assert!(e.contains(needle), "{pairs:?}: {e}");
        }
        let e = parse_params(&s, &["[1]".into()], &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a JSON object"), "{e}");
        assert!(parse_params(&s, &[], &[]).is_err());
    }

    #[test]
    fn tables_align_columns_and_numbers_to_the_right() {
        let mut t = Table::new(&["study", "trials", "best"]);
        t.row(vec!["a".into(), "5".into(), "0.5 (#3)".into()]);
        t.row(vec!["longer-name".into(), "120".into(), "-".into()]);
        let mut out = Vec::new();
        t.write(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "study        trials  best\n\
             a                 5  0.5 (#3)\n\
             longer-name     120  -\n"
        );
        let mut csv = Vec::new();
        csv_line(
            &mut csv,
            &["a,b".into(), "say \"hi\"".into(), "plain".into()],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            "\"a,b\",\"say \"\"hi\"\"\",plain\n"
        );
        assert_eq!(when(86_400_000), "1970-01-02 00:00:00 UTC");
    }
}
