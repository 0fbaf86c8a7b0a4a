// Zone trends and enforcement lists in the viewer: a zone picked by clicking the map gives a
// stacked chart whose every segment is the API's number, a transition table with the API's
// gains and losses, the change tiles on the map, CSV and PNG exports; the hotspot and task
// lists fly the map to their rows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { getJson, get, writeArtifact } from './helpers.mjs';
import { launch, openViewer, mapSettled } from './browser.mjs';

let browser;
let page;
let problems;
const changeTileRequests = [];

before(async () => {
  browser = await launch();
  ({ page, problems } = await openViewer(browser));
  page.on('request', (req) => { if (/\/tiles\/changes\/\d+\/\d+\/\d+/.test(req.url())) changeTileRequests.push(req.url()); });
});

after(async () => {
  await browser?.close();
});

test('clicking a reserve zone on the map draws its area by class, every segment equal to the API\'s number', async () => {
  await page.evaluate(() => window.onemap.map.jumpTo({ center: [101.15, 38.07], zoom: 9 }));
  await mapSettled(page);
  // A pixel where the core zone (fid 1) is drawn.
  const pixel = await page.evaluate(() => {
    const map = window.onemap.map;
    const { width, height } = map.getCanvas().getBoundingClientRect();
    for (let fy = 0.2; fy < 0.9; fy += 0.05) {
      for (let fx = 0.1; fx < 0.5; fx += 0.05) {
        const p = [Math.round(width * fx), Math.round(height * fy)];
        if (map.queryRenderedFeatures(p, { layers: ['reserve_zones-fill'] })[0]?.id === 1) return p;
      }
    }
    return null;
  });
  assert.ok(pixel, 'no pixel of the core zone in view');
  assert.equal(await page.locator('#trends-zone-layer').inputValue(), 'reserve_zones');
  await page.locator('#trends-pick').click();
  assert.equal(await page.getAttribute('#trends-pick', 'aria-pressed'), 'true');
  const canvas = await page.locator('#map canvas').boundingBox();
  await page.mouse.click(canvas.x + pixel[0], canvas.y + pixel[1]);
  assert.equal(await page.getAttribute('#trends-pick', 'aria-pressed'), 'false');
  await page.evaluate(() => window.onemap.trends.ready);
  // The click picked the zone, not a feature to inspect.
  assert.equal(await page.locator('#map .maplibregl-popup').count(), 0);
  assert.deepEqual(await page.evaluate(() => window.onemap.trends.zone), { layer: 'reserve_zones', key: '1', fid: 1, name: '核心区' });

  const api = await getJson('/api/trends/area?layer=dltb&zone_layer=reserve_zones&zone=1&level=1');
  const segments = await page.$$eval('#trends-chart rect.segment', (rects) => rects.map((r) => ({
    year: Number(r.dataset.year), cls: r.dataset.class, m2: Number(r.dataset.areaM2), h: Number(r.getAttribute('height')),
  })));
  const expected = api.series.filter((p) => p.area_m2 > 0);
  assert.equal(segments.length, expected.length, 'one segment per year and class');
  for (const p of expected) {
    const s = segments.find((x) => x.year === p.year && x.cls === p.class);
    assert.ok(s, `no segment for ${p.year} ${p.class}`);
    assert.equal(s.m2, p.area_m2, `${p.year} ${p.class}`);
  }
  // Heights are proportional to the values: the same pixels per km² for every segment.
  const big = segments.filter((s) => s.h > 5);
  const perKm2 = big.map((s) => s.h / (s.m2 / 1e6));
  assert.ok(Math.max(...perKm2) / Math.min(...perKm2) < 1.0001, `heights not proportional: ${perKm2}`);
  // Every year of the survey has its bar, and the bars' totals differ by the class changes only.
  const years = [...new Set(segments.map((s) => s.year))];
  assert.deepEqual(years, [2019, 2020, 2021, 2022, 2023, 2024]);
  const legend = await page.locator('#trends-legend li').allTextContents();
  assert.equal(legend.length, new Set(expected.map((p) => p.class)).size);
  writeArtifact('viewer-trends.png', await page.screenshot());
});

