// Map labels drawn offline: village, zone and road names and parcel numbers are symbol layers
// of the server's style, which has no glyphs URL, so MapLibre draws every glyph in the page
// from local fonts. The tests read the placed labels back from the map, check that the
// Chinese glyphs are really drawn (not blank, not tofu boxes), and that no glyph or font was
// requested from anywhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { getJson, writeArtifact } from './helpers.mjs';
import { launch, openViewer, mapSettled } from './browser.mjs';

let browser;
let page;
let problems;
const requests = [];

before(async () => {
  browser = await launch();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // Registered before the page loads, so the very first label's glyphs are seen too.
  context.on('request', (req) => requests.push(req.url()));
  ({ page, problems } = await openViewer(browser, { context }));
});

after(async () => {
  await browser?.close();
});

/**
 * Properties of the labels MapLibre placed (drew) for `layerId` in the current view. Symbol
 * placement runs over several frames after the tiles are loaded (time-budgeted per frame), so
 * this first waits for the map's next `idle`, which comes only once placement and label fades
 * are finished.
 */
async function placedLabels(layerId) {
  await page.evaluate(() => new Promise((resolve) => {
    const m = window.onemap.map;
    m.once('idle', resolve);
    m.triggerRepaint();
  }));
  return page.evaluate((id) => window.onemap.map
    .queryRenderedFeatures({ layers: [id] }).map((f) => f.properties), layerId);
}

/** Canvas pixels around the map centre with the given layer shown or hidden, as PNG bytes. */
async function centreShot(layerId, visible) {
  await page.evaluate(({ id, v }) => window.onemap.map.setLayoutProperty(id, 'visibility', v ? 'visible' : 'none'),
    { id: layerId, v: visible });
  await mapSettled(page);
  await page.evaluate(() => { const m = window.onemap.map; const idle = m.once('idle'); m.triggerRepaint(); return idle; });
  const box = await page.locator('#map canvas').boundingBox();
  return page.screenshot({ clip: { x: box.x + box.width / 2 - 150, y: box.y + box.height / 2 - 60, width: 300, height: 120 } });
}

test('village names are placed on the map in Chinese around a village', async () => {
  const villages = await getJson('/api/layers/villages/features?limit=500');
  const village = villages.features.find((f) => f.properties.name === '长城社区居民委员会') ?? villages.features[0];
  const [lon, lat] = village.geometry.coordinates;
  await page.evaluate(([x, y]) => window.onemap.map.jumpTo({ center: [x, y], zoom: 13 }), [lon, lat]);
  await mapSettled(page);
  // Symbol placement can finish a few frames after the map's first idle: ask until it is
  // there (or 10 s have passed, then fail with what was placed).
  let names = new Set();
  for (let i = 0; i < 40 && !names.has(village.properties.name); i += 1) {
    if (i > 0) await page.waitForTimeout(250);
    names = new Set((await placedLabels('villages-label')).map((p) => p.name));
  }
  assert.ok(names.has(village.properties.name), `${village.properties.name} not placed; placed: ${[...names].join(', ')}`);
  // Every placed label is a real village of the layer, written in Chinese.
  const known = new Set(villages.features.map((f) => f.properties.name));
  for (const name of names) {
    assert.ok(known.has(name), `label ${name} is no village`);
    assert.match(name, /\p{Script=Han}/u, `${name} is not Chinese`);
  }
  // The label is really drawn: hiding the label layer changes the pixels around the village.
  const shown = await centreShot('villages-label', true);
  const hidden = await centreShot('villages-label', false);
  await centreShot('villages-label', true);
  assert.notDeepEqual(shown, hidden, 'the village label draws nothing');
  writeArtifact('viewer-labels-village.png', shown);
});

test('the browser has a local font with Chinese glyphs, so labels are no tofu boxes', async () => {
  // The same text font MapLibre draws labels with: two ideographs must not come out as the
  // identical boxes two unassigned code points give.
  const font = await page.evaluate(() => window.onemap.map.getLayoutProperty('villages-label', 'text-font'));
  assert.ok(Array.isArray(font) && font.at(-1) === 'sans-serif', JSON.stringify(font));
  const differs = await page.evaluate(async (families) => {
    const css = families.map((f) => (/^[-\w]+$/.test(f) ? f : `"${f}"`)).join(',');
    await document.fonts.load(`48px ${css}`, '山丹');
    const draw = (text) => {
      const c = Object.assign(document.createElement('canvas'), { width: 160, height: 64 });
      const g = c.getContext('2d');
      g.font = `48px ${css}`;
      g.fillText(text, 4, 52);
      return g.getImageData(0, 0, 160, 64).data.join(',');
    };
    return { han: draw('山丹') !== draw('\u{E000}\u{E001}'), ink: draw('山丹') !== draw('') };
  }, font);
  assert.ok(differs.ink, 'Chinese text draws nothing');
  assert.ok(differs.han, 'Chinese text draws the same boxes as private-use code points: no CJK font installed');
});

