/**
 * `npm run bench`: the pipeline benchmark, measured side by side in one run (these machines are noisy).
 *   1. bare onnxruntime-web loop (WASM, in a worker, no monitoring) on 30 vtest frames;
 *   2. the kiosk pipeline on a fake camera fed the vtest clip (same model, same backend);
 * alternated twice, then onnxruntime-node on the same frames. Prints medians/p95 and ratios, writes
 * bench/results/pipeline.json.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { fmt, launchChromium, median, q, root, startDevServer } from './lib.ts';
import * as ortNode from 'onnxruntime-node';

const PORT = Number(process.env.BENCH_PORT ?? 5301);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);


async function bareRound(page: Page, seconds: number) {
  const times = (await page.evaluate((s) => (globalThis as any).bare.loop(s), seconds)) as number[];
  return { times, fps: times.length / (times.reduce((a, b) => a + b, 0) / 1000) };
}

async function pipelineRound(page: Page, seconds: number) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const metric = async () => {
    const m = (await cdp.send('Performance.getMetrics')).metrics;
    return m.find((x) => x.name === 'TaskDuration')!.value * 1000;
  };
  const startCount = await page.evaluate(() => (window as any).__results.length);
  const task0 = await metric();
  const t0 = Date.now();
  await page.waitForTimeout(seconds * 1000);
  const task1 = await metric();
  const elapsed = (Date.now() - t0) / 1000;
  const results = (await page.evaluate((n) => (window as any).__results.slice(n), startCount)) as any[];
  const main = (await page.evaluate(() => [...(document.querySelector('inference-monitor') as any).mainThreadCost])) as number[];
  await cdp.detach();
  return { results, fps: results.length / elapsed, mainThreadInstrumented: main, mainThreadTaskMsPerFrame: (task1 - task0) / Math.max(1, results.length) };
}

async function main() {
  const { base, server } = await startDevServer(PORT, '/bench/pages/bare.html');
  try {
    const browser = await launchChromium();
    const ctx = await browser.newContext({ viewport: { width: 960, height: 720 } });
    const barePage = await ctx.newPage();
    await barePage.goto(`${base}/bench/pages/bare.html`);
    await barePage.waitForSelector('body[data-ready="1"]', { state: 'attached' });
    const bareInfo = await barePage.evaluate(() => (globalThis as any).bare.load());
    console.log(`bare loop ready: ${JSON.stringify(bareInfo)}`);

    const pipePage = await ctx.newPage();
    await pipePage.addInitScript(() => {
      (window as any).__results = [];
      document.addEventListener('inference', (e) => (window as any).__results.push((e as CustomEvent).detail));
      document.addEventListener('ready', (e) => ((window as any).__ready = (e as CustomEvent).detail));
    });
    await pipePage.goto(`${base}/?backend=wasm`);
    await pipePage.waitForFunction(() => (window as any).__results.length >= 3, undefined, { timeout: 120_000 });
    if (process.env.BENCH_HIDE_VIDEO) await pipePage.evaluate(() => ((document.querySelector('inference-monitor') as HTMLElement).style.display = 'none'));
    console.log(`pipeline ready${process.env.BENCH_HIDE_VIDEO ? ' (video hidden: no compositing)' : ''}`);

    const bare: number[] = [], bareFps: number[] = [], pipeFps: number[] = [], stages: Record<string, number[]> = {};
    let mainInstr: number[] = [], mainTask: number[] = [], dropped = 0, frames = 0;
    const imageMs: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // one side at a time: the monitor is stopped while the bare loop runs, so they never share the 2 cores
      await pipePage.evaluate(() => (document.querySelector('inference-monitor') as any).stop());
      await barePage.bringToFront();
      const b = await bareRound(barePage, SECONDS);
      bare.push(...b.times);
      bareFps.push(b.fps);
      await pipePage.bringToFront();
      const before = await pipePage.evaluate(() => (window as any).__results.length);
      await pipePage.evaluate(() => (document.querySelector('inference-monitor') as any).start());
      await pipePage.waitForFunction((n) => (window as any).__results.length >= n + 3, before, { timeout: 120_000 });
      const p = await pipelineRound(pipePage, SECONDS);
      pipeFps.push(p.fps);
      for (const res of p.results) {
        frames++;
        dropped += res.droppedFrames;
        for (const [k, v] of Object.entries(res.timings)) if (typeof v === 'number') (stages[k] ??= []).push(v);
        if (res.image) imageMs.push(res.image.ms);
      }
      mainInstr = p.mainThreadInstrumented;
      mainTask.push(p.mainThreadTaskMsPerFrame);
      console.log(`round ${r + 1}: bare ${fmt(b.fps, 2)} fps, pipeline ${fmt(p.fps, 2)} fps`);
    }
    await browser.close();

    // onnxruntime-node (native CPU) on the same frames
    const model = readFileSync(join(root, 'models', 'centernet-coco.onnx'));
    const rgb = readFileSync(join(root, 'fixtures', 'vtest-30x512.rgb'));
    const session = await ortNode.InferenceSession.create(model, { intraOpNumThreads: bareInfo.threads });
    const nodeTimes: number[] = [];
    for (let i = 0; i < 40; i++) {
      const f = Float32Array.from(rgb.subarray((i % 30) * 786432, (i % 30 + 1) * 786432));
      const t = performance.now();
      await session.run({ images: new ortNode.Tensor('float32', f, [1, 512, 512, 3]) });
      if (i >= 5) nodeTimes.push(performance.now() - t);
    }

    const bareMedianFps = median(bareFps), pipeMedianFps = median(pipeFps);
    const summary = {
      date: new Date().toISOString(),
      machine: { cores: (await import('node:os')).cpus().length, backend: 'wasm', threads: bareInfo.threads, crossOriginIsolated: bareInfo.isolated },
      seconds: SECONDS, rounds: ROUNDS,
      bare: { fps: bareMedianFps, inferenceMs: { median: median(bare), p95: q(bare, 0.95) }, runs: bare.length },
      pipeline: {
        fps: pipeMedianFps, frames, droppedFrames: dropped,
        stagesMs: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, { median: median(v), p95: q(v, 0.95) }])),
        imageStatsMs: { median: median(imageMs), p95: q(imageMs, 0.95), frames: imageMs.length },
        mainThreadMsPerFrame: { instrumented: { median: median(mainInstr), p95: q(mainInstr, 0.95), p99: q(mainInstr, 0.99) }, cdpTaskDurationAvg: median(mainTask) },
      },
      ratios: { pipelineFpsOverBare: pipeMedianFps / bareMedianFps, wasmOverNodeCpuLatency: median(bare) / median(nodeTimes) },
      nodeCpu: { inferenceMs: { median: median(nodeTimes), p95: q(nodeTimes, 0.95) } },
      targets: { pipelineFpsOverBare: '≥ 0.95', mainThreadP99Ms: '≤ 2', imageStatsMs: '≤ 1' },
    };
    writeFileSync(join(root, 'bench', 'results', 'pipeline.json'), JSON.stringify(summary, null, 2));
    console.log('\n== pipeline benchmark (Chromium, WASM, default model, vtest frames) ==');
    console.log(`bare onnxruntime-web loop: ${fmt(bareMedianFps, 2)} fps; inference median ${fmt(median(bare))} ms, p95 ${fmt(q(bare, 0.95))} ms`);
    console.log(`monitor pipeline:          ${fmt(pipeMedianFps, 2)} fps over ${frames} frames (${dropped} camera frames dropped, latest wins)`);
    console.log('stage            median     p95  (ms)');
    for (const [k, v] of Object.entries(summary.pipeline.stagesMs)) console.log(`  ${k.padEnd(13)} ${fmt(v.median).padStart(7)} ${fmt(v.p95).padStart(7)}`);
    console.log(`input-image statistics in the frame worker: median ${fmt(summary.pipeline.imageStatsMs.median, 3)} ms, p95 ${fmt(summary.pipeline.imageStatsMs.p95, 3)} ms per frame (target ≤ 1)`);
    const mt = summary.pipeline.mainThreadMsPerFrame;
    console.log(`main thread per frame: instrumented median ${fmt(mt.instrumented.median, 3)} ms, p99 ${fmt(mt.instrumented.p99, 3)} ms (target ≤ 2); all main-thread tasks (CDP TaskDuration) ${fmt(mt.cdpTaskDurationAvg, 2)} ms/frame`);
    console.log(`ratio pipeline/bare FPS: ${fmt(summary.ratios.pipelineFpsOverBare, 3)} (target ≥ 0.95)`);
    console.log(`onnxruntime-node CPU: median ${fmt(median(nodeTimes))} ms → WASM/native latency ratio ${fmt(summary.ratios.wasmOverNodeCpuLatency, 2)}×`);
    console.log(`written: bench/results/pipeline.json`);
  } finally {
    server.kill();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
