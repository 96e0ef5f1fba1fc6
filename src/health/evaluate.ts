/**
 * Rule evaluation: a rule's value for a stream — over its window against the baseline, or over the page's
 * resource samples — and the threshold in force; alerts.ts judges what it reads.
 */
import { CONFIDENCE_BINS, confidenceQuantile, type Hist, latencyMean, latencyQuantile } from '../telemetry/histogram.ts';
import type { Stage } from '../telemetry/record.ts';
import type { Rollup } from '../telemetry/rollup.ts';
import { flickerReading } from './flicker-rule.ts';
import { changedValue } from './frozen.ts';
import { addSums, agreementReading, type AgreementSums } from './agreement-signal.ts';
import { heapGrowth } from './heap.ts';
import { sceneDistance } from '../capture/image-stats.ts';
import type { AlertRule } from './rules.ts';
import { Cusum, Ewma, jsDistance, ksStatistic, meanStd, nullThreshold, poissonQuantile, psi, stretchExtremes } from './stats.ts';
import type { Baseline, ChartMetric, Reading, ResourceSample } from './types.ts';
import { wanderKey, wanderThreshold } from './wander.ts';
import { chartValue, covered, meanThumb, mergeWins, span, type Stream, type Win } from './windows.ts';

/** The engine's options that evaluation reads, defaults filled in. */
export interface Settings {
  readonly windowMs: number;
  /** how long a baseline is captured for (ms); the engine's `baselineMs` */
  baselineMs: number;
  readonly alpha: number;
  /** samplesPerSecond */
  readonly sps: number;
  readonly floor: Record<ChartMetric, number>;
  readonly relFloor: number;
}

/**
 * The smallest σ each control chart uses: a steady scene's window means barely move, and a chart on that
 * σ alone alarms on shifts nobody would call a change (and on the footage's own slow wander).
 * Confidence 0.02 of score, brightness 2.5 and contrast 2 luma levels, saturation 0.01, scene distance 0.02.
 */
export const DEFAULT_SIGMA_FLOOR: Record<ChartMetric, number> = { confidence: 0.02, brightness: 2.5, contrast: 2, saturation: 0.01, sharpness: 0, scene: 0.02 };

/** Dense counts over the union of two sparse histograms' buckets, in bucket order. */
function aligned(a: Hist, b: Hist, bins?: number): [number[], number[]] {
  const keys = bins ? Array.from({ length: bins }, (_, i) => i) : [...new Set([...Object.keys(a), ...Object.keys(b)].map(Number))].sort((x, y) => x - y);
  return [keys.map((k) => a[k] ?? 0), keys.map((k) => b[k] ?? 0)];
}

/**
 * A window-driven rule's reading at the end of a window (`end`), or undefined where it is not judged this
 * time (a control chart between whole windows, a rule against a baseline not captured yet). Control charts
 * are kept in `s.charts`, made on their first sample.
 */
