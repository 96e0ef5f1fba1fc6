/**
 * `npm run bench`: the pipeline benchmark, measured side by side in one run (these machines are noisy),
 * on the production build (`vite preview`, as it ships).
 *   1. a bare onnxruntime-web loop (WASM, in a worker, no monitoring, same session options) on 30 vtest
 *      frames, warmed up first;
 *   2. the kiosk on a fake camera fed the vtest clip (same model, same backend), in each configuration of
 *      BENCH_CONFIGS: a fresh page per round, warmed up (the new worker's WASM code tiers up) before it is
 *      measured, and closed before the next side runs, so the two never share the 2 cores;
 * alternated for BENCH_ROUNDS rounds (bare, pipeline, bare, …): each pipeline run's ratio is to the mean of
 * the bare runs right before and after it, and the median of those ratios is reported. Then onnxruntime-node on the same frames. Writes bench/results/pipeline.json
 * (BENCH_THREADS=N: both sides on N WASM threads, written to pipeline-threads-N.json).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from '@playwright/test';
import { fmt, kioskResults, launchChromium, median, openBareLoop, openKiosk, q, root, runGaps, startPreviewServer } from './lib.ts';
import * as ortNode from 'onnxruntime-node';

const PORT = Number(process.env.BENCH_PORT ?? 5301);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 12);
const WARM_SECONDS = Number(process.env.BENCH_WARM_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
/**
 * Kiosk URL parameters per configuration — the monitor pipeline (records every frame, no panel), the kiosk
 * as shipped (with its panel); e.g. `panel=off&view=live` for the live video view — and the bare loop with
 * the camera open (what the camera alone costs here).
 */
const THREADS = process.env.BENCH_THREADS ? Number(process.env.BENCH_THREADS) : undefined;
/** BARE_CAMERA is the bare loop again with the camera open and read (frames closed at once), as a reference */
const BARE_CAMERA = 'bare+camera';
const CONFIGS = (process.env.BENCH_CONFIGS ?? `${BARE_CAMERA};panel=off;panel=on`).split(';').map((c) => (THREADS && c !== BARE_CAMERA ? `${c}&threads=${THREADS}` : c));

interface Measured {
  fps: number;
  results: any[];
  mainThreadInstrumented: number[];
  mainThreadTaskMsPerFrame: number;
}

/** One pipeline round: a fresh kiosk page, warmed up, measured for `seconds`, closed. */
async function pipelineRound(browser: Browser, base: string, params: string, seconds: number): Promise<Measured> {
  const page = await openKiosk(browser, base, params, WARM_SECONDS);
  try {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const metric = async () => (await cdp.send('Performance.getMetrics')).metrics.find((x) => x.name === 'TaskDuration')!.value * 1000;
    const startCount = (await kioskResults(page)).length;
    const task0 = await metric();
    const t0 = Date.now();
    await page.waitForTimeout(seconds * 1000);
    const task1 = await metric();
    const elapsed = (Date.now() - t0) / 1000;
    const results = await kioskResults(page, startCount);
    const main = (await page.evaluate(() => [...(document.querySelector('inference-monitor') as any).mainThreadCost])) as number[];
    await cdp.detach();
    return { results, fps: results.length / elapsed, mainThreadInstrumented: main, mainThreadTaskMsPerFrame: (task1 - task0) / Math.max(1, results.length) };
  } finally {
    await page.close();
  }
}

