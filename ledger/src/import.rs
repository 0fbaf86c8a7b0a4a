//! Importing a batch of remote-sensing clues as a feed delivers it: a GeoJSON
//! FeatureCollection (points or polygons in lon/lat), a CSV with `lon`/`lat` columns or the
//! first sheet of an XLSX workbook with the same columns (or a GeoJSON `geometry` column), or
//! a Shapefile (`.shp`, or a `.zip` holding one) in any CRS its `.prj` names
//! ([`crate::shapefile`]; rows are its record numbers).
//!
//! Each row needs a clue id, a source level (national, provincial, city; 国家级, 省级, 市级),
//! a detection date (YYYY-MM-DD) and a suspected activity (mining, construction, road,
//! hydropower, tourism facility, grazing, reclamation, other, or their Chinese names). A row
//! that lacks one, or whose geometry is not a valid point or polygon in lon/lat, is reported
//! with its row number (the feature's position in the collection, from 1; the CSV line, the
//! header being line 1; the spreadsheet's row number) and the reason; the good rows load. A clue already in the ledger (same
//! clue id and source level) is left as it is, so re-importing a batch adds nothing. The new
//! clues are enriched (`sql/enrich.sql`) and given suggested departments (`sql/assign.sql`) in
//! the same transaction, which also appends `ledger.import` to the audit trail.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use onemap_access::Acting;
use serde::Serialize;
use serde_json::{json, Map, Value};
use tokio_postgres::Client;

use crate::{LedgerError, LedgerResult};

/// The layers a clue is enriched from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrichLayers {
    /// Land-use survey layer (one version per survey year, with a class field).
    pub landuse: String,
    /// Reserve zones (`zone` core/buffer/experimental or those names).
    pub zones: String,
    /// Station jurisdictions (`station` = the station's department code).
    pub stations: String,
    /// Village points (`code`, `name`).
    pub villages: String,
}

impl Default for EnrichLayers {
    fn default() -> Self {
        Self {
            landuse: "dltb".into(),
            zones: "reserve_zones".into(),
            stations: "station_jurisdictions".into(),
            villages: "villages".into(),
        }
    }
}

/// What to import.
#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    pub path: PathBuf,
    /// The batch's name (default: the file's name without extension).
    pub batch: Option<String>,
    pub layers: EnrichLayers,
}

/// A row that was not loaded.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RejectedRow {
    /// The feature's position (from 1), or the CSV line (the header is line 1).
    pub row: usize,
    pub clue_id: Option<String>,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ImportReport {
    pub batch: String,
    /// Rows read.
    pub rows: usize,
    /// Clues added (their ledger ids in `ids`).
    pub imported: usize,
    /// Good rows whose clue was already in the ledger.
    pub already_present: usize,
    pub rejected: Vec<RejectedRow>,
    pub ids: Vec<i64>,
    pub audit_seq: i64,
}

/// One good row.
#[derive(Debug, Clone, PartialEq)]
struct ClueRow {
    row: usize,
    clue_id: String,
    source: &'static str,
    detected_on: String,
    activity: &'static str,
    /// GeoJSON geometry, lon/lat.
    geometry: Value,
    props: Map<String, Value>,
}

const ID_KEYS: &[&str] = &["clue_id", "id", "clue", "线索编号", "编号"];
const SOURCE_KEYS: &[&str] = &[
    "source",
    "source_level",
    "source_lev",
    "level",
    "来源",
    "来源级别",
];
const DATE_KEYS: &[&str] = &[
    "detected_on",
    "detection_date",
    "detected",
    // the same names cut to a shapefile's 10 characters
    "detected_o",
    "detection_",
    "date",
    "发现日期",
    "监测日期",
];
const ACTIVITY_KEYS: &[&str] = &[
    "activity",
    "suspected_activity",
    "suspected_",
    "type",
    "疑似类型",
    "活动类型",
];

