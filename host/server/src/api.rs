//! Ask/tell over HTTP: create or load a study, ask for a trial, report intermediate values,
//! set user attributes, tell the result. JSON in and out; `docs/openapi.json` describes it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use hyperplug_engine::{
    Direction, Evaluation, Params, Settings, SharedStudy, StudyConfig, TrialError, Value,
};
use hyperplug_schema::TrialData;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{ApiError, Body};

type AppState = Arc<crate::State>;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/api/studies", get(list).post(create))
        .route("/api/studies/{name}", get(study))
        .route("/api/studies/{name}/ask", post(ask))
        .route("/api/studies/{name}/enqueue", post(enqueue))
        .route("/api/studies/{name}/trials/{number}/report", post(report))
        .route("/api/studies/{name}/trials/{number}/attrs", post(attrs))
        .route("/api/studies/{name}/trials/{number}/tell", post(tell))
}

/// The studies ask/tell has opened in this process, by name.
#[derive(Default)]
pub(crate) struct Studies {
    open: Mutex<HashMap<String, SharedStudy>>,
}

impl Studies {
    fn get(&self, name: &str) -> Option<SharedStudy> {
        self.lock().get(name).cloned()
    }

    fn put(&self, name: &str, study: SharedStudy) {
        self.lock().insert(name.to_owned(), study);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, SharedStudy>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], crate::OPENAPI)
}

/// Runs blocking engine work off the async threads.
async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, ApiError> + Send + 'static,
) -> Result<R, ApiError> {
    tokio::task::spawn_blocking(f).await?
}

async fn list(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let s = state.clone();
    blocking(move || {
        let Some(store) = s.views.get()? else {
            return Ok(Json(json!({ "studies": [] })));
        };
        let studies = store
            .studies()
            .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
        let rows: Vec<serde_json::Value> = studies
            .iter()
            .map(|s| {
                json!({
                    "name": s.record.name,
                    "directions": s.record.directions,
                    "counts": {
                        "running": s.counts.running,
                        "complete": s.counts.complete,
                        "pruned": s.counts.pruned,
                        "failed": s.counts.failed,
                        "queued": s.queued,
                    },
                    "best": s.best.as_ref().map(|(n, v)| json!({"number": n, "values": v})),
                    "created_ms": s.created_ms,
                    "updated_ms": s.updated_ms,
                })
            })
            .collect();
        Ok(Json(json!({ "studies": rows })))
    })
    .await
}

async fn study(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let s = state.clone();
    let data = blocking(move || crate::live::load(&s, &name).map(|(data, _, _)| data)).await?;
    Ok(Json(data))
}

/// `POST /api/studies`: a study, created or (same name, space and directions) opened.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateStudy {
    name: String,
    strategy: String,
    #[serde(default)]
    library: Option<String>,
    #[serde(default)]
    settings: Settings,
    space: IndexMap<String, serde_json::Value>,
    #[serde(default)]
    direction: Option<Direction>,
    #[serde(default)]
    directions: Option<Vec<Direction>>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    trials: Option<u64>,
}

