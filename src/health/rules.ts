/**
 * Alert rules are data: which metric, aggregated how over what window, compared with what threshold, for
 * how long before firing, how severe. Read and change them through the element (`rules()`,
 * `setRules()`); they are kept in IndexedDB.
 *
 * Metrics: `detections` (detections per frame; with `ratio`, against the baseline's rate, the threshold moved past
 * its quietest or busiest stretch of the window's length (at most 30 s) and past the Poisson chance level: see evaluate.ts),
 * `class-detections` (each class's detections per frame, `ratio` only: the class furthest past its threshold
 * decides, chance levels corrected for the number of classes tested), `confidence` (detection scores), `brightness`, `contrast`, `saturation`, `sharpness`, `scene`
 * (distance of the view from the baseline's), `latency.<stage>` (capture, queue, preprocess, inference,
 * postprocess, total), `success` (valid results / frames), `malformed`, `errors`, `fps`, `dropped`
 * (share of camera frames dropped), `classes` (class distribution), `class-confidence` (each class's
 * confidence distribution, with `psi` or `ks`: the class furthest past its threshold decides, thresholds
 * corrected for the number of classes tested), `frames` (with `gap`), `changed` (share of frames whose
 * picture — scene signature and luma statistics — differs from the frame before; with `ratio`, against the
 * baseline's share, and no value where the baseline changed too rarely to tell: see frozen.ts), `flicker`
 * (detections that blink out for a frame or two and come back, and class flips, per box tracked: see
 * flicker.ts; with `ratio`, against the baseline's flickeriest stretch of the window's length and past the
 * Poisson chance level: see flicker-rule.ts), `heap` (MB), `longtasks`, `agreement` (the deployed model's
 * disagreement with a reference model on the frames the reference judged, 1 − F1; `ratio` only, against the
 * baseline's, the threshold moved past the baseline's worst stretch and the Poisson chance level: see
 * agreement-signal.ts).
 *
 * Aggregations over the window: `mean`, `p50`, `p95`, `count`, `rate` (per minute), `ratio` (window
 * value ÷ baseline value; p95 for latency, mean otherwise), `ewma` and `cusum` (control charts on the
 * metric's window means, in σ of the baseline), `psi`, `js`, `ks` (distance of the window's
 * distribution from the baseline's; the threshold is raised to the distance's chance level for the
 * sample sizes), `slope` (Theil–Sen trend per minute), `gap` (seconds since the last frame while the
 * monitor runs).
 */
import * as v from 'valibot';
import { type Hours, hoursProblem } from './schedule.ts';

export const AGGREGATIONS = ['mean', 'p50', 'p95', 'count', 'rate', 'ratio', 'ewma', 'cusum', 'psi', 'js', 'ks', 'slope', 'gap'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];
export const COMPARATORS = ['>', '>=', '<', '<='] as const;
export type Comparator = (typeof COMPARATORS)[number];
export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const METRICS = [
  'detections', 'class-detections', 'confidence', 'brightness', 'contrast', 'saturation', 'sharpness', 'scene',
  'latency.capture', 'latency.queue', 'latency.preprocess', 'latency.inference', 'latency.postprocess', 'latency.total',
  'success', 'malformed', 'errors', 'fps', 'dropped', 'classes', 'class-confidence', 'frames', 'changed', 'flicker', 'heap', 'longtasks',
  'agreement',
] as const;
export type Metric = (typeof METRICS)[number];

export interface AlertRule {
  /** stable id (letters, digits, dashes) */
  id: string;
  /** what a person reads */
  name: string;
  metric: Metric;
  aggregation: Aggregation;
  /** window in ms (for ewma/cusum: the length of one sample window) */
  window: number;
  comparator: Comparator;
  threshold: number;
  /** the condition must hold this long (ms) before the alert fires; 0 fires at once */
  for: number;
  severity: Severity;
  /** hysteresis: a firing alert resolves only once the value no longer passes this (default: threshold) */
  clear?: number;
  enabled?: boolean;
  /**
   * when and where the rule alerts (schedule.ts): a span `{from, to, days?, cameras?, tz?}` or a list of them;
   * outside them it does not fire and a firing alert resolves (its value is still read and shown). Default: always, every camera
   */
  hours?: Hours;
}

