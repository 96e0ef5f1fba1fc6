import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rgbaImageStats, sceneDistance, yuvImageStats } from '../src/capture/image-stats.ts';
import type { Yuv420 } from '../src/capture/yuv.ts';
import { fixturePath } from './helpers/fixtures.ts';

const W = 512, H = 512;
/** A real photo (opencv-doc's messi5.jpg at 512×512) as RGBA, through `f` per pixel. */
function photo(f: (rgb: [number, number, number], x: number, y: number, src: Uint8Array) => [number, number, number] = (p) => p): Uint8ClampedArray {
  const rgb = readFileSync(fixturePath('messi5-512.rgb'));
  const out = new Uint8ClampedArray(W * H * 4);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const p = f([rgb[i * 3]!, rgb[i * 3 + 1]!, rgb[i * 3 + 2]!], x, y, rgb);
      out.set([...p, 255], i * 4);
    }
  return out;
}

/** RGBA → I420, BT.601 full range (what a camera hands the frame worker). */
function toI420(rgba: Uint8ClampedArray, w: number, h: number): Yuv420 {
  const data = new Uint8Array(w * h * 1.5);
  const cw = w / 2;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 4;
      data[y * w + x] = Math.round(0.299 * rgba[p]! + 0.587 * rgba[p + 1]! + 0.114 * rgba[p + 2]!);
    }
  for (let y = 0; y < h / 2; y++)
    for (let x = 0; x < cw; x++) {
      const p = (2 * y * w + 2 * x) * 4;
      const [r, g, b] = [rgba[p]!, rgba[p + 1]!, rgba[p + 2]!];
      const Y = 0.299 * r + 0.587 * g + 0.114 * b;
      data[w * h + y * cw + x] = Math.max(0, Math.min(255, Math.round(128 + (b - Y) / 1.772)));
      data[w * h * 1.25 + y * cw + x] = Math.max(0, Math.min(255, Math.round(128 + (r - Y) / 1.402)));
    }
  return { data, width: w, height: h, y: { offset: 0, stride: w }, u: { offset: w * h, stride: cw }, v: { offset: w * h * 1.25, stride: cw }, uvStep: 1, matrix: 'bt601', fullRange: true };
}

describe('input-image statistics', () => {
  it('a flat grey frame: brightness = its level, no contrast, no saturation, no sharpness, no structure', () => {
    const grey = new Uint8ClampedArray(64 * 48 * 4).fill(90);
    const s = rgbaImageStats(grey, 64, 48);
    expect(s.brightness).toBeCloseTo(90, 6);
    expect(s.contrast).toBeCloseTo(0, 4);
    expect(s.saturation).toBe(0);
    expect(s.sharpness).toBeCloseTo(0, 4);
    expect(s.thumb.every((v) => v === 90)).toBe(true);
    expect(sceneDistance(s.thumb, rgbaImageStats(photo(), W, H).thumb)).toBe(1); // a blocked lens has no scene
  });

  it('the camera path (I420) and the canvas path (RGBA) agree on a real photo', () => {
    const rgba = photo();
    const a = rgbaImageStats(rgba, W, H);
    const b = yuvImageStats(toI420(rgba, W, H));
    expect(Math.abs(a.brightness - b.brightness)).toBeLessThan(1);
    expect(Math.abs(a.contrast - b.contrast)).toBeLessThan(1);
    expect(Math.abs(a.saturation - b.saturation)).toBeLessThan(0.05);
    expect(Math.abs(a.sharpness / b.sharpness - 1)).toBeLessThan(0.1);
    expect(sceneDistance(a.thumb, b.thumb)).toBeLessThan(0.005);
    expect(a.saturation).toBeGreaterThan(0.1); // grass and shirts
  });

  it("BGRA pixels (a VideoFrame made from a canvas) read with order 'bgr' give the RGBA image's statistics", () => {
    const rgba = photo();
    const bgra = new Uint8ClampedArray(rgba.length);
    for (let i = 0; i < rgba.length; i += 4) bgra.set([rgba[i + 2]!, rgba[i + 1]!, rgba[i]!, 255], i);
    const a = rgbaImageStats(rgba, W, H);
    const b = rgbaImageStats(bgra, W, H, undefined, undefined, 'bgr');
    expect(b.brightness).toBeCloseTo(a.brightness, 9);
    expect(b.saturation).toBeCloseTo(a.saturation, 9);
    expect(b.sharpness).toBeCloseTo(a.sharpness, 6);
    expect([...b.thumb]).toEqual([...a.thumb]);
    // read as RGBA, the swapped channels weigh red and blue the other way: the luma is not the same
    expect(Math.abs(rgbaImageStats(bgra, W, H).brightness - a.brightness)).toBeGreaterThan(1);
  });

  it('dimming halves brightness and contrast but leaves the scene the same', () => {
    const a = rgbaImageStats(photo(), W, H);
    const d = rgbaImageStats(photo(([r, g, b]) => [r / 2, g / 2, b / 2]), W, H);
    expect(d.brightness / a.brightness).toBeCloseTo(0.5, 1);
    expect(d.contrast / a.contrast).toBeCloseTo(0.5, 1);
    expect(sceneDistance(a.thumb, d.thumb)).toBeLessThan(0.01);
  });

  it('a defocused lens (5×5 box blur) loses most of its sharpness; a bumped camera (view moved 40 px) moves the scene', () => {
    const a = rgbaImageStats(photo(), W, H);
    const blur = rgbaImageStats(
      photo((_, x, y, src) => {
        const acc = [0, 0, 0];
        let n = 0;
        for (let dy = -2; dy <= 2; dy++)
          for (let dx = -2; dx <= 2; dx++) {
            const xx = Math.min(W - 1, Math.max(0, x + dx)), yy = Math.min(H - 1, Math.max(0, y + dy));
            for (let c = 0; c < 3; c++) acc[c]! += src[(yy * W + xx) * 3 + c]!;
            n++;
          }
        return acc.map((v) => v / n) as [number, number, number];
      }),
      W, H,
    );
    expect(blur.sharpness / a.sharpness).toBeLessThan(0.5);
    expect(sceneDistance(a.thumb, blur.thumb)).toBeLessThan(0.02);
    const moved = rgbaImageStats(photo((_, x, y, src) => {
      const xx = Math.min(W - 1, x + 40), yy = Math.min(H - 1, y + 30);
      const i = (yy * W + xx) * 3;
      return [src[i]!, src[i + 1]!, src[i + 2]!];
    }), W, H);
    expect(sceneDistance(a.thumb, moved.thumb)).toBeGreaterThan(5 * sceneDistance(a.thumb, blur.thumb));
    expect(sceneDistance(a.thumb, moved.thumb)).toBeGreaterThan(0.1);
  });

  it('looks only at the region given (a letterboxed frame is measured without its bars)', () => {
    const rgba = new Uint8ClampedArray(100 * 100 * 4).fill(0);
    for (let y = 20; y < 80; y++) for (let x = 0; x < 100; x++) rgba.set([200, 200, 200, 255], (y * 100 + x) * 4);
    expect(rgbaImageStats(rgba, 100, 100, { x: 0, y: 20, width: 100, height: 60 }).brightness).toBeCloseTo(200, 4);
    expect(rgbaImageStats(rgba, 100, 100).brightness).toBeLessThan(150);
  });
});
