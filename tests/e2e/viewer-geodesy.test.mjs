// The viewer's measuring maths, checked without a browser against independent references:
// Vincenty's own published example, the meridian arc, and the server's PostGIS areas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getJson } from './helpers.mjs';
import { distance, lineLength, ringArea, polygonArea, formatDistance, formatAreaM2 } from '../../viewer/src/geodesy.js';
import { parseCoordinates } from '../../viewer/src/coordinates.js';

const dms = (d, m, s) => d + m / 60 + s / 3600;

test('distance reproduces Vincenty\'s Flinders Peak to Buninyong line to the millimetre', () => {
  // Vincenty (1975) / Geoscience Australia's worked example on GRS80: 54 972.271 m.
  const flinders = [dms(144, 25, 29.5244), -dms(37, 57, 3.7203)];
  const buninyong = [dms(143, 55, 35.3839), -dms(37, 39, 10.1561)];
  assert.ok(Math.abs(distance(flinders, buninyong) - 54972.271) < 0.001, `${distance(flinders, buninyong)}`);
});

test('one degree of meridian at Shandan\'s latitude is about 111.0 km and one of parallel about 87.8 km', () => {
  // GRS80 meridian arc 38°–39°: 111 006 m; parallel at 38°: 87 832 m (π/180 · N cos φ).
  assert.ok(Math.abs(distance([101, 38], [101, 39]) - 111006) < 2);
  assert.ok(Math.abs(distance([101, 38], [102, 38]) - 87832) < 2);
  assert.equal(distance([101, 38], [101, 38]), 0);
  assert.ok(Math.abs(lineLength([[101, 38], [101, 38.5], [101, 39]]) - distance([101, 38], [101, 39])) < 0.01);
});

test('area matches the server\'s geodesic area of the county and of land-use parcels', async () => {
  const county = (await getJson('/api/layers/county/features')).features[0];
  const rel = Math.abs(polygonArea(county.geometry) - county.properties.area_m2) / county.properties.area_m2;
  assert.ok(rel < 1e-6, `county area off by ${rel}`);
  const parcels = (await getJson('/api/layers/dltb/features?limit=300')).features
    .filter((f) => f.properties.area_m2 > 1000); // tiny parcels suffer from the API's 7-decimal rounding
  assert.ok(parcels.length > 100);
  for (const f of parcels) {
    const r = Math.abs(polygonArea(f.geometry) - f.properties.area_m2) / f.properties.area_m2;
    assert.ok(r < 1e-3, `parcel ${f.id}: ${polygonArea(f.geometry)} vs ${f.properties.area_m2}`);
  }
});

test('ring area ignores orientation and closure, and holes are subtracted', () => {
  const sq = [[101, 38], [101.01, 38], [101.01, 38.01], [101, 38.01]];
  const a = ringArea(sq);
  assert.ok(Math.abs(a - ringArea([...sq].reverse())) < 1e-6);
  assert.ok(Math.abs(a - ringArea([...sq, sq[0]])) < 1e-6);
  // 0.01° × 0.01° at 38° N ≈ 1109.9 m × 878.3 m
  assert.ok(Math.abs(a - 1109.9 * 878.3) / a < 2e-3, `${a}`);
  const hole = [[101.004, 38.004], [101.006, 38.004], [101.006, 38.006], [101.004, 38.006]];
  assert.ok(Math.abs(polygonArea({ type: 'Polygon', coordinates: [sq, hole] }) - (a - ringArea(hole))) < 1e-6);
});

test('results are written in m or km, and in m² with hectares', () => {
  assert.equal(formatDistance(850.26), '850.3 m');
  assert.equal(formatDistance(12345.6), '12.346 km');
  assert.equal(formatAreaM2(8500), '8,500 m² (0.85 ha)');
  assert.match(formatAreaM2(2.5e6), /km²/);
});

test('coordinates are read as lon,lat, recognised when typed lat,lon, and rejected when impossible', () => {
  assert.deepEqual(parseCoordinates('101.1,38.6'), [101.1, 38.6]);
  assert.deepEqual(parseCoordinates(' 101.1 ， 38.6 '), [101.1, 38.6]);
  assert.deepEqual(parseCoordinates('38.6 101.1'), [101.1, 38.6]);
  assert.equal(parseCoordinates('101.1,138.6'), null);
  assert.equal(parseCoordinates('山丹'), null);
});
