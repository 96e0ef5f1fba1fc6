/**
 * Series points of closed buckets, kept in IndexedDB so a cold query (a fresh worker: the panel opened
 * after a reload) reads a day at 1-min resolution as 2–3 values instead of ~1,440 rollups per tag
 * combination. One page holds up to SERIES_PAGE_BUCKETS consecutive buckets (12 h at 1 min) of one
 * resolution for one filter set, columnar in a Float32Array; the page of the present is stored as far as
 * its closed buckets go and grows. (IndexedDB here costs ~26 µs per small value and ~1.5 ms per large
 * one, however large: few large values read fastest.)
 */
import { STAGES } from '../telemetry/record.ts';
import { RESOLUTIONS, type Resolution } from '../telemetry/rollup.ts';
import { IMAGE_KEYS } from './frame-block.ts';

export const SERIES_PAGE_BUCKETS = 720;
export const seriesPageMs = (res: Resolution) => RESOLUTIONS[res] * SERIES_PAGE_BUCKETS;
export const seriesPageStart = (t: number, res: Resolution) => Math.floor(t / seriesPageMs(res)) * seriesPageMs(res);

export const GAUGES = ['heapMB', 'longTasks', 'up'] as const;
const N = STAGES.length;

/** Where each value sits in a point's `v` (absent values are NaN). */
export const F = {
  frames: 0, successRate: 1, malformed: 2, dropped: 3, meanConfidence: 4, confP10: 5, confP90: 6,
  /** mean, p50 and p95 latency: one per stage, in STAGES order */
  mean: 7, p50: 7 + N, p95: 7 + 2 * N,
  /** mean input statistics, in IMAGE_KEYS order */
  image: 7 + 3 * N,
  /** mean page resources, in GAUGES order */
  gauge: 7 + 3 * N + IMAGE_KEYS.length,
  /** the reference model's runs (rollup `ag`): frames judged, tp, fp, fn (NaN in buckets it judged none of) */
  agFrames: 7 + 3 * N + IMAGE_KEYS.length + GAUGES.length,
  agTp: 8 + 3 * N + IMAGE_KEYS.length + GAUGES.length,
  agFp: 9 + 3 * N + IMAGE_KEYS.length + GAUGES.length,
  agFn: 10 + 3 * N + IMAGE_KEYS.length + GAUGES.length,
} as const;
export const FIELDS = F.agFn + 1;

/** Whether a stored page has this layout (a page stored with fewer fields, before `ag` was kept, is computed again from the rollups). */
export const pageFits = (page: Pick<SeriesPage, 't' | 'v'>) => page.v.length === page.t.length * FIELDS;

/**
 * One bucket's point of a series (see MonitorStore.series): FIELDS numbers laid out as F says (read from a
 * page, a view into its Float32Array; no per-point objects to build), and the class counts.
 */
export interface SeriesPoint {
  v: Float64Array | Float32Array;
  classCounts: Record<number, number>;
}

export interface SeriesPage {
  res: Resolution;
  start: number;
  /** the filter set (model version, camera_id, location) */
  key: string;
  /** the last bucket covered: the page start + (SERIES_PAGE_BUCKETS − 1) buckets when whole */
  upTo: number;
  /** bucket starts with data, ascending */
  t: Float64Array;
  /** FIELDS values per bucket */
  v: Float32Array;
  /** class ids, and per bucket one count per class id */
  cls: number[];
  cc: Float32Array;
}

export function packSeriesPage(res: Resolution, start: number, key: string, upTo: number, points: [number, SeriesPoint][]): SeriesPage {
  const cls = [...new Set(points.flatMap(([, p]) => Object.keys(p.classCounts).map(Number)))].sort((a, b) => a - b);
  const v = new Float32Array(points.length * FIELDS);
  const cc = new Float32Array(points.length * cls.length);
  points.forEach(([, p], i) => {
    v.set(p.v, i * FIELDS);
    cls.forEach((c, j) => (cc[i * cls.length + j] = p.classCounts[c] ?? 0));
  });
  return { res, start, key, upTo, t: Float64Array.from(points, ([t]) => t), v, cls, cc };
}

export function unpackSeriesPage(page: SeriesPage): [number, SeriesPoint][] {
  const out: [number, SeriesPoint][] = [];
  const { v, cc, cls } = page;
  for (let i = 0; i < page.t.length; i++) {
    const classCounts: Record<number, number> = {};
    for (let j = 0; j < cls.length; j++) {
      const n = cc[i * cls.length + j]!;
      if (n) classCounts[cls[j]!] = n;
    }
    out.push([page.t[i]!, { v: v.subarray(i * FIELDS, (i + 1) * FIELDS), classCounts }]);
  }
  return out;
}
