/**
 * Writing batches into the fleet database (FleetDb delegates here). Every batch is written in one transaction,
 * idempotently on (source id, seq); 1-min rollups are merged by addition into their 1-min and 1-hour rows and into
 * an all-time row per series (for Prometheus counters that never go backwards when retention deletes old rows).
 *
 * The HTTP path uses `queue` (group commit: the batches that arrive in one turn of the event loop share a
 * transaction; a batch that fails is refused alone: `flush`) and rows being merged into come from a write-through
 * cache, so a batch costs no reads and one commit is shared by many (bench/server.ts).
 *
 * Hooks in `hooks` run inside each new batch's transaction (forward.ts queues alert state changes for
 * Alertmanager and webhooks there, in the `outgoing` table, so none is lost between).
 */
import type Database from 'better-sqlite3';
import type { Batch } from '../sync/payload.ts';
import type { AlertEvent } from '../health/types.ts';
import { idTime } from '../lib/uuidv7.ts';
import { bucketStart, emptyRollup, type Rollup } from '../telemetry/rollup.ts';
import { shortVersion } from '../lib/short-version.ts';
import { type DropCounts, type Limits, screenBatch } from './bounds.ts';
import { mergeBounded } from './limits.ts';
import { rollupFromJson, toJson } from './schema.ts';

/** The millisecond time in a UUIDv7 (idTime, the store's own); 0 for another kind of UUID. */
const uuidTime = (id: string) => (id[14] === '7' ? idTime(id) : 0);
/** The most batches one group commit writes (`FleetDb.queue`). */
const GROUP_MAX = 64;
/**
 * Rollup rows kept in the write-through cache (a page's rows are 1–3 KB of JSON; 2 rows per camera of a source, so
 * ~6,000 two-camera devices stay hot: with 5,000 devices sending in turn, a cache of 10,000 rows kept none of them
 * by the time its device sent again, and every batch read and parsed its rows: bench/server.ts).
 */
const ROW_CACHE_MAX = 24_000;
/**
 * ...and their stored JSON's bytes at most: in memory a row takes ~2× its JSON (a page's row: ~0.9 KB of JSON, so
 * 10,000 rows are ~9 MB of JSON and ~20 MB of heap) up to ~25× (rows with hundreds of class ids: tens of KB of
 * JSON each), so the count alone would not bound the memory. Past either bound, after a batch, the least recently
 * written rows are dropped down to half of both.
 */
const ROW_CACHE_BYTES = 32 << 20;
/** Sources whose pruned_seq is kept in memory (past it the map starts over). */
const PRUNED_CACHE_MAX = 100_000;

/** A batch waiting for the next group commit (`queue`). */
interface Pending {
  b: Batch;
  token: string;
  now: number;
  hash?: Buffer;
  ok: (r: IngestResult) => void;
  fail: (e: unknown) => void;
}

/** What writing a batch did: nothing (`duplicate`), or how many images (past the quota) and map keys (past MAP_BOUNDS) it left out. */
export interface IngestResult {
  duplicate: boolean;
  imagesDropped?: number;
  keysDropped?: number;
  /** rollups of series new to the source past limits.seriesPerSource, left out */
  seriesDropped?: number;
}

/** What an ingest hook gets (inside the batch's transaction): the source, the time, and its new alert events (`latest`: it became the alert's state in alert_state). */
export interface IngestEvent {
  source: string;
  now: number;
  alerts: { alert: AlertEvent; latest: boolean }[];
  /** the batch itself (its rollups are forwarded as OTLP where a Collector is configured) */
  batch: Batch;
}

/**
 * A rollup row being merged into by one batch; `fresh`: not in the table yet; `unread`: a 1-min row not looked up
 * (a page sends each minute once, so it is inserted as it stands and, only if the minute is already there, merged
 * into the stored row).
 */
interface Dirty {
  row: Rollup;
  fresh: boolean;
  unread?: boolean;
}

/** What the writer reads from its owner at each batch (FleetDb's fields: main.ts sets them from the environment), and where it counts drops. */
export interface WriteBounds {
  limits: Limits;
  /** flagged JPEG bytes kept per source */
  imageQuota: number;
  readonly dropped: DropCounts;
}

