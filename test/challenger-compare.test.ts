import { describe, expect, it } from 'vitest';
import { bootstrap, ChallengerTally, pairFrame, quantile, summarize } from '../src/inference/challenger.ts';
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
