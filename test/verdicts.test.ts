import { describe, expect, it } from 'vitest';
import type { MonitorStore } from '../src/store/store.ts';
import type { SyncCursor } from '../src/sync/outbox.ts';
import { collect } from '../src/sync/sync-service.ts';
import { parseBatch } from '../src/sync/payload.ts';
import { VerdictDb } from '../src/flagging/verdict-db.ts';
import { countVerdicts, estimate, parseVerdict, replaces, type Verdict, verdictEstimates, wilson } from '../src/flagging/verdicts.ts';

const MV_A = 'a1b2c3d4e5f6';
const MV_B = 'ffffffffffff';
const id = (n: number) => `0196a1b2-0001-7000-8000-${String(n).padStart(12, '0')}`;
const v = (n: number, verdict: Verdict['verdict'], mv = MV_A, camera = 'line-1', t = 1_700_000_000_000 + n): Verdict => ({ id: id(n), verdict, mv, camera, t });

describe('wilson', () => {
  it('matches known 95 % Wilson intervals', () => {
    // Newcombe (1998), Stat Med 17:857, table I, method 3 (Wilson score, no continuity correction), to 4 places
    const a = wilson(81, 263);
    expect(a.p).toBeCloseTo(0.30798, 5);
    expect(a.lo).toBeCloseTo(0.2553, 4);
    expect(a.hi).toBeCloseTo(0.3662, 4);
    const b = wilson(15, 20);
    expect(b.lo).toBeCloseTo(0.5313, 4);
    expect(b.hi).toBeCloseTo(0.8881, 4);
    const c = wilson(0, 10); // no successes: the lower end is 0, the upper is not
    expect(c.lo).toBe(0);
    expect(c.hi).toBeCloseTo(0.2775, 4);
    const d = wilson(10, 10);
    expect(d.hi).toBe(1);
    expect(d.lo).toBeCloseTo(0.7225, 4);
  });
  it('is undefined (NaN) without trials, and narrows as n grows', () => {
    const e = wilson(0, 0);
    expect([e.p, e.lo, e.hi].every(Number.isNaN)).toBe(true);
    const small = wilson(8, 10), big = wilson(800, 1000);
    expect(big.hi - big.lo).toBeLessThan(small.hi - small.lo);
    expect(small.lo).toBeLessThan(0.8);
    expect(small.hi).toBeGreaterThan(0.8);
  });
});

describe('grouping and estimates', () => {
  it('counts per (short model version, camera), skips cleared verdicts, sorts', () => {
    const list = [
      v(1, 'right'), v(2, 'right'), v(3, 'wrong'), v(4, 'missing'), v(5, null),
      v(6, 'right', MV_A + 'a'.repeat(52)), // the full sha256 of the same version
      v(7, 'wrong', MV_A, 'line-2'),
      v(8, 'right', MV_B, ''),
    ];
    expect(countVerdicts(list)).toEqual([
      { mv: MV_A, camera: 'line-1', right: 3, wrong: 1, missing: 1 },
      { mv: MV_A, camera: 'line-2', right: 0, wrong: 1, missing: 0 },
      { mv: MV_B, camera: '', right: 1, wrong: 0, missing: 0 },
    ]);
    const [g] = verdictEstimates(list);
    expect(g!.n).toBe(5);
    expect(g!.precision).toEqual(wilson(3, 4)); // right / (right + wrong): missing frames left out
    expect(g!.missingRate).toEqual(wilson(1, 5)); // missing / all verdicts
    expect(estimate({ mv: MV_A, camera: 'x', right: 0, wrong: 0, missing: 2 }).precision.n).toBe(0);
    expect(verdictEstimates([v(1, null)])).toEqual([]);
  });
  it('a later verdict on the same frame replaces the earlier (and ties go to the later change)', () => {
    expect(replaces({ t: 2 }, { t: 1 })).toBe(true);
    expect(replaces({ t: 2 }, { t: 2 })).toBe(true);
    expect(replaces({ t: 1 }, { t: 2 })).toBe(false);
    expect(replaces({ t: 1 }, undefined)).toBe(true);
  });
});

