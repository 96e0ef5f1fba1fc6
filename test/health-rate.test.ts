/**
 * Does the model still see: the detection-rate rules, silent output signals, deployments compared with the
 * previous deployment's baseline, and the probable cause of each alert (#24).
 */
import { describe, expect, it } from 'vitest';
import { viewShift } from '../src/health/cause.ts';
import { HealthEngine } from '../src/health/engine.ts';
import { poissonQuantile } from '../src/health/stats.ts';
import type { AlertEvent, Baseline, HealthEvent } from '../src/health/types.ts';
import { deploymentId } from '../src/inference/deployment.ts';
import type { FrameRecord } from '../src/telemetry/record.ts';
import { healthRecords, type Scene } from './helpers/health-records.ts';

const T0 = Date.UTC(2026, 10, 25, 8);
const MIN = 60_000;

function run(engine: HealthEngine, records: FrameRecord[]) {
  const events: HealthEvent[] = [];
  const off = engine.on((e) => events.push(e));
  let nextTick = records[0]?.t ?? 0;
  for (const r of records) {
    engine.observe(r);
    if (r.t >= nextTick) {
      engine.tick(r.t);
      nextTick = r.t + 1000;
    }
  }
  off();
  return { alerts: events.flatMap((e) => (e.type === 'alert' ? [e.alert] : [])), baselines: events.flatMap((e) => (e.type === 'baseline' ? [e.baseline] : [])) };
}
const firing = (alerts: AlertEvent[]) => alerts.filter((a) => a.state === 'firing');

/** 5 minutes of baseline on deployment `dp`, then `scene` for `minutes` (deployment `dp2`, default the same). */
function blindRun(scene: Scene, minutes: number, o: { dp?: string; dp2?: string; mv2?: string; baselineScene?: Scene } = {}) {
  const engine = new HealthEngine();
  const before = healthRecords(T0, 5 * 60, o.baselineScene ?? {}, { seed: 1, ...(o.dp ? { deployment: o.dp } : {}) });
  const after = healthRecords(T0 + 5 * MIN, minutes * 60, scene, { seed: 2, ...(o.dp2 ?? o.dp ? { deployment: o.dp2 ?? o.dp } : {}), ...(o.mv2 ? { modelVersion: o.mv2 } : {}) });
  const base = run(engine, before);
  engine.tick(T0 + 5 * MIN + 10_000); // the baseline's last window closes
  const later = run(engine, after);
  return { engine, base, ...later, changeAt: T0 + 5 * MIN };
}