test('reserve zone names are placed at county zoom and follow the English switch', async () => {
  // Each zone is named once, at its label point (the core zone's is near 101.23°E 38.06°N), and
  // point labels placed first may hide it: only the area names are shown here.
  const pointLabels = await page.evaluate(() => window.onemap.map.getStyle().layers
    .filter((l) => l.type === 'symbol' && !l['source-layer'].endsWith('_labels')).map((l) => l.id));
  const showPoints = (v) => page.evaluate(({ ids, v }) => ids.forEach((id) => window.onemap.map
    .setLayoutProperty(id, 'visibility', v ? 'visible' : 'none')), { ids: pointLabels, v });
  await showPoints(false);
  await page.evaluate(() => window.onemap.map.jumpTo({ center: [101.23, 38.06], zoom: 9 }));
  await mapSettled(page);
  const zones = await getJson('/api/layers/reserve_zones/features?limit=50');
  const placed = new Set((await placedLabels('reserve_zones-label')).map((p) => p.name));
  const names = new Set(zones.features.map((f) => f.properties.name));
  assert.ok(placed.size > 0, 'no zone name placed');
  for (const n of placed) assert.ok(names.has(n), `label ${n} is no reserve zone`);
  assert.ok(placed.has('核心区'), `核心区 not placed: ${[...placed].join(', ')}`);
  writeArtifact('viewer-labels-zones.png', await page.screenshot());

  await page.locator('#lang-toggle').click();
  const field = await page.evaluate(() => window.onemap.map.getLayoutProperty('reserve_zones-label', 'text-field'));
  assert.deepEqual(field.slice(0, 2), ['coalesce', ['get', 'name_en']], JSON.stringify(field));
  await mapSettled(page);
  assert.ok((await placedLabels('reserve_zones-label')).length > 0, 'no zone name placed in English');
  writeArtifact('viewer-labels-zones-en.png', await page.screenshot());
  await page.locator('#lang-toggle').click();
  const back = await page.evaluate(() => window.onemap.map.getLayoutProperty('reserve_zones-label', 'text-field'));
  assert.deepEqual(back.slice(0, 2), ['coalesce', ['get', 'name']]);
  await showPoints(true);
});

/** Placed labels of `layerId` as { name, id, coordinates }, one per placed symbol. */
const placedPoints = (layerId) => page.evaluate((id) => window.onemap.map
  .queryRenderedFeatures({ layers: [id] })
  .map((f) => ({ name: f.properties.name, id: f.id, coordinates: f.geometry.coordinates })), layerId);

/** name → how many times it is placed. */
const countBy = (placed, key) => placed.reduce((m, p) => m.set(p[key], (m.get(p[key]) ?? 0) + 1), new Map());

