/**
 * The health panel as it ships (production build, strict CSP): inside the kiosk next to the video, and
 * alone on the history page (no camera) reading what the kiosk recorded. Tiles, uPlot charts, the
 * virtualised inference log with details, keyboard use, axe, inert rendering of HTML in labels and
 * metadata, and the screenshots in docs/.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expect, type Page, test } from '@playwright/test';
import { manifest, recordEvents, waitForEvent, screenshotPath } from './helpers.ts';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const EVIL_LABEL = '<img src=x onerror="window.__xss=1">person';
const EVIL_CAMERA = '<script>window.__xss=2</script>cam';
const EVIL_LOCATION = '<b onmouseover="window.__xss=3">line</b>';

async function cspWatch(page: Page) {
  const csp: string[] = [];
  page.on('console', (m) => /Content Security Policy|Refused to/i.test(m.text()) && csp.push(m.text()));
  return csp;
}

test('kiosk with its panel: tiles, charts, log and details fill in from the live monitor; HTML in labels and metadata stays text', async ({ page }) => {
  test.setTimeout(180_000);
  const rec = await recordEvents(page);
  const csp = await cspWatch(page);
  // the model's first label and the camera's tags carry markup: all of it must render as text
  await page.route('**/models/centernet-coco.json', async (route) => {
    const res = await route.fetch();
    const served = await res.json();
    served.labels[0] = EVIL_LABEL;
    await route.fulfill({ response: res, json: served });
  });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`/?model=models/centernet-coco.json&backend=wasm&baseline_minutes=0.25&camera_id=${encodeURIComponent(EVIL_CAMERA)}&location=${encodeURIComponent(EVIL_LOCATION)}`);
  await waitForEvent(page, 'ready', () => true, 60_000);
  await waitForEvent(page, 'inference', (e) => e.detail.detections.length > 0, 60_000);
  const panel = page.locator('inference-monitor inference-health-panel');
  await expect(panel).toHaveAttribute('theme', 'dark');
  // tiles: all twelve, with states; the live ones filled in
  // the live vitals add the detections tile (the rate against the baseline's) and, once boxes are tracked, flicker
  await expect(panel.locator('.tile')).toHaveCount(12, { timeout: 30_000 });
  await expect(panel.locator('[data-tile=detections] .value')).toHaveText(/^\d+\.\d\d$/, { timeout: 30_000 });
  await expect(panel.locator('[data-tile=flicker] .value')).toHaveText(/^\d+\.\d %$/, { timeout: 30_000 });
  await expect(panel.locator('[data-tile=flicker] .detail')).toContainText(/\d+ blinks, \d+ flips of \d+ boxes/);
  await expect(panel.locator('[data-tile=fps] .value')).not.toHaveText('–', { timeout: 30_000 });
  await expect(panel.locator('[data-tile=model] .value')).toContainText(`${manifest.sha256.slice(0, 12)} · wasm`);
  await expect(panel.locator('[data-tile=camera] .value')).toHaveText('running');
  await expect(panel.locator('[data-tile=success] .value')).toHaveText('100.0 %', { timeout: 30_000 });
  // per class, live against the baseline: people counted, their confidence distribution beside the baseline's
  const person = panel.locator('.classes tr[data-class="0"]');
  await expect(person.locator('th')).toHaveText(EVIL_LABEL, { timeout: 30_000 });
  await expect(panel.locator('#classes-title')).toContainText('against the baseline', { timeout: 30_000 });
  await expect(person.locator('td').nth(0)).toHaveText(/^\d+ \/ \d+$/);
  await expect(person.locator('td').nth(2)).toHaveText('ok');
  await expect(person.locator('td').nth(3)).toHaveText(/^0\.\d{3} \/ 0\.\d{3}$/);
  await expect(person.locator('td').nth(4)).toHaveText(/^0\.\d\d – 0\.\d\d \/ 0\.\d\d – 0\.\d\d$/);
  // charts: five uPlot canvases
  await expect(panel.locator('figure .uplot canvas')).toHaveCount(5, { timeout: 30_000 });
  // the log fills in, newest first; a row opens its details (keyboard too)
  const rows = panel.locator('tr.log-row');
  await expect(rows.first()).toBeVisible({ timeout: 30_000 });
  await expect.poll(() => rows.count(), { timeout: 30_000 }).toBeGreaterThan(3);
  const firstText = await rows.first().locator('td').nth(3).textContent();
  expect(firstText).toContain(EVIL_LABEL); // the label, as text
  await rows.first().focus();
  await page.keyboard.press('Enter');
  const details = panel.locator('.details');
  await expect(details).toBeVisible();
  await expect(details).toContainText(EVIL_CAMERA);
  await expect(details).toContainText(EVIL_LOCATION);
  await expect(details).toContainText('inference');
  // nothing from the markup became an element or ran
  const injected = await page.evaluate(() => {
    const all: Element[] = [];
    const walk = (root: Document | ShadowRoot) => {
      for (const el of root.querySelectorAll('*')) {
        all.push(el);
        if (el.shadowRoot) walk(el.shadowRoot);
      }
    };
    walk(document);
    return { imgs: all.filter((e) => e.tagName === 'IMG').length, scripts: all.filter((e) => e.tagName === 'SCRIPT' && !(e as HTMLScriptElement).src).length, bold: all.filter((e) => e.tagName === 'B').length, xss: (window as unknown as { __xss?: number }).__xss ?? null };
  });
  expect(injected).toEqual({ imgs: 0, scripts: 0, bold: 0, xss: null });
  // uPlot's legend shows the label as text as well
  await expect(panel.locator('.u-legend').filter({ hasText: EVIL_LABEL }).first()).toBeVisible({ timeout: 30_000 });
  expect(csp).toEqual([]);
  expect(rec.pageErrors).toEqual([]);
});

