import { describe, expect, it } from 'vitest';
import { DEFAULT_FLAG_CAP, planEviction } from '../src/flagging/cap.ts';
import { dhash64, hamming, iou, NearDuplicates, sameDetections } from '../src/flagging/hash.ts';
import { admit, countFlag, type FlagCounters, parseCounters, withinLimits } from '../src/flagging/limits.ts';
import { closeToThresholdFloor, DEFAULT_FLAG_RULES, matchFlagRules, parseFlagRules } from '../src/flagging/rules.ts';
import type { FlagContext, FlagDetection, FlagInput, FlagRule } from '../src/flagging/types.ts';
import { rng } from './helpers/rng.ts';

const det = (score: number, classId = 0, box: [number, number, number, number] = [10, 10, 50, 80]): FlagDetection => ({ classId, label: `c${classId}`, score, box });
const rule = (kind: FlagRule['kind'], params: FlagRule['params'] = {}, extra: Partial<FlagRule> = {}): FlagRule => ({ id: kind, name: kind, kind, params, limits: {}, enabled: true, ...extra });
const never = () => { throw new Error('random() must not be called'); };
const ctx = (c: Partial<FlagContext> = {}): FlagContext => ({ firing: [], random: never, ...c });
const match = (r: FlagRule, input: FlagInput, c: Partial<FlagContext> = {}) => matchFlagRules([r], input, ctx(c)).length === 1;
const baseline = (frames: number, classes: Record<number, number>) => ({ frames, detections: Object.values(classes).reduce((s, n) => s + n, 0), classes });

