/**
 * A challenger against the champion (the deployed model), on the same sampled frames: each frame both models
 * ran on adds its run times and detections (`addPair`); `summarize` gives latency p50/p95 of each, detections
 * per class, confidence histograms, the challenger's agreement with the champion (agreement.ts), and the ratios
 * that decide the verdict — per class detections and run time, challenger ÷ champion — each with a 95 % interval
 * from a bootstrap over frames (objects in one frame are not independent, frames closer to it, blocks of consecutive frames closer still). A ratio is
 * "equal within its interval" when the interval holds 1. Where a reference model is set, the frames it judged too
 * carry its detections (`withReference`): both models' agreement with the reference on those frames, and the
 * difference of their F1 with its interval, which also enters the verdict (a challenger that finds as many boxes,
 * but other ones, reads worse). Pure: plain data in and out, a seeded resampler.
 */
import { addAgreement, agreement, type AgreementCounts, type FrameAgreement, scores } from './agreement.ts';
import type { Detection } from '../types/detection.ts';
import { rng } from '../lib/rng.ts'; // seeded: the same frames give the same intervals

/** one model's run on one sampled frame */
export interface ModelRun {
  ms: number;
  detections: readonly Detection[];
}

/** one sampled frame both models ran on */
export interface PairedFrame {
  t: number;
  champion: { ms: number; counts: Record<string, number>; scores: number[] };
  challenger: { ms: number; counts: Record<string, number>; scores: number[] };
  agreement: FrameAgreement;
  /** where the reference model judged the frame too: each model against the reference's detections */
  reference?: { champion: FrameAgreement; challenger: FrameAgreement };
}

/** the frames kept (the newest): enough for intervals, bounded in memory */
export const CHALLENGER_KEEP = 400;
/** confidence histogram: bins of 0.1 over 0–1 */
export const CONFIDENCE_BINS = 10;
/** a class enters the verdict with at least this many detections by either model */
export const VERDICT_MIN_DETECTIONS = 10;
/**
 * a class reads fewer (more) only where its whole 95 % interval lies below 1 − this (above 1 + this): a difference
 * smaller than a tenth, however sure, is no reason to hold a version back (two input sizes of one network differ by
 * that much on small objects)
 */
export const VERDICT_MARGIN = 0.1;
/** at least this many paired frames before a verdict */
export const VERDICT_MIN_FRAMES = 5;
/**
 * against a reference: the challenger reads worse (better) only where the whole 95 % interval of its F1 minus the
 * champion's lies below −this (above +this), on at least VERDICT_MIN_FRAMES frames the reference judged
 */
export const VERDICT_F1_MARGIN = 0.05;
const RESAMPLES = 1000;

export interface Interval {
  value: number;
  lo: number;
  hi: number;
}

export interface ClassComparison {
  label: string;
  champion: number;
  challenger: number;
  /** challenger ÷ champion detections over the frames, with its interval: 95 % shared among the classes judged (NaN where the champion has none) */
  ratio: Interval;
  /** 'fewer' / 'more' where the interval lies wholly beyond 1 ∓ VERDICT_MARGIN; 'too-few' under VERDICT_MIN_DETECTIONS (not judged) */
  verdict: 'fewer' | 'more' | 'equal' | 'too-few';
}

export interface ModelSide {
  version: string;
  p50Ms: number;
  p95Ms: number;
  /** detections a frame */
  perFrame: number;
  /** counts per bin of 0.1 confidence */
  confidence: number[];
  meanConfidence: number;
}

/** summed agreement counts and the scores they give */
export type AgreementScores = { tp: number; fp: number; fn: number; f1: number; precision: number; recall: number };

export interface ChallengerSummary {
  frames: number;
  since: number;
  until: number;
  champion: ModelSide;
  challenger: ModelSide;
  /** per class, the most detected first (at most 20) */
  classes: ClassComparison[];
  /** all detections: challenger ÷ champion */
  detections: Interval;
  /** p50 run time: challenger ÷ champion, same frames, same runtime (WASM, one thread) */
  latency: Interval;
  /** the challenger against the champion (the champion's detections as the reference) */
  agreement: AgreementScores;
  /**
   * on the frames the reference model judged too (where one is set): each model against the reference, and the
   * challenger's F1 minus the champion's with its 95 % interval; `verdict` where the interval lies beyond ∓VERDICT_F1_MARGIN
   */
  reference?: { frames: number; champion: AgreementScores; challenger: AgreementScores; f1Difference: Interval; verdict: 'worse' | 'better' | 'equal' | 'too-few' };
  verdict: 'worse' | 'better' | 'equal' | 'different' | 'too-few';
  /** one plain line: "challenger finds 12 % fewer persons (8–15 %); 1.4× slower on this device (1.3–1.5×)" */
  line: string;
}

