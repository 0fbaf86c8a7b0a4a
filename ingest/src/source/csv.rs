//! CSV from spreadsheets: a geometry column in WKT, or coordinates in two columns. The file is
//! scanned once when opened (to find the encoding, each column's type and whether the
//! coordinates are degrees) and once more to stream the rows; nothing is held in memory.
//!
//! Columns, matched case-insensitively on the header:
//! - WKT: `wkt`, `geom`, `geometry`, `the_geom`. The SRID comes from an `SRID=n;` (EWKT) prefix
//!   shared by every value, else from `--srid`; without either the file is refused.
//! - Coordinates: `lon`/`lng`/`long`/`longitude` with `lat`/`latitude` are EPSG:4326 when every
//!   value lies within ±180/±90 (else refused: they are projected coordinates, give `--srid`);
//!   `x` with `y` name no CRS and need `--srid`. The coordinate columns stay attributes too.
//!
//! Attribute types, per column over all its non-empty values: integers (no leading zero, at
//! most 15 digits, so codes such as `0101` and 19-digit unit codes stay text), reals, else
//! text; empty values are null. The delimiter is `,`, `;` or tab, whichever the header holds
//! most. Encoding: `--encoding`, a UTF-8 byte-order mark, else the same detection as for `.dbf`
//! files (UTF-8, GB18030 for Chinese, else Latin-1).
//!
//! A row whose geometry is missing, unparseable or structurally broken, or whose field count
//! differs from the header's, is rejected and reported (feature number = data row number,
//! reason naming the line) while the other rows load. The stored fid is the data row number.

use std::io::Write;
use std::path::{Path, PathBuf};

use encoding_rs::Encoding;
use geozero::GeozeroGeometry;

use super::curves::Linearise;
use super::text_encoding::{self, TextEncoding};
use super::{curve_wkt, Crs, FeatureSource};
use crate::sink::{EwkbEncoder, RowSink};
use crate::IngestError;

/// Names of a WKT geometry column.
const WKT_NAMES: &[&str] = &["wkt", "geom", "geometry", "the_geom"];
/// Names of longitude and latitude columns (degrees).
const LON_NAMES: &[&str] = &["lon", "lng", "long", "longitude"];
const LAT_NAMES: &[&str] = &["lat", "latitude"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Real,
    Text,
}

struct Column {
    name: String,
    key_json: Vec<u8>,
    kind: Kind,
}

#[derive(Debug, Clone, Copy)]
enum GeomColumns {
    Wkt(usize),
    /// Coordinate columns; `degrees` when they were named lon/lat rather than x/y.
    Xy {
        x: usize,
        y: usize,
        degrees: bool,
    },
}

/// An opened CSV file.
pub struct CsvSource {
    file: PathBuf,
    delimiter: u8,
    encoding: TextEncoding,
    /// Attribute columns by index in the record (`None` for the WKT column).
    columns: Vec<Option<Column>>,
    geom: GeomColumns,
    crs: Result<Crs, String>,
    /// Whether WKT values carry an `SRID=n;` prefix to strip.
    ewkt: bool,
    /// Header names of the geometry columns (WKT, or x and y), for rejections.
    geom_names: (String, String),
}

/// What the scan learns about one column.
#[derive(Default)]
struct ColumnScan {
    all_int: bool,
    all_real: bool,
    values: u64,
}

