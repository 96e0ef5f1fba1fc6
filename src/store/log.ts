/**
 * The inference log: raw frame records newest first, in pages by id (UUIDv7 ids sort by time), with their
 * detections and annotations where kept; here the query's shapes and the IndexedDB read.
 */
import type { IDBPDatabase } from 'idb';
import type { Detection } from '../types/detection.ts';
import type { FrameRecord } from '../telemetry/record.ts';
import { idTime } from '../lib/uuidv7.ts';
import type { StoreDB } from './schema.ts';
import { BLOCK_SPAN_MS, unpackBlock } from './frame-block.ts';
import { type Filters, frameMatches } from './queries.ts';

/** A page of the log: before `before` (the previous page's `next`), or only after `after` (a live view's refresh). */
export interface LogQuery extends Filters {
  before?: string;
  after?: string;
  limit?: number;
}

export type LogRow = FrameRecord & { detections?: Detection[]; annotations?: Record<string, string> };

export interface LogPage {
  rows: LogRow[];
  /** pass as `before` for the next page; absent when this was the last */
  next: string | undefined;
}

/** Whether a record belongs on the log's page: inside the query's id bounds and passing its filters. */
export const logWanted = (q: LogQuery) => (r: FrameRecord) => (q.before === undefined || r.id < q.before) && (q.after === undefined || r.id > q.after) && frameMatches(r, q);

/** The log read of the IndexedDB backend (see backend.ts). */
export const idbLog = (db: IDBPDatabase<StoreDB>) => ({
  /** A page of at most `limit` rows, newest first. */
  async log(opts: LogQuery, limit: number): Promise<LogPage> {
    const rows: LogRow[] = [];
    let next: string | undefined;
    const wanted = logWanted(opts);
    const tx = db.transaction(['frames', 'detections', 'annotations']);
    // Blocks come newest first by their first id; a block holds ≤ BLOCK_SPAN_MS of frames, so once the
    // cursor is at first-time T, no unread block holds a frame later than T + span: those are final.
    const candidates: FrameRecord[] = [];
    let cursor = await tx.objectStore('frames').openCursor(opts.before ? IDBKeyRange.upperBound([opts.before]) : null, 'prev');
    const final = (c: FrameRecord, keyT: number) => c.t > keyT + BLOCK_SPAN_MS;
    // blocks that began more than a span before `after` hold nothing later than it
    const afterT = opts.after !== undefined ? idTime(opts.after) : -Infinity;
    while (cursor) {
      const keyT = cursor.value.t0;
      if (keyT + BLOCK_SPAN_MS < afterT) break;
      for (const r of unpackBlock(cursor.value)) if (wanted(r)) candidates.push(r);
      if (candidates.filter((c) => final(c, keyT)).length > limit) break;
      cursor = await cursor.continue();
    }
    candidates.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    rows.push(...candidates.slice(0, limit));
    if (candidates.length > limit) next = rows.at(-1)!.id;
    for (const r of rows) {
      const [d, a] = await Promise.all([tx.objectStore('detections').get(r.id), tx.objectStore('annotations').get(r.id)]);
      if (d) r.detections = d.detections;
      if (a) r.annotations = a.meta;
    }
    return { rows, next };
  },
});
