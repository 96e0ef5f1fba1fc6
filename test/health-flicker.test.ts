/**
 * Flicker (#27 part 3): the frame-to-frame association of detection boxes (blinks, class flips) and the
 * `flicker-rise` rule against the baseline's flicker.
 */
import { describe, expect, it } from 'vitest';
import { HealthEngine } from '../src/health/engine.ts';
import { addFlicker, type BoxLike, type FlickerCounts, FlickerTracker, flickerRate, greedyMatch, iou } from '../src/health/flicker.ts';
import { flickerReading } from '../src/health/flicker-rule.ts';
import { DEFAULT_RULES } from '../src/health/rules.ts';
import type { AlertEvent, Baseline } from '../src/health/types.ts';
import type { InferenceResult } from '../src/inference/protocol.ts';
import { type FrameRecord, toFrameRecord } from '../src/telemetry/record.ts';
import type { Detection } from '../src/types/detection.ts';
import { rng } from './helpers/rng.ts';

const person = (x: number, y = 100, w = 26, h = 64): BoxLike => ({ classId: 0, box: [x, y, w, h] });
const ofClass = (b: BoxLike, classId: number): BoxLike => ({ ...b, classId });

/** Pushes each frame's boxes through one tracker; the counts summed. */
function feed(frames: BoxLike[][], tracker = new FlickerTracker()): FlickerCounts {
  let sum: FlickerCounts = { frames: 0, tracked: 0, blinks: 0, flips: 0 };
  for (const f of frames) sum = addFlicker(sum, tracker.push(f))!;
  return sum;
}

