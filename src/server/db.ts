/**
 * The fleet server's store: one SQLite file (better-sqlite3, WAL; its schema and migrations are schema.ts's).
 * Batches are written by ingest.ts (each in one transaction, idempotently on (source id, seq), group-committed,
 * rollups merged into their 1-min, 1-hour and all-time rows); this class opens the file, delegates writes, and
 * reads: plain Rollups / AlertEvents for the shared query functions, sources, alerts, and retention.
 *
 * Rollup rows are returned ordered by (start, mv, g, source), so sums over them are reproducible.
 *
 * Hooks registered with `onIngest` run inside each new batch's transaction (forward.ts queues alert state
 * changes for Alertmanager and webhooks there, in the `outgoing` table, so none is lost between).
 */
import type Database from 'better-sqlite3';
import type { Batch } from '../sync/payload.ts';
import type { AlertEvent } from '../health/types.ts';
import { rollupMatches, type Filters } from '../store/queries.ts';
import { bucketStart, type Rollup } from '../telemetry/rollup.ts';
import { shortVersion } from '../lib/short-version.ts';
import { DEFAULT_LIMITS, type DropCounts, type Limits } from './bounds.ts';
import { BatchWriter, type IngestEvent, type IngestResult } from './ingest.ts';
import { pruneIdle } from './retention.ts';
import { installVerdicts } from './verdicts.ts';
import { installChallengers } from './challenger.ts';
import { alertFromJson, openDatabase, rollupFromJson, type SourceAlert, storedJson, storedRecord } from './schema.ts';

export type { IngestEvent, IngestResult } from './ingest.ts';
export { rollupFromJson, SCHEMA_VERSION, type SourceAlert } from './schema.ts';

const DAY = 24 * 3600_000;

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
  /** rollups of series new to the source past limits.seriesPerSource, left out, all time */
  series_dropped: number;
}

/** Rollup filters plus the source id. */
export type RollupFilters = Filters & { source?: string };

/** The fleet database: open with `FleetDb.open(path)`. */
export class FleetDb {
  readonly db: Database.Database;
  /** what one batch and one source may make the server keep (bounds.ts; main.ts sets them from the environment) */
  limits: Limits = DEFAULT_LIMITS;
  /** items dropped at ingest by reason (process totals, for /metrics) */
  readonly dropped: DropCounts = {};
  /** flagged JPEG bytes kept per source: past it a batch's images are dropped (its frames' metadata kept) and counted */
  imageQuota = Infinity;
  private stmts = new Map<string, Database.Statement>();
  private readonly writer: BatchWriter;

  private constructor(db: Database.Database) {
    this.db = db;
    this.writer = new BatchWriter(db, this);
    installVerdicts(this); // people's verdicts: kept by an ingest hook of their own (verdicts.ts)
    installChallengers(this); // challenger comparisons: the latest per monitor, by an ingest hook (challenger.ts)
  }

  /** Opens (or creates, mode 0600) the file, sets WAL, and runs pending migrations (schema.ts). */
  static open(path: string): FleetDb {
    return new FleetDb(openDatabase(path));
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
    return this.writer.ingest(batch, tokenName, now);
  }

  /**
   * As `ingest`, committed together with the other batches queued in the same turn of the event loop (group
   * commit: ingest.ts). Resolves once its transaction has committed.
   */
  queue(batch: Batch, tokenName: string, now = Date.now(), hash?: Buffer): Promise<IngestResult> {
    return this.writer.queue(batch, tokenName, now, hash);
  }

  /** The body hash a batch was taken with (undefined: no such batch, or taken without one). */
  batchHash(source: string, seq: number): Buffer | undefined {
    return (this.st('SELECT hash FROM batches WHERE source = ? AND seq = ?').pluck().get(source, seq) as Buffer | null | undefined) ?? undefined;
  }

  /** Runs `hook` inside every new (non-duplicate) batch's transaction, after the batch is written; a throw rolls the batch back. */
  onIngest(hook: (e: IngestEvent) => void): void {
    this.writer.hooks.push(hook);
  }

  /**
   * Records an alert state change of a source (call inside a transaction): its row in `alerts` (`fresh`: its id
   * was new) and, unless a later change is already there, its alert_state (`latest`).
   */
  putAlert(source: string, a: AlertEvent): { fresh: boolean; latest: boolean } {
    return this.writer.putAlert(source, a);
  }

  /** Rollups of one resolution with start in [bucketStart(from), to] passing the filters, by (start, mv, g, source). */
  rollups(res: '1m' | '1h', from: number, to: number, f: RollupFilters = {}, limit = -1): Rollup[] {
    return this.rollupRows(res, from, to, f, limit).map((r) => r.rollup);
  }

  /** As `rollups`, each with its source id; at most `limit` stored rows read (-1: all). */
  rollupRows(res: '1m' | '1h', from: number, to: number, f: RollupFilters = {}, limit = -1): { source: string; rollup: Rollup }[] {
    return [...this.eachRollupRow(res, from, to, f, limit)];
  }

