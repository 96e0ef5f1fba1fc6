import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import type { Yuv420 } from '../../src/capture/yuv.ts';
import { fixturePath } from './fixtures.ts';

/**
 * Frames of a 4:2:0 .y4m clip made by scripts/fixtures.sh (the fake camera's footage), read one at a time
 * as the I420 frames a camera hands the frame worker.
 */
export function y4mClip(name: string) {
  const p = fixturePath(name);
  if (!existsSync(p)) throw new Error(`missing fixture ${p}: run 'bash scripts/fixtures.sh'`);
  const fd = openSync(p, 'r');
  const head = Buffer.alloc(256);
  readSync(fd, head, 0, 256, 0);
  const end = head.indexOf(10);
  const header = head.subarray(0, end).toString('latin1');
  const width = Number(/ W(\d+)/.exec(header)![1]), height = Number(/ H(\d+)/.exec(header)![1]);
  const [num, den] = / F(\d+):(\d+)/.exec(header)!.slice(1).map(Number) as [number, number];
  const fullRange = /XCOLORRANGE=FULL/.test(header);
  const size = width * height * 1.5;
  const stride = 6 + size; // "FRAME\n" + planes
  const frames = Math.floor((statSync(p).size - end - 1) / stride);
  const cw = width / 2;
  return {
    width, height, fps: num / den, frames,
    /** frame `n` (looping, as the fake camera does) */
    frame(n: number): Yuv420 {
      const data = new Uint8Array(size);
      readSync(fd, data, 0, size, end + 1 + (n % frames) * stride + 6);
      return { data, width, height, y: { offset: 0, stride: width }, u: { offset: width * height, stride: cw }, v: { offset: width * height * 1.25, stride: cw }, uvStep: 1, matrix: 'bt601', fullRange };
    },
    close: () => closeSync(fd),
  };
}
