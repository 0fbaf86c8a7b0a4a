// The change-parcel layer between the two compared years: ticking the box in the comparison
// section draws the pieces of land use that changed class between the left year (the layer's
// slider) and the right year, on the main map and on the comparison map, and follows either
// year when it changes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { getJson, writeArtifact } from './helpers.mjs';
import { launch, openViewer, mapSettled } from './browser.mjs';

let browser;
let page;
let problems;
const changeTiles = [];

before(async () => {
  browser = await launch();
  ({ page, problems } = await openViewer(browser));
  page.on('request', (req) => { if (/\/tiles\/changes\/\d+\/\d+\/\d+/.test(req.url())) changeTiles.push(new URL(req.url())); });
});

after(async () => {
  await browser?.close();
});

const FILL = 'onemap-overlay-compare-changes-fill';
const drawnOn = (which) => page.evaluate(({ w, id }) => {
  const m = w === 'second' ? window.onemap.compare.map : window.onemap.map;
  return m.getLayer(id) ? m.queryRenderedFeatures({ layers: [id] }).map((f) => f.properties) : null;
}, { w: which, id: FILL });

test('ticking the box draws the change parcels between the left and the right year, as the API lists them', async () => {
  await page.evaluate(() => window.onemap.map.jumpTo({ center: [101.15, 38.07], zoom: 10 }));
  await page.selectOption('#compare-year', '2019');
  assert.equal(await drawnOn('main'), null, 'change parcels drawn before the box was ticked');
  await page.locator('#compare-changes').check();
  await mapSettled(page);
  assert.ok(changeTiles.length > 0, 'no change tile requested');
  for (const u of changeTiles) {
    assert.deepEqual([u.searchParams.get('layer'), u.searchParams.get('from'), u.searchParams.get('to')], ['dltb', '2019', '2024'], u.href);
  }
  const drawn = await drawnOn('main');
  assert.ok(drawn.length > 0, 'no change parcel drawn in view');
  const api = await getJson('/api/changes?layer=dltb&from=2019&to=2024');
  const pairs = new Set(api.features.map((f) => `${f.properties.from_class}>${f.properties.to_class}`));
  for (const p of drawn) {
    assert.notEqual(p.from_class, p.to_class);
    assert.ok(pairs.has(`${p.from_class}>${p.to_class}`), `${p.from_class}→${p.to_class} is no change the API lists`);
  }
  assert.match(await page.locator('#compare-changes-status').innerText(), /2019→2024/);
  writeArtifact('viewer-compare-changes.png', await page.screenshot());
});

test('while comparing they show on both sides, and follow a change of the right year', async () => {
  await page.locator('#compare-toggle').click();
  await page.evaluate(() => window.onemap.compare.ready);
  await mapSettled(page);
  const second = await drawnOn('second');
  assert.ok(second?.length > 0, 'no change parcel on the comparison map');

  changeTiles.length = 0;
  await page.selectOption('#compare-year', '2023');
  await mapSettled(page);
  assert.deepEqual(await page.evaluate(() => window.onemap.compareChanges.years), [2023, 2024]);
  assert.ok(changeTiles.length > 0, 'no change tile requested for 2023→2024');
  assert.ok(changeTiles.every((u) => u.searchParams.get('from') === '2023' && u.searchParams.get('to') === '2024'), changeTiles.map((u) => u.search).join(' '));
  writeArtifact('viewer-compare-changes-swipe.png', await page.screenshot());

  // The same year on both sides has no change to show.
  await page.selectOption('#compare-year', '2024');
  assert.equal(await page.evaluate(() => window.onemap.compareChanges.years), null);
  assert.equal(await drawnOn('main'), null);
  assert.match(await page.locator('#compare-changes-status').innerText(), /年份相同/);

  await page.selectOption('#compare-year', '2019');
  await page.locator('#compare-changes').uncheck();
  assert.equal(await drawnOn('main'), null);
  assert.equal(await drawnOn('second'), null);
  await page.locator('#compare-toggle').click();
  assert.equal(await page.evaluate(() => window.onemap.compare.map), null);
});

test('the change-parcel layer raised no page error and made no request outside localhost', () => {
  assert.deepEqual(problems, { pageErrors: [], consoleErrors: [], failedRequests: [], foreignRequests: [] });
});