describe('detection rate', () => {
  it('a model gone blind (no detections, frames flowing) fires detections-collapse (critical) within seconds, cause model, and the output signals read "silent", not "no-data"', () => {
    const { engine, alerts, changeAt } = blindRun({ detectionShare: 0 }, 2);
    const hit = firing(alerts).find((a) => a.rule === 'detections-collapse')!;
    expect(hit, JSON.stringify(firing(alerts).map((a) => a.rule))).toBeDefined();
    expect(hit.severity).toBe('critical');
    expect(hit.t - changeAt).toBeLessThanOrEqual(15_000);
    expect(hit.value).toBe(0);
    expect(hit.cause).toBe('model');
    expect(hit.evidence).toMatch(/detections-collapse 0\.00 .*image and scene healthy/);
    const sig = (rule: string) => engine.signals().find((s) => s.rule === rule)!;
    expect(sig('confidence-psi').status).toBe('silent');
    expect(sig('confidence-ewma').status).toBe('silent');
    expect(sig('classes-minute').status).toBe('silent');
    expect(engine.overview().status).toBe('alert');
    const v = engine.vitals()[0]!;
    expect(v.detections.perFrame).toBe(0);
    expect(v.detections.recentPerFrame).toBe(0);
    expect(v.detections.baselinePerFrame).toBeGreaterThan(2);
    expect(v.confidence.mean).toBeNaN(); // no stale value: there is no confidence to show
  });

  it('a model that still sees, but less (40 % of detections), fires the drop warning and not the collapse', () => {
    const { alerts } = blindRun({ detectionShare: 0.4 }, 5);
    const rules = firing(alerts).map((a) => a.rule);
    expect(rules).toContain('detections-drop');
    expect(rules).not.toContain('detections-collapse');
    const drop = firing(alerts).find((a) => a.rule === 'detections-drop')!;
    expect(drop.severity).toBe('warning');
    expect(drop.value).toBeGreaterThan(0.3);
    expect(drop.value).toBeLessThan(0.5);
    expect(drop.cause).toBe('model');
  });

  it('twice the detections fires the surge warning', () => {
    const { alerts } = blindRun({ detectionShare: 1 }, 5, { baselineScene: { detectionShare: 0.4 } });
    expect(firing(alerts).map((a) => a.rule)).toContain('detections-surge');
  });

  it('a camera whose baseline rarely sees anything does not fire when it sees nothing', () => {
    const { alerts } = blindRun({ detectionShare: 0 }, 5, { baselineScene: { detectionShare: 0.004 } });
    expect(firing(alerts).filter((a) => a.rule.startsWith('detections') || a.rule.startsWith('class-detections'))).toEqual([]);
  });

  it('a quiet stretch no quieter than the baseline\'s own quietest of the rule\'s length does not fire: the threshold is taken against it', () => {
    const engine = new HealthEngine();
    // a baseline of a busy and a quiet stretch (a third of the detections), then 10 quiet minutes
    run(engine, [...healthRecords(T0, 150, {}, { seed: 10 }), ...healthRecords(T0 + 150_000, 150, { detectionShare: 0.3 }, { seed: 11 })]);
    const { alerts } = run(engine, healthRecords(T0 + 5 * MIN, 10 * 60, { detectionShare: 0.3 }, { seed: 3 }));
    expect(firing(alerts).map((a) => a.rule)).not.toContain('detections-drop');
    // the same quiet minutes after a baseline that was always busy do fire
    const { alerts: other } = blindRun({ detectionShare: 0.3 }, 10);
    expect(firing(other).map((a) => a.rule)).toContain('detections-drop');
  });

  it("a class that vanishes while the others stay fires class-detections-drop for that class", () => {
    const { alerts } = blindRun({ class2Share: 0 }, 5, { baselineScene: { class2Share: 0.3 } });
    const hit = firing(alerts).find((a) => a.rule === 'class-detections-drop');
    expect(hit?.classId).toBe(2);
    expect(firing(alerts).map((a) => a.rule)).not.toContain('detections-collapse');
  });

  it('poissonQuantile: exact below a mean of 200, normal past it', () => {
    expect(poissonQuantile(0.5, 0.001)).toBe(0);
    expect(poissonQuantile(10, 0.001)).toBe(2); // P(X ≤ 1) = 0.0005, P(X ≤ 2) = 0.0028
    expect(poissonQuantile(10, 0.999)).toBe(21);
    expect(poissonQuantile(1000, 0.001)).toBeGreaterThan(900);
    expect(poissonQuantile(1000, 0.001)).toBeLessThan(910);
  });
});

