/**
 * The fleet database's schema: the numbered migrations, opening a file at the newest version (created mode 0600,
 * WAL and its settings), and the JSON that rollup and alert rows are stored as. FleetDb (db.ts) opens through it.
 */
import { closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { AlertEvent } from '../health/types.ts';
import type { Rollup } from '../telemetry/rollup.ts';

/** An alert state change with the source that reported it. */
export type SourceAlert = AlertEvent & { source: string };

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
  // rollups of series new to a source past FLEET_MAX_SERIES_PER_SOURCE, left out (ingest.ts), all time
  (db) => db.exec('ALTER TABLE sources ADD COLUMN series_dropped INTEGER NOT NULL DEFAULT 0'),
  // people's verdicts on frames (verdicts.ts): the latest of each frame per source; verdict NULL: cleared
  (db) =>
    db.exec(`
      CREATE TABLE verdicts (
        source TEXT NOT NULL, id TEXT NOT NULL, verdict TEXT, mv TEXT NOT NULL, camera TEXT NOT NULL, location TEXT,
        t INTEGER NOT NULL, updated_at INTEGER NOT NULL,
        PRIMARY KEY (source, id)
      );
      CREATE INDEX verdicts_t ON verdicts (t);
    `),
  // a batch's body hash (sha256) in its own row (auth.ts checkReplay: 409 for a seq reused with other content), not
  // in a table of its own: one B-tree written a batch instead of two (and their index), bench/server.ts
  (db) => {
    db.exec('ALTER TABLE batches ADD COLUMN hash BLOB');
    if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'batch_hashes'").get()) {
      db.exec(`
        UPDATE batches SET hash = (SELECT hash FROM batch_hashes h WHERE h.source = batches.source AND h.seq = batches.seq);
        DROP TABLE batch_hashes;
      `);
    }
  },
  // when each all-time row was last merged into: a series its source stopped sending is forgotten (retention.ts)
  (db) =>
    db.exec(`
      ALTER TABLE cumulative ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
      UPDATE cumulative SET updated_at = coalesce((SELECT last_seen FROM sources WHERE sources.id = cumulative.source), 0);
    `),
  // a baseline per condition of a camera (health/conditions.ts: its day colour, its night IR…): the condition joins
  // the key ('' for those sent before conditions). Idempotent: a table that has the column already is left as it is.
  (db) => {
    if ((db.prepare("SELECT name FROM pragma_table_info('baselines')").pluck().all() as string[]).includes('condition')) return;
    db.exec(`
      CREATE TABLE baselines_by_condition (
        source TEXT NOT NULL, mv TEXT NOT NULL, camera TEXT NOT NULL, condition TEXT NOT NULL DEFAULT '', data TEXT NOT NULL,
        PRIMARY KEY (source, mv, camera, condition)
      );
      INSERT INTO baselines_by_condition (source, mv, camera, condition, data) SELECT source, mv, camera, '', data FROM baselines;
      DROP TABLE baselines;
      ALTER TABLE baselines_by_condition RENAME TO baselines;
    `);
  },
  // challenger comparisons (challenger.ts: the latest per monitor) and quiet hours' held alerts and totals
  // (forward/quiet.ts). Servers before this migration made them when first used, so a table already there is kept.
  (db) =>
    db.exec(`
      CREATE TABLE IF NOT EXISTS challengers (
        source TEXT NOT NULL, src TEXT NOT NULL, camera TEXT NOT NULL, t INTEGER NOT NULL, summary TEXT NOT NULL, updated_at INTEGER NOT NULL,
        PRIMARY KEY (source, src)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS quiet_held (
        alert_key TEXT PRIMARY KEY, source TEXT NOT NULL, rule TEXT NOT NULL, camera_id TEXT NOT NULL, class_id INTEGER NOT NULL,
        firing TEXT, resolve TEXT, held_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS quiet_totals (id INTEGER PRIMARY KEY CHECK (id = 1), muted INTEGER NOT NULL DEFAULT 0, released INTEGER NOT NULL DEFAULT 0);
    `),
];

/** Each migration's name, in order (tests roll a file back to the version before one by its name: `versionBefore`). */
const MIGRATION_NAMES = [
  'initial',
  'forwarding',
  'annotations',
  'forward-dropped',
  'source-costs',
  'series-dropped',
  'verdicts',
  'batch-hash-in-row',
  'cumulative-updated-at',
  'baselines-by-condition',
  'challengers-and-quiet-hours',
] as const;
if (MIGRATION_NAMES.length !== MIGRATIONS.length) throw new Error('schema.ts: every migration needs its name in MIGRATION_NAMES');

/** The schema version a fresh database reaches. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** The user_version a database had before the migration `name` ran. */
export const versionBefore = (name: (typeof MIGRATION_NAMES)[number]): number => MIGRATION_NAMES.indexOf(name);

/** Opens (or creates, mode 0600) the file, sets WAL, and runs pending migrations. */
export function openDatabase(path: string): Database.Database {
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
  db.pragma(`cache_size = ${-(64 << 10)}`);
  const at = db.pragma('user_version', { simple: true }) as number;
  if (at > SCHEMA_VERSION) throw new Error(`${path}: schema version ${at} is newer than this server's (${SCHEMA_VERSION})`);
  for (let v = at; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      MIGRATIONS[v]!(db);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return db;
}

/** A rollup → its stored JSON (±Infinity first/last become null). */
export const toJson = (r: Rollup) => JSON.stringify(r);
/** Stored JSON → its value; undefined for a text that is not JSON (a damaged file, a hand edit). */
export function storedJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Stored JSON → its object; undefined for a text that is not a JSON object (a damaged file, a hand edit). */
export function storedRecord(s: string): Record<string, unknown> | undefined {
  const x = storedJson(s);
  return isRecord(x) ? x : undefined;
}

/**
 * Stored JSON → a rollup; undefined for a row that is not one (a damaged file, a hand edit: not JSON, or without
 * the counts and maps a merge reads): the reads skip it rather than fail, and a write replaces it.
 */
export function rollupFromJson(s: string): Rollup | undefined {
  const r = storedRecord(s);
  if (!r || typeof r.frames !== 'number' || typeof r.mv !== 'string' || typeof r.g !== 'string') return undefined;
  if (![r.lat, r.conf, r.img, r.classes, r.classScore, r.errors].every(isRecord)) return undefined;
  const out = r as unknown as Rollup;
  out.first ??= Infinity;
  out.last ??= -Infinity;
  return out;
}

/**
 * Stored JSON → an alert state change of `source` (a null value or threshold back to NaN); undefined for a row that
 * is not one (a damaged file, a hand edit): the reads skip it rather than fail.
 */
export const alertFromJson = (s: string, source: string): SourceAlert | undefined => {
  const a = storedRecord(s) as AlertEvent | undefined;
  if (!a || typeof a.id !== 'string' || typeof a.rule !== 'string') return undefined;
  a.value ??= NaN;
  a.threshold ??= NaN;
  return { ...a, source };
};
