/**
 * Each adapter on small ONNX models built here with known outputs, run by onnxruntime-node:
 * YOLO v8/v11 ([1, 4+nc, N]) and v5 ([1, N, 5+nc]) with NMS, classification (logits and probabilities),
 * CenterNet through the manifest path — and every malformed-output case.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { OnnxGraph } from '../scripts/tfjs2onnx/onnx-graph.ts';
import { decodeOutputs, type OutputTensor, firstNonFinite } from '../src/inference/adapters/index.ts';
import { nms, yoloFormat } from '../src/inference/adapters/yolo.ts';
import { parseManifest, type ModelManifest } from '../src/inference/manifest.ts';
import { fitFrame } from '../src/capture/preprocess.ts';

/** An ONNX model that ignores its image input and returns fixed outputs (input × 0 + constant). */
async function fixedOutputModel(outputs: Record<string, { dims: number[]; data: number[] }>) {
  const g = new OnnxGraph();
  g.input('images', 'float32', [1, 8, 8, 3]);
  const zero = g.unique('zero');
  g.initializer(zero, 'float32', [], [0]);
  const sum = g.unique('sum');
  g.node('ReduceSum', ['images'], [sum], { keepdims: 0 });
  const z = g.unique('z');
  g.node('Mul', [sum, zero], [z]);
  for (const [name, t] of Object.entries(outputs)) {
    const c = g.unique(`${name}_const`);
    g.initializer(c, 'float32', t.dims, t.data);
    g.node('Add', [c, z], [name]);
    g.output(name, 'float32', t.dims);
  }
  const session = await ort.InferenceSession.create(g.encode({ graphName: 'fixed', producer: 'test' }));
  const out = await session.run({ images: new ort.Tensor('float32', new Float32Array(8 * 8 * 3), [1, 8, 8, 3]) });
  const result: Record<string, OutputTensor> = {};
  for (const [k, v] of Object.entries(out)) result[k] = { data: v.data as Float32Array, dims: v.dims };
  return result;
}

function manifest(adapter: ModelManifest['adapter'], labels: string[], outputs: ModelManifest['outputs'], decode = {}, resize: 'stretch' | 'letterbox' = 'stretch') {
  return parseManifest({
    schema: 1, id: 't', name: 't', file: 't.onnx', sha256: 'a'.repeat(64),
    input: { name: 'images', shape: [1, 640, 640, 3], dtype: 'float32', layout: 'NHWC', channels: 'RGB', resize, normalization: { scale: 255, mean: [0, 0, 0], std: [1, 1, 1] } },
    outputs, adapter, decode, labels,
  });
}
const frame = (w: number, h: number, resize: 'stretch' | 'letterbox' = 'stretch') => ({
  width: w, height: h, fit: fitFrame(w, h, 640, 640, resize), inputWidth: 640, inputHeight: 640,
});

describe('yolo adapter', () => {
  const labels = ['person', 'car', 'dog'];
  it('v8/v11 [1, 4+nc, N]: best class per anchor, threshold, per-class NMS, letterboxed back to the frame', async () => {
    // 4 anchors: two overlapping persons (NMS keeps the better), a car, and one under threshold
    const anchors = [
      [320, 320, 100, 200, 0.9, 0.1, 0.0],
      [325, 322, 100, 200, 0.8, 0.1, 0.0],
      [100, 400, 80, 40, 0.05, 0.7, 0.1],
      [500, 500, 50, 50, 0.1, 0.1, 0.2],
    ];
    const n = anchors.length;
    const data = new Array(7 * n).fill(0);
    anchors.forEach((a, i) => a.forEach((v, r) => (data[r * n + i] = v)));
    const out = await fixedOutputModel({ output0: { dims: [1, 7, n], data } });
    const m = manifest('yolo', labels, [{ name: 'output0', shape: [1, 7, n] }], { iou: 0.45 }, 'letterbox');
    const r = decodeOutputs(m, out, frame(1280, 640, 'letterbox'), 0.25);
    expect(r.malformed).toBeUndefined();
    expect(r.detections.map((d) => [d.label, +d.score.toFixed(2)])).toEqual([['person', 0.9], ['car', 0.7]]);
    // letterbox: 1280×640 → 640×320 at y offset 160; person box (270,220)-(370,420) → ×2, y-160
    const [x, y, w, h] = r.detections[0]!.box;
    expect([x, y, w, h].map((v) => Math.round(v))).toEqual([540, 120, 200, 400]);
  });

  it('v5 [1, N, 5+nc]: objectness × class score', async () => {
    const rows = [
      [100, 100, 20, 20, 0.9, 0.1, 0.8, 0.1], // car 0.72
      [300, 300, 40, 40, 0.4, 0.9, 0.0, 0.0], // person 0.36
      [400, 400, 40, 40, 0.2, 0.9, 0.0, 0.0], // 0.18: under threshold
    ];
    const out = await fixedOutputModel({ output0: { dims: [1, 3, 8], data: rows.flat() } });
    const r = decodeOutputs(manifest('yolo', labels, [{ name: 'output0' }]), out, frame(640, 640), 0.25);
    expect(r.detections.map((d) => [d.label, +d.score.toFixed(2)])).toEqual([['car', 0.72], ['person', 0.36]]);
  });

  it('recognises the export by shape, and says why an output fits neither', () => {
    expect(yoloFormat([1, 84, 8400], 80)).toBe('v8');
    expect(yoloFormat([1, 25200, 85], 80)).toBe('v5');
    expect(() => yoloFormat([1, 10, 10], 80)).toThrow(/neither/);
  });

  it('NMS keeps overlapping boxes of different classes', () => {
    const a = { classId: 0, score: 0.9, x1: 0, y1: 0, x2: 10, y2: 10 };
    expect(nms([a, { ...a, score: 0.8 }, { ...a, classId: 1, score: 0.7 }], 0.5, 10).map((d) => d.score)).toEqual([0.9, 0.7]);
  });
});

