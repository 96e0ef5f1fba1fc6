/**
 * The sync outbox, run by the hub worker: every interval it gathers what is new since the last batch —
 * closed 1-min rollups, alert changes, flagged frames' metadata (images if asked), new baselines — into one
 * batch with the next sequence number, keeps it in a bounded persistent queue, and sends the queue oldest
 * first: gzip when the server takes it, a bearer token, exponential back-off with jitter, `Retry-After`
 * honoured, and at once when the network comes back. A batch leaves the queue only when the server
 * acknowledged its sequence (or refused it as malformed, which is counted): nothing is lost silently.
 */
import { type Batch, type MonitorInfo, SYNC_VERSION } from './payload.ts';

/** Where the outbox sends, how often, and what. */
export interface SyncConfig {
  url: string;
  token?: string;
  /** ms between batches (default 60 s; at least 1 s) */
  intervalMs: number;
  /** also send flagged frames' JPEGs */
  images: boolean;
}

/** What is new since the last batch, and the cursor that marks it taken. */
export interface Collected extends Pick<Batch, 'rollups' | 'alerts' | 'flagged' | 'baselines' | 'annotations' | 'verdicts' | 'challengers'> {
  cursor: SyncCursor;
  /** more was new than one batch carries: the next batch follows at once */
  more?: boolean;
  /** items left out because the server's schema would refuse them */
  skipped?: number;
}

/** How far the batches made so far reach (persisted with the queue, so a reload neither repeats nor skips). */
export interface SyncCursor {
  /** start of the last 1-min bucket sent */
  rollupsUpTo: number;
  /** newest alert id sent */
  alertsAfter: string;
  /** newest flagged id sent */
  flaggedAfter: string;
  /** baselines sent: `mv|camera|condition` → createdAt */
  baselines: Record<string, number>;
  /** the last annotation change sent (absent in a cursor saved before annotations: none sent yet) */
  annotationsAfter?: string;
  /** the last verdict change sent (absent: none sent yet) */
  verdictsAfter?: string;
}

export interface QueuedBatch {
  seq: number;
  body: string;
  bytes: number;
  createdAt: number;
}

export interface OutboxState {
  /** the sync source id: this origin's, made once */
  sourceId: string;
  nextSeq: number;
  cursor: SyncCursor;
  /** batches dropped from the full queue and not yet reported in a batch */
  droppedUnreported: number;
  stats: SyncStats;
}

export interface SyncStats {
  sent: number;
  /** refused by the server as malformed (4xx other than auth and rate limits): dropped, counted */
  rejected: number;
  /** dropped from the full queue, oldest first */
  dropped: number;
  /** items (a rollup, an alert…) left out of batches because the server's schema would refuse them */
  skipped?: number;
  lastSuccessAt?: number;
  lastAttemptAt?: number;
  lastError?: { code: SyncErrorCode; message: string; at: number; status?: number };
}

export type SyncErrorCode = 'sync-unauthorized' | 'sync-failed' | 'sync-rejected';

/** Where the queue and its state live: IndexedDB in the hub worker, memory in tests. */
export interface OutboxPersistence {
  load(): Promise<{ state?: OutboxState; queue: QueuedBatch[] }>;
  /** appends a batch and saves the state that goes with it, together */
  append(batch: QueuedBatch, state: OutboxState): Promise<void>;
  remove(seqs: number[], state: OutboxState): Promise<void>;
  saveState(state: OutboxState): Promise<void>;
}

export interface SyncStatus {
  /** `elsewhere`: another page of this origin syncs (the outbox is the origin's; one page runs it at a time) */
  state: 'off' | 'idle' | 'sending' | 'waiting' | 'offline' | 'elsewhere';
  url?: string;
  sourceId?: string;
  backlog: { batches: number; bytes: number; oldestAt?: number };
  nextAttemptAt?: number;
  stats: SyncStats;
}

