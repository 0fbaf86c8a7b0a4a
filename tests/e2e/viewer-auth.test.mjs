// Signing in: two users of different departments see different restricted layers, the public
// sees neither, and signing out takes them away again. Users and access levels are set with
// the `onemap` CLI against the demo's database: ONEMAP_BIN (the binary) and ONEMAP_DATA_DIR
// (the demo's --data-dir) must be given, or DATABASE_URL; without them these tests are skipped.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getJson, writeArtifact } from './helpers.mjs';
import { launch, openViewer, waitReady } from './browser.mjs';

const BIN = process.env.ONEMAP_BIN;
const DATA_DIR = process.env.ONEMAP_DATA_DIR;
const skip = !BIN || !(DATA_DIR || process.env.DATABASE_URL)
  ? 'set ONEMAP_BIN and ONEMAP_DATA_DIR (the demo server\'s binary and --data-dir) to create users' : false;

const onemap = (...args) => execFileSync(BIN, [...(DATA_DIR ? ['--data-dir', DATA_DIR] : []), ...args], { encoding: 'utf8' });

// hydropower belongs to the water bureau (sw), the ecological red line to ecology (sthj).
const LAYERS = { sw: 'hydropower', sthj: 'ecological_red_line' };
const run = Date.now().toString(36);
const USERS = {
  sw: { name: `e2e_sw_${run}`, password: `pw-sw-${run}` },
  sthj: { name: `e2e_sthj_${run}`, password: `pw-sthj-${run}` },
};
let browser;
let original = {};
const problemsSeen = [];

before(async () => {
  if (skip) return;
  const catalog = await getJson('/api/layers');
  for (const id of Object.values(LAYERS)) {
    const layer = catalog.find((l) => l.id === id);
    assert.ok(layer, `demo layer ${id} missing`);
    original[id] = layer.access_level;
  }
  for (const [dept, u] of Object.entries(USERS)) {
    onemap('user', 'add', u.name, '--department', dept, '--role', 'viewer', '--password', u.password);
  }
  for (const id of Object.values(LAYERS)) onemap('layers', 'set-access', id, 'restricted');
  // The server reloads its catalog on NOTIFY: wait until the public no longer sees them.
  for (let i = 0; i < 100; i += 1) {
    const ids = (await getJson('/api/layers')).map((l) => l.id);
    if (!Object.values(LAYERS).some((id) => ids.includes(id))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await launch();
});

after(async () => {
  await browser?.close();
  if (skip) return;
  // The other test files expect the demo's access levels back.
  for (const [id, level] of Object.entries(original)) onemap('layers', 'set-access', id, level ?? 'public');
  for (const u of Object.values(USERS)) {
    try { onemap('user', 'disable', u.name); } catch { /* best effort */ }
  }
});

const layerIds = (page) => page.evaluate(() => window.onemap.layers.catalog.map((l) => l.id));
const sourceIds = (page) => page.evaluate(() => Object.keys(window.onemap.map.getStyle().sources));

async function signIn(page, { name, password }) {
  await page.fill('#login-name', name);
  await page.fill('#login-password', password);
  await Promise.all([page.waitForEvent('load'), page.locator('#login-submit').click()]);
  await waitReady(page);
}

async function signOut(page) {
  await Promise.all([page.waitForEvent('load'), page.locator('#logout').click()]);
  await waitReady(page);
}

test('the public sees neither restricted layer', { skip }, async () => {
  const { page, context, problems } = await openViewer(browser);
  problemsSeen.push(problems);
  const ids = await layerIds(page);
  for (const id of Object.values(LAYERS)) {
    assert.ok(!ids.includes(id), `${id} shown to the public`);
    assert.equal(await page.locator(`input[type=checkbox][data-layer="${id}"]`).count(), 0);
  }
  assert.equal(await page.locator('#login-form').isVisible(), true);
  await context.close();
});

test('two departments signed in see different layers, and signing out takes them away', { skip }, async () => {
  const { page, context, problems } = await openViewer(browser);
  problemsSeen.push(problems);
  await page.evaluate(() => window.onemap.map.jumpTo({ center: [101.2, 38.5], zoom: 9 }));

  // A wrong password says so and changes nothing.
  await page.fill('#login-name', USERS.sw.name);
  await page.fill('#login-password', 'not-the-password');
  await page.locator('#login-submit').click();
  await page.waitForFunction(() => document.getElementById('login-status').textContent.length > 0);
  assert.match(await page.locator('#login-status').textContent(), /用户名或密码错误|Wrong name or password/);
  problems.failedRequests = problems.failedRequests.filter((r) => !/\/api\/login: 401$/.test(r));
  // Chromium logs every 4xx to the console; this one was asked for.
  problems.consoleErrors = problems.consoleErrors.filter((m) => !/status of 401/.test(m));

  const seen = {};
  for (const dept of ['sw', 'sthj']) {
    await signIn(page, USERS[dept]);
    const ids = await layerIds(page);
    seen[dept] = ids;
    assert.ok(ids.includes(LAYERS[dept]), `${dept} does not see its own ${LAYERS[dept]}`);
    const otherDept = dept === 'sw' ? 'sthj' : 'sw';
    assert.ok(!ids.includes(LAYERS[otherDept]), `${dept} sees ${LAYERS[otherDept]}`);
    assert.ok((await sourceIds(page)).includes(LAYERS[dept]), 'the style has no source for the layer');
    assert.equal(await page.locator(`input[type=checkbox][data-layer="${LAYERS[dept]}"]`).count(), 1);
    assert.match(await page.locator('#account-user').textContent(), new RegExp(USERS[dept].name));
    assert.equal(await page.locator('#logout').isVisible(), true);
    // The camera survived the reload.
    const c = await page.evaluate(() => window.onemap.map.getCenter().toArray());
    assert.ok(Math.hypot(c[0] - 101.2, c[1] - 38.5) < 1e-6, `camera lost: ${c}`);
    // The restricted layer's tiles arrive (credentials on MapLibre's requests too).
    const tile = await page.evaluate(async (id) => {
      const map = window.onemap.map;
      await new Promise((r) => { if (map.isSourceLoaded(id)) r(); else map.on('sourcedata', (e) => { if (e.sourceId === id && map.isSourceLoaded(id)) r(); }); });
      return map.querySourceFeatures(id, { sourceLayer: id }).length;
    }, LAYERS[dept]);
    assert.ok(tile > 0, `no ${LAYERS[dept]} feature loaded for ${dept}`);
    writeArtifact(`viewer-signed-in-${dept}.png`, await page.screenshot());
    await signOut(page);
    const after = await layerIds(page);
    assert.ok(!after.includes(LAYERS[dept]), `${LAYERS[dept]} still shown after signing out`);
    assert.equal(await page.locator('#login-form').isVisible(), true);
  }
  assert.notDeepEqual(seen.sw.sort(), seen.sthj.sort());
  await context.close();
});

test('the keyboard reaches the sign-in form from the top of the page, signs in and out', { skip }, async () => {
  const { page, context, problems } = await openViewer(browser);
  problemsSeen.push(problems);
  // Tab from the top: "Skip to map", then "Sign in", which lands in the name field.
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'skip-to-login');
  assert.equal(await page.locator('#skip-to-login').isVisible(), true, 'the focused skip link shows');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'login-name');
  await page.keyboard.type(USERS.sthj.name);
  await page.keyboard.press('Tab');
  await page.keyboard.type(USERS.sthj.password);
  await Promise.all([page.waitForEvent('load'), page.keyboard.press('Enter')]);
  await waitReady(page);
  assert.ok((await layerIds(page)).includes(LAYERS.sthj), 'signed in by keyboard, the layer tree shows sthj\'s layer');
  // Signed in, the same link leads to "Sign out".
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  assert.match(await page.locator('#skip-to-login').textContent(), /退出登录|Sign out/);
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'logout');
  await Promise.all([page.waitForEvent('load'), page.keyboard.press('Enter')]);
  await waitReady(page);
  assert.ok(!(await layerIds(page)).includes(LAYERS.sthj), 'signed out by keyboard');
  // The session is over on the server too: the browser holds no session cookie any more.
  const cookies = (await context.cookies()).map((c) => c.name);
  assert.ok(!cookies.includes('onemap_session'), `cookies left: ${cookies}`);
  await context.close();
});