impl CsvSource {
    /// Reads the header, scans every row, and decides encoding, types and CRS.
    pub fn open(file: &Path, encoding: Option<&str>) -> Result<Self, IngestError> {
        let malformed = |detail: String| IngestError::Malformed {
            file: file.to_owned(),
            detail,
        };
        let head = read_head(file)?;
        let bom = head.starts_with(b"\xef\xbb\xbf");
        let first_line = head.split(|b| *b == b'\n').next().unwrap_or_default();
        let delimiter = [b',', b';', b'\t']
            .into_iter()
            .max_by_key(|d| first_line.iter().filter(|b| *b == d).count())
            .unwrap_or(b',');

        let mut reader = reader(file, delimiter)?;
        let header = reader
            .byte_headers()
            .map_err(|e| malformed(format!("cannot read the header row: {e}")))?
            .clone();
        let raw_names: Vec<Vec<u8>> = header
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let n = if i == 0 {
                    n.strip_prefix(b"\xef\xbb\xbf").unwrap_or(n)
                } else {
                    n
                };
                n.trim_ascii().to_vec()
            })
            .collect();
        if raw_names.iter().all(Vec::is_empty) {
            return Err(malformed("the header row is empty".into()));
        }
        let find = |names: &[&str]| {
            raw_names
                .iter()
                .position(|n| names.iter().any(|w| n.eq_ignore_ascii_case(w.as_bytes())))
        };
        let geom = if let Some(i) = find(WKT_NAMES) {
            GeomColumns::Wkt(i)
        } else if let (Some(x), Some(y)) = (find(LON_NAMES), find(LAT_NAMES)) {
            GeomColumns::Xy {
                x,
                y,
                degrees: true,
            }
        } else if let (Some(x), Some(y)) = (find(&["x"]), find(&["y"])) {
            GeomColumns::Xy {
                x,
                y,
                degrees: false,
            }
        } else {
            return Err(malformed(format!(
                "no geometry column: expected a WKT column ({}) or coordinate columns \
                 (lon/lng/long/longitude with lat/latitude, or x with y); the header has {}",
                WKT_NAMES.join("/"),
                raw_names
                    .iter()
                    .map(|n| String::from_utf8_lossy(n).into_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };

        // The scan: encoding samples, column types, coordinate ranges, EWKT prefixes.
        let mut detector = text_encoding::Detector::new();
        for n in &raw_names {
            detector.sample(n);
        }
        let mut scans: Vec<ColumnScan> = raw_names
            .iter()
            .map(|_| ColumnScan {
                all_int: true,
                all_real: true,
                values: 0,
            })
            .collect();
        let mut outside: Option<(u64, String, String)> = None;
        let mut srids: Option<Option<i32>> = None;
        let mut record = csv::ByteRecord::new();
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(malformed(format!("unreadable CSV: {e}"))),
            }
            for (i, value) in record.iter().enumerate() {
                let value = value.trim_ascii();
                detector.sample(value);
                let Some(scan) = scans.get_mut(i) else {
                    continue;
                };
                if value.is_empty() {
                    continue;
                }
                scan.values += 1;
                let (int, real) = number_kind(value);
                scan.all_int &= int;
                scan.all_real &= real;
            }
            match geom {
                GeomColumns::Xy {
                    x,
                    y,
                    degrees: true,
                } if outside.is_none() => {
                    let lon = record.get(x).and_then(parse_f64);
                    let lat = record.get(y).and_then(parse_f64);
                    if let (Some(lon), Some(lat)) = (lon, lat) {
                        if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
                            let line = record.position().map_or(0, csv::Position::line);
                            outside = Some((line, lon.to_string(), lat.to_string()));
                        }
                    }
                }
                GeomColumns::Wkt(i) => {
                    let value = record.get(i).unwrap_or_default().trim_ascii();
                    if !value.is_empty() {
                        let srid = ewkt_srid(value).map(|(s, _)| s);
                        srids = Some(match srids {
                            None => srid,
                            Some(prev) if prev == srid => prev,
                            Some(_) => None,
                        });
                    }
                }
                GeomColumns::Xy { .. } => {}
            }
        }

        let encoding = match encoding {
            Some(label) => TextEncoding {
                encoding: text_encoding::for_label(label).ok_or_else(|| {
                    IngestError::InvalidRequest {
                        file: file.to_owned(),
                        detail: format!(
                            "--encoding {label:?} names no encoding we know \
                             (try UTF-8, GBK, GB18030, ISO-8859-1)"
                        ),
                    }
                })?,
                source: format!("--encoding {label}"),
            },
            None if bom => TextEncoding {
                encoding: encoding_rs::UTF_8,
                source: "UTF-8 byte-order mark".into(),
            },
            None => detector.verdict(),
        };

        let name_of = |i: usize| decode(encoding.encoding, &raw_names[i]).0;
        let crs = match geom {
            GeomColumns::Xy {
                x,
                y,
                degrees: true,
            } => match outside {
                None => Ok(Crs {
                    srid: 4326,
                    source: format!(
                        "CSV columns {}/{} hold degrees within ±180/±90 (EPSG:4326 assumed)",
                        name_of(x),
                        name_of(y)
                    ),
                }),
                Some((line, lon, lat)) => Err(format!(
                    "the CSV columns {}/{} are named as degrees but line {line} holds \
                     ({lon}, {lat}), outside ±180/±90: they are projected coordinates",
                    name_of(x),
                    name_of(y)
                )),
            },
            GeomColumns::Xy { x, y, .. } => Err(format!(
                "the CSV gives coordinates in columns {}/{}, which name no coordinate \
                 reference system",
                name_of(x),
                name_of(y)
            )),
            GeomColumns::Wkt(i) => match srids.flatten() {
                Some(srid) => Ok(Crs {
                    srid,
                    source: format!("EWKT prefix SRID={srid} in CSV column {}", name_of(i)),
                }),
                None => Err(format!(
                    "the CSV's WKT column {} names no coordinate reference system \
                     (no shared SRID=n; prefix)",
                    name_of(i)
                )),
            },
        };
        let ewkt = matches!(geom, GeomColumns::Wkt(_)) && srids.flatten().is_some();
        let geom_names = match geom {
            GeomColumns::Wkt(i) => (name_of(i), String::new()),
            GeomColumns::Xy { x, y, .. } => (name_of(x), name_of(y)),
        };

        let columns = raw_names
            .iter()
            .zip(&scans)
            .enumerate()
            .map(|(i, (raw, scan))| {
                if matches!(geom, GeomColumns::Wkt(w) if w == i) {
                    return None;
                }
                let mut name = decode(encoding.encoding, raw).0;
                if name.is_empty() {
                    name = format!("field_{}", i + 1);
                }
                let mut key_json = serde_json::to_vec(&name).expect("a string serializes");
                key_json.push(b':');
                let kind = match (scan.values, scan.all_int, scan.all_real) {
                    (0, _, _) => Kind::Text,
                    (_, true, _) => Kind::Int,
                    (_, _, true) => Kind::Real,
                    _ => Kind::Text,
                };
                Some(Column {
                    name,
                    key_json,
                    kind,
                })
            })
            .collect();

        Ok(Self {
            file: file.to_owned(),
            delimiter,
            encoding,
            columns,
            geom,
            crs,
            ewkt,
            geom_names,
        })
    }
}

