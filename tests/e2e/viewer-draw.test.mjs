// Drawing an ad-hoc trend zone in the viewer: click the corners on the map, double-click to
// close; or from the keyboard, pan the map and add its centre, Enter to close, Escape to give
// up. The drawn polygon goes to POST /api/trends/area, /transitions and /api/changes, and every number the
// chart and the tables show must be the API's own answer for that same polygon.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { get, writeArtifact } from './helpers.mjs';
import { launch, openViewer, mapSettled } from './browser.mjs';

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

/** POSTs `geometry` to a trends route, returning the parsed JSON (or the text for CSV). */
async function post(path, geometry) {
  const res = await get(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(geometry) });
  const text = await res.text();
  assert.equal(res.status, 200, `POST ${path} -> ${res.status}: ${text.slice(0, 300)}`);
  return /format=csv/.test(path) ? text : JSON.parse(text);
}

const segmentsOnPage = () => page.$$eval('#trends-chart rect.segment', (rects) => rects.map((r) => ({
  year: Number(r.dataset.year), cls: r.dataset.class, m2: Number(r.dataset.areaM2),
})));

let drawn;

test('a zone drawn by clicking its corners and double-clicking gives the API\'s area by class for that polygon', async () => {
  await page.evaluate(() => window.onemap.map.jumpTo({ center: [101.15, 38.07], zoom: 10 }));
  await mapSettled(page);
  const canvas = await page.locator('#map canvas').boundingBox();
  await page.locator('#trends-draw').click();
  assert.equal(await page.getAttribute('#trends-draw', 'aria-pressed'), 'true');
  // A pentagon in the middle of the view; the double-click on the last corner closes it.
  const corners = [[0.35, 0.3], [0.6, 0.28], [0.7, 0.55], [0.5, 0.72], [0.3, 0.6]]
    .map(([fx, fy]) => [Math.round(canvas.width * fx), Math.round(canvas.height * fy)]);
  for (const [x, y] of corners.slice(0, -1)) await page.mouse.click(canvas.x + x, canvas.y + y);
  assert.equal(await page.isDisabled('#trends-draw-finish'), false, 'finish stays disabled with four corners');
  const [lx, ly] = corners.at(-1);
  await page.mouse.dblclick(canvas.x + lx, canvas.y + ly);
  await page.waitForFunction(() => window.onemap.trends.zone?.drawn);
  await page.evaluate(() => window.onemap.trends.ready);
  assert.equal(await page.getAttribute('#trends-draw', 'aria-pressed'), 'false');
  // Clicks while drawing neither inspected nor zoomed.
  assert.equal(await page.locator('#map .maplibregl-popup').count(), 0);
  assert.ok(Math.abs(await page.evaluate(() => window.onemap.map.getZoom()) - 10) < 1e-9, 'the double-click zoomed');

  drawn = await page.evaluate(() => window.onemap.trends.zone);
  assert.equal(drawn.geometry.type, 'Polygon');
  const ring = drawn.geometry.coordinates[0];
  assert.equal(ring.length, corners.length + 1, `ring ${JSON.stringify(ring)}`);
  assert.deepEqual(ring[0], ring.at(-1), 'ring not closed');
  // Each vertex is where it was clicked, in longitude/latitude.
  const expected = await page.evaluate((pts) => pts.map((p) => window.onemap.map.unproject(p).toArray()), corners);
  expected.forEach((p, i) => assert.ok(Math.hypot(p[0] - ring[i][0], p[1] - ring[i][1]) < 1e-4, `corner ${i}: ${ring[i]} vs ${p}`));

  const api = await post('/api/trends/area?layer=dltb&level=1', drawn.geometry);
  const segments = await segmentsOnPage();
  const want = api.series.filter((p) => p.area_m2 > 0);
  assert.ok(want.length > 0, 'the API found no land use in the drawn zone');
  assert.equal(segments.length, want.length, 'one segment per year and class');
  for (const p of want) {
    assert.equal(segments.find((s) => s.year === p.year && s.cls === p.class)?.m2, p.area_m2, `${p.year} ${p.class}`);
  }
  // The classes of one year cover at most the drawn area (both geodesic).
  const perYear = new Map();
  for (const p of api.series) perYear.set(p.year, (perYear.get(p.year) ?? 0) + p.area_m2);
  for (const [year, total] of perYear) assert.ok(total <= drawn.area_m2 * 1.005, `${year}: ${total} m² in a ${drawn.area_m2} m² zone`);
  assert.match(await page.locator('#trends-title').innerText(), /自绘区域/);
  // The drawn outline is on the map.
  assert.equal(await page.evaluate(() => window.onemap.map.getLayer('onemap-overlay-zone-line')?.source), 'onemap-overlay-drawn-zone');
  writeArtifact('viewer-draw-zone.png', await page.screenshot());
});

