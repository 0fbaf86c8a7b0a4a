//! Readers of department files. [`open`] detects the format, hashes the file and reads its
//! metadata (CRS, declared geometry type); [`FeatureSource::read`] then streams the features
//! into a [`RowSink`] on a blocking thread.

mod archive;
mod csv;
mod curve_wkt;
mod curves;
mod fgb;
#[cfg(feature = "gdal")]
mod gdb;
mod geojson;
mod gpkg;
mod shapefile;
pub(crate) mod text_encoding;
mod zm;

pub use shapefile::{read_shapefile, ShapefileRecord, ShapefileTable};

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::sink::{GeometryKind, RowSink};
use crate::{IngestError, IngestRequest};

/// The coordinate reference system the geometries are stored in, and how we know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crs {
    pub srid: i32,
    /// Human-readable origin, e.g. `GeoJSON crs member urn:ogc:def:crs:EPSG::4490`.
    pub source: String,
}

/// An opened file, ready to stream its features.
pub trait FeatureSource: Send {
    /// The CRS the file declares; `None` when it declares none we recognise.
    fn crs(&self) -> Option<Crs>;

    /// Why [`FeatureSource::crs`] is `None`, for the error message.
    fn crs_problem(&self) -> String;

    /// The CRS as WKT (a shapefile's `.prj`), to be identified when [`FeatureSource::crs`]
    /// is `None`.
    fn wkt(&self) -> Option<String> {
        None
    }

    /// Where [`FeatureSource::wkt`] comes from, for the report and error messages (a
    /// shapefile's `.prj`, a FlatGeobuf header's WKT, ...): each source that has a WKT names
    /// its own place.
    fn wkt_origin(&self) -> String {
        "the file's WKT".to_owned()
    }

    /// The text encoding and how it was found, for formats where it varies.
    fn encoding(&self) -> Option<(String, String)> {
        None
    }

    /// The geometry dimension the file declares up front, if it does (GeoPackage does).
    fn declared_kind(&self) -> Option<GeometryKind> {
        None
    }

    /// How many features the file declares, when it says so up front (for progress).
    fn feature_count(&self) -> Option<u64> {
        None
    }

    /// Pushes every feature into `sink`, in file order. Stops at the first broken feature.
    fn read(&mut self, sink: &mut RowSink) -> Result<(), IngestError>;
}

/// An opened file and the SHA-256 of its bytes.
pub struct Opened {
    pub source: Box<dyn FeatureSource>,
    pub sha256: String,
}

/// The formats we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Zip,
    GeoJson,
    GeoPackage,
    Shapefile,
    Csv,
    FlatGeobuf,
    /// An Esri File Geodatabase folder (read through GDAL with the `gdal` feature).
    FileGdb,
}

/// Opens `req.path` (blocking: call it from a blocking thread). With field aliases in the
/// request, the source is wrapped so that the sink renames attributes as they are written.
pub fn open(req: &IngestRequest) -> Result<Opened, IngestError> {
    let opened = open_path(req)?;
    if req.field_aliases.is_empty() {
        return Ok(opened);
    }
    Ok(Opened {
        source: Box::new(Aliased {
            inner: opened.source,
            aliases: req.field_aliases.clone(),
        }),
        sha256: opened.sha256,
    })
}

/// A source whose attributes are renamed to canonical names on the way into the sink.
struct Aliased {
    inner: Box<dyn FeatureSource>,
    aliases: Vec<crate::FieldAlias>,
}

impl FeatureSource for Aliased {
    fn crs(&self) -> Option<Crs> {
        self.inner.crs()
    }

