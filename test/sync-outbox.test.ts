/**
 * The sync outbox in Node with a scripted server (a fake fetch) and an in-memory queue standing in for
 * IndexedDB: batches carry consecutive sequence numbers, leave the queue only when acknowledged, survive a
 * "reload", back off (honouring Retry-After), report each error kind once, drop refused batches counted,
 * bound the queue (dropping the oldest, counted and reported), and fall back to plain JSON on a 415.
 */
import { pairFrame, summarize } from '../src/inference/challenger.ts';
import { challengerSync } from '../src/sync/challenger-payload.ts';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type Collected, type OutboxPersistence, type OutboxState, type QueuedBatch, type SyncCursor, SyncOutbox, gzipText, retryAfter } from '../src/sync/outbox.ts';
import { parseBatch } from '../src/sync/payload.ts';
import { emptyRollup } from '../src/telemetry/rollup.ts';

function memory(): OutboxPersistence & { queue: Map<number, QueuedBatch>; state?: OutboxState } {
  const m = {
    queue: new Map<number, QueuedBatch>(),
    state: undefined as OutboxState | undefined,
    async load() {
      return { state: m.state && structuredClone(m.state), queue: [...m.queue.values()] };
    },
    async append(b: QueuedBatch, s: OutboxState) {
      m.queue.set(b.seq, b);
      m.state = structuredClone(s);
    },
    async remove(seqs: number[], s: OutboxState) {
      for (const q of seqs) m.queue.delete(q);
      m.state = structuredClone(s);
    },
    async saveState(s: OutboxState) {
      m.state = structuredClone(s);
    },
  };
  return m;
}

/** One new closed minute per call (a rollup with `frames` frames). */
function source(frames = 10) {
  let minute = Math.floor(Date.now() / 60_000) * 60_000 - 30 * 60_000;
  return async (cursor: SyncCursor): Promise<Collected> => {
    minute += 60_000;
    const r = emptyRollup('1m', minute, 'abcdef012345', 'camera_id=line-1');
    r.frames = r.valid = frames;
    r.first = minute;
    r.last = minute + 59_000;
    return { rollups: [r], alerts: [], flagged: [], baselines: [], cursor: { ...cursor, rollupsUpTo: minute } };
  };
}

interface Call {
  seq: number;
  gzip: boolean;
  token?: string;
  body: ReturnType<typeof parseBatch>;
}

/** A scripted server: answers from `script` in turn (then 200 with the ack), recording what arrived. */
function server(script: (number | { status: number; headers?: Record<string, string> } | 'down')[] = []) {
  const calls: Call[] = [];
  const accepted = new Map<number, number>();
  const fetch = (async (_url: string, init: RequestInit) => {
    const headers = init.headers as Record<string, string>;
    const gz = headers['content-encoding'] === 'gzip';
    const raw = gz ? gunzipSync(Buffer.from(await (init.body as Blob).arrayBuffer())).toString() : String(init.body);
    const body = parseBatch(JSON.parse(raw));
    calls.push({ seq: body.seq, gzip: gz, token: headers.authorization, body });
    const next = script.shift();
    if (next === 'down') throw new TypeError('fetch failed');
    const status = typeof next === 'number' ? next : (next?.status ?? 200);
    if (status === 200) accepted.set(body.seq, (accepted.get(body.seq) ?? 0) + 1);
    return new Response(status === 200 ? JSON.stringify({ ack: body.seq }) : JSON.stringify({ error: 'no' }), { status, headers: typeof next === 'object' ? next.headers : {} });
  }) as unknown as typeof globalThis.fetch;
  return { fetch, calls, accepted };
}

function outbox(p: OutboxPersistence, fetch: typeof globalThis.fetch, opts: { now?: () => number; errors?: unknown[]; collect?: ReturnType<typeof source> } = {}) {
  let n = 0;
  return (current = new SyncOutbox({
    persistence: p,
    collect: opts.collect ?? source(),
    monitors: () => [{ src: 'mon-1', mv: 'abcdef012345', backend: 'wasm', tags: { camera_id: 'line-1' } }],
    deviceId: () => 'kiosk-7',
    appVersion: 'test',
    fetch,
    now: opts.now,
    random: () => 0.5,
    newId: () => `source-${++n}`,
    gzip: gzipText,
    onError: (e) => opts.errors?.push(e),
  }));
}