test('the transition table between two chosen years shows the API\'s cells, gains, losses and net', async () => {
  await page.selectOption('#trends-from', '2019');
  await page.selectOption('#trends-to', '2024');
  await page.evaluate(() => window.onemap.trends.ready);
  const api = await getJson('/api/trends/transitions?layer=dltb&zone_layer=reserve_zones&zone=1&level=1&from=2019&to=2024');
  const cells = await page.$$eval('#trends-matrix table.matrix td', (tds) => tds.map((td) => ({
    from: td.dataset.from, to: td.dataset.to, m2: Number(td.dataset.areaM2),
  })).filter((c) => c.m2 > 0));
  assert.equal(cells.length, api.cells.filter((c) => c.area_m2 > 0).length);
  for (const c of api.cells) {
    if (c.area_m2 <= 0) continue;
    assert.equal(cells.find((x) => x.from === c.from_class && x.to === c.to_class)?.m2, c.area_m2, `${c.from_class}→${c.to_class}`);
  }
  const rows = await page.$$eval('#trends-matrix table.gains-losses tbody tr', (trs) => trs.map((r) => ({
    cls: r.dataset.class, gain: Number(r.dataset.gainM2), loss: Number(r.dataset.lossM2), net: Number(r.dataset.netM2), text: r.innerText,
  })));
  assert.equal(rows.length, api.classes.length);
  for (const c of api.classes) {
    const r = rows.find((x) => x.cls === c.class);
    assert.deepEqual([r.gain, r.loss, r.net], [c.gain_m2, c.loss_m2, c.net_m2], c.class);
  }
  assert.ok(api.classes.some((c) => c.net_m2 !== 0), 'the demo core zone should change between 2019 and 2024');
  // Signs are spelled out, not left to colour.
  const changed = rows.find((r) => r.net < 0);
  assert.match(changed.text, /−/);
});

test('the change parcels between the two years are drawn from the change tiles, flagged ones apart', async () => {
  await mapSettled(page);
  assert.ok(changeTileRequests.length > 0, 'no change tile requested');
  assert.ok(changeTileRequests.every((u) => /layer=dltb/.test(u) && /from=2019/.test(u) && /to=2024/.test(u)), changeTileRequests[0]);
  const drawn = await page.evaluate(() => window.onemap.map.queryRenderedFeatures({ layers: ['onemap-overlay-changes-fill'] })
    .map((f) => f.properties));
  assert.ok(drawn.length > 0, 'no change parcel drawn in view');
  assert.ok(drawn.every((p) => p.from_class !== p.to_class));
  const outline = await page.evaluate(() => window.onemap.map.getLayer('onemap-overlay-zone-line')?.filter);
  assert.deepEqual(outline, ['==', ['id'], 1]);
  // Unticking the box takes them off the map.
  await page.locator('#trends-highlight').uncheck();
  assert.equal(await page.evaluate(() => Boolean(window.onemap.map.getLayer('onemap-overlay-changes-fill'))), false);
  await page.locator('#trends-highlight').check();
  assert.equal(await page.evaluate(() => Boolean(window.onemap.map.getLayer('onemap-overlay-changes-fill'))), true);
});

test('the series and the matrix export as the server\'s CSV, the chart as a PNG', async () => {
  const read = async (button) => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator(button).click()]);
    const path = await download.path();
    const { readFileSync } = await import('node:fs');
    return { name: download.suggestedFilename(), bytes: readFileSync(path) };
  };
  const series = await read('#trends-series-csv');
  const apiSeries = await (await get('/api/trends/area?layer=dltb&zone_layer=reserve_zones&zone=1&level=1&format=csv')).text();
  assert.equal(series.bytes.toString('utf8'), apiSeries);
  assert.match(series.name, /\.csv$/);
  assert.match(apiSeries, /^year,class,area_m2\n/);

  const matrix = await read('#trends-matrix-csv');
  const apiMatrix = await (await get('/api/trends/transitions?layer=dltb&zone_layer=reserve_zones&zone=1&level=1&from=2019&to=2024&format=csv')).text();
  assert.equal(matrix.bytes.toString('utf8'), apiMatrix);

  const png = await read('#trends-png');
  assert.deepEqual([...png.bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'not a PNG');
  const width = png.bytes.readUInt32BE(16);
  const height = png.bytes.readUInt32BE(20);
  assert.deepEqual([width, height], [800, 480], 'the chart at twice its 400×240 size');
  assert.ok(png.bytes.length > 5000, `suspiciously small PNG: ${png.bytes.length} bytes`);
  writeArtifact('viewer-trends-chart.png', png.bytes);
});