describe('deployments', () => {
  const manifest = { input: { name: 'images', shape: [1, 416, 416, 3], dtype: 'float32', layout: 'NHWC', channels: 'RGB', resize: 'stretch', normalization: { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] } }, outputs: [{ name: 'x' }], adapter: 'centernet', decode: { stride: 4 }, labels: ['person'] } as never;
  it('a deployment id is the file, its manifest and the threshold together', () => {
    const a = deploymentId('f'.repeat(64), manifest, 0.3);
    expect(a).toMatch(/^[0-9a-f]{12}$/);
    expect(deploymentId('f'.repeat(64), JSON.parse(JSON.stringify(manifest)), 0.3)).toBe(a);
    const blind = JSON.parse(JSON.stringify(manifest));
    blind.input.normalization.scale = 1 / 255;
    expect(deploymentId('f'.repeat(64), blind, 0.3)).not.toBe(a);
    expect(deploymentId('f'.repeat(64), manifest, 0.5)).not.toBe(a);
    expect(deploymentId('e'.repeat(64), manifest, 0.3)).not.toBe(a);
  });

  it('a new deployment of the same file is compared with the previous deployment\'s baseline: the blind one fires with the cause model and is never learnt as the new normal', () => {
    const { engine, alerts, baselines, changeAt } = blindRun({ detectionShare: 0 }, 8, { dp: 'aaaaaaaaaaaa', dp2: 'bbbbbbbbbbbb' });
    const hit = firing(alerts).find((a) => a.rule === 'detections-collapse')!;
    expect(hit.t - changeAt).toBeLessThanOrEqual(15_000);
    expect(hit.cause).toBe('model');
    expect(hit.evidence).toContain('new deployment bbbbbbbbbbbb');
    expect(hit.evidence).toContain('aaaaaaaaaaaa');
    expect(baselines).toEqual([]); // 8 minutes on, still compared with the good one
    expect(engine.vitals()[0]!.baseline).toMatchObject({ state: 'comparing', deployment: 'bbbbbbbbbbbb', previous: { deployment: 'aaaaaaaaaaaa' } });
    expect(engine.baselines()[0]!.deployment).toBe('aaaaaaaaaaaa');
  });

  it('a short comparison (15-s baseline) that starts mid-window: the window is judged before the new deployment may keep its own baseline, and the old deployment\'s frames in it are not captured', () => {
    const engine = new HealthEngine({ baselineMs: 15_000 });
    const got = run(engine, [
      ...healthRecords(T0, 29.6, {}, { seed: 1, fps: 6, deployment: 'aaaaaaaaaaaa' }),
      ...healthRecords(T0 + 29_600, 40, { detectionShare: 0 }, { seed: 2, fps: 6, deployment: 'bbbbbbbbbbbb' }),
    ]);
    expect(got.baselines.map((b) => b.deployment)).toEqual(['aaaaaaaaaaaa']);
    const hit = firing(got.alerts).find((a) => a.rule === 'detections-collapse');
    expect(hit?.cause).toBe('model');
    expect(engine.vitals()[0]!.baseline.state).toBe('comparing');
  });

  it('a deployment that sees less is compared for as long as the drop rule needs, however short the baseline (15 s): it fires, and is not learnt first', () => {
    const engine = new HealthEngine({ baselineMs: 15_000 });
    const got = run(engine, [
      ...healthRecords(T0, 60, {}, { seed: 1, deployment: 'aaaaaaaaaaaa' }),
      ...healthRecords(T0 + 60_000, 4 * 60, { detectionShare: 0.4 }, { seed: 2, deployment: 'eeeeeeeeeeee' }),
    ]);
    expect(got.baselines.map((b) => b.deployment)).toEqual(['aaaaaaaaaaaa']);
    expect(firing(got.alerts).find((a) => a.rule === 'detections-drop')?.cause).toBe('model');
  });

  it('a healthy new deployment learns its own baseline after the comparison, with nothing firing', () => {
    const { engine, alerts, baselines } = blindRun({}, 6, { dp: 'aaaaaaaaaaaa', dp2: 'cccccccccccc' });
    expect(firing(alerts)).toEqual([]);
    expect(baselines).toHaveLength(1);
    expect(baselines[0]!.deployment).toBe('cccccccccccc');
    expect(engine.vitals()[0]!.baseline.state).toBe('ready');
  });

  it('a new model version on a camera is compared with the camera\'s latest baseline before it has its own', () => {
    const { engine, alerts } = blindRun({ detectionShare: 0 }, 2, { dp: 'aaaaaaaaaaaa', dp2: 'dddddddddddd', mv2: '0123456789abcdef' });
    const hit = firing(alerts).find((a) => a.rule === 'detections-collapse')!;
    expect(hit.mv).toBe('0123456789ab');
    expect(hit.cause).toBe('model');
    const v = engine.vitals({ mv: '0123456789ab' })[0]!;
    expect(v.baseline).toMatchObject({ state: 'comparing', previous: { mv: 'abcdef012345' } });
  });

  it('reloading onto the same deployment keeps its baseline (no comparison, no relearning)', () => {
    const first = blindRun({}, 1, { dp: 'aaaaaaaaaaaa' });
    const saved = first.engine.baselines() as Baseline[];
    expect(saved[0]!.deployment).toBe('aaaaaaaaaaaa');
    const second = new HealthEngine();
    second.loadBaselines(JSON.parse(JSON.stringify(saved)));
    const { baselines } = run(second, healthRecords(T0 + 20 * MIN, 6 * 60, {}, { seed: 5, deployment: 'aaaaaaaaaaaa' }));
    expect(baselines).toEqual([]);
    expect(second.vitals()[0]!.baseline.state).toBe('ready');
  });
});

