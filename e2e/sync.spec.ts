/**
 * Sync to the real reference server (its own process and SQLite file) from the real kiosk (production
 * build, vtest camera, real model): batches arrive; the server's totals and percentiles for the synced
 * minutes equal the kiosk's own; the fleet page lists the device (tags as text) and opens its panel, fed by
 * the server. Faults: the server down for 35 s, a page reload and a browser restart while it is down —
 * every batch arrives exactly once; a 503 with Retry-After is honoured.
 */
import { createServer, request } from 'node:http';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, expect, type Page, test } from '@playwright/test';
import Database from 'better-sqlite3';
import { recordEvents, waitForEvent, screenshotPath } from './helpers.ts';
import { type FleetServer, startFleetServer } from './fleet-server.ts';
import { batch, post } from '../test/server-helpers.ts';
import { pairFrame, summarize } from '../src/inference/challenger.ts';
import { challengerSync } from '../src/sync/challenger-payload.ts';

const KIOSK = `http://127.0.0.1:${Number(process.env.E2E_PORT ?? 5200)}`;
const TOKEN = 'kiosk-token-0123456789';

type Totals = { frames: number; valid: number; malformed: number; classCounts: Record<string, number> };
const kioskUrl = (server: string, extra = '') =>
  `/?backend=wasm&camera_id=sync-cam&device_id=kiosk-a&location=${encodeURIComponent('<b>hall</b>')}&sync_url=${encodeURIComponent(`${server}/v1/batches`)}&sync_token=${TOKEN}&sync_interval=2&baseline_minutes=0.25${extra}`;
const syncStatus = (page: Page) => page.evaluate(async () => (await (document.querySelector('inference-monitor') as unknown as { syncStatus(): Promise<any> }).syncStatus()));
const localTotals = (page: Page, from: number, to: number) =>
  page.evaluate(async ([from, to]) => {
    const store = await (document.querySelector('inference-monitor') as unknown as { store(): Promise<any> }).store();
    await store.flush();
    return { totals: await store.totals({ from, to }), p: await store.percentiles({ from, to }, 'inference', [0.5, 0.95]) };
  }, [from, to] as const);

/** The minutes the server has (whole closed minutes), as one range. */
async function syncedRange(server: FleetServer): Promise<{ from: number; to: number } | undefined> {
  const s = await server.get<{ t: number[] }>('/v1/series', { from: Date.now() - 3600_000, to: Date.now(), res: '1m' });
  return s.t.length ? { from: s.t[0]!, to: s.t.at(-1)! + 59_999 } : undefined;
}

