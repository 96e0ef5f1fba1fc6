/**
 * `npm run bench:reference`: what a reference model costs the deployed one (#27). The kiosk (production
 * build, WASM, no panel) on the fake camera fed vtest, the default model deployed, alternately without and
 * with `reference=models/centernet-coco-512.json` (the default's 512×512 original, its default budget of a
 * tenth of the time), a fresh page per round, for BENCH_ROUNDS rounds (off, on, off, on, …): each "on" round's
 * deployed FPS is a ratio to the mean of the "off" rounds either side of it, and the median ratio is reported
 * (target ≥ 0.9). Also: the reference's runs per minute and run time, the memory each worker holds
 * (`performance.measureUserAgentSpecificMemory`, by worker), and in Node the agreement computation's cost per
 * frame on the real detections of 40 vtest frames (default against original). Writes bench/results/reference.json.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from '@playwright/test';
import * as ort from 'onnxruntime-node';
import { fitFrame } from '../src/capture/preprocess.ts';
import { decodeOutputs } from '../src/inference/adapters/index.ts';
import { agreement } from '../src/inference/agreement.ts';
import type { ModelManifest } from '../src/inference/manifest.ts';
import type { Detection } from '../src/types/detection.ts';
import { fmt, kioskResults, launchChromium, median, openKiosk, q, root, startPreviewServer } from './lib.ts';

const PORT = Number(process.env.BENCH_PORT ?? 5302);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 40);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const REFERENCE = 'reference=models/centernet-coco-512.json';

interface Round {
  reference: boolean;
  fps: number;
  perMinute?: number;
  runMs?: number;
  memoryMB?: Record<string, number>;
}

/** Bytes by worker and the page (measureUserAgentSpecificMemory: the kiosk is cross-origin isolated), in MB. */
async function memoryByContext(page: Page): Promise<Record<string, number>> {
  return page.evaluate(async () => {
    const m = await (performance as any).measureUserAgentSpecificMemory();
    const out: Record<string, number> = {};
    for (const b of m.breakdown as { bytes: number; attribution: { url: string; scope: string }[] }[]) {
      const a = b.attribution[0];
      const key = a ? (a.scope === 'DedicatedWorkerGlobalScope' ? `worker ${new URL(a.url).pathname.split('/').pop()}` : a.scope) : 'shared';
      out[key] = (out[key] ?? 0) + b.bytes / 1e6;
    }
    return out;
  });
}

async function round(browser: Browser, base: string, reference: boolean): Promise<Round> {
  const page = await openKiosk(browser, base, `panel=off&camera_id=bench-ref${reference ? `&${REFERENCE}` : ''}`, 8);
  try {
    // the reference loads a few seconds after the start: measured once it has judged a frame or two
    for (let end = Date.now() + 120_000; reference; ) {
      const frames = await page.evaluate(async () => (await (document.querySelector('inference-monitor') as any).vitals())?.reference?.frames ?? 0);
      if (frames > 1) break;
      if (Date.now() > end) throw new Error('the reference judged no frame within 2 minutes');
      await page.waitForTimeout(1000);
    }
    const from = (await kioskResults(page)).length;
    const t0 = Date.now();
    await page.waitForTimeout(SECONDS * 1000);
    const results = await kioskResults(page, from);
    const fps = results.length / ((Date.now() - t0) / 1000);
    const v = reference ? await page.evaluate(async () => (await (document.querySelector('inference-monitor') as any).vitals())?.reference) : undefined;
    const memoryMB = await memoryByContext(page).catch(() => undefined);
    return { reference, fps, ...(v ? { perMinute: v.perMinute, runMs: v.runMs } : {}), ...(memoryMB ? { memoryMB } : {}) };
  } finally {
    await page.close();
  }
}

/** The agreement computation's cost per frame (µs), on the default's and the original's detections on 40 vtest frames. */
async function agreementCost(): Promise<{ usPerFrame: number; objectsPerFrame: number }> {
  const W = 768, H = 576;
  const detect = async (onnx: string, manifest: string) => {
    const m = JSON.parse(readFileSync(join(root, 'models', manifest), 'utf8')) as ModelManifest;
    const size = m.input.shape[1] as number;
    const session = await ort.InferenceSession.create(join(root, 'models', onnx), { intraOpNumThreads: 2 });
    const raw = readFileSync(join(root, 'fixtures', `vtest-every20-${size}.rgb`));
    const fit = fitFrame(W, H, size, size, m.input.resize);
    const frames: Detection[][] = [];
    for (let o = 0; o + size * size * 3 <= raw.length; o += size * size * 3) {
      const out = await session.run({ [m.input.name]: new ort.Tensor('float32', Float32Array.from(raw.subarray(o, o + size * size * 3)), [1, size, size, 3]) });
      const outputs = Object.fromEntries(Object.entries(out).map(([k, t]) => [k, { data: t.data as Float32Array, dims: t.dims }]));
      frames.push(decodeOutputs(m, outputs, { width: W, height: H, fit, inputWidth: size, inputHeight: size }, 0.3).detections);
    }
    return frames;
  };
  const dep = await detect('centernet-coco.onnx', 'centernet-coco.json');
  const ref = await detect('centernet-coco-512.onnx', 'centernet-coco-512.json');
  const reps = 200;
  for (let i = 0; i < dep.length; i++) agreement(dep[i]!, ref[i]!); // warm up
  const t0 = performance.now();
  for (let k = 0; k < reps; k++) for (let i = 0; i < dep.length; i++) agreement(dep[i]!, ref[i]!);
  const us = ((performance.now() - t0) * 1000) / (reps * dep.length);
  return { usPerFrame: us, objectsPerFrame: (dep.flat().length + ref.flat().length) / dep.length };
}

