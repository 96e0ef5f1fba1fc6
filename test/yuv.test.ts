import { describe, expect, it } from 'vitest';
import { fitFrame } from '../src/capture/preprocess.ts';
import { type Yuv420, yuvToRgba, yuvToTensor } from '../src/capture/yuv.ts';

const raw = { layout: 'NHWC' as const, channels: 'RGB' as const, normalization: { scale: 1, mean: [0, 0, 0] as [number, number, number], std: [1, 1, 1] as [number, number, number] } };

/** A w×h I420 frame of one RGB colour, encoded with BT.601 (full or limited range). */
function solidI420(w: number, h: number, [r, g, b]: number[], fullRange: boolean): Yuv420 {
  const Y = 0.299 * r! + 0.587 * g! + 0.114 * b!;
  const U = (b! - Y) / 1.772, V = (r! - Y) / 1.402;
  const y = fullRange ? Y : 16 + (Y * 219) / 255;
  const u = 128 + (fullRange ? U : (U * 224) / 255), v = 128 + (fullRange ? V : (V * 224) / 255);
  const cw = w / 2, ch = h / 2;
  const data = new Uint8Array(w * h + 2 * cw * ch);
  const byte = (x: number) => Math.min(255, Math.max(0, Math.round(x)));
  data.fill(byte(y), 0, w * h);
  data.fill(byte(u), w * h, w * h + cw * ch);
  data.fill(byte(v), w * h + cw * ch);
  return { data, width: w, height: h, y: { offset: 0, stride: w }, u: { offset: w * h, stride: cw }, v: { offset: w * h + cw * ch, stride: cw }, uvStep: 1, matrix: 'bt601', fullRange };
}

describe('yuvToTensor', () => {
  it.each([true, false])('recovers solid colours from I420 (full range: %s)', (fullRange) => {
    for (const rgb of [[255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 128, 128], [200, 150, 50]]) {
      const t = yuvToTensor(solidI420(8, 6, rgb, fullRange), fitFrame(8, 6, 4, 4, 'stretch'), 4, 4, raw);
      for (let c = 0; c < 3; c++) expect(Math.abs(t[c]! - rgb[c]!), `${rgb} channel ${c}`).toBeLessThanOrEqual(3);
    }
  });

  it('resizes bilinearly on luma and pads a letterbox with 114 grey', () => {
    // a 4×2 frame: left half black, right half white (full range, no chroma)
    const f = solidI420(4, 2, [0, 0, 0], true);
    f.data.set([0, 0, 255, 255, 0, 0, 255, 255], 0);
    const fit = fitFrame(4, 2, 8, 8, 'letterbox'); // drawn 8×4 at y 2..5
    expect(fit).toMatchObject({ dx: 0, dy: 2, dw: 8, dh: 4 });
    const t = yuvToTensor(f, fit, 8, 8, raw);
    const px = (x: number, y: number) => t[(y * 8 + x) * 3]!;
    expect(px(0, 0)).toBe(114); // padding rows
    expect(px(0, 1)).toBe(114);
    expect(px(0, 2)).toBe(0);
    expect(px(7, 3)).toBe(255);
    expect(px(3, 2)).toBeCloseTo(63.75, 3); // between source pixels 1 (0) and 2 (255), ¼ of the way
    expect(px(0, 6)).toBe(114);
  });

  it('NV12 (interleaved chroma) and BGR NCHW output with normalisation', () => {
    const i420 = solidI420(4, 4, [255, 0, 0], true);
    const nv12 = new Uint8Array(16 + 8);
    nv12.set(i420.data.subarray(0, 16));
    for (let k = 0; k < 4; k++) (nv12[16 + 2 * k] = i420.data[16 + k]!), (nv12[17 + 2 * k] = i420.data[20 + k]!);
    const f: Yuv420 = { ...i420, data: nv12, u: { offset: 16, stride: 4 }, v: { offset: 17, stride: 4 }, uvStep: 2 };
    const spec = { layout: 'NCHW' as const, channels: 'BGR' as const, normalization: { scale: 255, mean: [0, 0, 0] as [number, number, number], std: [1, 1, 1] as [number, number, number] } };
    const t = yuvToTensor(f, fitFrame(4, 4, 2, 2, 'stretch'), 2, 2, spec);
    expect(t[0]!).toBeCloseTo(0, 1); // B plane
    expect(t[8]!).toBeCloseTo(1, 1); // R plane (channel 2 in BGR)
  });
});

describe('yuvToRgba (the frame shown with its boxes)', () => {
  it.each([true, false])('recovers solid colours at the frame size, alpha opaque (full range: %s)', (fullRange) => {
    for (const rgb of [[255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 128, 128], [200, 150, 50]]) {
      const out = yuvToRgba(solidI420(6, 4, rgb, fullRange), new Uint8ClampedArray(6 * 4 * 4));
      for (let i = 0; i < 6 * 4; i++) {
        for (let c = 0; c < 3; c++) expect(Math.abs(out[i * 4 + c]! - rgb[c]!), `${rgb} pixel ${i} channel ${c}`).toBeLessThanOrEqual(3);
        expect(out[i * 4 + 3]).toBe(255);
      }
    }
  });

  it('keeps luma per pixel and chroma per 2×2 block, on I420 and NV12 (odd width: the last column too)', () => {
    // 5×2, full range, grey chroma: luma alone decides, pixel by pixel
    const w = 5, h = 2, cw = 3;
    const luma = [0, 50, 100, 150, 200, 10, 60, 110, 160, 210];
    const i420 = new Uint8Array(w * h + 2 * cw);
    i420.set(luma);
    i420.fill(128, w * h);
    const f: Yuv420 = { data: i420, width: w, height: h, y: { offset: 0, stride: w }, u: { offset: w * h, stride: cw }, v: { offset: w * h + cw, stride: cw }, uvStep: 1, matrix: 'bt601', fullRange: true };
    const grey = yuvToRgba(f, new Uint8ClampedArray(w * h * 4));
    expect(Array.from({ length: w * h }, (_, i) => grey[i * 4])).toEqual(luma);
    // NV12: interleaved UV; the second block (x 2..3) gets a strong red chroma, the others none
    const nv12 = new Uint8Array(w * h + 2 * cw);
    nv12.set(luma);
    nv12.set([128, 128, 128, 255, 128, 128], w * h);
    const g: Yuv420 = { ...f, data: nv12, u: { offset: w * h, stride: 2 * cw }, v: { offset: w * h + 1, stride: 2 * cw }, uvStep: 2 };
    const rgba = yuvToRgba(g, new Uint8ClampedArray(w * h * 4));
    const r = (x: number, y: number) => rgba[(y * w + x) * 4]!, b = (x: number, y: number) => rgba[(y * w + x) * 4 + 2]!;
    expect(r(2, 0)).toBeGreaterThan(luma[2]! + 100); // red added where V is high
    expect(r(3, 1)).toBeGreaterThan(luma[8]! + 40);
    expect(r(1, 0)).toBe(luma[1]); // untouched blocks stay grey
    expect(r(4, 1)).toBe(luma[9]);
    expect(b(2, 0)).toBe(luma[2]); // V alone does not change blue
  });
});
