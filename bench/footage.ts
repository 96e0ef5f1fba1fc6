/**
 * Real footage as the monitor's frame worker sees it, in Node: a clip decoded by ffmpeg through a filter (a camera's
 * night IR mode, a covered lens…) to 640×480 I420 frames, each laid out as the frame worker lays a camera's frame
 * out. One home for the filters and the decoding: bench/health.ts runs the real model on the frames,
 * test/helpers/footage.ts the image statistics, and scripts/fixtures.sh makes the browser's clips with the same
 * filters (test/footage-filters.test.ts holds the two to each other).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type Yuv420, yuvLayout } from '../src/capture/yuv.ts';

export const W = 640, H = 480;

/** What a camera's night mode does to vtest (its IR picture: grey, ~12 % darker, lower contrast, sensor noise on luma). */
export const NIGHT_IR = 'hue=s=0,eq=brightness=-0.06:contrast=0.85,noise=c0s=8:c0f=t';
/** A lens covered as by a hand or a cap: nearly black, flat, a little sensor noise. */
export const COVERED = 'gblur=sigma=60,eq=brightness=-0.75:contrast=0.3,noise=alls=3:allf=t';
/** Out of focus. */
export const DEFOCUS = 'gblur=sigma=3';
/** The camera bumped: the view moved 64×48 px. */
export const BUMP = `crop=${W - 64}:${H - 48}:64:48,scale=${W}:${H}`;
/** A lighting change: darkened. */
export const DARKENED = 'eq=brightness=-0.45';

/** Each frame of `clip` (the first `seconds`, or all) through `filter`, as 640×480 I420 (BT.601, limited range). */
export async function* i420Frames(clip: string, filter: string, seconds?: number): AsyncGenerator<Yuv420> {
  if (!existsSync(clip)) throw new Error(`missing ${clip}: run 'bash scripts/fixtures.sh'`);
  const ff = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', clip, ...(seconds !== undefined ? ['-t', String(seconds)] : []), '-vf', `scale=${W}:${H}${filter ? `,${filter}` : ''}`, '-pix_fmt', 'yuv420p', '-f', 'rawvideo', '-'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const size = W * H * 1.5;
  let pending = Buffer.alloc(0);
  for await (const chunk of ff.stdout) {
    pending = Buffer.concat([pending, chunk as Buffer]);
    while (pending.length >= size) {
      const data = new Uint8Array(pending.subarray(0, size));
      pending = pending.subarray(size);
      yield yuvLayout('I420', data, [{ offset: 0, stride: W }, { offset: W * H, stride: W / 2 }, { offset: W * H * 1.25, stride: W / 2 }], W, H, { matrix: 'bt601', fullRange: false })!;
    }
  }
}
