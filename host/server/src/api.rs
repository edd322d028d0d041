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
    Component, Direction, Error as EngineError, Evaluation, Params, PrunerSetup, Settings,
    SharedStudy, Space, StudyConfig, TrialError, Value,
};
use hyperplug_schema::TrialData;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{ApiError, Body};
use crate::leases::Lent;

type AppState = Arc<crate::State>;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/api/studies", get(list).post(create))
        .route("/api/studies/{name}", get(study))
        .route("/api/studies/{name}/ask", post(ask))
        .route("/api/studies/{name}/enqueue", post(enqueue))
        .route("/api/studies/{name}/trials/{number}/suggest", post(suggest))
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
    /// The parameters; left out (or `define_by_run`), the client suggests them trial by trial.
    #[serde(default)]
    space: Option<IndexMap<String, serde_json::Value>>,
    #[serde(default)]
    define_by_run: Option<bool>,
    #[serde(default)]
    pruner: Option<PrunerBody>,
    #[serde(default)]
    direction: Option<Direction>,
    #[serde(default)]
    directions: Option<Vec<Direction>>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    trials: Option<u64>,
}

/// A pruner in the create body, as a study file's `[pruner]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrunerBody {
    name: String,
    #[serde(default)]
    library: Option<String>,
    #[serde(default)]
    settings: Settings,
}

/// The pruner `body` as the engine takes it, once the registry knows it and its settings
/// suit `directions`: checked here so that the refusal names `pruner`, and before the study
/// is stored.
fn pruner_of(
    state: &crate::State,
    body: PrunerBody,
    directions: &[Direction],
    seed: u64,
) -> Result<Component, ApiError> {
    let refused = |m: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m);
    let entry = state
        .registry
        .find_pruner(&body.name, body.library.as_deref())
        .map_err(|m| {
            let field = if body.library.is_some() {
                "pruner.library"
            } else {
                "pruner.name"
            };
            refused(m).field(field)
        })?;
    entry
        .factory
        .create(&PrunerSetup {
            directions,
            seed,
            settings: &body.settings,
        })
        .map_err(|e| {
            refused(format!("cannot use pruner `{}`: {e}", body.name)).field("pruner.settings")
        })?;
    Ok(Component {
        name: body.name,
        library: body.library,
        settings: body.settings,
    })
}

