import { describe, expect, it } from 'vitest';
import { HealthEngine } from '../src/health/engine.ts';
import type { AlertEvent } from '../src/health/types.ts';
import { heapGrowth, lowerEnvelope } from '../src/health/heap.ts';
import { DEFAULT_RULES } from '../src/health/rules.ts';
import { theilSen } from '../src/health/stats.ts';

const T0 = Date.UTC(2026, 10, 25, 8);
const MIN = 60_000;
const staircase = DEFAULT_RULES.filter((r) => r.id === 'memory-staircase');

/**
 * A page's heap every 5 s for `minutes`: a GC sawtooth (rises `saw` MB over `period` ms, then drops back)
 * on a floor of `floor(t)` MB.
 */
function heapSamples(minutes: number, floor: (m: number) => number, saw = 12, period = 2.5 * MIN) {
  return Array.from({ length: (minutes * MIN) / 5000 }, (_, i) => {
    const t = T0 + i * 5000;
    return { t, mb: floor((t - T0) / MIN) + saw * (((t - T0) % period) / period) };
  });
}

/** The engine fed those samples as the page sends them; its memory-staircase alerts. */
function alertsOf(samples: { t: number; mb: number }[]) {
  const engine = new HealthEngine({ rules: staircase });
  const alerts: AlertEvent[] = [];
  engine.on((e) => e.type === 'alert' && alerts.push(e.alert));
  for (const x of samples) {
    engine.observeResources({ t: x.t, mv: 'abcdef012345', camera_id: 'cam', heapMB: x.mb, longTasks: 0, results: 50 });
    engine.tick(x.t);
  }
  return alerts.filter((a) => a.state === 'firing');
}

/** What the rule computed before: Theil–Sen over the raw samples of the last 10 minutes. */
const rawSlope = (xs: { t: number; mb: number }[], now: number) => {
  const w = xs.filter((x) => x.t > now - 10 * MIN && x.t <= now);
  return theilSen(w.map((x) => x.t / MIN), w.map((x) => x.mb));
};

// warm-up: caches, compiled code and WASM memory fill over the first 8 minutes (20 MB), then level off
const warmUp = (m: number) => 60 + 20 * Math.min(1, m / 8) ** 0.5;

describe('memory-staircase reads the heap floor (heap.ts)', () => {
  it('the lower envelope keeps each bin’s smallest sample', () => {
    const env = lowerEnvelope([{ t: 0, mb: 5 }, { t: 10, mb: 3 }, { t: 60_000, mb: 9 }, { t: 60_010, mb: 7 }], 60_000);
    expect(env).toEqual([{ t: 10, mb: 3 }, { t: 60_010, mb: 7 }]);
  });

  it('an hour of GC sawtooth with no net growth: no alert, growth ≈ 0', () => {
    const xs = heapSamples(60, () => 60);
    expect(alertsOf(xs)).toEqual([]);
    expect(Math.abs(heapGrowth(xs, 10 * MIN, xs.at(-1)!.t))).toBeLessThan(0.5);
  });

  it('a warm-up that levels off: no alert (the raw-sample slope read it as a staircase)', () => {
    const xs = heapSamples(60, warmUp);
    expect(alertsOf(xs)).toEqual([]);
    // the old reading, 11 minutes in: well past the 1 MB/min threshold
    expect(rawSlope(xs, T0 + 11 * MIN)).toBeGreaterThan(1);
  });

  it('a leak of 2 MB/min under the same sawtooth and warm-up fires within 15 minutes of its start', () => {
    const xs = heapSamples(60, (m) => warmUp(m) + 2 * Math.max(0, m - 20));
    const fired = alertsOf(xs);
    expect(fired.map((a) => a.rule)).toEqual(['memory-staircase']);
    expect(fired[0]!.t).toBeGreaterThan(T0 + 20 * MIN);
    expect(fired[0]!.t - (T0 + 20 * MIN)).toBeLessThanOrEqual(15 * MIN);
    expect(fired[0]!.value).toBeGreaterThan(1.5);
  });

  it('a slow leak under the threshold (0.5 MB/min) does not fire', () => {
    expect(alertsOf(heapSamples(60, (m) => 60 + 0.5 * m))).toEqual([]);
  });
});
