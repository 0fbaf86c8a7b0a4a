//! The `.shp` main file: a 100-byte header, then records read one at a time into a reused
//! buffer and replayed as geozero geometry events. Every size is checked against the header and
//! the file, so a damaged file is refused with the record that is wrong, never half read.
//!
//! Polygons: rings in clockwise order are outer rings, counter-clockwise ones holes (the
//! Shapefile specification); each hole goes to the smallest outer ring containing its first
//! vertex. A record with one outer ring is a Polygon, with several a MultiPolygon; a polyline
//! with one part a LineString, with several a MultiLineString. Z and M values are skipped.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use geozero::error::Result as GeoResult;
use geozero::GeomProcessor;

use crate::IngestError;

/// Shape types of the specification.
pub fn shape_type_name(t: i32) -> &'static str {
    match t {
        0 => "Null",
        1 => "Point",
        3 => "PolyLine",
        5 => "Polygon",
        8 => "MultiPoint",
        11 => "PointZ",
        13 => "PolyLineZ",
        15 => "PolygonZ",
        18 => "MultiPointZ",
        21 => "PointM",
        23 => "PolyLineM",
        25 => "PolygonM",
        28 => "MultiPointM",
        31 => "MultiPatch",
        _ => "unknown",
    }
}

/// An opened `.shp`, positioned at its first record.
pub struct ShpReader {
    file: PathBuf,
    input: BufReader<std::fs::File>,
    /// Bytes of the file still to read.
    remaining: u64,
    pub shape_type: i32,
    next_number: u64,
}

impl ShpReader {
    /// Reads and checks the header.
    pub fn open(file: &Path) -> Result<Self, IngestError> {
        let malformed = |detail: String| IngestError::Malformed {
            file: file.to_owned(),
            detail,
        };
        let f = std::fs::File::open(file).map_err(IngestError::io(file))?;
        let size = f.metadata().map_err(IngestError::io(file))?.len();
        let mut input = BufReader::with_capacity(1 << 16, f);
        let mut head = [0u8; 100];
        input
            .read_exact(&mut head)
            .map_err(|_| malformed(format!("{size} bytes is too short for a .shp header")))?;
        let code = i32::from_be_bytes(head[0..4].try_into().expect("4 bytes"));
        if code != 9994 {
            return Err(malformed(format!(
                "not a shapefile (file code {code}, expected 9994)"
            )));
        }
        let declared = u64::from(u32::from_be_bytes(
            head[24..28].try_into().expect("4 bytes"),
        )) * 2;
        if declared != size {
            return Err(malformed(format!(
                "the .shp header declares {declared} bytes but the file holds {size}: the file is damaged or was cut short"
            )));
        }
        let shape_type = i32::from_le_bytes(head[32..36].try_into().expect("4 bytes"));
        if shape_type_name(shape_type) == "unknown" {
            return Err(malformed(format!("unknown shape type {shape_type}")));
        }
        Ok(Self {
            file: file.to_owned(),
            input,
            remaining: size - 100,
            shape_type,
            next_number: 1,
        })
    }

    /// Reads the next record's content into `buf`; `false` at the end of the file.
    pub fn next_record(&mut self, buf: &mut Vec<u8>) -> Result<bool, IngestError> {
        if self.remaining == 0 {
            return Ok(false);
        }
        let number = self.next_number;
        let malformed = |detail: String| IngestError::Malformed {
            file: self.file.clone(),
            detail,
        };
        if self.remaining < 8 {
            return Err(malformed(format!(
                "{} bytes after record {} do not hold a record header: the record lengths are wrong",
                self.remaining,
                number - 1
            )));
        }
        let mut rh = [0u8; 8];
        self.input
            .read_exact(&mut rh)
            .map_err(IngestError::io(&self.file))?;
        let declared_number = i32::from_be_bytes(rh[0..4].try_into().expect("4 bytes"));
        let len = u64::from(u32::from_be_bytes(rh[4..8].try_into().expect("4 bytes"))) * 2;
        if i64::from(declared_number) != number as i64 {
            return Err(malformed(format!(
                "record {number} is numbered {declared_number}: the record lengths are wrong"
            )));
        }
        if len < 4 || len > self.remaining - 8 {
            return Err(malformed(format!(
                "record {number} declares {len} bytes but {} remain in the file",
                self.remaining - 8
            )));
        }
        buf.resize(len as usize, 0);
        self.input
            .read_exact(buf)
            .map_err(IngestError::io(&self.file))?;
        self.remaining -= 8 + len;
        self.next_number += 1;
        Ok(true)
    }
}