/// Imports the batch at `req.path` as `acting`.
#[tracing::instrument(skip_all, fields(path = %req.path.display()))]
pub async fn import(
    client: &mut Client,
    acting: &Acting,
    req: &ImportRequest,
) -> LedgerResult<ImportReport> {
    let batch = match &req.batch {
        Some(b) if !b.trim().is_empty() => b.trim().to_owned(),
        _ => req
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "batch".into()),
    };
    let (rows, mut rejected) = read(client, &req.path).await?;
    let total = rows.len() + rejected.len();
    let tx = client
        .transaction()
        .await
        .map_err(LedgerError::pg("starting the import"))?;
    let mut ids = Vec::new();
    let mut already = 0;
    let mut seen: HashMap<(String, &str), usize> = HashMap::new();
    for r in rows {
        if let Some(first) = seen.insert((r.clue_id.clone(), r.source), r.row) {
            rejected.push(RejectedRow {
                row: r.row,
                clue_id: Some(r.clue_id),
                reason: format!("the same clue as row {first}"),
            });
            continue;
        }
        let inserted = tx
            .query_opt(
                include_str!("sql/clue_insert.sql"),
                &[
                    &r.clue_id,
                    &r.source,
                    &batch,
                    &r.detected_on,
                    &r.activity,
                    &r.geometry.to_string(),
                    &Value::Object(r.props),
                    &acting.who.name(),
                ],
            )
            .await
            .map_err(LedgerError::pg("inserting a clue"))?;
        match inserted {
            Some(row) => ids.push(row.get::<_, i64>(0)),
            None => already += 1,
        }
    }
    rejected.sort_by_key(|r| r.row);
    let l = &req.layers;
    tx.execute(
        include_str!("sql/enrich.sql"),
        &[&ids, &l.zones, &l.stations, &l.villages, &l.landuse],
    )
    .await
    .map_err(LedgerError::pg("enriching the clues"))?;
    tx.execute(include_str!("sql/assign.sql"), &[&ids])
        .await
        .map_err(LedgerError::pg("suggesting departments"))?;
    let audit_seq = onemap_access::audit::append(
        &tx,
        acting,
        "ledger.import",
        Some(&batch),
        &json!({
            "file": req.path.display().to_string(),
            "rows": total,
            "imported": ids.len(),
            "already_present": already,
            "rejected": rejected.len(),
        }),
    )
    .await?;
    tx.commit()
        .await
        .map_err(LedgerError::pg("committing the import"))?;
    Ok(ImportReport {
        batch,
        rows: total,
        imported: ids.len(),
        already_present: already,
        rejected,
        ids,
        audit_seq,
    })
}

/// Reads the good rows and the rejected ones of a GeoJSON, CSV, XLSX or Shapefile batch.
async fn read(client: &Client, path: &Path) -> LedgerResult<(Vec<ClueRow>, Vec<RejectedRow>)> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let raw: Vec<RawRow> = match ext.as_str() {
        "shp" => crate::shapefile::rows(client, path, None).await?,
        "zip" => crate::shapefile::zipped_rows(client, path).await?,
        _ => read_table(path, &ext)?,
    };
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for (row, props, geometry) in raw {
        match clue_row(row, props, geometry) {
            Ok(r) => good.push(r),
            Err(rejected) => bad.push(rejected),
        }
    }
    Ok((good, bad))
}

