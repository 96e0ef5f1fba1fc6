/**
 * Unchanged footage does not alarm: the kiosk on the plain vtest clip learns a baseline from 42 s (one loop
 * of the clip) and then watches for 50 s more — no alert fires, every drift signal has a value, and the vitals are filled in.
 */
import { expect, test } from '@playwright/test';
import { recordEvents, waitForEvent } from './helpers.ts';

test('unchanged footage: baseline learnt, drift signals evaluated, zero alerts after it', async ({ page }) => {
  test.setTimeout(240_000);
  const rec = await recordEvents(page);
  await page.goto('/?backend=wasm&camera_id=steady-1&baseline_minutes=0.7&panel=off');
  await waitForEvent(page, 'ready', () => true, 60_000);
  await expect(page.locator('inference-health-panel')).toHaveCount(0); // panel="off": the video alone
  const first = await waitForEvent(page, 'inference', () => true, 30_000);
  expect(first.detail.image.brightness).toBeGreaterThan(20);
  expect(first.detail.image.sharpness).toBeGreaterThan(0);
  expect(first.detail.image.thumb).toBeDefined();
  // baseline (42 s: one loop of the 40-s clip) then 50 s of watching
  await page.waitForTimeout(95_000);
  const state = await page.evaluate(async () => {
    const m = document.querySelector('inference-monitor')!;
    const v = (await m.vitals())!;
    const s = await m.signals();
    const store = await m.store();
    const series = await store.series({ from: Date.now() - 5 * 60_000, to: Date.now(), camera_id: 'steady-1' });
    return {
      v: JSON.parse(JSON.stringify(v)),
      signals: s.map((x) => ({ rule: x.rule, status: x.status, value: x.value, threshold: x.threshold })),
      series: { uptime: series.uptime.filter(Number.isFinite), brightness: series.image.br.filter(Number.isFinite), scene: series.image.sc.filter(Number.isFinite), p90: series.confP90.filter(Number.isFinite) },
    };
  });
  const alerts = (await rec.events()).filter((e) => e.type === 'alert');
  test.info().annotations.push({ type: 'signals', description: JSON.stringify(state.signals) });
  expect(alerts.map((a) => [a.detail.ruleId, a.detail.state, a.detail.value])).toEqual([]);
  expect(state.v.baseline.state).toBe('ready');
  const byRule = Object.fromEntries(state.signals.map((s) => [s.rule, s]));
  for (const rule of ['detections-collapse', 'brightness-ewma', 'brightness-cusum', 'confidence-ewma', 'confidence-cusum', 'sharpness-ewma', 'scene-ewma', 'confidence-psi', 'classes-minute', 'latency-creep', 'success-rate'])
    expect(byRule[rule], rule).toMatchObject({ status: 'ok' });
  expect(state.v.reliability.successRate).toBe(1);
  expect(state.v.reliability.fps).toBeGreaterThan(1);
  expect(state.v.reliability.uptime).toBe(1);
  expect(state.v.image.scene).toBeLessThan(0.2);
  expect(state.v.latency.inference.p50).toBeGreaterThan(0);
  expect(state.v.consistency.perMinute[0]).toBeGreaterThan(0); // people
  // per class against the baseline: people's counts per minute and hour, and their confidence distribution, unchanged
  const people = state.v.confidence.perClass[0];
  expect(people.count).toBeGreaterThan(0);
  expect(people.p10).toBeLessThanOrEqual(people.p90);
  expect(people.baselineP90).toBeGreaterThan(0.3);
  expect(people.psi).toBeLessThan(people.psiThreshold);
  expect(state.v.consistency.classes[0]).toMatchObject({ change: 'ok' });
  expect(state.v.consistency.perHour[0] / state.v.consistency.baselinePerHour[0]).toBeGreaterThan(0.5);
  expect(state.v.consistency.perHour[0] / state.v.consistency.baselinePerHour[0]).toBeLessThan(2);
  expect(byRule['class-confidence-psi']).toMatchObject({ status: 'ok' });
  // rules through the element: a bad rule is refused with a message naming it, a good change is kept
  const rules = await page.evaluate(async () => {
    const m = document.querySelector('inference-monitor')!;
    const before = await m.rules();
    let refused = '';
    try {
      await m.setRules([{ ...before[0]!, window: 5 }]);
    } catch (e) {
      refused = (e as Error).message;
    }
    const changed = before.map((r) => (r.id === 'latency-creep' ? { ...r, threshold: 2 } : r));
    await m.setRules(changed);
    return { refused, count: before.length, after: (await m.rules()).find((r) => r.id === 'latency-creep')!.threshold, stillDefault: (await m.rules()).length };
  });
  expect(rules.refused).toMatch(/rule 0 \(frames-stalled\): window/);
  expect(rules.after).toBe(2);
  expect(rules.stillDefault).toBe(rules.count);
  // recorded for the panel: image statistics, scene distance once the baseline exists, uptime from the page's samples
  expect(state.series.brightness.length).toBeGreaterThan(3);
  expect(state.series.scene.length).toBeGreaterThan(0);
  expect(state.series.uptime).toContain(1);
  expect(state.series.p90.every((p: number) => p >= 0.3 && p <= 1)).toBe(true);
  expect(rec.pageErrors).toEqual([]);
});
