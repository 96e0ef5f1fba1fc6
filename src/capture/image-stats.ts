/**
 * Input-image statistics of one frame, from a fixed 160×128 sample grid of it (so the cost does not grow
 * with the camera's resolution, and the numbers mean the same at any resolution):
 * brightness = mean luma (0–255), contrast = RMS contrast (standard deviation of luma), saturation = mean
 * HSV saturation (0–1), sharpness = variance of the 4-neighbour Laplacian of luma, and a 16×16 luma
 * thumbnail (the scene signature; compared with the baseline's by `sceneDistance`).
 */
import { type Yuv420, yuvMatrix } from './yuv.ts';

export interface ImageStats {
  brightness: number;
  contrast: number;
  saturation: number;
  sharpness: number;
  /** 16×16 block means of luma, row-major, 0–255 */
  thumb: Uint8Array;
}

/**
 * Under this mean saturation a picture is grey: a camera's infrared night mode (or a monochrome camera). Colour
 * footage sits far above it (vtest: 0.42; darkened, 0.75); an IR picture at 0 plus its chroma noise.
 */
export const MONO_SATURATION = 0.05;

/** A picture's mode, from its mean saturation: `colour`, or `mono` (an IR night mode). */
export const pictureMode = (saturation: number): 'colour' | 'mono' => (saturation < MONO_SATURATION ? 'mono' : 'colour');

export const GRID_W = 160;
export const GRID_H = 128;
export const THUMB = 16;

/** The region of the source frame the statistics look at (the whole frame by default). */
export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Reusable buffers: statistics run every frame and allocate nothing after the first. */
export class ImageStatsScratch {
  luma = new Float32Array(GRID_W * GRID_H);
  thumb = new Float32Array(THUMB * THUMB);
  xs = new Int32Array(GRID_W);
}

function columns(scratch: ImageStatsScratch, x0: number, w: number) {
  for (let x = 0; x < GRID_W; x++) scratch.xs[x] = x0 + Math.min(w - 1, Math.floor(((x + 0.5) * w) / GRID_W));
}

const sat = (r: number, g: number, b: number) => {
  const max = r > g ? (r > b ? r : b) : g > b ? g : b;
  const min = r < g ? (r < b ? r : b) : g < b ? g : b;
  return max > 0 ? (max - min) / max : 0;
};

/** Statistics of a YUV 4:2:0 camera frame (the frame worker's fast path). */
export function yuvImageStats(f: Yuv420, scratch = new ImageStatsScratch()): ImageStats {
  columns(scratch, 0, f.width);
  const { data } = f;
  const { yOff, ys, crR, cbB, cbG, crG } = yuvMatrix(f);
  let satSum = 0;
  for (let gy = 0; gy < GRID_H; gy++) {
    const sy = Math.min(f.height - 1, Math.floor(((gy + 0.5) * f.height) / GRID_H));
    const yRow = f.y.offset + sy * f.y.stride;
    const uRow = f.u.offset + (sy >> 1) * f.u.stride;
    const vRow = f.v.offset + (sy >> 1) * f.v.stride;
    for (let gx = 0; gx < GRID_W; gx++) {
      const sx = scratch.xs[gx]!;
      let Y = (data[yRow + sx]! - yOff) * ys;
      Y = Y < 0 ? 0 : Y > 255 ? 255 : Y;
      scratch.luma[gy * GRID_W + gx] = Y;
      if ((gx & 1) === 0) {
        // saturation on every other column is plenty (chroma is subsampled anyway)
        const c = (sx >> 1) * f.uvStep;
        const U = data[uRow + c]! - 128, V = data[vRow + c]! - 128;
        const r = Y + crR * V, g = Y + cbG * U + crG * V, b = Y + cbB * U;
        satSum += sat(r < 0 ? 0 : r, g < 0 ? 0 : g, b < 0 ? 0 : b);
      }
    }
  }
  return finish(scratch, satSum / ((GRID_W / 2) * GRID_H));
}

