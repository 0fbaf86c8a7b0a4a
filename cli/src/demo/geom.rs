//! Geometry helpers for the demo generator: lon/lat rings, ellipsoidal area, clipping.
//!
//! Rings are open (the first point is not repeated) and exteriors run counter-clockwise; the
//! writers close them. Coordinates are degrees (x = longitude, y = latitude).

use std::f64::consts::PI;

/// A lon/lat position in degrees.
pub(crate) type Pt = [f64; 2];
/// An open ring: the first point is not repeated at the end.
pub(crate) type Ring = Vec<Pt>;
/// Exterior ring followed by holes.
pub(crate) type Polygon = Vec<Ring>;

/// Semi-major axis of GRS80 / CGCS2000 (WGS84 differs only in the 10th digit of flattening).
const A: f64 = 6_378_137.0;
const F: f64 = 1.0 / 298.257_222_101;

/// Rounds a coordinate to 1e-9 degree (about 0.1 mm), so that a vertex computed twice along
/// different paths (the two cells sharing a clipped edge) lands on the same value.
pub(crate) fn snap(p: Pt) -> Pt {
    [(p[0] * 1e9).round() / 1e9, (p[1] * 1e9).round() / 1e9]
}

/// `q(φ)` of the authalic latitude (Snyder 3-12): `a·q/2` is the northing of the ellipsoidal
/// Lambert cylindrical equal-area projection.
fn authalic_q(lat_deg: f64) -> f64 {
    let e2 = F * (2.0 - F);
    let e = e2.sqrt();
    let s = lat_deg.to_radians().sin();
    (1.0 - e2) * (s / (1.0 - e2 * s * s) - (1.0 / (2.0 * e)) * ((1.0 - e * s) / (1.0 + e * s)).ln())
}

/// Signed area of a ring on the GRS80 ellipsoid in m² (counter-clockwise positive), computed
/// in the ellipsoidal cylindrical equal-area projection; never from planar degrees.
pub(crate) fn ring_area_m2(ring: &[Pt]) -> f64 {
    if ring.len() < 3 {
        return 0.0;
    }
    let lon0 = ring[0][0];
    let proj = |p: &Pt| [A * (p[0] - lon0).to_radians(), A * authalic_q(p[1]) / 2.0];
    let origin = proj(&ring[0]);
    let mut sum = 0.0;
    let n = ring.len();
    for k in 0..n {
        let p = proj(&ring[k]);
        let q = proj(&ring[(k + 1) % n]);
        let (px, py) = (p[0] - origin[0], p[1] - origin[1]);
        let (qx, qy) = (q[0] - origin[0], q[1] - origin[1]);
        sum += px * qy - qx * py;
    }
    sum / 2.0
}

/// Planar signed area in degree² (only used for orientation and centroids).
pub(crate) fn planar_signed_area(ring: &[Pt]) -> f64 {
    let n = ring.len();
    let mut sum = 0.0;
    for k in 0..n {
        let p = ring[k];
        let q = ring[(k + 1) % n];
        sum += p[0] * q[1] - q[0] * p[1];
    }
    sum / 2.0
}

/// The ring with the requested orientation.
pub(crate) fn oriented(ring: &[Pt], ccw: bool) -> Ring {
    let mut out = ring.to_vec();
    if (planar_signed_area(ring) > 0.0) != ccw {
        out.reverse();
    }
    out
}

/// Area centroid of a ring (planar in degrees; parcels are small).
pub(crate) fn centroid(ring: &[Pt]) -> Pt {
    let n = ring.len();
    let o = ring[0];
    let (mut cx, mut cy, mut a2) = (0.0, 0.0, 0.0);
    for k in 0..n {
        let p = [ring[k][0] - o[0], ring[k][1] - o[1]];
        let q = [ring[(k + 1) % n][0] - o[0], ring[(k + 1) % n][1] - o[1]];
        let c = p[0] * q[1] - q[0] * p[1];
        a2 += c;
        cx += (p[0] + q[0]) * c;
        cy += (p[1] + q[1]) * c;
    }
    if a2.abs() < 1e-30 {
        return o;
    }
    [o[0] + cx / (3.0 * a2), o[1] + cy / (3.0 * a2)]
}

