//! `GET /api/layers/{id}/features?year=&bbox=&limit=&offset=&field=&value=`: a version's
//! features as GeoJSON in EPSG:4326, with the source attributes and, for polygons, `area_m2`.
//! `field` and `value` together select the features whose top-level attribute `field` equals
//! `value` (compared as text: `props ->> field = value`, both bound parameters), e.g. a parcel
//! by its number: `?field=TBBH&value=1234`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::{json, Map, Value};

use super::{parse_year, Caller};
use crate::error::{ServerError, ServerResult};
use crate::state::AppState;

const DEFAULT_LIMIT: i64 = 1000;
const MAX_LIMIT: i64 = 10_000;
/// Longest attribute name accepted in `field` (in characters).
const MAX_FIELD_CHARS: usize = 64;

pub async fn features_list(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ServerResult<Json<Value>> {
    let catalog = state.catalog.get();
    let layer = catalog
        .layer(&who, &id)
        .ok_or_else(|| ServerError::NotFound(format!("no layer {id:?}")))?;
    let year = parse_year(q.get("year").map(String::as_str))?;
    let version = layer.version(year).ok_or_else(|| {
        ServerError::NotFound(match year {
            Some(y) => format!("layer {id:?} has no version for {y}"),
            None => format!("layer {id:?} has no version yet"),
        })
    })?;
    let bbox = q.get("bbox").map(|b| parse_bbox(b)).transpose()?;
    let limit = parse_count(q.get("limit"), "limit", DEFAULT_LIMIT)?.min(MAX_LIMIT);
    let offset = parse_count(q.get("offset"), "offset", 0)?;
    let (field, value) = parse_match(q.get("field"), q.get("value"))?;

    let conn = state.pool.get().await?;
    let rows = conn
        .query(
            include_str!("../sql/features.sql"),
            &[&version.id, &bbox, &limit, &offset, &field, &value],
        )
        .await?;
    let polygons = layer.geometry_type == "polygon";
    let features: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut props: Map<String, Value> = match r.get::<_, Value>("props") {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            if polygons {
                props.insert("area_m2".into(), json!(r.get::<_, Option<f64>>("area_m2")));
            }
            json!({
                "type": "Feature",
                "id": r.get::<_, i64>("fid"),
                "properties": props,
                "geometry": r.get::<_, Value>("geometry"),
            })
        })
        .collect();
    Ok(Json(json!({
        "type": "FeatureCollection",
        "layer": layer.id,
        "year": version.year,
        "version": version.label,
        "features": features,
    })))
}

fn parse_bbox(text: &str) -> ServerResult<Vec<f64>> {
    let bad = || {
        ServerError::BadRequest(format!(
            "bbox must be west,south,east,north in degrees, not {text:?}"
        ))
    };
    let v: Vec<f64> = text
        .split(',')
        .map(|p| p.trim().parse::<f64>().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let ok = v.len() == 4
        && v.iter().all(|c| c.is_finite())
        && (-180.0..=180.0).contains(&v[0])
        && (-180.0..=180.0).contains(&v[2])
        && (-90.0..=90.0).contains(&v[1])
        && (-90.0..=90.0).contains(&v[3])
        && v[0] <= v[2]
        && v[1] <= v[3];
    if ok {
        Ok(v)
    } else {
        Err(bad())
    }
}

fn parse_count(value: Option<&String>, name: &str, default: i64) -> ServerResult<i64> {
    match value {
        None => Ok(default),
        Some(v) => v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            ServerError::BadRequest(format!("{name} must be a whole number ≥ 0, not {v:?}"))
        }),
    }
}

/// `field` and `value` come together; `field` is an attribute name: letters (any script),
/// digits and `_`, at most [`MAX_FIELD_CHARS`] characters.
fn parse_match(
    field: Option<&String>,
    value: Option<&String>,
) -> ServerResult<(Option<String>, Option<String>)> {
    match (field, value) {
        (None, None) => Ok((None, None)),
        (Some(f), Some(v)) => {
            let n = f.chars().count();
            let ok = (1..=MAX_FIELD_CHARS).contains(&n)
                && f.chars().all(|c| c.is_alphanumeric() || c == '_');
            if !ok {
                return Err(ServerError::BadRequest(format!(
                    "field must be an attribute name of 1 to {MAX_FIELD_CHARS} letters, \
                     digits or _, not {f:?}"
                )));
            }
            Ok((Some(f.clone()), Some(v.clone())))
        }
        _ => Err(ServerError::BadRequest(
            "field and value go together: ?field=NAME&value=V".into(),
        )),
    }
}