async function main() {
  const { base, server } = await startPreviewServer(PORT, '/bench/pages/bare.html');
  try {
    const browser = await launchChromium();
    const { page: barePage, info: bareInfo } = await openBareLoop(browser, base, THREADS, WARM_SECONDS);
    console.log(`bare loop ready: ${JSON.stringify(bareInfo)}; configurations: ${CONFIGS.join(' | ')}; ${ROUNDS} rounds × ${SECONDS} s (+${WARM_SECONDS} s warm-up per page)`);

    const bare: number[] = [], bareFps: number[] = [];
    const per = CONFIGS.map(() => ({ fps: [] as number[], ratios: [] as number[], results: [] as any[], mainInstr: [] as number[], mainTask: [] as number[] }));
    const bareRound = async () => {
      const times = (await barePage.evaluate((s) => (globalThis as any).bare.loop(s), SECONDS)) as number[];
      bare.push(...times);
      const fps = times.length / (times.reduce((a, b) => a + b, 0) / 1000);
      bareFps.push(fps);
      return fps;
    };
    const bareWithCamera = async (): Promise<Measured> => {
      await barePage.evaluate(() => (globalThis as any).cameraOn());
      await barePage.waitForTimeout(1000);
      const times = (await barePage.evaluate((s) => (globalThis as any).bare.loop(s), SECONDS)) as number[];
      await barePage.evaluate(() => (globalThis as any).cameraOff());
      return { fps: times.length / (times.reduce((a, b) => a + b, 0) / 1000), results: [], mainThreadInstrumented: [], mainThreadTaskMsPerFrame: NaN };
    };
    // bare, pipeline, bare, pipeline, …, bare: each pipeline run is held to the mean of the bare runs just
    // before and just after it, which cancels the machine's drift over the minute between them
    let before = await bareRound();
    for (let r = 0; r < ROUNDS; r++) {
      const line: string[] = [`round ${r + 1}:`];
      for (const [i, params] of CONFIGS.entries()) {
        const m = params === BARE_CAMERA ? await bareWithCamera() : await pipelineRound(browser, base, params, SECONDS);
        const after = await bareRound();
        const c = per[i]!;
        const ratio = m.fps / ((before + after) / 2);
        c.fps.push(m.fps);
        c.ratios.push(ratio);
        c.results.push(...m.results);
        c.mainInstr.push(...m.mainThreadInstrumented);
        c.mainTask.push(m.mainThreadTaskMsPerFrame);
        line.push(`bare ${fmt(before, 2)} | ${params} ${fmt(m.fps, 2)} fps (${fmt(ratio, 2)}) | bare ${fmt(after, 2)}`);
        before = after;
      }
      console.log(line.join(' … '));
    }
    await browser.close();

    // onnxruntime-node (native CPU) on the same frames
    const model = readFileSync(join(root, 'models', 'centernet-coco.onnx'));
    const side = (JSON.parse(readFileSync(join(root, 'models', 'centernet-coco.json'), 'utf8')) as { input: { shape: number[] } }).input.shape[1]!;
    const rgb = readFileSync(join(root, 'fixtures', `vtest-30x${side}.rgb`));
    const px = side * side * 3;
    const session = await ortNode.InferenceSession.create(model, { intraOpNumThreads: bareInfo.threads });
    const nodeTimes: number[] = [];
    for (let i = 0; i < 40; i++) {
      const f = Float32Array.from(rgb.subarray((i % 30) * px, (i % 30 + 1) * px));
      const t = performance.now();
      await session.run({ images: new ortNode.Tensor('float32', f, [1, side, side, 3]) });
      if (i >= 5) nodeTimes.push(performance.now() - t);
    }

    const configs = CONFIGS.map((params, i) => {
      const c = per[i]!;
      const stages: Record<string, number[]> = {};
      let dropped = 0;
      const imageMs: number[] = [];
      for (const res of c.results) {
        dropped += res.droppedFrames;
        for (const [k, v] of Object.entries(res.timings)) if (typeof v === 'number') (stages[k] ??= []).push(v);
        if (res.image) imageMs.push(res.image.ms);
      }
      const gaps = runGaps(c.results).filter((g) => g >= 0 && g < 1000);
      return {
        params,
        fps: median(c.fps),
        fpsOverBare: { medianOfRounds: median(c.ratios), rounds: c.ratios },
        frames: c.results.length,
        droppedFrames: dropped,
        stagesMs: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, { median: median(v), p95: q(v, 0.95) }])),
        gapBetweenRunsMs: { median: median(gaps), p95: q(gaps, 0.95) },
        imageStatsMs: { median: median(imageMs), p95: q(imageMs, 0.95), frames: imageMs.length },
        mainThreadMsPerFrame: { instrumented: { median: median(c.mainInstr), p95: q(c.mainInstr, 0.95), p99: q(c.mainInstr, 0.99) }, cdpTaskDurationAvg: median(c.mainTask) },
      };
    });
    const summary = {
      date: new Date().toISOString(),
      machine: { cores: (await import('node:os')).cpus().length, backend: 'wasm', threads: bareInfo.threads, crossOriginIsolated: bareInfo.isolated },
      seconds: SECONDS, warmSeconds: WARM_SECONDS, rounds: ROUNDS,
      bare: { fps: median(bareFps), inferenceMs: { median: median(bare), p95: q(bare, 0.95) }, runs: bare.length },
      configs,
      wasmOverNodeCpuLatency: median(bare) / median(nodeTimes),
      nodeCpu: { inferenceMs: { median: median(nodeTimes), p95: q(nodeTimes, 0.95) } },
      targets: { fpsOverBare: '≥ 0.95', mainThreadP99Ms: '≤ 2', imageStatsMs: '≤ 1' },
    };
    const out = THREADS ? `pipeline-threads-${THREADS}.json` : 'pipeline.json';
    writeFileSync(join(root, 'bench', 'results', out), JSON.stringify(summary, null, 2));
    console.log('\n== pipeline benchmark (Chromium, WASM, default model, vtest frames) ==');
    console.log(`bare onnxruntime-web loop: ${fmt(summary.bare.fps, 2)} fps; inference median ${fmt(median(bare))} ms, p95 ${fmt(q(bare, 0.95))} ms`);
    for (const c of configs) {
      if (c.params === BARE_CAMERA) {
        console.log(`\nbare loop with the camera open and read (no monitor): ${fmt(c.fps, 2)} fps; / bare FPS: ${fmt(c.fpsOverBare.medianOfRounds, 3)} median of rounds [${c.fpsOverBare.rounds.map((x) => fmt(x, 2)).join(', ')}]`);
        continue;
      }
      console.log(`\nkiosk ${c.params}: ${fmt(c.fps, 2)} fps over ${c.frames} frames (${c.droppedFrames} camera frames dropped, latest wins)`);
      console.log(`  FPS / bare FPS: ${fmt(c.fpsOverBare.medianOfRounds, 3)} median of rounds [${c.fpsOverBare.rounds.map((x) => fmt(x, 2)).join(', ')}] (target ≥ 0.95)`);
      console.log('  stage            median     p95  (ms)');
      for (const [k, v] of Object.entries(c.stagesMs)) console.log(`    ${k.padEnd(13)} ${fmt(v.median).padStart(7)} ${fmt(v.p95).padStart(7)}`);
      console.log(`    ${'between runs'.padEnd(13)} ${fmt(c.gapBetweenRunsMs.median).padStart(7)} ${fmt(c.gapBetweenRunsMs.p95).padStart(7)}`);
      console.log(`  input-image statistics in the frame worker: median ${fmt(c.imageStatsMs.median, 3)} ms, p95 ${fmt(c.imageStatsMs.p95, 3)} ms (target ≤ 1)`);
      const mt = c.mainThreadMsPerFrame;
      console.log(`  main thread per frame: instrumented median ${fmt(mt.instrumented.median, 3)} ms, p99 ${fmt(mt.instrumented.p99, 3)} ms (target ≤ 2); all main-thread tasks (CDP TaskDuration) ${fmt(mt.cdpTaskDurationAvg, 2)} ms/frame`);
    }
    console.log(`\nonnxruntime-node CPU: median ${fmt(median(nodeTimes))} ms → WASM/native latency ratio ${fmt(summary.wasmOverNodeCpuLatency, 2)}×`);
    console.log(`written: bench/results/${out}`);
  } finally {
    server.kill();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
