/**
 * Label Studio's own labelling front end (`@heartexlabs/label-studio` 1.4.0, the build it ships, on a test page the
 * dev server serves: e2e/pages/labelstudio.ts) opens a real export (test/interop/real-export.ts: the default model's
 * detections on vtest frames, a covered lens and a photo, exported by the monitor's ZIP writer): its
 * labelstudio-config.xml with each task of its predictions.labelstudio.json, the task's image fetched by the path
 * the task names (served from the ZIP). Asserted on what Label Studio holds and renders, not on our own reading:
 * each prediction with its model version, its regions with their labels, scores and boxes, as the ZIP has them.
 */
import { expect, test } from '@playwright/test';
import { strFromU8 } from 'fflate';
import { makeRealExport, type RealExport } from '../test/interop/real-export.ts';
import type { LabelStudioTask } from '../src/flagging/export/labelstudio.ts';

const PAGE = `http://127.0.0.1:${process.env.E2E_DEV_PORT ?? 5199}/e2e/pages/labelstudio.html`;

interface Report {
  data: Record<string, string>;
  labels: string[];
  image: { src: string; naturalWidth: number; naturalHeight: number };
  predictions: {
    type: string;
    pk: string;
    createdBy: string;
    editable: boolean;
    selected: boolean;
    regions: { id: string; type: string; labels: string[]; score: number | null; origin: string }[];
    result: { id: string; type: string; from_name: string; to_name: string; original_width: number; original_height: number; value: Record<string, unknown>; score?: number }[];
  }[];
}

declare const openTask: (config: string, task: LabelStudioTask, id: number) => Promise<void>;
declare const lsReport: () => Report;

let ex: RealExport;
test.beforeAll(async () => {
  const t0 = Date.now();
  ex = await makeRealExport();
  console.log(`labelstudio: the real export took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

test('Label Studio 1.4.0 opens a real export: each task\'s prediction with its model version, regions, labels and scores as the ZIP has them', async ({ page }) => {
  const config = strFromU8(ex.files['labelstudio-config.xml']!);
  const tasks = JSON.parse(strFromU8(ex.files['predictions.labelstudio.json']!)) as LabelStudioTask[];
  expect(tasks).toHaveLength(ex.frames.length);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // the task's image, at the path the task names (relative: beside the page), from the ZIP
  const served: string[] = [];
  await page.route('**/e2e/pages/images/*', (route) => {
    const name = `images/${decodeURIComponent(new URL(route.request().url()).pathname.split('/').pop()!)}`;
    served.push(name);
    const bytes = ex.files[name];
    return bytes ? route.fulfill({ body: Buffer.from(bytes), contentType: 'image/jpeg' }) : route.fulfill({ status: 404 });
  });

  const t0 = Date.now();
  await page.goto(PAGE);
  await page.waitForFunction(() => document.body.dataset.ready === '1');
  for (const [i, task] of tasks.entries()) {
    const frame = ex.frames[i]!;
    const want = task.predictions[0]!;
    await page.evaluate(([c, t, id]) => openTask(c, t, id), [config, task, i + 1] as const);
    // the image loaded at its own size (Label Studio then places the regions on it)
    await expect.poll(() => page.evaluate(() => lsReport().image.naturalWidth), { message: task.data.image }).toBe(frame.width);
    const r = await page.evaluate(() => lsReport());

    // the config: the model's 80 labels, and the task's data as imported
    expect(r.labels).toEqual(ex.manifest.labels);
    expect(r.data).toEqual(task.data);
    expect(r.image).toEqual({ src: task.data.image, naturalWidth: frame.width, naturalHeight: frame.height });
    expect(served).toContain(task.data.image);

    // one read-only prediction, by the model version (the ONNX file's sha256)
    expect(r.predictions).toHaveLength(1);
    const p = r.predictions[0]!;
    expect(p).toMatchObject({ type: 'prediction', createdBy: frame.mv, editable: false, selected: true });
    expect(want.model_version).toBe(frame.mv);

    // its regions: one per detection, with the detection's label and score
    expect(p.regions.map((g) => g.labels)).toEqual(frame.detections.map((d) => [d.label]));
    expect(p.regions.map((g) => g.score)).toEqual(want.result.map((x) => x.score));
    expect(p.regions.every((g) => g.type === 'rectangleregion' && g.origin === 'prediction')).toBe(true);
    // Label Studio 1.4.0 keeps no prediction-level score (the app shows it in its task list): the ZIP's is the
    // best of the region scores Label Studio holds
    expect(want.score).toBe(Math.max(0, ...p.regions.map((g) => g.score!)));

    // Label Studio's own serialisation of the prediction, with the image loaded: the ZIP's results
    expect(p.result).toHaveLength(want.result.length);
    for (const [k, got] of p.result.entries()) {
      const w = want.result[k]!;
      expect(got).toMatchObject({ id: w.id, type: 'rectanglelabels', from_name: 'label', to_name: 'image', original_width: frame.width, original_height: frame.height, score: w.score });
      expect(got.value.rectanglelabels).toEqual(w.value.rectanglelabels);
      for (const key of ['x', 'y', 'width', 'height'] as const) expect(got.value[key] as number, `${w.id} ${key}`).toBeCloseTo(w.value[key], 6);
      expect(got.value.rotation ?? 0).toBe(0);
    }

    // and what a labeller sees: the prediction by the model version in the top bar, and the region list, one row
    // per region with its label and score
    await expect(page.locator('.lsf-topbar .lsf-annotations-list__name')).toHaveText([frame.mv]);
    const rows = page.locator('.lsf-region-item');
    await expect(rows).toHaveCount(frame.detections.length);
    for (const [k, d] of frame.detections.entries()) {
      await expect(rows.nth(k)).toContainText(d.label);
      await expect(rows.nth(k)).toContainText(d.score.toFixed(2));
    }
    if (i === 0) await page.screenshot({ path: test.info().outputPath('labelstudio.png') });
  }
  expect(errors).toEqual([]);
  console.log(`labelstudio: ${tasks.length} tasks opened and checked in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});