describe('matchFlagRules', () => {
  it('close-to-threshold: the ε band is inclusive at both edges, and near misses count', () => {
    const r = rule('close-to-threshold', { threshold: 0.3, epsilon: 0.1 });
    expect(match(r, { detections: [det(0.4)] })).toBe(true);
    expect(match(r, { detections: [det(0.3)] })).toBe(true);
    expect(match(r, { detections: [], nearMisses: [det(0.2)] })).toBe(true);
    expect(match(r, { detections: [det(0.41), det(0.9)], nearMisses: [det(0.19)] })).toBe(false);
    expect(match(r, { detections: [] })).toBe(false);
    const edge = rule('close-to-threshold', { threshold: 0.7, epsilon: 0.2 });
    expect(match(edge, { detections: [det(0.9)], nearMisses: [det(0.5)] })).toBe(true);
    expect(match(edge, { detections: [det(0.91)], nearMisses: [det(0.49)] })).toBe(false);
  });

  it('close-to-threshold: defaults, minCount and the classes filter', () => {
    expect(match(rule('close-to-threshold'), { detections: [det(0.35)] })).toBe(true);
    const two = rule('close-to-threshold', { minCount: 2, classes: [1] });
    expect(match(two, { detections: [det(0.35, 1), det(0.35, 0)] })).toBe(false);
    expect(match(two, { detections: [det(0.35, 1)], nearMisses: [det(0.25, 1)] })).toBe(true);
  });

  it('detections-count: min and max, restricted to classes', () => {
    const r = rule('detections-count', { min: 1, max: 3, classes: [0] });
    expect(match(r, { detections: [] })).toBe(true);
    expect(match(r, { detections: [det(0.9, 2), det(0.9, 2)] })).toBe(true);
    expect(match(r, { detections: [det(0.9), det(0.9, 2)] })).toBe(false);
    expect(match(r, { detections: [det(0.9), det(0.9), det(0.9)] })).toBe(false);
    expect(match(r, { detections: [det(0.9), det(0.9), det(0.9), det(0.9)] })).toBe(true);
    expect(match(rule('detections-count', { max: 1 }), { detections: [det(0.9)], nearMisses: [det(0.2), det(0.2)] })).toBe(false);
  });

  it('detections-count with baselineExpects: min applies only where the baseline expects that many', () => {
    const r = rule('detections-count', { min: 1, baselineExpects: true });
    const empty = { detections: [] };
    expect(match(r, empty)).toBe(false);
    expect(match(r, empty, { baseline: baseline(100, { 0: 250 }) })).toBe(true);
    expect(match(r, empty, { baseline: baseline(100, { 0: 50 }) })).toBe(false);
    expect(match(r, { detections: [det(0.9)] }, { baseline: baseline(100, { 0: 250 }) })).toBe(false);
    const people = rule('detections-count', { min: 1, baselineExpects: true, classes: [0] });
    expect(match(people, empty, { baseline: baseline(100, { 0: 100, 2: 400 }) })).toBe(true);
    expect(match(people, empty, { baseline: baseline(100, { 0: 20, 2: 400 }) })).toBe(false);
    expect(match(rule('detections-count', { max: 1, baselineExpects: true }), { detections: [det(0.9), det(0.9)] })).toBe(true);
  });

  it('classes: chosen classes, and rareShare against the baseline (absent classes included)', () => {
    expect(match(rule('classes', { classes: [5] }), { detections: [det(0.9, 5)] })).toBe(true);
    expect(match(rule('classes', { classes: [5] }), { detections: [det(0.9, 0)], nearMisses: [det(0.2, 5)] })).toBe(false);
    const rare = rule('classes', { rareShare: 0.01 });
    const b = baseline(100, { 0: 990, 1: 5, 2: 5 });
    expect(match(rare, { detections: [det(0.9, 0)] }, { baseline: b })).toBe(false);
    expect(match(rare, { detections: [det(0.9, 0), det(0.9, 1)] }, { baseline: b })).toBe(true);
    expect(match(rare, { detections: [det(0.9, 7)] }, { baseline: b })).toBe(true);
    expect(match(rare, { detections: [det(0.9, 7)] })).toBe(false);
    expect(match(rare, { detections: [] }, { baseline: b })).toBe(false);
  });

  it('random: a seeded generator flags about `probability` of frames', () => {
    const r = rule('random', { probability: 0.05 });
    const random = rng(42);
    let n = 0;
    for (let i = 0; i < 20_000; i++) if (match(r, { detections: [] }, { random })) n++;
    expect(n / 20_000).toBeGreaterThan(0.045);
    expect(n / 20_000).toBeLessThan(0.055);
    expect(match(rule('random'), { detections: [] }, { random: () => 0.0099 })).toBe(true);
    expect(match(rule('random'), { detections: [] }, { random: () => 0.01 })).toBe(false);
  });

  it('alert: only while an alert fires (of the chosen severities), then sampled', () => {
    const firing = [{ rule: 'fps-drop', severity: 'warning' }];
    expect(match(rule('alert'), { detections: [] })).toBe(false); // random() not called
    expect(match(rule('alert'), { detections: [] }, { firing, random: () => 0.999 })).toBe(true);
    expect(match(rule('alert', { severities: ['critical'] }), { detections: [] }, { firing })).toBe(false);
    expect(match(rule('alert', { severities: ['critical', 'warning'] }), { detections: [] }, { firing, random: () => 0.5 })).toBe(true);
    const sampled = rule('alert', { probability: 0.2 });
    expect(match(sampled, { detections: [] }, { firing, random: () => 0.19 })).toBe(true);
    expect(match(sampled, { detections: [] }, { firing, random: () => 0.2 })).toBe(false);
  });

  it('malformed: malformed outputs and failed frames; a failed frame matches nothing else', () => {
    expect(match(rule('malformed'), { detections: [], malformed: 'nan-scores' })).toBe(true);
    expect(match(rule('malformed'), { detections: [], error: 'inference' })).toBe(true);
    expect(match(rule('malformed'), { detections: [det(0.3)] })).toBe(false);
    const failed: FlagInput = { detections: [det(0.3, 5)], nearMisses: [det(0.25)], error: 'timeout' };
    const all = [...DEFAULT_FLAG_RULES, rule('random', { probability: 1 }, { id: 'always' }), rule('classes', { classes: [5] }, { id: 'five' })];
    expect(matchFlagRules(all, failed, ctx({ firing: [{ rule: 'x', severity: 'critical' }], baseline: baseline(10, { 0: 100 }) }))).toEqual(['malformed']);
  });

  it('disabled rules are ignored and manual never matches on its own', () => {
    const input = { detections: [det(0.3)], malformed: 'shape' };
    expect(matchFlagRules([rule('close-to-threshold', {}, { enabled: false }), rule('malformed', {}, { enabled: false })], input, ctx())).toEqual([]);
    expect(matchFlagRules([rule('manual'), rule('malformed')], input, ctx())).toEqual(['malformed']);
  });

  it('the defaults on an ordinary, an empty, a crowded and a rare-class frame', () => {
    const b = baseline(1000, { 0: 3000, 2: 990, 9: 10 });
    const quiet = () => 0.5;
    expect(matchFlagRules(DEFAULT_FLAG_RULES, { detections: [det(0.8), det(0.9, 2)] }, ctx({ baseline: b, random: quiet }))).toEqual([]);
    expect(matchFlagRules(DEFAULT_FLAG_RULES, { detections: [] }, ctx({ baseline: b, random: quiet }))).toEqual(['empty-frame']);
    expect(matchFlagRules(DEFAULT_FLAG_RULES, { detections: Array.from({ length: 26 }, () => det(0.8)) }, ctx({ baseline: b, random: quiet }))).toEqual(['crowd']);
    expect(matchFlagRules(DEFAULT_FLAG_RULES, { detections: [det(0.35, 9)] }, ctx({ baseline: b, random: () => 0.001 }))).toEqual(['near-threshold', 'rare-class', 'random']);
  });

  it('closeToThresholdFloor: the lowest band edge of enabled rules, never above the monitor threshold', () => {
    expect(closeToThresholdFloor(DEFAULT_FLAG_RULES, 0.3)).toBeCloseTo(0.2, 12);
    expect(closeToThresholdFloor([rule('close-to-threshold', { threshold: 0.5, epsilon: 0.05 })], 0.3)).toBe(0.3);
    expect(closeToThresholdFloor([rule('close-to-threshold', { threshold: 0.5, epsilon: 0.2 }), rule('close-to-threshold', { threshold: 0.1, epsilon: 0.2 }, { enabled: false })], 0.5)).toBeCloseTo(0.3, 12);
    expect(closeToThresholdFloor([rule('close-to-threshold', { threshold: 0.05 })], 0.3)).toBe(0);
    expect(closeToThresholdFloor([], 0.4)).toBe(0.4);
  });
});