/** Waits until the outbox is not sending (its requests answered), up to 5 s. */
let current: SyncOutbox | undefined;
async function settle(o: SyncOutbox | undefined = current) {
  const end = Date.now() + 5000;
  do await new Promise((r) => setTimeout(r, 5));
  while (o?.status().state === 'sending' && Date.now() < end);
}

describe('SyncOutbox', () => {
  it('sends consecutive sequence numbers, gzip and the token; a batch leaves the queue when acknowledged', async () => {
    const p = memory();
    const s = server();
    const o = outbox(p, s.fetch);
    await o.configure({ url: 'http://fleet.test/v1/batches', token: 'secret', intervalMs: 3_600_000, images: false });
    for (let i = 0; i < 3; i++) await o.tick();
    await settle();
    expect(s.calls.map((c) => c.seq)).toEqual([1, 2, 3]);
    expect(s.calls.every((c) => c.gzip && c.token === 'Bearer secret')).toBe(true);
    expect(s.calls[0]!.body.source).toMatchObject({ id: 'source-1', device_id: 'kiosk-7', monitors: [{ src: 'mon-1' }] });
    expect(p.queue.size).toBe(0);
    expect(o.status()).toMatchObject({ state: 'idle', backlog: { batches: 0 }, stats: { sent: 3 } });
    o.stop();
  });

  it('a challenger comparison alone makes a batch, and arrives as the page sent it (challengers)', async () => {
    const p = memory();
    const s = server();
    const t = Date.now();
    const frames = Array.from({ length: 10 }, (_, i) => pairFrame(t + i, { ms: 10, detections: [] }, { ms: 12, detections: [] }));
    const ch = challengerSync('mon-1', 'line-1', t, summarize(frames, 'a'.repeat(64), 'b'.repeat(64)));
    const o = outbox(p, s.fetch, { collect: async (cursor) => ({ rollups: [], alerts: [], flagged: [], baselines: [], challengers: [ch], cursor }) });
    await o.configure({ url: 'http://fleet.test/v1/batches', intervalMs: 3_600_000, images: false });
    await o.tick();
    await settle();
    expect(s.calls).toHaveLength(1);
    expect(s.calls[0]!.body.challengers).toEqual([ch]);
    o.stop();
  });

  it('keeps batches through a server outage and a reload; each arrives exactly once, in order', async () => {
    const p = memory();
    const errors: unknown[] = [];
    const s = server(['down', 'down', 'down']);
    let now = Date.now();
    const o = outbox(p, s.fetch, { now: () => now, errors });
    await o.configure({ url: 'http://fleet.test/v1/batches', intervalMs: 3_600_000, images: false });
    await o.tick(); // batch 1: the server is down
    await settle();
    expect(o.status()).toMatchObject({ state: 'waiting', backlog: { batches: 1 }, stats: { lastError: { code: 'sync-failed' } } });
    await o.enqueue(); // batch 2 waits behind it
    await o.enqueue(); // batch 3
    expect(p.queue.size).toBe(3);
    // the page reloads: a new outbox on the same queue carries on with the same source and sequence
    o.stop();
    now += 5000;
    const again = outbox(p, s.fetch, { now: () => now, errors });
    await again.configure({ url: 'http://fleet.test/v1/batches', intervalMs: 3_600_000, images: false });
    await settle();
    again.online(true); // still down twice more
    await settle();
    again.online(true);
    await settle();
    again.online(true); // now up
    await settle();
    expect([...s.accepted]).toEqual([[1, 1], [2, 1], [3, 1]]);
    expect(new Set(s.calls.map((c) => c.body.source.id)).size).toBe(1);
    await again.tick();
    await settle();
    expect([...s.accepted.keys()]).toEqual([1, 2, 3, 4]);
    // said once per page load, not at every retry (3 failures in all)
    expect(errors.filter(Boolean).map((e) => (e as { code: string }).code)).toEqual(['sync-failed', 'sync-failed']);
    expect(errors.at(-1)).toBeUndefined(); // and cleared by the success
    again.stop();
  });

  it('backs off exponentially with jitter, and honours Retry-After', async () => {
    const p = memory();
    let now = 1_000_000_000_000;
    const s = server([{ status: 503, headers: { 'retry-after': '120' } }, 500, 500]);
    const o = outbox(p, s.fetch, { now: () => now });
    await o.configure({ url: 'http://fleet.test/v1/batches', intervalMs: 3_600_000, images: false });
    await o.tick();
    await settle();
    expect(o.status().nextAttemptAt).toBe(now + 120_000); // Retry-After beats the 1-s back-off
    now += 120_000;
    o.online(true);
    await settle();
    // the network came back (online): a 500 then backs off 1 s × jitter (0.5 + 0.5/2 = 0.75) → 750 ms…
    expect(o.status().nextAttemptAt).toBe(now + 750);
    // …and the next 500 twice that
    await new Promise((r) => setTimeout(r, 800));
    await settle();
    expect(s.calls).toHaveLength(3);
    expect(o.status().nextAttemptAt).toBe(now + 1500);
    expect(retryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:00 GMT'))).toBe(Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'));
    expect(retryAfter('99999', 0)).toBe(3600_000);
    o.stop();
  });

  it('a 401 is sync-unauthorized and the batch stays; a 400 is sync-rejected and the batch is dropped, counted', async () => {
    const p = memory();
    const errors: { code: string }[] = [];
    const s = server([401, 401, 400]);
    const o = outbox(p, s.fetch, { errors: errors as unknown[] });
    await o.configure({ url: 'http://fleet.test/v1/batches', intervalMs: 3_600_000, images: false });
    await o.tick();
    await settle();
    expect(p.queue.size).toBe(1);
    o.online(true);
    await settle();
    expect(errors.map((e) => e.code)).toEqual(['sync-unauthorized']);
    o.online(true); // 400: refused as malformed
    await settle();
    expect(p.queue.size).toBe(0);
    expect(o.status().stats).toMatchObject({ rejected: 1, sent: 0, lastError: { code: 'sync-rejected', status: 400 } });
    expect(errors.map((e) => e.code)).toEqual(['sync-unauthorized', 'sync-rejected']);
    o.stop();
  });

  it('a 403 (a device id the token may not write) keeps the batch and backs off; a 409 (its sequence number taken with other content) drops it, counted and shown', async () => {
    const p = memory();
    const errors: { code: string; status?: number }[] = [];
    const s = server([403, 403, 409]);
    const o = outbox(p, s.fetch, { errors: errors as unknown[] });
    await o.configure({ url: 'http://fleet.test/v1/batches', intervalMs: 3_600_000, images: false });
    await o.tick();
    await settle();
    expect(p.queue.size).toBe(1);
    expect(o.status().stats.lastError).toMatchObject({ code: 'sync-unauthorized', status: 403 });
    o.online(true);
    await settle();
    expect(p.queue.size).toBe(1); // still kept: a fixed token list lets it through
    expect(errors.map((e) => e.code)).toEqual(['sync-unauthorized']); // said once, not per retry
    o.online(true);
    await settle();
    expect(p.queue.size).toBe(0); // not retried forever
    expect(o.status().stats).toMatchObject({ rejected: 1, sent: 0, lastError: { code: 'sync-rejected', status: 409 } });
    expect(o.status().stats.lastError!.message).toMatch(/^batch 1 refused \(409: the server holds another batch under this sequence number\)/);
    expect(errors.map((e) => [e.code, e.status])).toEqual([['sync-unauthorized', 403], ['sync-rejected', 409]]);
    expect(s.calls.map((c) => c.seq)).toEqual([1, 1, 1]);
    o.stop();
  });

  it('a server that refuses gzip (415) gets plain JSON', async () => {
    const s = server([415]);
    const o = outbox(memory(), s.fetch);
    await o.configure({ url: 'http://fleet.test/v1/batches', intervalMs: 3_600_000, images: false });
    await o.tick();
    await settle();
    expect(s.calls.map((c) => [c.seq, c.gzip])).toEqual([[1, true], [1, false]]);
    expect([...s.accepted]).toEqual([[1, 1]]);
    o.stop();
  });

  it('bounds the queue: the oldest are dropped, counted, and the next batch reports how many', async () => {
    const p = memory();
    const s = server();
    const o = outbox(p, s.fetch);
    await o.load();
    const { MAX_QUEUE } = await import('../src/sync/outbox.ts');
    (MAX_QUEUE as { batches: number }).batches = 3;
    try {
      for (let i = 0; i < 5; i++) await o.enqueue(); // not configured: nothing is sent
      expect([...p.queue.keys()]).toEqual([3, 4, 5]);
      expect(o.status().stats.dropped).toBe(2);
      await o.configure({ url: 'http://fleet.test/v1/batches', intervalMs: 3_600_000, images: false });
      await settle();
      // each batch reports the drops made before it was made: 1 dropped when 4 came, 1 more when 5 came (reported by the next)
      expect(s.calls.map((c) => [c.seq, c.body.dropped])).toEqual([[3, 0], [4, 0], [5, 1]]);
    } finally {
      (MAX_QUEUE as { batches: number }).batches = 2000;
      o.stop();
    }
  });

  it('nothing new makes no batch', async () => {
    const s = server();
    const o = outbox(memory(), s.fetch, { collect: async (cursor) => ({ rollups: [], alerts: [], flagged: [], baselines: [], cursor }) });
    await o.configure({ url: 'http://fleet.test/v1/batches', intervalMs: 3_600_000, images: false });
    await o.tick();
    await settle();
    expect(s.calls).toHaveLength(0);
    o.stop();
  });

  it('an OTLP outbox sends each batch as its metrics export, and any 2xx acknowledges it', async () => {
    const bodies: unknown[] = [];
    const fetch = (async (_url: string, init: RequestInit) => {
      bodies.push(JSON.parse(String(init.body)));
      return new Response('{}', { status: 200 });
    }) as unknown as typeof globalThis.fetch;
    const { toOtlp } = await import('../src/sync/otlp.ts');
    const p = memory();
    const o = new SyncOutbox({
      persistence: p,
      collect: source(25),
      monitors: () => [],
      deviceId: () => 'kiosk-9',
      appVersion: 'test',
      fetch,
      newId: () => 'otlp-source',
      format: (b) => JSON.stringify(toOtlp(b)),
      acknowledged: async () => true,
    });
    await o.configure({ url: 'http://collector.test/v1/metrics', intervalMs: 3_600_000, images: false });
    await o.tick();
    await settle(o);
    expect(bodies).toHaveLength(1);
    const rm = (bodies[0] as { resourceMetrics: { resource: { attributes: { key: string; value: { stringValue: string } }[] }; scopeMetrics: { metrics: { name: string; sum?: { dataPoints: { asInt: string }[] } }[] }[] }[] }).resourceMetrics[0]!;
    expect(rm.resource.attributes.find((a) => a.key === 'device.id')!.value.stringValue).toBe('kiosk-9');
    expect(rm.scopeMetrics[0]!.metrics.find((m) => m.name === 'inference.frames')!.sum!.dataPoints[0]!.asInt).toBe('25');
    expect(p.queue.size).toBe(0);
    expect(o.status().stats.sent).toBe(1);
    o.stop();
  });
  it('a batch acknowledged while the next is being gathered keeps its count, and its state is not written back stale', async () => {
    // the tick gathers (an IndexedDB read) while the previous batch's answer comes in: both change the state
    const p = memory();
    let release!: () => void;
    const answered = new Promise<void>((r) => (release = r));
    const s = server();
    const slowFetch = (async (url: string, init: RequestInit) => {
      await answered;
      return s.fetch(url, init);
    }) as unknown as typeof globalThis.fetch;
    const inner = source();
    let gathering: (() => void) | undefined;
    const collect = async (cursor: SyncCursor) => {
      const c = await inner(cursor);
      if (gathering) await new Promise<void>((r) => (release = r, gathering!(), (gathering = undefined)));
      return c;
    };
    const o = outbox(p, slowFetch, { collect });
    await o.configure({ url: 'http://fleet.test/v1/batches', intervalMs: 3_600_000, images: false });
    await o.tick(); // batch 1 queued, its request waiting on `answered`
    const gatheringStarted = new Promise<void>((r) => (gathering = r));
    const firstAnswer = release;
    const second = o.enqueue(); // batch 2 being gathered...
    await gatheringStarted;
    const gatherDone = release;
    firstAnswer(); // ...when batch 1's answer arrives
    await new Promise((r) => setTimeout(r, 20));
    gatherDone();
    await second;
    await o.tick();
    await settle();
    expect(s.calls.map((c) => c.seq)).toEqual([1, 2, 3]);
    expect(o.status().stats.sent).toBe(3);
    expect(p.state!.stats.sent).toBe(3);
    expect(p.state!.nextSeq).toBe(4);
  });

  it('a batch gathered while an answer is being written down keeps its sequence number: none is used twice', async () => {
    const p = memory();
    const remove = p.remove.bind(p);
    let gate: Promise<void> | undefined;
    p.remove = async (seqs, st) => {
      if (gate) await gate;
      return remove(seqs, st);
    };
    const s = server();
    const o = outbox(p, s.fetch);
    await o.configure({ url: 'http://fleet.test/v1/batches', intervalMs: 3_600_000, images: false });
    let open!: () => void;
    gate = new Promise<void>((r) => (open = r));
    await o.tick(); // batch 1 sent; writing down its answer waits on the gate
    await new Promise((r) => setTimeout(r, 20));
    const second = o.enqueue(); // batch 2 gathered meanwhile
    await new Promise((r) => setTimeout(r, 20));
    gate = undefined;
    open();
    await second;
    await settle();
    await o.tick();
    await settle();
    expect(s.calls.map((c) => c.seq)).toEqual([1, 2, 3]);
    expect([...s.accepted.values()]).toEqual([1, 1, 1]);
    expect(p.state!.nextSeq).toBe(4);
    expect(o.status().stats.sent).toBe(3);
  });
  it('a full queue does not drop the batch on its way: it is either acknowledged (sent) or tried again, never both dropped and sent', async () => {
    const p = memory();
    const s = server();
    let answer!: () => void;
    const answered = new Promise<void>((r) => (answer = r));
    const slowFetch = (async (url: string, init: RequestInit) => {
      await answered;
      return s.fetch(url, init);
    }) as unknown as typeof globalThis.fetch;
    const o = outbox(p, slowFetch);
    await o.load();
    const { MAX_QUEUE } = await import('../src/sync/outbox.ts');
    (MAX_QUEUE as { batches: number }).batches = 2;
    try {
      await o.enqueue();
      await o.enqueue();
      await o.configure({ url: 'http://fleet.test/v1/batches', intervalMs: 3_600_000, images: false }); // batch 1 on its way
      await o.enqueue(); // the queue is full: batch 2 goes, not batch 1
      answer();
      await settle();
      expect(s.calls.map((c) => c.seq)).toEqual([1, 3]);
      expect(o.status().stats).toMatchObject({ sent: 2, dropped: 1 });
      await o.tick(); // the next batch reports the one dropped
      await settle();
      expect(s.calls.map((c) => [c.seq, c.body.dropped])).toEqual([[1, 0], [3, 0], [4, 1]]);
    } finally {
      (MAX_QUEUE as { batches: number }).batches = 2000;
      o.stop();
    }
  });
  it('two pages of one origin share the outbox: the one that follows sends nothing until its turn, then takes up where the other left off', async () => {
    const p = memory(); // one IndexedDB
    const s = server();
    const a = outbox(p, s.fetch);
    const b = outbox(p, s.fetch);
    b.follow();
    const cfg = { url: 'http://fleet.test/v1/batches', intervalMs: 3_600_000, images: false };
    await a.configure(cfg);
    await b.configure(cfg);
    expect(b.status().state).toBe('elsewhere');
    for (let i = 0; i < 3; i++) {
      await a.tick();
      await b.tick();
      await b.enqueue();
    }
    await settle(a);
    expect(s.calls.map((c) => c.seq)).toEqual([1, 2, 3]);
    a.stop(); // its page closes
    await b.lead();
    expect(b.status()).toMatchObject({ sourceId: a.status().sourceId, stats: { sent: 3 } });
    await b.tick();
    await settle(b);
    expect(s.calls.map((c) => c.seq)).toEqual([1, 2, 3, 4]);
    expect([...s.accepted.values()]).toEqual([1, 1, 1, 1]);
    expect(b.status().stats.sent).toBe(4);
    b.stop();
  });
});