export function evaluateRule(s: Stream, rule: AlertRule, end: number, cfg: Settings): Reading | undefined {
  const b = s.baseline;
  const wins = span(s, rule.window, end);
  const agg = rule.aggregation;
  const none = { value: NaN, threshold: rule.threshold };
  if (agg === 'ewma' || agg === 'cusum') {
    if (!b || end % rule.window !== 0) return; // one sample per whole window
    const metric = rule.metric as ChartMetric;
    const merged = wins.length ? mergeWins(wins, end - rule.window) : undefined;
    const x = merged ? chartValue(metric, merged.r, meanThumb(merged), b.thumb) : NaN;
    let chart = s.charts.get(rule.id);
    if (!chart) {
      const ref = chartReference(b, metric, rule.window, cfg);
      if (!ref) return none;
      chart = agg === 'ewma' ? new Ewma(ref.mu, ref.sigma, 0.2, rule.threshold) : new Cusum(ref.mu, ref.sigma, 0.5, rule.threshold);
      s.charts.set(rule.id, chart);
    }
    if (!Number.isFinite(x)) return metric === 'confidence' && merged && silent(b, merged.r, rule.window / 1000, cfg) ? { ...none, silent: true } : none;
    const value = chart.update(x);
    // A firing chart resolves on the present, not on its memory: once a sample is back within `clear` σ
    // of the baseline, the shift is over and the chart restarts (the engine drops it, as after any
    // out-of-control signal).
    const now = Math.abs(x - chart.mu0) / chart.sigma;
    return { value, threshold: rule.threshold, clear: now };
  }
  // agreement rests on the reference's frames (at least a few), of the stream's current deployment only: a new
  // deployment is judged on its own frames from its first whole window, not diluted by the one before
  if (rule.metric === 'agreement') {
    if (!b) return;
    const from = s.captureFrom ?? -Infinity;
    const ag = wins.reduce<AgreementSums | undefined>((a, w) => (w.start >= from ? addSums(a, w.ag) : a), undefined);
    return agreementReading(b.agreement, rule, ag, cfg.windowMs, cfg.alpha);
  }
  // the other rules need half their window covered (a count needs no more than one frame)
  const coveredMs = covered(wins, cfg.windowMs);
  if (agg !== 'count' && coveredMs < rule.window / 2) return none;
  const m = mergeWins(wins, end - rule.window);
  const r = m.r;
  const seconds = coveredMs / 1000;
  const metric = rule.metric;
  if (metric === 'changed') return { value: changedValue(m.ch, b?.changes, agg, cfg.alpha, rule.threshold), threshold: rule.threshold };
  if (metric === 'flicker') return flickerReading(rule, m.fl, b, seconds, cfg.windowMs, cfg.alpha, cfg.sps);
  if ((metric === 'detections' || metric === 'class-detections') && agg === 'ratio') return b ? rateReading(b, rule, r, seconds, cfg) : undefined;
  // confidence and class mix are read from detections: none while frames flow is silence, not a lack of data
  const quiet = b && (metric === 'confidence' || metric === 'class-confidence' || metric === 'classes') && silent(b, r, seconds, cfg) ? { silent: true } : {};
  if (metric === 'class-confidence') {
    if (!b) return;
    const test = classTests(agg as 'psi' | 'ks', r, seconds, b, rule.threshold, cfg).sort((x, y) => y.value / y.threshold - x.value / x.threshold)[0];
    if (!test) return { ...none, ...quiet };
    return { value: test.value, threshold: test.threshold, clear: test.value, classId: test.classId };
  }
  if (agg === 'psi' || agg === 'ks' || agg === 'js') {
    if (!b) return;
    const lat = metric.startsWith('latency.') ? (metric.slice(8) as Stage) : undefined;
    let a: number[], e: number[], n: number;
    if (metric === 'classes') {
      [a, e] = aligned(r.classes, b.rollup.classes);
      n = r.detections;
    } else if (lat) {
      [a, e] = aligned(r.lat[lat], b.rollup.lat[lat]);
      n = a.reduce((x, y) => x + y, 0);
    } else {
      [a, e] = aligned(r.conf, b.rollup.conf, CONFIDENCE_BINS);
      n = r.detections;
    }
    const mTotal = e.reduce((x, y) => x + y, 0);
    if (!n || !mTotal) return { ...none, ...quiet };
    const test = distance(agg, a, e, n, mTotal, seconds, b.seconds, rule.threshold, cfg.alpha, cfg.sps);
    // latency wanders with the machine's load: the threshold is at least what the baseline's own wander reaches
    const wander = lat && agg === 'ks' ? wanderThreshold(b.wander?.[wanderKey(metric, rule.window)] ?? NaN, cfg.alpha) : NaN;
    return { value: test.value, threshold: Number.isFinite(wander) ? Math.max(test.threshold, wander) : test.threshold };
  }
  const value = plainValue(s, rule, r, seconds, m);
  return { value, threshold: rule.threshold, ...(Number.isFinite(value) ? {} : quiet) };
}

/**
 * Whether a window's frames flowed with valid output but no detections where the baseline's rate makes none
 * improbable (fewer than the Poisson chance level at α for the window's effective samples).
 */
export function silent(b: Baseline, r: Rollup, seconds: number, cfg: Settings): boolean {
  if (r.detections || !r.valid || !b.rollup.valid) return false;
  const expected = (b.rollup.detections / b.rollup.valid) * Math.min(r.valid, seconds * cfg.sps);
  return poissonQuantile(expected, cfg.alpha) > 0;
}

/**
 * The quietest and busiest stretches of `k` windows in the baseline, as ratios of their detections per frame
 * to the baseline's (`counts`: per window, all detections or one class's); 1 and 1 where the baseline kept no
 * windows (stored before they were).
 */
export function stretches(b: Baseline, counts: number[] | undefined, k: number): { lo: number; hi: number } {
  const frames = b.rates?.frames;
  return frames && counts ? stretchExtremes(frames, counts, k) : { lo: 1, hi: 1 };
}

/**
 * One rate's reading: `n` detections in `frames` valid frames against the baseline's `bn` in `bFrames`, as a
 * ratio. The threshold in force is the rule's taken against the baseline's quietest (`<`) or busiest (`>`)
 * stretch of the window's length (at most 30 s), and moved past the Poisson chance level at `alpha` for the window's effective
 * samples: a rate the baseline itself reached, or one chance explains, never fires.
 */
