/**
 * The frozen-feed rule (`frame-frozen`) on real footage: frames of the fake camera's clips (vtest.avi's
 * pedestrians; messi5.jpg held still with sensor noise), measured by the frame worker's own statistics, fed to
 * the health engine as the kiosk samples them (about 3 a second of a 10-fps camera).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { HealthEngine } from '../src/health/engine.ts';
import type { AlertEvent, Baseline } from '../src/health/types.ts';
import { binomialBelow, changedValue, pictureChanged, pictureOf } from '../src/health/frozen.ts';
import { yuvImageStats } from '../src/capture/image-stats.ts';
import { DEFAULT_RULES, parseRules } from '../src/health/rules.ts';
import type { InferenceResult } from '../src/inference/protocol.ts';
import { type FrameRecord, toFrameRecord } from '../src/telemetry/record.ts';
import { y4mClip } from './helpers/y4m.ts';

const T0 = Date.UTC(2026, 11, 2, 8);
const S = 1000;
const STEP = 300; // ms between the frames the monitor gets to (the WASM kiosk's pace)

const vtest = y4mClip('vtest.y4m');
const still = y4mClip('still.y4m');
afterAll(() => (vtest.close(), still.close()));

let seq = 0;
/** `seconds` of records from `from`, the k-th showing clip frame `frameOf(t)` (t: ms since the clip started) */
function records(clip: ReturnType<typeof y4mClip>, from: number, seconds: number, frameOf: (t: number) => number = (t) => Math.floor((t * clip.fps) / 1000), src = 'src-1'): FrameRecord[] {
  const out: FrameRecord[] = [];
  for (let t = 0; t < seconds * S; t += STEP) {
    const image = { ...yuvImageStats(clip.frame(frameOf(t))), ms: 0.4 };
    const id = (seq++).toString(16).padStart(8, '0');
    const r: InferenceResult = {
      inferenceId: `${id}-0000-7000-8000-000000000000`, timestamp: from + t, handoffEpoch: from + t, workerDoneEpoch: from + t,
      modelVersion: 'abcdef0123456789', backend: 'wasm', frame: { width: clip.width, height: clip.height },
      timings: { queue: 1, preprocess: 4, inference: 250, postprocess: 2, total: 260 }, droppedFrames: 2,
      detections: [{ classId: 0, label: 'person', score: 0.6, box: [0, 0, 10, 10] }], image,
    };
    out.push(toFrameRecord(r, src, { camera_id: 'cam-1' }));
  }
  return out;
}

/** Feeds records, ticking once a second with the page's resource samples; returns the alerts. */
function run(engine: HealthEngine, recs: FrameRecord[]): AlertEvent[] {
  const alerts: AlertEvent[] = [];
  const off = engine.on((e) => e.type === 'alert' && alerts.push(e.alert));
  let next = recs[0]!.t;
  for (const r of recs) {
    engine.observe(r);
    if (r.t >= next) {
      engine.observeResources({ t: r.t, mv: r.mv, camera_id: 'cam-1', heapMB: 40, longTasks: 0, results: 3 });
      engine.tick(r.t);
      next = r.t + S;
    }
  }
  off();
  return alerts;
}

const frozen = (alerts: AlertEvent[]) => alerts.filter((a) => a.rule === 'frame-frozen');
const signal = (engine: HealthEngine) => engine.signals().find((s) => s.rule === 'frame-frozen')!;
const engine = () => new HealthEngine({ baselineMs: 30 * S });

