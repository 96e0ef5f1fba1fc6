/**
 * The health engine's windows: per stream, the open window, the recent ones and merged minutes, kept for as
 * long as the baseline and the rules need them, and what is read from them (chart values, spans, coverage).
 */
import { parseTagKey } from '../telemetry/record.ts';
import { emptyRollup, meanOf, mergeRollup, type Rollup } from '../telemetry/rollup.ts';
import { addFlicker, type FlickerCounts, type FlickerTracker } from './flicker.ts';
import { addChanges, type ChangeCounts, type Picture } from './frozen.ts';
import { addSums, type AgreementSums } from './agreement-signal.ts';
import { sceneDistance, THUMB } from '../capture/image-stats.ts';
import type { AlertRule } from './rules.ts';
import type { Cusum, Ewma } from './stats.ts';
import type { AlertState, Baseline, Cause, ChartMetric, ConditionState, Mode, ResourceSample, Signal } from './types.ts';

const IMAGE_KEY: Record<Exclude<ChartMetric, 'confidence' | 'scene'>, string> = { brightness: 'br', contrast: 'co', saturation: 'sa', sharpness: 'sh' };

/** A window of frames (or several merged): their rollup, summed thumbnails and picture changes. */
export interface Win {
  start: number;
  r: Rollup;
  thumb: Float64Array | null;
  thumbN: number;
  /** frames compared with the one before, and how many differed (frozen.ts) */
  ch?: ChangeCounts;
  /** boxes tracked, blinks and class flips (flicker.ts) */
  fl?: FlickerCounts;
  /** engine windows merged into this one (minute windows); 1 when absent */
  n?: number;
  /** the reference model's runs on this window's frames, summed (agreement-signal.ts) */
  ag?: AgreementSums;
}

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
/** rule windows up to this long use the 5-s windows; longer ones whole minutes */
const LONG = 15 * MINUTE;

/** One stream's state: its windows, baseline, charts, alerts, latest signals and resource samples. */
export interface Stream {
  key: string;
  mv: string;
  camera: string;
  location?: string;
  baseline?: Baseline;
  capture: Win[];
  cur?: Win;
  recent: Win[];
  /** whole minutes of windows merged (for rule windows and vitals longer than the recent windows keep) */
  minutes: Win[];
  /** minutes before this are in `minutes` */
  minutesTo: number;
  charts: Map<string, Ewma | Cusum>;
  alerts: Map<string, { state: AlertState; since: number; cause?: Cause; evidence?: string }>;
  signals: Map<string, Signal>;
  lastFrameT: number;
  /** per source (monitor instance), its latest frame's picture, to tell whether the next one changed (frozen.ts) */
  pictures: Map<string, Picture>;
  /** per source, the association of its boxes (flicker.ts) and its latest frame's time */
  trackers: Map<string, { tracker: FlickerTracker; t: number }>;
  samples: ResourceSample[];
  /** the first resource sample of the run (the heap's warm-up is left out of memory-staircase) */
  resourcesFrom?: number;
  /** the deployment of the stream's latest frame (inference/deployment.ts), when its records say */
  deployment?: string;
  /**
   * a new deployment running against the previous deployment's baseline (`baseline`) while it captures its own,
   * which it keeps only once no alert fires
   */
  comparing?: { mv: string; deployment?: string; since: number };
  /**
   * a condition accepted by a person before its baseline was full (engine.ts acceptCondition): judged at once against
   * what had been seen, its baseline goes on taking the condition's windows until it is as long as any other — or
   * until the camera leaves the condition or an alert fires (then the accepted one stays)
   */
  completing?: string;
  /** the baseline's capture takes windows that start from here on (the deployment's first whole window) */
  captureFrom?: number;
  /** the camera's latest fault to end: the rule whose alert resolved last, and when (cause.ts: windows that still hold it) */
  cameraFault?: { rule: string; until: number };
  /** when the page stopped this stream's pipeline on purpose (stop(), another model): no frames are awaited until its next resource sample */
  stoppedAt?: number;
  /** the picture mode of its latest frame with image statistics (conditions.ts: colour or mono) */
  mode?: Mode;
  /** windows before this are another condition's (conditions.ts): the rules read none of them */
  from?: number;
  /** the camera's conditions: their baselines, the one in force, a switch pending or a new one being learnt (conditions.ts) */
  conditions: ConditionState;
  /** the reference model's runs: when each came (the sampling rate), its version, what the last one took (ms) */
  reference?: { times: number[]; version: string; ms: number };
}

/** The condition a stream is recorded under now: the one being learnt, else the one in force, else its picture's `mode` (before any baseline). */
export const recordedCondition = (s: Pick<Stream, 'conditions' | 'mode'>, mode = s.mode): string | undefined => s.conditions.learning?.id ?? s.conditions.current ?? mode;

