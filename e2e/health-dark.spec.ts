/**
 * The monitor's own accuracy on real footage: the kiosk watches vtest.avi whose second half (from 25 s) is
 * darkened with ffmpeg (brightness −0.45). A baseline is learnt from the first 15 s; the lighting
 * brightness rule's alert (not a confidence one: the rule the docs name) must fire within 30 s of the change, none before it, and it resolves when the clip
 * loops back to normal light.
 */
import { expect, test } from '@playwright/test';
import { recordEvents, type Recorded, waitForEvent } from './helpers.ts';

test('darkened footage: the lighting rule (brightness-*, cause camera) fires within 30 s of the change, none before, and resolves after', async ({ page }) => {
  test.setTimeout(300_000);
  const rec = await recordEvents(page);
  // `notify`: the page may show notifications; a spy around the browser's Notification records each one
  await page.context().grantPermissions(['notifications']);
  await page.addInitScript(() => {
    const Real = window.Notification;
    const shown: { title: string; body?: string; tag?: string }[] = [];
    (window as unknown as { __notifications: typeof shown }).__notifications = shown;
    class Spy extends Real {
      constructor(title: string, opts?: NotificationOptions) {
        shown.push({ title, body: opts?.body, tag: opts?.tag });
        super(title, opts);
      }
    }
    Object.defineProperty(window, 'Notification', { value: Spy, configurable: true, writable: true });
  });
  await page.goto('/?backend=wasm&camera_id=dock-1&location=line%203&baseline_minutes=0.25&notify');
  await waitForEvent(page, 'ready', () => true, 60_000);
  // the clip's own brightness, as the frame worker measured it, tells when the light changed
  const first = await waitForEvent(page, 'inference', (e) => e.detail.image?.brightness > 0, 30_000);
  const light = first.detail.image.brightness;
  const change = await waitForEvent(page, 'inference', (e) => e.detail.image?.brightness < light - 30, 90_000);
  const alert = await waitForEvent(page, 'alert', (e) => e.detail.state === 'firing' && /^brightness-/.test(e.detail.ruleId), 60_000);
  const all = await rec.events();
  const before = all.filter((e: Recorded) => e.type === 'alert' && e.detail.state === 'firing' && e.at < change.at);
  expect(before.map((e) => e.detail.ruleId)).toEqual([]);
  const delay = (alert.at - change.at) / 1000;
  test.info().annotations.push({ type: 'detection delay (s)', description: delay.toFixed(1) }, { type: 'alert', description: JSON.stringify(alert.detail) });
  expect(delay).toBeLessThanOrEqual(30);
  expect(alert.detail).toMatchObject({ camera_id: 'dock-1', location: 'line 3', state: 'firing', cause: 'camera' }); // the light changed, not the model
  expect(alert.detail.value).toBeGreaterThanOrEqual(alert.detail.threshold);
  expect(alert.detail.time).toBeGreaterThan(0);
  // the element's API: history and vitals agree
  const seen = await page.evaluate(async () => {
    const m = document.querySelector('inference-monitor')!;
    const v = await m.vitals();
    const h = await m.alerts({ limit: 20 });
    return { vitals: v && { baseline: v.baseline.state, brightness: v.image.brightness, baseline_brightness: v.image.baseline?.brightness, firing: v.firing }, history: h.rows.map((r) => [r.rule, r.state]), bar: m.shadowRoot!.querySelector('[part=alerts]')?.textContent ?? '' };
  });
  expect(seen.vitals!.baseline).toBe('ready');
  expect(seen.vitals!.brightness).toBeLessThan(seen.vitals!.baseline_brightness!); // the last minute holds dark frames
  expect(seen.history).toContainEqual([alert.detail.ruleId, 'firing']);
  expect(seen.bar).toMatch(/alert/);
  // with notify: a notification for each firing alert (none for resolutions), titled with the rule's name
  const notes = await page.evaluate(() => (window as unknown as { __notifications: { title: string; body?: string; tag?: string }[] }).__notifications);
  const note = notes.find((n) => n.tag === `${alert.detail.ruleId}|dock-1`);
  expect(note, JSON.stringify(notes)).toBeDefined();
  expect(note!.title).toBe(alert.detail.name);
  expect(note!.body).toMatch(/^dock-1: [\d.]+ \(threshold [\d.]+\) — cause: camera$/);
  expect(notes.length).toBe((await rec.events()).filter((e: Recorded) => e.type === 'alert' && e.detail.state === 'firing').length);
  // the clip loops back to normal light at 50 s: the alert resolves (hysteresis, no flapping)
  const resolved = await waitForEvent(page, 'alert', (e) => e.detail.state === 'resolved' && e.detail.ruleId === alert.detail.ruleId, 120_000);
  expect(resolved.at).toBeGreaterThan(alert.at);
  expect(rec.pageErrors).toEqual([]);
});
