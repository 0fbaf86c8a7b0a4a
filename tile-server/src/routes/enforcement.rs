//! Enforcement planning over HTTP: `GET`/`PUT /api/enforcement/rules` (the transition rules;
//! editing needs `authz::can_edit_rules`, and is audited), `GET /api/enforcement/hotspots` and
//! `GET /api/enforcement/tasks` (flagged change area ranked, and the field tasks per station
//! or department), and `GET /tiles/changes/{z}/{x}/{y}` (the change pieces as MVT). Every layer
//! involved is reached through the catalog's `layer(who, id)`: one the caller may not see is a
//! 404. Layers not named default to `reserve_zones`, `station_jurisdictions` and `villages`,
//! each left out when the caller cannot see it (or it does not exist): without zones every
//! piece lies `outside`, and the answer names the zone layer it used (`zone_layer`).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use onemap_access::{AccessError, Acting};
use onemap_enforcement::hotspots::tasks_csv;
use onemap_enforcement::{rules, EnforcementError, EnforcementQuery, HotspotBy, TransitionRule};
use onemap_schemas::authz::Principal;
use onemap_schemas::catalog::{Catalog, Layer};
use onemap_trends::TrendsError;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{parse_year, Caller, ClientAddr};
use crate::error::{ServerError, ServerResult};
use crate::state::AppState;

/// The query parameters of the hotspot and task routes.
pub(crate) const QUERY: &[&str] = &[
    "layer",
    "zone_layer",
    "station_layer",
    "village_layer",
    "from",
    "to",
    "by",
    "cell_m",
    "responsible",
    "format",
];

/// The query parameters of the change tiles.
pub(crate) const TILE_QUERY: &[&str] = &["layer", "zone_layer", "from", "to"];

const DEFAULT_ZONES: &str = "reserve_zones";
const DEFAULT_STATIONS: &str = "station_jurisdictions";
const DEFAULT_VILLAGES: &str = "villages";

/// `GET /api/enforcement/rules` → `{"rules": [...]}`, oldest first.
pub async fn rules_get(State(state): State<AppState>) -> ServerResult<Json<Value>> {
    let conn = state.pool.get().await?;
    let list = rules::list(&**conn).await.map_err(server_error)?;
    Ok(Json(json!({ "rules": list })))
}

/// The body of `PUT /api/enforcement/rules`: the whole new rule table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesForm {
    rules: Vec<TransitionRule>,
}

/// `PUT /api/enforcement/rules` `{"rules": [...]}`: replaces the rules (editors of sthwb or
/// zrzy, admins; 403 for everyone else), audited as `rules.replace`.
pub async fn rules_put(
    State(state): State<AppState>,
    Caller(who): Caller,
    ClientAddr(from): ClientAddr,
    Json(form): Json<RulesForm>,
) -> ServerResult<Json<Value>> {
    let mut conn = state.writer.get().await?;
    let seq = rules::replace(&mut conn, &Acting::new(who, from), form.rules)
        .await
        .map_err(server_error)?;
    let list = rules::list(&**conn).await.map_err(server_error)?;
    Ok(Json(json!({ "rules": list, "audit_seq": seq })))
}

/// `GET /api/enforcement/hotspots?layer=&from=&to=&by=zone|station|village|grid&cell_m=`.
pub async fn hotspots_get(
    State(state): State<AppState>,
    Caller(who): Caller,
    Query(q): Query<HashMap<String, String>>,
) -> ServerResult<Json<Value>> {
    let catalog = state.catalog.get();
    let query = enforcement_query(&catalog, &who, &q)?;
    let by = match param(&q, "by") {
        Some(b) => HotspotBy::parse(b).map_err(server_error)?,
        None => HotspotBy::Zone,
    };
    let cell_m = match param(&q, "cell_m") {
        None => 5000.0,
        Some(c) => c
            .parse::<f64>()
            .ok()
            .filter(|c| (10.0..=100_000.0).contains(c))
            .ok_or_else(|| {
                ServerError::BadRequest(format!("cell_m must be 10 to 100000 metres, not {c:?}"))
            })?,
    };
    // Precomputes missing trend figures (derived tables): through the write pool.
    let mut conn = state.writer.get().await?;
    let flagged = onemap_enforcement::flagged(&mut conn, &query)
        .await
        .map_err(server_error)?;
    let hotspots = onemap_enforcement::hotspots(&flagged, by, cell_m);
    Ok(Json(serde_json::to_value(hotspots).unwrap_or_default()))
}

/// `GET /api/enforcement/tasks?layer=&from=&to=&responsible=&format=json|csv`.
pub async fn tasks_get(
    State(state): State<AppState>,
    Caller(who): Caller,
    ClientAddr(from): ClientAddr,
    Query(q): Query<HashMap<String, String>>,
) -> ServerResult<Response> {
    let catalog = state.catalog.get();
    let query = enforcement_query(&catalog, &who, &q)?;
    let csv = match param(&q, "format") {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ServerError::BadRequest(format!(
                "format must be json or csv, not {other:?}"
            )))
        }
    };
    // Precomputes missing trend figures (derived tables): through the write pool.
    let mut conn = state.writer.get().await?;
    let flagged = onemap_enforcement::flagged(&mut conn, &query)
        .await
        .map_err(server_error)?;
    let tasks = onemap_enforcement::tasks(&flagged, param(&q, "responsible"));
    drop(conn);
    if csv {
        super::audit::record_export(
            &state,
            &who,
            from,
            "enforcement_tasks.csv",
            param(&q, "layer"),
            json!({ "from": flagged.from, "to": flagged.to, "zone_layer": flagged.zone_layer,
                    "responsible": param(&q, "responsible"), "rows": tasks.len() }),
        )
        .await?;
        return Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            tasks_csv(&tasks),
        )
            .into_response());
    }
    Ok(Json(json!({
        "from": flagged.from,
        "to": flagged.to,
        "zone_layer": flagged.zone_layer,
        "tasks": tasks,
    }))
    .into_response())
}

