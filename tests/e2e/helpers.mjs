// Shared helpers for the end-to-end tests: the server under test, JSON/tile fetching, tile maths
// and MVT decoding.
import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';
import { mkdirSync, writeFileSync } from 'node:fs';

/** Base URL of the running server, without trailing slash. Throws (failing the file) if unset. */
export function serverUrl() {
  const url = process.env.ONEMAP_URL;
  if (!url) {
    throw new Error(
      'ONEMAP_URL is not set: these tests need a running Onemap server loaded with the demo data, '
      + 'e.g. ONEMAP_URL=http://127.0.0.1:18080 npm test');
  }
  return url.replace(/\/+$/, '');
}

export const BASE = serverUrl();

/** GET a path of the server; returns the Response (no status check). */
export async function get(path, init) {
  return fetch(`${BASE}${path}`, init);
}

/** GET a path and parse JSON, failing with the status and body text if it is not 200 JSON. */
export async function getJson(path) {
  const res = await get(path);
  const text = await res.text();
  if (res.status !== 200) {
    throw new Error(`GET ${path} -> ${res.status}: ${text.slice(0, 300)}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`GET ${path} -> body is not JSON: ${text.slice(0, 300)}`);
  }
}

/** Slippy-map tile x/y containing lon/lat at zoom z (Web Mercator, XYZ scheme). */
export function lonLatToTile(lon, lat, z) {
  const n = 2 ** z;
  const x = Math.floor(((lon + 180) / 360) * n);
  const rad = (lat * Math.PI) / 180;
  const y = Math.floor(((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2) * n);
  return { z, x: Math.min(n - 1, Math.max(0, x)), y: Math.min(n - 1, Math.max(0, y)) };
}

/**
 * Fetches a tile; returns { status, contentType, bytes, tile } where `tile` is the decoded
 * VectorTile, or null for an empty answer (204 or zero-length body).
 */
export async function fetchTile(layer, { z, x, y }, query = '') {
  const path = `/tiles/${layer}/${z}/${x}/${y}${query}`;
  const res = await get(path);
  const body = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200 && res.status !== 204) {
    throw new Error(`GET ${path} -> ${res.status}: ${new TextDecoder().decode(body.slice(0, 300))}`);
  }
  const contentType = res.headers.get('content-type');
  const tile = body.length === 0 ? null : new VectorTile(new PbfReader(body));
  return { path, status: res.status, contentType, bytes: body.length, tile };
}

/** All features of one MVT layer of a decoded tile (empty if the tile or layer is absent). */
export function tileFeatures(tile, layerName) {
  const layer = tile?.layers[layerName];
  if (!layer) return [];
  return Array.from({ length: layer.length }, (_, i) => layer.feature(i));
}

/** MVT geometry types. */
export const MVT = { POINT: 1, LINESTRING: 2, POLYGON: 3 };

/** Writes a JSON or binary artefact under tests/e2e/artifacts/. Returns its path. */
export function writeArtifact(name, content) {
  const dir = new URL('./artifacts/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(name, dir);
  writeFileSync(file, typeof content === 'string' || content instanceof Uint8Array
    ? content : `${JSON.stringify(content, null, 2)}\n`);
  return file.pathname;
}

/** [w, s, e, n] of any GeoJSON geometry's coordinates. */
export function geometryExtent(geometry) {
  let w = Infinity; let s = Infinity; let e = -Infinity; let n = -Infinity;
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      w = Math.min(w, c[0]); e = Math.max(e, c[0]); s = Math.min(s, c[1]); n = Math.max(n, c[1]);
    } else {
      c.forEach(walk);
    }
  };
  if (geometry.type === 'GeometryCollection') geometry.geometries.forEach((g) => walk(g.coordinates));
  else walk(geometry.coordinates);
  return [w, s, e, n];
}

/** Whether two [w, s, e, n] boxes intersect (touching counts). */
export const boxesIntersect = (a, b) => a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];

/** A point well inside Shandan County where the demo land-use survey has parcels. */
export const COUNTY_POINT = { lon: 101.1, lat: 38.6 };

/** Demo layers the test server is loaded with. */
export const DEMO_LAYERS = ['county', 'reserve_zones', 'station_jurisdictions', 'rivers',
  'hydropower', 'monitoring_stations', 'villages', 'dltb'];
