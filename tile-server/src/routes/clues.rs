//! The rectification ledger over HTTP: `GET /api/clues` (filters `status`, `department`,
//! `station`, `overdue`, `source`), `GET /api/clues/{id}` (with its history and the steps the
//! caller may take), `POST /api/clues/{id}/transitions` `{"action", …}` and
//! `GET /api/clues/export?format=csv`. The ledger is internal: the public gets 404 on every
//! route; a signed-in user sees the clues of their department (lead or responsible), the
//! coordinating office and admins see all (`authz::can_act_on_clue`, through onemap-ledger).
//! A clue the caller may not see is a 404; a step they may not take a 403; a step the workflow
//! does not allow from the clue's status a 409 with the reason.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use onemap_access::{AccessError, Acting};
use onemap_ledger::{ClueFilter, LedgerError, StepRequest};
use onemap_schemas::authz::Principal;
use serde_json::{json, Value};

use super::{Caller, ClientAddr};
use crate::error::{ServerError, ServerResult};
use crate::state::AppState;

/// The query parameters of the list and the export.
pub(crate) const QUERY: &[&str] = &[
    "status",
    "department",
    "station",
    "overdue",
    "source",
    "format",
];

fn internal(who: &Principal) -> ServerResult<()> {
    match who {
        Principal::Anonymous => Err(ServerError::NotFound("not found".into())),
        _ => Ok(()),
    }
}

fn filter(q: &HashMap<String, String>) -> ServerResult<ClueFilter> {
    let param = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
    let overdue = match param("overdue").as_deref() {
        None => None,
        Some("true" | "1") => Some(true),
        Some("false" | "0") => Some(false),
        Some(other) => {
            return Err(ServerError::BadRequest(format!(
                "overdue must be true or false, not {other:?}"
            )))
        }
    };
    Ok(ClueFilter {
        status: param("status"),
        department: param("department"),
        station: param("station"),
        overdue,
        source: param("source"),
    })
}

fn parse_id(id: &str) -> ServerResult<i64> {
    id.parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| ServerError::BadRequest(format!("a clue id is a number, not {id:?}")))
}

/// `GET /api/clues?status=&department=&station=&overdue=&source=` → `{"clues": [...]}`.
pub async fn clues_list(
    State(state): State<AppState>,
    Caller(who): Caller,
    Query(q): Query<HashMap<String, String>>,
) -> ServerResult<Json<Value>> {
    internal(&who)?;
    let f = filter(&q)?;
    let conn = state.pool.get().await?;
    let clues = onemap_ledger::clues::list(&**conn, &who, &f)
        .await
        .map_err(ledger_error)?;
    Ok(Json(json!({ "count": clues.len(), "clues": clues })))
}

/// `GET /api/clues/export?format=csv` (and the list's filters): the ledger as CSV.
pub async fn clues_export(
    State(state): State<AppState>,
    Caller(who): Caller,
    Query(q): Query<HashMap<String, String>>,
) -> ServerResult<Response> {
    internal(&who)?;
    match q.get("format").map(String::as_str) {
        None | Some("" | "csv") => {}
        Some("xlsx") => {
            return Err(ServerError::BadRequest(
                "XLSX export is not available yet: use format=csv".into(),
            ))
        }
        Some(other) => {
            return Err(ServerError::BadRequest(format!(
                "format must be csv, not {other:?}"
            )))
        }
    }
    let f = filter(&q)?;
    let conn = state.pool.get().await?;
    let clues = onemap_ledger::clues::list(&**conn, &who, &f)
        .await
        .map_err(ledger_error)?;
    let csv = onemap_ledger::clues::export_csv(&clues).map_err(ledger_error)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"clues.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

/// `GET /api/clues/{id}` → the clue, `"history"` and the caller's `"actions"`.
pub async fn clue_get(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ServerResult<Json<Value>> {
    internal(&who)?;
    let id = parse_id(&id)?;
    let conn = state.pool.get().await?;
    let clue = onemap_ledger::clues::get(&**conn, &who, id)
        .await
        .map_err(ledger_error)?;
    let history = onemap_ledger::clues::events(&**conn, id)
        .await
        .map_err(ledger_error)?;
    let actions = clue.actions_for(&who);
    let mut body = serde_json::to_value(&clue).unwrap_or_default();
    body["history"] = json!(history);
    body["actions"] = json!(actions);
    Ok(Json(body))
}

/// `POST /api/clues/{id}/transitions` `{"action", …}` → the clue after the step and the
/// audit entry's `audit_seq`. The body is read only once the caller is known to be signed
/// in, so the public gets 404 whatever it sends.
pub async fn clue_transition(
    State(state): State<AppState>,
    Caller(who): Caller,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
    body: Bytes,
) -> ServerResult<Response> {
    internal(&who)?;
    let id = parse_id(&id)?;
    let req: StepRequest = serde_json::from_slice(&body)
        .map_err(|e| ServerError::BadRequest(format!("a step is {{\"action\", …}}: {e}")))?;
    // A step writes: through the write pool (the read pool may only SELECT).
    let mut conn = state.writer.get().await?;
    match onemap_ledger::clues::step(&mut conn, &Acting::new(who, from), id, &req).await {
        Ok((clue, seq)) => Ok(Json(json!({ "clue": clue, "audit_seq": seq })).into_response()),
        Err(LedgerError::Refused(r)) => Ok((
            StatusCode::CONFLICT,
            Json(json!({ "error": r.to_string(), "status": r.from.as_str() })),
        )
            .into_response()),
        Err(e) => Err(ledger_error(e)),
    }
}

fn ledger_error(e: LedgerError) -> ServerError {
    match e {
        LedgerError::Invalid(m) => ServerError::BadRequest(m),
        LedgerError::NotFound(m) => ServerError::NotFound(m),
        LedgerError::Forbidden(m) => ServerError::Access(AccessError::Forbidden(m)),
        LedgerError::Refused(r) => ServerError::BadRequest(r.to_string()),
        LedgerError::Access(a) => ServerError::Access(a),
        LedgerError::Postgres { context, source } => {
            tracing::error!(context, "ledger query failed");
            ServerError::Postgres(source)
        }
        other => ServerError::BadRequest(other.to_string()),
    }
}
