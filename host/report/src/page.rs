//! The HTML page around the figures: summary, best trials, the trial table's data, and the
//! inline style and script.

use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use hyperplug_core::{TrialState, Value};
use hyperplug_schema::{StudyData, TrialData};
use serde_json::json;

use crate::svg::{esc, num};
use crate::{Figure, Options, ReportError, SCRIPT, STYLE, figures};

/// The trial table's markup, filled by the report script's `hyperplugTable` (the report from
/// its embedded data, the dashboard from its event stream).
pub const TABLE: &str = "<section id=\"trials\"><h2>Trials</h2><div class=\"controls\"><input type=\"search\" id=\"hp-filter\" placeholder=\"filter: any text, or column=value, column>value, column<value\" size=\"48\"> <select id=\"hp-state\"><option value=\"\">every state</option><option value=\"c\">complete</option><option value=\"p\">pruned</option><option value=\"f\">failed</option><option value=\"r\">running</option></select> <span id=\"hp-count\"></span></div><div class=\"scroll\"><table id=\"hp-table\"><thead></thead><tbody></tbody></table></div><div class=\"pager\"><button id=\"hp-prev\" type=\"button\">previous</button> <span id=\"hp-page\"></span> <button id=\"hp-next\" type=\"button\">next</button></div><noscript><p>The trial table needs JavaScript; <code>hyperplug studies export</code> writes every trial as CSV or JSON.</p></noscript></section>";

/// Most rows of the Pareto front listed in the page's best-trials table.
const MAX_FRONT_ROWS: usize = 200;

/// Most characters of a trial's message in the trial table's data: a message is as long as its
/// objective made it (a program's stderr, a panic's text), and the page (and every redraw the
/// dashboard sends) would carry it whole. The export keeps it whole.
pub const MAX_MESSAGE_CHARS: usize = 1_000;

/// A figure as the page marks it up: a section with its heading, caption and panels. The
/// page's script finds figures by this markup (`section.figure`, `.panels svg.plot`).
pub fn figure_html(f: &Figure) -> String {
    let mut out = String::with_capacity(f.panels.iter().map(String::len).sum::<usize>() + 512);
    let _ = write!(
        out,
        "<section class=\"figure\" id=\"fig-{}\"><h2>{}</h2><p class=\"caption\">{}</p><div class=\"panels\">",
        f.id,
        esc(&f.title),
        esc(&f.caption)
    );
    for p in &f.panels {
        out.push_str(p);
    }
    out.push_str("</div></section>\n");
    out
}

fn state_code(s: TrialState) -> &'static str {
    match s {
        TrialState::Complete => "c",
        TrialState::Pruned => "p",
        TrialState::Failed => "f",
        TrialState::Running => "r",
    }
}

fn value_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::Float(x) => json!(x),
        Value::Str(s) => json!(s),
    }
}

/// A row's parameters, which the script reads by index either way: an array with a null for each
/// one the trial lacks, or, when it lacks most, its own as an object by index (a define-by-run
/// study may have thousands of parameters, each trial a few of them, and the nulls would grow
/// as their product).
fn params_json(names: &[&str], t: &TrialData) -> serde_json::Value {
    let own: Vec<(usize, serde_json::Value)> = names
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some((i, value_json(t.params.get(*p)?))))
        .collect();
    if 2 * own.len() >= names.len() {
        let mut row = vec![serde_json::Value::Null; names.len()];
        for (i, v) in own {
            row[i] = v;
        }
        row.into()
    } else {
        own.into_iter()
            .map(|(i, v)| (i.to_string(), v))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}