async fn create(
    State(state): State<AppState>,
    Body(req): Body<CreateStudy>,
) -> Result<impl IntoResponse, ApiError> {
    if req.name.trim().is_empty() || req.name.len() > 200 {
        return Err(ApiError::bad("give the study a name of 1 to 200 bytes").field("name"));
    }
    let directions = match (req.direction, req.directions) {
        (Some(_), Some(_)) => {
            return Err(
                ApiError::bad("give either `direction` or `directions`, not both")
                    .field("directions"),
            );
        }
        (Some(d), None) => vec![d],
        (None, Some(ds)) if !ds.is_empty() => ds,
        (None, Some(_)) => {
            return Err(ApiError::bad("give at least one direction").field("directions"));
        }
        (None, None) => vec![Direction::Minimize],
    };
    if req.trials == Some(0) {
        return Err(ApiError::bad(
            "a budget of 0 trials runs nothing; leave `trials` out for no limit",
        )
        .field("trials"));
    }
    if let Err(m) = state
        .registry
        .find_strategy(&req.strategy, req.library.as_deref())
    {
        let field = if req.library.is_some() {
            "library"
        } else {
            "strategy"
        };
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m).field(field));
    }
    let mut entries = Vec::with_capacity(req.space.len());
    for (name, spec) in req.space {
        let spec = toml::Value::try_from(&spec).map_err(|e| {
            ApiError::bad(format!("space.{name}: not a parameter's table: {e}"))
                .field(format!("space.{name}"))
        })?;
        entries.push((name, spec));
    }
    let names: Vec<String> = entries.iter().map(|(n, _)| n.clone()).collect();
    let space = hyperplug_engine::config::space_of(entries).map_err(|m| {
        // The engine's message names the entry (`space.x: ...`) or the parameter (`x`).
        let field = names
            .iter()
            .find(|n| m.starts_with(&format!("space.{n}:")) || m.contains(&format!("`{n}`")))
            .map_or_else(|| "space".to_owned(), |n| format!("space.{n}"));
        ApiError::bad(m).field(field)
    })?;
    let config = StudyConfig::new(&req.name, space, directions).seed(req.seed.unwrap_or(0));
    let s = state.clone();
    let name = req.name.clone();
    let study = blocking(move || {
        SharedStudy::create(
            &s.config.storage,
            config,
            &req.strategy,
            req.library.as_deref(),
            &req.settings,
            None,
            req.trials,
            &s.registry,
        )
        .map_err(|e| ApiError::engine(StatusCode::UNPROCESSABLE_ENTITY, &e))
    })
    .await?;
    let body = study.with(|s| {
        json!({
            "name": s.config().name,
            "directions": s.config().directions,
            "space": s.config().space,
            "seed": s.config().seed,
            "trials": study.budget(),
        })
    });
    state.studies.put(&name, study);
    Ok((StatusCode::CREATED, Json(body)))
}

/// The study `name` as ask/tell opened it, loaded from the store the first time.
async fn shared(state: &AppState, name: &str) -> Result<SharedStudy, ApiError> {
    if let Some(s) = state.studies.get(name) {
        return Ok(s);
    }
    let s = state.clone();
    let n = name.to_owned();
    let study = blocking(move || {
        let known = s
            .views
            .get()?
            .map(|store| store.find(&n))
            .transpose()
            .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?
            .flatten();
        if known.is_none() {
            return Err(no_study(&n));
        }
        SharedStudy::load(&s.config.storage, &n, &s.registry)
            .map_err(|e| ApiError::engine(StatusCode::UNPROCESSABLE_ENTITY, &e))
    })
    .await?;
    // Two first requests may both load it; keep one.
    let mut open = state.studies.lock();
    Ok(open.entry(name.to_owned()).or_insert(study).clone())
}

pub(crate) fn no_study(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no study `{name}` in this server's store; create it with POST /api/studies"),
    )
}

#[derive(Serialize)]
struct Asked {
    /// `true` when the budget is spent (or the strategy has nothing more): no trial.
    done: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    number: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<Params>,
}

async fn ask(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Asked>, ApiError> {
    let study = shared(&state, &name).await?;
    let s = state.clone();
    blocking(move || {
        let lease = study
            .ask()
            .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
        Ok(Json(match lease {
            None => Asked {
                done: true,
                number: None,
                params: None,
            },
            Some(lease) => {
                let asked = Asked {
                    done: false,
                    number: Some(lease.number()),
                    params: Some(lease.params().clone()),
                };
                s.leases.insert(&name, lease);
                asked
            }
        }))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Enqueue {
    params: serde_json::Map<String, serde_json::Value>,
}

async fn enqueue(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Body(req): Body<Enqueue>,
) -> Result<impl IntoResponse, ApiError> {
    let study = shared(&state, &name).await?;
    blocking(move || {
        let space = study.with(|s| s.config().space.clone());
        let text = serde_json::Value::Object(req.params).to_string();
        let params = hyperplug_engine::studies::parse_params(&space, &[text], &[])
            .map_err(|e| ApiError::engine(StatusCode::UNPROCESSABLE_ENTITY, &e).field("params"))?;
        for p in &params {
            study
                .enqueue(p)
                .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
        }
        Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "queued": params.len() })),
        ))
    })
    .await
}

fn number_of(text: &str) -> Result<u64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad(format!("`{text}` is not a trial number")).field("number"))
}

