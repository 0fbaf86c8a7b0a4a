//! Offline packages (issue 8, item 5): every tile of some layers within a bounding box and a
//! zoom range, rendered through the server's own tile path ([`crate::tiles::TileSources`]:
//! the same SQL, the same generalised low-zoom land use, the same composite tiles) and written
//! to a PMTiles v3 or MBTiles file a patrol station can carry where there is no signal.
//!
//! The caller is the local operator (the CLI is trusted), so every layer it names can be
//! exported. Empty tiles are left out; tiles are stored gzip-compressed, as served. The
//! package's metadata carries the vector layers (TileJSON style) and the MapLibre style layers
//! the server draws those layers with, so the offline viewer shows the same land-use colours
//! without any server.

mod mbtiles;
mod pmtiles;

use std::f64::consts::PI;
use std::ops::RangeInclusive;
use std::path::Path;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use martin_core::tiles::postgres::PostgresPool;
use martin_tile_utils::TileCoord;
use onemap_schemas::authz::Principal;
use onemap_schemas::catalog::{self, Catalog, Layer, LayerVersion};
use serde_json::{json, Value};

pub use mbtiles::MbtilesWriter;
pub use pmtiles::{tile_id, PmtilesHeader, PmtilesReader, PmtilesWriter};

use crate::error::ServerError;
use crate::style::one_map_style;
use crate::tiles::{layer_tilejson, TileSources};

/// Web Mercator's latitude limit.
const MAX_LAT: f64 = 85.051_128_779_806_59;

/// What exporting can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The request names something that does not exist or makes no sense.
    #[error("{0}")]
    Request(String),
    #[error("rendering tiles: {0}")]
    Server(#[from] ServerError),
    #[error("reading the catalog: {0}")]
    Schema(#[from] onemap_schemas::SchemaError),
    #[error("database pool: {0}")]
    Pool(#[from] martin_core::tiles::postgres::PostgresError),
    #[error("writing MBTiles: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("metadata JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A package that is not what its format says.
    #[error("malformed package: {0}")]
    Format(String),
}

/// Result with [`ExportError`].
pub type ExportResult<T> = Result<T, ExportError>;

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// Layer ids; one MVT layer each in every tile, in this order.
    pub layers: Vec<String>,
    /// The survey year of layers that have years (undated layers of a several-layer export
    /// show their newest version, as composite tiles do); `None`: each layer's newest.
    pub year: Option<i32>,
    /// West, south, east, north in degrees; `None`: the union of the versions' extents.
    pub bbox: Option<[f64; 4]>,
    pub minzoom: u8,
    pub maxzoom: u8,
    /// Tiles rendered at once (each holds a database connection).
    pub concurrency: usize,
}

/// What the package holds besides tiles; written as MBTiles metadata rows or PMTiles
/// header fields and metadata JSON.
#[derive(Debug, Clone, Default)]
pub struct PackageInfo {
    pub name: String,
    pub description: String,
    pub attribution: String,
    pub minzoom: u8,
    pub maxzoom: u8,
    /// West, south, east, north.
    pub bounds: [f64; 4],
    /// TileJSON `vector_layers`.
    pub vector_layers: Vec<Value>,
    /// The MapLibre layers the server's style draws these layers with, their `source`
    /// renamed to `onemap` (the package).
    pub style_layers: Vec<Value>,
    /// `(layer id, version id, year)` of each exported layer.
    pub versions: Vec<(String, i64, Option<i32>)>,
}

impl PackageInfo {
    /// The zoom the viewer opens at.
    pub fn center_zoom(&self) -> u8 {
        self.maxzoom.min(self.minzoom.max(9))
    }

    /// The metadata JSON (PMTiles metadata; MBTiles `json` row).
    pub fn metadata_json(&self) -> Value {
        let versions: Vec<Value> = self
            .versions
            .iter()
            .map(|(layer, version, year)| json!({"layer": layer, "version": version, "year": year}))
            .collect();
        json!({
            "name": self.name,
            "description": self.description,
            "attribution": self.attribution,
            "type": "overlay",
            "vector_layers": self.vector_layers,
            "onemap:style_layers": self.style_layers,
            "onemap:versions": versions,
        })
    }
}

/// What an export did.
#[derive(Debug, Clone, Default)]
pub struct ExportReport {
    /// Tiles rendered (empty ones included).
    pub rendered: u64,
    /// Non-empty tiles written.
    pub tiles: u64,
    /// Distinct tile contents (PMTiles stores each once; MBTiles: equal to `tiles`).
    pub unique: u64,
    /// Compressed tile bytes written (before deduplication).
    pub tile_bytes: u64,
    /// Size of the package file.
    pub file_bytes: u64,
    /// Per zoom: `(z, tiles rendered, non-empty tiles, compressed bytes)`.
    pub zooms: Vec<(u8, u64, u64, u64)>,
    pub elapsed: Duration,
}

/// The tile columns and rows covering `bbox` at zoom `z`.
pub fn tile_range(bbox: [f64; 4], z: u8) -> (RangeInclusive<u32>, RangeInclusive<u32>) {
    let n = f64::from(1u32 << z);
    let last = (1u32 << z) - 1;
    let col = |lon: f64| ((lon.clamp(-180.0, 180.0) + 180.0) / 360.0 * n).floor();
    let row = |lat: f64| {
        let r = lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
        ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / PI) / 2.0 * n).floor()
    };
    let clamp = |v: f64| (v.max(0.0) as u32).min(last);
    let [w, s, e, north] = bbox;
    (
        clamp(col(w))..=clamp(col(e)),
        clamp(row(north))..=clamp(row(s)),
    )
}

