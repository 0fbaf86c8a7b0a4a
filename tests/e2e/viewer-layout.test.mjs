// Accessibility and layout: the page works on a 1280×800 laptop and a 1024×768 tablet (and one
// held upright, 768×1024), the
// side panel collapses to give the map the room, keyboard focus is always visible, and the
// chart palette stays distinguishable for colour-blind readers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeArtifact } from './helpers.mjs';
import { launch, openViewer } from './browser.mjs';
import { CHART_PALETTE } from '../../viewer/src/palette.js';

let browser;
const problemsSeen = [];

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

const layout = (page) => page.evaluate(() => {
  const box = (sel) => {
    const r = document.querySelector(sel)?.getBoundingClientRect();
    return r ? { x: r.x, width: r.width, height: r.height } : null;
  };
  const panel = document.getElementById('panel');
  return {
    panel: panel.offsetParent ? box('#panel') : null,
    panelOverflowX: panel.scrollWidth - panel.clientWidth,
    canvas: box('#map canvas'),
    mapWidth: window.onemap.map.getCanvas().clientWidth,
    expanded: document.getElementById('panel-toggle').getAttribute('aria-expanded'),
    docOverflowX: document.documentElement.scrollWidth - window.innerWidth,
  };
});

for (const { name, width, height } of [
  { name: 'laptop', width: 1280, height: 800 },
  { name: 'tablet', width: 1024, height: 768 },
]) {
  test(`on a ${width}×${height} ${name} panel and map share the screen, and the panel collapses`, async () => {
    const { page, context, problems } = await openViewer(browser, { viewport: { width, height } });
    problemsSeen.push(problems);
    const open = await layout(page);
    assert.ok(open.panel && open.panel.width >= 240, `panel ${JSON.stringify(open.panel)}`);
    assert.ok(open.mapWidth >= width - open.panel.width - 2, `map ${open.mapWidth} px beside a ${open.panel.width} px panel`);
    assert.ok(open.mapWidth >= 700, `map only ${open.mapWidth} px wide`);
    assert.ok(open.panelOverflowX <= 0, `panel scrolls sideways by ${open.panelOverflowX} px`);
    assert.ok(open.docOverflowX <= 0, 'page scrolls sideways');
    assert.equal(open.expanded, 'true');
    writeArtifact(`viewer-${name}.png`, await page.screenshot());

    await page.locator('#panel-toggle').focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction((w) => window.onemap.map.getCanvas().clientWidth >= w - 2, width);
    const closed = await layout(page);
    assert.equal(closed.panel, null, 'panel still shown');
    assert.equal(closed.expanded, 'false');
    assert.equal(await page.locator('#panel-toggle').getAttribute('aria-label'), '展开侧栏');
    writeArtifact(`viewer-${name}-collapsed.png`, await page.screenshot());
    await page.keyboard.press('Enter');
    assert.equal((await layout(page)).expanded, 'true');
    await context.close();
  });
}

test('on a 768×1024 tablet held upright the map opens full width, and the panel opens beside it', async () => {
  const { page, context, problems } = await openViewer(browser, { viewport: { width: 768, height: 1024 } });
  problemsSeen.push(problems);
  const start = await layout(page);
  assert.equal(start.panel, null, 'the panel takes room from the map on a narrow screen');
  assert.equal(start.expanded, 'false');
  assert.ok(start.mapWidth >= 766, `map only ${start.mapWidth} px wide`);
  assert.ok(start.docOverflowX <= 0, 'page scrolls sideways');
  writeArtifact('viewer-tablet-portrait.png', await page.screenshot());
  await page.locator('#panel-toggle').focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('panel').offsetParent !== null);
  const open = await layout(page);
  assert.ok(open.panel.width >= 240, `panel ${JSON.stringify(open.panel)}`);
  assert.ok(open.mapWidth >= 768 - open.panel.width - 2, `map ${open.mapWidth} px beside a ${open.panel.width} px panel`);
  assert.ok(open.panelOverflowX <= 0 && open.docOverflowX <= 0, 'something scrolls sideways');
  // The trends results fit over the narrowed map.
  await page.evaluate(() => window.onemap.trends.setZone({ layer: 'reserve_zones', key: '1', fid: 1, name: '核心区' }));
  const results = await page.evaluate(() => {
    const r = document.getElementById('trends-results').getBoundingClientRect();
    const m = document.getElementById('map-area').getBoundingClientRect();
    return { left: r.left, right: r.right, mapLeft: m.left, mapRight: m.right };
  });
  assert.ok(results.left >= results.mapLeft && results.right <= results.mapRight, JSON.stringify(results));
  writeArtifact('viewer-tablet-portrait-panel.png', await page.screenshot());
  await context.close();
});

