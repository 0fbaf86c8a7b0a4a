//! GeoPackage: one feature table (from `gpkg_contents`), its geometry column and SRS from
//! `gpkg_geometry_columns` and `gpkg_spatial_ref_sys`, rows streamed in fid order. An SRS with
//! organization `EPSG` is taken by its code; one of another organization (`NONE`, a custom id)
//! is identified from its WKT `definition` (or WKT2 `definition_12_063`) like a `.prj`;
//! undefined ones (srs_id 0 or -1, or no usable definition) are refused unless `--srid` is
//! given, never guessed as 4326.
//!
//! Attributes keep their SQLite storage type: INTEGER and REAL become JSON numbers (BOOLEAN
//! columns JSON booleans; non-finite reals null), TEXT (also DATE/DATETIME) strings, BLOB a hex
//! string, NULL null.

use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::curves::Linearise;
use super::zm::{zm_of, TypeCodes};
use super::{Crs, FeatureSource};
use crate::sink::{FieldProblem, GeometryKind, RowSink};
use crate::IngestError;

struct Column {
    name: String,
    /// `"name":` as JSON, written before each value.
    key_json: Vec<u8>,
    boolean: bool,
}

/// An opened GeoPackage feature table.
pub struct GpkgSource {
    file: PathBuf,
    conn: Connection,
    select: String,
    columns: Vec<Column>,
    declared: Option<GeometryKind>,
    crs: Result<Crs, String>,
    /// The SRS's WKT definition and where it comes from, when it has no EPSG code.
    wkt: Option<(String, String)>,
}

/// SQLite identifier quoting.
fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

impl GpkgSource {
    /// Opens the file read-only and reads the table's metadata.
    pub fn open(file: &Path, source_layer: Option<&str>) -> Result<Self, IngestError> {
        let conn = Connection::open_with_flags(
            file,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(IngestError::gpkg(file, "opening"))?;
        let tables: Vec<String> = conn
            .prepare(
                "SELECT table_name FROM gpkg_contents WHERE data_type = 'features' \
                 ORDER BY table_name",
            )
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(|e| IngestError::Malformed {
                file: file.to_owned(),
                detail: format!("not a GeoPackage (reading gpkg_contents: {e})"),
            })?;
        let table = super::choose_layer(
            file,
            &tables,
            source_layer,
            "GeoPackage",
            ("feature table", "feature tables"),
        )?;

        let (geom_col, type_name, srs_id): (String, String, i64) = conn
            .query_row(
                "SELECT column_name, geometry_type_name, srs_id FROM gpkg_geometry_columns \
                 WHERE table_name = ?1",
                [&table],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(IngestError::gpkg(
                file,
                format!("reading gpkg_geometry_columns of {table:?}"),
            ))?;
        let (crs, wkt) = match srs(&conn, srs_id).map_err(IngestError::gpkg(
            file,
            format!("reading gpkg_spatial_ref_sys for srs_id {srs_id}"),
        ))? {
            Srs::Epsg(crs) => (Ok(crs), None),
            Srs::Wkt { definition, origin } => (
                Err(format!("{origin} could not be identified")),
                Some((definition, origin)),
            ),
            Srs::Unusable(problem) => (Err(problem), None),
        };

        let mut fid_col = None;
        let mut columns = Vec::new();
        {
            let mut stmt = conn
                .prepare("SELECT name, type, pk FROM pragma_table_info(?1) ORDER BY cid")
                .map_err(IngestError::gpkg(file, "reading the table's columns"))?;
            let rows = stmt
                .query_map([&table], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .map_err(IngestError::gpkg(file, "reading the table's columns"))?;
            for (name, decl, pk) in rows {
                if name == geom_col {
                    continue;
                }
                if pk == 1 && decl.eq_ignore_ascii_case("INTEGER") {
                    fid_col = Some(name);
                    continue;
                }
                let mut key_json = serde_json::to_vec(&name).expect("a string serializes");
                key_json.push(b':');
                columns.push(Column {
                    boolean: decl.eq_ignore_ascii_case("BOOLEAN"),
                    name,
                    key_json,
                });
            }
        }
        let fid = fid_col
            .as_deref()
            .map_or_else(|| "_rowid_".to_owned(), quote);
        let mut select = format!("SELECT {fid}, {}", quote(&geom_col));
        for c in &columns {
            select.push_str(", ");
            select.push_str(&quote(&c.name));
        }
        select.push_str(&format!(" FROM {} ORDER BY {fid}", quote(&table)));

        Ok(Self {
            file: file.to_owned(),
            conn,
            select,
            columns,
            declared: declared_kind(&type_name),
            crs,
            wkt,
        })
    }
}

/// The dimension a declared geometry type stands for; curve types count as the lines and
/// polygons they are linearised to.
fn declared_kind(type_name: &str) -> Option<GeometryKind> {
    match type_name.to_ascii_uppercase().as_str() {
        "CIRCULARSTRING" | "COMPOUNDCURVE" | "MULTICURVE" => Some(GeometryKind::Line),
        "CURVEPOLYGON" | "MULTISURFACE" => Some(GeometryKind::Polygon),
        other => GeometryKind::from_ogc_name(other),
    }
}

/// `Some("Z")`, `Some("M")` or `Some("ZM")` when a GeoPackage geometry blob's WKB carries
/// those ordinates (which the sink drops).
fn gpkg_blob_zm(blob: &[u8]) -> Option<&'static str> {
    let flags = *blob.get(3)?;
    let envelope = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        _ => return None,
    };
    let wkb = blob.get(8 + envelope..)?;
    let raw: [u8; 4] = wkb.get(1..5)?.try_into().ok()?;
    let t = if *wkb.first()? == 1 {
        u32::from_le_bytes(raw)
    } else {
        u32::from_be_bytes(raw)
    };
    zm_of(t, TypeCodes::Wkb)
}

/// What `gpkg_spatial_ref_sys` says of an SRS.
enum Srs {
    /// An EPSG code.
    Epsg(Crs),
    /// No EPSG code, but a WKT definition to identify, and how to name it.
    Wkt { definition: String, origin: String },
    /// Why the SRS is not usable.
    Unusable(String),
}

/// A WKT definition worth identifying: not empty and not GeoPackage's `undefined`.
fn usable_definition(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("undefined"))
}

