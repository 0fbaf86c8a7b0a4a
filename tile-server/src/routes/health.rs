//! `GET /health`: 200 when the database answers, with the tile cache's counters (issue 8).
//! They are totals over every layer: nothing in them names a layer or a tile.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::error::ServerResult;
use crate::state::AppState;

pub async fn health_get(State(state): State<AppState>) -> ServerResult<Json<Value>> {
    let conn = state.pool.get().await?;
    conn.query_one("SELECT 1", &[]).await?;
    drop(conn);
    let memory = state.tiles.memory_cache_stats().await;
    let disk = state.disk_cache_stats();
    Ok(Json(json!({
        "status": "ok",
        "tile_cache": { "memory": memory, "disk": disk },
    })))
}
