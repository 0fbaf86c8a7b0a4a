//! `GET /api/audit?limit=&offset=&format=csv`: the audit trail, newest first, for auditors and
//! admins. For everyone else the route does not exist (404). A CSV export is itself audited
//! (`export.audit.csv`), as every export is: [`record_export`].

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use onemap_schemas::authz::{can_read_audit, Principal};
use serde_json::{json, Value};

use super::{Caller, ClientAddr};
use crate::error::{ServerError, ServerResult};
use crate::state::AppState;

const DEFAULT_LIMIT: i64 = 1000;
const MAX_LIMIT: i64 = 100_000;

pub async fn audit_list(
    State(state): State<AppState>,
    Caller(who): Caller,
    ClientAddr(from): ClientAddr,
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
    drop(conn);
    if csv {
        record_export(
            &state,
            &who,
            from,
            "audit.csv",
            None,
            json!({ "rows": entries.len(), "limit": limit, "offset": offset }),
        )
        .await?;
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

/// Appends `export.KIND` (e.g. `export.audit.csv`, `export.clues.xlsx`) to the audit trail
/// with the caller, their address, `target` (the layer, when there is one) and `details`
/// (the filters, the row count), through the write pool. Every route that hands out data as a
/// file calls it before answering: if the entry cannot be written, the export fails.
pub(crate) async fn record_export(
    state: &AppState,
    who: &Principal,
    from: Option<String>,
    kind: &str,
    target: Option<&str>,
    details: Value,
) -> ServerResult<()> {
    let mut conn = state.writer.get().await?;
    onemap_access::audit::record(
        &mut conn,
        &onemap_access::Acting::new(who.clone(), from),
        &format!("export.{kind}"),
        target,
        &details,
    )
    .await?;
    Ok(())
}
