/**
 * Fleet server benchmark, on loopback:
 * 1. ingest: the real server process (`src/server/main.ts`, SQLite in WAL) under load from this separate
 *    process (autocannon, 8 connections, bounded: BENCH_SECONDS and at most 100,000 requests a run), each request
 *    a realistic batch — one minute of rollups for 2 cameras — carrying, as devices send them, the NEXT minute of
 *    its source with the next sequence number (so each batch makes new 1-min rows and merges into its 1-hour and
 *    all-time rows), from each number of sources in BENCH_SOURCES (or `--sources=1,1000,5000`): batches/s and
 *    latency p50/p99, medians of BENCH_RUNS runs. Any answer other than 2xx fails the script (exit 1);
 * 2. the fleet page with 1,000 devices (a batch from each): reading /v1/devices and rendering the table, in
 *    Chromium, median of 5;
 * 3. the kiosk's main thread with sync on vs off, side by side (alternating rounds; a Chromium trace of the
 *    renderer's main-thread tasks);
 * and how many devices one server holds at the default interval, from 1. `--ingest-only` (BENCH_INGEST_ONLY=1)
 * runs part 1 alone and keeps the other parts of an earlier bench/results/server.json. Writes
 * bench/results/server.json.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { fmt, launchChromium, mainThread, median, openKiosk, q, root, startPreviewServer } from './lib.ts';
import { syntheticRecords } from '../e2e/pages/synthetic.ts';
import { rollFrames } from '../src/telemetry/rollup.ts';
import type { Batch } from '../src/sync/payload.ts';

const PORT = Number(process.env.BENCH_SERVER_PORT ?? 5320);
const KIOSK_PORT = Number(process.env.BENCH_PORT ?? 5305);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
/** the numbers of sources the ingest is measured from, each in its own runs */
const SOURCES = (arg('sources') ?? process.env.BENCH_SOURCES ?? '1,1000,5000').split(',').map(Number);
/** runs per number of sources (the median is reported) */
const RUNS = Number(arg('runs') ?? process.env.BENCH_RUNS ?? 3);
const INGEST_ONLY = process.argv.includes('--ingest-only') || process.env.BENCH_INGEST_ONLY === '1';
if (!SOURCES.length || SOURCES.some((n) => !Number.isInteger(n) || n < 1 || n > 1_000_000)) throw new Error(`BENCH_SOURCES / --sources: whole numbers from 1 to 1,000,000, comma-separated (got ${SOURCES.join(',')})`);
const MIN = 60_000;
const TOKEN = 'bench-token-0123456789';
const url = `http://127.0.0.1:${PORT}`;

/** One minute of rollups for 2 cameras at 10 fps, from synthetic frames shaped like the real ones. */
function minuteOfRollups(start: number) {
  return ['line-1', 'line-2'].flatMap((camera, i) => [...rollFrames(syntheticRecords(600, start, 10, { camera, seed: 7 + i }), '1m').values()]);
}

function batch(source: string, seq: number, start: number, device?: string): Batch {
  return {
    v: 1,
    source: { id: source, ...(device ? { device_id: device } : {}), app_version: '0.1.0', monitors: ['line-1', 'line-2'].map((c, i) => ({ src: `mon-${i}`, mv: '4c7094b7091d', backend: 'wasm', tags: { camera_id: c, location: 'hall-b' } })) },
    seq,
    sentAt: Date.now(),
    rollups: minuteOfRollups(start),
    alerts: [],
    flagged: [],
    baselines: [],
    dropped: 0,
  };
}

async function startServer(dir: string, file = 'fleet.sqlite'): Promise<ChildProcess> {
  // node itself with tsx's loader (not the tsx CLI, which runs the server in a child): its pid is the server's, for cpuSeconds
  const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'server', 'main.ts')], {
    cwd: root,
    env: { ...process.env, PORT: String(PORT), HOST: '127.0.0.1', FLEET_DB: join(dir, file), FLEET_TOKENS: `bench:${TOKEN}:*`, FLEET_RATE: '10000000', FLEET_SOURCE_RATE: '10000000', FLEET_STATIC: join(root, 'dist'), FLEET_CORS: `http://127.0.0.1:${KIOSK_PORT}` },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const end = Date.now() + 30_000;
  while (Date.now() < end) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return proc;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  proc.kill();
  throw new Error(`the fleet server did not start: ${err.slice(-1000)}`);
}

