/** A video frame's YUV 4:2:0 planes (I420, NV12) straight to the model's tensor or to RGBA, without drawing it on a canvas. */
import type { Fit, TensorLayout } from './preprocess.ts';

/** A 4:2:0 frame's planes as VideoFrame.copyTo lays them out (I420: three planes; NV12: Y + interleaved UV). */
export interface Yuv420 {
  data: Uint8Array;
  width: number;
  height: number;
  y: { offset: number; stride: number };
  u: { offset: number; stride: number };
  v: { offset: number; stride: number };
  /** bytes between neighbouring chroma samples: 1 for I420, 2 for NV12 */
  uvStep: number;
  matrix: 'bt601' | 'bt709';
  fullRange: boolean;
}

/** VideoFrame.copyTo's plane layout → Yuv420, for the two 4:2:0 formats cameras deliver. */
export function yuvLayout(
  format: string | null,
  data: Uint8Array,
  layout: { offset: number; stride: number }[],
  width: number,
  height: number,
  color: { matrix?: string | null; fullRange?: boolean | null },
): Yuv420 | undefined {
  const matrix = color.matrix === 'bt709' ? 'bt709' : 'bt601';
  const fullRange = Boolean(color.fullRange);
  if ((format === 'I420' || format === 'I420A') && layout.length >= 3)
    return { data, width, height, y: layout[0]!, u: layout[1]!, v: layout[2]!, uvStep: 1, matrix, fullRange };
  if (format === 'NV12' && layout.length >= 2)
    return { data, width, height, y: layout[0]!, u: layout[1]!, v: { offset: layout[1]!.offset + 1, stride: layout[1]!.stride }, uvStep: 2, matrix, fullRange };
  return undefined;
}

/**
 * A frame's YUV → RGB conversion (its matrix, limited or full range): R = Y' + crR·V, G = Y' + cbG·U + crG·V,
 * B = Y' + cbB·U, where Y' = (Y − yOff)·ys and U, V are the chroma bytes − 128.
 */
export function yuvMatrix(f: Pick<Yuv420, 'matrix' | 'fullRange'>) {
  const [kr, kb] = f.matrix === 'bt709' ? [0.2126, 0.0722] : [0.299, 0.114];
  const kg = 1 - kr - kb;
  const cs = f.fullRange ? 1 : 255 / 224;
  return {
    yOff: f.fullRange ? 0 : 16,
    ys: f.fullRange ? 1 : 255 / 219,
    crR: 2 * (1 - kr) * cs,
    cbB: 2 * (1 - kb) * cs,
    cbG: (-2 * kb * (1 - kb) * cs) / kg,
    crG: (-2 * kr * (1 - kr) * cs) / kg,
  };
}

/**
 * YUV 4:2:0 → the model's float input in one pass: resize (bilinear on luma, nearest on chroma) into the
 * fitted rectangle, padding elsewhere, colour conversion, channel order, layout and normalisation.
 * Skips the canvas (YUV→RGBA conversion of the whole frame, then a readback): ~3× cheaper per frame.
 */
