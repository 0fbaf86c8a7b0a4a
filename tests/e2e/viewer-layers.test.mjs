// The layer panel: the department > theme tree, the Chinese/English switch, opacity, draw
// order and the metadata view, all driven from the keyboard where a user would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { getJson, writeArtifact } from './helpers.mjs';
import { launch, openViewer, mapSettled, waitReady } from './browser.mjs';

let browser;
let page;
let problems;
let catalog;

before(async () => {
  catalog = await getJson('/api/layers');
  browser = await launch();
  ({ page, problems } = await openViewer(browser));
});

after(async () => {
  await browser?.close();
});

test('the layer tree groups layers by department and then by theme, in Chinese by default', async () => {
  const tree = await page.evaluate(() => [...document.querySelectorAll('#layer-groups .dept-group')].map((d) => ({
    dept: d.querySelector('h3').textContent,
    themes: [...d.querySelectorAll('.theme-group')].map((t) => ({
      theme: t.querySelector('h4').textContent,
      layers: [...t.querySelectorAll('.layer-row')].map((r) => r.dataset.layer),
    })),
  })));
  const seen = new Set();
  for (const { dept, themes } of tree) {
    for (const { theme, layers } of themes) {
      for (const id of layers) {
        const layer = catalog.find((l) => l.id === id);
        assert.ok(layer, `panel lists unknown layer ${id}`);
        assert.equal(dept, layer.department_name_zh, `${id} is under department ${dept}`);
        assert.equal(theme, layer.theme_name_zh, `${id} is under theme ${theme}`);
        seen.add(id);
      }
    }
  }
  assert.deepEqual([...seen].sort(), catalog.map((l) => l.id).sort(), 'every catalog layer once');
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
});

test('the English button switches names to English and the choice survives a reload', async () => {
  await page.locator('#lang-toggle').focus();
  await page.keyboard.press('Enter');
  const dltb = catalog.find((l) => l.id === 'dltb');
  assert.equal(await page.locator('.layer-row[data-layer="dltb"] .layer-title').textContent(), dltb.title_en);
  const depts = await page.locator('#layer-groups h3').allTextContents();
  assert.deepEqual(depts.sort(), [...new Set(catalog.map((l) => l.department_name_en))].sort());
  assert.equal(await page.locator('#layers-heading').textContent(), 'Layers');
  const landClasses = await getJson('/api/land-classes');
  const cultivated = landClasses.find((c) => c.code === '01');
  assert.ok((await page.locator('#legend-body').innerText()).includes(`01 ${cultivated.name_en}`), 'legend not in English');
  writeArtifact('viewer-english.png', await page.screenshot());

  await page.reload({ waitUntil: 'load' });
  await waitReady(page);
  assert.equal(await page.locator('.layer-row[data-layer="dltb"] .layer-title').textContent(), dltb.title_en,
    'English was not kept after reloading');
  assert.equal(await page.locator('#lang-toggle').textContent(), '中文');
  await page.locator('#lang-toggle').click();
  assert.equal(await page.locator('.layer-row[data-layer="dltb"] .layer-title').textContent(), dltb.title_zh);
  assert.equal(await page.evaluate(() => localStorage.getItem('onemap.lang')), 'zh');
});

test('the opacity slider, moved with arrow keys, scales the layer\'s paint opacity', async () => {
  const slider = page.locator('input.opacity-slider[data-layer="reserve_zones"]');
  assert.equal(await page.getByLabel('不透明度').count() >= catalog.length, true, 'opacity sliders are not labelled');
  await slider.focus();
  for (let i = 0; i < 10; i += 1) await page.keyboard.press('ArrowLeft'); // 100 % - 10 * 5 %
  assert.equal(await slider.inputValue(), '50');
  const paint = await page.evaluate(() => ({
    fill: window.onemap.map.getPaintProperty('reserve_zones-fill', 'fill-opacity'),
    line: window.onemap.map.getPaintProperty('reserve_zones-outline', 'line-opacity'),
  }));
  const style = await getJson('/style.json');
  const baseFill = style.layers.find((l) => l.id === 'reserve_zones-fill').paint['fill-opacity'] ?? 1;
  assert.ok(Math.abs(paint.fill - baseFill * 0.5) < 1e-9, `fill-opacity ${paint.fill}, base ${baseFill}`);
  assert.ok(Math.abs(paint.line - 0.5) < 1e-9, `line-opacity ${paint.line}`);

  // A zoom curve (dltb's outline) keeps its zoom input and gets its outputs scaled.
  const dltbSlider = page.locator('input.opacity-slider[data-layer="dltb"]');
  await dltbSlider.focus();
  await page.keyboard.press('Home');
  await mapSettled(page);
  const dltb = await page.evaluate(() => ({
    fill: window.onemap.map.getPaintProperty('dltb-fill', 'fill-opacity'),
    outline: window.onemap.map.getPaintProperty('dltb-outline', 'line-opacity'),
  }));
  assert.equal(dltb.fill, 0);
  assert.equal(dltb.outline[0], 'interpolate');
  assert.deepEqual(dltb.outline.slice(3).filter((_, i) => i % 2 === 1), [0, 0]);
  writeArtifact('viewer-dltb-transparent.png', await page.screenshot());
  await page.keyboard.press('End');
  const dltbBase = style.layers.find((l) => l.id === 'dltb-fill').paint['fill-opacity'] ?? 1;
  assert.equal(await page.evaluate(() => window.onemap.map.getPaintProperty('dltb-fill', 'fill-opacity')), dltbBase);
});