describe('parseFlagRules', () => {
  const ok = { id: 'near', name: 'Near', kind: 'close-to-threshold', params: { threshold: 0.5 }, limits: { perMinute: 1 } };
  const bad = (r: object, index = 1) => () => parseFlagRules([{ ...ok, id: 'first' }, { ...ok, ...r }].slice(0, index + 1));

  it('disagreement: a frame the reference judged with the deployed model\'s F1 below maxF1 and at least minCount detections; frames without a verdict never', () => {
    const r = parseFlagRules([{ id: 'dis', name: 'dis', kind: 'disagreement', params: { maxF1: 0.6, minCount: 2 } }]);
    const ctx = { firing: [], random: () => 0.5 };
    expect(matchFlagRules(r, { detections: [], agreement: { f1: 0.4, detections: 3 } }, ctx)).toEqual(['dis']);
    expect(matchFlagRules(r, { detections: [], agreement: { f1: 0.6, detections: 3 } }, ctx)).toEqual([]);
    expect(matchFlagRules(r, { detections: [], agreement: { f1: 0, detections: 1 } }, ctx)).toEqual([]);
    expect(matchFlagRules(r, { detections: [] }, ctx)).toEqual([]);
    expect(() => parseFlagRules([{ id: 'd', name: 'd', kind: 'disagreement', params: { maxF1: 2 } }])).toThrow(/maxF1/);
  });

  it('accepts the defaults (round trip) and fills in enabled', () => {
    const parsed = parseFlagRules(JSON.parse(JSON.stringify(DEFAULT_FLAG_RULES)));
    expect(parsed).toEqual(DEFAULT_FLAG_RULES);
    expect(DEFAULT_FLAG_RULES.map((r) => r.id)).toEqual(['near-threshold', 'empty-frame', 'crowd', 'rare-class', 'random', 'alert', 'malformed', 'reference-disagreement', 'manual']);
    expect(Object.isFrozen(DEFAULT_FLAG_RULES) && Object.isFrozen(DEFAULT_FLAG_RULES[0])).toBe(true);
    const [r] = parseFlagRules([ok]);
    expect(r).toEqual({ ...ok, enabled: true });
    expect(parseFlagRules([{ ...ok, enabled: false }])[0]!.enabled).toBe(false);
    r!.params.threshold = 0.9;
    expect(ok.params.threshold).toBe(0.5); // a copy
  });

  it('rejects bad rules, naming the index, id and field', () => {
    expect(bad({ id: 'near-threshold', params: { epsilon: 1.5 } })).toThrow(/^flag rule 1 \(near-threshold\): params\.epsilon: /);
    expect(bad({ params: { threshold: Number.NaN } })).toThrow(/flag rule 1 \(near\): params\.threshold: /);
    expect(bad({ params: { minCount: 1.5 } })).toThrow(/flag rule 1 \(near\): params\.minCount: /);
    expect(bad({ params: { classes: [0, -1] } })).toThrow(/flag rule 1 \(near\): params\.classes\.1: /);
    expect(bad({ params: { classes: Array.from({ length: 1001 }, (_, i) => i) } })).toThrow(/params\.classes: /);
    expect(bad({ params: { probability: 0.5 } })).toThrow(/flag rule 1 \(near\): params\.probability: not a close-to-threshold parameter/);
    expect(bad({ kind: 'manual', params: { threshold: 0.5 } })).toThrow(/params\.threshold: not a manual parameter/);
    expect(bad({ kind: 'alert', params: { severities: ['fatal'] } })).toThrow(/params\.severities\.0: /);
    expect(bad({ kind: 'classes', params: { rareShare: -0.1 } })).toThrow(/params\.rareShare: /);
    expect(bad({ kind: 'detections-count', params: { classes: [1] } })).toThrow(/flag rule 1 \(near\): params: detections-count needs min or max/);
    expect(bad({ kind: 'detections-count', params: { min: 5, max: 2 } })).toThrow(/params\.min: must be <= max/);
    expect(bad({ kind: 'sometimes' })).toThrow(/flag rule 1 \(near\): kind: /);
    expect(bad({ id: 'has space' })).toThrow(/flag rule 1 \(has space\): id: /);
    expect(bad({ name: '' })).toThrow(/flag rule 1 \(near\): name: /);
    expect(bad({ limits: { perHour: -1 } })).toThrow(/limits\.perHour: /);
    expect(bad({ limits: { perDay: 2e6 } })).toThrow(/limits\.perDay: /);
    expect(bad({ limits: { perWeek: 1 } })).toThrow(/limits\.perWeek: /);
    expect(bad({ enabled: 'yes' })).toThrow(/flag rule 1 \(near\): enabled: /);
    expect(bad({ params: [] })).toThrow(/flag rule 1 \(near\): params: /);
    expect(bad({ id: 'first' })).toThrow(/flag rule 1 \(first\): id: duplicate id 'first'/);
    expect(() => parseFlagRules({})).toThrow(TypeError);
    expect(() => parseFlagRules([null])).toThrow(/^flag rule 0 \(\?\)/);
  });
});

