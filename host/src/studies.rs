//! Stored studies for people: listings and tables on the terminal, CSV and JSON exports. The
//! data under them (every trial, the best, deleting, parameters typed by hand) is the engine's
//! ([`hyperplug_engine::studies`]).

use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{Context, Result};
use hyperplug_core::{Direction, Space, TrialState, Value};
use hyperplug_storage::{Store, StudySummary};

use crate::format::{number, params_text, values_text};
use crate::run::{Definition, find, stored_seed};
use hyperplug_engine::studies::study_data;
pub use hyperplug_engine::studies::{delete, parse_params};
use hyperplug_schema::write_csv;

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
        if let Some(seed) = stored_seed(r) {
            rows.push(("seed", seed.to_string()));
        }
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
    let data = study_data(store, &s)?;
    rows.push(match (data.best_trials.as_slice(), r.directions.len()) {
        ([], _) => ("best", "no trial completed".into()),
        ([b], 1) => (
            "best",
            format!(
                "trial {} = {} with {}",
                b.number,
                values_text(&b.values),
                params_text(&b.params)
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

/// `hyperplug studies best NAME`: the best trial, or the Pareto front as a table; with `json`,
/// the study schema's document without the trial list.
pub fn best(store: &dyn Store, name: &str, json: bool, out: &mut dyn Write) -> Result<()> {
    let s = find(store, name)?;
    let data = study_data(store, &s)?;
    if json {
        serde_json::to_writer_pretty(&mut *out, &data.best_view()).context("cannot write JSON")?;
        writeln!(out)?;
        return Ok(());
    }
    let best = &data.best_trials;
    let directions = &data.study.directions;
    if best.is_empty() {
        writeln!(out, "study `{name}` has no complete trial yet")?;
        return Ok(());
    }
    if let ([b], 1) = (best.as_slice(), directions.len()) {
        writeln!(
            out,
            "trial {} = {} ({})",
            b.number,
            values_text(&b.values),
            directions[0]
        )?;
        let width = b.params.keys().map(|k| k.len()).max().unwrap_or(0);
        for (k, v) in &b.params {
            writeln!(out, "  {k:<width$}  {}", value_text(v))?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "Pareto front of study `{name}` ({}): {} trials",
        directions_text(directions),
        best.len()
    )?;
    if let Some(hv) = &data.hypervolume {
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
    headers.extend((0..directions.len()).map(|i| format!("value {i}")));
    headers.push("params".into());
    let mut t = Table::new(&headers.iter().map(String::as_str).collect::<Vec<_>>());
    for b in best {
        let mut row = vec![b.number.to_string()];
        row.extend(b.values.iter().map(|v| number(*v)));
        row.push(params_text(&b.params));
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

/// `hyperplug studies export NAME`: the study and every trial in the study schema, as JSON
/// (docs/SCHEMA.md) or as CSV in the shape of Optuna's `trials_dataframe`.
pub fn export(store: &dyn Store, name: &str, format: Format, out: &mut dyn Write) -> Result<()> {
    let s = find(store, name)?;
    let data = study_data(store, &s)?;
    match format {
        Format::Csv => write_csv(&data, out).context("cannot write the export")?,
        Format::Json => {
            serde_json::to_writer(&mut *out, &data).context("cannot write the export")?;
            writeln!(out).context("cannot write the export")?;
        }
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(when(86_400_000), "1970-01-02 00:00:00 UTC");
    }
}