/// The trials as the page's script reads them: objective and parameter names, and one compact
/// row per trial `[number, state (c/p/f/r), [values], [params in the space's order, null when
/// inactive] (or, for a trial with fewer than half of them, `{index: value}` of its own),
/// duration_s, started_ms, message]`, the message cut to [`MAX_MESSAGE_CHARS`]
/// characters and an ellipsis. Every `<` is written `\u003c`, so that the JSON can stand in a
/// `<script>` element.
pub fn trials_json(study: &StudyData) -> String {
    let names: Vec<&str> = study
        .study
        .space
        .params()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let rows: Vec<serde_json::Value> = study
        .trials
        .iter()
        .map(|t| {
            json!([
                t.number,
                state_code(t.state),
                t.values,
                params_json(&names, t),
                t.duration_s,
                t.started_ms,
                t.message.as_deref().map(cut_message),
            ])
        })
        .collect();
    let objectives: Vec<String> = (0..study.study.directions.len())
        .map(|i| study.study.objective_name(i))
        .collect();
    let data = json!({
        "objectives": objectives,
        "directions": study.study.directions,
        "params": names,
        "rows": rows,
    });
    // Inside a <script> element, "</script" would end it early, and "<!--" then "<script"
    // would make the parser skip the next "</script>" (it would swallow the page's script). In
    // JSON `<` occurs only inside strings, where `\u003c` reads the same.
    data.to_string().replace('<', "\\u003c")
}

/// A trial's message as the trial table shows it: cut to [`MAX_MESSAGE_CHARS`] characters and
/// an ellipsis.
pub fn cut_message(message: &str) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((at, _)) => format!("{}…", &message[..at]),
        None => message.to_owned(),
    }
}

/// `2024-05-01 12:34:56 UTC`.
fn when(ms: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms))
        .to_string()
        .replace('T', " ")
        .replace('Z', " UTC")
}

fn params_cells(study: &StudyData, t: &TrialData) -> String {
    study
        .study
        .space
        .params()
        .iter()
        .map(|p| {
            let v = t.params.get(&p.name).map_or_else(
                || "—".to_owned(),
                |v| match v {
                    Value::Float(x) => num(*x),
                    other => other.to_string(),
                },
            );
            format!("<td>{}</td>", esc(&v))
        })
        .collect()
}

fn summary(study: &StudyData, out: &mut String) {
    let s = &study.study;
    let c = &study.counts;
    let mut rows: Vec<(&str, String)> = vec![(
        "directions",
        s.directions
            .iter()
            .enumerate()
            .map(|(i, d)| format!("{} ({d})", s.objective_name(i)))
            .collect::<Vec<_>>()
            .join(", "),
    )];
    if let Some(v) = &s.strategy {
        rows.push(("strategy", v.clone()));
    }
    if let Some(v) = &s.objective {
        rows.push(("objective", v.clone()));
    }
    if let Some(v) = s.seed {
        rows.push(("seed", v.to_string()));
    }
    if let Some(v) = s.trial_budget {
        rows.push(("budget", format!("{v} trials")));
    }
    if let Some(v) = &s.storage {
        rows.push(("stored in", v.clone()));
    }
    let space: Vec<String> = s
        .space
        .params()
        .iter()
        .map(|p| {
            let mut line = format!("{} {}", p.name, p.domain.describe());
            if let Some(c) = &p.condition {
                let vs: Vec<String> = c.values.iter().map(Value::to_string).collect();
                line.push_str(&format!(" when {} in [{}]", c.parent, vs.join(", ")));
            }
            line
        })
        .collect();
    rows.push(("space", space.join("; ")));
    if let Some(v) = s.created_ms {
        rows.push(("created", when(v)));
    }
    if let Some(v) = s.updated_ms {
        rows.push(("last activity", when(v)));
    }
    out.push_str("<section id=\"summary\"><dl>");
    for (k, v) in rows {
        let _ = write!(out, "<dt>{k}</dt><dd>{}</dd>", esc(&v));
    }
    out.push_str("</dl><p class=\"counts\">");
    for (label, n, class) in [
        ("complete", c.complete, "st-c"),
        ("pruned", c.pruned, "st-p"),
        ("failed", c.failed, "st-f"),
        ("running", c.running, "st-r"),
        ("queued", c.queued, "st-q"),
    ] {
        let _ = write!(out, "<span class=\"chip {class}\">{n} {label}</span> ");
    }
    out.push_str("</p></section>\n");
}

