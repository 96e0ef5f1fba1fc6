/**
 * The fleet server's store: one SQLite file (better-sqlite3, WAL). Every batch is written in one transaction,
 * idempotently on (source id, seq); 1-min rollups are merged by addition into their 1-min and 1-hour rows
 * and into an all-time row per series (for Prometheus counters that never go backwards when retention
 * deletes old rows). Reads return plain Rollups / AlertEvents, for the shared query functions.
 *
 * Rollup rows are returned ordered by (start, mv, g, source), so sums over them are reproducible.
 *
 * The HTTP path uses `queue` (group commit: the batches that arrive in one turn of the event loop share a
 * transaction, each in its own savepoint) and rows being merged into come from a write-through cache, so a
 * batch costs no reads and one commit is shared by many (bench/server.ts).
 *
 * Hooks registered with `onIngest` run inside each new batch's transaction (forward.ts queues alert state
 * changes for Alertmanager and webhooks there, in the `outgoing` table, so none is lost between).
 */
import { closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Batch } from '../sync/payload.ts';
import type { AlertEvent } from '../health/types.ts';
import { rollupMatches, type Filters } from '../store/queries.ts';
import { idTime } from '../lib/uuidv7.ts';
import { bucketStart, emptyRollup, type Rollup } from '../telemetry/rollup.ts';
import { shortVersion } from '../lib/short-version.ts';
import { DEFAULT_LIMITS, type DropCounts, type Limits, screenBatch } from './bounds.ts';
import { pruneIdle } from './retention.ts';
import { mergeBounded } from './limits.ts';

const DAY = 24 * 3600_000;
/** The millisecond time in a UUIDv7 (idTime, the store's own); 0 for another kind of UUID. */
const uuidTime = (id: string) => (id[14] === '7' ? idTime(id) : 0);
/** The most batches one group commit writes (`FleetDb.queue`). */
const GROUP_MAX = 64;
/** Rollup rows kept in FleetDb's write-through cache (a few KB each in memory: ~30 MB; 3 rows per camera of a source, so ~1,600 two-camera devices stay hot); past this the least recently written half is dropped. */
const ROW_CACHE_MAX = 10_000;

/** How long rows are kept (ms). */
export const RETENTION = {
  rollups1m: 30 * DAY,
  rollups1h: 365 * DAY,
  alerts: 365 * DAY,
  flagged: 365 * DAY,
  batches: 30 * DAY,
  /** dead-lettered outgoing alert deliveries (forward/queue.ts) */
  deadLetters: 30 * DAY,
} as const;

/** A sync source (one page) as stored. */
export interface SourceRow {
  id: string;
  device_id: string | null;
  token: string;
  app_version: string;
  first_seen: number;
  last_seen: number;
  last_seq: number;
  monitors: Batch['source']['monitors'];
  /** batches the page's outbox dropped, all time */
  dropped: number;
  /** start of the newest 1-min rollup received (null: none yet) */
  last_data: number | null;
  /** flagged frames' JPEG bytes kept, and images dropped past the quota (FleetDb.imageQuota), all time */
  image_bytes: number;
  images_dropped: number;
  /** rollup map keys folded into `other` or left out past limits.ts MAP_BOUNDS, all time */
  keys_dropped: number;
}

/** What writing a batch did: nothing (`duplicate`), or how many images (past the quota) and map keys (past MAP_BOUNDS) it left out. */
export interface IngestResult {
  duplicate: boolean;
  imagesDropped?: number;
  keysDropped?: number;
}

/** An alert state change with the source that reported it. */
export type SourceAlert = AlertEvent & { source: string };

/** What an ingest hook gets (inside the batch's transaction): the source, the time, and its new alert events (`latest`: it became the alert's state in alert_state). */
export interface IngestEvent {
  source: string;
  now: number;
  alerts: { alert: AlertEvent; latest: boolean }[];
  /** the batch itself (its rollups are forwarded as OTLP where a Collector is configured) */
  batch: Batch;
}

