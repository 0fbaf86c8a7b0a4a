//! What to ingest and where to publish it.

use std::path::PathBuf;

/// One file to publish as a new version of a layer.
#[derive(Debug, Clone, Default)]
pub struct IngestRequest {
    /// The GeoJSON or GeoPackage file.
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
