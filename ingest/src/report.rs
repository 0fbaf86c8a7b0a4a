//! What an ingest did, for the CLI's text and `--json` output.

use serde::Serialize;

pub use crate::sink::Rejection;

/// The outcome of one successful [`crate::ingest`] call.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IngestReport {
    pub layer: String,
    /// Whether this ingest created the layer.
    pub created_layer: bool,
    /// The published version (or, when `unchanged`, the existing one).
    pub version_id: i64,
    pub year: Option<i32>,
    pub label: String,
    pub features_read: u64,
    pub features_written: u64,
    /// Invalid geometries repaired with `ST_MakeValid` (and still written).
    pub features_repaired: u64,
    /// Features not written (null or empty geometry, deleted records, nothing left after
    /// repair); the first few are in `rejections`.
    pub features_rejected: u64,
    /// The first rejected features: feature number, field, reason.
    pub rejections: Vec<Rejection>,
    /// The text encoding of the attributes and how it was found (`None` for formats that are
    /// always UTF-8 and said nothing).
    pub encoding: Option<String>,
    pub encoding_source: Option<String>,
    /// What was changed on the way in: Z/M dropped, types promoted to multi, ...
    pub notes: Vec<String>,
    /// `point`, `line` or `polygon`.
    pub geometry_type: String,
    /// The SRID the geometries are stored in (the file's own).
    pub srid: i32,
    /// Where the SRID came from, e.g. `GeoPackage gpkg_spatial_ref_sys (EPSG:4490)` or `--srid`.
    pub srid_source: String,
    /// West, south, east, north in EPSG:4326.
    pub bbox: Option<[f64; 4]>,
    /// SHA-256 of the file's bytes, lower-case hex.
    pub sha256: String,
    pub source_file: String,
    pub duration_ms: u64,
    /// True when the same file was already the newest version of this layer and year: nothing
    /// was written.
    pub unchanged: bool,
}
