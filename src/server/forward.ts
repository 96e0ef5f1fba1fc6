/**
 * Alerts reach people: the fleet server forwards alert state changes to Prometheus Alertmanager
 * (FLEET_ALERTMANAGER_URL, its v2 API) and/or a webhook (FLEET_WEBHOOK_URL, JSON or Slack-compatible `{text}`),
 * and raises a server-side `device-down` alert for a source silent for more than 3 sync intervals.
 *
 * Durable: each new alert state change of an ingested batch (firing and resolved) is queued in the `outgoing`
 * table inside the batch's own transaction (FleetDb.onIngest), one row per target, as the exact body to POST.
 * A worker per target (timers, unref'd) sends its rows one at a time in queue order (a failing row holds the
 * ones behind it, so a resolve never overtakes its firing), with a 10-s timeout; 2xx deletes the row (counted
 * as delivered); a failure retries after an exponential back-off with jitter (FLEET_FORWARD_BACKOFF_MS doubling
 * to FLEET_FORWARD_BACKOFF_MAX_MS; a longer Retry-After is honoured, up to an hour); after FLEET_FORWARD_ATTEMPTS
 * failures (or at once for 400, 413 and 422: the body itself is refused) the row is dead-lettered: kept with its
 * last error, counted, and skipped. Each delivery carries `Idempotency-Key: <source>:<event id>:<target>`. So a
 * receiver gets an event once unless the server stops between its 2xx and the row's deletion (then the same key
 * comes again).
 *
 * Alertmanager forgets a firing alert after its resolve_timeout unless it is posted again: every
 * FLEET_ALERTMANAGER_REPEAT_MS the worker re-posts every firing alert in alert_state (best effort: not queued,
 * not counted; alerts with queued rows are left to those). Out-of-order changes (older than the alert's state)
 * go to the webhook only. Resolved alerts carry endsAt (at most now).
 *
 * Device down: every max(5 s, interval / 4) a source silent for more than 3 intervals (counting from the
 * server's start, so the server's own downtime is no one's outage) gets a `device-down` alert (critical, camera
 * ''), written like a page's alert (alerts, alert_state: /v1/alerts and /v1/devices show it) and forwarded; the
 * source's next batch resolves it in the same transaction. Which sources are down is alert_state itself, so a
 * restart neither repeats nor loses it.
 */
import { toOtlp } from '../sync/otlp.ts';
import type Database from 'better-sqlite3';
import type { AlertEvent } from '../health/types.ts';
import { type Config, FORWARD_DEFAULTS, type ForwardConfig } from './config.ts';
import type { FleetDb, IngestEvent } from './db.ts';

export type TargetName = 'alertmanager' | 'webhook' | 'otlp';

/** A forwarding target. */
export interface Target {
  name: TargetName;
  /** where deliveries are POSTed (without credentials) */
  url: string;
  /** the URL as /v1/forwarding shows it: no credentials, query or secret-looking path */
  shown: string;
  /** `Basic …` from the URL's user:password, if any */
  auth?: string;
}

/** An alert as Alertmanager's POST /api/v2/alerts takes it. */
export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL: string;
}

/** The webhook's JSON body (FLEET_WEBHOOK_FORMAT=json). */
export interface WebhookEvent {
  event: 'alert';
  /** the alert event's id (unique per source) */
  id: string;
  state: AlertEvent['state'];
  rule: string;
  name: string;
  severity: AlertEvent['severity'];
  value: number | null;
  threshold: number | null;
  class_id?: number;
  device: string;
  source: string;
  camera_id: string;
  location: string | null;
  model_version: string;
  time: string;
  since: string;
  panel: string;
}

/** Who an alert is about, and the link to its device's panel. */
export interface AlertContext {
  source: string;
  /** the device id, else the source id */
  device: string;
  panel: string;
}

