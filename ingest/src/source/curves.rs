//! Curves linearised on the way into the sink: a geozero [`GeomProcessor`] wrapper that turns
//! CircularString, CompoundCurve, CurvePolygon, MultiCurve and MultiSurface events into the
//! LineString, Polygon, MultiLineString and MultiPolygon events the sink stores, and passes
//! every other event through unchanged.
//!
//! Arcs are approximated like PostGIS's `ST_CurveToLine` default: 32 segments per quarter
//! circle, each arc's end points kept exactly (so rings stay closed). Three collinear points
//! are a straight segment. Only x and y go through, so Z and M are dropped as by the sink.
//!
//! Event order handled (geozero's WKB reader): `circularstring_begin xy* circularstring_end`;
//! `compoundcurve_begin (linestring_begin xy* linestring_end | circularstring_begin xy*
//! circularstring_end)* compoundcurve_end`; `curvepolygon_begin (ring: linestring,
//! circularstring or compoundcurve)* curvepolygon_end`; `multicurve_begin (curve)*
//! multicurve_end`; `multisurface_begin (polygon | curvepolygon)* multisurface_end`.

use std::f64::consts::{FRAC_PI_2, TAU};

use geozero::error::{GeozeroError, Result};
use geozero::{CoordDimensions, GeomProcessor};

/// Segments per quarter circle, as PostGIS's `ST_CurveToLine` by default.
const SEGMENTS_PER_QUARTER: f64 = 32.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    CurvePolygon { tagged: bool },
    MultiSurface,
    MultiCurve,
    Compound,
}

/// A curve being collected before it is emitted as one linestring.
struct Curve {
    tagged: bool,
    idx: usize,
    points: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment {
    Line,
    Arc,
}

/// Wraps the sink's geometry processor for one feature; [`Linearise::curved`] then says
/// whether the geometry held a curve type.
pub struct Linearise<'p, P: GeomProcessor> {
    inner: &'p mut P,
    stack: Vec<Ctx>,
    curve: Option<Curve>,
    segment: Option<(Segment, Vec<(f64, f64)>)>,
    curved: bool,
}

impl<'p, P: GeomProcessor> Linearise<'p, P> {
    pub fn new(inner: &'p mut P) -> Self {
        Self {
            inner,
            stack: Vec::new(),
            curve: None,
            segment: None,
            curved: false,
        }
    }

    /// Whether a curve type was met (and linearised).
    pub fn curved(&self) -> bool {
        self.curved
    }

    /// Whether a curve emitted now is a part of something (a ring, a member) or stands alone.
    fn tagged_here(&self) -> bool {
        !matches!(
            self.stack.last(),
            Some(Ctx::CurvePolygon { .. } | Ctx::MultiCurve)
        )
    }

    fn start_curve(&mut self, idx: usize) {
        self.curved = true;
        self.curve = Some(Curve {
            tagged: self.tagged_here(),
            idx,
            points: Vec::new(),
        });
    }

    /// Appends the finished segment to the curve being collected.
    fn end_segment(&mut self) -> Result<()> {
        let (kind, points) = self
            .segment
            .take()
            .ok_or_else(|| GeozeroError::Geometry("a curve segment ended twice".into()))?;
        let curve = self
            .curve
            .as_mut()
            .ok_or_else(|| GeozeroError::Geometry("a curve segment outside a curve".into()))?;
        let linear = match kind {
            Segment::Line => points,
            Segment::Arc => linearise_arcs(&points)?,
        };
        let skip =
            usize::from(curve.points.last().is_some() && curve.points.last() == linear.first());
        curve
            .points
            .extend_from_slice(&linear[skip.min(linear.len())..]);
        Ok(())
    }

    /// Emits the collected curve as a linestring.
    fn emit_curve(&mut self) -> Result<()> {
        let curve = self
            .curve
            .take()
            .ok_or_else(|| GeozeroError::Geometry("a curve ended twice".into()))?;
        self.inner
            .linestring_begin(curve.tagged, curve.points.len(), curve.idx)?;
        for (i, (x, y)) in curve.points.iter().enumerate() {
            self.inner.xy(*x, *y, i)?;
        }
        self.inner.linestring_end(curve.tagged, curve.idx)
    }
}

