/** The blind deployment's checks, shared by e2e/health-blind.spec.ts (by day) and e2e/health-night.spec.ts (at night). */
import { expect, type Page, test } from '@playwright/test';
import { type Recorded, waitForEvent } from './helpers.ts';

/** Waits until the element's stream has its own baseline (learnt, and so stored). */
export async function baselineReady(page: Page) {
  await expect
    .poll(async () => page.evaluate(async () => (await document.querySelector('inference-monitor')!.vitals())?.baseline.state), { timeout: 90_000, intervals: [1000] })
    .toBe('ready');
}

/** The first blind frame (no detections), then the collapse alert: within 30 s of it, with the cause `model`. */
export async function expectBlindAlert(page: Page, events: () => Promise<Recorded[]>, deployment: string) {
  const firstBlind = await waitForEvent(page, 'inference', (e) => e.detail.detections.length === 0 && e.detail.deployment === deployment, 60_000);
  const alert = await waitForEvent(page, 'alert', (e) => e.at >= firstBlind.at && e.detail.state === 'firing' && e.detail.ruleId === 'detections-collapse', 60_000);
  const delay = (alert.at - firstBlind.at) / 1000;
  test.info().annotations.push({ type: 'detection delay (s)', description: delay.toFixed(1) }, { type: 'alert', description: JSON.stringify(alert.detail) });
  expect(delay).toBeLessThanOrEqual(30);
  expect(alert.detail).toMatchObject({ severity: 'critical', cause: 'model' });
  // the 10-s window it fired on: blind frames, and maybe the last few of the deployment before (0 when wholly blind)
  expect(alert.detail.value).toBeLessThan(alert.detail.threshold);
  expect(alert.detail.value).toBeLessThanOrEqual(0.1);
  expect(alert.detail.evidence).toContain(`new deployment ${deployment}`);
  // blind frames since the switch: (nearly) none detected anything
  const after = (await events()).filter((e) => e.type === 'inference' && e.at >= firstBlind.at);
  expect(after.filter((e) => e.detail.detections.length > 0).length).toBeLessThanOrEqual(after.length * 0.02);
  // the vitals: compared with the previous deployment's baseline, the output signals silent, no stale confidence
  const vitals = () =>
    page.evaluate(async () => {
      const x = (await document.querySelector('inference-monitor')!.vitals())!;
      return { baseline: x.baseline, detections: x.detections };
    });
  const v = await vitals();
  expect(v.baseline).toMatchObject({ state: 'comparing', deployment });
  expect(v.baseline.previous!.deployment).not.toBe(deployment);
  // the last 10–15 s of frames: all blind once the switch is that far behind (an alert that came sooner may still
  // have the last frames of the deployment before in them)
  await expect.poll(async () => (await vitals()).detections.recentPerFrame, { timeout: 15_000 }).toBe(0);
  // no detections to read: an alarm, not no-data (the chart judges whole 10-s windows: the next one at the latest)
  await expect
    .poll(async () => page.evaluate(async () => (await document.querySelector('inference-monitor')!.signals()).filter((s) => s.status === 'silent').map((s) => s.rule)), { timeout: 20_000 })
    .toContain('confidence-ewma');
  return alert;
}
