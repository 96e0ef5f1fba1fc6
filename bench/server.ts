/**
 * Fleet server benchmark, on loopback:
 * 1. ingest: the real server process (`src/server/main.ts`, SQLite in WAL) under load from this separate
 *    process (autocannon, bounded: BENCH_SECONDS and at most 100,000 requests), each request a realistic
 *    batch — one minute of rollups for 2 cameras — with a new sequence number, from one source and then
 *    spread over 1,000 sources: batches/s, latency p50/p99;
 * 2. the fleet page with 1,000 devices (a batch from each): reading /v1/devices and rendering the table, in
 *    Chromium, median of 5;
 * 3. the kiosk's main thread with sync on vs off, side by side (alternating rounds; a Chromium trace of the
 *    renderer's main-thread tasks);
 * and how many devices one server holds at the default interval, from 1.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  const proc = spawn(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'src', 'server', 'main.ts')], {
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

function load(body: (seq: number) => string, seconds: number): Promise<autocannon.Result> {
  let seq = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${url}/v1/batches`,
        connections: 8,
        duration: seconds,
        maxOverallRequests: 100_000, // bounded in count as well as in time (`amount` would override the duration)
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        requests: [{ method: 'POST', setupRequest: (req) => ({ ...req, body: body(++seq) }) }],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    void instance;
  });
}

async function main() {
  const built = spawnSync(join(root, 'node_modules/.bin/vite'), ['build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) throw new Error('building the fleet page failed');
  const dir = mkdtempSync(join(tmpdir(), 'fleet-bench-'));
  let server = await startServer(dir);
  try {
    // 1. ingest: every request a new sequence, the same realistic minute (2 cameras); from one source, then
    //    spread over 1,000 sources (a fleet: each request touches other rows and pages)
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 3600_000;
    const template = JSON.stringify(batch('bench-load', 1, start, 'bench-load'));
    const bodyFor = (seq: number) => template.replace('"seq":1,', `"seq":${seq},`);
    const fleetBody = (seq: number) => bodyFor(seq).replaceAll('"bench-load"', `"fleet-${seq % 1000}"`);
    writeFileSync(join(dir, 'batch.json'), template);
    await load(bodyFor, 2); // warm-up (JIT, SQLite pages)
    const measure = async (body: (seq: number) => string) => {
      const r = await load(body, SECONDS);
      return { batchesPerSecond: r.requests.average, latencyMs: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max }, requests: r.requests.total, non2xx: r.non2xx, errors: r.errors };
    };
    const one = await measure((seq) => bodyFor(100_000 + seq));
    const spread = await measure((seq) => fleetBody(1_000_000 + seq));
    const ingest = { ...one, fleetOf1000: spread, bytesPerBatch: template.length, rollupsPerBatch: 2, target: '≥ 2,000 batches/s, p99 ≤ 50 ms' };
    for (const [what, m] of [['one source', one], ['1,000 sources', spread]] as const)
      console.log(`ingest from ${what}: ${fmt(m.batchesPerSecond, 0)} batches/s over ${SECONDS} s (${m.requests} batches of ${fmt(template.length / 1024)} KB, 2 cameras' minute), latency p50 ${m.latencyMs.p50} ms, p99 ${m.latencyMs.p99} ms; ${m.non2xx} non-2xx, ${m.errors} errors`);

    // 2. the fleet page with 1,000 devices (a fresh database: exactly these)
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    server = await startServer(dir, 'fleet-page.sqlite');
    const now = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
    for (let i = 0; i < 1000; i += 50)
      await Promise.all(
        Array.from({ length: 50 }, (_, k) =>
          fetch(`${url}/v1/batches`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(batch(`kiosk-${i + k}`, 1, now, `kiosk-${String(i + k).padStart(4, '0')}`)) }),
        ),
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

    const perDevicePerSecond = 1 / 60; // one batch a minute at the default interval
    const summary = {
      date: new Date().toISOString(),
      ingest,
      fleet,
      kioskMainThread: {
        syncOff: { msPerFrame: median(sides.off.task), msPerSecond: median(sides.off.busy), fps: median(sides.off.fps) },
        syncOn: { msPerFrame: median(sides.on.task), msPerSecond: median(sides.on.busy), fps: median(sides.on.fps) },
        rounds: ROUNDS,
      },
      devicesAtDefaultInterval: Math.floor((Math.min(one.batchesPerSecond, spread.batchesPerSecond) / perDevicePerSecond) / 2),
    };
    writeFileSync(join(root, 'bench', 'results', 'server.json'), JSON.stringify(summary, null, 2));
    console.log('\n== fleet server benchmark (loopback, 2 cores) ==');
    console.log(`ingest, one source: ${fmt(one.batchesPerSecond, 0)} batches/s, p50 ${one.latencyMs.p50} ms, p99 ${one.latencyMs.p99} ms; 1,000 sources: ${fmt(spread.batchesPerSecond, 0)} batches/s, p50 ${spread.latencyMs.p50} ms, p99 ${spread.latencyMs.p99} ms (target ≥ 2,000/s, p99 ≤ 50 ms)`);
    console.log(`fleet page with 1,000 devices: refresh ${fmt(fleet.refreshMs.median, 0)} ms median (target ≤ 500 ms); first open ${firstMs} ms`);
    console.log(`kiosk main thread, sync off → on: ${fmt(summary.kioskMainThread.syncOff.msPerFrame, 2)} → ${fmt(summary.kioskMainThread.syncOn.msPerFrame, 2)} ms per frame, ${fmt(summary.kioskMainThread.syncOff.msPerSecond, 1)} → ${fmt(summary.kioskMainThread.syncOn.msPerSecond, 1)} ms per second (medians of ${ROUNDS} rounds)`);
    console.log(`one server at the default 60-s interval, at half the lower measured ingest rate: ~${summary.devicesAtDefaultInterval.toLocaleString('en')} devices`);
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