function rateTest(rule: AlertRule, n: number, frames: number, bn: number, bFrames: number, ext: { lo: number; hi: number }, samples: number, alpha: number): Reading {
  const mu = bFrames ? bn / bFrames : 0;
  if (!(mu > 0) || !frames) return { value: NaN, threshold: rule.threshold };
  const value = n / frames / mu;
  const expected = mu * samples;
  const below = rule.comparator === '<' || rule.comparator === '<=';
  const chance = expected > 0 ? poissonQuantile(expected, below ? alpha : 1 - alpha) / expected : below ? 0 : Infinity;
  const threshold = below ? Math.min(rule.threshold * Math.min(1, ext.lo), chance) : Math.max(rule.threshold * Math.max(1, ext.hi), chance);
  return { value, threshold };
}

/** A detection-rate rule's reading: all detections, or each class's with the class furthest past its threshold deciding (α ÷ classes tested). */
function rateReading(b: Baseline, rule: AlertRule, r: Rollup, seconds: number, cfg: Settings): Reading {
  const samples = Math.min(r.valid, seconds * cfg.sps);
  // the reference is the quietest (busiest) stretch of the window's length, at most half a minute: a rate the
  // baseline held for half a minute (a hall emptying, an object that passes) may well last longer
  const k = Math.max(1, Math.min(Math.round(rule.window / b.windowMs), Math.round(30_000 / b.windowMs)));
  if (rule.metric === 'detections') return rateTest(rule, r.detections, r.valid, b.rollup.detections, b.rollup.valid, stretches(b, b.rates?.detections, k), samples, cfg.alpha);
  // the classes whose per-window counts the baseline kept (its 20 most frequent), or all it saw where it kept none
  const ids = Object.keys(b.rates?.classes ?? b.rollup.classes).map(Number).filter((c) => (b.rollup.classes[c] ?? 0) > 0);
  const below = rule.comparator === '<' || rule.comparator === '<=';
  const tests = ids
    .map((classId) => ({ classId, ...rateTest(rule, r.classes[classId] ?? 0, r.valid, b.rollup.classes[classId]!, b.rollup.valid, stretches(b, b.rates?.classes[classId], k), samples, cfg.alpha / ids.length) }))
    .filter((x) => Number.isFinite(x.value) && Number.isFinite(x.threshold) && x.threshold > 0);
  const worst = tests.sort((x, y) => (below ? x.value / x.threshold - y.value / y.threshold : y.value / y.threshold - x.value / x.threshold))[0];
  return worst ?? { value: NaN, threshold: rule.threshold };
}

/**
 * Each class's confidence distribution in `r` against the baseline's: PSI or KS, with the threshold
 * raised to the chance level for its sample sizes at α ÷ (classes tested).
 */
export function classTests(agg: 'psi' | 'ks', r: Rollup, seconds: number, b: Baseline, min: number, cfg: Settings) {
  const ids = Object.keys(b.rollup.cc ?? {}).map(Number).filter((k) => r.cc?.[k]);
  return ids.map((classId) => {
    const [a, e] = aligned(r.cc![classId]!, b.rollup.cc![classId]!, CONFIDENCE_BINS);
    const test = distance(agg, a, e, r.classes[classId] ?? 0, b.rollup.classes[classId] ?? 0, seconds, b.seconds, min, cfg.alpha / ids.length, cfg.sps);
    return { classId, ...test };
  });
}

/**
 * Distance of a window's binned distribution (`a`, n observations over `seconds`) from the baseline's
 * (`e`, m over `baselineSeconds`), and the threshold in force: at least `min`, raised to the distance's
 * chance level at `alpha` for the effective sample sizes (`sps`, samplesPerSecond, caps them).
 */
function distance(agg: 'psi' | 'ks' | 'js', a: number[], e: number[], n: number, m: number, seconds: number, baselineSeconds: number, min: number, alpha: number, sps: number) {
  const nEff = Math.min(n, seconds * sps);
  const mEff = Math.min(m, baselineSeconds * sps);
  const bins = a.filter((x, i) => x + e[i]! > 0).length;
  const value = agg === 'psi' ? psi(e, a) : agg === 'js' ? jsDistance(e, a) : ksStatistic(e, a);
  return { value, threshold: Math.max(min, nullThreshold(agg, bins, nEff, mEff, alpha)) };
}

/**
 * μ0 and σ of a chart metric's windows of `window` ms in the baseline, σ floored. A baseline shorter than one such
 * window (a condition a person accepted seconds into its learning) gives its windows' mean, σ the floors alone.
 */
function chartReference(b: Baseline, metric: ChartMetric, window: number, cfg: Settings) {
  const xs = b.windows[metric];
  if (!xs?.length) return undefined;
  const k = Math.min(xs.length, Math.max(1, Math.round(window / b.windowMs)));
  const chunks: number[] = [];
  for (let i = 0; i + k <= xs.length; i += k) {
    const part = xs.slice(i, i + k).filter(Number.isFinite);
    if (part.length) chunks.push(part.reduce((x, y) => x + y, 0) / part.length);
  }
  const { mean, std } = meanStd(chunks);
  if (!Number.isFinite(mean)) return undefined;
  return { mu: mean, sigma: Math.max(std, cfg.floor[metric], (metric === 'sharpness' ? Math.max(0.1, cfg.relFloor) : cfg.relFloor) * Math.abs(mean), 1e-9) };
}