describe('flicker: association', () => {
  it('iou of [x, y, w, h] boxes', () => {
    expect(iou([0, 0, 10, 10], [0, 0, 10, 10])).toBe(1);
    expect(iou([0, 0, 10, 10], [5, 0, 10, 10])).toBeCloseTo(50 / 150);
    expect(iou([0, 0, 10, 10], [10, 0, 10, 10])).toBe(0);
    expect(iou([0, 0, 0, 0], [0, 0, 0, 0])).toBe(0);
  });

  it('greedy matching takes the best pairs first and each box once', () => {
    const a = [person(0), person(20)];
    const b = [person(18), person(2)];
    expect(greedyMatch(a, b, [true, true], [true, true], true).sort()).toEqual([[0, 1], [1, 0]]);
    // across class only when asked
    expect(greedyMatch([person(0)], [ofClass(person(0), 2)], [true], [true], true)).toEqual([]);
    expect(greedyMatch([person(0)], [ofClass(person(0), 2)], [true], [true], false)).toEqual([[0, 0]]);
  });

  it('a steady box: every frame after the second is an opportunity, none blinks or flips', () => {
    const c = feed(Array.from({ length: 10 }, () => [person(100)]));
    expect(c).toEqual({ frames: 8, tracked: 8, blinks: 0, flips: 0 });
    expect(flickerRate(c)).toBe(0);
  });

  it('a blink: gone for one frame and back is one blink; gone for two frames too; gone for three is an object that left', () => {
    expect(feed([[person(100)], [person(100)], [], [person(100)], [person(100)]]).blinks).toBe(1);
    expect(feed([[person(100)], [], [], [person(100)], [person(100)]]).blinks).toBe(1);
    expect(feed([[person(100)], [], [], [], [person(100)]]).blinks).toBe(0);
    // one that leaves for good, or a new one that arrives, is no blink
    expect(feed([[person(100)], [person(100)], [], [], [], []]).blinks).toBe(0);
    expect(feed([[], [], [person(100)], [person(100)], [person(100)]]).blinks).toBe(0);
    // blinking every other frame: each return is a blink
    const c = feed([[person(100)], [], [person(100)], [], [person(100)], [], [person(100)]]);
    expect(c.blinks).toBe(3);
    expect(flickerRate(c)).toBeCloseTo(3 / c.tracked);
  });

  it('a flip: the same box under another class is one flip; a steady pair of classes on one object is none', () => {
    const car = ofClass(person(300, 40, 56, 48), 2);
    const truck = ofClass(car, 7);
    expect(feed([[car], [car], [truck], [truck]])).toMatchObject({ flips: 1, blinks: 0 });
    expect(feed([[car], [truck], [car], [truck]]).flips).toBe(3);
    // class-wise NMS keeps both labels on one vehicle, their boxes jittering apart: matched by class first (each
    // box's own class's continuation, not the other label's box that happens to overlap more), no flip
    const at = (b: BoxLike, dx: number): BoxLike => ({ ...b, box: [b.box[0]! + dx, ...b.box.slice(1)] });
    expect(feed(Array.from({ length: 6 }, (_, k) => (k % 2 ? [at(car, 2), truck] : [car, at(truck, 2)]))).flips).toBe(0);
  });

  it('a moving box (8 px a frame, a walker at the kiosk\'s ~3 frames a second) stays one object', () => {
    const c = feed(Array.from({ length: 20 }, (_, i) => [person(100 + 8 * i)]));
    expect(c).toMatchObject({ tracked: 18, blinks: 0, flips: 0 });
    // a blink of a slower walker (5 px a frame) is seen: back 10 px on, IoU 0.44 with where it was two frames before
    expect(feed([[person(100)], [person(105)], [], [person(115)], [person(120)]]).blinks).toBe(1);
    // at 8 px a frame the gap's 16 px leave IoU 0.24: the blink is not seen — a match lost, never a blink made up
    expect(feed([[person(100)], [person(108)], [], [person(124)], [person(132)]]).blinks).toBe(0);
    expect(feed([[person(100)], [person(100)], [], [person(140)]]).blinks).toBe(0);
  });

  it('a crowded scene: 30 people side by side (neighbours overlapping), jittering; one blink and one flip among them are counted once each', () => {
    // 26-px boxes every 16 px: a neighbour's IoU is 10/42 = 0.24; every 12 px (second row) 14/38 = 0.37, over the
    // match threshold, yet each box's own continuation overlaps more and is taken first
    const crowd = (k: number) => [
      ...Array.from({ length: 15 }, (_, i) => person(16 * i + (k % 2), 100)),
      ...Array.from({ length: 15 }, (_, i) => person(12 * i + ((k + 1) % 2), 300)),
    ];
    const frames = Array.from({ length: 12 }, (_, k) => crowd(k));
    frames[5] = frames[5]!.filter((_, i) => i !== 20); // person 20 (second row) missed in frame 5
    frames[8] = frames[8]!.map((b, i) => (i === 7 ? ofClass(b, 24) : b)); // person 7 called a backpack in frame 8
    const c = feed(frames);
    expect(c.blinks).toBe(1);
    expect(c.flips).toBe(2); // to the backpack and back
    expect(c.tracked).toBe(10 * 30 - 1);
  });

  it('reset forgets the frames before (a gap): no blink across it', () => {
    const t = new FlickerTracker();
    feed([[person(100)], [person(100)], []], t);
    expect(feed([[person(100)]], t).blinks).toBe(1); // without a reset: the box blinked
    const u = new FlickerTracker();
    feed([[person(100)], [person(100)], []], u);
    u.reset();
    expect(feed([[person(100)], [person(100)], [person(100)]], u)).toEqual({ frames: 1, tracked: 1, blinks: 0, flips: 0 });
  });

  it('rate without opportunities is NaN; counts add up', () => {
    expect(flickerRate(undefined)).toBeNaN();
    expect(flickerRate({ frames: 3, tracked: 0, blinks: 0, flips: 0 })).toBeNaN();
    expect(addFlicker(undefined, { frames: 1, tracked: 4, blinks: 1, flips: 1 })).toEqual({ frames: 1, tracked: 4, blinks: 1, flips: 1 });
    expect(addFlicker({ frames: 1, tracked: 4, blinks: 1, flips: 1 }, undefined)).toEqual({ frames: 1, tracked: 4, blinks: 1, flips: 1 });
  });
});