/** One sampled frame both models ran on, as the accumulator keeps it (`reference`: the reference's detections on it, where it judged the frame). */
export function pairFrame(t: number, champion: ModelRun, challenger: ModelRun, o: { classification?: boolean; reference?: readonly Detection[] } = {}): PairedFrame {
  const side = (r: ModelRun) => {
    const counts: Record<string, number> = {};
    for (const d of r.detections) counts[d.label] = (counts[d.label] ?? 0) + 1;
    return { ms: r.ms, counts, scores: r.detections.map((d) => d.score) };
  };
  // the challenger is judged: the champion's detections stand in for the truth
  const f: PairedFrame = { t, champion: side(champion), challenger: side(challenger), agreement: agreement(challenger.detections, champion.detections, o) };
  if (o.reference) f.reference = againstFrame(champion.detections, challenger.detections, o.reference, o);
  return f;
}

/** Each model's detections on a frame against the reference's there. */
export function againstFrame(champion: readonly Detection[], challenger: readonly Detection[], reference: readonly Detection[], o: { classification?: boolean } = {}): NonNullable<PairedFrame['reference']> {
  return { champion: agreement(champion, reference, o), challenger: agreement(challenger, reference, o) };
}

/** The newest paired frames (bounded): `add` one, `summary` over those kept. */
export class ChallengerTally {
  readonly frames: PairedFrame[] = [];
  constructor(
    readonly championVersion: string,
    readonly challengerVersion: string,
    private readonly keep = CHALLENGER_KEEP,
  ) {}

  /** the last summary, until a frame is added (the bootstrap costs tens of ms at 400 frames: not redone per poll) */
  private last?: ChallengerSummary;

  add(f: PairedFrame) {
    this.frames.push(f);
    if (this.frames.length > this.keep) this.frames.splice(0, this.frames.length - this.keep);
    this.last = undefined;
  }

  /** Frames compared before (kept across a reload) go first, the newest `keep` of all stay. */
  restore(earlier: readonly PairedFrame[]) {
    this.frames.unshift(...earlier.filter((f) => !this.frames.length || f.t < this.frames[0]!.t));
    if (this.frames.length > this.keep) this.frames.splice(0, this.frames.length - this.keep);
    this.last = undefined;
  }

  /** A frame kept here changed (the reference's verdict on it came after the pair): the next summary is made anew. */
  changed() {
    this.last = undefined;
  }

  summary(): ChallengerSummary {
    return (this.last ??= summarize(this.frames, this.championVersion, this.challengerVersion));
  }
}


export function quantile(xs: readonly number[] | Float64Array, q: number): number {
  if (!xs.length) return NaN;
  const s = xs instanceof Float64Array ? xs.sort() : [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i), hi = Math.ceil(i);
  return s[lo]! + (s[hi]! - s[lo]!) * (i - lo);
}

/**
 * `stat` over the frames and its 1 − `alpha` percentile interval over `RESAMPLES` resamples of the frames (with
 * replacement, seeded), drawn in blocks of `block` consecutive frames (default √n: a moving-block bootstrap). Sampled
 * frames a second or two apart show much the same scene, so frames drawn one by one would make the interval too
 * narrow (two runs on vtest gave persons ×1.05, 0.99–1.12 and ×1.22, 1.14–1.34); blocks keep that dependence.
 * Resamples where the statistic is not finite are left out.
 */
