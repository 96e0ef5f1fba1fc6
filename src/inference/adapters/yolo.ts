/**
 * Ultralytics YOLO exports: v8/v11 `[1, 4+nc, N]` (cx, cy, w, h, class scores; no objectness) and
 * v5 `[1, N, 5+nc]` (cx, cy, w, h, objectness, class scores), then per-class NMS; and exports with NMS in
 * the graph (`nms=True`, end-to-end models): `[1, N, 6]` or `[N, 6]` rows of x1, y1, x2, y2, score, class.
 */
import type { RawDetection } from './centernet.ts';

export interface YoloOptions {
  classes: number;
  scoreThreshold: number;
  iouThreshold: number;
  topK: number;
  /** 'nms': the graph did NMS already (rows of x1, y1, x2, y2, score, class); else v8 or v5, told apart by shape */
  format?: 'nms';
}

export type YoloFormat = 'v8' | 'v5';

/** Rows of x1, y1, x2, y2, score, class from a graph that did NMS itself. */
function decodeNmsRows(data: Float32Array, dims: readonly number[], o: YoloOptions): RawDetection[] {
  const cols = dims.at(-1);
  const rows = dims.length === 3 && dims[0] === 1 ? dims[1]! : dims.length === 2 ? dims[0]! : -1;
  if (cols !== 6 || rows < 0) throw new RangeError(`expected [1, N, 6] or [N, 6] (x1, y1, x2, y2, score, class), got [${dims}]`);
  const out: RawDetection[] = [];
  for (let i = 0; i < rows; i++) {
    const r = i * 6;
    const score = data[r + 4]!;
    if (!(score >= o.scoreThreshold)) continue;
    const cls = data[r + 5]!;
    if (!(Number.isInteger(cls) && cls >= 0 && cls < o.classes)) throw new RangeError(`row ${i} has class ${cls}, outside 0…${o.classes - 1}`);
    out.push({ classId: cls, score, x1: data[r]!, y1: data[r + 1]!, x2: data[r + 2]!, y2: data[r + 3]! });
  }
  return out.sort((a, b) => b.score - a.score).slice(0, o.topK);
}

/** Which export an output of these dims is, or an error naming the mismatch. */
export function yoloFormat(dims: readonly number[], classes: number): YoloFormat {
  if (dims.length !== 3 || dims[0] !== 1) throw new RangeError(`expected [1, 4+nc, N] or [1, N, 5+nc], got [${dims}]`);
  if (dims[1] === 4 + classes) return 'v8';
  if (dims[2] === 5 + classes) return 'v5';
  throw new RangeError(`output [${dims}] matches neither [1, ${4 + classes}, N] nor [1, N, ${5 + classes}] for ${classes} classes`);
}

const iou = (a: RawDetection, b: RawDetection) => {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / ((a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter);
};

/** Greedy per-class non-maximum suppression; keeps best first. */
export function nms(dets: RawDetection[], iouThreshold: number, topK: number): RawDetection[] {
  const sorted = [...dets].sort((a, b) => b.score - a.score);
  const kept: RawDetection[] = [];
  for (const d of sorted) {
    if (kept.length >= topK) break;
    if (kept.every((k) => k.classId !== d.classId || iou(k, d) <= iouThreshold)) kept.push(d);
  }
  return kept;
}

export function decodeYolo(data: Float32Array, dims: readonly number[], o: YoloOptions): RawDetection[] {
  if (o.format === 'nms') return decodeNmsRows(data, dims, o);
  const format = yoloFormat(dims, o.classes);
  const candidates: RawDetection[] = [];
  if (format === 'v8') {
    const n = dims[2]!;
    for (let i = 0; i < n; i++) {
      let best = -1, score = -Infinity;
      for (let c = 0; c < o.classes; c++) {
        const s = data[(4 + c) * n + i]!;
        if (s > score) (score = s), (best = c);
      }
      if (!(score >= o.scoreThreshold)) continue;
      const cx = data[i]!, cy = data[n + i]!, w = data[2 * n + i]!, h = data[3 * n + i]!;
      candidates.push({ classId: best, score, x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2 });
    }
  } else {
    const n = dims[1]!, stride = dims[2]!;
    for (let i = 0; i < n; i++) {
      const row = i * stride;
      const obj = data[row + 4]!;
      if (!(obj >= o.scoreThreshold)) continue;
      let best = -1, cls = -Infinity;
      for (let c = 0; c < o.classes; c++) {
        const s = data[row + 5 + c]!;
        if (s > cls) (cls = s), (best = c);
      }
      const score = obj * cls;
      if (!(score >= o.scoreThreshold)) continue;
      const cx = data[row]!, cy = data[row + 1]!, w = data[row + 2]!, h = data[row + 3]!;
      candidates.push({ classId: best, score, x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2 });
    }
  }
  return nms(candidates, o.iouThreshold, o.topK);
}
