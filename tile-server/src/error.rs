//! The one error type of the server, mapped to HTTP once: 4xx carry a JSON message for the
//! client, 5xx carry a generic message and the cause goes to the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use onemap_access::AccessError;
use serde_json::json;

/// What a request can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    /// Missing, malformed, unknown or revoked credentials (401).
    #[error("{0}")]
    Unauthorized(String),
    #[error(transparent)]
    Access(#[from] onemap_access::AccessError),
    #[error(transparent)]
    Schema(#[from] onemap_schemas::SchemaError),
    #[error("database: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("tiles: {0}")]
    Tiles(#[from] martin_core::tiles::MartinCoreError),
    #[error("database pool: {0}")]
    Pool(#[from] martin_core::tiles::postgres::PostgresError),
    /// Too many failed logins from this address or for this name (429 with `Retry-After`).
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    /// A cookie-authenticated unsafe request without the session's CSRF token (403).
    #[error("{0}")]
    Csrf(String),
    /// Building or caching a tile failed (the cause, shared by every request that waited).
    #[error("tiles: {0}")]
    Tile(String),
}

/// Result with [`ServerError`].
pub type ServerResult<T> = Result<T, ServerError>;

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            Self::NotFound(m) => (StatusCode::NOT_FOUND, m.clone()),
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            Self::Unauthorized(m) => {
                let body = Json(json!({ "error": m }));
                return (
                    StatusCode::UNAUTHORIZED,
                    [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
                    body,
                )
                    .into_response();
            }
            Self::TooManyRequests {
                message,
                retry_after_secs,
            } => {
                let body = Json(json!({ "error": message, "retry_after": retry_after_secs }));
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(
                        axum::http::header::RETRY_AFTER,
                        retry_after_secs.to_string(),
                    )],
                    body,
                )
                    .into_response();
            }
            Self::Csrf(m) => (StatusCode::FORBIDDEN, m.clone()),
            Self::Access(AccessError::NotFound(m)) => (StatusCode::NOT_FOUND, m.clone()),
            Self::Access(AccessError::Forbidden(m)) => (StatusCode::FORBIDDEN, m.clone()),
            Self::Access(AccessError::Invalid(m)) => (StatusCode::BAD_REQUEST, m.clone()),
            Self::Access(e @ AccessError::BadCredentials) => {
                let body = Json(json!({ "error": e.to_string() }));
                return (
                    StatusCode::UNAUTHORIZED,
                    [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
                    body,
                )
                    .into_response();
            }
            _ => {
                tracing::error!(error = %self, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; the server log has the cause".to_owned(),
                )
            }
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}
