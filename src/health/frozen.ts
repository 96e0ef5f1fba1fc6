/**
 * A frozen feed: the camera keeps delivering frames but the picture no longer changes (a hung encoder, a
 * stuck driver, a paused stream behind a proxy repeating its last frame). Such frames are byte-identical,
 * so their statistics are too; a live camera's are not, even on a still scene, because the sensor's noise
 * moves the luma statistics (sharpness, the variance of the Laplacian, most of all) from frame to frame.
 *
 * Per stream, each frame's picture — its 16×16 scene signature and its luma statistics as recorded — is
 * compared with the same monitor's frame before: the `changed` metric is the share of frames whose picture differs at
 * all. Its `ratio` is that share over the rule's window against the baseline's own share, so a scene that
 * was just as unchanging in the baseline (a camera that repeats frames, a synthetic or heavily denoised
 * feed) does not alarm: when the baseline changed too rarely for a window below the threshold to be
 * unlikely (fewer than threshold·p·n changed of the window's n frames, at the baseline's share p, has a
 * chance of α or more), there is no value. Pure logic over plain data: the health engine runs it in the
 * browser and on a server.
 */
import type { FrameRecord } from '../telemetry/record.ts';

/** The statistics a picture is compared by (the scene distance `sc` is derived, so it is left out). */
const KEYS = ['br', 'co', 'sa', 'sh'] as const;

/** What the engine remembers of a frame's picture: its scene signature and luma statistics. */
export interface Picture {
  thumb: Uint8Array;
  stats: number[];
}

/** Frame pairs seen (a frame and the one before, both with image statistics) and how many of them differed. */
export interface ChangeCounts {
  pairs: number;
  changed: number;
}

/** A record's picture, or undefined when it carries no image statistics (a failed frame, a recorder without frames). */
export function pictureOf(rec: Pick<FrameRecord, 'i' | 'th'>): Picture | undefined {
  if (!rec.th || !rec.i) return undefined;
  return { thumb: rec.th, stats: KEYS.map((k) => rec.i![k] ?? NaN) };
}

/** Whether two pictures differ at all (a frozen feed repeats one exactly). */
export function pictureChanged(a: Picture, b: Picture): boolean {
  if (a.thumb.length !== b.thumb.length) return true;
  for (let i = 0; i < a.stats.length; i++) if (!Object.is(a.stats[i], b.stats[i])) return true;
  for (let i = 0; i < a.thumb.length; i++) if (a.thumb[i] !== b.thumb[i]) return true;
  return false;
}

/** Adds `from`'s counts into `into` (created when absent); returns it. */
export function addChanges(into: ChangeCounts | undefined, from: ChangeCounts | undefined): ChangeCounts | undefined {
  if (!from) return into;
  into ??= { pairs: 0, changed: 0 };
  into.pairs += from.pairs;
  into.changed += from.changed;
  return into;
}

/** Share of frames whose picture differed from the one before (NaN without pairs). */
export const changedShare = (c: ChangeCounts | undefined) => (c?.pairs ? c.changed / c.pairs : NaN);

/** P(X < k) for X ~ Binomial(n, p): the chance of fewer than k successes. */
export function binomialBelow(k: number, n: number, p: number): number {
  if (k <= 0) return 0;
  if (k > n) return 1;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  // term j: C(n, j) pʲ (1 − p)ⁿ⁻ʲ, from j = 0 up, in logs (n can be hundreds)
  let log = n * Math.log1p(-p), sum = 0;
  const r = Math.log(p) - Math.log1p(-p);
  for (let j = 0; j < k; j++) {
    sum += Math.exp(log);
    log += Math.log(n - j) - Math.log(j + 1) + r;
  }
  return Math.min(1, sum);
}

/**
 * The `changed` metric's value over a window: `mean` is the window's share of changed frames; `ratio` is
 * that share ÷ the baseline's — NaN without a baseline share, or where the baseline changed too rarely for
 * a ratio below `threshold` to be unlikely by chance in a window of this many frames (P(fewer than
 * threshold·p·n changed) ≥ α at the baseline's share p).
 */
export function changedValue(win: ChangeCounts | undefined, baseline: ChangeCounts | undefined, aggregation: string, alpha: number, threshold: number): number {
  const share = changedShare(win);
  if (aggregation === 'mean') return share;
  if (aggregation !== 'ratio') return NaN;
  const p = changedShare(baseline);
  if (!(p > 0) || !Number.isFinite(share)) return NaN;
  const n = win!.pairs;
  if (binomialBelow(Math.ceil(threshold * p * n), n, p) >= alpha) return NaN;
  return share / p;
}
