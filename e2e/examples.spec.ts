/**
 * The examples under examples/, as `npm start` serves them (the production build, strict CSP):
 * 1. the element in an existing app's layout, styled by the app (custom properties, ::part) and feeding its sidebar;
 * 2. an app running TF.js (CenterNet as a TF.js graph model, CPU backend) on the camera, reporting through the recorder;
 * 3. two cameras on one page, each its own monitor with its own tags, and one panel showing both and each.
 */
import { expect, type Page, test } from '@playwright/test';
import { recordEvents, waitForEvent } from './helpers.ts';

function cspWatch(page: Page) {
  const csp: string[] = [];
  page.on('console', (m) => /Content Security Policy|Refused to/i.test(m.text()) && csp.push(m.text()));
  return csp;
}

test('example: the monitor inside an app layout takes the app’s styling and feeds its sidebar', async ({ page }) => {
  test.setTimeout(180_000);
  const csp = cspWatch(page);
  const rec = await recordEvents(page);
  await page.goto('/examples/embed.html');
  await waitForEvent(page, 'ready', () => true, 90_000);
  await expect(page.locator('#health')).toHaveText('model: centernet-coco on wasm');
  await expect(page.locator('#health')).toHaveClass(/ok/);
  await expect(page.locator('#throughput')).toHaveText(/^\d+\.\d frames\/s · \d+ in view$/, { timeout: 60_000 });
  // the app's styling reaches inside: the bar part in the brand colour, the custom property on the stage
  const styles = await page.locator('inference-monitor').evaluate((el) => {
    const bar = el.shadowRoot!.querySelector('[part~="bar"]')!;
    return { bar: getComputedStyle(bar).backgroundColor, background: getComputedStyle(el).getPropertyValue('--im-background').trim() };
  });
  expect(styles.bar).toBe('rgb(11, 110, 79)');
  expect(styles.background).toBe('#1d2433');
  // it sits in the layout: inside the content column, beside the sidebar
  const [side, mon] = await Promise.all([page.locator('.sidebar').boundingBox(), page.locator('inference-monitor').boundingBox()]);
  expect(mon!.x).toBeGreaterThanOrEqual(side!.x + side!.width);
  expect(csp).toEqual([]);
  expect(rec.pageErrors).toEqual([]);
});

test('example: two cameras, two monitors with their own tags, one panel over both and each', async ({ page }) => {
  test.setTimeout(240_000);
  const csp = cspWatch(page);
  const rec = await recordEvents(page);
  await page.goto('/examples/two-cameras.html');
  await expect.poll(async () => (await rec.events()).filter((e) => e.type === 'ready').length, { timeout: 120_000 }).toBe(2);
  const running = () => page.evaluate(() => ['door-1', 'door-2'].map((id) => Boolean((document.getElementById(id) as any).lastResult)));
  await expect.poll(running, { timeout: 90_000 }).toEqual([true, true]);
  await page.waitForTimeout(5000);
  const q = await page.evaluate(async () => {
    const store = await (document.getElementById('door-1') as any).store();
    await store.flush();
    const range = { from: Date.now() - 600_000, to: Date.now() + 1000 };
    const [all, one, two, log1, log2] = await Promise.all([
      store.totals(range),
      store.totals({ ...range, camera_id: 'door-1' }),
      store.totals({ ...range, camera_id: 'door-2' }),
      store.log({ limit: 1, camera_id: 'door-1' }),
      store.log({ limit: 1, camera_id: 'door-2' }),
    ]);
    return { all: all.frames, one: one.frames, two: two.frames, src1: log1.rows[0]?.src, src2: log2.rows[0]?.src, g1: log1.rows[0]?.g, g2: log2.rows[0]?.g };
  });
  expect(q.one).toBeGreaterThan(0);
  expect(q.two).toBeGreaterThan(0);
  expect(q.all).toBeGreaterThanOrEqual(q.one + q.two);
  expect(q.src1).not.toBe(q.src2); // two monitors, two sources
  // each stored under its camera's condition (docs/health.md#conditions): vtest is in colour
  expect([q.g1, q.g2]).toEqual(['camera_id=door-1&condition=colour&location=dock', 'camera_id=door-2&condition=colour&location=dock']);

  // the panel: both cameras, then one through its filter (fewer frames), then the other
  const panel = page.locator('inference-health-panel');
  const framesShown = async () => Number(/(\d+) frames/.exec((await panel.locator('[data-tile=success] .detail').textContent()) ?? '')?.[1] ?? NaN);
  await expect.poll(framesShown, { timeout: 30_000 }).toBeGreaterThan(0);
  const both = await framesShown();
  await page.selectOption('#which', 'door-1');
  await expect(panel).toHaveAttribute('camera-id', 'door-1');
  await expect.poll(framesShown, { timeout: 30_000 }).toBeLessThan(both);
  await page.selectOption('#which', 'door-2');
  await expect(panel).toHaveAttribute('camera-id', 'door-2');
  await expect.poll(framesShown, { timeout: 30_000 }).toBeGreaterThan(0);
  await page.selectOption('#which', '');
  await expect(panel).not.toHaveAttribute('camera-id', /.*/);
  expect(csp).toEqual([]);
  expect(rec.pageErrors).toEqual([]);
});

test('example: an app running TF.js on the camera reports through the recorder; its panel shows the records', async ({ page }) => {
  test.setTimeout(240_000);
  const csp = cspWatch(page);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/examples/tfjs.html');
  await expect(page.locator('#status')).toHaveText(/^running/, { timeout: 120_000 });
  await expect.poll(() => page.evaluate(() => (window as any).app.results), { timeout: 120_000, intervals: [2000] }).toBeGreaterThanOrEqual(4);
  const q = await page.evaluate(async () => {
    const { recorder } = (window as any).app;
    const el = document.createElement('inference-monitor') as any;
    const store = await el.store();
    await new Promise((r) => setTimeout(r, 300)); // the recorder's next batch
    await store.flush();
    const range = { from: Date.now() - 600_000, to: Date.now() + 1000 };
    return {
      counts: recorder.counts,
      mv: recorder.modelVersion,
      totals: await store.totals({ ...range, camera_id: 'tfjs-cam' }),
      log: await store.log({ limit: 3, camera_id: 'tfjs-cam' }),
      vitals: (await store.vitals({ camera_id: 'tfjs-cam' }))[0],
    };
  });
  expect(q.counts.refused).toBe(0);
  expect(q.totals.frames).toBeGreaterThanOrEqual(3);
  expect(q.totals.classCounts[0]).toBeGreaterThan(0); // TF.js's CenterNet finds vtest's people
  expect(q.log.rows[0].b).toBe('tfjs-cpu');
  expect(q.log.rows[0].l[3]).toBeGreaterThan(0); // the app's own inference time
  // the input-image statistics from the <video>'s frames (their YUV planes, copied out in the recorder's worker)
  expect(q.counts.framesSkipped).toBe(0);
  expect(q.vitals.image.brightness).toBeGreaterThan(30);
  expect(q.vitals.image.brightness).toBeLessThan(220);
  await expect(page.locator('inference-health-panel [data-tile=model] .value')).toContainText(q.mv, { timeout: 30_000 });
  expect(csp).toEqual([]);
  expect(errors).toEqual([]);
});
