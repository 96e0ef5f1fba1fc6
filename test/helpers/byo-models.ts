/**
 * Two small "bring your own" models, written as real ONNX files with the ONNX project's own protobuf
 * definitions (onnx-proto), shaped as the exports teams bring:
 *
 * - a **detector** in YOLOv8's output format: input `images` [batch, 3, 320, 320] float32 (symbolic batch),
 *   output `output0` [batch, 4+3, 100] — a 10×10 grid of 64-px boxes (cx, cy, w, h) and 3 class scores per
 *   cell from the cell's mean colour (sigmoid of a 1×1 conv): `light`, `shadow`, `warm`. Its labels come in a
 *   YOLO `data.yaml`.
 * - a **classifier**: input `pixels` [N, 224, 224, 3] **uint8** NHWC (symbolic N), output `probs` [N, 4]
 *   (softmax over the image's mean colour through a 3×4 matrix): `bright`, `dim`, `dark`, `colourful`, in a
 *   `labels.txt`.
 *
 * Real graphs that onnxruntime runs, not stand-ins for it: what they detect is trivial, what they exercise
 * (shapes, dtypes, dynamic dimensions, the CLI, the manifest, the pipeline) is not.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const F = onnx.TensorProto.DataType.FLOAT, U8 = onnx.TensorProto.DataType.UINT8, I64 = onnx.TensorProto.DataType.INT64;

const dim = (d: number | string) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d });
const io = (name: string, type: number, dims: (number | string)[]) => ({ name, type: { tensorType: { elemType: type, shape: { dim: dims.map(dim) } } } });
const floats = (name: string, dims: number[], data: number[]) => ({ name, dataType: F, dims, rawData: new Uint8Array(Float32Array.from(data).buffer) });
const ints = (name: string, data: number[]) => ({ name, dataType: I64, dims: [data.length], rawData: new Uint8Array(BigInt64Array.from(data.map(BigInt)).buffer) });
const attr = (name: string, v: number | number[]) =>
  Array.isArray(v) ? { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v } : Number.isInteger(v) ? { name, type: onnx.AttributeProto.AttributeType.INT, i: v } : { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v };
const node = (opType: string, input: string[], output: string[], attribute: ReturnType<typeof attr>[] = []) => ({ opType, input, output, attribute, name: output[0] });

function encode(graph: object, metadata: Record<string, string> = {}): Uint8Array {
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      producerName: 'byo-test',
      producerVersion: '1',
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      graph,
    }),
  ).finish();
}

export const DETECTOR_LABELS = ['light', 'shadow', 'warm'];
export const CLASSIFIER_LABELS = ['bright', 'dim', 'dark', 'colourful'];

/** The YOLOv8-format detector (see above). */
export function detectorOnnx(): Uint8Array {
  const S = 320, cell = 32, G = S / cell, N = G * G, C = DETECTOR_LABELS.length;
  const grid: number[] = [];
  for (const k of [0, 1, 2, 3]) for (let i = 0; i < N; i++) grid.push(k === 0 ? (i % G) * cell + cell / 2 : k === 1 ? Math.floor(i / G) * cell + cell / 2 : 2 * cell);
  const weights = [10 / 3, 10 / 3, 10 / 3, -10 / 3, -10 / 3, -10 / 3, 12, -6, -6];
  return encode({
    name: 'byo-detector',
    input: [io('images', F, ['batch', 3, S, S])],
    output: [io('output0', F, ['batch', 4 + C, N])],
    initializer: [
      floats('w', [C, 3, 1, 1], weights),
      floats('b', [C], [-4.5, 3.5, -1.5]),
      floats('grid', [1, 4, N], grid),
      floats('zero', [], [0]),
      ints('scores_shape', [0, C, N]),
      ints('sum_axes', [1]),
    ],
    node: [
      node('AveragePool', ['images'], ['pooled'], [attr('kernel_shape', [cell, cell]), attr('strides', [cell, cell])]),
      node('Conv', ['pooled', 'w', 'b'], ['logits']),
      node('Sigmoid', ['logits'], ['scores4d']),
      node('Reshape', ['scores4d', 'scores_shape'], ['scores']),
      node('ReduceSum', ['scores', 'sum_axes'], ['summed'], [attr('keepdims', 1)]),
      node('Mul', ['summed', 'zero'], ['zeros']), // [batch, 1, N] of zeros: broadcasts the grid over the batch
      node('Add', ['zeros', 'grid'], ['boxes']),
      node('Concat', ['boxes', 'scores'], ['output0'], [attr('axis', 1)]),
    ],
  });
}

/** The uint8 NHWC classifier (see above). */
export function classifierOnnx(): Uint8Array {
  const C = CLASSIFIER_LABELS.length;
  // mean R, G, B (0–1) → logits: bright, dim, dark, colourful
  const m = [
    [8, -2, -8, 6],
    [8, -2, -8, -3],
    [8, -2, -8, -3],
  ].flat();
  return encode(
    {
      name: 'byo-classifier',
      input: [io('pixels', U8, ['N', 224, 224, 3])],
      output: [io('probs', F, ['N', C])],
      initializer: [floats('m', [3, C], m), floats('bias', [C], [-6, 2.5, 4.5, -1]), floats('k255', [], [255])],
      node: [
        node('Cast', ['pixels'], ['pixelsF'], [attr('to', F)]),
        node('ReduceMean', ['pixelsF'], ['meanRgb'], [attr('axes', [1, 2]), attr('keepdims', 0)]),
        node('Div', ['meanRgb', 'k255'], ['rgb']),
        node('MatMul', ['rgb', 'm'], ['mm']),
        node('Add', ['mm', 'bias'], ['logits']),
        node('Softmax', ['logits'], ['probs'], [attr('axis', -1)]),
      ],
    },
    { description: 'mean-colour scene classifier (test model)' },
  );
}

/** Writes both models with their label files into `dir`; returns their paths. */
export function writeByoModels(dir: string) {
  mkdirSync(dir, { recursive: true });
  const p = {
    detector: join(dir, 'detector.onnx'),
    dataYaml: join(dir, 'data.yaml'),
    classifier: join(dir, 'classifier.onnx'),
    labelsTxt: join(dir, 'labels.txt'),
  };
  writeFileSync(p.detector, detectorOnnx());
  writeFileSync(p.dataYaml, `# YOLO dataset\npath: ../datasets/line\ntrain: images/train\nval: images/val\nnames:\n${DETECTOR_LABELS.map((n, i) => `  ${i}: ${n}`).join('\n')}\n`);
  writeFileSync(p.classifier, classifierOnnx());
  writeFileSync(p.labelsTxt, `${CLASSIFIER_LABELS.join('\n')}\n`);
  return p;
}
