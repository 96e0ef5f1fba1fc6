/**
 * Bring your own model, end to end: two real ONNX models (a YOLOv8-format detector with a data.yaml, a uint8
 * NHWC classifier with a labels.txt; test/helpers/byo-models.ts) go through the manifest CLI — the real
 * process, as a user runs it — into the kiosk on the vtest camera: `ready` with that model's labels and
 * version, `inference` events labelled with its classes, records under its model version, and the panel
 * showing that version.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { expect, type Page, test } from '@playwright/test';
import { CLASSIFIER_LABELS, DETECTOR_LABELS, writeByoModels } from '../test/helpers/byo-models.ts';
import { recordEvents, waitForEvent } from './helpers.ts';

const root = join(import.meta.dirname, '..');
let dir: string;
let files: ReturnType<typeof writeByoModels>;

test.beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'byo-e2e-'));
  files = writeByoModels(dir);
  for (const [model, labels] of [[files.detector, files.dataYaml], [files.classifier, files.labelsTxt]] as const) {
    const r = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'src', 'manifest-cli', 'cli.ts'), model, '--labels', labels], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^wrote /);
  }
});
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Serves the models' directory at /byo/ (the kiosk loads a manifest by URL, its file beside it). */
const serveByo = (page: Page) =>
  page.route(
    (url) => url.pathname.startsWith('/byo/'),
    (route) => route.fulfill({ path: join(dir, basename(new URL(route.request().url()).pathname)) }),
  );

const sha12 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 12);

async function totalsFor(page: Page, mv: string) {
  return page.evaluate(async (mv) => {
    const store = await (document.querySelector('inference-monitor') as any).store();
    await store.flush();
    const now = Date.now();
    return store.totals({ from: now - 10 * 60_000, to: now + 1000, mv });
  }, mv);
}

test('a YOLOv8-format detector with a data.yaml, through the manifest CLI, runs in the kiosk with its own labels and version', async ({ page }) => {
  test.setTimeout(180_000);
  await serveByo(page);
  const rec = await recordEvents(page);
  await page.goto('/?model=/byo/detector.json&backend=wasm&camera_id=byo-detector');
  const ready = await waitForEvent(page, 'ready', () => true, 90_000);
  expect(ready.detail).toMatchObject({ modelId: 'detector', labels: DETECTOR_LABELS, backend: 'wasm' });
  const mv = sha12(files.detector);
  expect(ready.detail.modelVersion.slice(0, 12)).toBe(mv);
  const hit = await waitForEvent(page, 'inference', (e) => e.detail.detections.length > 0, 60_000);
  expect(hit.detail.modelVersion.slice(0, 12)).toBe(mv);
  for (const d of hit.detail.detections) {
    expect(DETECTOR_LABELS).toContain(d.label);
    expect(d.box[2]).toBeGreaterThan(0); // boxes mapped back from the letterboxed 320×320 input to the 768×576 frame
  }
  expect(hit.detail.malformed).toBeUndefined();
  const t = await totalsFor(page, mv);
  expect(t.frames).toBeGreaterThan(0);
  expect(t.successRate).toBe(1);
  expect((await rec.events()).filter((e) => e.type === 'error')).toEqual([]);
  await expect(page.locator('inference-monitor inference-health-panel [data-tile=model] .value')).toContainText(`${mv} · wasm`, { timeout: 30_000 });
});

test('a uint8 NHWC classifier with dynamic batch and a labels.txt runs in the kiosk: top classes over the whole frame', async ({ page }) => {
  test.setTimeout(180_000);
  await serveByo(page);
  const rec = await recordEvents(page);
  await page.goto('/?model=/byo/classifier.json&backend=wasm&camera_id=byo-classifier');
  const ready = await waitForEvent(page, 'ready', () => true, 90_000);
  expect(ready.detail).toMatchObject({ modelId: 'classifier', labels: CLASSIFIER_LABELS });
  const mv = sha12(files.classifier);
  const r = await waitForEvent(page, 'inference', (e) => e.detail.detections.length > 0, 60_000);
  const labels = r.detail.detections.map((d: { label: string }) => d.label);
  for (const l of labels) expect(CLASSIFIER_LABELS).toContain(l);
  // scores are the softmax: the top classes' probabilities, best first, summing to at most 1
  const scores = r.detail.detections.map((d: { score: number }) => d.score);
  expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  expect(scores.reduce((a: number, b: number) => a + b, 0)).toBeLessThanOrEqual(1.0001);
  expect((await totalsFor(page, mv)).frames).toBeGreaterThan(0);
  expect((await rec.events()).filter((e) => e.type === 'error')).toEqual([]);
});