/// The CRS of `srs_id`, its WKT definition, or why it is not usable.
fn srs(conn: &Connection, srs_id: i64) -> rusqlite::Result<Srs> {
    // `definition_12_063` (WKT2) exists only with the crs_wkt extension.
    let has_wkt2: bool = conn.query_row(
        "SELECT count(*) > 0 FROM pragma_table_info('gpkg_spatial_ref_sys') \
         WHERE name = 'definition_12_063'",
        [],
        |r| r.get(0),
    )?;
    let select = if has_wkt2 {
        "SELECT organization, organization_coordsys_id, srs_name, definition, definition_12_063 \
         FROM gpkg_spatial_ref_sys WHERE srs_id = ?1"
    } else {
        "SELECT organization, organization_coordsys_id, srs_name, definition, NULL \
         FROM gpkg_spatial_ref_sys WHERE srs_id = ?1"
    };
    type Row = (String, i64, String, Option<String>, Option<String>);
    let row: Option<Row> = conn
        .query_row(select, [srs_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    Ok(match row {
        Some((org, code, ..)) if org.eq_ignore_ascii_case("EPSG") && code > 0 => {
            match i32::try_from(code) {
                Ok(srid) => Srs::Epsg(Crs {
                    srid,
                    source: format!("GeoPackage gpkg_spatial_ref_sys (EPSG:{srid})"),
                }),
                Err(_) => Srs::Unusable(format!("the GeoPackage CRS EPSG:{code} is out of range")),
            }
        }
        _ if srs_id == 0 || srs_id == -1 => Srs::Unusable(format!(
            "the GeoPackage declares an undefined {} CRS (srs_id {srs_id})",
            if srs_id == 0 {
                "geographic"
            } else {
                "Cartesian"
            }
        )),
        Some((org, code, name, wkt1, wkt2)) => {
            // WKT1 first (what most writers fill), WKT2 when that is undefined.
            let found = usable_definition(wkt1)
                .map(|d| (d, "definition"))
                .or_else(|| usable_definition(wkt2).map(|d| (d, "definition_12_063")));
            match found {
                Some((definition, column)) => Srs::Wkt {
                    definition,
                    origin: format!(
                        "GeoPackage's WKT definition ({column}) of srs_id {srs_id} \
                         ({org}:{code} {name:?})"
                    ),
                },
                None => Srs::Unusable(format!(
                    "the GeoPackage CRS is {org}:{code} ({name}), not an EPSG code, and has no \
                     WKT definition"
                )),
            }
        }
        None => Srs::Unusable(format!(
            "srs_id {srs_id} is missing from gpkg_spatial_ref_sys"
        )),
    })
}

impl FeatureSource for GpkgSource {
    fn crs(&self) -> Option<Crs> {
        self.crs.as_ref().ok().cloned()
    }

    fn crs_problem(&self) -> String {
        self.crs.as_ref().err().cloned().unwrap_or_default()
    }

    fn wkt(&self) -> Option<String> {
        self.wkt.as_ref().map(|(definition, _)| definition.clone())
    }

    fn wkt_origin(&self) -> String {
        self.wkt.as_ref().map_or_else(
            || "GeoPackage's WKT definition".to_owned(),
            |(_, o)| o.clone(),
        )
    }

    fn declared_kind(&self) -> Option<GeometryKind> {
        self.declared
    }

    fn feature_count(&self) -> Option<u64> {
        self.conn
            .query_row(
                &format!("SELECT count(*) FROM ({})", self.select),
                [],
                |r| r.get::<_, i64>(0),
            )
            .ok()
            .and_then(|n| u64::try_from(n).ok())
    }

    fn read(&mut self, sink: &mut RowSink) -> Result<(), IngestError> {
        let file = &self.file;
        for c in &self.columns {
            sink.see_attribute(&c.name);
        }
        let columns = &self.columns;
        let mut stmt = self
            .conn
            .prepare(&self.select)
            .map_err(IngestError::gpkg(file, "preparing the feature query"))?;
        let mut rows = stmt
            .query([])
            .map_err(IngestError::gpkg(file, "querying the features"))?;
        let mut linearised = 0u64;
        let mut zm_dropped = std::collections::BTreeSet::new();
        loop {
            let row = match rows.next() {
                Ok(Some(row)) => row,
                Ok(None) => break,
                Err(e) => {
                    return Err(IngestError::gpkg(
                        file,
                        format!("reading feature {}", sink.next_feature()),
                    )(e));
                }
            };
            let fid: i64 = row
                .get(0)
                .map_err(|e| sink.feature_error(Some("fid"), e.to_string()))?;
            let blob = match row.get_ref(1) {
                Ok(ValueRef::Blob(b)) => b,
                Ok(ValueRef::Null) => {
                    sink.skip(
                        Some("geometry"),
                        format!("fid {fid}: null geometry (skipped)"),
                    );
                    continue;
                }
                Ok(_) => {
                    return Err(sink.feature_error(
                        Some("geometry"),
                        format!("feature (fid {fid}): the geometry is not a GeoPackage blob"),
                    ));
                }
                Err(e) => return Err(sink.feature_error(Some("geometry"), e.to_string())),
            };
            let mut curved = false;
            sink.push(
                fid,
                |buf| write_props(buf, columns, row),
                |enc| {
                    let mut linear = Linearise::new(enc);
                    let result = geozero::wkb::process_gpkg_geom(&mut &blob[..], &mut linear);
                    curved = linear.curved();
                    result
                },
            )?;
            linearised += u64::from(curved);
            if let Some(zm) = gpkg_blob_zm(blob) {
                zm_dropped.insert(zm);
            }
        }
        if linearised > 0 {
            sink.note(format!(
                "{linearised} curved geometries (CircularString, CompoundCurve, CurvePolygon, \
                 MultiCurve, MultiSurface) linearised, 32 segments per quarter circle"
            ));
        }
        for zm in zm_dropped {
            sink.note(format!(
                "{zm} values dropped (GeoPackage geometries with {zm})"
            ));
        }
        Ok(())
    }
}

fn write_props(
    buf: &mut Vec<u8>,
    columns: &[Column],
    row: &rusqlite::Row,
) -> Result<(), FieldProblem> {
    buf.push(b'{');
    for (i, c) in columns.iter().enumerate() {
        let problem = |problem: String| FieldProblem {
            field: c.name.clone(),
            problem,
        };
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(&c.key_json);
        match row.get_ref(i + 2).map_err(|e| problem(e.to_string()))? {
            ValueRef::Null => buf.extend_from_slice(b"null"),
            ValueRef::Integer(n) if c.boolean => {
                buf.extend_from_slice(if n != 0 { b"true" } else { b"false" });
            }
            ValueRef::Integer(n) => write!(buf, "{n}").expect("writing to memory"),
            ValueRef::Real(f) if f.is_finite() => {
                serde_json::to_writer(&mut *buf, &f).expect("writing to memory");
            }
            ValueRef::Real(_) => buf.extend_from_slice(b"null"),
            ValueRef::Text(t) => {
                let s = std::str::from_utf8(t)
                    .map_err(|e| problem(format!("text is not valid UTF-8 ({e})")))?;
                serde_json::to_writer(&mut *buf, s).expect("writing to memory");
            }
            ValueRef::Blob(b) => {
                buf.push(b'"');
                buf.extend_from_slice(hex::encode(b).as_bytes());
                buf.push(b'"');
            }
        }
    }
    buf.push(b'}');
    Ok(())
}
