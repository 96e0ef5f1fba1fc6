/**
 * The default model (the original graph at a 416×416 input, 0.66× the work) against the original's own size
 * (models/centernet-coco-512.onnx, equal to the original: test/model-parity.test.ts) on real frames: 40 vtest
 * frames spread over the whole clip and the two opencv-doc photos. Of the original's detections scoring ≥ 0.3,
 * ≥ 95 % must be found by the default too (same class, IoU ≥ 0.5, boxes compared in frame coordinates), and its
 * mean confidence on vtest must stay close to the original's.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCenternet, type RawDetection } from '../src/inference/adapters/centernet.ts';
import { defaultOnnx, fixturePath, fullOnnx } from './helpers/fixtures.ts';

const FRAMES = (size: number) => [`vtest-every20-${size}.rgb`, `messi5-${size}.rgb`, `basketball1-${size}.rgb`];

function load(size: number): { frames: Float32Array[]; vtest: number } {
  const frames: Float32Array[] = [];
  let vtest = 0;
  for (const name of FRAMES(size)) {
    const raw = readFileSync(fixturePath(name));
    const n = size * size * 3;
    for (let o = 0; o + n <= raw.length; o += n) frames.push(Float32Array.from(raw.subarray(o, o + n)));
    if (name.startsWith('vtest')) vtest = frames.length;
  }
  return { frames, vtest };
}

type Det = RawDetection & { n: [number, number, number, number] };
async function detect(model: string, size: number): Promise<{ dets: Det[][]; vtest: number }> {
  const { frames, vtest } = load(size);
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 2 });
  const dets: Det[][] = [];
  const cells = size / 4;
  for (const f of frames) {
    const o = await session.run({ images: new ort.Tensor('float32', f, [1, size, size, 3]) });
    const raw = decodeCenternet({ heatmap: o.keypoints!.data as Float32Array, sizes: o.wh!.data as Float32Array, classes: 80, height: cells, width: cells }, { stride: 4, topK: 100, minScore: 0.05 });
    dets.push(raw.map((d) => ({ ...d, n: [d.x1 / size, d.y1 / size, d.x2 / size, d.y2 / size] })));
  }
  await session.release();
  return { dets, vtest };
}

const iou = (a: Det['n'], b: Det['n']) => {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const i = w * h;
  return i / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i);
};

describe('the default model (416×416) against the original size (512×512) on vtest and the photos', () => {
  let ref: Awaited<ReturnType<typeof detect>>;
  let got: Awaited<ReturnType<typeof detect>>;
  beforeAll(async () => {
    ref = await detect(fullOnnx, 512);
    got = await detect(defaultOnnx, 416);
  }, 180_000);

  it('finds ≥ 95 % of the original detections scoring ≥ 0.3 (same class, IoU ≥ 0.5)', () => {
    let n = 0, found = 0, foundAbove = 0;
    for (const [i, frame] of ref.dets.entries())
      for (const d of frame.filter((d) => d.score >= 0.3)) {
        n++;
        const best = got.dets[i]!.filter((g) => g.classId === d.classId && iou(d.n, g.n) >= 0.5).sort((a, b) => b.score - a.score)[0];
        if (best) found++;
        if (best && best.score >= 0.2) foundAbove++;
      }
    const agreement = found / n;
    console.log(`model agreement: ${found}/${n} = ${(agreement * 100).toFixed(1)} % of the original's detections ≥ 0.3 found (${((foundAbove / n) * 100).toFixed(1)} % at ≥ 0.2)`);
    expect(n).toBeGreaterThan(200); // real content: people in every vtest frame, the photos' people and balls
    expect(agreement).toBeGreaterThanOrEqual(0.95);
  });

  it('keeps its mean confidence on vtest within 0.02 of the original', () => {
    const mean = (d: Det[][]) => {
      const s = d.slice(0, ref.vtest).flat().filter((x) => x.score >= 0.3);
      return s.reduce((a, x) => a + x.score, 0) / s.length;
    };
    const [a, b] = [mean(ref.dets), mean(got.dets)];
    console.log(`mean confidence of detections ≥ 0.3 on vtest: original size ${a.toFixed(3)}, default ${b.toFixed(3)}`);
    expect(Math.abs(a - b)).toBeLessThanOrEqual(0.02);
  });
});
