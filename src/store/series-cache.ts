/**
 * The series cache: rollups of closed buckets and series points per filter set, kept in memory and (the points)
 * in IndexedDB's series pages, so a dashboard re-querying a day reads only the open buckets again.
 */
import type { IDBPDatabase, IDBPObjectStore, StoreNames } from 'idb';
import { bucketStart, emptyRollup, mergeRollup, RESOLUTIONS, type Resolution, type Rollup } from '../telemetry/rollup.ts';
import type { StoreDB } from './schema.ts';
import { packSeriesPage, pageFits, type SeriesPoint, seriesPageMs, seriesPageStart, unpackSeriesPage } from './series-page.ts';
import { type Filters, type Range, seriesColumns, seriesPoint } from './queries.ts';

/**
 * The start of the last closed bucket: buckets that ended over 10 s ago never change again (a late flush
 * lands within a second), so their rollups and series points can be cached.
 */
export const lastClosedBucket = (res: Resolution, now = Date.now()) => bucketStart(now - 10_000, res) - RESOLUTIONS[res];

type SeriesPagesStore = IDBPObjectStore<StoreDB, ArrayLike<StoreNames<StoreDB>>, 'seriesPages', 'readwrite'>;

/** Deletes the stored series pages (every filter set) whose [res, page start] falls in `range`. */
export async function deleteSeriesPages(pages: SeriesPagesStore, range: IDBKeyRange | [Resolution, number]) {
  let c = await pages.index('page').openKeyCursor(range);
  while (c) {
    await pages.delete(c.primaryKey);
    c = await c.continue();
  }
}

/** Deletes the stored series pages that rollup deltas of closed buckets touch. */
export async function dropSeriesPages(pages: SeriesPagesStore, deltas: Pick<Rollup, 'res' | 'start'>[]) {
  const seen = new Set<string>();
  for (const d of deltas) {
    const p = seriesPageStart(d.start, d.res);
    // only closed buckets are ever in a page (open ones are written every flush)
    if (d.start > lastClosedBucket(d.res) || seen.has(`${d.res}|${p}`)) continue;
    seen.add(`${d.res}|${p}`);
    await deleteSeriesPages(pages, [d.res, p]);
  }
}

/**
 * A filter set's series points in memory: closed buckets' points; per page, the last bucket up to which
 * its points are known (from a stored page or computed), and the upTo it was last stored with; a read in flight.
 */
interface SeriesMemory {
  points: Map<number, SeriesPoint>;
  pages: Map<number, number>;
  saved: Map<number, number>;
  loading?: Promise<void>;
}

/** Reads a resolution's rollups in [from, to] that pass the filters. */
export type RollupsIn = (res: Resolution, from: number, to: number, f: Filters) => Promise<Rollup[]>;

export class SeriesCache {
  /**
   * Rollups of closed buckets never change (a late flush lands within seconds), so once read they are
   * kept here per resolution: a dashboard re-querying a day reads only the open buckets again.
   */
  private closed: Record<Resolution, { upTo: number; from: number; rows: Rollup[] } | undefined> = { '10s': undefined, '1m': undefined, '1h': undefined };

  /**
   * Per filter set: points of closed buckets (computed or read from seriesPages), and the pages known
   * to be persisted.
   */
  private points = new Map<string, SeriesMemory>();

  /**
   * The rollups of `res` whose bucket starts in [start, to], the closed ones from what is kept here where it
   * covers them; `read(a, b)` reads the rest (every rollup of buckets starting in [a, b]).
   */
  async rollups(res: Resolution, start: number, to: number, read: (a: number, b: number) => Promise<Rollup[]>): Promise<Rollup[]> {
    let rows: Rollup[];
    const closedBefore = lastClosedBucket(res);
    const cache = this.closed[res];
    const readRange = async (a: number, b: number) => (a > b ? [] : read(a, b));
    if (cache && cache.from <= start && to <= cache.upTo) rows = cache.rows.filter((r) => r.start >= start && r.start <= to);
    else if (cache && cache.from <= start && start <= cache.upTo) {
      rows = [...cache.rows.filter((r) => r.start >= start), ...(await readRange(cache.upTo + 1, to))];
    } else rows = await readRange(start, to);
    // remember the closed part of what was read
    const closedRows = rows.filter((r) => r.start <= closedBefore);
    if (closedRows.length && (!cache || start <= cache.from || closedBefore > cache.upTo))
      this.closed[res] = { from: start, upTo: Math.min(closedBefore, to), rows: closedRows };
    return rows;
  }

