/**
 * CenterNet decoding: peaks of the class heatmap (3×3 local maxima, as TF's MaxPool-and-Equal does),
 * the top K by score, and a box from the size head at each peak. Pure function over plain arrays.
 */

export interface CenternetHeads {
  /** Class heatmap after sigmoid, NCHW [1, C, H, W]. */
  heatmap: Float32Array;
  /** Box distances (left, top, right, bottom) in input pixels, NCHW [1, 4, H, W]. */
  sizes: Float32Array;
  classes: number;
  height: number;
  width: number;
}

export interface CenternetOptions {
  /** Input pixels per heatmap cell. */
  stride: number;
  /** At most this many detections, best first. */
  topK: number;
  /** Peaks scoring below this are not considered (keeps decoding cheap; 0 keeps all). */
  minScore: number;
}

/** A detection in model-input pixels: x1, y1, x2, y2. */
export interface RawDetection {
  classId: number;
  score: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export function decodeCenternet(heads: CenternetHeads, options: CenternetOptions): RawDetection[] {
  const { heatmap, sizes, classes: C, height: H, width: W } = heads;
  const plane = H * W;
  if (heatmap.length !== C * plane) throw new RangeError(`heatmap has ${heatmap.length} values, expected ${C * plane}`);
  if (sizes.length !== 4 * plane) throw new RangeError(`size head has ${sizes.length} values, expected ${4 * plane}`);
  const { topK, minScore, stride } = options;
  // candidate peaks: (score, TF flat index (y*W + x)*C + c) — ties break to the lower index, as TF's TopK
  const scores: number[] = [];
  const order: number[] = [];
  for (let c = 0; c < C; c++) {
    const base = c * plane;
    for (let y = 0; y < H; y++) {
      const row = base + y * W;
      for (let x = 0; x < W; x++) {
        const v = heatmap[row + x]!;
        if (!(v >= minScore)) continue;
        let peak = true;
        for (let dy = -1; dy <= 1 && peak; dy++) {
          const yy = y + dy;
          if (yy < 0 || yy >= H) continue;
          const r = base + yy * W;
          for (let dx = -1; dx <= 1; dx++) {
            const xx = x + dx;
            if (xx >= 0 && xx < W && heatmap[r + xx]! > v) {
              peak = false;
              break;
            }
          }
        }
        if (peak) {
          scores.push(v);
          order.push((y * W + x) * C + c);
        }
      }
    }
  }
  const idx = scores.map((_, i) => i);
  idx.sort((a, b) => scores[b]! - scores[a]! || order[a]! - order[b]!);
  const out: RawDetection[] = [];
  for (const i of idx.slice(0, topK)) {
    const flat = order[i]!;
    const classId = flat % C;
    const cell = (flat - classId) / C;
    const x = cell % W;
    const y = (cell - x) / W;
    const cx = x * stride;
    const cy = y * stride;
    out.push({
      classId,
      score: scores[i]!,
      x1: cx - sizes[cell]!,
      y1: cy - sizes[plane + cell]!,
      x2: cx + sizes[2 * plane + cell]!,
      y2: cy + sizes[3 * plane + cell]!,
    });
  }
  return out;
}
