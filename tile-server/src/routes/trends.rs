//! `GET /api/trends/area` and `GET /api/trends/transitions`: area of each land class per survey
//! year, and the transition matrix between two years, inside a zone (`zone_layer=ID&zone=KEY`,
//! KEY a feature's fid or name; no zone: the whole extent). Both the land-use layer and the
//! zone layer are reached through the catalog's `layer(who, id)`: a layer the caller may not
//! see is a 404, like one that does not exist. `GET /api/changes` lists the change parcels
//! between two years in the zone, as GeoJSON, CSV or a GeoPackage, each placed in its reserve
//! zone, station jurisdiction and village (the layers `reserve_zones`, `station_jurisdictions`
//! and `villages`, each left out when the caller cannot see it).
//!
//! `POST` on the same three paths, with the same query parameters, asks the same question of an
//! ad-hoc zone sent as the body: a GeoJSON Polygon or MultiPolygon, a Feature or a
//! FeatureCollection of them (unioned), EPSG:4326 longitude/latitude (or EPSG:4490 named by a
//! `crs` member); at most 1 MiB and 20 000 vertices; invalid polygons are repaired (the reason in
//! `X-Onemap-Zone-Repaired`), malformed ones refused with a 400 naming the place of the fault.
//! These are reads: the layers are authorized before the body is read, and a cookie session
//! needs its CSRF header like any POST.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use deadpool_postgres::Object;
use martin_core::tiles::postgres::PostgresPool;
use onemap_schemas::authz::Principal;
use onemap_schemas::catalog::Catalog;
use onemap_trends::gpkg::GpkgSrs;
use onemap_trends::{
    AdHocZone, ChangeParcels, ChangesOptions, Level, Places, TrendQuery, TrendsError,
};

use super::{parse_year, Caller, ClientAddr};
use crate::error::{ServerError, ServerResult};
use crate::state::AppState;

/// The query parameters both routes read.
pub(crate) const QUERY: &[&str] = &[
    "layer",
    "zone_layer",
    "zone",
    "from",
    "to",
    "level",
    "format",
];

pub async fn trends_area(
    State(state): State<AppState>,
    Caller(who): Caller,
    ClientAddr(from): ClientAddr,
    Query(q): Query<HashMap<String, String>>,
) -> ServerResult<Response> {
    let catalog = state.catalog.get();
    let query = trend_query(&catalog, &who, &q)?;
    let csv = wants_csv(&q)?;
    // Precomputes missing trend figures (derived tables): through the write pool.
    let mut conn = state.writer.get().await?;
    let series = onemap_trends::area_series(&mut conn, &query)
        .await
        .map_err(server_error)?;
    let csv = csv.then(|| (series.to_csv(), series.series.len()));
    trend_answer(
        &state,
        &who,
        from,
        "trends_area.csv",
        &query,
        &series,
        csv,
        None,
    )
    .await
}

/// `POST /api/trends/area`: the area series of the ad-hoc zone in the body.
pub async fn trends_area_post(
    State(state): State<AppState>,
    Caller(who): Caller,
    ClientAddr(from): ClientAddr,
    Query(q): Query<HashMap<String, String>>,
    body: Body,
) -> ServerResult<Response> {
    let catalog = state.catalog.get();
    let query = trend_query(&catalog, &who, &q)?;
    let csv = wants_csv(&q)?;
    // Only reads: the parcels of each year clipped to the zone.
    let (mut conn, zone) = match adhoc_zone(body, &state.pool).await? {
        Ok(found) => found,
        Err(refused) => return Ok(refused),
    };
    let series = onemap_trends::area_series_in(&mut conn, &query, &zone)
        .await
        .map_err(server_error)?;
    let csv = csv.then(|| (series.to_csv(), series.series.len()));
    trend_answer(
        &state,
        &who,
        from,
        "trends_area.csv",
        &query,
        &series,
        csv,
        Some(&zone),
    )
    .await
}