export const DEFAULT_INTERVAL_MS = 60_000;
/** the queue's bounds: oldest dropped first (and counted) past these */
export const MAX_QUEUE = { batches: 2000, bytes: 50_000_000 };
/** a `keepalive` request may carry at most 64 KiB */
const KEEPALIVE_BYTES = 60_000;
const BACKOFF = { firstMs: 1000, maxMs: 5 * 60_000 };

interface Deps {
  persistence: OutboxPersistence;
  /** what is new after `cursor` (closed rollups up to `closedUpTo`) */
  collect(cursor: SyncCursor, closedUpTo: number, images: boolean): Promise<Collected>;
  monitors(): MonitorInfo[];
  deviceId(): string | undefined;
  appVersion: string;
  fetch?: typeof fetch;
  now?: () => number;
  random?: () => number;
  newId(): string;
  /** a sync error, or its end (undefined after a success) */
  onError?(e: { code: SyncErrorCode; message: string; status?: number } | undefined): void;
  /** gzip a body (CompressionStream where there is one) */
  gzip?: (text: string) => Promise<Blob | undefined>;
  /** a batch as the body sent (default: the batch's JSON; OTLP: its metrics export) */
  format?: (batch: Batch) => string;
  /** whether a 2xx answer acknowledges the batch (default: `{ack: seq}` in its JSON; an OTLP collector: any 2xx) */
  acknowledged?: (res: Response, seq: number) => Promise<boolean>;
}

/** The fleet server acknowledges a batch by its sequence number. */
const ackBySeq = async (res: Response, seq: number) => ((await res.json().catch(() => ({}))) as { ack?: number }).ack === seq;

const freshCursor = (now: number): SyncCursor => ({ rollupsUpTo: Math.floor(now / 60_000) * 60_000 - 60 * 60_000, alertsAfter: '', flaggedAfter: '', baselines: {} });

/** gzip with CompressionStream (browsers, Node 18+); undefined where there is none. */
export async function gzipText(text: string): Promise<Blob | undefined> {
  if (typeof CompressionStream === 'undefined') return undefined;
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Response(stream).blob();
}

export class SyncOutbox {
  private config?: SyncConfig;
  private state?: OutboxState;
  private queue: QueuedBatch[] = [];
  private timer?: ReturnType<typeof setTimeout>;
  private sendTimer?: ReturnType<typeof setTimeout>;
  private sending?: Promise<void>;
  private attempt = 0;
  private nextAttemptAt?: number;
  private gzipOk = true;
  private offline = false;
  private loaded?: Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly fetch: typeof fetch;
  private lastErrorCode?: SyncErrorCode;
  /** the state's changes, one at a time: a batch gathered while another's answer is written down must
   * neither reuse its sequence number nor write back the counts from before it */
  private changing: Promise<unknown> = Promise.resolve();
  /** the batch being sent */
  private inFlight?: number;
  /** whether this page runs the outbox (see follow/lead) */
  private leading = true;

  constructor(private readonly deps: Deps) {
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
    this.fetch = deps.fetch ?? ((...a) => fetch(...a));
  }

  /** Reads the queue and state kept from before (once). */
  load(): Promise<void> {
    this.loaded ??= this.deps.persistence.load().then(({ state, queue }) => {
      this.state = state ?? { sourceId: this.deps.newId(), nextSeq: 1, cursor: freshCursor(this.now()), droppedUnreported: 0, stats: { sent: 0, rejected: 0, dropped: 0 } };
      this.queue = queue.sort((a, b) => a.seq - b.seq);
      if (!state && this.leading) return this.deps.persistence.saveState(this.state);
    });
    return this.loaded;
  }

  /**
   * Another page of this origin runs the outbox (its state and queue are the origin's, in IndexedDB): this
   * one gathers and sends nothing until `lead()`. Before `configure`.
   */
  follow() {
    this.leading = false;
  }

  /** This page's turn to run the outbox: it takes up the state and queue where the page before left them. */
  async lead(): Promise<void> {
    this.leading = true;
    this.loaded = undefined;
    await this.load();
    if (this.config) {
      this.schedule();
      this.kick();
    }
  }

