/**
 * The live inference log stays bounded (issue #18's soak: it prepended every frame's row for as long as the
 * panel was open, and the page's heap grew with it): the kiosk on the fake camera, the bound lowered so a
 * short run passes it many times over; the rows cut off come back on scrolling, and rows scrolled in stay.
 */
import { expect, test } from '@playwright/test';
import { recordEvents, waitForEvent } from './helpers.ts';

test('the live log keeps its newest rows within the bound; scrolling brings older ones back and keeps them', async ({ page }) => {
  test.setTimeout(240_000);
  const rec = await recordEvents(page);
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto('/?backend=wasm&baseline_minutes=0.25');
  await waitForEvent(page, 'ready', () => true, 60_000);
  const panel = page.locator('inference-monitor inference-health-panel');
  await expect(panel.locator('tr.log-row').first()).toBeVisible({ timeout: 60_000 });
  await panel.evaluate((p) => ((p as unknown as { logLiveRows: number }).logLiveRows = 12));
  const rows = () => panel.evaluate((p) => (p as unknown as { _log: { rows: unknown[] } })._log.rows.length);
  const results = async () => (await rec.events()).filter((e) => e.type === 'inference').length;
  // far more results than the bound while live: the log never holds more than it
  const start = await results();
  const seen: number[] = [];
  while ((await results()) < start + 40) {
    seen.push(await rows());
    await page.waitForTimeout(500);
  }
  await page.waitForTimeout(2500); // a live refresh after the last
  seen.push(await rows());
  expect(Math.max(...seen)).toBeLessThanOrEqual(12);
  expect(seen.at(-1)).toBeGreaterThanOrEqual(10);
  // scrolled to the bottom: older rows load again (the store kept them) and stay through live refreshes
  await panel.evaluate((p) => {
    const log = p.shadowRoot!.querySelector('.log') as HTMLElement;
    log.scrollTop = log.scrollHeight;
    log.dispatchEvent(new Event('scroll'));
  });
  await expect.poll(rows, { timeout: 20_000 }).toBeGreaterThan(30);
  const scrolled = await rows();
  await page.waitForTimeout(5000);
  expect(await rows()).toBeGreaterThanOrEqual(scrolled);
});