/** Rollup filters plus the source id. */
export type RollupFilters = Filters & { source?: string };

/** The numbered migrations: index i takes the schema from user_version i to i + 1. */
const MIGRATIONS: ((db: Database.Database) => void)[] = [
  (db) =>
    db.exec(`
      CREATE TABLE sources (
        id TEXT PRIMARY KEY, device_id TEXT, token TEXT NOT NULL, app_version TEXT NOT NULL,
        first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, last_seq INTEGER NOT NULL,
        pruned_seq INTEGER NOT NULL DEFAULT 0, monitors TEXT NOT NULL, dropped INTEGER NOT NULL DEFAULT 0, last_data INTEGER
      );
      CREATE TABLE batches (
        source TEXT NOT NULL, seq INTEGER NOT NULL, received_at INTEGER NOT NULL, sent_at INTEGER NOT NULL, rollups INTEGER NOT NULL,
        PRIMARY KEY (source, seq)
      ) WITHOUT ROWID;
      CREATE INDEX batches_received ON batches (received_at);
      CREATE TABLE rollups (
        res TEXT NOT NULL, start INTEGER NOT NULL, mv TEXT NOT NULL, g TEXT NOT NULL, source TEXT NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (res, start, mv, g, source)
      );
      CREATE INDEX rollups_source ON rollups (source, res, start);
      CREATE TABLE cumulative (
        source TEXT NOT NULL, mv TEXT NOT NULL, g TEXT NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (source, mv, g)
      );
      CREATE TABLE alerts (
        source TEXT NOT NULL, id TEXT NOT NULL, t INTEGER NOT NULL, rule TEXT NOT NULL, camera_id TEXT NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (source, id)
      );
      CREATE INDEX alerts_t ON alerts (t, source, id);
      CREATE TABLE alert_state (
        source TEXT NOT NULL, rule TEXT NOT NULL, camera_id TEXT NOT NULL, class_id INTEGER NOT NULL,
        t INTEGER NOT NULL, state TEXT NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (source, rule, camera_id, class_id)
      );
      CREATE TABLE flagged (
        source TEXT NOT NULL, id TEXT NOT NULL, t INTEGER NOT NULL, data TEXT NOT NULL, jpeg BLOB,
        PRIMARY KEY (source, id)
      );
      CREATE INDEX flagged_t ON flagged (t);
      CREATE TABLE baselines (
        source TEXT NOT NULL, mv TEXT NOT NULL, camera TEXT NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (source, mv, camera)
      );
    `),
  // forward/queue.ts: the durable queue of alert deliveries (state pending | dead; delivered rows are deleted) and totals per target
  (db) =>
    db.exec(`
      CREATE TABLE outgoing (
        id INTEGER PRIMARY KEY, target TEXT NOT NULL, alert_key TEXT NOT NULL, idem TEXT NOT NULL, body TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, created_at INTEGER NOT NULL, last_error TEXT,
        state TEXT NOT NULL DEFAULT 'pending'
      );
      CREATE INDEX outgoing_queue ON outgoing (target, state, id);
      CREATE TABLE forward_totals (
        target TEXT PRIMARY KEY, delivered INTEGER NOT NULL DEFAULT 0, dead INTEGER NOT NULL DEFAULT 0,
        last_error TEXT, last_error_at INTEGER, last_delivered_at INTEGER
      );
    `),
  // annotations: metadata attached to inferences after the fact (the latest of each, as the page sends it)
  (db) =>
    db.exec(`
      CREATE TABLE annotations (
        source TEXT NOT NULL, id TEXT NOT NULL, t INTEGER NOT NULL, src TEXT NOT NULL, data TEXT NOT NULL, updated_at INTEGER NOT NULL,
        PRIMARY KEY (source, id)
      );
      CREATE INDEX annotations_t ON annotations (t);
    `),
  // forward/queue.ts: deliveries dropped because a target's queue was full (FLEET_FORWARD_QUEUE_MAX), oldest first
  (db) => db.exec('ALTER TABLE forward_totals ADD COLUMN dropped INTEGER NOT NULL DEFAULT 0'),
  // what a source costs in storage: JPEG bytes kept, images dropped past the quota, rollup map keys dropped
  (db) =>
    db.exec(`
      ALTER TABLE sources ADD COLUMN image_bytes INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE sources ADD COLUMN images_dropped INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE sources ADD COLUMN keys_dropped INTEGER NOT NULL DEFAULT 0;
      UPDATE sources SET image_bytes = (SELECT coalesce(sum(length(jpeg)), 0) FROM flagged WHERE flagged.source = sources.id);
    `),
];