  /** Starts (or re-aims) syncing; undefined stops it. The queue is kept either way. */
  async configure(config: SyncConfig | undefined): Promise<SyncStatus> {
    await this.load();
    clearTimeout(this.timer);
    clearTimeout(this.sendTimer);
    this.config = config && { ...config, intervalMs: Math.max(1000, config.intervalMs || DEFAULT_INTERVAL_MS) };
    this.attempt = 0;
    this.nextAttemptAt = undefined;
    this.gzipOk = true;
    if (this.config && this.leading) {
      this.schedule();
      this.kick();
    }
    return this.status();
  }

  status(): SyncStatus {
    const q = this.queue;
    return {
      state: !this.config ? 'off' : !this.leading ? 'elsewhere' : this.offline ? 'offline' : this.sending ? 'sending' : this.nextAttemptAt ? 'waiting' : 'idle',
      ...(this.config ? { url: this.config.url } : {}),
      ...(this.state ? { sourceId: this.state.sourceId } : {}),
      backlog: { batches: q.length, bytes: q.reduce((a, b) => a + b.bytes, 0), ...(q.length ? { oldestAt: q[0]!.createdAt } : {}) },
      ...(this.nextAttemptAt ? { nextAttemptAt: this.nextAttemptAt } : {}),
      stats: { ...(this.state?.stats ?? { sent: 0, rejected: 0, dropped: 0 }) },
    };
  }

  private schedule() {
    clearTimeout(this.timer);
    if (!this.config) return;
    this.timer = setTimeout(() => {
      void this.tick();
      this.schedule();
    }, this.config.intervalMs);
  }

  /** One interval: new batches (as many as it takes to catch up, up to 50), then send the queue. */
  async tick(): Promise<void> {
    if (!this.leading) return;
    for (let i = 0; i < 50; i++) {
      const more = await this.enqueue();
      if (!more?.more) break;
    }
    this.kick();
  }

  /** The network is back (or the page is going away): send now, past any back-off. */
  online(isOnline = true) {
    this.offline = !isOnline;
    if (isOnline) {
      this.attempt = 0;
      this.nextAttemptAt = undefined;
      clearTimeout(this.sendTimer);
      this.kick();
    }
  }

  /** The page is hiding: gather what is new and send what fits a keepalive request. */
  async pagehide(): Promise<void> {
    if (!this.config || !this.leading) return;
    await this.enqueue();
    await this.sendQueue(true);
  }

  /** Runs `change` after the changes before it have been written down. */
  private exclusive<T>(change: () => Promise<T>): Promise<T> {
    const run = this.changing.then(change, change);
    this.changing = run.catch(() => undefined);
    return run;
  }

  /** Makes a batch of what is new since the last one and queues it (with its cursor, atomically). */
  async enqueue(): Promise<(QueuedBatch & { more?: boolean }) | undefined> {
    await this.load();
    if (!this.leading) return undefined;
    return this.exclusive(() => this.gather());
  }

