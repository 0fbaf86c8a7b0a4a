// Time in the viewer: the year slider swaps the land-use tiles to that survey year (checked
// against the features API), and the swipe comparison shows two years side by side with a
// keyboard-operable divider and cameras in step.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { getJson, writeArtifact } from './helpers.mjs';
import { launch, openViewer, mapSettled } from './browser.mjs';

let browser;
let page;
let problems;
const tileRequests = [];
// The town of Shandan, where the demo survey's built-up land grows between the years.
const TOWN = { center: [101.09, 38.79], zoom: 13 };
let before2024; // pixel -> DLBM rendered with the 2024 tiles
let changedPlace; // [lon, lat] of a parcel whose class differs between 2019 and 2024

before(async () => {
  browser = await launch();
  ({ page, problems } = await openViewer(browser));
  page.on('request', (req) => { if (/\/tiles\/dltb\/\d+\/\d+\/\d+/.test(req.url())) tileRequests.push(req.url()); });
});

after(async () => {
  await browser?.close();
});

/** DLBM rendered by a map (main or comparison) at a grid of canvas pixels. */
const classesAt = (which) => page.evaluate((w) => {
  const map = w === 'compare' ? window.onemap.compare.map : window.onemap.map;
  const { width, height } = map.getCanvas().getBoundingClientRect();
  const out = {};
  for (let fy = 0.1; fy < 0.95; fy += 0.08) {
    for (let fx = 0.1; fx < 0.95; fx += 0.08) {
      const p = [Math.round(width * fx), Math.round(height * fy)];
      const f = map.queryRenderedFeatures(p, { layers: ['dltb-fill'] })[0];
      if (f) out[p.join(',')] = { dlbm: f.properties.DLBM, lngLat: map.unproject(p).toArray() };
    }
  }
  return out;
}, which);

/** Whether [x, y] is inside a GeoJSON Polygon/MultiPolygon (even-odd over all rings). */
function contains(geometry, [x, y]) {
  const polys = geometry.type === 'MultiPolygon' ? geometry.coordinates : [geometry.coordinates];
  let inside = false;
  for (const ring of polys.flat()) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
      const [xi, yi] = ring[i]; const [xj, yj] = ring[j];
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
  }
  return inside;
}

/** The DLBM of the year's parcel containing lngLat, from the features API. */
async function apiClass(year, [lon, lat]) {
  const e = 0.0005;
  const fc = await getJson(`/api/layers/dltb/features?year=${year}&bbox=${lon - e},${lat - e},${lon + e},${lat + e}&limit=1000`);
  return fc.features.find((f) => contains(f.geometry, [lon, lat]))?.properties.DLBM;
}

test('the year slider shows the chosen survey year: its tiles, and its classes where the land changed', async () => {
  await page.evaluate(({ center, zoom }) => window.onemap.map.jumpTo({ center, zoom }), TOWN);
  await mapSettled(page);
  before2024 = await classesAt('main');
  assert.ok(Object.keys(before2024).length > 50, 'too few parcels under the town');

  const slider = page.locator('input.year-slider[data-layer="dltb"]');
  assert.equal(await slider.getAttribute('aria-valuetext'), '2024');
  await slider.focus();
  tileRequests.length = 0;
  await page.keyboard.press('Home');
  assert.equal(await page.evaluate(() => document.activeElement?.classList.contains('year-slider')), true,
    'the slider lost focus after the change');
  assert.equal(await page.locator('.layer-row[data-layer="dltb"] output.year-value').textContent(), '2019');
  await mapSettled(page);
  assert.match(await page.evaluate(() => window.onemap.map.getSource('dltb').url), /[?&]year=2019\b/);
  assert.ok(tileRequests.length > 0, 'no dltb tile was requested after the year change');
  assert.deepEqual(tileRequests.filter((u) => !u.includes('year=2019')), [], 'tiles of another year were requested');

  const after2019 = await classesAt('main');
  const changed = Object.keys(after2019).filter((p) => before2024[p] && before2024[p].dlbm !== after2019[p].dlbm);
  assert.ok(changed.length > 0, 'no rendered parcel changed class between 2024 and 2019 in the town');
  changedPlace = after2019[changed[0]].lngLat;
  for (const p of changed.slice(0, 3)) {
    const { lngLat, dlbm } = after2019[p];
    assert.equal(dlbm, await apiClass(2019, lngLat), `pixel ${p}: rendered ${dlbm}, API 2019 says otherwise`);
    assert.equal(before2024[p].dlbm, await apiClass(2024, lngLat), `pixel ${p}: 2024 class differs from the API`);
  }
  writeArtifact('viewer-year-2019.png', await page.screenshot());
});

