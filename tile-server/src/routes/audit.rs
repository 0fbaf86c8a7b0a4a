//! `GET /api/audit?limit=&offset=&format=csv`: the audit trail, newest first, for auditors and
//! admins. For everyone else the route does not exist (404).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use onemap_schemas::authz::can_read_audit;

use super::Caller;
use crate::error::{ServerError, ServerResult};
use crate::state::AppState;

const DEFAULT_LIMIT: i64 = 1000;
const MAX_LIMIT: i64 = 100_000;

pub async fn audit_list(
    State(state): State<AppState>,
    Caller(who): Caller,
    Query(q): Query<HashMap<String, String>>,
) -> ServerResult<Response> {
    if !can_read_audit(&who) {
        return Err(ServerError::NotFound("no such route".to_owned()));
    }
    let count = |name: &str, default: i64| -> ServerResult<i64> {
        match q.get(name) {
            None => Ok(default),
            Some(v) => v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                ServerError::BadRequest(format!("{name} must be a whole number ≥ 0, not {v:?}"))
            }),
        }
    };
    let limit = count("limit", DEFAULT_LIMIT)?.min(MAX_LIMIT);
    let offset = count("offset", 0)?;
    let csv = match q.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ServerError::BadRequest(format!(
                "format must be json or csv, not {other:?}"
            )))
        }
    };
    let conn = state.pool.get().await?;
    let entries = onemap_access::audit::page(&**conn, limit, offset).await?;
    if csv {
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"onemap-audit.csv\"",
                ),
            ],
            onemap_access::audit::to_csv(&entries),
        )
            .into_response());
    }
    Ok(Json(entries).into_response())
}
