/**
 * The converted default model in Chromium with onnxruntime-web, on both execution providers, gives the
 * original TF.js model's top-10 detections on a real photo — and runs wholly on the provider asked for.
 */
import { expect, test } from '@playwright/test';
import { join } from 'node:path';
import { rgbFixture, root } from '../test/helpers/fixtures.ts';
import { runTfjsModel } from '../test/helpers/tfjs-reference.ts';

const fixture = 'messi5-512.rgb';
let expected: { classId: number; score: number; x1: number; y1: number; x2: number; y2: number }[];

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
});

for (const backend of ['wasm', 'webgpu'] as const) {
  test(`onnxruntime-web ${backend}: same top-10 as the original, no CPU fallback`, async ({ page }) => {
    test.setTimeout(backend === 'webgpu' ? 420_000 : 120_000);
    const console: string[] = [];
    page.on('console', (m) => console.push(m.text()));
    await page.goto(`http://127.0.0.1:${process.env.E2E_DEV_PORT ?? 5199}/e2e/pages/parity.html`);
    await expect(page.locator('body[data-ready="1"]')).toBeAttached();
    const result = await page.evaluate(
      ([b, f]) => (globalThis as unknown as { runParity: (b: string, f: string) => Promise<any> }).runParity(b, f),
      [backend, fixture] as const,
    );
    test.info().annotations.push({ type: 'timing', description: `${backend}: create ${result.createMs.toFixed(0)} ms, run ${result.runMs.toFixed(0)} ms` });
    if (backend === 'webgpu') test.info().annotations.push({ type: 'adapter', description: JSON.stringify(result.adapterInfo) });
    expect(result.top).toHaveLength(10);
    for (const [i, e] of expected.entries()) {
      const a = result.top[i];
      expect(a.classId, `#${i} class`).toBe(e.classId);
      expect(Math.abs(a.score - e.score), `#${i} score`).toBeLessThanOrEqual(1e-3);
      for (const k of ['x1', 'y1', 'x2', 'y2'] as const) expect(Math.abs(a[k] - e[k]), `#${i} ${k}`).toBeLessThanOrEqual(1);
    }
    // onnxruntime logs node placement at verbose level; nothing may land on the CPU provider under WebGPU.
    const placements = console.filter((l) => /placed on \[|were not assigned to the preferred/i.test(l));
    test.info().annotations.push({ type: 'placements', description: placements.join(' | ').slice(0, 500) });
    if (backend === 'webgpu') {
      expect(placements.some((l) => /WebGpuExecutionProvider/i.test(l)), 'placement log seen').toBe(true);
      expect(placements.filter((l) => /CPUExecutionProvider/.test(l) || /not assigned/.test(l))).toEqual([]);
    }
  });
}
