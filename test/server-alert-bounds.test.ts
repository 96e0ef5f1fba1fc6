/**
 * Alert floods, label counts, queues, times and retention against the real fleet server process (#25): one batch
 * of 1,000 alerts, error kinds by the thousand, a delivery that always fails, alerts and rollups dated in the far
 * future, sources that stop sending; afterwards every read endpoint answers 200 in bounded time.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, limitsFrom } from '../src/server/bounds.ts';
import { FleetDb } from '../src/server/db.ts';
import { alert, batch, getJson, memoryOf, MIN, parseMetrics, post, rollupsFor, type Server, startServer } from './server-helpers.ts';
import { freePort } from './server-helpers.ts';

const TOKEN = 'alert-bounds-token-0123456789';
const DAY = 24 * 3600_000;
const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


async function send(server: Server, b: unknown, want = 200) {
  const res = await post(server.url, TOKEN, JSON.stringify(b));
  expect(res.status, await res.clone().text()).toBe(want);
  return res;
}

async function metrics(server: Server) {
  const res = await fetch(`${server.url}/metrics`);
  expect(res.status).toBe(200);
  return parseMetrics(await res.text()).samples;
}

async function forwarding(server: Server) {
  const r = await getJson(server.url, TOKEN, '/v1/forwarding');
  expect(r.status).toBe(200);
  return r.body.targets as { name: string; pending: number; delivered: number; deadLetters: number; dropped: number }[];
}

/** `n` firing alerts of distinct rules and cameras. */
const flood = (n: number, prefix: string, t = Date.now() - 1000) =>
  Array.from({ length: n }, (_, i) => ({ ...alert(`r${i}`, `${prefix}-cam-${i}`, 'firing', t, `${prefix}-${i}`), location: `loc-${i}` }));

