/**
 * Near-duplicate suppression for flagged frames: a 64-bit difference hash of the scene thumbnail, and a
 * comparison of the model's output, so a still scene is kept once rather than every few seconds.
 */
import { matchBoxes } from '../types/boxes.ts';

/**
 * Cell i of n over `len` pixels, in units of 1/n pixel (pixel p spans [p·n, (p + 1)·n), the cell
 * [i·len, (i + 1)·len)): the first pixel it overlaps and the integer overlaps, so a flat image gives
 * exactly equal cells.
 */
function cellWeights(i: number, n: number, len: number): [number, number[]] {
  const start = i * len, end = (i + 1) * len;
  const first = Math.floor(start / n), weights: number[] = [];
  for (let p = first; p * n < end; p++) weights.push(Math.min(end, (p + 1) * n) - Math.max(start, p * n));
  return [first, weights];
}

/** 64-bit dHash of a row-major grayscale image (>= 9×8): area-averaged to 9×8, bit = pixel > right neighbour, row by row, as 16 lower-case hex digits. */
export function dhash64(gray: ArrayLike<number>, width: number, height: number): string {
  if (!(width >= 9 && height >= 8 && gray.length >= width * height)) throw new RangeError(`dhash64 needs at least 9×8 pixels (got ${width}×${height}, ${gray.length} values)`);
  const cols = Array.from({ length: 9 }, (_, x) => cellWeights(x, 9, width));
  const cells: number[] = []; // 9×8 weighted sums over equal areas: comparing sums compares means
  for (let y = 0; y < 8; y++) {
    const [y0, wy] = cellWeights(y, 8, height);
    for (const [x0, wx] of cols) {
      let s = 0;
      wy.forEach((a, j) => wx.forEach((b, i) => (s += a * b * gray[(y0 + j) * width + x0 + i]!)));
      cells.push(s);
    }
  }
  // brighter by more than float rounding (exact for integer pixels; this keeps flat float images flat too)
  const brighter = (l: number, r: number) => l - r > 1e-9 * (Math.abs(l) + Math.abs(r));
  const halves = [0, 0];
  for (let y = 0; y < 8; y++)
    for (let x = 0; x < 8; x++) {
      const h = y >> 2;
      halves[h] = ((halves[h]! << 1) | (brighter(cells[y * 9 + x]!, cells[y * 9 + x + 1]!) ? 1 : 0)) >>> 0;
    }
  return halves.map((h) => h.toString(16).padStart(8, '0')).join('');
}

const popcount = (x: number) => {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
};

/** Number of differing bits between two 16-hex-digit hashes. */
export function hamming(a: string, b: string): number {
  if (!/^[0-9a-f]{16}$/i.test(a) || !/^[0-9a-f]{16}$/i.test(b)) throw new RangeError(`hamming needs two 16-hex-digit hashes (got '${a}', '${b}')`);
  const half = (s: string, i: number) => parseInt(s.slice(i * 8, i * 8 + 8), 16);
  return popcount((half(a, 0) ^ half(b, 0)) >>> 0) + popcount((half(a, 1) ^ half(b, 1)) >>> 0);
}

type Boxed = { readonly classId: number; readonly box: readonly [number, number, number, number] };

export { iou } from '../types/boxes.ts';

/** Same number of detections per class, matched one-to-one (greedily, best IoU first) with IoU >= minIou within each class. */
export function sameDetections(a: readonly Boxed[], b: readonly Boxed[], minIou = 0.5): boolean {
  return a.length === b.length && matchBoxes(a, b, minIou).length === a.length;
}

interface Entry { id: string; hash: string; detections: Boxed[]; t: number }

/** Recently kept frames per key (a camera), to find a new frame's near-duplicate: a similar picture with the same output. */
export class NearDuplicates {
  /** Most entries held per key (oldest dropped first). */
  static readonly MAX_PER_KEY = 500;
  readonly maxDistance: number;
  readonly windowMs: number;
  #byKey = new Map<string, Entry[]>();

  constructor({ maxDistance = 6, windowMs = 10 * 60_000 }: { maxDistance?: number; windowMs?: number } = {}) {
    this.maxDistance = maxDistance;
    this.windowMs = windowMs;
  }

  /** The key's entries after dropping those more than windowMs older than t. */
  #recent(key: string, t: number): Entry[] {
    const kept = (this.#byKey.get(key) ?? []).filter((e) => e.t >= t - this.windowMs);
    if (kept.length) this.#byKey.set(key, kept);
    else this.#byKey.delete(key);
    return kept;
  }

  /** The closest entry under key at most windowMs older than t whose hash is within maxDistance and whose detections are the same. */
  find(key: string, hash: string, detections: readonly Boxed[], t: number): { id: string; distance: number } | undefined {
    let best: { id: string; distance: number } | undefined;
    for (const e of this.#recent(key, t)) {
      const distance = hamming(hash, e.hash);
      if (distance <= this.maxDistance && (!best || distance <= best.distance) && sameDetections(detections, e.detections)) best = { id: e.id, distance };
    }
    return best;
  }

  /** Remembers a kept frame under key. */
  add(key: string, id: string, hash: string, detections: readonly Boxed[], t: number): void {
    const entries = this.#recent(key, t);
    entries.push({ id, hash, t, detections: detections.map((d) => ({ classId: d.classId, box: [d.box[0], d.box[1], d.box[2], d.box[3]] })) });
    if (entries.length > NearDuplicates.MAX_PER_KEY) entries.splice(0, entries.length - NearDuplicates.MAX_PER_KEY);
    this.#byKey.set(key, entries);
  }

  /** Forgets a frame (deleted or evicted). */
  remove(id: string): void {
    for (const [key, entries] of this.#byKey) {
      const kept = entries.filter((e) => e.id !== id);
      if (kept.length) this.#byKey.set(key, kept);
      else this.#byKey.delete(key);
    }
  }
}
