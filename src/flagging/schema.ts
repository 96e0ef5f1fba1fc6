/** Flagging's slice of the page's IndexedDB schema: flagged frames' metadata and, apart, their images; people's verdicts on frames. */
import type { DBSchema } from 'idb';
import type { Migrations } from '../store/schema.ts';
import type { FlaggedFrame } from './types.ts';
import type { StoredVerdict } from './verdicts.ts';

export interface FlagDB extends DBSchema {
  /** flagged frames' metadata, keyed by inferenceId (UUIDv7: oldest first) */
  flagged: { key: string; value: FlaggedFrame };
  /** their images, apart (the gallery and exports read metadata without touching the JPEGs) */
  flaggedImages: { key: string; value: { id: string; jpeg: Blob; thumb: Blob } };
  /** people's verdicts on frames (right, wrong, missing; null: cleared), by the frame's inferenceId; `seq` orders changes for sync */
  verdicts: { key: string; value: StoredVerdict; indexes: { seq: string } };
}

export const flagMigrations: Migrations = {
  1: (db) => {
    db.createObjectStore('flagged', { keyPath: 'id' });
  },
  // v4: flagged frames' images beside their metadata (the v1 `flagged` store was never written)
  4: (db) => {
    db.createObjectStore('flaggedImages', { keyPath: 'id' });
  },
  // v8: people's verdicts on frames (verdicts.ts); the stores before are left as they are
  8: (db) => {
    db.createObjectStore('verdicts', { keyPath: 'id' }).createIndex('seq', 'seq');
  },
};
