/**
 * The exposition writer and the fleet's metric families (src/server/metrics.ts), and the server's
 * configuration (src/server/config.ts): pure functions, in-process.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, sha256Hex } from '../src/server/config.ts';
import { coarseLatency, CONFIDENCE_BOUNDS, escapeLabel, fleetMetrics, type FleetInput, LATENCY_SECONDS, writeExposition } from '../src/server/metrics.ts';
import { LATENCY_BOUNDS, latencyBucket } from '../src/telemetry/histogram.ts';
import { emptyRollup } from '../src/telemetry/rollup.ts';
import { alert, MV, parseMetrics, rollupsFor } from './server-helpers.ts';

describe('exposition writer', () => {
  it('escapes label values and HELP text', () => {
    expect(escapeLabel('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    const text = writeExposition([{ name: 'x_total', help: 'line\nbreak \\ here', type: 'counter', samples: [{ labels: { v: 'q"\\\n' }, value: 3 }] }]);
    expect(text).toBe('# HELP x_total line\\nbreak \\\\ here\n# TYPE x_total counter\nx_total{v="q\\"\\\\\\n"} 3\n');
    expect(parseMetrics(text).samples[0]!.labels.v).toBe('q"\\\n');
  });

  it('writes histograms cumulative and ascending, ending in +Inf = _count', () => {
    const text = writeExposition([{ name: 'h', help: 'h', type: 'histogram', samples: [{ labels: { a: '1' }, bounds: [0.1, 1, 10], counts: [2, 0, 3, 4], sum: 12.5 }] }]);
    expect(text.split('\n').slice(2, -1)).toEqual(['h_bucket{a="1",le="0.1"} 2', 'h_bucket{a="1",le="1"} 2', 'h_bucket{a="1",le="10"} 5', 'h_bucket{a="1",le="+Inf"} 9', 'h_sum{a="1"} 12.5', 'h_count{a="1"} 9']);
    expect(writeExposition([{ name: 'g', help: 'g', type: 'gauge', samples: [{ labels: {}, value: NaN }, { labels: { x: 'y' }, value: -Infinity }] }])).toContain('g NaN\ng{x="y"} -Inf\n');
    expect(() => writeExposition([{ name: 'bad-name', help: '', type: 'gauge', samples: [] }])).toThrow();
  });

  it('coarsens latency buckets without changing the counts at the kept bounds', () => {
    expect(LATENCY_SECONDS).toHaveLength(21);
    expect(LATENCY_SECONDS.at(-1)).toBeCloseTo(LATENCY_BOUNDS.at(-1)! / 1000, 6);
    const h: Record<number, number> = {};
    for (const ms of [0.05, 0.3, 3, 30, 31, 45, 300, 3000, 200_000]) h[latencyBucket(ms)] = (h[latencyBucket(ms)] ?? 0) + 1;
    const counts = coarseLatency(h);
    expect(counts.reduce((a, b) => a + b)).toBe(9);
    let acc = 0;
    LATENCY_SECONDS.forEach((le, i) => {
      acc += counts[i]!;
      expect(acc).toBe([0.05, 0.3, 3, 30, 31, 45, 300, 3000, 200_000].filter((ms) => ms / 1000 <= le * (1 + 1e-9)).length);
    });
    expect(counts.at(-1)).toBe(1); // 200 s is past every bound
    expect(CONFIDENCE_BOUNDS).toHaveLength(20);
  });
});

describe('fleet metrics', () => {
  const NOW = Date.UTC(2026, 5, 15, 12);
  const input = (over: Partial<FleetInput> = {}): FleetInput => ({
    now: NOW, intervalMs: 60_000, maxSeries: 100,
    sources: [{ id: 's1', device_id: 'dev-1', last_seen: NOW - 10_000, dropped: 0 }, { id: 's2', device_id: null, last_seen: NOW - 3600_000, dropped: 4 }],
    cumulative: [...rollupsFor(NOW - 3600_000, 2, 1).map((rollup) => ({ source: 's1', rollup })), ...rollupsFor(NOW - 3600_000, 2, 2).map((rollup) => ({ source: 's2', rollup }))],
    recent: rollupsFor(NOW - 2 * 60_000, 1, 3).map((rollup) => ({ source: 's1', rollup })),
    firing: [], batches: { ok: 1, duplicate: 0, rejected: 0 }, http: [], droppedSoFar: 0,
    ...over,
  });

  it('labels series by device (source id without one), camera, location and model version', () => {
    const { samples } = parseMetrics(writeExposition(fleetMetrics(input()).families));
    const frames = samples.filter((s) => s.name === 'inference_frames_total');
    expect(frames.map((s) => s.labels.device).sort()).toEqual(['dev-1', 'dev-1', 's2', 's2']);
    expect(frames[0]!.labels).toEqual({ device: 'dev-1', camera_id: 'cam-1', location: 'line-3', condition: '', model_version: MV });
    expect(samples.find((s) => s.name === 'inference_device_up' && s.labels.device === 's2')?.value).toBe(0);
    expect(samples.find((s) => s.name === 'inference_device_up' && s.labels.device === 'dev-1')?.value).toBe(1);
    expect(samples.find((s) => s.name === 'inference_sync_dropped_batches_total' && s.labels.device === 's2')?.value).toBe(4);
  });

  it('labels series by the camera condition they were recorded under (escaped as any label); alerts firing carry none', () => {
    const tagged = (condition: string, seed: number) => rollupsFor(NOW - 3600_000, 2, seed, ['cam-1'], { condition }).map((rollup) => ({ source: 's1', rollup }));
    const firing = [{ ...alert('r1', 'cam-1', 'firing', NOW - 60_000, 'a1'), source: 's1' }];
    const { samples } = parseMetrics(writeExposition(fleetMetrics(input({ cumulative: [...tagged('colour', 1), ...tagged('mono', 2), ...tagged('a"b\\c', 3)], recent: [], firing })).families));
    const frames = samples.filter((s) => s.name === 'inference_frames_total');
    expect(frames.map((s) => s.labels.condition).sort()).toEqual(['a"b\\c', 'colour', 'mono']);
    const mono = frames.find((s) => s.labels.condition === 'mono')!;
    expect(mono.labels).toEqual({ device: 'dev-1', camera_id: 'cam-1', location: 'line-3', condition: 'mono', model_version: MV });
    expect(mono.value).toBe(2 * 60 * 5);
    const alerts = samples.filter((s) => s.name === 'inference_drift_alert_firing');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.labels).toEqual({ device: 'dev-1', camera_id: 'cam-1', location: 'line-3', model_version: MV, rule: 'r1' });
  });

  it('keeps at most maxSeries label sets, and at most maxSeries samples per family (per stage too), dropping the devices seen longest ago', () => {
    const { families, dropped } = fleetMetrics(input({ maxSeries: 2, droppedSoFar: 5 }));
    const { samples } = parseMetrics(writeExposition(families));
    expect(new Set(samples.filter((s) => s.name === 'inference_frames_total').map((s) => s.labels.device))).toEqual(new Set(['dev-1']));
    expect(samples.some((s) => s.labels.device === 's2')).toBe(false);
    for (const f of families) if (f.name.startsWith('inference_')) expect(f.samples.length, f.name).toBeLessThanOrEqual(2);
    // s2's 2 label sets, and also dev-1's samples past 2 in the families per stage: each counted
    expect(dropped).toBeGreaterThan(2);
    expect(samples.find((s) => s.name === 'inference_metrics_series_dropped_total')?.value).toBe(5 + dropped);
  });

  it('adds up firing alerts that share a label set', () => {
    const a = { id: 'x', rule: 'class-drop', name: 'n', severity: 'warning' as const, state: 'firing' as const, value: 1, threshold: 1, mv: MV, camera_id: 'cam-1', location: 'line-3', t: NOW, since: NOW, source: 's1' };
    const { samples } = parseMetrics(writeExposition(fleetMetrics(input({ firing: [{ ...a, classId: 0 }, { ...a, classId: 2 }] })).families));
    expect(samples.filter((s) => s.name === 'inference_drift_alert_firing')).toEqual([{ name: 'inference_drift_alert_firing', labels: { device: 'dev-1', camera_id: 'cam-1', location: 'line-3', model_version: MV, rule: 'class-drop' }, value: 2 }]);
  });

  it('skips empty histograms', () => {
    const r = emptyRollup('1m', NOW, MV, 'camera_id=a');
    const { samples } = parseMetrics(writeExposition(fleetMetrics(input({ cumulative: [{ source: 's1', rollup: r }], recent: [] })).families));
    expect(samples.filter((s) => s.name.startsWith('inference_stage_latency_seconds'))).toEqual([]);
    expect(samples.find((s) => s.name === 'inference_frames_total')?.value).toBe(0);
  });
});

describe('server configuration', () => {
  const withDir = (f: (dir: string) => void) => {
    const dir = mkdtempSync(join(tmpdir(), 'fleet-cfg-'));
    try {
      f(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('reads tokens (hashed), CORS origins and limits', () =>
    withDir((dir) => {
      writeFileSync(join(dir, 'tokens.json'), JSON.stringify([{ name: 'file', sha256: sha256Hex('from-a-file-0123456789'), devices: ['k1', 'k2'] }]));
      const c = loadConfig({ FLEET_DB: join(dir, 'x', 'f.sqlite'), FLEET_TOKENS: 'a:token-aaaaaaaaaaaaaaaa:k1|k2, b:token-bbbbbbbbbbbbbbbb:*', FLEET_TOKENS_FILE: join(dir, 'tokens.json'), FLEET_CORS: 'https://a.example, http://localhost:5173', PORT: '9000', FLEET_RATE: '600' });
      expect(c.tokens).toEqual([
        { name: 'a', sha256: sha256Hex('token-aaaaaaaaaaaaaaaa'), devices: ['k1', 'k2'] },
        { name: 'b', sha256: sha256Hex('token-bbbbbbbbbbbbbbbb'), devices: ['*'] },
        { name: 'file', sha256: sha256Hex('from-a-file-0123456789'), devices: ['k1', 'k2'] },
      ]);
      expect(JSON.stringify(c)).not.toContain('token-aaaa');
      expect(c).toMatchObject({ port: 9000, host: '127.0.0.1', rate: 600, maxBody: 1 << 20, maxInflated: 8 << 20, intervalMs: 60_000, maxSeries: 5000, cors: ['https://a.example', 'http://localhost:5173'] });
      expect(existsSync(join(dir, 'x'))).toBe(true);
    }));

  it('generates a token once when none is configured, and reuses its hash later', () =>
    withDir((dir) => {
      const printed: string[] = [];
      const env = { FLEET_DB: join(dir, 'f.sqlite') };
      const c1 = loadConfig(env, (l) => printed.push(l));
      const token = printed.map((l) => l.trim()).find((l) => /^[A-Za-z0-9_-]{32}$/.test(l))!;
      expect(token).toBeDefined();
      expect(c1.tokens).toEqual([{ name: 'default', sha256: sha256Hex(token), devices: ['*'] }]);
      expect(readFileSync(join(dir, 'server-tokens.json'), 'utf8')).not.toContain(token);
      const again: string[] = [];
      expect(loadConfig(env, (l) => again.push(l)).tokens).toEqual(c1.tokens);
      expect(again).toEqual([]);
    }));

  it('refuses bad values with a message naming them', () =>
    withDir((dir) => {
      const base = { FLEET_DB: join(dir, 'f.sqlite'), FLEET_TOKENS: 'a:token-aaaaaaaaaaaaaaaa:*' };
      for (const [env, msg] of [
        [{ PORT: '70000' }, /^PORT/],
        [{ PORT: 'eighty' }, /^PORT/],
        [{ FLEET_RATE: '0' }, /^FLEET_RATE/],
        [{ FLEET_MAX_BODY: '1.5' }, /^FLEET_MAX_BODY/],
        [{ FLEET_TOKENS: 'a:short:*' }, /^FLEET_TOKENS entry 1 \(a\): the token/],
        [{ FLEET_TOKENS: 'a:token-aaaaaaaaaaaaaaaa:bad device' }, /devices/],
        [{ FLEET_TOKENS: 'a:token-aaaaaaaaaaaaaaaa:*,a:token-bbbbbbbbbbbbbbbb:*' }, /used twice/],
        [{ FLEET_CORS: 'https://a.example/path' }, /^FLEET_CORS/],
        [{ FLEET_TOKENS_FILE: join(dir, 'missing.json') }, /^FLEET_TOKENS_FILE/],
        [{ FLEET_METRICS_TOKEN: 'short' }, /^FLEET_METRICS_TOKEN/],
      ] as const) expect(() => loadConfig({ ...base, ...env }), JSON.stringify(env)).toThrow(msg);
      expect(() => loadConfig({ ...base, PORT: 'x' })).toThrow(ConfigError);
    }));
});
