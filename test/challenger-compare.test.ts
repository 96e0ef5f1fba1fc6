import { describe, expect, it } from 'vitest';
import { againstFrame, bootstrap, ChallengerTally, pairFrame, quantile, summarize } from '../src/inference/challenger.ts';
import type { Detection } from '../src/types/detection.ts';

const det = (label: string, x: number, score = 0.8): Detection => ({ classId: 0, label, score, box: [x, 0, 10, 10] });
const people = (n: number, score = 0.8) => Array.from({ length: n }, (_, i) => det('person', i * 20, score));

describe('challenger comparison', () => {
  it('a challenger that finds fewer persons and runs slower reads worse, with intervals that exclude 1', () => {
    const t = new ChallengerTally('a'.repeat(64), 'b'.repeat(64));
    // champion: 10 persons a frame at 100–110 ms; challenger: the first 7 of them at 140–154 ms
    for (let i = 0; i < 30; i++) t.add(pairFrame(1000 + i, { ms: 100 + (i % 11), detections: people(10) }, { ms: 1.4 * (100 + (i % 11)), detections: people(7 + (i % 2), 0.45) }));
    const s = t.summary();
    expect(s.frames).toBe(30);
    expect(s.verdict).toBe('worse');
    const person = s.classes[0]!;
    expect(person).toMatchObject({ label: 'person', champion: 300, challenger: 225, verdict: 'fewer' });
    expect(person.ratio.value).toBeCloseTo(0.75, 5);
    expect(person.ratio.hi).toBeLessThan(1);
    expect(person.ratio.lo).toBeGreaterThan(0.6);
    expect(s.latency.value).toBeCloseTo(1.4, 5);
    expect(s.latency.lo).toBeGreaterThan(1);
    expect(s.line).toMatch(/^challenger finds 25 % fewer persons \(\d+–\d+ %\); 1\.4× slower on this device/);
    expect(s.agreement).toMatchObject({ tp: 225, fp: 0, fn: 75 });
    expect(s.agreement.recall).toBeCloseTo(0.75, 5);
    // confidence histograms: all at 0.8 for the champion, 0.45 for the challenger
    expect(s.champion.confidence[8]).toBe(300);
    expect(s.challenger.confidence[4]).toBe(225);
    expect(s.champion.perFrame).toBe(10);
  });

  it('an equal challenger reads equal within its interval (the interval holds 1)', () => {
    const frames = Array.from({ length: 40 }, (_, i) => pairFrame(i, { ms: 100 + (i % 7), detections: people(8 + (i % 3)) }, { ms: 100 + ((i + 3) % 7), detections: people(8 + ((i + 1) % 3)) }));
    const s = summarize(frames, 'a', 'b');
    expect(s.verdict).toBe('equal');
    expect(s.classes[0]!.ratio.lo).toBeLessThanOrEqual(1);
    expect(s.classes[0]!.ratio.hi).toBeGreaterThanOrEqual(1);
    expect(s.line).toMatch(/finds as many persons: ×1\.00 \(0\.\d\d–1\.\d\d\), equal within its interval \(±10 %\); as fast on this device/);
  });

  it('too few frames or detections: no verdict', () => {
    const s = summarize([pairFrame(0, { ms: 1, detections: people(3) }, { ms: 1, detections: [] })], 'a', 'b');
    expect(s.verdict).toBe('too-few');
    expect(s.line).toContain('1 frame compared, too few');
    expect(summarize([], 'a', 'b').verdict).toBe('too-few');
  });

  it('keeps the newest frames only', () => {
    const t = new ChallengerTally('a', 'b', 5);
    for (let i = 0; i < 9; i++) t.add(pairFrame(i, { ms: 1, detections: [] }, { ms: 1, detections: [] }));
    expect(t.frames.map((f) => f.t)).toEqual([4, 5, 6, 7, 8]);
  });

  it('bootstrap and quantile', () => {
    expect(quantile([3, 1, 2], 0.5)).toBe(2);
    expect(quantile([1, 2], 0.95)).toBeCloseTo(1.95);
    const b = bootstrap([1, 1, 1, 1], (xs) => xs.reduce((a, x) => a + x, 0) / xs.length);
    expect(b).toEqual({ value: 1, lo: 1, hi: 1 });
    // seeded: the same input gives the same interval
    const xs = Array.from({ length: 20 }, (_, i) => i);
    const mean = (v: readonly number[]) => v.reduce((a, x) => a + x, 0) / v.length;
    expect(bootstrap(xs, mean)).toEqual(bootstrap(xs, mean));
  });
});

