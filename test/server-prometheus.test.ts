/**
 * A real Prometheus (Debian's `prometheus`) scrapes the real fleet server's /metrics: after a batch, its
 * HTTP API returns the device's frame counter (and a latency histogram quantile), and `promtool check
 * metrics` passes on what it scraped.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batch, MIN, post, rollupsFor, type Server, startServer } from './server-helpers.ts';
import { emptyRollup, mergeRollup, type Rollup } from '../src/telemetry/rollup.ts';
import { percentilesOf } from '../src/store/queries.ts';

const TOKEN = 'prometheus-test-token-0123';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

describe('a real Prometheus scraping the fleet server', () => {
  let server: Server;
  let prom: ChildProcess;
  let promUrl: string;
  let dir: string;
  let log = '';
  let frames = 0;
  let merged: Rollup;

  beforeAll(async () => {
    if (spawnSync('prometheus', ['--version']).error) throw new Error('prometheus is not installed: install the Debian package `prometheus` (apt-get install -y prometheus)');
    server = await startServer({ FLEET_TOKENS: `kiosk:${TOKEN}:*` });
    const start = Math.floor(Date.now() / MIN) * MIN - 10 * MIN;
    const rollups = rollupsFor(start, 3, 7);
    frames = rollups.reduce((a, r) => a + r.frames, 0);
    merged = rollups.reduce((m, r) => mergeRollup(m, r), emptyRollup('1m', start, '4c7094b7091d', '*'));
    const res = await post(server.url, TOKEN, JSON.stringify(batch('kiosk-p', 1, rollups, {}, 'dev-p')));
    expect(res.status).toBe(200);
    dir = mkdtempSync(join(tmpdir(), 'prometheus-'));
    const target = new URL(server.url).host;
    writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: fleet\n    metrics_path: /metrics\n    static_configs:\n      - targets: ['${target}']\n`);
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    prom.stdout!.on('data', (d) => (log += d));
    prom.stderr!.on('data', (d) => (log += d));
  }, 60_000);

  afterAll(async () => {
    prom?.kill('SIGTERM');
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** An instant query to Prometheus's HTTP API, retried until it has a result (scrapes come every second). */
  async function query(q: string, timeout = 30_000): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const end = Date.now() + timeout;
    for (;;) {
      try {
        const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
        const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
        if (body.status === 'success' && body.data.result.length) return body.data.result;
      } catch {
        // not up yet
      }
      if (Date.now() > end) throw new Error(`Prometheus returned nothing for ${q} in ${timeout} ms:\n${log.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  it("returns the device's frame counter, and the scrape target is up", async () => {
    const up = await query('up{job="fleet"}');
    expect(up[0]!.value[1]).toBe('1');
    const result = await query('sum by (device) (inference_frames_total{device="dev-p"})');
    expect(result[0]!.metric.device).toBe('dev-p');
    expect(Number(result[0]!.value[1])).toBe(frames);
    // per camera too, with its labels
    const perCamera = await query('inference_frames_total{device="dev-p"}');
    expect(perCamera.map((r) => r.metric.camera_id).sort()).toEqual(['cam-1', 'cam-2']);
    expect(perCamera.every((r) => r.metric.location === 'line-3' && r.metric.model_version === '4c7094b7091d')).toBe(true);
  }, 60_000);

  it('takes the latency histograms: its p95 is within one exposed bucket of the merged histograms’ p95', async () => {
    const result = await query('histogram_quantile(0.95, sum by (le) (inference_stage_latency_seconds_bucket{device="dev-p", stage="inference"}))');
    const p95 = Number(result[0]!.value[1]);
    const truth = percentilesOf(merged, 'inference', [0.95]).values[0]! / 1000;
    // /metrics exposes every third of the store's 1.25× bounds: one exposed bucket is 1.25³ ≈ 1.95× wide
    expect(Math.abs(Math.log(p95 / truth))).toBeLessThanOrEqual(Math.log(1.25 ** 3) + 1e-9);
  }, 60_000);

  it('passes promtool check metrics on what it scrapes', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });
});
