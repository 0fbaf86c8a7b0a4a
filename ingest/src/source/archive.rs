//! `.zip` archives: the entries are extracted into a private temporary folder (removed when the
//! source is dropped), confined to it, and the one dataset inside is opened with its own
//! reader. Entry names that would leave the folder (`../`, absolute paths) are refused, as are
//! archives over the limits below (counting the bytes actually inflated, not the sizes the
//! archive declares). With several datasets inside, `--source-layer` names the one to load by
//! its file name or stem; errors name `archive.zip/entry`.

use std::io::Read;
use std::path::PathBuf;

use super::{detect, open_path, Crs, FeatureSource, Format, Opened};
use crate::sink::{GeometryKind, RowSink};
use crate::{IngestError, IngestRequest};

/// At most this many entries.
const MAX_ENTRIES: usize = 10_000;
/// At most this many bytes once inflated, all entries together.
const MAX_TOTAL_BYTES: u64 = 64 << 30;

/// A dataset read from inside an archive; holds the temporary folder alive.
pub struct ArchiveSource {
    _dir: tempfile::TempDir,
    inner: Box<dyn FeatureSource>,
    shown: PathBuf,
    extracted: PathBuf,
}

/// Extracts `req.path` and opens the dataset inside. The SHA-256 is the archive's own.
pub fn open(req: &IngestRequest, sha256: String) -> Result<Opened, IngestError> {
    let archive = req.path.as_path();
    let malformed = |detail: String| IngestError::Malformed {
        file: archive.to_owned(),
        detail,
    };
    let f = std::fs::File::open(archive).map_err(IngestError::io(archive))?;
    let mut zip = zip::ZipArchive::new(f)
        .map_err(|e| malformed(format!("not a readable zip archive: {e}")))?;
    if zip.len() > MAX_ENTRIES {
        return Err(malformed(format!(
            "{} entries; at most {MAX_ENTRIES} are accepted",
            zip.len()
        )));
    }
    let dir = tempfile::Builder::new()
        .prefix("onemap-zip-")
        .tempdir()
        .map_err(IngestError::io(archive))?;
    let mut total = 0u64;
    let mut datasets = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| malformed(format!("entry {}: {e}", i + 1)))?;
        if entry.is_dir() {
            continue;
        }
        let Some(rel) = entry.enclosed_name() else {
            return Err(malformed(format!(
                "entry {:?} would be written outside the archive's folder",
                entry.name()
            )));
        };
        let skipped = rel.components().any(|c| {
            let s = c.as_os_str().to_string_lossy();
            s.starts_with('.') || s == "__MACOSX"
        });
        if skipped {
            continue;
        }
        let target = dir.path().join(&rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(IngestError::io(archive))?;
        }
        let mut out = std::fs::File::create(&target).map_err(IngestError::io(archive))?;
        let budget = MAX_TOTAL_BYTES - total;
        let n = std::io::copy(&mut (&mut entry).take(budget + 1), &mut out)
            .map_err(|e| malformed(format!("entry {:?}: {e}", rel.display())))?;
        total += n;
        if total > MAX_TOTAL_BYTES {
            return Err(malformed(format!(
                "the archive inflates to more than {} GiB",
                MAX_TOTAL_BYTES >> 30
            )));
        }
        if let Some(gdb) = gdb_folder(&rel) {
            if !datasets.contains(&gdb) {
                datasets.push(gdb);
            }
            continue;
        }
        let ext = rel
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        if matches!(
            ext.as_deref(),
            Some("shp" | "gpkg" | "geojson" | "json" | "csv" | "fgb" | "zip")
        ) {
            datasets.push(rel);
        }
    }
    let names = |d: &[PathBuf]| {
        d.iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (chosen, pass_layer) = match (datasets.as_slice(), req.source_layer.as_deref()) {
        ([], _) => {
            return Err(malformed(
                "the archive holds no Shapefile, GeoPackage, GeoJSON, FlatGeobuf, CSV or File \
                 Geodatabase"
                    .into(),
            ))
        }
        ([one], layer) => (one.clone(), layer.map(str::to_owned)),
        (many, Some(wanted)) => {
            let hit = many.iter().find(|p| {
                let full = p.display().to_string();
                let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned());
                let name = p.file_name().map(|s| s.to_string_lossy().into_owned());
                [Some(full), stem, name]
                    .iter()
                    .flatten()
                    .any(|n| n.eq_ignore_ascii_case(wanted))
            });
            match hit {
                Some(p) => (p.clone(), None),
                None => {
                    return Err(IngestError::SourceLayer {
                        file: archive.to_owned(),
                        detail: format!(
                            "the archive holds no dataset {wanted:?}; it holds: {}",
                            names(many)
                        ),
                    })
                }
            }
        }
        (many, None) => {
            return Err(IngestError::SourceLayer {
                file: archive.to_owned(),
                detail: format!(
                    "the archive holds several datasets ({}); choose one as the source layer",
                    names(many)
                ),
            })
        }
    };
    let extracted = dir.path().join(&chosen);
    let shown = archive.join(&chosen);
    if detect(&extracted).ok() == Some(Format::Zip) {
        return Err(malformed(format!(
            "{} is an archive inside the archive; unpack it first",
            chosen.display()
        )));
    }
    let inner_req = IngestRequest {
        path: extracted.clone(),
        source_layer: pass_layer,
        ..req.clone()
    };
    let inner = open_path(&inner_req)
        .map_err(|e| e.in_archive(&extracted, &shown))?
        .source;
    Ok(Opened {
        source: Box::new(ArchiveSource {
            _dir: dir,
            inner,
            shown,
            extracted,
        }),
        sha256,
    })
}

/// The `.gdb` folder an entry lies in (an Esri File Geodatabase is a folder of files), if any.
fn gdb_folder(rel: &std::path::Path) -> Option<PathBuf> {
    let mut folder = PathBuf::new();
    let mut parts = rel.components().peekable();
    while let Some(part) = parts.next() {
        folder.push(part);
        parts.peek()?;
        let name = part.as_os_str().to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".gdb") {
            return Some(folder);
        }
    }
    None
}

impl FeatureSource for ArchiveSource {
    fn crs(&self) -> Option<Crs> {
        self.inner.crs().map(|c| Crs {
            srid: c.srid,
            source: format!("{} in the archive", c.source),
        })
    }

    fn crs_problem(&self) -> String {
        format!("{}: {}", self.shown.display(), self.inner.crs_problem())
    }

    fn wkt(&self) -> Option<String> {
        self.inner.wkt()
    }

    fn wkt_origin(&self) -> String {
        self.inner.wkt_origin()
    }

    fn encoding(&self) -> Option<(String, String)> {
        self.inner.encoding()
    }

    fn declared_kind(&self) -> Option<GeometryKind> {
        self.inner.declared_kind()
    }

    fn read(&mut self, sink: &mut RowSink) -> Result<(), IngestError> {
        self.inner
            .read(sink)
            .map_err(|e| e.in_archive(&self.extracted, &self.shown))
    }
}
