/** What the inference worker reports: the ready info, each frame's result and timings, and the results it posts to the hub (ResultMessage). */
import type { ImageStats } from '../capture/image-stats.ts';
import type { EngineInfo } from './engine.ts';
import type { Detection } from '../types/detection.ts';
import type { FrameAgreement } from './agreement.ts';

/** The `ready` event's detail. */
export interface ReadyInfo extends EngineInfo {
  /** sha256 of the ONNX file */
  modelVersion: string;
  /** the deployment: the file, its manifest and the score threshold together (deployment.ts) */
  deployment: string;
  modelId: string;
  modelName: string;
  labels: string[];
  input: { width: number; height: number };
  /** how the frame worker must prepare frames for this model */
  prep: import('../capture/protocol.ts').PrepSpec;
}

/** Stage times in milliseconds. */
export interface StageTimings {
  /** capture → worker handoff, when the browser gives the frame's capture time */
  capture?: number;
  /** waiting in the worker behind the frame in flight */
  queue: number;
  preprocess: number;
  inference: number;
  postprocess: number;
  /** capture (or handoff) → result on the main thread; set on the page */
  total?: number;
}

/** One frame's result: the `inference` event's detail. */
export interface InferenceResult {
  inferenceId: string;
  /** epoch ms of capture (or of handoff to the worker when no capture time is known) */
  timestamp: number;
  captureEpoch?: number;
  handoffEpoch: number;
  workerDoneEpoch: number;
  modelVersion: string;
  /** the deployment: the model file and its manifest (and score threshold) together, 12 hex (deployment.ts) */
  deployment?: string;
  backend: 'webgpu' | 'wasm';
  frame: { width: number; height: number };
  timings: StageTimings;
  /** frames dropped (latest frame wins) since the previous result */
  droppedFrames: number;
  detections: Detection[];
  /** why this output cannot be trusted (NaN, wrong shape, empty, boxes out of frame) */
  malformed?: string;
  /** input-image statistics of the frame (computed in the frame worker), and what they cost (ms) */
  image?: ImageStats & { ms: number };
}

/** A frame that produced no result: still counted, with its error kind. */
export interface FrameFailure {
  /** its inferenceId (UUIDv7) and epoch ms */
  id: string;
  t: number;
  modelVersion: string;
  /** the deployment (deployment.ts) */
  deployment?: string;
  backend: string;
  /** frames dropped before it */
  dropped: number;
  /** the error kind */
  error: string;
  /** the stages that were timed before it failed */
  timings?: Partial<StageTimings>;
}

/**
 * What a worker that has a model's results (the inference worker, the recorder's worker) posts to the page's
 * back-end over its own MessagePort, per frame: the back-end turns it into the frame's record.
 */
export interface ResultMessage {
  /** the monitor's source id and its tags when the frame ran */
  src: string;
  tags: Record<string, string>;
  /** the model version in use (sent alone when the port is attached) */
  model?: string;
  result?: InferenceResult;
  /** detections below the threshold the close-to-threshold flag rules look at */
  nearMisses?: Detection[];
  failure?: FrameFailure;
  /** a reference model's verdict on a frame the deployed model judged (posted by the reference worker) */
  agreement?: AgreementSample;
}

/** The reference model's run on one sampled frame, against the deployed model's detections on it. */
export interface AgreementSample {
  /** the frame's inferenceId and epoch ms */
  id: string;
  t: number;
  /** the deployed model's version (sha256) and deployment, whose detections were compared */
  modelVersion: string;
  deployment?: string;
  /** the reference model's version (sha256) */
  reference: string;
  /** the deployed model's detections counted against the reference's (agreement.ts) */
  counts: FrameAgreement;
  /** the reference's own detections (kept with a flagged frame) */
  detections: Detection[];
  /** the reference's run (ms) */
  ms: number;
}