describe('frozen feed: frame-frozen', () => {
  it('is a default rule with a clear name, and valid', () => {
    const rule = DEFAULT_RULES.find((r) => r.id === 'frame-frozen')!;
    expect(rule).toMatchObject({ metric: 'changed', aggregation: 'ratio', comparator: '<', severity: 'critical' });
    expect(rule.name).toMatch(/stopped changing/);
    expect(parseRules(DEFAULT_RULES)).toHaveLength(DEFAULT_RULES.length);
    expect(() => parseRules([{ ...rule, aggregation: 'ewma' }])).toThrow(/frame-frozen/);
  });

  it('moving footage that freezes (one frame repeated): fires within 30 s, nothing before; resolves once the picture moves again', () => {
    const e = engine();
    const freezeAt = T0 + 45 * S, resumeAt = freezeAt + 60 * S;
    const moving = records(vtest, T0, 45);
    const last = Math.floor((45 * S - STEP) * vtest.fps / 1000);
    const held = records(vtest, freezeAt, 60, () => last);
    const again = records(vtest, resumeAt, 40, (t) => last + 1 + Math.floor((t * vtest.fps) / 1000));
    const alerts = run(e, [...moving, ...held, ...again]);
    // a frozen feed of the same scene looks healthy to every other rule: this one alone notices
    expect(alerts.filter((a) => a.state === 'firing' && a.t < freezeAt)).toEqual([]);
    expect(alerts.map((a) => [a.rule, a.state])).toEqual([['frame-frozen', 'firing'], ['frame-frozen', 'resolved']]);
    const [fired, resolved] = frozen(alerts);
    // a 10-s window of the frozen picture (evaluated every 5 s), then 5 s pending
    expect(fired!.t - freezeAt).toBeGreaterThanOrEqual(15 * S);
    expect(fired!.t - freezeAt).toBeLessThanOrEqual(20 * S);
    expect(fired!.value).toBe(0);
    expect(fired!.severity).toBe('critical');
    expect(resolved!.t).toBeGreaterThan(resumeAt);
    expect(resolved!.t - resumeAt).toBeLessThanOrEqual(15 * S);
    expect(signal(e)).toMatchObject({ status: 'ok', state: 'inactive' });
    expect(e.vitals()[0]!.image.baseline!.changed).toBe(1);
  });

  it('a still scene with a live sensor (its noise changes every frame), still in the baseline too: no alert', () => {
    const e = engine();
    const alerts = run(e, records(still, T0, 120));
    expect(alerts).toEqual([]);
    expect(signal(e)).toMatchObject({ status: 'ok', value: 1 });
    expect(e.vitals()[0]!.image).toMatchObject({ changed: 1, baseline: { changed: 1 } });
  });

  it('a live camera on a still scene after a moving baseline (people left): not frozen', () => {
    const e = engine();
    const alerts = run(e, [...records(vtest, T0, 40), ...records(still, T0 + 40 * S, 60)]);
    expect(frozen(alerts)).toEqual([]);
    expect(signal(e).value).toBe(1);
  });

  it('a picture that never changed, in the baseline either (a synthetic or fully denoised still feed): no alert, no value', () => {
    const e = engine();
    const alerts = run(e, records(still, T0, 90, () => 17));
    expect(alerts).toEqual([]);
    expect(signal(e)).toMatchObject({ status: 'no-data' });
    expect(e.vitals()[0]!.image.baseline!.changed).toBe(0);
  });

  it('against the baseline\'s own share: a camera repeating every other frame is fine until it freezes', () => {
    const e = engine();
    const twice = (t: number) => Math.floor(((t / STEP) >> 1) * STEP * vtest.fps / 1000) * 1; // each picture delivered twice
    const freezeAt = T0 + 90 * S;
    const alerts = run(e, [...records(vtest, T0, 90, twice), ...records(vtest, freezeAt, 40, () => 123)]);
    expect(e.baselines()[0]!.changes!.changed / e.baselines()[0]!.changes!.pairs).toBeCloseTo(0.5, 1);
    expect(alerts.filter((a) => a.t < freezeAt)).toEqual([]);
    const fired = frozen(alerts).find((a) => a.state === 'firing');
    expect(fired).toBeDefined();
    expect(fired!.t - freezeAt).toBeLessThanOrEqual(30 * S);
  });

  it('two monitors on one camera_id (two tabs): each frame is compared with its own monitor\'s frame before', () => {
    const e = engine();
    const freezeAt = T0 + 45 * S;
    const both = (from: number, seconds: number, a: (t: number) => number, b: (t: number) => number) =>
      [...records(vtest, from, seconds, a, 'src-1'), ...records(vtest, from + 150, seconds, b, 'src-2')].sort((x, y) => x.t - y.t);
    const moving = both(T0, 45, (t) => Math.floor(t / 100), (t) => 200 + Math.floor(t / 100));
    // both freeze, each on its own picture: interleaved they still differ from each other, not from themselves
    const alerts = run(e, [...moving, ...both(freezeAt, 40, () => 60, () => 300)]);
    const fired = frozen(alerts).find((a) => a.state === 'firing');
    expect(frozen(alerts).filter((a) => a.t < freezeAt)).toEqual([]);
    expect(fired).toBeDefined();
    expect(fired!.t - freezeAt).toBeLessThanOrEqual(30 * S);
  });

  it('a baseline stored before the rule existed (no change counts): no value rather than a guess', () => {
    const first = engine();
    run(first, records(vtest, T0, 35));
    const old = { ...first.baselines()[0]! } as Baseline;
    delete old.changes;
    const e = engine();
    e.loadBaselines([old]);
    const alerts = run(e, records(vtest, T0 + 60 * S, 40, () => 5));
    expect(frozen(alerts)).toEqual([]);
    expect(signal(e)).toMatchObject({ status: 'no-data' });
  });
});