export function bootstrap<T>(items: readonly T[], stat: (xs: readonly T[]) => number, seed = 1, alpha = 0.05, block = Math.ceil(Math.sqrt(items.length))): Interval {
  const value = stat(items);
  if (items.length < 2) return { value, lo: NaN, hi: NaN };
  const next = rng(seed);
  const out: number[] = [];
  const n = items.length;
  const sample: T[] = new Array(n);
  for (let r = 0; r < RESAMPLES; r++) {
    // blocks of `block` consecutive frames from random starts (wrapping round), until n are drawn
    for (let i = 0; i < n; ) {
      const start = Math.floor(next() * n);
      for (let k = 0; k < block && i < n; k++, i++) sample[i] = items[(start + k) % n]!;
    }
    const v = stat(sample);
    if (Number.isFinite(v)) out.push(v);
  }
  return { value, lo: quantile(out, alpha / 2), hi: quantile(out, 1 - alpha / 2) };
}

const sumOf = (fs: readonly PairedFrame[], side: 'champion' | 'challenger', label?: string) => {
  let n = 0;
  for (const f of fs) {
    const c = f[side].counts;
    if (label === undefined) for (const k in c) n += c[k]!;
    else n += c[label] ?? 0;
  }
  return n;
};



/**
 * The per-class ratios (at `classAlpha`), all detections' ratio and the p50 run-time ratio (at 5 %), from the same
 * block resamples as `bootstrap` draws, shared by all of them: one pass per resample over per-frame columns, not one
 * per statistic (400 frames × 20 classes: ~0.65 s → tens of ms, in the challenger's worker between runs).
 */
function jointBootstrap(frames: readonly PairedFrame[], labels: readonly string[], classAlpha: number) {
  const n = frames.length, L = labels.length;
  const col = (side: 'champion' | 'challenger', label?: string) => Float64Array.from(frames, (f) => (label === undefined ? Object.values(f[side].counts).reduce((a, b) => a + b, 0) : (f[side].counts[label] ?? 0)));
  const a = labels.map((l) => col('champion', l)), b = labels.map((l) => col('challenger', l));
  const aAll = col('champion'), bAll = col('challenger');
  const msA = Float64Array.from(frames, (f) => f.champion.ms), msB = Float64Array.from(frames, (f) => f.challenger.ms);
  const ratio = (x: Float64Array, y: Float64Array, idx?: Int32Array) => {
    let sx = 0, sy = 0;
    for (let i = 0; i < n; i++) (sx += x[idx ? idx[i]! : i]!), (sy += y[idx ? idx[i]! : i]!);
    return sx ? sy / sx : NaN;
  };
  const median = (ms: Float64Array, idx: Int32Array | undefined, scratch: Float64Array) => {
    for (let i = 0; i < n; i++) scratch[i] = ms[idx ? idx[i]! : i]!;
    return quantile(scratch, 0.5);
  };
  const sa = new Float64Array(n), sb = new Float64Array(n);
  const lat = (idx?: Int32Array) => median(msB, idx, sb) / median(msA, idx, sa);
  const values = { classes: labels.map((_, c) => ratio(a[c]!, b[c]!)), all: ratio(aAll, bAll), lat: lat() };
  if (n < 2) {
    const none = (value: number): Interval => ({ value, lo: NaN, hi: NaN });
    return { classes: values.classes.map(none), detections: none(values.all), latency: none(values.lat) };
  }
  const outs = { classes: labels.map(() => [] as number[]), all: [] as number[], lat: [] as number[] };
  const next = rng(7);
  const block = Math.ceil(Math.sqrt(n));
  const idx = new Int32Array(n);
  for (let r = 0; r < RESAMPLES; r++) {
    for (let i = 0; i < n; ) {
      const start = Math.floor(next() * n);
      for (let k = 0; k < block && i < n; k++, i++) idx[i] = (start + k) % n;
    }
    for (let c = 0; c < L; c++) {
      const v = ratio(a[c]!, b[c]!, idx);
      if (Number.isFinite(v)) outs.classes[c]!.push(v);
    }
    const all = ratio(aAll, bAll, idx), l = lat(idx);
    if (Number.isFinite(all)) outs.all.push(all);
    if (Number.isFinite(l)) outs.lat.push(l);
  }
  const interval = (value: number, xs: number[], alpha: number): Interval => ({ value, lo: quantile(xs, alpha / 2), hi: quantile(xs, 1 - alpha / 2) });
  return { classes: values.classes.map((v, c) => interval(v, outs.classes[c]!, classAlpha)), detections: interval(values.all, outs.all, 0.05), latency: interval(values.lat, outs.lat, 0.05) };
}

