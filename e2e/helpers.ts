import type { Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where a test's screenshot goes: under test-results/screenshots/ (never over a tracked file), or docs/ when
 * `npm run screenshots` refreshes the docs' images on purpose (UPDATE_SCREENSHOTS=1).
 */
export const screenshotPath = (name: string) => join(process.env.UPDATE_SCREENSHOTS ? 'docs' : join('test-results', 'screenshots'), name);

export const manifest = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'models', 'centernet-coco.json'), 'utf8'));

export interface Recorded {
  type: 'ready' | 'inference' | 'error' | 'alert' | 'flagged' | 'condition';
  detail: any;
  at: number;
}

/** Records the monitor's events (they bubble and are composed) and page errors, from before the page loads. */
export async function recordEvents(page: Page) {
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.addInitScript(() => {
    const w = window as unknown as { __events: unknown[] };
    w.__events = [];
    for (const type of ['ready', 'inference', 'error', 'alert', 'flagged', 'condition'])
      document.addEventListener(type, (e) => {
        if (e instanceof CustomEvent) w.__events.push({ type, detail: JSON.parse(JSON.stringify(e.detail)), at: Date.now() });
      });
    window.addEventListener('unhandledrejection', (e) => w.__events.push({ type: 'unhandledrejection', detail: String(e.reason), at: Date.now() }));
  });
  return {
    pageErrors,
    events: () => page.evaluate(() => (window as unknown as { __events: Recorded[] }).__events),
  };
}

/** Polls (from Node, so nothing is evaluated as code inside the CSP-protected page) for a recorded event. */
export async function waitForEvent(
  page: Page,
  type: Recorded['type'],
  pred: (e: Recorded) => boolean = () => true,
  timeout = 60_000,
): Promise<Recorded> {
  const end = Date.now() + timeout;
  for (;;) {
    const all = await page.evaluate(() => (window as unknown as { __events: Recorded[] }).__events);
    const hit = all.find((e) => e.type === type && pred(e));
    if (hit) return hit;
    if (Date.now() > end)
      throw new Error(`no '${type}' event matched within ${timeout} ms; saw: ${JSON.stringify(all.map((e) => [e.type, e.type === 'error' ? e.detail : ''])).slice(0, 800)}`);
    await page.waitForTimeout(250);
  }
}

/**
 * Serves `models/<name>` as the default model's manifest with its normalisation scale set to `scale` (the same
 * ONNX file behind another manifest: a new deployment, e.g. pixels ÷ 255 or × 2.5).
 */
export async function serveScaledManifest(page: Page, name: string, scale: number) {
  await page.route(`**/models/${name}`, async (route) => {
    try {
      const res = await route.fetch({ url: route.request().url().replace(name, 'centernet-coco.json') });
      const m = await res.json();
      m.input.normalization.scale = scale;
      await route.fulfill({ response: res, json: m });
    } catch (e) {
      // the page moved on (a reload, a new model) while the manifest was fetched: its request is gone with it
      if (!/disposed|closed|Target/i.test(String(e))) throw e;
    }
  });
}
