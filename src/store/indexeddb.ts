/**
 * The store's IndexedDB backend: a flush's records, detections and rollups in one relaxed readwrite
 * transaction; the log, retention and history operations from their own modules over the same database.
 */
import type { IDBPDatabase, IDBPObjectStore, StoreNames } from 'idb';
import type { FrameRecord } from '../telemetry/record.ts';
import { mergeRollup, type Resolution, type Rollup } from '../telemetry/rollup.ts';
import type { DetectionsRow, StoreDB } from './schema.ts';
import type { StoreBackend } from './backend.ts';
import { packBlocks } from './frame-block.ts';
import { dropSeriesPages } from './series-cache.ts';
import { idbRetention } from './retention.ts';
import { idbLog } from './log.ts';
import { idbHistory } from './history.ts';

type RollupsStore = IDBPObjectStore<StoreDB, ArrayLike<StoreNames<StoreDB>>, 'rollups', 'readwrite'>;

/**
 * Merges rollups into those stored: read, merge, put, inside the caller's transaction (so other tabs' rollups
 * for the same key merge safely).
 */
async function mergeRollups(rollups: RollupsStore, rows: Rollup[]) {
  await Promise.all(
    rows.map(async (d) => {
      const existing = await rollups.get([d.res, d.start, d.mv, d.g]);
      await rollups.put(existing ? mergeRollup(existing, d) : d);
    }),
  );
}

/** The backend over an open database; `failed` hears of history writes that failed (they do not reject). */
export const indexedDbBackend = (db: IDBPDatabase<StoreDB>, failed: (e: unknown) => void) =>
  ({
    db,

    async commit(batch: FrameRecord[], dets: DetectionsRow[], models: ReadonlyMap<string, string>, deltas: Rollup[]): Promise<void> {
      const tx = db.transaction(['frames', 'rollups', 'detections', 'models', 'seriesPages'], 'readwrite', { durability: 'relaxed' });
      const frames = tx.objectStore('frames');
      for (const block of packBlocks(batch)) void frames.put(block);
      for (const d of dets) void tx.objectStore('detections').put(d);
      for (const [mv, sha256] of models) void tx.objectStore('models').put({ mv, sha256, firstSeen: Date.now() });
      await mergeRollups(tx.objectStore('rollups'), deltas);
      await dropSeriesPages(tx.objectStore('seriesPages'), deltas);
      await tx.done;
    },

    async importRollups(rows: Rollup[]): Promise<void> {
      const tx = db.transaction(['rollups', 'seriesPages'], 'readwrite', { durability: 'relaxed' });
      await mergeRollups(tx.objectStore('rollups'), rows);
      await dropSeriesPages(tx.objectStore('seriesPages'), rows);
      await tx.done;
    },

    /** (In key order: oldest first.) */
    async rollupsBetween(res: Resolution, from: number, to: number): Promise<Rollup[]> {
      return db.getAll('rollups', IDBKeyRange.bound([res, from], [res, to, '\uffff', '\uffff']));
    },

    ...idbRetention(db),
    ...idbLog(db),
    ...idbHistory(db, failed),
  }) satisfies StoreBackend & { db: IDBPDatabase<StoreDB> };

export type IndexedDbBackend = ReturnType<typeof indexedDbBackend>;