/// A trend figure as JSON, or as CSV (`csv`: the text and its row count), which is a file
/// export and so recorded in the audit trail first; an ad-hoc zone's area and repair go in
/// headers.
#[allow(clippy::too_many_arguments)]
async fn trend_answer(
    state: &AppState,
    who: &Principal,
    from: Option<String>,
    kind: &str,
    query: &TrendQuery<'_>,
    figures: &impl serde::Serialize,
    csv: Option<(String, usize)>,
    zone: Option<&AdHocZone>,
) -> ServerResult<Response> {
    let response = match csv {
        Some((text, rows)) => {
            audit_file(state, who, from, kind, query, rows, zone.is_some()).await?;
            csv_response(text)
        }
        None => Json(figures).into_response(),
    };
    Ok(match zone {
        Some(zone) => with_zone_headers(response, zone),
        None => response,
    })
}

pub async fn trends_transitions(
    State(state): State<AppState>,
    Caller(who): Caller,
    ClientAddr(from): ClientAddr,
    Query(q): Query<HashMap<String, String>>,
) -> ServerResult<Response> {
    let catalog = state.catalog.get();
    let query = trend_query(&catalog, &who, &q)?;
    let csv = wants_csv(&q)?;
    // Precomputes missing trend figures (derived tables): through the write pool.
    let mut conn = state.writer.get().await?;
    let matrix = onemap_trends::transitions(&mut conn, &query)
        .await
        .map_err(server_error)?;
    let csv = csv.then(|| (matrix.to_csv(), matrix.cells.len()));
    let kind = "trends_transitions.csv";
    trend_answer(&state, &who, from, kind, &query, &matrix, csv, None).await
}

/// `POST /api/trends/transitions`: the transition matrix of the ad-hoc zone in the body.
pub async fn trends_transitions_post(
    State(state): State<AppState>,
    Caller(who): Caller,
    ClientAddr(from): ClientAddr,
    Query(q): Query<HashMap<String, String>>,
    body: Body,
) -> ServerResult<Response> {
    let catalog = state.catalog.get();
    let query = trend_query(&catalog, &who, &q)?;
    let csv = wants_csv(&q)?;
    // May compute the two years' change parcels once (derived tables): the write pool.
    let (mut conn, zone) = match adhoc_zone(body, &state.writer).await? {
        Ok(found) => found,
        Err(refused) => return Ok(refused),
    };
    let matrix = onemap_trends::transitions_in(&mut conn, &query, &zone)
        .await
        .map_err(server_error)?;
    let csv = csv.then(|| (matrix.to_csv(), matrix.cells.len()));
    let kind = "trends_transitions.csv";
    trend_answer(&state, &who, from, kind, &query, &matrix, csv, Some(&zone)).await
}

pub async fn changes_list(
    State(state): State<AppState>,
    Caller(who): Caller,
    ClientAddr(from): ClientAddr,
    Query(q): Query<HashMap<String, String>>,
) -> ServerResult<Response> {
    let catalog = state.catalog.get();
    let query = trend_query(&catalog, &who, &q)?;
    let format = changes_format(&q)?;
    // Precomputes missing trend figures (derived tables): through the write pool.
    let mut conn = state.writer.get().await?;
    let options = ChangesOptions {
        adhoc: None,
        places: Places::visible_to(&catalog, &who),
        wkb: format == ChangesFormat::Gpkg,
    };
    let changes = onemap_trends::changes_with(&mut conn, &query, &options)
        .await
        .map_err(server_error)?;
    if let Some(kind) = format.file_kind() {
        audit_file(
            &state,
            &who,
            from,
            kind,
            &query,
            changes.parcels.len(),
            false,
        )
        .await?;
    }
    changes_response(&conn, &query, &changes, format).await
}

