// The JSON API: health, catalog, reference tables and GeoJSON features.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  COUNTY_POINT, DEMO_LAYERS, boxesIntersect, geometryExtent, get, getJson,
} from './helpers.mjs';

const isStr = (v) => typeof v === 'string' && v.length > 0;
const isInt = (v) => Number.isInteger(v);

let catalog;
before(async () => {
  catalog = await getJson('/api/layers');
});

test('GET /health answers 200 with status ok', async () => {
  const res = await get('/health');
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.status, 'ok');
  // The tile cache's totals (issue 8): numbers only, no layer named.
  const memory = body.tile_cache.memory;
  for (const k of ['entries', 'bytes', 'max_bytes', 'hits', 'misses']) {
    assert.equal(typeof memory[k], 'number', k);
  }
  assert.ok(memory.bytes <= memory.max_bytes);
});

test('every layer in /api/layers carries the catalog fields', () => {
  assert.ok(Array.isArray(catalog) && catalog.length > 0, 'catalog is not a non-empty array');
  const ids = catalog.map((l) => l.id);
  assert.equal(new Set(ids).size, ids.length, `duplicate layer ids: ${ids}`);
  for (const l of catalog) {
    const where = `layer ${l.id}`;
    assert.match(l.id, /^[a-z][a-z0-9_]{0,62}$/, `${where}: id`);
    for (const key of ['title', 'title_zh', 'title_en', 'department', 'department_name_zh',
      'department_name_en', 'theme', 'theme_name_zh', 'theme_name_en']) {
      assert.ok(isStr(l[key]), `${where}: ${key} = ${JSON.stringify(l[key])}`);
    }
    assert.ok(['polygon', 'line', 'point'].includes(l.geometry_type), `${where}: geometry_type ${l.geometry_type}`);
    assert.ok(['public', 'internal', 'restricted'].includes(l.access_level), `${where}: access_level ${l.access_level}`);
    assert.ok(l.class_field === null || isStr(l.class_field), `${where}: class_field ${l.class_field}`);
    assert.equal(l.tiles, `/tiles/${l.id}`, `${where}: tiles`);
    assert.ok(Array.isArray(l.versions) && l.versions.length > 0, `${where}: no versions`);
  }
});

test('every version in /api/layers carries its fields, newest first', () => {
  for (const l of catalog) {
    for (const v of l.versions) {
      const where = `layer ${l.id} version ${v.id}`;
      assert.ok(isInt(v.id), `${where}: id`);
      assert.ok(v.year === null || (isInt(v.year) && v.year >= 1900 && v.year <= 2200), `${where}: year ${v.year}`);
      assert.ok(isStr(v.label), `${where}: label`);
      assert.ok(isInt(v.feature_count) && v.feature_count >= 0, `${where}: feature_count ${v.feature_count}`);
      if (v.bbox !== null) {
        assert.equal(v.bbox?.length, 4, `${where}: bbox ${v.bbox}`);
        const [w, s, e, n] = v.bbox;
        assert.ok(v.bbox.every(Number.isFinite) && w <= e && s <= n && w >= -180 && e <= 180 && s >= -90 && n <= 90,
          `${where}: bbox is not a lon/lat box: ${v.bbox}`);
      }
      assert.ok(isInt(v.srid) && v.srid > 0, `${where}: srid ${v.srid}`);
      assert.ok(isStr(v.source_file), `${where}: source_file`);
      assert.match(v.source_sha256, /^[0-9a-f]{64}$/, `${where}: source_sha256`);
      assert.ok(isStr(v.ingested_at) && !Number.isNaN(Date.parse(v.ingested_at)), `${where}: ingested_at ${v.ingested_at}`);
      assert.ok(isStr(v.ingested_by), `${where}: ingested_by`);
    }
    // Newest first: years never increase down the list (versions without a year are not ranked).
    const years = l.versions.map((v) => v.year).filter((y) => y !== null);
    assert.deepEqual(years, [...years].sort((a, b) => b - a), `layer ${l.id}: version years ${years}`);
  }
});

test('the catalog holds the demo layers, with dltb a land-use layer of the 2019 to 2024 surveys', () => {
  const ids = catalog.map((l) => l.id);
  for (const id of DEMO_LAYERS) assert.ok(ids.includes(id), `demo layer ${id} missing from ${ids}`);
  const dltb = catalog.find((l) => l.id === 'dltb');
  assert.equal(dltb.geometry_type, 'polygon');
  assert.equal(dltb.class_field, 'DLBM');
  assert.deepEqual(dltb.versions.map((v) => v.year), [2024, 2023, 2022, 2021, 2020, 2019]);
  assert.ok(dltb.versions.every((v) => v.feature_count > 1000), 'dltb versions have too few parcels');
  const county = catalog.find((l) => l.id === 'county');
  const bbox = county.versions[0].bbox;
  assert.ok(bbox[0] < COUNTY_POINT.lon && COUNTY_POINT.lon < bbox[2] && bbox[1] < COUNTY_POINT.lat && COUNTY_POINT.lat < bbox[3],
    `county bbox ${bbox} does not hold ${COUNTY_POINT.lon},${COUNTY_POINT.lat}`);
});