test('history page: the panel alone reads the recorded history; ranges, filters, keyboard, axe; sidebar and theme screenshots', async ({ page, context }) => {
  test.setTimeout(180_000);
  // record some history with the kiosk, then close it
  const kiosk = await context.newPage();
  await recordEvents(kiosk);
  await kiosk.setViewportSize({ width: 1280, height: 800 });
  await kiosk.goto('/?backend=wasm&camera_id=line-7&location=hall%20B');
  await waitForEvent(kiosk, 'ready', () => true, 60_000);
  await waitForEvent(kiosk, 'inference', (e) => e.detail.detections.length > 0, 60_000);
  await expect(kiosk.locator('inference-health-panel tr.log-row').first()).toBeVisible({ timeout: 30_000 });
  await kiosk.waitForTimeout(6000);
  await kiosk.screenshot({ path: screenshotPath('panel-kiosk.png') }); // the kiosk full screen: video, and its panel beside it
  await kiosk.close();

  const csp = await cspWatch(page);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.setViewportSize({ width: 400, height: 1100 });
  await page.goto('/panel.html?camera_id=line-7&theme=light&range=5m');
  const panel = page.locator('inference-health-panel');
  await expect(panel.locator('tr.log-row').first()).toBeVisible({ timeout: 30_000 });
  await expect(panel.locator('[data-tile=success] .value')).toHaveText('100.0 %');
  await expect(panel.locator('[data-tile=camera] .value')).toHaveText('–'); // no monitor on this page
  await expect(panel.locator('[data-tile=fps] .value')).not.toHaveText('–'); // from the recorded history
  await expect(panel.locator('[data-tile=fps] .detail')).toContainText('recorded');
  // the camera filter lists what was recorded, and is the one applied
  await expect(panel.locator('select').first()).toHaveValue('line-7');
  const tags = await panel.locator('tr.log-row').first().locator('td').nth(4).textContent();
  expect(tags).toContain('camera_id=line-7');
  // the condition filter lists the conditions the hub recorded the frames under, by name, and filters by them
  const condition = panel.locator('label', { hasText: 'Condition' }).locator('select');
  await expect.poll(() => condition.locator('option').count(), { timeout: 15_000 }).toBeGreaterThan(1);
  const ids = await condition.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value).filter(Boolean));
  expect(ids.every((id) => /^(colour|mono)(-\d+)?$/.test(id))).toBe(true);
  await expect(condition.locator('option').nth(1)).toHaveText(/^(day colour|night IR)( \d+)?$/);
  expect(tags).toMatch(new RegExp(`condition=(${ids.join('|')})`));
  await condition.selectOption(ids[0]!);
  await expect(panel).toHaveAttribute('condition', ids[0]!);
  await expect(panel.locator('tr.log-row').first().locator('td').nth(4)).toContainText(`condition=${ids[0]}`);
  await condition.selectOption('');
  await expect(panel).toHaveAttribute('condition', '');
  // keyboard: tab to the range buttons and pick 1 h
  await panel.locator('.ranges button').first().focus();
  await page.keyboard.press('Tab');
  await expect(panel.locator('.ranges button').nth(1)).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(panel.locator('.ranges button').nth(1)).toHaveAttribute('aria-pressed', 'true');
  await expect(panel).toHaveAttribute('range', '1h');
  // drag across a chart to zoom: the range becomes the dragged span
  const chart = panel.locator('[data-chart=confidence] .u-over');
  const box = (await chart.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await expect(panel).toHaveAttribute('range', 'custom');
  await expect(panel.locator('input[type=datetime-local]')).toHaveCount(2);
  await panel.locator('.ranges button').nth(1).click();
  await expect(panel).toHaveAttribute('range', '1h');
  // hidden page: no refreshes
  const refreshesWhile = async (ms: number) =>
    panel.evaluate(async (el, ms) => {
      let n = 0;
      const count = () => n++;
      el.addEventListener('refreshed', count);
      await new Promise((r) => setTimeout(r, ms));
      el.removeEventListener('refreshed', count);
      return n;
    }, ms);
  expect(await refreshesWhile(2500)).toBeGreaterThan(0);
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await page.waitForTimeout(300);
  expect(await refreshesWhile(2500)).toBe(0);
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'visible' });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  // back to every camera
  await panel.locator('select').first().selectOption('');
  await expect(panel).toHaveAttribute('camera-id', '');
  await page.waitForTimeout(1500);
  await page.screenshot({ path: screenshotPath('panel-sidebar.png'), fullPage: true });

  // axe on the panel (light and dark)
  await page.evaluate(axeSource);
  for (const theme of ['light', 'dark']) {
    await panel.evaluate((el, t) => el.setAttribute('theme', t), theme);
    await page.waitForTimeout(300);
    const result = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: { id: string; impact: string; nodes: { target: unknown }[] }[] }> } }).axe;
      const r = await axe.run(document, { resultTypes: ['violations'] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target)) }));
    });
    expect(result, `axe (${theme})`).toEqual([]);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.waitForTimeout(800);
  await page.screenshot({ path: screenshotPath('panel-dark.png'), fullPage: true });
  expect(csp).toEqual([]);
  expect(errors).toEqual([]);
});
