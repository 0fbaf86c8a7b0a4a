//! The questions decision makers ask: area of each class per year in a zone, and the
//! from-class × to-class transition matrix between two years, answered from the precomputed
//! tables. The caller authorizes the layers (through the catalog's `layer(who, id)`) before it
//! hands them here; whatever is not precomputed yet is computed once, stored, then read.

use std::collections::BTreeMap;

use onemap_schemas::catalog::Layer;
use serde::Serialize;
use tokio_postgres::Client;

use crate::adhoc::AdHocZone;
use crate::precompute::{ensure_area, ensure_transitions, runs_ready, LandUseVersion, ZoneVersion};
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
    let ids: Vec<i64> = chosen.iter().map(|v| v.version_id).collect();
    let years: Vec<i32> = chosen.iter().map(|v| v.year).collect();
    let (zone_version, keys) = zone_params(&zone);
    // Usually everything was precomputed when the years landed: one check, then the read.
    if !runs_ready(client, "area", &ids, None, zone_version).await? {
        for v in &chosen {
            match &zone {
                Some((z, _)) => ensure_area(client, v, std::slice::from_ref(z), true).await?,
                None => ensure_area(client, v, &[], true).await?,
            };
        }
    }
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
    let (zone_version, keys) = zone_params(&zone);
    let ready = runs_ready(
        client,
        "transitions",
        &[to.version_id],
        Some(from.version_id),
        zone_version,
    )
    .await?;
    if !ready {
        match &zone {
            Some((z, _)) => {
                ensure_transitions(client, from, to, std::slice::from_ref(z), true).await?
            }
            None => ensure_transitions(client, from, to, &[], true).await?,
        };
    }
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
    /// The reserve zone holding a point inside the piece (its name), when reserve zones were
    /// looked up ([`Places`]).
    pub zone: Option<String>,
    /// core, buffer, experimental, or outside (no reserve zone holds it); `None` when reserve
    /// zones were not looked up or the zone has no known kind.
    pub zone_kind: Option<String>,
    /// The station jurisdiction holding that point (its name) and the station's department.
    pub station: Option<String>,
    pub station_code: Option<String>,
    /// The 12-digit village code of the to-parcel's `ZLDWDM` (without it: of the nearest
    /// village point), and the village's name.
    pub village_code: Option<String>,
    pub village_name: Option<String>,
    /// The geometry as ISO WKB (MultiPolygon) in the to-version's SRID, when asked for
    /// ([`ChangesOptions::wkb`]), with its bounds `[min_x, min_y, max_x, max_y]`.
    #[serde(skip)]
    pub wkb: Option<Vec<u8>>,
    #[serde(skip)]
    pub bounds: [f64; 4],
}

/// The layers that place each change piece: the reserve zones, station jurisdictions and
/// village points, each already authorized for the caller (`None`: not looked up).
#[derive(Debug, Clone, Copy, Default)]
pub struct Places<'a> {
    pub reserve_zones: Option<&'a Layer>,
    pub stations: Option<&'a Layer>,
    pub villages: Option<&'a Layer>,
}

/// How [`changes_with`] answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChangesOptions<'a> {
    /// An ad-hoc zone that replaces the query's zone.
    pub adhoc: Option<&'a AdHocZone>,
    pub places: Places<'a>,
    /// Return each piece's WKB in the to-version's SRID (for a GeoPackage).
    pub wkb: bool,
}

/// The change parcels between survey years `from` and `to` (defaults as for [`transitions`])
/// inside the zone, largest first; at level 1, only changes of first-level class.
pub async fn changes(client: &mut Client, q: &TrendQuery<'_>) -> TrendsResult<ChangeParcels> {
    changes_with(client, q, &ChangesOptions::default()).await
}

