/**
 * The kiosk as it ships (production build, strict CSP, COOP/COEP) on a fake camera fed real footage
 * (opencv-doc's vtest.avi pedestrians): ready on the requested backend, then inference events with people.
 */
import { expect, test } from '@playwright/test';
import { manifest, recordEvents, waitForEvent } from './helpers.ts';

const hasPerson = (e: { detail: { detections: { label: string; score: number }[] } }) =>
  e.detail.detections.some((d) => d.label === 'person' && d.score >= 0.3);

for (const backend of ['wasm', 'webgpu'] as const) {
  test(`kiosk on ${backend}: ready, then person detections with stage timings and the model's sha256`, async ({ page }) => {
    const slow = backend === 'webgpu'; // SwiftShader: a software GPU, ~100× slower than WASM
    test.setTimeout(slow ? 540_000 : 180_000);
    const rec = await recordEvents(page);
    const csp: string[] = [];
    page.on('console', (m) => /Content Security Policy|Refused to/i.test(m.text()) && csp.push(m.text()));
    await page.goto(`/?backend=${backend}`);
    const ready = await waitForEvent(page, 'ready', () => true, slow ? 240_000 : 60_000);
    expect(ready.detail.backend).toBe(backend);
    expect(ready.detail.modelVersion).toBe(manifest.sha256);
    if (slow) test.info().annotations.push({ type: 'adapter', description: JSON.stringify(ready.detail.adapter) });
    const hit = await waitForEvent(page, 'inference', hasPerson, slow ? 360_000 : 60_000);
    const r = hit.detail;
    expect(r.modelVersion).toBe(manifest.sha256);
    expect(r.backend).toBe(backend);
    expect(r.inferenceId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    for (const stage of ['preprocess', 'inference', 'postprocess', 'total'] as const)
      expect(r.timings[stage], stage).toBeGreaterThan(0);
    expect(r.timings.total).toBeGreaterThanOrEqual(r.timings.inference);
    expect(r.frame).toEqual({ width: 640, height: 480 });
    const person = r.detections.find((d: { label: string }) => d.label === 'person');
    const [x, y, w, h] = person.box;
    expect(x).toBeGreaterThanOrEqual(0);
    expect(y).toBeGreaterThanOrEqual(0);
    expect(x + w).toBeLessThanOrEqual(640);
    expect(y + h).toBeLessThanOrEqual(480);
    expect(w * h).toBeGreaterThan(100);
    test.info().annotations.push({ type: 'timings', description: JSON.stringify(r.timings) });
    await expect(page.locator('inference-monitor')).toHaveAttribute('state', 'running');
    expect(rec.pageErrors).toEqual([]);
    expect(csp).toEqual([]);
    const unhandled = (await rec.events()).filter((e) => (e.type as string) === 'unhandledrejection');
    expect(unhandled).toEqual([]);
  });
}

test('kiosk on auto: picks a backend and, if it fell back, says why', async ({ page }) => {
  await recordEvents(page);
  await page.goto('/');
  const ready = await waitForEvent(page, 'ready', () => true, 120_000);
  expect(['webgpu', 'wasm']).toContain(ready.detail.backend);
  if (ready.detail.backend === 'wasm') expect(ready.detail.fallbackReason).toMatch(/\w+/);
  test.info().annotations.push({ type: 'auto', description: JSON.stringify({ backend: ready.detail.backend, fallbackReason: ready.detail.fallbackReason }) });
  await waitForEvent(page, 'inference', () => true, 60_000);
});
