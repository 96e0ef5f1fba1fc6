/**
 * Bad input in the browser: each gives a visible error state in the element, an `error` event with a
 * stable code, no unhandled rejection — and the pipeline can be started again.
 */
import { createHash } from 'node:crypto';
import { expect, test, type Page } from '@playwright/test';
import { manifest, recordEvents, waitForEvent } from './helpers.ts';

/** Matches a request by path alone (a glob would also match the page URL's ?model= query). */
const path = (p: string) => (url: URL) => url.pathname === p;

async function expectError(page: Page, url: string, code: string, text: RegExp) {
  const rec = await recordEvents(page);
  await page.goto(url);
  const err = await waitForEvent(page, 'error', (e) => e.detail.code === code);
  expect(err.detail.fatal).toBe(true);
  const monitor = page.locator('inference-monitor');
  await expect(monitor).toHaveAttribute('state', 'error');
  await expect(monitor.locator('[part="error"]')).toContainText(text);
  await expect(monitor.locator('[part="error"] code')).toHaveText(code);
  expect(rec.pageErrors).toEqual([]);
  expect((await rec.events()).filter((e) => (e.type as string) === 'unhandledrejection')).toEqual([]);
  return err;
}

test('manifest 404 → manifest-not-found', async ({ page }) => {
  await expectError(page, '/?model=/models/missing.json', 'manifest-not-found', /Model not found/);
});

test('manifest that is not JSON, or fails the schema → manifest-invalid naming the field', async ({ page }) => {
  await page.route(path('/models/notjson.json'), (r) => r.fulfill({ body: 'oops, not json', contentType: 'text/plain' }));
  await expectError(page, '/?model=/models/notjson.json', 'manifest-invalid', /not JSON/);
  const bad = { ...manifest, input: { ...manifest.input, layout: 'HWC' } };
  await page.route(path('/models/bad.json'), (r) => r.fulfill({ json: bad }));
  const err = await expectError(page, '/?model=/models/bad.json', 'manifest-invalid', /input\.layout/);
  expect(err.detail.message).toMatch(/input\.layout/);
});

test('corrupt ONNX → model-invalid; a file that does not match the manifest sha256 → model-checksum-mismatch', async ({ page }) => {
  const corrupt = Buffer.from('this is not an onnx model, just text pretending to be one '.repeat(40));
  const sha = createHash('sha256').update(corrupt).digest('hex');
  await page.route(path('/models/corrupt.json'), (r) => r.fulfill({ json: { ...manifest, file: 'corrupt.onnx', sha256: sha, bytes: corrupt.length } }));
  await page.route(path('/models/corrupt.onnx'), (r) => r.fulfill({ body: corrupt, contentType: 'application/octet-stream' }));
  await expectError(page, '/?model=/models/corrupt.json&backend=wasm', 'model-invalid', /Model file is invalid/);
  await page.route(path('/models/stale.json'), (r) => r.fulfill({ json: { ...manifest, sha256: 'f'.repeat(64) } }));
  await expectError(page, '/?model=/models/stale.json&backend=wasm', 'model-checksum-mismatch', /sha256/);
});

test('unknown backend → backend-unknown; bad threshold, view, threads or run-timeout → attribute-invalid', async ({ page }) => {
  await expectError(page, '/?backend=cuda', 'backend-unknown', /unknown backend 'cuda'/);
  await expectError(page, '/?threshold=lots', 'attribute-invalid', /threshold/);
  await expectError(page, '/?threads=0', 'attribute-invalid', /threads must be a whole number from 1 to 16, not '0'/);
  await expectError(page, '/?run_timeout=0.5', 'attribute-invalid', /run-timeout must be a number of seconds from 1 to 600, not '0.5'/);
  await expectError(page, '/?view=%3Cb%3Ewide%3C/b%3E', 'attribute-invalid', /view must be 'inferred' or 'live', not '<b>wide<\/b>'/);
});

test('absent camera → camera-not-found', async ({ page }) => {
  await expectError(page, '/?camera=no-such-device&backend=wasm', 'camera-not-found', /No camera/);
});

test('after a failure the kiosk restarts the pipeline, and start() succeeds once the cause is gone', async ({ page }) => {
  let calls = 0;
  await page.route(path('/models/flaky.json'), async (r) => {
    calls++;
    if (calls === 1) return r.fulfill({ status: 503, body: 'busy' });
    const res = await r.fetch({ url: r.request().url().replace('flaky.json', 'centernet-coco.json') });
    return r.fulfill({ response: res });
  });
  const rec = await recordEvents(page);
  await page.goto('/?model=/models/flaky.json&backend=wasm');
  await waitForEvent(page, 'error', (e) => e.detail.code === 'manifest-not-found');
  await expect(page.locator('#kiosk-status')).toContainText(/retrying in/);
  const ready = await waitForEvent(page, 'ready');
  expect(ready.detail.modelVersion).toBe(manifest.sha256);
  await waitForEvent(page, 'inference');
  expect(calls).toBeGreaterThanOrEqual(2);
  expect(rec.pageErrors).toEqual([]);
});

test("the inference worker's script throws while the pipeline starts → worker-failed (fatal); the kiosk restarts it, and it runs once the script loads", async ({ page }) => {
  let served = 0;
  // the inference worker's bundle (assets/worker-<hash>.js): the first load throws at the top, as a broken deploy would
  await page.route((url) => /^\/assets\/worker-[\w-]+\.js$/.test(url.pathname), async (r) => {
    const res = await r.fetch();
    if (served++ === 0) return r.fulfill({ response: res, body: "throw new Error('the inference worker script failed to start');" });
    return r.fulfill({ response: res });
  });
  const rec = await recordEvents(page);
  await page.goto('/?backend=wasm&standby=off');
  const err = await waitForEvent(page, 'error', (e) => e.detail.code === 'worker-failed', 60_000);
  expect(err.detail.fatal).toBe(true);
  expect(err.detail.message).toMatch(/inference worker failed/);
  await expect(page.locator('#kiosk-status')).toContainText(/retrying in/);
  await waitForEvent(page, 'ready', () => true, 90_000);
  await waitForEvent(page, 'inference', () => true, 60_000);
  expect(served).toBeGreaterThanOrEqual(2);
  expect((await rec.events()).filter((e) => (e.type as string) === 'unhandledrejection')).toEqual([]);
});