test('too many failed sign-ins show how long to wait', { skip }, async () => {
  // Its own server on the demo's database: the failures block sign-ins from this address on
  // that server only (the limit is kept in memory per server), not on the one the other
  // tests use.
  const viewerDir = fileURLToPath(new URL('../../viewer/', import.meta.url));
  const server = spawn(BIN, [...(DATA_DIR ? ['--data-dir', DATA_DIR] : []), 'serve', '--listen', '127.0.0.1:0',
    '--viewer-dir', viewerDir, '--pool-size', '4'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise((resolve, reject) => {
      let out = '';
      server.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/ready at (http:\/\/\S+?)\/?\s/);
        if (m) resolve(m[1]);
      });
      server.on('exit', (code) => reject(new Error(`onemap serve exited with ${code}: ${out}`)));
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${url}/`, { waitUntil: 'load' });
    await waitReady(page);
    const attempt = async () => {
      await page.fill('#login-name', USERS.sw.name);
      await page.fill('#login-password', 'not-the-password');
      const answer = page.waitForResponse((r) => r.url().endsWith('/api/login'));
      await page.locator('#login-submit').click();
      return (await answer).status();
    };
    for (let i = 0; i < 5; i += 1) assert.equal(await attempt(), 401);
    assert.equal(await attempt(), 429);
    await page.waitForFunction(() => /\d/.test(document.getElementById('login-status').textContent));
    const text = await page.locator('#login-status').textContent();
    const m = text.match(/请 (\d+) 秒后再试|try again in (\d+) s/);
    assert.ok(m, `no wait time in ${JSON.stringify(text)}`);
    const wait = Number(m[1] ?? m[2]);
    assert.ok(wait > 200 && wait <= 300, `wait ${wait} s (5 minutes from the first failure)`);
    // It counts down.
    await page.waitForFunction((w) => !document.getElementById('login-status').textContent.includes(String(w)), wait, { timeout: 5000 });
    writeArtifact('viewer-sign-in-throttled.png', await page.screenshot());
    await context.close();
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => { if (server.exitCode !== null) r(); else server.on('exit', r); });
  }
});

test('signing in and out raised no page error and made no request outside localhost', { skip }, () => {
  for (const p of problemsSeen) {
    assert.deepEqual(p, { pageErrors: [], consoleErrors: [], failedRequests: [], foreignRequests: [] });
  }
});
