/** A time range's metrics (MonitorStore.series() and .totals()) as CSV and JSON. Pure: no DOM, no storage. */
import { csvRow, isoTime } from '../lib/csv.ts';

type Column = readonly number[];
type Columns = Readonly<Record<string, Column>>;

/** The columnar series MonitorStore.series() returns (the optional fields are exported when present). */
export interface MetricsSeries {
  res: string;
  /** bucket starts (epoch ms) */
  t: Column;
  frames: Column;
  successRate: Column;
  malformed?: Column;
  dropped?: Column;
  meanConfidence: Column;
  confP10?: Column;
  confP90?: Column;
  /** latency (ms) per stage: mean, median and p95 */
  mean?: Columns;
  p50: Columns;
  p95: Columns;
  /** mean input-image statistics per key (br, co, sa, sh, sc) */
  image: Columns;
  heapMB: Column;
  longTasks?: Column;
  uptime?: Column;
  /** detections per class id, per bucket */
  classCounts: readonly Readonly<Record<number, number>>[];
  /** the reference model's runs per bucket: frames judged, tp, fp, fn, precision, recall, f1 (NaN where none ran) */
  agreement?: Readonly<Record<'frames' | 'tp' | 'fp' | 'fn' | 'precision' | 'recall' | 'f1', Column>>;
}

/** What MonitorStore.totals() returns. */
export interface MetricsTotals {
  frames: number;
  valid: number;
  malformed: number;
  dropped: number;
  errors: Readonly<Record<string, number>>;
  successRate: number;
  meanConfidence: number;
  classCounts: Readonly<Record<number, number>>;
  /** the reference model's runs over the range (frames judged, tp, fp, fn) and their precision, recall, F1; absent where none ran */
  agreement?: Readonly<Record<'frames' | 'tp' | 'fp' | 'fn' | 'precision' | 'recall' | 'f1', number>>;
  /** epoch ms of the first and last frame (±Infinity when none) */
  first: number;
  last: number;
}

const AGREEMENT_KEYS = ['frames', 'tp', 'fp', 'fn', 'precision', 'recall', 'f1'] as const;

const IMAGE_NAMES: Record<string, string> = { br: 'brightness', co: 'contrast', sa: 'saturation', sh: 'sharpness', sc: 'scene_distance' };

/** A finite number, else null (JSON has no NaN). */
const num = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : null);

/** The class ids counted in any bucket, ascending. */
/** Whether a reference model judged frames in any bucket (its columns are exported only then). */
const judged = (s: MetricsSeries) => !!s.agreement?.frames.some((n) => n > 0);

const classIds = (s: MetricsSeries) => [...new Set(s.classCounts.flatMap((c) => Object.keys(c).map(Number)))].sort((a, b) => a - b);

/** The CSV's columns: a header name and the cell of bucket i. */
function columns(s: MetricsSeries, labels?: readonly string[]): { name: string; at: (i: number) => unknown }[] {
  const cols: { name: string; at: (i: number) => unknown }[] = [{ name: 'time', at: (i) => isoTime(s.t[i]!) }];
  const add = (name: string, c?: Column) => c && cols.push({ name, at: (i) => c[i] });
  add('frames', s.frames);
  add('success_rate', s.successRate);
  add('malformed', s.malformed);
  add('dropped', s.dropped);
  add('mean_confidence', s.meanConfidence);
  add('conf_p10', s.confP10);
  add('conf_p90', s.confP90);
  for (const stage of new Set([...Object.keys(s.mean ?? {}), ...Object.keys(s.p50), ...Object.keys(s.p95)])) {
    add(`${stage}_mean_ms`, s.mean?.[stage]);
    add(`${stage}_p50_ms`, s.p50[stage]);
    add(`${stage}_p95_ms`, s.p95[stage]);
  }
  for (const [k, c] of Object.entries(s.image)) add(`image_${IMAGE_NAMES[k] ?? k}`, c);
  add('heap_mb', s.heapMB);
  add('long_tasks', s.longTasks);
  add('uptime', s.uptime);
  if (judged(s)) for (const k of AGREEMENT_KEYS) add(`reference_${k}`, s.agreement![k]);
  const names = new Set(cols.map((c) => c.name));
  for (const id of classIds(s)) {
    let name = `class_${labels?.[id] ?? id}`;
    if (names.has(name)) name += `_${id}`; // two classes with one label
    names.add(name);
    cols.push({ name, at: (i) => s.classCounts[i]?.[id] ?? 0 });
  }
  return cols;
}

/** The series as CSV: one row per bucket (ISO time, counts, rates, latency per stage, image statistics, gauges, `reference_*` agreement where a reference model ran, `class_<label>` counts); NaN as empty cells. The totals are not a bucket and go in the JSON only. */
export function metricsCsv(series: MetricsSeries, _totals?: MetricsTotals, labels?: readonly string[]): string {
  const cols = columns(series, labels);
  return csvRow(cols.map((c) => c.name)) + series.t.map((_, i) => csvRow(cols.map((c) => c.at(i)))).join('');
}

/** Each key's value of bucket i, NaN as null. */
const perKey = (c: Columns | undefined, i: number) => c && Object.fromEntries(Object.entries(c).map(([k, v]) => [k, num(v[i])]));
const opt = (c: Column | undefined, i: number) => (c ? num(c[i]) : undefined);

/** The range, resolution, totals and series as JSON (times ISO 8601, NaN as null), labels included when given. */
export function metricsJson(series: MetricsSeries, totals: MetricsTotals, range: { from: number; to: number }, labels?: readonly string[]): string {
  const s = series;
  return JSON.stringify(
    {
      range: { from: isoTime(range.from), to: isoTime(range.to) },
      resolution: s.res,
      labels,
      totals: { ...totals, successRate: num(totals.successRate), meanConfidence: num(totals.meanConfidence), first: isoTime(totals.first) || null, last: isoTime(totals.last) || null },
      series: s.t.map((t, i) => ({
        time: isoTime(t),
        frames: num(s.frames[i]),
        successRate: num(s.successRate[i]),
        malformed: opt(s.malformed, i),
        dropped: opt(s.dropped, i),
        meanConfidence: num(s.meanConfidence[i]),
        confP10: opt(s.confP10, i),
        confP90: opt(s.confP90, i),
        mean: perKey(s.mean, i),
        p50: perKey(s.p50, i),
        p95: perKey(s.p95, i),
        image: perKey(s.image, i),
        heapMB: num(s.heapMB[i]),
        longTasks: opt(s.longTasks, i),
        uptime: opt(s.uptime, i),
        classCounts: { ...s.classCounts[i] },
        // the reference model's runs in the bucket, where it judged any frame
        ...(s.agreement && s.agreement.frames[i]! > 0 ? { agreement: perKey(s.agreement, i) } : {}),
      })),
    },
    null,
    2, // JSON.stringify writes any other non-finite number (in the totals' maps) as null too
  );
}
