// Opening the viewer in Debian's headless Chromium for the viewer*.test.mjs files: one
// browser per file, pages that record errors and every request that leaves the machine.
import { chromium } from 'playwright-core';
import { BASE } from './helpers.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const READY_TIMEOUT_MS = 120_000;
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1', new URL(BASE).hostname]);

export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/**
 * A new page (in its own context, so storage and cache start empty unless `context` is given)
 * with the viewer loaded and `window.onemap.ready` settled. `problems` collects page errors,
 * console errors, failed and foreign requests.
 */
export async function openViewer(browser, { viewport = { width: 1280, height: 800 }, context } = {}) {
  const ctx = context ?? await browser.newContext({ viewport });
  const page = await ctx.newPage();
  const problems = { pageErrors: [], consoleErrors: [], failedRequests: [], foreignRequests: [] };
  page.on('pageerror', (err) => problems.pageErrors.push(err.stack ?? String(err)));
  page.on('console', (msg) => { if (msg.type() === 'error') problems.consoleErrors.push(msg.text()); });
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (['data:', 'blob:'].includes(url.protocol)) return;
    if (!LOCAL_HOSTS.has(url.hostname)) problems.foreignRequests.push(req.url());
  });
  page.on('requestfailed', (req) => {
    // Tiles a year switch or a closed comparison made obsolete are cancelled on purpose.
    if (req.failure()?.errorText === 'net::ERR_ABORTED' && /\/tiles\//.test(req.url())) return;
    problems.failedRequests.push(`${req.url()}: ${req.failure()?.errorText}`);
  });
  page.on('response', (res) => { if (res.status() >= 400) problems.failedRequests.push(`${res.url()}: ${res.status()}`); });
  await page.goto(`${BASE}/`, { waitUntil: 'load' });
  await waitReady(page);
  return { page, context: ctx, problems };
}

/** Waits for `window.onemap.ready` (after a navigation or reload). */
export async function waitReady(page) {
  await page.waitForFunction(() => window.onemap?.ready instanceof Promise, null, { timeout: 30_000 });
  await page.evaluate((ms) => Promise.race([
    window.onemap.ready,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`window.onemap.ready not settled after ${ms} ms`)), ms)),
  ]), READY_TIMEOUT_MS);
}

/** Waits until the main map (and the comparison map, if open) have no pending tiles or moves. */
export const mapSettled = (page) => page.waitForFunction(() => {
  const maps = [window.onemap.map, window.onemap.compare?.map].filter(Boolean);
  return maps.every((m) => m.loaded() && !m.isMoving() && m.areTilesLoaded());
}, null, { timeout: 60_000, polling: 100 });
