//! Flagged change area: the change pieces between two survey years whose transition a rule
//! prohibits in the reserve zone they lie in, each with its station jurisdiction, village and
//! the year the change appeared; ranked as hotspots by zone, station, village or grid cell, and
//! listed as field tasks per responsible station or department.
//!
//! Each flagged piece is split at zone borders (a piece crossing from the buffer into the
//! experimental zone is flagged only for its buffer part), then assigned whole to the station,
//! village and grid cell of a point inside it, so every ranking sums to the same flagged area.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use onemap_schemas::catalog::Layer;
use onemap_trends::{Level, TrendQuery};
use serde::Serialize;
use tokio_postgres::Client;

use crate::{EnforcementError, EnforcementResult};

static FLAGGED_SQL: LazyLock<String> =
    LazyLock::new(|| crate::with_segments(include_str!("sql/flagged.sql")));

/// An enforcement question: which land-use layer, which years, and the layers that say where.
/// Every layer is already authorized for the caller.
#[derive(Debug, Clone, Copy)]
pub struct EnforcementQuery<'a> {
    pub layer: &'a Layer,
    /// The reserve zones (features with `zone` core/buffer/experimental or those names);
    /// `None`: no zoning, every piece lies `outside`.
    pub zone_layer: Option<&'a Layer>,
    /// Station jurisdictions (`name`, `station` = the station's department code).
    pub station_layer: Option<&'a Layer>,
    /// Village points (`code`, `name`).
    pub village_layer: Option<&'a Layer>,
    /// First survey year (default: the year before `to`).
    pub from: Option<i32>,
    /// Second survey year (default: the newest).
    pub to: Option<i32>,
}

/// The flagged pieces between two survey years.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Flagged {
    pub from: i32,
    pub to: i32,
    /// Largest first.
    pub pieces: Vec<FlaggedPiece>,
    /// The zoning layer the flags were judged in (none: no zoning).
    pub zone_layer: Option<String>,
    /// The department answering for pieces outside every station jurisdiction: the zone
    /// layer's owner (without zones, the land-use layer's).
    pub fallback_department: String,
}

/// One flagged piece: a change piece, or its part inside one zone.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FlaggedPiece {
    pub from_fid: i64,
    pub to_fid: i64,
    pub from_class: String,
    pub to_class: String,
    pub trend: String,
    /// The zone feature's fid (none: outside every zone).
    pub zone_fid: Option<i64>,
    pub zone_name: Option<String>,
    /// core, buffer, experimental or outside.
    pub zone_kind: String,
    pub area_m2: f64,
    /// A point inside the piece, EPSG:4326.
    pub lon: f64,
    pub lat: f64,
    /// The same point in EPSG:4543 (metres), for the grid.
    pub easting: f64,
    pub northing: f64,
    pub station: Option<String>,
    /// The station's department code.
    pub station_code: Option<String>,
    pub village_code: Option<String>,
    pub village_name: Option<String>,
    /// The first survey year from which the land no longer had its from-class.
    pub since: i32,
}

/// The flagged pieces of the question, computed from the precomputed change parcels (the
/// overlay of the two years is computed once if it was not yet).
#[tracing::instrument(skip_all, fields(layer = %q.layer.id))]
pub async fn flagged(client: &mut Client, q: &EnforcementQuery<'_>) -> EnforcementResult<Flagged> {
    let trend = TrendQuery {
        layer: q.layer,
        zone_layer: None,
        zone: None,
        from: q.from,
        to: q.to,
        level: Level::Two,
    };
    let (from, to) = onemap_trends::change_versions(client, &trend).await?;
    let zone_version = q.zone_layer.map(newest).transpose()?;
    let station_version = q.station_layer.map(newest).transpose()?;
    let village_version = q.village_layer.map(newest).transpose()?;
    let history: Vec<(i32, i64)> = onemap_trends::survey_versions(q.layer)?
        .iter()
        .filter(|v| v.year >= from.year && v.year <= to.year)
        .map(|v| (v.year, v.version_id))
        .collect();
    let history_ids: Vec<i64> = history.iter().map(|(_, id)| *id).collect();
    let none: Option<i32> = None;
    let rows = client
        .query(
            FLAGGED_SQL.as_str(),
            &[
                &from.version_id,
                &to.version_id,
                &zone_version,
                &to.srid,
                &none,
                &none,
                &none,
                &station_version,
                &village_version,
                &history_ids,
                &to.class_field,
            ],
        )
        .await
        .map_err(EnforcementError::pg("finding the flagged change pieces"))?;
    let pieces = rows
        .iter()
        .map(|r| {
            let from_class: String = r.get("from_class");
            let classes: Vec<String> = r.get("classes");
            FlaggedPiece {
                from_fid: r.get("from_fid"),
                to_fid: r.get("to_fid"),
                since: since(&history, &classes, &from_class),
                from_class,
                to_class: r.get("to_class"),
                trend: r.get("trend"),
                zone_fid: r.get("zone_fid"),
                zone_name: r.get("zone_name"),
                zone_kind: r.get("zone_kind"),
                area_m2: r.get("area_m2"),
                lon: r.get("lon"),
                lat: r.get("lat"),
                easting: r.get("easting"),
                northing: r.get("northing"),
                station: r.get("station"),
                station_code: r.get("station_code"),
                village_code: r.get("village_code"),
                village_name: r.get("village_name"),
            }
        })
        .collect();
    Ok(Flagged {
        from: from.year,
        to: to.year,
        pieces,
        zone_layer: q.zone_layer.map(|l| l.id.clone()),
        fallback_department: q.zone_layer.unwrap_or(q.layer).department.clone(),
    })
}

