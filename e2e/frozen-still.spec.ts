/**
 * A still scene is not a frozen feed: messi5.jpg held in front of the fake camera with sensor noise (the
 * `still` project's clip). With a baseline of that same still scene, `frame-frozen` stays quiet — every
 * frame's picture differs a little from the one before, as a live camera's does.
 */
import { expect, test } from '@playwright/test';
import { recordEvents, waitForEvent } from './helpers.ts';

test('a still scene with a live sensor, still in the baseline too: frame-frozen does not fire', async ({ page }) => {
  test.setTimeout(180_000);
  const rec = await recordEvents(page);
  await page.goto('/?backend=wasm&panel=off&camera_id=still-frozen&baseline_minutes=0.25');
  await waitForEvent(page, 'ready', () => true, 60_000);
  const vitals = () => page.evaluate(async () => await document.querySelector('inference-monitor')!.vitals());
  await expect.poll(async () => (await vitals())?.baseline.state, { timeout: 90_000 }).toBe('ready');
  // longer than the rule needs to fire (a 10-s window, then 10 s pending)
  await page.waitForTimeout(25_000);
  const v = (await vitals())!;
  const s = (await page.evaluate(async () => document.querySelector('inference-monitor')!.signals())).find((x) => x.rule === 'frame-frozen')!;
  const alerts = (await rec.events()).filter((e) => e.type === 'alert' && e.detail.ruleId === 'frame-frozen');
  test.info().annotations.push({ type: 'frame-frozen signal', description: JSON.stringify(s) }, { type: 'changed', description: `${v.image.changed} (baseline ${v.image.baseline?.changed})` });
  expect(alerts.map((a) => a.detail.state)).toEqual([]);
  expect(s).toMatchObject({ status: 'ok', state: 'inactive' });
  expect(s.value).toBeGreaterThan(0.9);
  expect(v.image.changed).toBeGreaterThan(0.9);
  expect(v.image.baseline!.changed).toBeGreaterThan(0.9);
  expect(rec.pageErrors).toEqual([]);
});