/** Writes batches into an open fleet database (FleetDb's `ingest`, `queue`, `putAlert` and `onIngest`). */
export class BatchWriter {
  /** run inside every new (non-duplicate) batch's transaction, after the batch is written; a throw rolls the batch back */
  readonly hooks: ((e: IngestEvent) => void)[] = [];
  private stmts = new Map<string, Database.Statement>();
  private readonly ingestTx: (b: Batch, tokenName: string, now: number, hash?: Buffer) => IngestResult;
  /**
   * Write-through cache of recently written rollup rows (1-hour and all-time rows, by key), so merging a batch
   * into its rows needs no read and no JSON.parse while they stay hot (bounded in rows and in bytes: trimCache).
   * 1-min rows are not kept: a page's batch carries the minutes since its last, so each is written once, and
   * keeping them only pushed the rows that are merged into again (its hour's, its all-time) out of the cache. Only this writer writes those tables; a
   * transaction that fails clears it (its in-memory merges may not have been committed), as does retention.
   */
  private readonly rowCache = new Map<string, Rollup>();
  /** each source's pruned_seq as last read (only retention raises it, and it clears this: clearCache) */
  private readonly prunedSeq = new Map<string, number>();
  /** each cached row's stored JSON length (as last read or written), and their sum over the cache */
  private readonly rowBytes = new WeakMap<Rollup, number>();
  private cacheBytes = 0;
  /** Batches waiting for the next group commit (`queue`). */
  private pending: Pending[] = [];
  private readonly groupTx: (group: Pending[]) => IngestResult[];
  private flushScheduled = false;

  constructor(private readonly db: Database.Database, private readonly bounds: WriteBounds) {
    const tx = db.transaction((b: Batch, tokenName: string, now: number, hash?: Buffer) => this.write(b, tokenName, now, hash));
    this.groupTx = db.transaction((group: Pending[]) => group.map((p) => this.write(p.b, p.token, p.now, p.hash)));
    this.ingestTx = (b, tokenName, now, hash) => {
      try {
        return tx(b, tokenName, now, hash);
      } catch (e) {
        this.clearCache();
        throw e;
      }
    };
  }

  /** A prepared statement, cached by its SQL. */
  private st(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) this.stmts.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  /** Writes a batch in its own transaction (FleetDb.ingest). */
  ingest(batch: Batch, tokenName: string, now: number): IngestResult {
    return this.ingestTx(batch, tokenName, now);
  }

  /** Forgets the cached rows (retention deletes rows behind the cache's back). */
  clearCache(): void {
    this.rowCache.clear();
    this.prunedSeq.clear();
    this.cacheBytes = 0;
  }

  /** Drops the least recently written rows once the cache is past ROW_CACHE_MAX rows or ROW_CACHE_BYTES, down to half of both. */
  private trimCache(): void {
    if (this.rowCache.size <= ROW_CACHE_MAX && this.cacheBytes <= ROW_CACHE_BYTES) return;
    for (const [k, row] of this.rowCache) {
      if (this.rowCache.size <= ROW_CACHE_MAX / 2 && this.cacheBytes <= ROW_CACHE_BYTES / 2) break;
      this.rowCache.delete(k);
      this.cacheBytes -= this.rowBytes.get(row) ?? 0;
    }
  }

  /** A row's stored JSON, its length noted for the cache's byte bound. */
  private stored(row: Rollup): string {
    const json = toJson(row);
    const was = this.rowBytes.get(row); // undefined: a row the cache does not keep
    if (was !== undefined) {
      this.cacheBytes += json.length - was;
      this.rowBytes.set(row, json.length);
    }
    return json;
  }

