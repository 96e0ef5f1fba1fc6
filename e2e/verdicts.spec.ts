/**
 * People's verdicts (#27 part 4) on the kiosk as it ships, with the real model on the vtest camera: three frames
 * flagged; marked from the keyboard in the gallery (a thumbnail's keys, the viewer's); the badges, the inference
 * log's details and the panel's precision estimate show them; they survive a reload; the ZIP holds verdicts.json.
 */
import { readFileSync } from 'node:fs';
import { expect, type Page, test } from '@playwright/test';
import { strFromU8, unzipSync } from 'fflate';
import { recordEvents, waitForEvent } from './helpers.ts';

function monitor<T>(page: Page, fn: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(
    async ([fn, args]) => (document.querySelector('inference-monitor') as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[fn as string]!(...(args as unknown[])),
    [fn, args] as const,
  ) as Promise<T>;
}

test('verdicts: keyboard in the gallery, badges, the log, the precision estimate; kept over a reload; verdicts.json in the ZIP', async ({ page }) => {
  test.setTimeout(120_000);
  const rec = await recordEvents(page);
  await page.setViewportSize({ width: 1400, height: 1000 });
  await page.goto('/?backend=wasm&camera_id=verdicts&baseline_minutes=0.25');
  await waitForEvent(page, 'ready');
  // three frames of the real footage kept (every frame matches; at most 3 a day), no near-duplicate check
  const rules = await monitor<{ id: string }[]>(page, 'flagRules');
  await monitor(page, 'setFlagRules', [{ id: 'every', name: 'Every frame', kind: 'random', params: { probability: 1 }, limits: { perDay: 3 }, enabled: true }, rules.find((r) => r.id === 'manual')]);
  await monitor(page, 'setFlagSettings', { dedupeMinutes: 0 });
  const gallery = page.locator('inference-flag-gallery');
  await gallery.scrollIntoViewIfNeeded();
  await expect.poll(() => gallery.locator('.cell').count(), { timeout: 60_000 }).toBe(3);
  const ids = await gallery.locator('.cell').evaluateAll((cells) => cells.map((c) => c.getAttribute('data-id')!));
  const cell = (id: string) => gallery.locator(`.cell[data-id="${id}"]`);

  // a thumbnail focused: 1 (right), W (wrong)
  await cell(ids[0]!).locator('.thumb').focus();
  await page.keyboard.press('1');
  await expect(cell(ids[0]!).locator('.verdict-badge')).toHaveText(/right/);
  await cell(ids[1]!).locator('.thumb').focus();
  await page.keyboard.press('w');
  await expect(cell(ids[1]!)).toHaveAttribute('data-verdict', 'wrong');
  // the viewer open: 3 (missing something), then R changes it to right and 2 to wrong; the buttons say which
  await cell(ids[2]!).locator('.thumb').click();
  const viewer = gallery.locator('.viewer');
  await expect(viewer).toContainText(ids[2]!);
  await page.keyboard.press('3');
  await expect(viewer.locator('.verdict-missing')).toHaveAttribute('aria-pressed', 'true');
  await expect(cell(ids[2]!)).toHaveAttribute('data-verdict', 'missing');
  await page.keyboard.press('r');
  await expect(viewer.locator('.verdict-right')).toHaveAttribute('aria-pressed', 'true');
  await page.keyboard.press('0'); // cleared
  await expect(cell(ids[2]!)).toHaveAttribute('data-verdict', '');
  await page.keyboard.press('3');
  await expect(cell(ids[2]!)).toHaveAttribute('data-verdict', 'missing');

  // the panel: 1 right, 1 wrong, 1 missing on this model and camera: precision 1/2, Wilson 95 % 0.09–0.91
  const estimates = page.locator('inference-health-panel .verdict-estimates');
  await expect(estimates.locator('tr[data-camera="verdicts"]')).toContainText('precision 0.50 (0.09–0.91)', { timeout: 10_000 });
  await expect(estimates.locator('tr[data-camera="verdicts"]')).toContainText('1 / 1 / 1 · 3 verdicts');
  // the inference log's details of that frame show its verdict
  await viewer.locator('.show-in-log').click();
  const details = page.locator('inference-health-panel .details');
  await expect(details).toContainText(ids[2]!);
  await expect(details.locator('.verdict-missing')).toHaveAttribute('aria-pressed', 'true');
  // changed there, from the keyboard (a button of the details): the gallery's badge follows
  await details.locator('.verdict-wrong').focus();
  await page.keyboard.press('Enter');
  await expect(details.locator('.verdict-wrong')).toHaveAttribute('aria-pressed', 'true');
  await expect(cell(ids[2]!)).toHaveAttribute('data-verdict', 'wrong');
  // a log row focused (one not flagged; the log holds still while details are open): M
  const logId = (await page.locator('inference-health-panel tr.log-row').evaluateAll((rows, flagged) => rows.map((r) => r.getAttribute('data-id')!).find((id) => !flagged.includes(id)), ids))!;
  const logRow = page.locator(`inference-health-panel tr.log-row[data-id="${logId}"]`);
  await logRow.focus();
  await page.keyboard.press('m');
  await expect(logRow).toHaveAttribute('data-verdict', 'missing');
  await expect(logRow.locator('.verdict-badge')).toHaveText(/missing/);
  // 1 right, 2 wrong, 1 missing: precision 1/3, Wilson 95 % 0.06–0.79
  await expect(estimates.locator('tr[data-camera="verdicts"]')).toContainText('precision 0.33 (0.06–0.79)');
  await expect(estimates.locator('tr[data-camera="verdicts"]')).toContainText('1 / 2 / 1 · 4 verdicts');

  // kept over a reload
  await page.reload();
  await waitForEvent(page, 'ready');
  await gallery.scrollIntoViewIfNeeded();
  await expect.poll(() => gallery.locator('.cell').evaluateAll((cells) => cells.map((c) => c.getAttribute('data-verdict'))), { timeout: 30_000 }).toEqual(['right', 'wrong', 'wrong']);
  await expect(estimates.locator('tr[data-camera="verdicts"]')).toContainText('precision 0.33 (0.06–0.79)');

  // the ZIP: verdicts.json with the four (the log's frame without an image), and each flagged frame's in the manifest
  const [download] = await Promise.all([page.waitForEvent('download'), gallery.locator('.download-all').click()]);
  const zip = unzipSync(new Uint8Array(readFileSync(await download.path())));
  const vf = JSON.parse(strFromU8(zip['verdicts.json']!));
  expect(Object.fromEntries(vf.verdicts.map((v: { inference_id: string; verdict: string }) => [v.inference_id, v.verdict]))).toEqual({ [ids[0]!]: 'right', [ids[1]!]: 'wrong', [ids[2]!]: 'wrong', [logId]: 'missing' });
  for (const v of vf.verdicts) expect(v.image ? zip[v.image] : v.inference_id).toBeDefined();
  expect(vf.verdicts.find((v: { inference_id: string }) => v.inference_id === logId).image).toBeUndefined();
  expect(vf.estimates).toEqual([expect.objectContaining({ camera: 'verdicts', right: 1, wrong: 2, missing: 1, n: 4 })]);
  const manifest = strFromU8(zip['manifest.csv']!).split(/\r?\n/);
  expect(manifest[0]!.split(',').at(-1)).toBe('verdict');
  expect(manifest.find((l) => l.startsWith(ids[0]!))!.endsWith(',right')).toBe(true);
  expect(rec.pageErrors).toEqual([]);
});