const T0 = Date.UTC(2026, 11, 8, 8);
const MIN = 60_000;

interface Walk {
  /** frames a second (default 3, the WASM kiosk's pace) */
  fps?: number;
  /** people walking across, each on its own row (default 8) */
  people?: number;
  /** each person's detection is missed in a frame with this probability (default 0.015) */
  miss?: number;
  /** …and called another class with this probability (default 0) */
  flip?: number;
  seed?: number;
  deployment?: string;
}

/** Frames of people walking across at 15 px/s, each detection missed or mislabelled at random: records with their boxes. */
function walking(from: number, seconds: number, w: Walk = {}): [FrameRecord, Detection[]][] {
  const fps = w.fps ?? 3;
  const rand = rng(w.seed ?? 1);
  const out: [FrameRecord, Detection[]][] = [];
  const start = Array.from({ length: w.people ?? 8 }, () => rand() * 600);
  for (let i = 0; i < seconds * fps; i++) {
    const t = from + (i * 1000) / fps;
    const detections: Detection[] = [];
    start.forEach((x0, k) => {
      if (rand() < (w.miss ?? 0.015)) return;
      const flip = rand() < (w.flip ?? 0);
      detections.push({ classId: flip ? 24 : 0, label: flip ? 'backpack' : 'person', score: 0.4 + 0.5 * rand(), box: [(x0 + (15 * (t - T0)) / 1000) % 614, 20 + 56 * k, 26, 64] });
    });
    const inference = 250 * Math.exp(0.1 * (rand() + rand() - 1));
    const r: InferenceResult = {
      inferenceId: `${(i % 0xffffffff).toString(16).padStart(8, '0')}-0000-7000-8000-000000000000`,
      timestamp: t, handoffEpoch: t, workerDoneEpoch: t,
      modelVersion: 'abcdef0123456789', ...(w.deployment ? { deployment: w.deployment } : {}), backend: 'wasm', frame: { width: 640, height: 480 },
      timings: { queue: 1, preprocess: 4, inference, postprocess: 2, total: inference + 8 },
      droppedFrames: 0, detections,
    };
    out.push([toFrameRecord(r, 'src-1', { camera_id: 'cam-1' }), detections]);
  }
  return out;
}

/** Feeds records with their boxes (or without, `boxes: false`), ticking once a second; returns the alerts. */
function run(engine: HealthEngine, frames: [FrameRecord, Detection[]][], boxes = true): AlertEvent[] {
  const alerts: AlertEvent[] = [];
  const off = engine.on((e) => e.type === 'alert' && alerts.push(e.alert));
  let next = frames[0]![0].t;
  for (const [r, d] of frames) {
    engine.observe(r, boxes ? d : undefined);
    if (r.t >= next) {
      engine.tick(r.t);
      next = r.t + 1000;
    }
  }
  off();
  return alerts;
}

const rise = (alerts: AlertEvent[]) => alerts.filter((a) => a.rule === 'flicker-rise' && a.state === 'firing');
const signal = (engine: HealthEngine) => engine.signals().find((x) => x.rule === 'flicker-rise')!;

/** 5 minutes of healthy walkers (the baseline), then `after` for `minutes`. */
function scenario(after: Walk, minutes: number, before: Walk = {}) {
  const engine = new HealthEngine();
  run(engine, walking(T0, 5 * 60, { seed: 1, ...before }));
  const alerts = run(engine, walking(T0 + 5 * MIN, minutes * 60, { seed: 2, ...after }));
  return { engine, alerts, changeAt: T0 + 5 * MIN };
}

