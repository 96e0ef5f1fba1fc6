import { describe, expect, it } from 'vitest';
import { HealthEngine } from '../src/health/engine.ts';
import type { AlertEvent, Baseline, HealthEvent } from '../src/health/types.ts';
import { DEFAULT_RULES, parseRules } from '../src/health/rules.ts';
import type { FrameRecord } from '../src/telemetry/record.ts';
import { healthRecords, type Scene } from './helpers/health-records.ts';

const T0 = Date.UTC(2026, 10, 25, 8);
const MIN = 60_000;

/** Feeds records (ticking once a second of frame time) and collects what the engine reports. */
function run(engine: HealthEngine, records: FrameRecord[], opts: { resources?: boolean } = {}) {
  const events: HealthEvent[] = [];
  const off = engine.on((e) => events.push(e));
  let nextTick = records[0]?.t ?? 0;
  let results = 0;
  for (const r of records) {
    engine.observe(r);
    results++;
    if (r.t >= nextTick) {
      if (opts.resources !== false && r.t % 5000 < 100) {
        engine.observeResources({ t: r.t, mv: r.mv, camera_id: 'cam-1', heapMB: 40, longTasks: 0, results });
        results = 0;
      }
      engine.tick(r.t);
      nextTick = r.t + 1000;
    }
  }
  off();
  return { events, alerts: events.flatMap((e) => (e.type === 'alert' ? [e.alert] : [])), baselines: events.flatMap((e) => (e.type === 'baseline' ? [e.baseline] : [])) };
}

const firing = (alerts: AlertEvent[]) => alerts.filter((a) => a.state === 'firing');

/** baseline minutes of the steady scene, then `scene` for `minutes` */
function scenario(scene: Scene, minutes: number, baselineMinutes = 5) {
  const steady = healthRecords(T0, baselineMinutes * 60, {}, { seed: 1 });
  const changed = healthRecords(T0 + baselineMinutes * MIN, minutes * 60, scene, { seed: 2 });
  return { steady, changed, changeAt: T0 + baselineMinutes * MIN };
}

describe('health engine: baseline', () => {
  it('captures a baseline from the first 5 minutes of each model version × camera, once', () => {
    const engine = new HealthEngine();
    const a = healthRecords(T0, 6 * 60, {}, { camera: 'cam-1' });
    const b = healthRecords(T0, 6 * 60, {}, { camera: 'cam-2', seed: 3 });
    const merged = [...a, ...b].sort((x, y) => x.t - y.t);
    const { baselines } = run(engine, merged);
    expect(baselines.map((x) => x.camera).sort()).toEqual(['cam-1', 'cam-2']);
    const base = baselines[0]!;
    expect(base.source).toBe('auto');
    expect(base.to - base.from).toBe(5 * MIN);
    expect(base.frames).toBe(3000);
    expect(base.fps).toBeCloseTo(10, 5);
    expect(base.windows.brightness).toHaveLength(60);
    expect(base.thumb).toHaveLength(256);
    // thumbnails never reach the store; scene distance is filled in once a baseline exists
    expect(merged.every((r) => r.th === undefined)).toBe(true);
    expect(merged.at(-1)!.i!.sc).toBeGreaterThanOrEqual(0);
    expect(merged.at(-1)!.i!.sc).toBeLessThan(0.05);
    expect(merged[0]!.i!.sc).toBeUndefined();
  });

  it('reports "learning" for baseline rules until the baseline is ready', () => {
    const engine = new HealthEngine();
    run(engine, healthRecords(T0, 60));
    const sig = engine.signals().find((s) => s.rule === 'brightness-ewma')!;
    expect(sig.status).toBe('learning');
    expect(engine.vitals()[0]!.baseline).toMatchObject({ state: 'learning' });
    expect(engine.vitals()[0]!.baseline.progress).toBeCloseTo(55 / 300, 2);
  });

  it('a stored baseline is used from the first frame (no relearning after reload)', () => {
    const first = new HealthEngine();
    const { baselines } = run(first, healthRecords(T0, 5 * 60 + 10));
    const second = new HealthEngine();
    second.loadBaselines(baselines as Baseline[]);
    const { baselines: again } = run(second, healthRecords(T0 + 10 * MIN, 6 * 60, {}, { seed: 9 }));
    expect(again).toEqual([]);
    expect(second.signals().find((s) => s.rule === 'brightness-ewma')!.status).toBe('ok');
  });
});

