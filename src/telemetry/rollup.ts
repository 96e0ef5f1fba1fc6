/** Rollups: mergeable summaries of the frames of one model version and tag combination in a time bucket (browser and server merge them with this code). */
import { addTo, type Hist, latencyBucket, merge } from './histogram.ts';
import { type FrameRecord, STAGES, type Stage } from './record.ts';
import type { AgreementCounts } from '../inference/agreement.ts';

export type { AgreementCounts };

export const RESOLUTIONS = { '10s': 10_000, '1m': 60_000, '1h': 3_600_000 } as const;
export type Resolution = keyof typeof RESOLUTIONS;

/**
 * A mergeable summary of the frames of one model version and tag combination in one time bucket.
 * Every field merges by addition (or min/max), so any rollup equals the merge of the finer ones inside it.
 */
export interface Rollup {
  res: Resolution;
  start: number;
  mv: string;
  g: string;
  frames: number;
  /** frames whose output was valid (not malformed, not failed) */
  valid: number;
  malformed: number;
  dropped: number;
  /** failures and malformed outputs by kind */
  errors: Record<string, number>;
  lat: Record<Stage, Hist>;
  /** detection scores */
  conf: Hist;
  scoreSum: number;
  detections: number;
  /** frames with ≥ 1 detection, and the sum of their mean scores */
  scoredFrames: number;
  frameScoreSum: number;
  /** class id → detections, and the sum of their scores */
  classes: Record<number, number>;
  classScore: Record<number, number>;
  /** class id → confidence histogram of that class's detections (absent in rollups without detections) */
  cc?: Record<number, Hist>;
  /** input statistic → [sum, count] */
  img: Record<string, [number, number]>;
  /** page resources sampled while running (heapMB, longTasks, up = results flowed) → [sum, count] */
  gauge?: Record<string, [number, number]>;
  /**
   * the reference model's runs on sampled frames of this bucket (inference/agreement.ts): how many frames it
   * judged, and the deployed model's detections it confirmed (tp), did not have (fp) and that the deployed model
   * missed (fn), summed; absent where no reference ran (and in rollups stored before it was kept)
   */
  ag?: RollupAgreement;
  /**
   * flicker (health/flicker.ts): frames whose boxes were associated with the frame before, boxes tracked, blinks
   * and class flips, summed; absent where nothing was associated (and in rollups stored before it was kept)
   */
  fl?: RollupFlicker;
  first: number;
  last: number;
}

/** A bucket's reference-model runs: frames judged and their counts summed (precision, recall, F1 come from the sums). */
export interface RollupAgreement {
  frames: number;
  tp: number;
  fp: number;
  fn: number;
  /**
   * the same counts per label (labels, not class ids: the two models may number their classes differently); a
   * label counts where either model detected it. Absent in rollups stored before it was kept.
   */
  byClass?: Record<string, AgreementCounts>;
}

/** A bucket's flicker counts (the rate is (blinks + flips) ÷ tracked). */
export interface RollupFlicker {
  frames: number;
  tracked: number;
  blinks: number;
  flips: number;
}

/**
 * Adds each count of `from` into `into` (`into` created from `empty` when absent); returns it. The counts objects a
 * rollup sums (agreement, its per-label counts, flicker) merge with this.
 */
export function addCounts<T extends object>(into: T | undefined, from: Readonly<T>, empty: () => T): T {
  const t = (into ?? empty()) as Record<string, unknown>;
  for (const [k, v] of Object.entries(from)) if (typeof v === 'number') t[k] = ((t[k] as number | undefined) ?? 0) + v;
  return t as T;
}

const noAgreement = (): AgreementCounts => ({ tp: 0, fp: 0, fn: 0 });

/** Adds `from`'s per-label counts into `into`. */
export function addAgreementByClass(into: Record<string, AgreementCounts>, from: Readonly<Record<string, AgreementCounts>>) {
  for (const k in from) into[k] = addCounts(into[k], from[k]!, noAgreement);
}

