/** Without permission to use the camera: `camera-denied`, shown in the element, no unhandled rejection. */
import { expect, test } from '@playwright/test';
import { recordEvents, waitForEvent } from './helpers.ts';

test('denied camera → camera-denied', async ({ page, context }) => {
  await context.clearPermissions();
  const rec = await recordEvents(page);
  await page.goto('/?backend=wasm');
  const err = await waitForEvent(page, 'error', (e) => e.detail.code === 'camera-denied');
  expect(err.detail.message).toMatch(/denied/i);
  const monitor = page.locator('inference-monitor');
  await expect(monitor).toHaveAttribute('state', 'error');
  await expect(monitor.locator('[part="error"]')).toContainText('Camera access was denied');
  expect(rec.pageErrors).toEqual([]);
  expect((await rec.events()).filter((e) => (e.type as string) === 'unhandledrejection')).toEqual([]);
});