fn not_lent(name: &str, number: u64) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        format!(
            "trial {number} of study `{name}` is not lent out here: it was told already, its lease expired, or it was never asked"
        ),
    )
    .field("number")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    step: u64,
    value: f64,
}

async fn report(
    State(state): State<AppState>,
    Path((name, number)): Path<(String, String)>,
    Body(req): Body<Report>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let number = number_of(&number)?;
    if !req.value.is_finite() {
        return Err(ApiError::bad("an intermediate value must be a finite number").field("value"));
    }
    let held = state
        .leases
        .touch(&name, number)
        .ok_or_else(|| not_lent(&name, number))?;
    blocking(move || {
        let mut lease = held.lease();
        let lease = lease.as_mut().ok_or_else(|| not_lent(&name, number))?;
        let prune = lease
            .report(req.step, req.value)
            .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
        Ok(Json(json!({ "prune": prune })))
    })
    .await
}

async fn attrs(
    State(state): State<AppState>,
    Path((name, number)): Path<(String, String)>,
    Body(req): Body<IndexMap<String, Value>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let number = number_of(&number)?;
    let held = state
        .leases
        .touch(&name, number)
        .ok_or_else(|| not_lent(&name, number))?;
    let mut lease = held.lease();
    let lease = lease.as_mut().ok_or_else(|| not_lent(&name, number))?;
    let n = req.len();
    for (k, v) in req {
        lease.set_user_attr(k, v);
    }
    Ok(Json(json!({ "set": n })))
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Told {
    Complete,
    Pruned,
    Failed,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tell {
    #[serde(default = "complete")]
    state: Told,
    #[serde(default)]
    values: Option<Vec<f64>>,
    #[serde(default)]
    value: Option<f64>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    attrs: IndexMap<String, Value>,
}

fn complete() -> Told {
    Told::Complete
}

async fn tell(
    State(state): State<AppState>,
    Path((name, number)): Path<(String, String)>,
    Body(req): Body<Tell>,
) -> Result<Json<TrialData>, ApiError> {
    let number = number_of(&number)?;
    let outcome = match req.state {
        Told::Complete => {
            let values = match (req.value, req.values) {
                (Some(v), None) => vec![v],
                (None, Some(vs)) => vs,
                (Some(_), Some(_)) => {
                    return Err(
                        ApiError::bad("give either `value` or `values`, not both").field("values")
                    );
                }
                (None, None) => {
                    return Err(ApiError::bad(
                        "a complete trial needs its result: `value` (one objective) or `values`",
                    )
                    .field("values"));
                }
            };
            Ok(Evaluation {
                values,
                attrs: req.attrs,
            })
        }
        Told::Pruned | Told::Failed if req.value.is_some() || req.values.is_some() => {
            return Err(ApiError::bad(
                "a pruned or failed trial has no values; send `state` and an optional `message`",
            )
            .field("values"));
        }
        Told::Pruned => Err(TrialError::Pruned),
        Told::Failed => Err(TrialError::Failed(
            req.message
                .unwrap_or_else(|| "failed (told over HTTP)".into()),
        )),
    };
    let held = state
        .leases
        .touch(&name, number)
        .ok_or_else(|| not_lent(&name, number))?;
    // Checked before the lease is given up, so that a client can correct a wrong count.
    if let Ok(eval) = &outcome {
        let m = held
            .lease()
            .as_ref()
            .map(|l| l.study().with(|s| s.config().directions.len()));
        if let Some(m) = m
            && eval.values.len() != m
        {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "the study has {m} objective(s) but {} value(s) were told",
                    eval.values.len()
                ),
            )
            .field("values"));
        }
        if let Some(i) = eval.values.iter().position(|v| !v.is_finite()) {
            return Err(ApiError::bad(
                "values must be finite numbers; tell a trial that could not be evaluated `failed`",
            )
            .field(format!("values[{i}]")));
        }
    }
    blocking(move || {
        let lease = held.lease().take().ok_or_else(|| not_lent(&name, number))?;
        state.leases.take(&name, number);
        let trial = lease
            .tell(outcome)
            .map_err(|e| ApiError::new(StatusCode::CONFLICT, e.to_string()))?;
        Ok(Json(TrialData::from(&trial)))
    })
    .await
}
