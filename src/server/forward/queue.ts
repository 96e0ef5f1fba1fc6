/**
 * The durable `outgoing` queue in the fleet database: rows queued per target, each target's head, how a delivery
 * settles (deleted, retried after a back-off, or dead-lettered), and the totals /v1/forwarding shows.
 */
import type { AlertEvent } from '../../health/types.ts';
import type { Config, ForwardConfig } from '../config.ts';
import type { FleetDb } from '../db.ts';
import { type AlertmanagerAlert, alertmanagerAlert } from './formats.ts';
import { st } from './statements.ts';
import { type TargetName, targetsOf } from './targets.ts';

const RETRY_AFTER_MAX_MS = 3600_000;

export type Log = Pick<Console, 'log' | 'error'>;

/** A queued delivery. */
export interface Row {
  id: number;
  idem: string;
  body: string;
  attempts: number;
  next_at: number;
  created_at?: number;
}

/** How one POST went. */
export interface Sent {
  ok: boolean;
  error?: string;
  permanent?: boolean;
  retryAfterMs?: number;
  /** cut short by stop(): not an attempt */
  aborted?: boolean;
}

/** The back-off before attempt `attempts + 1` (ms): base · 2^(attempts − 1), at most max, with jitter (half to all of it). */
export function backoff(attempts: number, base: number, max: number, random = Math.random()): number {
  const d = Math.min(max, base * 2 ** Math.min(Math.max(0, attempts - 1), 40));
  return Math.round(d / 2 + (random * d) / 2);
}

/** The key of an alert in alert_state (and of its queued rows). */
export const alertKey = (source: string, a: Pick<AlertEvent, 'rule' | 'camera_id' | 'classId'>) => JSON.stringify([source, a.rule, a.camera_id, a.classId ?? -1]);

/** Queues one delivery: `body`, the exact JSON to POST, due at once (inside the caller's transaction). */
export function queueRow(db: FleetDb, target: TargetName, key: string, idem: string, body: string, now: number): void {
  st(db, 'INSERT INTO outgoing (target, alert_key, idem, body, attempts, next_at, created_at) VALUES (?, ?, ?, ?, 0, ?, ?)').run(target, key, idem, body, now, now);
}

/**
 * Keeps at most `max` pending rows of a target (inside the caller's transaction): the oldest past that are deleted
 * unsent and counted in forward_totals.dropped. Returns how many were dropped.
 */
export function trimQueue(db: FleetDb, t: TargetName, max: number): number {
  const pending = st(db, "SELECT count(*) FROM outgoing WHERE target = ? AND state = 'pending'").pluck().get(t) as number;
  if (pending <= max) return 0;
  const n = st(db, "DELETE FROM outgoing WHERE id IN (SELECT id FROM outgoing WHERE target = ? AND state = 'pending' ORDER BY id LIMIT ?)").run(t, pending - max).changes;
  st(db, 'INSERT INTO forward_totals (target, dropped) VALUES (?, ?) ON CONFLICT (target) DO UPDATE SET dropped = dropped + excluded.dropped').run(t, n);
  return n;
}

/** One target's state as /v1/forwarding shows it. */
export interface TargetStatus {
  name: TargetName;
  url: string;
  /** rows waiting for delivery */
  pending: number;
  /** deliveries answered 2xx, all time */
  delivered: number;
  /** rows dead-lettered, all time */
  deadLetters: number;
  /** rows dropped unsent because the target's queue was full (FLEET_FORWARD_QUEUE_MAX, oldest first), all time */
  dropped: number;
  lastError?: string;
  /** epoch ms */
  lastErrorAt?: number;
  /** epoch ms */
  lastDeliveredAt?: number;
}

/** Every configured target's queue and totals (from the database: the same across restarts). */
export function forwardingStatus(db: FleetDb, config: Config): { targets: TargetStatus[] } {
  return {
    targets: targetsOf(config.forward).map((t) => {
      const tot = st(db, 'SELECT delivered, dead, dropped, last_error, last_error_at, last_delivered_at FROM forward_totals WHERE target = ?').get(t.name) as
        | { delivered: number; dead: number; dropped: number; last_error: string | null; last_error_at: number | null; last_delivered_at: number | null }
        | undefined;
      const pending = st(db, "SELECT count(*) FROM outgoing WHERE target = ? AND state = 'pending'").pluck().get(t.name) as number;
      return {
        name: t.name,
        url: t.shown,
        pending,
        delivered: tot?.delivered ?? 0,
        deadLetters: tot?.dead ?? 0,
        dropped: tot?.dropped ?? 0,
        ...(tot?.last_error ? { lastError: tot.last_error } : {}),
        ...(tot?.last_error_at ? { lastErrorAt: tot.last_error_at } : {}),
        ...(tot?.last_delivered_at ? { lastDeliveredAt: tot.last_delivered_at } : {}),
      };
    }),
  };
}