describe('alert floods and label counts (FLEET_MAX_SERIES=50, dead targets, FLEET_FORWARD_QUEUE_MAX=150)', () => {
  let server: Server;

  beforeAll(async () => {
    const dead = await freePort();
    server = await startServer({
      FLEET_TOKENS: `fleet:${TOKEN}:*`,
      FLEET_RATE: '1000000',
      FLEET_MAX_SERIES: '50',
      FLEET_WEBHOOK_URL: `http://127.0.0.1:${dead}/hook`,
      FLEET_ALERTMANAGER_URL: `http://127.0.0.1:${dead}`,
      FLEET_FORWARD_ATTEMPTS: '1000',
      FLEET_FORWARD_MAX_AGE_MS: String(3600_000),
      FLEET_FORWARD_BACKOFF_MS: '60000',
      FLEET_FORWARD_QUEUE_MAX: '150',
    });
  }, 30_000);
  afterAll(() => server?.stop());

  it('one batch of 1,000 alerts keeps 100 (FLEET_MAX_ALERTS_PER_BATCH), a source keeps at most 100 firing; the rest are counted', async () => {
    await send(server, batch('flood-a', 1, [], { alerts: flood(1000, 'a') }));
    await send(server, batch('flood-a', 2, [], { alerts: flood(100, 'a2') }));
    const firing = (await getJson(server.url, TOKEN, '/v1/alerts?limit=1000')).body;
    const rows = (firing.alerts ?? firing.rows ?? firing) as unknown[];
    expect(rows.length).toBeLessThanOrEqual(100);
    const s = await metrics(server);
    const dropped = (reason: string) => s.find((x) => x.name === 'fleet_items_dropped_total' && x.labels.reason === reason)?.value;
    expect(dropped('alerts_per_batch')).toBe(900);
    expect(dropped('firing_per_source')).toBe(100);
    // a resolve always passes, and frees a place
    await send(server, batch('flood-a', 3, [], { alerts: [{ ...alert('r0', 'a-cam-0', 'resolved', Date.now(), 'a-r0'), location: 'loc-0', since: Date.now() - 1000 }, ...flood(1, 'a3')] }));
    const after = await metrics(server);
    expect(after.find((x) => x.name === 'fleet_items_dropped_total' && x.labels.reason === 'firing_per_source')?.value).toBe(100);
  });

  it("each target's queue holds at most FLEET_FORWARD_QUEUE_MAX: the oldest are dropped, counted on /v1/forwarding and /metrics", async () => {
    await send(server, batch('flood-b', 1, [], { alerts: flood(100, 'b') }));
    const targets = await forwarding(server);
    expect(targets.map((t) => t.name).sort()).toEqual(['alertmanager', 'webhook']);
    for (const t of targets) {
      expect(t.pending, t.name).toBe(150);
      expect(t.dropped, t.name).toBeGreaterThan(0);
      // 100 + 2 alert changes of flood-a, 100 of flood-b: each either waits, was dropped, or dead-lettered
      expect(t.pending + t.dropped + t.deadLetters + t.delivered, t.name).toBe(202);
    }
    const s = await metrics(server);
    expect(s.find((x) => x.name === 'fleet_alerts_dropped_total' && x.labels.target === 'webhook')?.value).toBe(targets.find((t) => t.name === 'webhook')!.dropped);
  });

  it('FLEET_MAX_SERIES holds for every family: 200 firing label sets and 3,840 error kinds', async () => {
    const cams = Array.from({ length: 60 }, (_, i) => `cam-${i}`);
    const rollups = rollupsFor(T0, 1, 7, cams).map((r, i) => ({ ...r, errors: Object.fromEntries(Array.from({ length: 64 }, (_, k) => [`e${i}-${k}`, 1 + k])) }));
    await send(server, batch('flood-c', 1, rollups));
    const s = await metrics(server);
    const count = new Map<string, number>();
    for (const x of s) {
      if (x.name.startsWith('fleet_') || x.name === 'inference_metrics_series_dropped_total') continue;
      const family = x.name.replace(/_(bucket|sum|count)$/, '');
      if (x.name.endsWith('_bucket') || x.name.endsWith('_sum')) continue;
      count.set(family, (count.get(family) ?? 0) + 1);
    }
    expect(count.get('inference_errors_total')).toBeGreaterThan(0);
    for (const [family, n] of count) expect(n, family).toBeLessThanOrEqual(50);
    expect(s.some((x) => x.name === 'inference_errors_total' && x.labels.kind === 'other')).toBe(true);
    expect(s.find((x) => x.name === 'inference_metrics_series_dropped_total')!.value).toBeGreaterThan(0);
  });

  it('after the floods every read endpoint answers 200 within 2 s, the process under 512 MB at its peak', async () => {
    const now = Date.now();
    const range = `from=${now - 3 * 3600_000}&to=${now + MIN}`;
    const paths = ['/metrics', '/v1/devices', `/v1/series?${range}`, `/v1/totals?${range}`, `/v1/dimensions?${range}`, '/v1/alerts', '/v1/forwarding', '/'];
    for (const p of paths) {
      const t0 = performance.now();
      const res = await fetch(`${server.url}${p}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      await res.arrayBuffer();
      expect(res.status, p).toBe(200);
      expect(performance.now() - t0, p).toBeLessThan(2000);
    }
    const mem = await memoryOf(server.proc.pid!);
    if (mem) expect(mem.hwm).toBeLessThan(512 * 2 ** 20);
  });
});

describe('a failing delivery holds the others back for FLEET_FORWARD_MAX_AGE_MS at most', () => {
  let server: Server;
  let hook: HttpServer;
  const got: { key: string; status: number; at: number }[] = [];

  beforeAll(async () => {
    hook = createServer((req, res) => {
      const key = String(req.headers['idempotency-key']);
      req.resume();
      req.on('end', () => {
        const status = key.includes(':poison:') ? 500 : 200;
        got.push({ key, status, at: Date.now() });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    server = await startServer({
      FLEET_TOKENS: `fleet:${TOKEN}:*`,
      FLEET_WEBHOOK_URL: `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`,
      FLEET_FORWARD_ATTEMPTS: '1000',
      FLEET_FORWARD_BACKOFF_MS: '200',
      FLEET_FORWARD_BACKOFF_MAX_MS: '1000',
      FLEET_FORWARD_MAX_AGE_MS: '2000',
    });
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
    await new Promise((r) => hook?.close(r));
  });

  it('a delivery answered 500 every time is dead-lettered after 2 s; the one behind it arrives', async () => {
    const t = Date.now() - 1000;
    await send(server, batch('kiosk-p', 1, [], { alerts: [alert('drift', 'cam-1', 'firing', t, 'poison')] }));
    await send(server, batch('kiosk-p', 2, [], { alerts: [alert('blur', 'cam-2', 'firing', t, 'fine')] }));
    const end = Date.now() + 10_000;
    while (!got.some((g) => g.key === 'kiosk-p:fine:webhook' && g.status === 200) && Date.now() < end) await sleep(100);
    expect(got.filter((g) => g.key === 'kiosk-p:fine:webhook' && g.status === 200)).toHaveLength(1);
    const poison = got.filter((g) => g.key === 'kiosk-p:poison:webhook');
    expect(poison.length).toBeGreaterThan(1);
    expect(poison.length).toBeLessThan(20);
    const [webhook] = await forwarding(server);
    expect(webhook).toMatchObject({ name: 'webhook', pending: 0, delivered: 1, deadLetters: 1 });
    expect(server.output()).toMatch(/gave up on kiosk-p:poison:webhook after \d+ attempt\(s\) and \d+ s/);
  });
});

describe('times past the clock skew, and retention of what a source stopped sending', () => {
  let server: Server;

  beforeAll(async () => {
    server = await startServer({ FLEET_TOKENS: `fleet:${TOKEN}:*`, FLEET_RATE: '1000000' });
  }, 30_000);
  afterAll(() => server?.stop());

  it('an alert dated t=8.64e15 is dropped (counted), so its resolve ends it; a rollup dated tomorrow and a flagged frame dated 8.64e15 are dropped, the rest of the batch kept', async () => {
    const now = Date.now();
    const good = rollupsFor(T0, 2, 3);
    const future = rollupsFor(Math.floor((now + DAY) / MIN) * MIN, 1, 4, ['cam-1']);
    const flag = (id: string, t: number) => ({
      id, t, flaggedAt: t + 5, src: 'mon-0', tags: { camera_id: 'cam-1' }, mv: good[0]!.mv, backend: 'wasm', width: 640, height: 480,
      detections: [], reasons: ['manual'], bytes: 10, quality: 0.8, jpeg: Buffer.from('jpeg').toString('base64'),
    });
    const flagged = [flag('019a0000-0000-7000-9000-000000000001', now - 1000), flag('019a0000-0000-7000-9000-000000000002', 8.64e15 - 10)];
    await send(server, batch('kiosk-f', 1, [...good, ...future], { alerts: [{ ...alert('drift', 'cam-1', 'firing', 8.64e15, 'far'), since: now - 1000 }], flagged }));
    await send(server, batch('kiosk-f', 2, [], { alerts: [alert('drift', 'cam-1', 'resolved', now, 'end')] }));
    const devices = (await getJson(server.url, TOKEN, '/v1/devices')).body as { id: string; firing: unknown[] }[];
    expect(devices.find((d) => d.id === 'kiosk-f')!.firing).toEqual([]);
    const all = await getJson(server.url, TOKEN, `/v1/alerts?from=0&to=${8.64e15}`);
    expect(JSON.stringify(all.body)).not.toContain('"far"');
    const totals = await getJson(server.url, TOKEN, `/v1/totals?from=${T0}&to=${now + 2 * DAY}`);
    expect(totals.status).toBe(200);
    expect(totals.body.frames).toBe(good.reduce((a, r) => a + r.frames, 0));
    const s = await metrics(server);
    const dropped = (reason: string) => s.find((x) => x.name === 'fleet_items_dropped_total' && x.labels.reason === reason)?.value;
    expect(dropped('future_alert')).toBe(1);
    expect(dropped('future_rollup')).toBe(future.length);
    expect(dropped('future_flagged')).toBe(1);
    expect(s.filter((x) => x.name === 'inference_drift_alert_firing')).toEqual([]);
  });

  it('retention deletes rows dated in the future (kept by an older server), and everything of a source silent past FLEET_SOURCE_RETENTION_DAYS', async () => {
    await send(server, batch('kiosk-old', 1, rollupsFor(T0, 2, 5), { alerts: [alert('drift', 'cam-1', 'firing', Date.now() - 1000, 'old-a')] }));
    await send(server, batch('kiosk-new', 1, rollupsFor(T0, 2, 6)));
    const exited = new Promise((r) => server.proc.once('exit', r));
    server.proc.kill('SIGTERM');
    await exited;
    const db = FleetDb.open(server.dbPath);
    try {
      // rows an older server kept: dated a year ahead
      const far = Date.now() + 365 * DAY;
      const row = db.db.prepare("SELECT data FROM rollups WHERE res = '1m' LIMIT 1").pluck().get() as string;
      db.db.prepare('INSERT INTO rollups (res, start, mv, g, source, data) VALUES (?, ?, ?, ?, ?, ?)').run('1m', far, 'x', 'camera_id=cam-9', 'kiosk-new', row);
      db.db.prepare('INSERT INTO alerts (source, id, t, rule, camera_id, data) VALUES (?, ?, ?, ?, ?, ?)').run('kiosk-new', 'future', far, 'drift', 'cam-9', '{}');
      const r = db.retention();
      expect(r.futureRows).toBe(2);
      expect(db.db.prepare('SELECT count(*) FROM rollups WHERE start > ?').pluck().get(Date.now() + DAY)).toBe(0);
      // kiosk-old goes silent; a year and more later only kiosk-new (which kept sending) is left
      db.db.prepare("UPDATE sources SET last_seen = ? WHERE id = 'kiosk-old'").run(Date.now() - 401 * DAY);
      const before = db.counts();
      expect(before.cumulative).toBeGreaterThan(0);
      const r2 = db.retention();
      expect(r2.idleSources).toBe(1);
      const q = (t: string) => db.db.prepare(`SELECT count(*) FROM ${t} WHERE source = 'kiosk-old'`).pluck().get();
      for (const t of ['cumulative', 'alert_state', 'baselines', 'batches']) expect(q(t), t).toBe(0);
      expect(db.db.prepare("SELECT count(*) FROM sources WHERE id = 'kiosk-old'").pluck().get()).toBe(0);
      expect(db.db.prepare("SELECT count(*) FROM cumulative WHERE source = 'kiosk-new'").pluck().get()).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });
});

describe('the bounds from the environment', () => {
  it('unset: the defaults; set: the value (days for FLEET_SOURCE_RETENTION_DAYS)', () => {
    expect(limitsFrom({})).toEqual(DEFAULT_LIMITS);
    expect(DEFAULT_LIMITS.sourceIdleMs).toBe(400 * DAY);
    expect(limitsFrom({ FLEET_SOURCE_RETENTION_DAYS: '7', FLEET_MAX_ALERTS_PER_BATCH: '5' })).toMatchObject({ sourceIdleMs: 7 * DAY, alertsPerBatch: 5 });
  });

  it('a bound that is not a positive integer stops the server at start, naming the variable', async () => {
    await expect(startServer({ FLEET_TOKENS: `fleet:${TOKEN}:*`, FLEET_MAX_CLOCK_SKEW_MS: '-5' })).rejects.toThrow(/FLEET_MAX_CLOCK_SKEW_MS: expected an integer from 1/);
  });
});