/// [`changes`], inside an ad-hoc zone when `options.adhoc` is given (the query's zone must
/// then be empty), each piece placed in its reserve zone, station jurisdiction and village
/// (`options.places`), with its WKB when `options.wkb`.
#[tracing::instrument(skip_all, fields(layer = %q.layer.id))]
pub async fn changes_with(
    client: &mut Client,
    q: &TrendQuery<'_>,
    options: &ChangesOptions<'_>,
) -> TrendsResult<ChangeParcels> {
    let (from, to) = survey_pair(q)?;
    let zone = resolve_zone(client, q).await?;
    if options.adhoc.is_some() && zone.is_some() {
        return Err(TrendsError::BadRequest(
            "an ad-hoc zone replaces zone_layer and zone: send one or the other".into(),
        ));
    }
    ensure_overlay(client, &from, &to).await?;
    let (zone_version, keys) = zone_params(&zone);
    let adhoc = options.adhoc.map(|z| z.ewkb.as_slice());
    let newest = |l: Option<&Layer>| l.and_then(|l| l.version(None)).map(|v| v.id);
    let rows = query_without_jit(
        client,
        include_str!("sql/changes.sql"),
        &[
            &from.version_id,
            &to.version_id,
            &zone_version,
            &keys,
            &q.level.number(),
            &to.srid,
            &adhoc,
            &newest(options.places.reserve_zones),
            &newest(options.places.stations),
            &newest(options.places.villages),
            &options.wkb,
        ],
        "reading the change parcels",
    )
    .await?;
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
            zone: r.get("zone"),
            zone_kind: r.get("zone_kind"),
            station: r.get("station"),
            station_code: r.get("station_code"),
            village_code: r.get("village_code"),
            village_name: r.get("village_name"),
            wkb: r.get("wkb"),
            bounds: [
                r.get("min_x"),
                r.get("min_y"),
                r.get("max_x"),
                r.get("max_y"),
            ],
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

/// Makes sure the overlay of `from` with `to` over the whole extent (its change parcels) is
/// precomputed: one check when it is, the locked `ensure_transitions` path when not.
async fn ensure_overlay(
    client: &mut Client,
    from: &LandUseVersion,
    to: &LandUseVersion,
) -> TrendsResult<()> {
    let ready = runs_ready(
        client,
        "transitions",
        &[to.version_id],
        Some(from.version_id),
        None,
    )
    .await?;
    if !ready {
        ensure_transitions(client, from, to, &[], true).await?;
    }
    Ok(())
}

/// The two survey versions a change question compares (defaults as for [`transitions`]),
/// with their change parcels made sure of (the overlay computed once if it was not yet):
/// for callers that read `onemap.change_parcels` themselves (enforcement, change tiles).
pub async fn change_versions(
    client: &mut Client,
    q: &TrendQuery<'_>,
) -> TrendsResult<(LandUseVersion, LandUseVersion)> {
    let (from, to) = survey_pair(q)?;
    ensure_overlay(client, &from, &to).await?;
    Ok((from, to))
}

/// The land-use layer's survey versions, oldest first, the newest ingest of each year.
pub fn survey_versions(layer: &Layer) -> TrendsResult<Vec<LandUseVersion>> {
    survey_years(layer)
}

/// Runs one read with JIT off, in a transaction of its own: PostGIS functions' high costs make
/// PostgreSQL JIT-compile these queries (0.7 s of compiling for a 0.1 s answer), as in the
/// precompute.
async fn query_without_jit(
    client: &mut Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    context: &'static str,
) -> TrendsResult<Vec<tokio_postgres::Row>> {
    let tx = client
        .transaction()
        .await
        .map_err(TrendsError::pg(context))?;
    tx.batch_execute("SET LOCAL jit = off")
        .await
        .map_err(TrendsError::pg(context))?;
    let rows = tx
        .query(sql, params)
        .await
        .map_err(TrendsError::pg(context))?;
    tx.commit().await.map_err(TrendsError::pg(context))?;
    Ok(rows)
}

/// Refuses a query that names a zone of a zoning layer as well as an ad-hoc zone.
fn adhoc_only(q: &TrendQuery<'_>) -> TrendsResult<()> {
    if q.zone_layer.is_some() || q.zone.is_some() {
        return Err(TrendsError::BadRequest(
            "an ad-hoc zone replaces zone_layer and zone: send one or the other".into(),
        ));
    }
    Ok(())
}

/// Area of each code as surveyed in version `v` inside the ad-hoc zone: the parcels clipped
/// to it (a parcel wholly inside keeps its stored geodesic area).
async fn adhoc_areas(
    client: &mut Client,
    v: &LandUseVersion,
    zone: &AdHocZone,
) -> TrendsResult<BTreeMap<String, f64>> {
    let rows = query_without_jit(
        client,
        include_str!("sql/area_adhoc.sql"),
        &[&v.version_id, &v.class_field, &zone.ewkb, &v.srid],
        "clipping the parcels to the ad-hoc zone",
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("class_code"), r.get("area_m2")))
        .collect())
}