/// Even-odd point in ring test.
pub(crate) fn point_in_ring(p: Pt, ring: &[Pt]) -> bool {
    let n = ring.len();
    let mut inside = false;
    let mut j = n - 1;
    for i in 0..n {
        let (a, b) = (ring[i], ring[j]);
        if (a[1] > p[1]) != (b[1] > p[1])
            && p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0]
        {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// `[min_x, min_y, max_x, max_y]` of some points.
pub(crate) fn bbox<'a>(points: impl IntoIterator<Item = &'a Pt>) -> [f64; 4] {
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for p in points {
        b[0] = b[0].min(p[0]);
        b[1] = b[1].min(p[1]);
        b[2] = b[2].max(p[0]);
        b[3] = b[3].max(p[1]);
    }
    b
}

fn cross(o: Pt, a: Pt, b: Pt) -> f64 {
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
}

/// Sutherland–Hodgman: the part of `subject` inside the convex counter-clockwise `clip`.
/// Valid when the intersection is connected, which holds for the smooth county outline and
/// cells much smaller than its curvature. Vertices that fall on a clip corner are snapped to it
/// exactly so shared cell corners stay shared.
pub(crate) fn clip_to_convex(subject: &[Pt], clip: &[Pt]) -> Ring {
    let mut out: Ring = subject.to_vec();
    let m = clip.len();
    for k in 0..m {
        if out.is_empty() {
            break;
        }
        let (c1, c2) = (clip[k], clip[(k + 1) % m]);
        let input = std::mem::take(&mut out);
        let n = input.len();
        for i in 0..n {
            let p = input[i];
            let q = input[(i + 1) % n];
            let (sp, sq) = (cross(c1, c2, p), cross(c1, c2, q));
            if sp >= 0.0 {
                out.push(p);
            }
            if (sp >= 0.0) != (sq >= 0.0) {
                let t = sp / (sp - sq);
                out.push([p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])]);
            }
        }
    }
    let tol = 1e-11;
    let snapped = out.into_iter().map(|p| {
        let corner = clip
            .iter()
            .find(|c| (c[0] - p[0]).abs() < tol && (c[1] - p[1]).abs() < tol);
        snap(corner.copied().unwrap_or(p))
    });
    dedup_ring(snapped.collect())
}

/// Removes repeated consecutive points (including last = first).
pub(crate) fn dedup_ring(ring: Ring) -> Ring {
    let mut out: Ring = Vec::with_capacity(ring.len());
    for p in ring {
        if out.last() != Some(&p) {
            out.push(p);
        }
    }
    while out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    out
}

/// The part of `subject` on one side of the meridian `x0` (single piece assumed, see
/// [`clip_to_convex`]). The cut points are computed from the same edges in the same direction
/// for both sides, so the two pieces share them bit for bit.
pub(crate) fn clip_meridian(subject: &[Pt], x0: f64, keep_west: bool) -> Ring {
    let inside = |p: Pt| if keep_west { p[0] <= x0 } else { p[0] >= x0 };
    let n = subject.len();
    let mut out = Vec::new();
    for i in 0..n {
        let p = subject[i];
        let q = subject[(i + 1) % n];
        if inside(p) {
            out.push(p);
        }
        if (p[0] <= x0) != (q[0] <= x0) {
            let t = (x0 - p[0]) / (q[0] - p[0]);
            out.push(snap([x0, p[1] + t * (q[1] - p[1])]));
        }
    }
    dedup_ring(out)
}

/// Points of an ellipse centred on `c` with semi-axes `a`, `b` (degrees) rotated by `rot_deg`,
/// counter-clockwise.
pub(crate) fn ellipse(c: Pt, a: f64, b: f64, rot_deg: f64, n: usize) -> Ring {
    let (sr, cr) = rot_deg.to_radians().sin_cos();
    (0..n)
        .map(|k| {
            let t = 2.0 * PI * k as f64 / n as f64;
            let (x, y) = (a * t.cos(), b * t.sin());
            snap([c[0] + x * cr - y * sr, c[1] + x * sr + y * cr])
        })
        .collect()
}

/// Approximate ground distance in km between two nearby lon/lat points.
pub(crate) fn dist_km(p: Pt, q: Pt) -> f64 {
    let kx = 111.32 * (0.5 * (p[1] + q[1])).to_radians().cos();
    let dx = (p[0] - q[0]) * kx;
    let dy = (p[1] - q[1]) * 110.95;
    (dx * dx + dy * dy).sqrt()
}

/// Ground distance in km from `p` to the segment `a`–`b`.
pub(crate) fn dist_to_segment_km(p: Pt, a: Pt, b: Pt) -> f64 {
    let kx = 111.32 * p[1].to_radians().cos();
    let ky = 110.95;
    let (ax, ay) = ((a[0] - p[0]) * kx, (a[1] - p[1]) * ky);
    let (bx, by) = ((b[0] - p[0]) * kx, (b[1] - p[1]) * ky);
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (x, y) = (ax + t * dx, ay + t * dy);
    (x * x + y * y).sqrt()
}

/// Ground distance in km from `p` to a polyline.
pub(crate) fn dist_to_line_km(p: Pt, line: &[Pt]) -> f64 {
    line.windows(2)
        .map(|w| dist_to_segment_km(p, w[0], w[1]))
        .fold(f64::INFINITY, f64::min)
}
