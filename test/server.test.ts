/**
 * The fleet server, end to end: the real process (`src/server/main.ts`) on a free port with a temp SQLite file,
 * spoken to with fetch; the database read back read-only with better-sqlite3.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { percentilesOf, seriesOf, totalsOf } from '../src/store/queries.ts';
import { bucketStart, emptyRollup, mergeRollup, type Rollup } from '../src/telemetry/rollup.ts';
import type { Batch } from '../src/sync/payload.ts';
import { alert, batch, getJson, memoryOf, mergeAll, MIN, MV, parseMetrics, post, rollupsFor, type Server, startServer, viaJson } from './server-helpers.ts';

const ALL = 'all-devices-token-0123456789';
const KIOSK = 'kiosk-a-only-token-0123456789';
const ORIGIN = 'https://fleet.example';
const NOW = Date.now();
/** 12 minutes ago, on a minute: batches cover t0 … t0 + 9 min, so the last 5 minutes hold data */
const T0 = bucketStart(NOW, '1m') - 12 * MIN;

let server: Server;
let limited: Server;
const valid: { source: string; rollup: Rollup }[] = [];
let batchA: Batch, batchB: Batch, batchC: Batch;
const ingestMs: number[] = [];
/** server-side ingest times from Server-Timing */
const serverMs: number[] = [];
const timing = (res: Response) => {
  const m = /dur=([\d.]+)/.exec(res.headers.get('server-timing') ?? '');
  if (m) serverMs.push(Number(m[1]));
};

const rows = (b: Batch) => b.rollups.map((rollup) => ({ source: b.source.id, rollup }));
const db = () => new Database(server.dbPath, { readonly: true, fileMustExist: true });
const dbRead = <T>(f: (d: Database.Database) => T): T => {
  const d = db();
  try {
    return f(d);
  } finally {
    d.close();
  }
};
const q = (path: string, token = ALL) => getJson(server.url, token, path);
const range = `from=${T0}&to=${T0 + 20 * MIN}`;

beforeAll(async () => {
  const env = { FLEET_TOKENS: `fleet:${ALL}:*,kiosk:${KIOSK}:kiosk-a`, FLEET_CORS: ORIGIN, FLEET_RATE: '1000000', FLEET_SOURCE_RATE: '1000000' };
  [server, limited] = await Promise.all([startServer(env), startServer({ ...env, FLEET_RATE: '60', FLEET_METRICS_TOKEN: 'metrics-token-0123456789' })]);
  mkdirSync(join(server.dir, 'static', 'assets'), { recursive: true });
  writeFileSync(join(server.dir, 'static', 'fleet.html'), '<!doctype html><title>Fleet</title><script type="module" src="assets/app.js"></script>');
  writeFileSync(join(server.dir, 'static', 'assets', 'app.js'), 'console.log(1);');
  writeFileSync(join(server.dir, 'static', '.secret'), 'dotfile');
  writeFileSync(join(server.dir, 'package.json'), '{"secret": true}'); // one level above the static folder

  batchA = batch('kiosk-a', 1, rollupsFor(T0, 5, 1), { alerts: [alert('confidence-drop', 'cam-1', 'firing', T0 + 2 * MIN, '019a0000-0000-7000-8000-000000000001')] }, 'dev-a');
  batchB = batch('kiosk-b', 1, rollupsFor(T0, 5, 2));
  batchC = batch('kiosk-a', 2, rollupsFor(T0 + 5 * MIN, 5, 3), {
    alerts: [
      alert('confidence-drop', 'cam-1', 'resolved', T0 + 6 * MIN, '019a0000-0000-7000-8000-000000000002'),
      alert('latency-p95', 'cam-2', 'firing', T0 + 7 * MIN, '019a0000-0000-7000-8000-000000000003'),
    ],
    dropped: 2,
  }, 'dev-a');
}, 60_000);

afterAll(async () => {
  await Promise.all([server?.stop(), limited?.stop()]);
  const median = (x: number[]) => [...x].sort((a, b) => a - b)[x.length >> 1]!.toFixed(2);
  if (ingestMs.length) console.log(`fleet server: one batch of ${batchA.rollups.length} 1-min rollups: ${median(ingestMs)} ms round trip (median of ${ingestMs.length}), db.ingest ${median(serverMs)} ms (Server-Timing)`);
});

