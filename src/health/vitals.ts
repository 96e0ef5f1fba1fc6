/** Vitals: one stream's vital signs, live — the last minute against the baseline, with its signals (see HealthEngine.vitals). */
import { CONFIDENCE_BINS, confidenceQuantile, type Hist, latencyQuantile } from '../telemetry/histogram.ts';
import { STAGES } from '../telemetry/record.ts';
import { meanOf, type Rollup } from '../telemetry/rollup.ts';
import { classTests, heapSlope, type Settings } from './evaluate.ts';
import { flickerRate } from './flicker.ts';
import { changedShare } from './frozen.ts';
import { disagreement } from './agreement-signal.ts';
import { theilSen } from './stats.ts';
import type { Signal, Vitals } from './types.ts';
import { uptimeOf } from './uptime.ts';
import { chartValue, covered, HOUR, lastWins, meanThumb, mergeWins, MINUTE, type Stream } from './windows.ts';

/** How far the stream's own baseline capture has come (0–1). */
const progress = (s: Stream, cfg: Settings) => (s.capture.length ? Math.min(1, (s.capture.length * cfg.windowMs) / cfg.baselineMs) : 0);

/** Error kinds (see errorKind) that are malformed outputs rather than failed runs. */
const MALFORMED_KINDS = ['non-finite', 'wrong-shape', 'empty-output', 'box-out-of-frame', 'missing-output', 'other'];

/**
 * One stream's vital signs at `now` (default: the end of its latest window): the last minute against the
 * baseline, the last hour's and 10 minutes' class counts, the resource samples; `signals` are its rules'.
 */