/** The schema version a fresh database reaches. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** A rollup → its stored JSON (±Infinity first/last become null). */
const toJson = (r: Rollup) => JSON.stringify(r);
/** Stored JSON → a rollup. */
export function rollupFromJson(s: string): Rollup {
  const r = JSON.parse(s) as Rollup;
  r.first ??= Infinity;
  r.last ??= -Infinity;
  return r;
}
const alertFromJson = (s: string, source: string): SourceAlert => {
  const a = JSON.parse(s) as AlertEvent;
  a.value ??= NaN;
  a.threshold ??= NaN;
  return { ...a, source };
};

/** A rollup row being merged into by one batch; `fresh`: not in the table yet. */
interface Dirty {
  row: Rollup;
  fresh: boolean;
}

/** The fleet database: open with `FleetDb.open(path)`. */
export class FleetDb {
  readonly db: Database.Database;
  /** what one batch and one source may make the server keep (bounds.ts; main.ts sets them from the environment) */
  limits: Limits = DEFAULT_LIMITS;
  /** items dropped at ingest by reason (process totals, for /metrics) */
  readonly dropped: DropCounts = {};
  private stmts = new Map<string, Database.Statement>();

  private readonly ingestTx: (b: Batch, tokenName: string, now: number) => IngestResult;
  private readonly ingestHooks: ((e: IngestEvent) => void)[] = [];
  /** flagged JPEG bytes kept per source: past it a batch's images are dropped (its frames' metadata kept) and counted */
  imageQuota = Infinity;
  /**
   * Write-through cache of recently written rollup rows (rollups and cumulative, by key), so merging a batch
   * into its rows needs no read and no JSON.parse while they stay hot. Only this object writes those tables; a
   * transaction that fails clears it (its in-memory merges may not have been committed), as does retention.
   */
  private readonly rowCache = new Map<string, Rollup>();
  /** Batches waiting for the next group commit (`queue`). */
  private pending: { b: Batch; token: string; now: number; ok: (r: IngestResult) => void; fail: (e: unknown) => void }[] = [];
  private flushScheduled = false;

  private constructor(db: Database.Database) {
    this.db = db;
    const tx = db.transaction((b: Batch, tokenName: string, now: number) => this.write(b, tokenName, now));
    this.ingestTx = (b, tokenName, now) => {
      try {
        return tx(b, tokenName, now);
      } catch (e) {
        this.rowCache.clear();
        throw e;
      }
    };
  }

  /** Opens (or creates, mode 0600) the file, sets WAL, and runs pending migrations. */
  static open(path: string): FleetDb {
    // readable by the server's user alone (devices' data, tokens' names); SQLite gives its -wal and -shm files the same mode
    if (path !== ':memory:' && !existsSync(path)) closeSync(openSync(path, 'a', 0o600));
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // checkpoint every ~32 MB of WAL instead of SQLite's 4 MB: fewer checkpoints (and their fsyncs) in a
    // commit's path under load (bench/server.ts: p99 ~20 → ~10 ms with 1,000 devices); the file shrinks back
    // to at most 64 MB after one
    db.pragma('wal_autocheckpoint = 8000');
    db.pragma(`journal_size_limit = ${64 << 20}`);
    const at = db.pragma('user_version', { simple: true }) as number;
    if (at > SCHEMA_VERSION) throw new Error(`${path}: schema version ${at} is newer than this server's (${SCHEMA_VERSION})`);
    for (let v = at; v < SCHEMA_VERSION; v++) {
      db.transaction(() => {
        MIGRATIONS[v]!(db);
        db.pragma(`user_version = ${v + 1}`);
      })();
    }
    return new FleetDb(db);
  }