describe('limits', () => {
  const T0 = Date.UTC(2026, 10, 25, 8, 0, 0);
  const r = (limits: FlagRule['limits'], id = 'r') => rule('random', {}, { id, limits });
  /** Flags `n` frames at t, admitting as the store worker does; returns how many were admitted. */
  const flag = (c: FlagCounters, rules: FlagRule[], t: number, n = 1) => {
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const ok = admit(c, rules, t);
      for (const x of ok) countFlag(c, x.id, t);
      if (ok.length) kept++;
    }
    return kept;
  };

  it('per minute, rolling over at the calendar minute', () => {
    const c: FlagCounters = {};
    const rr = r({ perMinute: 2 });
    expect(flag(c, [rr], T0 + 1000, 5)).toBe(2);
    expect(withinLimits(c, rr, T0 + 59_999)).toBe(false);
    expect(withinLimits(c, rr, T0 + 60_000)).toBe(true);
    expect(flag(c, [rr], T0 + 60_000, 5)).toBe(2);
    expect(c.r!.m).toEqual([Math.floor((T0 + 60_000) / 60_000), 2]);
  });

  it('per hour and per day across minutes, surviving a JSON round trip', () => {
    let c: FlagCounters = {};
    const rr = r({ perMinute: 10, perHour: 3, perDay: 4 });
    expect(flag(c, [rr], T0, 2)).toBe(2);
    c = parseCounters(JSON.parse(JSON.stringify(c))); // persisted and reloaded
    expect(flag(c, [rr], T0 + 5 * 60_000, 5)).toBe(1); // the hour is full
    c = parseCounters(JSON.parse(JSON.stringify(c)));
    expect(withinLimits(c, rr, T0 + 59 * 60_000)).toBe(false);
    expect(flag(c, [rr], T0 + 3600_000, 5)).toBe(1); // a new hour, but the day holds 4
    expect(withinLimits(c, rr, T0 + 15 * 3600_000)).toBe(false);
    expect(withinLimits(c, rr, Date.UTC(2026, 10, 26))).toBe(true); // midnight UTC
    expect(c.r).toEqual({ m: [Math.floor((T0 + 3600_000) / 60_000), 1], h: [Math.floor(T0 / 3600_000) + 1, 1], d: [Math.floor(T0 / 86_400_000), 4] });
  });

  it('no limits: always room; a zero limit: never', () => {
    const c: FlagCounters = {};
    expect(flag(c, [r({})], T0, 50)).toBe(50);
    expect(flag(c, [r({ perDay: 0 }, 'z')], T0)).toBe(0);
    expect(withinLimits({}, r({ perMinute: 1 }, 'constructor'), T0)).toBe(true);
  });

  it('admit keeps the matched rules that have room', () => {
    const c: FlagCounters = {};
    const a = r({ perMinute: 1 }, 'a'), b = r({ perMinute: 3 }, 'b'), z = r({ perHour: 0 }, 'z');
    expect(admit(c, [a, b, z], T0).map((x) => x.id)).toEqual(['a', 'b']);
    flag(c, [a, b, z], T0);
    expect(admit(c, [a, b, z], T0 + 1).map((x) => x.id)).toEqual(['b']);
    expect(c.b!.m[1]).toBe(1);
    expect(c.z).toBeUndefined();
    expect(admit(c, [a, z], T0 + 2)).toEqual([]);
    expect(admit(c, [], T0)).toEqual([]);
  });

  it('parseCounters tolerates anything', () => {
    for (const x of [null, undefined, 3, 'x', [], [1, 2]]) expect(parseCounters(x)).toEqual({});
    const good = { m: [1, 2], h: [3, 4], d: [5, 6] };
    expect(parseCounters({ a: good, b: { m: [1], h: [3, 4], d: [5, 6] }, c: null, d: { ...good, h: ['x', 1] } })).toEqual({ a: good });
  });
});