fn read_head(file: &Path) -> Result<Vec<u8>, IngestError> {
    use std::io::Read;
    let mut head = Vec::with_capacity(64 * 1024);
    std::fs::File::open(file)
        .map_err(IngestError::io(file))?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .map_err(IngestError::io(file))?;
    Ok(head)
}

fn reader(file: &Path, delimiter: u8) -> Result<csv::Reader<std::fs::File>, IngestError> {
    let f = std::fs::File::open(file).map_err(IngestError::io(file))?;
    Ok(csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(f))
}

fn decode(encoding: &'static Encoding, bytes: &[u8]) -> (String, bool) {
    let (s, bad) = encoding.decode_without_bom_handling(bytes);
    (s.into_owned(), bad)
}

/// Whether a value is an integer we keep as a number, and whether it is a number at all.
/// Integers: optional sign, no leading zero, at most 15 digits. Reals: also a fraction and an
/// exponent, the integer part without leading zeros (so `0101` is text).
fn number_kind(v: &[u8]) -> (bool, bool) {
    let body = v
        .strip_prefix(b"-")
        .or_else(|| v.strip_prefix(b"+"))
        .unwrap_or(v);
    let int_len = body.iter().take_while(|b| b.is_ascii_digit()).count();
    let (int_part, rest) = body.split_at(int_len);
    let int_ok = !int_part.is_empty() && (int_part == b"0" || int_part[0] != b'0');
    if rest.is_empty() {
        // Longer digit strings are identifiers (a spreadsheet would lose their last digits).
        let ok = int_ok && int_len <= 15;
        return (ok, ok);
    }
    let mut rest = rest;
    let mut digits = int_len;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|b| b.is_ascii_digit()).count();
        digits += n;
        rest = &frac[n..];
    }
    if let Some(exp) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        let exp = exp
            .strip_prefix(b"-")
            .or_else(|| exp.strip_prefix(b"+"))
            .unwrap_or(exp);
        if exp.is_empty() || !exp.iter().all(u8::is_ascii_digit) {
            return (false, false);
        }
        rest = b"";
    }
    let real = rest.is_empty() && digits > 0 && (int_part.is_empty() || int_ok);
    (false, real)
}

fn parse_f64(v: &[u8]) -> Option<f64> {
    std::str::from_utf8(v.trim_ascii())
        .ok()?
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
}

