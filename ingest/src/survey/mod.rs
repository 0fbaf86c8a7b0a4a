//! The annual land-use change survey connector (年度国土变更调查): finds the yearly deliveries
//! in a file or folder, publishes each new or changed year as a version of the land-use layer
//! (DLTB fields renamed to their canonical names, see [`fields`]), then checks every loaded
//! year: land-class codes against `onemap.land_classes` (GB/T 21010 and the survey's working
//! classes; unknown codes are kept and listed, never dropped) and stated parcel areas (TBMJ)
//! against the computed geodesic `area_m2`.
//!
//! A year whose file is already that year's newest version (same SHA-256) is recognised by the
//! ordinary ingest and left unchanged; its checks are not repeated.

pub mod fields;

use std::path::{Path, PathBuf};

use serde::Serialize;
use tokio_postgres::Client;

use crate::{IngestError, IngestReport, IngestRequest};

/// Default land-use layer, owner, theme and class field of the survey.
pub const DEFAULT_LAYER: &str = "dltb";
pub const DEFAULT_DEPARTMENT: &str = "zrzy";
const THEME: &str = "land_use";
const CLASS_FIELD: &str = "DLBM";
/// Stated and computed parcel areas may differ by this share before a parcel is reported.
pub const AREA_TOLERANCE: f64 = 0.01;
/// Examples kept per check.
const MAX_EXAMPLES: i64 = 10;

/// What to sync.
#[derive(Debug, Clone)]
pub struct SurveySyncRequest {
    /// One delivery (a file) or a folder of yearly deliveries.
    pub path: PathBuf,
    /// The survey year: required for a file whose name holds none; for a folder, only that
    /// year is synced.
    pub year: Option<i32>,
    pub layer: String,
    pub department: String,
    /// EPSG code overriding the files' own CRS.
    pub srid: Option<i32>,
    /// Text encoding overriding `.cpg`/detection.
    pub encoding: Option<String>,
    /// Feature table (GeoPackage) or dataset (zip) holding the parcels, when there are several.
    pub source_layer: Option<String>,
    pub ingested_by: String,
}

impl Default for SurveySyncRequest {
    fn default() -> Self {
        Self {
            path: PathBuf::new(),
            year: None,
            layer: DEFAULT_LAYER.into(),
            department: DEFAULT_DEPARTMENT.into(),
            srid: None,
            encoding: None,
            source_layer: None,
            ingested_by: "survey sync".into(),
        }
    }
}

/// One year's delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub year: i32,
    pub path: PathBuf,
}

/// A land-class code the classification does not list, and how many parcels carry it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnknownClass {
    /// `None`: the parcels have no DLBM at all.
    pub code: Option<String>,
    pub parcels: i64,
}

/// A parcel whose stated area (TBMJ) differs from the computed one by more than 1%.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaMismatch {
    pub fid: i64,
    pub bsm: Option<String>,
    pub tbmj: f64,
    pub area_m2: f64,
}

/// What the checks found in one loaded year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurveyChecks {
    pub parcels: i64,
    /// Canonical DLTB fields the delivery does not carry (under any accepted spelling).
    pub missing_fields: Vec<String>,
    /// Codes not in `onemap.land_classes`, most parcels first (all of them, kept in the data).
    pub unknown_classes: Vec<UnknownClass>,
    /// Parcels without a numeric TBMJ.
    pub no_tbmj: i64,
    /// Parcels whose TBMJ differs from `area_m2` by more than [`AREA_TOLERANCE`].
    pub area_mismatches: i64,
    /// The largest relative differences first.
    pub area_examples: Vec<AreaMismatch>,
}

/// The outcome of one year.
#[derive(Debug, Clone, Serialize)]
pub struct YearOutcome {
    pub year: i32,
    pub file: PathBuf,
    /// The ingest report (`unchanged` when the same file was already loaded).
    pub report: Option<IngestReport>,
    /// The checks of a newly loaded year.
    pub checks: Option<SurveyChecks>,
    /// Why the year was not published.
    pub error: Option<String>,
}

/// The outcome of a sync, year by year in year order.
#[derive(Debug, Clone, Serialize)]
pub struct SurveySyncReport {
    pub layer: String,
    pub years: Vec<YearOutcome>,
}

impl SurveySyncReport {
    /// Years published as new versions.
    pub fn loaded(&self) -> impl Iterator<Item = &YearOutcome> {
        self.years
            .iter()
            .filter(|y| y.report.as_ref().is_some_and(|r| !r.unchanged))
    }