test('each reserve zone name is placed at most once per view at z10 and z12, from its label point', async () => {
  // Named areas are labelled from the `{layer}_labels` points of their tiles, one point per feature.
  const style = await page.evaluate(() => window.onemap.map.getStyle().layers);
  const zoneLabel = style.find((l) => l.id === 'reserve_zones-label');
  assert.equal(zoneLabel['source-layer'], 'reserve_zones_labels');
  assert.equal(zoneLabel.maxzoom, undefined, 'zone names stop at some zoom');
  const areaLabels = style.filter((l) => l.type === 'symbol' && l['source-layer']?.endsWith('_labels')).map((l) => l.id);

  const zones = await getJson('/api/layers/reserve_zones/features?limit=50');
  const names = new Set(zones.features.map((f) => f.properties.name));
  await page.evaluate(() => window.onemap.map.jumpTo({ center: [101.15, 38.07], zoom: 10 }));
  await mapSettled(page);
  const z10 = await placedPoints('reserve_zones-label');
  assert.ok(z10.length > 0, 'no zone name placed at z10');
  for (const [name, n] of countBy(z10, 'name')) {
    assert.ok(names.has(name), `label ${name} is no reserve zone`);
    assert.equal(n, 1, `${name} placed ${n} times at z10`);
  }
  // Every other named area too: each feature's name at most once.
  for (const id of areaLabels) {
    for (const [fid, n] of countBy(await placedPoints(id), 'id')) assert.equal(n, 1, `${id}: feature ${fid} placed ${n} times at z10`);
  }
  writeArtifact('viewer-labels-zones-z10.png', await page.screenshot());

  // At z12, centred on a zone's label point: still placed, still once.
  const zone = z10.find((p) => p.name === '核心区') ?? z10[0];
  await page.evaluate((c) => window.onemap.map.jumpTo({ center: c, zoom: 12 }), zone.coordinates);
  await mapSettled(page);
  const z12 = await placedPoints('reserve_zones-label');
  const counts = countBy(z12, 'name');
  assert.equal(counts.get(zone.name), 1, `${zone.name} placed ${counts.get(zone.name) ?? 0} times at z12`);
  for (const [name, n] of counts) assert.equal(n, 1, `${name} placed ${n} times at z12`);
  for (const id of areaLabels) {
    for (const [fid, n] of countBy(await placedPoints(id), 'id')) assert.equal(n, 1, `${id}: feature ${fid} placed ${n} times at z12`);
  }
  writeArtifact('viewer-labels-zones-z12.png', await page.screenshot());
});

test('parcel numbers appear only at high zoom, each the parcel\'s TBBH', async () => {
  const parcels = await getJson('/api/layers/dltb/features?limit=1&bbox=101.05,38.55,101.15,38.65');
  assert.equal(parcels.features.length, 1, 'no demo parcel near 101.1, 38.6');
  const ring = parcels.features[0].geometry.coordinates.flat(parcels.features[0].geometry.type === 'MultiPolygon' ? 2 : 1);
  const centre = [ring.reduce((s, p) => s + p[0], 0) / ring.length, ring.reduce((s, p) => s + p[1], 0) / ring.length];
  await page.evaluate((c) => window.onemap.map.jumpTo({ center: c, zoom: 13 }), centre);
  await mapSettled(page);
  assert.equal((await placedLabels('dltb-label')).length, 0, 'parcel numbers drawn at zoom 13');
  await page.evaluate((c) => window.onemap.map.jumpTo({ center: c, zoom: 16 }), centre);
  await mapSettled(page);
  const placed = await placedLabels('dltb-label');
  assert.ok(placed.length > 0, 'no parcel number placed at zoom 16');
  for (const p of placed) assert.match(String(p.TBBH), /^\d+$/, JSON.stringify(p));
  writeArtifact('viewer-labels-parcels.png', await page.screenshot());
});

test('labels are drawn above every fill, whatever the layer order', async () => {
  const order = await page.evaluate(() => window.onemap.map.getStyle().layers.map((l) => ({ id: l.id, type: l.type })));
  const firstLabel = order.findIndex((l) => l.type === 'symbol');
  const lastGeometry = order.findLastIndex((l) => ['fill', 'line', 'circle'].includes(l.type) && !l.id.startsWith('onemap-overlay-'));
  assert.ok(firstLabel > lastGeometry, `label ${order[firstLabel]?.id} under ${order[lastGeometry]?.id}`);
  // Moving a polygon layer to the top keeps its label above, and its fill below, all labels.
  await page.evaluate(() => { const m = window.onemap.layers; m.move('reserve_zones', -m.order.indexOf('reserve_zones')); });
  assert.equal(await page.evaluate(() => window.onemap.layers.order[0]), 'reserve_zones');
  const after = await page.evaluate(() => window.onemap.map.getStyle().layers.map((l) => ({ id: l.id, type: l.type })));
  assert.ok(after.findIndex((l) => l.id === 'reserve_zones-fill') < after.findIndex((l) => l.type === 'symbol'));
});

test('no glyph, font or sprite was requested, and nothing left localhost', () => {
  const fontish = requests.filter((u) => /glyph|font|sprite|\.pbf(\?|$)|\.(woff2?|ttf|otf)(\?|$)/i.test(new URL(u).pathname));
  assert.deepEqual(fontish, []);
  assert.ok(requests.length > 20, `only ${requests.length} requests seen`);
  assert.deepEqual(problems, { pageErrors: [], consoleErrors: [], failedRequests: [], foreignRequests: [] });
});