export const bucketStart = (t: number, res: Resolution) => Math.floor(t / RESOLUTIONS[res]) * RESOLUTIONS[res];

/** The key a rollup is stored under: sorts by resolution, then time. */
export const rollupKey = (r: Pick<Rollup, 'res' | 'start' | 'mv' | 'g'>) => [r.res, r.start, r.mv, r.g] as const;

export function emptyRollup(res: Resolution, start: number, mv: string, g: string): Rollup {
  return {
    res, start, mv, g,
    frames: 0, valid: 0, malformed: 0, dropped: 0, errors: {},
    lat: Object.fromEntries(STAGES.map((s) => [s, {}])) as Record<Stage, Hist>,
    conf: {}, scoreSum: 0, detections: 0, scoredFrames: 0, frameScoreSum: 0,
    classes: {}, classScore: {}, img: {},
    first: Infinity, last: -Infinity,
  };
}

/** A malformed reason or error code → a short kind for counting. */
export function errorKind(reason: string): string {
  if (/non-finite/i.test(reason)) return 'non-finite';
  if (/shape|classes, the manifest/i.test(reason)) return 'wrong-shape';
  if (/empty/i.test(reason)) return 'empty-output';
  if (/out of frame/i.test(reason)) return 'box-out-of-frame';
  if (/missing/i.test(reason)) return 'missing-output';
  if (/^[a-z-]+$/.test(reason)) return reason; // already an error code
  return 'other';
}

export function addFrame(r: Rollup, f: FrameRecord): Rollup {
  r.frames++;
  r.dropped += f.d;
  if (f.m) {
    r.malformed++;
    r.errors[errorKind(f.m)] = (r.errors[errorKind(f.m)] ?? 0) + 1;
  } else if (f.e) r.errors[errorKind(f.e)] = (r.errors[errorKind(f.e)] ?? 0) + 1;
  else r.valid++;
  for (let i = 0; i < STAGES.length; i++) {
    const v = f.l[i]!;
    if (v >= 0) addTo(r.lat[STAGES[i]!], latencyBucket(v));
  }
  // f.h holds each class's bins in f.k order
  const h = f.h ?? [];
  const perClass = h.length === f.k.reduce((a, x) => a + x[1], 0);
  let o = 0;
  for (const [classId, count, , mean] of f.k) {
    r.classes[classId] = (r.classes[classId] ?? 0) + count;
    r.classScore[classId] = (r.classScore[classId] ?? 0) + mean * count;
    r.detections += count;
    r.scoreSum += mean * count;
    if (perClass) {
      const ch = ((r.cc ??= {})[classId] ??= {});
      for (let j = o; j < o + count; j++) addTo(ch, h[j]!);
    }
    o += count;
  }
  for (const bin of h) addTo(r.conf, bin);
  if (f.s.length) {
    r.scoredFrames++;
    r.frameScoreSum += f.s[0]!;
  }
  if (f.i) for (const [k, v] of Object.entries(f.i)) {
    const a = (r.img[k] ??= [0, 0]);
    a[0] += v;
    a[1]++;
  }
  if (f.fk) {
    const fl = (r.fl ??= { frames: 0, tracked: 0, blinks: 0, flips: 0 });
    fl.frames += f.fk[0];
    fl.tracked += f.fk[1];
    fl.blinks += f.fk[2];
    fl.flips += f.fk[3];
  }
  r.first = Math.min(r.first, f.t);
  r.last = Math.max(r.last, f.t);
  return r;
}

/** The mean behind a [sum, count] pair (NaN when there is none). */
export const meanOf = (p?: [number, number]) => (p && p[1] ? p[0] / p[1] : NaN);

const addSums = (into: Record<string, [number, number]>, from: Record<string, [number, number]>) => {
  for (const [k, [s, n]] of Object.entries(from)) {
    const a = (into[k] ??= [0, 0]);
    a[0] += s;
    a[1] += n;
  }
};

