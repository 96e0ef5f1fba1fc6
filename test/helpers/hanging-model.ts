/**
 * A detector whose run never ends, written as a real ONNX file (onnx-proto, as byo-models.ts does): a model that
 * hangs onnxruntime for real, for the test of the page's watchdog (e2e/inference-hang.spec.ts).
 *
 * Input `images` [1, 3, 320, 320] float32, output `output0` [1, 4+3, 100] in YOLOv8's format — the shape of
 * byo-models.ts's detector, so the manifest CLI and the kiosk take it as a detector — but the output waits on a
 * `Loop` of 2^62 iterations (each adds 1 to a number seeded from the input, so nothing can fold it away at load
 * time). The session loads in a moment; its first run keeps the thread that runs it busy for ever: on WASM that
 * is the inference worker's own thread, so nothing inside the worker (a timer, a message) can run again.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const F = onnx.TensorProto.DataType.FLOAT, I64 = onnx.TensorProto.DataType.INT64, B = onnx.TensorProto.DataType.BOOL;

const dim = (d: number) => ({ dimValue: d });
const io = (name: string, type: number, dims: number[]) => ({ name, type: { tensorType: { elemType: type, shape: { dim: dims.map(dim) } } } });
const scalarIo = (name: string, type: number) => ({ name, type: { tensorType: { elemType: type, shape: { dim: [] } } } });
const tensor = (name: string, dataType: number, dims: number[], raw: ArrayBufferView) => ({ name, dataType, dims, rawData: new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength) });
const node = (opType: string, input: string[], output: string[], attribute: object[] = []) => ({ opType, input, output, attribute, name: output[0] });

export const HANGING_LABELS = ['light', 'shadow', 'warm'];

/** The never-ending detector (see above). */
export function hangingDetectorOnnx(): Uint8Array {
  const N = 100, C = HANGING_LABELS.length;
  const body = {
    name: 'forever',
    input: [scalarIo('i', I64), scalarIo('cond_in', B), scalarIo('v_in', F)],
    output: [scalarIo('cond_out', B), scalarIo('v_out', F)],
    initializer: [tensor('one', F, [], Float32Array.of(1))],
    node: [node('Identity', ['cond_in'], ['cond_out']), node('Add', ['v_in', 'one'], ['v_out'])],
  };
  const graph = {
    name: 'hanging-detector',
    input: [io('images', F, [1, 3, 320, 320])],
    output: [io('output0', F, [1, 4 + C, N])],
    initializer: [
      tensor('trips', I64, [], BigInt64Array.of(2n ** 62n)),
      tensor('go', B, [], Uint8Array.of(1)),
      tensor('zero', F, [], Float32Array.of(0)),
      tensor('base', F, [1, 4 + C, N], new Float32Array((4 + C) * N)),
    ],
    node: [
      node('ReduceMax', ['images'], ['seed'], [{ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 }]),
      node('Loop', ['trips', 'go', 'seed'], ['v'], [{ name: 'body', type: onnx.AttributeProto.AttributeType.GRAPH, g: body }]),
      node('Mul', ['v', 'zero'], ['nothing']),
      node('Add', ['base', 'nothing'], ['output0']),
    ],
  };
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], producerName: 'hang-test', producerVersion: '1', graph }),
  ).finish();
}

/** Writes the model and its labels (a YOLO data.yaml) into `dir`; returns their paths. */
export function writeHangingModel(dir: string) {
  mkdirSync(dir, { recursive: true });
  const p = { model: join(dir, 'hanging.onnx'), dataYaml: join(dir, 'data.yaml') };
  writeFileSync(p.model, hangingDetectorOnnx());
  writeFileSync(p.dataYaml, `names:\n${HANGING_LABELS.map((n, i) => `  ${i}: ${n}`).join('\n')}\n`);
  return p;
}