/** 'fewer' / 'more' where the interval lies wholly beyond 1 ∓ `margin` */
const direction = (i: Interval, margin = VERDICT_MARGIN): 'fewer' | 'more' | 'equal' => (i.hi < 1 - margin ? 'fewer' : i.lo > 1 + margin ? 'more' : 'equal');

function side(fs: readonly PairedFrame[], s: 'champion' | 'challenger', version: string): ModelSide {
  const confidence = new Array<number>(CONFIDENCE_BINS).fill(0);
  let sum = 0, n = 0;
  for (const f of fs)
    for (const c of f[s].scores) {
      confidence[Math.min(CONFIDENCE_BINS - 1, Math.max(0, Math.floor(c * CONFIDENCE_BINS)))]!++;
      sum += c;
      n++;
    }
  const ms = fs.map((f) => f[s].ms);
  return { version, p50Ms: quantile(ms, 0.5), p95Ms: quantile(ms, 0.95), perFrame: fs.length ? n / fs.length : NaN, confidence, meanConfidence: n ? sum / n : NaN };
}

const pct = (r: number) => Math.round(Math.abs(1 - r) * 100);
const plural = (label: string) => (/s$/.test(label) ? label : `${label}s`);
const times = (r: number) => (r >= 1 ? r : 1 / r).toFixed(r >= 0.95 && r <= 1.05 ? 2 : 1);

/** The comparison over `frames` (see the module's comment). */
export function summarize(frames: readonly PairedFrame[], championVersion: string, challengerVersion: string): ChallengerSummary {
  const labels = new Map<string, number>();
  for (const f of frames) for (const s of [f.champion.counts, f.challenger.counts]) for (const [k, v] of Object.entries(s)) labels.set(k, (labels.get(k) ?? 0) + v);
  const top = [...labels.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20);
  // the classes judged share the 5 % between them (Bonferroni): twenty classes tested at 95 % each would find one
  // "different" by chance alone
  const tested = Math.max(1, top.filter(([, n]) => n >= VERDICT_MIN_DETECTIONS).length);
  const joint = jointBootstrap(frames, top.map(([label]) => label), 0.05 / tested);
  const classes: ClassComparison[] = top.map(([label, n], i) => {
    const ratio = joint.classes[i]!;
    return { label, champion: sumOf(frames, 'champion', label), challenger: sumOf(frames, 'challenger', label), ratio, verdict: n >= VERDICT_MIN_DETECTIONS ? direction(ratio) : ('too-few' as const) };
  });
  const { detections, latency } = joint;
  const agree = frames.reduce<FrameAgreement>((a, f) => addAgreement(a, f.agreement), { tp: 0, fp: 0, fn: 0, byClass: {} });
  const sc = scores(agree);
  const judged = classes.filter((c) => c.verdict !== 'too-few' && Number.isFinite(c.ratio.lo));
  const fewer = judged.filter((c) => c.verdict === 'fewer'), more = judged.filter((c) => c.verdict === 'more');
  const byCounts: ChallengerSummary['verdict'] =
    frames.length < VERDICT_MIN_FRAMES || !judged.length ? 'too-few' : fewer.length && more.length ? 'different' : fewer.length ? 'worse' : more.length ? 'different' : 'equal';
  const reference = againstReference(frames);
  const verdict = withReference(byCounts, reference?.verdict, fewer.length > 0);
  const parts: string[] = [];
  if (verdict === 'too-few') parts.push(`challenger: ${frames.length} frame${frames.length === 1 ? '' : 's'} compared, too few for a verdict`);
  else {
    const said = [...fewer, ...more]
      .slice(0, 3)
      .map((c) => (c.challenger === 0 ? `no ${plural(c.label)} (the champion ${c.champion})` : `${pct(c.ratio.value)} % ${c.verdict} ${plural(c.label)} (${pct(c.verdict === 'fewer' ? c.ratio.hi : c.ratio.lo)}–${pct(c.verdict === 'fewer' ? c.ratio.lo : c.ratio.hi)} %)`));
    if (said.length) parts.push(`challenger finds ${said.join(', ')}`);
    else {
      const top = judged[0]!;
      parts.push(`challenger finds as many ${plural(top.label)}: ×${top.ratio.value.toFixed(2)} (${top.ratio.lo.toFixed(2)}–${top.ratio.hi.toFixed(2)}), equal within its interval (±${Math.round(VERDICT_MARGIN * 100)} %)`);
    }
  }
  if (Number.isFinite(latency.lo)) {
    const d = direction(latency, 0);
    parts.push(
      d === 'equal'
        ? `as fast on this device (×${latency.value.toFixed(2)}, ${latency.lo.toFixed(2)}–${latency.hi.toFixed(2)})`
        : `${times(latency.value)}× ${d === 'more' ? 'slower' : 'faster'} on this device (${times(d === 'more' ? latency.lo : latency.hi)}–${times(d === 'more' ? latency.hi : latency.lo)}×)`,
    );
  }
  parts.push(`agrees with the champion at F1 ${sc.f1.toFixed(2)}`);
  if (reference && reference.verdict !== 'too-few') {
    const d = reference.f1Difference;
    const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}`;
    parts.push(`against the reference, F1 ${reference.challenger.f1.toFixed(2)} vs the champion's ${reference.champion.f1.toFixed(2)} (${signed(d.value)}, ${signed(d.lo)} to ${signed(d.hi)}${reference.verdict === 'equal' ? ', equal within its interval' : ''})`);
  }
  const ts = frames.map((f) => f.t);
  return {
    frames: frames.length,
    since: ts.length ? Math.min(...ts) : 0,
    until: ts.length ? Math.max(...ts) : 0,
    champion: side(frames, 'champion', championVersion),
    challenger: side(frames, 'challenger', challengerVersion),
    classes,
    detections,
    latency,
    agreement: { tp: agree.tp, fp: agree.fp, fn: agree.fn, ...sc },
    ...(reference ? { reference } : {}),
    verdict,
    line: parts.join('; '),
  };
}