/** The server-side rule of a silent source. */
export const DEVICE_DOWN = { rule: 'device-down', name: 'Device stopped sending', severity: 'critical' } as const;

const TIMEOUT_MS = 10_000;
/** rows a worker sends before it yields to the event loop */
const BATCH = 100;
/** a worker looks at its queue at least this often */
const IDLE_MS = 5000;
/** firing alerts per refresh POST */
const REFRESH_CHUNK = 500;
const RETRY_AFTER_MAX_MS = 3600_000;
/** sources raised as down per check (the rest on the next) */
const DOWN_PER_CHECK = 1000;
/** answers that refuse the body itself: retrying cannot help */
const PERMANENT = new Set([400, 413, 422]);

/** The configured targets. */
export function targetsOf(f: ForwardConfig = FORWARD_DEFAULTS): Target[] {
  const out: Target[] = [];
  if (f.alertmanagerUrl) out.push(target('alertmanager', `${f.alertmanagerUrl}/api/v2/alerts`, f.alertmanagerUrl));
  if (f.webhookUrl) out.push(target('webhook', f.webhookUrl));
  if (f.otlpUrl) out.push(target('otlp', f.otlpUrl));
  return out;
}

function target(name: TargetName, raw: string, base?: string): Target {
  const u = new URL(raw);
  const auth = u.username || u.password ? `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}` : undefined;
  u.username = u.password = '';
  let shown: string;
  if (base) {
    const b = new URL(base);
    b.username = b.password = '';
    shown = b.href.replace(/\/+$/, '');
  } else {
    // a webhook URL's path often is its secret (Slack's /services/T…/B…/…): show its first segment only
    const segs = u.pathname.split('/').filter(Boolean);
    shown = `${u.origin}${segs.length ? `/${segs[0]}` : ''}${segs.length > 1 || u.search ? '/…' : ''}`;
  }
  return { name, url: u.href, shown, ...(auth ? { auth } : {}) };
}

/** The link to a source's panel on the fleet page. */
export const panelLink = (publicUrl: string, source: string) => `${publicUrl}/#device=${encodeURIComponent(source)}`;

/** A number for people: 4 significant digits, `n/a` when unknown. */
const fmt = (n: number) => (Number.isFinite(n) ? String(+n.toPrecision(4)) : 'n/a');
const iso = (t: number) => new Date(t).toISOString();
const finite = (n: number) => (Number.isFinite(n) ? n : null);

/** "<name>: value V (threshold T) on camera C of device D". */
export function describeAlert(a: AlertEvent, ctx: AlertContext): string {
  return `${a.name}: value ${fmt(a.value)} (threshold ${fmt(a.threshold)}) on ${a.camera_id ? `camera ${a.camera_id} of ` : ''}device ${ctx.device}`;
}

/**
 * An alert state change as Alertmanager takes it. Empty label values are left out (Prometheus treats them as
 * absent). A resolved alert ends at min(t, now) (a page's clock ahead of the server's must not keep it firing).
 */
export function alertmanagerAlert(a: AlertEvent, ctx: AlertContext, now = Date.now()): AlertmanagerAlert {
  const labels: Record<string, string> = { alertname: a.rule, severity: a.severity, device: ctx.device, source: ctx.source };
  const put = (k: string, v: string | undefined) => {
    if (v) labels[k] = v;
  };
  put('camera_id', a.camera_id);
  put('location', a.location);
  put('model_version', a.mv.slice(0, 12));
  if (a.classId !== undefined) labels.class_id = String(a.classId);
  const annotations = { summary: a.name, description: describeAlert(a, ctx), value: fmt(a.value), threshold: fmt(a.threshold), panel: ctx.panel };
  if (a.state === 'firing') return { labels, annotations, startsAt: iso(a.since || a.t), generatorURL: ctx.panel };
  const end = Math.min(a.t, now);
  return { labels, annotations, startsAt: iso(Math.min(a.since || end, end)), endsAt: iso(end), generatorURL: ctx.panel };
}