/// The points of a circular string (arcs through every three points, sharing end points) as a
/// line: the first point, then each arc's intermediate points and its end point.
fn linearise_arcs(points: &[(f64, f64)]) -> Result<Vec<(f64, f64)>> {
    if points.len() < 3 || points.len().is_multiple_of(2) {
        return Err(GeozeroError::Geometry(format!(
            "a circular string needs an odd number of points, at least 3 (it has {})",
            points.len()
        )));
    }
    let mut out = vec![points[0]];
    for arc in points.windows(3).step_by(2) {
        arc_points(arc[0], arc[1], arc[2], &mut out);
    }
    Ok(out)
}

/// Appends the points after `p0` of the arc from `p0` through `p1` to `p2`.
fn arc_points(p0: (f64, f64), p1: (f64, f64), p2: (f64, f64), out: &mut Vec<(f64, f64)>) {
    let (center, sweep) = if p0 == p2 {
        // A full circle: p1 is the opposite point.
        (((p0.0 + p1.0) / 2.0, (p0.1 + p1.1) / 2.0), TAU)
    } else {
        let d = 2.0 * (p0.0 * (p1.1 - p2.1) + p1.0 * (p2.1 - p0.1) + p2.0 * (p0.1 - p1.1));
        let scale = (p0.0 - p2.0).abs().max((p0.1 - p2.1).abs()).max(1e-300);
        if d.abs() <= 1e-12 * scale * scale {
            // Collinear: a straight segment.
            out.push(p1);
            out.push(p2);
            return;
        }
        let sq = |p: (f64, f64)| p.0 * p.0 + p.1 * p.1;
        let cx = (sq(p0) * (p1.1 - p2.1) + sq(p1) * (p2.1 - p0.1) + sq(p2) * (p0.1 - p1.1)) / d;
        let cy = (sq(p0) * (p2.0 - p1.0) + sq(p1) * (p0.0 - p2.0) + sq(p2) * (p1.0 - p0.0)) / d;
        let angle = |p: (f64, f64)| (p.1 - cy).atan2(p.0 - cx);
        let ccw = (p1.0 - p0.0) * (p2.1 - p1.1) - (p1.1 - p0.1) * (p2.0 - p1.0) > 0.0;
        let turn = |a: f64, b: f64| (b - a).rem_euclid(TAU);
        let sweep = if ccw {
            turn(angle(p0), angle(p2))
        } else {
            -turn(angle(p2), angle(p0))
        };
        ((cx, cy), sweep)
    };
    let radius = ((p0.0 - center.0).powi(2) + (p0.1 - center.1).powi(2)).sqrt();
    let start = (p0.1 - center.1).atan2(p0.0 - center.0);
    let n = ((sweep.abs() / FRAC_PI_2) * SEGMENTS_PER_QUARTER)
        .ceil()
        .max(2.0) as usize;
    for k in 1..n {
        let a = start + sweep * k as f64 / n as f64;
        out.push((center.0 + radius * a.cos(), center.1 + radius * a.sin()));
    }
    out.push(p2);
}

