/**
 * Queries over rollups as pure functions — filters, series points and columns, totals, percentiles — shared by
 * the browser's store (which adds caching and IndexedDB) and the fleet server (which reads SQLite), so both
 * answer with the same shapes and the same arithmetic.
 */
import { confidenceQuantile, latencyMean, latencyQuantile, total as histTotal } from '../telemetry/histogram.ts';
import { type FrameRecord, parseTagKey, STAGES, type Stage } from '../telemetry/record.ts';
import { bucketStart, emptyRollup, meanOf, mergeRollup, type Resolution, type Rollup } from '../telemetry/rollup.ts';
import { F, FIELDS, GAUGES, type SeriesPoint } from './series-page.ts';
import { IMAGE_KEYS } from './frame-block.ts';
import { shortVersion } from '../lib/short-version.ts';

export interface Filters {
  mv?: string;
  camera_id?: string;
  location?: string;
  /** a camera condition's id (health/conditions.ts: `colour`, `mono`, `colour-2`…), the `condition` tag the hub records */
  condition?: string;
  classId?: number;
}

export interface Range extends Filters {
  from: number;
  to: number;
}

/** Resolution for a time range: fine enough for ~100+ points, coarse enough to stay cheap. */
export function resolutionFor(from: number, to: number): Resolution {
  const span = to - from;
  if (span <= 2 * 3600_000) return '10s';
  if (span <= 3 * 24 * 3600_000) return '1m';
  return '1h';
}

/** Whether a tag key (see tagKey) passes the camera_id, location and condition filters. */
export const matchesTags = (g: string, f: Filters) => {
  if (f.camera_id === undefined && f.location === undefined && f.condition === undefined) return true;
  const t = parseTagKey(g);
  return (f.camera_id === undefined || t.camera_id === f.camera_id) && (f.location === undefined || t.location === f.location) && (f.condition === undefined || t.condition === f.condition);
};

/** Whether a rollup passes the model-version and tag filters. */
export const rollupMatches = (r: Pick<Rollup, 'mv' | 'g'>, f: Filters) => (f.mv === undefined || r.mv === shortVersion(f.mv)) && matchesTags(r.g, f);

/** Whether a frame record passes the filters (the class filter too). */
export const frameMatches = (r: FrameRecord, f: Filters) => rollupMatches(r, f) && (f.classId === undefined || r.k.some((k) => k[0] === f.classId));

/** One bucket of a series, all filters merged. */
export function seriesPoint(r: Rollup): SeriesPoint {
  const v = new Float64Array(FIELDS).fill(NaN);
  v[F.frames] = r.frames;
  v[F.successRate] = r.frames ? r.valid / r.frames : NaN;
  v[F.malformed] = r.malformed;
  v[F.dropped] = r.dropped;
  v[F.meanConfidence] = r.detections ? r.scoreSum / r.detections : NaN;
  v[F.confP10] = confidenceQuantile(r.conf, 0.1);
  v[F.confP90] = confidenceQuantile(r.conf, 0.9);
  STAGES.forEach((s, i) => {
    v[F.mean + i] = latencyMean(r.lat[s]);
    v[F.p50 + i] = latencyQuantile(r.lat[s], 0.5);
    v[F.p95 + i] = latencyQuantile(r.lat[s], 0.95);
  });
  IMAGE_KEYS.forEach((k, i) => (v[F.image + i] = meanOf(r.img[k])));
  GAUGES.forEach((k, i) => (v[F.gauge + i] = meanOf(r.gauge?.[k])));
  if (r.ag?.frames) {
    v[F.agFrames] = r.ag.frames;
    v[F.agTp] = r.ag.tp;
    v[F.agFp] = r.ag.fp;
    v[F.agFn] = r.ag.fn;
  }
  return { v, classCounts: r.classes };
}

/** A series, columnar (`t` plus one array per metric, as uPlot takes them), from points in time order. */
export function seriesColumns(res: Resolution, t: number[], rows: readonly SeriesPoint[]) {
  const col = (at: number) => rows.map((p) => p.v[at]!);
  return {
    res,
    t,
    frames: col(F.frames),
    successRate: col(F.successRate),
    malformed: col(F.malformed),
    dropped: col(F.dropped),
    meanConfidence: col(F.meanConfidence),
    /** mean latency per stage */
    mean: Object.fromEntries(STAGES.map((s, i) => [s, col(F.mean + i)])) as Record<Stage, number[]>,
    p50: Object.fromEntries(STAGES.map((s, i) => [s, col(F.p50 + i)])) as Record<Stage, number[]>,
    p95: Object.fromEntries(STAGES.map((s, i) => [s, col(F.p95 + i)])) as Record<Stage, number[]>,
    classCounts: rows.map((p) => p.classCounts),
    /** mean input-image statistics per bucket: br brightness, co contrast, sa saturation, sh sharpness, sc scene distance */
    image: Object.fromEntries(IMAGE_KEYS.map((k, i) => [k, col(F.image + i)])) as Record<(typeof IMAGE_KEYS)[number], number[]>,
    /** p10 and p90 of detection scores per bucket */
    confP10: col(F.confP10),
    confP90: col(F.confP90),
    /** JS heap (MB), long tasks per 5-s sample, uptime share per bucket */
    heapMB: col(F.gauge + GAUGES.indexOf('heapMB')),
    longTasks: col(F.gauge + GAUGES.indexOf('longTasks')),
    uptime: col(F.gauge + GAUGES.indexOf('up')),
    /**
     * the reference model's runs per bucket (rollup `ag`): frames judged, the deployed model's tp/fp/fn against
     * it, and the precision, recall and F1 they give (inference/agreement.ts `scores`); NaN where none ran
     */
    agreement: agreementColumns(col(F.agFrames), col(F.agTp), col(F.agFp), col(F.agFn)),
  };
}