test('a kiosk syncs to the real server: totals and percentiles match the kiosk’s own; the fleet page lists it and opens its panel', async ({ page, context }) => {
  test.setTimeout(240_000);
  const server = await startFleetServer({ port: 5311, tokens: `kiosk:${TOKEN}:*`, cors: [KIOSK], intervalMs: 2000 });
  try {
    const rec = await recordEvents(page);
    await page.goto(kioskUrl(server.url));
    await waitForEvent(page, 'ready');
    // an inference annotated after the fact: its metadata travels with the next batch
    const first = await waitForEvent(page, 'inference');
    await page.evaluate((id) => (document.querySelector('inference-monitor') as any).annotate(id, { lot: 'L-9', verdict: '<i>ok</i>' }), first.detail.inferenceId);
    // the first closed minute reaches the server (a minute closes 10 s after it ends)
    await expect.poll(async () => (await syncedRange(server)) !== undefined, { timeout: 130_000, intervals: [2000] }).toBe(true);
    await expect.poll(async () => (await syncStatus(page)).backlog.batches, { timeout: 20_000 }).toBe(0);
    const range = (await syncedRange(server))!;
    const [mine, theirs, theirP] = await Promise.all([
      localTotals(page, range.from, range.to),
      server.get<Totals>('/v1/totals', range),
      server.get<{ n: number; values: (number | null)[] }>('/v1/percentiles', { ...range, what: 'inference', q: '0.5,0.95' }),
    ]);
    expect(mine.totals.frames).toBeGreaterThan(0);
    expect({ frames: theirs.frames, valid: theirs.valid, malformed: theirs.malformed, classes: theirs.classCounts }).toEqual({
      frames: mine.totals.frames,
      valid: mine.totals.valid,
      malformed: mine.totals.malformed,
      classes: Object.fromEntries(Object.entries(mine.totals.classCounts).map(([k, v]) => [k, v])),
    });
    expect(theirP.n).toBe(mine.p.n);
    theirP.values.forEach((v, i) => {
      const local = mine.p.values[i]!;
      expect(Math.abs(Math.log(v! / local))).toBeLessThanOrEqual(Math.log(1.25) + 1e-9); // within one histogram bucket
    });
    const ann = await server.get<{ rows: { id: string; meta: Record<string, string> }[] }>('/v1/annotations', { from: Date.now() - 3600_000, to: Date.now() + 60_000 });
    expect(ann.rows.map((r) => [r.id, r.meta])).toEqual([[first.detail.inferenceId, { lot: 'L-9', verdict: '<i>ok</i>' }]]);
    // the kiosk's panel says it synced
    await expect(page.locator('inference-health-panel [data-tile=sync] .value')).toContainText('synced', { timeout: 15_000 });
    await expect(page.locator('inference-health-panel [data-tile=sync]')).toHaveAttribute('data-level', 'ok');

    // a second device synced a challenger's comparison against a reference (its classes and camera named with markup)
    const box = (n: number) => Array.from({ length: n }, (_, i) => ({ classId: 0, label: '<b>box</b>', score: 0.7, box: [i * 20, 0, 10, 10] as [number, number, number, number] }));
    const compared = summarize(Array.from({ length: 20 }, (_, i) => pairFrame(Date.now() - 30_000 + i * 1000, { ms: 100, detections: box(10) }, { ms: 150, detections: box(7) }, { reference: box(10) })), 'a'.repeat(64), 'b'.repeat(64));
    const lab = await post(server.url, TOKEN, JSON.stringify({ ...batch('lab-b', 1, [], {}, 'lab-b'), challengers: [challengerSync('mon-9', 'dock <i>3</i>', Date.now(), compared)] }));
    expect(lab.status).toBe(200);

    // the fleet page: the device, up, its tags as text; its panel reads the server
    const fleet = await context.newPage();
    const errors: string[] = [];
    fleet.on('pageerror', (e) => errors.push(e.message));
    await fleet.goto(`${server.url}/#token=${TOKEN}`);
    // the other device's row: its challenger's verdict line, worse ones marked (text, not markup)
    const labRow = fleet.locator('fleet-view tr[data-device=lab-b]');
    await expect(labRow.locator('td.challenger [data-verdict=worse]')).toHaveText(`dock <i>3</i>: ${compared.line}`, { timeout: 20_000 });
    await expect(labRow.locator('td.challenger .firing')).toHaveCount(1);
    await labRow.locator('button.device').click();
    const labTable = fleet.locator('fleet-view section.panel section.challenger');
    await expect(labTable.locator('tr[data-class="<b>box</b>"]')).toHaveAttribute('data-verdict', 'fewer');
    await expect(labTable.locator('tr[data-row=reference]')).toContainText('agreement with the reference (F1, 20 frames)');
    await expect(labTable.locator('tr[data-row=reference]')).toHaveAttribute('data-verdict', 'worse');
    await expect(fleet.locator('fleet-view section.panel > h3')).toHaveText('Challenger on dock <i>3</i>');
    const row = fleet.locator('fleet-view tr[data-device]').filter({ hasText: 'kiosk-a' });
    await expect(row).toHaveCount(1, { timeout: 20_000 });
    await expect(row.locator('th')).toHaveText('kiosk-a');
    await expect(row).toContainText('up');
    await expect(row).toContainText('sync-cam @ <b>hall</b> (colour)'); // text, not markup; the camera's condition now (vtest: day colour)
    // the condition filter: the kiosk is in day colour, not in night IR
    const condition = fleet.locator('fleet-view h1 + div.bar label', { hasText: 'Condition' }).locator('select'); // the fleet's own (the opened panel has one too)
    await expect(condition.locator('option')).toHaveText(['all', 'colour']);
    await condition.selectOption('colour');
    await expect(row).toHaveCount(1);
    await expect(labRow).toHaveCount(0); // a device with no frames has no condition
    await condition.selectOption('');
    expect(await fleet.locator('fleet-view').evaluate((el) => el.shadowRoot!.querySelectorAll('b, i').length)).toBe(0);
    await row.locator('button.device').click();
    const panel = fleet.locator('fleet-view inference-health-panel');
    const totals1h = await server.get<Totals>('/v1/totals', { from: Date.now() - 3600_000, to: Date.now() });
    // the panel draws "0 frames" until its first read from the server lands: wait for the read, not for the first drawing
    const shown = async () => Number(/(\d+) frames/.exec((await panel.locator('[data-tile=success] .detail').textContent({ timeout: 20_000 })) ?? '')?.[1] ?? -1);
    await expect.poll(shown, { timeout: 20_000 }).toBeGreaterThanOrEqual(totals1h.frames); // the server's 1-h totals (more may have synced since)
    await expect(panel.locator('figure .uplot canvas')).toHaveCount(5, { timeout: 20_000 });
    await fleet.screenshot({ path: screenshotPath('fleet.png') });
    expect(errors).toEqual([]);
    expect(rec.pageErrors).toEqual([]);
  } finally {
    await server.stop();
  }
});