  /**
   * A time series over a range (see MonitorStore.series): points of closed buckets from memory, from the
   * stored pages of the open database `db()` (none in memory) and from `rollupsIn`; what is now known is
   * stored back to its pages.
   */
  async series(range: Range, res: Resolution, rollupsIn: RollupsIn, db: () => IDBPDatabase<StoreDB> | undefined) {
    const RES = RESOLUTIONS[res];
    const start = bucketStart(range.from, res);
    const to = range.to;
    const closedUpTo = lastClosedBucket(res);
    const key = `${res}|${range.mv ?? ''}|${range.camera_id ?? ''}|${range.location ?? ''}${range.condition !== undefined ? `|${range.condition}` : ''}`;
    let mem = this.points.get(key);
    if (!mem) this.points.set(key, (mem = { points: new Map(), pages: new Map(), saved: new Map() }));
    const pageMs = seriesPageMs(res);
    const first = seriesPageStart(start, res);
    // 1. stored pages (whole, or up to their last closed bucket) this worker does not have yet
    if (db() && start <= closedUpTo) await this.loadSeriesPages(db, key, res, first, Math.min(to, closedUpTo), mem);
    // 2. from rollups: each page's buckets after those known (a page no one knows: all of it, so it can be kept)
    const spans: [number, number][] = [];
    for (let p = first; p <= to; p += pageMs) {
      const a = Math.max(p, (mem.pages.get(p) ?? p - RES) + RES);
      const b = Math.min(p + pageMs - RES, to);
      if (a > b) continue;
      const last = spans.at(-1);
      if (last && last[1] + RES === a) last[1] = b;
      else spans.push([a, b]);
    }
    const byStart = new Map<number, Rollup>();
    for (const [a, b] of spans) {
      for (const r of await rollupsIn(res, a, b, range)) {
        const m = byStart.get(r.start);
        if (m) mergeRollup(m, r);
        else byStart.set(r.start, mergeRollup(emptyRollup(res, r.start, r.mv, '*'), r));
      }
    }
    const points = new Map<number, SeriesPoint>();
    for (const [t, r] of byStart) {
      const p = seriesPoint(r);
      if (t <= closedUpTo) mem.points.set(t, p);
      if (t >= start && t <= to) points.set(t, p);
    }
    for (const [t, p] of mem.points) if (t >= start && t <= to && t <= closedUpTo && !points.has(t)) points.set(t, p);
    // 3. what is now known of each page, up to its last closed bucket; stored when whole, or when it grew by
    // 6 buckets since it was last stored (so a fresh worker reads at most that many from the rollups)
    const save = [];
    for (const [a, b] of spans) {
      for (let p = seriesPageStart(a, res); p <= b; p += pageMs) {
        const known = mem.pages.get(p) ?? p - RES;
        if (Math.max(p, a) > known + RES) continue; // a gap before this span: not known from the page start
        const upTo = Math.min(p + pageMs - RES, b, closedUpTo);
        if (upTo <= known) continue;
        mem.pages.set(p, upTo);
        const stored = mem.saved.get(p) ?? p - RES;
        if (!db() || (upTo < p + pageMs - RES && upTo - stored < 6 * RES)) continue;
        mem.saved.set(p, upTo);
        const pts = [...mem.points].filter(([t]) => t >= p && t <= upTo).sort((x, y) => x[0] - y[0]);
        save.push(packSeriesPage(res, p, key, upTo, pts));
      }
    }
    if (save.length) void this.saveSeriesPages(db, save);
    const t = [...points.keys()].sort((a, b) => a - b);
    return seriesColumns(res, t, t.map((s) => points.get(s)!));
  }

