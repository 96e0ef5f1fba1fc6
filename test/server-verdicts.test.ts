/**
 * People's verdicts on the fleet server, against the real server process (src/server/main.ts): synced verdicts
 * are kept per (source, frame) — a later one replaces it, a stale one does not, a cleared one stops counting —
 * and read back with their precision estimate per model version and camera; bad verdicts are a 400 naming the
 * field, too many a 413; a device's token writes and reads its own sources only; dropped ones are counted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { FleetDb, SCHEMA_VERSION } from '../src/server/db.ts';
import { versionBefore } from '../src/server/schema.ts';
import { installVerdicts } from '../src/server/verdicts.ts';
import { LIMITS, parseBatch } from '../src/sync/payload.ts';
import { ServerSource } from '../src/pages/fleet/server-source.ts';
import type { Verdict } from '../src/flagging/verdicts.ts';
import { wilson } from '../src/flagging/verdicts.ts';
import { batch, getJson, MV, parseMetrics, post, type Server, startServer } from './server-helpers.ts';

const ADMIN = 'admin-token-all-0123456789';
const TOK_A = 'device-a-token-0123456789';
const TOK_B = 'device-b-token-0123456789';
const TOKENS = `admin:${ADMIN}:*,a:${TOK_A}:dev-a,b:${TOK_B}:dev-b`;
const NOW = Date.now();
const id = (n: number) => `019a0000-0000-7000-8000-${String(n).padStart(12, '0')}`;
const v = (n: number, verdict: Verdict['verdict'], camera = 'cam-1', t = NOW - 60_000 + n): Verdict => ({ id: id(n), verdict, mv: MV, camera, t });

let server: Server;
const seqs = new Map<string, number>();
const send = (token: string, source: string, verdicts: unknown[]) => {
  const seq = (seqs.get(source) ?? 0) + 1;
  seqs.set(source, seq);
  return post(server.url, token, JSON.stringify({ ...batch(source, seq, [], {}, source), verdicts }));
};
const get = (token: string, path: string) => getJson(server.url, token, path);

beforeAll(async () => {
  server = await startServer({ FLEET_TOKENS: TOKENS, FLEET_RATE: '1000000' });
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

describe('/v1/verdicts', () => {
  it('stores synced verdicts and reads them back with the precision estimate; a later one replaces, a stale one does not, a cleared one stops counting', async () => {
    expect((await send(TOK_A, 'dev-a', [v(1, 'right'), v(2, 'right'), v(3, 'wrong'), v(4, 'missing'), v(5, 'right', 'cam-2')])).status).toBe(200);
    let r = await get(TOK_A, '/v1/verdicts');
    expect(r.status).toBe(200);
    expect(r.body.rows).toHaveLength(5);
    expect(r.body.rows[0]).toEqual({ source: 'dev-a', ...v(5, 'right', 'cam-2') }); // newest given first
    expect(r.body.estimates.map((e: { camera: string; right: number; wrong: number; missing: number }) => [e.camera, e.right, e.wrong, e.missing])).toEqual([['cam-1', 2, 1, 1], ['cam-2', 1, 0, 0]]);
    const cam1 = r.body.estimates[0];
    expect(cam1.n).toBe(4);
    expect(cam1.precision.p).toBeCloseTo(2 / 3, 10);
    expect(cam1.precision.lo).toBeCloseTo(wilson(2, 3).lo, 10);
    expect(cam1.precision.hi).toBeCloseTo(wilson(2, 3).hi, 10);
    expect(cam1.missingRate.p).toBeCloseTo(1 / 4, 10);

    // the person changed their mind on frame 3 (a later verdict), cleared frame 4; a stale copy of frame 1's arrives late
    expect((await send(TOK_A, 'dev-a', [v(3, 'right', 'cam-1', NOW), v(4, null, 'cam-1', NOW), v(1, 'wrong', 'cam-1', NOW - 3_600_000)])).status).toBe(200);
    r = await get(TOK_A, '/v1/verdicts?camera_id=cam-1');
    expect(r.body.estimates).toHaveLength(1);
    expect(r.body.estimates[0]).toMatchObject({ right: 3, wrong: 0, missing: 0, n: 3 });
    expect(r.body.rows.find((x: Verdict) => x.id === id(4)).verdict).toBeNull();
    expect(r.body.rows.find((x: Verdict) => x.id === id(1)).verdict).toBe('right');
    // filters: model version, time, limit 0 (estimates only)
    expect((await get(TOK_A, `/v1/verdicts?mv=${'0'.repeat(12)}`)).body).toEqual({ estimates: [], rows: [] });
    expect((await get(TOK_A, `/v1/verdicts?from=${NOW - 1000}&to=${NOW + 1000}`)).body.rows.map((x: Verdict) => x.id).sort()).toEqual([id(3), id(4)]);
    expect((await get(TOK_A, '/v1/verdicts?limit=0')).body.rows).toEqual([]);
    // the fleet page's panel reads the same estimates (ServerSource), NaN where nothing to rest on
    const fleet = await new ServerSource(server.url, TOK_A, 'dev-a').verdictEstimates({ camera_id: 'cam-2' });
    expect(fleet).toEqual([expect.objectContaining({ mv: MV, camera: 'cam-2', right: 1, n: 1, precision: wilson(1, 1) })]);
    expect((await send(TOK_A, 'dev-a', [v(7, 'missing', 'cam-3')])).status).toBe(200);
    const [onlyMissing] = await new ServerSource(server.url, TOK_A, 'dev-a').verdictEstimates({ camera_id: 'cam-3' });
    expect(onlyMissing!.precision.n).toBe(0);
    expect([onlyMissing!.precision.p, onlyMissing!.precision.lo, onlyMissing!.precision.hi].every(Number.isNaN)).toBe(true); // JSON's null, back to NaN
    expect(onlyMissing!.missingRate).toEqual(wilson(1, 1));
  });

  it('refuses bad verdicts with a 400 naming the field, and too many with a 413', async () => {
    const cases: [unknown, RegExp][] = [
      [{ ...v(10, 'right'), verdict: 'maybe' }, /^verdicts\.0\.verdict: expected one of right, wrong, missing/],
      [{ ...v(10, 'right'), id: 'not-an-id' }, /^verdicts\.0\.id: .*UUID/],
      [{ ...v(10, 'right'), mv: 'zz' }, /^verdicts\.0\.mv: /],
      [{ ...v(10, 'right'), camera: 'x'.repeat(201) }, /^verdicts\.0\.camera: at most 200/],
      [{ ...v(10, 'right'), note: '<script>' }, /^verdicts\.0\.note: /],
    ];
    for (const [bad, re] of cases) {
      const res = await post(server.url, TOK_A, JSON.stringify({ ...batch('dev-a', 900, [], {}, 'dev-a'), verdicts: [bad] }));
      expect(res.status).toBe(400);
      expect((await res.json()).error).toMatch(re);
    }
    const many = Array.from({ length: LIMITS.verdicts + 1 }, (_, k) => v(1000 + k, 'right'));
    const res = await post(server.url, TOK_A, JSON.stringify({ ...batch('dev-a', 901, [], {}, 'dev-a'), verdicts: many }));
    expect(res.status).toBe(413);
    expect((await res.json()).error).toMatch(/^verdicts: at most 1000 per batch/);
    for (const q of ['limit=5000', 'mv=xyz', 'colour=red', 'from=5&to=1']) expect((await get(TOK_A, `/v1/verdicts?${q}`)).status, q).toBe(400);
  });

  it("a device's token writes and reads its own sources only; the fleet token reads every one; a verdict dated in the future is dropped and counted", async () => {
    // dev-a's token claiming dev-b's source: refused like any other data
    expect((await send(TOK_A, 'dev-b', [v(20, 'wrong')])).status).toBe(403);
    expect((await send(TOK_B, 'dev-b', [v(21, 'wrong', 'cam-9'), { ...v(22, 'wrong', 'cam-9'), t: NOW + 24 * 3_600_000 }])).status).toBe(200);
    const mine = await get(TOK_A, '/v1/verdicts');
    expect(new Set(mine.body.rows.map((x: { source: string }) => x.source))).toEqual(new Set(['dev-a']));
    expect(mine.body.estimates.map((e: { camera: string }) => e.camera)).not.toContain('cam-9');
    const other = await get(TOK_A, '/v1/verdicts?source=dev-b');
    expect(other.status).toBe(403);
    expect(other.body.error).toMatch(/^token a may not read source dev-b/);
    const fleet = await get(ADMIN, '/v1/verdicts?camera_id=cam-9');
    expect(fleet.body.rows.map((x: { source: string; id: string }) => [x.source, x.id])).toEqual([['dev-b', id(21)]]); // the future one was dropped
    expect(fleet.body.estimates).toEqual([expect.objectContaining({ camera: 'cam-9', wrong: 1, n: 1 })]);
    const metrics = parseMetrics(await (await fetch(`${server.url}/metrics`)).text());
    expect(metrics.samples.find((x) => x.name === 'fleet_items_dropped_total' && x.labels.reason === 'future_verdict')?.value).toBe(1);
  });
});

describe('verdicts in the fleet database (in-process)', () => {
  it('bounds verdicts per source (changes to kept ones pass), deletes year-old ones, and upgrades an older database in place', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleet-verdicts-'));
    const path = join(dir, 'fleet.sqlite');
    try {
      // a database of the schema before verdicts, holding a source: it upgrades, keeping its rows
      let db = FleetDb.open(path);
      db.ingest(parseBatch(JSON.parse(JSON.stringify(batch('old', 1, [], {}, 'old')))), 'tok', NOW);
      db.close();
      const raw = new Database(path);
      raw.exec('DROP TABLE verdicts; ALTER TABLE batches DROP COLUMN hash; ALTER TABLE cumulative DROP COLUMN updated_at'); // it and the two migrations since
      raw.pragma(`user_version = ${versionBefore('verdicts')}`); // and the migrations since (baselines by condition finds its column and does nothing)
      raw.close();
      db = FleetDb.open(path);
      expect(db.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(db.db.prepare('SELECT count(*) FROM sources').pluck().get()).toBe(1);

      db.limits = { ...db.limits, verdictsPerSource: 2 };
      installVerdicts(db); // once per database: FleetDb.open did it already
      let seq = 1;
      const ingest = (source: string, verdicts: Verdict[], now = NOW) => db.ingest(parseBatch(JSON.parse(JSON.stringify({ ...batch(source, ++seq, [], {}, source), verdicts }))), 'tok', now);
      ingest('s1', [v(1, 'right'), v(2, 'wrong'), v(3, 'missing')]);
      const stored = () => db.db.prepare("SELECT id, verdict FROM verdicts WHERE source = 's1' ORDER BY id").all();
      expect(stored()).toEqual([{ id: id(1), verdict: 'right' }, { id: id(2), verdict: 'wrong' }]); // the third past the bound
      expect(db.dropped.verdicts_per_source).toBe(1);
      ingest('s1', [v(2, 'right', 'cam-1', NOW)]); // a change to a kept one passes
      expect(stored()).toEqual([{ id: id(1), verdict: 'right' }, { id: id(2), verdict: 'right' }]);
      // a year and an hour later: the old ones go with the hourly prune
      ingest('s2', [v(9, 'wrong', 'cam-1', NOW + 366 * 24 * 3_600_000)], NOW + 366 * 24 * 3_600_000);
      expect(db.db.prepare('SELECT source, id FROM verdicts').all()).toEqual([{ source: 's2', id: id(9) }]);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