/** An alert state change as the webhook's JSON. */
export function webhookEvent(a: AlertEvent, ctx: AlertContext): WebhookEvent {
  return {
    event: 'alert',
    id: a.id,
    state: a.state,
    rule: a.rule,
    name: a.name,
    severity: a.severity,
    value: finite(a.value),
    threshold: finite(a.threshold),
    ...(a.classId !== undefined ? { class_id: a.classId } : {}),
    device: ctx.device,
    source: ctx.source,
    camera_id: a.camera_id,
    location: a.location ?? null,
    model_version: a.mv.slice(0, 12),
    time: iso(a.t),
    since: iso(a.since),
    panel: ctx.panel,
  };
}

/** An alert state change as a Slack-compatible message. */
export function slackMessage(a: AlertEvent, ctx: AlertContext): { text: string } {
  const head = a.state === 'firing' ? '🔴 FIRING' : '✅ RESOLVED';
  return { text: `${head} ${a.name} — device ${ctx.device}${a.camera_id ? ` camera ${a.camera_id}` : ''}: value ${fmt(a.value)} (threshold ${fmt(a.threshold)}) <${ctx.panel}>` };
}

/** The back-off before attempt `attempts + 1` (ms): base · 2^(attempts − 1), at most max, with jitter (half to all of it). */
export function backoff(attempts: number, base: number, max: number, random = Math.random()): number {
  const d = Math.min(max, base * 2 ** Math.min(Math.max(0, attempts - 1), 40));
  return Math.round(d / 2 + (random * d) / 2);
}

/** A Retry-After header (seconds or an HTTP date) in ms from now, or undefined. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const s = header.trim();
  if (/^\d{1,10}$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}

/** The key of an alert in alert_state (and of its queued rows). */
const alertKey = (source: string, a: Pick<AlertEvent, 'rule' | 'camera_id' | 'classId'>) => JSON.stringify([source, a.rule, a.camera_id, a.classId ?? -1]);

/** Prepared statements per database connection. */
const cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();
function st(db: FleetDb, sql: string): Database.Statement {
  let m = cache.get(db.db);
  if (!m) cache.set(db.db, (m = new Map()));
  let s = m.get(sql);
  if (!s) m.set(sql, (s = db.db.prepare(sql)));
  return s;
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
      const tot = st(db, 'SELECT delivered, dead, last_error, last_error_at, last_delivered_at FROM forward_totals WHERE target = ?').get(t.name) as
        | { delivered: number; dead: number; last_error: string | null; last_error_at: number | null; last_delivered_at: number | null }
        | undefined;
      const pending = st(db, "SELECT count(*) FROM outgoing WHERE target = ? AND state = 'pending'").pluck().get(t.name) as number;
      return {
        name: t.name,
        url: t.shown,
        pending,
        delivered: tot?.delivered ?? 0,
        deadLetters: tot?.dead ?? 0,
        ...(tot?.last_error ? { lastError: tot.last_error } : {}),
        ...(tot?.last_error_at ? { lastErrorAt: tot.last_error_at } : {}),
        ...(tot?.last_delivered_at ? { lastDeliveredAt: tot.last_delivered_at } : {}),
      };
    }),
  };
}

/** A queued delivery. */
interface Row {
  id: number;
  idem: string;
  body: string;
  attempts: number;
  next_at: number;
}

/** How one POST went. */
interface Sent {
  ok: boolean;
  error?: string;
  permanent?: boolean;
  retryAfterMs?: number;
  /** cut short by stop(): not an attempt */
  aborted?: boolean;
}

type Log = Pick<Console, 'log' | 'error'>;

/**
 * The forwarder: `new Forwarder(db, config)` hooks into ingest at once (queueing), `start()` starts the
 * workers and the device-down check, `stop()` ends them (waiting briefly for a POST in flight).
 */