  /**
   * As `rollupRows`, one row at a time: each parsed as it is read, so a long read holds one stored row in memory,
   * not all of them; `loaded` is called for every stored row read (filtered out or not). Consume it before the
   * next query of the same kind (the statement is busy until then).
   */
  *eachRollupRow(res: '1m' | '1h', from: number, to: number, f: RollupFilters = {}, limit = -1, loaded?: () => void): Generator<{ source: string; rollup: Rollup }> {
    const rows = this.st(`
      SELECT source, data FROM rollups WHERE res = @res AND start >= @from AND start <= @to
        AND (@mv IS NULL OR mv = @mv) AND (@source IS NULL OR source = @source)
      ORDER BY start, mv, g, source LIMIT @limit
    `).iterate({ res, from: bucketStart(from, res), to, mv: f.mv === undefined ? null : shortVersion(f.mv), source: f.source ?? null, limit }) as IterableIterator<{ source: string; data: string }>;
    for (const row of rows) {
      loaded?.();
      const r = rollupFromJson(row.data);
      if (r && rollupMatches(r, f)) yield { source: row.source, rollup: r };
    }
  }

  /** Every source, oldest first. */
  sources(): SourceRow[] {
    const rows = this.st('SELECT id, device_id, token, app_version, first_seen, last_seen, last_seq, monitors, dropped, last_data, image_bytes, images_dropped, keys_dropped, series_dropped FROM sources ORDER BY first_seen, id').all() as (Omit<SourceRow, 'monitors'> & { monitors: string })[];
    return rows.map((r) => {
      const monitors = storedJson(r.monitors);
      return { ...r, monitors: Array.isArray(monitors) ? monitors : [] };
    });
  }

  /** Distinct (mv, g) series per source: its all-time rows. */
  seriesCounts(): Map<string, number> {
    const rows = this.st('SELECT source, count(*) AS n FROM cumulative GROUP BY source').all() as { source: string; n: number }[];
    return new Map(rows.map((r) => [r.source, r.n]));
  }

  /** The all-time merged rollup of every (source, mv, g). */
  cumulative(): { source: string; rollup: Rollup }[] {
    return (this.st('SELECT source, data FROM cumulative ORDER BY source, mv, g').all() as { source: string; data: string }[]).flatMap((r) => {
      const rollup = rollupFromJson(r.data);
      return rollup ? [{ source: r.source, rollup }] : [];
    });
  }

  /** Alerts whose latest state (per source, rule, camera and class) is firing. */
  firing(source?: string): SourceAlert[] {
    const rows = this.st(`SELECT source, data FROM alert_state WHERE state = 'firing' AND (@source IS NULL OR source = @source) ORDER BY source, rule, camera_id, class_id`).all({ source: source ?? null }) as { source: string; data: string }[];
    return rows.flatMap((r) => alertFromJson(r.data, r.source) ?? []);
  }

  /**
   * Alert state changes in [from, to], newest first (by t, then source, then id), at most `limit`; `before`
   * continues after a row ([t, source, id], as the previous page's `next`).
   */
  alerts(q: { from: number; to: number; camera_id?: string; condition?: string; source?: string; rule?: string; before?: [number, string, string]; limit: number }): { rows: SourceAlert[]; next: [number, string, string] | null } {
    const [bt, bs, bi] = q.before ?? [null, null, null];
    const rows = this.st(`
      SELECT source, id, t, data FROM alerts
      WHERE t >= @from AND t <= @to
        AND (@camera IS NULL OR camera_id = @camera) AND (@source IS NULL OR source = @source) AND (@rule IS NULL OR rule = @rule)
        AND (@condition IS NULL OR CASE WHEN json_valid(data) THEN json_extract(data, '$.condition') END = @condition)
        AND (@bt IS NULL OR (t, source, id) < (@bt, @bs, @bi))
      ORDER BY t DESC, source DESC, id DESC LIMIT @limit
    `).all({ from: q.from, to: q.to, camera: q.camera_id ?? null, condition: q.condition ?? null, source: q.source ?? null, rule: q.rule ?? null, bt, bs, bi, limit: q.limit + 1 }) as { source: string; id: string; t: number; data: string }[];
    const more = rows.length > q.limit;
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return { rows: page.flatMap((r) => alertFromJson(r.data, r.source) ?? []), next: more && last ? [last.t, last.source, last.id] : null };
  }

  /** Annotations of inferences made in [from, to] (by their ids' time), newest first, at most `limit`. */
  annotations(q: { from: number; to: number; source?: string; limit: number }): { source: string; id: string; t: number; src: string; meta: Record<string, string> }[] {
    const rows = this.st('SELECT source, id, t, src, data FROM annotations WHERE t >= @from AND t <= @to AND (@source IS NULL OR source = @source) ORDER BY t DESC, id DESC LIMIT @limit').all({ from: q.from, to: q.to, source: q.source ?? null, limit: q.limit }) as { source: string; id: string; t: number; src: string; data: string }[];
    return rows.flatMap((r) => {
      const meta = storedRecord(r.data);
      return meta ? [{ source: r.source, id: r.id, t: r.t, src: r.src, meta: meta as Record<string, string> }] : [];
    });
  }

  /** Model versions, tag keys and sources with 1-hour rows overlapping [from, to] (at most `limit`; -1: all). */
  dimensions(from: number, to: number, limit = -1): { mv: string; g: string; source: string }[] {
    return this.st('SELECT DISTINCT mv, g, source FROM rollups WHERE res = ? AND start >= ? AND start <= ? LIMIT ?').all('1h', bucketStart(from, '1h'), to, limit) as { mv: string; g: string; source: string }[];
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
    this.writer.clearCache();
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
