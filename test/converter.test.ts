/** The converter on small hand-made TF.js graphs: exact TF semantics (SAME padding, fused ops), and every error path. */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { convertTfjsToOnnx } from '../scripts/tfjs2onnx/convert.ts';
import { loadTfjsGraphModel } from '../scripts/tfjs2onnx/tfjs-model.ts';
import { humanModelJson, root } from './helpers/fixtures.ts';
import { runTfjsModel } from './helpers/tfjs-reference.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const ints = (...v: number[]) => ({ list: { i: v.map(String) } });

interface W { name: string; shape: number[]; data: number[]; dtype?: 'float32' | 'int32' }
/** Writes a tfjs graph model (model.json + weights.bin) to a fresh folder and returns the JSON path. */
function writeGraph(nodes: object[], weights: W[], inputShape: number[], outputs: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'tfjs2onnx-'));
  const bufs = weights.map((w) =>
    Buffer.from((w.dtype === 'int32' ? Int32Array.from(w.data) : Float32Array.from(w.data)).buffer),
  );
  writeFileSync(join(dir, 'weights.bin'), Buffer.concat(bufs));
  const json = {
    format: 'graph-model',
    modelTopology: {
      node: [
        { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: inputShape.map((d) => ({ size: String(d) })) } } } },
        ...weights.map((w) => ({ name: w.name, op: 'Const', attr: { dtype: { type: w.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' } } })),
        ...nodes,
      ],
      versions: {},
    },
    signature: { outputs: Object.fromEntries(outputs.map((o) => [o, { name: `${o}:0` }])) },
    weightsManifest: [{ paths: ['weights.bin'], weights: weights.map((w) => ({ name: w.name, shape: w.shape, dtype: w.dtype ?? 'float32' })) }],
  };
  const file = join(dir, 'model.json');
  writeFileSync(file, JSON.stringify(json));
  return file;
}

const seq = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts/tfjs2onnx/cli.ts'), ...args], { encoding: 'utf8' });

describe('tfjs2onnx semantics', () => {
  it('matches TF on odd sizes with stride-2 SAME padding (asymmetric pads), fused bias+relu6, depthwise, pooling, resize and concat', async () => {
    const nodes = [
      { name: 'conv', op: '_FusedConv2D', input: ['x', 'w1', 'b1'], attr: { padding: { s: b64('SAME') }, strides: ints(1, 2, 2, 1), dilations: ints(1, 1, 1, 1), data_format: { s: b64('NHWC') }, fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu6')] } }, num_args: { i: '1' } } },
      { name: 'dw', op: 'DepthwiseConv2dNative', input: ['conv', 'w2'], attr: { padding: { s: b64('SAME') }, strides: ints(1, 2, 2, 1), dilations: ints(1, 1, 1, 1), data_format: { s: b64('NHWC') } } },
      { name: 'pool', op: 'MaxPool', input: ['dw'], attr: { padding: { s: b64('SAME') }, strides: ints(1, 1, 1, 1), ksize: ints(1, 3, 3, 1), data_format: { s: b64('NHWC') } } },
      { name: 'up', op: 'ResizeBilinear', input: ['pool', 'size'], attr: { align_corners: { b: false }, half_pixel_centers: { b: false } } },
      { name: 'scaled', op: 'Mul', input: ['up', 'k'] },
      { name: 'mean', op: 'Mean', input: ['scaled', 'axes'], attr: { keep_dims: { b: true } } },
      { name: 'gated', op: 'Add', input: ['scaled', 'mean'] },
      { name: 'cat', op: 'ConcatV2', input: ['gated', 'scaled', 'axis'], attr: { N: { i: '2' } } },
      { name: 'y', op: 'Sigmoid', input: ['cat'] },
    ];
    const weights: W[] = [
      { name: 'w1', shape: [3, 3, 2, 4], data: seq(72, (i) => Math.sin(i * 1.3) * 0.5) },
      { name: 'b1', shape: [4], data: [0.1, -0.2, 0.3, 5] },
      { name: 'w2', shape: [3, 3, 4, 2], data: seq(72, (i) => Math.cos(i * 0.7) * 0.4) },
      { name: 'size', shape: [2], data: [5, 7], dtype: 'int32' },
      { name: 'k', shape: [8], data: seq(8, (i) => i - 3) },
      { name: 'axes', shape: [2], data: [1, 2], dtype: 'int32' },
      { name: 'axis', shape: [], data: [3], dtype: 'int32' },
    ];
    const file = writeGraph(nodes, weights, [1, 10, 12, 2], ['y']);
    const input = Float32Array.from(seq(10 * 12 * 2, (i) => ((i * 37) % 23) - 11));
    const ref = (await runTfjsModel(file, { data: input, shape: [1, 10, 12, 2] }, ['y'])).get('y')!;
    const out = join(file, '..', 'out.onnx');
    const r = cli(file, out);
    expect(r.status, r.stderr).toBe(0);
    const session = await ort.InferenceSession.create(readFileSync(out));
    const got = (await session.run({ x: new ort.Tensor('float32', input, [1, 10, 12, 2]) })).y!;
    expect(got.dims).toEqual(ref.shape);
    expect(ref.shape).toEqual([1, 5, 7, 16]);
    const maxDiff = Math.max(...Array.from(got.data as Float32Array, (v, i) => Math.abs(v - ref.data[i]!)));
    expect(maxDiff).toBeLessThan(1e-5);
  }, 60_000);
});

describe('tfjs2onnx graph rewrites', () => {
  const conv = (name: string, input: string, w: string, b: string, stride = 1, act?: string) => ({
    name,
    op: '_FusedConv2D',
    input: [input, w, b],
    attr: { padding: { s: b64('SAME') }, strides: ints(1, stride, stride, 1), dilations: ints(1, 1, 1, 1), data_format: { s: b64('NHWC') }, fused_ops: { list: { s: [b64('BiasAdd'), ...(act ? [b64(act)] : [])] } }, num_args: { i: '1' } },
  });
  // MobileNetV3's hard-swish and squeeze-excite hard-sigmoid as TF writes them, with 1/6 rounded to fp16 as in
  // the default model (0.1666259765625, not 1/6)
  const SIXTH = 0.1666259765625;
  const nodes = [
    conv('c1', 'x', 'w1', 'b1', 2),
    { name: 'hs/mul', op: 'Mul', input: ['sixth', 'c1'] },
    { name: 'hs/add', op: 'AddV2', input: ['c1', 'three'] },
    { name: 'hs/relu6', op: 'Relu6', input: ['hs/add'] },
    { name: 'hs/out', op: 'Mul', input: ['hs/mul', 'hs/relu6'] },
    { name: 'dw', op: 'DepthwiseConv2dNative', input: ['hs/out', 'w2'], attr: { padding: { s: b64('SAME') }, strides: ints(1, 1, 1, 1), dilations: ints(1, 1, 1, 1), data_format: { s: b64('NHWC') } } },
    { name: 'se/mean', op: 'Mean', input: ['dw', 'axes'], attr: { keep_dims: { b: true } } },
    conv('se/c', 'se/mean', 'w3', 'b3'),
    { name: 'se/add', op: 'AddV2', input: ['se/c', 'three'] },
    { name: 'se/relu6', op: 'Relu6', input: ['se/add'] },
    { name: 'se/gate', op: 'Mul', input: ['sixth', 'se/relu6'] },
    { name: 'se/out', op: 'Mul', input: ['se/gate', 'dw'] },
    conv('proj', 'se/out', 'w4', 'b4'),
    { name: 'res', op: 'AddV2', input: ['proj', 'hs/out'] },
    { name: 'up', op: 'ResizeBilinear', input: ['res', 'size'], attr: { align_corners: { b: false }, half_pixel_centers: { b: true } } },
    { name: 'y', op: 'Identity', input: ['up'] },
  ];
  const weights = (size: number): W[] => [
    { name: 'w1', shape: [3, 3, 2, 4], data: seq(72, (i) => Math.sin(i * 1.3) * 0.9) },
    { name: 'b1', shape: [4], data: [0.5, -1, 2, -3] },
    { name: 'sixth', shape: [], data: [SIXTH] },
    { name: 'three', shape: [], data: [3] },
    { name: 'w2', shape: [3, 3, 4, 1], data: seq(36, (i) => Math.cos(i * 0.7) * 0.6) },
    { name: 'axes', shape: [2], data: [1, 2], dtype: 'int32' },
    { name: 'w3', shape: [1, 1, 4, 4], data: seq(16, (i) => Math.sin(i) * 2) },
    { name: 'b3', shape: [4], data: [1, -4, 0, 5] },
    { name: 'w4', shape: [1, 1, 4, 4], data: seq(16, (i) => Math.cos(i * 2.1)) },
    { name: 'b4', shape: [4], data: [0, 0.1, -0.1, 0.2] },
    { name: 'size', shape: [2], data: [(size / 4) * 3, (size / 4) * 3], dtype: 'int32' },
  ];
  const input = (n: number) => Float32Array.from(seq(n * n * 2, (i) => ((i * 37) % 23) / 2 - 5));

  it('hard-swish and hard-sigmoid chains become HardSwish / HardSigmoid, exact to TF even with an fp16-rounded 1/6', async () => {
    const file = writeGraph(nodes, weights(16), [1, 16, 16, 2], ['y']);
    const model = await loadTfjsGraphModel(file);
    const opts = { outputs: ['y'], outputLayout: 'nhwc' as const };
    const plain = convertTfjsToOnnx(model, { ...opts, fuseActivations: false });
    const fused = convertTfjsToOnnx(model, opts);
    expect(plain.ops).toMatchObject({ Clip: 2 });
    expect(fused.ops).toMatchObject({ HardSwish: 1, HardSigmoid: 1 });
    expect(fused.ops.Clip).toBeUndefined();
    expect(fused.ops.Add).toBe(1); // the residual only
    const ref = (await runTfjsModel(file, { data: input(16), shape: [1, 16, 16, 2] }, ['y'])).get('y')!;
    for (const r of [plain, fused]) {
      const session = await ort.InferenceSession.create(r.onnx);
      const got = (await session.run({ x: new ort.Tensor('float32', input(16), [1, 16, 16, 2]) })).y!.data as Float32Array;
      await session.release();
      const maxDiff = Math.max(...Array.from(got, (v, i) => Math.abs(v - ref.data[i]!)));
      expect(maxDiff).toBeLessThan(1e-4);
      expect(Math.max(...Array.from(ref.data, Math.abs))).toBeGreaterThan(1); // not trivially zero
    }
  }, 60_000);

  it('inputSize: the graph at another input size, its Resize sizes scaled, equals the same graph exported at that size', async () => {
    const small = await loadTfjsGraphModel(writeGraph(nodes, weights(16), [1, 16, 16, 2], ['y']));
    const at24 = convertTfjsToOnnx(small, { outputs: ['y'], inputSize: [24, 24] });
    expect(at24.inputs[0]!.shape).toEqual([1, 24, 24, 2]);
    expect(at24.outputs[0]!.shape).toEqual([1, 18, 18, 4]);
    const file24 = writeGraph(nodes, weights(24), [1, 24, 24, 2], ['y']);
    const ref = (await runTfjsModel(file24, { data: input(24), shape: [1, 24, 24, 2] }, ['y'])).get('y')!;
    const session = await ort.InferenceSession.create(at24.onnx);
    const got = (await session.run({ x: new ort.Tensor('float32', input(24), [1, 24, 24, 2]) })).y!.data as Float32Array;
    await session.release();
    expect(Math.max(...Array.from(got, (v, i) => Math.abs(v - ref.data[i]!)))).toBeLessThan(1e-4);
    expect(() => convertTfjsToOnnx(small, { outputs: ['y'], inputSize: [18, 18] })).toThrow(/the resize to 12×12 is 13\.5×13\.5: choose a size that divides evenly/);
  }, 60_000);
});

describe('tfjs2onnx errors: exit non-zero, name the file, node and op, leave no partial model', () => {
  const expectFailure = (args: string[], pattern: RegExp) => {
    const out = args[1]!;
    const existed = existsSync(out);
    if (existed) writeFileSync(out, 'previous model');
    const r = cli(...args);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(pattern);
    // an output that was there is still there, untouched; none that was not is left behind
    expect(existsSync(out)).toBe(existed);
    if (existed) expect(readFileSync(out, 'utf8')).toBe('previous model');
    expect(readdirSync(join(out, '..')).filter((f) => f.endsWith('.partial'))).toEqual([]);
  };
  const tmp = () => mkdtempSync(join(tmpdir(), 'tfjs2onnx-err-'));

  it('missing model file', () => {
    const d = tmp();
    expectFailure([join(d, 'nope.json'), join(d, 'out.onnx')], /cannot read model file.*nope\.json/);
    expect(existsSync(join(d, 'out.onnx'))).toBe(false);
  });

  it('model file that is not JSON, or not a graph model', () => {
    const d = tmp();
    writeFileSync(join(d, 'bad.json'), '{"format": "graph-model", "modelTop');
    expectFailure([join(d, 'bad.json'), join(d, 'out.onnx')], /not valid JSON.*bad\.json/);
    writeFileSync(join(d, 'layers.json'), JSON.stringify({ format: 'layers-model', modelTopology: { node: [] }, weightsManifest: [] }));
    expectFailure([join(d, 'layers.json'), join(d, 'out.onnx')], /format is 'layers-model'/);
  });

  it('truncated or missing weights, keeping an existing output untouched', () => {
    const d = tmp();
    copyFileSync(humanModelJson, join(d, 'centernet.json'));
    expectFailure([join(d, 'centernet.json'), join(d, 'out.onnx')], /cannot read weights.*centernet\.bin/);
    const bin = readFileSync(join(humanModelJson, '..', 'centernet.bin'));
    writeFileSync(join(d, 'centernet.bin'), bin.subarray(0, bin.length - 1000));
    writeFileSync(join(d, 'out.onnx'), 'previous model');
    expectFailure([join(d, 'centernet.json'), join(d, 'out.onnx')], /truncated or corrupt.*centernet\.bin/);
    writeFileSync(join(d, 'centernet.bin'), Buffer.concat([bin, Buffer.alloc(8)]));
    expectFailure([join(d, 'centernet.json'), join(d, 'out.onnx')], /manifest describes \d+ bytes but the shards hold \d+/);
  });

  it('unknown op names the node and op', () => {
    const file = writeGraph([{ name: 'mystery', op: 'FancyNewOp', input: ['x'] }], [], [1, 4], ['mystery']);
    expectFailure([file, join(file, '..', 'out.onnx')], /unsupported op 'FancyNewOp'.*node 'mystery'.*op FancyNewOp/);
    expect(existsSync(join(file, '..', 'out.onnx'))).toBe(false);
  });

  it('dangling input and unsupported attributes name the node', () => {
    const file = writeGraph([{ name: 'r', op: 'Relu', input: ['ghost'] }], [], [1, 4], ['r']);
    expectFailure([file, join(file, '..', 'out.onnx')], /input 'ghost' refers to no node.*node 'r'/);
    const nchw = writeGraph(
      [{ name: 'c', op: 'Conv2D', input: ['x', 'w'], attr: { padding: { s: b64('SAME') }, strides: ints(1, 1, 1, 1), data_format: { s: b64('NCHW') } } }],
      [{ name: 'w', shape: [1, 1, 2, 2], data: [1, 0, 0, 1] }],
      [1, 3, 3, 2],
      ['c'],
    );
    expectFailure([nchw, join(nchw, '..', 'out.onnx')], /only NHWC data_format.*node 'c'.*op Conv2D/);
  });

  it('bad command line', () => {
    const r = cli('only-one-arg');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/usage: tfjs2onnx/);
    const size = cli('a.json', 'b.onnx', '--input-size', '416');
    expect(size.status).toBe(2);
    expect(size.stderr).toMatch(/--input-size is HEIGHTxWIDTH/);
  });
});
