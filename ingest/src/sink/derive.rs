//! The two stored derivatives of every feature's geometry, `geom_3857` (the Web-Mercator copy
//! tiles are cut from) and `area_m2` (the geodesic area on the WGS 84 ellipsoid), computed in
//! the client on worker threads instead of by the server row after row during the COPY.
//!
//! Only for coordinates whose datum is WGS 84 for PROJ's purposes: EPSG:4326, EPSG:4490
//! (CGCS2000, which PROJ maps to WGS 84 with a null transformation), the CGCS2000 Gauss-Krüger
//! zones (3-degree EPSG:4513–4554, 6-degree EPSG:4491–4512) and WGS 84 / UTM (EPSG:32601–32660
//! north, 32701–32760 south), brought to longitude and latitude first by the inverse
//! transverse Mercator PROJ uses for them ([`TransverseMercator`]: Poder/Engsager, 6th-order
//! Krüger series on the zone's ellipsoid, as PROJ's `tmerc` and `utm` with
//! `tmerc_default_algo = poder_engsager`). Everything else,
//! and any geometry outside the domain where the client's result is the server's (latitudes
//! beyond Web Mercator's ±85.0511287798°, longitudes at or beyond ±180°), is left NULL and
//! filled by the partition's trigger (`onemap.features_derive`, migration V12), so the stored
//! values always mean what the SQL definition says.
//!
//! The input is a chunk of binary COPY rows `(version_id, fid, props, geom)` as [`RowSink`]
//! writes them (geometry as the little-endian EWKB [`EwkbEncoder`] writes); the output is the
//! same rows with `geom_3857` and `area_m2` appended, in the same order.
//!
//! On the way it proves what it can of each geometry's validity, so that the server's
//! `ST_IsValid` scan runs only on the rest: points, and polygons of a single ring whose
//! simplicity is decided with exact-sign orientation tests (the sign GEOS computes), are valid
//! for certain; every other geometry, or any doubt, is listed for the server to check.
//!
//! [`RowSink`]: super::RowSink
//! [`EwkbEncoder`]: super::EwkbEncoder

use geographiclib_rs::{Geodesic, PolygonArea, Winding};

/// The SRIDs whose derivatives the client computes.
pub fn client_derives(srid: i32) -> bool {
    matches!(srid, 4326 | 4490) || TransverseMercator::of(srid).is_some()
}

/// Web Mercator's latitude limit, as `onemap.features_derive` clips to it.
const MAX_LAT: f64 = 85.051_128_779_8;
/// The WGS 84 semi-major axis, Web Mercator's sphere radius.
const WGS84_A: f64 = 6_378_137.0;
/// WGS 84's flattening as PostGIS derives it from `spatial_ref_sys` (a and b).
const WGS84_B: f64 = 6_356_752.314_245_179;
const EWKB_SRID_FLAG: u32 = 0x2000_0000;

/// Computes the derivatives of chunks; one per worker thread (it holds the ellipsoid).
pub struct Deriver {
    geod: Geodesic,
    /// Transformed coordinates of the current geometry, written only if all are in domain.
    mercator: Vec<u8>,
    /// The positions of the current geometry's last ring, as stored.
    ring: Vec<(f64, f64)>,
    /// Polygons and rings seen in the current geometry, and whether every ring was proven
    /// simple (see [`certainly_simple_ring`]).
    polygons: usize,
    rings: usize,
    rings_simple: bool,
    /// The transverse Mercator zone of the current geometry's SRID (`None`: longitude,
    /// latitude).
    grid: Option<TransverseMercator>,
    /// The SRID `grid` was made for.
    grid_srid: i32,
}

