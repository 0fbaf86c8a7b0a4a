//! The synthetic demo county behind `onemap demo`.
//!
//! Builds a plausible Shandan County (山丹县) — county outline, Qilian reserve zones, station
//! jurisdictions, rivers, hydropower, monitoring stations, villages, roads and six years of
//! land-use survey parcels (地类图斑, 2019–2024) with realistic changes — and writes it as
//! ordinary GeoPackage and GeoJSON files that the normal ingest path then loads.
//!
//! The geography is fixed (the county does not change shape with the seed); the land-use field,
//! the parcel grid and the yearly changes follow [`DemoOptions::seed`]. Output is byte-for-byte
//! deterministic for a given seed and parcel count.

mod county;
mod geojson;
mod geom;
mod gpkg;
mod parcels;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use anyhow::Context;

use geom::{Polygon, Pt};

/// How big a demo county to build.
pub struct DemoOptions {
    /// Land-use survey parcels per survey year (±10%); 50 000 by default, at most 1 000 000.
    pub parcels: usize,
    /// Seed of the land-use field, the parcel grid and the yearly changes.
    pub seed: u64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            parcels: 50_000,
            seed: 620_725,
        }
    }
}

/// One written demo file and how to register it as a layer.
pub struct DemoFile {
    /// The written file (`.gpkg` or `.geojson`).
    pub path: PathBuf,
    /// Layer id, `^[a-z][a-z0-9_]*$`; the yearly survey files share one layer id.
    pub layer: &'static str,
    /// Owning department code from `schemas/data/departments.csv`.
    pub department: &'static str,
    /// Theme: land_use, protected_areas, forest_grassland, water, wildlife, human_activity,
    /// monitoring or enforcement.
    pub theme: &'static str,
    /// Chinese title.
    pub title_zh: &'static str,
    /// English title.
    pub title_en: &'static str,
    /// Survey year, for yearly layers.
    pub year: Option<i32>,
    /// The land-class field of land-use layers (`DLBM`).
    pub class_field: Option<&'static str>,
}

/// Most parcels per year a demo may ask for.
const MAX_PARCELS: usize = 1_000_000;
/// Fewest parcels per year: below this the grid cells are coarser than the villages.
const MIN_PARCELS: usize = 500;

/// Writes the demo files into `out_dir` (created if missing) and returns them in load order.
pub fn generate(out_dir: &Path, opts: &DemoOptions) -> anyhow::Result<Vec<DemoFile>> {
    anyhow::ensure!(
        (MIN_PARCELS..=MAX_PARCELS).contains(&opts.parcels),
        "demo parcels per year must be between {MIN_PARCELS} and {MAX_PARCELS}, got {}",
        opts.parcels
    );
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("creating demo directory {}", out_dir.display()))?;
    let geo = county::Geography::build()?;
    let mut files = Vec::new();
    for layer in geo.context_layers() {
        files.push(write_layer(out_dir, layer)?);
    }
    files.extend(parcels::write_survey_years(&geo, opts, out_dir)?);
    Ok(files)
}

fn write_layer(out_dir: &Path, layer: ContextLayer) -> anyhow::Result<DemoFile> {
    let path = out_dir.join(layer.file_name);
    match layer.format {
        Format::GeoPackage => gpkg::write(&path, &layer.spec, layer.features.into_iter()),
        Format::GeoJson => geojson::write(&path, &layer.spec, layer.features.into_iter()),
    }
    .with_context(|| format!("writing demo layer {}", path.display()))?;
    Ok(DemoFile { path, ..layer.meta })
}

/// How a layer is registered, without its path.
fn meta(
    layer: &'static str,
    department: &'static str,
    theme: &'static str,
    title_zh: &'static str,
    title_en: &'static str,
) -> DemoFile {
    DemoFile {
        path: PathBuf::new(),
        layer,
        department,
        theme,
        title_zh,
        title_en,
        year: None,
        class_field: None,
    }
}

/// Geometry of one demo feature, lon/lat degrees.
pub(crate) enum Geom {
    Point(Pt),
    LineString(Vec<Pt>),
    Polygon(Polygon),
    MultiPolygon(Vec<Polygon>),
}

/// One attribute value.
pub(crate) enum Value {
    Text(String),
    Int(i64),
    Real(f64),
}

/// Column type of an attribute.
#[derive(Clone, Copy)]
pub(crate) enum FieldKind {
    Text,
    Int,
    Real,
}

/// One feature: geometry and values in the order of [`LayerSpec::fields`].
pub(crate) struct Feature {
    pub geom: Geom,
    pub values: Vec<Value>,
}

/// What the writers need to know about a layer.
pub(crate) struct LayerSpec {
    /// Feature table name in a GeoPackage.
    pub table: &'static str,
    /// Human readable description (gpkg_contents.description).
    pub description: &'static str,
    /// EPSG code of the coordinates (4326 or 4490).
    pub srs_id: i32,
    /// GeoPackage geometry type name: POINT, LINESTRING, POLYGON or MULTIPOLYGON.
    pub geometry_type: &'static str,
    /// Attribute columns.
    pub fields: &'static [(&'static str, FieldKind)],
    /// `gpkg_contents.last_change`, fixed so files are reproducible.
    pub last_change: &'static str,
}

/// File format of a context layer.
pub(crate) enum Format {
    GeoPackage,
    GeoJson,
}

/// A non-survey layer ready to write.
pub(crate) struct ContextLayer {
    pub file_name: &'static str,
    pub format: Format,
    pub spec: LayerSpec,
    pub meta: DemoFile,
    pub features: Vec<Feature>,
}
