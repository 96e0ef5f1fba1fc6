/** The store (MonitorStore): buffers frame records and commits them with their rollups, picks IndexedDB or memory as its backend, and answers the panel's and sync's queries. */
import { type IDBPDatabase, openDB } from 'idb';
import type { Detection } from '../types/detection.ts';
import type { FrameRecord, Stage } from '../telemetry/record.ts';
import { agreementRollups, bucketStart, emptyRollup, gaugeRollups, mergeRollup, RESOLUTIONS, type Resolution, type Rollup, rollFrames } from '../telemetry/rollup.ts';
import type { DbSpec, StoreDB } from './schema.ts';
import { dimensionsOf, type Filters, percentilesOf, type Range, resolutionFor, rollupMatches, totalsOf } from './queries.ts';

export { type Filters, type Range, resolutionFor } from './queries.ts';
import type { AlertEvent, Baseline } from '../health/types.ts';
import { type Annotation, checkAnnotation, mergeAnnotation } from './annotations.ts';
import { uuidv7 } from '../lib/uuidv7.ts';
import { errorText } from '../lib/errors.ts';
import type { StoreBackend } from './backend.ts';
import { type IndexedDbBackend, indexedDbBackend } from './indexeddb.ts';
import { MemoryBackend } from './memory.ts';
import { SeriesCache } from './series-cache.ts';
import { DEFAULT_RETENTION, type RetentionOptions } from './retention.ts';
import type { LogQuery } from './log.ts';
import type { AlertQuery } from './history.ts';
import { shortVersion } from '../lib/short-version.ts';

export { DEFAULT_RETENTION, type RetentionOptions } from './retention.ts';

export interface StoreOptions {
  dbName?: string;
  /** commit at least this often (ms) */
  flushIntervalMs?: number;
  /** …or when this many records are buffered */
  flushCount?: number;
  retention?: Partial<RetentionOptions>;
}

export interface StoreStatus {
  /** where the data lives: this page's IndexedDB, memory (IndexedDB unavailable), or a fleet server (the panel's ServerSource) */
  mode: 'indexeddb' | 'memory' | 'server';
  error?: string;
  /** records written to IndexedDB since start */
  written: number;
  /** records buffered, not yet committed */
  buffered: number;
  /** raw frames evicted early to make room (quota) */
  evicted: number;
  /** failed commits (retried) */
  failedCommits: number;
  lastFlushAt?: number;
}

const isQuota = (e: unknown) => (e as DOMException)?.name === 'QuotaExceededError';

/** A flush's rollup deltas: its records rolled up at every resolution, with the gauge samples and reference verdicts (addGauges, addAgreement) merged in. */
function rollupDeltas(batch: FrameRecord[], gauges: Rollup[] = []): Rollup[] {
  const out: Rollup[] = [];
  const byKey = new Map<string, Rollup>();
  for (const g of gauges) {
    const k = `${g.res}|${g.start}|${g.mv}|${g.g}`;
    const r = byKey.get(k);
    if (r) mergeRollup(r, g);
    else byKey.set(k, g);
  }
  for (const res of Object.keys(RESOLUTIONS) as Resolution[])
    for (const r of rollFrames(batch, res).values()) {
      const k = `${r.res}|${r.start}|${r.mv}|${r.g}`;
      const gauge = byKey.get(k);
      if (gauge) {
        mergeRollup(r, gauge);
        byKey.delete(k);
      }
      out.push(r);
    }
  out.push(...byKey.values());
  return out;
}

/**
 * The store: buffers frame records and commits them with their rollups in one relaxed readwrite
 * transaction per flush; enforces retention; answers queries. Runs in a worker. If IndexedDB is
 * unavailable (or keeps failing) it keeps working in memory and says so in its status.
 */
export class MonitorStore {
  /** IndexedDB while it is open and working; undefined: the data lives in `memory` */
  private idb?: IndexedDbBackend;
  /** the memory backend: the data when IndexedDB is unavailable, and a mirror of the history written */
  private readonly memory: MemoryBackend;
  private readonly cache = new SeriesCache();
  private buffer: FrameRecord[] = [];
  private detections: { id: string; t: number; detections: Detection[] }[] = [];
  private gauges: Rollup[] = [];
  private models = new Map<string, string>();
  private timer?: ReturnType<typeof setTimeout>;
  private flushing?: Promise<void>;
  private status: StoreStatus = { mode: 'indexeddb', written: 0, buffered: 0, evicted: 0, failedCommits: 0 };
  private retention: RetentionOptions;
  private readonly flushIntervalMs: number;
  private readonly flushCount: number;