export class Forwarder {
  readonly settings: ForwardConfig;
  private readonly lanes: Lane[];
  private publicUrl: string;
  private startedAt = Date.now();
  private checkTimer: NodeJS.Timeout | null = null;
  private kickPending = false;
  private stopped = false;

  constructor(
    readonly db: FleetDb,
    readonly config: Config,
    readonly log: Log = console,
  ) {
    this.settings = config.forward ?? FORWARD_DEFAULTS;
    const host = config.host.includes(':') && !config.host.startsWith('[') ? `[${config.host}]` : config.host;
    this.publicUrl = this.settings.publicUrl ?? `http://${host}:${config.port}`;
    this.lanes = targetsOf(this.settings).map((t) => new Lane(this, t));
    db.onIngest((e) => this.ingested(e));
  }

  /** Starts the workers and the device-down check; `listening` (http://host:port as bound) is the public URL unless FLEET_PUBLIC_URL is set. */
  start(listening?: string): void {
    if (listening && !this.settings.publicUrl) this.publicUrl = listening.replace(/\/+$/, '');
    this.startedAt = Date.now();
    this.checkTimer = setInterval(() => this.check(), Math.max(5000, this.config.intervalMs / 4));
    this.checkTimer.unref();
    for (const l of this.lanes) l.kick();
  }

  /** Stops: no new work; a POST in flight gets `graceMs` to finish (and be recorded), then is cut (its row stays queued). */
  async stop(graceMs = 2000): Promise<void> {
    this.stopped = true;
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.checkTimer = null;
    await Promise.all(this.lanes.map((l) => l.stop(graceMs)));
  }

  /** The link to a source's panel. */
  panel(source: string): string {
    return panelLink(this.publicUrl, source);
  }

  // ---------- queueing (inside the caller's transaction) ----------

  private context(source: string, device?: string): AlertContext {
    device ??= (st(this.db, 'SELECT coalesce(device_id, id) FROM sources WHERE id = ?').pluck().get(source) as string | undefined) ?? source;
    return { source, device, panel: this.panel(source) };
  }

  /** Queues an alert state change for each target (Alertmanager only when it is the alert's latest state); returns the rows queued. */
  private enqueue(ctx: AlertContext, a: AlertEvent, now: number, latest: boolean): number {
    let n = 0;
    const put = st(this.db, 'INSERT INTO outgoing (target, alert_key, idem, body, attempts, next_at, created_at) VALUES (?, ?, ?, ?, 0, ?, ?)');
    for (const { target: t } of this.lanes) {
      let body: unknown;
      if (t.name === 'otlp') continue; // metrics, not alerts (see ingested)
      if (t.name === 'alertmanager') {
        if (!latest) continue;
        body = [alertmanagerAlert(a, ctx, now)];
      } else body = this.settings.webhookFormat === 'slack' ? slackMessage(a, ctx) : webhookEvent(a, ctx);
      put.run(t.name, alertKey(ctx.source, a), `${ctx.source}:${a.id}:${t.name}`, JSON.stringify(body), now, now);
      n++;
    }
    return n;
  }

  /** The ingest hook: queue the batch's new alert changes; a source that was down is up again. */
  private ingested(e: IngestEvent): void {
    const ctx = this.context(e.source);
    let n = 0;
    for (const { alert, latest } of e.alerts) n += this.enqueue(ctx, alert, e.now, latest);
    // the batch's rollups to an OpenTelemetry Collector, through the same durable queue
    if (e.batch.rollups.length && this.lanes.some((l) => l.target.name === 'otlp')) {
      const body = JSON.stringify(toOtlp(e.batch));
      st(this.db, 'INSERT INTO outgoing (target, alert_key, idem, body, attempts, next_at, created_at) VALUES (?, ?, ?, ?, 0, ?, ?)').run('otlp', `otlp:${e.source}:${e.batch.seq}`, `${e.source}:${e.batch.seq}:otlp`, body, e.now, e.now);
      n++;
    }
    const down = this.downAlert(e.source);
    if (down) n += this.resolveDown(ctx, down, e.now);
    if (n) this.kickSoon();
  }

