/**
 * Retention: how long raw frames, rollups, detections and alerts are kept, and how IndexedDB is trimmed to it
 * (age and count limits in whole frame blocks; the oldest raw frames evicted first when storage is full).
 */
import type { IDBPDatabase } from 'idb';
import { RESOLUTIONS, type Resolution } from '../telemetry/rollup.ts';
import { idFloor } from '../lib/uuidv7.ts';
import type { StoreDB } from './schema.ts';
import { BLOCK_SPAN_MS } from './frame-block.ts';
import { seriesPageMs } from './series-page.ts';
import { deleteSeriesPages } from './series-cache.ts';

export interface RetentionOptions {
  /** raw frames older than this are deleted (ms; default 24 h) */
  frameMaxAgeMs: number;
  /** at most this many raw frames (default 500,000) */
  frameMaxCount: number;
  /** 10-s rollups (default 24 h), 1-min (30 days), 1-h (1 year) */
  rollupMaxAgeMs: Record<Resolution, number>;
  /** full detections kept for the newest frames (default 2,000) */
  detectionsMaxCount: number;
  /** alert history: at most this many state changes (default 10,000), none older than a year */
  alertsMaxCount: number;
}

export const DEFAULT_RETENTION: RetentionOptions = {
  frameMaxAgeMs: 24 * 3600_000,
  frameMaxCount: 500_000,
  rollupMaxAgeMs: { '10s': 24 * 3600_000, '1m': 30 * 24 * 3600_000, '1h': 365 * 24 * 3600_000 },
  detectionsMaxCount: 2_000,
  alertsMaxCount: 10_000,
};

/** The retention and eviction operations of the IndexedDB backend (see backend.ts). */
export function idbRetention(db: IDBPDatabase<StoreDB>) {
  /** Number of raw frames stored (from block keys; no values read). */
  async function frameCount(): Promise<number> {
    let n = 0;
    let cursor = await db.transaction('frames').store.openKeyCursor();
    while (cursor) {
      n += cursor.primaryKey[1];
      cursor = await cursor.continue();
    }
    return n;
  }

  return {
    frameCount,

    /** Deletes at least n of the oldest raw frames (whole blocks), and their detections; returns how many went. */
    async evictOldestFrames(n: number): Promise<number> {
      const tx = db.transaction(['frames', 'detections'], 'readwrite');
      let cursor = await tx.objectStore('frames').openKeyCursor();
      let deleted = 0;
      let last: [string, number] | undefined;
      while (cursor && deleted < n) {
        last = cursor.primaryKey;
        deleted += last[1];
        cursor = await cursor.continue();
      }
      if (last) {
        await tx.objectStore('frames').delete(IDBKeyRange.upperBound(last));
        // detections of evicted frames: everything before the next block's first id
        if (cursor) await tx.objectStore('detections').delete(IDBKeyRange.upperBound(cursor.primaryKey[0], true));
        else await tx.objectStore('detections').clear();
      }
      await tx.done;
      return deleted;
    },

    /**
     * Applies retention in one transaction; `forget(res, cut)` is told, inside it, which rollups go (so caches of
     * them can go too). Returns how many raw frames went.
     */
    async applyRetention(now: number, r: RetentionOptions, forget: (res: Resolution, cut: number) => void): Promise<{ frames: number }> {
      const before = await frameCount();
      const tx = db.transaction(['frames', 'rollups', 'detections', 'alerts', 'seriesPages', 'annotations'], 'readwrite');
      const frames = tx.objectStore('frames');
      await tx.objectStore('annotations').delete(IDBKeyRange.upperBound(idFloor(now - 365 * 24 * 3600_000), true));
      // blocks that started over a span before the cutoff hold only frames older than it
      const ageCut = idFloor(now - r.frameMaxAgeMs - BLOCK_SPAN_MS);
      await frames.delete(IDBKeyRange.upperBound([ageCut]));
      await tx.objectStore('detections').delete(IDBKeyRange.upperBound(idFloor(now - r.frameMaxAgeMs), true));
      // count: keep the newest blocks that fit
      let kept = 0;
      let cursor = await frames.openKeyCursor(null, 'prev');
      while (cursor && kept + cursor.primaryKey[1] <= r.frameMaxCount) {
        kept += cursor.primaryKey[1];
        cursor = await cursor.continue();
      }
      if (cursor) await frames.delete(IDBKeyRange.upperBound(cursor.primaryKey));
      const dcount = await tx.objectStore('detections').count();
      if (dcount > r.detectionsMaxCount) {
        let dc = await tx.objectStore('detections').openKeyCursor();
        let skip = dcount - r.detectionsMaxCount;
        let last: string | undefined;
        while (dc && skip-- > 0) {
          last = dc.primaryKey;
          dc = await dc.continue();
        }
        if (last !== undefined) await tx.objectStore('detections').delete(IDBKeyRange.upperBound(last));
      }
      const alerts = tx.objectStore('alerts');
      await alerts.delete(IDBKeyRange.upperBound(idFloor(now - 365 * 24 * 3600_000), true));
      const acount = await alerts.count();
      if (acount > r.alertsMaxCount) {
        let ac = await alerts.openKeyCursor();
        if (ac && acount - r.alertsMaxCount > 1) ac = await ac.advance(acount - r.alertsMaxCount - 1);
        if (ac) await alerts.delete(IDBKeyRange.upperBound(ac.primaryKey));
      }
      // only buckets past the rollups' age limits go: cached points and rows of younger ones stay valid
      for (const res of Object.keys(RESOLUTIONS) as Resolution[]) forget(res, now - r.rollupMaxAgeMs[res]);
      for (const res of Object.keys(RESOLUTIONS) as Resolution[]) {
        await tx.objectStore('rollups').delete(IDBKeyRange.bound([res, -Infinity], [res, now - r.rollupMaxAgeMs[res]], false, true));
        await deleteSeriesPages(tx.objectStore('seriesPages'), IDBKeyRange.bound([res, -Infinity], [res, now - r.rollupMaxAgeMs[res] - seriesPageMs(res)]));
      }
      await tx.done;
      return { frames: before - (await frameCount()) };
    },
  };
}