/**
 * Statistics of an RGBA image (canvas fallback path), over `region` of it; `order` 'bgr' for BGRA/BGRX pixels
 * (a VideoFrame made from a canvas).
 */
export function rgbaImageStats(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number, region: Region = { x: 0, y: 0, width, height }, scratch = new ImageStatsScratch(), order: 'rgb' | 'bgr' = 'rgb'): ImageStats {
  columns(scratch, region.x, region.width);
  const ri = order === 'bgr' ? 2 : 0, bi = 2 - ri;
  let satSum = 0;
  for (let gy = 0; gy < GRID_H; gy++) {
    const sy = region.y + Math.min(region.height - 1, Math.floor(((gy + 0.5) * region.height) / GRID_H));
    const row = sy * width * 4;
    for (let gx = 0; gx < GRID_W; gx++) {
      const p = row + scratch.xs[gx]! * 4;
      const r = rgba[p + ri]!, g = rgba[p + 1]!, b = rgba[p + bi]!;
      scratch.luma[gy * GRID_W + gx] = 0.299 * r + 0.587 * g + 0.114 * b;
      if ((gx & 1) === 0) satSum += sat(r, g, b);
    }
  }
  return finish(scratch, satSum / ((GRID_W / 2) * GRID_H));
}

/** Brightness, contrast, sharpness and thumbnail from the luma grid. */
function finish(scratch: ImageStatsScratch, saturation: number): ImageStats {
  const L = scratch.luma;
  const n = GRID_W * GRID_H;
  let sum = 0, sq = 0;
  for (let i = 0; i < n; i++) {
    const v = L[i]!;
    sum += v;
    sq += v * v;
  }
  const mean = sum / n;
  const contrast = Math.sqrt(Math.max(0, sq / n - mean * mean));
  // variance of the Laplacian over the interior
  let ls = 0, lq = 0, ln = 0;
  for (let y = 1; y < GRID_H - 1; y++) {
    const o = y * GRID_W;
    for (let x = 1; x < GRID_W - 1; x++) {
      const i = o + x;
      const lap = L[i - 1]! + L[i + 1]! + L[i - GRID_W]! + L[i + GRID_W]! - 4 * L[i]!;
      ls += lap;
      lq += lap * lap;
      ln++;
    }
  }
  const sharpness = lq / ln - (ls / ln) ** 2;
  // 16×16 block means (blocks of 10×8 grid samples)
  const bw = GRID_W / THUMB, bh = GRID_H / THUMB;
  const acc = scratch.thumb.fill(0);
  for (let y = 0; y < GRID_H; y++) {
    const ty = ((y / bh) | 0) * THUMB;
    const o = y * GRID_W;
    for (let x = 0; x < GRID_W; x++) acc[ty + ((x / bw) | 0)]! += L[o + x]!;
  }
  const thumb = new Uint8Array(THUMB * THUMB);
  for (let i = 0; i < thumb.length; i++) thumb[i] = Math.round(acc[i]! / (bw * bh));
  return { brightness: mean, contrast, saturation, sharpness, thumb };
}

/**
 * How different a scene looks from a reference, ignoring overall brightness and contrast: 1 − Pearson
 * correlation of the two thumbnails (0 same scene, 1 unrelated, 2 inverted). A flat thumbnail (a blocked
 * lens, a black frame) has no structure to correlate: distance 1.
 */
export function sceneDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  if (!n) return NaN;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) (ma += a[i]!), (mb += b[i]!);
  ma /= n;
  mb /= n;
  let cov = 0, va = 0, vb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma, db = b[i]! - mb;
    cov += da * db;
    va += da * da;
    vb += db * db;
  }
  // a standard deviation under one grey level is no structure at all
  if (va < n || vb < n) return 1;
  return 1 - cov / Math.sqrt(va * vb);
}
