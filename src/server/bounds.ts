/** What one source's batch may make the server keep: alerts per batch and firing at once, series all time, times no later than now plus a skew; over that, items are dropped and counted. */
import type { Batch } from '../sync/payload.ts';
import { ConfigError } from './config.ts';

const MINUTE = 60_000;
const DAY = 24 * 3600_000;

/** The bounds (FleetDb.limits; main.ts sets them from the environment). */
export interface Limits {
  /** FLEET_MAX_ALERTS_PER_BATCH: alert state changes kept from one batch (the rest dropped, counted) */
  alertsPerBatch: number;
  /** FLEET_MAX_FIRING_PER_SOURCE: alerts one source may have firing at once (a new firing past it is dropped, counted; resolves always pass) */
  firingPerSource: number;
  /** FLEET_MAX_CLOCK_SKEW_MS: how far past the server's clock a rollup, alert or flagged frame may be dated (later ones are dropped, counted) */
  clockSkewMs: number;
  /** FLEET_FORWARD_QUEUE_MAX: deliveries queued per target; past it the oldest are dropped (counted per target) */
  forwardQueueMax: number;
  /** FLEET_FORWARD_MAX_AGE_MS: a delivery that fails when older than this is dead-lettered, whatever its attempts */
  forwardMaxAgeMs: number;
  /** FLEET_MAX_SERIES_PER_SOURCE: distinct (model version, tag key) series one source may have (its all-time rows, each kept while the source sends it: seriesIdleMs); a rollup of a new series past it is dropped, counted */
  seriesPerSource: number;
  /** FLEET_MAX_VERDICTS_PER_SOURCE: people's verdicts one source may have kept (verdicts.ts); a verdict on a new frame past it is dropped, counted; changes to kept ones pass */
  verdictsPerSource: number;
  /** FLEET_SERIES_RETENTION_DAYS (in ms here; 30 days): a series its source has not sent for this long is forgotten (its all-time row: its Prometheus counters end) and no longer counts against seriesPerSource */
  seriesIdleMs: number;
  /** FLEET_SOURCE_RETENTION_DAYS (in ms here; 400 days: longer than any row is kept, so all-time rows outlive the rows they sum): a source silent this long is forgotten: its all-time rows, alert states, baselines, batch rows and its row */
  sourceIdleMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  alertsPerBatch: 100,
  firingPerSource: 100,
  seriesPerSource: 500,
  verdictsPerSource: 100_000,
  clockSkewMs: 10 * MINUTE,
  forwardQueueMax: 10_000,
  forwardMaxAgeMs: 15 * MINUTE,
  seriesIdleMs: 30 * DAY,
  sourceIdleMs: 400 * DAY,
};

/** The limits from the environment (unset: the default; not an integer in range: a ConfigError naming the variable). */
export function limitsFrom(env: Record<string, string | undefined>): Limits {
  const int = (key: string, d: number, max: number, scale = 1) => {
    const raw = env[key];
    if (raw === undefined || raw.trim() === '') return d * scale;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new ConfigError(`${key}: expected an integer from 1 to ${max}, got ${JSON.stringify(raw)}`);
    return n * scale;
  };
  const d = DEFAULT_LIMITS;
  return {
    alertsPerBatch: int('FLEET_MAX_ALERTS_PER_BATCH', d.alertsPerBatch, 1_000_000),
    firingPerSource: int('FLEET_MAX_FIRING_PER_SOURCE', d.firingPerSource, 1_000_000),
    seriesPerSource: int('FLEET_MAX_SERIES_PER_SOURCE', d.seriesPerSource, 1_000_000),
    verdictsPerSource: int('FLEET_MAX_VERDICTS_PER_SOURCE', d.verdictsPerSource, 100_000_000),
    clockSkewMs: int('FLEET_MAX_CLOCK_SKEW_MS', d.clockSkewMs, 365 * DAY),
    forwardQueueMax: int('FLEET_FORWARD_QUEUE_MAX', d.forwardQueueMax, 100_000_000),
    forwardMaxAgeMs: int('FLEET_FORWARD_MAX_AGE_MS', d.forwardMaxAgeMs, 30 * DAY),
    seriesIdleMs: int('FLEET_SERIES_RETENTION_DAYS', d.seriesIdleMs / DAY, 100 * 365, DAY),
    sourceIdleMs: int('FLEET_SOURCE_RETENTION_DAYS', d.sourceIdleMs / DAY, 100 * 365, DAY),
  };
}

/** Why items were dropped at ingest (the `reason` label of fleet_items_dropped_total). */
export type DropReason = 'future_rollup' | 'future_alert' | 'future_flagged' | 'alerts_per_batch' | 'firing_per_source' | 'series_per_source' | 'future_verdict' | 'verdicts_per_source' | 'future_challenger';

/** Counts of dropped items by reason (process totals). */
export type DropCounts = Partial<Record<DropReason, number>>;

/**
 * The batch as the server keeps it: rollups, alerts and flagged frames dated past `now + clockSkewMs` left out,
 * then at most `alertsPerBatch` alerts; `count` gets each drop. Returns `b` itself when nothing is left out.
 */
export function screenBatch(b: Batch, now: number, limits: Limits, count: (r: DropReason, n: number) => void): Batch {
  const latest = now + limits.clockSkewMs;
  const rollups = b.rollups.filter((r) => r.start <= latest);
  let alerts = b.alerts.filter((a) => a.t <= latest && a.since <= latest);
  const flagged = b.flagged.filter((f) => f.t <= latest);
  count('future_rollup', b.rollups.length - rollups.length);
  count('future_alert', b.alerts.length - alerts.length);
  count('future_flagged', b.flagged.length - flagged.length);
  if (alerts.length > limits.alertsPerBatch) {
    count('alerts_per_batch', alerts.length - limits.alertsPerBatch);
    alerts = alerts.slice(0, limits.alertsPerBatch);
  }
  if (rollups.length === b.rollups.length && alerts.length === b.alerts.length && flagged.length === b.flagged.length) return b;
  return { ...b, rollups, alerts, flagged };
}