async function main() {
  const { base, server } = await startPreviewServer(PORT, '/');
  const browser = await launchChromium();
  const rounds: Round[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      rounds.push(await round(browser, base, false));
      console.log(`off: ${fmt(rounds.at(-1)!.fps, 2)} fps`);
      rounds.push(await round(browser, base, true));
      const r = rounds.at(-1)!;
      console.log(`on:  ${fmt(r.fps, 2)} fps; reference ${r.perMinute} runs/min, ${fmt(r.runMs ?? NaN, 0)} ms a run`);
    }
    rounds.push(await round(browser, base, false));
    console.log(`off: ${fmt(rounds.at(-1)!.fps, 2)} fps`);
  } finally {
    await browser.close();
    server.kill();
  }
  // each "on" round against the mean of the "off" rounds either side
  const ratios = rounds.flatMap((r, i) => (r.reference ? [r.fps / ((rounds[i - 1]!.fps + rounds[i + 1]!.fps) / 2)] : []));
  const on = rounds.filter((r) => r.reference);
  const cost = await agreementCost();
  // the deployed and the reference inference workers run one script: their memory is told apart as the
  // inference workers' total with the reference on, less it with the reference off
  const inferenceWorkers = (r: Round) => Object.entries(r.memoryMB ?? {}).filter(([k]) => /^worker worker-/.test(k)).reduce((a, [, v]) => a + v, 0) || NaN;
  const summary = {
    date: new Date().toISOString(),
    setup: `kiosk (production build), WASM, panel off, fake camera on vtest; reference ${REFERENCE.split('=')[1]} (WASM, 1 thread, budget 0.1); ${ROUNDS} rounds of ${SECONDS} s each side, alternated`,
    deployedFpsOff: median(rounds.filter((r) => !r.reference).map((r) => r.fps)),
    deployedFpsOn: median(on.map((r) => r.fps)),
    fpsRatio: { median: median(ratios), min: Math.min(...ratios), ratios, target: '≥ 0.9' },
    reference: { runsPerMinute: median(on.map((r) => r.perMinute ?? NaN)), runMs: median(on.map((r) => r.runMs ?? NaN)) },
    memoryMB: {
      on: on.map((r) => r.memoryMB),
      off: rounds.filter((r) => !r.reference).map((r) => r.memoryMB),
      inferenceWorkersOn: median(on.map(inferenceWorkers)),
      inferenceWorkersOff: median(rounds.filter((r) => !r.reference).map(inferenceWorkers)),
      reference: median(on.map(inferenceWorkers)) - median(rounds.filter((r) => !r.reference).map(inferenceWorkers)),
    },
    agreement: { usPerFrame: cost.usPerFrame, objectsPerFrame: cost.objectsPerFrame, where: 'Node, the same code the reference worker runs' },
  };
  writeFileSync(join(root, 'bench', 'results', 'reference.json'), JSON.stringify(summary, null, 2));
  console.log('\n== reference model: what it costs the deployed model (bench/results/reference.json) ==');
  console.log(`deployed FPS without / with the reference: ${fmt(summary.deployedFpsOff, 2)} / ${fmt(summary.deployedFpsOn, 2)}; ratio median ${fmt(summary.fpsRatio.median, 3)} (min ${fmt(summary.fpsRatio.min, 3)}; target ≥ 0.9)`);
  console.log(`reference: ${fmt(summary.reference.runsPerMinute, 0)} runs a minute, ${fmt(summary.reference.runMs, 0)} ms a run (p95 of rounds ${fmt(q(on.map((r) => r.runMs ?? NaN), 0.95), 0)})`);
  console.log(`memory: the inference workers ${fmt(summary.memoryMB.inferenceWorkersOff, 0)} MB without the reference, ${fmt(summary.memoryMB.inferenceWorkersOn, 0)} MB with it: the reference ~${fmt(summary.memoryMB.reference, 0)} MB (medians; measureUserAgentSpecificMemory)`);
  console.log(`agreement per frame: ${fmt(cost.usPerFrame, 1)} µs (${fmt(cost.objectsPerFrame, 1)} boxes of both models a frame)`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
