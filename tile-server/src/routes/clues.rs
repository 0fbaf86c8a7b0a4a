//! The rectification ledger over HTTP: `GET /api/clues` (filters `status`, `department`,
//! `station`, `overdue`, `source`), `GET /api/clues/{id}` (with its history and the steps the
//! caller may take), `POST /api/clues/{id}/transitions` `{"action", …}` and
//! `GET /api/clues/export?format=csv|xlsx`, `GET /api/clues/summary?period=2026H1&format=json|csv|xlsx`
//! (half-year and annual summaries), `GET`/`PUT /api/clues/rules` (the suggested-department
//! rules: everyone signed in reads them, the coordinating office's editors and admins change
//! them), `POST /api/clues/{id}/photos` (multipart `photo`, optional `caption`: editors who
//! may work on the clue) and `GET /api/clues/{id}/photos/{photo}` (who may see the clue). The
//! ledger is internal: the public gets 404 on every
//! route; a signed-in user sees the clues of their department (lead or responsible), the
//! coordinating office and admins see all (`authz::can_act_on_clue`, through onemap-ledger).
//! A clue the caller may not see is a 404; a step they may not take a 403; a step the workflow
//! does not allow from the clue's status a 409 with the reason.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use onemap_access::{AccessError, Acting};
use onemap_ledger::{ClueFilter, LedgerError, StepRequest};
use onemap_schemas::authz::Principal;
use serde_json::{json, Value};

use super::{Caller, ClientAddr, Guard, Route, RouteInfo};
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
    ClientAddr(from): ClientAddr,
    Query(q): Query<HashMap<String, String>>,
) -> ServerResult<Response> {
    internal(&who)?;
    let xlsx = match q.get("format").map(String::as_str) {
        None | Some("" | "csv") => false,
        Some("xlsx") => true,
        Some(other) => {
            return Err(ServerError::BadRequest(format!(
                "format must be csv or xlsx, not {other:?}"
            )))
        }
    };
    let f = filter(&q)?;
    let conn = state.pool.get().await?;
    let clues = onemap_ledger::clues::list(&**conn, &who, &f)
        .await
        .map_err(ledger_error)?;
    let mut filters: serde_json::Map<String, Value> = q
        .iter()
        .filter(|(k, _)| k.as_str() != "format")
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    filters.insert("rows".into(), json!(clues.len()));
    let kind = if xlsx { "clues.xlsx" } else { "clues.csv" };
    super::audit::record_export(&state, &who, from, kind, None, Value::Object(filters)).await?;
    if xlsx {
        let bytes = onemap_ledger::clues::export_xlsx(&clues).map_err(ledger_error)?;
        Ok(download(bytes, "clues.xlsx"))
    } else {
        let csv = onemap_ledger::clues::export_csv(&clues).map_err(ledger_error)?;
        Ok(download(csv, "clues.csv"))
    }
}

