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
 * failures, or a failure once the row is FLEET_FORWARD_MAX_AGE_MS old (15 min), or at once for 400, 413 and 422
 * (the body itself is refused), the row is dead-lettered: kept with its last error, counted, and skipped — so one
 * failing delivery holds the rest back for a bounded time. Each target keeps at most FLEET_FORWARD_QUEUE_MAX pending
 * rows: past that the oldest are dropped unsent and counted (/v1/forwarding `dropped`, fleet_alerts_dropped_total). Each delivery carries `Idempotency-Key: <source>:<event id>:<target>`. So a
 * receiver gets an event once unless the server stops between its 2xx and the row's deletion (then the same key
 * comes again).
 *
 * Alertmanager forgets a firing alert after its resolve_timeout unless it is posted again: every
 * FLEET_ALERTMANAGER_REPEAT_MS the worker re-posts every firing alert in alert_state (best effort: not queued,
 * not counted; alerts with queued rows are left to those). Out-of-order changes (older than the alert's state)
 * go to the webhook only. Resolved alerts carry endsAt (at most now), and the `cause` label of the firing they end
 * (forward/queue.ts withFiringCause: one label set, one alert in Alertmanager).
 *
 * Device down: every max(5 s, interval / 4) a source silent for more than 3 intervals (counting from the
 * server's start, so the server's own downtime is no one's outage) gets a `device-down` alert (critical, camera
 * ''), written like a page's alert (alerts, alert_state: /v1/alerts and /v1/devices show it) and forwarded; the
 * source's next batch resolves it in the same transaction. Which sources are down is alert_state itself, so a
 * restart neither repeats nor loses it.
 *
 * Quiet hours (FLEET_QUIET_HOURS): firing alerts of the sources and cameras they cover are held back, not queued —
 * forwarded when the hours end if still firing, never if they resolved meanwhile (counted muted): forward/quiet.ts.
 *
 * This file is the Forwarder that puts these together; the parts are in forward/: targets.ts, formats.ts (the
 * bodies), queue.ts (the outgoing table), lane.ts (a target's worker), device-down.ts and quiet.ts.
 */
import { toOtlp } from '../sync/otlp.ts';
import type { AlertEvent } from '../health/types.ts';
import { type Config, FORWARD_DEFAULTS, type ForwardConfig } from './config.ts';
import type { FleetDb, IngestEvent } from './db.ts';
import { checkDevices, downAlert, resolveDown } from './forward/device-down.ts';
import { type AlertContext, alertmanagerAlert, panelLink, slackMessage, webhookEvent } from './forward/formats.ts';
import { Lane } from './forward/lane.ts';
import { alertKey, type Log, queueRow, trimQueue, withFiringCause } from './forward/queue.ts';
import { heldKeys, QuietHours } from './forward/quiet.ts';
import { st } from './forward/statements.ts';
import { targetsOf } from './forward/targets.ts';

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
  private quietTimer: NodeJS.Timeout | null = null;
  /** quiet hours (FLEET_QUIET_HOURS): what is held back, and released when they end */
  readonly quiet: QuietHours;
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
    this.quiet = new QuietHours(db, this.settings.quietHours ?? []);
    db.onIngest((e) => this.ingested(e));
  }

  /** Starts the workers and the device-down check; `listening` (http://host:port as bound) is the public URL unless FLEET_PUBLIC_URL is set. */
  start(listening?: string): void {
    if (listening && !this.settings.publicUrl) this.publicUrl = listening.replace(/\/+$/, '');
    this.startedAt = Date.now();
    this.checkTimer = setInterval(() => this.check(), Math.max(5000, this.config.intervalMs / 4));
    this.checkTimer.unref();
    // held back before (under other quiet hours, or before a restart without them): out now if no longer quiet
    this.releaseQuiet();
    if (this.settings.quietHours?.length) {
      this.quietTimer = setInterval(() => this.releaseQuiet(), 1000);
      this.quietTimer.unref();
    }
    for (const l of this.lanes) l.kick();
  }

  /** Stops: no new work; a POST in flight gets `graceMs` to finish (and be recorded), then is cut (its row stays queued). */
  async stop(graceMs = 2000): Promise<void> {
    this.stopped = true;
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.checkTimer = null;
    if (this.quietTimer) clearInterval(this.quietTimer);
    this.quietTimer = null;
    await Promise.all(this.lanes.map((l) => l.stop(graceMs)));
  }

  /** The link to a source's panel. */
  panel(source: string): string {
    return panelLink(this.publicUrl, source);
  }

  // ---------- queueing (inside the caller's transaction) ----------

  /** Who an alert of `source` is about (its device id from the database unless given). */
  context(source: string, device?: string): AlertContext {
    device ??= (st(this.db, 'SELECT coalesce(device_id, id) FROM sources WHERE id = ?').pluck().get(source) as string | undefined) ?? source;
    return { source, device, panel: this.panel(source) };
  }

  /**
   * Queues an alert state change for each target (Alertmanager only when it is the alert's latest state); returns the
   * rows queued. In the alert's quiet hours it is held back instead (forward/quiet.ts).
   */
  enqueue(ctx: AlertContext, a: AlertEvent, now: number, latest: boolean): number {
    if (this.settings.quietHours?.length && this.quiet.hold(this, ctx, a, now, latest)) return 0;
    let n = 0;
    for (const { target: t } of this.lanes) {
      let body: unknown;
      if (t.name === 'otlp') continue; // metrics, not alerts (see ingested)
      if (t.name === 'alertmanager') {
        if (!latest) continue;
        body = [alertmanagerAlert(withFiringCause(this.db, ctx.source, a), ctx, now)];
      } else body = this.settings.webhookFormat === 'slack' ? slackMessage(a, ctx) : webhookEvent(a, ctx);
      queueRow(this.db, t.name, alertKey(ctx.source, a), `${ctx.source}:${a.id}:${t.name}`, JSON.stringify(body), now);
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
      queueRow(this.db, 'otlp', `otlp:${e.source}:${e.batch.seq}`, `${e.source}:${e.batch.seq}:otlp`, body, e.now);
      n++;
    }
    const down = downAlert(this.db, e.source);
    if (down) n += resolveDown(this, ctx, down, e.now);
    if (n) {
      this.trim();
      this.kickSoon();
    }
  }

  /** Bounds each target's queue (FLEET_FORWARD_QUEUE_MAX): the oldest pending rows past it are dropped and counted. */
  private trim(): void {
    for (const { target: t } of this.lanes) {
      const n = trimQueue(this.db, t.name, this.db.limits.forwardQueueMax);
      if (n) this.log.error(`fleet server: ${t.name}: the queue is full (${this.db.limits.forwardQueueMax}); dropped the ${n} oldest deliveries`);
    }
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

  /** The alerts whose firing quiet hours hold back: Alertmanager's re-post leaves them out. */
  held(): Set<string> {
    return this.settings.quietHours?.length ? heldKeys(this.db) : new Set();
  }

  /** Forwards what quiet hours held back of alerts no longer in them (now; every second while quiet hours are set). */
  releaseQuiet(now = Date.now()): number {
    if (this.stopped) return 0;
    try {
      const n = this.quiet.release(this, now);
      if (n) {
        this.db.db.transaction(() => this.trim())();
        this.kickSoon();
      }
      return n;
    } catch (e) {
      this.log.error(`fleet server: releasing alerts held in quiet hours failed: ${(e as Error).message}`);
      return 0;
    }
  }

  // ---------- device down ----------

  /**
   * Raises device-down for sources silent for more than 3 intervals (since the later of their last batch and
   * the server's start) and resolves it for sources seen since (normally their batch already did). Returns the
   * source ids raised and resolved.
   */
  checkDevices(now = Date.now()): { raised: string[]; resolved: string[] } {
    const r = checkDevices(this, this.startedAt, now);
    if (r.raised.length || r.resolved.length) {
      this.db.db.transaction(() => this.trim())();
      this.kickSoon();
    }
    return r;
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
}