/// The raw rows of a GeoJSON, CSV or XLSX file.
fn read_table(path: &Path, ext: &str) -> LedgerResult<Vec<RawRow>> {
    let file_error = |message: String| LedgerError::File {
        path: path.display().to_string(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| file_error(e.to_string()))?;
    let raw: Vec<RawRow> = match ext {
        "xlsx" => xlsx_rows(&bytes).map_err(file_error)?,
        "geojson" | "json" | "csv" => {
            let text = String::from_utf8(bytes)
                .map_err(|_| file_error("not UTF-8 text".into()))?
                .trim_start_matches('\u{feff}')
                .to_owned();
            if ext == "csv" {
                csv_rows(&text).map_err(file_error)?
            } else {
                geojson_rows(&text).map_err(file_error)?
            }
        }
        other => {
            return Err(file_error(format!(
                "clue batches are GeoJSON, CSV, XLSX or Shapefile (.shp, or a .zip holding \
                 one), not {other:?}"
            )))
        }
    };
    Ok(raw)
}

/// A row as read: its number, its attributes, and its GeoJSON geometry in lon/lat or why
/// there is none.
pub(crate) type RawRow = (usize, Map<String, Value>, Result<Value, String>);

fn geojson_rows(text: &str) -> Result<Vec<RawRow>, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    if doc["type"] != "FeatureCollection" {
        return Err("not a GeoJSON FeatureCollection".into());
    }
    let features = doc["features"]
        .as_array()
        .ok_or("a FeatureCollection without a features array")?;
    Ok(features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut props = f["properties"].as_object().cloned().unwrap_or_default();
            // The feature's own id stands for a missing clue id.
            if find(&props, ID_KEYS).is_none() {
                if let Some(id) = f.get("id").filter(|v| !v.is_null()) {
                    props.insert("clue_id".into(), id.clone());
                }
            }
            let geometry = match f.get("geometry") {
                None | Some(Value::Null) => Err("no geometry".to_owned()),
                Some(g) => check_geometry(g).map(|()| g.clone()),
            };
            (i + 1, props, geometry)
        })
        .collect())
}

fn csv_rows(text: &str) -> Result<Vec<RawRow>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("cannot read the header: {e}"))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let mut records = Vec::new();
    for (i, record) in reader.records().enumerate() {
        // Line of the record (the header is line 1), counted by the reader.
        let line = i + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                records.push((line, Err(format!("unreadable row: {e}"))));
                continue;
            }
        };
        let line = record
            .position()
            .map_or(line, |p| usize::try_from(p.line()).unwrap_or(line));
        if record.len() != headers.len() {
            records.push((
                line,
                Err(format!(
                    "{} fields where the header has {}",
                    record.len(),
                    headers.len()
                )),
            ));
            continue;
        }
        records.push((line, Ok(record.iter().map(str::to_owned).collect())));
    }
    table_rows(&headers, records, "CSV")
}

/// The first sheet of a workbook: the first row with values is the header; rows are numbered
/// as the spreadsheet shows them. Dates typed as dates (numbers to Excel) are read as dates.
fn xlsx_rows(bytes: &[u8]) -> Result<Vec<RawRow>, String> {
    let mut rows = crate::xlsx::read(bytes)?.into_iter();
    let Some((_, header)) = rows.next() else {
        return Err("the first sheet is empty".into());
    };
    let width = header.keys().next_back().map_or(0, |c| c + 1);
    let headers: Vec<String> = (0..width)
        .map(|c| {
            header
                .get(&c)
                .map(|v| v.to_text().trim().to_owned())
                .unwrap_or_default()
        })
        .collect();
    let date_columns: Vec<usize> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| DATE_KEYS.contains(&h.to_lowercase().as_str()))
        .map(|(i, _)| i)
        .collect();
    let records = rows
        .map(|(line, cells)| {
            if cells.keys().any(|c| *c >= width) {
                return (
                    line,
                    Err(format!("values beyond the header's {width} columns")),
                );
            }
            let values = (0..width)
                .map(|c| match cells.get(&c) {
                    Some(crate::xlsx::Value::Number(n)) if date_columns.contains(&c) => {
                        crate::xlsx::excel_date(*n).unwrap_or_else(|| n.to_string())
                    }
                    Some(v) => v.to_text(),
                    None => String::new(),
                })
                .collect();
            (line, Ok(values))
        })
        .collect();
    table_rows(&headers, records, "an XLSX sheet")
}