const RuleSchema = v.object({
  id: v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9-]{0,63}$/i, 'id: letters, digits and dashes, at most 64')),
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  metric: v.picklist(METRICS),
  aggregation: v.picklist(AGGREGATIONS),
  window: v.pipe(v.number(), v.integer(), v.minValue(1000), v.maxValue(24 * 3600_000)),
  comparator: v.picklist(COMPARATORS),
  threshold: v.pipe(v.number(), v.finite()),
  for: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(24 * 3600_000)),
  severity: v.picklist(SEVERITIES),
  clear: v.optional(v.pipe(v.number(), v.finite())),
  enabled: v.optional(v.boolean()),
  // checked by schedule.ts (hoursProblem), for a message that names the span and field
  hours: v.optional(v.unknown()),
});

const CHART_METRICS: readonly Metric[] = ['confidence', 'brightness', 'contrast', 'saturation', 'sharpness', 'scene'];
const LATENCY_METRICS = METRICS.filter((m) => m.startsWith('latency.'));
/** Aggregations that apply to some metrics only… */
const APPLIES_TO: Partial<Record<Aggregation, readonly Metric[]>> = {
  ewma: CHART_METRICS,
  cusum: CHART_METRICS,
  psi: [...CHART_METRICS, ...LATENCY_METRICS, 'class-confidence'],
  ks: [...CHART_METRICS, ...LATENCY_METRICS, 'class-confidence'],
  js: ['classes'],
};
/** …and metrics that take some aggregations only (distributions without a scalar to aggregate). */
const TAKES: Partial<Record<Metric, readonly Aggregation[]>> = {
  classes: ['js'],
  'class-confidence': ['psi', 'ks'],
  changed: ['mean', 'ratio'],
  flicker: ['mean', 'ratio'],
  detections: ['mean', 'count', 'rate', 'ratio'],
  'class-detections': ['ratio'],
  agreement: ['ratio'],
};

/** Needs a baseline to mean anything. */
export const needsBaseline = (r: Pick<AlertRule, 'aggregation'>) => ['ratio', 'ewma', 'cusum', 'psi', 'js', 'ks'].includes(r.aggregation);

/** Validates rules (a clear message naming the rule and field), and that ids are unique. */
export function parseRules(input: unknown): AlertRule[] {
  if (!Array.isArray(input)) throw new TypeError('rules must be an array');
  const out: AlertRule[] = [];
  const ids = new Set<string>();
  input.forEach((r, i) => {
    const res = v.safeParse(RuleSchema, r);
    if (!res.success) {
      const issue = res.issues[0];
      const path = issue.path?.map((p) => String(p.key)).join('.') ?? '';
      throw new TypeError(`rule ${i} (${(r as { id?: unknown })?.id ?? '?'}): ${path ? `${path}: ` : ''}${issue.message}`);
    }
    if (res.output.hours !== undefined) {
      const problem = hoursProblem(res.output.hours);
      if (problem) throw new TypeError(`rule ${i} (${res.output.id}): hours: ${problem}`);
    }
    if (ids.has(res.output.id)) throw new TypeError(`rule ${i}: duplicate id '${res.output.id}'`);
    const { metric, aggregation } = res.output;
    const only = APPLIES_TO[aggregation];
    if (only && !only.includes(metric)) throw new TypeError(`rule ${i} (${res.output.id}): ${aggregation} does not apply to ${metric} (only to ${only.join(', ')})`);
    const takes = TAKES[metric];
    if (takes && !takes.includes(aggregation)) throw new TypeError(`rule ${i} (${res.output.id}): ${metric} takes the ${takes.join(' or ')} aggregation`);
    ids.add(res.output.id);
    out.push(res.output as AlertRule);
  });
  return out;
}

const S = 1000, MIN = 60_000;

