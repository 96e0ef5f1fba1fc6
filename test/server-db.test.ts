/**
 * The fleet database in-process (src/server/db.ts): migrations, idempotent ingest, 1-hour rows, all-time rows,
 * retention with a fake clock, group commit and the row cache.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FleetDb, RETENTION, SCHEMA_VERSION } from '../src/server/db.ts';
import { versionBefore } from '../src/server/schema.ts';
import { parseBatch } from '../src/sync/payload.ts';
import { bucketStart, emptyRollup, mergeRollup } from '../src/telemetry/rollup.ts';
import { alert, batch, MIN, MV, rollupsFor } from './server-helpers.ts';

const DAY = 24 * 3600_000;
const NOW = Date.UTC(2026, 5, 15, 12, 0);
const T0 = NOW - 90 * MIN; // crosses an hour boundary

let dir: string;
let db: FleetDb;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-db-'));
  db = FleetDb.open(join(dir, 'fleet.sqlite'));
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A batch as the server sees it (through JSON and parseBatch). */
const parsed = (b: ReturnType<typeof batch>) => parseBatch(JSON.parse(JSON.stringify(b)));

describe('fleet db', () => {
  it('migrates to the current schema in WAL mode, and reopens without migrating again', () => {
    expect(db.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    db.ingest(parsed(batch('s1', 1, rollupsFor(T0, 2, 1))), 'tok', NOW);
    db.close();
    db = FleetDb.open(join(dir, 'fleet.sqlite'));
    expect(db.counts().batches).toBe(1);
  });

  it('writes a batch once per (source, seq), in one transaction', () => {
    const b = parsed(batch('s1', 1, rollupsFor(T0, 3, 1), { alerts: [alert('r', 'cam-1', 'firing', T0, 'a-1')] }));
    expect(db.ingest(b, 'tok', NOW)).toEqual({ duplicate: false });
    const before = db.counts();
    const rows = db.db.prepare('SELECT data FROM rollups ORDER BY res, start, g').pluck().all();
    expect(db.ingest(b, 'tok', NOW)).toEqual({ duplicate: true });
    expect(db.ingest(parsed(batch('s1', 1, rollupsFor(T0, 3, 9))), 'tok', NOW)).toEqual({ duplicate: true });
    expect(db.counts()).toEqual(before);
    expect(db.db.prepare('SELECT data FROM rollups ORDER BY res, start, g').pluck().all()).toEqual(rows);
    // a failure inside the transaction leaves nothing behind
    const bad = parsed(batch('s2', 1, rollupsFor(T0, 1, 2)));
    (bad.rollups[0] as { g: unknown }).g = null; // NOT NULL violation mid-way
    expect(() => db.ingest(bad, 'tok', NOW)).toThrow();
    expect(db.counts()).toEqual(before);
  });

  it('merges minutes into 1-hour rows and all-time rows by addition', () => {
    db.ingest(parsed(batch('s1', 1, rollupsFor(T0, 40, 1))), 'tok', NOW);
    db.ingest(parsed(batch('s1', 2, rollupsFor(T0 + 40 * MIN, 40, 2))), 'tok', NOW);
    const minutes = db.rollups('1m', T0, NOW, { source: 's1' });
    expect(minutes).toHaveLength(160);
    const hours = db.rollups('1h', T0, NOW, { source: 's1' });
    expect(new Set(hours.map((h) => h.start)).size).toBe(2);
    for (const h of hours) {
      const m = emptyRollup('1h', h.start, h.mv, h.g);
      for (const r of minutes) if (r.g === h.g && bucketStart(r.start, '1h') === h.start) mergeRollup(m, r);
      expect({ ...h, scoreSum: 0, frameScoreSum: 0, img: {}, classScore: {} }).toEqual({ ...m, scoreSum: 0, frameScoreSum: 0, img: {}, classScore: {} });
      expect(h.scoreSum).toBeCloseTo(m.scoreSum, 6);
    }
    const all = db.cumulative();
    expect(all.map((a) => a.rollup.frames).reduce((a, b) => a + b)).toBe(minutes.reduce((a, r) => a + r.frames, 0));
  });

  it('merges a minute sent again in a later batch into its stored 1-min row (1-min rows are inserted without a read)', () => {
    const first = rollupsFor(T0, 2, 1);
    const again = rollupsFor(T0, 2, 5); // the same two minutes of the same cameras, other frames
    db.ingest(parsed(batch('s1', 1, first)), 'tok', NOW);
    const mid = db.rollups('1m', T0, T0 + 2 * MIN, { source: 's1' });
    db.ingest(parsed(batch('s1', 2, again)), 'tok', NOW);
    const minutes = db.rollups('1m', T0, T0 + 2 * MIN, { source: 's1' });
    expect(minutes).toHaveLength(mid.length);
    for (const m of minutes) {
      const parts = [...first, ...again].filter((r) => r.start === m.start && r.g === m.g);
      expect(parts).toHaveLength(2);
      expect(m.frames).toBe(parts[0]!.frames + parts[1]!.frames);
      expect(m.detections).toBe(parts[0]!.detections + parts[1]!.detections);
    }
    const hour = db.rollups('1h', T0, T0 + 2 * MIN, { source: 's1' });
    expect(hour.reduce((a, h) => a + h.frames, 0)).toBe(minutes.reduce((a, r) => a + r.frames, 0));
  });

  it('ages out series a source stopped sending: after FLEET_SERIES_RETENTION_DAYS their all-time rows go, and new series fit under the cap again', () => {
    db.limits = { ...db.limits, seriesPerSource: 3 };
    const old = NOW - 40 * DAY;
    let seq = 0;
    const send = (cameras: string[], at: number) => db.ingest(parsed(batch('s1', ++seq, rollupsFor(at - 5 * MIN, 1, seq, cameras))), 'tok', at);
    send(['old-1', 'old-2'], old);
    send(['kept'], NOW - DAY); // the third series, still being sent
    expect(send(['new-1'], NOW - DAY).seriesDropped).toBe(1); // past the cap of 3
    const series = () => db.db.prepare("SELECT g FROM cumulative WHERE source = 's1' ORDER BY g").pluck().all() as string[];
    expect(series().map((g) => g.match(/camera_id=([\w-]+)/)![1])).toEqual(['kept', 'old-1', 'old-2']);
    expect(db.retention(NOW).idleSeries).toBe(2); // 40 days silent, past the default 30
    expect(series().map((g) => g.match(/camera_id=([\w-]+)/)![1])).toEqual(['kept']);
    expect(send(['new-1', 'new-2'], NOW).seriesDropped).toBeUndefined();
    expect(series()).toHaveLength(3);
    // the source itself is not idle: its row and its batches stay
    expect(db.sources().map((x) => x.id)).toEqual(['s1']);
  });

  it('filters by camera, location, model version and source', () => {
    db.ingest(parsed(batch('s1', 1, rollupsFor(T0, 2, 1))), 'tok', NOW);
    db.ingest(parsed(batch('s2', 1, rollupsFor(T0, 2, 2, ['cam-9']))), 'tok', NOW);
    expect(db.rollups('1m', T0, NOW)).toHaveLength(6);
    expect(db.rollups('1m', T0, NOW, { camera_id: 'cam-9' })).toHaveLength(2);
    expect(db.rollups('1m', T0, NOW, { source: 's1', camera_id: 'cam-1' })).toHaveLength(2);
    expect(db.rollups('1m', T0, NOW, { mv: `${MV}${'0'.repeat(52)}` })).toHaveLength(6);
    expect(db.rollups('1m', T0, NOW, { mv: 'ffffffffffff' })).toHaveLength(0);
    expect(db.rollups('1m', T0, NOW, { location: 'elsewhere' })).toHaveLength(0);
    expect(db.rollups('1m', T0 + MIN + 1, T0 + MIN + 2)).toHaveLength(3); // the bucket holding `from` counts
  });

  it('keeps the latest alert state per source, rule, camera and class', () => {
    db.ingest(parsed(batch('s1', 1, [], { alerts: [alert('r1', 'cam-1', 'firing', T0, 'a1'), alert('r2', 'cam-1', 'firing', T0, 'a2')] })), 'tok', NOW);
    db.ingest(parsed(batch('s1', 2, [], { alerts: [alert('r1', 'cam-1', 'resolved', T0 + MIN, 'a3'), alert('r2', 'cam-1', 'resolved', T0 - MIN, 'a4')] })), 'tok', NOW);
    expect(db.firing().map((a) => a.rule)).toEqual(['r2']); // r2's resolve is older than its firing
    const page = db.alerts({ from: 0, to: NOW, limit: 3 });
    expect(page.rows.map((r) => r.id)).toEqual(['a3', 'a2', 'a1']);
    expect(db.alerts({ from: 0, to: NOW, limit: 3, before: page.next! }).rows.map((r) => r.id)).toEqual(['a4']);
  });

  it('applies retention: 1-min rows after 30 days, 1-hour rows and alerts after a year; replays of pruned batches stay duplicates', () => {
    db.limits = { ...db.limits, seriesIdleMs: 400 * DAY }; // series silent past FLEET_SERIES_RETENTION_DAYS: their own test below
    const old = NOW - 40 * DAY;
    db.ingest(parsed(batch('s1', 1, rollupsFor(old, 2, 1), { alerts: [alert('r', 'cam-1', 'firing', old, 'old')] })), 'tok', old);
    db.ingest(parsed(batch('s1', 2, rollupsFor(T0, 2, 2), { alerts: [alert('r', 'cam-1', 'firing', T0, 'new')] })), 'tok', NOW);
    const frames = () => db.cumulative().reduce((a, c) => a + c.rollup.frames, 0);
    const total = frames();
    expect(db.retention(NOW)).toMatchObject({ batches: 1, rollups1m: 4, rollups1h: 0, alerts: 0 });
    expect(db.rollups('1m', 0, NOW).every((r) => r.start >= NOW - RETENTION.rollups1m)).toBe(true);
    expect(db.rollups('1h', 0, NOW).some((r) => r.start < NOW - 30 * DAY)).toBe(true);
    expect(frames()).toBe(total); // all-time rows never go backwards
    expect(db.ingest(parsed(batch('s1', 1, rollupsFor(old, 2, 1))), 'tok', NOW)).toEqual({ duplicate: true });
    const later = NOW + 366 * DAY;
    expect(db.retention(later)).toMatchObject({ rollups1h: 4, alerts: 2 });
    expect(db.rollups('1h', 0, later)).toEqual([]);
    expect(frames()).toBe(total);
    // a batch for a pruned hour starts its row afresh (nothing of the pruned row comes back from memory)
    const again = parsed(batch('s1', 3, rollupsFor(old, 2, 5)));
    db.ingest(again, 'tok', later);
    const hour = db.rollups('1h', 0, later);
    expect(hour.reduce((a, r) => a + r.frames, 0)).toBe(again.rollups.reduce((a, r) => a + r.frames, 0));
  });

  it('commits batches queued together in one transaction; a batch that fails is rolled back alone and leaves nothing in the merged rows', async () => {
    const other = new Database(join(dir, 'fleet.sqlite'), { readonly: true });
    const seenByOthers: number[] = [];
    db.onIngest((e) => {
      if (other.open) seenByOthers.push(other.prepare('SELECT count(*) FROM batches').pluck().get() as number);
      if (e.batch.seq === 5) throw new Error('hook refused seq 5');
    });
    const bs = [1, 2, 3, 4, 5, 6, 7].map((seq) => parsed(batch('s1', seq, rollupsFor(T0, 2, seq))));
    // three queued together: one transaction, so another connection saw none of them until it committed
    expect((await Promise.allSettled(bs.slice(0, 3).map((b) => db.queue(b, 'tok', NOW)))).map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(seenByOthers).toEqual([0, 0, 0]);
    expect(other.prepare('SELECT count(*) FROM batches').pluck().get()).toBe(3);
    // three more, the middle one failing: it alone is rejected, the others are kept (each written again on its own)
    const dropped = { ...db.dropped };
    const settled = await Promise.allSettled(bs.slice(3, 6).map((b) => db.queue(b, 'tok', NOW)));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason.message).toBe('hook refused seq 5');
    expect(db.db.prepare('SELECT seq FROM batches ORDER BY seq').pluck().all()).toEqual([1, 2, 3, 4, 6]);
    expect(db.dropped).toEqual(dropped); // nothing counted twice by the rewrite
    other.close();
    // the next batch merges into what was committed, not into what the failed batch left in memory
    expect(await db.queue(bs[6]!, 'tok', NOW)).toEqual({ duplicate: false });
    expect(await db.queue(bs[0]!, 'tok', NOW)).toEqual({ duplicate: true });
    const want = new Map<string, ReturnType<typeof emptyRollup>>();
    for (const b of bs.filter((b) => b.seq !== 5))
      for (const r of b.rollups) {
        const k = `${r.start}|${r.g}`;
        if (!want.has(k)) want.set(k, emptyRollup('1m', r.start, r.mv, r.g));
        mergeRollup(want.get(k)!, r);
      }
    const got = db.rollups('1m', T0, NOW, { source: 's1' });
    expect(got.length).toBe(want.size);
    for (const r of got) expect(r.frames).toBe(want.get(`${r.start}|${r.g}`)!.frames);
    const all = db.cumulative().reduce((a, c) => a + c.rollup.frames, 0);
    expect(all).toBe([...want.values()].reduce((a, r) => a + r.frames, 0));
    // and the rows on disk are what a fresh process reads
    db.close();
    db = FleetDb.open(join(dir, 'fleet.sqlite'));
    expect(db.rollups('1m', T0, NOW, { source: 's1' })).toEqual(got);
  });

  it("keeps each batch's body hash in its row, and moves an older database's batch_hashes table into it", async () => {
    const h = Buffer.alloc(32, 7);
    await db.queue(parsed(batch('s1', 1, rollupsFor(T0, 1, 1))), 'tok', NOW, h);
    expect(db.batchHash('s1', 1)).toEqual(h);
    expect(db.batchHash('s1', 2)).toBeUndefined();
    db.close();
    // the schema before: hashes in a table of their own
    const raw = new Database(join(dir, 'fleet.sqlite'));
    raw.exec(`
      ALTER TABLE cumulative DROP COLUMN updated_at;
      ALTER TABLE batches DROP COLUMN hash;
      CREATE TABLE batch_hashes (source TEXT NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (source, seq)) WITHOUT ROWID;
    `);
    raw.prepare('INSERT INTO batch_hashes VALUES (?, ?, ?, ?)').run('s1', 1, Buffer.alloc(32, 9), NOW);
    raw.pragma(`user_version = ${versionBefore('batch-hash-in-row')}`); // this migration and those since (baselines by condition finds its column there and does nothing)
    raw.close();
    db = FleetDb.open(join(dir, 'fleet.sqlite'));
    expect(db.batchHash('s1', 1)).toEqual(Buffer.alloc(32, 9));
    expect(db.db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'batch_hashes'").pluck().get()).toBe(0);
  });

  it("keeps a camera's baseline per condition (its day and its night), and moves an older database's baselines over under the condition ''", () => {
    const baseline = (condition: string | undefined, createdAt: number) => ({
      mv: MV, camera: 'gate-2', ...(condition ? { condition } : {}), createdAt, from: createdAt - 5 * MIN, to: createdAt, source: 'auto' as const, frames: 3000, fps: 10,
      rollup: rollupsFor(T0, 1, 1)[0]!,
    });
    db.ingest(parsed(batch('s1', 1, [], { baselines: [baseline('colour', T0), baseline('mono', T0 + MIN)] })), 'tok', NOW);
    db.ingest(parsed(batch('s1', 2, [], { baselines: [baseline('colour', T0 + 2 * MIN)] })), 'tok', NOW); // the day learnt anew: replaces the day's only
    const rows = () => db.db.prepare("SELECT condition, json_extract(data, '$.createdAt') AS at FROM baselines WHERE source = 's1' ORDER BY condition").all();
    expect(rows()).toEqual([{ condition: 'colour', at: T0 + 2 * MIN }, { condition: 'mono', at: T0 + MIN }]);
    // a bad condition is refused with the batch's other errors, naming the field
    expect(() => parsed(batch('s1', 3, [], { baselines: [baseline('night IR!', T0)] }))).toThrow(/condition/);
    db.close();
    // the schema before: baselines keyed (source, mv, camera)
    const raw = new Database(join(dir, 'fleet.sqlite'));
    raw.exec(`
      DROP TABLE baselines;
      CREATE TABLE baselines (source TEXT NOT NULL, mv TEXT NOT NULL, camera TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (source, mv, camera));
    `);
    raw.prepare('INSERT INTO baselines VALUES (?, ?, ?, ?)').run('s1', MV, 'gate-2', JSON.stringify(baseline(undefined, T0)));
    raw.pragma(`user_version = ${versionBefore('baselines-by-condition')}`);
    raw.close();
    db = FleetDb.open(join(dir, 'fleet.sqlite'));
    expect(rows()).toEqual([{ condition: '', at: T0 }]);
    db.ingest(parsed(batch('s1', 4, [], { baselines: [baseline('mono', T0 + 3 * MIN)] })), 'tok', NOW);
    expect(rows()).toEqual([{ condition: '', at: T0 }, { condition: 'mono', at: T0 + 3 * MIN }]);
  });

  it('makes the challenger and quiet-hours tables by migration, and keeps the rows of a server that made them on first use', () => {
    const tables = () => db.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('challengers', 'quiet_held', 'quiet_totals') ORDER BY name").pluck().all();
    expect(tables()).toEqual(['challengers', 'quiet_held', 'quiet_totals']);
    db.db.prepare('INSERT INTO challengers VALUES (?, ?, ?, ?, ?, ?)').run('s1', 'm1', 'gate-2', T0, '{}', NOW);
    db.db.prepare('INSERT INTO quiet_totals (id, muted, released) VALUES (1, 4, 2)').run();
    db.close();
    // a server of the version before: the tables made on first use, user_version one short
    const raw = new Database(join(dir, 'fleet.sqlite'));
    raw.pragma(`user_version = ${versionBefore('challengers-and-quiet-hours')}`);
    raw.close();
    db = FleetDb.open(join(dir, 'fleet.sqlite'));
    expect(db.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.db.prepare('SELECT src, camera FROM challengers').all()).toEqual([{ src: 'm1', camera: 'gate-2' }]);
    expect(db.db.prepare('SELECT muted, released FROM quiet_totals').get()).toEqual({ muted: 4, released: 2 });
  });

  it('ingests an hour of minutes one batch at a time and in one batch to the same rows (its cost is in bench/server.ts)', () => {
    const batches = Array.from({ length: 60 }, (_, i) => parsed(batch('s1', i + 1, rollupsFor(T0 + i * MIN, 1, i))));
    for (const b of batches) db.ingest(b, 'tok', NOW);
    const big = parsed(batch('s2', 1, batches.flatMap((b) => b.rollups)));
    db.ingest(big, 'tok', NOW);
    const strip = (r: { frames: number; valid: number; classes: Record<string, number> }) => ({ frames: r.frames, valid: r.valid, classes: r.classes });
    for (const res of ['1m', '1h'] as const) {
      const one = db.rollups(res, T0, NOW, { source: 's1' }).map(strip);
      const two = db.rollups(res, T0, NOW, { source: 's2' }).map(strip);
      expect(one.length).toBeGreaterThan(0);
      expect(two).toEqual(one);
    }
  });
});