/** A plain aggregation (mean, count, rate, p50, p95, ratio to the baseline) of a rule's metric over merged windows. */
function plainValue(s: Stream, rule: AlertRule, r: Rollup, seconds: number, m: Win): number {
  const b = s.baseline;
  const metric = rule.metric;
  const agg = rule.aggregation;
  const of = (x: Rollup, secs: number, q?: number): number => {
    if (metric.startsWith('latency.')) {
      const h = x.lat[metric.slice(8) as Stage];
      return q !== undefined ? latencyQuantile(h, q) : latencyMean(h);
    }
    switch (metric) {
      case 'confidence': return q !== undefined ? confidenceQuantile(x.conf, q) : x.detections ? x.scoreSum / x.detections : NaN;
      case 'success': return x.frames ? x.valid / x.frames : NaN;
      case 'malformed': return agg === 'count' || agg === 'rate' ? x.malformed : x.frames ? x.malformed / x.frames : NaN;
      case 'errors': return agg === 'count' || agg === 'rate' ? x.frames - x.valid : x.frames ? (x.frames - x.valid) / x.frames : NaN;
      case 'frames': return x.frames;
      case 'fps': return x.frames / secs;
      case 'dropped': return agg === 'count' || agg === 'rate' ? x.dropped : x.frames + x.dropped ? x.dropped / (x.frames + x.dropped) : NaN;
      case 'scene': {
        if (!b?.thumb) return NaN;
        if (x !== r) return meanStd(b.windows.scene ?? []).mean;
        const t = meanThumb(m);
        return t ? sceneDistance(t, b.thumb) : NaN;
      }
      default: return chartValue(metric as ChartMetric, x, null, null);
    }
  };
  switch (agg) {
    case 'mean':
    case 'count': return of(r, seconds);
    case 'rate': return of(r, seconds) / (seconds / 60);
    case 'p50': return of(r, seconds, 0.5);
    case 'p95': return of(r, seconds, 0.95);
    case 'ratio': {
      if (!b) return NaN;
      const q = metric.startsWith('latency.') ? 0.95 : undefined;
      return of(r, seconds, q) / of(b.rollup, b.seconds, q);
    }
    default: return NaN;
  }
}

/** A resource rule's value (heap, long tasks) over the samples of its window before `now`. */
export function resourceValue(s: Stream, rule: AlertRule, now: number, baselineMs: number): number {
  const xs = s.samples.filter((x) => x.t > now - rule.window);
  if (!xs.length) return NaN;
  const spanMin = (xs.at(-1)!.t - xs[0]!.t) / 60_000;
  if (rule.metric === 'longtasks') {
    const n = xs.reduce((a, x) => a + x.longTasks, 0);
    const minutes = Math.max(spanMin, rule.window / 60_000 / 2);
    return rule.aggregation === 'rate' ? n / minutes : n;
  }
  const heap = xs.filter((x) => x.heapMB !== undefined);
  // a leak is a rising floor: the lower envelope's slope, holding over the window's second half (heap.ts);
  // the run's first baseline-length is its warm-up (caches, compiled code, WASM memory, the baseline itself)
  if (rule.aggregation === 'slope') return heapSlope(s, heap, rule.window, now, baselineMs);
  return heap.length ? heap.reduce((a, x) => a + x.heapMB!, 0) / heap.length : NaN;
}

/** The heap's growth (MB/min) over `windowMs` before `now`, the run's warm-up left out (heap.ts). */
export function heapSlope(s: Stream, heap: ResourceSample[], windowMs: number, now: number, baselineMs: number) {
  return heapGrowth(heap.filter((x) => x.t >= (s.resourcesFrom ?? -Infinity) + baselineMs).map((x) => ({ t: x.t, mb: x.heapMB! })), windowMs, now);
}

/**
 * Seconds since the stream's last frame while its page runs (resource samples within 15 s), or since the
 * run's first sample with no frame yet; NaN while no page runs.
 */
export function gapValue(s: Stream, now: number): number {
  // the page samples every 5 s while its pipeline runs; one stopped on purpose since its last sample awaits no frames
  const last = s.samples.at(-1);
  const running = last !== undefined && now - last.t < 15_000 && !(s.stoppedAt !== undefined && s.stoppedAt >= last.t);
  return running && Number.isFinite(s.lastFrameT) ? Math.max(0, now - s.lastFrameT) / 1000 : running ? (now - s.samples[0]!.t) / 1000 : NaN;
}
