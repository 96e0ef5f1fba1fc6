/**
 * People's verdicts on frames, kept in the page's IndexedDB (flagging's `verdicts` store), one per frame: a later
 * verdict replaces the earlier, a cleared one stays as `verdict: null` so sync carries the clearing. Bounded:
 * past VERDICT_LIMITS.kept the oldest given go. Memory when storage is gone (it follows the store's database).
 */
import type { IDBPDatabase } from 'idb';
import { idTime, uuidv7 } from '../lib/uuidv7.ts';
import type { FlagDB } from './schema.ts';
import { parseVerdict, type StoredVerdict, VERDICT_LIMITS, type VerdictEstimate, verdictEstimates, type VerdictKind } from './verdicts.ts';

/** Which verdicts to sum: a model version (prefix), a camera, a location, a time range (when given). */
export interface VerdictQuery {
  mv?: string;
  camera_id?: string;
  location?: string;
  from?: number;
  to?: number;
}

const matches = (x: StoredVerdict, q: VerdictQuery) =>
  (q.mv === undefined || q.mv === '' || x.mv.startsWith(q.mv.slice(0, 12)) || q.mv.startsWith(x.mv)) &&
  (q.camera_id === undefined || x.camera === q.camera_id) &&
  (q.location === undefined || x.location === q.location) &&
  (q.from === undefined || x.t >= q.from) &&
  (q.to === undefined || x.t <= q.to);

export class VerdictDb {
  private mem = new Map<string, StoredVerdict>();
  /** the last change's seq: the next sorts after it (UUIDv7s of one millisecond are random among themselves) */
  private lastSeq = '';
  private readonly database: () => IDBPDatabase<FlagDB> | undefined;

  /** `database`: a getter of the page's database (the store's, which it drops when it falls back to memory). */
  constructor(database: () => IDBPDatabase<FlagDB> | undefined, private readonly limit: number = VERDICT_LIMITS.kept) {
    this.database = database;
  }

  /**
   * Keeps a verdict (validated: a TypeError names the bad field) as the frame's, replacing an earlier one; `verdict:
   * null` clears it. Returns what is kept.
   */
  async set(input: unknown): Promise<StoredVerdict> {
    const v: StoredVerdict = { ...parseVerdict(input), seq: this.nextSeq() };
    const db = this.database();
    if (db) {
      const tx = db.transaction('verdicts', 'readwrite');
      void tx.store.put(v);
      // the bound: the oldest changes go first (their seq is oldest)
      const n = await tx.store.count();
      if (n > this.limit) {
        let c = await tx.store.index('seq').openCursor();
        for (let i = 0; i < n - this.limit && c; i++) {
          void c.delete();
          c = await c.continue();
        }
      }
      await tx.done;
    } else {
      this.mem.delete(v.id);
      this.mem.set(v.id, v);
      while (this.mem.size > this.limit) this.mem.delete(this.mem.keys().next().value!);
    }
    return v;
  }

  private nextSeq(): string {
    let seq = uuidv7();
    if (seq <= this.lastSeq) seq = uuidv7(idTime(this.lastSeq) + 1);
    return (this.lastSeq = seq);
  }

  /** Every verdict kept (cleared ones included), oldest change first. */
  async all(): Promise<StoredVerdict[]> {
    const db = this.database();
    if (!db) return [...this.mem.values()];
    return db.getAllFromIndex('verdicts', 'seq');
  }

  /** The verdicts of these frames, by id (frames without one, or with a cleared one, absent). */
  async of(ids: readonly string[]): Promise<Record<string, VerdictKind>> {
    const db = this.database();
    const got = db ? await (async () => {
      const tx = db.transaction('verdicts');
      return Promise.all(ids.map((id) => tx.store.get(id)));
    })() : ids.map((id) => this.mem.get(id));
    const out: Record<string, VerdictKind> = {};
    for (const v of got) if (v?.verdict) out[v.id] = v.verdict;
    return out;
  }

  /** Per (model version, camera): counts, precision and missing rate with their Wilson 95 % intervals. */
  async estimates(q: VerdictQuery = {}): Promise<VerdictEstimate[]> {
    return verdictEstimates((await this.all()).filter((x) => matches(x, q)));
  }

  /** Changes after `seq` (oldest first), at most `limit` (for sync). */
  async after(seq: string, limit: number): Promise<StoredVerdict[]> {
    const db = this.database();
    if (!db) return [...this.mem.values()].filter((v) => v.seq > seq).sort((a, b) => (a.seq < b.seq ? -1 : 1)).slice(0, limit);
    return db.getAllFromIndex('verdicts', 'seq', IDBKeyRange.lowerBound(seq, true), limit);
  }
}
