/**
 * Bring your own model (src/manifest-cli): the ONNX reader, label files, the manifest guess and the CLI — on real
 * ONNX files (the default model, and two models written with onnx-proto and run by onnxruntime-node).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeOutputs } from '../src/inference/adapters/index.ts';
import { decodeYolo } from '../src/inference/adapters/yolo.ts';
import { feedShape, parseManifest } from '../src/inference/manifest.ts';
import { fitFrame } from '../src/capture/preprocess.ts';
import { main } from '../src/manifest-cli/cli.ts';
import { GuessError, guessManifest } from '../src/manifest-cli/guess.ts';
import { LabelsError, parseDataYaml, parseFlow, parseLabels } from '../src/manifest-cli/labels.ts';
import { OnnxFormatError, readOnnx } from '../src/manifest-cli/onnx-info.ts';
import { CLASSIFIER_LABELS, classifierOnnx, DETECTOR_LABELS, detectorOnnx, writeByoModels } from './helpers/byo-models.ts';

const root = join(import.meta.dirname, '..');
let dir: string;
let files: ReturnType<typeof writeByoModels>;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'byo-'));
  files = writeByoModels(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, bytes: Uint8Array) => ({ name, sha256: 'a'.repeat(64), bytes: bytes.length });

/** A model with one input and one output of these shapes (for shape-only guesses). */
function shaped(input: (number | string)[], outputs: (number | string)[][], opts: { inputType?: number; metadata?: Record<string, string>; inputs?: number } = {}) {
  const { onnx } = onnxProto;
  const io = (name: string, dims: (number | string)[], t = onnx.TensorProto.DataType.FLOAT) => ({ name, type: { tensorType: { elemType: t, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } });
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      producerName: 'shape-test',
      metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: 'g',
        input: Array.from({ length: opts.inputs ?? 1 }, (_, i) => io(i ? `extra${i}` : 'x', input, opts.inputType)),
        output: outputs.map((o, i) => io(`y${i}`, o)),
        node: [],
      },
    }),
  ).finish();
}

describe('readOnnx', () => {
  it('reads the default model: its input, outputs, opset and producer, without the weights', () => {
    const info = readOnnx(readFileSync(join(root, 'models', 'centernet-coco.onnx')));
    expect(info.inputs).toEqual([{ name: 'images', dtype: 'float32', shape: [1, 416, 416, 3] }]);
    expect(info.outputs.map((o) => [o.name, o.shape])).toEqual([['keypoints', [1, 80, 104, 104]], ['wh', [1, 4, 104, 104]]]);
    expect(info.opsets['']).toBeGreaterThanOrEqual(13);
    expect(info.initializers).toBeGreaterThan(50);
    expect(info.ops).toContain('Conv');
  });

  it('reads symbolic dimensions, uint8 inputs and metadata', () => {
    const c = readOnnx(classifierOnnx());
    expect(c.inputs).toEqual([{ name: 'pixels', dtype: 'uint8', shape: ['N', 224, 224, 3] }]);
    expect(c.outputs).toEqual([{ name: 'probs', dtype: 'float32', shape: ['N', 4] }]);
    expect(c.metadata.description).toMatch(/classifier/);
    expect(readOnnx(shaped([-1, 3, 'height', 'width'], [[1, 84, 8400]])).inputs[0]!.shape).toEqual([null, 3, 'height', 'width']);
  });

  it('refuses what is not an ONNX model, saying why', () => {
    expect(() => readOnnx(new TextEncoder().encode('{"not": "onnx at all"}'))).toThrow(OnnxFormatError);
    expect(() => readOnnx(new Uint8Array(4))).toThrow(/too short/);
    const truncated = detectorOnnx().slice(0, 200);
    expect(() => readOnnx(truncated)).toThrow(OnnxFormatError);
  });
});