describe('classification adapter', () => {
  const labels = ['ok', 'scratch', 'dent'];
  it('logits get a softmax; probabilities pass through; top-K best first over the whole frame', async () => {
    const logits = await fixedOutputModel({ probs: { dims: [1, 3], data: [1, 3, 2] } });
    const r = decodeOutputs(manifest('classification', labels, [{ name: 'probs', shape: [1, 3] }], { topK: 2 }), logits, frame(320, 240), 0);
    const z = Math.exp(1) + Math.exp(3) + Math.exp(2);
    expect(r.detections.map((d) => d.label)).toEqual(['scratch', 'dent']);
    expect(r.detections[0]!.score).toBeCloseTo(Math.exp(3) / z, 5);
    expect(r.detections[0]!.box).toEqual([0, 0, 320, 240]);
    const probs = await fixedOutputModel({ probs: { dims: [1, 3], data: [0.2, 0.5, 0.3] } });
    const p = decodeOutputs(manifest('classification', labels, [{ name: 'probs' }], { topK: 1 }), probs, frame(320, 240), 0);
    expect(p.detections[0]).toMatchObject({ label: 'scratch', score: expect.closeTo(0.5, 6) });
  });
});

describe('malformed outputs are marked with a reason, never dropped silently', () => {
  const labels = ['a', 'b'];
  const m = manifest('yolo', labels, [{ name: 'output0', shape: [1, 6, 2] }]);
  it.each([
    ['NaN', { output0: { dims: [1, 6, 2], data: [1, 1, 1, 1, NaN, 0, 0, 0, 0, 0, 0, 0] } }, /non-finite value \(NaN\)/],
    ['Infinity', { output0: { dims: [1, 6, 2], data: [1, 1, 1, 1, Infinity, 0, 0, 0, 0, 0, 0, 0] } }, /non-finite value \(Infinity\)/],
    ['wrong shape', { output0: { dims: [1, 6, 3], data: new Array(18).fill(0) } }, /shape \[1,6,3\], expected \[1,6,2\]/],
    ['empty tensor', { output0: { dims: [1, 6, 0], data: [] } }, /is empty/],
    ['missing output', { other: { dims: [1], data: [0] } }, /output 'output0' is missing/],
    ['box out of frame', { output0: { dims: [1, 6, 2], data: [2000, 100, 100, 100, 50, 50, 50, 50, 0.9, 0, 0, 0] } }, /box out of frame/],
  ])('%s', async (_name, outputs, reason) => {
    const out = await fixedOutputModel(outputs as Record<string, { dims: number[]; data: number[] }>);
    const r = decodeOutputs(m, out, frame(640, 640), 0.25);
    expect(r.malformed).toMatch(reason);
  });

  it('centernet with a heatmap whose class count disagrees with the labels', async () => {
    const cm = parseManifest({ ...manifest('centernet', ['x', 'y', 'z'], [{ name: 'keypoints' }, { name: 'wh' }]), decode: { heatmap: 'keypoints', sizes: 'wh', stride: 4 } });
    const out = await fixedOutputModel({ keypoints: { dims: [1, 2, 4, 4], data: new Array(32).fill(0.1) }, wh: { dims: [1, 4, 4, 4], data: new Array(64).fill(1) } });
    expect(decodeOutputs(cm, out, frame(640, 640), 0.3).malformed).toMatch(/2 classes, the manifest 3 labels/);
  });
});

describe('firstNonFinite (every output is checked on every frame)', () => {
  it('finds the first NaN or ±Infinity wherever it is — in any of the four running sums or the tail — and -1 when there is none', () => {
    for (const len of [0, 1, 3, 4, 7, 8, 1001]) {
      const d = Float32Array.from({ length: len }, (_, i) => Math.sin(i) * 1e30);
      expect(firstNonFinite(d)).toBe(-1);
      for (const bad of [NaN, Infinity, -Infinity])
        for (let at = 0; at < len; at += Math.max(1, Math.floor(len / 9))) {
          const e = d.slice();
          e[at] = bad;
          if (at + 2 < len) e[at + 2] = NaN; // a later one does not hide the first
          expect(firstNonFinite(e), `${bad} at ${at} of ${len}`).toBe(at);
        }
    }
    // huge but finite values: x·0 stays 0, no false alarm
    expect(firstNonFinite(Float32Array.of(3.4e38, -3.4e38, 1e-45, -0))).toBe(-1);
  });
});