export type Series = ReturnType<typeof seriesColumns>;

/** Precision, recall and F1 from summed tp/fp/fn (as inference/agreement.ts `scores`: F1 is 1 where neither model saw anything). */
export function agreementScores(a: { tp: number; fp: number; fn: number }) {
  return {
    precision: a.tp + a.fp ? a.tp / (a.tp + a.fp) : NaN,
    recall: a.tp + a.fn ? a.tp / (a.tp + a.fn) : NaN,
    f1: a.tp + a.fp + a.fn ? (2 * a.tp) / (2 * a.tp + a.fp + a.fn) : 1,
  };
}

function agreementColumns(frames: number[], tp: number[], fp: number[], fn: number[]) {
  const at = (i: number) => (frames[i]! > 0 ? agreementScores({ tp: tp[i]!, fp: fp[i]!, fn: fn[i]! }) : { precision: NaN, recall: NaN, f1: NaN });
  const s = frames.map((_, i) => at(i));
  return { frames, tp, fp, fn, precision: s.map((x) => x.precision), recall: s.map((x) => x.recall), f1: s.map((x) => x.f1) };
}

/** The series of a range from its rollups (any tag combinations, merged per bucket); buckets with no data are absent. */
export function seriesOf(rollups: Iterable<Rollup>, range: Range, res: Resolution): Series {
  const from = bucketStart(range.from, res);
  const byStart = new Map<number, Rollup>();
  for (const r of rollups) {
    if (r.res !== res || r.start < from || r.start > range.to || !rollupMatches(r, range)) continue;
    const m = byStart.get(r.start);
    if (m) mergeRollup(m, r);
    else byStart.set(r.start, mergeRollup(emptyRollup(res, r.start, r.mv, '*'), r));
  }
  const t = [...byStart.keys()].sort((a, b) => a - b);
  return seriesColumns(res, t, t.map((s) => seriesPoint(byStart.get(s)!)));
}

/** Totals of a merged rollup: frames, errors, success rate, mean confidence, class counts, first and last frame. */
export function totalsOf(m: Rollup) {
  return {
    frames: m.frames,
    valid: m.valid,
    malformed: m.malformed,
    dropped: m.dropped,
    errors: m.errors,
    successRate: m.frames ? m.valid / m.frames : NaN,
    meanConfidence: m.detections ? m.scoreSum / m.detections : NaN,
    classCounts: m.classes,
    /** the reference model's runs (frames judged, tp, fp, fn) and the scores they give; absent where none ran */
    ...(m.ag?.frames ? { agreement: { ...m.ag, ...agreementScores(m.ag) } } : {}),
    /** flicker (rollup `fl`: frames associated, boxes tracked, blinks, flips) and its rate, (blinks + flips) ÷ tracked; absent where none was associated */
    ...(m.fl && (m.fl.frames || m.fl.flips) ? { flicker: { ...m.fl, rate: m.fl.tracked ? (m.fl.blinks + m.fl.flips) / m.fl.tracked : NaN } } : {}),
    first: m.first,
    last: m.last,
  };
}
export type Totals = ReturnType<typeof totalsOf>;

/** Percentiles of a stage's latency (or of confidence) from a merged rollup's histogram. */
export function percentilesOf(m: Rollup, what: Stage | 'confidence', qs: number[] = [0.5, 0.95, 0.99]) {
  const h = what === 'confidence' ? m.conf : m.lat[what];
  return { n: histTotal(h), values: qs.map((q) => (what === 'confidence' ? confidenceQuantile(h, q) : latencyQuantile(h, q))) };
}

/** The model versions, cameras, locations and camera conditions that rollup rows name, each sorted: the filters the panel and the fleet API offer. */
export function dimensionsOf(rows: Iterable<Pick<Rollup, 'mv' | 'g'>>) {
  const mv = new Set<string>(), camera_id = new Set<string>(), location = new Set<string>(), condition = new Set<string>();
  for (const r of rows) {
    mv.add(r.mv);
    const t = parseTagKey(r.g);
    if (t.camera_id) camera_id.add(t.camera_id);
    if (t.location) location.add(t.location);
    if (t.condition) condition.add(t.condition);
  }
  const sorted = (s: Set<string>) => [...s].sort();
  return { mv: sorted(mv), camera_id: sorted(camera_id), location: sorted(location), condition: sorted(condition) };
}
