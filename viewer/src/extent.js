// Where to open the map: the county boundary if the catalog has it, otherwise everything.

/** Shandan County's rough extent, used only when no layer has a bbox yet. */
export const FALLBACK_BOUNDS = [[100.7, 37.8], [101.7, 39.0]];

const latestBbox = (layer) => {
  const bbox = layer.versions?.[0]?.bbox;
  return Array.isArray(bbox) && bbox.length === 4 && bbox.every(Number.isFinite) ? bbox : null;
};

/**
 * Bounds [[w, s], [e, n]] to fit: the `county` layer's latest version bbox if present, else the
 * union of all layers' latest bboxes, else FALLBACK_BOUNDS.
 */
export function initialBounds(catalog) {
  const county = catalog.find((l) => l.id === 'county');
  const countyBbox = county && latestBbox(county);
  if (countyBbox) {
    return [[countyBbox[0], countyBbox[1]], [countyBbox[2], countyBbox[3]]];
  }
  const boxes = catalog.map(latestBbox).filter(Boolean);
  if (boxes.length === 0) return FALLBACK_BOUNDS;
  return [
    [Math.min(...boxes.map((b) => b[0])), Math.min(...boxes.map((b) => b[1]))],
    [Math.max(...boxes.map((b) => b[2])), Math.max(...boxes.map((b) => b[3]))],
  ];
}
