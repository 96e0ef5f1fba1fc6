/**
 * The statistics behind drift detection: distribution distances (PSI, Jensen–Shannon), a two-sample
 * Kolmogorov–Smirnov test on binned data, their null thresholds for a sample size, EWMA and CUSUM
 * control charts, and a robust slope. Pure functions over plain numbers.
 */

/** Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) return p <= 0 ? -Infinity : Infinity;
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5, r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** Chi-square quantile (Wilson–Hilferty; within ~1 % for df ≥ 3 at the tails used here). */
export function chiSquareQuantile(p: number, df: number): number {
  if (df <= 0) return 0;
  const z = normalQuantile(p);
  const k = 2 / (9 * df);
  return df * Math.max(0, 1 - k + z * Math.sqrt(k)) ** 3;
}

/** Counts → proportions; with `pseudo` > 0, additive (Jeffreys) smoothing, so empty bins keep logarithms finite. */
function proportions(counts: readonly number[], pseudo: number): number[] {
  const n = counts.reduce((a, b) => a + b, 0) + pseudo * counts.length;
  if (!n) return counts.map(() => 1 / counts.length);
  return counts.map((c) => (c + pseudo) / n);
}

/**
 * Population stability index between a baseline (`expected`) and a current (`actual`) binned distribution,
 * over the bins either occupies, with half a count added to each (a bare floor on empty bins would make
 * every bin a small batch misses cost ~0.1 on its own).
 */
export function psi(expected: readonly number[], actual: readonly number[], pseudo = 0.5): number {
  const keep = expected.map((e, i) => e + (actual[i] ?? 0) > 0);
  const e = proportions(expected.filter((_, i) => keep[i]), pseudo), a = proportions(actual.filter((_, i) => keep[i]), pseudo);
  let s = 0;
  for (let i = 0; i < e.length; i++) s += (a[i]! - e[i]!) * Math.log(a[i]! / e[i]!);
  return s;
}

/** Jensen–Shannon distance (square root of the divergence, base 2): 0 identical, 1 disjoint. */
export function jsDistance(p: readonly number[], q: readonly number[]): number {
  const P = proportions(p, 0), Q = proportions(q, 0);
  let d = 0;
  for (let i = 0; i < P.length; i++) {
    const m = (P[i]! + Q[i]!) / 2;
    if (P[i]! > 0) d += 0.5 * P[i]! * Math.log2(P[i]! / m);
    if (Q[i]! > 0) d += 0.5 * Q[i]! * Math.log2(Q[i]! / m);
  }
  return Math.sqrt(Math.max(0, d));
}

/** Two-sample Kolmogorov–Smirnov statistic on two histograms over the same ordered bins: max |CDF₁ − CDF₂|. */
export function ksStatistic(a: readonly number[], b: readonly number[]): number {
  const na = a.reduce((x, y) => x + y, 0), nb = b.reduce((x, y) => x + y, 0);
  if (!na || !nb) return NaN;
  let ca = 0, cb = 0, d = 0;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    ca += a[i] ?? 0;
    cb += b[i] ?? 0;
    d = Math.max(d, Math.abs(ca / na - cb / nb));
  }
  return d;
}

/** P-value of a two-sample KS statistic for sample sizes n and m (asymptotic Kolmogorov distribution). */
export function ksPValue(d: number, n: number, m: number): number {
  const ne = (n * m) / (n + m);
  const sq = Math.sqrt(ne);
  const lambda = (sq + 0.12 + 0.11 / sq) * d;
  if (lambda < 0.2) return 1;
  let s = 0;
  for (let k = 1; k <= 100; k++) {
    const term = 2 * (k % 2 ? 1 : -1) * Math.exp(-2 * k * k * lambda * lambda);
    s += term;
    if (Math.abs(term) < 1e-12) break;
  }
  return Math.min(1, Math.max(0, s));
}

/**
 * The value a distance reaches by chance alone with probability `alpha`, when both samples come from the
 * same distribution over `bins` occupied bins and have n and m independent observations. From the
 * chi-square approximation (for small differences PSI ≈ χ²·(1/n + 1/m) and JS divergence ≈ χ²·(1/n + 1/m)/8
 * in nats); for KS, the Kolmogorov critical value. This is why a fixed PSI threshold alarms on small
 * batches: its chance level grows as 1/n.
 */
export function nullThreshold(kind: 'psi' | 'js' | 'ks', bins: number, n: number, m: number, alpha: number): number {
  if (!(n > 0 && m > 0)) return Infinity;
  const inv = 1 / n + 1 / m;
  if (kind === 'ks') return Math.sqrt(-0.5 * Math.log(alpha / 2)) * Math.sqrt(inv);
  const chi = chiSquareQuantile(1 - alpha, Math.max(1, bins - 1));
  return kind === 'psi' ? chi * inv : Math.sqrt((chi * inv) / (8 * Math.LN2));
}

