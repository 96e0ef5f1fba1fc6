import type { DBSchema } from 'idb';
import type { Detection } from '../inference/types.ts';
import type { FrameRecord } from '../telemetry/record.ts';
import type { Resolution, Rollup } from '../telemetry/rollup.ts';

export const DB_NAME = 'inference-health';
export const DB_VERSION = 1;

/** A frame's full detections, kept for the inference log's recent rows (bounded). */
export interface DetectionsRow {
  id: string;
  t: number;
  detections: Detection[];
}

/**
 * The IndexedDB schema. Frames are keyed by their UUIDv7 inferenceId, which sorts by time: age-based
 * retention and newest-first paging need no extra index (every index costs bytes on every frame).
 * Rollups are keyed [resolution, bucket start, model version, tag key], so one key range reads a
 * resolution over a time range.
 */
export interface MonitorDB extends DBSchema {
  frames: { key: string; value: FrameRecord };
  detections: { key: string; value: DetectionsRow };
  rollups: { key: [Resolution, number, string, string]; value: Rollup };
  alerts: { key: string; value: { id: string; t: number; rule: string; state: string; [k: string]: unknown }; indexes: { rule: string } };
  baselines: { key: [string, string]; value: { mv: string; camera: string; createdAt: number; [k: string]: unknown } };
  flagged: { key: string; value: { id: string; t: number; reason: string; [k: string]: unknown } };
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
};

/** The smallest UUIDv7 string for a time: every id of a frame at or after `t` sorts at or above it. */
export function idFloor(t: number): string {
  const h = Math.max(0, Math.floor(t)).toString(16).padStart(12, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-`;
}
