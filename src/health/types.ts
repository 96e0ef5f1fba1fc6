/**
 * The health engine's data types: options, baselines, signals, alert events, resource samples, vitals;
 * and CHART_METRICS, the list the ChartMetric type is built from.
 */
import type { AgreementCounts } from '../inference/agreement.ts';
import type { Stage } from '../telemetry/record.ts';
import type { Rollup } from '../telemetry/rollup.ts';
import type { FlickerCounts } from './flicker.ts';
import type { ChangeCounts } from './frozen.ts';
import type { AlertRule, Metric } from './rules.ts';

/** Metrics the control charts (ewma, cusum) run on: one mean per window. */
export const CHART_METRICS = ['confidence', 'brightness', 'contrast', 'saturation', 'sharpness', 'scene'] as const;
export type ChartMetric = (typeof CHART_METRICS)[number];

export interface HealthOptions {
  /** how long a baseline is captured for (ms; default 5 min) */
  baselineMs?: number;
  /** the engine's window (ms; default 5 s): every rule window is a whole number of these */
  windowMs?: number;
  rules?: readonly AlertRule[];
  /** false-alarm probability the distribution tests' thresholds are calibrated for (default 0.001) */
  alpha?: number;
  /**
   * Independent observations per second of footage, for the distribution tests' sample sizes (default 1):
   * consecutive frames of a scene are near-copies, so 10 frames are not 10 independent samples.
   */
  samplesPerSecond?: number;
  /** smallest σ a control chart uses, per metric (a steady scene has almost none) */
  sigmaFloor?: Partial<Record<ChartMetric, number>>;
  /** …and at least this share of the baseline mean (default 3 %; sharpness: 10 %) */
  relativeSigmaFloor?: number;
}

/** What a baseline remembers of healthy operation; stored in IndexedDB under [mv, camera]. */
export interface Baseline {
  mv: string;
  camera: string;
  /**
   * the deployment it was learnt on: the model file and its manifest together (inference/deployment.ts); absent
   * in baselines stored before deployments were told apart, which the first deployment seen then adopts
   */
  deployment?: string;
  location?: string;
  /**
   * the camera's condition it was learnt in (conditions.ts: `colour`, `mono` — its IR night mode —, then numbered);
   * absent in baselines stored before conditions, which take their picture's mode
   */
  condition?: string;
  createdAt: number;
  from: number;
  to: number;
  source: 'auto' | 'manual';
  windowMs: number;
  frames: number;
  /** seconds of footage with frames */
  seconds: number;
  rollup: Rollup;
  /** per chart metric, the mean of each window */
  windows: Partial<Record<ChartMetric, number[]>>;
  /** mean 16×16 luma thumbnail (the scene signature), when frames had image statistics */
  thumb: number[] | null;
  /** results per second */
  fps: number;
  /**
   * frames whose picture differed from the one before, of those compared (the `changed` metric; see
   * frozen.ts); absent in baselines stored before it was kept
   */
  changes?: ChangeCounts;
  /**
   * per latency KS rule (key: wanderKey(metric, window)), the median KS distance of the baseline's windows of
   * that length from the rest of the baseline: how far the latency wanders by itself (see wander.ts); absent
   * in baselines stored before it was kept
   */
  wander?: Record<string, number>;
  /**
   * per window (`windowMs`), its frames and detections, and per class (the 20 most frequent classes) its
   * detections: the rate rules' reference for the quietest and busiest stretches (evaluate.ts); absent in
   * baselines stored before it was kept
   */
  rates?: { frames: number[]; detections: number[]; classes: Record<number, number[]> };
  /**
   * the reference model's runs while it was learnt (agreement-signal.ts): their counts summed, and per window;
   * absent where no reference ran
   */
  agreement?: BaselineAgreement;
  /**
   * its flicker (flicker.ts): the counts over the baseline, and per window (`windowMs`) the boxes tracked and the
   * flicker events (blinks + flips), the `flicker` ratio's reference (flicker-rule.ts); absent in baselines stored
   * before it was kept or learnt from records without boxes, where the ratio has no value
   */
  flicker?: FlickerCounts & { perWindow: { tracked: number[]; events: number[] } };
}

/** A window's (or a baseline's) reference-model runs (agreement-signal.ts): how many frames, and their counts summed. */
export interface AgreementSums extends AgreementCounts {
  frames: number;
}

/** A baseline's reference-model runs: the total, and per window (for the worst stretch). */
export interface BaselineAgreement extends AgreementSums {
  windows: AgreementSums[];
}