/// [`area_series`] inside an ad-hoc zone, computed on the fly: each survey year's parcels
/// clipped to the zone. Exact like the precomputed series, and reads only the parcels near
/// the zone.
#[tracing::instrument(skip_all, fields(layer = %q.layer.id))]
pub async fn area_series_in(
    client: &mut Client,
    q: &TrendQuery<'_>,
    zone: &AdHocZone,
) -> TrendsResult<AreaSeries> {
    adhoc_only(q)?;
    if let (Some(f), Some(t)) = (q.from, q.to) {
        if f > t {
            return Err(TrendsError::BadRequest(format!(
                "from ({f}) must not come after to ({t})"
            )));
        }
    }
    let mut series = Vec::new();
    for v in survey_years(q.layer)?
        .iter()
        .filter(|v| q.from.is_none_or(|f| v.year >= f) && q.to.is_none_or(|t| v.year <= t))
    {
        let mut by_class: BTreeMap<String, f64> = BTreeMap::new();
        for (code, area) in adhoc_areas(client, v, zone).await? {
            *by_class.entry(q.level.class_of(&code)).or_default() += area;
        }
        series.extend(by_class.into_iter().map(|(class, area_m2)| AreaPoint {
            year: v.year,
            class,
            area_m2,
        }));
    }
    Ok(AreaSeries { unit: "m2", series })
}

/// [`transitions`] inside an ad-hoc zone, computed on the fly from what is exact: the change
/// cells are the precomputed change parcels clipped to the zone; a class's persistence is the
/// part of its area inside the zone that did not change, its first-year area there minus its
/// losses (equal to its second-year area minus its gains when both surveys cover the zone; where
/// they differ the smaller is taken, so land only one survey covers never counts as
/// persistent). Row sums are then the first year's class areas in the zone and column sums the
/// second year's.
#[tracing::instrument(skip_all, fields(layer = %q.layer.id))]
pub async fn transitions_in(
    client: &mut Client,
    q: &TrendQuery<'_>,
    zone: &AdHocZone,
) -> TrendsResult<TransitionMatrix> {
    adhoc_only(q)?;
    let (from, to) = survey_pair(q)?;
    ensure_overlay(client, &from, &to).await?;
    let first = adhoc_areas(client, &from, zone).await?;
    let second = adhoc_areas(client, &to, zone).await?;
    let rows = query_without_jit(
        client,
        include_str!("sql/change_cells_adhoc.sql"),
        &[&from.version_id, &to.version_id, &zone.ewkb, &to.srid],
        "clipping the change parcels to the ad-hoc zone",
    )
    .await?;
    let mut loss: BTreeMap<String, f64> = BTreeMap::new();
    let mut gain: BTreeMap<String, f64> = BTreeMap::new();
    let mut cells: BTreeMap<(String, String), f64> = BTreeMap::new();
    for r in &rows {
        let (f, t, a): (String, String, f64) =
            (r.get("from_class"), r.get("to_class"), r.get("area_m2"));
        *loss.entry(f.clone()).or_default() += a;
        *gain.entry(t.clone()).or_default() += a;
        *cells
            .entry((q.level.class_of(&f), q.level.class_of(&t)))
            .or_default() += a;
    }
    for (code, area) in &first {
        let kept_first = area - loss.get(code).copied().unwrap_or(0.0);
        let kept_second =
            second.get(code).copied().unwrap_or(0.0) - gain.get(code).copied().unwrap_or(0.0);
        let kept = kept_first.min(kept_second);
        // Below the survey's precision (0.01 m²): rounding, not land.
        if kept >= 0.01 {
            let class = q.level.class_of(code);
            *cells.entry((class.clone(), class)).or_default() += kept;
        }
    }
    let cells: Vec<TransitionCell> = cells
        .into_iter()
        .map(|((from_class, to_class), area_m2)| TransitionCell {
            from_class,
            to_class,
            area_m2,
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
