/**
 * Headless recorder benchmark (Chromium, production build, vtest on the fake camera; bench/pages/host.ts):
 * a host app's own 30-fps frame loop — draw the frame, run its own JS "model" — with the recorder off and on
 * (record() with the canvas as the frame on every call; the recorder takes the pixels of `frameRate` of them
 * a second: its default 5), in alternating rounds on fresh pages (5 pairs by default):
 * 1. record()'s cost on the caller's thread per call: median and p99;
 * 2. the host's own work per frame, recorder off → on: median ratio (the recorder's worker competes for the
 *    cores; its record() call is not counted here, it is item 1) and the loop's achieved rate;
 * 3. the page's main thread, all its tasks (CDP TaskDuration), ms per second off → on: what the recorder
 *    costs the page besides record() itself (the frames' copies, its messages).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, launchChromium, median, q, root, startPreviewServer } from './lib.ts';

const PORT = Number(process.env.BENCH_PORT ?? 5308);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);

async function main() {
  const { base, server } = await startPreviewServer(PORT, '/bench/pages/host.html');
  const browser = await launchChromium();
  const sides = { off: { loop: [] as number[], fps: [] as number[], task: [] as number[] }, on: { loop: [] as number[], fps: [] as number[], task: [] as number[], record: [] as number[] } };
  try {
    for (let r = 0; r < ROUNDS; r++)
      for (const side of ['off', 'on'] as const) {
        const page = await browser.newPage();
        await page.goto(`${base}/bench/pages/host.html?recorder=${side}${process.env.BENCH_FRAME === 'off' ? '&frame=off' : ''}${process.env.BENCH_MODE ? '&mode=' + process.env.BENCH_MODE : ''}`);
        await page.waitForFunction(() => ((window as any).__bench?.results.frames ?? 0) > 60, undefined, { timeout: 60_000 }); // warm: JIT, worker, store open
        // all of the page's main-thread time (its tasks, whoever runs them: the loop, record(), the frames' copies)
        const cdp = await page.context().newCDPSession(page);
        await cdp.send('Performance.enable');
        const task = async () => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration')!.value * 1000;
        await page.evaluate(() => (window as any).__bench.reset());
        const task0 = await task();
        await page.waitForTimeout(SECONDS * 1000);
        const taskPerSecond = ((await task()) - task0) / SECONDS;
        const res = await page.evaluate(() => {
          const r = (window as any).__bench.results;
          return { loopMs: r.loopMs, recordMs: r.recordMs, fps: (r.frames * 1000) / (performance.now() - r.started) };
        });
        sides[side].loop.push(median(res.loopMs));
        sides[side].fps.push(res.fps);
        sides[side].task.push(taskPerSecond);
        if (side === 'on') sides.on.record.push(...res.recordMs);
        console.log(`round ${r + 1} recorder ${side}: host work ${fmt(median(res.loopMs), 2)} ms median per frame at ${fmt(res.fps)} frames/s, main thread busy ${fmt(taskPerSecond, 1)} ms/s${side === 'on' ? `; record() ${fmt(median(res.recordMs), 3)} ms median, ${fmt(q(res.recordMs, 0.99), 3)} ms p99 (${res.recordMs.length} calls)` : ''}`);
        await page.close();
      }
  } finally {
    await browser.close();
    server.kill();
  }
  const off = median(sides.off.loop), on = median(sides.on.loop);
  const summary = {
    date: new Date().toISOString(),
    rounds: ROUNDS,
    seconds: SECONDS,
    recordMs: { median: median(sides.on.record), p99: q(sides.on.record, 0.99), calls: sides.on.record.length, target: '≤ 0.1 ms median' },
    hostWorkMsPerFrame: { off, on, ratio: on / off, roundPairs: sides.on.loop.map((v, i) => v / sides.off.loop[i]!), target: '≤ 1.02' },
    fps: { off: median(sides.off.fps), on: median(sides.on.fps) },
    mainThreadMsPerSecond: { off: median(sides.off.task), on: median(sides.on.task) },
  };
  writeFileSync(join(root, 'bench', 'results', 'recorder.json'), JSON.stringify(summary, null, 2));
  console.log('\n== headless recorder benchmark (30 calls/s with a 640×480 canvas frame) ==');
  console.log(`record(): ${fmt(summary.recordMs.median, 3)} ms median, ${fmt(summary.recordMs.p99, 3)} ms p99 on the caller's thread (${summary.recordMs.calls} calls; target ≤ 0.1 ms median)`);
  const pairs = sides.on.loop.map((v, i) => v / sides.off.loop[i]!).sort((a, b) => a - b);
  console.log(`host's own work per frame, recorder off → on: ${fmt(off, 2)} → ${fmt(on, 2)} ms median (×${fmt(on / off, 3)}; target ≤ ×1.02; round pairs ×${fmt(pairs[0]!, 3)}–×${fmt(pairs.at(-1)!, 3)}); loop ${fmt(summary.fps.off)} → ${fmt(summary.fps.on)} frames/s (medians of ${ROUNDS} rounds)`);
  console.log(`the page's main thread, all tasks, off → on: ${fmt(summary.mainThreadMsPerSecond.off, 1)} → ${fmt(summary.mainThreadMsPerSecond.on, 1)} ms per second`);
  console.log('written: bench/results/recorder.json');
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