describe('health engine: no false alarms on an unchanged scene', () => {
  it('30 minutes of the steady scene after the baseline: no alert fires', () => {
    const engine = new HealthEngine();
    const { alerts } = run(engine, healthRecords(T0, 35 * 60, {}, { seed: 11 }));
    expect(firing(alerts)).toEqual([]);
    const sigs = engine.signals();
    expect(sigs.filter((s) => s.status === 'learning')).toEqual([]);
    expect(sigs.filter((s) => s.status === 'alert')).toEqual([]);
  });
});

describe('health engine: drift is caught', () => {
  const cases: [string, Scene, string[]][] = [
    ['lights dimmed', { brightness: 55 }, ['brightness-ewma', 'brightness-cusum']],
    ['confidence slide', { confidenceShift: -0.12 }, ['confidence-ewma', 'confidence-cusum']],
    ['lens defocused', { sharpness: 120 }, ['sharpness-ewma', 'sharpness-cusum']],
    ['camera bumped', { viewShift: 4 }, ['scene-ewma', 'scene-cusum']],
    ['latency creep', { inference: 260 }, ['latency-creep']],
    ['class mix changed', { classId: 7 }, ['classes-minute']],
  ];
  for (const [name, scene, rules] of cases) {
    it(`${name}: ${rules.join(' / ')} fires within 90 s`, () => {
      const engine = new HealthEngine();
      const { steady, changed, changeAt } = scenario(scene, 3);
      const { alerts } = run(engine, [...steady, ...changed]);
      const fired = firing(alerts);
      expect(fired.filter((a) => a.t < changeAt)).toEqual([]);
      const first = fired.find((a) => rules.includes(a.rule));
      expect(first, `fired: ${fired.map((a) => a.rule).join(', ')}`).toBeDefined();
      expect(first!.t - changeAt).toBeLessThanOrEqual(90_000);
      expect(first!.camera_id).toBe('cam-1');
      expect(first!.value).toBeGreaterThan(0);
    });
  }

  it("one class's confidence slides (a minority class): the per-class test names it within 90 s, before any overall confidence rule", () => {
    const engine = new HealthEngine();
    const { steady, changed, changeAt } = scenario({ classShift: { 2: -0.1 } }, 3);
    const { alerts } = run(engine, [...steady, ...changed]);
    const fired = firing(alerts);
    expect(fired.filter((a) => a.t < changeAt)).toEqual([]);
    const cls = fired.find((a) => a.rule === 'class-confidence-psi');
    expect(cls, `fired: ${fired.map((a) => a.rule).join(', ')}`).toBeDefined();
    expect(cls!.classId).toBe(2);
    expect(cls!.t - changeAt).toBeLessThanOrEqual(90_000);
    expect(cls!.value).toBeGreaterThan(cls!.threshold);
    // the overall mean moved by 0.015: the overall charts see it late or not at all
    expect(fired.filter((a) => a.rule.startsWith('confidence-') && a.t <= cls!.t)).toEqual([]);
    const { perClass } = engine.vitals()[0]!.confidence;
    expect(perClass[2]!.p50).toBeLessThan(perClass[2]!.baselineP50 - 0.05);
    expect(perClass[2]!.psi).toBeGreaterThan(perClass[2]!.psiThreshold);
    expect(perClass[0]!.psi).toBeLessThan(perClass[0]!.psiThreshold);
    expect(Math.abs(perClass[0]!.p50 - perClass[0]!.baselineP50)).toBeLessThan(0.03);
    expect(perClass[2]!.histogram.reduce((a, x) => a + x, 0)).toBe(perClass[2]!.count);
    expect(perClass[2]!.baselineHistogram).toHaveLength(20);
  });

  it('class mix: a shift too small for the minute rule is caught over the hour; per-hour counts and changes against the baseline', () => {
    const engine = new HealthEngine();
    const { steady, changed, changeAt } = scenario({ class2Share: 0.27 }, 40);
    const { alerts } = run(engine, [...steady, ...changed]);
    const fired = firing(alerts);
    expect(fired.filter((a) => a.rule === 'classes-minute')).toEqual([]);
    const hour = fired.find((a) => a.rule === 'classes-hour');
    expect(hour, `fired: ${fired.map((a) => a.rule).join(', ')}`).toBeDefined();
    expect(hour!.t - changeAt).toBeLessThanOrEqual(35 * MIN);
    const c = engine.vitals()[0]!.consistency;
    // the engine has seen only 45 minutes (the open window is not counted yet)
    expect(c.hourCoveredMinutes).toBeGreaterThan(44.8);
    expect(c.hourCoveredMinutes).toBeLessThanOrEqual(45);
    // ~2.5 detections a frame, 10 fps: class 2 at 27 % is ~24,300 an hour against ~13,500 in the baseline
    expect(c.perHour[2]! / c.baselinePerHour[2]!).toBeGreaterThan(1.5);
    expect(c.perHour[2]! / c.baselinePerHour[2]!).toBeLessThan(2);
    expect(c.classes[2]!.change).toBe('ok'); // under 4×: not a spike

    const gone = new HealthEngine();
    run(gone, [...steady, ...healthRecords(changeAt, 11 * 60, { classId: 0 }, { seed: 2 })]);
    expect(gone.vitals()[0]!.consistency.classes[2]).toMatchObject({ change: 'vanished', perMinute: 0 });
    const spike = new HealthEngine();
    run(spike, [...steady, ...healthRecords(changeAt, 11 * 60, { class2Share: 0.9 }, { seed: 2 })]);
    expect(spike.vitals()[0]!.consistency.classes[2]!.change).toBe('spike');
    expect(spike.vitals()[0]!.consistency.classes[0]!.change).toBe('drop');
  });

  it('an alert resolves once the scene returns to normal (hysteresis), and fires again if it changes again', () => {
    const engine = new HealthEngine();
    const { steady, changed } = scenario({ brightness: 50 }, 1);
    const back = healthRecords(T0 + 6 * MIN, 3 * 60, {}, { seed: 4 });
    const again = healthRecords(T0 + 9 * MIN, 60, { brightness: 50 }, { seed: 5 });
    const { alerts } = run(engine, [...steady, ...changed, ...back, ...again]);
    const ewma = alerts.filter((a) => a.rule === 'brightness-ewma').map((a) => a.state);
    expect(ewma).toEqual(['firing', 'resolved', 'firing']);
    const resolved = alerts.find((a) => a.rule === 'brightness-ewma' && a.state === 'resolved')!;
    expect(resolved.t).toBeGreaterThan(T0 + 6 * MIN);
    expect(resolved.since).toBeLessThan(resolved.t);
  });

  it('malformed output fires at once (for 0) and resolves after a clean minute', () => {
    const engine = new HealthEngine();
    const recs = healthRecords(T0, 30);
    recs[120] = healthRecords(recs[120]!.t, 0.1, { malformed: true })[0]!;
    const { alerts } = run(engine, recs.concat(healthRecords(T0 + 30_000, 90, {}, { seed: 3 })));
    const m = alerts.filter((a) => a.rule === 'malformed-output');
    expect(m.map((a) => a.state)).toEqual(['firing', 'resolved']);
    expect(m[0]!.t - recs[120]!.t).toBeLessThanOrEqual(5000);
    expect(m[0]!.severity).toBe('critical');
  });

  it('frames stalled: no frames while the page says it runs fires within seconds', () => {
    const engine = new HealthEngine();
    run(engine, healthRecords(T0, 20));
    const events: HealthEvent[] = [];
    engine.on((e) => events.push(e));
    for (let t = T0 + 20_000; t <= T0 + 40_000; t += 1000) {
      if (t % 5000 === 0) engine.observeResources({ t, mv: 'abcdef012345', camera_id: 'cam-1', longTasks: 0, results: 0 });
      engine.tick(t);
    }
    const stalled = events.flatMap((e) => (e.type === 'alert' && e.alert.rule === 'frames-stalled' ? [e.alert] : []));
    expect(stalled[0]?.state).toBe('firing');
    expect(stalled[0]!.t - (T0 + 20_000)).toBeLessThanOrEqual(12_000);
  });

  it('a pipeline stopped on purpose (stop(), a new model loading for 13 s) is not a stalled camera; once it runs again a stall fires as before', () => {
    const engine = new HealthEngine();
    run(engine, healthRecords(T0, 20));
    const events: HealthEvent[] = [];
    engine.on((e) => events.push(e));
    const sample = (t: number) => engine.observeResources({ t, mv: 'abcdef012345', camera_id: 'cam-1', longTasks: 0, results: 0 });
    sample(T0 + 19_000); // the last sample before the stop
    engine.stopped('abcdef012345', 'cam-1', T0 + 20_000);
    for (let t = T0 + 20_000; t <= T0 + 33_000; t += 1000) engine.tick(t);
    const stalled = () => events.flatMap((e) => (e.type === 'alert' && e.alert.rule === 'frames-stalled' ? [e.alert] : []));
    expect(stalled()).toEqual([]);
    // running again: its frames come, then stop for good while the page still samples — the stall fires
    run(engine, healthRecords(T0 + 33_000, 10, {}, { seed: 5 }));
    for (let t = T0 + 43_000; t <= T0 + 60_000; t += 1000) {
      if (t % 5000 === 0) sample(t);
      engine.tick(t);
    }
    expect(stalled()[0]?.state).toBe('firing');
    expect(stalled()[0]!.t - (T0 + 43_000)).toBeLessThanOrEqual(12_000);
  });

  it('memory staircase: heap growing 2 MB/min with GC dips fires; a flat sawtooth does not', () => {
    const feed = (slope: number) => {
      const engine = new HealthEngine();
      const alerts: AlertEvent[] = [];
      engine.on((e) => e.type === 'alert' && alerts.push(e.alert));
      for (let t = T0; t <= T0 + 20 * MIN; t += 5000) {
        const saw = ((t / 5000) % 6) * 1.5; // GC sawtooth
        engine.observeResources({ t, mv: 'abcdef012345', camera_id: 'cam-1', heapMB: 50 + (slope * (t - T0)) / MIN + saw, longTasks: 0, results: 50 });
        engine.tick(t);
      }
      return alerts.filter((a) => a.rule === 'memory-staircase');
    };
    const leak = feed(2);
    expect(leak[0]?.state).toBe('firing');
    expect(leak[0]!.value).toBeCloseTo(2, 0);
    expect(feed(0)).toEqual([]);
  });
});