/** Which part most likely broke (health/cause.ts). */
export const CAUSES = ['camera', 'scene', 'model', 'runtime'] as const;
export type Cause = (typeof CAUSES)[number];

export type AlertState = 'inactive' | 'pending' | 'firing';

/** A rule's new value for a stream (NaN: no data) and the threshold in force. */
export interface Reading {
  value: number;
  threshold: number;
  /** decides resolution instead of `value` when given (control charts: the present sample, not the chart's memory) */
  clear?: number;
  /** per-class rules: the class the value comes from */
  classId?: number;
  /** no value because the model output no detections while frames flowed and the baseline expects some */
  silent?: boolean;
}

/** One rule's latest evaluation for one stream: the drift signals and vitals the panel shows. */
export interface Signal {
  rule: string;
  name: string;
  metric: Metric;
  aggregation: AlertRule['aggregation'];
  severity: AlertRule['severity'];
  value: number;
  /** the threshold in force (distribution tests: raised to their chance level for the sample sizes) */
  threshold: number;
  /**
   * `silent`: an output-derived signal (confidence, class mix) with no detections to read while frames flow
   * and the baseline expects some — an alarm in itself, not a lack of data
   */
  status: 'ok' | 'warn' | 'alert' | 'silent' | 'learning' | 'no-data';
  state: AlertState;
  /** per-class rules (class-confidence): the class the value comes from (the one furthest past its threshold) */
  classId?: number;
  mv: string;
  camera_id: string;
  location?: string;
  t: number;
}

/** An alert state change: the element's `alert` event detail and a row of the alert history. */
export interface AlertEvent {
  id: string;
  rule: string;
  name: string;
  severity: AlertRule['severity'];
  state: 'firing' | 'resolved';
  value: number;
  threshold: number;
  /** per-class rules: the class that fired */
  classId?: number;
  mv: string;
  camera_id: string;
  location?: string;
  /** the camera's condition it was judged in (health/conditions.ts: `colour`, `mono`, numbered), where one is known */
  condition?: string;
  /** when the state changed (epoch ms; frame time for frame-driven rules) */
  t: number;
  /** when the condition started (firing) or the alert fired (resolved) */
  since: number;
  /** which part most likely broke, from which signals moved together (health/cause.ts) */
  cause?: Cause;
  /** the evidence for the cause, one line (≤ 300 characters) */
  evidence?: string;
}

/** A periodic sample from the page running a monitor: heap, long tasks, and whether frames flowed. */
export interface ResourceSample {
  t: number;
  mv: string;
  camera_id: string;
  /** used JS heap, MB (absent where the browser does not tell) */
  heapMB?: number;
  /** long tasks since the previous sample */
  longTasks: number;
  /** results since the previous sample */
  results: number;
  /** ms since the previous sample (default 5000) */
  ms?: number;
  /** ms of them the pipeline was down (camera lost or muted, a worker being rebuilt) */
  downMs?: number;
}

/** A picture's mode (capture/image-stats.ts pictureMode): colour, or grey (an IR night mode). */
export type Mode = 'colour' | 'mono';

/** The per-stream state of a camera's conditions (health/conditions.ts; windows.ts Stream.conditions). */
export interface ConditionState {
  /** the baselines learnt, by condition id */
  known: Map<string, Baseline>;
  /** the condition in force (its baseline is the stream's `baseline`) */
  current?: string;
  /** when the condition in force began (its switch or its learning) */
  since?: number;
  /** a mode seen for `n` windows in a row that is not the current condition's */
  pending?: { mode: Mode; n: number };
  /** a new condition being learnt since `since`, and the condition it came from (back to it if the mode returns first) */
  learning?: { id: string; since: number; from?: Baseline };
  /** on the way toward a known condition of the other mode (dusk, dawn): which, and how far (0–1) */
  transition?: { toward: string; way: number };
  /** a mode a person marked a fault while it was being learnt: judged against the condition in force until the picture leaves it */
  refused?: Mode;
}

/**
 * A camera's condition changed (conditions.ts): `switched` to a known one, `learning` a new one, `learnt` it (its
 * baseline is kept), or `abandoned` its learning (the picture went back first).
 */
export interface ConditionEvent {
  type: 'condition';
  state: 'switched' | 'learning' | 'learnt' | 'abandoned';
  mv: string;
  camera: string;
  location?: string;
  /** the condition now (for `abandoned`: the one no longer learnt), and its display name */
  to: string;
  name: string;
  from?: string;
  fromName?: string;
  t: number;
  why?: string;
}

