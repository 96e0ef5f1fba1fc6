/**
 * The converted model at the original's input size equals the original: the same real photos through the TF.js
 * graph model (pure-JS CPU backend) and through models/centernet-coco-512.onnx (onnxruntime-node). (The default,
 * the same graph at 416×416, is held to the original's detections in test/model-agreement.test.ts.)
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { convertTfjsToOnnx } from '../scripts/tfjs2onnx/convert.ts';
import { loadTfjsGraphModel } from '../scripts/tfjs2onnx/tfjs-model.ts';
import { decodeCenternet } from '../src/inference/adapters/centernet.ts';
import { feedShape, type ModelManifest } from '../src/inference/manifest.ts';
import { fullManifest, fullOnnx, humanModelJson, rgbFixture } from './helpers/fixtures.ts';
import { runTfjsModel } from './helpers/tfjs-reference.ts';

const manifest = JSON.parse(readFileSync(fullManifest, 'utf8')) as ModelManifest;
const TF_OUTPUTS = ['tower_0/keypoints', 'tower_0/wh', 'tower_0/detections'];

interface Det { classId: number; score: number; x1: number; y1: number; x2: number; y2: number }
const fromTfDetections = (d: Float32Array, n: number): Det[] =>
  Array.from({ length: n }, (_, i) => ({
    x1: d[i * 6]!, y1: d[i * 6 + 1]!, x2: d[i * 6 + 2]!, y2: d[i * 6 + 3]!, score: d[i * 6 + 4]!, classId: d[i * 6 + 5]!,
  }));

function expectSameDetections(actual: Det[], expected: Det[]) {
  expect(actual.length).toBe(expected.length);
  for (const [i, e] of expected.entries()) {
    const a = actual[i]!;
    expect(a.classId, `detection ${i} class`).toBe(e.classId);
    expect(Math.abs(a.score - e.score), `detection ${i} score`).toBeLessThanOrEqual(1e-3);
    for (const k of ['x1', 'y1', 'x2', 'y2'] as const)
      expect(Math.abs(a[k] - e[k]), `detection ${i} ${k}`).toBeLessThanOrEqual(1);
  }
}

describe.each([
  ['messi5-512.rgb', 'sports ball'],
  ['vtest-f100-512.rgb', 'person'],
])('512×512 model parity on %s', (fixture, topLabel) => {
  const input = rgbFixture(fixture);
  let tf: Awaited<ReturnType<typeof runTfjsModel>>;
  let onnx: ort.InferenceSession.OnnxValueMapType;

  beforeAll(async () => {
    tf = await runTfjsModel(humanModelJson, { data: input, shape: [1, 512, 512, 3] }, TF_OUTPUTS);
    const session = await ort.InferenceSession.create(fullOnnx);
    onnx = await session.run({ [manifest.input.name]: new ort.Tensor('float32', input, feedShape(manifest)) });
    await session.release();
  }, 120_000);

  it('heatmap matches within 1e-3 (NHWC original vs NCHW converted)', () => {
    const ref = tf.get('tower_0/keypoints')!.data;
    const got = onnx.keypoints!.data as Float32Array;
    expect(onnx.keypoints!.dims).toEqual([1, 80, 128, 128]);
    let max = 0;
    for (let y = 0; y < 128; y++)
      for (let x = 0; x < 128; x++)
        for (let c = 0; c < 80; c++)
          max = Math.max(max, Math.abs(ref[(y * 128 + x) * 80 + c]! - got[(c * 128 + y) * 128 + x]!));
    expect(max).toBeLessThanOrEqual(1e-3);
    // and the heatmap is not trivially flat
    expect(Math.max(...got.subarray(0, 128 * 128))).toBeGreaterThan(0.3);
  });

  it('size head matches within 1e-2 input pixels', () => {
    const ref = tf.get('tower_0/wh')!.data;
    const got = onnx.wh!.data as Float32Array;
    let max = 0;
    for (let y = 0; y < 128; y++)
      for (let x = 0; x < 128; x++)
        for (let c = 0; c < 4; c++) max = Math.max(max, Math.abs(ref[(y * 128 + x) * 4 + c]! - got[(c * 128 + y) * 128 + x]!));
    expect(max).toBeLessThanOrEqual(1e-2);
  });

  it('TypeScript decoding of the ONNX heads gives the original top-10 detections', () => {
    const expected = fromTfDetections(tf.get('tower_0/detections')!.data, 10);
    const decode = manifest.decode as { stride: number };
    const got = decodeCenternet(
      { heatmap: onnx.keypoints!.data as Float32Array, sizes: onnx.wh!.data as Float32Array, classes: 80, height: 128, width: 128 },
      { stride: decode.stride, topK: 10, minScore: 0.05 },
    );
    expectSameDetections(got, expected);
    expect(manifest.labels[got[0]!.classId]).toBe(topLabel);
    expect(got[0]!.score).toBeGreaterThan(0.5);
  });

  it('the whole graph, post-processing ops included (TopK, Gather, FloorDiv, StridedSlice…), converts to the same detections', async () => {
    const model = await loadTfjsGraphModel(humanModelJson);
    const full = convertTfjsToOnnx(model, { outputs: ['tower_0/detections'], rename: { 'tower_0/images': 'images', 'tower_0/detections': 'detections' } });
    expect(full.tfOps).toMatchObject({ TopKV2: 1, GatherV2: 1, FloorDiv: 3, FloorMod: 2, StridedSlice: 4, Equal: 1, MaxPool: 1 });
    const session = await ort.InferenceSession.create(full.onnx);
    const out = await session.run({ images: new ort.Tensor('float32', input, [1, 512, 512, 3]) });
    await session.release();
    expectSameDetections(fromTfDetections(out.detections!.data as Float32Array, 100), fromTfDetections(tf.get('tower_0/detections')!.data, 100));
  }, 60_000);
});
