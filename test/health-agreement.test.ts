/**
 * Agreement with a reference model as a vital sign (src/health/agreement-signal.ts): the reference's runs on a
 * sample of frames join their windows; the baseline keeps their counts; `reference-disagreement` fires when a
 * window disagrees more than the baseline did — past the rule's ratio, the baseline's own worst stretch and the
 * chance level — with the cause `model`; steady agreement never fires; too few reference frames have no value.
 */
import { describe, expect, it } from 'vitest';
import { agreementReading, disagreement } from '../src/health/agreement-signal.ts';
import { HealthEngine } from '../src/health/engine.ts';
import { DEFAULT_RULES } from '../src/health/rules.ts';
import type { AlertEvent } from '../src/health/types.ts';
import type { FrameRecord } from '../src/telemetry/record.ts';
import { healthRecords } from './helpers/health-records.ts';

const T0 = Date.UTC(2026, 10, 25, 8);
const MIN = 60_000;
const MV = 'abcdef0123456789';
const rule = DEFAULT_RULES.find((r) => r.id === 'reference-disagreement')!;

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

/**
 * Plays `records` into the engine with a reference run every `everyS` seconds on the frame then: `objects`
 * objects, each missed or misplaced with probability `miss(t)` (a miss, or a miss and a false box).
 */
function play(engine: HealthEngine, records: FrameRecord[], everyS: number, miss: (t: number) => number, seed: number, objects = 10) {
  const alerts: AlertEvent[] = [];
  const off = engine.on((e) => e.type === 'alert' && alerts.push(e.alert));
  const r = rng(seed);
  let nextTick = records[0]!.t, nextRef = records[0]!.t;
  for (const rec of records) {
    engine.observe(rec);
    if (rec.t >= nextRef) {
      let tp = 0, fp = 0, fn = 0;
      for (let i = 0; i < objects; i++) {
        if (r() >= miss(rec.t)) tp++;
        else if (r() < 0.5) fn++;
        else (fn++, fp++);
      }
      engine.observeAgreement({ id: rec.id, t: rec.t, modelVersion: MV, reference: 'f'.repeat(64), counts: { tp, fp, fn, byClass: {} }, detections: [], ms: 600, g: rec.g });
      nextRef = rec.t + everyS * 1000;
    }
    if (rec.t >= nextTick) {
      engine.tick(rec.t);
      nextTick = rec.t + 1000;
    }
  }
  off();
  return alerts.filter((a) => a.state === 'firing');
}

describe('reference-disagreement', () => {
  it('the baseline keeps the reference runs; steady agreement (8 % of objects missed) over 20 minutes never fires', () => {
    const engine = new HealthEngine();
    const fired = play(engine, healthRecords(T0, 25 * 60, {}, { seed: 1, fps: 4, modelVersion: MV }), 6, () => 0.08, 3);
    expect(fired.map((a) => a.rule)).toEqual([]);
    const b = engine.baselines()[0]!;
    expect(b.agreement!.frames).toBeGreaterThanOrEqual(45); // a run every 6 s for 5 minutes
    expect(b.agreement!.windows.length).toBe(60);
    const v = engine.vitals()[0]!.reference!;
    expect(v.perMinute).toBeGreaterThanOrEqual(9);
    expect(v.f1).toBeGreaterThan(0.85);
    expect(v.baselineF1).toBeGreaterThan(0.85);
  });

  it('the deployed model agreeing less (a third of the objects missed or misplaced, from minute 6) fires within 2 minutes, cause model', () => {
    const engine = new HealthEngine();
    const changeAt = T0 + 6 * MIN;
    const fired = play(engine, healthRecords(T0, 10 * 60, {}, { seed: 1, fps: 4, modelVersion: MV }), 6, (t) => (t < changeAt ? 0.08 : 0.33), 4);
    const hit = fired.find((a) => a.rule === 'reference-disagreement');
    expect(hit, JSON.stringify(fired.map((a) => a.rule))).toBeDefined();
    expect(fired.filter((a) => a.t < changeAt)).toEqual([]);
    expect(hit!.t - changeAt).toBeLessThanOrEqual(2 * MIN);
    expect(hit!.cause).toBe('model');
    expect(hit!.evidence).toMatch(/reference-disagreement/);
    expect(engine.vitals()[0]!.reference!.f1).toBeLessThan(0.8);
  });

  it('a new deployment that agrees less with the reference fires within a minute of it, cause model, the evidence naming the deployment', () => {
    const engine = new HealthEngine();
    const swapAt = T0 + 6 * MIN;
    const before = healthRecords(T0, 6 * 60, {}, { seed: 1, fps: 4, modelVersion: MV, deployment: 'aaaaaaaaaaaa' });
    const after = healthRecords(swapAt, 3 * 60, {}, { seed: 2, fps: 4, modelVersion: MV, deployment: 'bbbbbbbbbbbb' });
    const fired = play(engine, [...before, ...after], 6, (t) => (t < swapAt ? 0.08 : 0.3), 5);
    const hit = fired.find((a) => a.rule === 'reference-disagreement');
    expect(hit, JSON.stringify(fired.map((a) => a.rule))).toBeDefined();
    expect(hit!.t - swapAt).toBeLessThanOrEqual(60_000);
    expect(hit!.cause).toBe('model');
    expect(hit!.evidence).toContain('new deployment bbbbbbbbbbbb');
  });

  it('its threshold: at least the rule ratio, the baseline\'s own worst stretch, and the chance level for the window\'s objects', () => {
    const quiet = { frames: 20, tp: 180, fp: 10, fn: 10, windows: Array.from({ length: 60 }, () => ({ frames: 1, tp: 3, fp: 0, fn: 0 })) };
    quiet.windows[10] = { frames: 1, tp: 2, fp: 5, fn: 5 }; // one bad stretch in the baseline
    const p0 = disagreement(quiet);
    // a window as bad as the baseline's worst stretch (of the rule's 24 windows) does not pass
    const worst = agreementReading(quiet, rule, { frames: 20, tp: 100, fp: 15, fn: 15 }, 5000, 0.001);
    expect(worst.value).toBeCloseTo(30 / 230 / p0, 6);
    expect(worst.threshold).toBeGreaterThanOrEqual(1.5);
    // few objects: the chance level is far above the ratio
    const few = agreementReading(quiet, rule, { frames: 3, tp: 2, fp: 1, fn: 1 }, 5000, 0.001);
    expect(few.threshold).toBeGreaterThan(few.value);
    // too few reference frames: no value
    expect(agreementReading(quiet, rule, { frames: 2, tp: 0, fp: 9, fn: 9 }, 5000, 0.001).value).toBeNaN();
    // no reference in the baseline: no value
    expect(agreementReading(undefined, rule, { frames: 20, tp: 0, fp: 9, fn: 9 }, 5000, 0.001).value).toBeNaN();
  });
});
