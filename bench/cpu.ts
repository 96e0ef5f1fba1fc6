/**
 * `npm run bench:cpu` (Linux): where the CPU goes per inference, by thread, read from /proc while
 *   1. the bare onnxruntime-web loop runs (no camera, no monitor),
 *   2. the same loop runs with the camera open and read (frames closed at once),
 *   3. the kiosk runs the monitor pipeline (`panel=off`: camera → frame worker → inference → every frame recorded),
 * each for BENCH_SECONDS on the production build (WASM). With onnxruntime's threads on every core, each
 * core-millisecond the monitor spends is one onnxruntime does not get: this is the budget behind the
 * pipeline benchmark's FPS ratio. Writes bench/results/cpu.json.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fmt, kioskResults, launchChromium, median, openBareLoop, openKiosk, root, runGaps, startPreviewServer } from './lib.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 25);
const PORT = Number(process.env.BENCH_PORT ?? 5302);
const TICK_MS = 1000 / 100; // USER_HZ

interface Thread { key: string; proc: string; pid: string; name: string; ticks: number }

/** CPU ticks of every thread of the browser under test (its processes carry its profile directory). */
function threads(): Thread[] {
  const out: Thread[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (!cmd.includes('playwright_chromiumdev_profile')) continue;
    const type = /--type=(\S+)/.exec(cmd)?.[1] ?? 'browser';
    const sub = /--utility-sub-type=(\S+)/.exec(cmd)?.[1]?.split('.').pop();
    const proc = sub ? `${type}:${sub}` : type;
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
        const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
        out.push({ key: `${pid}/${tid}`, proc, pid, name, ticks: Number(f[11]) + Number(f[12]) });
      } catch {}
    }
  }
  return out;
}

/**
 * Core-ms per inference by where it went. The measured page's renderer is the busiest one; in it, the two
 * busiest workers are onnxruntime (the worker that calls it and its WASM thread; with more threads, more).
 */
function attribute(before: Thread[], after: Thread[], frames: number, ortThreads: number) {
  const t0 = new Map(before.map((t) => [t.key, t.ticks]));
  const used = after.map((t) => ({ ...t, ms: ((t.ticks - (t0.get(t.key) ?? 0)) * TICK_MS) / frames })).filter((t) => t.ms > 0);
  const byRenderer = new Map<string, number>();
  for (const t of used) if (t.proc === 'renderer') byRenderer.set(t.pid, (byRenderer.get(t.pid) ?? 0) + t.ms);
  const page = [...byRenderer].sort((a, b) => b[1] - a[1])[0]?.[0];
  const workers = used.filter((t) => t.pid === page && t.name.startsWith('DedicatedWorker')).sort((a, b) => b.ms - a.ms);
  const ort = new Set(workers.slice(0, ortThreads).map((t) => t.key));
  const groups: Record<string, number> = {
    'onnxruntime threads': 0,
    'other workers (frame, store)': 0,
    'page: main thread, IO, compositor, thread pool': 0,
    'camera (video capture service)': 0,
    'display (GPU process compositor)': 0,
    'browser process and the rest': 0,
  };
  const g = Object.keys(groups);
  for (const t of used) {
    const k = ort.has(t.key) ? g[0]! : t.pid === page ? (t.name.startsWith('DedicatedWorker') ? g[1]! : g[2]!) : t.proc.includes('VideoCapture') ? g[3]! : t.proc === 'gpu-process' ? g[4]! : g[5]!;
    groups[k]! += t.ms;
  }
  const total = Object.values(groups).reduce((a, b) => a + b, 0);
  return { total, groups };
}

async function main() {
  if (!existsSync('/proc/self/task')) {
    console.log('bench:cpu reads per-thread CPU time from /proc: Linux only, skipped here');
    return;
  }
  const { base, server } = await startPreviewServer(PORT, '/bench/pages/bare.html');
  try {
    const browser = await launchChromium();
    const { page: bare, info } = await openBareLoop(browser, base, undefined, 8);
    const rows: { name: string; label: string; fps: number; inferenceMs: number; gapMs?: number; total: number; groups: Record<string, number> }[] = [];
    for (const camera of [false, true]) {
      if (camera) {
        await bare.evaluate(() => (globalThis as any).cameraOn());
        await bare.waitForTimeout(1000);
      }
      const a = threads();
      const t0 = Date.now();
      const times = (await bare.evaluate((s) => (globalThis as any).bare.loop(s), SECONDS)) as number[];
      const b = threads();
      const fps = times.length / ((Date.now() - t0) / 1000);
      if (camera) await bare.evaluate(() => (globalThis as any).cameraOff());
      rows.push({ name: camera ? 'bare loop + camera open and read' : 'bare loop', label: camera ? 'bare + camera' : 'bare', fps, inferenceMs: median(times), ...attribute(a, b, times.length, info.threads) });
    }
    const page = await openKiosk(browser, base, 'panel=off', 8);
    const n0 = (await kioskResults(page)).length;
    const a = threads();
    const t0 = Date.now();
    await page.waitForTimeout(SECONDS * 1000);
    const b = threads();
    const elapsed = (Date.now() - t0) / 1000;
    const res = await kioskResults(page, n0);
    rows.push({ name: 'monitor pipeline (kiosk, panel=off)', label: 'monitor pipeline', fps: res.length / elapsed, inferenceMs: median(res.map((r) => r.timings.inference)), gapMs: median(runGaps(res)), ...attribute(a, b, res.length, info.threads) });
    await browser.close();

    const summary = { date: new Date().toISOString(), cores: cpus().length, threads: info.threads, seconds: SECONDS, unit: 'core-ms per inference', rows };
    writeFileSync(join(root, 'bench', 'results', 'cpu.json'), JSON.stringify(summary, null, 2));
    console.log(`\n== CPU per inference (core-ms), ${summary.cores} cores, onnxruntime on ${info.threads} WASM threads, ${SECONDS} s each ==`);
    const groups = Object.keys(rows[0]!.groups);
    const w = 46;
    console.log(`${''.padEnd(w)}${rows.map((r) => r.label.padStart(18)).join('')}`);
    console.log(`${'FPS'.padEnd(w)}${rows.map((r) => fmt(r.fps, 2).padStart(18)).join('')}`);
    console.log(`${'inference median (ms)'.padEnd(w)}${rows.map((r) => fmt(r.inferenceMs).padStart(18)).join('')}`);
    for (const gname of groups) console.log(`${gname.padEnd(w)}${rows.map((r) => fmt(r.groups[gname]!).padStart(18)).join('')}`);
    console.log(`${'total'.padEnd(w)}${rows.map((r) => fmt(r.total).padStart(18)).join('')}`);
    const [bareRow, , pipe] = rows;
    const monitor = pipe!.total - pipe!.groups['onnxruntime threads']!;
    console.log(
      `\nbeside onnxruntime the monitor pipeline used ${fmt(monitor)} core-ms per inference (camera ${fmt(pipe!.groups['camera (video capture service)']!)}, display ${fmt(pipe!.groups['display (GPU process compositor)']!)}); ` +
        `5 % of the bare loop's CPU is ${fmt(0.05 * bareRow!.total)} core-ms`,
    );
    console.log('written: bench/results/cpu.json');
  } finally {
    server.kill();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