  /** `db`: the page's database (its name, version and every feature's migrations; see hub/database.ts). */
  constructor(
    private readonly options: StoreOptions,
    private readonly spec: DbSpec,
  ) {
    this.flushIntervalMs = options.flushIntervalMs ?? 500;
    this.flushCount = options.flushCount ?? 1000;
    this.retention = { ...DEFAULT_RETENTION, ...options.retention, rollupMaxAgeMs: { ...DEFAULT_RETENTION.rollupMaxAgeMs, ...options.retention?.rollupMaxAgeMs } };
    this.memory = new MemoryBackend(this.retention);
  }

  /** Where the data is read from and written to now. */
  private get backend(): StoreBackend {
    return this.idb ?? this.memory;
  }

  /** Opens (and migrates) the database; on failure the store runs in memory. Never throws. */
  async open(): Promise<StoreStatus> {
    try {
      if (typeof indexedDB === 'undefined') throw new Error('IndexedDB is not available here');
      const db = await Promise.race([
        openDB<StoreDB>(this.options.dbName ?? this.spec.name, this.spec.version, {
          upgrade: (db, oldVersion, newVersion, tx) => {
            for (let v = oldVersion + 1; v <= (newVersion ?? this.spec.version); v++) this.spec.migrations[v]?.(db, tx);
          },
          blocking: () => this.idb?.db.close(), // a newer tab upgrades: step aside
        }),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('opening IndexedDB is blocked (another tab holds an old version open)')), 10_000)),
      ]);
      this.idb = indexedDbBackend(db, (e) => this.noteFailure(e));
      this.status.mode = 'indexeddb';
      delete this.status.error;
    } catch (e) {
      this.idb = undefined;
      this.status.mode = 'memory';
      this.status.error = `storage unavailable, keeping data in memory only: ${(e as Error).message}`;
    }
    return this.getStatus();
  }

  /** The open database (undefined while in memory): for the parts of the page's store kept beside this one (flagged frames). */
  get database(): IDBPDatabase<StoreDB> | undefined {
    return this.idb?.db;
  }

  /** The full sha256 behind a short model version, when seen. */
  fullVersion(mv: string): string {
    return this.models.get(shortVersion(mv)) ?? mv;
  }

  getStatus(): StoreStatus {
    return { ...this.status, buffered: this.buffer.length };
  }

  /** Registers the full sha256 behind a short model version. */
  noteModel(sha256: string) {
    this.models.set(shortVersion(sha256), sha256);
  }

  /** Queues records (and optionally their full detections); commits on the interval or when enough are queued. */
  add(records: FrameRecord[], detections?: { id: string; t: number; detections: Detection[] }[]) {
    for (const r of records) this.buffer.push(r);
    if (detections) for (const d of detections) this.detections.push(d);
    if (this.detections.length > this.retention.detectionsMaxCount) this.detections.splice(0, this.detections.length - this.retention.detectionsMaxCount);
    if (this.buffer.length >= this.flushCount) void this.flush();
    else if (!this.timer) this.timer = setTimeout(() => void this.flush(), this.flushIntervalMs);
  }

  /** Commits everything buffered now. Resolves when committed (or kept in memory). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.flushing) await this.flushing;
    if (!this.buffer.length && !this.detections.length && !this.gauges.length) return;
    const batch = this.buffer;
    const dets = this.detections;
    const gauges = this.gauges;
    this.buffer = [];
    this.detections = [];
    this.gauges = [];
    this.flushing = this.commit(batch, dets, gauges).finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  /**
   * A page resource sample (heap MB, long tasks, whether results flowed) for a stream; kept in the rollups'
   * gauges, committed with the next flush.
   */
  addGauges(t: number, mv: string, g: string, values: Record<string, number>) {
    this.gauges.push(...gaugeRollups(t, mv, g, values));
    if (!this.timer) this.timer = setTimeout(() => void this.flush(), this.flushIntervalMs);
  }

  /**
   * A reference model's verdict on a frame (the frame's time, model version, tag key, and the deployed model's
   * counts against the reference): kept in the rollups' `ag` of the frame's buckets (telemetry/rollup.ts
   * agreementRollups), committed with the next flush.
   */
  addAgreement(t: number, mv: string, g: string, counts: { tp: number; fp: number; fn: number; byClass?: Record<string, { tp: number; fp: number; fn: number }> }) {
    this.gauges.push(...agreementRollups(t, mv, g, counts));
    if (!this.timer) this.timer = setTimeout(() => void this.flush(), this.flushIntervalMs);
  }

  private async commit(batch: FrameRecord[], dets: { id: string; t: number; detections: Detection[] }[], gauges: Rollup[] = []): Promise<void> {
    const idb = this.idb;
    if (!idb) return this.memory.commit(batch, dets, this.models, rollupDeltas(batch, gauges));
    const deltas = rollupDeltas(batch, gauges);
    for (let attempt = 0; ; attempt++) {
      try {
        await idb.commit(batch, dets, this.models, deltas);
        this.cache.invalidate(deltas);
        this.status.written += batch.length;
        this.status.lastFlushAt = Date.now();
        return;
      } catch (e) {
        this.status.failedCommits++;
        if (isQuota(e) && attempt < 5) {
          // make room: oldest raw frames go first, never rollups
          await this.evictOldestFrames(Math.max(1000, batch.length * 4));
          continue;
        }
        if (attempt < 1 && !isQuota(e)) continue;
        // storage keeps failing: switch to memory, keep the batch
        this.status.mode = 'memory';
        this.status.error = `storage failed, keeping data in memory only: ${(e as Error)?.message ?? e}`;
        idb.db.close();
        this.idb = undefined;
        return this.memory.commit(batch, dets, this.models, rollupDeltas(batch, gauges));
      }
    }
  }

  /** Deletes at least n of the oldest raw frames (whole blocks), and their detections. */
  async evictOldestFrames(n: number): Promise<number> {
    const deleted = await this.backend.evictOldestFrames(n);
    this.status.evicted += deleted;
    return deleted;
  }

  /** Number of raw frames stored (from block keys; no values read). */
  async frameCount(): Promise<number> {
    return this.backend.frameCount();
  }

  /**
   * Applies retention (age and count limits, in whole blocks of ≤ 5 s). Call under a Web Lock so only
   * one tab does it at a time.
   */
  async applyRetention(now = Date.now()): Promise<{ frames: number }> {
    return this.backend.applyRetention(now, this.retention, (res, cut) => this.cache.forgetBefore(res, cut));
  }

  /** Merges rollups in as they are (imports, benchmarks, sync from another device). */
  async importRollups(rows: Rollup[]): Promise<void> {
    const idb = this.idb;
    // the series cache holds only what was read from IndexedDB (see rollupsIn)
    if (!idb) return this.memory.importRollups(rows);
    this.cache.invalidate('all');
    await idb.importRollups(rows);
    this.cache.invalidate('all'); // again: a read made before the import may have cached what it replaced
  }

  // ---------- queries ----------

  private async rollupsIn(res: Resolution, from: number, to: number, f: Filters): Promise<Rollup[]> {
    const start = bucketStart(from, res);
    const idb = this.idb;
    // closed buckets' rollups are cached as read from IndexedDB (memory's are merged into in place: never cached)
    const rows = idb ? await this.cache.rollups(res, start, to, (a, b) => idb.rollupsBetween(res, a, b)) : await this.memory.rollupsBetween(res, start, to);
    return rows.filter((r) => rollupMatches(r, f));
  }

  /** Everything in a range merged into one rollup (at the range's resolution). */
  async merged(range: Range): Promise<Rollup> {
    const res = resolutionFor(range.from, range.to);
    const out = emptyRollup(res, range.from, range.mv ?? '*', '*');
    for (const r of await this.rollupsIn(res, range.from, range.to, range)) mergeRollup(out, r);
    return out;
  }

  /** The model versions, camera_ids and locations that have data in a range (for filter choices). */
  async dimensions(range: { from: number; to: number }) {
    const rows = await this.rollupsIn(resolutionFor(range.from, range.to), range.from, range.to, {});
    const dims = dimensionsOf(rows);
    return { ...dims, models: Object.fromEntries([...this.models].filter(([k]) => dims.mv.includes(k))) };
  }

  /** Totals over any range: frames, errors, success rate, mean confidence, class counts. */
  async totals(range: Range) {
    return totalsOf(await this.merged(range));
  }

  /** Percentiles of a stage's latency (or of confidence) over a range, from merged histograms. */
  async percentiles(range: Range, what: Stage | 'confidence', qs: number[] = [0.5, 0.95, 0.99]) {
    return percentilesOf(await this.merged(range), what, qs);
  }

  /**
   * A time series over a range at the resolution the range calls for, columnar (`t` plus one array per
   * metric, as uPlot takes them); buckets with no frames are absent.
   */
  async series(range: Range, res: Resolution = resolutionFor(range.from, range.to)) {
    return this.cache.series(range, res, (r, a, b, f) => this.rollupsIn(r, a, b, f), () => this.idb?.db);
  }

  /**
   * The inference log: newest first, in pages; pass the previous page's `next` as `before` to continue,
   * or the newest id you have as `after` for only what came since (a live view's refresh).
   */
  async log(opts: LogQuery = {}) {
    return this.backend.log(opts, Math.min(opts.limit ?? 50, 1000));
  }

  // ---------- annotations ----------

  /**
   * Attaches metadata to an inference by its id (merged over what it has; null removes a key); a TypeError
   * names a bad key or value. Kept as long as the year's alerts (an inference's frame record may go sooner).
   */
  async annotate(src: string, id: string, meta: unknown): Promise<Annotation> {
    const patch = checkAnnotation(id, meta);
    const merge = (old: Annotation | undefined): Annotation => ({ id, src: old?.src ?? src, meta: mergeAnnotation(old?.meta ?? {}, patch), seq: uuidv7() });
    const a = await this.backend.annotate(id, merge);
    this.memory.keepAnnotation(a); // the mirror (where memory is the backend, it has it already)
    return a;
  }

  /** Annotation changes after `seq` (oldest first), at most `limit` (for sync). */
  async annotationsAfter(seq: string, limit: number): Promise<Annotation[]> {
    return this.backend.annotationsAfter(seq, limit);
  }

  // ---------- baselines, alert history, settings ----------

  /** A history write: to memory (so a fallback keeps what this worker wrote), then to IndexedDB while open. */
  private async mirror(write: (b: StoreBackend) => Promise<void>) {
    const idb = this.idb;
    await write(this.memory);
    if (idb) await write(idb);
  }

  async baselines(): Promise<Baseline[]> {
    return this.backend.baselines();
  }

  async putBaseline(b: Baseline): Promise<void> {
    await this.mirror((s) => s.putBaseline(b));
  }

  async deleteBaseline(mv: string, camera: string): Promise<void> {
    await this.mirror((s) => s.deleteBaseline(mv, camera));
  }

  async addAlert(a: AlertEvent): Promise<void> {
    await this.mirror((s) => s.addAlert(a));
  }

  /** Alert history, newest first, in pages (pass the previous page's `next` as `before`). */
  async alerts(q: AlertQuery = {}) {
    const limit = Math.min(q.limit ?? 100, 1000);
    const rows = await this.backend.alerts(q, limit);
    return { rows: rows.slice(0, limit), next: rows.length > limit ? rows[limit - 1]!.id : undefined };
  }

  /** Every rollup of a resolution whose bucket starts in [from, to] (all tag combinations), oldest first. */
  async rollupsBetween(res: Resolution, from: number, to: number): Promise<Rollup[]> {
    if (from > to) return [];
    // IndexedDB's come in key order (oldest first already); memory's in the order merged
    return (await this.backend.rollupsBetween(res, from, to)).sort((a, b) => a.start - b.start);
  }

  /** Alert state changes after an id (oldest first), up to `limit`. */
  async alertsAfter(after: string, limit: number): Promise<AlertEvent[]> {
    return this.backend.alertsAfter(after, limit);
  }

  async getMeta<T>(key: string): Promise<T | undefined> {
    return (await this.backend.getMeta(key)) as T | undefined;
  }

  async setMeta(key: string, value: unknown): Promise<void> {
    await this.mirror((s) => s.setMeta(key, value));
  }

  private noteFailure(e: unknown) {
    this.status.failedCommits++;
    this.status.error = `a write failed: ${errorText(e)}`;
  }

  /** Storage used and quota (navigator.storage.estimate), and whether storage is persistent. */
  async usage() {
    const est = await navigator.storage?.estimate?.().catch(() => undefined);
    const persisted = await navigator.storage?.persisted?.().catch(() => false);
    return { usage: est?.usage, quota: est?.quota, persisted: Boolean(persisted), status: this.getStatus() };
  }

  async close() {
    await this.flush();
    this.idb?.db.close();
    this.idb = undefined;
  }
}
