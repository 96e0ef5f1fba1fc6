/**
 * A run that never ends (issue #28): a real ONNX model whose run hangs onnxruntime-web's WASM backend (a `Loop` of
 * 2^62 iterations; test/helpers/hanging-model.ts) goes through the manifest CLI into the kiosk. The run blocks the
 * inference worker's own thread, so the worker's own timeout can never fire: the page's watchdog must see it,
 * report `inference-timeout` (not fatal), end the stuck worker and start another — again with back-off when that
 * one hangs too — while the rest of the page (camera, frame worker, hub, panel) goes on.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { expect, type Page, test } from '@playwright/test';
import { writeHangingModel } from '../test/helpers/hanging-model.ts';
import { recordEvents, waitForEvent } from './helpers.ts';

const root = join(import.meta.dirname, '..');
let dir: string;

test.beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hang-e2e-'));
  const files = writeHangingModel(dir);
  const r = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'src', 'manifest-cli', 'cli.ts'), files.model, '--labels', files.dataYaml], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
});
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The Web Locks the page's inference workers hold for life (one per live worker: `…:inference:<n>`, a spare's `…:spare:<n>`). */
const inferenceLocks = (page: Page) =>
  page.evaluate(async () => ((await navigator.locks.query()).held ?? []).map((l) => l.name ?? '').filter((n) => /:inference:\d+$/.test(n)));

test('a run that never ends (WASM) → inference-timeout, not fatal: the stuck worker is ended and another started, with back-off when it hangs too; the page goes on', async ({ page }) => {
  test.setTimeout(90_000);
  await page.route(
    (url) => url.pathname.startsWith('/hang/'),
    (route) => route.fulfill({ path: join(dir, basename(new URL(route.request().url()).pathname)) }),
  );
  const rec = await recordEvents(page);
  // a 2-s run timeout: the watchdog calls a run stuck 2 s + its 2-s margin after its last answer (the default,
  // 5 minutes for a first run, is for software WebGPU's compiles)
  await page.goto('/?model=/hang/hanging.json&backend=wasm&camera_id=hang&run_timeout=2');
  const ready = await waitForEvent(page, 'ready', () => true, 45_000);
  expect(ready.detail).toMatchObject({ modelId: 'hanging', backend: 'wasm' });
  await expect.poll(() => inferenceLocks(page), { timeout: 10_000 }).toHaveLength(1);
  const [first] = await inferenceLocks(page);

  // the first run hangs: reported once by the page's watchdog, not fatal, and the stuck worker is gone
  const t1 = await waitForEvent(page, 'error', (e) => e.detail.code === 'inference-timeout', 30_000);
  expect(t1.detail).toMatchObject({ fatal: false, worker: 'inference' });
  expect(t1.detail.message).toMatch(/has not ended after \d+\.\d s \(its timeout: 2\.0 s\)/);
  expect(t1.at - ready.at).toBeLessThan(15_000);
  const monitor = page.locator('inference-monitor');
  await expect(monitor.locator('[part~=inference-hung]')).toContainText('Model not answering');
  // replaced: the stuck worker's life lock is released (it was ended) and a new worker holds its own
  await expect.poll(async () => { const held = await inferenceLocks(page); return held.length === 1 && held[0] !== first; }, { timeout: 15_000 }).toBe(true);

  // the new worker loads the same model and hangs too: reported again, after its own timeout (no spinning)
  const t2 = await waitForEvent(page, 'error', (e) => e.detail.code === 'inference-timeout' && e.at > t1.at, 30_000);
  expect(t2.detail.fatal).toBe(false);
  expect(t2.at - t1.at).toBeGreaterThan(5000); // 1 s back-off + a load + 2 s timeout + 2 s margin
  await expect(monitor.locator('[part~=inference-hung]')).toContainText('2 stuck in a row');

  // the rest of the page went on: still running (never a fatal error), the page answers at once, and the
  // uptime vital — fed by the page's sampler through the hub worker — counts the hang as down time
  await expect(monitor).toHaveAttribute('state', 'running');
  const t0 = Date.now();
  await page.evaluate(() => 1);
  expect(Date.now() - t0).toBeLessThan(1000);
  await expect
    .poll(() => page.evaluate(async () => (await document.querySelector('inference-monitor')!.vitals())?.reliability.uptime ?? NaN), { timeout: 20_000 })
    .toBeLessThan(1);
  console.log(`hang seen ${((t1.at - ready.at) / 1000).toFixed(1)} s after ready; second report ${((t2.at - t1.at) / 1000).toFixed(1)} s after the first`);
  const errors = (await rec.events()).filter((e) => e.type === 'error').map((e) => e.detail.code);
  expect(new Set(errors)).toEqual(new Set(['inference-timeout'])); // nothing else failed: no crash, no restart of the pipeline
  expect(rec.pageErrors).toEqual([]);
});

test('a reference model whose run never ends → inference-timeout "reference model: …", not fatal: its worker is ended and the deployed model goes on', async ({ page }) => {
  test.setTimeout(90_000);
  await page.route(
    (url) => url.pathname.startsWith('/hang/'),
    (route) => route.fulfill({ path: join(dir, basename(new URL(route.request().url()).pathname)) }),
  );
  const rec = await recordEvents(page);
  await page.goto('/?reference=/hang/hanging.json&backend=wasm&camera_id=hang-ref&panel=off&standby=off&run_timeout=2');
  await waitForEvent(page, 'ready', () => true, 45_000);
  const referenceLocks = () => page.evaluate(async () => ((await navigator.locks.query()).held ?? []).map((l) => l.name ?? '').filter((n) => /:reference:\d+$/.test(n)));
  await expect.poll(referenceLocks, { timeout: 20_000 }).toHaveLength(1); // loaded 3 s after the start; its first run hangs
  const hung = await waitForEvent(page, 'error', (e) => e.detail.code === 'inference-timeout', 30_000);
  expect(hung.detail.fatal).toBe(false);
  expect(hung.detail.message).toMatch(/^reference model: .*first run: no answer within 4000 ms/);
  await expect.poll(referenceLocks, { timeout: 10_000 }).toHaveLength(0); // its worker ended: the core it held is free
  const n = (await rec.events()).filter((e) => e.type === 'inference' && e.at > hung.at).length;
  await expect.poll(async () => (await rec.events()).filter((e) => e.type === 'inference' && e.at > hung.at).length, { timeout: 20_000 }).toBeGreaterThan(n + 3);
  await expect(page.locator('inference-monitor')).toHaveAttribute('state', 'running');
  expect((await rec.events()).filter((e) => e.type === 'error').map((e) => e.detail.code)).toEqual(['inference-timeout']);
  expect(rec.pageErrors).toEqual([]);
});