/// Little-endian reads from a record, failing (not panicking) past its end.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len());
        match end {
            Some(end) => {
                let s = &self.bytes[self.at..end];
                self.at = end;
                Ok(s)
            }
            None => Err(format!(
                "the record is {} bytes, too short for its content",
                self.bytes.len()
            )),
        }
    }
    fn i32(&mut self) -> Result<i32, String> {
        Ok(i32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn f64(&mut self) -> Result<f64, String> {
        Ok(f64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn count(&mut self, what: &str, max: usize) -> Result<usize, String> {
        let n = self.i32()?;
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| format!("{n} {what} do not fit in the record"))
    }
}

/// Replays one record as geometry events. A Null shape produces no events (the sink counts
/// it as a null geometry).
pub fn process<P: GeomProcessor>(record: &[u8], p: &mut P) -> Result<(), String> {
    let mut c = Cursor {
        bytes: record,
        at: 0,
    };
    let shape_type = c.i32()?;
    let max = record.len() / 4;
    let geo = |e: geozero::error::GeozeroError| match e {
        geozero::error::GeozeroError::Geometry(m) => m,
        other => other.to_string(),
    };
    match shape_type {
        0 => {}
        1 | 11 | 21 => {
            let (x, y) = (c.f64()?, c.f64()?);
            (|| -> GeoResult<()> {
                p.point_begin(0)?;
                p.xy(x, y, 0)?;
                p.point_end(0)
            })()
            .map_err(geo)?;
        }
        8 | 18 | 28 => {
            c.take(32)?;
            let n = c.count("points", max)?;
            let pts = read_points(&mut c, n)?;
            (|| -> GeoResult<()> {
                p.multipoint_begin(n, 0)?;
                for (i, (x, y)) in pts.iter().enumerate() {
                    p.xy(*x, *y, i)?;
                }
                p.multipoint_end(0)
            })()
            .map_err(geo)?;
        }
        3 | 13 | 23 | 5 | 15 | 25 => {
            c.take(32)?;
            let parts = c.count("parts", max)?;
            let n = c.count("points", max)?;
            let mut starts = Vec::with_capacity(parts + 1);
            for _ in 0..parts {
                starts.push(c.count("part start", n)?);
            }
            starts.push(n);
            if starts.windows(2).any(|w| w[0] > w[1]) || starts.first() != Some(&0) && parts > 0 {
                return Err("the part indexes are out of order".into());
            }
            let pts = read_points(&mut c, n)?;
            let rings: Vec<&[(f64, f64)]> = starts.windows(2).map(|w| &pts[w[0]..w[1]]).collect();
            if matches!(shape_type, 3 | 13 | 23) {
                lines(&rings, p).map_err(geo)?;
            } else {
                polygons(&rings, p).map_err(geo)?;
            }
        }
        31 => return Err("MultiPatch shapes are not supported".into()),
        other => return Err(format!("unknown shape type {other}")),
    }
    Ok(())
}

fn read_points(c: &mut Cursor, n: usize) -> Result<Vec<(f64, f64)>, String> {
    let mut pts = Vec::with_capacity(n);
    for _ in 0..n {
        pts.push((c.f64()?, c.f64()?));
    }
    Ok(pts)
}

fn line<P: GeomProcessor>(
    pts: &[(f64, f64)],
    tagged: bool,
    idx: usize,
    p: &mut P,
) -> GeoResult<()> {
    p.linestring_begin(tagged, pts.len(), idx)?;
    for (i, (x, y)) in pts.iter().enumerate() {
        p.xy(*x, *y, i)?;
    }
    p.linestring_end(tagged, idx)
}

fn lines<P: GeomProcessor>(parts: &[&[(f64, f64)]], p: &mut P) -> GeoResult<()> {
    match parts {
        [] => p.multilinestring_begin(0, 0),
        [one] => line(one, true, 0, p),
        many => {
            p.multilinestring_begin(many.len(), 0)?;
            for (i, part) in many.iter().enumerate() {
                line(part, false, i, p)?;
            }
            p.multilinestring_end(0)
        }
    }
}

/// Twice the signed area (shoelace); negative for clockwise rings.
fn signed_area2(ring: &[(f64, f64)]) -> f64 {
    ring.windows(2)
        .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
        .sum()
}

fn contains(ring: &[(f64, f64)], (x, y): (f64, f64)) -> bool {
    let mut inside = false;
    for w in ring.windows(2) {
        let ((x1, y1), (x2, y2)) = (w[0], w[1]);
        if (y1 > y) != (y2 > y) && x < (x2 - x1) * (y - y1) / (y2 - y1) + x1 {
            inside = !inside;
        }
    }
    inside
}

fn polygons<P: GeomProcessor>(rings: &[&[(f64, f64)]], p: &mut P) -> GeoResult<()> {
    if rings.is_empty() {
        return p.multipolygon_begin(0, 0);
    }
    let areas: Vec<f64> = rings.iter().map(|r| signed_area2(r)).collect();
    let mut outers: Vec<usize> = (0..rings.len()).filter(|i| areas[*i] < 0.0).collect();
    let holes: Vec<usize> = if outers.is_empty() {
        // Written with the wrong orientation throughout: take every ring as an outer ring.
        outers = (0..rings.len()).collect();
        Vec::new()
    } else {
        (0..rings.len()).filter(|i| areas[*i] >= 0.0).collect()
    };
    let mut members: Vec<Vec<usize>> = outers.iter().map(|o| vec![*o]).collect();
    for h in holes {
        let first = rings[h].first().copied().unwrap_or((0.0, 0.0));
        let owner = outers
            .iter()
            .enumerate()
            .filter(|(_, o)| contains(rings[**o], first))
            .min_by(|a, b| areas[*a.1].abs().total_cmp(&areas[*b.1].abs()))
            .map(|(k, _)| k)
            // Not inside any: the nearest preceding outer ring, as the file ordered them.
            .unwrap_or_else(|| outers.iter().rposition(|o| *o < h).unwrap_or(0));
        members[owner].push(h);
    }
    let polygon = |rs: &[usize], tagged: bool, idx: usize, p: &mut P| -> GeoResult<()> {
        p.polygon_begin(tagged, rs.len(), idx)?;
        for (i, r) in rs.iter().enumerate() {
            line(rings[*r], false, i, p)?;
        }
        p.polygon_end(tagged, idx)
    };
    if members.len() == 1 {
        polygon(&members[0], true, 0, p)
    } else {
        p.multipolygon_begin(members.len(), 0)?;
        for (i, m) in members.iter().enumerate() {
            polygon(m, false, i, p)?;
        }
        p.multipolygon_end(0)
    }
}