describe('frozen feed: pictures and chance', () => {
  it('a picture is its scene signature and luma statistics; any difference counts', () => {
    const thumb = new Uint8Array(256).fill(9);
    const a = pictureOf({ i: { br: 100, co: 40, sa: 0.2, sh: 300 }, th: thumb })!;
    expect(pictureChanged(a, pictureOf({ i: { br: 100, co: 40, sa: 0.2, sh: 300, sc: 0.3 }, th: thumb.slice() })!)).toBe(false);
    expect(pictureChanged(a, pictureOf({ i: { br: 100, co: 40, sa: 0.2, sh: 300.01 }, th: thumb })!)).toBe(true);
    const moved = thumb.slice();
    moved[200] = 10;
    expect(pictureChanged(a, pictureOf({ i: { br: 100, co: 40, sa: 0.2, sh: 300 }, th: moved })!)).toBe(true);
    expect(pictureOf({ i: { br: 100 } })).toBeUndefined(); // no thumbnail: nothing to compare
  });

  it('ratio: the window\'s share of changed frames over the baseline\'s; none where a low window would be no surprise', () => {
    const value = (win: { pairs: number; changed: number } | undefined, base: { pairs: number; changed: number } | undefined, agg = 'ratio') => changedValue(win, base, agg, 0.001, 0.25);
    expect(value({ pairs: 30, changed: 0 }, { pairs: 100, changed: 100 })).toBe(0);
    expect(value({ pairs: 30, changed: 15 }, { pairs: 100, changed: 50 })).toBe(1);
    // the baseline changed 1 frame in 20: 30 unchanged frames in a row happen 21 % of the time
    expect(value({ pairs: 30, changed: 0 }, { pairs: 100, changed: 5 })).toBeNaN();
    // …but 300 of them would not
    expect(value({ pairs: 300, changed: 0 }, { pairs: 100, changed: 5 })).toBe(0);
    // half the baseline's frames changed: 10 frames (1 a second) cannot tell, 30 can
    expect(value({ pairs: 10, changed: 0 }, { pairs: 100, changed: 50 })).toBeNaN();
    expect(value({ pairs: 30, changed: 0 }, { pairs: 100, changed: 50 })).toBe(0);
    expect(value({ pairs: 30, changed: 0 }, { pairs: 100, changed: 0 })).toBeNaN();
    expect(value({ pairs: 30, changed: 0 }, undefined)).toBeNaN();
    expect(value({ pairs: 30, changed: 6 }, undefined, 'mean')).toBe(0.2);
    expect(value(undefined, { pairs: 100, changed: 100 })).toBeNaN();
  });

  it('the binomial tail behind it', () => {
    expect(binomialBelow(1, 30, 0.05)).toBeCloseTo(0.95 ** 30, 12);
    expect(binomialBelow(2, 10, 0.5)).toBeCloseTo(11 / 1024, 12);
    expect(binomialBelow(0, 10, 0.5)).toBe(0);
    expect(binomialBelow(11, 10, 0.5)).toBe(1);
    expect(binomialBelow(5, 300, 1)).toBe(0);
    // n in the hundreds (30 fps × 10 s) without overflow
    expect(binomialBelow(150, 300, 0.5)).toBeGreaterThan(0.45);
    expect(binomialBelow(150, 300, 0.5)).toBeLessThan(0.5);
  });
});
