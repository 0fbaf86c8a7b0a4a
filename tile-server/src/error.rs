//! The one error type of the server, mapped to HTTP once: 4xx carry a JSON message for the
//! client, 5xx carry a generic message and the cause goes to the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// What a request can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Schema(#[from] onemap_schemas::SchemaError),
    #[error("database: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("tiles: {0}")]
    Tiles(#[from] martin_core::tiles::MartinCoreError),
    #[error("database pool: {0}")]
    Pool(#[from] martin_core::tiles::postgres::PostgresError),
}

/// Result with [`ServerError`].
pub type ServerResult<T> = Result<T, ServerError>;

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            Self::NotFound(m) => (StatusCode::NOT_FOUND, m.clone()),
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
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