  /** A prepared statement, cached by its SQL. */
  private st(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) this.stmts.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  /**
   * Writes a batch in one transaction: nothing if (source.id, seq) was seen (`duplicate`; also for seqs at or
   * below those retention has pruned), else the batch row, the source, its rollups (1-min, 1-hour and all-time
   * rows, merged by addition), alerts, flagged frames and baselines.
   */
  ingest(batch: Batch, tokenName: string, now = Date.now()): IngestResult {
    return this.ingestTx(batch, tokenName, now);
  }

  /**
   * As `ingest`, committed together with the other batches queued in the same turn of the event loop (group
   * commit: one transaction of at most GROUP_MAX batches, each in its own savepoint, so a batch that fails is
   * rolled back alone and rejects alone). Resolves once its transaction has committed.
   */
  queue(batch: Batch, tokenName: string, now = Date.now()): Promise<IngestResult> {
    return new Promise((ok, fail) => {
      this.pending.push({ b: batch, token: tokenName, now, ok, fail });
      if (this.flushScheduled) return;
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    while (this.pending.length) {
      const group = this.pending.splice(0, GROUP_MAX);
      const results: (IngestResult | { error: unknown })[] = [];
      try {
        this.db.transaction(() => {
          for (const p of group) {
            try {
              results.push(this.ingestTx(p.b, p.token, p.now));
            } catch (e) {
              results.push({ error: e });
            }
          }
        })();
      } catch (e) {
        this.rowCache.clear();
        for (const p of group) p.fail(e);
        continue;
      }
      group.forEach((p, i) => {
        const r = results[i]!;
        if ('error' in r) p.fail(r.error);
        else p.ok(r);
      });
    }
  }

  /** Runs `hook` inside every new (non-duplicate) batch's transaction, after the batch is written; a throw rolls the batch back. */
  onIngest(hook: (e: IngestEvent) => void): void {
    this.ingestHooks.push(hook);
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
  private write(b: Batch, tokenName: string, now: number): IngestResult {
    const src = b.source;
    const prev = this.st('SELECT pruned_seq FROM sources WHERE id = ?').get(src.id) as { pruned_seq: number } | undefined;
    if (prev && b.seq <= prev.pruned_seq) return { duplicate: true };
    const ins = this.st('INSERT OR IGNORE INTO batches (source, seq, received_at, sent_at, rollups) VALUES (?, ?, ?, ?, ?)').run(src.id, b.seq, now, b.sentAt, b.rollups.length);
    if (!ins.changes) return { duplicate: true };
    // items dated past now + the clock skew, and alerts past the per-batch bound, are left out (counted): bounds.ts
    b = screenBatch(b, now, this.limits, (r, n) => {
      if (n > 0) this.dropped[r] = (this.dropped[r] ?? 0) + n;
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
    for (const r of b.rollups) {
      const mv = shortVersion(r.mv);
      const hour = bucketStart(r.start, '1h');
      keysDropped += mergeBounded(this.row(rows, `r${src.id}\u00001m\u0000${r.start}\u0000${mv}\u0000${r.g}`, () => getRow.get('1m', r.start, mv, r.g, src.id) as string | undefined, () => emptyRollup('1m', r.start, mv, r.g)), r);
      keysDropped += mergeBounded(this.row(rows, `r${src.id}\u00001h\u0000${hour}\u0000${mv}\u0000${r.g}`, () => getRow.get('1h', hour, mv, r.g, src.id) as string | undefined, () => emptyRollup('1h', hour, mv, r.g)), r);
      keysDropped += mergeBounded(this.row(cumulative, `c${src.id}\u0000${mv}\u0000${r.g}`, () => getCum.get(src.id, mv, r.g) as string | undefined, () => emptyRollup('1h', 0, mv, r.g)), r);
    }
    const insRow = this.st('INSERT INTO rollups (res, start, mv, g, source, data) VALUES (?, ?, ?, ?, ?, ?)');
    const updRow = this.st('UPDATE rollups SET data = ? WHERE res = ? AND start = ? AND mv = ? AND g = ? AND source = ?');
    for (const { row: m, fresh } of rows.values()) {
      if (fresh) insRow.run(m.res, m.start, m.mv, m.g, src.id, toJson(m));
      else updRow.run(toJson(m), m.res, m.start, m.mv, m.g, src.id);
    }
    const insCum = this.st('INSERT INTO cumulative (source, mv, g, data) VALUES (?, ?, ?, ?)');
    const updCum = this.st('UPDATE cumulative SET data = ? WHERE source = ? AND mv = ? AND g = ?');
    for (const { row: m, fresh } of cumulative.values()) {
      if (fresh) insCum.run(src.id, m.mv, m.g, toJson(m));
      else updCum.run(toJson(m), src.id, m.mv, m.g);
    }

    const fresh: IngestEvent['alerts'] = [];
    let firing = b.alerts.length ? (this.st("SELECT count(*) FROM alert_state WHERE source = ? AND state = 'firing'").pluck().get(src.id) as number) : 0;
    for (const a of b.alerts) {
      // a source has at most limits.firingPerSource alerts firing: past that a new firing alert is dropped (counted)
      if (a.state === 'firing' && firing >= this.limits.firingPerSource) {
        const was = this.st('SELECT state FROM alert_state WHERE source = ? AND rule = ? AND camera_id = ? AND class_id = ?').pluck().get(src.id, a.rule, a.camera_id, a.classId ?? -1);
        if (was !== 'firing') {
          this.dropped.firing_per_source = (this.dropped.firing_per_source ?? 0) + 1;
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
      if (img && imageBytes + img.length > this.imageQuota) {
        img = null;
        imagesDropped++;
      }
      if (putFlag.run(src.id, f.id, f.t, JSON.stringify(meta), img).changes && img) {
        imageBytes += img.length;
        imagesKept++;
      }
    }
    if (imagesKept || imagesDropped || keysDropped)
      this.st('UPDATE sources SET image_bytes = ?, images_dropped = images_dropped + ?, keys_dropped = keys_dropped + ? WHERE id = ?').run(imageBytes, imagesDropped, keysDropped, src.id);
    const putBaseline = this.st('INSERT OR REPLACE INTO baselines (source, mv, camera, data) VALUES (?, ?, ?, ?)');
    for (const x of b.baselines) putBaseline.run(src.id, x.mv, x.camera, JSON.stringify(x));
    // an annotation as it now stands replaces what came before (a page sends the whole of it each time)
    const putAnnotation = this.st('INSERT OR REPLACE INTO annotations (source, id, t, src, data, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
    for (const a of b.annotations ?? []) putAnnotation.run(src.id, a.id, uuidTime(a.id), a.src, JSON.stringify(a.meta), now);
    for (const hook of this.ingestHooks) hook({ source: src.id, now, alerts: fresh, batch: b });
    return { duplicate: false, ...(imagesDropped ? { imagesDropped } : {}), ...(keysDropped ? { keysDropped } : {}) };
  }

  /**
   * The stored row under `key` to merge into (its current value: this batch's `dirty` map, else the cache, else
   * read, else `make` — `fresh`, to be inserted), noted in `dirty` for writing and held by the cache. A cached
   * row exists in the table: it was read from it or written to it in a transaction that committed (a failed one
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
      row = old !== undefined ? rollupFromJson(old) : make();
      if (this.rowCache.size >= ROW_CACHE_MAX) {
        let drop = ROW_CACHE_MAX / 2;
        for (const k of this.rowCache.keys()) {
          this.rowCache.delete(k);
          if (--drop <= 0) break;
        }
      }
    }
    this.rowCache.set(key, row);
    dirty.set(key, { row, fresh });
    return row;
  }

  /** Rollups of one resolution with start in [bucketStart(from), to] passing the filters, by (start, mv, g, source). */
  rollups(res: '1m' | '1h', from: number, to: number, f: RollupFilters = {}, limit = -1): Rollup[] {
    return this.rollupRows(res, from, to, f, limit).map((r) => r.rollup);
  }

  /** As `rollups`, each with its source id; at most `limit` stored rows read (-1: all). */
  rollupRows(res: '1m' | '1h', from: number, to: number, f: RollupFilters = {}, limit = -1): { source: string; rollup: Rollup }[] {
    const rows = this.st(`
      SELECT source, data FROM rollups WHERE res = @res AND start >= @from AND start <= @to
        AND (@mv IS NULL OR mv = @mv) AND (@source IS NULL OR source = @source)
      ORDER BY start, mv, g, source LIMIT @limit
    `).all({ res, from: bucketStart(from, res), to, mv: f.mv === undefined ? null : shortVersion(f.mv), source: f.source ?? null, limit }) as { source: string; data: string }[];
    const out: { source: string; rollup: Rollup }[] = [];
    for (const row of rows) {
      const r = rollupFromJson(row.data);
      if (rollupMatches(r, f)) out.push({ source: row.source, rollup: r });
    }
    return out;
  }

  /** Every source, oldest first. */
  sources(): SourceRow[] {
    const rows = this.st('SELECT id, device_id, token, app_version, first_seen, last_seen, last_seq, monitors, dropped, last_data, image_bytes, images_dropped, keys_dropped FROM sources ORDER BY first_seen, id').all() as (Omit<SourceRow, 'monitors'> & { monitors: string })[];
    return rows.map((r) => ({ ...r, monitors: JSON.parse(r.monitors) }));
  }

  /** The all-time merged rollup of every (source, mv, g). */
  cumulative(): { source: string; rollup: Rollup }[] {
    return (this.st('SELECT source, data FROM cumulative ORDER BY source, mv, g').all() as { source: string; data: string }[]).map((r) => ({ source: r.source, rollup: rollupFromJson(r.data) }));
  }

  /** Alerts whose latest state (per source, rule, camera and class) is firing. */
  firing(source?: string): SourceAlert[] {
    const rows = this.st(`SELECT source, data FROM alert_state WHERE state = 'firing' AND (@source IS NULL OR source = @source) ORDER BY source, rule, camera_id, class_id`).all({ source: source ?? null }) as { source: string; data: string }[];
    return rows.map((r) => alertFromJson(r.data, r.source));
  }

  /**
   * Alert state changes in [from, to], newest first (by t, then source, then id), at most `limit`; `before`
   * continues after a row ([t, source, id], as the previous page's `next`).
   */
  alerts(q: { from: number; to: number; camera_id?: string; source?: string; rule?: string; before?: [number, string, string]; limit: number }): { rows: SourceAlert[]; next: [number, string, string] | null } {
    const [bt, bs, bi] = q.before ?? [null, null, null];
    const rows = this.st(`
      SELECT source, id, t, data FROM alerts
      WHERE t >= @from AND t <= @to
        AND (@camera IS NULL OR camera_id = @camera) AND (@source IS NULL OR source = @source) AND (@rule IS NULL OR rule = @rule)
        AND (@bt IS NULL OR (t, source, id) < (@bt, @bs, @bi))
      ORDER BY t DESC, source DESC, id DESC LIMIT @limit
    `).all({ from: q.from, to: q.to, camera: q.camera_id ?? null, source: q.source ?? null, rule: q.rule ?? null, bt, bs, bi, limit: q.limit + 1 }) as { source: string; id: string; t: number; data: string }[];
    const more = rows.length > q.limit;
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return { rows: page.map((r) => alertFromJson(r.data, r.source)), next: more && last ? [last.t, last.source, last.id] : null };
  }

  /** Annotations of inferences made in [from, to] (by their ids' time), newest first, at most `limit`. */
  annotations(q: { from: number; to: number; source?: string; limit: number }): { source: string; id: string; t: number; src: string; meta: Record<string, string> }[] {
    const rows = this.st('SELECT source, id, t, src, data FROM annotations WHERE t >= @from AND t <= @to AND (@source IS NULL OR source = @source) ORDER BY t DESC, id DESC LIMIT @limit').all({ from: q.from, to: q.to, source: q.source ?? null, limit: q.limit }) as { source: string; id: string; t: number; src: string; data: string }[];
    return rows.map((r) => ({ source: r.source, id: r.id, t: r.t, src: r.src, meta: JSON.parse(r.data) }));
  }

  /** Model versions, tag keys and sources with 1-hour rows overlapping [from, to]. */
  dimensions(from: number, to: number): { mv: string; g: string; source: string }[] {
    return this.st('SELECT DISTINCT mv, g, source FROM rollups WHERE res = ? AND start >= ? AND start <= ?').all('1h', bucketStart(from, '1h'), to) as { mv: string; g: string; source: string }[];
  }

  /** Rows in each table (for tests and /healthz-style checks). */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of ['sources', 'batches', 'rollups', 'cumulative', 'alerts', 'alert_state', 'flagged', 'baselines', 'annotations']) out[t] = this.st(`SELECT count(*) FROM ${t}`).pluck().get() as number;
    return out;
  }

  /** Whether the database answers a query. */
  ping(): boolean {
    try {
      return this.st('SELECT 1').pluck().get() === 1;
    } catch {
      return false;
    }
  }

  /**
   * Deletes rows past RETENTION as of `now`: 1-min rollups (30 days), 1-hour rollups, alerts and flagged frames
   * (1 year), batch rows (30 days; each source remembers the highest seq pruned, so an old replay stays a duplicate),
   * dead-lettered alert deliveries (30 days); then retention.ts: future-dated rows, old alert states and deliveries,
   * sources silent for limits.sourceIdleMs.
   */
  retention(now = Date.now()): Record<string, number> {
    this.rowCache.clear();
    return this.db.transaction(() => {
      const batchCut = now - RETENTION.batches;
      this.st(`
        UPDATE sources SET pruned_seq = max(pruned_seq, (SELECT max(seq) FROM batches WHERE batches.source = sources.id AND received_at < @cut))
        WHERE EXISTS (SELECT 1 FROM batches WHERE batches.source = sources.id AND received_at < @cut)
      `).run({ cut: batchCut });
      return {
        batches: this.st('DELETE FROM batches WHERE received_at < ?').run(batchCut).changes,
        rollups1m: this.st("DELETE FROM rollups WHERE res = '1m' AND start < ?").run(now - RETENTION.rollups1m).changes,
        rollups1h: this.st("DELETE FROM rollups WHERE res = '1h' AND start < ?").run(now - RETENTION.rollups1h).changes,
        alerts: this.st('DELETE FROM alerts WHERE t < ?').run(now - RETENTION.alerts).changes,
        flagged: this.pruneFlagged(now - RETENTION.flagged),
        annotations: this.st('DELETE FROM annotations WHERE t < ?').run(now - RETENTION.alerts).changes,
        deadLetters: this.st("DELETE FROM outgoing WHERE state = 'dead' AND created_at < ?").run(now - RETENTION.deadLetters).changes,
        ...pruneIdle(this.db, now, this.limits),
      };
    })();
  }

  /** Deletes flagged frames before `cut`, and recounts the image bytes their sources keep. */
  private pruneFlagged(cut: number): number {
    const n = this.st('DELETE FROM flagged WHERE t < ?').run(cut).changes;
    if (n) this.st('UPDATE sources SET image_bytes = (SELECT coalesce(sum(length(jpeg)), 0) FROM flagged WHERE flagged.source = sources.id)').run();
    return n;
  }

  /** Checkpoints the WAL into the main file and closes the database. */
  close(): void {
    if (!this.db.open) return;
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.db.close();
    }
  }
}