describe('parseVerdict', () => {
  it('keeps a good verdict and a cleared one', () => {
    expect(parseVerdict(v(1, 'missing'))).toEqual(v(1, 'missing'));
    expect(parseVerdict({ ...v(1, null), location: 'hall' }).verdict).toBeNull();
  });
  it('refuses bad verdicts naming the field', () => {
    const bad: [unknown, RegExp][] = [
      [{ ...v(1, 'right'), verdict: 'maybe' }, /^verdict\.verdict: expected one of right, wrong, missing/],
      [{ ...v(1, 'right'), id: 'frame-1' }, /^verdict\.id: .*UUID/],
      [{ ...v(1, 'right'), mv: 'xyz' }, /^verdict\.mv: .*model version/],
      [{ ...v(1, 'right'), camera: 'c'.repeat(201) }, /^verdict\.camera: at most 200/],
      [{ ...v(1, 'right'), t: -1 }, /^verdict\.t: /],
      [{ ...v(1, 'right'), extra: 1 }, /^verdict\.extra: /],
      [{ ...v(1, 'right'), camera: undefined }, /^verdict\.camera: /],
      ['right', /^verdict: /],
    ];
    for (const [x, re] of bad) expect(() => parseVerdict(x)).toThrow(re);
  });
});

describe('VerdictDb (memory: IndexedDB is the browser’s) and sync', () => {
  const store = { rollupsBetween: async () => [], alertsAfter: async () => [], annotationsAfter: async () => [] } as unknown as MonitorStore;

  it('a later verdict on the same frame replaces the earlier; clearing keeps a tombstone; estimates sum what stands', async () => {
    const db = new VerdictDb(() => undefined);
    await db.set(v(1, 'wrong'));
    await db.set(v(2, 'right'));
    await db.set(v(1, 'right')); // changed their mind
    await db.set(v(3, 'missing', MV_A, 'line-2'));
    expect(await db.of([id(1), id(2), id(3), id(4)])).toEqual({ [id(1)]: 'right', [id(2)]: 'right', [id(3)]: 'missing' });
    expect((await db.estimates()).map((e) => [e.camera, e.right, e.wrong, e.missing])).toEqual([['line-1', 2, 0, 0], ['line-2', 0, 0, 1]]);
    expect((await db.estimates({ camera_id: 'line-2' })).map((e) => e.n)).toEqual([1]);
    await db.set(v(2, null)); // cleared
    expect(await db.of([id(2)])).toEqual({});
    expect((await db.all()).find((x) => x.id === id(2))?.verdict).toBeNull();
    expect((await db.estimates())[0]!.right).toBe(1);
    await expect(db.set({ ...v(5, 'right'), verdict: 'nope' })).rejects.toThrow(/verdict\.verdict: expected one of right, wrong, missing/);
  });

  it('keeps at most its bound, the oldest changes going first', async () => {
    const db = new VerdictDb(() => undefined, 3);
    for (let i = 1; i <= 5; i++) await db.set(v(i, 'right'));
    await db.set(v(3, 'wrong')); // touched again: now the newest
    expect((await db.all()).map((x) => x.id)).toEqual([id(4), id(5), id(3)]);
  });

  it('sync sends each changed verdict as it now stands, once; a replaced one goes again with its new value', async () => {
    const db = new VerdictDb(() => undefined);
    let cursor: SyncCursor = { rollupsUpTo: 0, alertsAfter: '', flaggedAfter: '', baselines: {} };
    const batch = async () => {
      const c = await collect(store, undefined, undefined, cursor, 0, false, false, Date.now, db);
      cursor = c.cursor;
      return c.verdicts ?? [];
    };
    await db.set(v(1, 'right'));
    await db.set(v(2, 'wrong'));
    expect(await batch()).toEqual([v(1, 'right'), v(2, 'wrong')]);
    expect(await batch()).toEqual([]);
    await db.set(v(1, 'missing', MV_A, 'line-1', 1_800_000_000_000));
    await db.set(v(2, null, MV_A, 'line-1', 1_800_000_000_001));
    expect(await batch()).toEqual([v(1, 'missing', MV_A, 'line-1', 1_800_000_000_000), v(2, null, MV_A, 'line-1', 1_800_000_000_001)]);
    // what goes passes the server's schema
    expect(() => parseBatch({ v: 1, source: { id: 's', app_version: '1', monitors: [] }, seq: 1, sentAt: 1, rollups: [], alerts: [], flagged: [], baselines: [], verdicts: [v(1, 'right'), v(2, null)], dropped: 0 })).not.toThrow();
    expect(() => parseBatch({ v: 1, source: { id: 's', app_version: '1', monitors: [] }, seq: 1, sentAt: 1, rollups: [], alerts: [], flagged: [], baselines: [], verdicts: [{ ...v(1, 'right'), verdict: 'ok' }], dropped: 0 })).toThrow(/^verdicts\.0\.verdict: expected one of/);
  });
});
