// Finding and measuring in the viewer: search by coordinates, village name and parcel number
// (TBBH), measuring distance and area by clicking the map, and inspect
// still answering clicks once measuring is over.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { getJson, writeArtifact } from './helpers.mjs';
import { launch, openViewer, mapSettled } from './browser.mjs';
import { distance, lineLength, ringArea, formatDistance } from '../../viewer/src/geodesy.js';

let browser;
let page;
let problems;

before(async () => {
  browser = await launch();
  ({ page, problems } = await openViewer(browser));
});

after(async () => {
  await browser?.close();
});

const center = () => page.evaluate(() => window.onemap.map.getCenter().toArray());

async function search(text) {
  await page.locator('#search-input').fill(text);
  await page.locator('#search-input').press('Enter');
}

test('typing coordinates flies the map there and marks the spot', async () => {
  await search('101.2, 38.5');
  await page.waitForFunction(() => !window.onemap.map.isMoving(), null, { timeout: 20_000 });
  const [lon, lat] = await center();
  assert.ok(Math.abs(lon - 101.2) < 1e-6 && Math.abs(lat - 38.5) < 1e-6, `centre ${lon},${lat}`);
  assert.ok(await page.evaluate(() => window.onemap.map.getZoom()) >= 13);
  assert.equal(await page.locator('.maplibregl-marker').count(), 1);
  assert.match(await page.locator('#search-status').textContent(), /101\.2/);
});

test('a village name lists matching villages, and choosing one flies to it', async () => {
  const villages = (await getJson('/api/layers/villages/features?limit=10000')).features;
  // A name fragment shared by several villages, and one village's full name.
  const target = villages.find((v) => v.properties.name.endsWith('村民委员会')) ?? villages[0];
  const fragment = target.properties.name.slice(0, 2);
  const expected = villages.filter((v) => v.properties.name.includes(fragment)).map((v) => v.properties.name);
  await search(fragment);
  await page.locator('#search-results button').first().waitFor({ timeout: 10_000 });
  const listed = await page.locator('#search-results button').allTextContents();
  assert.deepEqual(listed, expected.slice(0, 20));
  const button = page.locator('#search-results button', { hasText: target.properties.name }).first();
  await button.focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => !window.onemap.map.isMoving(), null, { timeout: 20_000 });
  const [lon, lat] = await center();
  const [vlon, vlat] = target.geometry.coordinates;
  assert.ok(Math.abs(lon - vlon) < 1e-6 && Math.abs(lat - vlat) < 1e-6, `centre ${lon},${lat}, village ${vlon},${vlat}`);
  writeArtifact('viewer-search-village.png', await page.screenshot());

  await search('没有这个村');
  await page.waitForFunction(() => /没有找到/.test(document.getElementById('search-status').textContent));
  assert.equal(await page.locator('#search-results li').count(), 0);
});

test('a parcel number (TBBH) lists the matching parcels and flies to the first one', async () => {
  // TBBH is numbered per village: pick a number only one parcel of the current year carries.
  const parcels = (await getJson('/api/layers/dltb/features?limit=10000')).features;
  const counts = new Map();
  for (const f of parcels) counts.set(f.properties.TBBH, (counts.get(f.properties.TBBH) ?? 0) + 1);
  const unique = parcels.find((f) => counts.get(f.properties.TBBH) === 1 && Number(f.properties.TBBH) > 1);
  assert.ok(unique, 'a TBBH carried by one parcel');
  const number = String(unique.properties.TBBH);
  const api = await getJson(`/api/layers/dltb/features?field=TBBH&value=${number}&limit=5`);
  assert.deepEqual(api.features.map((f) => f.id), [unique.id]);

  await page.evaluate(() => window.onemap.map.jumpTo({ center: [100.9, 38.9], zoom: 9 }));
  await search(number);
  await page.locator('#search-results button').first().waitFor({ timeout: 10_000 });
  assert.deepEqual(await page.locator('#search-results button').evaluateAll((bs) => bs.map((b) => b.dataset.fid)), [String(unique.id)]);
  assert.match(await page.locator('#search-status').textContent(), new RegExp(number));
  await page.waitForFunction(() => !window.onemap.map.isMoving(), null, { timeout: 20_000 });
  // The view now holds the parcel's bounding box, zoomed in on it.
  const xs = []; const ys = [];
  for (const ring of unique.geometry.type === 'Polygon' ? [unique.geometry.coordinates] : unique.geometry.coordinates) {
    for (const [x, y] of ring[0]) { xs.push(x); ys.push(y); }
  }
  const box = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
  const view = await page.evaluate(() => window.onemap.map.getBounds().toArray().flat());
  assert.ok(view[0] <= box[0] && view[1] <= box[1] && view[2] >= box[2] && view[3] >= box[3], `view ${view} parcel ${box}`);
  assert.ok(await page.evaluate(() => window.onemap.map.getZoom()) >= 13);
  const [lon, lat] = await center();
  assert.ok(Math.abs(lon - (box[0] + box[2]) / 2) < 1e-3 && Math.abs(lat - (box[1] + box[3]) / 2) < 1e-3, `centre ${lon},${lat}`);
  writeArtifact('viewer-search-parcel.png', await page.screenshot());

  // A number many villages share lists at most five parcels, each of them with that number.
  await search('1');
  await page.waitForFunction(() => /TBBH 1/.test(document.getElementById('search-status').textContent), null, { timeout: 10_000 });
  const labels = await page.locator('#search-results button').allTextContents();
  assert.ok(labels.length >= 2 && labels.length <= 5, labels.join(' | '));
  assert.ok(labels.every((l) => l.startsWith('TBBH 1 ')), labels.join(' | '));

  await search('99999999');
  await page.waitForFunction(() => /99999999/.test(document.getElementById('search-status').textContent), null, { timeout: 10_000 });
  assert.equal(await page.locator('#search-results li').count(), 0);
});

