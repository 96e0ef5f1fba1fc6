/**
 * The offline kiosk: after one load online, the kiosk page, its model and onnxruntime's files come from the
 * service worker (src/offline/) with the network gone — after a reload and after a browser restart — and a
 * new build or a new model version deployed later is picked up, never the old model under a new version.
 *
 * Each test serves a copy of the kiosk's build from its own server, which it stops to take the network away
 * for real (connections refused) besides setting the context offline.
 */
import { type BrowserContext, chromium, expect, type Page, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { manifest as defaultManifest, recordEvents, waitForEvent } from './helpers.ts';
import { serveBuild } from './offline/static-server.ts';

test.use({ serviceWorkers: 'allow' });

const root = resolve(import.meta.dirname, '..');
const BUILD = join(root, 'dist-e2e'); // built by the config's webServer
const model512 = JSON.parse(readFileSync(join(root, 'models', 'centernet-coco-512.json'), 'utf8'));
const hasPerson = (e: { detail: { detections: { label: string }[] } }) => e.detail.detections.some((d) => d.label === 'person');

/** A copy of the build to serve (the tests change what is deployed). */
function copyOfBuild(from = BUILD) {
  const dir = mkdtempSync(join(tmpdir(), 'kiosk-build-'));
  cpSync(from, dir, { recursive: true });
  return dir;
}

const controlled = (page: Page) => page.evaluate(() => !!navigator.serviceWorker.controller);
const cacheNames = (page: Page) => page.evaluate(() => caches.keys());
const modelCacheKeys = (page: Page) =>
  page.evaluate(async () => (await (await caches.open('ihm-models-v1')).keys()).map((r) => new URL(r.url).pathname + new URL(r.url).search));

/** Loads the kiosk online and waits until it runs and the service worker has cached the build and controls the page. */
async function firstLoad(page: Page, url: string) {
  await page.goto(url);
  await waitForEvent(page, 'inference', hasPerson, 120_000);
  await expect.poll(() => controlled(page), { timeout: 60_000 }).toBe(true);
  expect((await cacheNames(page)).filter((n) => n.startsWith('ihm-shell-'))).toHaveLength(1);
}

/** Reloads (or opens) the kiosk and returns ms to its first inference with a person in it. */
async function timeToInference(page: Page, go: () => Promise<unknown>) {
  const t0 = Date.now();
  await go();
  const first = await waitForEvent(page, 'inference', hasPerson, 120_000);
  return first.at - t0;
}

async function assertRunsOffline(page: Page, modelVersion = defaultManifest.sha256) {
  const ready = await waitForEvent(page, 'ready');
  expect(ready.detail.modelVersion).toBe(modelVersion);
  expect(await page.evaluate(() => navigator.onLine)).toBe(false);
  expect(await controlled(page)).toBe(true);
  // responses from the cache keep the isolation headers: threads still work
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  expect(ready.detail.threads).toBeGreaterThan(1);
  const tile = page.locator('[data-tile="network"]');
  await expect(tile).toContainText('offline');
  await expect(tile).toContainText('running from the offline cache');
}

test('offline: after one load online the kiosk reloads and restarts with the network gone — page, model and onnxruntime from the service worker', async ({}, testInfo) => {
  test.setTimeout(420_000);
  const server = await serveBuild(BUILD);
  const profile = mkdtempSync(join(tmpdir(), 'kiosk-offline-profile-'));
  const launch = () => chromium.launchPersistentContext(profile, { ...testInfo.project.use.launchOptions, serviceWorkers: 'allow' });
  let context: BrowserContext = await launch();
  try {
    let page = context.pages()[0] ?? (await context.newPage());
    const rec = await recordEvents(page);
    await firstLoad(page, `${server.url}/`);
    await expect(page.locator('[data-tile="network"]')).toHaveCount(0); // online: no network tile
    const shell = (await cacheNames(page)).find((n) => n.startsWith('ihm-shell-'))!;
    // the whole build the kiosk needs is cached: the page, onnxruntime's .wasm for both backends, the model
    const cached = await page.evaluate(async (name) => (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname), shell);
    expect(cached).toContain('/index.html');
    expect(cached.filter((p) => p.endsWith('.wasm'))).toHaveLength(2);
    expect(cached.some((p) => /^\/assets\/centernet-coco-.*\.onnx$/.test(p))).toBe(true);
    expect(cached.some((p) => p.startsWith('/examples/') || p.startsWith('/models/'))).toBe(false);

    // the network goes: the server stops and the browser is offline
    await server.stop();
    await context.setOffline(true);
    const offlineTile = page.locator('[data-tile="network"]');
    await expect(offlineTile).toContainText('offline'); // the running page says so at once
    let response: Awaited<ReturnType<Page['reload']>> = null;
    const reloadMs = await timeToInference(page, async () => (response = await page.reload()));
    expect(response!.fromServiceWorker()).toBe(true);
    await assertRunsOffline(page);
    const errors = (await rec.events()).filter((e) => e.type === 'error');
    expect(errors).toEqual([]);
    expect(rec.pageErrors).toEqual([]);

    // a browser restart, still without a network
    await context.close();
    context = await launch();
    await context.setOffline(true);
    page = context.pages()[0] ?? (await context.newPage());
    const rec2 = await recordEvents(page);
    const restartMs = await timeToInference(page, () => page.goto(`${server.url}/?camera_id=after-restart`));
    await assertRunsOffline(page);
    expect((await rec2.events()).filter((e) => e.type === 'error')).toEqual([]);
    testInfo.annotations.push({ type: 'figures', description: `offline: reload → first inference ${reloadMs} ms; browser restart → first inference ${restartMs} ms` });
    console.log(`offline: reload → first inference ${reloadMs} ms; browser restart → first inference ${restartMs} ms`);
  } finally {
    await context.close();
    await server.stop();
    rmSync(profile, { recursive: true, force: true });
  }
});

test('control: without the service worker the same offline reload fails (it is what keeps the kiosk up)', async ({ browser }) => {
  test.setTimeout(240_000);
  const server = await serveBuild(BUILD);
  const context = await browser.newContext({ serviceWorkers: 'block' });
  try {
    const page = await context.newPage();
    await recordEvents(page);
    await page.goto(`${server.url}/`);
    await waitForEvent(page, 'inference', hasPerson, 120_000);
    // for comparison: a reload online without the service worker, to the first inference
    const onlineMs = await timeToInference(page, () => page.reload());
    console.log(`online without the service worker: reload → first inference ${onlineMs} ms`);
    await server.stop();
    await context.setOffline(true);
    await expect(page.reload()).rejects.toThrow(/ERR_INTERNET_DISCONNECTED|ERR_CONNECTION_REFUSED/);
  } finally {
    await context.close();
    await server.stop();
  }
});

test('updates: a new model version is used as soon as it is deployed, never the old bytes under it', async ({ context, page }) => {
  test.setTimeout(480_000);
  const dir = copyOfBuild();
  const server = await serveBuild(dir);
  try {
    // 1. a kiosk on a model by URL: kept for offline from its first visit (the page asks the worker to)
    const rec = await recordEvents(page);
    const kioskUrl = `${server.url}/?model=/models/centernet-coco.json&panel=off`;
    await firstLoad(page, kioskUrl);
    const v1 = defaultManifest.sha256 as string;
    const v2 = model512.sha256 as string;
    expect(v2).not.toBe(v1);
    await expect.poll(() => modelCacheKeys(page), { timeout: 60_000 }).toContain(`/__offline__/model/${v1}`);

    // 2. half a deployment: the manifest names the new version, the old file is still there. The old bytes
    // are refused under the new version (checksum mismatch), and nothing is cached under it
    writeFileSync(join(dir, 'models', 'centernet-coco.json'), JSON.stringify({ ...model512, file: 'centernet-coco.onnx' }));
    await page.reload();
    const mismatch = await waitForEvent(page, 'error', (e) => e.detail.code === 'model-checksum-mismatch', 60_000);
    expect(mismatch.detail.fatal).toBe(true);
    expect(await modelCacheKeys(page)).not.toContain(`/__offline__/model/${v2}`);

    // 3. the file arrives: the kiosk's own retry loads the new version (no reload), stored under it, the old dropped
    copyFileSync(join(root, 'models', 'centernet-coco-512.onnx'), join(dir, 'models', 'centernet-coco.onnx'));
    const ready = await waitForEvent(page, 'ready', (e) => e.detail.modelVersion === v2, 120_000);
    expect(ready.detail.modelVersion).toBe(v2);
    await waitForEvent(page, 'inference', (e) => e.at > ready.at && hasPerson(e), 120_000);
    await expect.poll(() => modelCacheKeys(page), { timeout: 30_000 }).toContain(`/__offline__/model/${v2}`);
    await expect.poll(() => modelCacheKeys(page), { timeout: 30_000 }).not.toContain(`/__offline__/model/${v1}`);

    // 4. offline, the kiosk comes back on the new version
    await server.stop();
    await context.setOffline(true);
    await timeToInference(page, () => page.reload());
    expect((await waitForEvent(page, 'ready')).detail.modelVersion).toBe(v2);
    expect((await rec.events()).filter((e) => e.type === 'error')).toEqual([]);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('updates: a new build replaces the old by itself when the network returns', async ({ context, page }) => {
  test.setTimeout(420_000);
  const dir = copyOfBuild();
  const next = mkdtempSync(join(tmpdir(), 'kiosk-next-build-'));
  // a new build of the kiosk (one change to its page), made by the real build with its service worker
  execFileSync('npx', ['vite', 'build', '--config', 'e2e/offline/next-build.config.ts', '--outDir', next, '--emptyOutDir', '--logLevel', 'error'], { cwd: root, stdio: 'inherit' });
  const server = await serveBuild(dir);
  try {
    await recordEvents(page);
    await firstLoad(page, `${server.url}/?panel=off`);
    // offline, a reload comes from the service worker
    await server.stop();
    await context.setOffline(true);
    await timeToInference(page, () => page.reload());
    const before = (await cacheNames(page)).filter((n) => n.startsWith('ihm-shell-'));

    // a new build is deployed; when the network returns the kiosk looks for it, installs it, and reloads
    // itself onto it — nobody touches it. The link comes back before the server can be reached (as it often
    // does: 'online' fires, the server is not there yet), so the first look fails and a later one finds it
    server.setRoot(next);
    server.requests.length = 0;
    await context.setOffline(false);
    const t0 = Date.now();
    await page.waitForTimeout(1_500);
    await server.start();
    await expect(page.locator('meta[name="build"][content="next"]')).toHaveCount(1, { timeout: 60_000 });
    const took = Date.now() - t0;
    console.log(`new build took over ${took} ms after the network returned (the server came 1.5 s later)`);
    expect(server.requests[0]).toBe('/sw.js'); // the first thing asked of the server is whether the build changed
    expect(took).toBeLessThan(30_000); // not the 10-minute periodic check
    await waitForEvent(page, 'inference', hasPerson, 120_000); // the reloaded page runs
    const after = (await cacheNames(page)).filter((n) => n.startsWith('ihm-shell-'));
    expect(after).toHaveLength(1);
    expect(after).not.toEqual(before); // the old build's cache is gone
    // the new build runs offline too
    await server.stop();
    await context.setOffline(true);
    await page.reload();
    await expect(page.locator('meta[name="build"][content="next"]')).toHaveCount(1);
    expect((await waitForEvent(page, 'ready')).detail.modelVersion).toBe(defaultManifest.sha256);
    await waitForEvent(page, 'inference', hasPerson, 120_000);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(next, { recursive: true, force: true });
  }
});