describe('classes with few detections', () => {
  it('are listed but not judged (too-few), and do not sway the verdict', () => {
    const frames = Array.from({ length: 20 }, (_, i) =>
      pairFrame(i, { ms: 10, detections: [...people(8), ...(i < 3 ? [det('backpack', 500)] : [])] }, { ms: 10, detections: people(8) }),
    );
    const s = summarize(frames, 'a', 'b');
    expect(s.classes.find((c) => c.label === 'backpack')).toMatchObject({ champion: 3, challenger: 0, verdict: 'too-few' });
    expect(s.verdict).toBe('equal');
  });
});

describe('against a reference model (where one is set, on the frames it judged too)', () => {
  // the reference sees 8 persons a frame at x = 0, 20, …; the champion finds the same 8, the challenger 8 boxes
  // shifted off them (as many detections, other places): counts say equal, the reference says worse
  const shifted = (n: number) => Array.from({ length: n }, (_, i) => det('person', i * 20 + 7));
  const frames = (n: number, withRef: (i: number) => boolean) =>
    Array.from({ length: n }, (_, i) => pairFrame(1000 + i, { ms: 100 + (i % 5), detections: people(8) }, { ms: 100 + ((i + 2) % 5), detections: i % 4 ? shifted(8) : people(8) }, withRef(i) ? { reference: people(8) } : {}));

  it('a challenger with as many boxes but in other places reads worse, its F1 against the reference lower beyond the margin', () => {
    const s = summarize(frames(40, () => true), 'a'.repeat(64), 'b'.repeat(64));
    expect(s.classes[0]!.verdict).toBe('equal'); // as many persons
    expect(s.reference).toBeDefined();
    const r = s.reference!;
    expect(r.frames).toBe(40);
    expect(r.champion).toMatchObject({ tp: 320, fp: 0, fn: 0, f1: 1 });
    expect(r.challenger.tp).toBe(80); // every fourth frame the challenger's boxes are the reference's
    expect(r.challenger.f1).toBeCloseTo(0.25, 5);
    expect(r.f1Difference.value).toBeCloseTo(-0.75, 5);
    expect(r.f1Difference.hi).toBeLessThan(-0.05);
    expect(r.verdict).toBe('worse');
    expect(s.verdict).toBe('worse');
    expect(s.line).toMatch(/against the reference, F1 0\.25 vs the champion's 1\.00 \(−0\.75, −0\.\d\d to −0\.\d\d\)$/);
  });

  it("only the frames the reference judged count; with none the summary has no reference part and the counts' verdict stands", () => {
    const some = summarize(frames(40, (i) => i < 12), 'a', 'b');
    expect(some.reference!.frames).toBe(12);
    expect(summarize(frames(40, () => false), 'a', 'b').reference).toBeUndefined();
    expect(summarize(frames(40, () => false), 'a', 'b').verdict).toBe('equal');
    // under VERDICT_MIN_FRAMES frames judged: shown, not judged, and the verdict is the counts'
    const few = summarize(frames(40, (i) => i < 3), 'a', 'b');
    expect(few.reference!.verdict).toBe('too-few');
    expect(few.verdict).toBe('equal');
    expect(few.line).not.toMatch(/against the reference/);
  });

  it('the same model as challenger and reference agrees fully: F1 1, and a challenger equal to the champion reads equal', () => {
    const same = Array.from({ length: 30 }, (_, i) => pairFrame(i, { ms: 100, detections: people(6 + (i % 3)) }, { ms: 100, detections: people(6 + (i % 3)) }, { reference: people(6 + (i % 3)) }));
    const s = summarize(same, 'a', 'b');
    expect(s.reference).toMatchObject({ frames: 30, verdict: 'equal', champion: { f1: 1 }, challenger: { f1: 1 }, f1Difference: { value: 0 } });
    expect(s.verdict).toBe('equal');
    expect(s.line).toMatch(/equal within its interval\)$/);
  });

  it("the reference's verdict that comes after the pair: set on the kept frame, the next summary made anew (changed)", () => {
    const t = new ChallengerTally('a', 'b');
    for (const f of frames(10, () => false)) t.add(f);
    expect(t.summary().reference).toBeUndefined();
    t.frames[9]!.reference = againstFrame(people(8), people(8), people(8));
    expect(t.summary().reference).toBeUndefined(); // the cached summary, until told
    t.changed();
    expect(t.summary().reference!.frames).toBe(1);
  });

  it('restore: frames kept before a reload go first, those older than the newest kept are not doubled, the newest `keep` stay', () => {
    const t = new ChallengerTally('a', 'b', 12);
    const all = frames(20, () => false);
    t.add(all[15]!);
    t.add(all[16]!);
    t.restore(all.slice(0, 16)); // kept before the reload, the last of them also came again since
    expect(t.frames.map((f) => f.t)).toEqual(Array.from({ length: 12 }, (_, i) => 1005 + i));
    expect(t.summary().frames).toBe(12);
  });
});
