/**
 * The headless recorder in a real browser (e2e/pages/recorder.ts: an app running its own detector on the
 * vtest camera): its records reach the same store as a monitor's (totals, log, vital signs with image
 * statistics from its frames; none without frames), bad input is refused with the field named and never
 * throws, a recorded frame can be flagged (a JPEG from the recorder's worker), and the health panel shows it.
 */
import { expect, test } from '@playwright/test';

const PAGE = `http://127.0.0.1:${Number(process.env.E2E_DEV_PORT ?? 5199)}/e2e/pages/recorder.html`;

test('an app with its own model reports through createRecorder: store, vitals, refusals, flagging, panel', async ({ page }) => {
  test.setTimeout(180_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(PAGE);
  await page.evaluate(() => (window as any).app.started);
  await expect.poll(() => page.evaluate(() => (window as any).app.ids.length), { timeout: 60_000 }).toBeGreaterThanOrEqual(30);

  // bad input: refused (null), an error event naming the field, nothing thrown
  const refused = await page.evaluate(async () => {
    const { withFrames, errors } = (window as any).app;
    const out = [
      withFrames.record({ detections: [{ classId: -1, label: 'x', score: 0.5, box: [0, 0, 1, 1] }] }),
      withFrames.record({ timings: { inference: 'slow' }, detections: [] }),
      withFrames.record({ detections: 'none' }),
      withFrames.record({ detections: [{ classId: 0, score: 2, box: [0, 0, 1, 1] }] }),
    ];
    await new Promise((r) => setTimeout(r, 50));
    return { out, errors: errors.slice(-4) };
  });
  expect(refused.out).toEqual([null, null, null, null]);
  expect(refused.errors.map((e: { field: string }) => e.field)).toEqual(['detections.0.classId', 'timings.inference', 'detections', 'detections.0.score']);

  // flag the frame just recorded (its record still queued in the page): delivered first, then the recorder's
  // worker encodes it
  const flagged = await page.evaluate(async () => {
    const { withFrames, ids } = (window as any).app;
    const f = await withFrames.flag(ids.at(-1));
    return { id: f.id, bytes: f.bytes, width: f.width, height: f.height, reasons: f.reasons };
  });
  expect(flagged.bytes).toBeGreaterThan(1000);
  expect([flagged.width, flagged.height]).toEqual([640, 480]);
  expect(flagged.reasons).toContain('manual');
  // annotate an inference after the fact: in the log, merged, a bad key refused with its name
  const annotated = await page.evaluate(async () => {
    const { withFrames, ids } = (window as any).app;
    const id = ids.at(-3);
    await withFrames.annotate(id, { lot: 'L-17', verdict: 'ok' });
    const a = await withFrames.annotate(id, { verdict: 'scrap', weight: 12.5 });
    let refused = '';
    try {
      await withFrames.annotate(id, { 'bad key': 'x' });
    } catch (e) {
      refused = (e as Error).message;
    }
    return { id, meta: a.meta, refused };
  });
  expect(annotated.meta).toEqual({ lot: 'L-17', verdict: 'scrap', weight: '12.5' });
  expect(annotated.refused).toMatch(/^metadata\.bad key: a key is/);

  await page.evaluate(() => (window as any).app.stop());
  // a flagged frame's JPEG is the frame recorded: its pixels (copied out of the app's canvas as they were, in the canvas's own
  // channel order) match what the app drew, channel by channel, on an 8×8 grid of cell means
  const match = await page.evaluate(async () => {
    const { withFrames, canvas } = (window as any).app;
    const id = withFrames.record({ timings: { inference: 1 }, detections: [{ classId: 0, label: 'light', score: 0.5, box: [0, 0, 64, 64] }], frame: canvas });
    const f = await withFrames.flag(id);
    const store = await (document.createElement('inference-monitor') as any).store();
    const blob: Blob = await store.flaggedImage(f.id);
    const cells = (src: CanvasImageSource) => {
      const c = new OffscreenCanvas(8, 8), x = c.getContext('2d')!;
      x.drawImage(src, 0, 0, 8, 8);
      return Array.from(x.getImageData(0, 0, 8, 8).data);
    };
    const a = cells(canvas), b = cells(await createImageBitmap(blob));
    const diffs = a.map((v, i) => (i % 4 === 3 ? 0 : Math.abs(v - b[i]!)));
    const spread = Math.max(...a.filter((_, i) => i % 4 === 0)) - Math.min(...a.filter((_, i) => i % 4 === 0));
    return { meanDiff: diffs.reduce((s, d) => s + d, 0) / ((diffs.length * 3) / 4), spread };
  });
  expect(match.spread).toBeGreaterThan(40); // a real picture, not a flat one
  expect(match.meanDiff).toBeLessThan(6); // the same picture (JPEG's loss only), not another frame or swapped channels

  await page.evaluate((id) => ((window as any).__annotated = id), annotated.id);
  const q = await page.evaluate(async () => {
    const { withFrames, noFrames, ids } = (window as any).app;
    const el = document.createElement('inference-monitor') as any; // only for its store() accessor
    const store = await el.store();
    await withFrames.close();
    await noFrames.close();
    const now = Date.now();
    const range = { from: now - 10 * 60_000, to: now + 1000 };
    const cams = ['rec-cam', 'rec-noframe'];
    return {
      recorded: ids.length,
      counts: withFrames.counts,
      mv: withFrames.modelVersion,
      totals: await Promise.all(cams.map((c) => store.totals({ ...range, camera_id: c }))),
      log: await store.log({ limit: 5, camera_id: 'rec-cam' }),
      annotatedRow: (await store.log({ limit: 1000, camera_id: 'rec-cam' })).rows.find((r: { id: string }) => r.id === (window as any).__annotated),
      vitals: await Promise.all(cams.map(async (c) => (await store.vitals({ camera_id: c }))[0])),
    };
  });
  // every record arrived once
  expect(q.totals[0].frames).toBe(q.counts.recorded);
  expect(q.totals[0].successRate).toBe(1);
  expect(q.totals[0].classCounts[0]).toBe(q.counts.recorded);
  expect(q.totals[1].frames).toBeGreaterThanOrEqual(q.recorded - 1);
  expect(q.log.rows[0].mv).toBe(q.mv);
  expect(q.log.rows[0].b).toBe('js');
  // stored under its camera's condition (docs/health.md#conditions): its frames are in colour
  expect(q.log.rows[0].g).toBe('camera_id=rec-cam&condition=colour&location=bench%202');
  expect(q.annotatedRow.annotations).toEqual({ lot: 'L-17', verdict: 'scrap', weight: '12.5' });
  // vital signs: image statistics from the frames; none without
  const [withImg, without] = q.vitals;
  expect(withImg.reliability.frames).toBeGreaterThan(0);
  expect(withImg.image.brightness).toBeGreaterThan(0);
  expect(withImg.latency.inference.p50).toBeGreaterThan(0);
  expect(without.reliability.frames).toBeGreaterThan(0);
  expect(Number.isNaN(without.image.brightness) || without.image.brightness === null).toBe(true);

  // the health panel on the page reads the same store: the recorder's model version and backend
  await expect(page.locator('inference-health-panel [data-tile=model] .value')).toContainText(`${q.mv}`, { timeout: 30_000 });
  expect(pageErrors).toEqual([]);
});