function load(body: () => string, seconds: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${url}/v1/batches`,
        connections: 8,
        duration: seconds,
        maxOverallRequests: 100_000, // bounded in count as well as in time (`amount` would override the duration)
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        requests: [{ method: 'POST', setupRequest: (req) => ({ ...req, body: body() }) }],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    void instance;
  });
}

/**
 * Bodies as a fleet of `sources` devices sends them: request i is source i mod n's next batch — its next sequence
 * number and the minute after its last (rollups' start, first and last moved by whole minutes from the template's),
 * starting at `from`. The template is cut once at the numbers that change, so a body costs a join, not a stringify.
 */
function fleetBodies(template: Batch, sources: number, prefix: string, from: number): () => string {
  const s0 = template.rollups[0]!.start;
  const json = JSON.stringify({ ...template, seq: 1, source: { ...template.source, id: '@SOURCE@', device_id: '@SOURCE@' } });
  const parts: string[] = [];
  const offsets: number[] = []; // after parts[i]: the minute's start + offsets[i] (NaN: the source id; -1: the seq)
  const re = /"(start|first|last)":(\d+)|"@SOURCE@"|"seq":1,/g;
  let at = 0;
  for (let m = re.exec(json); m; m = re.exec(json)) {
    const [whole, key, value] = m;
    if (key) {
      parts.push(json.slice(at, m.index) + `"${key}":`);
      offsets.push(Number(value) - s0);
    } else if (whole === '"seq":1,') {
      parts.push(json.slice(at, m.index) + '"seq":');
      offsets.push(-1);
    } else {
      parts.push(json.slice(at, m.index) + '"');
      offsets.push(NaN);
    }
    at = m.index + whole.length;
  }
  const tail = json.slice(at);
  let i = 0;
  return () => {
    const n = i++;
    const k = Math.floor(n / sources); // this source's k-th batch
    const id = `${prefix}-${n % sources}`;
    const start = from + k * MIN;
    let out = '';
    for (let j = 0; j < parts.length; j++) {
      const o = offsets[j]!;
      out += parts[j] + (Number.isNaN(o) ? `${id}"` : o === -1 ? `${k + 1},` : String(start + o));
    }
    return out + tail;
  };
}

/** One measured run: batches/s and latency; throws (the script exits 1) on any answer but 2xx or any error. */
/** Clock ticks per second of /proc's CPU times. */
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
/** CPU seconds (user + system) a process has used so far, from /proc (NaN where there is none). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14 and 15)
  } catch {
    return NaN;
  }
}

/**
 * One measured run: batches/s, latency, and the server's CPU time per batch (less sensitive than batches/s to other
 * load on the machine); throws (the script exits 1) on any answer but 2xx or any error.
 */
async function measure(server: ChildProcess, body: () => string, what: string) {
  const cpu0 = cpuSeconds(server.pid);
  const r = await load(body, SECONDS);
  const cpuMsPerBatch = ((cpuSeconds(server.pid) - cpu0) * 1000) / r.requests.total;
  if (r.non2xx || r.errors || r.timeouts) {
    const codes = Object.entries(r.statusCodeStats ?? {}).map(([code, x]) => `${code}: ${x.count}`).join(', ');
    throw new Error(`ingest from ${what}: ${r.non2xx} answers not 2xx (${codes}), ${r.errors} errors, ${r.timeouts} timeouts — the benchmark counts only accepted batches`);
  }
  return { batchesPerSecond: r.requests.total / r.duration, latencyMs: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max }, serverCpuMsPerBatch: cpuMsPerBatch, requests: r.requests.total, seconds: r.duration };
}

