/**
 * The frame worker's messages: what it hands the inference worker (prepared frames, and the boxes drawn
 * back), and how the page's back-end asks it for a judged frame's JPEG. Both sides import this module.
 */
import type { Detection } from '../types/detection.ts';
import type { ImageStats } from './image-stats.ts';
import type { Fit, TensorLayout } from './preprocess.ts';

export interface PrepSpec extends TensorLayout {
  width: number;
  height: number;
  resize: 'stretch' | 'letterbox';
  /** letterbox padding [r, g, b], 0–255 (default 114 grey) */
  pad?: readonly [number, number, number];
}

/** What crosses to the inference worker for one frame (the tensor's buffer is transferred). */
export interface PreparedFrame {
  tensor: Float32Array;
  frame: { width: number; height: number };
  fit: Fit;
  captureEpoch?: number;
  handoffEpoch: number;
  preprocessMs: number;
  /** the frame's number in this stream: the inference worker echoes it with the boxes to draw */
  seq: number;
  /** frames dropped since the previous prepared frame was taken */
  dropped: number;
  /** input-image statistics and their cost (ms) */
  image?: ImageStats & { ms: number };
}

/** The inference worker asks for frames by number; `inMs` > 0 asks for one that long from now. */
export interface FrameRequest {
  id: number;
  inMs: number;
}

/** What the inference worker sends back for each frame it judged (or failed to). */
export interface Drawn {
  seq: number;
  id: string;
  detections: Detection[];
  frame: { width: number; height: number };
  /** the run failed: nothing to draw, the frame is only kept */
  failed?: boolean;
}

/**
 * A judged frame prepared again for the reference model (a sample of frames, as the budget allows), with the
 * deployed model's detections on it; the reference worker answers with `ReferenceDone` and the buffer.
 */
export interface ReferenceFrame extends PreparedFrame {
  /** the deployed model's result on this frame: its inferenceId, and what it detected */
  deployed: { id: string; detections: Detection[] };
}

/** The reference worker is done with a frame: how long it ran (ms), for the budget. */
export interface ReferenceDone {
  refDone: { ms: number; failed?: boolean };
  /** the reference's own detections on the frame (the deployed model's inferenceId), where its run succeeded */
  judged?: { id: string; detections: Detection[] };
  buffer: Float32Array;
  /** a challenger's worker: the champion's tensor back too */
  championBuffer?: Float32Array;
}

/**
 * A judged frame for a challenger model: prepared to the challenger's input (`tensor`) and again to the
 * champion's (the deployed model's), so that the challenger's worker runs both on the same frame the same way.
 */
export interface ChallengerFrame extends ReferenceFrame {
  champion: { tensor: Float32Array; fit: Fit };
  /** the reference model judges this frame too: its detections follow as a `ChallengerReference` (if its run succeeds) */
  withReference?: boolean;
}

/** The frame worker passes the reference's detections on a frame it also sent the challenger (by inferenceId). */
export interface ChallengerReference {
  referenceFor: { id: string; detections: Detection[] };
}

/** The hub worker asks for a judged frame as JPEG (and a thumbnail) over the flag port. */
export interface EncodeRequest {
  encode: { id: string; quality: number };
}
export interface EncodeReply {
  encoded: { id: string; jpeg?: Blob; thumb?: Blob; width?: number; height?: number; ms?: number; error?: string };
}