const tagsCache = new Map<string, { camera: string; location?: string }>();
/** The camera_id and location of a record's tag key (cached). */
export function tagsOf(g: string) {
  let t = tagsCache.get(g);
  if (!t) {
    const p = parseTagKey(g);
    t = { camera: p.camera_id ?? '', ...(p.location ? { location: p.location } : {}) };
    if (tagsCache.size > 1000) tagsCache.clear();
    tagsCache.set(g, t);
  }
  return t;
}

/** A window's (or merged windows') mean of a chart metric; `ref` is the baseline thumbnail for `scene`. */
export function chartValue(metric: ChartMetric, r: Rollup, thumb: Float64Array | number[] | null, ref: number[] | null | undefined): number {
  if (metric === 'confidence') return r.detections ? r.scoreSum / r.detections : NaN;
  if (metric === 'scene') return thumb && ref ? sceneDistance(thumb, ref) : NaN;
  return meanOf(r.img[IMAGE_KEY[metric]]);
}

/** The mean thumbnail of a window's frames (null without thumbnails). */
export const meanThumb = (w: Pick<Win, 'thumb' | 'thumbN'>) => (w.thumb && w.thumbN ? Array.from(w.thumb, (v) => v / w.thumbN) : null);

/** Windows merged into one starting at `start` (rollups, picture changes and thumbnails summed). */
export function mergeWins(ws: Win[], start: number): Win {
  const out: Win = { start, r: emptyRollup('10s', start, ws[0]?.r.mv ?? '', '*'), thumb: null, thumbN: 0 };
  for (const w of ws) {
    mergeRollup(out.r, w.r);
    out.ch = addChanges(out.ch, w.ch);
    out.ag = addSums(out.ag, w.ag);
    out.fl = addFlicker(out.fl, w.fl);
    if (w.thumb) {
      out.thumb ??= new Float64Array(THUMB * THUMB);
      for (let i = 0; i < w.thumb.length; i++) out.thumb[i]! += w.thumb[i]!;
      out.thumbN += w.thumbN;
    }
  }
  return out;
}

/** 5-s windows are kept for the baseline's length and the rules up to LONG; minutes for the rest (≥ 1 h). */
export function keepWindowsFor(baselineMs: number, rules: readonly AlertRule[], windowMs: number) {
  return Math.max(baselineMs, ...rules.map((r) => r.window).filter((w) => w <= LONG)) + windowMs;
}

/** Merged minutes are kept for the longest rule window, and at least an hour. */
export function keepMinutesFor(rules: readonly AlertRule[]) {
  return Math.max(HOUR, ...rules.map((r) => r.window)) + MINUTE;
}

/**
 * Closes the stream's open window: it joins the recent windows (kept `keepMs`), and every minute that has
 * ended is merged into `minutes` (kept `keepMinutesMs`). Returns the window closed.
 */
export function closeWindow(s: Stream, windowMs: number, keepMs: number, keepMinutesMs: number): Win {
  const w = s.cur!;
  s.cur = undefined;
  s.recent.push(w);
  const end = w.start + windowMs;
  while (s.recent.length && s.recent[0]!.start < end - keepMs) s.recent.shift();
  // every minute that has ended: its windows merged
  const ended = Math.floor(end / MINUTE) * MINUTE;
  if (ended > s.minutesTo) {
    const byMinute = new Map<number, Win[]>();
    for (const x of s.recent) {
      if (x.start < s.minutesTo || x.start >= ended) continue;
      const m = Math.floor(x.start / MINUTE) * MINUTE;
      const ws = byMinute.get(m);
      if (ws) ws.push(x);
      else byMinute.set(m, [x]);
    }
    for (const [m, ws] of byMinute) s.minutes.push({ ...mergeWins(ws, m), n: ws.length });
    s.minutesTo = ended;
    while (s.minutes.length && s.minutes[0]!.start < end - keepMinutesMs) s.minutes.shift();
  }
  return w;
}

/**
 * The windows inside [end − window, end): 5-s windows, or for long windows the merged minutes and the
 * 5-s windows after them.
 */
export function span(s: Stream, window: number, end: number) {
  const from = Math.max(end - window, s.from ?? -Infinity);
  if (window <= LONG) return s.recent.filter((w) => w.start >= from && w.start < end);
  return [
    ...s.minutes.filter((w) => w.start >= from && w.start < s.minutesTo),
    ...s.recent.filter((w) => w.start >= Math.max(s.minutesTo, from) && w.start < end),
  ];
}

/** How much of a span frames covered (ms), counting the 5-s windows merged into minutes. */
export function covered(wins: Win[], windowMs: number) {
  return wins.reduce((a, w) => a + (w.n ?? 1), 0) * windowMs;
}

/** The windows of the last `ms` before `end`, with the open one. */
export function lastWins(s: Stream, ms: number, end: number) {
  return [...span(s, ms, end), ...(s.cur && s.cur.start >= end - ms ? [s.cur] : [])];
}