describe('flicker: the engine and flicker-rise', () => {
  it('the baseline keeps its flicker counts, per window; vitals report the last minute against it', () => {
    const { engine } = scenario({}, 2);
    const b = engine.baselines()[0]!;
    expect(b.flicker).toBeDefined();
    expect(b.flicker!.perWindow.tracked).toHaveLength(60);
    expect(b.flicker!.tracked).toBe(b.flicker!.perWindow.tracked.reduce((a, x) => a + x, 0));
    expect(b.flicker!.blinks).toBeGreaterThan(20); // 8 people, 900 frames, 1.5 % missed: ~100 blinks
    const v = engine.vitals()[0]!.flicker;
    expect(v.tracked).toBeGreaterThan(1000);
    expect(v.rate).toBeGreaterThan(0.005);
    expect(v.rate).toBeLessThan(0.04);
    expect(v.baselineRate).toBeCloseTo(flickerRate(b.flicker), 6);
  });

  it('steady output after the baseline (another draw of the same scene, 10 min): flicker-rise stays quiet, its value near 1', () => {
    const { engine, alerts } = scenario({}, 10);
    expect(rise(alerts)).toEqual([]);
    const sig = signal(engine);
    expect(sig.status).toBe('ok');
    expect(sig.value).toBeGreaterThan(0.4);
    expect(sig.value).toBeLessThan(1.8);
    expect(sig.threshold).toBeGreaterThanOrEqual(2);
  });

  it('degraded output (4× the misses: detections blink) fires flicker-rise (warning, cause model) within 3 minutes; the detection rate rules do not', () => {
    const { engine, alerts, changeAt } = scenario({ miss: 0.06 }, 5);
    const hit = rise(alerts)[0]!;
    expect(hit, JSON.stringify(alerts.map((a) => a.rule))).toBeDefined();
    expect(hit.severity).toBe('warning');
    expect(hit.cause).toBe('model');
    expect(hit.value).toBeGreaterThan(2.5);
    expect(hit.t - changeAt).toBeLessThanOrEqual(3 * MIN);
    expect(alerts.filter((a) => a.state === 'firing' && a.rule.startsWith('detections-'))).toEqual([]);
    expect(engine.vitals()[0]!.flicker.rate).toBeGreaterThan(2.5 * engine.vitals()[0]!.flicker.baselineRate);
  });

  it('class flips count too: 5 % of boxes called another class for a frame fires it', () => {
    const { alerts } = scenario({ flip: 0.05 }, 5);
    expect(rise(alerts).length).toBe(1);
  });

  it('the same degradation at 10 frames a second fires it as well (the chance level counts seconds, not frames)', () => {
    const { alerts } = scenario({ miss: 0.06, fps: 10 }, 5, { fps: 10 });
    expect(rise(alerts).length).toBe(1);
  });

  it('a quiet camera: one person, a few blinks after a baseline with none never fire', () => {
    const engine = new HealthEngine();
    run(engine, walking(T0, 5 * 60, { people: 1, miss: 0 }));
    engine.tick(T0 + 5 * MIN + 10_000); // the baseline's last window closes
    expect(engine.baselines()[0]!.flicker!.blinks).toBe(0);
    const after = walking(T0 + 5 * MIN, 5 * 60, { people: 1, miss: 0, seed: 3 });
    // four blinks in the next minutes (a person missed in one frame, four times)
    const blinked = after.map(([r, d], i) => [r, [60, 200, 340, 500].includes(i) ? [] : d] as [FrameRecord, Detection[]]);
    const alerts = run(engine, blinked);
    expect(rise(alerts)).toEqual([]);
    const sig = signal(engine);
    expect(sig.threshold).toBeGreaterThan(sig.value); // the chance level: what four blinks reach by chance alone
    // two blinks in a 2-min window are 10× the baseline's rate (half a blink in 5 minutes), yet the chance level
    // for so few boxes is 30×
    expect(flickerReading(DEFAULT_RULES.find((r) => r.id === 'flicker-rise')!, { frames: 360, tracked: 360, blinks: 2, flips: 0 }, engine.baselines()[0], 120, 5000, 0.001, 1)).toEqual({ value: expect.closeTo(10, 0), threshold: expect.closeTo(30, 0) });
    expect(flickerReading(DEFAULT_RULES.find((r) => r.id === 'flicker-rise')!, { frames: 360, tracked: 360, blinks: 4, flips: 0 }, engine.baselines()[0], 120, 5000, 0.001, 1).threshold).toBeGreaterThan(5);
  });

  it('a baseline stored before flicker was kept: flicker-rise has no value (no-data) and never fires, the other rules run', () => {
    const first = new HealthEngine();
    run(first, walking(T0, 5 * 60));
    first.tick(T0 + 5 * MIN + 10_000);
    const old: Baseline = structuredClone(first.baselines()[0]!);
    delete old.flicker;
    const engine = new HealthEngine();
    engine.loadBaselines([old]);
    const alerts = run(engine, walking(T0 + 5 * MIN, 5 * 60, { miss: 0.06, seed: 2 }));
    expect(rise(alerts)).toEqual([]);
    expect(signal(engine).status).toBe('no-data');
    expect(Number.isNaN(signal(engine).value)).toBe(true);
    expect(engine.signals().find((x) => x.rule === 'detections-drop')!.status).toBe('ok');
    // vitals still show the window's flicker, with no baseline rate
    const v = engine.vitals()[0]!.flicker;
    expect(v.rate).toBeGreaterThan(0.03);
    expect(v.baselineRate).toBeNaN();
  });

  it('records without boxes (a recorder, the existing callers): no flicker counted, no baseline counts, no value', () => {
    const engine = new HealthEngine();
    run(engine, walking(T0, 6 * 60), false);
    expect(engine.baselines()[0]!.flicker).toBeUndefined();
    expect(engine.vitals()[0]!.flicker.tracked).toBe(0);
    expect(signal(engine).status).toBe('no-data');
  });

  it('the association starts afresh across a gap in the frames, a failed frame and a new deployment: no blinks made up there', () => {
    const box: Detection[] = [{ classId: 0, label: 'person', score: 0.8, box: [100, 100, 26, 64] }];
    const rec = (t: number, o: Partial<InferenceResult> = {}) => toFrameRecord({
      inferenceId: '00000000-0000-7000-8000-000000000000', timestamp: t, handoffEpoch: t, workerDoneEpoch: t, modelVersion: 'abcdef0123456789',
      backend: 'wasm', frame: { width: 640, height: 480 }, timings: { queue: 1, preprocess: 4, inference: 250, postprocess: 2, total: 260 }, droppedFrames: 0, detections: box, ...o,
    }, 'src-1', { camera_id: 'cam-1' });
    const blinksOf = (frames: [FrameRecord, Detection[] | undefined][]) => {
      const engine = new HealthEngine();
      for (const [r, d] of frames) engine.observe(r, d);
      return engine.vitals()[0]!.flicker;
    };
    // present, present, missing, present: one blink…
    expect(blinksOf([[rec(T0), box], [rec(T0 + 300), box], [rec(T0 + 600), []], [rec(T0 + 900), box]]).blinks).toBe(1);
    // …but not across a 5-s gap
    expect(blinksOf([[rec(T0), box], [rec(T0 + 300), box], [rec(T0 + 600), []], [rec(T0 + 5600), box]]).blinks).toBe(0);
    // …nor across a failed frame
    const fail: FrameRecord = { ...rec(T0 + 600), k: [], s: [], e: 'inference-failed' };
    expect(blinksOf([[rec(T0), box], [rec(T0 + 300), box], [fail, undefined], [rec(T0 + 900), box]]).blinks).toBe(0);
    // …nor across a change of deployment
    expect(blinksOf([[rec(T0, { deployment: 'd1d1d1d1d1d1' }), box], [rec(T0 + 300, { deployment: 'd1d1d1d1d1d1' }), box], [rec(T0 + 600, { deployment: 'd1d1d1d1d1d1' }), []], [rec(T0 + 900, { deployment: 'd2d2d2d2d2d2' }), box]]).blinks).toBe(0);
  });
});
