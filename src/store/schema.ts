/** The store's slice of the page's IndexedDB schema and its migrations, and how the features' slices are composed (composeMigrations). */
import type { DBSchema, IDBPDatabase, IDBPTransaction } from 'idb';
import type { Detection } from '../types/detection.ts';
import type { FrameBlock } from './frame-block.ts';
import type { Resolution, Rollup } from '../telemetry/rollup.ts';
import type { SeriesPage } from './series-page.ts';
import type { AlertEvent, Baseline } from '../health/types.ts';
import { pictureMode } from '../capture/image-stats.ts';


/** A frame's full detections, kept for the inference log's recent rows (bounded). */
export interface DetectionsRow {
  id: string;
  t: number;
  detections: Detection[];
}

/**
 * The store's slice of the page's IndexedDB schema (flagging and sync own theirs; the page's back-end composes
 * them where the database is opened). Frames are stored in blocks keyed by [first UUIDv7 inferenceId, count]: ids sort by
 * time, so age-based retention and newest-first paging need no extra index, and counts need no values.
 * Rollups are keyed [resolution, bucket start, model version, tag key], so one key range reads a
 * resolution over a time range.
 */
export interface StoreDB extends DBSchema {
  /** raw frame records, in columnar blocks keyed [first id, count] (see frame-block.ts) */
  frames: { key: [string, number]; value: FrameBlock };
  detections: { key: string; value: DetectionsRow };
  rollups: { key: [Resolution, number, string, string]; value: Rollup };
  /** series points of closed buckets per filter set, SERIES_PAGE_BUCKETS (720) buckets a value (a cache: rebuilt from rollups when absent) */
  seriesPages: { key: [string, Resolution, number]; value: SeriesPage; indexes: { page: [Resolution, number] } };
  /** alert state changes (firing, resolved), keyed by UUIDv7 id: newest last */
  alerts: { key: string; value: AlertEvent; indexes: { rule: string } };
  /** one baseline per [model version, camera_id, condition] (health/conditions.ts) */
  baselines: { key: [string, string, string]; value: Baseline };
  /** metadata attached to inferences after the fact, by inferenceId; `seq` orders changes for sync */
  annotations: { key: string; value: import('./annotations.ts').Annotation; indexes: { seq: string } };
  models: { key: string; value: { mv: string; sha256: string; firstSeen: number } };
  meta: { key: string; value: unknown };
}

/** One feature's migrations, one per version step it has a part in; each runs inside the upgrade transaction. */
export type Migrations = Record<number, (db: IDBPDatabase<any>, tx: IDBPTransaction<any, any, 'versionchange'>) => void>;

/** A database: its name, version and every slice's migrations (see composeMigrations). */
export interface DbSpec {
  name: string;
  version: number;
  migrations: Migrations;
}

/** The features' migrations as one: for each version, every slice's step, in the order given. */
export function composeMigrations(...slices: Migrations[]): Migrations {
  const out: Migrations = {};
  for (const v of new Set(slices.flatMap((m) => Object.keys(m).map(Number)))) {
    const steps = slices.map((m) => m[v]).filter((f) => !!f);
    out[v] = (db, tx) => steps.forEach((f) => f(db, tx));
  }
  return out;
}

/** The store's migrations (flagged frames and the outboxes are created by their own slices). */
export const storeMigrations: Migrations = {
  1: (db) => {
    db.createObjectStore('frames', { keyPath: 'id' });
    db.createObjectStore('detections', { keyPath: 'id' });
    db.createObjectStore('rollups', { keyPath: ['res', 'start', 'mv', 'g'] });
    db.createObjectStore('alerts', { keyPath: 'id' }).createIndex('rule', 'rule');
    db.createObjectStore('baselines', { keyPath: ['mv', 'camera'] });
    db.createObjectStore('models', { keyPath: 'mv' });
    db.createObjectStore('meta');
  },
  // v2: raw frames move from one value per frame to columnar blocks (pre-release raw frames are dropped;
  // rollups, which hold every frame's summary, are kept)
  2: (db) => {
    if (db.objectStoreNames.contains('frames')) db.deleteObjectStore('frames');
    db.createObjectStore('frames', { keyPath: 'key' });
  },
  // v3: persisted series points (filled as queries and upkeep compute them)
  3: (db) => {
    db.createObjectStore('seriesPages', { keyPath: ['key', 'res', 'start'] }).createIndex('page', ['res', 'start']);
  },
  // v7: annotations (annotate(inferenceId, {key: value}))
  7: (db) => {
    db.createObjectStore('annotations', { keyPath: 'id' }).createIndex('seq', 'seq');
  },
  // v9: a baseline per condition of a camera (health/conditions.ts): keyed [mv, camera, condition]; the baselines
  // kept so far move over under their picture's mode (the median of their windows' saturation, as conditions.ts reads it)
  9: (db, tx) => {
    void tx.objectStore('baselines').getAll().then((rows: Baseline[]) => {
      db.deleteObjectStore('baselines');
      const store = db.createObjectStore('baselines', { keyPath: ['mv', 'camera', 'condition'] });
      for (const b of rows) void store.put({ ...b, condition: b.condition ?? baselineMode(b) });
    });
  },
};

/** A baseline's picture mode, from the median of its windows' saturation (`colour` where it has none). */
function baselineMode(b: Baseline): string {
  const xs = (b.windows.saturation ?? []).filter(Number.isFinite).sort((x, y) => x - y);
  return xs.length ? pictureMode(xs[Math.floor(xs.length / 2)]!) : 'colour';
}