/// `POST /api/changes`: the change parcels inside the ad-hoc zone in the body.
pub async fn changes_post(
    State(state): State<AppState>,
    Caller(who): Caller,
    ClientAddr(from): ClientAddr,
    Query(q): Query<HashMap<String, String>>,
    body: Body,
) -> ServerResult<Response> {
    let catalog = state.catalog.get();
    let query = trend_query(&catalog, &who, &q)?;
    let format = changes_format(&q)?;
    // May compute the two years' change parcels once (derived tables): the write pool.
    let (mut conn, zone) = match adhoc_zone(body, &state.writer).await? {
        Ok(found) => found,
        Err(refused) => return Ok(refused),
    };
    let options = ChangesOptions {
        adhoc: Some(&zone),
        places: Places::visible_to(&catalog, &who),
        wkb: format == ChangesFormat::Gpkg,
    };
    let changes = onemap_trends::changes_with(&mut conn, &query, &options)
        .await
        .map_err(server_error)?;
    if let Some(kind) = format.file_kind() {
        audit_file(
            &state,
            &who,
            from,
            kind,
            &query,
            changes.parcels.len(),
            true,
        )
        .await?;
    }
    let response = changes_response(&conn, &query, &changes, format).await?;
    Ok(with_zone_headers(response, &zone))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChangesFormat {
    Geojson,
    Csv,
    Gpkg,
}

impl ChangesFormat {
    /// The audit trail's name for a file export; GeoJSON is the API's answer, not a file.
    fn file_kind(self) -> Option<&'static str> {
        match self {
            ChangesFormat::Geojson => None,
            ChangesFormat::Csv => Some("changes.csv"),
            ChangesFormat::Gpkg => Some("changes.gpkg"),
        }
    }
}

/// Records a file export (CSV, GeoPackage) of trend figures in the audit trail.
async fn audit_file(
    state: &AppState,
    who: &Principal,
    from: Option<String>,
    kind: &str,
    query: &TrendQuery<'_>,
    rows: usize,
    adhoc_zone: bool,
) -> ServerResult<()> {
    let details = serde_json::json!({
        "from": query.from, "to": query.to,
        "zone_layer": query.zone_layer.map(|l| l.id.as_str()), "zone": query.zone,
        "adhoc_zone": adhoc_zone, "rows": rows,
    });
    super::audit::record_export(state, who, from, kind, Some(&query.layer.id), details).await
}

fn changes_format(q: &HashMap<String, String>) -> ServerResult<ChangesFormat> {
    match q.get("format").map(String::as_str) {
        None | Some("") | Some("geojson") => Ok(ChangesFormat::Geojson),
        Some("csv") => Ok(ChangesFormat::Csv),
        Some("gpkg") => Ok(ChangesFormat::Gpkg),
        Some(other) => Err(ServerError::BadRequest(format!(
            "format must be geojson, csv or gpkg, not {other:?}"
        ))),
    }
}

async fn changes_response(
    conn: &tokio_postgres::Client,
    query: &TrendQuery<'_>,
    changes: &ChangeParcels,
    format: ChangesFormat,
) -> ServerResult<Response> {
    match format {
        ChangesFormat::Csv => Ok(csv_response(changes.to_csv())),
        ChangesFormat::Gpkg => {
            let srid = onemap_trends::survey_versions(query.layer)
                .map_err(server_error)?
                .into_iter()
                .find(|v| v.year == changes.to)
                .map_or(4326, |v| v.srid);
            let srs = GpkgSrs::from_postgis(conn, srid)
                .await
                .map_err(server_error)?;
            let title = format!("{} changes {}-{}", query.layer.id, changes.from, changes.to);
            let file_name = format!(
                "{}_changes_{}_{}.gpkg",
                query.layer.id, changes.from, changes.to
            );
            let changes = changes.clone();
            let written = tokio::task::spawn_blocking(move || {
                onemap_trends::gpkg::changes_bytes(&changes, &srs, &title)
            })
            .await;
            let bytes = match written {
                Ok(Ok(bytes)) => bytes,
                // Ours, not the caller's: a 500 with the cause in the log.
                failed => {
                    let cause = match failed {
                        Ok(Err(e)) => e.to_string(),
                        Err(e) => e.to_string(),
                        Ok(Ok(_)) => String::new(),
                    };
                    tracing::error!(cause, "writing the change-parcel GeoPackage failed");
                    return Ok((
                        StatusCode::INTERNAL_SERVER_ERROR,
                        Json(serde_json::json!({
                            "error": "internal error; the server log has the cause"
                        })),
                    )
                        .into_response());
                }
            };
            let disposition = HeaderValue::from_str(&format!(
                "attachment; filename=\"{}\"",
                file_name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '.', "_")
            ))
            .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
            Ok((
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/geopackage+sqlite3"),
                    ),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                bytes,
            )
                .into_response())
        }
        ChangesFormat::Geojson => Ok(Json(changes.to_geojson()).into_response()),
    }
}