    /// Years whose delivery was already loaded.
    pub fn unchanged(&self) -> impl Iterator<Item = &YearOutcome> {
        self.years
            .iter()
            .filter(|y| y.report.as_ref().is_some_and(|r| r.unchanged))
    }

    /// Years that failed.
    pub fn failed(&self) -> impl Iterator<Item = &YearOutcome> {
        self.years.iter().filter(|y| y.error.is_some())
    }
}

/// Extensions of the datasets a delivery may be.
const DATASETS: &[&str] = &["gpkg", "shp", "zip", "fgb", "geojson", "json", "csv"];

/// The deliveries under `path`, one per year, in year order. A file is one delivery (its year
/// from `year`, else from its name); in a folder (searched three levels deep), each dataset's
/// year comes from its name or the nearest folder name holding one (`DLTB_2023.gpkg`,
/// `620725_2023/DLTB.shp`), and `year` keeps only that year. Where a year has several
/// datasets, the ones named like `DLTB` are preferred; if that leaves several, the year is
/// ambiguous and refused.
pub fn deliveries(path: &Path, year: Option<i32>) -> Result<Vec<Delivery>, IngestError> {
    let invalid = |detail: String| IngestError::InvalidRequest {
        file: path.to_owned(),
        detail,
    };
    let meta = std::fs::metadata(path).map_err(IngestError::io(path))?;
    if !meta.is_dir() {
        let year = year
            .or_else(|| year_in(&path.file_stem().unwrap_or_default().to_string_lossy()))
            .ok_or_else(|| {
                invalid("the file name holds no survey year; give it with --year".into())
            })?;
        return Ok(vec![Delivery {
            year,
            path: path.to_owned(),
        }]);
    }
    let mut found: Vec<Delivery> = Vec::new();
    walk(path, path, 0, &mut found)?;
    let mut years: Vec<i32> = found.iter().map(|d| d.year).collect();
    years.sort_unstable();
    years.dedup();
    if let Some(y) = year {
        years.retain(|x| *x == y);
        if years.is_empty() {
            return Err(invalid(format!("the folder holds no delivery for {y}")));
        }
    }
    if years.is_empty() {
        return Err(invalid(format!(
            "the folder holds no dataset ({}) with a year in its name or its folder's name",
            DATASETS.join(", ")
        )));
    }
    let mut out = Vec::new();
    for y in years {
        let mut of_year: Vec<&Delivery> = found.iter().filter(|d| d.year == y).collect();
        if of_year.len() > 1 {
            let dltb: Vec<&Delivery> = of_year
                .iter()
                .copied()
                .filter(|d| {
                    d.path
                        .file_stem()
                        .is_some_and(|s| s.to_string_lossy().to_ascii_uppercase().contains("DLTB"))
                })
                .collect();
            if !dltb.is_empty() {
                of_year = dltb;
            }
        }
        match of_year.as_slice() {
            [one] => out.push((*one).clone()),
            many => {
                return Err(invalid(format!(
                    "{y} has several deliveries ({}); sync the file itself with --year",
                    many.iter()
                        .map(|d| d.path.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
        }
    }
    Ok(out)
}

fn walk(root: &Path, dir: &Path, depth: usize, out: &mut Vec<Delivery>) -> Result<(), IngestError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(IngestError::io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            // A File Geodatabase is a folder; it is not read here (GDAL is not built in).
            if depth < 3 && !name.to_ascii_lowercase().ends_with(".gdb") {
                walk(root, &p, depth + 1, out)?;
            }
            continue;
        }
        let ext = p
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if !DATASETS.contains(&ext.as_str()) {
            continue;
        }
        // The file's own name first, then its folders up to the root.
        let year = std::iter::once(
            p.file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
        )
        .chain(
            p.parent()
                .into_iter()
                .flat_map(Path::ancestors)
                .take_while(|a| a.starts_with(root) && *a != root)
                .map(|a| {
                    a.file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned()
                }),
        )
        .find_map(|n| year_in(&n));
        if let Some(year) = year {
            out.push(Delivery { year, path: p });
        }
    }
    Ok(())
}

/// A survey year in a name: a run of exactly four digits between 1950 and 2100 (`620725_2023`
/// gives 2023, the six-digit county code is not a year).
pub fn year_in(name: &str) -> Option<i32> {
    name.split(|c: char| !c.is_ascii_digit())
        .filter(|run| run.len() == 4)
        .filter_map(|run| run.parse::<i32>().ok())
        .find(|y| (1950..=2100).contains(y))
}

/// The ingest request that publishes `delivery` into the land-use layer.
pub fn ingest_request(req: &SurveySyncRequest, delivery: &Delivery) -> IngestRequest {
    IngestRequest {
        path: delivery.path.clone(),
        layer: req.layer.clone(),
        department: req.department.clone(),
        year: Some(delivery.year),
        label: None,
        srid: req.srid,
        encoding: req.encoding.clone(),
        source_layer: req.source_layer.clone(),
        title_zh: Some("地类图斑".into()),
        title_en: Some("Land-use survey parcels".into()),
        theme: Some(THEME.into()),
        class_field: Some(CLASS_FIELD.into()),
        ingested_by: req.ingested_by.clone(),
        field_aliases: fields::aliases(),
        progress: None,
        parallel: None,
    }
}

/// Checks a loaded survey version: fields, land classes, stated areas.
pub async fn check(
    client: &Client,
    version_id: i64,
) -> Result<SurveyChecks, tokio_postgres::Error> {
    let present: Vec<String> = client
        .query_opt(include_str!("sql/first_parcel.sql"), &[&version_id])
        .await?
        .and_then(|r| {
            r.get::<_, serde_json::Value>(0)
                .as_object()
                .map(|o| o.keys().cloned().collect())
        })
        .unwrap_or_default();
    let missing_fields = fields::canonical_names()
        .into_iter()
        .filter(|c| !present.iter().any(|p| p == c))
        .map(str::to_owned)
        .collect();
    let unknown_classes = client
        .query(include_str!("sql/unknown_classes.sql"), &[&version_id])
        .await?
        .iter()
        .map(|r| UnknownClass {
            code: r.get(0),
            parcels: r.get(1),
        })
        .collect();
    let summary = client
        .query_one(
            include_str!("sql/area_summary.sql"),
            &[&version_id, &AREA_TOLERANCE],
        )
        .await?;
    let area_examples = client
        .query(
            include_str!("sql/area_examples.sql"),
            &[&version_id, &AREA_TOLERANCE, &MAX_EXAMPLES],
        )
        .await?
        .iter()
        .map(|r| AreaMismatch {
            fid: r.get("fid"),
            bsm: r.get("bsm"),
            tbmj: r.get("tbmj"),
            area_m2: r.get("area_m2"),
        })
        .collect();
    Ok(SurveyChecks {
        parcels: summary.get("parcels"),
        missing_fields,
        unknown_classes,
        no_tbmj: summary.get("no_tbmj"),
        area_mismatches: summary.get("mismatched"),
        area_examples,
    })
}

/// Syncs the deliveries of `req` in year order: each is published through `publish` (the
/// caller's ingest, e.g. with authorization and audit, or plain [`crate::ingest`]), and each
/// newly loaded year is checked. A year that fails is reported and the next one still tried;
/// nothing of a failed year is published.
pub async fn sync<F>(
    client: &mut Client,
    req: &SurveySyncRequest,
    mut publish: F,
) -> Result<SurveySyncReport, IngestError>
where
    F: AsyncFnMut(&mut Client, IngestRequest) -> Result<IngestReport, String>,
{
    let found = deliveries(&req.path, req.year)?;
    let mut years = Vec::new();
    for delivery in found {
        let ingest_req = ingest_request(req, &delivery);
        let mut outcome = YearOutcome {
            year: delivery.year,
            file: delivery.path.clone(),
            report: None,
            checks: None,
            error: None,
        };
        match publish(client, ingest_req).await {
            Ok(report) => {
                if !report.unchanged {
                    let checks = check(client, report.version_id)
                        .await
                        .map_err(IngestError::pg(&delivery.path, "checking the survey year"))?;
                    outcome.checks = Some(checks);
                }
                outcome.report = Some(report);
            }
            Err(e) => outcome.error = Some(e),
        }
        years.push(outcome);
    }
    Ok(SurveySyncReport {
        layer: req.layer.clone(),
        years,
    })
}

#[cfg(test)]
mod tests {
    use super::year_in;

    #[test]
    fn years_are_found_in_delivery_names() {
        assert_eq!(year_in("DLTB_2023"), Some(2023));
        assert_eq!(year_in("620725_2023"), Some(2023));
        assert_eq!(year_in("2019"), Some(2019));
        assert_eq!(year_in("dltb2024v2"), Some(2024));
        assert_eq!(year_in("620725"), None);
        assert_eq!(year_in("DLTB_1234"), None);
        assert_eq!(year_in("DLTB"), None);
    }
}
