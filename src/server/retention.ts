/** Retention beyond rows' age (FleetDb.retention calls it): rows dated past the clock skew, resolved alert states, old queued deliveries, and every trace of a source that stopped sending. */
import type Database from 'better-sqlite3';
import type { Limits } from './bounds.ts';

const DAY = 24 * 3600_000;
/** resolved alert states, and queued deliveries whatever their state, are kept this long */
const STATE_MS = 30 * DAY;

/**
 * Deletes (inside the caller's transaction), as of `now`: rows dated after now + limits.clockSkewMs (stored by a
 * server that did not refuse them: retention by age would never reach them); resolved alert states older than 30
 * days; queued deliveries created more than 30 days ago (pending ones too: a target no longer configured); the
 * all-time rows of series not sent for limits.seriesIdleMs; and for
 * each source silent for limits.sourceIdleMs, its all-time rows, alert states, baselines, batch rows and its row.
 * Returns the rows deleted per kind.
 */
export function pruneIdle(db: Database.Database, now: number, limits: Limits): Record<string, number> {
  const future = now + limits.clockSkewMs;
  const idleCut = now - limits.sourceIdleMs;
  const run = (sql: string, ...args: unknown[]) => db.prepare(sql).run(...args).changes;
  const idle = `(SELECT id FROM sources WHERE last_seen < ${Math.floor(idleCut)})`;
  const out = {
    futureRows:
      run('DELETE FROM rollups WHERE start > ?', future) +
      run('DELETE FROM alerts WHERE t > ?', future) +
      run('DELETE FROM alert_state WHERE t > ?', future) +
      run('DELETE FROM flagged WHERE t > ?', future) +
      run('DELETE FROM annotations WHERE t > ?', future),
    alertStates: run("DELETE FROM alert_state WHERE state = 'resolved' AND t < ?", now - STATE_MS),
    queued: run('DELETE FROM outgoing WHERE created_at < ?', now - STATE_MS),
    // a series its source stopped sending: its all-time row goes (its counters end), and with it its place under limits.seriesPerSource
    idleSeries: run('DELETE FROM cumulative WHERE updated_at < ?', now - limits.seriesIdleMs),
    idleSources: 0,
  };
  const n = db.prepare(`SELECT count(*) FROM ${idle}`).pluck().get() as number;
  if (n) {
    for (const t of ['cumulative', 'alert_state', 'baselines', 'batches']) run(`DELETE FROM ${t} WHERE source IN ${idle}`);
    out.idleSources = run(`DELETE FROM sources WHERE id IN ${idle}`);
  }
  return out;
}
