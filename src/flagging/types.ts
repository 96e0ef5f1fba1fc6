/**
 * Flagging: frames worth labelling, kept with why they were kept. Types shared by the rules (pure), the
 * hub worker (which decides and keeps them), the export writers (pure) and the panel's gallery.
 */

/** The rule kinds: the samplers labelling teams know from hosted inference services, plus what only an on-device monitor sees. */
export const FLAG_KINDS = ['close-to-threshold', 'detections-count', 'classes', 'random', 'alert', 'malformed', 'disagreement', 'manual'] as const;
export type FlagKind = (typeof FLAG_KINDS)[number];

/** How many frames a rule may flag per calendar minute, hour and day (UTC); absent: no limit at that scale. */
export interface FlagLimits {
  perMinute?: number;
  perHour?: number;
  perDay?: number;
}

/**
 * Parameters per kind (every field optional; defaults in parentheses):
 * - close-to-threshold: `threshold` (0.3), `epsilon` (0.1), `classes` (all), `minCount` (1): at least minCount
 *   detections (of those classes) whose score is within epsilon of threshold.
 * - detections-count: `min`, `max`, `classes` (all), `baselineExpects` (false): the number of detections (of
 *   those classes) is below min or above max; with baselineExpects, `min` applies only while the stream's
 *   baseline averages at least `min` such detections per frame (an empty frame where people are expected).
 * - classes: `classes` (none), `rareShare` (none): a detection of a chosen class, or of a class whose share of
 *   the baseline's detections is below rareShare (absent from it included).
 * - random: `probability` (0.01).
 * - alert: `probability` (1), `severities` (all): while an alert fires on the frame's stream, sampled.
 * - malformed: no parameters: outputs the pipeline marked malformed, and frames that failed.
 * - disagreement: `maxF1` (0.6), `minCount` (2): on a frame the reference model judged (`reference-model`), the
 *   deployed model's F1 against the reference is below maxF1, with at least minCount detections of the two
 *   together; the frame is kept with both models' boxes.
 * - manual: no parameters; only its limits apply (flags made by hand: `monitor.flag()`).
 */
export interface FlagParams {
  threshold?: number;
  epsilon?: number;
  classes?: number[];
  minCount?: number;
  min?: number;
  max?: number;
  baselineExpects?: boolean;
  rareShare?: number;
  probability?: number;
  severities?: ('info' | 'warning' | 'critical')[];
  maxF1?: number;
}

export interface FlagRule {
  /** stable id (letters, digits, dashes) */
  id: string;
  /** what a person reads */
  name: string;
  kind: FlagKind;
  params: FlagParams;
  limits: FlagLimits;
  enabled: boolean;
}

/** A detection as flagging sees it (boxes in source-frame pixels: [x, y, w, h]). */
export interface FlagDetection {
  classId: number;
  label: string;
  score: number;
  box: [number, number, number, number];
}

/** What the rules look at for one frame. */
export interface FlagInput {
  /** detections at or above the monitor's threshold */
  detections: readonly FlagDetection[];
  /** detections the decoder found below the monitor's threshold (down to the lowest close-to-threshold band) */
  nearMisses?: readonly FlagDetection[];
  /** malformed reason, or error kind for a failed frame */
  malformed?: string;
  error?: string;
  /** on a frame the reference model judged: the deployed model's F1 against it, and both models' detections counted together */
  agreement?: { f1: number; detections: number };
}

/** The frame's stream as the health engine sees it, for the baseline- and alert-aware kinds. */
export interface FlagContext {
  /** alerts firing on the frame's stream (model version × camera) now, with their severities */
  firing: readonly { rule: string; severity: string }[];
  /** the stream's baseline, once learnt: frames, detections, detections per class */
  baseline?: { frames: number; detections: number; classes: Record<number, number> };
  /** uniform [0, 1) (Math.random in production; seeded in tests) */
  random: () => number;
}

/** One kept frame's metadata (its JPEG and thumbnail are stored apart, by the same id). */
export interface FlaggedFrame {
  /** the inferenceId (UUIDv7: sorts by time) */
  id: string;
  /** epoch ms of the frame */
  t: number;
  /** epoch ms it was flagged */
  flaggedAt: number;
  /** monitor source id */
  src: string;
  /** every tag recorded with the frame: camera_id, location, device_id and the metadata property's key/values */
  tags: Record<string, string>;
  /** model version: the ONNX file's sha256 (full when known, else the short form) */
  mv: string;
  backend: string;
  /** the stored image's size in pixels (the frame at capture resolution) */
  width: number;
  height: number;
  /** detections at or above the monitor's threshold, boxes in image pixels */
  detections: FlagDetection[];
  /** below-threshold detections the close-to-threshold rules looked at, if any */
  nearMisses?: FlagDetection[];
  /** ids of every rule that matched (including 'manual') */
  reasons: string[];
  /** on a frame the reference model judged: its version (sha256), its detections and the deployed model's F1 against it */
  reference?: { version: string; detections: FlagDetection[]; f1: number };
  malformed?: string;
  error?: string;
  /** perceptual hash (64-bit dHash of the scene thumbnail, 16 hex digits) */
  hash?: string;
  /** bytes of the JPEG and the thumbnail together */
  bytes: number;
  /** JPEG quality used (0–1) */
  quality: number;
  /** worker time spent encoding the JPEG and thumbnail (ms) and hashing (ms) */
  encodeMs?: number;
  hashMs?: number;
}

/** The model's labels, by class id (COCO categories in exports come from these). */
export type Labels = readonly string[];