impl Default for Deriver {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a geometry is left to the server.
struct OutOfDomain;

/// Our own EWKB did not parse: a bug, not a property of the file.
#[derive(Debug)]
pub struct Malformed(pub String);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed COPY row: {}", self.0)
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| Malformed(format!("{n} bytes past offset {}", self.at)))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn be_i16(&mut self) -> Result<i16, Malformed> {
        Ok(i16::from_be_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }
    fn be_i32(&mut self) -> Result<i32, Malformed> {
        Ok(i32::from_be_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn le_u32(&mut self) -> Result<u32, Malformed> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn le_f64(&mut self) -> Result<f64, Malformed> {
        Ok(f64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    /// One COPY field: its bytes (`None` for NULL).
    fn field(&mut self) -> Result<Option<&'a [u8]>, Malformed> {
        let len = self.be_i32()?;
        if len < 0 {
            return Ok(None);
        }
        self.take(usize::try_from(len).expect("non-negative"))
            .map(Some)
    }
}

impl Deriver {
    /// A deriver on the WGS 84 ellipsoid.
    pub fn new() -> Self {
        Self {
            geod: Geodesic::new(WGS84_A, (WGS84_A - WGS84_B) / WGS84_A),
            mercator: Vec::with_capacity(4096),
            ring: Vec::with_capacity(256),
            polygons: 0,
            rings: 0,
            rings_simple: true,
            grid: None,
            grid_srid: 4326,
        }
    }

    /// Appends to `out` the rows of `chunk` with `geom_3857` and `area_m2` added, and to
    /// `unchecked` the fids of the rows whose validity the client could not prove (the server
    /// runs `ST_IsValid` on those only).
    pub fn derive_chunk(
        &mut self,
        chunk: &[u8],
        out: &mut Vec<u8>,
        unchecked: &mut Vec<i64>,
    ) -> Result<(), Malformed> {
        let mut r = Reader { b: chunk, at: 0 };
        while r.at < chunk.len() {
            let start = r.at;
            let fields = r.be_i16()?;
            if fields != 4 {
                return Err(Malformed(format!("a row of {fields} fields")));
            }
            r.field()?;
            let fid = r
                .field()?
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(i64::from_be_bytes)
                .ok_or_else(|| Malformed("a fid that is not a bigint".into()))?;
            r.field()?;
            let geom = r
                .field()?
                .ok_or_else(|| Malformed("a NULL geometry".into()))?;
            out.extend_from_slice(&6i16.to_be_bytes());
            out.extend_from_slice(&chunk[start + 2..r.at]);
            let derived = self.derive(geom)?;
            if !self.certainly_valid(derived.is_some()) {
                unchecked.push(fid);
            }
            match derived {
                Some(area) => {
                    let len = i32::try_from(self.mercator.len())
                        .map_err(|_| Malformed("a geometry larger than 2 GiB".into()))?;
                    out.extend_from_slice(&len.to_be_bytes());
                    out.extend_from_slice(&self.mercator);
                    match area {
                        Some(a) => {
                            out.extend_from_slice(&8i32.to_be_bytes());
                            out.extend_from_slice(&a.to_be_bytes());
                        }
                        None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                    }
                }
                // Both NULL: the partition's trigger computes them.
                None => {
                    out.extend_from_slice(&(-1i32).to_be_bytes());
                    out.extend_from_slice(&(-1i32).to_be_bytes());
                }
            }
        }
        Ok(())
    }

    /// Transforms one EWKB geometry into `self.mercator`; returns its area (`None` unless it
    /// is a polygon or multipolygon), or `None` altogether when the server must do it.
    fn derive(&mut self, ewkb: &[u8]) -> Result<Option<Option<f64>>, Malformed> {
        self.mercator.clear();
        self.polygons = 0;
        self.rings = 0;
        self.rings_simple = true;
        let mut r = Reader { b: ewkb, at: 0 };
        let mut area = 0.0;
        match self.geometry(&mut r, true, &mut area) {
            Ok(kind) => Ok(Some(matches!(kind, 3 | 6).then_some(area))),
            Err(Err(m)) => Err(m),
            Err(Ok(OutOfDomain)) => Ok(None),
        }
    }

    /// Whether the geometry just derived is valid in GEOS's sense for certain: points (their
    /// coordinates are finite), and polygons of one shell without holes whose ring was proven
    /// simple. Anything else (holes, several polygons, lines, a geometry left to the server)
    /// is not proven and gets `ST_IsValid`.
    fn certainly_valid(&self, derived: bool) -> bool {
        derived
            && (self.polygons == 0 && self.rings == 0 && self.mercator_is_points()
                || self.polygons == 1 && self.rings == 1 && self.rings_simple)
    }

    /// Whether the geometry just derived is a point or multipoint.
    fn mercator_is_points(&self) -> bool {
        self.mercator.len() >= 5
            && matches!(
                u32::from_le_bytes(self.mercator[1..5].try_into().expect("4 bytes"))
                    & !EWKB_SRID_FLAG,
                1 | 4
            )
    }

    /// Copies one (sub-)geometry, transformed, adding polygon areas to `area`; returns its
    /// WKB type.
    fn geometry(
        &mut self,
        r: &mut Reader<'_>,
        outer: bool,
        area: &mut f64,
    ) -> Result<u32, Result<OutOfDomain, Malformed>> {
        let order = r.take(1).map_err(Err)?[0];
        if order != 1 {
            return Err(Err(Malformed("big-endian WKB".into())));
        }
        let typ = r.le_u32().map_err(Err)?;
        let kind = typ & !EWKB_SRID_FLAG;
        if typ & EWKB_SRID_FLAG != 0 {
            let srid = i32::from_le_bytes(r.take(4).map_err(Err)?.try_into().expect("4 bytes"));
            if outer && srid != self.grid_srid {
                self.grid = match srid {
                    4326 | 4490 => None,
                    // Not ours to derive: the server does it.
                    _ => Some(TransverseMercator::of(srid).ok_or(Ok(OutOfDomain))?),
                };
                self.grid_srid = srid;
            }
        }
        let grid = self.grid.as_ref();
        self.mercator.push(1);
        if outer {
            self.mercator
                .extend_from_slice(&(kind | EWKB_SRID_FLAG).to_le_bytes());
            self.mercator.extend_from_slice(&3857i32.to_le_bytes());
        } else {
            self.mercator.extend_from_slice(&kind.to_le_bytes());
        }
        match kind {
            1 => points(&mut self.mercator, r, 1, grid, None)?,
            2 => {
                let n = count(&mut self.mercator, r)?;
                points(&mut self.mercator, r, n, grid, None)?;
            }
            3 => {
                self.polygons += 1;
                let rings = count(&mut self.mercator, r)?;
                for i in 0..rings {
                    let n = count(&mut self.mercator, r)?;
                    let mut ring = PolygonArea::new(&self.geod, Winding::CounterClockwise);
                    self.ring.clear();
                    points(
                        &mut self.mercator,
                        r,
                        n,
                        grid,
                        Some((&mut ring, &mut self.ring)),
                    )?;
                    self.rings += 1;
                    if self.rings == 1 && self.polygons == 1 {
                        self.rings_simple &= certainly_simple_ring(&self.ring);
                    }
                    // As PostGIS's ptarray_area_spheroid: rings of fewer than 4 points have
                    // no area; the closing point is not added; the absolute value is taken.
                    let a = if n < 4 {
                        0.0
                    } else {
                        ring.compute(true).1.abs()
                    };
                    if i == 0 {
                        *area += a;
                    } else {
                        *area -= a;
                    }
                }
            }
            4..=6 => {
                let parts = count(&mut self.mercator, r)?;
                for _ in 0..parts {
                    // The area of a multipolygon is the sum of its polygons' areas.
                    let mut part = 0.0;
                    self.geometry(r, false, &mut part)?;
                    *area += part;
                }
            }
            other => return Err(Err(Malformed(format!("WKB type {other}")))),
        }
        Ok(kind)
    }
}

fn count(out: &mut Vec<u8>, r: &mut Reader<'_>) -> Result<usize, Result<OutOfDomain, Malformed>> {
    let n = r.le_u32().map_err(Err)?;
    out.extend_from_slice(&n.to_le_bytes());
    Ok(n as usize)
}

/// Copies `n` positions, transformed, into `out`; adds all but the last to `ring` when given
/// (the last closes the ring), with the positions as stored. `grid`: the positions are
/// transverse Mercator grid coordinates, else longitude and latitude.
fn points(
    out: &mut Vec<u8>,
    r: &mut Reader<'_>,
    n: usize,
    grid: Option<&TransverseMercator>,
    mut ring: Option<(&mut PolygonArea<'_>, &mut Vec<(f64, f64)>)>,
) -> Result<(), Result<OutOfDomain, Malformed>> {
    for i in 0..n {
        let x = r.le_f64().map_err(Err)?;
        let y = r.le_f64().map_err(Err)?;
        let (lon, lat) = match grid {
            None => (x, y),
            Some(g) => g.inverse(x, y).ok_or(Ok(OutOfDomain))?,
        };
        // Inside the clip box (strictly, so the server's clip would return the geometry
        // unchanged) and inside geography's range.
        if !(lon > -180.0 && lon < 180.0 && lat > -MAX_LAT && lat < MAX_LAT) {
            return Err(Ok(OutOfDomain));
        }
        let (x, y) = web_mercator(lon, lat);
        out.extend_from_slice(&x.to_le_bytes());
        out.extend_from_slice(&y.to_le_bytes());
        if let Some((area, positions)) = ring.as_mut() {
            if i + 1 < n {
                area.add_point(lat, lon);
            }
            positions.push((x, y));
        }
    }
    Ok(())
}

/// Shewchuk's error bound for the floating-point orientation determinant: beyond it, its sign
/// is the exact sign (the one GEOS's double-double `orientationIndex` computes).
const ORIENT_ERR: f64 = 3.330_669_073_875_471_6e-16;

/// The sign of the orientation of `c` relative to the line `a`→`b`, when it is certain.
fn orientation(a: (f64, f64), b: (f64, f64), c: (f64, f64)) -> Option<std::cmp::Ordering> {
    let l = (a.0 - c.0) * (b.1 - c.1);
    let r = (a.1 - c.1) * (b.0 - c.0);
    let det = l - r;
    if det.abs() > ORIENT_ERR * (l.abs() + r.abs()) {
        Some(det.partial_cmp(&0.0)?)
    } else {
        None
    }
}

/// Whether segments `p`–`q` and `r`–`s` are disjoint for certain: their boxes are apart, or
/// one lies strictly on one side of the other's line.
fn certainly_disjoint(p: (f64, f64), q: (f64, f64), r: (f64, f64), s: (f64, f64)) -> bool {
    if p.0.max(q.0) < r.0.min(s.0)
        || r.0.max(s.0) < p.0.min(q.0)
        || p.1.max(q.1) < r.1.min(s.1)
        || r.1.max(s.1) < p.1.min(q.1)
    {
        return true;
    }
    let same_side = |a, b, c, d| match (orientation(a, b, c), orientation(a, b, d)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    };
    same_side(p, q, r, s) || same_side(r, s, p, q)
}

/// Rings longer than this are not checked in the client (the check is quadratic).
const MAX_CHECKED_RING: usize = 256;

/// Whether a closed ring (first position repeated last) is simple for certain: at least three
/// distinct positions, no repeated consecutive positions, no two consecutive segments
/// collinear, and every two non-adjacent segments disjoint, each decided with exact-sign
/// predicates. Such a ring is valid for GEOS, and a polygon of that one ring is valid; any
/// doubt answers `false` and leaves the decision to `ST_IsValid`.
fn certainly_simple_ring(ring: &[(f64, f64)]) -> bool {
    let n = ring.len();
    if !(4..=MAX_CHECKED_RING).contains(&n) || ring[0] != ring[n - 1] {
        return false;
    }
    let m = n - 1; // segments ring[k]–ring[k + 1]
    for k in 0..m {
        // The corner at ring[k + 1] between segment k and the next one (k + 1, or 0 after the
        // last): a clear turn, so the two share only that position.
        let next = ring[if k + 2 < n { k + 2 } else { 1 }];
        if orientation(ring[k], ring[k + 1], next).is_none() {
            return false;
        }
    }
    for i in 0..m {
        for j in i + 2..m {
            if i == 0 && j == m - 1 {
                continue; // adjacent through the closing position
            }
            if !certainly_disjoint(ring[i], ring[i + 1], ring[j], ring[j + 1]) {
                return false;
            }
        }
    }
    true
}

/// A transverse Mercator zone PROJ handles on the WGS 84 datum (the CGCS2000 Gauss-Krüger
/// zones, WGS 84 / UTM) and its inverse: grid easting and northing to longitude and latitude in
/// degrees, computed as PROJ 9 computes them (the Poder/Engsager "exact" transverse Mercator of
/// its `tmerc.cpp`: Krüger's n-series to the 6th order, Clenshaw summation, the same operations
/// in the same order), so the results are PostGIS's `ST_Transform(geom, 4326)` to the last
/// bits that matter.
#[derive(Debug, Clone)]
pub struct TransverseMercator {
    /// The ellipsoid's semi-major axis (m).
    a: f64,
    /// Central meridian (radians), false easting and false northing (m).
    lam0: f64,
    x0: f64,
    y0: f64,
    /// Normalised meridian quadrant; ell. N, E -> sph. N, E; Gaussian -> geodetic latitude.
    qn: f64,
    utg: [f64; 6],
    cgb: [f64; 6],
}

/// The CGCS2000 ellipsoid (GRS 1980's parameters): semi-major axis and inverse flattening.
const CGCS2000_A: f64 = 6_378_137.0;
const CGCS2000_RF: f64 = 298.257_222_101;
/// The WGS 84 ellipsoid's inverse flattening, as PROJ's `WGS84` (`rf=298.257223563`).
const WGS84_RF: f64 = 298.257_223_563;

impl TransverseMercator {
    /// The zone of `srid`, or `None` when it is not one of these (scale 1 and origin on the
    /// equator unless said otherwise):
    /// - EPSG:4513–4533, CGCS2000 3-degree zones 25–45 with the zone number in the easting
    ///   (central meridian 3 × zone, false easting zone × 10⁶ + 500 000);
    /// - EPSG:4534–4554, the same zones without it (central meridians 75°E–135°E, false
    ///   easting 500 000);
    /// - EPSG:4491–4501, CGCS2000 6-degree zones 13–23 with the zone number in the easting
    ///   (central meridian 6 × zone − 3);
    /// - EPSG:4502–4512, the same zones without it (central meridians 75°E–135°E);
    /// - EPSG:32601–32660 and 32701–32760, WGS 84 / UTM zones 1–60 north and south (scale
    ///   0.9996, false easting 500 000, false northing 10⁷ in the south), the central meridian
    ///   computed as PROJ's `utm` computes it.
    pub fn of(srid: i32) -> Option<Self> {
        let gk = |cm: i32, x0: f64| {
            Self::new(
                CGCS2000_A,
                CGCS2000_RF,
                1.0,
                f64::from(cm).to_radians(),
                x0,
                0.0,
            )
        };
        let utm = |zone: i32, y0: f64| {
            let lam0 =
                (f64::from(zone - 1) + 0.5) * std::f64::consts::PI / 30.0 - std::f64::consts::PI;
            Self::new(WGS84_A, WGS84_RF, 0.9996, lam0, 500_000.0, y0)
        };
        Some(match srid {
            4513..=4533 => {
                let zone = srid - 4488;
                gk(3 * zone, f64::from(zone) * 1e6 + 500_000.0)
            }
            4534..=4554 => gk(75 + 3 * (srid - 4534), 500_000.0),
            4491..=4501 => {
                let zone = srid - 4478;
                gk(6 * zone - 3, f64::from(zone) * 1e6 + 500_000.0)
            }
            4502..=4512 => gk(75 + 6 * (srid - 4502), 500_000.0),
            32601..=32660 => utm(srid - 32600, 0.0),
            32701..=32760 => utm(srid - 32700, 10_000_000.0),
            _ => return None,
        })
    }

    /// The zone of an ellipsoid (semi-major axis `a`, inverse flattening `rf`), scale `k0` on
    /// the central meridian `lam0` (radians), false easting `x0` and northing `y0`, origin on
    /// the equator.
    fn new(a: f64, rf: f64, k0: f64, lam0: f64, x0: f64, y0: f64) -> Self {
        // As PROJ's ellipsoid set-up: es from the flattening, n from the angular eccentricity.
        let f = 1.0 / rf;
        let es = 2.0 * f - f * f;
        let n = (es.sqrt().asin() / 2.0).tan().powi(2);
        let mut np = n * n;
        let cgb = {
            let mut c = [0.0; 6];
            c[0] = n
                * (2.0
                    + n * (-2.0 / 3.0
                        + n * (-2.0
                            + n * (116.0 / 45.0 + n * (26.0 / 45.0 + n * (-2854.0 / 675.0))))));
            c[1] = np
                * (7.0 / 3.0
                    + n * (-8.0 / 5.0
                        + n * (-227.0 / 45.0 + n * (2704.0 / 315.0 + n * (2323.0 / 945.0)))));
            np *= n;
            c[2] = np
                * (56.0 / 15.0
                    + n * (-136.0 / 35.0 + n * (-1262.0 / 105.0 + n * (73814.0 / 2835.0))));
            np *= n;
            c[3] = np * (4279.0 / 630.0 + n * (-332.0 / 35.0 + n * (-399572.0 / 14175.0)));
            np *= n;
            c[4] = np * (4174.0 / 315.0 + n * (-144838.0 / 6237.0));
            np *= n;
            c[5] = np * (601676.0 / 22275.0);
            c
        };
        np = n * n;
        let qn = k0 / (1.0 + n) * (1.0 + np * (1.0 / 4.0 + np * (1.0 / 64.0 + np / 256.0)));
        let mut utg = [0.0; 6];
        utg[0] = n
            * (-0.5
                + n * (2.0 / 3.0
                    + n * (-37.0 / 96.0
                        + n * (1.0 / 360.0 + n * (81.0 / 512.0 + n * (-96199.0 / 604800.0))))));
        utg[1] = np
            * (-1.0 / 48.0
                + n * (-1.0 / 15.0
                    + n * (437.0 / 1440.0 + n * (-46.0 / 105.0 + n * (1118711.0 / 3870720.0)))));
        np *= n;
        utg[2] = np
            * (-17.0 / 480.0 + n * (37.0 / 840.0 + n * (209.0 / 4480.0 + n * (-5569.0 / 90720.0))));
        np *= n;
        utg[3] = np * (-4397.0 / 161280.0 + n * (11.0 / 504.0 + n * (830251.0 / 7257600.0)));
        np *= n;
        utg[4] = np * (-4583.0 / 161280.0 + n * (108847.0 / 3991680.0));
        np *= n;
        utg[5] = np * (-20648693.0 / 638668800.0);
        Self {
            a,
            lam0,
            x0,
            y0,
            qn,
            utg,
            cgb,
        }
    }

    /// Longitude and latitude (degrees) of grid position (`x` easting, `y` northing, metres);
    /// `None` outside the projection's domain (PROJ's 150° limit).
    pub fn inverse(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let ra = 1.0 / self.a;
        // De-offset and de-scale (Zb is 0 for an origin on the equator).
        let xn = (x - self.x0) * ra;
        let yn = (y - self.y0) * ra;
        let mut cn = yn / self.qn;
        let mut ce = xn / self.qn;
        if ce.is_nan() || ce.abs() > 2.623_395_162_778 {
            return None;
        }
        let sin_arg_r = (2.0 * cn).sin();
        let cos_arg_r = (2.0 * cn).cos();
        let exp_2_ce = (2.0 * ce).exp();
        let half_inv_exp_2_ce = 0.5 / exp_2_ce;
        let sinh_arg_i = 0.5 * exp_2_ce - half_inv_exp_2_ce;
        let cosh_arg_i = 0.5 * exp_2_ce + half_inv_exp_2_ce;
        let (dcn, dce) = clenshaw_complex(&self.utg, sin_arg_r, cos_arg_r, sinh_arg_i, cosh_arg_i);
        cn += dcn;
        ce += dce;
        let sin_cn = cn.sin();
        let cos_cn = cn.cos();
        let sinh_ce = ce.sinh();
        ce = sinh_ce.atan2(cos_cn);
        let modulus_ce = sinh_ce.hypot(cos_cn);
        cn = sin_cn.atan2(modulus_ce);
        let tmp = 2.0 * modulus_ce / (sinh_ce * sinh_ce + 1.0);
        let sin_2_cn = sin_cn * tmp;
        let cos_2_cn = tmp * modulus_ce - 1.0;
        let phi = gauss_to_geodetic(&self.cgb, cn, cos_2_cn, sin_2_cn);
        let lam = ce + self.lam0;
        let (lon, lat) = (lam.to_degrees(), phi.to_degrees());
        (lon.is_finite() && lat.is_finite()).then_some((lon, lat))
    }
}

/// PROJ's `gatg`: `b` plus the Clenshaw sum of the sine series `p` at 2b.
fn gauss_to_geodetic(p: &[f64; 6], b: f64, cos_2b: f64, sin_2b: f64) -> f64 {
    let two_cos_2b = 2.0 * cos_2b;
    let mut h = 0.0;
    let mut h2 = 0.0;
    let mut h1 = p[5];
    for &c in p[..5].iter().rev() {
        h = -h2 + two_cos_2b * h1 + c;
        h2 = h1;
        h1 = h;
    }
    b + h * sin_2b
}

/// PROJ's `clenS`: the complex Clenshaw sum of the series `a`; returns (real, imaginary).
fn clenshaw_complex(
    a: &[f64; 6],
    sin_arg_r: f64,
    cos_arg_r: f64,
    sinh_arg_i: f64,
    cosh_arg_i: f64,
) -> (f64, f64) {
    let r = 2.0 * cos_arg_r * cosh_arg_i;
    let i = -2.0 * sin_arg_r * sinh_arg_i;
    let (mut hr, mut hr1, mut hi, mut hi1) = (a[5], 0.0, 0.0, 0.0);
    for &c in a[..5].iter().rev() {
        let (hr2, hi2) = (hr1, hi1);
        hr1 = hr;
        hi1 = hi;
        hr = -hr2 + r * hr1 - i * hi1 + c;
        hi = -hi2 + i * hr1 + r * hi1;
    }
    let r = sin_arg_r * cosh_arg_i;
    let i = cos_arg_r * sinh_arg_i;
    (r * hr - i * hi, r * hi + i * hr)
}

/// EPSG:3857 from longitude and latitude in degrees, as PROJ's `webmerc` (spherical Mercator
/// on the semi-major axis).
pub fn web_mercator(lon: f64, lat: f64) -> (f64, f64) {
    let lam = lon.to_radians();
    let phi = lat.to_radians();
    (WGS84_A * lam, WGS84_A * phi.tan().asinh())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::EwkbEncoder;
    use geozero::GeomProcessor;

    fn row(geom: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&4i16.to_be_bytes());
        for v in [7i64, 1] {
            b.extend_from_slice(&8i32.to_be_bytes());
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(&3i32.to_be_bytes());
        b.extend_from_slice(b"\x01{}");
        b.extend_from_slice(&(geom.len() as i32).to_be_bytes());
        b.extend_from_slice(geom);
        b
    }

    fn square(lon: f64, lat: f64, d: f64) -> Vec<u8> {
        let mut out = Vec::new();
        let mut e = EwkbEncoder::new(&mut out, 4490);
        e.polygon_begin(true, 1, 0).unwrap();
        e.linestring_begin(false, 5, 0).unwrap();
        for (i, (x, y)) in [(0., 0.), (d, 0.), (d, d), (0., d), (0., 0.)]
            .into_iter()
            .enumerate()
        {
            e.xy(lon + x, lat + y, i).unwrap();
        }
        e.linestring_end(false, 0).unwrap();
        e.polygon_end(true, 0).unwrap();
        e.finish().unwrap();
        out
    }

    #[test]
    fn a_row_gains_its_mercator_copy_and_area_in_place() {
        let geom = square(101.0, 38.5, 0.01);
        let input = [row(&geom), row(&geom)].concat();
        let mut out = Vec::new();
        Deriver::new()
            .derive_chunk(&input, &mut out, &mut Vec::new())
            .unwrap();
        let mut r = Reader { b: &out, at: 0 };
        for _ in 0..2 {
            assert_eq!(r.be_i16().unwrap(), 6);
            for _ in 0..3 {
                r.field().unwrap();
            }
            assert_eq!(r.field().unwrap().unwrap(), &geom[..]);
            let merc = r.field().unwrap().unwrap();
            assert_eq!(&merc[5..9], &3857i32.to_le_bytes());
            let area = f64::from_be_bytes(r.field().unwrap().unwrap().try_into().unwrap());
            // About 0.01° × 0.01° at 38.5° N: 1 113 m × 870 m.
            assert!((area - 968_900.0).abs() < 2_000.0, "{area}");
        }
        assert_eq!(r.at, out.len());
    }

    #[test]
    fn a_polar_geometry_is_left_to_the_server() {
        let input = row(&square(10.0, 85.05, 0.01));
        let mut out = Vec::new();
        Deriver::new()
            .derive_chunk(&input, &mut out, &mut Vec::new())
            .unwrap();
        assert_eq!(&out[out.len() - 8..], &[0xff; 8]);
    }

    #[test]
    fn simple_rings_are_proven_and_doubtful_ones_left_to_the_server() {
        let sq = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)];
        assert!(certainly_simple_ring(&sq));
        let tri = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (0.0, 0.0)];
        assert!(certainly_simple_ring(&tri));
        // A bow-tie crosses itself.
        let bowtie = [(0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0), (0.0, 0.0)];
        assert!(!certainly_simple_ring(&bowtie));
        // A repeated position, a straight corner, a spike, a ring touching itself.
        let repeated = [(0.0, 0.0), (1.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)];
        assert!(!certainly_simple_ring(&repeated));
        let straight = [(0.0, 0.0), (0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)];
        assert!(!certainly_simple_ring(&straight));
        let spike = [
            (0.0, 0.0),
            (1.0, 0.0),
            (2.0, 0.0),
            (1.0, 0.0),
            (1.0, 1.0),
            (0.0, 0.0),
        ];
        assert!(!certainly_simple_ring(&spike));
        let touching = [
            (0.0, 0.0),
            (2.0, 0.0),
            (1.0, 1.0),
            (2.0, 2.0),
            (0.0, 2.0),
            (1.0, 1.0),
            (0.0, 0.0),
        ];
        assert!(!certainly_simple_ring(&touching));
        // Collinear all along: no area.
        let flat = [(0.0, 0.0), (1.0, 0.0), (2.0, 0.0), (0.0, 0.0)];
        assert!(!certainly_simple_ring(&flat));
    }

    #[test]
    fn a_plain_parcel_needs_no_server_check_and_a_polar_one_does() {
        let mut unchecked = Vec::new();
        let input = [
            row(&square(101.0, 38.5, 0.01)),
            row(&square(10.0, 85.05, 0.01)),
        ]
        .concat();
        Deriver::new()
            .derive_chunk(&input, &mut Vec::new(), &mut unchecked)
            .unwrap();
        // Both rows have fid 1 here; only the polar one is listed.
        assert_eq!(unchecked, [1]);
    }

    #[test]
    fn web_mercator_matches_known_values() {
        let (x, y) = web_mercator(100.0, 38.0);
        assert!((x - 11_131_949.079_327_356).abs() < 1e-6, "{x}");
        assert!((y - 4_579_425.812_870_098).abs() < 1e-6, "{y}");
    }
}
