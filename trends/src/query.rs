//! The questions decision makers ask: area of each class per year in a zone, and the
//! from-class × to-class transition matrix between two years, answered from the precomputed
//! tables. The caller authorizes the layers (through the catalog's `layer(who, id)`) before it
//! hands them here; whatever is not precomputed yet is computed once, stored, then read.

use std::collections::BTreeMap;

use onemap_schemas::catalog::Layer;
use serde::Serialize;
use tokio_postgres::Client;

use crate::precompute::{ensure_area, ensure_transitions, LandUseVersion, ZoneVersion};
use crate::{TrendsError, TrendsResult};

/// Class level: 1 groups codes by their first two characters (GB/T 21010 first-level classes;
/// the working codes 05H1 → 05, 08H1/08H2 → 08, 201–205 → 20, and 00 stays 00), 2 keeps the
/// code as the survey wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    One,
    #[default]
    Two,
}

impl Level {
    /// Parses `1` or `2`.
    pub fn parse(text: &str) -> TrendsResult<Self> {
        match text.trim() {
            "1" => Ok(Self::One),
            "2" => Ok(Self::Two),
            other => Err(TrendsError::BadRequest(format!(
                "level must be 1 or 2, not {other:?}"
            ))),
        }
    }

    fn number(self) -> i32 {
        match self {
            Self::One => 1,
            Self::Two => 2,
        }
    }

    /// The class a code counts under at this level.
    pub fn class_of(self, code: &str) -> String {
        match self {
            Self::One => code.chars().take(2).collect(),
            Self::Two => code.to_owned(),
        }
    }
}

/// A trend question: which land-use layer, inside which zone, over which years.
#[derive(Debug, Clone, Copy)]
pub struct TrendQuery<'a> {
    /// The land-use layer, already authorized for the caller.
    pub layer: &'a Layer,
    /// The zoning layer, already authorized for the caller; `None`: the whole extent.
    pub zone_layer: Option<&'a Layer>,
    /// A zone's fid or name; `None`: every zone of `zone_layer`.
    pub zone: Option<&'a str>,
    pub from: Option<i32>,
    pub to: Option<i32>,
    pub level: Level,
}

/// Area of each class per survey year.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AreaSeries {
    pub unit: &'static str,
    pub series: Vec<AreaPoint>,
}

/// One class's area in one year.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AreaPoint {
    pub year: i32,
    pub class: String,
    pub area_m2: f64,
}

/// The transition matrix between two survey years, with per-class summaries.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TransitionMatrix {
    pub unit: &'static str,
    pub from: i32,
    pub to: i32,
    pub cells: Vec<TransitionCell>,
    pub classes: Vec<ClassSummary>,
}

/// Area that was `from_class` in the first year and `to_class` in the second.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TransitionCell {
    pub from_class: String,
    pub to_class: String,
    pub area_m2: f64,
}

/// One class's change between the two years. `from_m2` is the matrix's row sum (the class's
/// area in the first year), `to_m2` its column sum; persistence is the diagonal, loss the rest
/// of the row, gain the rest of the column, net = gain − loss, and swap = 2 × min(gain, loss)
/// (the change that moved the class around without changing its total).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClassSummary {
    pub class: String,
    pub from_m2: f64,
    pub to_m2: f64,
    pub persistence_m2: f64,
    pub gain_m2: f64,
    pub loss_m2: f64,
    pub net_m2: f64,
    pub swap_m2: f64,
}

/// Area of each class per survey year between `from` and `to` (inclusive; default: every
/// year) inside the zone.
#[tracing::instrument(skip_all, fields(layer = %q.layer.id))]
pub async fn area_series(client: &mut Client, q: &TrendQuery<'_>) -> TrendsResult<AreaSeries> {
    let versions = survey_years(q.layer)?;
    if let (Some(f), Some(t)) = (q.from, q.to) {
        if f > t {
            return Err(TrendsError::BadRequest(format!(
                "from ({f}) must not come after to ({t})"
            )));
        }
    }
    let chosen: Vec<&LandUseVersion> = versions
        .iter()
        .filter(|v| q.from.is_none_or(|f| v.year >= f) && q.to.is_none_or(|t| v.year <= t))
        .collect();
    let zone = resolve_zone(client, q).await?;
    for v in &chosen {
        match &zone {
            Some((z, _)) => ensure_area(client, v, std::slice::from_ref(z), true).await?,
            None => ensure_area(client, v, &[], true).await?,
        };
    }
    let ids: Vec<i64> = chosen.iter().map(|v| v.version_id).collect();
    let years: Vec<i32> = chosen.iter().map(|v| v.year).collect();
    let (zone_version, keys) = zone_params(&zone);
    let rows = client
        .query(
            include_str!("sql/area_series.sql"),
            &[&ids, &years, &zone_version, &keys, &q.level.number()],
        )
        .await
        .map_err(TrendsError::pg("reading the area series"))?;
    Ok(AreaSeries {
        unit: "m2",
        series: rows
            .iter()
            .map(|r| AreaPoint {
                year: r.get("year"),
                class: r.get("class"),
                area_m2: r.get("area_m2"),
            })
            .collect(),
    })
}

