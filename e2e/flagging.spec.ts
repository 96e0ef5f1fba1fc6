/**
 * Flagged frames, on the kiosk as it ships (production build, strict CSP) with the real model on the vtest
 * camera: the default rules flag frames with their reasons; a frame flagged by hand (the bar's button, by
 * keyboard); the gallery shows them, opens one, links to its inference-log row and back, filters by reason;
 * the ZIP downloaded through the UI holds decodable JPEGs of the camera's size, and its COCO, YOLO, Label
 * Studio and CSV files agree on images and boxes. Then: flagged frames, the limits' counters and the cap
 * survive a reload; and when the store loses IndexedDB mid-run and falls back to memory, flagging follows it.
 */
import { readFileSync } from 'node:fs';
import { expect, type Page, test } from '@playwright/test';
import { unzipSync, strFromU8 } from 'fflate';
import { recordEvents, waitForEvent, screenshotPath } from './helpers.ts';

const DEFAULT_IDS = ['near-threshold', 'empty-frame', 'crowd', 'rare-class', 'random', 'alert', 'malformed'];

/** Calls a method of the page's <inference-monitor> (or of its store) and returns the plain result. */
function monitor<T>(page: Page, fn: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(
    async ([fn, args]) => {
      const el = document.querySelector('inference-monitor') as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      return el[fn as string]!(...(args as unknown[]));
    },
    [fn, args] as const,
  ) as Promise<T>;
}
const flagStatus = (page: Page) =>
  page.evaluate(async () => (await (document.querySelector('inference-monitor') as unknown as { store(): Promise<{ flagStatus(): Promise<any> }> }).store()).flagStatus());