test('faults: the server down 35 s, a reload and a browser restart while it is down — every batch arrives exactly once', async ({ browserName }, testInfo) => {
  test.setTimeout(360_000);
  void browserName;
  const server = await startFleetServer({ port: 5312, tokens: `kiosk:${TOKEN}:*`, cors: [KIOSK], intervalMs: 2000 });
  const profile = mkdtempSync(join(tmpdir(), 'kiosk-profile-'));
  const launch = () => chromium.launchPersistentContext(profile, { ...testInfo.project.use.launchOptions, baseURL: KIOSK });
  let context = await launch();
  try {
    let page = context.pages()[0] ?? (await context.newPage());
    await recordEvents(page);
    await page.goto(kioskUrl(server.url, '&panel=off'));
    await waitForEvent(page, 'ready');
    // an annotation goes with the next batch (2 s): the device is known to the server at once, not after the first
    // baseline (15 s of frames), which now comes while the server is down and is one more batch that must arrive once
    const annotate = async (p: Page, meta: Record<string, string>) => {
      const since = Date.now();
      const e = await waitForEvent(p, 'inference', (x) => x.at >= since);
      await p.evaluate(([id, meta]) => (document.querySelector('inference-monitor') as any).annotate(id, meta), [e.detail.inferenceId, meta] as const);
    };
    await annotate(page, { lot: 'before' });
    await expect.poll(async () => (await server.get<unknown[]>('/v1/devices')).length, { timeout: 60_000 }).toBe(1);
    const [device] = await server.get<{ id: string }[]>('/v1/devices');

    // the server goes away for 35 s; the kiosk keeps batching, says so once, and loses nothing
    await server.stop();
    const downAt = Date.now();
    await annotate(page, { lot: 'during' }); // a batch to send while it is down, whatever else the kiosk has by then
    await waitForEvent(page, 'error', (e) => e.detail.code === 'sync-failed', 30_000);
    await expect.poll(async () => (await syncStatus(page)).state, { timeout: 10_000 }).toMatch(/waiting|sending/);
    // a reload while it is down: the queue survives
    await page.reload();
    await waitForEvent(page, 'ready');
    await page.waitForTimeout(5000);
    // and a browser restart
    await context.close();
    context = await launch();
    page = context.pages()[0] ?? (await context.newPage());
    await recordEvents(page);
    await page.goto(kioskUrl(server.url, '&panel=off'));
    await waitForEvent(page, 'ready');
    const waiting = await syncStatus(page);
    expect(waiting.sourceId).toBe(device!.id); // the same sync source after a restart
    await expect.poll(async () => (await syncStatus(page)).backlog.batches, { timeout: 90_000, intervals: [2000] }).toBeGreaterThan(0);
    await page.waitForTimeout(Math.max(0, 35_000 - (Date.now() - downAt)));

    await server.restart();
    // everything queued arrives, in order, once
    await expect.poll(async () => (await syncStatus(page)).backlog.batches, { timeout: 60_000, intervals: [1000] }).toBe(0);
    expect(await server.get<unknown[]>('/v1/devices')).toHaveLength(1);
    // the server's SQLite file: batches 1..N of this source, each once, no gap, and N is what the kiosk
    // counts as sent. The kiosk keeps making a batch every 2 s, so the file and the kiosk's count are
    // read between two identical readings of the kiosk's (a batch sent in between reads again).
    const batches = () => {
      const db = new Database(server.db, { readonly: true, fileMustExist: true });
      try {
        return db.prepare('SELECT count(*) AS n, min(seq) AS lo, max(seq) AS hi, count(DISTINCT seq) AS distinct_ FROM batches WHERE source = ?').get(device!.id) as { n: number; lo: number; hi: number; distinct_: number };
      } finally {
        db.close();
      }
    };
    let status = await syncStatus(page);
    let b = batches();
    await expect
      .poll(async () => {
        const before = await syncStatus(page);
        b = batches();
        status = await syncStatus(page);
        const still = before.stats.sent === status.stats.sent && before.backlog.batches === 0 && status.backlog.batches === 0 && before.state !== 'sending' && status.state !== 'sending';
        return still ? b.n - status.stats.sent : 'moving';
      }, { timeout: 30_000, intervals: [300] })
      .toBe(0);
    expect(b).toEqual({ n: status.stats.sent, lo: 1, hi: status.stats.sent, distinct_: status.stats.sent });
    expect(status.stats.rejected).toBe(0);
    expect(status.stats.dropped).toBe(0);
    // no minute merged twice: the server's totals for the synced minutes equal the kiosk's own (once a
    // closed minute has arrived: the first batches may carry only flagged frames and a baseline)
    await expect.poll(async () => (await syncedRange(server)) !== undefined, { timeout: 100_000, intervals: [2000] }).toBe(true);
    await expect.poll(async () => (await syncStatus(page)).backlog.batches, { timeout: 30_000 }).toBe(0);
    const range = (await syncedRange(server))!;
    const theirs = await server.get<Totals>('/v1/totals', range);
    const mine = await localTotals(page, range.from, range.to);
    expect(theirs.frames).toBe(mine.totals.frames);
  } finally {
    await context.close();
    await server.stop();
  }
});

