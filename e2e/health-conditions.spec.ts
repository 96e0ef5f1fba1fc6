/**
 * A camera's conditions (#29) on real footage in the kiosk: a compressed day — vtest's first 10 s looped, 40 s in colour, then 30 s of
 * it through a camera's night IR mode (grey, darker, flatter, noisy), looping (fixtures/vtest-daynight.y4m). The day's
 * baseline is learnt first (15 s); the first night is a new condition, learnt and shown as learning — no alert —;
 * the later switches are known (a `switched` event, no alert); after a reload both conditions are still known and
 * the next switch is one of them. The night's faults (covered, defocused, bumped), a dusk and a lamp failing are
 * proven on the same pictures in test/health-conditions.test.ts.
 */
import { expect, test } from '@playwright/test';
import { recordEvents, type Recorded, waitForEvent } from './helpers.ts';

test('a compressed day: the first night is learnt ("learning" shown, no alert), later switches raise nothing, both conditions kept across a reload', async ({ page }) => {
  test.setTimeout(330_000);
  const rec = await recordEvents(page);
  await page.goto('/?backend=wasm&camera_id=gate-2&baseline_minutes=0.25');
  await waitForEvent(page, 'ready', () => true, 60_000);
  const learning = await waitForEvent(page, 'condition', (e) => e.detail.state === 'learning', 150_000);
  expect(learning.detail).toMatchObject({ to: 'mono', name: 'night IR', from: 'colour', camera: 'gate-2' });
  // the panel says so plainly while it learns, with a person's two answers
  const section = page.locator('inference-monitor inference-health-panel [part=conditions]');
  await expect(section.locator('.learning')).toContainText(/New condition: night IR — learning, \d+ of 15 s/, { timeout: 15_000 });
  await expect(section.locator('button.accept-condition')).toBeVisible();
  await expect(section.locator('button.refuse-condition')).toBeVisible();
  await waitForEvent(page, 'condition', (e) => e.detail.state === 'learnt' && e.detail.to === 'mono', 60_000);
  const day = await waitForEvent(page, 'condition', (e) => e.detail.state === 'switched' && e.detail.to === 'colour', 90_000);
  expect(day.detail).toMatchObject({ from: 'mono', name: 'day colour' });
  const night = await waitForEvent(page, 'condition', (e) => e.detail.state === 'switched' && e.detail.to === 'mono' && e.at > day.at, 90_000);
  await expect(section.locator('.current')).toContainText(/Now: (night IR|day colour)/);
  await expect(section.locator('.condition-changes li[data-state=switched]').first()).toBeVisible();
  const summary = await page.evaluate(() => document.querySelector('inference-monitor')!.conditions());
  expect(summary!.known.map((k) => k.id).sort()).toEqual(['colour', 'mono']);
  const history = await page.evaluate(() => document.querySelector('inference-monitor')!.conditionEvents());
  expect(history.map((e) => `${e.state} ${e.to}`).reverse().slice(0, 4)).toEqual(['learning mono', 'learnt mono', 'switched colour', 'switched mono']);
  // no alert of the picture or of the model's output in all that: only the machine's own (a loaded CI runner's latency) may fire
  const fired = (await rec.events()).filter((e: Recorded) => e.type === 'alert' && e.detail.state === 'firing');
  test.info().annotations.push({ type: 'alerts fired', description: JSON.stringify(fired.map((e) => [e.detail.ruleId, e.detail.cause])) }, { type: 'switch delays', description: JSON.stringify({ night: night.detail.t, day: day.detail.t }) });
  const timeline = (await rec.events()).filter((e: Recorded) => e.type === 'condition' || (e.type === 'alert' && e.detail.state === 'firing')).map((e) => `${((e.at - learning.at) / 1000).toFixed(0)}s ${e.type} ${e.detail.state} ${e.detail.ruleId ?? e.detail.to} ${e.detail.cause ?? ''} ${e.detail.evidence ?? ''}`);
  test.info().annotations.push({ type: 'timeline (from the first learning)', description: timeline.join(' | ') });
  expect(fired.filter((e) => e.detail.cause !== 'runtime').map((e) => e.detail.ruleId)).toEqual([]);

  // a reload: both conditions kept (IndexedDB); the next switch is to a known one, nothing is learnt again
  const reloadedAt = Date.now();
  await page.reload();
  await waitForEvent(page, 'ready', (e) => e.at > reloadedAt, 60_000);
  const next = await waitForEvent(page, 'condition', (e) => e.at > reloadedAt, 100_000);
  expect(next.detail.state).toBe('switched');
  const after = (await rec.events()).filter((e: Recorded) => e.at > reloadedAt);
  expect(after.filter((e) => e.type === 'condition' && e.detail.state !== 'switched')).toEqual([]);
  expect(after.filter((e) => e.type === 'alert' && e.detail.state === 'firing' && e.detail.cause !== 'runtime').map((e) => e.detail.ruleId)).toEqual([]);
  const kept = await page.evaluate(() => document.querySelector('inference-monitor')!.conditions());
  expect(kept!.known.map((k) => k.id).sort()).toEqual(['colour', 'mono']);
  expect(rec.pageErrors).toEqual([]);
});
