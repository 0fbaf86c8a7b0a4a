//! A geozero [`GeomProcessor`] that writes one geometry as 2-D little-endian EWKB carrying the
//! SRID, checking on the way what PostGIS would otherwise reject without saying which feature:
//! empty parts, too few points, unclosed rings, non-finite coordinates. Z and M are dropped
//! (readers call `xy` because [`GeomProcessor::dimensions`] stays 2-D). Curves, collections and
//! surfaces other than polygons are refused for now.
//!
//! Event order (geozero's): `point_begin xy point_end`; `multipoint_begin xy* multipoint_end`;
//! `linestring_begin xy* linestring_end`; `polygon_begin (linestring_begin xy* linestring_end)*
//! polygon_end`, and their multi forms nesting polygons or linestrings.

use geozero::error::{GeozeroError, Result};
use geozero::GeomProcessor;

use super::GeometryKind;

const POINT: u32 = 1;
const LINESTRING: u32 = 2;
const POLYGON: u32 = 3;
const MULTIPOINT: u32 = 4;
const MULTILINESTRING: u32 = 5;
const MULTIPOLYGON: u32 = 6;
const EWKB_SRID_FLAG: u32 = 0x2000_0000;

#[derive(Debug)]
enum Open {
    Point {
        seen: usize,
    },
    MultiPoint {
        size: usize,
        seen: usize,
    },
    /// A linestring or a polygon ring.
    Line {
        ring: bool,
        size: usize,
        seen: usize,
        first: (f64, f64),
        last: (f64, f64),
    },
    Polygon,
    Multi,
}

/// Encodes one geometry into `out`. Create one per feature.
pub struct EwkbEncoder<'a> {
    out: &'a mut Vec<u8>,
    srid: i32,
    stack: Vec<Open>,
    kind: Option<GeometryKind>,
    started: bool,
    multi: bool,
    empty: bool,
}

fn invalid(msg: impl Into<String>) -> GeozeroError {
    GeozeroError::Geometry(msg.into())
}

impl<'a> EwkbEncoder<'a> {
    /// An encoder appending to `out`, tagging the geometry with `srid`.
    pub fn new(out: &'a mut Vec<u8>, srid: i32) -> Self {
        Self {
            out,
            srid,
            stack: Vec::with_capacity(4),
            kind: None,
            started: false,
            multi: false,
            empty: false,
        }
    }

    /// Whether the geometry was null (no events at all) or empty at its top level: such a
    /// feature is skipped and reported rather than failing the file.
    pub fn is_null_or_empty(&self) -> bool {
        self.empty || !self.started
    }

    /// Whether the outermost geometry is a multi type.
    pub fn is_multi(&self) -> bool {
        self.multi
    }

    /// The dimension of the encoded geometry; `None` if nothing was encoded.
    pub fn finish(self) -> Result<GeometryKind> {
        if !self.stack.is_empty() {
            return Err(invalid("geometry ended early"));
        }
        self.kind
            .ok_or_else(|| invalid("the geometry is missing or empty"))
    }

    fn header(&mut self, wkb_type: u32) {
        self.out.push(1); // little-endian
        if self.started {
            self.out.extend_from_slice(&wkb_type.to_le_bytes());
        } else {
            self.out
                .extend_from_slice(&(wkb_type | EWKB_SRID_FLAG).to_le_bytes());
            self.out.extend_from_slice(&self.srid.to_le_bytes());
        }
    }

    /// Starts a (sub-)geometry; the outermost one sets the kind and carries the SRID.
    fn begin(&mut self, wkb_type: u32, kind: GeometryKind) -> Result<()> {
        if !self.started && self.kind.is_some() {
            return Err(invalid("more than one geometry"));
        }
        if self.stack.is_empty() {
            self.kind = Some(kind);
            self.multi = matches!(wkb_type, MULTIPOINT | MULTILINESTRING | MULTIPOLYGON);
        }
        self.header(wkb_type);
        self.started = true;
        Ok(())
    }

    fn count(&mut self, size: usize, what: &str) -> Result<()> {
        if size == 0 {
            if self.stack.is_empty() {
                self.empty = true;
            }
            return Err(invalid(format!("empty {what}")));
        }
        let n = u32::try_from(size).map_err(|_| invalid(format!("{what} too large")))?;
        self.out.extend_from_slice(&n.to_le_bytes());
        Ok(())
    }