/** The defaults: one or more rules for every vital sign and drift signal. */
export const DEFAULT_RULES: readonly AlertRule[] = Object.freeze([
  // reliability
  { id: 'frames-stalled', name: 'No frames are coming through', metric: 'frames', aggregation: 'gap', window: 10 * S, comparator: '>', threshold: 10, clear: 2, for: 0, severity: 'critical' },
  { id: 'success-rate', name: 'Success rate below 95 %', metric: 'success', aggregation: 'mean', window: MIN, comparator: '<', threshold: 0.95, clear: 0.98, for: 30 * S, severity: 'critical' },
  { id: 'malformed-output', name: 'Malformed model output', metric: 'malformed', aggregation: 'count', window: MIN, comparator: '>', threshold: 0, for: 0, severity: 'critical' },
  { id: 'frame-frozen', name: 'The picture has stopped changing (frozen feed)', metric: 'changed', aggregation: 'ratio', window: 10 * S, comparator: '<', threshold: 0.25, clear: 0.5, for: 5 * S, severity: 'critical' },
  { id: 'fps-drop', name: 'Frame rate below half the baseline', metric: 'fps', aggregation: 'ratio', window: MIN, comparator: '<', threshold: 0.5, clear: 0.7, for: MIN, severity: 'warning' },
  // does the model still see: the detection rate against the baseline's
  { id: 'detections-collapse', name: 'The model has stopped seeing: detections collapsed', metric: 'detections', aggregation: 'ratio', window: 10 * S, comparator: '<', threshold: 0.1, clear: 0.3, for: 0, severity: 'critical' },
  { id: 'detections-drop', name: 'Detections per frame below half the baseline', metric: 'detections', aggregation: 'ratio', window: 2 * MIN, comparator: '<', threshold: 0.5, clear: 0.65, for: MIN, severity: 'warning' },
  { id: 'detections-surge', name: 'Detections per frame above twice the baseline', metric: 'detections', aggregation: 'ratio', window: 2 * MIN, comparator: '>', threshold: 2, clear: 1.6, for: MIN, severity: 'warning' },
  { id: 'class-detections-drop', name: "A class's detections below a quarter of the baseline", metric: 'class-detections', aggregation: 'ratio', window: 2 * MIN, comparator: '<', threshold: 0.25, clear: 0.4, for: MIN, severity: 'warning' },
  // is the model still right: its disagreement with a reference model (reference-model) against the baseline's
  { id: 'reference-disagreement', name: 'The model disagrees with the reference model more than it did', metric: 'agreement', aggregation: 'ratio', window: 2 * MIN, comparator: '>', threshold: 1.5, clear: 1.25, for: 0, severity: 'warning' },
  // detections that blink out and come back, classes that flip: a 2-min window holds enough boxes at the kiosk's
  // 2–4 frames a second for a doubling to pass the chance level; `for` 1 min outlasts a crowd passing by
  { id: 'flicker-rise', name: 'Detections flicker: twice the baseline', metric: 'flicker', aggregation: 'ratio', window: 2 * MIN, comparator: '>', threshold: 2, clear: 1.5, for: MIN, severity: 'warning' },
  // latency
  { id: 'latency-creep', name: 'Inference p95 latency 1.5× the baseline', metric: 'latency.inference', aggregation: 'ratio', window: MIN, comparator: '>', threshold: 1.5, clear: 1.3, for: MIN, severity: 'warning' },
  { id: 'latency-total-creep', name: 'End-to-end p95 latency 1.5× the baseline', metric: 'latency.total', aggregation: 'ratio', window: MIN, comparator: '>', threshold: 1.5, clear: 1.3, for: MIN, severity: 'warning' },
  { id: 'latency-shift', name: 'Inference latency distribution shifted', metric: 'latency.inference', aggregation: 'ks', window: MIN, comparator: '>', threshold: 0.35, for: 5 * MIN, severity: 'info' },
  // confidence
  { id: 'confidence-ewma', name: 'Mean confidence drifting (EWMA)', metric: 'confidence', aggregation: 'ewma', window: 10 * S, comparator: '>=', threshold: 3, clear: 2, for: 10 * S, severity: 'warning' },
  { id: 'confidence-cusum', name: 'Mean confidence shifted (CUSUM)', metric: 'confidence', aggregation: 'cusum', window: 10 * S, comparator: '>=', threshold: 5, clear: 2.5, for: 0, severity: 'warning' },
  { id: 'confidence-psi', name: 'Confidence distribution shifted (PSI)', metric: 'confidence', aggregation: 'psi', window: MIN, comparator: '>', threshold: 0.25, clear: 0.2, for: 30 * S, severity: 'warning' },
  { id: 'confidence-ks', name: 'Confidence distribution shifted (KS)', metric: 'confidence', aggregation: 'ks', window: MIN, comparator: '>', threshold: 0.2, for: 30 * S, severity: 'info' },
  { id: 'class-confidence-psi', name: "A class's confidence distribution shifted (PSI)", metric: 'class-confidence', aggregation: 'psi', window: 2 * MIN, comparator: '>', threshold: 0.25, clear: 0.2, for: 30 * S, severity: 'warning' },
  // consistency of output
  { id: 'classes-minute', name: 'Class mix changed (last minute)', metric: 'classes', aggregation: 'js', window: MIN, comparator: '>', threshold: 0.2, clear: 0.15, for: MIN, severity: 'warning' },
  { id: 'classes-hour', name: 'Class mix changed (last hour)', metric: 'classes', aggregation: 'js', window: 60 * MIN, comparator: '>', threshold: 0.1, clear: 0.08, for: 5 * MIN, severity: 'info' },
  // the input image
  { id: 'brightness-ewma', name: 'Lighting changed (EWMA)', metric: 'brightness', aggregation: 'ewma', window: 10 * S, comparator: '>=', threshold: 3, clear: 2, for: 10 * S, severity: 'warning' },
  { id: 'brightness-cusum', name: 'Lighting shifted (CUSUM)', metric: 'brightness', aggregation: 'cusum', window: 10 * S, comparator: '>=', threshold: 5, clear: 2.5, for: 0, severity: 'warning' },
  { id: 'sharpness-ewma', name: 'Image sharpness changed: lens dirty or out of focus? (EWMA)', metric: 'sharpness', aggregation: 'ewma', window: 10 * S, comparator: '>=', threshold: 3, clear: 2, for: 10 * S, severity: 'warning' },
  { id: 'sharpness-cusum', name: 'Image sharpness shifted (CUSUM)', metric: 'sharpness', aggregation: 'cusum', window: 10 * S, comparator: '>=', threshold: 5, clear: 2.5, for: 0, severity: 'warning' },
  { id: 'scene-ewma', name: 'Camera view changed: bumped or blocked? (EWMA)', metric: 'scene', aggregation: 'ewma', window: 10 * S, comparator: '>=', threshold: 3, clear: 2, for: 10 * S, severity: 'warning' },
  { id: 'scene-cusum', name: 'Camera view shifted (CUSUM)', metric: 'scene', aggregation: 'cusum', window: 10 * S, comparator: '>=', threshold: 5, clear: 2.5, for: 0, severity: 'warning' },
  // resources
  { id: 'memory-staircase', name: 'JS heap keeps growing (leak?)', metric: 'heap', aggregation: 'slope', window: 10 * MIN, comparator: '>', threshold: 1, clear: 0.3, for: 5 * MIN, severity: 'warning' },
  { id: 'long-tasks', name: 'Main thread blocked by long tasks', metric: 'longtasks', aggregation: 'rate', window: MIN, comparator: '>', threshold: 30, clear: 10, for: MIN, severity: 'info' },
] satisfies AlertRule[]);

/** value passes `threshold` under `cmp` */
export function passes(value: number, cmp: Comparator, threshold: number): boolean {
  switch (cmp) {
    case '>': return value > threshold;
    case '>=': return value >= threshold;
    case '<': return value < threshold;
    case '<=': return value <= threshold;
  }
}