test('every layer names a department of /api/departments and a theme of /api/themes', async () => {
  const [departments, themes] = await Promise.all([getJson('/api/departments'), getJson('/api/themes')]);
  for (const d of departments) {
    assert.ok(isStr(d.code) && isStr(d.name_zh) && isStr(d.name_en) && isStr(d.kind), `department ${JSON.stringify(d)}`);
  }
  for (const t of themes) {
    assert.ok(isStr(t.code) && isStr(t.name_zh) && isStr(t.name_en) && isInt(t.sort_order), `theme ${JSON.stringify(t)}`);
  }
  const depts = new Map(departments.map((d) => [d.code, d]));
  const themeCodes = new Set(themes.map((t) => t.code));
  assert.equal(depts.get('zrzy')?.name_zh, '县自然资源局');
  for (const l of catalog) {
    assert.ok(depts.has(l.department), `layer ${l.id}: department ${l.department} unknown`);
    assert.equal(l.department_name_zh, depts.get(l.department).name_zh, `layer ${l.id}: department_name_zh`);
    assert.equal(l.department_name_en, depts.get(l.department).name_en, `layer ${l.id}: department_name_en`);
    assert.ok(themeCodes.has(l.theme), `layer ${l.id}: theme ${l.theme} unknown`);
  }
});

test('/api/land-classes lists the GB/T 21010 classes and the working classes with colours', async () => {
  const classes = await getJson('/api/land-classes');
  const byCode = new Map(classes.map((c) => [c.code, c]));
  assert.equal(byCode.size, classes.length, 'duplicate codes');
  const standard = classes.filter((c) => !c.working);
  assert.equal(standard.filter((c) => c.level === 1).length, 12, 'first-level GB/T 21010 classes');
  assert.equal(standard.filter((c) => c.level === 2).length, 73, 'second-level GB/T 21010 classes');
  for (const code of ['00', '05H1', '08H1', '08H2', '201', '202', '203', '204', '205']) {
    assert.equal(byCode.get(code)?.working, true, `working class ${code}`);
  }
  assert.equal(byCode.get('0101')?.name_zh, '水田');
  assert.equal(byCode.get('0101')?.parent, '01');
  for (const c of classes) {
    assert.match(c.color, /^#[0-9a-fA-F]{6}$/, `class ${c.code}: color`);
    assert.ok(isStr(c.name_zh) && isStr(c.name_en), `class ${c.code}: names`);
    assert.ok(c.parent === null || byCode.has(c.parent), `class ${c.code}: parent ${c.parent} unknown`);
  }
});

test('/api/layers/dltb/features with a bbox and limit 10 returns at most 10 parcels with DLBM and area_m2 in the bbox', async () => {
  const d = 0.02;
  const bbox = [COUNTY_POINT.lon - d, COUNTY_POINT.lat - d, COUNTY_POINT.lon + d, COUNTY_POINT.lat + d];
  const res = await get(`/api/layers/dltb/features?bbox=${bbox.join(',')}&limit=10`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /json/);
  const fc = await res.json();
  assert.equal(fc.type, 'FeatureCollection');
  assert.ok(fc.features.length > 0 && fc.features.length <= 10, `${fc.features.length} features`);
  for (const f of fc.features) {
    assert.equal(f.type, 'Feature');
    assert.ok(['Polygon', 'MultiPolygon'].includes(f.geometry?.type), `geometry ${f.geometry?.type}`);
    assert.equal(typeof f.properties.DLBM, 'string', `DLBM ${JSON.stringify(f.properties)}`);
    assert.ok(typeof f.properties.area_m2 === 'number' && f.properties.area_m2 > 0, `area_m2 ${f.properties.area_m2}`);
    const extent = geometryExtent(f.geometry);
    // EPSG:4326 degrees, not projected metres; and the parcel reaches into the bbox.
    assert.ok(extent.every((v) => Math.abs(v) <= 180), `coordinates are not degrees: ${extent}`);
    assert.ok(boxesIntersect(extent, bbox), `feature extent ${extent} outside bbox ${bbox}`);
  }
});

test('/api/layers/dltb/features pages with limit and offset and selects the survey year', async () => {
  const d = 0.05;
  const bbox = [COUNTY_POINT.lon - d, COUNTY_POINT.lat - d, COUNTY_POINT.lon + d, COUNTY_POINT.lat + d].join(',');
  const page = async (q) => (await getJson(`/api/layers/dltb/features?bbox=${bbox}&${q}`)).features;
  const [first, second] = await Promise.all([page('limit=5&offset=0'), page('limit=5&offset=5')]);
  assert.equal(first.length, 5);
  assert.equal(second.length, 5);
  const key = (f) => JSON.stringify([f.id ?? null, f.properties, f.geometry]);
  const overlap = second.filter((f) => first.map(key).includes(key(f)));
  assert.equal(overlap.length, 0, 'offset=5 repeats features of offset=0');
  const [y2019, y2024] = await Promise.all([page('limit=200&year=2019'), page('limit=200&year=2024')]);
  assert.ok(y2019.length > 0 && y2024.length > 0, `2019: ${y2019.length}, 2024: ${y2024.length}`);
  assert.notDeepEqual(y2019.map(key).sort(), y2024.map(key).sort(), '2019 and 2024 features are identical');
});

test('/api/layers/nope/features answers 404 with a JSON error', async () => {
  const res = await get('/api/layers/nope/features');
  assert.equal(res.status, 404);
  assert.match(res.headers.get('content-type') ?? '', /json/);
  const body = await res.json();
  assert.ok(isStr(body.error), `body ${JSON.stringify(body)}`);
});
