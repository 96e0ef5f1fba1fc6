/**
 * Device down: the server-side `device-down` alert (critical, camera ''), raised for a source silent for more than
 * 3 sync intervals and resolved by its next batch; which sources are down is alert_state itself.
 */
import type { AlertEvent } from '../../health/types.ts';
import type { Config } from '../config.ts';
import type { FleetDb } from '../db.ts';
import type { AlertContext } from './formats.ts';
import { st } from './statements.ts';

/** The server-side rule of a silent source. */
export const DEVICE_DOWN = { rule: 'device-down', name: 'Device stopped sending', severity: 'critical' } as const;

/** sources raised as down per check (the rest on the next) */
const DOWN_PER_CHECK = 1000;

/** What the check needs of the forwarder: its database and settings, who an alert is about, and queueing an alert state change for every target. */
export interface DownHost {
  readonly db: FleetDb;
  readonly config: Config;
  context(source: string, device?: string): AlertContext;
  enqueue(ctx: AlertContext, a: AlertEvent, now: number, latest: boolean): number;
}

/** The source's firing device-down alert, if any. */
export function downAlert(db: FleetDb, source: string): AlertEvent | null {
  const data = st(db, "SELECT data FROM alert_state WHERE source = ? AND rule = ? AND camera_id = '' AND class_id = -1 AND state = 'firing'").pluck().get(source, DEVICE_DOWN.rule) as string | undefined;
  return data ? (JSON.parse(data) as AlertEvent) : null;
}

/** Resolves a source's firing device-down alert (inside the caller's transaction); returns the rows queued. */
export function resolveDown(fw: DownHost, ctx: AlertContext, firing: AlertEvent, now: number): number {
  const a: AlertEvent = { ...firing, id: `device-down-${now}-resolved`, state: 'resolved', value: Math.round((now - firing.since) / 1000), t: now, since: firing.t };
  const r = fw.db.putAlert(ctx.source, a);
  return r.fresh ? fw.enqueue(ctx, a, now, r.latest) : 0;
}

/**
 * Raises device-down for sources silent for more than 3 intervals (since the later of their last batch and
 * the server's start, `startedAt`) and resolves it for sources seen since (normally their batch already did). Returns
 * the source ids raised and resolved (their rows are queued; waking the lanes is the caller's).
 */
export function checkDevices(fw: DownHost, startedAt: number, now: number): { raised: string[]; resolved: string[] } {
  const limit = 3 * fw.config.intervalMs;
  const cut = now - limit;
  const raised: string[] = [];
  const resolved: string[] = [];
  if (startedAt < cut) {
    const silent = st(fw.db, `
      SELECT s.id, coalesce(s.device_id, s.id) AS device, s.last_seen, s.monitors FROM sources s
      WHERE s.last_seen < ? AND NOT EXISTS (
        SELECT 1 FROM alert_state a WHERE a.source = s.id AND a.rule = ? AND a.camera_id = '' AND a.class_id = -1 AND a.state = 'firing'
      ) ORDER BY s.last_seen LIMIT ?
    `).all(cut, DEVICE_DOWN.rule, DOWN_PER_CHECK) as { id: string; device: string; last_seen: number; monitors: string }[];
    for (const s of silent) {
      let mv = '';
      try {
        mv = (JSON.parse(s.monitors) as { mv?: string }[])[0]?.mv ?? '';
      } catch { /* none */ }
      const a: AlertEvent = {
        id: `device-down-${now}-firing`, rule: DEVICE_DOWN.rule, name: DEVICE_DOWN.name, severity: DEVICE_DOWN.severity, state: 'firing',
        value: Math.round((now - s.last_seen) / 1000), threshold: limit / 1000, mv, camera_id: '', t: now, since: s.last_seen,
      };
      fw.db.db.transaction(() => {
        const r = fw.db.putAlert(s.id, a);
        if (r.fresh) fw.enqueue(fw.context(s.id, s.device), a, now, r.latest);
      })();
      raised.push(s.id);
    }
  }
  const back = st(fw.db, `
    SELECT a.source, a.data, coalesce(s.device_id, s.id) AS device FROM alert_state a JOIN sources s ON s.id = a.source
    WHERE a.rule = ? AND a.camera_id = '' AND a.class_id = -1 AND a.state = 'firing' AND s.last_seen >= ?
  `).all(DEVICE_DOWN.rule, cut) as { source: string; data: string; device: string }[];
  for (const b of back) {
    fw.db.db.transaction(() => resolveDown(fw, fw.context(b.source, b.device), JSON.parse(b.data) as AlertEvent, now))();
    resolved.push(b.source);
  }
  return { raised, resolved };
}