export function yuvToTensor(f: Yuv420, fit: Fit, dstW: number, dstH: number, spec: TensorLayout, out?: Float32Array, pad: number | readonly [number, number, number] = 114): Float32Array {
  const n = dstW * dstH;
  const t = out && out.length === n * 3 ? out : new Float32Array(n * 3);
  const { scale, mean, std } = spec.normalization;
  const a = [1 / (scale * std[0]), 1 / (scale * std[1]), 1 / (scale * std[2])];
  const b = [-mean[0] / std[0], -mean[1] / std[1], -mean[2] / std[2]];
  const bgr = spec.channels === 'BGR';
  const nhwc = spec.layout === 'NHWC';
  const { yOff, ys, crR, cbB, cbG, crG } = yuvMatrix(f);
  // per-column source positions (pixel centres)
  const x0 = new Int32Array(dstW), x1 = new Int32Array(dstW), wx = new Float32Array(dstW), cx = new Int32Array(dstW);
  for (let x = 0; x < dstW; x++) {
    const sx = Math.min(Math.max((x + 0.5 - fit.dx) / fit.sx - 0.5, 0), f.width - 1);
    x0[x] = Math.floor(sx);
    x1[x] = Math.min(x0[x]! + 1, f.width - 1);
    wx[x] = sx - x0[x]!;
    cx[x] = (Math.min(Math.round(sx), f.width - 1) >> 1) * f.uvStep;
  }
  const { data } = f;
  // where each channel of pixel i goes: i·ps + offset (NHWC: interleaved; NCHW: planes), and its scale/bias
  const ps = nhwc ? 3 : 1;
  const oR = (bgr ? 2 : 0) * (nhwc ? 1 : n), oG = nhwc ? 1 : n, oB = (bgr ? 0 : 2) * (nhwc ? 1 : n);
  const cR = bgr ? 2 : 0, cB = bgr ? 0 : 2;
  const aR = a[cR]!, bR = b[cR]!, aG = a[1]!, bG = b[1]!, aB = a[cB]!, bB = b[cB]!;
  const [pr, pg, pb] = typeof pad === 'number' ? [pad, pad, pad] : pad;
  const padR = pr * aR + bR, padG = pg * aG + bG, padB = pb * aB + bB;
  const xIn0 = Math.max(0, Math.min(dstW, fit.dx)), xIn1 = Math.max(xIn0, Math.min(dstW, fit.dx + fit.dw));
  const padRun = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const o = i * ps;
      t[o + oR] = padR;
      t[o + oG] = padG;
      t[o + oB] = padB;
    }
  };
  for (let y = 0; y < dstH; y++) {
    const row = y * dstW;
    if (!(y >= fit.dy && y < fit.dy + fit.dh)) {
      padRun(row, row + dstW);
      continue;
    }
    padRun(row, row + xIn0);
    padRun(row + xIn1, row + dstW);
    const sy = Math.min(Math.max((y + 0.5 - fit.dy) / fit.sy - 0.5, 0), f.height - 1);
    const y0 = Math.floor(sy), y1 = Math.min(y0 + 1, f.height - 1), wy = sy - y0;
    const r0 = f.y.offset + y0 * f.y.stride, r1 = f.y.offset + y1 * f.y.stride;
    const cyRow = Math.min(Math.round(sy), f.height - 1) >> 1;
    const uRow = f.u.offset + cyRow * f.u.stride, vRow = f.v.offset + cyRow * f.v.stride;
    for (let x = xIn0; x < xIn1; x++) {
      const xa = x0[x]!, xb = x1[x]!, w = wx[x]!;
      const ta = data[r0 + xa]!, ba = data[r1 + xa]!;
      const top = ta + (data[r0 + xb]! - ta) * w;
      const bot = ba + (data[r1 + xb]! - ba) * w;
      const Y = (top + (bot - top) * wy - yOff) * ys;
      const c = cx[x]!;
      const U = data[uRow + c]! - 128;
      const V = data[vRow + c]! - 128;
      let R = Y + crR * V, G = Y + cbG * U + crG * V, B = Y + cbB * U;
      R = R < 0 ? 0 : R > 255 ? 255 : R;
      G = G < 0 ? 0 : G > 255 ? 255 : G;
      B = B < 0 ? 0 : B > 255 ? 255 : B;
      const o = (row + x) * ps;
      t[o + oR] = R * aR + bR;
      t[o + oG] = G * aG + bG;
      t[o + oB] = B * aB + bB;
    }
  }
  return t;
}

/**
 * YUV 4:2:0 → RGBA at the frame's own size (nearest chroma, one colour matrix per 2×2 block), for showing
 * a frame that was kept as its planes. `out` must hold width × height × 4 bytes.
 */
export function yuvToRgba(f: Yuv420, out: Uint8ClampedArray): Uint8ClampedArray {
  const { data, width: w, height: h, uvStep } = f;
  const { yOff, ys, crR, cbB, cbG, crG } = yuvMatrix(f);
  for (let y = 0; y < h; y++) {
    const yRow = f.y.offset + y * f.y.stride;
    const uRow = f.u.offset + (y >> 1) * f.u.stride, vRow = f.v.offset + (y >> 1) * f.v.stride;
    let o = y * w * 4;
    for (let x = 0; x < w; x += 2) {
      const c = (x >> 1) * uvStep;
      const U = data[uRow + c]! - 128, V = data[vRow + c]! - 128;
      const r = crR * V, g = cbG * U + crG * V, b = cbB * U;
      const Y0 = (data[yRow + x]! - yOff) * ys;
      out[o] = Y0 + r;
      out[o + 1] = Y0 + g;
      out[o + 2] = Y0 + b;
      out[o + 3] = 255;
      if (x + 1 < w) {
        const Y1 = (data[yRow + x + 1]! - yOff) * ys;
        out[o + 4] = Y1 + r;
        out[o + 5] = Y1 + g;
        out[o + 6] = Y1 + b;
        out[o + 7] = 255;
      }
      o += 8;
    }
  }
  return out;
}