impl<P: GeomProcessor> GeomProcessor for Linearise<'_, P> {
    fn dimensions(&self) -> CoordDimensions {
        self.inner.dimensions()
    }

    fn multi_dim(&self) -> bool {
        self.inner.multi_dim()
    }

    fn srid(&mut self, srid: Option<i32>) -> Result<()> {
        self.inner.srid(srid)
    }

    fn xy(&mut self, x: f64, y: f64, idx: usize) -> Result<()> {
        match &mut self.segment {
            Some((_, points)) => {
                points.push((x, y));
                Ok(())
            }
            None => self.inner.xy(x, y, idx),
        }
    }

    fn coordinate(
        &mut self,
        x: f64,
        y: f64,
        z: Option<f64>,
        m: Option<f64>,
        t: Option<f64>,
        tm: Option<u64>,
        idx: usize,
    ) -> Result<()> {
        match &mut self.segment {
            Some((_, points)) => {
                points.push((x, y));
                Ok(())
            }
            None => self.inner.coordinate(x, y, z, m, t, tm, idx),
        }
    }

    fn empty_point(&mut self, idx: usize) -> Result<()> {
        self.inner.empty_point(idx)
    }

    fn point_begin(&mut self, idx: usize) -> Result<()> {
        self.inner.point_begin(idx)
    }

    fn point_end(&mut self, idx: usize) -> Result<()> {
        self.inner.point_end(idx)
    }

    fn multipoint_begin(&mut self, size: usize, idx: usize) -> Result<()> {
        self.inner.multipoint_begin(size, idx)
    }

    fn multipoint_end(&mut self, idx: usize) -> Result<()> {
        self.inner.multipoint_end(idx)
    }

    fn linestring_begin(&mut self, tagged: bool, size: usize, idx: usize) -> Result<()> {
        if self.stack.last() == Some(&Ctx::Compound) {
            self.segment = Some((Segment::Line, Vec::with_capacity(size)));
            return Ok(());
        }
        self.inner.linestring_begin(tagged, size, idx)
    }

    fn linestring_end(&mut self, tagged: bool, idx: usize) -> Result<()> {
        if self.stack.last() == Some(&Ctx::Compound) {
            return self.end_segment();
        }
        self.inner.linestring_end(tagged, idx)
    }

    fn multilinestring_begin(&mut self, size: usize, idx: usize) -> Result<()> {
        self.inner.multilinestring_begin(size, idx)
    }

    fn multilinestring_end(&mut self, idx: usize) -> Result<()> {
        self.inner.multilinestring_end(idx)
    }

    fn polygon_begin(&mut self, tagged: bool, size: usize, idx: usize) -> Result<()> {
        self.inner.polygon_begin(tagged, size, idx)
    }

    fn polygon_end(&mut self, tagged: bool, idx: usize) -> Result<()> {
        self.inner.polygon_end(tagged, idx)
    }

    fn multipolygon_begin(&mut self, size: usize, idx: usize) -> Result<()> {
        self.inner.multipolygon_begin(size, idx)
    }

    fn multipolygon_end(&mut self, idx: usize) -> Result<()> {
        self.inner.multipolygon_end(idx)
    }

    fn geometrycollection_begin(&mut self, size: usize, idx: usize) -> Result<()> {
        self.inner.geometrycollection_begin(size, idx)
    }

    fn geometrycollection_end(&mut self, idx: usize) -> Result<()> {
        self.inner.geometrycollection_end(idx)
    }

    fn circularstring_begin(&mut self, size: usize, idx: usize) -> Result<()> {
        if self.stack.last() != Some(&Ctx::Compound) {
            self.start_curve(idx);
        }
        self.segment = Some((Segment::Arc, Vec::with_capacity(size)));
        Ok(())
    }

    fn circularstring_end(&mut self, _idx: usize) -> Result<()> {
        self.end_segment()?;
        if self.stack.last() == Some(&Ctx::Compound) {
            return Ok(());
        }
        self.emit_curve()
    }

    fn compoundcurve_begin(&mut self, _size: usize, idx: usize) -> Result<()> {
        self.start_curve(idx);
        self.stack.push(Ctx::Compound);
        Ok(())
    }

    fn compoundcurve_end(&mut self, _idx: usize) -> Result<()> {
        self.stack.pop();
        self.emit_curve()
    }

    fn curvepolygon_begin(&mut self, size: usize, idx: usize) -> Result<()> {
        self.curved = true;
        let tagged = self.stack.last() != Some(&Ctx::MultiSurface);
        self.stack.push(Ctx::CurvePolygon { tagged });
        self.inner.polygon_begin(tagged, size, idx)
    }

    fn curvepolygon_end(&mut self, idx: usize) -> Result<()> {
        match self.stack.pop() {
            Some(Ctx::CurvePolygon { tagged }) => self.inner.polygon_end(tagged, idx),
            _ => Err(GeozeroError::Geometry("a curve polygon ended twice".into())),
        }
    }

    fn multicurve_begin(&mut self, size: usize, idx: usize) -> Result<()> {
        self.curved = true;
        self.stack.push(Ctx::MultiCurve);
        self.inner.multilinestring_begin(size, idx)
    }

    fn multicurve_end(&mut self, idx: usize) -> Result<()> {
        self.stack.pop();
        self.inner.multilinestring_end(idx)
    }

    fn multisurface_begin(&mut self, size: usize, idx: usize) -> Result<()> {
        self.curved = true;
        self.stack.push(Ctx::MultiSurface);
        self.inner.multipolygon_begin(size, idx)
    }

    fn multisurface_end(&mut self, idx: usize) -> Result<()> {
        self.stack.pop();
        self.inner.multipolygon_end(idx)
    }

    fn triangle_begin(&mut self, tagged: bool, size: usize, idx: usize) -> Result<()> {
        self.inner.triangle_begin(tagged, size, idx)
    }

    fn triangle_end(&mut self, tagged: bool, idx: usize) -> Result<()> {
        self.inner.triangle_end(tagged, idx)
    }

    fn polyhedralsurface_begin(&mut self, size: usize, idx: usize) -> Result<()> {
        self.inner.polyhedralsurface_begin(size, idx)
    }

    fn polyhedralsurface_end(&mut self, idx: usize) -> Result<()> {
        self.inner.polyhedralsurface_end(idx)
    }

    fn tin_begin(&mut self, size: usize, idx: usize) -> Result<()> {
        self.inner.tin_begin(size, idx)
    }

    fn tin_end(&mut self, idx: usize) -> Result<()> {
        self.inner.tin_end(idx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects linear events as WKT-ish text.
    #[derive(Default)]
    struct Text(String);

    impl GeomProcessor for Text {
        fn xy(&mut self, x: f64, y: f64, idx: usize) -> Result<()> {
            if idx > 0 {
                self.0.push(',');
            }
            self.0.push_str(&format!("{x:.3} {y:.3}"));
            Ok(())
        }
        fn linestring_begin(&mut self, tagged: bool, size: usize, _idx: usize) -> Result<()> {
            self.0
                .push_str(&format!("L{}{size}(", if tagged { "t" } else { "" }));
            Ok(())
        }
        fn linestring_end(&mut self, _tagged: bool, _idx: usize) -> Result<()> {
            self.0.push(')');
            Ok(())
        }
        fn polygon_begin(&mut self, tagged: bool, size: usize, _idx: usize) -> Result<()> {
            self.0
                .push_str(&format!("P{}{size}(", if tagged { "t" } else { "" }));
            Ok(())
        }
        fn polygon_end(&mut self, _tagged: bool, _idx: usize) -> Result<()> {
            self.0.push(')');
            Ok(())
        }
        fn multipolygon_begin(&mut self, size: usize, _idx: usize) -> Result<()> {
            self.0.push_str(&format!("MP{size}("));
            Ok(())
        }
        fn multipolygon_end(&mut self, _idx: usize) -> Result<()> {
            self.0.push(')');
            Ok(())
        }
    }

    #[test]
    fn a_half_circle_becomes_64_segments_on_the_circle_through_its_points() {
        let mut out = Vec::new();
        out.push((1.0, 0.0));
        arc_points((1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), &mut out);
        assert_eq!(out.len(), 65);
        assert_eq!(out[64], (-1.0, 0.0));
        for (x, y) in &out {
            assert!(((x * x + y * y).sqrt() - 1.0).abs() < 1e-12);
            assert!(*y >= -1e-12, "the arc goes through (0, 1), not (0, -1)");
        }
        // Clockwise the other way round.
        let mut cw = vec![(1.0, 0.0)];
        arc_points((1.0, 0.0), (0.0, -1.0), (-1.0, 0.0), &mut cw);
        assert!(cw[1..64].iter().all(|(_, y)| *y < 0.0));
    }

    #[test]
    fn collinear_arc_points_are_a_straight_line() {
        let mut out = vec![(0.0, 0.0)];
        arc_points((0.0, 0.0), (1.0, 1.0), (2.0, 2.0), &mut out);
        assert_eq!(out, vec![(0.0, 0.0), (1.0, 1.0), (2.0, 2.0)]);
    }

    #[test]
    fn a_curve_polygon_in_a_multi_surface_becomes_a_closed_polygon_ring() {
        let mut text = Text::default();
        {
            let mut lin = Linearise::new(&mut text);
            lin.multisurface_begin(1, 0).unwrap();
            lin.curvepolygon_begin(1, 0).unwrap();
            lin.compoundcurve_begin(2, 0).unwrap();
            lin.circularstring_begin(3, 0).unwrap();
            for (i, (x, y)) in [(0.0, 0.0), (1.0, 1.0), (2.0, 0.0)].iter().enumerate() {
                lin.xy(*x, *y, i).unwrap();
            }
            lin.circularstring_end(0).unwrap();
            lin.linestring_begin(false, 2, 1).unwrap();
            lin.xy(2.0, 0.0, 0).unwrap();
            lin.xy(0.0, 0.0, 1).unwrap();
            lin.linestring_end(false, 1).unwrap();
            lin.compoundcurve_end(0).unwrap();
            lin.curvepolygon_end(0).unwrap();
            lin.multisurface_end(0).unwrap();
            assert!(lin.curved());
        }
        let t = text.0;
        // 64 arc segments (a half circle) + 1 closing segment = 66 points.
        assert!(t.starts_with("MP1(P1(L66(0.000 0.000,"), "{t}");
        assert!(t.ends_with(",2.000 0.000,0.000 0.000)))"), "{t}");
    }
}