  /** Reads the persisted series pages of a filter set in [from, to] (page starts) into memory. */
  private async loadSeriesPages(db: () => IDBPDatabase<StoreDB> | undefined, key: string, res: Resolution, from: number, to: number, mem: SeriesMemory) {
    // one read at a time per filter set: a query arriving while another reads waits for it, then reads what is left
    while (mem.loading) await mem.loading;
    let done!: () => void;
    mem.loading = new Promise<void>((r) => (done = r));
    try {
      await this.readSeriesPages(db, key, res, from, to, mem);
    } finally {
      mem.loading = undefined;
      done();
    }
  }

  private async readSeriesPages(db: () => IDBPDatabase<StoreDB> | undefined, key: string, res: Resolution, from: number, to: number, mem: SeriesMemory) {
    // the pages this worker knows nothing of, as runs of consecutive page starts
    const runs: [number, number][] = [];
    for (let p = from; p <= to; p += seriesPageMs(res)) {
      if (mem.pages.has(p)) continue;
      const last = runs.at(-1);
      if (last && last[1] + seriesPageMs(res) === p) last[1] = p;
      else runs.push([p, p]);
    }
    if (!runs.length) return;
    try {
      const tx = db()!.transaction('seriesPages');
      const pages = (await Promise.all(runs.map(([a, b]) => tx.store.getAll(IDBKeyRange.bound([key, res, a], [key, res, b]))))).flat();
      for (const page of pages) {
        if (!pageFits(page)) continue; // an older layout: its points come from the rollups (and are stored anew)
        if ((mem.pages.get(page.start) ?? -Infinity) >= page.upTo) continue;
        mem.pages.set(page.start, page.upTo);
        mem.saved.set(page.start, page.upTo);
        for (const [t, p] of unpackSeriesPage(page)) mem.points.set(t, p);
      }
    } catch {
      // a cache: without it the points come from the rollups
    }
  }

  private async saveSeriesPages(db: () => IDBPDatabase<StoreDB> | undefined, pages: ReturnType<typeof packSeriesPage>[]) {
    try {
      const tx = db()!.transaction('seriesPages', 'readwrite', { durability: 'relaxed' });
      for (const p of pages) void tx.store.put(p);
      await tx.done;
    } catch {
      // a cache (full storage, closed database): the next query computes the points again
      for (const p of pages) this.points.get(p.key)?.saved.delete(p.start);
    }
  }

  /** Drops what is cached of buckets before `cut` (retention deleted them). */
  forgetBefore(res: Resolution, cut: number) {
    const c = this.closed[res];
    if (c && c.from < cut) this.closed[res] = undefined;
    for (const [k, mem] of this.points) {
      if (!k.startsWith(`${res}|`)) continue;
      for (const t of mem.points.keys()) if (t < cut) mem.points.delete(t);
      for (const p of mem.pages.keys()) if (p < cut) mem.pages.delete(p);
    }
  }

  /** Drops cached closed buckets that these rollups touch (late frames, imports, retention). */
  invalidate(rows: Pick<Rollup, 'res' | 'start'>[] | 'all') {
    for (const res of Object.keys(RESOLUTIONS) as Resolution[]) {
      const c = this.closed[res];
      if (c && (rows === 'all' || rows.some((r) => r.res === res && r.start <= c.upTo))) this.closed[res] = undefined;
      // series points: the buckets written to, and their pages (recomputed from the rollups when next asked)
      for (const [k, mem] of this.points) {
        if (!k.startsWith(`${res}|`)) continue;
        if (rows === 'all') {
          this.points.delete(k);
          continue;
        }
        const closedUpTo = lastClosedBucket(res);
        for (const r of rows) {
          // open buckets are never cached: a write to one (every flush) changes nothing here
          if (r.res !== res || r.start > closedUpTo) continue;
          mem.points.delete(r.start);
          mem.pages.delete(seriesPageStart(r.start, res));
          mem.saved.delete(seriesPageStart(r.start, res));
        }
      }
    }
  }
}
