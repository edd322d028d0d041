//! The dashboard's pages: the list of studies, and a study's page, which paints its summary at
//! once and receives the plots and every change as server-sent events.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use futures_util::Stream;
use futures_util::stream::{self, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use crate::error::ApiError;
use crate::live::Update;

type AppState = Arc<crate::State>;

/// The dashboard's own script: the live connection and the summary it keeps up to date.
const SCRIPT: &str = include_str!("../assets/dashboard.js");
/// The dashboard's own style, after the report's.
const STYLE: &str = include_str!("../assets/dashboard.css");

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/studies/{name}", get(page))
        .route("/studies/{name}/events", get(events))
        .route("/assets/report.js", get(report_script))
        .route("/assets/dashboard.js", get(dashboard_script))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Percent-encodes a study name for a path.
fn path_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `2024-05-01 12:34:56 UTC`.
fn when(ms: u64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(at)
        .to_string()
        .replace('T', " ")
        .replace('Z', " UTC")
}

fn shell(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{}\n{}</style></head>{body}</html>",
        esc(title),
        hyperplug_report::STYLE,
        STYLE,
    ))
}

async fn index(State(state): State<AppState>) -> Result<Html<String>, ApiError> {
    let s = state.clone();
    let studies = tokio::task::spawn_blocking(move || {
        let Some(store) = s.views.get()? else {
            return Ok((Vec::new(), s.config.storage.clone()));
        };
        let list = store.studies().map_err(|e| {
            ApiError::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        })?;
        Ok::<_, ApiError>((list, store.location()))
    })
    .await??;
    let (list, location) = studies;
    let mut rows = String::new();
    for s in &list {
        let best = s.best.as_ref().map_or_else(
            || "—".to_owned(),
            |(n, v)| {
                format!(
                    "{} (trial {n})",
                    v.iter()
                        .map(|x| format!("{x:.6}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        );
        let directions: Vec<String> = s
            .record
            .directions
            .iter()
            .map(|d| format!("{d:?}").to_lowercase())
            .collect();
        let _ = write!(
            rows,
            "<tr class=\"study\"><td><a href=\"/studies/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            path_part(&s.record.name),
            esc(&s.record.name),
            esc(&directions.join(", ")),
            s.counts.complete,
            s.counts.pruned,
            s.counts.failed,
            s.counts.running,
            esc(&best),
            when(s.updated_ms),
        );
    }
    let body = format!(
        "<body><main><h1>Studies</h1><p class=\"caption\">{} in {}. Open one to watch it live.</p><table id=\"studies\"><thead><tr><th>study</th><th>directions</th><th>complete</th><th>pruned</th><th>failed</th><th>running</th><th>best</th><th>last activity</th></tr></thead><tbody>{rows}</tbody></table></main></body>",
        match list.len() {
            0 => "No studies yet".to_owned(),
            1 => "1 study".to_owned(),
            n => format!("{n} studies"),
        },
        esc(&location),
    );
    Ok(shell("hyperplug studies", &body))
}

async fn page(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Html<String>, ApiError> {
    let s = state.clone();
    let n = name.clone();
    let summary = tokio::task::spawn_blocking(move || {
        let store = s.views.get()?.ok_or_else(|| crate::api::no_study(&n))?;
        store
            .find(&n)
            .map_err(|e| ApiError::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?
            .ok_or_else(|| crate::api::no_study(&n))
    })
    .await??;
    let c = &summary.counts;
    let best = summary.best.as_ref().map_or_else(
        || "—".to_owned(),
        |(n, v)| {
            format!(
                "{} (trial {n})",
                v.iter()
                    .map(|x| format!("{x:.6}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    );
    let body = format!(
        "<body data-study=\"{}\" data-live><main><p><a href=\"/\">← studies</a></p><h1>{}</h1>\
<p id=\"live\" class=\"caption\">connecting…</p>\
<section class=\"summary\"><table id=\"counts\"><tr><th>complete</th><th>pruned</th><th>failed</th><th>running</th><th>queued</th><th>best</th></tr>\
<tr><td id=\"count-complete\">{}</td><td id=\"count-pruned\">{}</td><td id=\"count-failed\">{}</td><td id=\"count-running\">{}</td><td id=\"count-queued\">{}</td><td id=\"best\">{}</td></tr></table></section>\
<section><h2>Latest changes</h2><table id=\"latest\"><thead><tr><th>trial</th><th>state</th><th>values</th><th>params</th></tr></thead><tbody></tbody></table></section>\
<div id=\"figures\"><p class=\"caption\">drawing the plots…</p></div>\
{}\
<script type=\"application/json\" id=\"hp-data\">{{\"objectives\":[],\"params\":[],\"rows\":[]}}</script>\
</main><script src=\"/assets/report.js\"></script><script src=\"/assets/dashboard.js\"></script></body>",
        esc(&name),
        esc(&name),
        c.complete,
        c.pruned,
        c.failed,
        c.running,
        summary.queued,
        esc(&best),
        hyperplug_report::TABLE,
    );
    Ok(shell(&format!("{name} · hyperplug"), &body))
}

async fn report_script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        hyperplug_report::SCRIPT,
    )
}

/// Served rather than inline: the pages' policy allows no inline script (see
/// [`crate::headers`]).
async fn dashboard_script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
}

fn event(u: &Update) -> Result<Event, Infallible> {
    Ok(Event::default().event(u.event).data(u.data.as_str()))
}

async fn events(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let watch = crate::live::watch(&state, &name).await?;
    let (rx, now, study) = watch.subscribe();
    let mut first: Vec<Update> = now;
    // The trial table's rows, after the summary and plots (the first paint), as of `rx`'s start.
    if let Some(study) = study {
        first.push(tokio::task::spawn_blocking(move || crate::live::table(&study)).await?);
    }
    let first = stream::iter(first.iter().map(event).collect::<Vec<_>>());
    let stopping = state.stopping.subscribe();
    let rest = stream::unfold((rx, stopping), |(mut rx, mut stopping)| async move {
        loop {
            let got = tokio::select! {
                got = rx.recv() => got,
                // The stream ends when the server stops (or the page would hold it up).
                _ = stopping.wait_for(|stop| *stop) => return None,
            };
            match got {
                Ok(u) => return Some((event(&u), (rx, stopping))),
                // A slow page missed some deltas; the next summary's counts are whole again.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(first.chain(rest)).keep_alive(KeepAlive::default()))
}
