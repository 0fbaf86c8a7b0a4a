//! What to ingest and where to publish it.

use std::path::PathBuf;

/// One file to publish as a new version of a layer.
#[derive(Debug, Clone, Default)]
pub struct IngestRequest {
    /// The file (GeoJSON, GeoPackage, Shapefile, FlatGeobuf, CSV, or a .zip of one).
    pub path: PathBuf,
    /// Layer id (`^[a-z][a-z0-9_]{0,62}$`); created if new.
    pub layer: String,
    /// The publishing department's code: the owner of a new layer, and it must own an existing one.
    pub department: String,
    /// Survey year of this version, if it has one.
    pub year: Option<i32>,
    /// Version label; defaults to the year, else the file stem.
    pub label: Option<String>,
    /// EPSG code overriding whatever CRS the file declares.
    pub srid: Option<i32>,
    /// Text encoding of a shapefile's `.dbf` or a CSV (`UTF-8`, `GBK`, `GB18030`,
    /// `ISO-8859-1`, ...), overriding the `.cpg`, the language byte and detection.
    pub encoding: Option<String>,
    /// GeoPackage feature table; required when the file holds several.
    pub source_layer: Option<String>,
    /// Chinese title of a new layer (default: the layer id).
    pub title_zh: Option<String>,
    /// English title of a new layer (default: the layer id).
    pub title_en: Option<String>,
    /// Theme code of a new layer (default: `land_use` when a class field was found, else
    /// `human_activity`).
    pub theme: Option<String>,
    /// Attribute holding the land-class code, for a new layer (default: a `DLBM` attribute in
    /// any case, if the features have one).
    pub class_field: Option<String>,
    /// Who ingests (user or connector name), kept on the version.
    pub ingested_by: String,
    /// Attributes renamed to canonical names as they are read (the survey connector's DLTB
    /// field table); empty for an ordinary ingest.
    pub field_aliases: Vec<FieldAlias>,
    /// Counters the ingest updates as it reads (for a job row or a progress bar); `None`
    /// when nobody watches.
    pub progress: Option<std::sync::Arc<crate::IngestProgress>>,
    /// Load the rows over several connections at once (see [`ParallelCopy`]); `None`: one
    /// COPY inside the publishing transaction.
    pub parallel: Option<ParallelCopy>,
}

/// Parallel loading: the rows go over `streams` COPY connections into a staging table that is
/// committed (so every connection sees it) but unattached, hidden from readers, and attached in
/// the publishing transaction. Connections go to `url`, which must reach the same database with
/// the same role as the publishing connection.
#[derive(Clone)]
pub struct ParallelCopy {
    pub url: String,
    /// COPY streams (at least 2).
    pub streams: usize,
}

impl ParallelCopy {
    /// Streams from `ONEMAP_INGEST_STREAMS` when set (0 or 1: no parallel loading), else one per
    /// core, at least 2 and at most 8.
    pub fn from_env(url: &str) -> Option<Self> {
        let streams = match std::env::var("ONEMAP_INGEST_STREAMS") {
            Ok(n) => n.trim().parse::<usize>().ok()?,
            Err(_) => std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8)),
        };
        (streams >= 2).then(|| Self {
            url: url.to_owned(),
            streams,
        })
    }
}

impl std::fmt::Debug for ParallelCopy {
    // The URL may hold a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParallelCopy")
            .field("streams", &self.streams)
            .finish_non_exhaustive()
    }
}

/// One canonical attribute name and the spellings that stand for it in files.
///
/// Per feature, unless an attribute spelled exactly `canonical` exists, one attribute is renamed
/// `canonical`: one equal to it in another case, else the first of `variants` present (any
/// case). Other spellings stay as they are, so no value is lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldAlias {
    pub canonical: String,
    pub variants: Vec<String>,
}

impl FieldAlias {
    /// The attribute among `names` to rename `canonical`, in the order of preference above.
    pub fn pick<'a>(&self, names: impl Iterator<Item = &'a str> + Clone) -> Option<String> {
        std::iter::once(self.canonical.as_str())
            .chain(self.variants.iter().map(String::as_str))
            .find_map(|want| names.clone().find(|n| n.eq_ignore_ascii_case(want)))
            .map(str::to_owned)
    }
}

impl IngestRequest {
    /// The version label: the given one, else the year, else the file stem.
    pub fn effective_label(&self) -> String {
        if let Some(label) = self.label.as_ref().filter(|l| !l.trim().is_empty()) {
            return label.clone();
        }
        if let Some(year) = self.year {
            return year.to_string();
        }
        self.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.layer.clone())
    }

    /// The file name recorded on the version (never the full local path).
    pub fn source_file(&self) -> String {
        self.path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.path.display().to_string())
    }
}
