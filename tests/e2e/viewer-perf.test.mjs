// Performance budgets of the viewer (issue 6): first map paint under 2 s on localhost with the
// demo data, and all JavaScript the page loads (our modules, MapLibre and its worker) under
// 1.5 MB gzipped. Each page load starts with an empty cache. Results go to
// artifacts/viewer-perf.json.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { get, writeArtifact } from './helpers.mjs';
import { launch, openViewer } from './browser.mjs';

const FIRST_PAINT_BUDGET_MS = 2000;
const BUNDLE_BUDGET_BYTES = 1_500_000;
const RUNS = 3;

let browser;
const report = { runs: [] };
const scripts = new Set();

before(async () => {
  browser = await launch();
});

after(async () => {
  writeArtifact('viewer-perf.json', report);
  await browser?.close();
});

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

test(`the first land-use parcels are painted within ${FIRST_PAINT_BUDGET_MS} ms of navigation (median of ${RUNS} cold loads)`, async () => {
  for (let i = 0; i < RUNS; i += 1) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.on('response', (res) => {
      const type = res.request().resourceType();
      if (type === 'script' || /\.m?js(\?|$)/.test(new URL(res.url()).pathname)) scripts.add(res.url());
    });
    const { page, problems } = await openViewer(browser, { context });
    const t = await page.evaluate(() => ({
      ...window.onemap.timings,
      domContentLoaded: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
    }));
    report.runs.push(t);
    if (i === 0) writeArtifact('viewer-first-paint.png', await page.screenshot());
    assert.deepEqual(problems.pageErrors, []);
    assert.ok(Number.isFinite(t.firstParcels), `no parcel was painted: ${JSON.stringify(t)}`);
    await context.close();
  }
  report.firstParcelsMedianMs = Math.round(median(report.runs.map((r) => r.firstParcels)));
  report.firstIdleMedianMs = Math.round(median(report.runs.map((r) => r.firstIdle)));
  assert.ok(report.firstParcelsMedianMs < FIRST_PAINT_BUDGET_MS,
    `first parcels painted after ${report.firstParcelsMedianMs} ms (runs: ${JSON.stringify(report.runs)})`);
});

test('all JavaScript the page loads, MapLibre and its worker included, is under 1.5 MB gzipped', async () => {
  assert.ok(scripts.size > 0, 'the first test recorded no script');
  const files = [];
  for (const url of scripts) {
    const path = new URL(url).pathname + new URL(url).search;
    const res = await get(path);
    assert.equal(res.status, 200, path);
    const body = new Uint8Array(await res.arrayBuffer());
    files.push({ path, bytes: body.length, gzip: gzipSync(body).length });
  }
  files.sort((a, b) => b.gzip - a.gzip);
  const total = files.reduce((s, f) => s + f.gzip, 0);
  report.bundle = { totalGzipBytes: total, totalBytes: files.reduce((s, f) => s + f.bytes, 0), files };
  const paths = files.map((f) => f.path);
  for (const needed of ['/src/main.js', '/vendor/maplibre-gl/maplibre-gl.mjs']) {
    assert.ok(paths.includes(needed), `${needed} not counted: ${paths}`);
  }
  assert.ok(paths.some((p) => p.includes('maplibre-gl-worker')), `the MapLibre worker was not counted: ${paths}`);
  assert.ok(total < BUNDLE_BUDGET_BYTES, `JavaScript is ${total} bytes gzipped: ${JSON.stringify(files)}`);
});
