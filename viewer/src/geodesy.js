// Geodesic measurement on the CGCS2000 ellipsoid (GRS80 axes; WGS84 differs by 0.1 mm):
// distance by Vincenty's inverse formula, area on the authalic (equal-area) sphere with
// exact great-circle spherical excess. No degrees or Web-Mercator metres are ever measured.

const A = 6378137;
const F = 1 / 298.257222101;
const B = A * (1 - F);
const E2 = F * (2 - F);
const E = Math.sqrt(E2);
const RAD = Math.PI / 180;

/** Vincenty inverse: metres between two [lon, lat] points on the ellipsoid. */
export function distance([lon1, lat1], [lon2, lat2]) {
  const L = (lon2 - lon1) * RAD;
  const U1 = Math.atan((1 - F) * Math.tan(lat1 * RAD));
  const U2 = Math.atan((1 - F) * Math.tan(lat2 * RAD));
  const sinU1 = Math.sin(U1); const cosU1 = Math.cos(U1);
  const sinU2 = Math.sin(U2); const cosU2 = Math.cos(U2);
  let lambda = L;
  for (let i = 0; i < 200; i += 1) {
    const sinL = Math.sin(lambda); const cosL = Math.cos(lambda);
    const sinSigma = Math.hypot(cosU2 * sinL, cosU1 * sinU2 - sinU1 * cosU2 * cosL);
    if (sinSigma === 0) return 0; // coincident points
    const cosSigma = sinU1 * sinU2 + cosU1 * cosU2 * cosL;
    const sigma = Math.atan2(sinSigma, cosSigma);
    const sinAlpha = (cosU1 * cosU2 * sinL) / sinSigma;
    const cos2Alpha = 1 - sinAlpha * sinAlpha;
    const cos2SigmaM = cos2Alpha === 0 ? 0 : cosSigma - (2 * sinU1 * sinU2) / cos2Alpha; // equatorial line
    const C = (F / 16) * cos2Alpha * (4 + F * (4 - 3 * cos2Alpha));
    const prev = lambda;
    lambda = L + (1 - C) * F * sinAlpha
      * (sigma + C * sinSigma * (cos2SigmaM + C * cosSigma * (-1 + 2 * cos2SigmaM * cos2SigmaM)));
    if (Math.abs(lambda - prev) < 1e-12) {
      const u2 = (cos2Alpha * (A * A - B * B)) / (B * B);
      const Ak = 1 + (u2 / 16384) * (4096 + u2 * (-768 + u2 * (320 - 175 * u2)));
      const Bk = (u2 / 1024) * (256 + u2 * (-128 + u2 * (74 - 47 * u2)));
      const dSigma = Bk * sinSigma * (cos2SigmaM + (Bk / 4) * (cosSigma * (-1 + 2 * cos2SigmaM * cos2SigmaM)
        - (Bk / 6) * cos2SigmaM * (-3 + 4 * sinSigma * sinSigma) * (-3 + 4 * cos2SigmaM * cos2SigmaM)));
      return B * Ak * (sigma - dSigma);
    }
  }
  // Nearly antipodal points do not converge; far outside a county's scale. Fall back to the
  // great circle on the mean sphere rather than return nothing.
  const h = Math.sin(((lat2 - lat1) * RAD) / 2) ** 2
    + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(((lon2 - lon1) * RAD) / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(h));
}

/** Metres along a polyline of [lon, lat] points. */
export function lineLength(points) {
  let total = 0;
  for (let i = 1; i < points.length; i += 1) total += distance(points[i - 1], points[i]);
  return total;
}

const q = (sinPhi) => (1 - E2) * (sinPhi / (1 - E2 * sinPhi * sinPhi)
  - (1 / (2 * E)) * Math.log((1 - E * sinPhi) / (1 + E * sinPhi)));
const QP = q(1);
/** Radius of the sphere with the ellipsoid's surface area. */
const RQ = A * Math.sqrt(QP / 2);
/** Authalic latitude (radians): maps the ellipsoid onto the sphere RQ preserving area. */
const authalic = (latDeg) => Math.asin(Math.max(-1, Math.min(1, q(Math.sin(latDeg * RAD)) / QP)));

/** Square metres inside one ring of [lon, lat] (closed or not; orientation ignored). */
export function ringArea(ring) {
  const pts = ring.length > 1 && ring[0][0] === ring.at(-1)[0] && ring[0][1] === ring.at(-1)[1]
    ? ring.slice(0, -1) : ring;
  if (pts.length < 3) return 0;
  let excess = 0;
  for (let i = 0; i < pts.length; i += 1) {
    const [lon1, lat1] = pts[i];
    const [lon2, lat2] = pts[(i + 1) % pts.length];
    // Signed spherical excess of the triangle (edge, pole side) per edge, summed round the ring.
    const t1 = Math.tan(authalic(lat1) / 2);
    const t2 = Math.tan(authalic(lat2) / 2);
    const dLon = (lon2 - lon1) * RAD;
    excess += 2 * Math.atan2(Math.tan(dLon / 2) * (t1 + t2), 1 + t1 * t2);
  }
  return Math.abs(excess) * RQ * RQ;
}

/** Square metres of a GeoJSON Polygon's rings (outer minus holes) or MultiPolygon. */
export function polygonArea(geometry) {
  const polys = geometry.type === 'MultiPolygon' ? geometry.coordinates : [geometry.coordinates];
  return polys.reduce((sum, rings) => sum + ringArea(rings[0])
    - rings.slice(1).reduce((h, r) => h + ringArea(r), 0), 0);
}

const fmt = (n, digits) => new Intl.NumberFormat('zh-CN', { maximumFractionDigits: digits }).format(n);

/** "850.3 m" below 1 km, "12.345 km" above. */
export const formatDistance = (m) => (m < 1000 ? `${fmt(m, 1)} m` : `${fmt(m / 1000, 3)} km`);

/** "8,500 m² (0.85 ha)"; km² as well once it is large. */
export function formatAreaM2(m2) {
  const base = `${fmt(m2, 1)} m² (${fmt(m2 / 10000, 4)} ha)`;
  return m2 >= 1e6 ? `${base} = ${fmt(m2 / 1e6, 3)} km²` : base;
}
