/**
 * Real footage through the monitor's per-frame image statistics, in Node: opencv-doc's vtest.avi (10 fps) decoded
 * by ffmpeg through a filter (a night-IR camera, a covered lens…) to I420, each frame through the frame worker's
 * own yuvImageStats. For the health engine's tests on real pictures.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ImageStatsScratch, type ImageStats, yuvImageStats } from '../../src/capture/image-stats.ts';
import { yuvLayout } from '../../src/capture/yuv.ts';
import type { InferenceResult } from '../../src/inference/protocol.ts';
import { type FrameRecord, toFrameRecord } from '../../src/telemetry/record.ts';
import { fixturePath } from './fixtures.ts';

export const vtest = fixturePath('opencv-doc/usr/share/doc/opencv-doc/examples/data/vtest.avi');
const W = 640, H = 480;

/**
 * What a camera's night mode does to vtest (its IR picture: grey, ~12 % darker, lower contrast, sensor noise on
 * luma). scripts/fixtures.sh makes the browser's clips with the same filter.
 */
export const NIGHT_IR = 'hue=s=0,eq=brightness=-0.06:contrast=0.85,noise=c0s=8:c0f=t';

/** Faults, as the benchmark and the fixtures make them: a lens covered, out of focus, the camera bumped. */
export const COVERED = 'gblur=sigma=60,eq=brightness=-0.75:contrast=0.3,noise=alls=3:allf=t';
export const DEFOCUS = 'gblur=sigma=3';
export const BUMP = 'crop=576:432:64:48,scale=640:480'; // the view moved 64×48 px, as bench/health.ts bumps it
export const DARKENED = 'eq=brightness=-0.45';

/** The image statistics of the first `seconds` of vtest through `filter` (640×480, 10 fps). */
export async function footageStats(filter: string, seconds = 20): Promise<ImageStats[]> {
  if (!existsSync(vtest)) throw new Error(`missing ${vtest}: run 'bash scripts/fixtures.sh'`);
  const ff = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', vtest, '-t', String(seconds), '-vf', `scale=${W}:${H}${filter ? `,${filter}` : ''}`, '-pix_fmt', 'yuv420p', '-f', 'rawvideo', '-'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const size = W * H * 1.5;
  const scratch = new ImageStatsScratch();
  const out: ImageStats[] = [];
  let pending = Buffer.alloc(0);
  for await (const chunk of ff.stdout) {
    pending = Buffer.concat([pending, chunk as Buffer]);
    while (pending.length >= size) {
      const data = new Uint8Array(pending.subarray(0, size));
      pending = pending.subarray(size);
      const yuv = yuvLayout('I420', data, [{ offset: 0, stride: W }, { offset: W * H, stride: W / 2 }, { offset: W * H * 1.25, stride: W / 2 }], W, H, { matrix: 'bt601', fullRange: false })!;
      const s = yuvImageStats(yuv, scratch);
      out.push({ ...s, thumb: Uint8Array.from(s.thumb) });
    }
  }
  if (!out.length) throw new Error(`ffmpeg decoded no frames of ${vtest} through '${filter}'`);
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
