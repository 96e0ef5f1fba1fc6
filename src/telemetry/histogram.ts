/**
 * Fixed-bucket histograms, so that histograms from any frames, tabs or hours merge by addition and
 * percentiles come from merged counts. Latency: log-spaced buckets; confidence: 20 linear bins on [0, 1].
 */

/** Upper bounds (ms) of the latency buckets: 0.1 ms × 1.25^k up to ~2 min; a last bucket takes the rest. */
export const LATENCY_BOUNDS: readonly number[] = (() => {
  const b: number[] = [];
  for (let v = 0.1; v < 120_000; v *= 1.25) b.push(+v.toPrecision(6));
  return b;
})();
export const LATENCY_BUCKETS = LATENCY_BOUNDS.length + 1;
export const CONFIDENCE_BINS = 20;

/** Bucket index of a latency in ms. */
export function latencyBucket(ms: number): number {
  if (!(ms > LATENCY_BOUNDS[0]!)) return 0;
  // log-spaced: direct index, then correct for rounding of the stored bounds
  let i = Math.ceil(Math.log(ms / 0.1) / Math.log(1.25));
  i = Math.min(Math.max(i, 0), LATENCY_BOUNDS.length);
  while (i > 0 && ms <= LATENCY_BOUNDS[i - 1]!) i--;
  while (i < LATENCY_BOUNDS.length && ms > LATENCY_BOUNDS[i]!) i++;
  return i;
}

export const confidenceBin = (score: number) => Math.min(CONFIDENCE_BINS - 1, Math.max(0, Math.floor(score * CONFIDENCE_BINS)));

/** A sparse histogram: bucket index → count (sparse keeps rollups small; most buckets are empty). */
export type Hist = Record<number, number>;

export function addTo(h: Hist, bucket: number, n = 1): void {
  h[bucket] = (h[bucket] ?? 0) + n;
}

export function merge(into: Hist, from: Hist): Hist {
  for (const k in from) into[k as unknown as number] = (into[k as unknown as number] ?? 0) + from[k]!;
  return into;
}

export function total(h: Hist): number {
  let n = 0;
  for (const k in h) n += h[k]!;
  return n;
}

/**
 * The q-quantile (0..1) of a latency histogram, interpolated log-linearly inside the bucket that holds it.
 * Error is bounded by the bucket width (±12.5 %).
 */
export function latencyQuantile(h: Hist, q: number): number {
  const n = total(h);
  if (!n) return NaN;
  const rank = q * n;
  let seen = 0;
  // bucket indices are integer keys: the language enumerates them in ascending order
  for (const key in h) {
    const k = +key;
    const c = h[k]!;
    if (seen + c >= rank) {
      const lo = k === 0 ? LATENCY_BOUNDS[0]! / 1.25 : LATENCY_BOUNDS[k - 1]!;
      const hi = LATENCY_BOUNDS[k] ?? lo * 1.25;
      const f = c ? Math.min(1, Math.max(0, (rank - seen) / c)) : 0.5;
      return lo * (hi / lo) ** f;
    }
    seen += c;
  }
  return LATENCY_BOUNDS.at(-1)!;
}

/** The q-quantile of a confidence histogram, interpolated linearly inside its bin. */
export function confidenceQuantile(h: Hist, q: number): number {
  const n = total(h);
  if (!n) return NaN;
  const rank = q * n;
  let seen = 0;
  for (let k = 0; k < CONFIDENCE_BINS; k++) {
    const c = h[k] ?? 0;
    if (c && seen + c >= rank) return (k + Math.min(1, Math.max(0, (rank - seen) / c))) / CONFIDENCE_BINS;
    seen += c;
  }
  return 1;
}

/** Mean of a latency histogram, taking each bucket at its geometric middle. */
export function latencyMean(h: Hist): number {
  let n = 0, sum = 0;
  for (const key in h) {
    const k = +key;
    const hi = LATENCY_BOUNDS[k] ?? LATENCY_BOUNDS.at(-1)! * 1.25;
    const lo = k === 0 ? hi / 1.25 : LATENCY_BOUNDS[k - 1]!;
    n += h[k]!;
    sum += h[k]! * Math.sqrt(lo * hi);
  }
  return n ? sum / n : NaN;
}
