import type { InferenceResult } from '../../src/inference/protocol.ts';
import { type FrameRecord, toFrameRecord } from '../../src/telemetry/record.ts';
import { rng } from './rng.ts';

export interface Scene {
  /** mean luma 0–255 */
  brightness?: number;
  sharpness?: number;
  /** added to every detection score */
  confidenceShift?: number;
  /** columns the view is moved by (a bumped camera) */
  viewShift?: number;
  /** inference latency, ms */
  inference?: number;
  /** the machine's load: inference latency × load(t) at frame time t (default 1) */
  load?: (t: number) => number;
  /** spread of single frames' inference latency, in log units (default 0.1) */
  latencySpread?: number;
  /** class of the detections (default: 0, person, or 2 with probability `class2Share`) */
  classId?: number;
  /** share of class-2 detections (default 0.15) */
  class2Share?: number;
  /** added to the scores of one class's detections only */
  classShift?: Record<number, number>;
  malformed?: boolean;
  /** each detection is kept with this probability (default 1; 0: a blind model) */
  detectionShare?: number;
  /** a different scene: another texture in the thumbnail */
  swap?: boolean;
}

/**
 * Frame records of a steady synthetic scene: ~3 detections a frame with noisy scores, image statistics
 * with a little noise, a textured 16×16 thumbnail, log-normal latencies. For the health engine's tests.
 */
export function healthRecords(from: number, seconds: number, scene: Scene = {}, opts: { fps?: number; seed?: number; camera?: string; location?: string; modelVersion?: string; deployment?: string } = {}): FrameRecord[] {
  const fps = opts.fps ?? 10;
  const rand = rng(opts.seed ?? 7);
  const out: FrameRecord[] = [];
  const br = scene.brightness ?? 100;
  for (let i = 0; i < seconds * fps; i++) {
    const t = from + (i * 1000) / fps;
    const n = 1 + Math.floor(rand() * 4);
    const detections = Array.from({ length: n }, () => {
      const classId = scene.classId ?? (rand() < 1 - (scene.class2Share ?? 0.15) ? 0 : 2);
      const shift = (scene.confidenceShift ?? 0) + (scene.classShift?.[classId] ?? 0);
      return { classId, label: '', score: Math.min(0.99, Math.max(0.3, 0.35 + 0.5 * rand() ** 2 + shift)), box: [0, 0, 10, 10] as [number, number, number, number] };
    }).filter(() => scene.detectionShare === undefined || rand() < scene.detectionShare);
    const thumb = new Uint8Array(256);
    for (let y = 0; y < 16; y++)
      for (let x = 0; x < 16; x++) {
        const sx = x + (scene.viewShift ?? 0);
        const v = (scene.swap
          ? 128 + 70 * Math.cos((sx + 2 * y) / 1.7) * Math.sin(y / 4.5) + (rand() - 0.5) * 10
          : 128 + 60 * Math.sin(sx / 2.5) * Math.cos(y / 3) + 20 * Math.sin((sx * y) / 9) + (rand() - 0.5) * 10) * (br / 100);
        thumb[y * 16 + x] = Math.max(0, Math.min(255, Math.round(v)));
      }
    const inference = (scene.inference ?? 140) * (scene.load?.(t) ?? 1) * Math.exp((scene.latencySpread ?? 0.1) * (rand() + rand() - 1));
    const r: InferenceResult = {
      inferenceId: `0000000${i}`.slice(-8) + '-0000-7000-8000-000000000000',
      timestamp: t, handoffEpoch: t, workerDoneEpoch: t,
      modelVersion: opts.modelVersion ?? 'abcdef0123456789', ...(opts.deployment ? { deployment: opts.deployment } : {}), backend: 'wasm', frame: { width: 640, height: 480 },
      timings: { queue: 1, preprocess: 3 + rand(), inference, postprocess: 2 + rand(), total: inference + 10 },
      droppedFrames: 0,
      detections,
      ...(scene.malformed ? { malformed: 'output has a non-finite value (NaN) at 3' } : {}),
      image: {
        brightness: br + (rand() - 0.5) * 2,
        contrast: 40 * (br / 100) + (rand() - 0.5),
        saturation: 0.2 + (rand() - 0.5) * 0.01,
        sharpness: (scene.sharpness ?? 300) * (br / 100) ** 2 * (1 + (rand() - 0.5) * 0.1),
        thumb,
        ms: 0.3,
      },
    };
    out.push(toFrameRecord(r, 'src-1', { camera_id: opts.camera ?? 'cam-1', ...(opts.location ? { location: opts.location } : {}) }));
  }
  return out;
}