fn best(study: &StudyData, out: &mut String) {
    let s = &study.study;
    out.push_str("<section id=\"best\">");
    let names: String = s
        .space
        .params()
        .iter()
        .map(|p| format!("<th>{}</th>", esc(&p.name)))
        .collect();
    let values_head: String = (0..s.directions.len())
        .map(|i| format!("<th>{}</th>", esc(&s.objective_name(i))))
        .collect();
    let row = |t: &TrialData| {
        let values: String = t
            .values
            .iter()
            .map(|v| format!("<td>{}</td>", num(*v)))
            .collect();
        format!(
            "<tr><td>{}</td>{values}{}</tr>",
            t.number,
            params_cells(study, t)
        )
    };
    match (study.best_trials.as_slice(), s.directions.len()) {
        ([], _) => out.push_str("<h2>Best trial</h2><p>No trial has completed yet.</p>"),
        ([b], 1) => {
            let _ = write!(
                out,
                "<h2>Best trial</h2><p>Trial {} has the best {} ({}): <strong>{}</strong>.</p><table class=\"small\"><thead><tr><th>trial</th>{values_head}{names}</tr></thead><tbody>{}</tbody></table>",
                b.number,
                esc(&s.objective_name(0)),
                s.directions[0],
                // An export read with `--from` says what it says: its best trial may lack values.
                b.values.first().map_or_else(|| "—".to_owned(), |v| num(*v)),
                row(b)
            );
        }
        (front, _) => {
            let _ = write!(
                out,
                "<h2>Pareto front</h2><p>{} trials are on the Pareto front: no other trial is at least as good in every objective and better in one.",
                front.len()
            );
            if let Some(h) = &study.hypervolume {
                let _ = write!(
                    out,
                    " Its hypervolume is <strong>{}</strong>{} against the reference point ({}).",
                    num(h.value),
                    if h.estimate {
                        " (a Monte Carlo estimate)"
                    } else {
                        ""
                    },
                    h.reference_point
                        .iter()
                        .map(|v| num(*v))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            if front.len() > MAX_FRONT_ROWS {
                let _ = write!(
                    out,
                    " The first {MAX_FRONT_ROWS} by number are listed; the trial table below has them all."
                );
            }
            let _ = write!(
                out,
                "</p><table class=\"small\"><thead><tr><th>trial</th>{values_head}{names}</tr></thead><tbody>"
            );
            for t in front.iter().take(MAX_FRONT_ROWS) {
                out.push_str(&row(t));
            }
            out.push_str("</tbody></table>");
        }
    }
    out.push_str("</section>\n");
}

/// The report of `study`: one HTML document with everything inline.
pub fn render(study: &StudyData, options: &Options) -> Result<String, ReportError> {
    let (figs, _) = figures(study, options)?;
    let name = esc(&study.study.name);
    let mut out = String::with_capacity(
        figs.iter()
            .flat_map(|f| &f.panels)
            .map(String::len)
            .sum::<usize>()
            + study.trials.len() * 160
            + 64 * 1024,
    );
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{name} · hyperplug report</title><style>{STYLE}</style></head><body>\n<header><h1>Study <code>{name}</code></h1><nav>"
    );
    out.push_str("<a href=\"#best\">best</a>");
    for f in &figs {
        let _ = write!(out, " · <a href=\"#fig-{}\">{}</a>", f.id, f.id);
    }
    out.push_str(" · <a href=\"#trials\">trials</a></nav></header>\n<main>");
    summary(study, &mut out);
    best(study, &mut out);
    for f in &figs {
        out.push_str(&figure_html(f));
    }
    out.push_str(TABLE);
    out.push_str("\n</main>");
    let _ = writeln!(
        out,
        "<footer>Made by {} from study schema version {}; every plot is drawn from the same data as <code>hyperplug studies export --format json</code>. Wheel to zoom, drag to pan, double-click to reset; click a legend entry to hide or show it.</footer>",
        esc(&options.generator),
        study.schema_version
    );
    let _ = write!(
        out,
        "<script type=\"application/json\" id=\"hp-data\">{}</script>\n<script>{SCRIPT}</script>\n</body></html>\n",
        trials_json(study)
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_utc() {
        assert_eq!(when(1_700_000_000_000), "2023-11-14 22:13:20 UTC");
    }
}