/// Rows of a table (CSV, a sheet) with `lon`/`lat` columns, or a `geometry` column holding a
/// GeoJSON geometry (what the XLSX export writes, so polygons survive a round trip).
fn table_rows(
    headers: &[String],
    records: Vec<(usize, Result<Vec<String>, String>)>,
    what: &str,
) -> Result<Vec<RawRow>, String> {
    let lower: Vec<String> = headers.iter().map(|h| h.to_lowercase()).collect();
    let column = |names: &[&str]| lower.iter().position(|h| names.contains(&h.as_str()));
    let lon = column(&["lon", "lng", "longitude", "x", "经度"]);
    let lat = column(&["lat", "latitude", "y", "纬度"]);
    let shape = column(&["geometry", "geojson", "几何"]);
    if (lon.is_none() || lat.is_none()) && shape.is_none() {
        return Err(format!(
            "{what} of clues needs lon and lat columns (or a GeoJSON geometry column)"
        ));
    }
    let mut rows = Vec::new();
    for (line, record) in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                rows.push((line, Map::new(), Err(e)));
                continue;
            }
        };
        let mut props = Map::new();
        for (i, value) in record.iter().enumerate() {
            if Some(i) != lon && Some(i) != lat && Some(i) != shape && !headers[i].is_empty() {
                props.insert(headers[i].clone(), Value::String(value.trim().to_owned()));
            }
        }
        let given = shape.map(|i| record[i].trim()).filter(|g| !g.is_empty());
        let geometry = match (given, lon, lat) {
            (Some(g), _, _) => serde_json::from_str::<Value>(g)
                .map_err(|e| format!("geometry is not GeoJSON: {e}"))
                .and_then(|g| check_geometry(&g).map(|()| g)),
            (None, Some(lon), Some(lat)) => {
                let coordinate = |i: usize, what: &str| {
                    record[i]
                        .trim()
                        .parse::<f64>()
                        .map_err(|_| format!("{what} is not a number: {:?}", &record[i]))
                };
                coordinate(lon, "lon")
                    .and_then(|x| coordinate(lat, "lat").map(|y| (x, y)))
                    .map(|(x, y)| json!({"type": "Point", "coordinates": [x, y]}))
                    .and_then(|g| check_geometry(&g).map(|()| g))
            }
            _ => Err("no geometry".to_owned()),
        };
        rows.push((line, props, geometry));
    }
    Ok(rows)
}

/// Looks up the first of `keys` (case-insensitive) that holds a non-empty value.
fn find(props: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| {
        props
            .iter()
            .find(|(name, _)| name.to_lowercase() == *k)
            .and_then(|(_, v)| match v {
                Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
    })
}

fn clue_row(
    row: usize,
    props: Map<String, Value>,
    geometry: Result<Value, String>,
) -> Result<ClueRow, RejectedRow> {
    let clue_id = find(&props, ID_KEYS);
    let reject = |reason: String| RejectedRow {
        row,
        clue_id: clue_id.clone(),
        reason,
    };
    let id = clue_id.clone().ok_or_else(|| reject("no clue id".into()))?;
    if id.chars().count() > 100 {
        return Err(reject("the clue id is longer than 100 characters".into()));
    }
    let source = find(&props, SOURCE_KEYS).ok_or_else(|| reject("no source level".into()))?;
    let source = parse_source(&source).ok_or_else(|| {
        reject(format!(
            "unknown source level {source:?} (national, provincial or city)"
        ))
    })?;
    let date = find(&props, DATE_KEYS).ok_or_else(|| reject("no detection date".into()))?;
    let detected_on = parse_date(&date).ok_or_else(|| {
        reject(format!(
            "detection date {date:?} is not a date (YYYY-MM-DD)"
        ))
    })?;
    let activity =
        find(&props, ACTIVITY_KEYS).ok_or_else(|| reject("no suspected activity".into()))?;
    let activity = parse_activity(&activity).ok_or_else(|| {
        reject(format!(
            "unknown activity {activity:?} (mining, construction, road, hydropower, \
             tourism facility, grazing, reclamation or other)"
        ))
    })?;
    let geometry = geometry.map_err(reject)?;
    Ok(ClueRow {
        row,
        clue_id: id,
        source,
        detected_on,
        activity,
        geometry,
        props,
    })
}

/// The source level, from its English or Chinese name.
pub fn parse_source(text: &str) -> Option<&'static str> {
    match text.trim().to_lowercase().as_str() {
        "national" | "国家" | "国家级" | "部级" => Some("national"),
        "provincial" | "province" | "省" | "省级" => Some("provincial"),
        "city" | "municipal" | "市" | "市级" => Some("city"),
        _ => None,
    }
}