const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A file to save: CSV or XLSX by `name`'s extension.
fn download(bytes: Vec<u8>, name: &str) -> Response {
    let kind = if name.ends_with(".xlsx") {
        XLSX_TYPE
    } else {
        "text/csv; charset=utf-8"
    };
    // `name` is ours (ASCII letters, digits, `-`, `.`), never the client's.
    let disposition = format!("attachment; filename=\"{name}\"");
    (
        [
            (header::CONTENT_TYPE, kind.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

/// The query parameters of the summary.
pub(crate) const SUMMARY_QUERY: &[&str] = &["period", "format"];

/// `GET /api/clues/summary?period=2026H1|2026H2|2026&format=json|csv|xlsx` (default: this
/// year, JSON): counts and areas of the clues detected in the period that the caller may see,
/// by zone, activity, status and lead department.
pub async fn clues_summary(
    State(state): State<AppState>,
    Caller(who): Caller,
    ClientAddr(from): ClientAddr,
    Query(q): Query<HashMap<String, String>>,
) -> ServerResult<Response> {
    internal(&who)?;
    let period = match q.get("period").filter(|p| !p.is_empty()) {
        Some(p) => p.clone(),
        None => {
            let conn = state.pool.get().await?;
            let year: i32 = conn
                .query_one("SELECT extract(year FROM current_date)::int", &[])
                .await?
                .get(0);
            year.to_string()
        }
    };
    let period = onemap_ledger::summary::Period::parse(&period).map_err(ledger_error)?;
    let format = q.get("format").map(String::as_str).unwrap_or("json");
    if !matches!(format, "" | "json" | "csv" | "xlsx") {
        return Err(ServerError::BadRequest(format!(
            "format must be json, csv or xlsx, not {format:?}"
        )));
    }
    let conn = state.pool.get().await?;
    let summary = onemap_ledger::summary::summary(&**conn, &who, &period)
        .await
        .map_err(ledger_error)?;
    let name = format!("clues-summary-{}", period.name);
    if matches!(format, "csv" | "xlsx") {
        let kind = format!("clues_summary.{format}");
        let details = json!({ "period": period.name });
        super::audit::record_export(&state, &who, from, &kind, None, details).await?;
    }
    Ok(match format {
        "csv" => download(
            summary.to_csv().map_err(ledger_error)?,
            &format!("{name}.csv"),
        ),
        "xlsx" => download(
            summary.to_xlsx().map_err(ledger_error)?,
            &format!("{name}.xlsx"),
        ),
        _ => Json(summary).into_response(),
    })
}

/// `GET /api/clues/rules` → `{"rules": [...], "editable": bool}`.
pub async fn clue_rules_get(
    State(state): State<AppState>,
    Caller(who): Caller,
) -> ServerResult<Json<Value>> {
    internal(&who)?;
    let conn = state.pool.get().await?;
    let rules = onemap_ledger::rules::list(&**conn)
        .await
        .map_err(ledger_error)?;
    Ok(Json(json!({
        "rules": rules,
        "editable": onemap_ledger::rules::can_edit(&who),
    })))
}

/// `PUT /api/clues/rules` `{"rules": [...]}`: replaces the table (ids ignored), audited; the
/// pending clues are re-assigned. 404 for the public, 403 unless an editor of the
/// coordinating office or an admin (checked before the body is read).
pub async fn clue_rules_put(
    State(state): State<AppState>,
    Caller(who): Caller,
    ClientAddr(from): ClientAddr,
    body: Bytes,
) -> ServerResult<Json<Value>> {
    internal(&who)?;
    if !onemap_ledger::rules::can_edit(&who) {
        return Err(ServerError::Access(AccessError::Forbidden(format!(
            "only editors of the coordinating office ({}) and admins change the assignment rules",
            onemap_schemas::authz::COORDINATING_OFFICE
        ))));
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        rules: Vec<onemap_ledger::rules::Rule>,
    }
    let body: Body = serde_json::from_slice(&body)
        .map_err(|e| ServerError::BadRequest(format!("the rules are {{\"rules\": [...]}}: {e}")))?;
    let mut conn = state.writer.get().await?;
    let change = onemap_ledger::rules::replace(&mut conn, &Acting::new(who, from), &body.rules)
        .await
        .map_err(ledger_error)?;
    Ok(Json(json!(change)))
}

/// The photo upload route: axum's 2 MB body limit raised to the photo limit (and a little for
/// the form around it).
pub(super) fn photos_route() -> Route {
    let limit = onemap_ledger::photos::MAX_PHOTO_BYTES + (64 << 10);
    Route {
        info: RouteInfo {
            method: Method::POST,
            path: "/api/clues/{id}/photos",
            guard: Guard::Clues,
            query: &[],
        },
        handler: axum::routing::post(clue_photos_post).layer(DefaultBodyLimit::max(limit)),
    }
}

/// Where the photos of the ledger are kept: under the server's data folder (the uploads
/// folder's `clue-photos/`).
fn photo_dir(state: &AppState) -> std::path::PathBuf {
    state.uploads.dir.join("clue-photos")
}

/// `POST /api/clues/{id}/photos` (multipart: `photo` the file, `caption` optional) → 201 with
/// the photo. Who may not see the clue gets 404, who may not work on it 403, both before the
/// body is read.
pub async fn clue_photos_post(
    State(state): State<AppState>,
    Caller(who): Caller,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
    request: Request,
) -> ServerResult<Response> {
    internal(&who)?;
    let id = parse_id(&id)?;
    {
        let conn = state.pool.get().await?;
        onemap_ledger::photos::authorize_upload(&**conn, &who, id)
            .await
            .map_err(ledger_error)?;
    }
    let mut form = Multipart::from_request(request, &state)
        .await
        .map_err(|e| ServerError::BadRequest(format!("a photo is a multipart form: {e}")))?;
    let (mut photo, mut caption) = (None, String::new());
    let too_large = || {
        ServerError::BadRequest(format!(
            "the photo is larger than {} bytes",
            onemap_ledger::photos::MAX_PHOTO_BYTES
        ))
    };
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| ServerError::BadRequest(format!("reading the form: {e}")))?
    {
        match field.name() {
            Some("photo") => {
                photo = Some(field.bytes().await.map_err(|_| too_large())?);
            }
            Some("caption") => {
                caption = field
                    .text()
                    .await
                    .map_err(|e| ServerError::BadRequest(format!("reading the caption: {e}")))?;
            }
            _ => {}
        }
    }
    let photo =
        photo.ok_or_else(|| ServerError::BadRequest("the form has no `photo` part".into()))?;
    let mut conn = state.writer.get().await?;
    let p = onemap_ledger::photos::add(
        &mut conn,
        &Acting::new(who, from),
        &photo_dir(&state),
        id,
        &photo,
        &caption,
    )
    .await
    .map_err(ledger_error)?;
    Ok((StatusCode::CREATED, Json(json!(p))).into_response())
}

/// `GET /api/clues/{id}/photos/{photo}`: the image, for whoever may see the clue (404 for
/// everyone else).
pub async fn clue_photo_get(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((id, photo)): Path<(String, String)>,
) -> ServerResult<Response> {
    internal(&who)?;
    let id = parse_id(&id)?;
    let photo = parse_id(&photo)?;
    let conn = state.pool.get().await?;
    let (p, bytes) = onemap_ledger::photos::open(&**conn, &who, &photo_dir(&state), id, photo)
        .await
        .map_err(ledger_error)?;
    Ok((
        [
            (header::CONTENT_TYPE, p.media_type),
            (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{}\"", p.sha256),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /api/clues/{id}` → the clue, `"history"`, `"photos"` and the caller's `"actions"`.
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
    let photos = onemap_ledger::photos::list(&**conn, id)
        .await
        .map_err(ledger_error)?;
    let actions = clue.actions_for(&who);
    let mut body = serde_json::to_value(&clue).unwrap_or_default();
    body["history"] = json!(history);
    body["photos"] = json!(photos);
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
