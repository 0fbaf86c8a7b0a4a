//! `GET /health`: 200 when the database answers.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::error::ServerResult;
use crate::state::AppState;

pub async fn health_get(State(state): State<AppState>) -> ServerResult<Json<Value>> {
    let conn = state.pool.get().await?;
    conn.query_one("SELECT 1", &[]).await?;
    Ok(Json(json!({ "status": "ok" })))
}