describe('perceptual hash', () => {
  const S = 64;
  /** A real-ish luma image: a gradient sky, a horizon, some shapes, and texture. */
  function scene(seed: number, shift = 0): Float64Array {
    const rand = rng(seed);
    const blobs = Array.from({ length: 8 }, () => ({ x: rand() * S, y: rand() * S, r: 4 + rand() * 12, v: rand() * 200 - 100 }));
    const img = new Float64Array(S * S);
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++) {
        const sx = x - shift;
        let v = y < S * 0.45 ? 180 - y * 1.5 : 90 + 30 * Math.sin(sx / 5);
        for (const b of blobs) if ((sx - b.x) ** 2 + (y - b.y) ** 2 < b.r ** 2) v += b.v;
        img[y * S + x] = Math.max(0, Math.min(255, v + 10 * Math.sin(sx * 1.3 + y * 0.7)));
      }
    return img;
  }
  const noisy = (img: Float64Array, amount: number, seed: number) => {
    const rand = rng(seed);
    return img.map((v) => Math.max(0, Math.min(255, Math.round(v + (rand() - 0.5) * 2 * amount))));
  };
  /** Area-average to a 16×16 thumbnail (what production hashes). */
  const thumb = (img: Float64Array) => {
    const t = new Float64Array(256);
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) t[(y >> 2) * 16 + (x >> 2)]! += img[y * S + x]! / 16;
    return Array.from(t, Math.round);
  };

  it('dhash64: 16 hex digits; bit = pixel brighter than its right neighbour, row by row', () => {
    const ramp = Array.from({ length: 72 }, (_, i) => 100 - (i % 9)); // 9×8, falling to the right
    expect(dhash64(ramp, 9, 8)).toBe('ffffffffffffffff');
    expect(dhash64(ramp.map((v) => 200 - v), 9, 8)).toBe('0000000000000000');
    const firstRow = ramp.map((v, i) => (i < 9 ? v : 200 - v));
    expect(dhash64(firstRow, 9, 8)).toBe('ff00000000000000');
    const lastCol = Array.from({ length: 72 }, (_, i) => (i % 9 === 7 ? 10 : 0));
    expect(dhash64(lastCol, 9, 8)).toBe('0101010101010101');
    expect(() => dhash64(new Uint8Array(64), 8, 8)).toThrow(RangeError);
  });

  it('dhash64: the same scene with noise or darker is close; a shifted or different scene is far', () => {
    const a = scene(1);
    const h = dhash64(thumb(a), 16, 16);
    expect(h).toMatch(/^[0-9a-f]{16}$/);
    expect(dhash64(a, S, S)).toBe(dhash64(thumb(a), 16, 16)); // area averaging: any size gives the same cells
    expect(hamming(h, dhash64(thumb(noisy(a, 15, 9)), 16, 16))).toBeLessThanOrEqual(6);
    expect(hamming(h, dhash64(thumb(a.map((v) => v * 0.6)), 16, 16))).toBeLessThanOrEqual(2);
    expect(hamming(h, dhash64(thumb(scene(1, 12)), 16, 16))).toBeGreaterThan(12);
    expect(hamming(h, dhash64(thumb(scene(2)), 16, 16))).toBeGreaterThan(12);
    expect(dhash64(new Uint8Array(256).fill(7), 16, 16)).toBe('0000000000000000'); // flat: no rounding noise
    expect(dhash64(new Float64Array(37 * 23).fill(0.1), 37, 23)).toBe('0000000000000000');
  });

  it('hamming counts differing bits', () => {
    expect(hamming('0000000000000000', '0000000000000000')).toBe(0);
    expect(hamming('0000000000000000', 'ffffffffffffffff')).toBe(64);
    expect(hamming('8000000000000001', '0000000000000000')).toBe(2);
    expect(hamming('0123456789abcdef', 'FEDCBA9876543210')).toBe(64); // nibbles sum to 15: every bit differs
    expect(hamming('0123456789abcdef', '0123456789abcdef')).toBe(0);
    expect(hamming('00000000000000ff', '0000000000000000')).toBe(8); // low half
    expect(hamming('ff00000000000000', '0000000000000000')).toBe(8); // high half
    expect(hamming('f0f0f0f0f0f0f0f0', '0ff0f0f0f0f0f0f1')).toBe(9);
    expect(() => hamming('abc', '0000000000000000')).toThrow(RangeError);
  });

  it('iou and sameDetections', () => {
    expect(iou([0, 0, 10, 10], [0, 0, 10, 10])).toBe(1);
    expect(iou([0, 0, 10, 10], [5, 0, 10, 10])).toBeCloseTo(50 / 150, 12);
    expect(iou([0, 0, 10, 10], [10, 0, 10, 10])).toBe(0);
    expect(iou([0, 0, 0, 0], [0, 0, 0, 0])).toBe(0);
    const d = (classId: number, x: number) => ({ classId, box: [x, 0, 10, 10] as [number, number, number, number] });
    expect(sameDetections([], [])).toBe(true);
    expect(sameDetections([d(0, 0), d(0, 20), d(1, 40)], [d(1, 41), d(0, 21), d(0, 1)])).toBe(true);
    expect(sameDetections([d(0, 0)], [d(1, 0)])).toBe(false);
    expect(sameDetections([d(0, 0)], [d(0, 0), d(0, 0)])).toBe(false);
    expect(sameDetections([d(0, 0), d(0, 0)], [d(0, 0), d(0, 50)])).toBe(false); // one-to-one
    expect(sameDetections([d(0, 0)], [d(0, 4)])).toBe(false); // IoU 6/14
    expect(sameDetections([d(0, 0)], [d(0, 4)], 0.4)).toBe(true);
  });

  it('NearDuplicates: same key, within the window, close hash and the same detections', () => {
    const nd = new NearDuplicates();
    const people = [{ classId: 0, box: [10, 10, 50, 100] as [number, number, number, number] }];
    const h = 'f0f0f0f0f0f0f0f0', near = 'f0f0f0f0f0f0f0ff', far = '0f0f0f0f0f0f0f0f';
    nd.add('cam-1', 'a', h, people, 0);
    expect(nd.find('cam-1', near, people, 60_000)).toEqual({ id: 'a', distance: 4 });
    expect(nd.find('cam-1', far, people, 60_000)).toBeUndefined();
    expect(nd.find('cam-2', h, people, 60_000)).toBeUndefined();
    expect(nd.find('cam-1', h, [], 60_000)).toBeUndefined(); // someone walked through: not a duplicate
    expect(nd.find('cam-1', h, [{ classId: 0, box: [200, 10, 50, 100] }], 60_000)).toBeUndefined();
    expect(nd.find('cam-1', h, people, 10 * 60_000)).toEqual({ id: 'a', distance: 0 });
    expect(nd.find('cam-1', h, people, 10 * 60_000 + 1)).toBeUndefined(); // expired, and dropped
    expect(nd.find('cam-1', h, people, 0)).toBeUndefined();
    nd.add('cam-1', 'b', h, people, 1000);
    nd.add('cam-1', 'c', near, people, 2000);
    expect(nd.find('cam-1', near, people, 3000)).toEqual({ id: 'c', distance: 0 });
    nd.remove('c');
    expect(nd.find('cam-1', near, people, 3000)).toEqual({ id: 'b', distance: 4 });
    expect(new NearDuplicates({ maxDistance: 3 }).find('cam-1', near, people, 3000)).toBeUndefined();
  });

  it('NearDuplicates holds at most 500 entries per key, dropping the oldest', () => {
    const nd = new NearDuplicates({ maxDistance: 0 });
    const hex = (i: number) => i.toString(16).padStart(16, '0');
    for (let i = 0; i < 501; i++) nd.add('cam', `f${i}`, hex(i), [], i);
    expect(nd.find('cam', hex(0), [], 600)).toBeUndefined();
    expect(nd.find('cam', hex(1), [], 600)).toEqual({ id: 'f1', distance: 0 });
    expect(nd.find('cam', hex(500), [], 600)).toEqual({ id: 'f500', distance: 0 });
  });
});