describe('labels', () => {
  it('reads labels.txt, data.yaml (flow list, block list, index map) and JSON', () => {
    expect(parseLabels('a\nb\r\nc\n\n', 'labels.txt')).toEqual(['a', 'b', 'c']);
    expect(parseDataYaml("nc: 2\nnames: ['car', 'van'] # two\n")).toEqual(['car', 'van']);
    expect(parseDataYaml('names:\n  - car\n  - "box truck"\nval: x\n')).toEqual(['car', 'box truck']);
    expect(parseDataYaml("path: x\nnames:\n  0: person\n  1: 'fork lift'\n  2: pallet  # wooden\n")).toEqual(['person', 'fork lift', 'pallet']);
    expect(parseLabels('{"0": "a", "1": "b"}', 'l.json')).toEqual(['a', 'b']);
    expect(parseLabels('["a", "b"]', 'l.json')).toEqual(['a', 'b']);
    expect(parseFlow("{0: 'person', 1: 'bicycle, red'}", 'metadata')).toEqual(['person', 'bicycle, red']);
  });

  it('names the line or class at fault', () => {
    expect(() => parseLabels('a\n\nb\n', 'labels.txt')).toThrow(/labels.txt:2: an empty label/);
    expect(() => parseDataYaml('names:\n  0: a\n  2: c\n')).toThrow(/class 1 has no name/);
    expect(() => parseDataYaml('nc: 3\n')).toThrow(/no top-level 'names:'/);
    expect(() => parseLabels('{"x": 1}', 'l.json')).toThrow(LabelsError);
  });
});