/** The first queued row of a target. */
export function head(db: FleetDb, t: TargetName): Row | undefined {
  return st(db, "SELECT id, idem, body, attempts, next_at, created_at FROM outgoing WHERE target = ? AND state = 'pending' ORDER BY id LIMIT 1").get(t) as Row | undefined;
}

/** Records how a delivery went: delivered (deleted), retried later, or dead-lettered. */
export function settle(db: FleetDb, settings: ForwardConfig, log: Log, t: TargetName, row: Row, r: Sent, now = Date.now()): void {
  const totals = st(db, `
    INSERT INTO forward_totals (target, delivered, dead, last_error, last_error_at, last_delivered_at) VALUES (@target, @delivered, @dead, @error, @errorAt, @deliveredAt)
    ON CONFLICT (target) DO UPDATE SET delivered = delivered + excluded.delivered, dead = dead + excluded.dead,
      last_error = coalesce(excluded.last_error, last_error), last_error_at = coalesce(excluded.last_error_at, last_error_at),
      last_delivered_at = coalesce(excluded.last_delivered_at, last_delivered_at)
  `);
  db.db.transaction(() => {
    if (r.ok) {
      st(db, 'DELETE FROM outgoing WHERE id = ?').run(row.id);
      totals.run({ target: t, delivered: 1, dead: 0, error: null, errorAt: null, deliveredAt: now });
      return;
    }
    const attempts = row.attempts + 1;
    const error = (r.error ?? 'failed').slice(0, 500);
    const old = row.created_at !== undefined && now - row.created_at >= db.limits.forwardMaxAgeMs;
    if (attempts >= settings.attempts || r.permanent || old) {
      st(db, "UPDATE outgoing SET state = 'dead', attempts = ?, last_error = ? WHERE id = ?").run(attempts, error, row.id);
      totals.run({ target: t, delivered: 0, dead: 1, error, errorAt: now, deliveredAt: null });
      log.error(`fleet server: ${t}: gave up on ${row.idem} after ${attempts} attempt(s)${old && attempts < settings.attempts && !r.permanent ? ` and ${Math.round((now - row.created_at!) / 1000)} s` : ''} (${error}); it is kept as a dead letter`);
      return;
    }
    let wait = backoff(attempts, settings.backoffMs, settings.backoffMaxMs);
    if (r.retryAfterMs !== undefined) wait = Math.max(wait, Math.min(r.retryAfterMs, RETRY_AFTER_MAX_MS));
    st(db, 'UPDATE outgoing SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?').run(attempts, now + wait, error, row.id);
    totals.run({ target: t, delivered: 0, dead: 0, error, errorAt: now, deliveredAt: null });
  })();
}

/**
 * A resolve as Alertmanager must get it: with the cause (a label) and evidence of the firing it ends (the source's
 * firing event of the same rule, camera and class at the resolve's `since`), so that both have one label set — one
 * alert there. Firing events, and resolves whose firing is not kept, are returned as they are.
 */
export function withFiringCause(db: FleetDb, source: string, a: AlertEvent): AlertEvent {
  if (a.state !== 'resolved') return a;
  const rows = st(db, 'SELECT data FROM alerts WHERE t = ? AND source = ? AND rule = ? AND camera_id = ?').pluck().all(a.since, source, a.rule, a.camera_id) as string[];
  const firing = rows.map((r) => JSON.parse(r) as AlertEvent).find((f) => f.state === 'firing' && f.classId === a.classId);
  if (!firing) return a;
  const { cause: _c, evidence: _e, ...rest } = a;
  return { ...rest, ...(firing.cause ? { cause: firing.cause } : {}), ...(firing.evidence ? { evidence: firing.evidence } : {}) };
}

/** Every firing alert as Alertmanager takes it, but those with rows still queued for it (they go with those) and those in `skip` (alertKey: held back in quiet hours). */
export function firingForAlertmanager(db: FleetDb, panel: (source: string) => string, skip: ReadonlySet<string> = new Set()): AlertmanagerAlert[] {
  const queued = new Set(st(db, "SELECT DISTINCT alert_key FROM outgoing WHERE target = 'alertmanager' AND state = 'pending'").pluck().all() as string[]);
  const rows = st(db, `
    SELECT a.source, a.data, coalesce(s.device_id, a.source) AS device FROM alert_state a LEFT JOIN sources s ON s.id = a.source
    WHERE a.state = 'firing' ORDER BY a.source, a.rule, a.camera_id, a.class_id
  `).all() as { source: string; data: string; device: string }[];
  const out: AlertmanagerAlert[] = [];
  for (const r of rows) {
    const a = JSON.parse(r.data) as AlertEvent;
    a.value ??= NaN;
    a.threshold ??= NaN;
    const key = alertKey(r.source, a);
    if (!queued.has(key) && !skip.has(key)) out.push(alertmanagerAlert(a, { source: r.source, device: r.device, panel: panel(r.source) }));
  }
  return out;
}
