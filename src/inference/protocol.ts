import type { ImageStats } from '../health/image-stats.ts';
import type { EngineInfo } from './engine.ts';
import type { Detection } from './types.ts';

/** The `ready` event's detail. */
export interface ReadyInfo extends EngineInfo {
  /** sha256 of the ONNX file */
  modelVersion: string;
  modelId: string;
  modelName: string;
  labels: string[];
  input: { width: number; height: number };
  /** how the frame worker must prepare frames for this model */
  prep: import('../capture/frame-worker.ts').PrepSpec;
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