test('the second-level chart has the API\'s second-level classes', async () => {
  await page.selectOption('#trends-level', '2');
  await page.evaluate(() => window.onemap.trends.ready);
  const api = await getJson('/api/trends/area?layer=dltb&zone_layer=reserve_zones&zone=1&level=2');
  const classes = await page.$$eval('#trends-chart rect.segment', (rects) => [...new Set(rects.map((r) => r.dataset.class))].sort());
  assert.deepEqual(classes, [...new Set(api.series.filter((p) => p.area_m2 > 0).map((p) => p.class))].sort());
  assert.ok(classes.every((c) => c.length === 4), classes.join());
  await page.selectOption('#trends-level', '1');
  await page.evaluate(() => window.onemap.trends.ready);
});

test('clicking a hotspot or a task flies the map to its place', async () => {
  await page.locator('#trends-close').click();
  assert.equal(await page.locator('#trends-results').isHidden(), true);
  await page.locator('#enforcement summary').click();
  // The section loads on its `toggle` event, which fires after the click returns: wait until
  // the hotspots have answered (the list is drawn with them), then await the tasks too.
  await page.waitForFunction(() => window.onemap.enforcement.hotspots !== null);
  await page.evaluate(() => window.onemap.enforcement.ready);
  const hotspots = await getJson('/api/enforcement/hotspots?layer=dltb&by=zone');
  assert.ok(hotspots.hotspots.length > 0, 'the demo should have flagged change');
  const rows = page.locator('#hotspots-list li button');
  assert.equal(await rows.count(), hotspots.hotspots.length);
  assert.ok((await rows.first().innerText()).includes(hotspots.hotspots[0].name));

  const centreAfter = async (locator) => {
    await locator.focus();
    await page.keyboard.press('Enter'); // keyboard users too
    await page.waitForFunction(() => !window.onemap.map.isMoving(), null, { timeout: 20_000 });
    return page.evaluate(() => window.onemap.map.getCenter().toArray());
  };
  const h = hotspots.hotspots[1] ?? hotspots.hotspots[0];
  const c1 = await centreAfter(rows.nth(hotspots.hotspots.indexOf(h)));
  assert.ok(Math.hypot(c1[0] - h.lon, c1[1] - h.lat) < 1e-6, `map at ${c1}, hotspot at ${h.lon},${h.lat}`);

  await page.selectOption('#hotspots-by', 'village');
  await page.evaluate(() => window.onemap.enforcement.ready);
  const villages = await getJson('/api/enforcement/hotspots?layer=dltb&by=village');
  await page.waitForFunction((n) => document.querySelectorAll('#hotspots-list li button').length === n, villages.hotspots.length);
  assert.ok((await rows.first().innerText()).includes(villages.hotspots[0].name));

  const tasks = await getJson('/api/enforcement/tasks?layer=dltb');
  const taskRows = page.locator('#tasks-list li button');
  assert.equal(await taskRows.count(), Math.min(200, tasks.tasks.length));
  const t = tasks.tasks.at(-1);
  const c2 = await centreAfter(taskRows.nth(tasks.tasks.length - 1));
  assert.ok(Math.hypot(c2[0] - t.lon, c2[1] - t.lat) < 1e-6, `map at ${c2}, task at ${t.lon},${t.lat}`);
  assert.ok(Math.abs(await page.evaluate(() => window.onemap.map.getZoom()) - 14) < 1e-6);
  writeArtifact('viewer-enforcement.png', await page.screenshot());
});

test('trends and enforcement raised no page error and made no request outside localhost', () => {
  assert.deepEqual(problems, { pageErrors: [], consoleErrors: [], failedRequests: [], foreignRequests: [] });
});