fn newest(layer: &Layer) -> EnforcementResult<i64> {
    layer.version(None).map(|v| v.id).ok_or_else(|| {
        EnforcementError::Trends(onemap_trends::TrendsError::NoVersion {
            layer: layer.id.clone(),
            year: None,
        })
    })
}

/// The year after the last survey (before the last) in which the spot still had its
/// from-class; the second year of `history` when it never had it after the first.
fn since(history: &[(i32, i64)], classes: &[String], from_class: &str) -> i32 {
    let mut since = history.get(1).or(history.last()).map_or(0, |(y, _)| *y);
    for (i, class) in classes
        .iter()
        .enumerate()
        .take(history.len().saturating_sub(1))
    {
        if class == from_class {
            since = history[i + 1].0;
        }
    }
    since
}

/// What hotspots are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HotspotBy {
    /// Each reserve zone feature.
    Zone,
    /// Each station jurisdiction.
    Station,
    /// Each village.
    Village,
    /// Square cells of the regular grid in EPSG:4543 metres.
    Grid,
}

impl HotspotBy {
    /// Parses `zone`, `station`, `village` or `grid`.
    pub fn parse(text: &str) -> EnforcementResult<Self> {
        match text {
            "zone" => Ok(Self::Zone),
            "station" => Ok(Self::Station),
            "village" => Ok(Self::Village),
            "grid" => Ok(Self::Grid),
            other => Err(EnforcementError::Invalid(format!(
                "by must be zone, station, village or grid, not {other:?}"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Zone => "zone",
            Self::Station => "station",
            Self::Village => "village",
            Self::Grid => "grid",
        }
    }
}

/// Flagged change area ranked, largest first.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Hotspots {
    pub unit: &'static str,
    pub from: i32,
    pub to: i32,
    pub by: &'static str,
    /// The zoning layer the flags were judged in (none: no zoning).
    pub zone_layer: Option<String>,
    /// The grid's cell size in metres (grid only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell_m: Option<f64>,
    /// All flagged area: the sum of every hotspot's.
    pub flagged_m2: f64,
    pub hotspots: Vec<Hotspot>,
}

/// One zone, station, village or grid cell with flagged change.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Hotspot {
    pub rank: usize,
    /// The zone's fid, the station's code (else name), the village code, or the grid cell's
    /// south-west corner `E_N` in EPSG:4543 metres; `none` for pieces without one.
    pub key: String,
    pub name: Option<String>,
    pub area_m2: f64,
    /// Flagged pieces.
    pub count: usize,
    /// The area-weighted mean of the pieces' points (EPSG:4326): where to look.
    pub lon: f64,
    pub lat: f64,
    /// The grid cell in EPSG:4543 `[min_e, min_n, max_e, max_n]` (grid only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<[f64; 4]>,
}

/// Ranks the flagged area by `by` (grid cells of `cell_m` metres), largest first (then more
/// pieces, then key).
pub fn hotspots(flagged: &Flagged, by: HotspotBy, cell_m: f64) -> Hotspots {
    let mut groups: BTreeMap<String, Hotspot> = BTreeMap::new();
    for p in &flagged.pieces {
        let (key, name, cell) = match by {
            HotspotBy::Zone => (
                p.zone_fid
                    .map_or_else(|| "none".to_owned(), |f| f.to_string()),
                p.zone_name.clone(),
                None,
            ),
            HotspotBy::Station => (
                p.station_code
                    .clone()
                    .or_else(|| p.station.clone())
                    .unwrap_or_else(|| "none".to_owned()),
                p.station.clone(),
                None,
            ),
            HotspotBy::Village => (
                p.village_code.clone().unwrap_or_else(|| "none".to_owned()),
                p.village_name.clone(),
                None,
            ),
            HotspotBy::Grid => {
                let e = (p.easting / cell_m).floor() * cell_m;
                let n = (p.northing / cell_m).floor() * cell_m;
                (
                    format!("{e:.0}_{n:.0}"),
                    None,
                    Some([e, n, e + cell_m, n + cell_m]),
                )
            }
        };
        let h = groups.entry(key.clone()).or_insert_with(|| Hotspot {
            rank: 0,
            key,
            name,
            area_m2: 0.0,
            count: 0,
            lon: 0.0,
            lat: 0.0,
            cell,
        });
        h.area_m2 += p.area_m2;
        h.count += 1;
        // Weighted sums for now; divided below.
        h.lon += p.lon * p.area_m2;
        h.lat += p.lat * p.area_m2;
    }
    let mut list: Vec<Hotspot> = groups.into_values().collect();
    for h in &mut list {
        h.lon /= h.area_m2;
        h.lat /= h.area_m2;
    }
    list.sort_by(|a, b| {
        b.area_m2
            .total_cmp(&a.area_m2)
            .then(b.count.cmp(&a.count))
            .then_with(|| a.key.cmp(&b.key))
    });
    for (i, h) in list.iter_mut().enumerate() {
        h.rank = i + 1;
    }
    Hotspots {
        unit: "m2",
        from: flagged.from,
        to: flagged.to,
        by: by.as_str(),
        zone_layer: flagged.zone_layer.clone(),
        cell_m: (by == HotspotBy::Grid).then_some(cell_m),
        flagged_m2: flagged.pieces.iter().fold(0.0, |s, p| s + p.area_m2),
        hotspots: list,
    }
}

/// One field task: a flagged piece to verify, for the station whose jurisdiction holds it (or,
/// outside every jurisdiction, the department owning the zone layer).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Task {
    /// The station's department code, or the fallback department.
    pub responsible: String,
    pub station: Option<String>,
    pub from_year: i32,
    pub to_year: i32,
    pub since: i32,
    pub from_class: String,
    pub to_class: String,
    pub trend: String,
    pub zone_kind: String,
    pub zone_name: Option<String>,
    pub village_code: Option<String>,
    pub village_name: Option<String>,
    pub lon: f64,
    pub lat: f64,
    pub area_m2: f64,
    pub from_fid: i64,
    pub to_fid: i64,
}

