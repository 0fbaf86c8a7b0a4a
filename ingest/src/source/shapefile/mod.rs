//! Shapefile: `.shp` geometries and `.dbf` attributes read in step, record by record, with the
//! `.prj` (CRS, identified by [`crate::crs`]) and `.cpg` (text encoding) beside them. Sibling
//! files are found whatever the case of their extension. The stored fid is the record number.
//!
//! Text encoding, first found wins: `--encoding`; the `.cpg`; the DBF language-driver byte;
//! detection over every text value and field name of the `.dbf` (see
//! [`super::text_encoding`]).

mod dbf;
mod shp;

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::text_encoding::{self, TextEncoding};
use super::{Crs, FeatureSource};
use crate::sink::RowSink;
use crate::IngestError;

use dbf::DbfReader;
use shp::ShpReader;

/// An opened shapefile.
pub struct ShapefileSource {
    file: PathBuf,
    shp: ShpReader,
    dbf: DbfReader,
    encoding: TextEncoding,
    prj: Option<String>,
}

/// The sibling of `shp` with extension `ext` (any case), if it exists.
fn sibling(shp: &Path, ext: &str) -> Option<PathBuf> {
    let stem = shp.file_stem()?.to_string_lossy().into_owned();
    let dir = shp
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    for candidate in [ext.to_ascii_lowercase(), ext.to_ascii_uppercase()] {
        let p = dir.join(format!("{stem}.{candidate}"));
        if p.is_file() {
            return Some(p);
        }
    }
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_stem().is_some_and(|s| s.to_string_lossy() == stem)
                && p.extension()
                    .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case(ext))
        })
}

impl ShapefileSource {
    /// Opens `file` (the `.shp`) and its siblings, chooses the text encoding, and returns the
    /// source with the SHA-256 over `.shp`, `.dbf`, `.prj` and `.cpg` in that order.
    pub fn open(file: &Path, encoding: Option<&str>) -> Result<(Self, String), IngestError> {
        let missing = |ext: &str| IngestError::Malformed {
            file: file.to_owned(),
            detail: format!("the shapefile has no .{ext} file beside it"),
        };
        let dbf_path = sibling(file, "dbf").ok_or_else(|| missing("dbf"))?;
        let prj_path = sibling(file, "prj");
        let cpg_path = sibling(file, "cpg");

        let mut hasher = Sha256::new();
        for p in [
            Some(file),
            Some(dbf_path.as_path()),
            prj_path.as_deref(),
            cpg_path.as_deref(),
        ]
        .into_iter()
        .flatten()
        {
            hash_into(&mut hasher, p)?;
        }
        let sha256 = hex::encode(hasher.finalize());

        let prj = match &prj_path {
            Some(p) => Some(read_text(p)?),
            None => None,
        };
        let shp = ShpReader::open(file)?;
        let mut dbf = DbfReader::open(&dbf_path)?;
        let encoding = choose_encoding(file, &dbf_path, cpg_path.as_deref(), &dbf, encoding)?;
        dbf.decode_names(encoding.encoding);
        Ok((
            Self {
                file: file.to_owned(),
                shp,
                dbf,
                encoding,
                prj,
            },
            sha256,
        ))
    }
}

fn read_text(p: &Path) -> Result<String, IngestError> {
    let bytes = std::fs::read(p).map_err(IngestError::io(p))?;
    Ok(String::from_utf8_lossy(&bytes).trim().to_owned())
}

fn hash_into(hasher: &mut Sha256, p: &Path) -> Result<(), IngestError> {
    let mut f = std::fs::File::open(p).map_err(IngestError::io(p))?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(IngestError::io(p))?;
        if n == 0 {
            return Ok(());
        }
        hasher.update(&buf[..n]);
    }
}