  private async gather(): Promise<(QueuedBatch & { more?: boolean }) | undefined> {
    const s = this.state!;
    const now = this.now();
    const closedUpTo = Math.floor((now - 10_000) / 60_000) * 60_000 - 60_000;
    const c = await this.deps.collect(s.cursor, closedUpTo, this.config?.images ?? false);
    if (c.skipped) s.stats = { ...s.stats, skipped: (s.stats.skipped ?? 0) + c.skipped };
    if (!c.rollups.length && !c.alerts.length && !c.flagged.length && !c.baselines.length && !c.annotations?.length && !c.verdicts?.length && !c.challengers?.length && !s.droppedUnreported) {
      s.cursor = c.cursor;
      return undefined;
    }
    const device = this.deps.deviceId();
    const batch: Batch = {
      v: SYNC_VERSION,
      source: { id: s.sourceId, ...(device ? { device_id: device } : {}), app_version: this.deps.appVersion, monitors: this.deps.monitors() },
      seq: s.nextSeq,
      sentAt: now,
      rollups: c.rollups,
      alerts: c.alerts,
      flagged: c.flagged,
      baselines: c.baselines,
      ...(c.annotations?.length ? { annotations: c.annotations } : {}),
      ...(c.verdicts?.length ? { verdicts: c.verdicts } : {}),
      ...(c.challengers?.length ? { challengers: c.challengers } : {}),
      dropped: s.droppedUnreported,
    };
    const body = (this.deps.format ?? JSON.stringify)(batch);
    const q: QueuedBatch = { seq: batch.seq, body, bytes: body.length, createdAt: now };
    const next: OutboxState = { ...s, nextSeq: s.nextSeq + 1, cursor: c.cursor, droppedUnreported: 0 };
    // bounded: the oldest go first, counted (and reported in the next batch)
    const drop: number[] = [];
    let bytes = this.queue.reduce((a, b) => a + b.bytes, 0) + q.bytes;
    for (const old of this.queue) {
      if (this.queue.length - drop.length + 1 <= MAX_QUEUE.batches && bytes <= MAX_QUEUE.bytes) break;
      if (old.seq === this.inFlight) continue; // on its way: it is either acknowledged or tried again
      drop.push(old.seq);
      bytes -= old.bytes;
    }
    if (drop.length) next.stats = { ...next.stats, dropped: next.stats.dropped + drop.length };
    next.droppedUnreported = drop.length;
    if (drop.length) await this.deps.persistence.remove(drop, next);
    await this.deps.persistence.append(q, next);
    this.state = next;
    this.queue = [...this.queue.filter((b) => !drop.includes(b.seq)), q];
    return { ...q, ...(c.more ? { more: true } : {}) };
  }

  private kick() {
    if (!this.config || !this.leading || this.sending || this.offline) return;
    if (this.nextAttemptAt && this.nextAttemptAt > this.now()) return;
    void this.sendQueue(false);
  }

  /** Sends queued batches oldest first until the queue is empty or a request fails (one run at a time). */
  private sendQueue(keepalive: boolean): Promise<void> {
    if (this.sending) return this.sending;
    const run = this.drain(keepalive);
    this.sending = run;
    void run.finally(() => {
      if (this.sending === run) this.sending = undefined;
    });
    return run;
  }

  private async drain(keepalive: boolean) {
    while (this.config && this.queue.length) {
      const b = this.queue[0]!;
      if (keepalive && b.bytes > KEEPALIVE_BYTES * 4) break; // gzip makes rollups ~5× smaller; past that, the next page sends it
      this.inFlight = b.seq;
      try {
        if (!(await this.send(b, keepalive))) break;
      } finally {
        this.inFlight = undefined;
      }
    }
  }