describe('planEviction', () => {
  const kept = [{ id: 'a', bytes: 100 }, { id: 'b', bytes: 300 }, { id: 'c', bytes: 50 }, { id: 'd', bytes: 10 }];
  const totals = { count: 4, bytes: 460 };

  it('evicts oldest first, by count', () => {
    expect(planEviction(kept, totals, { maxFrames: 5, maxBytes: 1e6 }, { bytes: 10 })).toEqual({ evict: [], fits: true });
    expect(planEviction(kept, totals, { maxFrames: 4, maxBytes: 1e6 }, { bytes: 10 })).toEqual({ evict: ['a'], fits: true });
    expect(planEviction(kept, totals, { maxFrames: 2, maxBytes: 1e6 }, { bytes: 10 })).toEqual({ evict: ['a', 'b', 'c'], fits: true });
  });

  it('evicts oldest first, by bytes', () => {
    expect(planEviction(kept, totals, { maxFrames: 100, maxBytes: 500 }, { bytes: 40 })).toEqual({ evict: [], fits: true });
    expect(planEviction(kept, totals, { maxFrames: 100, maxBytes: 500 }, { bytes: 41 })).toEqual({ evict: ['a'], fits: true });
    expect(planEviction(kept, totals, { maxFrames: 100, maxBytes: 500 }, { bytes: 200 })).toEqual({ evict: ['a', 'b'], fits: true });
    expect(planEviction(kept, totals, { maxFrames: 100, maxBytes: 500 }, { bytes: 500 })).toEqual({ evict: ['a', 'b', 'c', 'd'], fits: true });
  });

  it('an incoming frame too large for the cap fits nowhere and evicts nothing', () => {
    expect(planEviction(kept, totals, { maxFrames: 100, maxBytes: 500 }, { bytes: 501 })).toEqual({ evict: [], fits: false });
    expect(planEviction([], { count: 0, bytes: 0 }, DEFAULT_FLAG_CAP, { bytes: 200_000 })).toEqual({ evict: [], fits: true });
    expect(DEFAULT_FLAG_CAP).toEqual({ maxFrames: 2000, maxBytes: 500_000_000 });
  });
});
