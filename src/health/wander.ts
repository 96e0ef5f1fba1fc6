/**
 * A distribution's own wander, as a control chart takes its σ from the baseline's windows rather than from
 * the spread of single frames: how far the baseline's windows lie from the rest of the baseline, and the
 * distance a window reaches by that wander alone.
 *
 * Why: a distribution test on a minute of ~600 latencies against a fixed baseline calls any wander
 * "significant". Inference latency moves with the machine's load (other tabs, other processes on a shared
 * CPU), by a few per cent for minutes at a time; its distribution is narrow and the latency histogram's
 * buckets are 25 % wide, so a few per cent moves a bucket's worth of mass and the KS distance jumps by
 * 0.3–0.5 (the false `latency-shift` alerts of a 44-minute kiosk run, issue #18). The baseline's own windows
 * wander the same way, so their distances from the rest of the baseline say how far "unchanged" reaches.
 */
import type { Hist } from '../telemetry/histogram.ts';
import { ksStatistic } from './stats.ts';

/** Median of the Kolmogorov distribution (√n·D's limit under the null). */
export const KOLMOGOROV_MEDIAN = 0.8276;

/** The Kolmogorov distribution's 1 − α quantile. */
export const kolmogorovQuantile = (alpha: number) => Math.sqrt(-0.5 * Math.log(alpha / 2));

/** Dense counts of two sparse histograms over the union of their buckets, in bucket order. */
function dense(a: Hist, b: Hist): [number[], number[]] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)].map(Number))].sort((x, y) => x - y);
  return [keys.map((k) => a[k] ?? 0), keys.map((k) => b[k] ?? 0)];
}

function add(into: Record<number, number>, from: Hist, sign = 1) {
  for (const [k, n] of Object.entries(from)) into[+k] = (into[+k] ?? 0) + sign * n;
}

/**
 * The KS distance of each run of `k` consecutive windows (histograms, in time order) from all the other
 * windows together, runs starting every `step` windows. Empty where fewer than 2k windows (no "rest" to
 * compare with) or a run or its rest is empty.
 */
export function windowsVsRest(hists: readonly Hist[], k: number, step = Math.max(1, Math.floor(k / 4))): number[] {
  if (k < 1 || hists.length < 2 * k) return [];
  const all: Record<number, number> = {};
  for (const h of hists) add(all, h);
  const out: number[] = [];
  for (let i = 0; i + k <= hists.length; i += step) {
    const run: Record<number, number> = {};
    for (let j = i; j < i + k; j++) add(run, hists[j]!);
    const rest: Record<number, number> = { ...all };
    add(rest, run, -1);
    const [a, b] = dense(run, rest);
    const d = ksStatistic(a, b);
    if (Number.isFinite(d)) out.push(d);
  }
  return out;
}

/** Median of the values (NaN when none). */
export function medianOf(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Past this KS distance a window is shifted whatever the wander: most of its values lie beyond a point that
 * most of the baseline's do not reach. (Latency buckets are 25 % wide, so a real shift of 30 % can read as
 * little more than 0.5; a threshold scaled past 1 would never fire.)
 */
export const WANDER_CAP = 0.5;

/**
 * The KS distance a window reaches through the baseline's own wander with probability `alpha`: the median
 * of the baseline's windows-vs-rest distances (`typical`), scaled as the Kolmogorov distribution scales from
 * its median to its 1 − α quantile (≈ 2.36× at α = 0.001), at most WANDER_CAP. For independent samples this
 * is the chance level for the samples' sizes; with wander it is as much wider as the baseline's windows
 * wander. NaN when `typical` is not known.
 */
export function wanderThreshold(typical: number, alpha: number): number {
  return Number.isFinite(typical) ? Math.min(WANDER_CAP, (typical * kolmogorovQuantile(alpha)) / KOLMOGOROV_MEDIAN) : NaN;
}

/** The key a baseline keeps a metric's typical windows-vs-rest distance under, for windows of `windowMs`. */
export const wanderKey = (metric: string, windowMs: number) => `${metric}@${windowMs}`;
