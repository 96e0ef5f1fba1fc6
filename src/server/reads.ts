/**
 * What one read may cost the fleet server: every GET on /v1/* and /metrics takes from a rate per token (per client
 * address for /metrics) weighted by the stored rows it loads, and /v1/dimensions lists at most a bounded number
 * of values per dimension, saying when it cut. docs/operations.md ("What one token can cost") lists them.
 */
import type { Context, Next } from 'hono';
import { dimensionsOf } from '../store/queries.ts';
import { ApiError } from './errors.ts';
import { RateLimiter } from './limits.ts';

/** What a read costs in rate-limit units: 1, plus 1 per 1,000 stored rows it loads (a rollup row is read, parsed and merged: tens of µs each). */
export const READ_COST = { rowsPerUnit: 1000 } as const;
export const readCost = (rows: number) => 1 + rows / READ_COST.rowsPerUnit;

/** The most values /v1/dimensions lists per dimension (model versions, cameras, locations, conditions, sources), the first in sort order. */
export const MAX_DIMENSION_VALUES = 1000;
/** The most distinct (model version, tag key, source) rows one /v1/dimensions read loads. */
export const MAX_DIMENSION_ROWS = 100_000;

/** /v1/dimensions' answer: each list sorted and at most MAX_DIMENSION_VALUES long; `truncated` when a list was cut or more rows than MAX_DIMENSION_ROWS matched. */
export function cappedDimensions(rows: { mv: string; g: string; source: string }[], moreRows: boolean) {
  const d = dimensionsOf(rows);
  const lists = { ...d, source: [...new Set(rows.map((r) => r.source))].sort() };
  let truncated = moreRows;
  for (const k of ['mv', 'camera_id', 'location', 'condition', 'source'] as const)
    if (lists[k].length > MAX_DIMENSION_VALUES) {
      lists[k] = lists[k].slice(0, MAX_DIMENSION_VALUES);
      truncated = true;
    }
  return { ...lists, truncated };
}

/**
 * The read rate: a token bucket per key (limits.ts RateLimiter: `rate` units a minute, bursts of rate / 6). A read
 * needs one unit to start (else 429 with Retry-After); the rows its handler noted (`rows`) are charged once it has
 * answered, and the answer carries its cost in `X-Read-Cost`.
 */
export class ReadMeter {
  private readonly limiter: RateLimiter;
  private readonly loaded = new WeakMap<Context, number>();
  constructor(readonly rate: number) {
    this.limiter = new RateLimiter(rate);
  }

  /** Notes that the read of `c` loaded `n` stored rows. */
  rows(c: Context, n: number): void {
    this.loaded.set(c, (this.loaded.get(c) ?? 0) + n);
  }

  /** Runs a read under `key`'s bucket (a middleware's body). */
  async run(c: Context, key: string, next: Next): Promise<void> {
    const wait = this.limiter.take(key);
    if (wait) throw new ApiError(429, `read rate limit: ${this.rate} cost units per minute (a read costs 1 + 1 per ${READ_COST.rowsPerUnit} stored rows it loads)`, { 'Retry-After': String(wait) });
    try {
      await next();
    } finally {
      const cost = readCost(this.loaded.get(c) ?? 0);
      this.limiter.charge(key, cost - 1);
      c.res.headers.set('X-Read-Cost', cost.toFixed(2));
    }
  }
}