test('two kiosk windows of one site: one syncs at a time and sends both cameras’ data once; when it closes, the other takes over where it left off', async ({ context }) => {
  test.setTimeout(300_000);
  const server = await startFleetServer({ port: 5327, tokens: `kiosk:${TOKEN}:*`, cors: [KIOSK], intervalMs: 2000 });
  const sqlite = <T>(sql: string, ...args: unknown[]) => {
    const db = new Database(server.db, { readonly: true, fileMustExist: true });
    try {
      return db.prepare(sql).all(...args) as T[];
    } finally {
      db.close();
    }
  };
  try {
    // (each window with its own interval: two outboxes running side by side would drift apart, not mirror each other)
    const open = async (camera: string, interval: number) => {
      const p = await context.newPage();
      await recordEvents(p);
      await p.goto(kioskUrl(server.url, '&panel=off&standby=off').replace('camera_id=sync-cam', `camera_id=${camera}`).replace('sync_interval=2', `sync_interval=${interval}`));
      await waitForEvent(p, 'ready');
      await waitForEvent(p, 'inference');
      return p;
    };
    const a = await open('cam-a', 2);
    const b = await open('cam-b', 3);
    // one outbox per site (its state and queue are the site's): the second window waits its turn
    expect((await syncStatus(b)).state).toBe('elsewhere');
    expect((await syncStatus(a)).state).toMatch(/idle|sending|waiting/);
    const flag = (p: Page) => p.evaluate(async () => ((await (document.querySelector('inference-monitor') as unknown as { flag(): Promise<{ id: string }> }).flag()).id));
    const flaggedIds = () => sqlite<{ id: string }>('SELECT id FROM flagged').map((r) => r.id);
    // a frame flagged in the window that does not sync reaches the server through the one that does
    const fromB = await flag(b);
    await expect.poll(flaggedIds, { timeout: 60_000, intervals: [2000] }).toContain(fromB);
    // both cameras' closed minutes arrive, each once: the server's totals equal the site's own, camera by camera
    // (the second window's first minute closes a minute or more after the first's on a loaded machine: waited for)
    await expect.poll(async () => (await syncedRange(server)) !== undefined, { timeout: 130_000, intervals: [2000] }).toBe(true);
    await expect.poll(async () => (await server.get<Totals>('/v1/totals', { from: Date.now() - 3600_000, to: Date.now(), camera_id: 'cam-b' })).frames, { timeout: 130_000, intervals: [2000] }).toBeGreaterThan(0);
    await expect.poll(async () => (await syncStatus(a)).backlog.batches, { timeout: 30_000 }).toBe(0);
    const range = (await syncedRange(server))!;
    for (const camera_id of ['cam-a', 'cam-b']) {
      const theirs = await server.get<Totals>('/v1/totals', { ...range, camera_id });
      const mine = await a.evaluate(
        async ([from, to, camera_id]) => (await (await (document.querySelector('inference-monitor') as unknown as { store(): Promise<any> }).store()).totals({ from, to, camera_id })).frames as number,
        [range.from, range.to, camera_id] as const,
      );
      expect(mine, camera_id).toBeGreaterThan(0);
      expect(theirs.frames, camera_id).toBe(mine);
    }
    // the syncing window closes: the other takes over, under the same sync source, with the next sequence numbers
    const source = (await syncStatus(a)).sourceId;
    await a.close();
    await expect.poll(async () => (await syncStatus(b)).state, { timeout: 15_000 }).toMatch(/idle|sending|waiting/);
    expect((await syncStatus(b)).sourceId).toBe(source);
    const later = await flag(b);
    await expect.poll(flaggedIds, { timeout: 60_000, intervals: [2000] }).toContain(later);
    // batches 1..N, each once, no gap; N is what the site counts as sent (read between two identical readings)
    let sent = -1;
    let n: { n: number; lo: number; hi: number }[] = [];
    await expect
      .poll(async () => {
        const before = await syncStatus(b);
        n = sqlite<{ n: number; lo: number; hi: number }>('SELECT count(*) AS n, min(seq) AS lo, max(seq) AS hi FROM batches WHERE source = ?', source);
        const after = await syncStatus(b);
        sent = after.stats.sent;
        return before.stats.sent === sent && after.backlog.batches === 0 && after.state !== 'sending' ? n[0]!.n - sent : 'moving';
      }, { timeout: 30_000, intervals: [300] })
      .toBe(0);
    expect(n[0]).toEqual({ n: sent, lo: 1, hi: sent });
    expect(await server.get<unknown[]>('/v1/devices')).toHaveLength(1); // one device: the site
  } finally {
    await server.stop();
  }
});