fn choose_encoding(
    file: &Path,
    dbf_path: &Path,
    cpg: Option<&Path>,
    dbf: &DbfReader,
    given: Option<&str>,
) -> Result<TextEncoding, IngestError> {
    if let Some(label) = given {
        let encoding = text_encoding::for_label(label).ok_or_else(|| IngestError::InvalidRequest {
            file: file.to_owned(),
            detail: format!("--encoding {label:?} names no encoding we know (try UTF-8, GBK, GB18030, ISO-8859-1)"),
        })?;
        return Ok(TextEncoding {
            encoding,
            source: format!("--encoding {label}"),
        });
    }
    if let Some(cpg) = cpg {
        let label = read_text(cpg)?;
        match text_encoding::for_label(&label) {
            Some(encoding) => {
                return Ok(TextEncoding {
                    encoding,
                    source: format!(".cpg file ({label})"),
                })
            }
            None => {
                return Err(IngestError::Malformed {
                    file: file.to_owned(),
                    detail: format!(
                        "the .cpg names the encoding {label:?}, which we do not know; give one with --encoding"
                    ),
                })
            }
        }
    }
    if let Some(encoding) = text_encoding::for_ldid(dbf.ldid) {
        return Ok(TextEncoding {
            encoding,
            source: format!("DBF language driver 0x{:02X}", dbf.ldid),
        });
    }
    // Detection reads the whole .dbf once more; it is small next to the .shp.
    let mut detector = text_encoding::Detector::new();
    for f in &dbf.fields {
        detector.sample(&f.raw_name);
    }
    let mut scan = DbfReader::open(dbf_path)?;
    let text_fields: Vec<(usize, usize)> = scan
        .fields
        .iter()
        .filter(|f| matches!(f.kind, b'C' | b'V'))
        .map(|f| (f.offset, f.len))
        .collect();
    let mut rec = Vec::new();
    while scan.next_record(&mut rec)? {
        for (offset, len) in &text_fields {
            detector.sample(&rec[*offset..offset + len]);
        }
    }
    let mut verdict = detector.verdict();
    verdict.source = format!("no .cpg, no language driver byte; {}", verdict.source);
    Ok(verdict)
}

impl FeatureSource for ShapefileSource {
    fn crs(&self) -> Option<Crs> {
        None
    }

    fn crs_problem(&self) -> String {
        "the shapefile has no .prj file, so its coordinate reference system is unknown".into()
    }

    fn wkt(&self) -> Option<String> {
        self.prj.clone()
    }

    fn wkt_origin(&self) -> String {
        ".prj".to_owned()
    }

    fn encoding(&self) -> Option<(String, String)> {
        Some((
            self.encoding.name().to_owned(),
            self.encoding.source.clone(),
        ))
    }

    fn read(&mut self, sink: &mut RowSink) -> Result<(), IngestError> {
        for f in &self.dbf.fields {
            sink.see_attribute(&f.name);
        }
        let kind_note = match self.shp.shape_type {
            11 | 13 | 15 | 18 => Some("Z"),
            21 | 23 | 25 | 28 => Some("M"),
            _ => None,
        };
        if let Some(zm) = kind_note {
            sink.note(format!(
                "{zm} values dropped ({} shapefile)",
                shp::shape_type_name(self.shp.shape_type)
            ));
        }
        let encoding = self.encoding.encoding;
        let fields = self.dbf.fields.clone();
        let mut rec = Vec::with_capacity(self.dbf.record_len);
        let mut shape = Vec::new();
        let mut deleted = 0u64;
        loop {
            let has_shape = self.shp.next_record(&mut shape)?;
            let has_rec = self.dbf.next_record(&mut rec)?;
            match (has_shape, has_rec) {
                (false, false) => break,
                (true, true) => {}
                (s, _) => {
                    return Err(IngestError::Malformed {
                        file: self.file.clone(),
                        detail: format!(
                            "the .shp holds {} records than the .dbf ({} records)",
                            if s { "more" } else { "fewer" },
                            self.dbf.records
                        ),
                    });
                }
            }
            if rec[0] == b'*' {
                deleted += 1;
                sink.skip(None, "deleted in the .dbf (skipped)");
                continue;
            }
            let fid = i64::try_from(sink.next_feature()).unwrap_or(i64::MAX);
            let mut replaced = false;
            sink.push(
                fid,
                |buf| {
                    replaced = dbf::write_record(buf, &fields, &rec, encoding)?;
                    Ok(())
                },
                |enc| shp::process(&shape, enc).map_err(geozero::error::GeozeroError::Geometry),
            )?;
            if replaced {
                sink.note(format!(
                    "some text held bytes that are not valid {}; they were replaced by U+FFFD",
                    encoding.name()
                ));
            }
        }
        if deleted > 0 {
            sink.note(format!(
                "{deleted} records marked deleted in the .dbf were skipped"
            ));
        }
        Ok(())
    }
}

