/** Sync's slice of the page's IndexedDB schema: the server's and the OTLP collector's outboxes (their state is kept in the store's `meta`). */
import type { DBSchema } from 'idb';
import type { Migrations } from '../store/schema.ts';
import type { QueuedBatch } from './outbox.ts';

export interface SyncDB extends DBSchema {
  /** sync batches waiting for the server's acknowledgement, by sequence number */
  outbox: { key: number; value: QueuedBatch };
  /** OTLP exports waiting for the collector's 2xx, by sequence number */
  otlpOutbox: { key: number; value: QueuedBatch };
  meta: { key: string; value: unknown };
}

export const syncMigrations: Migrations = {
  // v5: the sync outbox
  5: (db) => {
    db.createObjectStore('outbox', { keyPath: 'seq' });
  },
  // v6: the OpenTelemetry (OTLP/HTTP) export's own outbox
  6: (db) => {
    db.createObjectStore('otlpOutbox', { keyPath: 'seq' });
  },
};
