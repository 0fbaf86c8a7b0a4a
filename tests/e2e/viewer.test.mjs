// The web viewer in a real (headless Debian) Chromium: renders the county, toggles layers,
// inspects parcels, and never reaches outside the machine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { BASE, getJson, writeArtifact } from './helpers.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const READY_TIMEOUT_MS = 120_000;
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1', new URL(BASE).hostname]);

let browser;
let page;
let landClasses;
const pageErrors = [];
const consoleErrors = [];
const foreignRequests = [];
const failedRequests = [];

before(async () => {
  landClasses = await getJson('/api/land-classes');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', (err) => pageErrors.push(err.stack ?? String(err)));
  page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()); });
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (['data:', 'blob:'].includes(url.protocol)) return;
    if (!LOCAL_HOSTS.has(url.hostname)) foreignRequests.push(req.url());
  });
  page.on('requestfailed', (req) => failedRequests.push(`${req.url()}: ${req.failure()?.errorText}`));
  page.on('response', (res) => { if (res.status() >= 400) failedRequests.push(`${res.url()}: ${res.status()}`); });
  await page.goto(`${BASE}/`, { waitUntil: 'load' });
  await page.waitForFunction(() => window.onemap?.ready instanceof Promise, null, { timeout: 30_000 });
  await page.evaluate((ms) => Promise.race([
    window.onemap.ready,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`window.onemap.ready not settled after ${ms} ms`)), ms)),
  ]), READY_TIMEOUT_MS);
});

after(async () => {
  await browser?.close();
});

/** Style layer ids the style draws a catalog layer with (by metadata, as the viewer does). */
const styleLayersOf = (layerId) => page.evaluate((id) => window.onemap.map.getStyle().layers
  .filter((l) => l.metadata?.['onemap:layer'] === id).map((l) => l.id), layerId);

/** Waits until the map has no pending tiles or transitions. */
const mapSettled = () => page.waitForFunction(() => window.onemap.map.loaded() && !window.onemap.map.isMoving(),
  null, { timeout: 60_000 });

// At the county view land use is drawn as the low zooms' class mosaic (one shape per class and
// tile), so what must show is the variety of classes, each shape carrying its class.
test('the viewer renders land use in at least 10 classes, each shape with its DLBM, once ready', async () => {
  const rendered = await page.evaluate(() => {
    const features = window.onemap.map.queryRenderedFeatures({ layers: ['dltb-fill'] });
    return {
      count: features.length,
      withDlbm: features.filter((f) => typeof f.properties.DLBM === 'string').length,
      classes: new Set(features.map((f) => f.properties.DLBM)).size,
    };
  });
  const png = await page.screenshot({ fullPage: false });
  writeArtifact('viewer.png', png);
  assert.ok(rendered.classes >= 10, `only ${rendered.classes} land classes rendered (${rendered.count} shapes)`);
  assert.equal(rendered.withDlbm, rendered.count, 'some rendered shapes lack a DLBM string');
});

test('the map opens fitted to the county', async () => {
  const [county, view] = await Promise.all([
    getJson('/api/layers').then((c) => c.find((l) => l.id === 'county')?.versions[0]?.bbox),
    page.evaluate(() => {
      const b = window.onemap.map.getBounds();
      return { w: b.getWest(), s: b.getSouth(), e: b.getEast(), n: b.getNorth() };
    }),
  ]);
  assert.ok(county, 'the county layer has no bbox');
  const [w, s, e, n] = county;
  // The whole county is in view, and the view is not much larger than the county.
  assert.ok(view.w <= w && view.s <= s && view.e >= e && view.n >= n,
    `view ${JSON.stringify(view)} does not contain the county ${county}`);
  assert.ok((view.e - view.w) < 4 * (e - w) && (view.n - view.s) < 4 * (n - s),
    `view ${JSON.stringify(view)} is far larger than the county ${county}`);
});

