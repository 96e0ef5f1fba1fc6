/**
 * Real footage through the monitor's per-frame image statistics, in Node: opencv-doc's vtest.avi (10 fps) decoded
 * by ffmpeg through a filter (a night-IR camera, a covered lens…) to I420, each frame through the frame worker's
 * own yuvImageStats. For the health engine's tests on real pictures.
 */
import { ImageStatsScratch, type ImageStats, yuvImageStats } from '../../src/capture/image-stats.ts';
import type { InferenceResult } from '../../src/inference/protocol.ts';
import { type FrameRecord, toFrameRecord } from '../../src/telemetry/record.ts';
import { H, i420Frames, W } from '../../bench/footage.ts';
import { fixturePath } from './fixtures.ts';

// the filters (a night IR mode, faults): one home, shared with the benchmark and the fixtures
export { BUMP, COVERED, DARKENED, DEFOCUS, NIGHT_IR } from '../../bench/footage.ts';

export const vtest = fixturePath('opencv-doc/usr/share/doc/opencv-doc/examples/data/vtest.avi');

/** The image statistics of the first `seconds` of a clip (vtest unless told; Infinity: all of it) through `filter`, at 640×480. */
export async function footageStats(filter: string, seconds = 20, clip = vtest): Promise<ImageStats[]> {
  const scratch = new ImageStatsScratch();
  const out: ImageStats[] = [];
  for await (const yuv of i420Frames(clip, filter, Number.isFinite(seconds) ? seconds : undefined)) {
    const s = yuvImageStats(yuv, scratch);
    out.push({ ...s, thumb: Uint8Array.from(s.thumb) });
  }
  if (!out.length) throw new Error(`ffmpeg decoded no frames of ${clip} through '${filter}'`);
  return out;
}

let seq = 0;
/**
 * Frame records at 10 fps from `from` for `seconds`, their pictures `frames` (looping), with no detections (the
 * picture's rules only) unless `detections` gives a count per frame.
 */
export function footageRecords(frames: ImageStats[], from: number, seconds: number, opts: { camera?: string; detections?: number } = {}): FrameRecord[] {
  const out: FrameRecord[] = [];
  for (let i = 0; i < seconds * 10; i++) {
    const t = from + i * 100;
    const f = frames[i % frames.length]!;
    const r: InferenceResult = {
      inferenceId: `${(seq++).toString(16).padStart(8, '0')}-0000-7000-8000-000000000000`,
      timestamp: t, handoffEpoch: t, workerDoneEpoch: t,
      modelVersion: 'abcdef0123456789', backend: 'wasm', frame: { width: W, height: H },
      timings: { queue: 1, preprocess: 3, inference: 140, postprocess: 2, total: 150 },
      droppedFrames: 0,
      detections: Array.from({ length: opts.detections ?? 0 }, (_, k) => ({ classId: 0, label: 'person', score: 0.6, box: [k * 40, 100, 30, 80] as [number, number, number, number] })),
      image: { ...f, thumb: f.thumb, ms: 0.3 },
    };
    out.push(toFrameRecord(r, 'src-1', { camera_id: opts.camera ?? 'cam-1' }));
  }
  return out;
}
