//! The one error type of the crate. Every variant names the file being ingested; problems in one
//! feature also name the feature's 1-based number in the file and, where known, the field.

use std::path::PathBuf;

/// Why an ingest did not publish anything.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The file could not be read.
    #[error("{file}: cannot read the file: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Neither the extension nor the first bytes name a format we read.
    #[error("{file}: unknown format (expected GeoJSON .geojson/.json, GeoPackage .gpkg, Shapefile .shp, FlatGeobuf .fgb, CSV .csv or a .zip of these)")]
    UnknownFormat { file: PathBuf },
    /// The format is read only by builds with an optional cargo feature (the Esri File
    /// Geodatabase through GDAL).
    #[error("{file}: {format} is read through GDAL, which this build of onemap leaves out; rebuild with the cargo feature `{feature}` (`cargo install --path cli --features {feature}` or `cargo build -p onemap --features {feature}`; needs Debian libgdal-dev)")]
    FeatureNotBuilt {
        file: PathBuf,
        format: &'static str,
        feature: &'static str,
    },
    /// The file as a whole is broken (not one feature in particular).
    #[error("{file}: malformed file: {detail}")]
    Malformed { file: PathBuf, detail: String },
    /// One feature is broken.
    #[error("{file}: feature {feature}{}: {problem}", field.as_ref().map(|f| format!(", field {f:?}")).unwrap_or_default())]
    Feature {
        file: PathBuf,
        /// 1-based position of the feature in the file.
        feature: u64,
        field: Option<String>,
        problem: String,
    },
    /// The file names no coordinate reference system we recognise, and no `--srid` was given.
    #[error("{file}: {detail}; give the EPSG code with --srid")]
    UnknownCrs { file: PathBuf, detail: String },
    /// The SRID is not in PostGIS's `spatial_ref_sys`.
    #[error("{file}: SRID {srid} (from {origin}) is not known to PostGIS (spatial_ref_sys)")]
    UnknownSrid {
        file: PathBuf,
        srid: i32,
        origin: String,
    },
    /// The GeoPackage holds no such feature table, or several and none was chosen.
    #[error("{file}: {detail}")]
    SourceLayer { file: PathBuf, detail: String },
    /// SQLite failed while reading a GeoPackage.
    #[error("{file}: GeoPackage error while {context}: {source}")]
    Geopackage {
        file: PathBuf,
        context: String,
        #[source]
        source: rusqlite::Error,
    },
    /// The request itself is invalid (layer id, theme, year).
    #[error("{file}: {detail}")]
    InvalidRequest { file: PathBuf, detail: String },
    /// The department code does not exist.
    #[error("{file}: unknown department {department:?}; valid codes: {}", valid.join(", "))]
    UnknownDepartment {
        file: PathBuf,
        department: String,
        valid: Vec<String>,
    },
    /// The layer exists and belongs to another department: only its owner publishes versions.
    #[error("{file}: layer {layer:?} belongs to department {owner:?}, not {department:?}; only the owner publishes new versions")]
    NotOwner {
        file: PathBuf,
        layer: String,
        owner: String,
        department: String,
    },
    /// The file's geometries do not fit the existing layer's geometry type.
    #[error("{file}: layer {layer:?} holds {layer_type} geometries but {}is {file_type}", feature.map(|n| format!("feature {n} ")).unwrap_or_else(|| "the file ".into()))]
    GeometryTypeMismatch {
        file: PathBuf,
        layer: String,
        layer_type: String,
        file_type: String,
        feature: Option<u64>,
    },
    /// The file mixes points, lines and polygons.
    #[error("{file}: feature {feature} is a {found} but the features before it are {first}s; a layer holds one geometry dimension (split the file by geometry type)")]
    MixedGeometry {
        file: PathBuf,
        feature: u64,
        first: String,
        found: String,
    },
    /// A new layer cannot be created from a file without features.
    #[error("{file}: the file holds no features, so the new layer's geometry type is unknown")]
    NoFeatures { file: PathBuf },
    /// The database refused a step.
    #[error("{file}: database error while {context}: {source}")]
    Postgres {
        file: PathBuf,
        context: String,
        #[source]
        source: tokio_postgres::Error,
    },
    /// A background task failed (a bug, not a data problem).
    #[error("{file}: internal error: {detail}")]
    Internal { file: PathBuf, detail: String },
}

impl IngestError {
    /// The file the error names.
    fn file_mut(&mut self) -> &mut PathBuf {
        match self {
            Self::Io { file, .. }
            | Self::UnknownFormat { file }
            | Self::FeatureNotBuilt { file, .. }
            | Self::Malformed { file, .. }
            | Self::Feature { file, .. }
            | Self::UnknownCrs { file, .. }
            | Self::UnknownSrid { file, .. }
            | Self::SourceLayer { file, .. }
            | Self::Geopackage { file, .. }
            | Self::InvalidRequest { file, .. }
            | Self::UnknownDepartment { file, .. }
            | Self::NotOwner { file, .. }
            | Self::GeometryTypeMismatch { file, .. }
            | Self::MixedGeometry { file, .. }
            | Self::NoFeatures { file }
            | Self::Postgres { file, .. }
            | Self::Internal { file, .. } => file,
        }
    }

    /// Renames a file extracted from an archive (`/tmp/onemap-zip-x/a.shp`, or its `a.dbf`
    /// sibling) as the user knows it (`delivery.zip/a.shp`).
    pub(crate) fn in_archive(
        mut self,
        extracted: &std::path::Path,
        shown: &std::path::Path,
    ) -> Self {
        let file = self.file_mut();
        if let (Some(from), Some(to)) = (extracted.parent(), shown.parent()) {
            if let Ok(rest) = file.strip_prefix(from) {
                *file = to.join(rest);
            }
        }
        self
    }

    /// Wraps a database error with the file and what was being done.
    pub(crate) fn pg(
        file: &std::path::Path,
        context: impl Into<String>,
    ) -> impl FnOnce(tokio_postgres::Error) -> Self {
        let file = file.to_owned();
        let context = context.into();
        move |source| Self::Postgres {
            file,
            context,
            source,
        }
    }

    /// Wraps an I/O error with the file.
    pub(crate) fn io(file: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self {
        let file = file.to_owned();
        move |source| Self::Io { file, source }
    }

    /// Wraps an SQLite error with the file and what was being done.
    pub(crate) fn gpkg(
        file: &std::path::Path,
        context: impl Into<String>,
    ) -> impl FnOnce(rusqlite::Error) -> Self {
        let file = file.to_owned();
        let context = context.into();
        move |source| Self::Geopackage {
            file,
            context,
            source,
        }
    }
}
