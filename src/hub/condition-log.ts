/**
 * The page's log of its cameras' condition changes (health/conditions.ts: switched, learning, learnt, abandoned):
 * a few a day per camera, kept as one bounded list in the store's settings (`meta`), newest last, for the panel's
 * log and the element's `conditionEvents()`.
 */
import type { ConditionEvent } from '../health/types.ts';
import type { MonitorStore } from '../store/store.ts';

/** the most condition changes kept (the oldest go first): weeks of a few cameras' dusks and dawns */
export const CONDITION_LOG_MAX = 500;
const KEY = 'conditions:log';

/** Condition-change filters: a time range, a camera, how many (newest first). */
export interface ConditionQuery {
  from?: number;
  to?: number;
  camera_id?: string;
  limit?: number;
}

export class ConditionLog {
  private rows: ConditionEvent[] = [];
  private writing = Promise.resolve();

  constructor(private readonly store: MonitorStore) {}

  /** Reads what earlier runs kept (a malformed value is ignored: the log starts afresh). */
  async load() {
    const kept = await this.store.getMeta<ConditionEvent[]>(KEY).catch(() => undefined);
    this.rows = Array.isArray(kept) ? kept.filter((e) => e && typeof e.t === 'number' && typeof e.to === 'string').slice(-CONDITION_LOG_MAX) : [];
  }

  /** Keeps a change (writes are one after another: the list is written whole). */
  add(e: ConditionEvent) {
    this.rows.push(e);
    if (this.rows.length > CONDITION_LOG_MAX) this.rows.splice(0, this.rows.length - CONDITION_LOG_MAX);
    const snapshot = [...this.rows];
    this.writing = this.writing.then(() => this.store.setMeta(KEY, snapshot)).catch(() => undefined);
  }

  /** The changes passing `q`, newest first (at most `limit`, default 100). */
  query(q: ConditionQuery = {}): ConditionEvent[] {
    const out: ConditionEvent[] = [];
    const limit = Math.min(q.limit ?? 100, CONDITION_LOG_MAX);
    for (let i = this.rows.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.rows[i]!;
      if ((q.from === undefined || e.t >= q.from) && (q.to === undefined || e.t <= q.to) && (q.camera_id === undefined || e.camera === q.camera_id)) out.push(e);
    }
    return out;
  }
}
