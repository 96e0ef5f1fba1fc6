import type { DBSchema } from 'idb';
import type { Detection } from '../inference/types.ts';
import type { FrameBlock } from './frame-block.ts';
import type { Resolution, Rollup } from '../telemetry/rollup.ts';
import type { SeriesPage } from './series-page.ts';
import type { AlertEvent, Baseline } from '../health/types.ts';
import type { FlaggedFrame } from '../flagging/types.ts';

export const DB_NAME = 'inference-health';
export const DB_VERSION = 7;

/** A frame's full detections, kept for the inference log's recent rows (bounded). */
export interface DetectionsRow {
  id: string;
  t: number;
  detections: Detection[];
}

/**
 * The IndexedDB schema. Frames are stored in blocks keyed by [first UUIDv7 inferenceId, count]: ids sort by
 * time, so age-based retention and newest-first paging need no extra index, and counts need no values.
 * Rollups are keyed [resolution, bucket start, model version, tag key], so one key range reads a
 * resolution over a time range.
 */
export interface MonitorDB extends DBSchema {
  /** raw frame records, in columnar blocks keyed [first id, count] (see frame-block.ts) */
  frames: { key: [string, number]; value: FrameBlock };
  detections: { key: string; value: DetectionsRow };
  rollups: { key: [Resolution, number, string, string]; value: Rollup };
  /** series points of closed buckets per filter set, 30 buckets a value (a cache: rebuilt from rollups when absent) */
  seriesPages: { key: [string, Resolution, number]; value: SeriesPage; indexes: { page: [Resolution, number] } };
  /** alert state changes (firing, resolved), keyed by UUIDv7 id: newest last */
  alerts: { key: string; value: AlertEvent; indexes: { rule: string } };
  /** one baseline per [model version, camera_id] */
  baselines: { key: [string, string]; value: Baseline };
  /** flagged frames' metadata, keyed by inferenceId (UUIDv7: oldest first) */
  flagged: { key: string; value: FlaggedFrame };
  /** their images, apart (the gallery and exports read metadata without touching the JPEGs) */
  flaggedImages: { key: string; value: { id: string; jpeg: Blob; thumb: Blob } };
  /** sync batches waiting for the server's acknowledgement, by sequence number */
  outbox: { key: number; value: import('../sync/outbox.ts').QueuedBatch };
  /** OTLP exports waiting for the collector's 2xx, by sequence number */
  otlpOutbox: { key: number; value: import('../sync/outbox.ts').QueuedBatch };
  /** metadata attached to inferences after the fact, by inferenceId; `seq` orders changes for sync */
  annotations: { key: string; value: import('./annotations.ts').Annotation; indexes: { seq: string } };
  models: { key: string; value: { mv: string; sha256: string; firstSeen: number } };
  meta: { key: string; value: unknown };
}

/** Migrations, one per version step; each runs inside the upgrade transaction. */
export const migrations: Record<number, (db: import('idb').IDBPDatabase<MonitorDB>, tx: import('idb').IDBPTransaction<MonitorDB, any, 'versionchange'>) => void> = {
  1: (db) => {
    db.createObjectStore('frames', { keyPath: 'id' });
    db.createObjectStore('detections', { keyPath: 'id' });
    db.createObjectStore('rollups', { keyPath: ['res', 'start', 'mv', 'g'] });
    db.createObjectStore('alerts', { keyPath: 'id' }).createIndex('rule', 'rule');
    db.createObjectStore('baselines', { keyPath: ['mv', 'camera'] });
    db.createObjectStore('flagged', { keyPath: 'id' });
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
  // v4: flagged frames' images beside their metadata (the v1 `flagged` store was never written)
  4: (db) => {
    db.createObjectStore('flaggedImages', { keyPath: 'id' });
  },
  // v5: the sync outbox
  5: (db) => {
    db.createObjectStore('outbox', { keyPath: 'seq' });
  },
  // v6: the OpenTelemetry (OTLP/HTTP) export's own outbox
  6: (db) => {
    db.createObjectStore('otlpOutbox', { keyPath: 'seq' });
  },
  // v7: annotations (annotate(inferenceId, {key: value}))
  7: (db) => {
    db.createObjectStore('annotations', { keyPath: 'id' }).createIndex('seq', 'seq');
  },
};

/** The smallest UUIDv7 string for a time: every id of a frame at or after `t` sorts at or above it. */
export function idFloor(t: number): string {
  const h = Math.max(0, Math.floor(t)).toString(16).padStart(12, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-`;
}

/** The millisecond time a UUIDv7 id was made at (its first 48 bits). */
export function idTime(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
