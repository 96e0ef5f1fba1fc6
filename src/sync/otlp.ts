/**
 * The sync batch's rollups as OpenTelemetry metrics: an OTLP/HTTP JSON `ExportMetricsServiceRequest`
 * (`POST /v1/metrics` to any OpenTelemetry Collector). Each 1-min rollup becomes delta data points for its
 * minute: sums (frames, valid, malformed, dropped, errors by kind), explicit-bucket histograms (latency per
 * stage in seconds, detection confidence) and gauges (mean confidence, input-image statistics, page
 * resources). One resource per device × model version × tag set, with `service.name`, `service.instance.id`,
 * `device.id`, `camera_id`, `location` and `model_version`; data points carry the tags as well. Pure.
 */
import { CONFIDENCE_BINS, LATENCY_BOUNDS } from '../telemetry/histogram.ts';
import { parseTagKey, STAGES } from '../telemetry/record.ts';
import { meanOf, type Rollup } from '../telemetry/rollup.ts';
import type { Batch } from './payload.ts';
import { APP_VERSION } from '../lib/version.ts';

type AnyValue = { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean };
export interface KeyValue {
  key: string;
  value: AnyValue;
}
interface Point {
  attributes: KeyValue[];
  startTimeUnixNano: string;
  timeUnixNano: string;
}
export type NumberPoint = Point & ({ asInt: string } | { asDouble: number });
export interface HistogramPoint extends Point {
  count: string;
  sum: number;
  bucketCounts: string[];
  explicitBounds: number[];
  min?: number;
  max?: number;
}
export interface OtlpMetric {
  name: string;
  description: string;
  unit: string;
  sum?: { dataPoints: NumberPoint[]; aggregationTemporality: 1; isMonotonic: true };
  gauge?: { dataPoints: NumberPoint[] };
  histogram?: { dataPoints: HistogramPoint[]; aggregationTemporality: 1 };
}
export interface ExportMetricsServiceRequest {
  resourceMetrics: { resource: { attributes: KeyValue[] }; scopeMetrics: { scope: { name: string; version: string }; metrics: OtlpMetric[] }[] }[];
}

/** AGGREGATION_TEMPORALITY_DELTA: each point covers its own minute */
const DELTA = 1 as const;
const SCOPE = { name: 'inference-health-monitor', version: APP_VERSION };
const LATENCY_BOUNDS_S = LATENCY_BOUNDS.map((b) => b / 1000);
const CONFIDENCE_BOUNDS = Array.from({ length: CONFIDENCE_BINS - 1 }, (_, i) => (i + 1) / CONFIDENCE_BINS);
const IMAGE = { br: ['brightness', '1'], co: ['contrast', '1'], sa: ['saturation', '1'], sh: ['sharpness', '1'], sc: ['scene_distance', '1'] } as const;
const GAUGE = { heapMB: ['js_heap', 'MBy'], longTasks: ['long_tasks', '{task}'], up: ['uptime', '1'] } as const;

const str = (key: string, value: string): KeyValue => ({ key, value: { stringValue: value } });
const nanos = (ms: number) => `${BigInt(Math.round(ms)) * 1_000_000n}`;

/** A sparse histogram's counts over `n` buckets (the last takes everything past the bounds). */
function dense(h: Record<number, number>, n: number): number[] {
  const out = new Array<number>(n).fill(0);
  for (const k in h) out[Math.min(n - 1, Math.max(0, +k))]! += h[k]!;
  return out;
}

/** A histogram data point from a sparse histogram over `bounds`; the sum from bucket midpoints (rollups keep no exact sums). */
function histogramPoint(h: Record<number, number>, bounds: readonly number[], base: Point, lowest: number): HistogramPoint | undefined {
  const counts = dense(h, bounds.length + 1);
  const count = counts.reduce((a, b) => a + b, 0);
  if (!count) return undefined;
  let sum = 0, min = Infinity, max = -Infinity;
  counts.forEach((c, i) => {
    if (!c) return;
    const lo = i === 0 ? lowest : bounds[i - 1]!;
    const hi = i < bounds.length ? bounds[i]! : bounds.at(-1)! * 1.25;
    sum += c * ((lo + hi) / 2);
    min = Math.min(min, lo);
    max = Math.max(max, hi);
  });
  return { ...base, count: String(count), sum, bucketCounts: counts.map(String), explicitBounds: [...bounds], min, max };
}