/** A minimal RFC 4180 reader (quoted cells with commas, quotes and newlines). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], cell = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\n') row.push(cell.replace(/\r$/, '')), rows.push(row), (row = []), (cell = '');
    else cell += c;
  }
  if (cell || row.length) row.push(cell), rows.push(row);
  return rows;
}

test('vtest camera: default rules flag frames with reasons; a manual flag; the gallery; the ZIP through the UI agrees across COCO, YOLO, Label Studio and CSV', async ({ page }) => {
  test.setTimeout(180_000);
  const rec = await recordEvents(page);
  const csp: string[] = [];
  page.on('console', (m) => /Content Security Policy|Refused to/i.test(m.text()) && csp.push(m.text()));
  await page.setViewportSize({ width: 1400, height: 1000 });
  await page.goto('/?backend=wasm&camera_id=line-1&baseline_minutes=0.25');
  await waitForEvent(page, 'ready');

  // the defaults flag frames of the real footage, each with why
  await waitForEvent(page, 'flagged', () => true, 60_000);
  await expect.poll(async () => (await rec.events()).filter((e) => e.type === 'flagged').length, { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
  const auto = (await rec.events()).filter((e) => e.type === 'flagged');
  for (const f of auto) {
    expect(f.detail.reasons.length).toBeGreaterThan(0);
    for (const r of f.detail.reasons) expect(DEFAULT_IDS).toContain(r);
    expect([f.detail.width, f.detail.height]).toEqual([640, 480]);
    expect(f.detail.tags.camera_id).toBe('line-1');
  }
  expect(auto.some((f) => f.detail.reasons.includes('near-threshold'))).toBe(true);

  // by hand: the bar's button, from the keyboard
  const n = (await rec.events()).filter((e) => e.type === 'inference').length;
  await expect.poll(async () => (await rec.events()).filter((e) => e.type === 'inference').length, { timeout: 30_000 }).toBeGreaterThan(n + 3);
  const button = page.locator('inference-monitor').locator('[part=flag-button]');
  await button.focus();
  await page.keyboard.press('Enter');
  const manual = await waitForEvent(page, 'flagged', (e) => e.detail.reasons.includes('manual'), 15_000);
  await expect(page.locator('inference-monitor').locator('[part=flag-note]')).toContainText('Flagged');

  // the gallery: thumbnails with reason chips, newest first
  const gallery = page.locator('inference-flag-gallery');
  await gallery.scrollIntoViewIfNeeded();
  await expect.poll(() => gallery.locator('.cell').count(), { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
  await expect(gallery.locator(`.cell[data-id="${manual.detail.inferenceId}"] .chip`).first()).toHaveText('manual');
  await expect(gallery.locator('.cell .pic image').first()).toHaveAttribute('href', /^blob:/, { timeout: 15_000 });
  // filter by reason: only the manual one
  await gallery.locator('select').first().selectOption('manual');
  await expect(gallery.locator('.cell')).toHaveCount(1);
  await gallery.locator('select').first().selectOption('');
  await expect.poll(() => gallery.locator('.cell').count()).toBeGreaterThanOrEqual(3);

  await gallery.locator('.grid').scrollIntoViewIfNeeded();
  await page.locator('inference-health-panel').locator('section.gallery').screenshot({ path: screenshotPath('flag-gallery.png') });

  // open it: the full frame with its boxes and details; to its inference-log row and back
  // (frames keep being flagged while the camera runs: a new one can shift the grid under the click, which then
  // opens its neighbour — closed, and clicked again)
  const viewer = gallery.locator('.viewer');
  await expect(async () => {
    if (await viewer.isVisible()) await viewer.locator('.close').click();
    await gallery.locator(`.cell[data-id="${manual.detail.inferenceId}"] .thumb`).click();
    await expect(viewer).toContainText(manual.detail.inferenceId, { timeout: 3000 });
  }).toPass({ timeout: 60_000 });
  await expect(viewer.locator('.pic image')).toHaveAttribute('href', /^blob:/);
  await expect(viewer.locator('rect.box')).toHaveCount(manual.detail.detections.length);
  await expect(viewer).toContainText('640 × 480');
  await viewer.locator('.show-in-log').click();
  const details = page.locator('inference-health-panel .details');
  await expect(details).toContainText(manual.detail.inferenceId);
  await details.locator('.open-flagged').click();
  await expect(viewer).toContainText(manual.detail.inferenceId);

  // download everything as one ZIP, through the UI
  const before = await flagStatus(page);
  const [download] = await Promise.all([page.waitForEvent('download'), gallery.locator('.download-all').click()]);
  expect(download.suggestedFilename()).toMatch(/^flagged-frames-.*\.zip$/);
  const zip = unzipSync(new Uint8Array(readFileSync(await download.path())));
  await expect(gallery.locator('.message')).toContainText('Nothing was deleted');
  expect((await flagStatus(page)).count).toBeGreaterThanOrEqual(before.count); // a download deletes nothing

  const images = Object.keys(zip).filter((k) => k.startsWith('images/')).sort();
  expect(images.length).toBeGreaterThanOrEqual(before.count);
  const ids = images.map((k) => k.slice('images/'.length, -'.jpg'.length));
  expect(ids).toContain(manual.detail.inferenceId);
  // every JPEG decodes in the browser at the camera's size
  for (const k of images) {
    const size = await page.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const bmp = await createImageBitmap(new Blob([bytes], { type: 'image/jpeg' }));
      return [bmp.width, bmp.height];
    }, Buffer.from(zip[k]!).toString('base64'));
    expect(size).toEqual([640, 480]);
  }
  const coco = JSON.parse(strFromU8(zip['annotations.coco.json']!));
  const ls = JSON.parse(strFromU8(zip['predictions.labelstudio.json']!));
  const csv = parseCsv(strFromU8(zip['manifest.csv']!));
  const yaml = strFromU8(zip['data.yaml']!);
  expect(coco.images.map((i: { file_name: string }) => i.file_name).sort()).toEqual(ids.map((id) => `${id}.jpg`));
  expect(ls.map((t: { data: { inference_id: string } }) => t.data.inference_id).sort()).toEqual(ids);
  expect(csv.slice(1).map((r) => r[0]).sort()).toEqual(ids);
  expect(yaml).toContain('"person"');
  const person = coco.categories.find((c: { name: string }) => c.name === 'person');
  for (const id of ids) {
    const img = coco.images.find((i: { file_name: string }) => i.file_name === `${id}.jpg`);
    expect([img.width, img.height]).toEqual([640, 480]);
    const anns = coco.annotations.filter((a: { image_id: number }) => a.image_id === img.id);
    const yolo = strFromU8(zip[`labels/${id}.txt`]!).split('\n').filter(Boolean).map((l) => l.split(' ').map(Number));
    const task = ls.find((t: { data: { inference_id: string } }) => t.data.inference_id === id);
    const results = task.predictions[0].result;
    const row = csv.find((r) => r[0] === id)!;
    expect(yolo.length).toBe(anns.length);
    expect(results.length).toBe(anns.length);
    expect(Number(row[csv[0]!.indexOf('detections')])).toBe(anns.length);
    anns.forEach((a: { bbox: number[]; category_id: number }, i: number) => {
      const [x, y, w, h] = a.bbox as [number, number, number, number];
      expect(x >= 0 && y >= 0 && x + w <= 640.001 && y + h <= 480.001).toBe(true);
      const [cls, cx, cy, yw, yh] = yolo[i]!;
      expect(cls! + 1).toBe(a.category_id);
      expect(Math.abs(cx! * 640 - (x + w / 2))).toBeLessThan(0.02);
      expect(Math.abs(cy! * 480 - (y + h / 2))).toBeLessThan(0.02);
      expect(Math.abs(yw! * 640 - w)).toBeLessThan(0.02);
      expect(Math.abs(yh! * 480 - h)).toBeLessThan(0.02);
      const v = results[i].value;
      expect(Math.abs((v.x * 640) / 100 - x)).toBeLessThan(0.02);
      expect(Math.abs((v.y * 480) / 100 - y)).toBeLessThan(0.02);
      expect(Math.abs((v.width * 640) / 100 - w)).toBeLessThan(0.02);
      expect(Math.abs((v.height * 480) / 100 - h)).toBeLessThan(0.02);
      expect(v.rectanglelabels[0]).toBe(coco.categories.find((c: { id: number }) => c.id === a.category_id).name);
    });
    if (id === manual.detail.inferenceId) expect(anns.filter((a: { category_id: number }) => a.category_id === person.id).length).toBe(manual.detail.detections.filter((d: { label: string }) => d.label === 'person').length);
  }

  // the range's metrics as CSV, from the panel's controls
  const [metrics] = await Promise.all([page.waitForEvent('download'), page.locator('inference-health-panel .metrics-csv').click()]);
  const mcsv = parseCsv(readFileSync(await metrics.path(), 'utf8'));
  expect(mcsv[0]).toContain('frames');
  const framesCol = mcsv[0]!.indexOf('frames');
  expect(mcsv.slice(1).reduce((s, r) => s + Number(r[framesCol] || 0), 0)).toBeGreaterThan(0);

  expect(csp).toEqual([]);
  expect(rec.pageErrors).toEqual([]);
});

test('reload: flagged frames, the limits’ counters and the cap survive; bad rules are refused naming the rule and field', async ({ page }) => {
  test.setTimeout(180_000);
  const rec = await recordEvents(page);
  await page.goto('/?backend=wasm&camera_id=line-2&baseline_minutes=0.25');
  await waitForEvent(page, 'ready');
  const bad = await page.evaluate(async () => {
    const el = document.querySelector('inference-monitor') as unknown as { setFlagRules(r: unknown[]): Promise<unknown> };
    try {
      await el.setFlagRules([{ id: 'near', name: 'near', kind: 'close-to-threshold', params: { epsilon: 2 }, limits: {}, enabled: true }]);
      return 'accepted';
    } catch (e) {
      return (e as Error).message;
    }
  });
  expect(bad).toMatch(/flag rule 0 \(near\).*epsilon/);
  // every frame matches; at most 4 a day; the cap keeps 3
  const rules = await monitor<any[]>(page, 'flagRules');
  await monitor(page, 'setFlagRules', [{ id: 'every', name: 'Every frame', kind: 'random', params: { probability: 1 }, limits: { perDay: 4 }, enabled: true }, rules.find((r) => r.id === 'manual')]);
  await monitor(page, 'setFlagSettings', { maxFrames: 3, dedupeMinutes: 0 });
  await expect.poll(async () => (await flagStatus(page)).counters.every?.d[1], { timeout: 60_000 }).toBe(4);
  await expect.poll(async () => (await flagStatus(page)).count, { timeout: 10_000 }).toBe(3);
  const before = await flagStatus(page);
  expect(before.stats.evicted).toBe(1);
  const kept = (await monitor<{ rows: { id: string }[] }>(page, 'flagged', {})).rows.map((r) => r.id);
  expect(kept).toHaveLength(3);
  await expect(page.locator('inference-flag-gallery .eviction')).toContainText('evicted 1 of the oldest');

  await page.reload();
  await waitForEvent(page, 'ready');
  await expect.poll(async () => (await rec.events()).filter((e) => e.type === 'inference').length, { timeout: 60_000 }).toBeGreaterThan(10);
  const after = await flagStatus(page);
  expect(after.count).toBe(3);
  expect(after.counters.every.d[1]).toBe(4); // the day's limit is still used up: nothing more flagged
  expect(after.stats.limited).toBeGreaterThan(before.stats.limited);
  expect(after.stats.evicted).toBe(1);
  expect((await monitor<{ rows: { id: string }[] }>(page, 'flagged', {})).rows.map((r) => r.id)).toEqual(kept);
  expect((await monitor<any[]>(page, 'flagRules')).map((r) => r.id)).toEqual(['every', 'manual']);
  expect((await monitor<any>(page, 'flagSettings')).maxFrames).toBe(3);

  // two by hand: the cap still holds after the reload, evicting the oldest
  for (let i = 0; i < 2; i++) {
    const n = (await rec.events()).filter((e) => e.type === 'inference').length;
    await expect.poll(async () => (await rec.events()).filter((e) => e.type === 'inference').length, { timeout: 30_000 }).toBeGreaterThan(n + 1);
    const f = await monitor<{ reasons: string[] }>(page, 'flag');
    expect(f.reasons[0]).toBe('manual');
  }
  const last = await flagStatus(page);
  expect(last.count).toBe(3);
  expect(last.stats.evicted).toBe(3);
  const now = (await monitor<{ rows: { id: string }[] }>(page, 'flagged', {})).rows.map((r) => r.id);
  expect(now.slice(2)).toEqual(kept.slice(0, 1)); // the newest of the earlier ones is left; the older two went first
  expect(rec.pageErrors).toEqual([]);
});

test('storage lost mid-run (another tab takes the database at a newer version): the store falls back to memory and flagging by hand still keeps and lists frames', async ({ page, context }) => {
  test.setTimeout(180_000);
  const rec = await recordEvents(page);
  await page.goto('/?backend=wasm&camera_id=fallback&panel=off');
  await waitForEvent(page, 'ready');
  const inferences = async () => (await rec.events()).filter((e) => e.type === 'inference').length;
  const flagByHand = () =>
    page.evaluate(async () => {
      const el = document.querySelector('inference-monitor') as unknown as { flag(): Promise<{ id: string; reasons: string[] }> };
      try {
        return { frame: await el.flag() };
      } catch (e) {
        return { error: String(e) };
      }
    });
  await expect.poll(inferences, { timeout: 60_000 }).toBeGreaterThan(3);
  // one flagged while IndexedDB holds the store
  const before = await flagByHand();
  expect(before.error).toBeUndefined();

  // a newer version of the page's database, opened from another tab: the hub's connection steps aside (closes),
  // its next commits fail, and the store falls back to memory
  const other = await context.newPage();
  await other.goto('/models/centernet-coco.json');
  await other.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const req = indexedDB.open('inference-health', 99);
        req.onsuccess = () => (req.result.close(), resolve());
        req.onerror = () => reject(req.error);
      }),
  );
  await other.close();
  const status = () => page.evaluate(async () => (await (document.querySelector('inference-monitor') as any).store()).status());
  await expect.poll(async () => (await status()).mode, { timeout: 30_000 }).toBe('memory');
  expect((await status()).error).toMatch(/failed/); // 'storage failed, keeping data in memory only: …'
  await waitForEvent(page, 'error', (e) => e.detail.code === 'storage-unavailable');

  // flagging goes on, in memory: a frame flagged by hand is kept and listed
  const n = await inferences();
  await expect.poll(inferences, { timeout: 30_000 }).toBeGreaterThan(n + 2);
  const after = await flagByHand();
  expect(after.error).toBeUndefined();
  expect(after.frame!.reasons[0]).toBe('manual');
  const listed = await monitor<{ rows: { id: string }[]; total: number }>(page, 'flagged', {});
  expect(listed.rows.map((r) => r.id)).toContain(after.frame!.id);
  // the frame kept in IndexedDB before is still counted (from the in-memory index), though no longer readable here
  expect((await monitor<{ total: number }>(page, 'flagged', { ids: [before.frame!.id] })).total).toBe(1);
  await expect(page.locator('inference-monitor')).toHaveAttribute('state', 'running');
  expect(rec.pageErrors).toEqual([]);
});