/// The ad-hoc zone in a POST's body and a connection from `pool` to query it with; the body is
/// read (at most [`onemap_trends::adhoc::MAX_BODY_BYTES`]) before a connection is taken.
/// `Err`: the answer refusing a body that is too large (413 with a JSON message).
async fn adhoc_zone(
    body: Body,
    pool: &PostgresPool,
) -> ServerResult<Result<(Object, AdHocZone), Response>> {
    let limit = onemap_trends::adhoc::MAX_BODY_BYTES;
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return Ok(Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            Json(serde_json::json!({
                "error": format!("ad-hoc zone: the body is larger than the {limit} bytes allowed")
            })),
        )
            .into_response()));
    };
    let conn = pool.get().await?;
    let zone = AdHocZone::from_body(&conn, &bytes)
        .await
        .map_err(server_error)?;
    Ok(Ok((conn, zone)))
}

/// Tells the client what zone was used: its geodesic area, and why it was repaired if it was.
fn with_zone_headers(mut response: Response, zone: &AdHocZone) -> Response {
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("{:.3}", zone.area_m2)) {
        h.insert("x-onemap-zone-area-m2", v);
    }
    if let Some(reason) = &zone.repaired {
        let ascii: String = reason
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '?'
                }
            })
            .take(500)
            .collect();
        if let Ok(v) = HeaderValue::from_str(&ascii) {
            h.insert("x-onemap-zone-repaired", v);
        }
    }
    response
}

/// The question the query string asks, with both layers authorized for `who`.
fn trend_query<'a>(
    catalog: &'a Catalog,
    who: &Principal,
    q: &'a HashMap<String, String>,
) -> ServerResult<TrendQuery<'a>> {
    let param = |name: &str| q.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let visible = |id: &str| {
        catalog
            .layer(who, id)
            .ok_or_else(|| ServerError::NotFound(format!("no layer {id:?}")))
    };
    let layer_id = param("layer")
        .ok_or_else(|| ServerError::BadRequest("layer is required: a land-use layer id".into()))?;
    let layer = visible(layer_id)?;
    let zone_layer = param("zone_layer").map(visible).transpose()?;
    let level = match param("level") {
        Some(l) => Level::parse(l).map_err(server_error)?,
        None => Level::Two,
    };
    Ok(TrendQuery {
        layer,
        zone_layer,
        zone: param("zone"),
        from: parse_year(param("from"))?,
        to: parse_year(param("to"))?,
        level,
    })
}

fn wants_csv(q: &HashMap<String, String>) -> ServerResult<bool> {
    match q.get("format").map(String::as_str) {
        None | Some("") | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(ServerError::BadRequest(format!(
            "format must be json or csv, not {other:?}"
        ))),
    }
}

fn csv_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response()
}

/// Maps a trends error once: the caller's mistakes to 404/400, ours to 500 with the cause logged.
fn server_error(e: TrendsError) -> ServerError {
    if e.is_not_found() {
        return ServerError::NotFound(e.to_string());
    }
    if e.is_client_error() {
        return ServerError::BadRequest(e.to_string());
    }
    match e {
        TrendsError::Postgres { context, source } => {
            tracing::error!(context, "trends query failed");
            ServerError::Postgres(source)
        }
        other => ServerError::BadRequest(other.to_string()),
    }
}