export function streamVitals(s: Stream, cfg: Settings, signals: Signal[], now?: number): Vitals {
  const wins = [...s.recent, ...(s.cur ? [s.cur] : [])];
  const end = now ?? (wins.length ? wins.at(-1)!.start + cfg.windowMs : 0);
  const last = wins.filter((w) => w.start >= end - 60_000 - cfg.windowMs);
  const m = mergeWins(last, end - 60_000);
  const recent = mergeWins(wins.filter((w) => w.start >= end - 10_000 - cfg.windowMs), end - 10_000).r;
  const r = m.r;
  const b = s.baseline;
  const seconds = Math.max(1, (last.length * cfg.windowMs) / 1000);
  const per = (x: Rollup, secs: number) => {
    const out: Record<number, number> = {};
    for (const [k, n] of Object.entries(x.classes)) out[+k] = n / (secs / 60);
    return out;
  };
  const latency = Object.fromEntries(
    STAGES.map((st) => {
      const ws = s.recent.slice(-120);
      const trend = theilSen(ws.map((w) => w.start / 60_000), ws.map((w) => latencyQuantile(w.r.lat[st], 0.5))); // ms per minute
      return [st, { p50: latencyQuantile(r.lat[st], 0.5), p95: latencyQuantile(r.lat[st], 0.95), baselineP50: b ? latencyQuantile(b.rollup.lat[st], 0.5) : NaN, baselineP95: b ? latencyQuantile(b.rollup.lat[st], 0.95) : NaN, trendPerMinute: trend }];
    }),
  ) as Vitals['latency'];
  const img = (x: Rollup, k: string) => meanOf(x.img[k]);
  const samples = s.samples.filter((x) => x.t > end - 10 * 60_000);
  const heap = samples.filter((x) => x.heapMB !== undefined);
  const perClass: Vitals['confidence']['perClass'] = {};
  const tests = new Map(b ? classTests('psi', r, seconds, b, 0.25, cfg).map((x) => [x.classId, x]) : []);
  const q = (h: Hist | undefined, p: number) => (h ? confidenceQuantile(h, p) : NaN);
  for (const k of new Set([...Object.keys(r.classes), ...Object.keys(b?.rollup.classes ?? {})].map(Number))) {
    const bc = b?.rollup.cc?.[k];
    perClass[k] = {
      mean: r.classes[k] ? r.classScore[k]! / r.classes[k]! : NaN,
      baselineMean: b?.rollup.classes[k] ? b.rollup.classScore[k]! / b.rollup.classes[k]! : NaN,
      count: r.classes[k] ?? 0,
      p10: q(r.cc?.[k], 0.1), p50: q(r.cc?.[k], 0.5), p90: q(r.cc?.[k], 0.9),
      baselineP10: q(bc, 0.1), baselineP50: q(bc, 0.5), baselineP90: q(bc, 0.9),
      histogram: Array.from({ length: CONFIDENCE_BINS }, (_, i) => r.cc?.[k]?.[i] ?? 0),
      baselineHistogram: Array.from({ length: CONFIDENCE_BINS }, (_, i) => bc?.[i] ?? 0),
      psi: tests.get(k)?.value ?? NaN,
      psiThreshold: tests.get(k)?.threshold ?? NaN,
    };
  }
  // the last hour (whole minutes and the current one)
  const hourWins = lastWins(s, HOUR, end);
  const hour = mergeWins(hourWins, end - HOUR).r;
  const hourSecs = covered(hourWins, cfg.windowMs) / 1000;
  const perMinute = per(r, seconds);
  const baselinePerMinute = b ? per(b.rollup, b.seconds) : {};
  const classes: Vitals['consistency']['classes'] = {};
  // changes are judged over the last 10 minutes: long enough not to flag a quiet minute
  const tenWins = lastWins(s, 10 * MINUTE, end);
  const ten = mergeWins(tenWins, end - 10 * MINUTE).r;
  const tenSecs = covered(tenWins, cfg.windowMs) / 1000;
  for (const k of new Set([...Object.keys(hour.classes), ...Object.keys(r.classes), ...Object.keys(baselinePerMinute)].map(Number))) {
    const base = (baselinePerMinute[k] ?? 0) * 60;
    const got = hourSecs ? ((hour.classes[k] ?? 0) / hourSecs) * 3600 : NaN;
    const expected = (base * tenSecs) / 3600; // detections the last 10 minutes would have had at the baseline's rate
    const observed = ten.classes[k] ?? 0;
    classes[k] = {
      perMinute: perMinute[k] ?? 0,
      baselinePerMinute: baselinePerMinute[k] ?? 0,
      perHour: got,
      baselinePerHour: b ? base : NaN,
      change: !b || !tenSecs ? 'unknown'
        : base === 0 ? (observed >= 10 ? 'new' : 'ok')
        : expected >= 10 && observed === 0 ? 'vanished'
        : expected >= 10 && observed < expected / 4 ? 'drop'
        : observed >= 10 && observed > expected * 4 ? 'spike'
        : 'ok',
    };
  }
  return {
    mv: s.mv,
    camera_id: s.camera,
    ...(s.location ? { location: s.location } : {}),
    t: end,
    baseline: b && s.comparing
      ? { state: 'comparing', source: b.source, createdAt: b.createdAt, from: b.from, to: b.to, frames: b.frames, progress: progress(s, cfg), ...(s.deployment ? { deployment: s.deployment } : {}), previous: { mv: s.comparing.mv, ...(s.comparing.deployment ? { deployment: s.comparing.deployment } : {}) } }
      : b
        ? { state: 'ready', source: b.source, createdAt: b.createdAt, from: b.from, to: b.to, frames: b.frames, progress: 1, ...(b.deployment ? { deployment: b.deployment } : {}) }
        : { state: 'learning', progress: progress(s, cfg), ...(s.deployment ? { deployment: s.deployment } : {}) },
    detections: {
      perFrame: r.valid ? r.detections / r.valid : NaN, frames: r.valid,
      recentPerFrame: recent.valid ? recent.detections / recent.valid : NaN, recentFrames: recent.valid,
      baselinePerFrame: b?.rollup.valid ? b.rollup.detections / b.rollup.valid : NaN,
    },
    ...(s.reference ? { reference: referenceVitals(s, end) } : {}),
    latency,
    reliability: {
      frames: r.frames,
      successRate: r.frames ? r.valid / r.frames : NaN,
      errors: r.errors,
      uptime: uptimeOf(samples),
      fps: r.frames / seconds,
      baselineFps: b?.fps ?? NaN,
      baselineSuccessRate: b?.rollup.frames ? b.rollup.valid / b.rollup.frames : NaN,
      cameraFps: (r.frames + r.dropped) / seconds,
    },
    confidence: {
      mean: r.detections ? r.scoreSum / r.detections : NaN,
      baselineMean: b?.rollup.detections ? b.rollup.scoreSum / b.rollup.detections : NaN,
      p10: confidenceQuantile(r.conf, 0.1),
      p90: confidenceQuantile(r.conf, 0.9),
      perClass,
    },
    consistency: {
      perMinute, baselinePerMinute,
      perHour: hourSecs ? per(hour, hourSecs / 60) : {},
      baselinePerHour: Object.fromEntries(Object.entries(baselinePerMinute).map(([k, v]) => [k, v * 60])),
      hourCoveredMinutes: hourSecs / 60,
      classes,
    },
    malformed: { count: r.malformed, reasons: Object.fromEntries(Object.entries(r.errors).filter(([k]) => MALFORMED_KINDS.includes(k))) },
    flicker: { rate: flickerRate(m.fl), baselineRate: flickerRate(b?.flicker), tracked: m.fl?.tracked ?? 0, blinks: m.fl?.blinks ?? 0, flips: m.fl?.flips ?? 0 },
    image: {
      brightness: img(r, 'br'), contrast: img(r, 'co'), saturation: img(r, 'sa'), sharpness: img(r, 'sh'),
      scene: b?.thumb ? chartValue('scene', r, meanThumb(m), b.thumb) : NaN,
      changed: changedShare(m.ch),
      baseline: b ? { brightness: img(b.rollup, 'br'), contrast: img(b.rollup, 'co'), saturation: img(b.rollup, 'sa'), sharpness: img(b.rollup, 'sh'), changed: changedShare(b.changes) } : undefined,
    },
    resources: {
      heapMB: heap.at(-1)?.heapMB ?? NaN,
      heapSlopeMBPerMinute: heapSlope(s, heap, 10 * 60_000, heap.at(-1)?.t ?? end, cfg.baselineMs),
      longTasksPerMinute: samples.length >= 2 ? samples.reduce((a, x) => a + x.longTasks, 0) / Math.max(1 / 6, (samples.at(-1)!.t - samples[0]!.t) / 60_000) : NaN,
      droppedShare: r.frames + r.dropped ? r.dropped / (r.frames + r.dropped) : NaN,
    },
    signals,
    firing: signals.filter((x) => x.state === 'firing').length,
  };
}

/**
 * The reference model's runs over the last two minutes (its rule's window): how often it ran, and how far the
 * deployed model agreed with it (F1, precision, recall), against the baseline's agreement.
 */
function referenceVitals(s: Stream, end: number): NonNullable<Vitals['reference']> {
  const ag = mergeWins(lastWins(s, 2 * MINUTE, end), end - 2 * MINUTE).ag;
  const ref = s.reference!;
  const ba = s.baseline?.agreement;
  const p = (c: { tp: number; fp: number } | undefined) => (c && c.tp + c.fp ? c.tp / (c.tp + c.fp) : NaN);
  const rc = (c: { tp: number; fn: number } | undefined) => (c && c.tp + c.fn ? c.tp / (c.tp + c.fn) : NaN);
  return {
    version: ref.version,
    perMinute: ref.times.filter((t) => t > end - MINUTE).length,
    runMs: ref.ms,
    frames: ag?.frames ?? 0,
    f1: ag ? 1 - disagreement(ag) : NaN,
    precision: p(ag),
    recall: rc(ag),
    baselineF1: ba ? 1 - disagreement(ba) : NaN,
    baselineFrames: ba?.frames ?? 0,
  };
}