/// `SRID=4490;POINT(...)` → (4490, `POINT(...)`).
fn ewkt_srid(v: &[u8]) -> Option<(i32, &[u8])> {
    v.get(..5).filter(|p| p.eq_ignore_ascii_case(b"SRID="))?;
    let semi = v.iter().position(|b| *b == b';')?;
    let srid: i32 = std::str::from_utf8(&v[5..semi]).ok()?.trim().parse().ok()?;
    (srid > 0).then_some((srid, &v[semi + 1..]))
}

impl FeatureSource for CsvSource {
    fn crs(&self) -> Option<Crs> {
        self.crs.as_ref().ok().cloned()
    }

    fn crs_problem(&self) -> String {
        self.crs.as_ref().err().cloned().unwrap_or_default()
    }

    fn encoding(&self) -> Option<(String, String)> {
        Some((
            self.encoding.name().to_owned(),
            self.encoding.source.clone(),
        ))
    }

    fn read(&mut self, sink: &mut RowSink) -> Result<(), IngestError> {
        for c in self.columns.iter().flatten() {
            sink.see_attribute(&c.name);
        }
        let mut reader = reader(&self.file, self.delimiter)?;
        let width = reader
            .byte_headers()
            .map_err(|e| IngestError::Malformed {
                file: self.file.clone(),
                detail: format!("cannot read the header row: {e}"),
            })?
            .len();
        let encoding = self.encoding.encoding;
        let mut record = csv::ByteRecord::new();
        let mut scratch = Vec::with_capacity(1024);
        // Rows whose curves were linearised, and whether a curved one had Z or M values.
        let (mut linearised, mut curved_zm) = (0u64, false);
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(sink.feature_error(None, format!("unreadable CSV: {e}"))),
            }
            let line = record.position().map_or(0, csv::Position::line);
            if record.len() != width {
                sink.skip(
                    None,
                    format!(
                        "line {line}: {} fields where the header has {width} (skipped)",
                        record.len()
                    ),
                );
                continue;
            }
            // The geometry is encoded once aside, so a bad one rejects the row, not the file.
            scratch.clear();
            let (field, encoded) = {
                let mut enc = EwkbEncoder::new(&mut scratch, 0);
                let (field, blank, result) = match self.geom {
                    GeomColumns::Wkt(i) => {
                        let raw = record.get(i).unwrap_or_default().trim_ascii();
                        let wkt = match ewkt_srid(raw) {
                            Some((_, rest)) if self.ewkt => rest,
                            _ => raw,
                        };
                        // `POINT EMPTY` and the like are empty, not unreadable.
                        let blank = wkt.is_empty()
                            || wkt.windows(5).any(|w| w.eq_ignore_ascii_case(b"EMPTY"));
                        let result = if wkt.is_empty() {
                            Err(geozero::error::GeozeroError::Geometry("empty".into()))
                        } else if curve_wkt::has_curve(wkt) {
                            // geozero's WKT reader knows no curves: through ISO WKB and
                            // the linearisation the GeoPackage reader uses.
                            match curve_wkt::to_wkb(wkt) {
                                Ok((wkb, zm)) => {
                                    let mut linear = Linearise::new(&mut enc);
                                    let r = geozero::wkb::Wkb(&wkb[..]).process_geom(&mut linear);
                                    if r.is_ok() && linear.curved() {
                                        linearised += 1;
                                        curved_zm |= zm;
                                    }
                                    r
                                }
                                Err(e) => Err(geozero::error::GeozeroError::Geometry(e)),
                            }
                        } else {
                            geozero::wkt::Wkt(wkt).process_geom(&mut enc)
                        };
                        (self.geom_names.0.clone(), blank, result)
                    }
                    GeomColumns::Xy { x, y, .. } => {
                        let (vx, vy) = (
                            record.get(x).unwrap_or_default(),
                            record.get(y).unwrap_or_default(),
                        );
                        let blank = vx.trim_ascii().is_empty() && vy.trim_ascii().is_empty();
                        let result = match (parse_f64(vx), parse_f64(vy)) {
                            (Some(px), Some(py)) => {
                                use geozero::GeomProcessor;
                                enc.point_begin(0)
                                    .and_then(|()| enc.xy(px, py, 0))
                                    .and_then(|()| enc.point_end(0))
                            }
                            _ => Err(geozero::error::GeozeroError::Geometry(format!(
                                "coordinates ({}, {}) are not numbers",
                                String::from_utf8_lossy(vx),
                                String::from_utf8_lossy(vy)
                            ))),
                        };
                        (
                            format!("{}/{}", self.geom_names.0, self.geom_names.1),
                            blank,
                            result,
                        )
                    }
                };
                let checked = result.and_then(|()| enc.finish());
                (field, checked.map_err(|e| (blank, e)))
            };
            if let Err((empty, e)) = encoded {
                let reason = if empty {
                    format!("line {line}: empty geometry (skipped)")
                } else {
                    let msg = match e {
                        geozero::error::GeozeroError::Geometry(m) => m,
                        other => other.to_string(),
                    };
                    format!("line {line}: unreadable geometry: {msg} (skipped)")
                };
                sink.skip(Some(&field), reason);
                continue;
            }
            let fid = i64::try_from(sink.next_feature()).unwrap_or(i64::MAX);
            let columns = &self.columns;
            let mut replaced = false;
            sink.push(
                fid,
                |buf| {
                    replaced = write_props(buf, columns, &record, encoding);
                    Ok(())
                },
                |enc| geozero::wkb::Ewkb(&scratch[..]).process_geom(enc),
            )?;
            if replaced {
                sink.note(format!(
                    "some text held bytes that are not valid {}; they were replaced by U+FFFD",
                    encoding.name()
                ));
            }
        }
        if linearised > 0 {
            sink.note(format!(
                "{linearised} curved geometries (CircularString, CompoundCurve, CurvePolygon, \
                 MultiCurve, MultiSurface) linearised, 32 segments per quarter circle"
            ));
        }
        if curved_zm {
            sink.note("Z/M values of curved WKT geometries dropped".to_owned());
        }
        Ok(())
    }
}