/// The layers and versions `request` means, resolved as the tile routes resolve them.
fn resolve<'a>(
    catalog: &'a Catalog,
    request: &ExportRequest,
) -> ExportResult<Vec<(&'a Layer, &'a LayerVersion)>> {
    let who = Principal::Operator("export-tiles".into());
    let composite = request.layers.len() > 1;
    let mut out: Vec<(&Layer, &LayerVersion)> = Vec::new();
    for id in &request.layers {
        let layer = catalog
            .layer(&who, id)
            .ok_or_else(|| ExportError::Request(format!("no layer {id:?}")))?;
        if out.iter().any(|(l, _)| l.id == layer.id) {
            return Err(ExportError::Request(format!("layer {id:?} named twice")));
        }
        let undated = composite && layer.versions.iter().all(|v| v.year.is_none());
        let year = if undated { None } else { request.year };
        let version = layer.version(year).ok_or_else(|| {
            ExportError::Request(match year {
                Some(y) => format!("layer {id:?} has no version for {y}"),
                None => format!("layer {id:?} has no version yet"),
            })
        })?;
        out.push((layer, version));
    }
    Ok(out)
}

/// The package description: vector layers, style layers, bounds and zooms.
fn package_info(
    layers: &[(&Layer, &LayerVersion)],
    classes: &[onemap_schemas::reference::LandClass],
    bounds: [f64; 4],
    request: &ExportRequest,
) -> PackageInfo {
    let vector_layers = layers
        .iter()
        .flat_map(|(l, v)| {
            layer_tilejson("", l, v, request.year)["vector_layers"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let plain: Vec<&Layer> = layers.iter().map(|(l, _)| *l).collect();
    let style = one_map_style("", &plain, classes);
    let style_layers = style["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l.get("source").is_some())
        .map(|l| {
            let mut l = l.clone();
            l["source"] = json!("onemap");
            l
        })
        .collect();
    let names: Vec<&str> = layers.iter().map(|(l, _)| l.title_zh.as_str()).collect();
    let labels: Vec<String> = layers
        .iter()
        .map(|(l, v)| format!("{} ({})", l.title_en, v.label))
        .collect();
    let mut departments: Vec<&str> = layers
        .iter()
        .map(|(l, _)| l.department_name_zh.as_str())
        .collect();
    departments.dedup();
    PackageInfo {
        name: names.join(" + "),
        description: labels.join("; "),
        attribution: departments.join(", "),
        minzoom: request.minzoom,
        maxzoom: request.maxzoom,
        bounds,
        vector_layers,
        style_layers,
        versions: layers
            .iter()
            .map(|(l, v)| (l.id.clone(), v.id, v.year))
            .collect(),
    }
}

/// Where tiles go while rendering.
enum Sink {
    Pmtiles(PmtilesWriter),
    Mbtiles(MbtilesWriter),
}

/// Renders the package `request` describes into `out` (`.pmtiles` or `.mbtiles`), reading
/// the database at `database_url`.
pub async fn export(
    database_url: &str,
    request: &ExportRequest,
    out: &Path,
) -> ExportResult<ExportReport> {
    let started = Instant::now();
    if request.layers.is_empty() {
        return Err(ExportError::Request("no layers to export".into()));
    }
    if request.minzoom > request.maxzoom || request.maxzoom > 24 {
        return Err(ExportError::Request(format!(
            "zooms {}..{} make no sense (at most 0..24)",
            request.minzoom, request.maxzoom
        )));
    }
    let mut sink = match out.extension().and_then(|e| e.to_str()) {
        Some("pmtiles") => Sink::Pmtiles(PmtilesWriter::default()),
        Some("mbtiles") => Sink::Mbtiles(MbtilesWriter::create(out)?),
        _ => {
            return Err(ExportError::Request(format!(
                "{}: the package must end in .pmtiles or .mbtiles",
                out.display()
            )))
        }
    };
    let concurrency = request.concurrency.max(1);
    let pool = PostgresPool::new(database_url, None, None, None, concurrency + 1).await?;
    let (catalog, classes) = {
        let conn = pool.get().await.map_err(ServerError::from)?;
        (
            Catalog::load(&**conn).await?,
            catalog::land_classes(&**conn).await?,
        )
    };
    let layers = resolve(&catalog, request)?;
    let bounds = match request.bbox {
        Some(b) => b,
        None => union_bbox(&layers)
            .ok_or_else(|| ExportError::Request("the layers have no extent: give --bbox".into()))?,
    };
    if !(bounds[0] < bounds[2] && bounds[1] < bounds[3]) {
        return Err(ExportError::Request(format!(
            "bbox {bounds:?} is not west,south,east,north"
        )));
    }
    let info = package_info(&layers, &classes, bounds, request);
    // No cache: every tile is asked for once.
    let sources = TileSources::new(pool.clone(), pool, 0);
    let mut report = ExportReport::default();
    for z in request.minzoom..=request.maxzoom {
        let (cols, rows) = tile_range(bounds, z);
        let coords = cols.flat_map(move |x| rows.clone().map(move |y| TileCoord { z, x, y }));
        let (sources, layers) = (&sources, &layers);
        let mut tiles = futures::stream::iter(coords)
            .map(|xyz| async move { (xyz, sources.tile(layers, xyz).await) })
            .buffer_unordered(concurrency);
        let (mut rendered, mut written, mut bytes) = (0, 0, 0);
        while let Some((xyz, tile)) = tiles.next().await {
            let tile = tile?;
            rendered += 1;
            if tile.raw_len == 0 {
                continue;
            }
            written += 1;
            bytes += tile.gzip.len() as u64;
            match &mut sink {
                Sink::Pmtiles(w) => w.put(xyz.z, xyz.x, xyz.y, tile.gzip.to_vec()),
                Sink::Mbtiles(w) => w.put(xyz.z, xyz.x, xyz.y, &tile.gzip)?,
            }
        }
        report.zooms.push((z, rendered, written, bytes));
        report.rendered += rendered;
        report.tiles += written;
        report.tile_bytes += bytes;
    }
    let (unique, file_bytes) = match sink {
        Sink::Pmtiles(w) => (w.unique() as u64, w.finish(out, &info)?),
        Sink::Mbtiles(w) => (report.tiles, w.finish(out, &info)?),
    };
    report.unique = unique;
    report.file_bytes = file_bytes;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// The union of the versions' extents.
fn union_bbox(layers: &[(&Layer, &LayerVersion)]) -> Option<[f64; 4]> {
    layers
        .iter()
        .filter_map(|(_, v)| v.bbox.as_deref().filter(|b| b.len() == 4))
        .map(|b| [b[0], b[1], b[2], b[3]])
        .reduce(|a, b| {
            [
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ]
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tile_range_covers_the_box_at_every_zoom() {
        assert_eq!(tile_range([-180.0, -90.0, 180.0, 90.0], 0), (0..=0, 0..=0));
        // Shandan County, about 100.7–101.8°E, 37.9–38.9°N.
        let shandan = [100.7, 37.9, 101.8, 38.9];
        assert_eq!(tile_range(shandan, 1), (1..=1, 0..=0));
        let (cols, rows) = tile_range(shandan, 12);
        // 101.162109375°E is the east edge of column 3198 at z12.
        assert!(cols.contains(&3198) && cols.contains(&3199));
        assert!(rows.start() < rows.end());
        assert_eq!(tile_range([179.9, 0.0, 180.0, 1.0], 3).0, 7..=7);
    }
}
