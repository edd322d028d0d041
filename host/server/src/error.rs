//! The one error shape of the API: a status and `{"error": message, "field": path}`.

use axum::Json;
use axum::extract::FromRequest;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::json;

/// A request that cannot be served, and why.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// The body's field at fault (`space.lr.float`, `values[0]`), when one is.
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            field: None,
        }
    }

    pub fn bad(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// An engine or store error: the client's fault when it is about the request's content,
    /// which the engine reports as plain errors; shown whole (`{:#}`) either way.
    pub fn engine(status: StatusCode, e: &anyhow::Error) -> Self {
        ApiError::new(status, format!("{e:#}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.message });
        if let Some(f) = self.field {
            body["field"] = json!(f);
        }
        (self.status, Json(body)).into_response()
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the request's work stopped: {e}"),
        )
    }
}

/// A JSON body whose errors name the field at fault (axum's own `Json` says only where in
/// the text); unknown fields are refused by the types themselves (`deny_unknown_fields`).
pub(crate) struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let json_type = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
        if !json_type {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(
                match serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
                    Err(e) => ApiError::bad(format!("the body is not JSON: {e}")),
                    Ok(_) => ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid request body: send a JSON object",
                    ),
                },
            );
        }
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let mut err = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("invalid request body: {inner}"),
            );
            if inner.is_syntax() || inner.is_eof() {
                err.status = StatusCode::BAD_REQUEST;
                err.message = format!("the body is not JSON: {inner}");
            } else {
                let field = match (missing_field(&inner.to_string()), path == ".") {
                    (Some(name), true) => Some(name),
                    (Some(name), false) if path == name || path.ends_with(&format!(".{name}")) => {
                        Some(path)
                    }
                    (Some(name), false) => Some(format!("{path}.{name}")),
                    (None, false) => Some(path),
                    (None, true) => None,
                };
                err.field = field;
            }
            err
        })?;
        Ok(Body(value))
    }
}

/// The field a `missing field `x`` or `unknown field `x`` error names (serde reports both at
/// the enclosing path).
fn missing_field(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("missing field `")
        .or_else(|| message.strip_prefix("unknown field `"))?;
    Some(rest.split('`').next()?.to_owned())
}

/// Any path no route serves.
pub(crate) async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "nothing at {}; the API is described at /openapi.json",
            uri.path()
        ),
    )
}
