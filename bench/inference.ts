/**
 * `npm run bench:inference`: the default model's speed on CPU, side by side in one run, in Chromium (production
 * build), on the same vtest frames:
 *   - onnxruntime-web WASM on the model as it was converted before (512×512, hard-swish as Add/Clip/Mul chains:
 *     "before"), on the same at 512×512 with fused activations, and on today's default (416×416, fused);
 *   - TF.js's WASM backend (XNNPACK, SIMD) on the original graph model (512×512) — the peer a user would pick;
 * each on 1 WASM thread and on the monitor's default (a thread per core, up to 4), every row in its own worker, alternated for
 * BENCH_ROUNDS rounds of BENCH_SECONDS (ratios per round, then their median: this machine drifts). Then
 * onnxruntime-node (native CPU, the limit here) on the same models and frames, and the kiosk's FPS (as shipped,
 * with its panel) on the before model and on the default, alternated. Writes bench/results/inference.json.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { cpus } from 'node:os';
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import { convertTfjsToOnnx } from '../scripts/tfjs2onnx/convert.ts';
import { loadTfjsGraphModel } from '../scripts/tfjs2onnx/tfjs-model.ts';
import { fmt, kioskResults, launchChromium, median, openKiosk, root, startPreviewServer } from './lib.ts';

const PORT = Number(process.env.BENCH_PORT ?? 5303);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const KIOSK_SECONDS = Number(process.env.BENCH_KIOSK_SECONDS ?? 12);
const KIOSK_ROUNDS = Number(process.env.BENCH_KIOSK_ROUNDS ?? 2);

interface Row { key: string; label: string; runtime: 'ort' | 'tfjs'; model: string; size: number; threads?: number }

/** The model as the converter wrote it before fusing activations, at 512×512, with a manifest the kiosk accepts. */
async function writeBeforeModel(dir: string) {
  const model = await loadTfjsGraphModel(join(root, 'node_modules/@vladmandic/human/models/centernet.json'));
  const r = convertTfjsToOnnx(model, {
    outputs: ['tower_0/keypoints', 'tower_0/wh'],
    rename: { 'tower_0/images': 'images', 'tower_0/keypoints': 'keypoints', 'tower_0/wh': 'wh' },
    outputLayout: 'nchw',
    weights: 'fp16',
    fuseActivations: false,
  });
  const manifest = JSON.parse(readFileSync(join(root, 'models', 'centernet-coco-512.json'), 'utf8'));
  Object.assign(manifest, { id: 'centernet-coco-before', file: 'centernet-coco-before.onnx', sha256: createHash('sha256').update(r.onnx).digest('hex'), bytes: r.onnx.byteLength });
  writeFileSync(join(dir, 'centernet-coco-before.onnx'), r.onnx);
  writeFileSync(join(dir, 'centernet-coco-before.json'), JSON.stringify(manifest, null, 2));
  return r.onnx;
}