/** The batch's rollups as one OTLP/HTTP JSON metrics export (empty `resourceMetrics` when it has none). */
export function toOtlp(batch: Pick<Batch, 'source' | 'rollups'>, serviceName = 'inference-health-monitor'): ExportMetricsServiceRequest {
  const device = batch.source.device_id || batch.source.id;
  const groups = new Map<string, Rollup[]>();
  for (const r of batch.rollups) {
    const key = `${r.mv}|${r.g}`;
    const list = groups.get(key);
    if (list) list.push(r);
    else groups.set(key, [r]);
  }
  const resourceMetrics: ExportMetricsServiceRequest['resourceMetrics'] = [];
  for (const rollups of groups.values()) {
    const { mv, g } = rollups[0]!;
    const tags = parseTagKey(g);
    const tagAttrs = [...Object.entries(tags).map(([k, v]) => str(k, v)), str('model_version', mv)];
    const resource = {
      attributes: [
        str('service.name', serviceName),
        str('service.instance.id', batch.source.id),
        str('device.id', device),
        str('service.version', batch.source.app_version),
        ...tagAttrs,
      ],
    };
    const sums = new Map<string, OtlpMetric>();
    const metric = (name: string, description: string, unit: string, kind: 'sum' | 'gauge' | 'histogram'): OtlpMetric => {
      let m = sums.get(name);
      if (!m) {
        m = { name, description, unit, ...(kind === 'sum' ? { sum: { dataPoints: [], aggregationTemporality: DELTA, isMonotonic: true as const } } : kind === 'gauge' ? { gauge: { dataPoints: [] } } : { histogram: { dataPoints: [], aggregationTemporality: DELTA } }) };
        sums.set(name, m);
      }
      return m;
    };
    for (const r of rollups) {
      const at = (attrs: KeyValue[] = []): Point => ({ attributes: [...tagAttrs, ...attrs], startTimeUnixNano: nanos(r.start), timeUnixNano: nanos(r.start + 60_000) });
      const count = (name: string, description: string, n: number, attrs?: KeyValue[]) => metric(name, description, '{frame}', 'sum').sum!.dataPoints.push({ ...at(attrs), asInt: String(n) });
      count('inference.frames', 'Frames the monitor judged (or failed to)', r.frames);
      count('inference.frames.valid', 'Frames with a valid output', r.valid);
      count('inference.frames.malformed', 'Frames whose output was malformed', r.malformed);
      count('inference.frames.dropped', 'Camera frames dropped (latest frame wins)', r.dropped);
      for (const [kind, n] of Object.entries(r.errors)) metric('inference.errors', 'Failed or malformed frames by kind', '{frame}', 'sum').sum!.dataPoints.push({ ...at([str('kind', kind)]), asInt: String(n) });
      for (const s of STAGES) {
        const p = histogramPoint(r.lat[s], LATENCY_BOUNDS_S, at([str('stage', s)]), 0);
        if (p) metric('inference.stage.latency', 'Latency per pipeline stage', 's', 'histogram').histogram!.dataPoints.push(p);
      }
      const conf = histogramPoint(r.conf, CONFIDENCE_BOUNDS, at(), 0);
      if (conf) metric('inference.confidence', 'Detection confidence', '1', 'histogram').histogram!.dataPoints.push(conf);
      if (r.detections) metric('inference.confidence.mean', 'Mean detection confidence', '1', 'gauge').gauge!.dataPoints.push({ ...at(), asDouble: r.scoreSum / r.detections });
      for (const [k, [name, unit]] of Object.entries(IMAGE)) {
        const v = meanOf(r.img[k]);
        if (Number.isFinite(v)) metric(`inference.image.${name}`, `Input image ${name.replace('_', ' ')}, mean over the minute`, unit, 'gauge').gauge!.dataPoints.push({ ...at(), asDouble: v });
      }
      for (const [k, [name, unit]] of Object.entries(GAUGE)) {
        const v = meanOf(r.gauge?.[k]);
        if (Number.isFinite(v)) metric(`inference.page.${name}`, `Page ${name.replace('_', ' ')}, mean over the minute`, unit, 'gauge').gauge!.dataPoints.push({ ...at(), asDouble: v });
      }
      // the reference model's runs in the minute (rollup `ag`), where one ran
      if (r.ag?.frames) {
        count('inference.reference.frames', 'Sampled frames a reference model judged', r.ag.frames);
        const objects = (name: string, description: string, n: number) => metric(name, description, '{detection}', 'sum').sum!.dataPoints.push({ ...at(), asInt: String(n) });
        objects('inference.reference.tp', 'Deployed detections the reference model confirms', r.ag.tp);
        objects('inference.reference.fp', 'Deployed detections the reference model does not have', r.ag.fp);
        objects('inference.reference.fn', "Reference model's detections the deployed model missed", r.ag.fn);
      }
      // flicker in the minute (rollup `fl`), where boxes were associated frame to frame
      if (r.fl && (r.fl.frames || r.fl.flips)) {
        const boxes = (name: string, description: string, n: number) => metric(name, description, '{detection}', 'sum').sum!.dataPoints.push({ ...at(), asInt: String(n) });
        boxes('inference.flicker.tracked', 'Boxes associated with the frame before', r.fl.tracked);
        boxes('inference.flicker.blinks', 'Tracked objects that blinked out for one or two frames and came back', r.fl.blinks);
        boxes('inference.flicker.flips', 'Tracked boxes whose class flipped from the frame before', r.fl.flips);
      }
    }
    resourceMetrics.push({ resource, scopeMetrics: [{ scope: SCOPE, metrics: [...sums.values()].filter((m) => (m.sum ?? m.gauge ?? m.histogram)!.dataPoints.length) }] });
  }
  return { resourceMetrics };
}
