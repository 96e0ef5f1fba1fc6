/**
 * The health panel's data source for a fleet server: the same queries as the page's store (series, totals,
 * percentiles, alerts, dimensions), answered by the reference server's `/v1/*` API over merged rollups —
 * for the whole fleet, or one device (`source`). What only a page has (live vitals, the raw inference log,
 * flagged images not synced) comes back empty, and the panel shows it as such.
 */
import type { PanelSource } from '../../ui/panel/data-source.ts';
import type { Range } from '../../store/queries.ts';
import { metricsCsv, metricsJson } from '../../store/metrics-file.ts';
import { DEFAULT_FLAG_SETTINGS } from '../../flagging/flagger.ts';
import type { Proportion, VerdictEstimate } from '../../flagging/verdicts.ts';

/** A failed request, with its HTTP status (401: the token). */
export class FleetError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'FleetError';
  }
}

/** JSON carries NaN and ±Infinity as null: back to numbers, so the panel's arithmetic holds. */
const nums = (xs: (number | null)[]) => xs.map((x) => (x === null ? NaN : x));

export class ServerSource {
  constructor(
    /** the server's origin, e.g. http://127.0.0.1:8787 */
    readonly base: string,
    private readonly token: string,
    /** one device (sync source id), or the whole fleet */
    readonly device?: string,
  ) {}

  /** GET a `/v1/…` path with the bearer token; a clear FleetError when it fails. */
  async get<T>(path: string, params: Record<string, string | number | undefined> = {}): Promise<T> {
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries({ ...params, ...(this.device ? { source: this.device } : {}) })) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    let res: Response;
    try {
      res = await fetch(url, { headers: { authorization: `Bearer ${this.token}` }, credentials: 'omit' });
    } catch (e) {
      throw new FleetError(`the fleet server at ${this.base} cannot be reached: ${(e as Error).message}`, 0);
    }
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { error?: string };
      throw new FleetError(res.status === 401 ? 'the fleet server refused the token' : `the fleet server answered ${res.status}${body.error ? `: ${body.error}` : ''}`, res.status);
    }
    return (await res.json()) as T;
  }

  private range(r: Range) {
    return { from: Math.floor(r.from), to: Math.ceil(r.to), camera_id: r.camera_id, location: r.location, condition: r.condition, mv: r.mv };
  }

  async series(r: Range) {
    const s = await this.get<Record<string, unknown> & { t: number[] }>('/v1/series', this.range(r));
    const fix = (o: Record<string, (number | null)[]>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, nums(v)]));
    const out: Record<string, unknown> = { ...s };
    for (const [k, v] of Object.entries(s)) {
      if (Array.isArray(v) && k !== 't' && k !== 'classCounts') out[k] = nums(v as (number | null)[]);
      else if (v && typeof v === 'object' && !Array.isArray(v)) out[k] = fix(v as Record<string, (number | null)[]>);
    }
    return out;
  }

  async totals(r: Range) {
    const t = await this.get<{ first: number | null; last: number | null; successRate: number | null; meanConfidence: number | null }>('/v1/totals', this.range(r));
    return { ...t, first: t.first ?? Infinity, last: t.last ?? -Infinity, successRate: t.successRate ?? NaN, meanConfidence: t.meanConfidence ?? NaN };
  }

  async percentiles(r: Range, what: string, qs: number[] = [0.5, 0.95, 0.99]) {
    const p = await this.get<{ n: number; values: (number | null)[] }>('/v1/percentiles', { ...this.range(r), what, q: qs.join(',') });
    return { n: p.n, values: nums(p.values) };
  }

  async alerts(q: { from?: number; to?: number; camera_id?: string; condition?: string; rule?: string; before?: string; limit?: number } = {}) {
    const a = await this.get<{ rows: { value: number | null; threshold: number | null }[]; next?: string }>('/v1/alerts', q);
    return { rows: a.rows.map((x) => ({ ...x, value: x.value ?? NaN, threshold: x.threshold ?? NaN })), ...(a.next ? { next: a.next } : {}) };
  }

  async dimensions(r: { from: number; to: number }) {
    const d = await this.get<{ mv: string[]; camera_id: string[]; location: string[]; condition?: string[] }>('/v1/dimensions', { from: Math.floor(r.from), to: Math.ceil(r.to) });
    return { mv: d.mv, camera_id: d.camera_id, location: d.location, condition: d.condition ?? [], models: {} };
  }

  /** The firing alerts of the device (or the fleet), from the server's device list. */
  async overview() {
    const devices = await this.get<{ id: string; firing?: unknown[] }[]>('/v1/devices').catch(() => []);
    const mine = this.device ? devices.filter((d) => d.id === this.device) : devices;
    return { status: 'no-data' as const, firing: mine.reduce((a, d) => a + (d.firing?.length ?? 0), 0), streams: mine.length, rules: [] };
  }

  async vitals() {
    return [];
  }
  async usage() {
    return { usage: undefined, quota: undefined, persisted: false, status: { mode: 'server' as const, written: 0, buffered: 0, evicted: 0, failedCommits: 0, error: undefined } };
  }
  /** Raw frames stay on the page: the fleet has no inference log. */
  async log() {
    return { rows: [], next: undefined };
  }
  async syncStatus() {
    return undefined;
  }
  async exportMetrics(r: Range, format: 'csv' | 'json', labels?: string[]) {
    const [series, totals] = await Promise.all([this.series(r), this.totals(r)]);
    const text = format === 'csv' ? metricsCsv(series as never, totals as never, labels) : metricsJson(series as never, totals as never, r, labels);
    return new Blob([text], { type: format === 'csv' ? 'text/csv' : 'application/json' });
  }
  // flagged frames' images stay on the pages unless they sync them; the fleet view shows none
  async flagged() {
    return { rows: [], total: 0 };
  }
  async flagStatus() {
    return { count: 0, bytes: 0, stats: { flagged: 0, duplicates: 0, limited: 0, missed: 0, failed: 0, evicted: 0 }, settings: { ...DEFAULT_FLAG_SETTINGS }, counters: {} };
  }
  async flaggedFacets() {
    return { reasons: {}, classes: {}, cameras: {}, mvs: {} };
  }
  async flaggedImage() {
    return undefined;
  }
  async flaggedFrame() {
    return undefined;
  }
  async deleteFlagged(): Promise<number> {
    throw new Error('the fleet view is read-only');
  }
  async exportFlagged(): Promise<never> {
    throw new Error('download flagged frames from the page that flagged them');
  }

  /** People's verdicts as the pages synced them (`/v1/verdicts`): the estimates per model version and camera, of the fleet or the device. */
  async verdictEstimates(f: { camera_id?: string; mv?: string } = {}): Promise<VerdictEstimate[]> {
    const r = await this.get<{ estimates: VerdictEstimate[] }>('/v1/verdicts', { camera_id: f.camera_id, mv: f.mv, limit: 0 });
    const fix = (p: Proportion): Proportion => ({ ...p, p: p.p ?? NaN, lo: p.lo ?? NaN, hi: p.hi ?? NaN });
    return r.estimates.map((e) => ({ ...e, precision: fix(e.precision), missingRate: fix(e.missingRate) }));
  }

  /** As the panel's source (the shapes match the store's; the types differ only in how Comlink wraps them). */
  asPanelSource(): PanelSource {
    return this as unknown as PanelSource;
  }
}
