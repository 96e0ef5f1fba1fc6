/** The converter on small hand-made TF.js graphs: exact TF semantics (SAME padding, fused ops), and every error path. */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
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

describe('tfjs2onnx errors: exit non-zero, name the file, node and op, leave no partial model', () => {
  const expectFailure = (args: string[], pattern: RegExp) => {
    const out = args[1]!;
    if (existsSync(out)) writeFileSync(out, 'previous model');
    const r = cli(...args);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(pattern);
    if (existsSync(out)) expect(readFileSync(out, 'utf8')).toBe('previous model');
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
  });
});