/// The transition matrix from survey year `from` (default: the year before `to`) to `to`
/// (default: the newest) inside the zone. Years need not be consecutive: the two surveys are
/// overlaid directly (a matrix cannot be composed from yearly ones: a piece's path is lost).
#[tracing::instrument(skip_all, fields(layer = %q.layer.id))]
pub async fn transitions(
    client: &mut Client,
    q: &TrendQuery<'_>,
) -> TrendsResult<TransitionMatrix> {
    let (from, to) = survey_pair(q)?;
    let (from, to) = (&from, &to);
    let zone = resolve_zone(client, q).await?;
    match &zone {
        Some((z, _)) => ensure_transitions(client, from, to, std::slice::from_ref(z), true).await?,
        None => ensure_transitions(client, from, to, &[], true).await?,
    };
    let (zone_version, keys) = zone_params(&zone);
    let rows = client
        .query(
            include_str!("sql/transition_cells.sql"),
            &[
                &from.version_id,
                &to.version_id,
                &zone_version,
                &keys,
                &q.level.number(),
            ],
        )
        .await
        .map_err(TrendsError::pg("reading the transitions"))?;
    let cells: Vec<TransitionCell> = rows
        .iter()
        .map(|r| TransitionCell {
            from_class: r.get("from_class"),
            to_class: r.get("to_class"),
            area_m2: r.get("area_m2"),
        })
        .collect();
    Ok(TransitionMatrix {
        unit: "m2",
        from: from.year,
        to: to.year,
        classes: summarize(&cells),
        cells,
    })
}

/// Persistence, gain, loss, net and swap per class from the matrix cells.
pub fn summarize(cells: &[TransitionCell]) -> Vec<ClassSummary> {
    let mut by_class: BTreeMap<&str, ClassSummary> = BTreeMap::new();
    for c in cells {
        for class in [c.from_class.as_str(), c.to_class.as_str()] {
            by_class.entry(class).or_insert_with(|| ClassSummary {
                class: class.to_owned(),
                from_m2: 0.0,
                to_m2: 0.0,
                persistence_m2: 0.0,
                gain_m2: 0.0,
                loss_m2: 0.0,
                net_m2: 0.0,
                swap_m2: 0.0,
            });
        }
        if let Some(s) = by_class.get_mut(c.from_class.as_str()) {
            s.from_m2 += c.area_m2;
            if c.from_class == c.to_class {
                s.persistence_m2 += c.area_m2;
            } else {
                s.loss_m2 += c.area_m2;
            }
        }
        if let Some(s) = by_class.get_mut(c.to_class.as_str()) {
            s.to_m2 += c.area_m2;
            if c.from_class != c.to_class {
                s.gain_m2 += c.area_m2;
            }
        }
    }
    by_class
        .into_values()
        .map(|mut s| {
            s.net_m2 = s.gain_m2 - s.loss_m2;
            s.swap_m2 = 2.0 * s.gain_m2.min(s.loss_m2);
            s
        })
        .collect()
}

/// The two survey years a transition question compares: `to` (default: the newest) and `from`
/// (default: the year before `to`).
fn survey_pair(q: &TrendQuery<'_>) -> TrendsResult<(LandUseVersion, LandUseVersion)> {
    let mut versions = survey_years(q.layer)?;
    let no_version = |year| TrendsError::NoVersion {
        layer: q.layer.id.clone(),
        year,
    };
    let to_index = match q.to {
        Some(t) => versions
            .iter()
            .position(|v| v.year == t)
            .ok_or_else(|| no_version(Some(t)))?,
        None => versions.len() - 1,
    };
    let from_index = match q.from {
        Some(f) => versions
            .iter()
            .position(|v| v.year == f)
            .ok_or_else(|| no_version(Some(f)))?,
        None => to_index.checked_sub(1).ok_or_else(|| {
            TrendsError::BadRequest(format!(
                "layer {:?} has no survey year before {}",
                q.layer.id, versions[to_index].year
            ))
        })?,
    };
    if from_index >= to_index {
        return Err(TrendsError::BadRequest(format!(
            "from ({}) must come before to ({})",
            versions[from_index].year, versions[to_index].year
        )));
    }
    // from_index < to_index: removing `to` first leaves `from` where it was.
    let to = versions.swap_remove(to_index);
    let from = versions.swap_remove(from_index);
    Ok((from, to))
}

/// The pieces of land whose class changed between two survey years, inside the zone.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChangeParcels {
    pub from: i32,
    pub to: i32,
    /// Largest first.
    pub parcels: Vec<ChangeParcel>,
}

/// One piece of the overlay of the two surveys whose class changed, clipped to the zone.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChangeParcel {
    /// The parcel of the first year it was part of.
    pub from_fid: i64,
    /// The parcel of the second year it is part of.
    pub to_fid: i64,
    pub from_class: String,
    pub to_class: String,
    pub area_m2: f64,
    /// GeoJSON geometry in EPSG:4326.
    pub geometry: serde_json::Value,
    /// The same geometry as WKT in EPSG:4326 (for CSV).
    #[serde(skip)]
    pub wkt: String,
}