const addMap = (into: Record<string | number, number>, from: Record<string | number, number>) => {
  for (const k in from) into[k] = (into[k] ?? 0) + from[k]!;
};

/** Adds `from` into `into` (any resolution, any bucket; the caller keeps keys consistent). */
export function mergeRollup(into: Rollup, from: Rollup): Rollup {
  into.frames += from.frames;
  into.valid += from.valid;
  into.malformed += from.malformed;
  into.dropped += from.dropped;
  addMap(into.errors, from.errors);
  for (const s of STAGES) merge(into.lat[s], from.lat[s]);
  merge(into.conf, from.conf);
  into.scoreSum += from.scoreSum;
  into.detections += from.detections;
  into.scoredFrames += from.scoredFrames;
  into.frameScoreSum += from.frameScoreSum;
  addMap(into.classes, from.classes);
  addMap(into.classScore, from.classScore);
  if (from.cc) for (const k in from.cc) merge(((into.cc ??= {})[k] ??= {}), from.cc[k]!);
  addSums(into.img, from.img);
  if (from.gauge) addSums((into.gauge ??= {}), from.gauge);
  if (from.ag) {
    // the counts (addCounts skips the per-label map, which merges label by label)
    const a = (into.ag = addCounts<RollupAgreement>(into.ag, from.ag, () => ({ frames: 0, tp: 0, fp: 0, fn: 0 })));
    if (from.ag.byClass) addAgreementByClass((a.byClass ??= {}), from.ag.byClass);
  }
  if (from.fl) into.fl = addCounts(into.fl, from.fl, () => ({ frames: 0, tracked: 0, blinks: 0, flips: 0 }));
  into.first = Math.min(into.first, from.first);
  into.last = Math.max(into.last, from.last);
  return into;
}

/** Rolls frames up at one resolution, keyed by bucket × model version × tag combination. */
export function rollFrames(frames: Iterable<FrameRecord>, res: Resolution): Map<string, Rollup> {
  const out = new Map<string, Rollup>();
  for (const f of frames) {
    const start = bucketStart(f.t, res);
    const key = `${start}|${f.mv}|${f.g}`;
    let r = out.get(key);
    if (!r) out.set(key, (r = emptyRollup(res, start, f.mv, f.g)));
    addFrame(r, f);
  }
  return out;
}

/** A resource sample as rollup deltas at every resolution (no frames; only gauges). */
export function gaugeRollups(t: number, mv: string, g: string, values: Record<string, number>): Rollup[] {
  return (Object.keys(RESOLUTIONS) as Resolution[]).map((res) => {
    const r = emptyRollup(res, bucketStart(t, res), mv, g);
    r.gauge = {};
    for (const [k, v] of Object.entries(values)) if (Number.isFinite(v)) r.gauge[k] = [v, 1];
    return r;
  });
}

/**
 * A reference model's verdict on one sampled frame as rollup deltas at every resolution (no frames; only `ag`).
 * The verdict arrives after the frame's own record (the reference runs later, on a duty cycle), so it is not
 * added with the frame: it is a delta of its own, dated by the judged frame's time `t`, that lands in the bucket
 * the frame's record went to (merged by addition like every rollup). A bucket closed by then is merged into all
 * the same (the store drops what it cached of it); the sync sends 1-min rollups once closed, so a verdict later
 * than that (the reference runs within a second or two of its frame) would stay on the page only.
 */
export function agreementRollups(t: number, mv: string, g: string, c: Omit<RollupAgreement, 'frames'>): Rollup[] {
  return (Object.keys(RESOLUTIONS) as Resolution[]).map((res) => {
    const r = emptyRollup(res, bucketStart(t, res), mv, g);
    r.ag = { frames: 1, tp: c.tp, fp: c.fp, fn: c.fn };
    if (c.byClass && Object.keys(c.byClass).length) addAgreementByClass((r.ag.byClass = {}), c.byClass);
    return r;
  });
}