describe('health engine: rules and baselines on request', () => {
  it('rules are validated with a clear message', () => {
    expect(parseRules(DEFAULT_RULES)).toHaveLength(DEFAULT_RULES.length);
    expect(() => parseRules({})).toThrow(/array/);
    expect(() => parseRules([{ ...DEFAULT_RULES[0], window: 10 }])).toThrow(/rule 0 \(frames-stalled\): window/);
    expect(() => parseRules([{ ...DEFAULT_RULES[0], comparator: '=' }])).toThrow(/comparator/);
    expect(() => parseRules([DEFAULT_RULES[0], DEFAULT_RULES[0]])).toThrow(/duplicate id 'frames-stalled'/);
    expect(() => parseRules([{ ...DEFAULT_RULES[0], metric: 'success', aggregation: 'ewma' }])).toThrow(/ewma does not apply to success/);
    expect(() => parseRules([{ ...DEFAULT_RULES[0], id: '<img src=x>' }])).toThrow(/id/);
  });

  it('a changed rule takes effect: a tighter threshold fires where the default does not', () => {
    const rules = DEFAULT_RULES.map((r) => (r.id === 'latency-creep' ? { ...r, threshold: 1.1, clear: 1.05, for: 0 } : r));
    const engine = new HealthEngine({ rules });
    const { steady, changed } = scenario({ inference: 170 }, 2);
    const { alerts } = run(engine, [...steady, ...changed]);
    expect(firing(alerts).map((a) => a.rule)).toContain('latency-creep');
    const plain = run(new HealthEngine(), [...scenario({ inference: 170 }, 2).steady, ...scenario({ inference: 170 }, 2).changed]);
    expect(firing(plain.alerts).map((a) => a.rule)).not.toContain('latency-creep');
  });

  it('"mark current as healthy" makes the current scene the baseline: its alerts resolve and stay quiet', () => {
    const engine = new HealthEngine();
    const { steady, changed } = scenario({ brightness: 60 }, 5);
    const { alerts } = run(engine, [...steady, ...changed]);
    expect(firing(alerts).some((a) => a.rule.startsWith('brightness'))).toBe(true);
    const [b] = engine.markHealthy({ camera_id: 'cam-1' }, T0 + 10 * MIN);
    expect(b!.source).toBe('manual');
    expect(b!.rollup.img.br![0] / b!.rollup.img.br![1]).toBeCloseTo(60, 0);
    const after = run(engine, healthRecords(T0 + 10 * MIN, 5 * 60, { brightness: 60 }, { seed: 8 }));
    expect(firing(after.alerts)).toEqual([]);
    expect(engine.signals().filter((s) => s.state === 'firing')).toEqual([]);
  });

  it('vitals: the last minute against the baseline, per stream', () => {
    const engine = new HealthEngine();
    const { steady, changed } = scenario({ inference: 200, brightness: 80 }, 2);
    run(engine, [...steady, ...changed]);
    const [v] = engine.vitals({ camera_id: 'cam-1' });
    expect(v!.baseline.state).toBe('ready');
    expect(v!.latency.inference.p50 / v!.latency.inference.baselineP50).toBeCloseTo(200 / 140, 0);
    expect(v!.reliability.successRate).toBe(1);
    expect(v!.reliability.baselineSuccessRate).toBe(1);
    expect(v!.reliability.fps).toBeCloseTo(10, 0);
    expect(v!.reliability.uptime).toBe(1);
    expect(v!.image.brightness).toBeCloseTo(80, 0);
    expect(v!.image.baseline!.brightness).toBeCloseTo(100, 0);
    expect(v!.confidence.mean).toBeGreaterThan(0.3);
    expect(v!.consistency.perMinute[0]! / v!.consistency.baselinePerMinute[0]!).toBeCloseTo(1, 0);
    expect(v!.firing).toBeGreaterThan(0);
  });

  it('overview: the worst status of each rule across cameras, overall and per camera', () => {
    const engine = new HealthEngine();
    const a = healthRecords(T0, 5 * 60, {}, { camera: 'cam-1', location: 'dock' });
    const b = healthRecords(T0, 5 * 60, {}, { camera: 'cam-2', location: 'line 3', seed: 3 });
    const a2 = healthRecords(T0 + 5 * MIN, 60, {}, { camera: 'cam-1', location: 'dock', seed: 4 });
    const b2 = healthRecords(T0 + 5 * MIN, 60, { brightness: 50 }, { camera: 'cam-2', location: 'line 3', seed: 5 });
    run(engine, [...a, ...b, ...a2, ...b2].sort((x, y) => x.t - y.t));
    const all = engine.overview();
    expect(all.streams).toBe(2);
    expect(all.status).toBe('alert');
    const br = all.rules.find((r) => r.rule === 'brightness-cusum')!;
    expect(br).toMatchObject({ status: 'alert', camera_id: 'cam-2', location: 'line 3' });
    expect(engine.overview({ location: 'dock' }).rules.find((r) => r.rule === 'brightness-cusum')!.status).toBe('ok');
    expect(engine.signals({ camera_id: 'cam-1' }).every((x) => x.camera_id === 'cam-1' && x.location === 'dock')).toBe(true);
  });
});
