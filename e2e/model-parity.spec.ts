/**
 * The bundled models in Chromium with onnxruntime-web: on WASM the 512×512 one gives the original TF.js model's
 * top-10 detections on a real photo, and on both execution providers the default (416×416) gives the same top-10
 * as onnxruntime's native CPU build, running wholly on the provider asked for. (WebGPU here is SwiftShader, a CPU
 * emulation: one run of the 512×512 model took 36 s, so only the model the kiosk deploys is run on it.)
 */
import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeCenternet } from '../src/inference/adapters/centernet.ts';
import { defaultOnnx, rgbFixture, root } from '../test/helpers/fixtures.ts';
import { runTfjsModel } from '../test/helpers/tfjs-reference.ts';

const fixture = 'messi5-512.rgb';
type Det = { classId: number; score: number; x1: number; y1: number; x2: number; y2: number };
let expected: Det[];
let expectedDefault: Det[];

test.beforeAll(async () => {
  test.setTimeout(120_000);
  const ref = await runTfjsModel(
    join(root, 'node_modules/@vladmandic/human/models/centernet.json'),
    { data: rgbFixture(fixture), shape: [1, 512, 512, 3] },
    ['tower_0/detections'],
  );
  const d = ref.get('tower_0/detections')!.data;
  expected = Array.from({ length: 10 }, (_, i) => ({
    x1: d[i * 6]!, y1: d[i * 6 + 1]!, x2: d[i * 6 + 2]!, y2: d[i * 6 + 3]!, score: d[i * 6 + 4]!, classId: d[i * 6 + 5]!,
  }));
  const session = await ort.InferenceSession.create(readFileSync(defaultOnnx));
  const out = await session.run({ images: new ort.Tensor('float32', rgbFixture('messi5-416.rgb'), [1, 416, 416, 3]) });
  await session.release();
  expectedDefault = decodeCenternet({ heatmap: out.keypoints!.data as Float32Array, sizes: out.wh!.data as Float32Array, classes: 80, height: 104, width: 104 }, { stride: 4, topK: 10, minScore: 0.05 });
});

function expectSameTop10(top: Det[], want: Det[], what: string) {
  expect(top, what).toHaveLength(10);
  for (const [i, e] of want.entries()) {
    const a = top[i]!;
    expect(a.classId, `${what} #${i} class`).toBe(e.classId);
    expect(Math.abs(a.score - e.score), `${what} #${i} score`).toBeLessThanOrEqual(1e-3);
    for (const k of ['x1', 'y1', 'x2', 'y2'] as const) expect(Math.abs(a[k] - e[k]), `${what} #${i} ${k}`).toBeLessThanOrEqual(1);
  }
}

for (const backend of ['wasm', 'webgpu'] as const) {
  test(`onnxruntime-web ${backend}: ${backend === 'wasm' ? 'same top-10 as the original (512×512) and' : 'the deployed model:'} same top-10 as native onnxruntime (the 416×416 default), no CPU fallback`, async ({ page }) => {
    test.setTimeout(backend === 'webgpu' ? 420_000 : 120_000);
    const console: string[] = [];
    page.on('console', (m) => console.push(m.text()));
    await page.goto(`http://127.0.0.1:${process.env.E2E_DEV_PORT ?? 5199}/e2e/pages/parity.html`);
    await expect(page.locator('body[data-ready="1"]')).toBeAttached();
    const run = (f: string, manifest: string) =>
      page.evaluate(
        ([b, f, m]) => (globalThis as unknown as { runParity: (b: string, f: string, m: string) => Promise<any> }).runParity(b, f, m),
        [backend, f, manifest] as const,
      );
    const result = backend === 'wasm' ? await run(fixture, '/models/centernet-coco-512.json') : undefined;
    const byDefault = await run('messi5-416.rgb', '/models/centernet-coco.json');
    test.info().annotations.push({ type: 'timing', description: `${backend}: ${result ? `512 create ${result.createMs.toFixed(0)} ms, run ${result.runMs.toFixed(0)} ms; ` : ''}416 create ${byDefault.createMs.toFixed(0)} ms, run ${byDefault.runMs.toFixed(0)} ms` });
    if (backend === 'webgpu') test.info().annotations.push({ type: 'adapter', description: JSON.stringify(byDefault.adapterInfo) });
    if (result) expectSameTop10(result.top, expected, '512×512 vs the original');
    expectSameTop10(byDefault.top, expectedDefault, 'default vs native onnxruntime');
    // onnxruntime logs node placement at verbose level; nothing may land on the CPU provider under WebGPU.
    const placements = console.filter((l) => /placed on \[|were not assigned to the preferred/i.test(l));
    test.info().annotations.push({ type: 'placements', description: placements.join(' | ').slice(0, 500) });
    if (backend === 'webgpu') {
      expect(placements.some((l) => /WebGpuExecutionProvider/i.test(l)), 'placement log seen').toBe(true);
      expect(placements.filter((l) => /CPUExecutionProvider/.test(l) || /not assigned/.test(l))).toEqual([]);
    }
  });
}