/// The CSV columns of [`tasks_csv`], in order.
pub const TASK_COLUMNS: [&str; 17] = [
    "responsible",
    "station",
    "from_year",
    "to_year",
    "since",
    "from_class",
    "to_class",
    "trend",
    "zone_kind",
    "zone_name",
    "village_code",
    "village_name",
    "lon",
    "lat",
    "area_m2",
    "from_fid",
    "to_fid",
];

/// The task list, by responsible unit then largest first; only `responsible`'s when given.
pub fn tasks(flagged: &Flagged, responsible: Option<&str>) -> Vec<Task> {
    let mut out: Vec<Task> = flagged
        .pieces
        .iter()
        .map(|p| Task {
            responsible: p
                .station_code
                .clone()
                .unwrap_or_else(|| flagged.fallback_department.clone()),
            station: p.station.clone(),
            from_year: flagged.from,
            to_year: flagged.to,
            since: p.since,
            from_class: p.from_class.clone(),
            to_class: p.to_class.clone(),
            trend: p.trend.clone(),
            zone_kind: p.zone_kind.clone(),
            zone_name: p.zone_name.clone(),
            village_code: p.village_code.clone(),
            village_name: p.village_name.clone(),
            lon: p.lon,
            lat: p.lat,
            area_m2: p.area_m2,
            from_fid: p.from_fid,
            to_fid: p.to_fid,
        })
        .filter(|t| responsible.is_none_or(|r| t.responsible == r))
        .collect();
    // Stable: pieces are already largest first.
    out.sort_by(|a, b| a.responsible.cmp(&b.responsible));
    out
}

/// A CSV cell: quoted when needed, and defused against spreadsheet formulas.
fn cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The tasks as CSV with a header line ([`TASK_COLUMNS`]); lon/lat to 7 decimals, areas to
/// 0.01 m².
pub fn tasks_csv(tasks: &[Task]) -> String {
    let mut out = TASK_COLUMNS.join(",");
    out.push('\n');
    let opt = |o: &Option<String>| cell(o.as_deref().unwrap_or_default());
    for t in tasks {
        let fields = [
            cell(&t.responsible),
            opt(&t.station),
            t.from_year.to_string(),
            t.to_year.to_string(),
            t.since.to_string(),
            cell(&t.from_class),
            cell(&t.to_class),
            cell(&t.trend),
            cell(&t.zone_kind),
            opt(&t.zone_name),
            opt(&t.village_code),
            opt(&t.village_name),
            format!("{:.7}", t.lon),
            format!("{:.7}", t.lat),
            format!("{:.2}", t.area_m2),
            t.from_fid.to_string(),
            t.to_fid.to_string(),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_change_appears_the_year_after_the_spot_last_had_its_from_class() {
        let h = [(2020, 1), (2021, 2), (2022, 3)];
        let c = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(since(&h, &c(&["0401", "0401", "0602"]), "0401"), 2022);
        assert_eq!(since(&h, &c(&["0401", "0602", "0602"]), "0401"), 2021);
        assert_eq!(since(&h, &c(&["", "", ""]), "0401"), 2021);
        assert_eq!(since(&h[1..], &c(&["0401", "0602"]), "0401"), 2022);
    }
}