    fn crs_problem(&self) -> String {
        self.inner.crs_problem()
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

    fn feature_count(&self) -> Option<u64> {
        self.inner.feature_count()
    }

    fn read(&mut self, sink: &mut RowSink) -> Result<(), IngestError> {
        sink.rename_fields(self.aliases.clone());
        self.inner.read(sink)
    }
}

/// Opens `req.path` by its format, archives included.
fn open_path(req: &IngestRequest) -> Result<Opened, IngestError> {
    let path = req.path.as_path();
    match detect(path)? {
        Format::Zip => {
            let sha256 = sha256_file(path)?;
            archive::open(req, sha256)
        }
        Format::GeoJson => {
            // GeoJSON is parsed from memory anyway, so hash the same bytes.
            let bytes = std::fs::read(path).map_err(IngestError::io(path))?;
            let sha256 = hex::encode(Sha256::digest(&bytes));
            let source = geojson::GeoJsonSource::open(path, bytes)?;
            Ok(Opened {
                source: Box::new(source),
                sha256,
            })
        }
        Format::Shapefile => {
            let (source, sha256) = shapefile::ShapefileSource::open(path, req.encoding.as_deref())?;
            Ok(Opened {
                source: Box::new(source),
                sha256,
            })
        }
        Format::GeoPackage => {
            let sha256 = sha256_file(path)?;
            let source = gpkg::GpkgSource::open(path, req.source_layer.as_deref())?;
            Ok(Opened {
                source: Box::new(source),
                sha256,
            })
        }
        Format::Csv => {
            let sha256 = sha256_file(path)?;
            let source = csv::CsvSource::open(path, req.encoding.as_deref())?;
            Ok(Opened {
                source: Box::new(source),
                sha256,
            })
        }
        Format::FlatGeobuf => {
            let sha256 = sha256_file(path)?;
            let source = fgb::FgbSource::open(path)?;
            Ok(Opened {
                source: Box::new(source),
                sha256,
            })
        }
        Format::FileGdb => open_gdb(req),
    }
}

/// An Esri File Geodatabase folder, hashed over its files' names and bytes in name order.
#[cfg(feature = "gdal")]
fn open_gdb(req: &IngestRequest) -> Result<Opened, IngestError> {
    let path = req.path.as_path();
    let sha256 = sha256_dir(path)?;
    let source = gdb::GdbSource::open(path, req.source_layer.as_deref())?;
    Ok(Opened {
        source: Box::new(source),
        sha256,
    })
}

/// Without the `gdal` feature: a clear refusal naming the feature to build with.
#[cfg(not(feature = "gdal"))]
fn open_gdb(req: &IngestRequest) -> Result<Opened, IngestError> {
    Err(IngestError::FeatureNotBuilt {
        file: req.path.clone(),
        format: "an Esri File Geodatabase (.gdb)",
        feature: "gdal",
    })
}

/// SHA-256 over a folder's regular files (not recursing): each file's name, a NUL, its length
/// and its bytes, in name order.
#[cfg(feature = "gdal")]
fn sha256_dir(path: &Path) -> Result<String, IngestError> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(IngestError::io(path))? {
        let entry = entry.map_err(IngestError::io(path))?;
        if entry.file_type().map_err(IngestError::io(path))?.is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    for f in files {
        let name = f
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let mut file = std::fs::File::open(&f).map_err(IngestError::io(&f))?;
        let len = file.metadata().map_err(IngestError::io(&f))?.len();
        hasher.update(name.as_bytes());
        hasher.update([0u8]);
        hasher.update(len.to_le_bytes());
        loop {
            let n = file.read(&mut buf).map_err(IngestError::io(&f))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
    }
    Ok(hex::encode(hasher.finalize()))
}

fn detect(path: &Path) -> Result<Format, IngestError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match ext.as_deref() {
        Some("geojson" | "json") => return Ok(Format::GeoJson),
        Some("gpkg") => return Ok(Format::GeoPackage),
        Some("shp") => return Ok(Format::Shapefile),
        Some("zip") => return Ok(Format::Zip),
        Some("csv") => return Ok(Format::Csv),
        Some("fgb") => return Ok(Format::FlatGeobuf),
        Some("gdb") => return Ok(Format::FileGdb),
        _ => {}
    }
    // A folder holding a geodatabase's `gdb` marker and `.gdbtable` files, whatever its name.
    if path.is_dir() {
        if path.join("gdb").is_file() && path.join("a00000001.gdbtable").is_file() {
            return Ok(Format::FileGdb);
        }
        return Err(IngestError::UnknownFormat {
            file: path.to_owned(),
        });
    }
    let mut head = [0u8; 64];
    let mut file = std::fs::File::open(path).map_err(IngestError::io(path))?;
    let n = file.read(&mut head).map_err(IngestError::io(path))?;
    let head = &head[..n];
    if head.starts_with(b"PK\x03\x04") {
        return Ok(Format::Zip);
    }
    if head.starts_with(b"SQLite format 3\0") {
        return Ok(Format::GeoPackage);
    }
    if head.starts_with(b"fgb\x03") {
        return Ok(Format::FlatGeobuf);
    }
    let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    if text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return Ok(Format::GeoJson);
    }
    Err(IngestError::UnknownFormat {
        file: path.to_owned(),
    })
}