const summed = (fs: readonly PairedFrame[], side: 'champion' | 'challenger'): AgreementCounts => {
  const a = { tp: 0, fp: 0, fn: 0 };
  for (const f of fs) {
    const r = f.reference![side];
    (a.tp += r.tp), (a.fp += r.fp), (a.fn += r.fn);
  }
  return a;
};
const withScores = (c: AgreementCounts): AgreementScores => ({ tp: c.tp, fp: c.fp, fn: c.fn, ...scores(c) });

/** Both models against the reference on the frames it judged (none: undefined), the F1 difference's block-bootstrap interval. */
function againstReference(frames: readonly PairedFrame[]): ChallengerSummary['reference'] {
  const judged = frames.filter((f) => f.reference);
  if (!judged.length) return undefined;
  const f1 = (fs: readonly PairedFrame[], side: 'champion' | 'challenger') => scores(summed(fs, side)).f1;
  const f1Difference = bootstrap(judged, (fs) => f1(fs, 'challenger') - f1(fs, 'champion'), 11);
  const verdict =
    judged.length < VERDICT_MIN_FRAMES || !Number.isFinite(f1Difference.lo) ? 'too-few' : f1Difference.hi < -VERDICT_F1_MARGIN ? 'worse' : f1Difference.lo > VERDICT_F1_MARGIN ? 'better' : 'equal';
  return { frames: judged.length, champion: withScores(summed(judged, 'champion')), challenger: withScores(summed(judged, 'challenger')), f1Difference, verdict };
}

/**
 * The verdict from the counts, then the reference's: a challenger that agrees clearly less with the reference is
 * worse (or 'different' where it finds more of something); one that agrees clearly more is better, unless it finds
 * fewer of a class (then 'different': a person weighs the two).
 */
function withReference(byCounts: ChallengerSummary['verdict'], ref: 'worse' | 'better' | 'equal' | 'too-few' | undefined, fewer: boolean): ChallengerSummary['verdict'] {
  if (byCounts === 'too-few' || !ref || ref === 'too-few' || ref === 'equal') return byCounts;
  if (ref === 'worse') return byCounts === 'equal' || byCounts === 'worse' ? 'worse' : 'different';
  return fewer ? 'different' : 'better';
}
