/** One frame's record (FrameRecord: compact keys), its tags, and how a result or a failure becomes one. */
import type { FrameFailure, InferenceResult } from '../inference/protocol.ts';
import { confidenceBin } from './histogram.ts';
import { shortVersion } from '../lib/short-version.ts';

/** Stages recorded per frame, in this order in `FrameRecord.l`. */
export const STAGES = ['capture', 'queue', 'preprocess', 'inference', 'postprocess', 'total'] as const;
export type Stage = (typeof STAGES)[number];

/** Metadata tags: camera_id, location, device_id and free key/values set on the element. */
export type Tags = Record<string, string>;

/**
 * One frame's health, compact (short keys: IndexedDB stores every key of every record).
 * `k` per class: [classId, count, maxScore, meanScore].
 */
export interface FrameRecord {
  /** inferenceId (UUIDv7: sorts by time) */
  id: string;
  /** epoch ms */
  t: number;
  /** source id: one per monitor instance */
  src: string;
  /** model version: the ONNX sha256, short form (12 hex) — the full hash lives in the model's rollups */
  mv: string;
  /** backend: 'webgpu' | 'wasm' */
  b: string;
  /** stage latencies (ms, 0.01 precision) in STAGES order; -1 where unknown */
  l: number[];
  /** frames dropped before this one */
  d: number;
  /** per class: [classId, count, maxScore, meanScore] */
  k: [number, number, number, number][];
  /** frame score stats over detections: [mean, min, max], or [] when nothing was detected */
  s: number[];
  /**
   * confidence bin (see histogram.ts) of each detection, grouped by class in `k` order (each class's
   * `count` bins, ascending), so per-class distributions come from the same bytes; absent when nothing was detected
   */
  h?: number[];
  /** malformed reason */
  m?: string;
  /** error kind when the frame failed */
  e?: string;
  /** input-image statistics when present: br brightness, co contrast, sa saturation, sh sharpness, sc scene distance to the baseline */
  i?: Record<string, number>;
  /** the frame's 16×16 luma thumbnail: read by the health engine, never stored */
  th?: Uint8Array;
  /** tag combination key (see tagKey) */
  g: string;
  /** the deployment (model file and manifest together, 12 hex: inference/deployment.ts), when the worker says */
  dp?: string;
  /**
   * the frame's flicker (health/flicker.ts, set by the health engine as it associates the boxes with the frame
   * before): [frames counted (0 or 1: 1 once there is a frame two back), boxes tracked, blinks, class flips], as
   * the engine's windows add them; absent where all are 0 or the frame was not associated (the first after a gap,
   * a failed or malformed frame, a record without boxes)
   */
  fk?: [number, number, number, number];
}

const r2 = (v: number) => Math.round(v * 100) / 100;
const r3 = (v: number) => Math.round(v * 1000) / 1000;

/** A stable key for a tag combination: sorted `k=v` pairs joined by '&' (values URI-encoded). */
export function tagKey(tags: Tags): string {
  return Object.keys(tags)
    .filter((k) => tags[k] !== undefined && tags[k] !== '')
    .sort()
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(tags[k]!)}`)
    .join('&');
}

/** `g` (a tag key) with the tag `name` set to `value` (replacing any such tag), still canonical; no value: `g` as it is. */
export const withTag = (g: string, name: string, value: string | undefined): string => (value ? tagKey({ ...parseTagKey(g), [name]: value }) : g);

/** A URI-decoded key or value; one that does not decode (a malformed escape) is kept as it was, so reading stored data never throws. */
function decodePart(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The tags of a tag key (see tagKey). Never throws: a part that does not decode is read as it stands. */
export function parseTagKey(key: string): Tags {
  const t: Tags = {};
  for (const pair of key.split('&').filter(Boolean)) {
    const [k, v] = pair.split('=');
    t[decodePart(k!)] = decodePart(v ?? '');
  }
  return t;
}

/** Whether `key` is a tag key as tagKey writes it (sorted `k=v` pairs, URI-encoded): it reads back as itself. */
export const isTagKey = (key: string): boolean => {
  if (key === '') return true; // no tags
  try {
    const t: Tags = {};
    for (const pair of key.split('&')) {
      const [k, v, ...rest] = pair.split('=');
      if (rest.length || v === undefined) return false;
      t[decodeURIComponent(k!)] = decodeURIComponent(v);
    }
    return tagKey(t) === key;
  } catch {
    return false;
  }
};

/** An inference result → its frame record. */
export function toFrameRecord(r: InferenceResult, src: string, tags: Tags): FrameRecord {
  const perClass = new Map<number, [number, number, number]>(); // count, max, sum
  let sum = 0, min = Infinity, max = -Infinity;
  for (const d of r.detections) {
    const c = perClass.get(d.classId) ?? [0, 0, 0];
    c[0]++;
    c[1] = Math.max(c[1], d.score);
    c[2] += d.score;
    perClass.set(d.classId, c);
    sum += d.score;
    min = Math.min(min, d.score);
    max = Math.max(max, d.score);
  }
  const n = r.detections.length;
  const rec: FrameRecord = {
    id: r.inferenceId,
    t: Math.round(r.timestamp),
    src,
    mv: shortVersion(r.modelVersion),
    b: r.backend,
    l: STAGES.map((s) => (typeof r.timings[s] === 'number' ? r2(r.timings[s]!) : -1)),
    d: r.droppedFrames,
    k: [...perClass].sort((a, b) => a[0] - b[0]).map(([id, [c, mx, su]]) => [id, c, r3(mx), r3(su / c)]),
    s: n ? [r3(sum / n), r3(min), r3(max)] : [],
    g: tagKey(tags),
  };
  // sort by (class, bin) in one pass: bins are < 64, so classId·64 + bin orders by class first
  if (n) rec.h = r.detections.map((d) => d.classId * 64 + confidenceBin(d.score)).sort((a, b) => a - b).map((x) => x % 64);
  if (r.malformed) rec.m = r.malformed;
  if (r.deployment) rec.dp = r.deployment;
  if (r.image) {
    rec.i = { br: r2(r.image.brightness), co: r2(r.image.contrast), sa: r3(r.image.saturation), sh: r2(r.image.sharpness) };
    rec.th = r.image.thumb;
  }
  return rec;
}

/** A frame that produced no result → its frame record (its error kind; the stages timed before it failed). */
export function failureRecord(f: FrameFailure, src: string, tags: Tags): FrameRecord {
  const l = STAGES.map((s) => (typeof f.timings?.[s] === 'number' ? f.timings[s]! : -1));
  return { id: f.id, t: f.t, src, mv: shortVersion(f.modelVersion), b: f.backend, l, d: f.dropped, k: [], s: [], e: f.error, g: tagKey(tags), ...(f.deployment ? { dp: f.deployment } : {}) };
}
