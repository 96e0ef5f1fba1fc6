/**
 * The kiosk's compressed day (fixtures/vtest-compressed-day.y4m, the clip e2e/health-conditions.spec.ts feeds the
 * browser's fake camera) through the health engine in Node, frame by frame at its 5 fps, as the kiosk runs it: a
 * 15-s baseline, the first night accepted 5 s into its learning (the e2e's click). It shows what the browser test
 * cannot read from outside: how close the picture's control charts come to firing through the 3-minute dusk, before
 * the way toward the night is recognised (nearer than `minWay` the rules judge the dusk as any change of light).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ImageStats } from '../src/capture/image-stats.ts';
import { HealthEngine } from '../src/health/engine.ts';
import type { AlertEvent, ConditionEvent, HealthEvent } from '../src/health/types.ts';
import { footageRecords, footageStats } from './helpers/footage.ts';
import { fixturePath } from './helpers/fixtures.ts';

const FPS = 5;
/** the clip's stretches, in seconds (scripts/fixtures.sh) */
const DUSK = [100, 280], DEFOCUS_AT = 300;
let frames: ImageStats[];

beforeAll(async () => {
  frames = await footageStats('', Infinity, fixturePath('vtest-compressed-day.y4m'));
}, 120_000);

describe("the kiosk's compressed day, replayed", () => {
  it('a 3-minute dusk into a night accepted 5 s into its learning (its baseline completed by the next windows of the night) raises nothing — the charts stay under half their thresholds before the way is seen — and the night out of focus fires the sharpness rules, cause camera, within 30 s', () => {
    expect(frames.length).toBe(330 * FPS);
    const engine = new HealthEngine({ baselineMs: 15_000 }); // the e2e's baseline_minutes=0.25
    const events: HealthEvent[] = [];
    engine.on((e) => events.push(e));
    const t0 = Date.UTC(2026, 11, 6, 17);
    const at = (s: number) => t0 + s * 1000;
    let learningAt: number | undefined, accepted = false;
    const peak = new Map<string, number>(); // the image charts' highest value / threshold in the dusk, before the way is seen
    const ways: number[] = [];
    for (let i = 0; i < frames.length; i++) {
      const t = at(i / FPS);
      engine.observe(footageRecords([frames[i]!], t, 0.1)[0]!);
      if (i % FPS) continue;
      engine.tick(t);
      learningAt ??= events.find((e): e is ConditionEvent => e.type === 'condition' && e.state === 'learning')?.t;
      if (!accepted && learningAt !== undefined && t - learningAt >= 5000) {
        expect(engine.acceptCondition({}, t).map((b) => b.condition)).toEqual(['mono']);
        accepted = true;
      }
      const sec = i / FPS;
      if (sec < DUSK[0]! || sec >= DUSK[1]!) continue;
      const way = engine.conditions()[0]!.transition?.way;
      ways.push(way ?? 0);
      if (way !== undefined) continue;
      for (const x of engine.signals()) {
        if (!/^(brightness|contrast|saturation|sharpness|scene)-/.test(x.rule) || !Number.isFinite(x.value)) continue;
        peak.set(x.rule, Math.max(peak.get(x.rule) ?? 0, x.value / x.threshold));
      }
    }
    const conditions = events.filter((e): e is ConditionEvent => e.type === 'condition').map((e) => `${e.state} ${e.to}`);
    const fired = events.filter((e): e is { type: 'alert'; alert: AlertEvent } => e.type === 'alert' && e.alert.state === 'firing').map((e) => e.alert);
    console.log('dusk: the charts at their highest before the way is seen (× threshold):', JSON.stringify(Object.fromEntries([...peak].map(([k, v]) => [k, +v.toFixed(2)]))));
    console.log('dusk: the way toward the night, every 10 s:', ways.filter((_, k) => k % 10 === 0).join(', '));
    expect(accepted).toBe(true);
    // the night accepted 5 s into its learning was completed with its next windows to the 15-s baseline
    const night = engine.baselines().find((b) => b.condition === 'mono')!;
    expect(night.to - night.from).toBe(15_000);
    expect(night.source).toBe('manual');
    expect(conditions.slice(0, 4)).toEqual(['learning mono', 'learnt mono', 'switched colour', 'switched mono']);
    // the way is followed for most of the dusk (its first part is nearer than `minWay`, its last in the night's mode)
    expect(ways.filter((w) => w > 0).length).toBeGreaterThanOrEqual(90);
    expect(Math.max(...ways)).toBeGreaterThanOrEqual(0.7);
    expect(peak.size).toBeGreaterThanOrEqual(4);
    for (const [rule, v] of peak) expect(v, rule).toBeLessThan(0.5);
    expect(fired.filter((a) => a.t < at(DEFOCUS_AT)).map((a) => a.rule)).toEqual([]);
    const blurred = fired.filter((a) => a.t >= at(DEFOCUS_AT) && a.rule.startsWith('sharpness-'));
    expect(blurred.length).toBeGreaterThan(0);
    expect(blurred[0]!.t - at(DEFOCUS_AT)).toBeLessThanOrEqual(30_000);
    expect(blurred[0]!.cause).toBe('camera');
  });
});