describe('fleet server: ingest', () => {
  it('acknowledges a valid batch and stores its rollups', async () => {
    const t = performance.now();
    const res = await post(server.url, ALL, JSON.stringify(batchA));
    ingestMs.push(performance.now() - t);
    timing(res);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ack: 1 });
    expect(res.headers.get('server-timing')).toMatch(/^ingest;dur=\d/);
    valid.push(...rows(batchA));
    const n = dbRead((d) => d.prepare("SELECT count(*) n FROM rollups WHERE res = '1m' AND source = 'kiosk-a'").get() as { n: number });
    expect(n.n).toBe(batchA.rollups.length);
  });

  it('answers an exact replay as a duplicate and writes nothing twice', async () => {
    const snapshot = () => dbRead((d) => ({ batches: d.prepare('SELECT source, seq FROM batches').all(), rollups: d.prepare('SELECT * FROM rollups ORDER BY res, start, mv, g, source').all(), cumulative: d.prepare('SELECT * FROM cumulative').all(), alerts: d.prepare('SELECT count(*) n FROM alerts').get() }));
    const before = snapshot();
    const res = await post(server.url, ALL, JSON.stringify(batchA));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ack: 1, duplicate: true });
    expect(snapshot()).toEqual(before);
    expect(before.batches).toEqual([{ source: 'kiosk-a', seq: 1 }]);

    // the idempotency key is (source, seq), and the body it was first taken with: other content under the same
    // seq is a conflict (409), not a replay, and writes nothing; the exact body is still a duplicate
    const other = { ...batchA, rollups: rollupsFor(T0, 5, 99), sentAt: Date.now() + 1 };
    const res2 = await post(server.url, ALL, JSON.stringify(other));
    expect(res2.status).toBe(409);
    expect((await res2.json()).error).toMatch(/kiosk-a already sent batch 1 with other content/);
    expect(snapshot()).toEqual(before);
    expect(await (await post(server.url, ALL, JSON.stringify(batchA))).json()).toEqual({ ack: 1, duplicate: true });
  });

  it('stores annotations as the page sends them (the latest replaces the earlier), answers /v1/annotations, refuses bad ones', async () => {
    const id = (ms: number, n: number) => `${ms.toString(16).padStart(12, '0').replace(/^(.{8})(.{4})$/, '$1-$2')}-7000-8000-${String(n).padStart(12, '0')}`;
    const a1 = { id: id(T0 + 1000, 1), src: 'mon-1', meta: { lot: 'L-17', verdict: 'ok' } };
    const first = { ...batch('kiosk-ann', 1, []), annotations: [a1] };
    expect((await post(server.url, ALL, JSON.stringify(first))).status).toBe(200);
    const second = { ...batch('kiosk-ann', 2, []), annotations: [{ ...a1, meta: { lot: 'L-17', verdict: 'scrap', '<b>': 'x' } }] };
    const refused = await post(server.url, ALL, JSON.stringify(second));
    expect(refused.status).toBe(400);
    expect((await refused.json()).error).toMatch(/^annotations\.0\.meta/);
    second.annotations[0]!.meta = { lot: 'L-17', verdict: 'scrap' } as never;
    expect((await post(server.url, ALL, JSON.stringify(second))).status).toBe(200);
    const got = await q(`/v1/annotations?from=${T0}&to=${T0 + 20 * MIN}&source=kiosk-ann`);
    expect(got.status).toBe(200);
    expect(got.body.rows).toEqual([{ source: 'kiosk-ann', id: a1.id, t: T0 + 1000, src: 'mon-1', meta: { lot: 'L-17', verdict: 'scrap' } }]);
    expect((await fetch(`${server.url}/v1/annotations?from=${T0}&to=${T0 + MIN}&limit=0`, { headers: { authorization: `Bearer ${ALL}` } })).status).toBe(400);
  });

  it('keeps two sources writing the same minutes apart, and sums them fleet-wide', async () => {
    for (const b of [batchB, batchC]) {
      const t = performance.now();
      const res = await post(server.url, ALL, JSON.stringify(b));
      ingestMs.push(performance.now() - t);
      timing(res);
      expect(res.status, await res.clone().text()).toBe(200);
      valid.push(...rows(b));
    }
    const fleet = await q(`/v1/totals?${range}`);
    const a = await q(`/v1/totals?${range}&source=kiosk-a`);
    const b = await q(`/v1/totals?${range}&source=kiosk-b`);
    expect(a.body.frames).toBe(mergeAll(valid.filter((r) => r.source === 'kiosk-a')).frames);
    expect(b.body.frames).toBe(mergeAll(valid.filter((r) => r.source === 'kiosk-b')).frames);
    expect(fleet.body.frames).toBe(a.body.frames + b.body.frames);
    expect(fleet.body.malformed).toBe(a.body.malformed + b.body.malformed);
    expect(fleet.body.errors.timeout).toBe(a.body.errors.timeout + b.body.errors.timeout);
  });

  it('answers /v1/totals with totalsOf over the merged rollups', async () => {
    const res = await q(`/v1/totals?${range}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(viaJson(totalsOf(mergeAll(valid))));
    const cam = await q(`/v1/totals?${range}&camera_id=cam-1&mv=${MV}`);
    expect(cam.body).toEqual(viaJson(totalsOf(mergeAll(valid.filter((r) => r.rollup.g.includes('camera_id=cam-1'))))));
    expect(cam.body.frames).toBeLessThan(res.body.frames);
  });

  it('answers /v1/percentiles from merged histograms, exactly as percentilesOf', async () => {
    const m = mergeAll(valid);
    for (const what of ['inference', 'total', 'preprocess', 'confidence'] as const) {
      const res = await q(`/v1/percentiles?${range}&what=${what}&q=0.5,0.9,0.95,0.99`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(viaJson(percentilesOf(m, what, [0.5, 0.9, 0.95, 0.99])));
    }
    // fleet-wide p95 is not the mean of the sources' p95s (merged histograms, not averages of averages)
    const perSource = ['kiosk-a', 'kiosk-b'].map((s) => percentilesOf(mergeAll(valid.filter((r) => r.source === s)), 'inference', [0.95]).values[0]!);
    const fleet = (await q(`/v1/percentiles?${range}&what=inference&q=0.95`)).body.values[0];
    expect(fleet).toBe(percentilesOf(m, 'inference', [0.95]).values[0]);
    expect(fleet).not.toBe((perSource[0]! + perSource[1]!) / 2);
  });

  it('answers /v1/series with seriesOf over the same rollups at 1 min (10s maps to 1m)', async () => {
    const res = await q(`/v1/series?${range}&res=1m`);
    const ordered = [...valid].sort((x, y) => x.rollup.start - y.rollup.start || (x.rollup.g < y.rollup.g ? -1 : x.rollup.g > y.rollup.g ? 1 : 0) || (x.source < y.source ? -1 : 1));
    const expected = viaJson(seriesOf(ordered.map((r) => r.rollup), { from: T0, to: T0 + 20 * MIN }, '1m'));
    expect(res.body).toEqual(expected);
    expect(res.body.t).toHaveLength(10);
    expect((await q(`/v1/series?${range}&res=10s`)).body).toEqual(expected);
    const dflt = await q(`/v1/series?${range}`);
    expect(dflt.body.res).toBe('1m');
  });

  it('keeps 1-hour rows equal to the merge of their minutes', () => {
    dbRead((d) => {
      const hours = d.prepare("SELECT start, mv, g, source, data FROM rollups WHERE res = '1h'").all() as { start: number; mv: string; g: string; source: string; data: string }[];
      expect(hours.length).toBeGreaterThan(0);
      for (const h of hours) {
        const minutes = d.prepare("SELECT data FROM rollups WHERE res = '1m' AND start >= ? AND start < ? AND mv = ? AND g = ? AND source = ? ORDER BY start").pluck().all(h.start, h.start + 3600_000, h.mv, h.g, h.source) as string[];
        const m = emptyRollup('1h', h.start, h.mv, h.g);
        for (const s of minutes) mergeRollup(m, JSON.parse(s));
        const stored = JSON.parse(h.data) as Rollup;
        expect(stored.frames).toBe(m.frames);
        expect(stored.lat).toEqual(m.lat);
        expect(stored.conf).toEqual(m.conf);
        expect(stored.errors).toEqual(m.errors);
        expect(stored.classes).toEqual(m.classes);
        expect(stored.scoreSum).toBeCloseTo(m.scoreSum, 9);
        expect([stored.first, stored.last]).toEqual([m.first, m.last]);
      }
    });
  });

  it('accepts a gzip batch', async () => {
    const b = batch('kiosk-b', 2, rollupsFor(T0 + 5 * MIN, 5, 4));
    const res = await post(server.url, ALL, gzipSync(JSON.stringify(b)), { 'content-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ack: 2 });
    valid.push(...rows(b));
  });

  it('accepts a large gzip batch (1,000 rollups, the most a batch holds: over 1 MB of JSON, over the wire limit unless gzipped)', async () => {
    const [r0] = rollupsFor(T0 - 3 * 24 * 3600_000, 1, 8, ['cam-big'], { line: 'x'.repeat(200) });
    const b = batch('kiosk-big', 1, Array.from({ length: 1000 }, (_, i) => ({ ...structuredClone(r0!), start: r0!.start + i * MIN })));
    const json = JSON.stringify(b);
    const body = gzipSync(json);
    expect(json.length).toBeGreaterThan(1 << 20); // over the wire limit unless compressed
    const t = performance.now();
    const res = await post(server.url, ALL, body, { 'content-encoding': 'gzip' });
    expect(res.status, await res.clone().text()).toBe(200);
    console.log(`fleet server: a gzip batch of 1,000 rollups (${(json.length / 1e6).toFixed(1)} MB JSON, ${(body.length / 1e3).toFixed(0)} kB gzip): ${(performance.now() - t).toFixed(0)} ms round trip, ${res.headers.get('server-timing')}`);
    valid.push(...rows(b));
    expect(dbRead((d) => d.prepare("SELECT count(*) FROM rollups WHERE source = 'kiosk-big' AND res = '1m'").pluck().get())).toBe(1000);
  });

  it('lists devices with vital signs from their last 5 minutes and firing alerts', async () => {
    const res = await q('/v1/devices');
    expect(res.status).toBe(200);
    const a = res.body.find((d: { id: string }) => d.id === 'kiosk-a');
    expect(a).toMatchObject({ device_id: 'dev-a', app_version: '0.1.0', down: false, lastSeq: 2, dropped: 2 });
    expect(Date.now() - a.lastSeen).toBeLessThan(60_000);
    expect(a.monitors.map((m: { tags: { camera_id: string } }) => m.tags.camera_id)).toEqual(['cam-1', 'cam-2']);
    // last 5 minutes of kiosk-a: batch C's minutes
    const last5 = mergeAll(rows(batchC));
    expect(a.vitals.frames).toBe(last5.frames);
    expect(a.vitals.fps).toBeCloseTo(10, 1); // 2 cameras × 5 fps, from each minute's first to last frame
    expect(a.vitals.p95).toBe(percentilesOf(last5, 'inference', [0.95]).values[0]);
    expect(a.vitals.p50).toBe(percentilesOf(last5, 'inference', [0.5]).values[0]);
    expect(a.vitals.successRate).toBe(last5.valid / last5.frames);
    expect(a.firing.map((x: { rule: string; camera_id: string }) => [x.rule, x.camera_id])).toEqual([['latency-p95', 'cam-2']]);
    expect(res.body.find((d: { id: string }) => d.id === 'kiosk-b').firing).toEqual([]);
    const one = await q('/v1/devices?source=kiosk-b');
    expect(one.body.map((d: { id: string }) => d.id)).toEqual(['kiosk-b']);
  });

  it('pages alerts newest first', async () => {
    const p1 = await q(`/v1/alerts?${range}&limit=2`);
    expect(p1.body.rows.map((r: { id: string }) => r.id.slice(-1))).toEqual(['3', '2']);
    expect(p1.body.rows[0].source).toBe('kiosk-a');
    const p2 = await q(`/v1/alerts?${range}&limit=2&before=${p1.body.next}`);
    expect(p2.body).toMatchObject({ next: null });
    expect(p2.body.rows.map((r: { id: string }) => r.id.slice(-1))).toEqual(['1']);
    expect((await q(`/v1/alerts?${range}&rule=latency-p95`)).body.rows).toHaveLength(1);
    expect((await q(`/v1/alerts?${range}&camera_id=cam-1&source=kiosk-a`)).body.rows).toHaveLength(2);
    expect((await q('/v1/alerts?limit=10')).body.rows).toHaveLength(3); // no range: every alert kept
  });

  it('lists dimensions', async () => {
    expect((await q(`/v1/dimensions?${range}`)).body).toEqual({ mv: [MV], camera_id: ['cam-1', 'cam-2'], location: ['line-3'], condition: [], source: ['kiosk-a', 'kiosk-b'], truncated: false });
    expect((await q(`/v1/dimensions?${range}&source=kiosk-b`)).body.source).toEqual(['kiosk-b']);
  });

  it('validates query parameters, naming the bad one', async () => {
    const cases: [string, string][] = [
      ['/v1/totals?from=abc&to=5', 'from'],
      ['/v1/totals?from=10&to=5', 'to'],
      ['/v1/totals?to=5', 'from'],
      [`/v1/totals?from=0&to=${401 * 24 * 3600_000}`, 'to'],
      [`/v1/totals?${range}&res=5m`, 'res'],
      [`/v1/totals?${range}&mv=XYZ`, 'mv'],
      [`/v1/totals?${range}&source=a%20b`, 'source'],
      [`/v1/totals?${range}&colour=red`, 'colour'],
      [`/v1/totals?${range}&from=1`, 'from'],
      [`/v1/percentiles?${range}&what=speed`, 'what'],
      [`/v1/percentiles?${range}&q=0.5,2`, 'q'],
      [`/v1/percentiles?${range}&q=NaN`, 'q'],
      [`/v1/alerts?${range}&limit=1001`, 'limit'],
      [`/v1/alerts?${range}&limit=1.5`, 'limit'],
      [`/v1/alerts?${range}&before=%%%`, 'before'],
      ['/v1/series?from=Infinity&to=5', 'from'],
      ['/v1/dimensions?from=1', 'to'],
      ['/v1/devices?colour=red', 'colour'],
      ['/v1/alerts?from=5', 'to'],
    ];
    for (const [path, name] of cases) {
      const res = await q(path);
      expect(res.status, path).toBe(400);
      expect(res.body.error, path).toMatch(new RegExp(`^${name}: `));
    }
  });
});

describe('fleet server: auth', () => {
  it('refuses missing and wrong tokens (401) and other devices for a scoped token (403), writing nothing', async () => {
    const count = () => dbRead((d) => d.prepare('SELECT count(*) n FROM batches').get());
    const before = count();
    const b = batch('intruder', 1, rollupsFor(T0, 1, 7));
    for (const [token, status] of [[null, 401], ['wrong-token-0123456789', 401], [KIOSK, 403]] as const) {
      const res = await post(server.url, token, JSON.stringify(b));
      expect(res.status).toBe(status);
      expect((await res.json()).error).toBeTypeOf('string');
    }
    expect((await post(server.url, null, JSON.stringify(b), { authorization: `Basic ${btoa(`x:${ALL}`)}` })).status).toBe(401);
    expect((await q('/v1/devices', 'nope-nope-nope-nope')).status).toBe(401);
    expect((await fetch(`${server.url}/v1/totals?${range}`)).status).toBe(401);
    expect(count()).toEqual(before);
    expect(dbRead((d) => d.prepare("SELECT count(*) n FROM sources WHERE id = 'intruder'").get())).toEqual({ n: 0 });
    // the scoped token may write its own source
    const own = batch('kiosk-a', 3, []);
    expect((await post(server.url, KIOSK, JSON.stringify(own))).status).toBe(200);
  });
});

describe('fleet server: limits', () => {
  it('refuses a body over FLEET_MAX_BODY (413), with or without Content-Length', async () => {
    const big = JSON.stringify(batch('kiosk-a', 50, [], { flagged: [] })).replace('"0.1.0"', `"${'x'.repeat(1_200_000)}"`);
    const res = await post(server.url, ALL, big);
    expect(res.status).toBe(413);
    // chunked, no Content-Length
    const chunks = Array.from({ length: 20 }, () => new TextEncoder().encode('x'.repeat(100_000)));
    const stream = new ReadableStream<Uint8Array>({ pull(c) { const x = chunks.pop(); if (x) c.enqueue(x); else c.close(); } });
    const res2 = await fetch(`${server.url}/v1/batches`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ALL}` }, body: stream, duplex: 'half' } as RequestInit);
    expect(res2.status).toBe(413);
    expect((await res2.json()).error).toMatch(/body over 1048576 bytes/);
  });

  it('refuses a gzip bomb without inflating it whole', async () => {
    const bomb = gzipSync(Buffer.alloc(50_000_000));
    expect(bomb.length).toBeLessThan(100_000);
    const mem0 = await memoryOf(server.proc.pid!);
    const t = performance.now();
    const res = await post(server.url, ALL, bomb, { 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect((await res.json()).error).toBe('decompressed body over 8388608 bytes');
    expect(performance.now() - t).toBeLessThan(3000);
    const mem1 = await memoryOf(server.proc.pid!);
    if (mem0 && mem1) expect(mem1.hwm - mem0.hwm).toBeLessThan(30e6); // peak RSS: no 50-MB jump
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('refuses bad JSON (400), wrong content types and encodings (415), bad gzip (400)', async () => {
    const body = JSON.stringify(batch('kiosk-a', 60, []));
    expect((await post(server.url, ALL, '{"v": 1,')).status).toBe(400);
    expect((await post(server.url, ALL, body, { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post(server.url, ALL, body, { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect((await post(server.url, ALL, body, { 'content-encoding': 'br' })).status).toBe(415);
    expect((await post(server.url, ALL, 'not gzip at all', { 'content-encoding': 'gzip' })).status).toBe(400);
    const parsed = await post(server.url, ALL, JSON.stringify({ ...batch('kiosk-a', 61, []), seq: -1 }));
    expect(parsed.status).toBe(400);
    expect((await parsed.json()).error).toMatch(/^seq: /);
  });

  it('rate-limits per token (429 with Retry-After)', async () => {
    const statuses: number[] = [];
    let retry: string | null = null;
    for (let i = 0; i < 14; i++) {
      const res = await post(limited.url, ALL, '{}');
      statuses.push(res.status);
      if (res.status === 429) retry = res.headers.get('retry-after');
    }
    expect(statuses.slice(0, 10).every((s) => s === 400)).toBe(true); // burst = 60 / 6
    expect(statuses.at(-1)).toBe(429);
    expect(Number(retry)).toBeGreaterThanOrEqual(1);
    // another token has its own bucket
    expect((await post(limited.url, KIOSK, '{}')).status).toBe(400);
  });

  it('keeps running after all that', async () => {
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ ok: true, db: 'ok' });
  });
});

describe('fleet server: CORS', () => {
  it('answers only allowlisted origins', async () => {
    const ok = await fetch(`${server.url}/healthz`, { headers: { origin: ORIGIN } });
    expect(ok.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(ok.headers.get('vary')).toMatch(/Origin/);
    const other = await fetch(`${server.url}/healthz`, { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const pre = await fetch(`${server.url}/v1/batches`, { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, content-encoding' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(pre.headers.get('access-control-allow-headers')).toBe('authorization, content-type, content-encoding');
    expect(pre.headers.get('access-control-allow-methods')).toBe('GET, POST');
    const preOther = await fetch(`${server.url}/v1/batches`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(preOther.headers.get('access-control-allow-origin')).toBeNull();
    expect(preOther.headers.get('access-control-allow-headers')).toBeNull();
  });
});

describe('fleet server: /metrics', () => {
  let text = '';
  beforeAll(async () => {
    // a source whose camera_id needs escaping, and one with HTML in a tag value
    const weird = 'we"ird\\cam\nline';
    const b = batch('kiosk-w', 1, rollupsFor(T0 - 24 * 3600_000, 1, 5, [weird, '<script>alert(1)</script>']));
    expect((await post(server.url, ALL, JSON.stringify(b))).status).toBe(200);
    valid.push(...rows(b));
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    text = await res.text();
  });

  it('parses, with cumulative ascending histogram buckets ending at +Inf = _count', () => {
    const { types, samples } = parseMetrics(text);
    expect(types.get('inference_stage_latency_seconds')).toBe('histogram');
    expect(types.get('inference_frames_total')).toBe('counter');
    for (const name of ['inference_stage_latency_seconds', 'inference_confidence']) {
      const groups = new Map<string, { le: number; v: number }[]>();
      for (const s of samples.filter((x) => x.name === `${name}_bucket`)) {
        const { le, ...rest } = s.labels;
        const key = JSON.stringify(rest);
        groups.set(key, [...(groups.get(key) ?? []), { le: le === '+Inf' ? Infinity : Number(le), v: s.value }]);
      }
      expect(groups.size).toBeGreaterThan(0);
      for (const [key, buckets] of groups) {
        for (let i = 1; i < buckets.length; i++) {
          expect(buckets[i]!.le).toBeGreaterThan(buckets[i - 1]!.le);
          expect(buckets[i]!.v).toBeGreaterThanOrEqual(buckets[i - 1]!.v);
        }
        expect(buckets.at(-1)!.le).toBe(Infinity);
        const count = samples.find((s) => s.name === `${name}_count` && JSON.stringify(s.labels) === key);
        expect(count?.value).toBe(buckets.at(-1)!.v);
      }
    }
  });

  it('counts the ingested frames, escapes label values, and exposes devices and alerts', () => {
    const { samples } = parseMetrics(text);
    const frames = samples.filter((s) => s.name === 'inference_frames_total').reduce((a, s) => a + s.value, 0);
    expect(frames).toBe(valid.reduce((a, r) => a + r.rollup.frames, 0));
    expect(text).toContain('camera_id="we\\"ird\\\\cam\\nline"');
    expect(samples.some((s) => s.labels.camera_id === 'we"ird\\cam\nline')).toBe(true);
    expect(samples.some((s) => s.labels.camera_id === '<script>alert(1)</script>')).toBe(true);
    const a = samples.filter((s) => s.labels.device === 'dev-a');
    expect(a.find((s) => s.name === 'inference_device_up')?.value).toBe(1);
    expect(a.find((s) => s.name === 'inference_drift_alert_firing')?.labels).toMatchObject({ rule: 'latency-p95', camera_id: 'cam-2', model_version: MV });
    expect(a.find((s) => s.name === 'inference_mean_confidence')?.value).toBeGreaterThan(0.3);
    expect(samples.find((s) => s.name === 'fleet_batches_total' && s.labels.result === 'duplicate')?.value).toBeGreaterThanOrEqual(2);
    expect(samples.find((s) => s.name === 'fleet_http_requests_total' && s.labels.route === '/v1/batches' && s.labels.code === '200')?.value).toBeGreaterThan(3);
  });

  it('passes promtool check metrics', () => {
    const which = spawnSync('promtool', ['--version']);
    if (which.error) throw new Error('promtool is not installed: install the Debian package `prometheus` (apt-get install -y prometheus) to run this check');
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  });

  it('needs FLEET_METRICS_TOKEN when it is set', async () => {
    expect((await fetch(`${limited.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${limited.url}/metrics`, { headers: { authorization: 'Bearer metrics-token-0123456789' } })).status).toBe(200);
  });
});

describe('fleet server: static files', () => {
  /** A raw GET (no URL normalisation by the client). */
  const raw = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const u = new URL(server.url);
      const req = httpRequest({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });

  it('serves fleet.html at / with the CSP, and assets with their types', async () => {
    const res = await fetch(`${server.url}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<title>Fleet</title>');
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'none'; frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const js = await fetch(`${server.url}/assets/app.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toBe('console.log(1);');
  });

  it('refuses path traversal and dotfiles', async () => {
    for (const path of ['/../package.json', '/%2e%2e/package.json', '/..%2fpackage.json', '/assets/..%2f..%2fpackage.json', '/.secret', '/%2esecret', '/assets/../../package.json', '/nope.html']) {
      const res = await raw(path);
      expect(res.status, path).toBe(404);
      expect(res.body, path).not.toContain('secret');
    }
  });

  it('says to build the page when fleet.html is missing', async () => {
    const res = await fetch(`${limited.url}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/npm run build/);
  });
});

describe('fleet server: shutdown', () => {
  it('stops on SIGTERM, closing the database (WAL checkpointed)', async () => {
    const exited = new Promise<number | null>((r) => limited.proc.once('exit', r));
    limited.proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(limited.output()).toMatch(/fleet server: stopped \(SIGTERM\)/);
    expect(existsSync(`${limited.dbPath}-wal`) ? statSync(`${limited.dbPath}-wal`).size : 0).toBe(0);
  });
});