/// The activity code, from its English or Chinese name.
pub fn parse_activity(text: &str) -> Option<&'static str> {
    let t = text.trim().to_lowercase().replace([' ', '-'], "_");
    Some(match t.as_str() {
        "mining" | "mine" | "采矿" | "矿山" | "采矿采砂" => "mining",
        "construction" | "建设" | "工程建设" | "建筑" => "construction",
        "road" | "道路" | "修路" => "road",
        "hydropower" | "水电" | "水电站" => "hydropower",
        "tourism_facility" | "tourism" | "旅游设施" | "旅游" => "tourism_facility",
        "grazing" | "放牧" | "过牧" => "grazing",
        "reclamation" | "开垦" | "垦殖" => "reclamation",
        "other" | "其他" => "other",
        _ => return None,
    })
}

/// A calendar date as `YYYY-MM-DD` (also read from `YYYY/MM/DD`), or `None`.
pub fn parse_date(text: &str) -> Option<String> {
    let parts: Vec<&str> = text.trim().split(['-', '/']).collect();
    let [y, m, d] = parts.as_slice() else {
        return None;
    };
    let (y, m, d): (i32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    ((1900..=2200).contains(&y) && (1..=days).contains(&d)).then(|| format!("{y:04}-{m:02}-{d:02}"))
}

/// Whether a GeoJSON geometry is a point, polygon or multipolygon in lon/lat.
pub(crate) fn check_geometry(g: &Value) -> Result<(), String> {
    let kind = g["type"].as_str().unwrap_or_default();
    let coordinates = &g["coordinates"];
    match kind {
        "Point" => position(coordinates),
        "Polygon" => polygon(coordinates),
        "MultiPolygon" => coordinates
            .as_array()
            .filter(|p| !p.is_empty())
            .ok_or("a MultiPolygon without polygons".to_owned())?
            .iter()
            .try_for_each(polygon),
        "" => Err("a geometry without a type".into()),
        other => Err(format!(
            "the geometry must be a point or a polygon, not a {other}"
        )),
    }
}

fn position(p: &Value) -> Result<(), String> {
    let xy: Vec<f64> = p
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    match xy.as_slice() {
        [lon, lat, ..] if lon.abs() <= 180.0 && lat.abs() <= 90.0 => Ok(()),
        [lon, lat, ..] => Err(format!("({lon}, {lat}) is not a longitude and latitude")),
        _ => Err(format!("{p} is not a position")),
    }
}

fn polygon(rings: &Value) -> Result<(), String> {
    let rings = rings
        .as_array()
        .filter(|r| !r.is_empty())
        .ok_or("a polygon without rings")?;
    for ring in rings {
        let points = ring.as_array().ok_or("a ring that is not a list")?;
        if points.len() < 4 {
            return Err("a polygon ring needs at least 4 positions".into());
        }
        points.iter().try_for_each(position)?;
        if points.first() != points.last() {
            return Err("a polygon ring that is not closed".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_checked_against_the_calendar() {
        assert_eq!(parse_date("2024-02-29").as_deref(), Some("2024-02-29"));
        assert_eq!(parse_date("2024/3/5").as_deref(), Some("2024-03-05"));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2024-13-01"), None);
        assert_eq!(parse_date("yesterday"), None);
    }

    #[test]
    fn geometries_other_than_points_and_polygons_in_lon_lat_are_refused() {
        let ok = json!({"type": "Polygon", "coordinates": [[[101,38],[101.1,38],[101.1,38.1],[101,38]]]});
        assert_eq!(check_geometry(&ok), Ok(()));
        assert!(
            check_geometry(&json!({"type": "Point", "coordinates": [500000, 4290000]}))
                .unwrap_err()
                .contains("longitude")
        );
        assert!(
            check_geometry(&json!({"type": "LineString", "coordinates": [[1,1],[2,2]]}))
                .unwrap_err()
                .contains("LineString")
        );
        assert!(check_geometry(
            &json!({"type": "Polygon", "coordinates": [[[101,38],[101.1,38],[101.1,38.1],[101,38.2]]]})
        )
        .unwrap_err()
        .contains("closed"));
    }
}
