// Reading coordinates typed into the search box. Pure, so it is tested without a browser.

const COORDS = /^\s*(-?\d+(?:\.\d+)?)\s*[,，\s]\s*(-?\d+(?:\.\d+)?)\s*$/;

/** [lon, lat] from a "lon,lat" (or "lat,lon") text, or null. */
export function parseCoordinates(text) {
  const m = COORDS.exec(text);
  if (!m) return null;
  let [a, b] = [Number(m[1]), Number(m[2])];
  // China spans longitudes 73–135 and latitudes 3–54: a first number that is a latitude and a
  // second that is not means the user typed lat,lon.
  if (Math.abs(a) <= 60 && Math.abs(b) > 60) [a, b] = [b, a];
  if (Math.abs(a) > 180 || Math.abs(b) > 90) return null;
  return [a, b];
}