test('comparing shows 2019 left and 2024 right of a divider that moves with the arrow keys', async () => {
  await page.selectOption('#compare-year', '2024');
  await page.locator('#compare-toggle').click();
  assert.equal(await page.getAttribute('#compare-toggle', 'aria-pressed'), 'true');
  await page.evaluate(() => window.onemap.compare.ready);
  await mapSettled(page);

  const view = await page.evaluate(() => ({
    main: window.onemap.map.getCenter().toArray().concat(window.onemap.map.getZoom()),
    second: window.onemap.compare.map.getCenter().toArray().concat(window.onemap.compare.map.getZoom()),
  }));
  view.main.forEach((v, i) => assert.ok(Math.abs(v - view.second[i]) < 1e-9, `cameras differ: ${JSON.stringify(view)}`));
  const left = await classesAt('main');
  const right = await classesAt('compare');
  for (const p of Object.keys(before2024)) {
    if (right[p]) assert.equal(right[p].dlbm, before2024[p].dlbm, `right side at ${p} is not 2024`);
  }
  const differing = Object.keys(left).filter((p) => right[p] && right[p].dlbm !== left[p].dlbm);
  assert.ok(differing.length > 0, 'both sides show the same classes');
  assert.deepEqual(await page.locator('.compare-badge').allTextContents(), ['2019', '2024']);

  // The divider: keyboard moves it, and the right map is hit-tested only right of it.
  const divider = page.locator('#swipe-divider');
  assert.equal(await divider.getAttribute('role'), 'separator');
  await divider.focus();
  for (let i = 0; i < 5; i += 1) await page.keyboard.press('ArrowLeft');
  assert.equal(await divider.getAttribute('aria-valuenow'), '40');
  await page.keyboard.press('Shift+ArrowRight');
  assert.equal(await divider.getAttribute('aria-valuenow'), '50');
  const hits = await page.evaluate(() => {
    const r = document.getElementById('map-area').getBoundingClientRect();
    const at = (f) => document.elementFromPoint(r.left + r.width * f, r.top + r.height * 0.6)?.closest('#map, #compare-map')?.id;
    return { left: at(0.3), right: at(0.7) };
  });
  assert.deepEqual(hits, { left: 'map', right: 'compare-map' });
  writeArtifact('viewer-compare.png', await page.screenshot());

  // Dragging with the mouse moves it too.
  const box = await divider.boundingBox();
  const area = await page.locator('#map-area').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(area.x + area.width * 0.25, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  assert.equal(await divider.getAttribute('aria-valuenow'), '25');

  // Panning the right map moves the left one.
  await page.evaluate(() => window.onemap.compare.map.jumpTo({ center: [101.1, 38.78] }));
  const c = await page.evaluate(() => window.onemap.map.getCenter().toArray());
  assert.ok(Math.abs(c[0] - 101.1) < 1e-9 && Math.abs(c[1] - 38.78) < 1e-9, `main map did not follow: ${c}`);
});

test('clicking right of the divider inspects the right year\'s parcel', async () => {
  await mapSettled(page);
  const landClasses = await getJson('/api/land-classes');
  const name = Object.fromEntries(landClasses.map((c) => [c.code, c.name_zh]));
  const position = await page.evaluate(() => window.onemap.compare.position);
  const left = await classesAt('main');
  const right = await classesAt('compare');
  const width = await page.evaluate(() => window.onemap.map.getCanvas().getBoundingClientRect().width);
  // A pixel right of the divider whose class differs between the years, with both classes known.
  const pixel = Object.keys(right).find((p) => Number(p.split(',')[0]) > width * position + 20
    && left[p] && left[p].dlbm !== right[p].dlbm && name[right[p].dlbm] && name[left[p].dlbm]
    && !name[right[p].dlbm].includes(name[left[p].dlbm]) && !name[left[p].dlbm].includes(name[right[p].dlbm]));
  assert.ok(pixel, 'no changed parcel right of the divider');
  const [x, y] = pixel.split(',').map(Number);
  const canvas = await page.locator('#map canvas').boundingBox();
  await page.mouse.click(canvas.x + x, canvas.y + y);
  const popup = page.locator('#compare-map .maplibregl-popup');
  await popup.waitFor({ state: 'visible', timeout: 10_000 });
  const text = await popup.innerText();
  assert.ok(text.includes(name[right[pixel].dlbm]), `popup does not name the 2024 class ${right[pixel].dlbm}:\n${text}`);
  assert.ok(!text.includes(name[left[pixel].dlbm]), `popup names the 2019 class ${left[pixel].dlbm}:\n${text}`);
  writeArtifact('viewer-compare-popup.png', await page.screenshot());
  await page.keyboard.press('Escape');
  await popup.waitFor({ state: 'detached', timeout: 5_000 });
});

test('hiding a layer while comparing hides it on both sides', async () => {
  await page.locator('input[type=checkbox][data-layer="villages"]').uncheck();
  const vis = await page.evaluate(() => [window.onemap.map, window.onemap.compare.map]
    .map((m) => m.getLayoutProperty('villages-point', 'visibility')));
  assert.deepEqual(vis, ['none', 'none']);
  await page.locator('input[type=checkbox][data-layer="villages"]').check();
});

test('side by side shows the two years in two half-width maps on the same place', async () => {
  const area = await page.locator('#map-area').boundingBox();
  await page.locator('input[name="compare-mode"][value="swipe"]').focus();
  await page.keyboard.press('ArrowDown'); // radio groups move with the arrow keys
  assert.equal(await page.locator('input[name="compare-mode"][value="side"]').isChecked(), true);
  await mapSettled(page);
  const boxes = {
    left: await page.locator('#map canvas').boundingBox(),
    right: await page.locator('#compare-map canvas').boundingBox(),
  };
  assert.ok(Math.abs(boxes.left.width - area.width / 2) < 3, `left map ${boxes.left.width} of ${area.width}`);
  assert.ok(Math.abs(boxes.right.x - (area.x + area.width / 2)) < 3, `right map starts at ${boxes.right.x}`);
  assert.equal(await page.locator('#swipe-divider').isHidden(), true);
  const centres = await page.evaluate(() => [window.onemap.map, window.onemap.compare.map].map((m) => m.getCenter().toArray()));
  assert.ok(Math.hypot(centres[0][0] - centres[1][0], centres[0][1] - centres[1][1]) < 1e-9, JSON.stringify(centres));
  // Both halves centred on a place that changed: the left shows 2019's class, the right 2024's.
  await page.evaluate((c) => window.onemap.map.jumpTo({ center: c }), changedPlace);
  await mapSettled(page);
  const atCentre = await page.evaluate(() => [window.onemap.map, window.onemap.compare.map].map((m) => {
    const r = m.getCanvas().getBoundingClientRect();
    return m.queryRenderedFeatures([r.width / 2, r.height / 2], { layers: ['dltb-fill'] })[0]?.properties.DLBM;
  }));
  assert.deepEqual(atCentre, [await apiClass(2019, changedPlace), await apiClass(2024, changedPlace)]);
  assert.notEqual(atCentre[0], atCentre[1]);
  writeArtifact('viewer-side-by-side.png', await page.screenshot());

  await page.locator('input[name="compare-mode"][value="swipe"]').check();
  await mapSettled(page);
  assert.ok(Math.abs((await page.locator('#map canvas').boundingBox()).width - area.width) < 3);
  assert.equal(await page.locator('#swipe-divider').isVisible(), true);
});

test('closing the comparison removes the second map', async () => {
  await page.locator('#compare-toggle').click();
  assert.equal(await page.getAttribute('#compare-toggle', 'aria-pressed'), 'false');
  assert.equal(await page.evaluate(() => window.onemap.compare.map), null);
  assert.equal(await page.locator('#compare-map canvas').count(), 0);
  assert.equal(await page.locator('#swipe-divider').isHidden(), true);
});

test('time and comparison raised no page error and made no request outside localhost', () => {
  assert.deepEqual(problems, { pageErrors: [], consoleErrors: [], failedRequests: [], foreignRequests: [] });
});