  /** One batch: true when it left the queue (acknowledged, or refused as malformed). */
  private async send(b: QueuedBatch, keepalive: boolean): Promise<boolean> {
    const cfg = this.config!;
    this.state!.stats.lastAttemptAt = this.now();
    const gz = this.gzipOk && this.deps.gzip ? await this.deps.gzip(b.body).catch(() => undefined) : undefined;
    const body = gz ?? b.body;
    const size = gz ? gz.size : b.bytes;
    let res: Response;
    try {
      res = await this.fetch(cfg.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(gz ? { 'content-encoding': 'gzip' } : {}), ...(cfg.token ? { authorization: `Bearer ${cfg.token}` } : {}) },
        body,
        ...(keepalive && size <= KEEPALIVE_BYTES ? { keepalive: true } : {}),
        credentials: 'omit',
      });
    } catch (e) {
      this.fail('sync-failed', `could not reach ${cfg.url}: ${(e as Error)?.message ?? e}`);
      return false;
    }
    if (res.ok) {
      if (!(await (this.deps.acknowledged ?? ackBySeq)(res, b.seq))) {
        this.fail('sync-failed', `the server answered ${res.status} without acknowledging batch ${b.seq}`, res.status);
        return false;
      }
      await this.done(b, (st) => ({ ...st, sent: st.sent + 1, lastSuccessAt: this.now(), lastError: undefined }));
      this.attempt = 0;
      this.nextAttemptAt = undefined;
      if (this.lastErrorCode) this.deps.onError?.(undefined);
      this.lastErrorCode = undefined;
      return true;
    }
    const reason = await res.text().then((t) => t.slice(0, 300)).catch(() => '');
    if (res.status === 415 && gz) {
      this.gzipOk = false; // this server takes plain JSON: again, at once, without gzip
      return this.send(b, keepalive);
    }
    // the token refused, or (403) not allowed this source or device id: the batch stays (bounded queue), retried
    // with back-off up to 5 min, so fixing the server's token list lets it through
    if (res.status === 401 || res.status === 403) {
      this.fail('sync-unauthorized', `the server refused the token (${res.status}${reason ? `: ${reason}` : ''})`, res.status);
      return false;
    }
    if (res.status === 429 || res.status === 503 || res.status >= 500) {
      this.fail('sync-failed', `the server answered ${res.status}${reason ? `: ${reason}` : ''}`, res.status, retryAfter(res.headers.get('retry-after'), this.now()));
      return false;
    }
    // any other 4xx: this batch will never be taken; drop it (counted) rather than block the queue. A 409: the
    // server holds other content under this (source, seq) — retrying the same body can never succeed
    const why = res.status === 409 ? `batch ${b.seq} refused (409: the server holds another batch under this sequence number): ${reason}` : `batch ${b.seq} refused (${res.status}): ${reason}`;
    await this.done(b, (st) => ({ ...st, rejected: st.rejected + 1, lastError: { code: 'sync-rejected', message: why, at: this.now(), status: res.status } }));
    this.report('sync-rejected', why, res.status);
    return true;
  }

  private done(b: QueuedBatch, stats: (s: SyncStats) => SyncStats) {
    return this.exclusive(async () => {
      const next = { ...this.state!, stats: stats(this.state!.stats) };
      if (!next.stats.lastError) delete next.stats.lastError;
      await this.deps.persistence.remove([b.seq], next);
      this.state = next;
      this.queue = this.queue.filter((x) => x.seq !== b.seq);
    });
  }

  /** A failed attempt: back off (exponential with jitter, or as long as Retry-After says), and say so once. */
  private fail(code: SyncErrorCode, message: string, status?: number, retryAt?: number) {
    const lastError = { code, message, at: this.now(), ...(status ? { status } : {}) };
    this.state!.stats = { ...this.state!.stats, lastError }; // shown at once...
    void this.exclusive(() => {
      // ...and kept: a batch gathered meanwhile made its state from the one before
      const s = this.state!;
      if (s.stats.lastError !== lastError) s.stats = { ...s.stats, lastError };
      return this.deps.persistence.saveState(s);
    }).catch(() => undefined);
    const backoff = Math.min(BACKOFF.maxMs, BACKOFF.firstMs * 2 ** this.attempt) * (0.5 + this.random() / 2);
    this.attempt = Math.min(this.attempt + 1, 20);
    const at = Math.max(retryAt ?? 0, this.now() + backoff);
    this.nextAttemptAt = at;
    clearTimeout(this.sendTimer);
    this.sendTimer = setTimeout(() => {
      this.nextAttemptAt = undefined;
      this.kick();
    }, at - this.now());
    this.report(code, message, status);
  }

  private report(code: SyncErrorCode, message: string, status?: number) {
    if (this.lastErrorCode === code && code !== 'sync-rejected') return; // said once, not at every retry
    this.lastErrorCode = code;
    this.deps.onError?.({ code, message, ...(status ? { status } : {}) });
  }

  stop() {
    clearTimeout(this.timer);
    clearTimeout(this.sendTimer);
    this.config = undefined;
  }
}

/** A `Retry-After` header (seconds, or an HTTP date) as an epoch ms, capped at an hour. */
export function retryAfter(h: string | null, now: number): number | undefined {
  if (!h) return undefined;
  const s = Number(h);
  const at = Number.isFinite(s) ? now + s * 1000 : Date.parse(h);
  return Number.isFinite(at) ? Math.min(at, now + 3600_000) : undefined;
}
