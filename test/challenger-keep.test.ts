/**
 * A challenger's compared frames kept across a reload (hub/challenger-keep.ts): per camera and pair of versions, the
 * newest CHALLENGER_KEEP, and what cannot be read (another version's shape, a damaged value) left out — the tally
 * restored from them gives the summary it gave before the reload.
 */
import { describe, expect, it } from 'vitest';
import { CHALLENGER_KEEP, ChallengerTally, pairFrame } from '../src/inference/challenger.ts';
import { challengerKey, keepChallenger, keptChallenger } from '../src/hub/challenger-keep.ts';
import { MonitorStore } from '../src/store/store.ts';
import { MONITOR_DB } from '../src/hub/database.ts';
import type { Detection } from '../src/types/detection.ts';

const people = (n: number, dx = 0): Detection[] => Array.from({ length: n }, (_, i) => ({ classId: 0, label: 'person', score: 0.7, box: [i * 20 + dx, 0, 10, 10] }));
const A = 'a'.repeat(64), B = 'b'.repeat(64);

async function store() {
  const s = new MonitorStore({}, MONITOR_DB);
  await s.open();
  return s;
}

describe('challenger frames kept across a reload', () => {
  it('a tally restored from the kept frames gives the summary it gave before, and goes on from there', async () => {
    const s = await store();
    const before = new ChallengerTally(A, B);
    for (let i = 0; i < 30; i++) before.add(pairFrame(1000 + i, { ms: 100 + i, detections: people(8) }, { ms: 130 + i, detections: people(6) }, i % 3 ? {} : { reference: people(8) }));
    const key = challengerKey('gate 2/east', A, B);
    await keepChallenger(s, key, before.frames);
    const after = new ChallengerTally(A, B);
    after.restore(await keptChallenger(s, key));
    expect(after.summary()).toEqual(before.summary());
    after.add(pairFrame(2000, { ms: 100, detections: people(8) }, { ms: 130, detections: people(6) }));
    expect(after.summary().frames).toBe(31);
    // another camera, or another pair of versions, has nothing kept
    expect(await keptChallenger(s, challengerKey('gate 3', A, B))).toEqual([]);
    expect(await keptChallenger(s, challengerKey('gate 2/east', A, 'c'.repeat(64)))).toEqual([]);
  });

  it('keeps the newest CHALLENGER_KEEP; a damaged or foreign value is left out, not thrown', async () => {
    const s = await store();
    const frames = Array.from({ length: CHALLENGER_KEEP + 20 }, (_, i) => pairFrame(i, { ms: 1, detections: people(1) }, { ms: 1, detections: people(1) }));
    const key = challengerKey('cam', A, B);
    await keepChallenger(s, key, frames);
    const kept = await keptChallenger(s, key);
    expect(kept).toHaveLength(CHALLENGER_KEEP);
    expect(kept[0]!.t).toBe(20);
    await s.setMeta(key, [frames[0], { t: 'x' }, null, 7, { ...frames[1], champion: { ms: 1 } }, { ...frames[2], reference: { champion: {} } }, frames[3]]);
    expect((await keptChallenger(s, key)).map((f) => f.t)).toEqual([0, 3]);
    await s.setMeta(key, { not: 'a list' });
    expect(await keptChallenger(s, key)).toEqual([]);
  });
});
