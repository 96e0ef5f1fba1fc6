/**
 * Quiet hours (FLEET_QUIET_HOURS, forward/quiet-hours.ts): during them alert state changes are not forwarded to
 * Alertmanager or webhooks; they are stored, counted and shown as always (alerts, alert_state: /v1/alerts,
 * /v1/devices, the fleet page, /metrics' firing series). Per alert (source, rule, camera, class), in the database
 * so a restart neither loses nor repeats them (tables quiet_held and quiet_totals, schema.ts):
 *
 * - a **firing** in quiet hours is held; when the hours end (checked every second, and before each batch's and
 *   device-down check's changes are queued) an alert **still firing** is forwarded then, as it was;
 * - its **resolve** in quiet hours drops the held firing: neither is ever sent, and the alert counts as **muted**
 *   (fleet_alerts_muted_total) — nobody was told it fired, so nobody is told it ended;
 * - the resolve of an alert notified **before** the quiet hours is held too, and sent when they end (followed by a
 *   later firing of the same alert, when one is held: Alertmanager gets only the latest);
 * - an out-of-order (older) change in quiet hours is muted;
 * - Alertmanager's periodic re-post leaves held alerts out.
 * Held changes whose alert's quiet hours no longer apply (the setting changed, the server restarted without it)
 * are released at the first check.
 */
import type { AlertEvent } from '../../health/types.ts';
import type { FleetDb } from '../db.ts';
import type { AlertContext } from './formats.ts';
import { type QuietSpan, quietAt } from './quiet-hours.ts';
import { alertKey } from './queue.ts';
import { st } from './statements.ts';

/** What quiet hours need of the forwarder: its database, who an alert is about, and queueing for every target. */
export interface QuietHost {
  readonly db: FleetDb;
  context(source: string, device?: string): AlertContext;
  enqueue(ctx: AlertContext, a: AlertEvent, now: number, latest: boolean): number;
}

interface HeldRow {
  alert_key: string;
  source: string;
  rule: string;
  camera_id: string;
  class_id: number;
  firing: string | null;
  resolve: string | null;
}

/** Alerts held back now (a firing not forwarded yet), muted (never sent) and released (forwarded when quiet hours ended), all time. */
export function quietStatus(db: FleetDb): { held: number; muted: number; released: number } {
  const held = st(db, 'SELECT count(*) FROM quiet_held WHERE firing IS NOT NULL').pluck().get() as number;
  const tot = st(db, 'SELECT muted, released FROM quiet_totals WHERE id = 1').get() as { muted: number; released: number } | undefined;
  return { held, muted: tot?.muted ?? 0, released: tot?.released ?? 0 };
}

/** The keys (forward/queue.ts alertKey) of alerts whose firing is held back: Alertmanager's re-post leaves them out. */
export function heldKeys(db: FleetDb): Set<string> {
  return new Set(st(db, 'SELECT alert_key FROM quiet_held WHERE firing IS NOT NULL').pluck().all() as string[]);
}

/** Quiet hours for a forwarder: `hold` before queueing a change, `release` when hours may have ended. */
export class QuietHours {
  constructor(
    readonly db: FleetDb,
    readonly spans: readonly QuietSpan[],
  ) {
    }

  private count(column: 'muted' | 'released', n = 1): void {
    st(this.db, `INSERT INTO quiet_totals (id, ${column}) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET ${column} = ${column} + excluded.${column}`).run(n);
  }

