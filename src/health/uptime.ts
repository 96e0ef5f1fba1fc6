/** Uptime from the pages' resource samples: how much of one sample's interval, or of many, the pipeline was up. */
import type { ResourceSample } from './types.ts';

/**
 * The share of a sample's interval the pipeline was up: none without results, else all of it but the time
 * it was down (a camera lost and found again, a worker rebuilt, inside one interval).
 */
export function upShare(x: Pick<ResourceSample, 'results' | 'ms' | 'downMs'>): number {
  if (!(x.results > 0)) return 0;
  const ms = x.ms ?? 5000;
  return ms > 0 ? Math.max(0, Math.min(1, 1 - (x.downMs ?? 0) / ms)) : 1;
}

/** Uptime over samples: the up time over their intervals' time (NaN without samples). */
export function uptimeOf(samples: readonly Pick<ResourceSample, 'results' | 'ms' | 'downMs'>[]): number {
  let up = 0;
  let all = 0;
  for (const x of samples) {
    const ms = x.ms ?? 5000;
    all += ms;
    up += upShare(x) * ms;
  }
  return all > 0 ? up / all : samples.length ? 0 : NaN;
}