/// One record of a shapefile as [`read_shapefile`] gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapefileRecord {
    /// The record's number in the file, from 1 (records deleted in the `.dbf` are skipped but
    /// keep their numbers, so this is the feature number other tools show).
    pub number: u64,
    /// The attributes, decoded with the chosen text encoding; `Err` says which field cannot be
    /// read and why.
    pub properties: Result<serde_json::Map<String, serde_json::Value>, String>,
    /// The geometry as GeoJSON in the file's own CRS (see [`ShapefileTable::prj`]); `Ok(None)`
    /// for a Null shape; `Err` says why the shape cannot be read.
    pub geometry: Result<Option<serde_json::Value>, String>,
}

/// A whole shapefile read into memory: for small files such as clue batches, where each
/// record is judged on its own rather than streamed into a layer.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapefileTable {
    /// The `.prj` text (identify it with [`crate::identify_wkt`]), if there is one.
    pub prj: Option<String>,
    /// The text encoding's name and how it was chosen (as for a layer's ingest).
    pub encoding: (String, String),
    pub records: Vec<ShapefileRecord>,
}

/// Reads every record of the shapefile `file` (the `.shp`, with its `.dbf`, `.prj` and
/// `.cpg` beside it) with the same readers and the same choice of text encoding as a layer's
/// ingest. Blocking. A record whose attributes or shape cannot be read is returned with the
/// reason; only a file that cannot be read at all (no `.dbf`, a truncated header, `.shp` and
/// `.dbf` of different lengths) is an error.
pub fn read_shapefile(file: &Path, encoding: Option<&str>) -> Result<ShapefileTable, IngestError> {
    let (mut source, _) = ShapefileSource::open(file, encoding)?;
    let text_encoding = source.encoding.encoding;
    let fields = source.dbf.fields.clone();
    let mut rec = Vec::with_capacity(source.dbf.record_len);
    let mut shape = Vec::new();
    let mut records = Vec::new();
    let mut number = 0u64;
    loop {
        let has_shape = source.shp.next_record(&mut shape)?;
        let has_rec = source.dbf.next_record(&mut rec)?;
        match (has_shape, has_rec) {
            (false, false) => break,
            (true, true) => {}
            (s, _) => {
                return Err(IngestError::Malformed {
                    file: file.to_owned(),
                    detail: format!(
                        "the .shp holds {} records than the .dbf ({} records)",
                        if s { "more" } else { "fewer" },
                        source.dbf.records
                    ),
                });
            }
        }
        number += 1;
        if rec[0] == b'*' {
            continue;
        }
        let mut buf = Vec::new();
        let properties = match dbf::write_record(&mut buf, &fields, &rec, text_encoding) {
            Ok(_) => serde_json::from_slice(&buf).map_err(|e| e.to_string()),
            Err(p) => Err(format!("field {}: {}", p.field, p.problem)),
        };
        let mut out = Vec::new();
        let geometry = shp::process(&shape, &mut geozero::geojson::GeoJsonWriter::new(&mut out))
            .and_then(|()| {
                if out.is_empty() {
                    Ok(None)
                } else {
                    serde_json::from_slice(&out)
                        .map(Some)
                        .map_err(|e| format!("the shape gives no GeoJSON: {e}"))
                }
            });
        records.push(ShapefileRecord {
            number,
            properties,
            geometry,
        });
    }
    Ok(ShapefileTable {
        prj: source.prj.take(),
        encoding: (
            source.encoding.name().to_owned(),
            source.encoding.source.clone(),
        ),
        records,
    })
}