/// The change parcels between survey years `from` and `to` (defaults as for [`transitions`])
/// inside the zone, largest first; at level 1, only changes of first-level class.
#[tracing::instrument(skip_all, fields(layer = %q.layer.id))]
pub async fn changes(client: &mut Client, q: &TrendQuery<'_>) -> TrendsResult<ChangeParcels> {
    let (from, to) = survey_pair(q)?;
    let zone = resolve_zone(client, q).await?;
    ensure_transitions(client, &from, &to, &[], true).await?;
    let (zone_version, keys) = zone_params(&zone);
    let rows = client
        .query(
            include_str!("sql/changes.sql"),
            &[
                &from.version_id,
                &to.version_id,
                &zone_version,
                &keys,
                &q.level.number(),
                &to.srid,
            ],
        )
        .await
        .map_err(TrendsError::pg("reading the change parcels"))?;
    let parcels = rows
        .iter()
        .map(|r| ChangeParcel {
            from_fid: r.get("from_fid"),
            to_fid: r.get("to_fid"),
            from_class: r.get("from_class"),
            to_class: r.get("to_class"),
            area_m2: r.get("area_m2"),
            geometry: serde_json::from_str(r.get::<_, &str>("geojson"))
                .unwrap_or(serde_json::Value::Null),
            wkt: r.get("wkt"),
        })
        .collect();
    Ok(ChangeParcels {
        from: from.year,
        to: to.year,
        parcels,
    })
}

/// The layer's survey years, oldest first, the newest ingest of each year.
fn survey_years(layer: &Layer) -> TrendsResult<Vec<LandUseVersion>> {
    let Some(class_field) = layer.class_field.clone() else {
        return Err(TrendsError::NotLandUse(layer.id.clone()));
    };
    // The catalog lists versions newest first: the first of each year is the one that counts.
    let mut by_year: BTreeMap<i32, LandUseVersion> = BTreeMap::new();
    for v in &layer.versions {
        let Some(year) = v.year else { continue };
        by_year.entry(year).or_insert_with(|| LandUseVersion {
            layer_key: layer.key,
            version_id: v.id,
            year,
            srid: v.srid,
            class_field: class_field.clone(),
        });
    }
    if by_year.is_empty() {
        return Err(TrendsError::NoVersion {
            layer: layer.id.clone(),
            year: None,
        });
    }
    Ok(by_year.into_values().collect())
}

/// The zoning version and the fids the query's zone names; `None`: the whole extent.
async fn resolve_zone(
    client: &Client,
    q: &TrendQuery<'_>,
) -> TrendsResult<Option<(ZoneVersion, Vec<String>)>> {
    let Some(zl) = q.zone_layer else {
        if let Some(key) = q.zone {
            return Err(TrendsError::BadRequest(format!(
                "zone {key:?} needs the zone_layer it belongs to"
            )));
        }
        return Ok(None);
    };
    if zl.geometry_type != "polygon" || zl.is_land_use() || zl.id == q.layer.id {
        return Err(TrendsError::NotZoneLayer(zl.id.clone()));
    }
    let version = zl.version(None).ok_or_else(|| TrendsError::NoVersion {
        layer: zl.id.clone(),
        year: None,
    })?;
    let rows = client
        .query(include_str!("sql/zone_keys.sql"), &[&version.id, &q.zone])
        .await
        .map_err(TrendsError::pg("finding the zone"))?;
    let keys: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    if let (Some(key), true) = (q.zone, keys.is_empty()) {
        return Err(TrendsError::NoZone {
            layer: zl.id.clone(),
            key: key.to_owned(),
        });
    }
    Ok(Some((
        ZoneVersion {
            layer_key: zl.key,
            layer_id: zl.id.clone(),
            version_id: version.id,
        },
        keys,
    )))
}

fn zone_params(zone: &Option<(ZoneVersion, Vec<String>)>) -> (Option<i64>, Vec<String>) {
    match zone {
        Some((z, keys)) => (Some(z.version_id), keys.clone()),
        None => (None, Vec::new()),
    }
}

/// The two survey versions a change question compares (defaults as for [`transitions`]),
/// with their change parcels made sure of (the overlay computed once if it was not yet):
/// for callers that read `onemap.change_parcels` themselves (enforcement, change tiles).
pub async fn change_versions(
    client: &mut Client,
    q: &TrendQuery<'_>,
) -> TrendsResult<(LandUseVersion, LandUseVersion)> {
    let (from, to) = survey_pair(q)?;
    ensure_transitions(client, &from, &to, &[], true).await?;
    Ok((from, to))
}

/// The land-use layer's survey versions, oldest first, the newest ingest of each year.
pub fn survey_versions(layer: &Layer) -> TrendsResult<Vec<LandUseVersion>> {
    survey_years(layer)
}