async function main() {
  if (!INGEST_ONLY) {
    const built = spawnSync(join(root, 'node_modules/.bin/vite'), ['build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
    if (built.status !== 0) throw new Error('building the fleet page failed');
  }
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'fleet-bench-'));
  let server = await startServer(dir);
  try {
    // 1. ingest: each request the next minute of its source (2 cameras), from 1, then more sources; RUNS runs each
    const now = Math.floor(Date.now() / MIN) * MIN;
    const loadBefore = loadavg()[0]!;
    const template = batch('bench-load', 1, now - 60 * MIN, 'bench-load');
    const bytesPerBatch = JSON.stringify(template).length;
    writeFileSync(join(dir, 'batch.json'), JSON.stringify(template));
    const warm = await load(fleetBodies(template, 1, 'warm-up', now - 200 * 24 * 60 * MIN), 2); // warm-up (JIT, SQLite pages)
    if (warm.non2xx || warm.errors) throw new Error(`the warm-up: ${warm.non2xx} answers not 2xx, ${warm.errors} errors`);
    const bySources: { sources: number; batchesPerSecond: number; latencyMs: { p50: number; p99: number }; serverCpuMsPerBatch: number; runs: Awaited<ReturnType<typeof measure>>[] }[] = [];
    for (const n of SOURCES) {
      // the minutes run back from now: at most 100,000 a run, so this source set starts far enough back (older
      // rows are taken as any others; retention runs only hourly)
      const body = fleetBodies(template, n, `s${n}`, now - Math.ceil((RUNS * 100_000) / n + 10) * MIN);
      const runs: Awaited<ReturnType<typeof measure>>[] = [];
      for (let r = 0; r < RUNS; r++) {
        const m = await measure(server, body, `${n} sources`);
        runs.push(m);
        console.log(`ingest from ${n.toLocaleString('en')} source${n > 1 ? 's' : ''}, run ${r + 1}/${RUNS}: ${fmt(m.batchesPerSecond, 0)} batches/s over ${fmt(m.seconds, 1)} s (${m.requests} batches of ${fmt(bytesPerBatch / 1024)} KB, each its source's next minute), latency p50 ${m.latencyMs.p50} ms, p99 ${m.latencyMs.p99} ms, server CPU ${fmt(m.serverCpuMsPerBatch, 2)} ms a batch; all 2xx`);
      }
      bySources.push({ sources: n, batchesPerSecond: median(runs.map((m) => m.batchesPerSecond)), latencyMs: { p50: median(runs.map((m) => m.latencyMs.p50)), p99: median(runs.map((m) => m.latencyMs.p99)) }, serverCpuMsPerBatch: median(runs.map((m) => m.serverCpuMsPerBatch)), runs });
    }
    // the conditions: other load on the machine changes batches/s several-fold (the server's CPU per batch far less)
    const machine = { cpus: cpus().length, loadAverage1m: { before: loadBefore, after: loadavg()[0]! } };
    const ingest = { date: new Date().toISOString(), bySources, runs: RUNS, seconds: SECONDS, connections: 8, bytesPerBatch, rollupsPerBatch: template.rollups.length, newMinutePerBatch: true, machine, target: '≥ 2,000 batches/s, p99 ≤ 50 ms' };
    console.log(`on ${machine.cpus} CPUs, load average ${fmt(machine.loadAverage1m.before, 1)} before, ${fmt(machine.loadAverage1m.after, 1)} after:`);
    for (const x of bySources) console.log(`ingest, ${x.sources.toLocaleString('en')} source${x.sources > 1 ? 's' : ''}: ~${fmt(x.batchesPerSecond, 0)} batches/s (median of ${RUNS}: ${x.runs.map((m) => fmt(m.batchesPerSecond, 0)).join(', ')}), p50 ${x.latencyMs.p50} ms, p99 ${x.latencyMs.p99} ms, server CPU ${fmt(x.serverCpuMsPerBatch, 2)} ms a batch`);
    const lowest = Math.min(...bySources.map((x) => x.batchesPerSecond));
    const perDevicePerSecond = 1 / 60; // one batch a minute at the default interval
    const devicesAtDefaultInterval = Math.floor(lowest / perDevicePerSecond / 2);
    const file = join(root, 'bench', 'results', 'server.json');
    if (INGEST_ONLY) {
      const earlier = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
      writeFileSync(file, JSON.stringify({ ...earlier, ingest, devicesAtDefaultInterval }, null, 2));
      console.log(`\none server at the default 60-s interval, at half the lowest measured ingest rate: ~${devicesAtDefaultInterval.toLocaleString('en')} devices`);
      console.log(`written: bench/results/server.json (ingest${'fleet' in earlier ? '; the fleet page and kiosk parts kept from its earlier run' : ''})`);
      return;
    }

    // 2. the fleet page with 1,000 devices (a fresh database: exactly these)
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    server = await startServer(dir, 'fleet-page.sqlite');
    const pageMinute = now - 2 * MIN;
    for (let i = 0; i < 1000; i += 50)
      await Promise.all(
        Array.from({ length: 50 }, async (_, k) => {
          const res = await fetch(`${url}/v1/batches`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(batch(`kiosk-${i + k}`, 1, pageMinute, `kiosk-${String(i + k).padStart(4, '0')}`)) });
          if (!res.ok) throw new Error(`the fleet page's devices: a batch answered ${res.status}: ${await res.text()}`);
        }),
      );
    const browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const t0 = Date.now();
    await page.goto(`${url}/#token=${TOKEN}`);
    await page.waitForFunction(() => (document.querySelector('fleet-view')?.shadowRoot?.querySelectorAll('tr[data-device]').length ?? 0) >= 1000, undefined, { timeout: 60_000 });
    const firstMs = Date.now() - t0;
    const reloads: number[] = [];
    for (let i = 0; i < 5; i++)
      reloads.push(
        await page.evaluate(async () => {
          const el = document.querySelector('fleet-view') as unknown as { load(): Promise<void> };
          const t = performance.now();
          await el.load();
          return performance.now() - t;
        }),
      );
    const fleet = { devices: 1000, firstLoadMs: firstMs, refreshMs: { median: median(reloads), max: Math.max(...reloads) }, target: '≤ 500 ms' };
    console.log(`fleet page, 1,000 devices: opened and listed in ${firstMs} ms; a refresh (GET /v1/devices + render) ${fmt(fleet.refreshMs.median, 0)} ms median, ${fmt(fleet.refreshMs.max, 0)} ms max`);
    await browser.close();

    // 3. the kiosk's main thread with sync on vs off
    const { base, server: preview } = await startPreviewServer(KIOSK_PORT, '/');
    const sides = { off: { busy: [] as number[], task: [] as number[], fps: [] as number[] }, on: { busy: [] as number[], task: [] as number[], fps: [] as number[] } };
    const kb = await launchChromium();
    try {
      for (let i = 0; i < ROUNDS; i++)
        for (const side of ['off', 'on'] as const) {
          const params = `panel=off&camera_id=bench-sync-${side}${side === 'on' ? `&sync_url=${encodeURIComponent(`${url}/v1/batches`)}&sync_token=${TOKEN}&sync_interval=5` : ''}`;
          const p = await openKiosk(kb, base, params, 6);
          const m = await mainThread(p, SECONDS);
          sides[side].busy.push(m.busyMsPerSecond);
          sides[side].task.push(m.taskMsPerFrame);
          sides[side].fps.push(m.fps);
          console.log(`round ${i + 1} sync ${side}: ${fmt(m.fps)} FPS, all main-thread tasks ${fmt(m.taskMsPerFrame, 2)} ms per frame (${fmt(m.busyMsPerSecond, 1)} ms/s)`);
          await p.close();
        }
    } finally {
      await kb.close();
      preview.kill();
    }

    const summary = {
      date: new Date().toISOString(),
      ingest,
      fleet,
      kioskMainThread: {
        syncOff: { msPerFrame: median(sides.off.task), msPerSecond: median(sides.off.busy), fps: median(sides.off.fps) },
        syncOn: { msPerFrame: median(sides.on.task), msPerSecond: median(sides.on.busy), fps: median(sides.on.fps) },
        rounds: ROUNDS,
      },
      devicesAtDefaultInterval,
    };
    writeFileSync(file, JSON.stringify(summary, null, 2));
    console.log('\n== fleet server benchmark (loopback, 2 cores) ==');
    for (const x of bySources) console.log(`ingest, ${x.sources.toLocaleString('en')} source${x.sources > 1 ? 's' : ''}: ~${fmt(x.batchesPerSecond, 0)} batches/s, p50 ${x.latencyMs.p50} ms, p99 ${x.latencyMs.p99} ms (median of ${RUNS} runs; target ≥ 2,000/s, p99 ≤ 50 ms)`);
    console.log(`fleet page with 1,000 devices: refresh ${fmt(fleet.refreshMs.median, 0)} ms median (target ≤ 500 ms); first open ${firstMs} ms`);
    console.log(`kiosk main thread, sync off → on: ${fmt(summary.kioskMainThread.syncOff.msPerFrame, 2)} → ${fmt(summary.kioskMainThread.syncOn.msPerFrame, 2)} ms per frame, ${fmt(summary.kioskMainThread.syncOff.msPerSecond, 1)} → ${fmt(summary.kioskMainThread.syncOn.msPerSecond, 1)} ms per second (medians of ${ROUNDS} rounds)`);
    console.log(`one server at the default 60-s interval, at half the lowest measured ingest rate: ~${devicesAtDefaultInterval.toLocaleString('en')} devices`);
    console.log(`written: bench/results/server.json (p95 of refresh ${fmt(q(reloads, 0.95), 0)} ms)`);
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