  /**
   * As `ingest`, committed together with the other batches queued in the same turn of the event loop (group
   * commit: one transaction of at most GROUP_MAX batches). A batch that fails is rolled back and rejects alone: the
   * group is rolled back and each of its batches written again in its own transaction (a savepoint per batch cost
   * more than a rare failure's rewrite). `hash`: the body's, kept with the batch (auth.ts checkReplay). Resolves
   * once its transaction has committed.
   */
  queue(batch: Batch, tokenName: string, now = Date.now(), hash?: Buffer): Promise<IngestResult> {
    return new Promise((ok, fail) => {
      this.pending.push({ b: batch, token: tokenName, now, hash, ok, fail });
      if (this.flushScheduled) return;
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    while (this.pending.length) {
      const group = this.pending.splice(0, GROUP_MAX);
      const dropped = { ...this.bounds.dropped };
      let results: IngestResult[] | undefined;
      try {
        results = this.groupTx(group);
      } catch {
        // one of them failed: nothing of the group was kept (nor the counts of what it dropped), each is written alone
        this.clearCache();
        for (const k of Object.keys(this.bounds.dropped) as (keyof DropCounts)[]) delete this.bounds.dropped[k];
        Object.assign(this.bounds.dropped, dropped);
      }
      if (results) {
        group.forEach((p, i) => p.ok(results[i]!));
        continue;
      }
      for (const p of group) {
        try {
          p.ok(this.ingestTx(p.b, p.token, p.now, p.hash));
        } catch (e) {
          p.fail(e);
        }
      }
    }
  }

  /**
   * Records an alert state change of a source (call inside a transaction): its row in `alerts` (`fresh`: its id
   * was new) and, unless a later change is already there, its alert_state (`latest`).
   */
  putAlert(source: string, a: AlertEvent): { fresh: boolean; latest: boolean } {
    const json = JSON.stringify(a);
    const fresh = this.st('INSERT OR IGNORE INTO alerts (source, id, t, rule, camera_id, data) VALUES (?, ?, ?, ?, ?, ?)').run(source, a.id, a.t, a.rule, a.camera_id, json).changes > 0;
    const latest = this.st(`
      INSERT INTO alert_state (source, rule, camera_id, class_id, t, state, data) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (source, rule, camera_id, class_id) DO UPDATE SET t = excluded.t, state = excluded.state, data = excluded.data
      WHERE excluded.t >= alert_state.t
    `).run(source, a.rule, a.camera_id, a.classId ?? -1, a.t, a.state, json).changes > 0;
    return { fresh, latest };
  }

  /** ingest's body (inside the transaction). */
  private write(b: Batch, tokenName: string, now: number, hash?: Buffer): IngestResult {
    const src = b.source;
    let pruned = this.prunedSeq.get(src.id);
    if (pruned === undefined) {
      pruned = (this.st('SELECT pruned_seq FROM sources WHERE id = ?').pluck().get(src.id) as number | undefined) ?? 0;
      if (this.prunedSeq.size >= PRUNED_CACHE_MAX) this.prunedSeq.clear();
      this.prunedSeq.set(src.id, pruned);
    }
    if (b.seq <= pruned) return { duplicate: true };
    const ins = this.st('INSERT OR IGNORE INTO batches (source, seq, received_at, sent_at, rollups, hash) VALUES (?, ?, ?, ?, ?, ?)').run(src.id, b.seq, now, b.sentAt, b.rollups.length, hash ?? null);
    if (!ins.changes) return { duplicate: true };
    // items dated past now + the clock skew, and alerts past the per-batch bound, are left out (counted): bounds.ts
    b = screenBatch(b, now, this.bounds.limits, (r, n) => {
      if (n > 0) this.bounds.dropped[r] = (this.bounds.dropped[r] ?? 0) + n;
    });

    let lastData: number | null = null;
    for (const r of b.rollups) if (r.frames > 0 && (lastData === null || r.start > lastData)) lastData = r.start;
    this.st(`
      INSERT INTO sources (id, device_id, token, app_version, first_seen, last_seen, last_seq, monitors, dropped, last_data)
      VALUES (@id, @device_id, @token, @app_version, @now, @now, @seq, @monitors, @dropped, @last_data)
      ON CONFLICT (id) DO UPDATE SET
        device_id = coalesce(excluded.device_id, device_id), token = excluded.token, app_version = excluded.app_version, last_seen = excluded.last_seen,
        last_seq = max(last_seq, excluded.last_seq), monitors = excluded.monitors, dropped = dropped + excluded.dropped,
        last_data = CASE WHEN last_data IS NULL OR excluded.last_data > last_data THEN coalesce(excluded.last_data, last_data) ELSE last_data END
    `).run({ id: src.id, device_id: src.device_id ?? null, token: tokenName, app_version: src.app_version, now, seq: b.seq, monitors: JSON.stringify(src.monitors), dropped: b.dropped, last_data: lastData });

    // merge the batch's rollups straight into their rows (from the cache, else read once), then write each row
    // once: an existing row is updated in place (its keys and so its indexes unchanged), a new one inserted
    const getRow = this.st('SELECT data FROM rollups WHERE res = ? AND start = ? AND mv = ? AND g = ? AND source = ?').pluck();
    const getCum = this.st('SELECT data FROM cumulative WHERE source = ? AND mv = ? AND g = ?').pluck();
    const rows = new Map<string, Dirty>();
    const cumulative = new Map<string, Dirty>();
    let keysDropped = 0;
    let series = -1; // the source's distinct (mv, g) series, counted at the batch's first new one
    let seriesDropped = 0;
    for (const r of b.rollups) {
      const mv = shortVersion(r.mv);
      const cumKey = `c${src.id}\u0000${mv}\u0000${r.g}`;
      let cum: string | undefined | null = null; // the stored all-time row, once read
      if (!cumulative.has(cumKey) && !this.rowCache.has(cumKey)) {
        cum = getCum.get(src.id, mv, r.g) as string | undefined;
        if (cum === undefined) {
          // a series the source has not sent (or not for limits.seriesIdleMs: retention.ts): at most limits.seriesPerSource of them; past that the
          // rollup is left out (its 1-min, 1-hour and all-time rows), counted
          if (series < 0) series = this.st('SELECT count(*) FROM cumulative WHERE source = ?').pluck().get(src.id) as number;
          if (series >= this.bounds.limits.seriesPerSource) {
            seriesDropped++;
            continue;
          }
          series++;
        }
      }
      const hour = bucketStart(r.start, '1h');
      const minuteKey = `r${src.id}\u00001m\u0000${r.start}\u0000${mv}\u0000${r.g}`;
      let minute = rows.get(minuteKey);
      if (!minute) rows.set(minuteKey, (minute = { row: emptyRollup('1m', r.start, mv, r.g), fresh: true, unread: true }));
      keysDropped += mergeBounded(minute.row, r);
      keysDropped += mergeBounded(this.row(rows, `r${src.id}\u00001h\u0000${hour}\u0000${mv}\u0000${r.g}`, () => getRow.get('1h', hour, mv, r.g, src.id) as string | undefined, () => emptyRollup('1h', hour, mv, r.g)), r);
      keysDropped += mergeBounded(this.row(cumulative, cumKey, () => (cum !== null ? cum : (getCum.get(src.id, mv, r.g) as string | undefined)), () => emptyRollup('1h', 0, mv, r.g)), r);
    }
    if (seriesDropped) this.bounds.dropped.series_per_source = (this.bounds.dropped.series_per_source ?? 0) + seriesDropped;
    const insRow = this.st('INSERT INTO rollups (res, start, mv, g, source, data) VALUES (?, ?, ?, ?, ?, ?)');
    const updRow = this.st('UPDATE rollups SET data = ? WHERE res = ? AND start = ? AND mv = ? AND g = ? AND source = ?');
    const tryRow = this.st('INSERT OR IGNORE INTO rollups (res, start, mv, g, source, data) VALUES (?, ?, ?, ?, ?, ?)');
    for (const { row: m, fresh, unread } of rows.values()) {
      if (unread) {
        if (tryRow.run(m.res, m.start, m.mv, m.g, src.id, this.stored(m)).changes) continue;
        // the minute was there (a page that sent it again with other frames): merged into the stored row
        // (a stored row that cannot be read is replaced by what came)
        const stored = rollupFromJson(getRow.get(m.res, m.start, m.mv, m.g, src.id) as string);
        if (stored) keysDropped += mergeBounded(stored, m);
        updRow.run(this.stored(stored ?? m), m.res, m.start, m.mv, m.g, src.id);
      } else if (fresh) insRow.run(m.res, m.start, m.mv, m.g, src.id, this.stored(m));
      else updRow.run(this.stored(m), m.res, m.start, m.mv, m.g, src.id);
    }
    const insCum = this.st('INSERT INTO cumulative (source, mv, g, data, updated_at) VALUES (?, ?, ?, ?, ?)');
    const updCum = this.st('UPDATE cumulative SET data = ?, updated_at = ? WHERE source = ? AND mv = ? AND g = ?');
    for (const { row: m, fresh } of cumulative.values()) {
      if (fresh) insCum.run(src.id, m.mv, m.g, this.stored(m), now);
      else updCum.run(this.stored(m), now, src.id, m.mv, m.g);
    }
    this.trimCache();

    const fresh: IngestEvent['alerts'] = [];
    let firing = b.alerts.length ? (this.st("SELECT count(*) FROM alert_state WHERE source = ? AND state = 'firing'").pluck().get(src.id) as number) : 0;
    for (const a of b.alerts) {
      // a source has at most limits.firingPerSource alerts firing: past that a new firing alert is dropped (counted)
      if (a.state === 'firing' && firing >= this.bounds.limits.firingPerSource) {
        const was = this.st('SELECT state FROM alert_state WHERE source = ? AND rule = ? AND camera_id = ? AND class_id = ?').pluck().get(src.id, a.rule, a.camera_id, a.classId ?? -1);
        if (was !== 'firing') {
          this.bounds.dropped.firing_per_source = (this.bounds.dropped.firing_per_source ?? 0) + 1;
          continue;
        }
      }
      const r = this.putAlert(src.id, a);
      if (r.latest) firing = this.st("SELECT count(*) FROM alert_state WHERE source = ? AND state = 'firing'").pluck().get(src.id) as number;
      if (r.fresh) fresh.push({ alert: a, latest: r.latest });
    }
    const putFlag = this.st('INSERT OR IGNORE INTO flagged (source, id, t, data, jpeg) VALUES (?, ?, ?, ?, ?)');
    // images count against the source's quota: past it a frame is kept without its image, and counted
    let imageBytes = b.flagged.some((f) => f.jpeg) ? (this.st('SELECT image_bytes FROM sources WHERE id = ?').pluck().get(src.id) as number) : 0;
    let imagesDropped = 0, imagesKept = 0;
    for (const f of b.flagged) {
      const { jpeg, ...meta } = f;
      let img = jpeg ? Buffer.from(jpeg, 'base64') : null;
      if (img && imageBytes + img.length > this.bounds.imageQuota) {
        img = null;
        imagesDropped++;
      }
      if (putFlag.run(src.id, f.id, f.t, JSON.stringify(meta), img).changes && img) {
        imageBytes += img.length;
        imagesKept++;
      }
    }
    if (imagesKept || imagesDropped || keysDropped || seriesDropped)
      this.st('UPDATE sources SET image_bytes = ?, images_dropped = images_dropped + ?, keys_dropped = keys_dropped + ?, series_dropped = series_dropped + ? WHERE id = ?').run(imageBytes, imagesDropped, keysDropped, seriesDropped, src.id);
    const putBaseline = this.st('INSERT OR REPLACE INTO baselines (source, mv, camera, condition, data) VALUES (?, ?, ?, ?, ?)');
    for (const x of b.baselines) putBaseline.run(src.id, x.mv, x.camera, x.condition ?? '', JSON.stringify(x));
    // an annotation as it now stands replaces what came before (a page sends the whole of it each time)
    const putAnnotation = this.st('INSERT OR REPLACE INTO annotations (source, id, t, src, data, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
    for (const a of b.annotations ?? []) putAnnotation.run(src.id, a.id, uuidTime(a.id), a.src, JSON.stringify(a.meta), now);
    for (const hook of this.hooks) hook({ source: src.id, now, alerts: fresh, batch: b });
    return { duplicate: false, ...(imagesDropped ? { imagesDropped } : {}), ...(keysDropped ? { keysDropped } : {}), ...(seriesDropped ? { seriesDropped } : {}) };
  }

  /**
   * The stored row under `key` to merge into (its current value: this batch's `dirty` map, else the cache, else
   * read, else `make` — `fresh`, to be inserted), noted in `dirty` for writing and held by the cache. A cached row
   * exists in the table: it was read from it or written to it in a transaction that committed (a failed one
   * clears the cache).
   */
  private row(dirty: Map<string, Dirty>, key: string, read: () => string | undefined, make: () => Rollup): Rollup {
    const d = dirty.get(key);
    if (d) return d.row;
    let row = this.rowCache.get(key);
    let fresh = false;
    if (row) this.rowCache.delete(key); // re-inserted below: the Map's order is least recently written first
    else {
      const old = read();
      fresh = old === undefined;
      row = (old !== undefined ? rollupFromJson(old) : undefined) ?? make(); // a stored row that cannot be read is replaced
      this.rowBytes.set(row, old?.length ?? 0);
      this.cacheBytes += old?.length ?? 0;
    }
    this.rowCache.set(key, row);
    dirty.set(key, { row, fresh });
    return row;
  }
}