  /** Wakes the workers once the current transaction is over. */
  private kickSoon(): void {
    if (this.kickPending || this.stopped) return;
    this.kickPending = true;
    setImmediate(() => {
      this.kickPending = false;
      for (const l of this.lanes) l.kick();
    });
  }

  // ---------- device down ----------

  /** The source's firing device-down alert, if any. */
  private downAlert(source: string): AlertEvent | null {
    const data = st(this.db, "SELECT data FROM alert_state WHERE source = ? AND rule = ? AND camera_id = '' AND class_id = -1 AND state = 'firing'").pluck().get(source, DEVICE_DOWN.rule) as string | undefined;
    return data ? (JSON.parse(data) as AlertEvent) : null;
  }

  private resolveDown(ctx: AlertContext, firing: AlertEvent, now: number): number {
    const a: AlertEvent = { ...firing, id: `device-down-${now}-resolved`, state: 'resolved', value: Math.round((now - firing.since) / 1000), t: now, since: firing.t };
    const r = this.db.putAlert(ctx.source, a);
    return r.fresh ? this.enqueue(ctx, a, now, r.latest) : 0;
  }

  /**
   * Raises device-down for sources silent for more than 3 intervals (since the later of their last batch and
   * the server's start) and resolves it for sources seen since (normally their batch already did). Returns the
   * source ids raised and resolved.
   */
  checkDevices(now = Date.now()): { raised: string[]; resolved: string[] } {
    const limit = 3 * this.config.intervalMs;
    const cut = now - limit;
    const raised: string[] = [];
    const resolved: string[] = [];
    if (this.startedAt < cut) {
      const silent = st(this.db, `
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
        this.db.db.transaction(() => {
          const r = this.db.putAlert(s.id, a);
          if (r.fresh) this.enqueue(this.context(s.id, s.device), a, now, r.latest);
        })();
        raised.push(s.id);
      }
    }
    const back = st(this.db, `
      SELECT a.source, a.data, coalesce(s.device_id, s.id) AS device FROM alert_state a JOIN sources s ON s.id = a.source
      WHERE a.rule = ? AND a.camera_id = '' AND a.class_id = -1 AND a.state = 'firing' AND s.last_seen >= ?
    `).all(DEVICE_DOWN.rule, cut) as { source: string; data: string; device: string }[];
    for (const b of back) {
      this.db.db.transaction(() => this.resolveDown(this.context(b.source, b.device), JSON.parse(b.data) as AlertEvent, now))();
      resolved.push(b.source);
    }
    if (raised.length || resolved.length) this.kickSoon();
    return { raised, resolved };
  }

  private check(): void {
    if (this.stopped) return;
    try {
      const { raised } = this.checkDevices();
      if (raised.length) this.log.log(`fleet server: device-down for ${raised.length} source(s): ${raised.slice(0, 10).join(', ')}${raised.length > 10 ? ', …' : ''}`);
    } catch (e) {
      this.log.error(`fleet server: the device-down check failed: ${(e as Error).message}`);
    }
  }

  // ---------- for the workers ----------

  /** The first queued row of a target. */
  head(t: TargetName): Row | undefined {
    return st(this.db, "SELECT id, idem, body, attempts, next_at FROM outgoing WHERE target = ? AND state = 'pending' ORDER BY id LIMIT 1").get(t) as Row | undefined;
  }

  /** Records how a delivery went: delivered (deleted), retried later, or dead-lettered. */
  settle(t: TargetName, row: Row, r: Sent, now = Date.now()): void {
    const totals = st(this.db, `
      INSERT INTO forward_totals (target, delivered, dead, last_error, last_error_at, last_delivered_at) VALUES (@target, @delivered, @dead, @error, @errorAt, @deliveredAt)
      ON CONFLICT (target) DO UPDATE SET delivered = delivered + excluded.delivered, dead = dead + excluded.dead,
        last_error = coalesce(excluded.last_error, last_error), last_error_at = coalesce(excluded.last_error_at, last_error_at),
        last_delivered_at = coalesce(excluded.last_delivered_at, last_delivered_at)
    `);
    this.db.db.transaction(() => {
      if (r.ok) {
        st(this.db, 'DELETE FROM outgoing WHERE id = ?').run(row.id);
        totals.run({ target: t, delivered: 1, dead: 0, error: null, errorAt: null, deliveredAt: now });
        return;
      }
      const attempts = row.attempts + 1;
      const error = (r.error ?? 'failed').slice(0, 500);
      if (attempts >= this.settings.attempts || r.permanent) {
        st(this.db, "UPDATE outgoing SET state = 'dead', attempts = ?, last_error = ? WHERE id = ?").run(attempts, error, row.id);
        totals.run({ target: t, delivered: 0, dead: 1, error, errorAt: now, deliveredAt: null });
        this.log.error(`fleet server: ${t}: gave up on ${row.idem} after ${attempts} attempt(s) (${error}); it is kept as a dead letter`);
        return;
      }
      let wait = backoff(attempts, this.settings.backoffMs, this.settings.backoffMaxMs);
      if (r.retryAfterMs !== undefined) wait = Math.max(wait, Math.min(r.retryAfterMs, RETRY_AFTER_MAX_MS));
      st(this.db, 'UPDATE outgoing SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?').run(attempts, now + wait, error, row.id);
      totals.run({ target: t, delivered: 0, dead: 0, error, errorAt: now, deliveredAt: null });
    })();
  }

  /** Every firing alert as Alertmanager takes it, but those with rows still queued for it (they go with those). */
  firingForAlertmanager(): AlertmanagerAlert[] {
    const queued = new Set(st(this.db, "SELECT DISTINCT alert_key FROM outgoing WHERE target = 'alertmanager' AND state = 'pending'").pluck().all() as string[]);
    const rows = st(this.db, `
      SELECT a.source, a.data, coalesce(s.device_id, a.source) AS device FROM alert_state a LEFT JOIN sources s ON s.id = a.source
      WHERE a.state = 'firing' ORDER BY a.source, a.rule, a.camera_id, a.class_id
    `).all() as { source: string; data: string; device: string }[];
    const out: AlertmanagerAlert[] = [];
    for (const r of rows) {
      const a = JSON.parse(r.data) as AlertEvent;
      a.value ??= NaN;
      a.threshold ??= NaN;
      if (!queued.has(alertKey(r.source, a))) out.push(alertmanagerAlert(a, { source: r.source, device: r.device, panel: this.panel(r.source) }));
    }
    return out;
  }
}

/** One target's worker: its queue in order, one POST at a time; for Alertmanager also the periodic re-post. */
class Lane {
  running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private again = false;
  private ac: AbortController | null = null;
  private refreshAt = 0;
  private failing = false;
  private stopped = false;

  constructor(
    private readonly fw: Forwarder,
    readonly target: Target,
  ) {}

  /** Runs the worker after `delay` ms (or right after the current run). */
  kick(delay = 0): void {
    if (this.stopped) return;
    if (this.running) {
      if (delay === 0) this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.go(), Math.max(0, delay));
    this.timer.unref();
  }

  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const running = this.running;
    if (!running) return;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([running, new Promise((r) => (t = setTimeout(r, graceMs)))]);
    clearTimeout(t);
    this.ac?.abort(new Error('the server is stopping'));
    await Promise.race([running, new Promise((r) => (t = setTimeout(r, 1000)))]);
    clearTimeout(t);
  }

  private go(): void {
    this.timer = null;
    if (this.stopped || this.running) return;
    this.running = this.work()
      .catch((e: unknown) => {
        if (!this.stopped) this.fw.log.error(`fleet server: forwarding to ${this.target.name} failed: ${(e as Error).message}`);
        return 1000;
      })
      .then((wait) => {
        this.running = null;
        const again = this.again;
        this.again = false;
        this.kick(again ? 0 : wait);
      });
  }

  /** Sends due rows (at most BATCH), re-posts firing alerts when due; returns the ms until it has work again. */
  private async work(): Promise<number> {
    const name = this.target.name;
    for (let n = 0; n < BATCH && !this.stopped; n++) {
      const row = this.fw.head(name);
      if (!row || row.next_at > Date.now()) break;
      const r = await this.send(row.body, row.idem);
      if (r.aborted) return IDLE_MS;
      this.fw.settle(name, row, r);
      this.note(r);
      if (!r.ok) break;
    }
    if (name === 'alertmanager' && !this.stopped && Date.now() >= this.refreshAt) {
      this.refreshAt = Date.now() + this.fw.settings.alertmanagerRepeatMs;
      const alerts = this.fw.firingForAlertmanager();
      for (let i = 0; i < alerts.length && !this.stopped; i += REFRESH_CHUNK) {
        const r = await this.send(JSON.stringify(alerts.slice(i, i + REFRESH_CHUNK)));
        if (r.aborted) return IDLE_MS;
        this.note(r);
        if (!r.ok) break;
      }
    }
    const now = Date.now();
    let wait = IDLE_MS;
    const head = this.fw.head(name);
    if (head) wait = Math.min(wait, head.next_at - now);
    if (name === 'alertmanager') wait = Math.min(wait, this.refreshAt - now);
    return Math.max(0, wait);
  }

  /** Logs when the target starts failing and when it works again (not every attempt). */
  private note(r: Sent): void {
    if (r.ok && this.failing) this.fw.log.log(`fleet server: forwarding to ${this.target.name} works again`);
    else if (!r.ok && !this.failing) this.fw.log.error(`fleet server: forwarding to ${this.target.name} (${this.target.shown}) failed: ${r.error}; retrying with back-off`);
    this.failing = !r.ok;
  }

  /** One POST with a 10-s limit (answer and body). */
  private async send(body: string, idem?: string): Promise<Sent> {
    const ac = new AbortController();
    this.ac = ac;
    const timer = setTimeout(() => ac.abort(new Error(`no answer in ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS);
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'inference-health-monitor-fleet' };
      if (idem) headers['idempotency-key'] = idem;
      if (this.target.auth) headers.authorization = this.target.auth;
      const res = await fetch(this.target.url, { method: 'POST', headers, body, signal: ac.signal, redirect: 'manual' });
      const text = await readSome(res, 1024);
      if (res.status >= 200 && res.status < 300) return { ok: true };
      const retry = retryAfterMs(res.headers.get('retry-after'));
      return {
        ok: false,
        error: `HTTP ${res.status}${text.trim() ? `: ${text.trim().replace(/\s+/g, ' ').slice(0, 200)}` : ''}`,
        permanent: PERMANENT.has(res.status),
        ...(retry !== undefined ? { retryAfterMs: retry } : {}),
      };
    } catch (e) {
      if (ac.signal.aborted) return { ok: false, error: String((ac.signal.reason as Error)?.message ?? 'aborted'), aborted: this.stopped };
      const cause = (e as { cause?: { message?: string; code?: string } }).cause;
      return { ok: false, error: cause?.message ?? cause?.code ?? (e as Error).message };
    } finally {
      clearTimeout(timer);
      this.ac = null;
    }
  }
}

/** At most `max` bytes of a response body as text (the rest is not read). */
async function readSome(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  try {
    while (n < max) {
      const r = await reader.read();
      if (r.done) break;
      chunks.push(r.value);
      n += r.value.byteLength;
    }
  } finally {
    void reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}