fn sha256_file(path: &Path) -> Result<String, IngestError> {
    let mut file = std::fs::File::open(path).map_err(IngestError::io(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(IngestError::io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The layer of a multi-layer container (a GeoPackage's feature tables, a File Geodatabase's
/// feature classes) to read: the one named `wanted` (exactly, else ignoring ASCII case), or the
/// only one. `container` and `kinds` (singular, plural) name them in messages ("GeoPackage",
/// ("feature table", "feature tables")).
pub(crate) fn choose_layer(
    file: &Path,
    names: &[String],
    wanted: Option<&str>,
    container: &str,
    (kind, kinds): (&str, &str),
) -> Result<String, IngestError> {
    let err = |detail: String| IngestError::SourceLayer {
        file: file.to_owned(),
        detail,
    };
    match (wanted, names) {
        (Some(w), _) => names
            .iter()
            .find(|n| n.as_str() == w)
            .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(w)))
            .cloned()
            .ok_or_else(|| {
                err(format!(
                    "no {kind} {w:?}; the {container} holds: {}",
                    names.join(", ")
                ))
            }),
        (None, [one]) => Ok(one.clone()),
        (None, []) => Err(err(format!("the {container} holds no {kinds}"))),
        (None, many) => Err(err(format!(
            "the {container} holds several {kinds} ({}); choose one as the source layer",
            many.join(", ")
        ))),
    }
}

/// Parses the EPSG code out of a CRS name: `EPSG:4490`, `urn:ogc:def:crs:EPSG::4490`,
/// `urn:ogc:def:crs:EPSG:6.6:4490`, `http://www.opengis.net/def/crs/EPSG/0/4490`; the OGC
/// CRS84 names mean 4326.
pub(crate) fn epsg_from_name(name: &str) -> Option<i32> {
    let n = name.trim();
    let upper = n.to_ascii_uppercase();
    if upper.ends_with("CRS84") && (upper.contains("OGC") || upper == "CRS84") {
        return Some(4326);
    }
    let code = if let Some(rest) = upper.strip_prefix("EPSG:") {
        rest
    } else if let Some(rest) = upper.strip_prefix("URN:OGC:DEF:CRS:EPSG:") {
        // the version part between the colons may be empty or e.g. 6.6
        rest.rsplit(':').next()?
    } else if let Some(rest) = upper
        .strip_prefix("HTTP://WWW.OPENGIS.NET/DEF/CRS/EPSG/")
        .or_else(|| upper.strip_prefix("HTTPS://WWW.OPENGIS.NET/DEF/CRS/EPSG/"))
    {
        rest.rsplit('/').next()?
    } else {
        return None;
    };
    code.parse::<i32>().ok().filter(|c| *c > 0)
}

#[cfg(test)]
mod tests {
    use super::epsg_from_name;

    #[test]
    fn crs_names_give_their_epsg_codes() {
        assert_eq!(epsg_from_name("urn:ogc:def:crs:EPSG::4490"), Some(4490));
        assert_eq!(epsg_from_name("EPSG:4543"), Some(4543));
        assert_eq!(epsg_from_name("urn:ogc:def:crs:EPSG:6.6:4522"), Some(4522));
        assert_eq!(epsg_from_name("urn:ogc:def:crs:OGC:1.3:CRS84"), Some(4326));
        assert_eq!(epsg_from_name("urn:ogc:def:crs:OGC::CRS84"), Some(4326));
        assert_eq!(
            epsg_from_name("http://www.opengis.net/def/crs/EPSG/0/4490"),
            Some(4490)
        );
        assert_eq!(epsg_from_name("EPSG:0"), None);
        assert_eq!(epsg_from_name("local"), None);
    }
}