test('tabbing through the panel reaches its controls in order, each with a visible focus ring', async () => {
  const { page, context, problems } = await openViewer(browser);
  problemsSeen.push(problems);
  const visited = [];
  for (let i = 0; i < 14; i += 1) {
    await page.keyboard.press('Tab');
    visited.push(await page.evaluate(() => {
      const n = document.activeElement;
      const cs = getComputedStyle(n);
      return {
        id: n.id || n.dataset.layer || n.tagName,
        tag: n.tagName,
        outline: cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 1,
        inPanel: !!n.closest('#panel') || n.id === 'panel-toggle' || n.classList.contains('skip-link'),
      };
    }));
  }
  assert.equal(visited[0].id, 'A', 'first stop should be the skip link');
  // Then the second skip link (to the sign-in form), and the panel from its top.
  assert.deepEqual(visited.slice(1, 5).map((v) => v.id), ['skip-to-login', 'lang-toggle', 'search-input', 'BUTTON']);
  assert.ok(visited.some((v) => v.tag === 'INPUT' && v.id !== 'search-input'), 'no layer control reached');
  assert.deepEqual(visited.filter((v) => !v.outline), [], 'focused without a visible outline');
  assert.ok(visited.every((v) => v.inPanel), 'focus left the panel early');
  await context.close();
});

test('the skip link takes keyboard users straight to the map', async () => {
  const { page, context, problems } = await openViewer(browser);
  problemsSeen.push(problems);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('href')), '#map');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains('maplibregl-canvas')), true,
    'the map canvas did not get the focus');
  // Arrow keys now pan the map (MapLibre's keyboard handler).
  const before = await page.evaluate(() => window.onemap.map.getCenter().lng);
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction((b) => !window.onemap.map.isMoving() && window.onemap.map.getCenter().lng > b, before);
  await context.close();
});

// Machado, Oliveira & Fernandes (2009) dichromacy simulation, severity 1, on linear sRGB.
const CVD = {
  protanopia: [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
  deuteranopia: [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
  tritanopia: [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
};
const linear = (c) => { const v = c / 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
const hexRgb = (h) => [1, 3, 5].map((i) => linear(parseInt(h.slice(i, i + 2), 16)));
function lab([r, g, b]) {
  const f = (t) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  const x = f((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047);
  const y = f(0.2126 * r + 0.7152 * g + 0.0722 * b);
  const z = f((0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883);
  return [116 * y - 16, 500 * (x - y), 200 * (y - z)];
}

test('every pair of chart colours stays at least 15 ΔE apart for protan, deutan and tritan readers', () => {
  assert.equal(CHART_PALETTE.length, 8);
  for (const [kind, m] of Object.entries(CVD)) {
    const seen = CHART_PALETTE.map((h) => {
      const c = hexRgb(h);
      return lab(m.map((row) => Math.min(1, Math.max(0, row[0] * c[0] + row[1] * c[1] + row[2] * c[2]))));
    });
    for (let i = 0; i < seen.length; i += 1) {
      for (let j = i + 1; j < seen.length; j += 1) {
        const dE = Math.hypot(...seen[i].map((v, k) => v - seen[j][k]));
        assert.ok(dE >= 15, `${kind}: ${CHART_PALETTE[i]} and ${CHART_PALETTE[j]} only ${dE.toFixed(1)} ΔE apart`);
      }
    }
  }
  // The check has teeth: a red/green pair collapses for deuteranopes.
  const [r, g] = ['#D62728', '#2CA02C'].map((h) => { const c = hexRgb(h); return lab(CVD.deuteranopia.map((row) => Math.min(1, Math.max(0, row[0] * c[0] + row[1] * c[1] + row[2] * c[2])))); });
  assert.ok(Math.hypot(...r.map((v, k) => v - g[k])) < 15);
});

test('layout and keyboard pages raised no page error and made no request outside localhost', () => {
  for (const p of problemsSeen) {
    assert.deepEqual(p, { pageErrors: [], consoleErrors: [], failedRequests: [], foreignRequests: [] });
  }
});