  /**
   * Holds back `a` of `ctx.source` when its quiet hours cover `now` (inside the caller's transaction): returns true
   * when it must not be queued. Outside quiet hours, what is still held of the same alert is released first, so
   * it goes out before `a`.
   */
  hold(fw: QuietHost, ctx: AlertContext, a: AlertEvent, now: number, latest: boolean): boolean {
    const key = alertKey(ctx.source, a);
    const row = st(this.db, 'SELECT alert_key, source, rule, camera_id, class_id, firing, resolve FROM quiet_held WHERE alert_key = ?').get(key) as HeldRow | undefined;
    if (!quietAt(this.spans, now, ctx.source, a.camera_id)) {
      if (row) this.releaseRow(fw, row, now);
      return false;
    }
    if (!latest) {
      this.count('muted');
      return true;
    }
    const put = (firing: string | null, resolve: string | null) => {
      if (firing === null && resolve === null) st(this.db, 'DELETE FROM quiet_held WHERE alert_key = ?').run(key);
      else
        st(this.db, `
          INSERT INTO quiet_held (alert_key, source, rule, camera_id, class_id, firing, resolve, held_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (alert_key) DO UPDATE SET firing = excluded.firing, resolve = excluded.resolve
        `).run(key, ctx.source, a.rule, a.camera_id, a.classId ?? -1, firing, resolve, now);
    };
    if (a.state === 'firing') {
      if (row?.firing) this.count('muted'); // a firing after a firing: the first was never sent
      put(JSON.stringify(a), row?.resolve ?? null);
    } else if (row?.firing) {
      // it fired and resolved within quiet hours: never notified, so its resolve is not sent either
      this.count('muted');
      put(null, row.resolve);
    } else put(null, JSON.stringify(a));
    return true;
  }

  /** Forwards what is held of alerts whose quiet hours no longer cover `now` (in a transaction of its own); returns the rows queued. */
  release(fw: QuietHost, now: number): number {
    let rows = st(this.db, 'SELECT alert_key, source, rule, camera_id, class_id, firing, resolve FROM quiet_held ORDER BY held_at, alert_key').all() as HeldRow[];
    if (!rows.length) return 0;
    // sources forgotten meanwhile (FLEET_SOURCE_RETENTION_DAYS): what they held goes with them, muted
    const gone = st(this.db, 'SELECT alert_key, firing FROM quiet_held WHERE source NOT IN (SELECT id FROM sources)').all() as { alert_key: string; firing: string | null }[];
    if (gone.length) {
      this.db.db.transaction(() => {
        for (const g of gone) st(this.db, 'DELETE FROM quiet_held WHERE alert_key = ?').run(g.alert_key);
        const muted = gone.filter((g) => g.firing).length;
        if (muted) this.count('muted', muted);
      })();
      const keys = new Set(gone.map((g) => g.alert_key));
      rows = rows.filter((r) => !keys.has(r.alert_key));
    }
    const due = rows.filter((r) => !quietAt(this.spans, now, r.source, r.camera_id));
    if (!due.length) return 0;
    return this.db.db.transaction(() => due.reduce((n, r) => n + this.releaseRow(fw, r, now), 0))();
  }

  /**
   * Queues a held alert's resolve, then its firing (it was firing when the hours ended: a resolve in them would have
   * dropped it; a change after them, the caller's, comes next), unless the alert is no longer kept (muted); forgets the row.
   */
  private releaseRow(fw: QuietHost, row: HeldRow, now: number): number {
    st(this.db, 'DELETE FROM quiet_held WHERE alert_key = ?').run(row.alert_key);
    const ctx = fw.context(row.source);
    const state = st(this.db, 'SELECT state FROM alert_state WHERE source = ? AND rule = ? AND camera_id = ? AND class_id = ?').pluck().get(row.source, row.rule, row.camera_id, row.class_id) as string | undefined;
    const firing = row.firing ? (JSON.parse(row.firing) as AlertEvent) : null;
    const fires = firing !== null && state !== undefined;
    let n = 0;
    if (row.resolve) n += fw.enqueue(ctx, JSON.parse(row.resolve) as AlertEvent, now, !fires);
    if (fires) {
      n += fw.enqueue(ctx, firing, now, true);
      this.count('released');
    } else if (firing) this.count('muted'); // its alert state forgotten meanwhile (retention)
    return n;
  }
}