describe('probable cause', () => {
  it('a darkened image is the camera; a bumped view is the camera (the view moved); a swapped scene is the scene; slower inference is the runtime', () => {
    const dark = blindRun({ brightness: 60 }, 3);
    const d = firing(dark.alerts);
    expect(d.length).toBeGreaterThan(0);
    expect(new Set(d.map((a) => a.cause))).toEqual(new Set(['camera']));
    const bumped = firing(blindRun({ viewShift: 2 }, 3).alerts).filter((a) => a.rule.startsWith('scene-'));
    expect(bumped.length).toBeGreaterThan(0);
    expect(bumped.map((a) => a.cause)).toEqual(bumped.map(() => 'camera'));
    expect(bumped[0]!.evidence).toMatch(/view moved by/);
    const swapped = firing(blindRun({ swap: true }, 3).alerts).filter((a) => a.rule.startsWith('scene-'));
    expect(swapped.length).toBeGreaterThan(0);
    expect(swapped[0]!.cause).toBe('scene');
    const slow = firing(blindRun({ inference: 280 }, 4).alerts).filter((a) => a.rule.startsWith('latency'));
    expect(slow.length).toBeGreaterThan(0);
    expect(slow.map((a) => a.cause)).toEqual(slow.map(() => 'runtime'));
  });

  it('a lens covered, or the camera bumped, for a minute, then put right: nothing blames the model or the scene afterwards (the output charts restart with the picture back)', () => {
    for (const [name, fault] of [['covered', { brightness: 8, confidenceShift: -0.25, detectionShare: 0.1 }], ['bumped', { viewShift: 2, confidenceShift: -0.2 }]] as const) {
      const engine = new HealthEngine();
      run(engine, healthRecords(T0, 5 * 60, {}, { seed: 1 }));
      engine.tick(T0 + 5 * MIN + 10_000);
      const during = run(engine, healthRecords(T0 + 5 * MIN, 60, fault, { seed: 2 }));
      expect(firing(during.alerts).map((a) => a.cause), name).toContain('camera');
      const after = run(engine, healthRecords(T0 + 6 * MIN, 3 * 60, {}, { seed: 3 }));
      const blamed = firing(after.alerts).filter((a) => a.cause !== 'camera' && a.cause !== 'runtime');
      expect(blamed.map((a) => `${name}: ${a.rule}: ${a.cause} (${a.evidence})`)).toEqual([]);
      if (name === 'covered') {
        // what still fires on windows that hold the cover says so
        const lingering = firing(after.alerts).filter((a) => a.cause === 'camera' && a.t >= T0 + 6 * MIN);
        expect(lingering.map((a) => a.evidence).filter((e) => /window still holds the camera's fault \([a-z-]+, over \d+ s ago\)/.test(e ?? '')).length, JSON.stringify(lingering.map((a) => a.evidence))).toBeGreaterThan(0);
      }
    }
  });

  it('a bumped view that also costs confidence: the output rules blame the camera too (the view moved), not the scene', () => {
    const d = firing(blindRun({ viewShift: 2, confidenceShift: -0.2 }, 4).alerts);
    expect(d.map((a) => a.rule)).toEqual(expect.arrayContaining(['scene-cusum', 'confidence-cusum']));
    expect(d.filter((a) => a.cause !== 'camera').map((a) => `${a.rule}: ${a.cause}`)).toEqual([]);
    expect(d.find((a) => a.rule === 'confidence-cusum')!.evidence).toMatch(/with the (view moved by -?\d, -?\d sixteenths of the frame \(a bumped camera\)|scene's rules that blame the camera); moved with it: scene-/);
    // a swapped scene costing confidence still blames the scene
    const swapped = firing(blindRun({ swap: true, confidenceShift: -0.2 }, 4).alerts).filter((a) => a.rule.startsWith('confidence-'));
    expect(swapped.length).toBeGreaterThan(0);
    expect(swapped.map((a) => a.cause)).toEqual(swapped.map(() => 'scene'));
  });

  it('a darkened picture that also costs detections and confidence: every alert, the output rules\' too, blames the camera (the image\'s rules are judged first in each window)', () => {
    const d = firing(blindRun({ brightness: 55, confidenceShift: -0.2, detectionShare: 0.3 }, 4).alerts);
    expect(d.map((a) => a.rule)).toEqual(expect.arrayContaining(['brightness-cusum', 'detections-drop']));
    expect(d.filter((a) => a.cause !== 'camera').map((a) => `${a.rule}: ${a.cause}`)).toEqual([]);
    expect(d.find((a) => a.rule === 'detections-drop')!.evidence).toMatch(/with the image; moved with it: brightness-/);
  });

  it('a covered lens (dark, flat picture, nothing detected): the collapse fires too, and blames the camera, not the model', () => {
    const d = firing(blindRun({ brightness: 6, detectionShare: 0 }, 2).alerts);
    expect(d.map((a) => a.rule)).toContain('detections-collapse');
    expect(d.filter((a) => a.cause !== 'camera').map((a) => `${a.rule}: ${a.cause}`)).toEqual([]);
  });

  it('a lens covered at night between the image charts\' samples: the collapse fires first and still blames the camera (the image\'s latest window is far off its baseline)', () => {
    // a night-dark picture (mean luma 40) covered 6 s into a 10-s chart window: the collapse fires on the 5-s
    // window that ends 9 s later, the image's charts (one sample per whole 10 s) only 5 s after that
    const engine = new HealthEngine();
    run(engine, healthRecords(T0, 5 * 60, { brightness: 40 }, { seed: 1 }));
    run(engine, healthRecords(T0 + 5 * MIN, 16, { brightness: 40 }, { seed: 2 }));
    const { alerts } = run(engine, healthRecords(T0 + 5 * MIN + 16_000, 40, { brightness: 20, detectionShare: 0 }, { seed: 3 }));
    const d = firing(alerts);
    const collapse = d.find((a) => a.rule === 'detections-collapse')!;
    const image = d.filter((a) => /^(brightness|sharpness)-/.test(a.rule));
    expect(image.length).toBeGreaterThan(0);
    expect(collapse.t).toBeLessThan(Math.min(...image.map((a) => a.t)));
    expect(collapse.cause).toBe('camera');
    expect(collapse.evidence).toMatch(/with the image; moved with it: (brightness|sharpness)-ewma [\d.]+ against [\d.]+, \d+σ/);
    expect(d.filter((a) => a.cause !== 'camera').map((a) => `${a.rule}: ${a.cause}`)).toEqual([]);
  });

  it('the cause travels with the resolved event too', () => {
    const engine = new HealthEngine();
    run(engine, healthRecords(T0, 5 * 60, {}, { seed: 1 }));
    const a = run(engine, healthRecords(T0 + 5 * MIN, 60, { detectionShare: 0 }, { seed: 2 }));
    const b = run(engine, healthRecords(T0 + 6 * MIN, 60, {}, { seed: 3 }));
    const resolved = b.alerts.find((x) => x.rule === 'detections-collapse' && x.state === 'resolved');
    expect(firing(a.alerts).find((x) => x.rule === 'detections-collapse')?.cause).toBe('model');
    expect(resolved?.cause).toBe('model');
  });

  it('viewShift finds a moved view and not a different one', () => {
    const tex = (dx: number, f: (x: number, y: number) => number) => Array.from({ length: 256 }, (_, i) => f((i % 16) + dx, Math.floor(i / 16)));
    const a = (x: number, y: number) => 128 + 60 * Math.sin(x / 2.5) * Math.cos(y / 3) + 20 * Math.sin((x * y) / 9);
    const shifted = viewShift(tex(2, a), tex(0, a));
    expect(shifted).toMatchObject({ dx: 2, dy: 0 });
    expect(viewShift(tex(0, (x, y) => 128 + 70 * Math.cos((x + 2 * y) / 1.7) * Math.sin(y / 4.5)), tex(0, a))).toBeUndefined();
  });
});
