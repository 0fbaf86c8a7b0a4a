// The offline viewer (/offline.html) opening a package written by `onemap export-tiles`, as a
// patrol station would: the file picked from the disk, every tile read from it in the page, no
// tile or API request to the server, land use drawn with the server's own colours.
// scripts/test writes the package and names it in ONEMAP_OFFLINE_PACKAGE.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, getJson, writeArtifact } from './helpers.mjs';
import { launch, READY_TIMEOUT_MS } from './browser.mjs';

const PACKAGE = process.env.ONEMAP_OFFLINE_PACKAGE;
const skip = PACKAGE ? false : 'ONEMAP_OFFLINE_PACKAGE (a .pmtiles from `onemap export-tiles`) is not set';

let browser;
let page;
const problems = [];
const serverRequests = [];

before(async () => {
  if (skip) return;
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', (err) => problems.push(err.stack ?? String(err)));
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(msg.text()); });
  page.on('requestfailed', (req) => problems.push(`${req.url()}: ${req.failure()?.errorText}`));
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (['data:', 'blob:'].includes(url.protocol)) return;
    if (!/^\/(offline\.html|src\/|vendor\/)/.test(url.pathname)) serverRequests.push(req.url());
  });
  await page.goto(`${BASE}/offline.html`, { waitUntil: 'load' });
  await page.setInputFiles('#offline-file', PACKAGE);
  await page.waitForFunction(() => window.onemap?.ready instanceof Promise, null, { timeout: 30_000 });
  await page.evaluate((ms) => Promise.race([
    window.onemap.ready,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`not drawn after ${ms} ms`)), ms)),
  ]), READY_TIMEOUT_MS);
});

after(async () => {
  await browser?.close();
});

test('the offline viewer draws the package land use from the file alone', { skip }, async () => {
  const rendered = await page.evaluate(() => window.onemap.map.queryRenderedFeatures({ layers: ['dltb-fill'] })
    .map((f) => f.properties.DLBM));
  assert.ok(rendered.length > 20, `only ${rendered.length} land-use features drawn`);
  assert.ok(rendered.every((code) => typeof code === 'string' && code.length > 0), 'every parcel has its DLBM');
  const status = await page.textContent('#offline-status');
  assert.match(status, /tiles/);
  await writeArtifact('viewer-offline.png', await page.screenshot());
  assert.deepEqual(serverRequests, [], 'tiles and data come from the file, not the server');
  assert.deepEqual(problems, []);
});

test('the offline viewer colours land use as the server style does', { skip }, async () => {
  const style = await getJson('/style.json');
  const online = style.layers.find((l) => l.id === 'dltb-fill');
  const offline = await page.evaluate(() => window.onemap.map.getStyle().layers.find((l) => l.id === 'dltb-fill'));
  assert.deepEqual(offline.paint['fill-color'], online.paint['fill-color']);
  assert.equal(offline['source-layer'], 'dltb');
});

test('the package names its layers and versions and covers the county', { skip }, async () => {
  const { metadata, header } = await page.evaluate(() => ({ metadata: window.onemap.metadata, header: window.onemap.header }));
  const layers = await getJson('/api/layers');
  const dltb = layers.find((l) => l.id === 'dltb');
  assert.deepEqual(metadata.vector_layers.map((l) => l.id).slice(0, 1), ['dltb']);
  const exported = metadata['onemap:versions'].find((v) => v.layer === 'dltb');
  assert.ok(dltb.versions.some((v) => v.id === exported.version));
  assert.equal(header.tileType, 1);
  assert.ok(header.maxLon > header.minLon && header.maxLat > header.minLat);
});