async function main() {
  const { base, server } = await startPreviewServer(PORT, '/bench/pages/models.html');
  const dist = join(root, 'dist-bench');
  mkdirSync(join(dist, 'fixtures'), { recursive: true });
  mkdirSync(join(dist, 'tfjs-wasm'), { recursive: true });
  for (const f of ['vtest-30x512.rgb', 'vtest-30x416.rgb']) copyFileSync(join(root, 'fixtures', f), join(dist, 'fixtures', f));
  const tfWasm = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  for (const f of readdirSync(tfWasm).filter((f) => f.endsWith('.wasm') || f === 'tf-backend-wasm.min.js')) copyFileSync(join(tfWasm, f), join(dist, 'tfjs-wasm', f));
  copyFileSync(join(root, 'node_modules/@tensorflow/tfjs-core/dist/tf-core.min.js'), join(dist, 'tfjs-wasm', 'tf-core.min.js'));
  copyFileSync(join(root, 'node_modules/@tensorflow/tfjs-converter/dist/tf-converter.min.js'), join(dist, 'tfjs-wasm', 'tf-converter.min.js'));
  copyFileSync(join(root, 'bench/pages/tfjs-wasm-worker.js'), join(dist, 'tfjs-wasm', 'tfjs-wasm-worker.js'));
  const beforeOnnx = await writeBeforeModel(join(dist, 'models'));

  const rows: Row[] = [];
  // 1 thread, and the monitor's default (one per core up to 4: src/inference/ort.ts) for every runtime alike
  for (const threads of [1, Math.max(1, Math.min(4, cpus().length))]) {
    const t = threads === 1 ? '1 thread' : 'default threads';
    rows.push(
      { key: `before-${t}`, label: `onnxruntime-web WASM, before (512×512, unfused), ${t}`, runtime: 'ort', model: '/models/centernet-coco-before.json', size: 512, threads },
      { key: `fused512-${t}`, label: `onnxruntime-web WASM, fused activations (512×512), ${t}`, runtime: 'ort', model: '/models/centernet-coco-512.json', size: 512, threads },
      { key: `default-${t}`, label: `onnxruntime-web WASM, default (416×416, fused), ${t}`, runtime: 'ort', model: '/models/centernet-coco.json', size: 416, threads },
      { key: `tfjs-${t}`, label: `TF.js WASM (XNNPACK), original graph (512×512), ${t}`, runtime: 'tfjs', model: '/examples/models/centernet.json', size: 512, threads },
    );
  }
  const out: Record<string, unknown> = { when: new Date().toISOString(), seconds: SECONDS, rounds: ROUNDS };
  try {
    const browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${base}/bench/pages/models.html`);
    await page.waitForSelector('body[data-ready="1"]', { state: 'attached' });
    const threadsOf: Record<string, number> = {};
    for (const r of rows) {
      const info = (await page.evaluate(([k, o]) => (globalThis as any).models.open(k, o), [r.key, { runtime: r.runtime, model: r.model, frames: `/fixtures/vtest-30x${r.size}.rgb`, size: r.size, threads: r.threads }] as const)) as { threads: number };
      threadsOf[r.key] = info.threads;
      await page.evaluate(([k, s]) => (globalThis as any).models.loop(k, s), [r.key, 3] as const); // warm-up
      console.log(`ready: ${r.label} (${info.threads} thread${info.threads > 1 ? 's' : ''})`);
    }
    const times: Record<string, number[]> = {};
    const perRound: Record<string, number>[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const med: Record<string, number> = {};
      for (const r of round % 2 ? [...rows].reverse() : rows) {
        const t = (await page.evaluate(([k, s]) => (globalThis as any).models.loop(k, s), [r.key, SECONDS] as const)) as number[];
        (times[r.key] ??= []).push(...t);
        med[r.key] = median(t);
      }
      perRound.push(med);
      console.log(`round ${round + 1}: ${rows.map((r) => `${r.key} ${fmt(med[r.key]!)} ms`).join(' · ')}`);
    }
    // ratios per round (same minute, same machine state), then the median over rounds
    const ratio = (a: string, b: string) => median(perRound.map((m) => m[a]! / m[b]!));
    const rowsOut = rows.map((r) => ({ ...r, threads: threadsOf[r.key], msMedian: median(times[r.key]!), runs: times[r.key]!.length }));
    const ratios: Record<string, number> = {};
    for (const t of ['1 thread', 'default threads']) {
      ratios[`default vs before, ${t} (speed-up)`] = ratio(`before-${t}`, `default-${t}`);
      ratios[`default vs TF.js WASM, ${t} (speed-up)`] = ratio(`tfjs-${t}`, `default-${t}`);
      ratios[`fused 512 vs before, ${t} (speed-up)`] = ratio(`before-${t}`, `fused512-${t}`);
      ratios[`fused 512 vs TF.js WASM, ${t} (speed-up)`] = ratio(`tfjs-${t}`, `fused512-${t}`);
    }
    out.browser = { rows: rowsOut, ratios };

    // the kiosk as shipped (with its panel) on the before model and on the default, alternated
    const kiosk: Record<string, number[]> = { before: [], default: [] };
    const kioskInference: Record<string, number[]> = { before: [], default: [] };
    for (let round = 0; round < KIOSK_ROUNDS; round++)
      for (const [k, params] of (round % 2 ? [['default', 'panel=on'], ['before', 'panel=on&model=models/centernet-coco-before.json']] : [['before', 'panel=on&model=models/centernet-coco-before.json'], ['default', 'panel=on']]) as [string, string][]) {
        const p = await openKiosk(browser, base, params, 6);
        const start = (await kioskResults(p)).length;
        const t0 = Date.now();
        await p.waitForTimeout(KIOSK_SECONDS * 1000);
        const res = await kioskResults(p, start);
        await p.close();
        kiosk[k]!.push(res.length / ((Date.now() - t0) / 1000));
        kioskInference[k]!.push(...res.map((x: any) => x.timings.inference));
        console.log(`kiosk ${k}: ${fmt(kiosk[k]!.at(-1)!, 2)} FPS`);
      }
    out.kiosk = {
      before: { fps: median(kiosk.before!), inferenceMs: median(kioskInference.before!) },
      default: { fps: median(kiosk.default!), inferenceMs: median(kioskInference.default!) },
      speedUp: median(kiosk.default!) / median(kiosk.before!),
    };
    await browser.close();
  } finally {
    server.kill();
  }

  // onnxruntime-node (native CPU) on the same models and frames
  const native: Record<string, number> = {};
  for (const [name, bytes, size] of [['before', beforeOnnx, 512], ['fused 512', readFileSync(join(root, 'models', 'centernet-coco-512.onnx')), 512], ['default', readFileSync(join(root, 'models', 'centernet-coco.onnx')), 416]] as const)
    for (const threads of [1, 2]) {
      const session = await ortNode.InferenceSession.create(bytes, { intraOpNumThreads: threads });
      const rgb = readFileSync(join(root, 'fixtures', `vtest-30x${size}.rgb`));
      const n = size * size * 3, t: number[] = [];
      for (let i = 0; i < 35; i++) {
        const f = Float32Array.from(rgb.subarray((i % 30) * n, (i % 30 + 1) * n));
        const t0 = performance.now();
        await session.run({ images: new ortNode.Tensor('float32', f, [1, size, size, 3]) });
        if (i >= 5) t.push(performance.now() - t0);
      }
      await session.release();
      native[`${name}, ${threads} thread${threads > 1 ? 's' : ''}`] = median(t);
    }
  out.native = native;

  const b = out.browser as { rows: (Row & { threads: number; msMedian: number })[]; ratios: Record<string, number> };
  console.log('\n| runtime and model (same vtest frames) | threads | ms per frame (median) |\n|---|---|---|');
  for (const r of b.rows) console.log(`| ${r.label.replace(/, (1 thread|default threads)$/, '')} | ${r.threads} | ${fmt(r.msMedian)} |`);
  for (const [k, v] of Object.entries(native)) console.log(`| onnxruntime-node native CPU, ${k.split(',')[0]} | ${k.split(', ')[1]} | ${fmt(v)} |`);
  console.log('\nratios (median of per-round ratios):');
  for (const [k, v] of Object.entries(b.ratios)) console.log(`  ${k}: ${fmt(v, 2)}×`);
  const k = out.kiosk as { before: { fps: number; inferenceMs: number }; default: { fps: number; inferenceMs: number }; speedUp: number };
  console.log(`kiosk (with its panel): before ${fmt(k.before.fps, 2)} FPS (inference ${fmt(k.before.inferenceMs)} ms) → default ${fmt(k.default.fps, 2)} FPS (inference ${fmt(k.default.inferenceMs)} ms): ${fmt(k.speedUp, 2)}×`);
  writeFileSync(join(root, 'bench', 'results', 'inference.json'), JSON.stringify(out, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