test('a 503 with Retry-After is honoured', async ({ page }) => {
  test.setTimeout(240_000);
  const server = await startFleetServer({ port: 5313, tokens: `kiosk:${TOKEN}:*`, cors: [KIOSK], intervalMs: 2000 });
  // a proxy in front of it: the first batch request gets 503 Retry-After: 8, the rest go through
  const seen: { at: number; status: number }[] = [];
  const proxy = createServer((req, res) => {
    if (req.method === 'POST' && !seen.some((s) => s.status === 503)) {
      seen.push({ at: Date.now(), status: 503 });
      req.resume();
      // (cross-origin, Retry-After reaches the page only when exposed: the reference server does so too)
      res.writeHead(503, { 'retry-after': '8', 'access-control-allow-origin': KIOSK, 'access-control-expose-headers': 'Retry-After', 'content-type': 'application/json' }).end('{"error":"maintenance"}');
      return;
    }
    const up = request(`${server.url}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
      if (req.method === 'POST') seen.push({ at: Date.now(), status: r.statusCode! });
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(5314, '127.0.0.1', r));
  try {
    await recordEvents(page);
    await page.goto(kioskUrl('http://127.0.0.1:5314', '&panel=off'));
    await waitForEvent(page, 'ready');
    // something to send at once: an annotation goes with the next batch (2 s), so the first batch request need not
    // wait for the baseline (15 s of frames) or a closed minute. What is judged is unchanged: the request after
    // the 503 comes no sooner than Retry-After's 8 s, where the client's own back-off would retry within 1 s
    // (src/sync/outbox.ts: 1 s × 0.5–1 jitter after a first failure) or at the next 2-s tick.
    const frame = await waitForEvent(page, 'inference');
    await page.evaluate((id) => (document.querySelector('inference-monitor') as any).annotate(id, { lot: 'L-503' }), frame.detail.inferenceId);
    await expect.poll(() => seen.filter((s) => s.status === 200).length, { timeout: 130_000, intervals: [1000] }).toBeGreaterThan(0);
    const first = seen.find((s) => s.status === 503)!;
    const next = seen.find((s) => s.at > first.at)!;
    expect(next.at - first.at, JSON.stringify(seen.map((s) => [s.at - first.at, s.status]))).toBeGreaterThanOrEqual(7_500); // not before Retry-After (8 s)
    await waitForEvent(page, 'error', (e) => e.detail.code === 'sync-failed' && /503/.test(e.detail.message), 5_000);
  } finally {
    proxy.close();
    await server.stop();
  }
});

test('OTLP: the kiosk exports its closed minutes as OTLP/HTTP JSON metrics that decode with the official protobuf definitions', async ({ page }) => {
  test.setTimeout(240_000);
  const Request = createRequire(import.meta.url)('@opentelemetry/otlp-transformer/build/src/generated/root.js').opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
  // a minimal OTLP/HTTP receiver (CORS for the kiosk's origin, gzip accepted)
  const exports: any[] = [];
  const receiver = createServer((req, res) => {
    const cors = { 'access-control-allow-origin': KIOSK, 'access-control-allow-headers': 'authorization, content-type, content-encoding', 'access-control-allow-methods': 'POST' };
    if (req.method === 'OPTIONS') return void res.writeHead(204, cors).end();
    const chunks: Buffer[] = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      try {
        const raw = Buffer.concat(chunks);
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        const message = Request.fromObject(JSON.parse(body.toString('utf8')));
        const err = req.url === '/v1/metrics' ? Request.verify(message) : 'wrong path';
        if (err) throw new Error(err);
        exports.push(Request.toObject(message, { longs: String }));
        res.writeHead(200, { ...cors, 'content-type': 'application/json' }).end('{}');
      } catch (e) {
        res.writeHead(400, { ...cors, 'content-type': 'application/json' }).end(JSON.stringify({ code: 3, message: (e as Error).message }));
      }
    });
  });
  await new Promise<void>((r) => receiver.listen(5315, '127.0.0.1', r));
  try {
    const rec = await recordEvents(page);
    await page.goto(`/?backend=wasm&panel=off&camera_id=otlp-cam&device_id=kiosk-o&otlp_url=${encodeURIComponent('http://127.0.0.1:5315/v1/metrics')}&sync_interval=2`);
    await waitForEvent(page, 'ready');
    await expect.poll(() => exports.length, { timeout: 130_000, intervals: [2000] }).toBeGreaterThan(0);
    const rm = exports[0].resourceMetrics[0];
    const attr = (a: { key: string; value: { stringValue?: string } }[], k: string) => a.find((x) => x.key === k)?.value.stringValue;
    expect(attr(rm.resource.attributes, 'device.id')).toBe('kiosk-o');
    expect(attr(rm.resource.attributes, 'camera_id')).toBe('otlp-cam');
    expect(attr(rm.resource.attributes, 'service.name')).toBe('inference-health-monitor');
    const metrics = rm.scopeMetrics[0].metrics;
    const frames = metrics.find((m: { name: string }) => m.name === 'inference.frames');
    expect(Number(frames.sum.dataPoints[0].asInt)).toBeGreaterThan(0);
    const latency = metrics.find((m: { name: string }) => m.name === 'inference.stage.latency');
    for (const p of latency.histogram.dataPoints) expect(p.bucketCounts.map(Number).reduce((a: number, b: number) => a + b, 0)).toBe(Number(p.count));
    expect(rec.pageErrors).toEqual([]);
  } finally {
    receiver.close();
  }
});
