/**
 * The heap's trend for the memory-staircase rule: a leak is a floor that keeps rising, not a sawtooth and
 * not a warm-up.
 *
 * A page's heap samples are noisy three ways: `performance.memory` rises between collections and drops at
 * each (a GC sawtooth, MBs tall); the first minutes fill caches, compile code, grow onnxruntime's WASM memory
 * and capture the baseline, then level off; and samples are quantised. A Theil–Sen slope over the raw
 * samples of 10 minutes reads a sawtooth's rising edge or the tail of a warm-up as growth (issue #18: a
 * 1.86 MB/min "staircase" 16 minutes into a kiosk run whose heap did not grow). So:
 *   - the lower envelope: the window is cut into 4 bins (2.5 minutes of a 10-minute window: longer than the gaps between major GCs) and each keeps its
 *     smallest sample (the heap just after a collection — what is still alive);
 *   - the slope is the Theil–Sen slope of those minima, and it must hold over the window's second half too
 *     (the smaller of the two is the value): a leak grows steadily, a warm-up's growth is over by then;
 *   - the engine leaves out the samples of a run's first baseline-length (the warm-up: see HealthEngine).
 */
import { theilSen } from './stats.ts';

/** A heap sample: epoch ms and MB. */
export interface HeapPoint {
  t: number;
  mb: number;
}

/** The lower envelope: per bin of `binMs`, its smallest sample (with that sample's time). */
export function lowerEnvelope(xs: readonly HeapPoint[], binMs: number): HeapPoint[] {
  const bins = new Map<number, HeapPoint>();
  for (const x of xs) {
    if (!Number.isFinite(x.mb)) continue;
    const b = Math.floor(x.t / binMs);
    const m = bins.get(b);
    if (m === undefined || x.mb < m.mb) bins.set(b, x);
  }
  return [...bins].sort((a, b) => a[0] - b[0]).map(([, x]) => ({ t: x.t, mb: x.mb }));
}

/**
 * The heap's growth (MB per minute) over a window of `windowMs` ending at `now`: the Theil–Sen slope of the
 * lower envelope (bins of a quarter of the window), over the whole window and over its second half, whichever
 * is smaller. NaN until samples cover half the window, or with fewer than 3 bins.
 */
export function heapGrowth(xs: readonly HeapPoint[], windowMs: number, now: number): number {
  const inWindow = xs.filter((x) => x.t > now - windowMs && x.t <= now);
  if (inWindow.length < 5 || inWindow.at(-1)!.t - inWindow[0]!.t < windowMs / 2) return NaN;
  const env = lowerEnvelope(inWindow, windowMs / 4);
  if (env.length < 3) return NaN;
  const slope = (e: HeapPoint[]) => theilSen(e.map((x) => x.t / 60_000), e.map((x) => x.mb));
  const late = env.filter((x) => x.t >= now - windowMs / 2);
  const all = slope(env);
  return late.length >= 2 ? Math.min(all, slope(late)) : all;
}
