import { type IDBPDatabase, openDB } from 'idb';
import type { Detection } from '../types/detection.ts';
import { type FrameRecord, parseTagKey, type Stage } from '../telemetry/record.ts';
import { bucketStart, emptyRollup, gaugeRollups, mergeRollup, RESOLUTIONS, type Resolution, type Rollup, rollFrames } from '../telemetry/rollup.ts';
import type { DbSpec, StoreDB } from './schema.ts';
import { idFloor, idTime } from '../lib/uuidv7.ts';
import { seriesPageMs } from './series-page.ts';
import { deleteSeriesPages, dropSeriesPages, SeriesCache } from './series-cache.ts';
import { BLOCK_SPAN_MS, packBlocks, unpackBlock } from './frame-block.ts';
import { type Filters, frameMatches, percentilesOf, type Range, resolutionFor, rollupMatches, totalsOf } from './queries.ts';

export { type Filters, type Range, resolutionFor } from './queries.ts';
import type { AlertEvent, Baseline } from '../health/engine.ts';
import { type Annotation, checkAnnotation, mergeAnnotation } from './annotations.ts';
import { uuidv7 } from '../lib/uuidv7.ts';

export interface RetentionOptions {
  /** raw frames older than this are deleted (ms; default 24 h) */
  frameMaxAgeMs: number;
  /** at most this many raw frames (default 500,000) */
  frameMaxCount: number;
  /** 10-s rollups (default 24 h), 1-min (30 days), 1-h (1 year) */
  rollupMaxAgeMs: Record<Resolution, number>;
  /** full detections kept for the newest frames (default 2,000) */
  detectionsMaxCount: number;
  /** alert history: at most this many state changes (default 10,000), none older than a year */
  alertsMaxCount: number;
}

export const DEFAULT_RETENTION: RetentionOptions = {
  frameMaxAgeMs: 24 * 3600_000,
  frameMaxCount: 500_000,
  rollupMaxAgeMs: { '10s': 24 * 3600_000, '1m': 30 * 24 * 3600_000, '1h': 365 * 24 * 3600_000 },
  detectionsMaxCount: 2_000,
  alertsMaxCount: 10_000,
};

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

/**
 * The store: buffers frame records and commits them with their rollups in one relaxed readwrite
 * transaction per flush; enforces retention; answers queries. Runs in a worker. If IndexedDB is
 * unavailable it keeps working in memory and says so in its status.
 */