test('measuring distance by clicking the map shows the geodesic length in m or km', async () => {
  await page.evaluate(() => window.onemap.map.jumpTo({ center: [101.1, 38.6], zoom: 12 }));
  await mapSettled(page);
  await page.locator('#measure-distance').click();
  assert.equal(await page.getAttribute('#measure-distance', 'aria-pressed'), 'true');
  const canvas = await page.locator('#map canvas').boundingBox();
  const clicks = [[0.3, 0.3], [0.7, 0.35], [0.6, 0.7]];
  for (const [fx, fy] of clicks) await page.mouse.click(canvas.x + canvas.width * fx, canvas.y + canvas.height * fy);
  // No popup while measuring: the clicks belong to the tool.
  assert.equal(await page.locator('.maplibregl-popup').count(), 0);
  const { points, meters } = await page.evaluate(() => ({ points: window.onemap.measure.points, meters: window.onemap.measure.meters }));
  assert.equal(points.length, 3);
  // The clicked pixels, unprojected independently of the tool.
  const expected = await page.evaluate((fr) => {
    const m = window.onemap.map; const r = m.getCanvas().getBoundingClientRect();
    return fr.map(([fx, fy]) => m.unproject([r.width * fx, r.height * fy]).toArray());
  }, clicks);
  points.forEach((p, i) => assert.ok(Math.hypot(p[0] - expected[i][0], p[1] - expected[i][1]) < 1e-4, `point ${i}`));
  assert.ok(Math.abs(meters - lineLength(expected)) / meters < 1e-3);
  assert.ok(meters > 1000 && meters < 50_000, `${meters} m for a few km on screen`);
  const text = await page.locator('#measure-result').textContent();
  assert.ok(text.includes(formatDistance(meters)), text);
  assert.match(text, /km/);
  writeArtifact('viewer-measure-distance.png', await page.screenshot());
});

test('measuring area from the keyboard (map centre points) shows m² and hectares', async () => {
  await page.locator('#measure-area').focus();
  await page.keyboard.press('Enter');
  assert.equal(await page.getAttribute('#measure-area', 'aria-pressed'), 'true');
  assert.equal(await page.getAttribute('#measure-distance', 'aria-pressed'), 'false');
  const square = [[101.1, 38.6], [101.11, 38.6], [101.11, 38.61], [101.1, 38.61]];
  for (const c of square) {
    await page.evaluate((cc) => window.onemap.map.jumpTo({ center: cc }), c);
    await page.locator('#measure-centre').focus();
    await page.keyboard.press('Enter');
  }
  const m2 = await page.evaluate(() => window.onemap.measure.squareMeters);
  assert.ok(Math.abs(m2 - ringArea(square)) < 1e-6 * m2, `${m2} vs ${ringArea(square)}`);
  // Nearly a rectangle: the product of its sides, each measured as a geodesic line.
  const rect = distance(square[0], square[1]) * distance(square[1], square[2]);
  assert.ok(Math.abs(m2 - rect) / m2 < 1e-3, `${m2} m² vs sides' product ${rect}`);
  const text = await page.locator('#measure-result').textContent();
  assert.match(text, /m²/);
  assert.match(text, /ha\)/);
  writeArtifact('viewer-measure-area.png', await page.screenshot());
  await page.locator('#measure-clear').click();
  assert.equal(await page.evaluate(() => window.onemap.measure.mode), null);
  assert.equal(await page.locator('#measure-result').textContent(), '');
});

test('after measuring, clicking a parcel inspects it again', async () => {
  await mapSettled(page);
  const canvas = await page.locator('#map canvas').boundingBox();
  const hit = await page.evaluate(() => {
    const map = window.onemap.map; const r = map.getCanvas().getBoundingClientRect();
    const p = [Math.round(r.width / 2), Math.round(r.height / 2)];
    return map.queryRenderedFeatures(p, { layers: ['dltb-fill'] }).length ? p : null;
  });
  assert.ok(hit, 'no parcel at the map centre');
  await page.mouse.click(canvas.x + hit[0], canvas.y + hit[1]);
  await page.locator('.maplibregl-popup').waitFor({ state: 'visible', timeout: 10_000 });
  assert.match(await page.locator('.maplibregl-popup').innerText(), /DLBM/);
  await page.keyboard.press('Escape');
});

test('from the keyboard, "inspect map centre" describes the parcel under the centre of the map', async () => {
  const dlbm = await page.evaluate(() => {
    const map = window.onemap.map; const r = map.getCanvas().getBoundingClientRect();
    return map.queryRenderedFeatures([r.width / 2, r.height / 2], { layers: ['dltb-fill'] })[0]?.properties.DLBM;
  });
  assert.ok(dlbm, 'no parcel at the map centre');
  const classes = await getJson('/api/land-classes');
  const name = classes.find((c) => c.code === dlbm)?.name_zh ?? dlbm;
  await page.locator('#inspect-centre').focus();
  await page.keyboard.press('Enter');
  const popup = page.locator('.maplibregl-popup');
  await popup.waitFor({ state: 'visible', timeout: 10_000 });
  assert.ok((await popup.innerText()).includes(name), `popup does not name ${dlbm} ${name}`);
  await page.keyboard.press('Escape');
  await popup.waitFor({ state: 'detached', timeout: 5_000 });
});

test('finding and measuring raised no page error and made no request outside localhost', () => {
  assert.deepEqual(problems, { pageErrors: [], consoleErrors: [], failedRequests: [], foreignRequests: [] });
});