/** A stream's conditions (HealthEngine.conditions). */
export interface ConditionSummary {
  mv: string;
  camera_id: string;
  location?: string;
  /** the condition in force, when one is */
  current?: string;
  name?: string;
  /** when it began (its switch, or its learning) */
  since?: number;
  /** on the way toward another known condition (dusk, dawn): which, and how far (0–1) */
  transition?: { toward: string; name: string; way: number };
  /** a new condition being learnt: since when, and how much of the baseline's length it has seen */
  learning?: { id: string; name: string; since: number; learntMs: number; baselineMs: number };
  /** a condition accepted before its baseline was full, completed by its next windows: how much it spans so far */
  completing?: { id: string; name: string; learntMs: number; baselineMs: number };
  known: { id: string; name: string; createdAt: number; from: number; to: number }[];
}

export type HealthEvent =
  | { type: 'alert'; alert: AlertEvent }
  | { type: 'baseline'; baseline: Baseline }
  | { type: 'baseline-cleared'; mv: string; camera: string }
  | ConditionEvent;

/** One stream's vital signs (see HealthEngine.vitals). */
export interface Vitals {
  mv: string;
  camera_id: string;
  location?: string;
  t: number;
  /**
   * `comparing`: a new deployment runs against the previous deployment's baseline (`previous`) while it learns
   * its own (`progress`); it keeps its own only once no alert fires
   */
  baseline: {
    state: 'learning' | 'ready' | 'comparing'; progress: number; source?: Baseline['source']; createdAt?: number; from?: number; to?: number; frames?: number;
    deployment?: string; previous?: { mv: string; deployment?: string };
  };
  /**
   * detections per valid frame over the last minute, over the last 10 s (`recent`: what the model sees now) and
   * in the baseline (NaN without frames or baseline), with the valid frames they come from
   */
  detections: { perFrame: number; frames: number; recentPerFrame: number; recentFrames: number; baselinePerFrame: number };
  /**
   * with a reference model (`reference-model`): its version (sha256), its runs in the last minute and the last
   * one's time (ms); over the last two minutes, the frames it judged and the deployed model's F1, precision and
   * recall against it; the baseline's F1 and frames (NaN, 0 where the baseline had no reference)
   */
  reference?: { version: string; perMinute: number; runMs: number; frames: number; f1: number; precision: number; recall: number; baselineF1: number; baselineFrames: number };
  latency: Record<Stage, { p50: number; p95: number; baselineP50: number; baselineP95: number; trendPerMinute: number }>;
  reliability: { frames: number; successRate: number; errors: Record<string, number>; uptime: number; fps: number; baselineFps: number; baselineSuccessRate: number; cameraFps: number };
  confidence: {
    mean: number; baselineMean: number; p10: number; p90: number;
    /**
     * Per class, the last minute against the baseline: mean, quantiles and the 20-bin score histogram of
     * the class's detections, and PSI between the two with its chance-corrected threshold.
     */
    perClass: Record<number, {
      mean: number; baselineMean: number; count: number;
      p10: number; p50: number; p90: number; baselineP10: number; baselineP50: number; baselineP90: number;
      histogram: number[]; baselineHistogram: number[];
      psi: number; psiThreshold: number;
    }>;
  };
  /**
   * Class counts per minute (last minute) and per hour (the last hour's covered time, scaled) against the
   * baseline's rates; per class a `change` over the last 10 minutes: a class that vanished (none where ≥ 10
   * were expected), dropped below a quarter, spiked past 4×, or is new (≥ 10, none in the baseline).
   */
  consistency: {
    perMinute: Record<number, number>; baselinePerMinute: Record<number, number>;
    perHour: Record<number, number>; baselinePerHour: Record<number, number>;
    hourCoveredMinutes: number;
    classes: Record<number, { perMinute: number; baselinePerMinute: number; perHour: number; baselinePerHour: number; change: 'ok' | 'vanished' | 'drop' | 'spike' | 'new' | 'unknown' }>;
  };
  malformed: { count: number; reasons: Record<string, number> };
  /**
   * Flicker over the last minute (flicker.ts): (blinks + flips) ÷ boxes tracked, and the baseline's rate (NaN
   * without boxes, or a baseline without flicker counts)
   */
  flicker: { rate: number; baselineRate: number; tracked: number; blinks: number; flips: number };
  /** `changed`: share of frames whose picture differed from the one before (a frozen feed: 0) */
  image: { brightness: number; contrast: number; saturation: number; sharpness: number; scene: number; changed: number; baseline?: { brightness: number; contrast: number; saturation: number; sharpness: number; changed: number } };
  resources: { heapMB: number; heapSlopeMBPerMinute: number; longTasksPerMinute: number; droppedShare: number };
  signals: Signal[];
  firing: number;
}
