/** A frame → the model's input: where it lands (stretch or letterbox), RGBA → tensor, and boxes mapped back to the frame. */
import type { Box } from '../types/detection.ts';

/** Where a source frame lands inside the model input: scale and offset (stretch or letterbox). */
export interface Fit {
  /** Model pixels per source pixel, per axis. */
  sx: number;
  sy: number;
  /** Offset of the frame's top-left inside the model input (letterbox padding). */
  dx: number;
  dy: number;
  /** Drawn size inside the model input. */
  dw: number;
  dh: number;
}

/** How a srcW×srcH frame is fitted into a dstW×dstH model input. */
export function fitFrame(srcW: number, srcH: number, dstW: number, dstH: number, mode: 'stretch' | 'letterbox'): Fit {
  if (!(srcW > 0 && srcH > 0)) throw new RangeError(`frame has no size: ${srcW}×${srcH}`);
  if (mode === 'stretch') return { sx: dstW / srcW, sy: dstH / srcH, dx: 0, dy: 0, dw: dstW, dh: dstH };
  const s = Math.min(dstW / srcW, dstH / srcH);
  const dw = Math.round(srcW * s);
  const dh = Math.round(srcH * s);
  const dx = Math.floor((dstW - dw) / 2);
  const dy = Math.floor((dstH - dh) / 2);
  return { sx: dw / srcW, sy: dh / srcH, dx, dy, dw, dh };
}

/** Model-input x1,y1,x2,y2 → source-frame [x, y, w, h], clipped to the frame. */
export function toSourceBox(x1: number, y1: number, x2: number, y2: number, fit: Fit, srcW: number, srcH: number): Box {
  const clip = (v: number, max: number) => Math.min(Math.max(v, 0), max);
  const ax = clip((x1 - fit.dx) / fit.sx, srcW);
  const ay = clip((y1 - fit.dy) / fit.sy, srcH);
  const bx = clip((x2 - fit.dx) / fit.sx, srcW);
  const by = clip((y2 - fit.dy) / fit.sy, srcH);
  return [ax, ay, Math.max(0, bx - ax), Math.max(0, by - ay)];
}

export interface TensorLayout {
  layout: 'NHWC' | 'NCHW';
  channels: 'RGB' | 'BGR';
  normalization: { scale: number; mean: readonly [number, number, number]; std: readonly [number, number, number] };
}

/**
 * RGBA pixels (as from ImageData) → the model's float input: channel order, layout and
 * normalisation `(p / scale - mean) / std`, in one pass. `out` is reused when given.
 */
export function rgbaToTensor(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number, spec: TensorLayout, out?: Float32Array): Float32Array {
  const n = width * height;
  if (rgba.length < n * 4) throw new RangeError(`expected ${n * 4} RGBA bytes, got ${rgba.length}`);
  const t = out && out.length === n * 3 ? out : new Float32Array(n * 3);
  const { scale, mean, std } = spec.normalization;
  const bgr = spec.channels === 'BGR';
  // per channel: v = p * a + b
  const a = [1 / (scale * std[0]), 1 / (scale * std[1]), 1 / (scale * std[2])] as const;
  const b = [-mean[0] / std[0], -mean[1] / std[1], -mean[2] / std[2]] as const;
  const identity = a[0] === 1 && a[1] === 1 && a[2] === 1 && b[0] === 0 && b[1] === 0 && b[2] === 0;
  const [c0, c2] = bgr ? [2, 0] : [0, 2];
  if (spec.layout === 'NHWC') {
    if (identity && !bgr) {
      for (let i = 0, j = 0; i < n; i++, j += 3) {
        const k = i * 4;
        t[j] = rgba[k]!;
        t[j + 1] = rgba[k + 1]!;
        t[j + 2] = rgba[k + 2]!;
      }
    } else {
      for (let i = 0, j = 0; i < n; i++, j += 3) {
        const k = i * 4;
        t[j] = rgba[k + c0]! * a[0] + b[0];
        t[j + 1] = rgba[k + 1]! * a[1] + b[1];
        t[j + 2] = rgba[k + c2]! * a[2] + b[2];
      }
    }
  } else {
    for (let i = 0; i < n; i++) {
      const k = i * 4;
      t[i] = rgba[k + c0]! * a[0] + b[0];
      t[n + i] = rgba[k + 1]! * a[1] + b[1];
      t[2 * n + i] = rgba[k + c2]! * a[2] + b[2];
    }
  }
  return t;
}
