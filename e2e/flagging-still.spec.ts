/**
 * Near-duplicate suppression on a still scene (a photo held in front of the fake camera, with sensor
 * noise): a rule that matches every frame keeps the first and skips the rest as near-duplicates (same
 * perceptual hash, same detections), counting them; with suppression off, the same frames are kept.
 */
import { expect, type Page, test } from '@playwright/test';
import { recordEvents, waitForEvent } from './helpers.ts';

function monitor<T>(page: Page, fn: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(
    async ([fn, args]) => (document.querySelector('inference-monitor') as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[fn as string]!(...(args as unknown[])),
    [fn, args] as const,
  ) as Promise<T>;
}
const flagStatus = (page: Page) =>
  page.evaluate(async () => (await (document.querySelector('inference-monitor') as unknown as { store(): Promise<{ flagStatus(): Promise<any> }> }).store()).flagStatus());
const inferences = async (rec: Awaited<ReturnType<typeof recordEvents>>) => (await rec.events()).filter((e) => e.type === 'inference').length;

test('a still scene: frames matching a rule are kept once, the near-duplicates skipped and counted; suppression off keeps them', async ({ page }) => {
  test.setTimeout(150_000);
  const rec = await recordEvents(page);
  await page.goto('/?backend=wasm&panel=off&camera_id=still');
  await waitForEvent(page, 'ready');
  await waitForEvent(page, 'inference', (e) => e.detail.detections.length > 0);
  const manual = (await monitor<{ id: string }[]>(page, 'flagRules')).find((r) => r.id === 'manual');
  await monitor(page, 'setFlagRules', [{ id: 'every', name: 'Every frame', kind: 'random', params: { probability: 1 }, limits: {}, enabled: true }, manual]);
  const n = await inferences(rec);
  await expect.poll(() => inferences(rec), { timeout: 60_000 }).toBeGreaterThan(n + 30);
  const s = await flagStatus(page);
  // the first is kept; of the 30+ frames after it, at least 90 % are skipped as near-duplicates
  expect(s.count).toBeGreaterThanOrEqual(1);
  expect(s.stats.duplicates).toBeGreaterThanOrEqual(27);
  expect(s.count).toBeLessThanOrEqual(Math.max(2, Math.ceil(0.1 * (s.count + s.stats.duplicates))));
  const kept = (await monitor<{ rows: { hash: string }[] }>(page, 'flagged', {})).rows;
  expect(kept.every((f) => /^[0-9a-f]{16}$/.test(f.hash))).toBe(true);
  const flaggedEvents = (await rec.events()).filter((e) => e.type === 'flagged').length;
  expect(flaggedEvents).toBe(s.count);

  // with suppression off, the same scene is kept frame after frame
  await monitor(page, 'setFlagSettings', { dedupeMinutes: 0 });
  const off = await flagStatus(page);
  await expect.poll(async () => (await flagStatus(page)).count, { timeout: 30_000 }).toBeGreaterThan(off.count + 5);
  expect((await flagStatus(page)).stats.duplicates).toBe(off.stats.duplicates);
  expect(rec.pageErrors).toEqual([]);
});