/**
 * EWMA control chart on a sequence of window means: z = λx + (1 − λ)z, alarm when z leaves
 * μ0 ± L·σ·√(λ/(2 − λ)·(1 − (1 − λ)^2t)). `update` returns |z − μ0| in units of the current limit's σ, so
 * the chart alarms when it is ≥ L.
 */
export class Ewma {
  z: number;
  t = 0;
  constructor(
    readonly mu0: number,
    readonly sigma: number,
    readonly lambda = 0.2,
    readonly L = 3,
  ) {
    this.z = mu0;
  }
  update(x: number): number {
    this.t++;
    this.z = this.lambda * x + (1 - this.lambda) * this.z;
    return this.value();
  }
  value(): number {
    if (!this.t) return 0;
    const s = this.sigma * Math.sqrt((this.lambda / (2 - this.lambda)) * (1 - (1 - this.lambda) ** (2 * this.t)));
    return Math.abs(this.z - this.mu0) / s;
  }
  get alarm() {
    return this.value() >= this.L;
  }
}

/**
 * Two-sided tabular CUSUM with allowance k = 0.5σ and decision interval h = 5σ (by default):
 * S⁺ = max(0, S⁺ + x − μ0 − k), S⁻ = max(0, S⁻ + μ0 − k − x). `update` returns max(S⁺, S⁻)/σ (alarm at ≥ h/σ).
 * The sums are capped at 2h, so a chart that alarmed comes back within a bounded time once the shift ends.
 */
export class Cusum {
  hi = 0;
  lo = 0;
  constructor(
    readonly mu0: number,
    readonly sigma: number,
    readonly k = 0.5,
    readonly h = 5,
  ) {}
  update(x: number): number {
    const k = this.k * this.sigma, cap = 2 * this.h * this.sigma;
    this.hi = Math.min(cap, Math.max(0, this.hi + x - this.mu0 - k));
    this.lo = Math.min(cap, Math.max(0, this.lo + this.mu0 - k - x));
    return this.value();
  }
  value(): number {
    return Math.max(this.hi, this.lo) / this.sigma;
  }
  get alarm() {
    return this.value() >= this.h;
  }
}

/** Theil–Sen slope (median of pairwise slopes): a trend that ignores outliers such as GC drops. */
export function theilSen(xs: readonly number[], ys: readonly number[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < xs.length; i++)
    for (let j = i + 1; j < xs.length; j++) if (xs[j] !== xs[i]) slopes.push((ys[j]! - ys[i]!) / (xs[j]! - xs[i]!));
  if (!slopes.length) return NaN;
  slopes.sort((a, b) => a - b);
  const m = slopes.length >> 1;
  return slopes.length % 2 ? slopes[m]! : (slopes[m - 1]! + slopes[m]!) / 2;
}

export function meanStd(xs: readonly number[]): { mean: number; std: number } {
  const v = xs.filter(Number.isFinite);
  if (!v.length) return { mean: NaN, std: NaN };
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
  return { mean, std };
}

/**
 * The p-quantile of a Poisson distribution with mean `mean`: the smallest count whose cumulative probability
 * is ≥ p (exact sums up to a mean of 200, a continuity-corrected normal approximation past it).
 */
export function poissonQuantile(mean: number, p: number): number {
  if (!(mean > 0)) return 0;
  if (mean > 200) return Math.max(0, Math.ceil(mean + normalQuantile(p) * Math.sqrt(mean) - 0.5));
  let term = Math.exp(-mean), cdf = term, k = 0;
  while (cdf < p && k < 10_000) {
    k++;
    term *= mean / k;
    cdf += term;
  }
  return k;
}

/**
 * The lowest and highest rate over any `k` consecutive windows, as ratios to the rate over all of them: `num[i]`
 * events in `den[i]` opportunities per window (detections in frames, flicker events in boxes tracked). 1 and 1
 * where there are fewer than `k` windows or no events.
 */
export function stretchExtremes(den: readonly number[], num: readonly number[], k: number): { lo: number; hi: number } {
  if (den.length < k || k < 1) return { lo: 1, hi: 1 };
  const mu = num.reduce((a, x) => a + x, 0) / den.reduce((a, x) => a + x, 0);
  let lo = 1, hi = 1, f = 0, d = 0;
  for (let i = 0; i < den.length; i++) {
    f += den[i]!;
    d += num[i] ?? 0;
    if (i >= k) {
      f -= den[i - k]!;
      d -= num[i - k] ?? 0;
    }
    if (i >= k - 1 && f > 0 && mu > 0) {
      lo = Math.min(lo, d / f / mu);
      hi = Math.max(hi, d / f / mu);
    }
  }
  return { lo, hi };
}
