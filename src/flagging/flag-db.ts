/** The flagged-frames database: metadata and images in IndexedDB (flagging's schema slice), an in-memory index to filter, page and cap them, memory when storage is gone. */
import type { IDBPDatabase } from 'idb';
import type { FlagDB } from './schema.ts';
import { planEviction } from './cap.ts';
import type { FlaggedFrame } from './types.ts';

/** What the flagged store keeps in memory of every frame: enough to filter, page and cap without reading values. */
export interface FlagIndexEntry {
  id: string;
  t: number;
  bytes: number;
  camera: string;
  location?: string;
  mv: string;
  reasons: string[];
  classes: number[];
}

/** Gallery and export filters; `before` pages (pass the previous page's `next`). */
export interface FlaggedQuery {
  from?: number;
  to?: number;
  reason?: string;
  classId?: number;
  camera_id?: string;
  location?: string;
  mv?: string;
  /** only these ids (a selection) */
  ids?: string[];
  before?: string;
  limit?: number;
}

export interface FlagImages {
  jpeg: Blob;
  thumb: Blob;
}

const entryOf = (f: FlaggedFrame): FlagIndexEntry => ({
  id: f.id,
  t: f.t,
  bytes: f.bytes,
  camera: f.tags.camera_id ?? '',
  ...(f.tags.location ? { location: f.tags.location } : {}),
  mv: f.mv,
  reasons: f.reasons,
  classes: [...new Set(f.detections.map((d) => d.classId))],
});

/** Whether an index entry passes a query's filters (not its paging). */
export function matchesQuery(e: FlagIndexEntry, q: FlaggedQuery, ids?: Set<string>): boolean {
  return (
    (q.from === undefined || e.t >= q.from) &&
    (q.to === undefined || e.t <= q.to) &&
    (q.reason === undefined || q.reason === '' || e.reasons.includes(q.reason)) &&
    (q.classId === undefined || e.classes.includes(q.classId)) &&
    (q.camera_id === undefined || e.camera === q.camera_id) &&
    (q.location === undefined || e.location === q.location) &&
    (q.mv === undefined || e.mv.startsWith(q.mv)) &&
    (!ids || ids.has(e.id))
  );
}

/** The page's database as flagging's slice of it, while it is open (undefined: memory). */
export type FlagDatabase = () => IDBPDatabase<FlagDB> | undefined;

/**
 * Flagged frames in IndexedDB (metadata and images in two stores, written together), bounded by a cap in
 * count and bytes: the oldest flagged are evicted first. Without IndexedDB it keeps them in memory — from
 * the start, or from when the store falls back to memory (given a getter, it follows the store's database):
 * frames kept in IndexedDB before then stay in the index (counted, filtered, faceted) but can no longer be read.
 */
export class FlagDb {
  /** every kept frame, oldest first */
  private index: FlagIndexEntry[] = [];
  private bytes = 0;
  private mem = new Map<string, { frame: FlaggedFrame; images: FlagImages }>();
  private readonly database: FlagDatabase;

  /** `database`: the open database, or a getter of it (the store's, which it drops when it falls back to memory). */
  constructor(database: IDBPDatabase<FlagDB> | FlagDatabase | undefined) {
    this.database = typeof database === 'function' ? database : () => database;
  }

  private get db() {
    return this.database();
  }

  /** Reads the index of what is kept (once, at open). */
  async load(): Promise<void> {
    if (!this.db) return;
    const all = await this.db.getAll('flagged');
    this.index = all.map(entryOf).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.bytes = this.index.reduce((s, e) => s + e.bytes, 0);
  }

  totals() {
    return { count: this.index.length, bytes: this.bytes };
  }

  has(id: string) {
    return this.position(id) >= 0;
  }

