// Vector tiles: TileJSON of every layer, decoded MVT content, year switch, empty tiles, sizes.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import {
  COUNTY_POINT, MVT, fetchTile, get, getJson, lonLatToTile, tileFeatures, writeArtifact,
} from './helpers.mjs';

const MVT_CONTENT_TYPE = 'application/vnd.mapbox-vector-tile';
const schema = JSON.parse(readFileSync(
  new URL('../../schemas/json/tilejson-3.0.0.schema.json', import.meta.url), 'utf8'));

let catalog;
let dltbPoint;
before(async () => {
  catalog = await getJson('/api/layers');
  // The sample point must lie where the survey has parcels; fall back to the bbox centre.
  const bbox = catalog.find((l) => l.id === 'dltb')?.versions?.[0]?.bbox;
  const inside = bbox && COUNTY_POINT.lon >= bbox[0] && COUNTY_POINT.lon <= bbox[2]
    && COUNTY_POINT.lat >= bbox[1] && COUNTY_POINT.lat <= bbox[3];
  dltbPoint = inside || !bbox ? COUNTY_POINT : { lon: (bbox[0] + bbox[2]) / 2, lat: (bbox[1] + bbox[3]) / 2 };
});

test('every catalog layer has a TileJSON 3.0.0 document valid against the schema', async () => {
  // The schema carries a non-standard "name" keyword; strict mode would refuse to compile it.
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  assert.ok(catalog.length > 0, 'the catalog is empty');
  for (const layer of catalog) {
    const tj = await getJson(`/tiles/${layer.id}`);
    assert.ok(validate(tj), `${layer.id}: ${JSON.stringify(validate.errors)}`);
    assert.equal(tj.tilejson, '3.0.0', `${layer.id}: tilejson version`);
    assert.equal(tj.bounds?.length, 4, `${layer.id}: bounds must have 4 numbers`);
    assert.ok(tj.bounds.every(Number.isFinite), `${layer.id}: bounds ${tj.bounds}`);
    const [w, s, e, n] = tj.bounds;
    assert.ok(w <= e && s <= n && w >= -180 && e <= 180 && s >= -90 && n <= 90,
      `${layer.id}: bounds are not a lon/lat box: ${tj.bounds}`);
    assert.equal(tj.center?.length, 3, `${layer.id}: center must have 3 numbers`);
    assert.ok(tj.center.every(Number.isFinite), `${layer.id}: center ${tj.center}`);
    assert.ok(tj.tiles.length > 0, `${layer.id}: no tile URL`);
    for (const url of tj.tiles) {
      assert.match(url, /^https?:\/\//, `${layer.id}: tile URL not absolute: ${url}`);
      assert.ok(url.endsWith('{z}/{x}/{y}'), `${layer.id}: tile URL must end in {z}/{x}/{y}: ${url}`);
      assert.ok(new URL(url.replace('{z}/{x}/{y}', '0/0/0')).pathname.endsWith(`/tiles/${layer.id}/0/0/0`),
        `${layer.id}: tile URL path: ${url}`);
    }
    assert.ok(tj.vector_layers.some((vl) => vl.id === layer.id),
      `${layer.id}: vector_layers lacks ${layer.id}: ${JSON.stringify(tj.vector_layers)}`);
    assert.equal(tj.minzoom, 0, `${layer.id}: minzoom`);
    assert.ok(Number.isInteger(tj.maxzoom) && tj.maxzoom >= 14, `${layer.id}: maxzoom ${tj.maxzoom}`);
  }
});

test('dltb tiles at z0, z8, z12 and z14 hold land-use polygons: generalised by class up to z11, parcels with their area from z12', async (t) => {
  // Fetch all zooms first so the sizes are recorded even when one zoom fails. Up to z11 a
  // parcel is a few tile units or less, so the server draws land use dissolved by class (the
  // class code is the only property); from z12 it draws the parcels themselves.
  const tiles = [];
  for (const z of [0, 8, 12, 14]) {
    const xyz = lonLatToTile(dltbPoint.lon, dltbPoint.lat, z);
    tiles.push({ z, xyz, res: await fetchTile('dltb', xyz) });
  }
  const sizes = Object.fromEntries(tiles.map(({ z, xyz, res }) => [`z${z}`, {
    tile: `${xyz.z}/${xyz.x}/${xyz.y}`, status: res.status, bytes: res.bytes,
    features: tileFeatures(res.tile, 'dltb').length,
  }]));
  writeArtifact('tile-sizes.json', {
    layer: 'dltb', point: dltbPoint, recorded_at: new Date().toISOString(), sizes,
  });

  // One subtest per zoom, so a failing zoom does not hide the others' results.
  for (const { z, res } of tiles) {
    await t.test(`at z${z}`, (st) => {
      assert.equal(res.status, 200, `${res.path}: expected a non-empty tile`);
      assert.equal(res.contentType?.split(';')[0], MVT_CONTENT_TYPE, `${res.path}: content-type`);
      assert.ok(res.tile, `${res.path}: empty body`);
      assert.deepEqual(Object.keys(res.tile.layers), ['dltb'], `${res.path}: MVT layers`);
      const features = tileFeatures(res.tile, 'dltb');
      assert.ok(features.length > 0, `${res.path}: no features`);
      for (const f of features) {
        assert.equal(f.type, MVT.POLYGON, `${res.path}: feature of type ${f.type}`);
        assert.equal(typeof f.properties.DLBM, 'string', `${res.path}: DLBM ${JSON.stringify(f.properties)}`);
        assert.ok(f.properties.DLBM.length > 0, `${res.path}: empty DLBM`);
        if (z >= 12) {
          assert.ok(typeof f.properties.area_m2 === 'number' && f.properties.area_m2 > 0,
            `${res.path}: area_m2 ${f.properties.area_m2}`);
        } else {
          assert.deepEqual(Object.keys(f.properties), ['DLBM'], `${res.path}: generalised properties`);
        }
        assert.ok(f.loadGeometry().flat().length >= 3, `${res.path}: degenerate polygon`);
      }
      st.diagnostic(`${res.path}: ${features.length} features, ${res.bytes} bytes`);
    });
  }
});

test('the z0 tile holds the county boundary and the reserve zones', async () => {
  for (const id of ['county', 'reserve_zones']) {
    const res = await fetchTile(id, { z: 0, x: 0, y: 0 });
    assert.equal(res.status, 200, `${res.path}: expected a non-empty tile`);
    const features = tileFeatures(res.tile, id);
    assert.ok(features.length > 0, `${res.path}: no features`);
    assert.ok(features.every((f) => f.type === MVT.POLYGON), `${res.path}: non-polygon features`);
  }
});

test('every point layer serves its features as MVT points where the features API says they are', async () => {
  const pointLayers = catalog.filter((l) => l.geometry_type === 'point');
  assert.ok(pointLayers.length > 0, 'no point layer in the catalog');
  for (const layer of pointLayers) {
    const fc = await getJson(`/api/layers/${layer.id}/features?limit=1`);
    assert.ok(fc.features.length === 1, `${layer.id}: features API returned no feature`);
    const [lon, lat] = fc.features[0].geometry.coordinates.flat(Infinity);
    for (const z of [0, 12]) {
      const res = await fetchTile(layer.id, lonLatToTile(lon, lat, z));
      const features = tileFeatures(res.tile, layer.id);
      assert.ok(features.length > 0, `${res.path}: no features (a point is at ${lon},${lat})`);
      assert.ok(features.every((f) => f.type === MVT.POINT),
        `${res.path}: non-point features: ${features.map((f) => f.type)}`);
    }
  }
});

test('dltb tiles for 2019 and for 2024 differ where the demo survey changed', async (t) => {
  // A 3x3 block of z10 tiles around the sample point; the demo data changes parcels every year.
  const centre = lonLatToTile(dltbPoint.lon, dltbPoint.lat, 10);
  const summary = (features) => {
    const byClass = {};
    for (const f of features) byClass[f.properties.DLBM] = (byClass[f.properties.DLBM] ?? 0) + 1;
    return JSON.stringify(Object.entries(byClass).sort());
  };
  let differing = 0;
  for (let dx = -1; dx <= 1; dx++) {
    for (let dy = -1; dy <= 1; dy++) {
      const xyz = { z: 10, x: centre.x + dx, y: centre.y + dy };
      const [a, b] = await Promise.all([
        fetchTile('dltb', xyz, '?year=2019'), fetchTile('dltb', xyz, '?year=2024')]);
      const fa = tileFeatures(a.tile, 'dltb');
      const fb = tileFeatures(b.tile, 'dltb');
      if (dx === 0 && dy === 0) {
        assert.ok(fa.length > 0 && fb.length > 0,
          `centre tile 10/${xyz.x}/${xyz.y} must have parcels in both years (2019: ${fa.length}, 2024: ${fb.length})`);
      }
      if (fa.length !== fb.length || summary(fa) !== summary(fb)) differing++;
    }
  }
  t.diagnostic(`${differing} of 9 z10 tiles differ between 2019 and 2024`);
  assert.ok(differing > 0, 'no z10 tile around the sample point differs between 2019 and 2024');
});

test('a dltb tile far outside the county, over the Atlantic, is empty', async () => {
  const res = await fetchTile('dltb', lonLatToTile(-30, 30, 8));
  // 204, an empty body, or a tile without dltb features are all empty.
  assert.equal(tileFeatures(res.tile, 'dltb').length, 0, `${res.path}: has features (status ${res.status}, ${res.bytes} bytes)`);
});

test('a tile of an unknown layer answers 404', async () => {
  const res = await get('/tiles/nope/0/0/0');
  assert.equal(res.status, 404);
});