describe('guessManifest', () => {
  it('the detector: YOLOv8 [batch, 4+3, 100] with data.yaml labels → yolo, letterbox, /255, dynamic batch kept', () => {
    const bytes = detectorOnnx();
    const { manifest, notes } = guessManifest(readOnnx(bytes), file('detector.onnx', bytes), { labels: parseLabels(readFileSync(files.dataYaml, 'utf8'), 'data.yaml'), labelsFrom: 'data.yaml' });
    expect(manifest.adapter).toBe('yolo');
    expect(manifest.labels).toEqual(DETECTOR_LABELS);
    expect(manifest.input).toMatchObject({ name: 'images', shape: ['batch', 3, 320, 320], layout: 'NCHW', dtype: 'float32', resize: 'letterbox', pad: 114, normalization: { scale: 255, mean: [0, 0, 0], std: [1, 1, 1] } });
    expect(manifest.outputs).toEqual([{ name: 'output0', shape: ['batch', 7, 100] }]);
    expect(notes.join('\n')).toMatch(/batch dimension batch is dynamic/);
    expect(feedShape(parseManifest(manifest))).toEqual([1, 3, 320, 320]);
  });

  it('the classifier: uint8 NHWC [N, 224, 224, 3] → [N, 4] → classification, raw pixels, labels.txt', () => {
    const bytes = classifierOnnx();
    const { manifest } = guessManifest(readOnnx(bytes), file('classifier.onnx', bytes), { labels: CLASSIFIER_LABELS });
    expect(manifest.adapter).toBe('classification');
    expect(manifest.input).toMatchObject({ shape: ['N', 224, 224, 3], layout: 'NHWC', dtype: 'uint8', resize: 'stretch', normalization: { scale: 1 } });
    expect(() => guessManifest(readOnnx(bytes), file('c.onnx', bytes), { labels: CLASSIFIER_LABELS, normalize: 'imagenet' })).toThrow(/uint8 .* leave --normalize out/);
  });

  it('tells YOLO v5 from v8, reads NMS-in-graph outputs, Ultralytics metadata names and COCO by count', () => {
    const v5 = shaped([1, 3, 640, 640], [[1, 25200, 85]]);
    expect(guessManifest(readOnnx(v5), file('v5.onnx', v5)).manifest).toMatchObject({ adapter: 'yolo', decode: { iou: 0.45 }, labels: expect.arrayContaining(['person', 'toothbrush']) });
    const v8 = shaped(['batch', 3, 640, 640], [['batch', 84, 8400]]);
    expect(guessManifest(readOnnx(v8), file('v8.onnx', v8)).manifest.labels).toHaveLength(80);
    const nms = shaped([1, 3, 640, 640], [[1, 300, 6]], { metadata: { names: "{0: 'pallet', 1: 'forklift'}", task: 'detect' } });
    const g = guessManifest(readOnnx(nms), file('nms.onnx', nms)).manifest;
    expect(g).toMatchObject({ adapter: 'yolo', decode: { format: 'nms' }, labels: ['pallet', 'forklift'] });
    const cls = shaped([1, 3, 224, 224], [[1, 1000]]);
    expect(() => guessManifest(readOnnx(cls), file('cls.onnx', cls))).toThrow(/1000 classes .* --labels/);
  });

  it('names the option that settles what the file cannot say', () => {
    const square = shaped([1, 3, 3, 3], [[1, 84, 8400]]);
    expect(() => guessManifest(readOnnx(square), file('s.onnx', square))).toThrow(/--layout NCHW or --layout NHWC/);
    const dyn = shaped(['batch', 3, 'height', 'width'], [['batch', 84, 'anchors']]);
    expect(() => guessManifest(readOnnx(dyn), file('d.onnx', dyn))).toThrow(/--size WIDTHxHEIGHT/);
    expect(guessManifest(readOnnx(dyn), file('d.onnx', dyn), { size: { width: 640, height: 480 } }).manifest.input.shape).toEqual(['batch', 3, 480, 640]);
    const two = shaped([1, 3, 64, 64], [[1, 10]], { inputs: 2 });
    expect(() => guessManifest(readOnnx(two), file('t.onnx', two), { labels: Array.from({ length: 10 }, (_, i) => `c${i}`) })).toThrow(/--input NAME/);
    const odd = shaped([1, 3, 64, 64], [[1, 2, 3, 4, 5]]);
    expect(() => guessManifest(readOnnx(odd), file('o.onnx', odd))).toThrow(/--adapter yolo\|centernet\|classification/);
    const bytes = detectorOnnx();
    expect(() => guessManifest(readOnnx(bytes), file('d.onnx', bytes), { labels: ['a', 'b'] })).toThrow(/name 2 classes, the model's output \[batch, 7, 100\] has 3/);
    expect(() => guessManifest(readOnnx(bytes), file('d.onnx', bytes), { adapter: 'classification', labels: DETECTOR_LABELS })).toThrow(GuessError);
  });
});

describe('the models run as their manifests say (onnxruntime-node)', () => {
  it('the detector finds its classes where the image has them; decodeOutputs reads them through the guessed manifest', async () => {
    const bytes = detectorOnnx();
    const m = parseManifest(guessManifest(readOnnx(bytes), file('detector.onnx', bytes), { labels: DETECTOR_LABELS }).manifest);
    const session = await ort.InferenceSession.create(bytes);
    // left half bright (0.9), right half dark (0.1), NCHW 320×320, pixels/255
    const x = new Float32Array(3 * 320 * 320);
    for (let c = 0; c < 3; c++) for (let y = 0; y < 320; y++) for (let i = 0; i < 320; i++) x[c * 320 * 320 + y * 320 + i] = i < 160 ? 0.9 : 0.1;
    const out = await session.run({ images: new ort.Tensor('float32', x, feedShape(m)) });
    const o = out.output0!;
    expect(o.dims).toEqual([1, 7, 100]);
    const d = decodeOutputs(m, { output0: { data: o.data as Float32Array, dims: o.dims } }, { width: 320, height: 320, fit: fitFrame(320, 320, 320, 320, 'letterbox'), inputWidth: 320, inputHeight: 320 }, 0.5);
    expect(d.malformed).toBeUndefined();
    const light = d.detections.filter((x) => x.label === 'light');
    const shadow = d.detections.filter((x) => x.label === 'shadow');
    expect(light.length).toBeGreaterThan(0);
    expect(shadow.length).toBeGreaterThan(0);
    expect(light.every((x) => x.box[0] + x.box[2] / 2 < 160)).toBe(true);
    expect(shadow.every((x) => x.box[0] + x.box[2] / 2 > 160)).toBe(true);
    await session.release();
  });

  it('the classifier takes uint8 pixels and its [N, 4] output decodes to labelled classes', async () => {
    const bytes = classifierOnnx();
    const m = parseManifest(guessManifest(readOnnx(bytes), file('classifier.onnx', bytes), { labels: CLASSIFIER_LABELS }).manifest);
    const session = await ort.InferenceSession.create(bytes);
    const dark = new Uint8Array(224 * 224 * 3).fill(10);
    const out = (await session.run({ pixels: new ort.Tensor('uint8', dark, feedShape(m)) })).probs!;
    expect(out.dims).toEqual([1, 4]);
    const d = decodeOutputs(m, { probs: { data: out.data as Float32Array, dims: out.dims } }, { width: 640, height: 480, fit: fitFrame(640, 480, 224, 224, 'stretch'), inputWidth: 224, inputHeight: 224 }, 0.1);
    expect(d.detections[0]!.label).toBe('dark');
    await session.release();
  });

  it('YOLO with NMS in the graph: rows of x1, y1, x2, y2, score, class', () => {
    const rows = Float32Array.from([10, 20, 110, 220, 0.9, 1, 0, 0, 5, 5, 0.2, 0, 50, 50, 60, 60, 0.7, 0]);
    expect(decodeYolo(rows, [1, 3, 6], { classes: 2, scoreThreshold: 0.5, iouThreshold: 0.45, topK: 10, format: 'nms' })).toEqual([
      { classId: 1, score: expect.closeTo(0.9, 5), x1: 10, y1: 20, x2: 110, y2: 220 },
      { classId: 0, score: expect.closeTo(0.7, 5), x1: 50, y1: 50, x2: 60, y2: 60 },
    ]);
    expect(() => decodeYolo(Float32Array.from([0, 0, 1, 1, 0.9, 7]), [1, 1, 6], { classes: 2, scoreThreshold: 0.5, iouThreshold: 0.45, topK: 10, format: 'nms' })).toThrow(/class 7/);
  });
});

describe('the manifest CLI', () => {
  const run = (args: string[]) => {
    let out = '', err = '';
    const status = main(args, { out: (s) => (out += s), err: (s) => (err += s) });
    return { status, out, err };
  };

  it('writes model.json beside the model, which parseManifest loads; refuses to overwrite without --force', () => {
    const r = run([files.detector, '--labels', files.dataYaml]);
    expect(r.status, r.err).toBe(0);
    expect(r.out).toMatch(/wrote .*detector\.json\n {2}yolo, 3 classes; input images \[batch, 3, 320, 320\] NCHW float32 RGB, letterbox/);
    const written = JSON.parse(readFileSync(join(dir, 'detector.json'), 'utf8'));
    expect(parseManifest(written).sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(written.labels).toEqual(DETECTOR_LABELS);
    expect(run([files.detector, '--labels', files.dataYaml]).err).toMatch(/exists: --force to overwrite/);
    expect(run([files.detector, '--labels', files.dataYaml, '--force', '--bgr', '--pad', '0,0,0']).status).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'detector.json'), 'utf8')).input).toMatchObject({ channels: 'BGR', pad: [0, 0, 0] });
  });

  it('exit 1 with the option to give; exit 2 with usage for a bad command line', () => {
    const noLabels = run([files.classifier, '--print']);
    expect(noLabels.status).toBe(1);
    expect(noLabels.err).toMatch(/^manifest: the model has 4 classes .* --labels/);
    expect(run([join(dir, 'missing.onnx')]).err).toMatch(/no such file/);
    const notOnnx = join(dir, 'notes.onnx');
    writeFileSync(notOnnx, 'hello, this is text');
    expect(run([notOnnx]).status).toBe(1);
    const bad = run([files.detector, '--layout', 'CHW']);
    expect(bad.status).toBe(2);
    expect(bad.err).toMatch(/--layout CHW: expected NCHW \| NHWC/);
    expect(run([files.detector, '--size', 'big']).err).toMatch(/--size big: expected WIDTHxHEIGHT/);
    expect(run(['--help']).out).toMatch(/^usage: inference-monitor-manifest/);
    const printed = run([files.classifier, '--labels', files.labelsTxt, '--print', '--normalize', 'none']);
    expect(printed.status, printed.err).toBe(0);
    expect(JSON.parse(printed.out).input.dtype).toBe('uint8');
  });
});
