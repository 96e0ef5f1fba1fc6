/**
 * A frozen feed at night (#29) on real footage: the fake camera plays vtest.avi for 40 s as a camera's night mode
 * shows it (grey IR, darker, sensor noise that changes every live frame), then repeats its last frame for 22 s
 * (byte-identical frames, noise and all, as a hung encoder or a paused stream sends) and loops
 * (fixtures/vtest-night-frozen.y4m). The kiosk learns the night as its first condition (15 s); `frame-frozen`
 * must fire within 30 s of the freeze, against the night's own baseline, no alert before it, the panel's camera
 * tile says the picture is frozen, and the alert resolves once the loop brings moving pictures back. A still
 * scene by day that was still in its baseline too does not fire (e2e/frozen-still.spec.ts); the rule itself by
 * on synthetic frames in test/health-frozen.test.ts.
 */
import { expect, test } from '@playwright/test';
import { recordEvents, type Recorded, waitForEvent } from './helpers.ts';

/** the frame worker's own statistics of a frame: a repeated picture repeats them exactly */
const picture = (e: Recorded) => `${e.detail.image?.brightness}|${e.detail.image?.contrast}|${e.detail.image?.sharpness}`;

test('frozen footage at night: frame-frozen fires within 30 s of the freeze against the night’s baseline, none before, and resolves when the picture moves again', async ({ page }) => {
  test.setTimeout(300_000);
  const rec = await recordEvents(page);
  await page.goto('/?backend=wasm&camera_id=gate-2&baseline_minutes=0.25');
  await waitForEvent(page, 'ready', () => true, 60_000);
  const alert = await waitForEvent(page, 'alert', (e) => e.detail.state === 'firing' && e.detail.ruleId === 'frame-frozen', 150_000);
  expect(alert.detail.cause).toBe('camera');
  const all = await rec.events();
  const frames = all.filter((e) => e.type === 'inference' && e.detail.image && e.at <= alert.at);
  // the freeze, as the frames tell it: the first of the run of identical pictures the alert fired in
  let first = frames.length - 1;
  while (first > 0 && picture(frames[first - 1]!) === picture(frames.at(-1)!)) first--;
  const freeze = frames[first]!;
  expect(frames.length - first, 'frames of the frozen picture before the alert').toBeGreaterThan(3);
  const before = all.filter((e) => e.type === 'alert' && e.detail.state === 'firing' && e.at < freeze.at);
  expect(before.map((e) => e.detail.ruleId)).toEqual([]);
  const delay = (alert.at - freeze.at) / 1000;
  const span = (frames.at(-1)!.at - frames[0]!.at) / 1000;
  test.info().annotations.push(
    { type: 'detection delay (s)', description: delay.toFixed(1) },
    { type: 'frame time of the freeze → alert (s)', description: ((alert.detail.t - freeze.detail.timestamp) / 1000).toFixed(1) },
    { type: 'inferences per second', description: ((frames.length - 1) / span).toFixed(2) },
    { type: 'alert', description: JSON.stringify(alert.detail) },
  );
  expect(delay).toBeGreaterThan(0);
  expect(delay).toBeLessThanOrEqual(30); // wall clock, pipeline latency and a loaded machine included
  // in frame time, what docs/health.md states: 12.5–18 s after the freeze (¾ of the 10-s window frozen, then
  // 5 s pending), plus a frame or two; half a second of slack below for where the first frozen frame was taken
  const frameDelay = (alert.detail.t - freeze.detail.timestamp) / 1000;
  expect(frameDelay).toBeGreaterThanOrEqual(12);
  expect(frameDelay).toBeLessThanOrEqual(20);
  expect(alert.detail).toMatchObject({ camera_id: 'gate-2', state: 'firing', severity: 'critical', value: 0 });
  expect(alert.detail.name).toMatch(/stopped changing/);
  // the baseline was learnt from moving pictures (every frame changed), the last minute holds frozen ones
  const seen = await page.evaluate(async () => {
    const m = document.querySelector('inference-monitor')!;
    const v = (await m.vitals())!;
    const s = (await m.signals()).find((x) => x.rule === 'frame-frozen')!;
    return { baseline: v.baseline.state, baselineTo: v.baseline.to, changed: v.image.changed, baselineChanged: v.image.baseline?.changed, signal: { status: s.status, value: s.value }, bar: m.shadowRoot!.querySelector('[part=alerts]')?.textContent ?? '' };
  });
  expect(seen.baseline).toBe('ready');
  // the night's own baseline: the camera's IR picture (no colour) is its condition, and nothing took the freeze for another
  expect(frames.filter((e) => e.detail.image.saturation >= 0.05).length, 'every frame a night frame').toBe(0);
  const conditions = await page.evaluate(() => document.querySelector('inference-monitor')!.conditions());
  expect(conditions).toMatchObject({ current: 'mono' });
  expect(conditions!.known.map((k) => k.id)).toEqual(['mono']);
  expect(all.filter((e) => e.type === 'condition' && e.detail.state !== 'learnt').map((e) => `${e.detail.state} ${e.detail.to}`)).toEqual([]);
  expect(seen.baselineTo, 'baseline learnt before the freeze').toBeLessThanOrEqual(freeze.detail.timestamp);
  expect(seen.baselineChanged).toBeGreaterThan(0.9);
  expect(seen.changed).toBeLessThan(seen.baselineChanged!);
  expect(seen.signal.status).toBe('alert');
  expect(seen.bar).toMatch(/alert/);
  // the panel's camera tile says so
  const tile = page.locator('inference-health-panel [data-tile=camera]');
  await expect(tile).toHaveAttribute('data-level', 'alert', { timeout: 20_000 });
  await expect(tile).toContainText('picture frozen');
  // the clip loops back to moving footage: the alert resolves, after the first moving frame
  const resolved = await waitForEvent(page, 'alert', (e) => e.detail.state === 'resolved' && e.detail.ruleId === 'frame-frozen', 120_000);
  const later = (await rec.events()).filter((e) => e.type === 'inference' && e.detail.image && e.at > alert.at);
  const moving = later.find((e) => picture(e) !== picture(freeze))!;
  expect(moving).toBeDefined();
  expect(resolved.at).toBeGreaterThan(moving.at);
  expect(rec.pageErrors).toEqual([]);
});
