import { describe, expect, it } from 'vitest';
import { chiSquareQuantile, Cusum, Ewma, jsDistance, ksPValue, ksStatistic, normalQuantile, nullThreshold, psi, theilSen } from '../src/health/stats.ts';
import { rng } from './helpers/rng.ts';

describe('distribution distances (values worked by hand)', () => {
  it('normal and chi-square quantiles match the tables', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232, 5);
    expect(chiSquareQuantile(0.95, 10)).toBeCloseTo(18.307, 1);
    expect(chiSquareQuantile(0.999, 19) / 43.82).toBeCloseTo(1, 2);
  });

  it('PSI of 50/50 → 80/20 is 0.3·ln 1.6 + 0.3·ln 2.5 (no smoothing); half-count smoothing of empty bins', () => {
    expect(psi([50, 50], [80, 20], 0)).toBeCloseTo(0.3 * Math.log(1.6) + 0.3 * Math.log(2.5), 10);
    // (0+½)/(10+1) vs (10+½)/(10+1) … bins empty in both are left out
    const p = [0.5 / 11, 10.5 / 11], q = [10.5 / 11, 0.5 / 11];
    expect(psi([0, 10, 0], [10, 0, 0])).toBeCloseTo((q[0]! - p[0]!) * Math.log(q[0]! / p[0]!) + (q[1]! - p[1]!) * Math.log(q[1]! / p[1]!), 10);
    expect(psi([10, 20, 30], [20, 40, 60], 0)).toBeCloseTo(0, 10);
  });

  it('Jensen–Shannon distance: 0 identical, 1 disjoint, 0.5579 for (½,½) vs (1,0)', () => {
    expect(jsDistance([3, 7], [30, 70])).toBeCloseTo(0, 10);
    expect(jsDistance([1, 0], [0, 1])).toBeCloseTo(1, 10);
    // M = (¾, ¼): KL(P‖M) = ½log₂(⅔) + ½log₂2, KL(Q‖M) = log₂(4/3)
    const jsd = 0.5 * (0.5 * Math.log2(2 / 3) + 0.5 + Math.log2(4 / 3));
    expect(jsDistance([1, 1], [1, 0])).toBeCloseTo(Math.sqrt(jsd), 10);
  });

  it('KS statistic is the largest gap between the CDFs; its p-value follows Kolmogorov', () => {
    expect(ksStatistic([1, 1, 0], [0, 1, 1])).toBeCloseTo(0.5, 10);
    // λ ≈ 1.358 is the 5 % point of the Kolmogorov distribution
    const ne = 1000;
    const d = 1.358 / (Math.sqrt(ne) + 0.12 + 0.11 / Math.sqrt(ne));
    expect(ksPValue(d, 2000, 2000)).toBeCloseTo(0.05, 3);
    expect(ksPValue(0.01, 100, 100)).toBe(1);
  });
});

describe('control charts (values worked by hand)', () => {
  it('EWMA λ 0.2: after x = 1, 1 on μ0 0, σ 1 the statistic is 0.2/0.2 then 0.36/0.2561', () => {
    const c = new Ewma(0, 1, 0.2, 3);
    expect(c.update(1)).toBeCloseTo(1, 6);
    expect(c.update(1)).toBeCloseTo(0.36 / Math.sqrt((0.2 / 1.8) * (1 - 0.8 ** 4)), 6);
    expect(c.alarm).toBe(false);
    c.update(2);
    expect(c.alarm).toBe(false);
    expect(c.update(2)).toBeCloseTo(0.9504 / Math.sqrt((0.2 / 1.8) * (1 - 0.8 ** 8)), 6);
    expect(c.alarm).toBe(true);
  });

  it('CUSUM k 0.5σ h 5σ: a 1σ step accumulates 0.5σ a sample and alarms on the 10th; capped at 2h', () => {
    const c = new Cusum(0, 1);
    for (let i = 1; i <= 9; i++) expect(c.update(1)).toBeCloseTo(0.5 * i, 10);
    expect(c.alarm).toBe(false);
    c.update(1);
    expect(c.alarm).toBe(true);
    for (let i = 0; i < 100; i++) c.update(3);
    expect(c.value()).toBe(10);
    const down = new Cusum(10, 2);
    expect(down.update(5)).toBeCloseTo((10 - 1 - 5) / 2, 10);
  });

  it('Theil–Sen ignores outliers', () => {
    const xs = Array.from({ length: 20 }, (_, i) => i);
    const ys = xs.map((x) => 2 * x + 1);
    ys[5] = 100;
    ys[15] = -50;
    expect(theilSen(xs, ys)).toBeCloseTo(2, 10);
  });
});

/** Confidence-like scores: most near 0.45, a tail to 0.9 (what the default model gives on pedestrians). */
function scores(n: number, rand: () => number, shift = 0): number[] {
  const counts = new Array(20).fill(0);
  for (let i = 0; i < n; i++) {
    const s = Math.min(0.999, Math.max(0.3, 0.3 + shift + 0.6 * rand() ** 2));
    counts[Math.floor(s * 20)]++;
  }
  return counts;
}

describe('calibration: distribution tests on small batches', () => {
  // PSI on small batches fires on noise: with a fixed 0.25 threshold, batches of 30 drawn from the very
  // distribution of the baseline alarm often. The chance level for the sample sizes (nullThreshold) keeps
  // false alarms near alpha while still seeing a real shift.
  const trials = 400;
  const baseline = scores(300, rng(1));
  const bins = baseline.filter((c) => c > 0).length;

  for (const [kind, fixed, dist] of [
    ['psi', 0.25, psi],
    ['js', 0.2, jsDistance],
    ['ks', 0.2, ksStatistic],
  ] as const) {
    it(`${kind}: fixed threshold ${fixed} alarms on noise at n = 30; the calibrated threshold does not, and still sees a shift at n = 60`, () => {
      const rand = rng(2);
      let fixedAlarms = 0, calibratedAlarms = 0, detected = 0;
      const small = nullThreshold(kind, bins, 30, 300, 0.001);
      const larger = nullThreshold(kind, bins, 60, 300, 0.001);
      for (let i = 0; i < trials; i++) {
        const d = dist(baseline, scores(30, rand));
        if (d > fixed) fixedAlarms++;
        if (d > Math.max(fixed, small)) calibratedAlarms++;
        if (dist(baseline, scores(60, rand, 0.15)) > Math.max(fixed, larger)) detected++;
      }
      if (kind === 'psi') expect(fixedAlarms / trials).toBeGreaterThan(0.2); // the known problem
      expect(calibratedAlarms / trials).toBeLessThanOrEqual(0.01);
      expect(detected / trials).toBeGreaterThan(0.95);
    });
  }
});
