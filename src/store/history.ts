/**
 * History: baselines, alert state changes, settings (meta) and annotations — what the health engine, the
 * flagger and sync keep beside the records; here the alert query and the IndexedDB operations.
 */
import type { IDBPDatabase } from 'idb';
import { idFloor } from '../lib/uuidv7.ts';
import type { StoreDB } from './schema.ts';
import type { Annotation } from './annotations.ts';

/** An alert state change and a drift baseline, as the store keeps them (the health engine's types). */
export type AlertEvent = StoreDB['alerts']['value'];
export type Baseline = StoreDB['baselines']['value'];

/** Alert history filters; `before` pages (pass the previous page's `next`). */
export interface AlertQuery {
  from?: number;
  to?: number;
  camera_id?: string;
  /** the camera's condition the alert was judged in (AlertEvent.condition) */
  condition?: string;
  rule?: string;
  before?: string;
  limit?: number;
}

/** Whether an alert state change passes a query (its time range, filters and `before`). */
export const alertMatches = (q: AlertQuery) => (a: AlertEvent) =>
  (q.from === undefined || a.t >= q.from) && (q.to === undefined || a.t <= q.to) && (q.camera_id === undefined || a.camera_id === q.camera_id) && (q.condition === undefined || a.condition === q.condition) && (q.rule === undefined || a.rule === q.rule) && (q.before === undefined || a.id < q.before);

/**
 * The history operations of the IndexedDB backend (see backend.ts). Writes resolve even when they fail: the
 * failure goes to `failed` (the store counts it), as what was written is also kept in memory.
 */
export const idbHistory = (db: IDBPDatabase<StoreDB>, failed: (e: unknown) => void) => ({
  /** Merges an inference's annotation (read and written in one transaction: two in a row both stay). */
  async annotate(id: string, merge: (old: Annotation | undefined) => Annotation): Promise<Annotation> {
    const tx = db.transaction('annotations', 'readwrite');
    const written = tx.done.then(() => undefined, (e: unknown) => e ?? new Error('the annotation was not stored'));
    let old: Annotation | undefined;
    try {
      old = await tx.store.get(id);
    } catch (e) {
      await written;
      throw e;
    }
    const a = merge(old);
    tx.store.put(a).catch(() => undefined); // its failure is the transaction's
    const failure = await written;
    if (failure) failed(failure);
    return a;
  },

  async annotationsAfter(seq: string, limit: number): Promise<Annotation[]> {
    const out: Annotation[] = [];
    let c = await db.transaction('annotations').store.index('seq').openCursor(IDBKeyRange.lowerBound(seq, true));
    while (c && out.length < limit) {
      out.push(c.value);
      c = await c.continue();
    }
    return out;
  },

  async baselines(): Promise<Baseline[]> {
    return db.getAll('baselines');
  },

  async putBaseline(b: Baseline): Promise<void> {
    await db.put('baselines', b).catch(failed);
  },

  /** Deletes the camera's baselines, every condition's. */
  async deleteBaseline(mv: string, camera: string): Promise<void> {
    await db.delete('baselines', IDBKeyRange.bound([mv, camera], [mv, camera, []])).catch(failed);
  },

  async addAlert(a: AlertEvent): Promise<void> {
    await db.put('alerts', a).catch(failed);
  },

  /** Alerts passing `q`, newest first, at most `limit` + 1 (the one more says there is a next page). */
  async alerts(q: AlertQuery, limit: number): Promise<AlertEvent[]> {
    const ok = alertMatches(q);
    const rows: AlertEvent[] = [];
    const upper = q.before ?? (q.to !== undefined ? idFloor(q.to + 1) : undefined);
    let c = await db.transaction('alerts').store.openCursor(upper ? IDBKeyRange.upperBound(upper, true) : null, 'prev');
    while (c && rows.length <= limit) {
      if (q.from !== undefined && c.value.t < q.from) break;
      if (ok(c.value)) rows.push(c.value);
      c = await c.continue();
    }
    return rows;
  },

  async alertsAfter(after: string, limit: number): Promise<AlertEvent[]> {
    const rows: AlertEvent[] = [];
    let c = await db.transaction('alerts').store.openCursor(after ? IDBKeyRange.lowerBound(after, true) : null);
    while (c && rows.length < limit) {
      rows.push(c.value);
      c = await c.continue();
    }
    return rows;
  },

  async getMeta(key: string): Promise<unknown> {
    return db.get('meta', key);
  },

  async setMeta(key: string, value: unknown): Promise<void> {
    await db.put('meta', value, key).catch(failed);
  },
});