/** Catalog ids in the main map's draw order, topmost first. */
const drawOrder = () => page.evaluate(() => {
  const ids = [];
  for (const l of window.onemap.map.getStyle().layers.slice().reverse()) {
    const id = l.metadata?.['onemap:layer'];
    if (id && !ids.includes(id)) ids.push(id);
  }
  return ids;
});

test('move up and move down change the draw order, and the bottom layer cannot move further down', async () => {
  const before = await drawOrder();
  const bottom = before.at(-1);
  const abovePosition = before.length - 2;
  const down = page.locator(`button.move-down[data-layer="${bottom}"]`);
  assert.equal(await down.isDisabled(), true, `${bottom} is at the bottom but can move down`);
  await page.locator(`button.move-up[data-layer="${bottom}"]`).focus();
  await page.keyboard.press('Enter');
  const after = await drawOrder();
  assert.equal(after[abovePosition], bottom, `${bottom} did not move up: ${after}`);
  assert.equal(after.at(-1), before[abovePosition]);
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.layer), bottom, 'focus left the moved layer');
  // Every geometry style layer of a catalog layer stays together (fill right under its
  // outline); the labels stay above them all, in the same order.
  const styled = await page.evaluate(() => window.onemap.map.getStyle().layers
    .filter((l) => l.metadata?.['onemap:layer']).map((l) => ({ id: l.metadata['onemap:layer'], label: l.type === 'symbol' })));
  const styleIds = styled.filter((l) => !l.label).map((l) => l.id);
  const runs = styleIds.filter((id, i) => id !== styleIds[i - 1]);
  assert.equal(new Set(runs).size, runs.length, `a layer's style layers were split: ${styleIds}`);
  const firstLabel = styled.findIndex((l) => l.label);
  assert.ok(styled.slice(firstLabel).every((l) => l.label), 'a geometry layer above a label');
  assert.deepEqual(styled.slice(firstLabel).map((l) => l.id), runs.filter((id) => styled.some((l) => l.label && l.id === id)));
  await page.locator(`button.move-down[data-layer="${bottom}"]`).click();
  assert.deepEqual(await drawOrder(), before);
});

test('the metadata view shows owner, versions, source file, feature count and last update', async () => {
  const dltb = catalog.find((l) => l.id === 'dltb');
  const latest = dltb.versions[0];
  const details = page.locator('details.layer-info[data-layer="dltb"]');
  await details.locator('summary').focus();
  await page.keyboard.press('Enter');
  const text = await details.innerText();
  assert.ok(text.includes(dltb.department_name_zh), `no owner in:\n${text}`);
  for (const v of dltb.versions) assert.ok(text.includes(v.label), `version ${v.label} missing`);
  assert.ok(text.includes(latest.source_file), `no source file ${latest.source_file}`);
  assert.ok(text.includes(latest.feature_count.toLocaleString('zh-CN')), `no feature count ${latest.feature_count}`);
  const updated = new Date(latest.ingested_at);
  assert.ok(text.includes(String(updated.getFullYear())) && /更新时间/.test(text), `no last update:\n${text}`);
  writeArtifact('viewer-metadata.png', await page.screenshot());
});

test('every control in the panel has an accessible name', async () => {
  const unnamed = await page.evaluate(() => [...document.querySelectorAll('#panel input, #panel button, #panel select, #panel-toggle')]
    .filter((n) => !n.closest('[hidden]'))
    .filter((n) => !(n.labels?.length || n.getAttribute('aria-label') || (n.tagName === 'BUTTON' && n.textContent.trim())))
    .map((n) => n.outerHTML.slice(0, 120)));
  assert.deepEqual(unnamed, []);
});

test('the layer panel raised no page error and made no request outside localhost', () => {
  assert.deepEqual(problems, { pageErrors: [], consoleErrors: [], failedRequests: [], foreignRequests: [] });
});
