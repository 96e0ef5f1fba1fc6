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

/** One bucket's point of a series (see MonitorStore.series). */
export interface SeriesPoint {
  frames: number;
  successRate: number;
  malformed: number;
  dropped: number;
  meanConfidence: number;
  mean: number[];
  p50: number[];
  p95: number[];
  classCounts: Record<number, number>;
  /** mean input-image statistics (br, co, sa, sh, sc) */
  image: Record<string, number>;
  confP10: number;
  confP90: number;
  /** mean page resources (heapMB, longTasks per sample, up = share of samples with results) */
  gauge: Record<string, number>;
}

const GAUGES = ['heapMB', 'longTasks', 'up'] as const;
const N = STAGES.length;
/** frames, successRate, malformed, dropped, meanConfidence, confP10, confP90, mean×N, p50×N, p95×N, image, gauges */
const FIELDS = 7 + 3 * N + IMAGE_KEYS.length + GAUGES.length;

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
    let o = i * FIELDS;
    v[o++] = p.frames; v[o++] = p.successRate; v[o++] = p.malformed; v[o++] = p.dropped;
    v[o++] = p.meanConfidence; v[o++] = p.confP10; v[o++] = p.confP90;
    for (const a of [p.mean, p.p50, p.p95]) for (let s = 0; s < N; s++) v[o++] = a[s]!;
    for (const k of IMAGE_KEYS) v[o++] = p.image[k] ?? NaN;
    for (const k of GAUGES) v[o++] = p.gauge[k] ?? NaN;
    cls.forEach((c, j) => (cc[i * cls.length + j] = p.classCounts[c] ?? 0));
  });
  return { res, start, key, upTo, t: Float64Array.from(points, ([t]) => t), v, cls, cc };
}

export function unpackSeriesPage(page: SeriesPage): [number, SeriesPoint][] {
  const out: [number, SeriesPoint][] = [];
  const { v, cc, cls } = page;
  for (let i = 0; i < page.t.length; i++) {
    let o = i * FIELDS;
    const frames = v[o++]!, successRate = v[o++]!, malformed = v[o++]!, dropped = v[o++]!, meanConfidence = v[o++]!, confP10 = v[o++]!, confP90 = v[o++]!;
    const mean = Array.from(v.subarray(o, o + N)), p50 = Array.from(v.subarray(o + N, o + 2 * N)), p95 = Array.from(v.subarray(o + 2 * N, o + 3 * N));
    o += 3 * N;
    const image: Record<string, number> = {};
    for (const k of IMAGE_KEYS) {
      const x = v[o++]!;
      if (!Number.isNaN(x)) image[k] = x;
    }
    const gauge: Record<string, number> = {};
    for (const k of GAUGES) {
      const x = v[o++]!;
      if (!Number.isNaN(x)) gauge[k] = x;
    }
    const classCounts: Record<number, number> = {};
    cls.forEach((c, j) => {
      const n = cc[i * cls.length + j]!;
      if (n) classCounts[c] = n;
    });
    out.push([page.t[i]!, { frames, successRate, malformed, dropped, meanConfidence, mean, p50, p95, classCounts, image, confP10, confP90, gauge }]);
  }
  return out;
}