export class MonitorStore {
  private db?: IDBPDatabase<StoreDB>;
  private buffer: FrameRecord[] = [];
  private detections: { id: string; t: number; detections: Detection[] }[] = [];
  private gauges: Rollup[] = [];
  private models = new Map<string, string>();
  private timer?: ReturnType<typeof setTimeout>;
  private flushing?: Promise<void>;
  private status: StoreStatus = { mode: 'indexeddb', written: 0, buffered: 0, evicted: 0, failedCommits: 0 };
  private retention: RetentionOptions;
  private memFrames: FrameRecord[] = [];
  private memRollups = new Map<string, Rollup>();
  private readonly cache = new SeriesCache();
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
  }

  /** Opens (and migrates) the database; on failure the store runs in memory. Never throws. */
  async open(): Promise<StoreStatus> {
    try {
      if (typeof indexedDB === 'undefined') throw new Error('IndexedDB is not available here');
      this.db = await Promise.race([
        openDB<StoreDB>(this.options.dbName ?? this.spec.name, this.spec.version, {
          upgrade: (db, oldVersion, newVersion, tx) => {
            for (let v = oldVersion + 1; v <= (newVersion ?? this.spec.version); v++) this.spec.migrations[v]?.(db, tx);
          },
          blocking: () => this.db?.close(), // a newer tab upgrades: step aside
        }),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('opening IndexedDB is blocked (another tab holds an old version open)')), 10_000)),
      ]);
      this.status.mode = 'indexeddb';
      delete this.status.error;
    } catch (e) {
      this.db = undefined;
      this.status.mode = 'memory';
      this.status.error = `storage unavailable, keeping data in memory only: ${(e as Error).message}`;
    }
    return this.getStatus();
  }

  /** The open database (undefined while in memory): for the parts of the page's store kept beside this one (flagged frames). */
  get database(): IDBPDatabase<StoreDB> | undefined {
    return this.db;
  }

  /** The full sha256 behind a short model version, when seen. */
  fullVersion(mv: string): string {
    return this.models.get(mv.slice(0, 12)) ?? mv;
  }

  getStatus(): StoreStatus {
    return { ...this.status, buffered: this.buffer.length };
  }

  /** Registers the full sha256 behind a short model version. */
  noteModel(sha256: string) {
    this.models.set(sha256.slice(0, 12), sha256);
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

  private deltas(batch: FrameRecord[], gauges: Rollup[] = []): Rollup[] {
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

  private async commit(batch: FrameRecord[], dets: { id: string; t: number; detections: Detection[] }[], gauges: Rollup[] = []): Promise<void> {
    if (!this.db) return this.commitMemory(batch, gauges);
    const deltas = this.deltas(batch, gauges);
    for (let attempt = 0; ; attempt++) {
      try {
        const tx = this.db.transaction(['frames', 'rollups', 'detections', 'models', 'seriesPages'], 'readwrite', { durability: 'relaxed' });
        const frames = tx.objectStore('frames');
        const rollups = tx.objectStore('rollups');
        for (const block of packBlocks(batch)) void frames.put(block);
        for (const d of dets) void tx.objectStore('detections').put(d);
        for (const [mv, sha256] of this.models) void tx.objectStore('models').put({ mv, sha256, firstSeen: Date.now() });
        // read-modify-write inside the same transaction: other tabs' rollups for the same key merge safely
        await Promise.all(
          deltas.map(async (delta) => {
            const existing = await rollups.get([delta.res, delta.start, delta.mv, delta.g]);
            await rollups.put(existing ? mergeRollup(existing, delta) : delta);
          }),
        );
        await dropSeriesPages(tx.objectStore('seriesPages'), deltas);
        await tx.done;
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
        this.db.close();
        this.db = undefined;
        return this.commitMemory(batch, gauges);
      }
    }
  }

  private commitMemory(batch: FrameRecord[], gauges: Rollup[] = []) {
    this.memFrames.push(...batch);
    const cap = Math.min(this.retention.frameMaxCount, 50_000);
    if (this.memFrames.length > cap) this.memFrames.splice(0, this.memFrames.length - cap);
    for (const d of this.deltas(batch, gauges)) {
      const k = `${d.res}|${d.start}|${d.mv}|${d.g}`;
      const r = this.memRollups.get(k);
      this.memRollups.set(k, r ? mergeRollup(r, d) : d);
    }
  }

  /** Deletes at least n of the oldest raw frames (whole blocks), and their detections. */
  async evictOldestFrames(n: number): Promise<number> {
    if (!this.db) return 0;
    const tx = this.db.transaction(['frames', 'detections'], 'readwrite');
    let cursor = await tx.objectStore('frames').openKeyCursor();
    let deleted = 0;
    let last: [string, number] | undefined;
    while (cursor && deleted < n) {
      last = cursor.primaryKey;
      deleted += last[1];
      cursor = await cursor.continue();
    }
    if (last) {
      await tx.objectStore('frames').delete(IDBKeyRange.upperBound(last));
      // detections of evicted frames: everything before the next block's first id
      if (cursor) await tx.objectStore('detections').delete(IDBKeyRange.upperBound(cursor.primaryKey[0], true));
      else await tx.objectStore('detections').clear();
    }
    await tx.done;
    this.status.evicted += deleted;
    return deleted;
  }

  /** Number of raw frames stored (from block keys; no values read). */
  async frameCount(): Promise<number> {
    if (!this.db) return this.memFrames.length;
    let n = 0;
    let cursor = await this.db.transaction('frames').store.openKeyCursor();
    while (cursor) {
      n += cursor.primaryKey[1];
      cursor = await cursor.continue();
    }
    return n;
  }

  /**
   * Applies retention (age and count limits, in whole blocks of ≤ 5 s). Call under a Web Lock so only
   * one tab does it at a time.
   */
  async applyRetention(now = Date.now()): Promise<{ frames: number }> {
    if (!this.db) return { frames: 0 };
    const r = this.retention;
    const before = await this.frameCount();
    const tx = this.db.transaction(['frames', 'rollups', 'detections', 'alerts', 'seriesPages', 'annotations'], 'readwrite');
    const frames = tx.objectStore('frames');
    await tx.objectStore('annotations').delete(IDBKeyRange.upperBound(idFloor(now - 365 * 24 * 3600_000), true));
    // blocks that started over a span before the cutoff hold only frames older than it
    const ageCut = idFloor(now - r.frameMaxAgeMs - BLOCK_SPAN_MS);
    await frames.delete(IDBKeyRange.upperBound([ageCut]));
    await tx.objectStore('detections').delete(IDBKeyRange.upperBound(idFloor(now - r.frameMaxAgeMs), true));
    // count: keep the newest blocks that fit
    let kept = 0;
    let cursor = await frames.openKeyCursor(null, 'prev');
    while (cursor && kept + cursor.primaryKey[1] <= r.frameMaxCount) {
      kept += cursor.primaryKey[1];
      cursor = await cursor.continue();
    }
    if (cursor) await frames.delete(IDBKeyRange.upperBound(cursor.primaryKey));
    const dcount = await tx.objectStore('detections').count();
    if (dcount > r.detectionsMaxCount) {
      let dc = await tx.objectStore('detections').openKeyCursor();
      let skip = dcount - r.detectionsMaxCount;
      let last: string | undefined;
      while (dc && skip-- > 0) {
        last = dc.primaryKey;
        dc = await dc.continue();
      }
      if (last !== undefined) await tx.objectStore('detections').delete(IDBKeyRange.upperBound(last));
    }
    const alerts = tx.objectStore('alerts');
    await alerts.delete(IDBKeyRange.upperBound(idFloor(now - 365 * 24 * 3600_000), true));
    const acount = await alerts.count();
    if (acount > r.alertsMaxCount) {
      let ac = await alerts.openKeyCursor();
      if (ac && acount - r.alertsMaxCount > 1) ac = await ac.advance(acount - r.alertsMaxCount - 1);
      if (ac) await alerts.delete(IDBKeyRange.upperBound(ac.primaryKey));
    }
    // only buckets past the rollups' age limits go: cached points and rows of younger ones stay valid
    for (const res of Object.keys(RESOLUTIONS) as Resolution[]) this.cache.forgetBefore(res, now - r.rollupMaxAgeMs[res]);
    for (const res of Object.keys(RESOLUTIONS) as Resolution[]) {
      await tx.objectStore('rollups').delete(IDBKeyRange.bound([res, -Infinity], [res, now - r.rollupMaxAgeMs[res]], false, true));
      await deleteSeriesPages(tx.objectStore('seriesPages'), IDBKeyRange.bound([res, -Infinity], [res, now - r.rollupMaxAgeMs[res] - seriesPageMs(res)]));
    }
    await tx.done;
    return { frames: before - (await this.frameCount()) };
  }

  /** Merges rollups in as they are (imports, benchmarks, sync from another device). */
  async importRollups(rows: Rollup[]): Promise<void> {
    if (!this.db) {
      for (const d of rows) {
        const k = `${d.res}|${d.start}|${d.mv}|${d.g}`;
        const r = this.memRollups.get(k);
        this.memRollups.set(k, r ? mergeRollup(r, d) : d);
      }
      return;
    }
    this.cache.invalidate('all');
    const tx = this.db.transaction(['rollups', 'seriesPages'], 'readwrite', { durability: 'relaxed' });
    const store = tx.objectStore('rollups');
    await Promise.all(
      rows.map(async (d) => {
        const existing = await store.get([d.res, d.start, d.mv, d.g]);
        await store.put(existing ? mergeRollup(existing, d) : d);
      }),
    );
    await dropSeriesPages(tx.objectStore('seriesPages'), rows);
    await tx.done;
    this.cache.invalidate('all'); // again: a read made before the import may have cached what it replaced
  }

  // ---------- queries ----------

  private async rollupsIn(res: Resolution, from: number, to: number, f: Filters): Promise<Rollup[]> {
    const start = bucketStart(from, res);
    let rows: Rollup[];
    const db = this.db;
    // closed buckets' rollups are cached as read from IndexedDB (memory's are merged into in place: never cached)
    if (db) rows = await this.cache.rollups(res, start, to, (a, b) => db.getAll('rollups', IDBKeyRange.bound([res, a], [res, b, '\uffff', '\uffff'])));
    else rows = [...this.memRollups.values()].filter((r) => r.res === res && r.start >= start && r.start <= to);
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
    const mv = new Set<string>(), camera_id = new Set<string>(), location = new Set<string>();
    for (const r of rows) {
      mv.add(r.mv);
      const t = parseTagKey(r.g);
      if (t.camera_id) camera_id.add(t.camera_id);
      if (t.location) location.add(t.location);
    }
    const sorted = (s: Set<string>) => [...s].sort();
    return { mv: sorted(mv), camera_id: sorted(camera_id), location: sorted(location), models: Object.fromEntries([...this.models].filter(([k]) => mv.has(k))) };
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
    return this.cache.series(range, res, (r, a, b, f) => this.rollupsIn(r, a, b, f), () => this.db);
  }

  /**
   * The inference log: newest first, in pages; pass the previous page's `next` as `before` to continue,
   * or the newest id you have as `after` for only what came since (a live view's refresh).
   */
  async log(opts: Filters & { before?: string; after?: string; limit?: number } = {}) {
    const limit = Math.min(opts.limit ?? 50, 1000);
    const rows: (FrameRecord & { detections?: Detection[]; annotations?: Record<string, string> })[] = [];
    let next: string | undefined;
    const wanted = (r: FrameRecord) => (opts.before === undefined || r.id < opts.before) && (opts.after === undefined || r.id > opts.after) && frameMatches(r, opts);
    if (!this.db) {
      const all = this.memFrames.filter(wanted);
      const page = all.slice(-limit).reverse().map((r) => {
        const a = this.memAnnotations.get(r.id);
        return a ? { ...r, annotations: a.meta } : r;
      });
      return { rows: page, next: all.length > limit ? all[all.length - limit]!.id : undefined };
    }
    const tx = this.db.transaction(['frames', 'detections', 'annotations']);
    // Blocks come newest first by their first id; a block holds ≤ BLOCK_SPAN_MS of frames, so once the
    // cursor is at first-time T, no unread block holds a frame later than T + span: those are final.
    const candidates: FrameRecord[] = [];
    let cursor = await tx.objectStore('frames').openCursor(opts.before ? IDBKeyRange.upperBound([opts.before]) : null, 'prev');
    const final = (c: FrameRecord, keyT: number) => c.t > keyT + BLOCK_SPAN_MS;
    // blocks that began more than a span before `after` hold nothing later than it
    const afterT = opts.after !== undefined ? idTime(opts.after) : -Infinity;
    while (cursor) {
      const keyT = cursor.value.t0;
      if (keyT + BLOCK_SPAN_MS < afterT) break;
      for (const r of unpackBlock(cursor.value)) if (wanted(r)) candidates.push(r);
      if (candidates.filter((c) => final(c, keyT)).length > limit) break;
      cursor = await cursor.continue();
    }
    candidates.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    rows.push(...candidates.slice(0, limit));
    if (candidates.length > limit) next = rows.at(-1)!.id;
    for (const r of rows) {
      const [d, a] = await Promise.all([tx.objectStore('detections').get(r.id), tx.objectStore('annotations').get(r.id)]);
      if (d) r.detections = d.detections;
      if (a) r.annotations = a.meta;
    }
    return { rows, next };
  }

  // ---------- annotations ----------

  private memAnnotations = new Map<string, Annotation>();

  /**
   * Attaches metadata to an inference by its id (merged over what it has; null removes a key); a TypeError
   * names a bad key or value. Kept as long as the year's alerts (an inference's frame record may go sooner).
   */
  async annotate(src: string, id: string, meta: unknown): Promise<Annotation> {
    const patch = checkAnnotation(id, meta);
    const merge = (old: Annotation | undefined): Annotation => ({ id, src: old?.src ?? src, meta: mergeAnnotation(old?.meta ?? {}, patch), seq: uuidv7() });
    let a: Annotation;
    if (this.db) {
      // read and write in one transaction: two annotations of one inference in a row both stay
      const tx = this.db.transaction('annotations', 'readwrite');
      const written = tx.done.then(() => undefined, (e: unknown) => e ?? new Error('the annotation was not stored'));
      let old: Annotation | undefined;
      try {
        old = await tx.store.get(id);
      } catch (e) {
        await written;
        throw e;
      }
      a = merge(old);
      tx.store.put(a).catch(() => undefined); // its failure is the transaction's
      const failed = await written;
      if (failed) this.noteFailure(failed);
    } else a = merge(this.memAnnotations.get(id));
    this.memAnnotations.set(id, a);
    if (this.memAnnotations.size > 10_000) this.memAnnotations.delete(this.memAnnotations.keys().next().value!);
    return a;
  }

  /** Annotation changes after `seq` (oldest first), at most `limit` (for sync). */
  async annotationsAfter(seq: string, limit: number): Promise<Annotation[]> {
    if (!this.db) return [...this.memAnnotations.values()].filter((a) => a.seq > seq).sort((a, b) => (a.seq < b.seq ? -1 : 1)).slice(0, limit);
    const out: Annotation[] = [];
    let c = await this.db.transaction('annotations').store.index('seq').openCursor(IDBKeyRange.lowerBound(seq, true));
    while (c && out.length < limit) {
      out.push(c.value);
      c = await c.continue();
    }
    return out;
  }

  // ---------- baselines, alert history, settings ----------

  private memBaselines = new Map<string, Baseline>();
  private memAlerts: AlertEvent[] = [];
  private memMeta = new Map<string, unknown>();

  async baselines(): Promise<Baseline[]> {
    if (!this.db) return [...this.memBaselines.values()];
    return this.db.getAll('baselines');
  }

  async putBaseline(b: Baseline): Promise<void> {
    this.memBaselines.set(`${b.mv}|${b.camera}`, b);
    await this.db?.put('baselines', b).catch((e) => this.noteFailure(e));
  }

  async deleteBaseline(mv: string, camera: string): Promise<void> {
    this.memBaselines.delete(`${mv}|${camera}`);
    await this.db?.delete('baselines', [mv, camera]).catch((e) => this.noteFailure(e));
  }

  async addAlert(a: AlertEvent): Promise<void> {
    this.memAlerts.push(a);
    if (this.memAlerts.length > this.retention.alertsMaxCount) this.memAlerts.shift();
    await this.db?.put('alerts', a).catch((e) => this.noteFailure(e));
  }

  /** Alert history, newest first, in pages (pass the previous page's `next` as `before`). */
  async alerts(q: { from?: number; to?: number; camera_id?: string; rule?: string; before?: string; limit?: number } = {}) {
    const limit = Math.min(q.limit ?? 100, 1000);
    const ok = (a: AlertEvent) =>
      (q.from === undefined || a.t >= q.from) && (q.to === undefined || a.t <= q.to) && (q.camera_id === undefined || a.camera_id === q.camera_id) && (q.rule === undefined || a.rule === q.rule) && (q.before === undefined || a.id < q.before);
    const rows: AlertEvent[] = [];
    if (!this.db) rows.push(...this.memAlerts.filter(ok).reverse().slice(0, limit + 1));
    else {
      const upper = q.before ?? (q.to !== undefined ? idFloor(q.to + 1) : undefined);
      let c = await this.db.transaction('alerts').store.openCursor(upper ? IDBKeyRange.upperBound(upper, true) : null, 'prev');
      while (c && rows.length <= limit) {
        if (q.from !== undefined && c.value.t < q.from) break;
        if (ok(c.value)) rows.push(c.value);
        c = await c.continue();
      }
    }
    return { rows: rows.slice(0, limit), next: rows.length > limit ? rows[limit - 1]!.id : undefined };
  }

  /** Every rollup of a resolution whose bucket starts in [from, to] (all tag combinations), oldest first. */
  async rollupsBetween(res: Resolution, from: number, to: number): Promise<Rollup[]> {
    if (from > to) return [];
    if (!this.db) return [...this.memRollups.values()].filter((r) => r.res === res && r.start >= from && r.start <= to).sort((a, b) => a.start - b.start);
    return this.db.getAll('rollups', IDBKeyRange.bound([res, from], [res, to, '\uffff', '\uffff']));
  }

  /** Alert state changes after an id (oldest first), up to `limit`. */
  async alertsAfter(after: string, limit: number): Promise<AlertEvent[]> {
    if (!this.db) return this.memAlerts.filter((a) => a.id > after).slice(0, limit);
    const rows: AlertEvent[] = [];
    let c = await this.db.transaction('alerts').store.openCursor(after ? IDBKeyRange.lowerBound(after, true) : null);
    while (c && rows.length < limit) {
      rows.push(c.value);
      c = await c.continue();
    }
    return rows;
  }

  async getMeta<T>(key: string): Promise<T | undefined> {
    if (!this.db) return this.memMeta.get(key) as T | undefined;
    return (await this.db.get('meta', key)) as T | undefined;
  }

  async setMeta(key: string, value: unknown): Promise<void> {
    this.memMeta.set(key, value);
    await this.db?.put('meta', value, key).catch((e) => this.noteFailure(e));
  }

  private noteFailure(e: unknown) {
    this.status.failedCommits++;
    this.status.error = `a write failed: ${(e as Error)?.message ?? e}`;
  }

  /** Storage used and quota (navigator.storage.estimate), and whether storage is persistent. */
  async usage() {
    const est = await navigator.storage?.estimate?.().catch(() => undefined);
    const persisted = await navigator.storage?.persisted?.().catch(() => false);
    return { usage: est?.usage, quota: est?.quota, persisted: Boolean(persisted), status: this.getStatus() };
  }

  async close() {
    await this.flush();
    this.db?.close();
    this.db = undefined;
  }
}
