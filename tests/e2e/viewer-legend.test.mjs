// The legend read from the style: each non-land-use layer's glyph in the layer panel has the
// colour the map paints that layer with, and the land-use legend lists every GB/T 21010 class
// in the colour of its class (the colours the style's land-use fill uses), shown only while a
// land-use layer is.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { getJson, writeArtifact } from './helpers.mjs';
import { launch, openViewer } from './browser.mjs';

let browser;
let page;
let problems;
let catalog;
let landClasses;

before(async () => {
  [catalog, landClasses] = await Promise.all([getJson('/api/layers'), getJson('/api/land-classes')]);
  browser = await launch();
  ({ page, problems } = await openViewer(browser));
});

after(async () => {
  await browser?.close();
});

/** '#1b7837' -> 'rgb(27, 120, 55)', as getComputedStyle writes colours. */
const rgb = (hex) => {
  const n = parseInt(hex.slice(1), 16);
  return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
};

test('each layer\'s glyph in the panel has the colour the style paints the layer with', async () => {
  const rows = await page.evaluate((ids) => ids.map((id) => {
    const map = window.onemap.map;
    const styleIds = window.onemap.layers.styleLayers.get(id) ?? [];
    const prop = { fill: 'fill-color', line: 'line-color', circle: 'circle-color' };
    const painted = styleIds.map((s) => map.getLayer(s)).filter((l) => prop[l?.type])
      .map((l) => map.getPaintProperty(l.id, prop[l.type])).find((v) => typeof v === 'string') ?? null;
    const glyph = document.getElementById(`layer-toggle-${id}`)?.closest('.layer-row')?.querySelector('.geom');
    return { id, painted, glyph: glyph ? getComputedStyle(glyph).getPropertyValue('--layer-color').trim() : null };
  }), catalog.filter((l) => !l.class_field).map((l) => l.id));
  assert.ok(rows.length >= 5, `only ${rows.length} non-land-use layers`);
  for (const r of rows) {
    assert.ok(r.painted, `${r.id}: the style paints it with no plain colour`);
    assert.equal(r.glyph, r.painted, `${r.id}: panel glyph ${r.glyph}, map colour ${r.painted}`);
  }
});

test('the land-use legend lists every first-level class in its GB/T 21010 colour, nested classes too', async () => {
  assert.equal(await page.locator('#legend').isHidden(), false, 'legend hidden while dltb is shown');
  const items = await page.$$eval('#legend-body .legend-class', (spans) => spans.map((s) => ({
    text: s.textContent, colour: s.querySelector('.swatch') ? getComputedStyle(s.querySelector('.swatch')).backgroundColor : null,
  })));
  for (const cls of landClasses.filter((c) => c.level === 1)) {
    const item = items.find((i) => i.text.startsWith(`${cls.code} `));
    assert.ok(item, `class ${cls.code} ${cls.name_zh} missing from the legend`);
    assert.ok(item.text.includes(cls.name_zh), item.text);
    assert.equal(item.colour, rgb(cls.color), `${cls.code}: legend ${item.colour}, class colour ${cls.color}`);
  }
  // Second-level classes sit under their first-level one, each in its own colour.
  const sub = landClasses.find((c) => c.level === 2 && c.parent);
  const nested = items.find((i) => i.text.startsWith(`${sub.code} `));
  assert.equal(nested?.colour, rgb(sub.color), `${sub.code} nested in the legend`);
  writeArtifact('viewer-legend.png', await page.locator('#legend').screenshot());

  // Hiding every land-use layer hides the land-use legend.
  const landUse = catalog.filter((l) => l.class_field).map((l) => l.id);
  for (const id of landUse) await page.locator(`#layer-toggle-${id}`).uncheck();
  assert.equal(await page.locator('#legend').isHidden(), true);
  for (const id of landUse) await page.locator(`#layer-toggle-${id}`).check();
  assert.equal(await page.locator('#legend').isHidden(), false);
});

test('the legend page raised no page error and made no request outside localhost', () => {
  assert.deepEqual(problems, { pageErrors: [], consoleErrors: [], failedRequests: [], foreignRequests: [] });
});
