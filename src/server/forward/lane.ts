/**
 * A target's delivery lane: a worker that POSTs its queued rows one at a time in queue order (10-s limit,
 * Idempotency-Key), settles each in the queue, and for Alertmanager re-posts the firing alerts periodically.
 */
import type { ForwardConfig } from '../config.ts';
import type { FleetDb } from '../db.ts';
import { firingForAlertmanager, head, type Log, type Sent, settle } from './queue.ts';
import type { Target } from './targets.ts';

const TIMEOUT_MS = 10_000;
/** rows a worker sends before it yields to the event loop */
const BATCH = 100;
/** a worker looks at its queue at least this often */
const IDLE_MS = 5000;
/** firing alerts per refresh POST */
const REFRESH_CHUNK = 500;
/** answers that refuse the body itself: retrying cannot help */
const PERMANENT = new Set([400, 413, 422]);

/** What a lane needs of the forwarder. */
export interface LaneHost {
  readonly db: FleetDb;
  readonly settings: ForwardConfig;
  readonly log: Log;
  /** the link to a source's panel */
  panel(source: string): string;
  /** alerts (alertKey) whose firing quiet hours hold back: not re-posted to Alertmanager */
  held?(): Set<string>;
}

/** A Retry-After header (seconds or an HTTP date) in ms from now, or undefined. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const s = header.trim();
  if (/^\d{1,10}$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}

/** One target's worker: its queue in order, one POST at a time; for Alertmanager also the periodic re-post. */
export class Lane {
  running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private again = false;
  private ac: AbortController | null = null;
  private refreshAt = 0;
  private failing = false;
  private stopped = false;

  constructor(
    private readonly fw: LaneHost,
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
      const row = head(this.fw.db, name);
      if (!row || row.next_at > Date.now()) break;
      const r = await this.send(row.body, row.idem);
      if (r.aborted) return IDLE_MS;
      settle(this.fw.db, this.fw.settings, this.fw.log, name, row, r);
      this.note(r);
      if (!r.ok) break;
    }
    if (name === 'alertmanager' && !this.stopped && Date.now() >= this.refreshAt) {
      this.refreshAt = Date.now() + this.fw.settings.alertmanagerRepeatMs;
      const alerts = firingForAlertmanager(this.fw.db, (source) => this.fw.panel(source), this.fw.held?.());
      for (let i = 0; i < alerts.length && !this.stopped; i += REFRESH_CHUNK) {
        const r = await this.send(JSON.stringify(alerts.slice(i, i + REFRESH_CHUNK)));
        if (r.aborted) return IDLE_MS;
        this.note(r);
        if (!r.ok) break;
      }
    }
    const now = Date.now();
    let wait = IDLE_MS;
    const first = head(this.fw.db, name);
    if (first) wait = Math.min(wait, first.next_at - now);
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