/// `GET /tiles/changes/{z}/{x}/{y}?layer=&from=&to=&zone_layer=`: MVT layer `changes`, 204
/// when the tile holds no change.
pub async fn changes_tile(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((z, x, y)): Path<(i32, i64, i64)>,
    Query(q): Query<HashMap<String, String>>,
) -> ServerResult<Response> {
    let catalog = state.catalog.get();
    let layer = named(&catalog, &who, &q, "layer")?
        .ok_or_else(|| ServerError::BadRequest("layer is required: a land-use layer id".into()))?;
    let zone_layer = named(&catalog, &who, &q, "zone_layer")?;
    if !layer.is_land_use() {
        return Err(server_error(
            TrendsError::NotLandUse(layer.id.clone()).into(),
        ));
    }
    let from = parse_year(param(&q, "from"))?;
    let to = parse_year(param(&q, "to"))?;
    if !(0..=24).contains(&z) || x < 0 || y < 0 || x >= 1 << z || y >= 1 << z {
        return Err(ServerError::NotFound(format!("no tile {z}/{x}/{y}")));
    }
    let zone_layer = zone_layer.or_else(|| catalog.layer(&who, DEFAULT_ZONES));
    // Precomputes missing trend figures (derived tables): through the write pool.
    let mut conn = state.writer.get().await?;
    // Both fit: x, y < 2^24.
    let (x, y) = (x as i32, y as i32);
    let tile =
        onemap_enforcement::tiles::change_tile(&mut conn, layer, zone_layer, from, to, z, x, y)
            .await
            .map_err(server_error)?;
    if tile.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.mapbox-vector-tile"),
            (header::CACHE_CONTROL, "private, max-age=0, must-revalidate"),
        ],
        tile,
    )
        .into_response())
}

fn param<'a>(q: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    q.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

/// The layer a query parameter names, authorized for `who` (404 otherwise).
fn named<'a>(
    catalog: &'a Catalog,
    who: &Principal,
    q: &HashMap<String, String>,
    name: &str,
) -> ServerResult<Option<&'a Layer>> {
    param(q, name)
        .map(|id| {
            catalog
                .layer(who, id)
                .ok_or_else(|| ServerError::NotFound(format!("no layer {id:?}")))
        })
        .transpose()
}

/// The question the query string asks: every named layer authorized first (404), then the
/// land-use layer checked (400), then the default layers.
fn enforcement_query<'a>(
    catalog: &'a Catalog,
    who: &Principal,
    q: &HashMap<String, String>,
) -> ServerResult<EnforcementQuery<'a>> {
    let layer = named(catalog, who, q, "layer")?
        .ok_or_else(|| ServerError::BadRequest("layer is required: a land-use layer id".into()))?;
    let zone_layer = named(catalog, who, q, "zone_layer")?;
    let station_layer = named(catalog, who, q, "station_layer")?;
    let village_layer = named(catalog, who, q, "village_layer")?;
    if !layer.is_land_use() {
        return Err(server_error(
            TrendsError::NotLandUse(layer.id.clone()).into(),
        ));
    }
    let zone_layer = zone_layer.or_else(|| catalog.layer(who, DEFAULT_ZONES));
    if let Some(z) = zone_layer {
        if z.geometry_type != "polygon" || z.is_land_use() {
            return Err(server_error(TrendsError::NotZoneLayer(z.id.clone()).into()));
        }
    }
    Ok(EnforcementQuery {
        layer,
        zone_layer,
        station_layer: station_layer.or_else(|| catalog.layer(who, DEFAULT_STATIONS)),
        village_layer: village_layer.or_else(|| catalog.layer(who, DEFAULT_VILLAGES)),
        from: parse_year(param(q, "from"))?,
        to: parse_year(param(q, "to"))?,
    })
}

/// Maps an enforcement error once: the caller's mistakes to 4xx, ours to 500 (cause logged).
fn server_error(e: EnforcementError) -> ServerError {
    match e {
        EnforcementError::Invalid(m) => ServerError::BadRequest(m),
        EnforcementError::NotFound(m) => ServerError::NotFound(m),
        EnforcementError::Forbidden(m) => ServerError::Access(AccessError::Forbidden(m)),
        EnforcementError::Trends(t) if t.is_not_found() => ServerError::NotFound(t.to_string()),
        EnforcementError::Trends(TrendsError::Postgres { context, source }) => {
            tracing::error!(context, "enforcement query failed");
            ServerError::Postgres(source)
        }
        EnforcementError::Trends(t) => ServerError::BadRequest(t.to_string()),
        EnforcementError::Access(a) => ServerError::Access(a),
        EnforcementError::Postgres { context, source } => {
            tracing::error!(context, "enforcement query failed");
            ServerError::Postgres(source)
        }
        other => ServerError::BadRequest(other.to_string()),
    }
}