    fn unsupported(&mut self, what: &str) -> Result<()> {
        // Not a null geometry: one we cannot store, which fails the file.
        self.started = true;
        Err(invalid(format!(
            "{what} geometries are not supported yet; convert them first \
             (e.g. `ogr2ogr -nlt CONVERT_TO_LINEAR` for curves)"
        )))
    }
}

impl GeomProcessor for EwkbEncoder<'_> {
    fn xy(&mut self, x: f64, y: f64, _idx: usize) -> Result<()> {
        if !x.is_finite() || !y.is_finite() {
            return Err(invalid(format!(
                "coordinate ({x}, {y}) is not a finite number"
            )));
        }
        match self.stack.last_mut() {
            Some(Open::Point { seen }) => {
                *seen += 1;
                if *seen > 1 {
                    return Err(invalid("a point has more than one position"));
                }
            }
            Some(Open::MultiPoint { seen, .. }) => {
                *seen += 1;
                self.header(POINT);
            }
            Some(Open::Line {
                seen, first, last, ..
            }) => {
                if *seen == 0 {
                    *first = (x, y);
                }
                *last = (x, y);
                *seen += 1;
            }
            _ => return Err(invalid("a position outside any point, line or ring")),
        }
        self.out.extend_from_slice(&x.to_le_bytes());
        self.out.extend_from_slice(&y.to_le_bytes());
        Ok(())
    }

    fn empty_point(&mut self, _idx: usize) -> Result<()> {
        if self.stack.is_empty() {
            self.empty = true;
        }
        Err(invalid("empty point"))
    }

    fn point_begin(&mut self, _idx: usize) -> Result<()> {
        if matches!(self.stack.last(), Some(Open::MultiPoint { .. })) {
            // Some readers wrap each member of a multipoint; the xy event writes its header.
            return Ok(());
        }
        self.begin(POINT, GeometryKind::Point)?;
        self.stack.push(Open::Point { seen: 0 });
        Ok(())
    }

    fn point_end(&mut self, _idx: usize) -> Result<()> {
        match self.stack.last() {
            Some(Open::MultiPoint { .. }) => Ok(()),
            Some(Open::Point { seen: 1 }) => {
                self.stack.pop();
                Ok(())
            }
            _ => Err(invalid("a point without a position")),
        }
    }

    fn multipoint_begin(&mut self, size: usize, _idx: usize) -> Result<()> {
        self.begin(MULTIPOINT, GeometryKind::Point)?;
        self.count(size, "multipoint")?;
        self.stack.push(Open::MultiPoint { size, seen: 0 });
        Ok(())
    }

    fn multipoint_end(&mut self, _idx: usize) -> Result<()> {
        match self.stack.pop() {
            Some(Open::MultiPoint { size, seen }) if size == seen => Ok(()),
            _ => Err(invalid("multipoint has a wrong number of points")),
        }
    }

    fn linestring_begin(&mut self, _tagged: bool, size: usize, idx: usize) -> Result<()> {
        let ring = matches!(self.stack.last(), Some(Open::Polygon));
        if ring {
            if size < 4 {
                return Err(invalid(format!(
                    "ring {} of a polygon has {size} positions; a ring needs at least 4",
                    idx + 1
                )));
            }
        } else {
            if size == 0 && self.stack.is_empty() {
                self.empty = true;
            }
            self.begin(LINESTRING, GeometryKind::Line)?;
            if size < 2 {
                return Err(invalid(format!(
                    "a linestring has {size} position(s); it needs at least 2"
                )));
            }
        }
        self.count(size, if ring { "ring" } else { "linestring" })?;
        self.stack.push(Open::Line {
            ring,
            size,
            seen: 0,
            first: (0.0, 0.0),
            last: (0.0, 0.0),
        });
        Ok(())
    }

    fn linestring_end(&mut self, _tagged: bool, idx: usize) -> Result<()> {
        match self.stack.pop() {
            Some(Open::Line {
                ring,
                size,
                seen,
                first,
                last,
            }) => {
                if size != seen {
                    return Err(invalid("a linestring has a wrong number of positions"));
                }
                if ring && first != last {
                    return Err(invalid(format!(
                        "ring {} of a polygon is not closed (first position {first:?}, last {last:?})",
                        idx + 1
                    )));
                }
                Ok(())
            }
            _ => Err(invalid("unbalanced linestring")),
        }
    }

    fn multilinestring_begin(&mut self, size: usize, _idx: usize) -> Result<()> {
        self.begin(MULTILINESTRING, GeometryKind::Line)?;
        self.count(size, "multilinestring")?;
        self.stack.push(Open::Multi);
        Ok(())
    }

    fn multilinestring_end(&mut self, _idx: usize) -> Result<()> {
        self.stack.pop();
        Ok(())
    }

    fn polygon_begin(&mut self, _tagged: bool, size: usize, _idx: usize) -> Result<()> {
        self.begin(POLYGON, GeometryKind::Polygon)?;
        self.count(size, "polygon")?;
        self.stack.push(Open::Polygon);
        Ok(())
    }

    fn polygon_end(&mut self, _tagged: bool, _idx: usize) -> Result<()> {
        self.stack.pop();
        Ok(())
    }

    fn multipolygon_begin(&mut self, size: usize, _idx: usize) -> Result<()> {
        self.begin(MULTIPOLYGON, GeometryKind::Polygon)?;
        self.count(size, "multipolygon")?;
        self.stack.push(Open::Multi);
        Ok(())
    }

    fn multipolygon_end(&mut self, _idx: usize) -> Result<()> {
        self.stack.pop();
        Ok(())
    }

    fn geometrycollection_begin(&mut self, _size: usize, _idx: usize) -> Result<()> {
        self.unsupported("GeometryCollection")
    }

    fn circularstring_begin(&mut self, _size: usize, _idx: usize) -> Result<()> {
        self.unsupported("curved (CircularString)")
    }

    fn compoundcurve_begin(&mut self, _size: usize, _idx: usize) -> Result<()> {
        self.unsupported("curved (CompoundCurve)")
    }

    fn curvepolygon_begin(&mut self, _size: usize, _idx: usize) -> Result<()> {
        self.unsupported("curved (CurvePolygon)")
    }

    fn multicurve_begin(&mut self, _size: usize, _idx: usize) -> Result<()> {
        self.unsupported("curved (MultiCurve)")
    }

    fn multisurface_begin(&mut self, _size: usize, _idx: usize) -> Result<()> {
        self.unsupported("MultiSurface")
    }

    fn triangle_begin(&mut self, _tagged: bool, _size: usize, _idx: usize) -> Result<()> {
        self.unsupported("Triangle")
    }

    fn polyhedralsurface_begin(&mut self, _size: usize, _idx: usize) -> Result<()> {
        self.unsupported("PolyhedralSurface")
    }

    fn tin_begin(&mut self, _size: usize, _idx: usize) -> Result<()> {
        self.unsupported("TIN")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geozero::wkb::Ewkb;
    use geozero::GeozeroGeometry;

    fn encode(wkt_like: impl FnOnce(&mut EwkbEncoder) -> Result<()>) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut enc = EwkbEncoder::new(&mut out, 4490);
        wkt_like(&mut enc)?;
        enc.finish()?;
        Ok(out)
    }

    #[test]
    fn a_polygon_round_trips_through_geozero_ewkb() {
        let out = encode(|e| {
            e.polygon_begin(true, 1, 0)?;
            e.linestring_begin(false, 4, 0)?;
            for (x, y) in [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (0.0, 0.0)] {
                e.xy(x, y, 0)?;
            }
            e.linestring_end(false, 0)?;
            e.polygon_end(true, 0)
        })
        .unwrap();
        // Decode with geozero's own EWKB reader into a fresh encoder: identical bytes.
        let mut again = Vec::new();
        let mut enc = EwkbEncoder::new(&mut again, 4490);
        Ewkb(&out).process_geom(&mut enc).unwrap();
        assert_eq!(enc.finish().unwrap(), GeometryKind::Polygon);
        assert_eq!(out, again);
        assert_eq!(&out[1..5], &(3u32 | EWKB_SRID_FLAG).to_le_bytes());
        assert_eq!(&out[5..9], &4490i32.to_le_bytes());
    }

    #[test]
    fn an_unclosed_ring_is_refused() {
        let err = encode(|e| {
            e.polygon_begin(true, 1, 0)?;
            e.linestring_begin(false, 4, 0)?;
            for (x, y) in [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (0.5, 0.5)] {
                e.xy(x, y, 0)?;
            }
            e.linestring_end(false, 0)?;
            e.polygon_end(true, 0)
        })
        .unwrap_err();
        assert!(err.to_string().contains("not closed"), "{err}");
    }

    #[test]
    fn a_multipoint_writes_a_header_per_member() {
        let out = encode(|e| {
            e.multipoint_begin(2, 0)?;
            e.xy(1.0, 2.0, 0)?;
            e.xy(3.0, 4.0, 1)?;
            e.multipoint_end(0)
        })
        .unwrap();
        assert_eq!(out.len(), 1 + 4 + 4 + 4 + 2 * (1 + 4 + 16));
    }
}
