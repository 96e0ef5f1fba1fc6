import { describe, expect, it } from 'vitest';
import { decodeCenternet } from '../src/inference/adapters/centernet.ts';

/** Heads for C classes on an H×W grid, all zero unless set. */
function heads(C: number, H: number, W: number) {
  const heatmap = new Float32Array(C * H * W);
  const sizes = new Float32Array(4 * H * W);
  return {
    h: { heatmap, sizes, classes: C, height: H, width: W },
    heat: (c: number, y: number, x: number, v: number) => (heatmap[(c * H + y) * W + x] = v),
    size: (y: number, x: number, l: number, t: number, r: number, b: number) =>
      [l, t, r, b].forEach((v, k) => (sizes[k * H * W + y * W + x] = v)),
  };
}

describe('decodeCenternet', () => {
  it('keeps only 3×3 local maxima, per class, best first, with boxes from the size head', () => {
    const { h, heat, size } = heads(2, 8, 8);
    heat(0, 2, 2, 0.9);
    heat(0, 2, 3, 0.8); // suppressed: neighbour of a higher peak in the same class
    heat(1, 2, 3, 0.7); // kept: other class
    heat(0, 6, 6, 0.6);
    size(2, 2, 1, 2, 3, 4);
    const d = decodeCenternet(h, { stride: 4, topK: 10, minScore: 0.1 });
    expect(d.map((x) => [x.classId, x.score])).toEqual([
      [0, expect.closeTo(0.9, 6)],
      [1, expect.closeTo(0.7, 6)],
      [0, expect.closeTo(0.6, 6)],
    ]);
    expect(d[0]).toMatchObject({ x1: 8 - 1, y1: 8 - 2, x2: 8 + 3, y2: 8 + 4 });
  });

  it('treats equal neighbours as peaks (TF MaxPool+Equal) and breaks ties by TF flat index', () => {
    const { h, heat } = heads(3, 4, 4);
    heat(2, 1, 1, 0.5);
    heat(2, 1, 2, 0.5);
    heat(0, 3, 0, 0.5);
    const d = decodeCenternet(h, { stride: 1, topK: 10, minScore: 0.1 });
    // flat index (y*W+x)*C+c: (1,1,c2)=17, (1,2,c2)=20, (3,0,c0)=36
    expect(d.map((x) => [x.y1, x.x1, x.classId])).toEqual([
      [1, 1, 2],
      [1, 2, 2],
      [3, 0, 0],
    ]);
  });

  it('honours topK and minScore, and rejects heads of the wrong size', () => {
    const { h, heat } = heads(1, 6, 6);
    heat(0, 0, 0, 0.9);
    heat(0, 0, 3, 0.5);
    heat(0, 3, 0, 0.05);
    expect(decodeCenternet(h, { stride: 4, topK: 1, minScore: 0 })).toHaveLength(1);
    expect(decodeCenternet(h, { stride: 4, topK: 10, minScore: 0.1 })).toHaveLength(2);
    expect(() => decodeCenternet({ ...h, classes: 2 }, { stride: 4, topK: 1, minScore: 0 })).toThrow(/heatmap has 36 values/);
  });
});