/// Writes the attributes of one row; returns whether undecodable bytes were replaced.
fn write_props(
    buf: &mut Vec<u8>,
    columns: &[Option<Column>],
    record: &csv::ByteRecord,
    encoding: &'static Encoding,
) -> bool {
    let mut replaced = false;
    buf.push(b'{');
    let mut first = true;
    for (c, value) in columns.iter().zip(record.iter()) {
        let Some(c) = c else { continue };
        if !first {
            buf.push(b',');
        }
        first = false;
        buf.extend_from_slice(&c.key_json);
        let value = value.trim_ascii();
        if value.is_empty() {
            buf.extend_from_slice(b"null");
            continue;
        }
        match c.kind {
            Kind::Int => match std::str::from_utf8(value)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
            {
                Some(n) => write!(buf, "{n}").expect("writing to memory"),
                None => buf.extend_from_slice(b"null"),
            },
            Kind::Real => match parse_f64(value) {
                Some(x) => serde_json::to_writer(&mut *buf, &x).expect("writing to memory"),
                None => buf.extend_from_slice(b"null"),
            },
            Kind::Text => {
                let (s, bad) = encoding.decode_without_bom_handling(value);
                replaced |= bad;
                serde_json::to_writer(&mut *buf, s.as_ref()).expect("writing to memory");
            }
        }
    }
    buf.push(b'}');
    replaced
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_codes_and_text_are_told_apart() {
        assert_eq!(number_kind(b"42"), (true, true));
        assert_eq!(number_kind(b"-7"), (true, true));
        assert_eq!(number_kind(b"0"), (true, true));
        assert_eq!(number_kind(b"0101"), (false, false));
        assert_eq!(number_kind(b"6207251010010000000"), (false, false));
        assert_eq!(number_kind(b"3.25"), (false, true));
        assert_eq!(number_kind(b"0.5"), (false, true));
        assert_eq!(number_kind(b"1e5"), (false, true));
        assert_eq!(number_kind(b"1.5E-3"), (false, true));
        assert_eq!(number_kind(b"inf"), (false, false));
        assert_eq!(number_kind(b"12a"), (false, false));
        assert_eq!(number_kind(b"1e"), (false, false));
        assert_eq!(number_kind(b"."), (false, false));
    }

    #[test]
    fn an_ewkt_prefix_gives_its_srid() {
        assert_eq!(
            ewkt_srid(b"SRID=4490;POINT(1 2)"),
            Some((4490, &b"POINT(1 2)"[..]))
        );
        assert_eq!(ewkt_srid(b"POINT(1 2)"), None);
        assert_eq!(ewkt_srid(b"srid=0;POINT(1 2)"), None);
    }
}