test('the drawn zone\'s transition table and CSV exports are the API\'s answers for the polygon', async () => {
  await page.selectOption('#trends-from', '2019');
  await page.selectOption('#trends-to', '2024');
  await page.evaluate(() => window.onemap.trends.ready);
  const api = await post('/api/trends/transitions?layer=dltb&level=1&from=2019&to=2024', drawn.geometry);
  const cells = await page.$$eval('#trends-matrix table.matrix td', (tds) => tds
    .map((td) => ({ from: td.dataset.from, to: td.dataset.to, m2: Number(td.dataset.areaM2) })).filter((c) => c.m2 > 0));
  assert.equal(cells.length, api.cells.filter((c) => c.area_m2 > 0).length);
  for (const c of api.cells.filter((x) => x.area_m2 > 0)) {
    assert.equal(cells.find((x) => x.from === c.from_class && x.to === c.to_class)?.m2, c.area_m2, `${c.from_class}→${c.to_class}`);
  }
  const rows = await page.$$eval('#trends-matrix table.gains-losses tbody tr', (trs) => trs.map((r) => ({
    cls: r.dataset.class, gain: Number(r.dataset.gainM2), loss: Number(r.dataset.lossM2), net: Number(r.dataset.netM2),
  })));
  for (const c of api.classes) {
    const r = rows.find((x) => x.cls === c.class);
    assert.deepEqual([r?.gain, r?.loss, r?.net], [c.gain_m2, c.loss_m2, c.net_m2], c.class);
  }

  const download = async (button) => {
    const [d] = await Promise.all([page.waitForEvent('download'), page.locator(button).click()]);
    const { readFileSync } = await import('node:fs');
    return { name: d.suggestedFilename(), text: readFileSync(await d.path(), 'utf8') };
  };
  const series = await download('#trends-series-csv');
  assert.equal(series.text, await post('/api/trends/area?layer=dltb&level=1&format=csv', drawn.geometry));
  assert.match(series.name, /^dltb_drawn_L1_area\.csv$/);
  const matrix = await download('#trends-matrix-csv');
  assert.equal(matrix.text, await post('/api/trends/transitions?layer=dltb&level=1&from=2019&to=2024&format=csv', drawn.geometry));
  const changes = await download('#trends-changes-csv');
  const apiChanges = await post('/api/changes?layer=dltb&level=1&from=2019&to=2024&format=csv', drawn.geometry);
  assert.equal(changes.text, apiChanges);
  assert.ok(apiChanges.split('\n').length > 2, 'no change parcel in the drawn zone between 2019 and 2024');
});

test('from the keyboard: pan, add the map centre as corners, Enter closes the zone; Escape gives up', async () => {
  await page.locator('#trends-close').click();
  await page.evaluate(() => window.onemap.map.jumpTo({ center: [101.1, 38.6], zoom: 11 }));
  await mapSettled(page);
  const before = await page.evaluate(() => window.onemap.trends.zone);
  assert.equal(before, null);

  // Escape drops a polygon being drawn and leaves no zone behind.
  await page.locator('#trends-draw').focus();
  await page.keyboard.press('Enter');
  assert.equal(await page.getAttribute('#trends-draw', 'aria-pressed'), 'true');
  await page.locator('#trends-draw-centre').focus();
  await page.keyboard.press('Enter');
  await page.keyboard.press('Escape');
  assert.equal(await page.getAttribute('#trends-draw', 'aria-pressed'), 'false');
  assert.equal(await page.isDisabled('#trends-draw-centre'), true);
  assert.equal(await page.evaluate(() => window.onemap.trends.zone), null);

  // Three corners: the centre, then the centre after panning right, then after panning down.
  await page.locator('#trends-draw').focus();
  await page.keyboard.press('Enter');
  const addCentre = async () => {
    await page.locator('#trends-draw-centre').focus();
    await page.keyboard.press('Enter');
  };
  const pan = async (key) => {
    await page.locator('#map canvas').focus();
    for (let i = 0; i < 3; i += 1) await page.keyboard.press(key);
    await page.waitForFunction(() => !window.onemap.map.isMoving());
  };
  const centres = [];
  const centre = () => page.evaluate(() => window.onemap.map.getCenter().toArray());
  centres.push(await centre()); await addCentre();
  await pan('ArrowRight');
  centres.push(await centre()); await addCentre();
  await pan('ArrowDown');
  centres.push(await centre()); await addCentre();
  assert.ok(Math.hypot(centres[1][0] - centres[0][0], centres[1][1] - centres[0][1]) > 1e-3, 'the arrow keys did not pan');
  // Enter on the map (not on a button) closes the polygon.
  await page.locator('#map canvas').focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => window.onemap.trends.zone?.drawn);
  await page.evaluate(() => window.onemap.trends.ready);
  const zone = await page.evaluate(() => window.onemap.trends.zone);
  assert.deepEqual(zone.geometry.coordinates[0], [...centres, centres[0]]);
  const api = await post('/api/trends/area?layer=dltb&level=1', zone.geometry);
  const segments = await segmentsOnPage();
  for (const p of api.series.filter((x) => x.area_m2 > 0)) {
    assert.equal(segments.find((s) => s.year === p.year && s.cls === p.class)?.m2, p.area_m2, `${p.year} ${p.class}`);
  }
});

test('drawing raised no page error and made no request outside localhost', () => {
  assert.deepEqual(problems, { pageErrors: [], consoleErrors: [], failedRequests: [], foreignRequests: [] });
});