test('the side panel has a labelled checkbox for every catalog layer, grouped by department', async () => {
  const catalog = await getJson('/api/layers');
  for (const layer of catalog) {
    const box = page.locator(`input[type=checkbox][data-layer="${layer.id}"]`);
    assert.equal(await box.count(), 1, `no checkbox for ${layer.id}`);
    const label = page.getByLabel(layer.title_zh, { exact: false });
    assert.ok(await label.count() >= 1, `checkbox of ${layer.id} has no label "${layer.title_zh}"`);
  }
  const headings = await page.locator('#layer-groups h3').allTextContents();
  const expected = [...new Set(catalog.map((l) => l.department_name_zh))];
  assert.deepEqual([...headings].sort(), [...expected].sort());
});

test('clicking a parcel opens a popup naming its land class in Chinese', async () => {
  const classNames = Object.fromEntries(landClasses.map((c) => [c.code, c.name_zh]));
  // Find a canvas pixel over a dltb parcel whose class is known, away from the map's edges.
  const hit = await page.evaluate((known) => {
    const map = window.onemap.map;
    const { width, height } = map.getCanvas().getBoundingClientRect();
    for (let fy = 0.3; fy <= 0.7; fy += 0.05) {
      for (let fx = 0.3; fx <= 0.7; fx += 0.05) {
        const point = [Math.round(width * fx), Math.round(height * fy)];
        const f = map.queryRenderedFeatures(point, { layers: ['dltb-fill'] })[0];
        if (f && known.includes(f.properties.DLBM)) return { point, dlbm: f.properties.DLBM };
      }
    }
    return null;
  }, Object.keys(classNames));
  assert.ok(hit, 'no parcel of a known class under the middle of the map');
  const canvas = await page.locator('#map canvas').boundingBox();
  await page.mouse.click(canvas.x + hit.point[0], canvas.y + hit.point[1]);
  const popup = page.locator('.maplibregl-popup');
  await popup.waitFor({ state: 'visible', timeout: 10_000 });
  const text = await popup.innerText();
  assert.ok(text.includes(classNames[hit.dlbm]),
    `popup does not name class ${hit.dlbm} ${classNames[hit.dlbm]}:\n${text}`);
  assert.match(text, /m²/, 'popup shows no area in m²');
  assert.match(text, /ha\b/, 'popup shows no area in hectares');
  writeArtifact('viewer-popup.png', await page.screenshot());
  await page.keyboard.press('Escape');
  await popup.waitFor({ state: 'detached', timeout: 5_000 });
});

test('unchecking dltb with the keyboard hides every dltb feature, and checking it shows them again', async () => {
  const ids = await styleLayersOf('dltb');
  assert.ok(ids.includes('dltb-fill'), `dltb style layers: ${ids}`);
  const box = page.locator('input[type=checkbox][data-layer="dltb"]');
  assert.equal(await box.isChecked(), true, 'dltb starts hidden');
  const before = await page.evaluate(() => window.onemap.map.queryRenderedFeatures({ layers: ['dltb-fill'] }).length);
  assert.ok(before > 0, 'no dltb feature rendered to begin with');
  await box.focus();
  await page.keyboard.press('Space');
  assert.equal(await box.isChecked(), false, 'Space did not uncheck dltb');
  await mapSettled();
  const hidden = await page.evaluate((layerIds) => ({
    visibility: layerIds.map((id) => window.onemap.map.getLayoutProperty(id, 'visibility')),
    rendered: window.onemap.map.queryRenderedFeatures()
      .filter((f) => f.layer.metadata?.['onemap:layer'] === 'dltb').length,
  }), ids);
  assert.deepEqual(hidden.visibility, ids.map(() => 'none'));
  assert.equal(hidden.rendered, 0, `${hidden.rendered} dltb features still rendered`);
  writeArtifact('viewer-dltb-off.png', await page.screenshot());

  await page.keyboard.press('Space');
  assert.equal(await box.isChecked(), true);
  await mapSettled();
  const shown = await page.evaluate(() => window.onemap.map.queryRenderedFeatures({ layers: ['dltb-fill'] }).length);
  assert.equal(shown, before, `${shown} dltb features after re-enabling, ${before} before`);
});

test('the viewer raised no page error and made no request outside localhost', () => {
  assert.deepEqual(pageErrors, [], 'page errors');
  assert.deepEqual(consoleErrors, [], 'console errors');
  assert.deepEqual(failedRequests, [], 'failed requests');
  assert.deepEqual(foreignRequests, [], 'requests to non-local hosts');
});