  private position(id: string) {
    let lo = 0, hi = this.index.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const k = this.index[mid]!.id;
      if (k === id) return mid;
      if (k < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return -(lo + 1);
  }

  /**
   * Keeps a frame and its images, evicting the oldest flagged frames first so the cap holds. Returns the
   * ids evicted; throws when the frame alone is larger than the cap allows, or the write fails.
   */
  async add(frame: FlaggedFrame, images: FlagImages, cap: { maxFrames: number; maxBytes: number }): Promise<string[]> {
    const plan = planEviction(this.index, this.totals(), cap, { bytes: frame.bytes });
    if (!plan.fits) throw new RangeError(`a flagged frame of ${frame.bytes} bytes does not fit a cap of ${cap.maxBytes} bytes`);
    if (this.db) {
      const tx = this.db.transaction(['flagged', 'flaggedImages'], 'readwrite');
      for (const id of plan.evict) {
        void tx.objectStore('flagged').delete(id);
        void tx.objectStore('flaggedImages').delete(id);
      }
      void tx.objectStore('flagged').put(frame);
      void tx.objectStore('flaggedImages').put({ id: frame.id, ...images });
      await tx.done;
    } else {
      for (const id of plan.evict) this.mem.delete(id);
      this.mem.set(frame.id, { frame, images });
    }
    this.forget(plan.evict);
    const e = entryOf(frame);
    const at = this.position(frame.id);
    if (at >= 0) {
      this.bytes -= this.index[at]!.bytes;
      this.index[at] = e;
    } else this.index.splice(-(at + 1), 0, e);
    this.bytes += e.bytes;
    return plan.evict;
  }

  private forget(ids: readonly string[]) {
    if (!ids.length) return;
    const gone = new Set(ids);
    this.index = this.index.filter((e) => {
      if (!gone.has(e.id)) return true;
      this.bytes -= e.bytes;
      return false;
    });
  }

  /** Rewrites a kept frame's metadata (its reasons, say); its images stay. */
  async update(frame: FlaggedFrame): Promise<void> {
    if (this.position(frame.id) < 0) throw new Error(`flagged frame ${frame.id} is not kept`);
    const db = this.db;
    const kept = this.mem.get(frame.id);
    if (db) await db.put('flagged', frame);
    else if (kept) kept.frame = frame;
    else throw new Error(`flagged frame ${frame.id} was kept in IndexedDB, which is no longer open: it cannot be changed`);
    // where it is now: an add meanwhile may have evicted others (or it)
    const at = this.position(frame.id);
    if (at >= 0) this.index[at] = { ...entryOf(frame), bytes: this.index[at]!.bytes };
  }

  /** The ids passing a query, newest first (all of them: the index is in memory and bounded by the cap). */
  ids(q: FlaggedQuery = {}): string[] {
    const sel = q.ids ? new Set(q.ids) : undefined;
    const out: string[] = [];
    for (let i = this.index.length - 1; i >= 0; i--) {
      const e = this.index[i]!;
      if (q.before !== undefined && e.id >= q.before) continue;
      if (matchesQuery(e, q, sel)) out.push(e.id);
    }
    return out;
  }

  /**
   * The ids after `after`, oldest first, at most `limit`, as stored: with IndexedDB, those kept by every
   * page of the origin (for sync, which one page runs), not just this page's index.
   */
  async idsAfter(after: string, limit: number): Promise<string[]> {
    if (!this.db) return this.index.filter((e) => e.id > after).slice(0, limit).map((e) => e.id);
    return this.db.getAllKeys('flagged', IDBKeyRange.lowerBound(after, true), limit);
  }

  /** A page of flagged frames' metadata, newest first, with how many pass the filters in all. */
  async list(q: FlaggedQuery = {}): Promise<{ rows: FlaggedFrame[]; next?: string; total: number }> {
    const limit = Math.min(Math.max(1, q.limit ?? 100), 1000);
    const all = this.ids({ ...q, before: undefined });
    const from = q.before === undefined ? 0 : all.findIndex((id) => id < q.before!);
    const page = from < 0 ? [] : all.slice(from, from + limit);
    const rows = (await this.frames(page)).filter((f): f is FlaggedFrame => !!f);
    const more = from >= 0 && from + limit < all.length;
    return { rows, ...(more ? { next: page.at(-1) } : {}), total: all.length };
  }

  async frames(ids: readonly string[]): Promise<(FlaggedFrame | undefined)[]> {
    if (!this.db) return ids.map((id) => this.mem.get(id)?.frame);
    const tx = this.db.transaction('flagged');
    return Promise.all(ids.map((id) => tx.store.get(id)));
  }

  async get(id: string): Promise<FlaggedFrame | undefined> {
    return (await this.frames([id]))[0];
  }

  async images(id: string): Promise<FlagImages | undefined> {
    if (!this.db) return this.mem.get(id)?.images;
    const v = await this.db.get('flaggedImages', id);
    return v && { jpeg: v.jpeg, thumb: v.thumb };
  }

  /** Deletes frames (metadata and images); returns how many were kept before. */
  async delete(ids: readonly string[]): Promise<number> {
    const known = ids.filter((id) => this.has(id));
    if (this.db && known.length) {
      const tx = this.db.transaction(['flagged', 'flaggedImages'], 'readwrite');
      for (const id of known) {
        void tx.objectStore('flagged').delete(id);
        void tx.objectStore('flaggedImages').delete(id);
      }
      await tx.done;
    }
    for (const id of known) this.mem.delete(id);
    this.forget(known);
    return known.length;
  }

  /** What the filters can choose from: reasons, classes, cameras and model versions with counts. */
  facets() {
    const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
    const reasons = new Map<string, number>(), classes = new Map<string, number>(), cameras = new Map<string, number>(), mvs = new Map<string, number>();
    for (const e of this.index) {
      for (const r of e.reasons) count(reasons, r);
      for (const c of e.classes) count(classes, String(c));
      count(cameras, e.camera);
      count(mvs, e.mv);
    }
    const obj = (m: Map<string, number>) => Object.fromEntries([...m].sort((a, b) => b[1] - a[1]));
    return { reasons: obj(reasons), classes: obj(classes), cameras: obj(cameras), mvs: obj(mvs) };
  }

  /** The newest kept frames of the last `ms` before `t` (to seed near-duplicate suppression after a reload). */
  async recent(t: number, ms: number): Promise<FlaggedFrame[]> {
    const ids = this.index.filter((e) => e.t >= t - ms).map((e) => e.id);
    return (await this.frames(ids)).filter((f): f is FlaggedFrame => !!f);
  }
}