async fn create(
    State(state): State<AppState>,
    Body(req): Body<CreateStudy>,
) -> Result<impl IntoResponse, ApiError> {
    if req.name.trim().is_empty() {
        return Err(ApiError::bad("give the study a name of 1 to 200 bytes").field("name"));
    }
    hyperplug_engine::config::check_study_name(&req.name)
        .map_err(|m| ApiError::bad(m).field("name"))?;
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
    let define_by_run = match (req.define_by_run, &req.space) {
        (Some(false), None) => {
            return Err(ApiError::bad(
                "a study with a fixed space needs its `space`; leave `space` out (or send `\"define_by_run\": true`) to suggest the parameters trial by trial",
            )
            .field("space"));
        }
        (Some(d), _) => d,
        (None, space) => space.is_none(),
    };
    let seed = req.seed.unwrap_or(0);
    let pruner = req
        .pruner
        .map(|p| pruner_of(&state, p, &directions, seed))
        .transpose()?;
    let given = req.space.unwrap_or_default();
    let mut entries = Vec::with_capacity(given.len());
    for (name, spec) in given {
        let spec = toml::Value::try_from(&spec).map_err(|e| {
            ApiError::bad(format!("space.{name}: not a parameter's table: {e}"))
                .field(format!("space.{name}"))
        })?;
        entries.push((name, spec));
    }
    let names: Vec<String> = entries.iter().map(|(n, _)| n.clone()).collect();
    let space = if entries.is_empty() {
        Space::empty()
    } else {
        hyperplug_engine::config::space_of(entries).map_err(|m| {
            // The engine's message names the entry (`space.x: ...`) or the parameter (`x`).
            let field = names
                .iter()
                .find(|n| m.starts_with(&format!("space.{n}:")) || m.contains(&format!("`{n}`")))
                .map_or_else(|| "space".to_owned(), |n| format!("space.{n}"));
            ApiError::bad(m).field(field)
        })?
    };
    if space.is_empty() && !define_by_run {
        return Err(ApiError::bad(
            "a study with a fixed space needs at least one parameter in `space`; leave `space` out to suggest them trial by trial",
        )
        .field("space"));
    }
    let config = StudyConfig::new(&req.name, space, directions);
    // Without a seed, a stored study keeps its own; a new one gets 0.
    let mut config = match req.seed {
        Some(chosen) => config.seed(chosen),
        None => config.proposed_seed(seed),
    };
    config.define_by_run = define_by_run;
    let s = state.clone();
    let name = req.name.clone();
    let shown = pruner.as_ref().map(|p| {
        json!({
            "name": p.name, "library": p.library, "settings": p.settings,
        })
    });
    let study = blocking(move || {
        SharedStudy::create(
            &s.config.storage,
            config,
            &req.strategy,
            req.library.as_deref(),
            &req.settings,
            pruner.as_ref(),
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
            "define_by_run": s.config().define_by_run,
            "pruner": shown,
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
    /// `true` when the client suggests the trial's parameters itself (`.../suggest`).
    #[serde(skip_serializing_if = "Option::is_none")]
    define_by_run: Option<bool>,
}

async fn ask(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Asked>, ApiError> {
    let study = shared(&state, &name).await?;
    let s = state.clone();
    blocking(move || {
        let refused =
            |e: EngineError| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string());
        let define_by_run = study.with(|s| s.config().define_by_run);
        let lease = if define_by_run {
            study
                .ask_open()
                .map_err(refused)?
                .map(|l| (l.number(), Lent::Open(l)))
        } else {
            study
                .ask()
                .map_err(refused)?
                .map(|l| (l.number(), Lent::Fixed(l)))
        };
        Ok(Json(match lease {
            None => Asked {
                done: true,
                number: None,
                params: None,
                define_by_run: None,
            },
            Some((number, lease)) => {
                let asked = Asked {
                    done: false,
                    number: Some(number),
                    params: Some(lease.params()),
                    define_by_run: Some(define_by_run),
                };
                s.leases.insert(&name, number, study, lease);
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
        let (space, define_by_run) =
            study.with(|s| (s.config().space.clone(), s.config().define_by_run));
        let params = if define_by_run {
            // Names the space does not know yet are kept for the code to suggest.
            let params: Params = serde_json::from_value(serde_json::Value::Object(req.params))
                .map_err(|e| {
                    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("params: {e}"))
                        .field("params")
                })?;
            vec![params]
        } else {
            let text = serde_json::Value::Object(req.params).to_string();
            hyperplug_engine::studies::parse_params(&space, &[text], &[]).map_err(|e| {
                ApiError::engine(StatusCode::UNPROCESSABLE_ENTITY, &e).field("params")
            })?
        };
        for p in &params {
            study.enqueue(p).map_err(|e| {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).field("params")
            })?;
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

/// `POST .../trials/{n}/suggest`: `{"name": "lr", "float": [1e-5, 0.1], "log": true}`, a
/// parameter in the shape of one `space` entry, plus its name.
async fn suggest(
    State(state): State<AppState>,
    Path((name, number)): Path<(String, String)>,
    Body(mut req): Body<serde_json::Map<String, serde_json::Value>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let number = number_of(&number)?;
    let param = match req.remove("name") {
        Some(serde_json::Value::String(p)) if !p.trim().is_empty() && p.len() <= 200 => p,
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "`name` must be the parameter's name, a string of 1 to 200 bytes",
            )
            .field("name"));
        }
        None => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "give the parameter's `name` beside its distribution, e.g. {\"name\": \"lr\", \"float\": [1e-5, 0.1], \"log\": true}",
            )
            .field("name"));
        }
    };
    for (key, why) in [
        (
            "when",
            "a define-by-run parameter is conditional by your code's own branches: suggest it only where it applies",
        ),
        (
            "repeat",
            "layer blocks belong to a fixed `space`; suggest the layer count and each layer's parameters by name",
        ),
        (
            "nodes",
            "cells belong to a fixed `space`; suggest each choice by name",
        ),
    ] {
        if req.contains_key(key) {
            return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, why).field(key));
        }
    }
    // A bad distribution names the key the engine's message names (`in `log``), else the
    // distribution's own (`float`, `int`, `choice`).
    let field_of = |message: &str| {
        req.keys()
            .find(|k| message.contains(&format!("`{k}`")))
            .or_else(|| {
                req.keys()
                    .find(|k| ["float", "int", "choice"].contains(&k.as_str()))
            })
            .or_else(|| req.keys().next())
            .cloned()
            .unwrap_or_else(|| "name".into())
    };
    let spec = toml::Value::try_from(&req).map_err(|e| {
        let m = format!("not a parameter's distribution: {e}");
        let field = field_of(&m);
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m).field(field)
    })?;
    let space = hyperplug_engine::config::space_of([(param.clone(), spec)]).map_err(|m| {
        let field = field_of(&m);
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m).field(field)
    })?;
    let field = field_of("");
    let domain = match space.params() {
        [p] => p.domain.clone(),
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "suggest one parameter per request",
            )
            .field(field));
        }
    };
    let held = state
        .leases
        .touch(&name, number)
        .ok_or_else(|| not_lent(&name, number))?;
    blocking(move || {
        // Another trial may have added the name since this one was asked: refused now rather
        // than when this trial is told.
        if let Some(known) = held.study.space().get(&param)
            && known.domain != domain
        {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "parameter `{param}` is {} in this study, and this request suggests it as {}; a name keeps one distribution for the whole study, so give the new one another name",
                    known.domain.describe(),
                    domain.describe()
                ),
            )
            .field("name"));
        }
        let mut lease = held.lease();
        let lease = lease.as_mut().ok_or_else(|| not_lent(&name, number))?;
        let Some(open) = lease.open() else {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "study `{name}` has a fixed space: ask gave trial {number} every parameter; create a study without `space` to suggest parameters trial by trial"
                ),
            )
            .field("name"));
        };
        let value = open.suggest(&param, domain).map_err(|e| match e {
            EngineError::NotRunning(_) => not_lent(&name, number),
            e => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).field("name"),
        })?;
        Ok(Json(json!({ "name": param, "value": value })))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    step: u64,
    /// The intermediate value of a study with one objective.
    value: Option<f64>,
    /// One intermediate value per objective, for a study with several.
    values: Option<Vec<f64>>,
}

async fn report(
    State(state): State<AppState>,
    Path((name, number)): Path<(String, String)>,
    Body(req): Body<Report>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let number = number_of(&number)?;
    let (values, field) = match (req.value, req.values) {
        (Some(v), None) => (vec![v], "value"),
        (None, Some(vs)) if !vs.is_empty() => (vs, "values"),
        _ => {
            return Err(ApiError::bad(
                "give `value` (one objective) or `values` (one number per objective), not both",
            )
            .field("value"));
        }
    };
    if values.iter().any(|v| !v.is_finite()) {
        return Err(ApiError::bad("an intermediate value must be a finite number").field(field));
    }
    let held = state
        .leases
        .touch(&name, number)
        .ok_or_else(|| not_lent(&name, number))?;
    blocking(move || {
        let mut lease = held.lease();
        let lease = lease.as_mut().ok_or_else(|| not_lent(&name, number))?;
        // One value goes the single-objective way inside the engine (`report_values` of one).
        let prune = lease.report_values(req.step, &values).map_err(|e| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).field(field)
        })?;
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
        lease
            .set_user_attr(k, v)
            .map_err(|_| not_lent(&name, number))?;
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
        let m = held.study.with(|s| s.config().directions.len());
        if eval.values.len() != m {
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
