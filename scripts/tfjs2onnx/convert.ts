import { ConvertError } from './errors.ts';
import { OnnxGraph, type ElemType } from './onnx-graph.ts';
import type { TfAttr, TfjsGraphModel, TfNode, WeightData } from './tfjs-model.ts';

/**
 * TF.js graph model → ONNX (opset 17).
 *
 * Every TF tensor keeps its TF (NHWC) logical shape here; a 4-D activation is held in ONNX as NCHW
 * (`layout: 'nchw'`) so that Conv/Pool/Resize need no transposes. Element-wise ops keep the layout,
 * axis ops remap their axes, and anything else gets a Transpose back to NHWC ('plain') first.
 */

type DType = 'float32' | 'int32' | 'int64' | 'bool';
interface Val {
  name: string; // ONNX tensor name ('' until a constant is materialised)
  shape: number[]; // TF logical shape
  dtype: DType;
  layout: 'plain' | 'nchw';
  constData?: WeightData | Float32Array | Int32Array; // values in TF (plain) layout
}

export interface ConvertOptions {
  /** TF tensor names to export (default: the signature's outputs). */
  outputs?: string[];
  /** Rename graph inputs/outputs: TF name → ONNX name. */
  rename?: Record<string, string>;
  /** 4-D outputs as 'nchw' (no trailing transpose) or 'nhwc' (TF layout). Default 'nhwc'. */
  outputLayout?: 'nchw' | 'nhwc';
  /** Float weights stored as fp32, or fp16 with a Cast to fp32 (half the file). Default 'fp32'. */
  weights?: 'fp32' | 'fp16';
  /** Replace unknown (-1) input dimensions, e.g. the batch. Default 1. */
  unknownDim?: number;
  /**
   * Run a fully convolutional graph at another input size [height, width] than its placeholder's: the input and
   * every constant Resize size scale with it (each feature map must still divide evenly). Default: as exported.
   */
  inputSize?: [number, number];
  /** Rewrite hard-swish / hard-sigmoid chains as HardSwish / HardSigmoid ops (fuse.ts). Default true. */
  fuseActivations?: boolean;
}

export interface ConvertResult {
  onnx: Uint8Array;
  inputs: { name: string; tfName: string; shape: number[]; dtype: DType; layout: 'NHWC' | 'plain' }[];
  outputs: { name: string; tfName: string; shape: number[]; dtype: DType; layout: 'NCHW' | 'NHWC' | 'plain' }[];
  ops: Record<string, number>;
  tfOps: Record<string, number>;
}

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];
/** position in NCHW of NHWC axis a */
const nchwAxis = (a: number) => [0, 2, 3, 1][a]!;

const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
const tfTypes: Record<string, DType> = { DT_FLOAT: 'float32', DT_INT32: 'int32', DT_BOOL: 'bool', DT_INT64: 'int64' };
const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

function broadcast(a: number[], b: number[], where: () => never): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) where();
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Transpose plain row-major data of `shape` by `perm`. */
function transposeData<T extends ArrayLike<number> & { length: number }>(
  data: T,
  shape: number[],
  perm: number[],
  make: (n: number) => T & { [i: number]: number },
): T {
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = shape.map((_, i) => numel(shape.slice(i + 1)));
  const out = make(data.length);
  const idx = new Array(shape.length).fill(0);
  for (let o = 0; o < data.length; o++) {
    let src = 0;
    for (let d = 0; d < perm.length; d++) src += idx[d] * inStrides[perm[d]!]!;
    out[o] = data[src]!;
    for (let d = outShape.length - 1; d >= 0; d--) {
      if (++idx[d] < outShape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

export function convertTfjsToOnnx(model: TfjsGraphModel, options: ConvertOptions = {}): ConvertResult {
  const file = model.file;
  const g = new OnnxGraph();
  const byName = new Map<string, TfNode>();
  for (const n of model.nodes) {
    if (byName.has(n.name)) throw new ConvertError('duplicate node name', { file, node: n.name, op: n.op });
    byName.set(n.name, n);
  }
  const vals = new Map<string, Val>();
  const tfOps: Record<string, number> = {};
  const transposed = new Map<string, string>();
  const weightsAs = options.weights ?? 'fp32';
  let resizeRatio: [number, number] = [1, 1];

  const fail = (node: TfNode, msg: string): never => {
    throw new ConvertError(msg, { file, node: node.name, op: node.op });
  };
  const attr = (node: TfNode, key: string): TfAttr | undefined => node.attr?.[key];
  const attrInts = (node: TfNode, key: string, dflt?: number[]) => {
    const a = attr(node, key);
    if (!a) return dflt ?? fail(node, `attribute '${key}' is missing`);
    return (a.list?.i ?? []).map(Number);
  };
  const attrStr = (node: TfNode, key: string, dflt?: string) => {
    const a = attr(node, key);
    if (a?.s === undefined) return dflt ?? fail(node, `attribute '${key}' is missing`);
    return b64(a.s);
  };
  const attrBool = (node: TfNode, key: string) => attr(node, key)?.b === true;
  const attrInt = (node: TfNode, key: string, dflt = 0) => Number(attr(node, key)?.i ?? dflt);

  // ---------- constants ----------
  const constVal = (name: string, dtype: DType, shape: number[], data: Val['constData']): Val => ({
    name: '',
    shape,
    dtype,
    layout: 'plain',
    constData: data,
  });
  /** ONNX name of a value, materialising a constant as an initializer on first use. */
  const ref = (v: Val, hint: string): string => {
    if (v.name) return v.name;
    const name = g.unique(hint);
    if (v.dtype === 'float32' && weightsAs === 'fp16' && v.constData!.length > 16) {
      const half = g.unique(`${hint}_fp16`);
      g.initializer(half, 'float16', v.shape, v.constData!);
      g.node('Cast', [half], [name], { to: 1 });
    } else g.initializer(name, v.dtype as ElemType, v.shape, v.constData!);
    v.name = name;
    return name;
  };
  const i64 = (values: number[], hint: string): string => {
    const name = g.unique(hint);
    g.initializer(name, 'int64', [values.length], values);
    return name;
  };
  const f32scalar = (value: number, hint: string): string => {
    const name = g.unique(hint);
    g.initializer(name, 'float32', [], [value]);
    return name;
  };
  const constInts = (node: TfNode, v: Val, what: string): number[] => {
    if (!v.constData) fail(node, `${what} must be a constant`);
    return Array.from(v.constData as ArrayLike<number>, Number);
  };

  // ---------- layout ----------
  const asPlain = (v: Val, hint: string): string => {
    if (v.layout === 'plain') return ref(v, hint);
    const key = `${v.name}>nhwc`;
    let t = transposed.get(key);
    if (!t) {
      t = g.unique(`${hint}_nhwc`);
      g.node('Transpose', [v.name], [t], { perm: NCHW_TO_NHWC });
      transposed.set(key, t);
    }
    return t;
  };
  const asNchw = (v: Val, hint: string): string => {
    if (v.shape.length !== 4) throw new Error('asNchw on non-4D');
    if (v.layout === 'nchw') return v.name;
    if (v.constData) {
      const name = g.unique(`${hint}_nchw`);
      const data = transposeData(v.constData as Float32Array, v.shape, NHWC_TO_NCHW, (n) =>
        v.constData instanceof Float32Array ? new Float32Array(n) : (new Int32Array(n) as never),
      );
      const c: Val = constVal(v.name, v.dtype, NHWC_TO_NCHW.map((p) => v.shape[p]!), data);
      return ref(c, name);
    }
    const key = `${v.name}>nchw`;
    let t = transposed.get(key);
    if (!t) {
      t = g.unique(`${hint}_nchw`);
      g.node('Transpose', [v.name], [t], { perm: NHWC_TO_NCHW });
      transposed.set(key, t);
    }
    return t;
  };

  // ---------- graph walk (only what the outputs need) ----------
  const parseRef = (input: string) => {
    const m = /^(\^?)(.*?)(?::(\d+))?$/.exec(input)!;
    return { control: m[1] === '^', node: m[2]!, index: Number(m[3] ?? 0) };
  };
  const valKey = (node: string, index: number) => (index ? `${node}:${index}` : node);

  const requested =
    options.outputs ?? Object.values(model.signature?.outputs ?? {}).map((o) => o.name.replace(/:0$/, ''));
  if (!requested.length) throw new ConvertError('no outputs requested and the model has no signature outputs', { file });

  const order: TfNode[] = [];
  const state = new Map<string, 1 | 2>();
  const visit = (name: string, from?: TfNode) => {
    const node = byName.get(name);
    if (!node)
      throw new ConvertError(`input '${name}' refers to no node`, { file, node: from?.name ?? name, op: from?.op });
    const s = state.get(name);
    if (s === 2) return;
    if (s === 1) fail(node, 'the graph has a cycle');
    state.set(name, 1);
    for (const i of node.input ?? []) {
      const r = parseRef(i);
      if (!r.control) visit(r.node, node);
    }
    state.set(name, 2);
    order.push(node);
  };
  for (const o of requested) visit(parseRef(o).node);

  const inputsOut: ConvertResult['inputs'] = [];
  const rename = options.rename ?? {};
  for (const o of requested) g.reserve(rename[o] ?? o);
  for (const n of order) if (n.op === 'Placeholder') g.reserve(rename[n.name] ?? n.name);

  for (const node of order) {
    tfOps[node.op] = (tfOps[node.op] ?? 0) + 1;
    const ins = (node.input ?? []).filter((i) => !i.startsWith('^')).map((i) => {
      const r = parseRef(i);
      const v = vals.get(valKey(r.node, r.index));
      if (!v) fail(node, `input '${i}' is not produced by its node`);
      return v!;
    });
    const need = (n: number) => {
      if (ins.length < n) fail(node, `expects ${n} inputs, has ${ins.length}`);
    };
    const hint = node.name.replace(/[^A-Za-z0-9_/.-]/g, '_');
    const set = (v: Val, index = 0) => vals.set(valKey(node.name, index), v);
    const out = (shape: number[], dtype: DType, layout: Val['layout']): Val => ({
      name: g.unique(hint),
      shape,
      dtype,
      layout,
    });

    switch (node.op) {
      case 'Placeholder': {
        const dims = attr(node, 'shape')?.shape?.dim?.map((d) => Number(d.size));
        if (!dims) fail(node, 'placeholder has no static shape');
        const shape = dims!.map((d) => (d < 0 ? options.unknownDim ?? 1 : d));
        if (options.inputSize && shape.length === 4) {
          resizeRatio = [options.inputSize[0] / shape[1]!, options.inputSize[1] / shape[2]!];
          [shape[1], shape[2]] = options.inputSize;
        }
        const dtype = tfTypes[attr(node, 'dtype')?.type ?? ''] ?? fail(node, `unsupported input dtype`);
        const name = rename[node.name] ?? node.name;
        g.input(name, dtype as ElemType, shape);
        inputsOut.push({ name, tfName: node.name, shape, dtype, layout: shape.length === 4 ? 'NHWC' : 'plain' });
        set({ name, shape, dtype, layout: 'plain' });
        break;
      }
      case 'Const': {
        const w = model.weights.get(node.name);
        if (!w) fail(node, 'constant has no weights entry');
        set(constVal('', w!.dtype, w!.shape, w!.data));
        break;
      }
      case 'Identity':
      case 'StopGradient':
        need(1);
        set(ins[0]!);
        break;

      case 'Conv2D':
      case '_FusedConv2D':
      case 'DepthwiseConv2dNative':
      case 'FusedDepthwiseConv2dNative': {
        need(2);
        const [x, w] = ins as [Val, Val];
        if (attrStr(node, 'data_format', 'NHWC') !== 'NHWC') fail(node, 'only NHWC data_format is supported');
        if (!w.constData) fail(node, 'filter must be a constant');
        if (x.shape.length !== 4) fail(node, `input must be 4-D, is [${x.shape}]`);
        const depthwise = node.op.includes('Depthwise');
        const [kh, kw, cin, cout] = w.shape as [number, number, number, number];
        if (x.shape[3] !== cin) fail(node, `filter expects ${cin} input channels, input has ${x.shape[3]}`);
        const strides = attrInts(node, 'strides');
        const dil = attrInts(node, 'dilations', [1, 1, 1, 1]);
        const [sh, sw] = [strides[1]!, strides[2]!];
        const [dh, dw] = [dil[1]!, dil[2]!];
        const [H, W] = [x.shape[1]!, x.shape[2]!];
        const padding = attrStr(node, 'padding');
        const { oh, ow, pads } = spatial(node, padding, H, W, [kh, kw], [sh, sw], [dh, dw]);
        const outC = depthwise ? cin * cout : cout;
        // TF filter [kh,kw,in,out] → ONNX [out,in,kh,kw]; depthwise [kh,kw,in,mult] → [in*mult,1,kh,kw]
        const wd = w.constData as Float32Array;
        const onnxW = new Float32Array(wd.length);
        for (let y = 0; y < kh; y++)
          for (let xk = 0; xk < kw; xk++)
            for (let i = 0; i < cin; i++)
              for (let o = 0; o < cout; o++) {
                const src = ((y * kw + xk) * cin + i) * cout + o;
                const dst = depthwise ? (((i * cout + o) * 1 + 0) * kh + y) * kw + xk : ((o * cin + i) * kh + y) * kw + xk;
                onnxW[dst] = wd[src]!;
              }
        let bias: Float32Array | undefined;
        const fused = (attr(node, 'fused_ops')?.list?.s ?? []).map(b64);
        let activation: string | undefined;
        if (node.op.startsWith('_Fused') || node.op.startsWith('Fused')) {
          const extra = ins.slice(2);
          if (extra.length !== attrInt(node, 'num_args', extra.length)) fail(node, 'num_args does not match inputs');
          const [first, ...rest] = fused;
          if (first === 'BiasAdd') {
            if (!extra[0]?.constData) fail(node, 'bias must be a constant');
            bias = Float32Array.from(extra[0]!.constData as Float32Array);
          } else if (first === 'FusedBatchNorm') {
            const [scale, offset, mean, variance] = extra;
            if (!scale?.constData || !offset?.constData || !mean?.constData || !variance?.constData)
              fail(node, 'FusedBatchNorm needs 4 constant arguments');
            const eps = attr(node, 'epsilon')?.f ?? 1e-3;
            bias = new Float32Array(outC);
            const per = onnxW.length / outC;
            for (let c = 0; c < outC; c++) {
              const k = (scale!.constData as Float32Array)[c]! / Math.sqrt((variance!.constData as Float32Array)[c]! + eps);
              for (let j = 0; j < per; j++) onnxW[c * per + j]! *= k;
              bias[c] = (offset!.constData as Float32Array)[c]! - (mean!.constData as Float32Array)[c]! * k;
            }
          } else if (first !== undefined) fail(node, `unsupported fused op ${first}`);
          if (rest.length > 1) fail(node, `unsupported fused ops ${fused.join('+')}`);
          activation = rest[0];
          if (bias && bias.length !== outC) fail(node, `bias has ${bias.length} values, expected ${outC}`);
        }
        const wName = ref(constVal('', 'float32', [outC, depthwise ? 1 : cin, kh, kw], onnxW), `${hint}/W`);
        const convIns = [asNchw(x, hint), wName];
        if (bias) convIns.push(ref(constVal('', 'float32', [outC], bias), `${hint}/B`));
        const shape = [x.shape[0]!, oh, ow, outC];
        const conv = out(shape, 'float32', 'nchw');
        g.node('Conv', convIns, [conv.name], {
          kernel_shape: [kh, kw],
          strides: [sh, sw],
          dilations: [dh, dw],
          pads,
          group: depthwise ? cin : 1,
        });
        if (!activation) {
          set(conv);
          break;
        }
        const act = out(shape, 'float32', 'nchw');
        emitActivation(node, activation, conv.name, act.name);
        set(act);
        break;
      }

      case 'Relu':
      case 'Relu6':
      case 'Sigmoid':
      case 'Tanh':
      case 'Elu':
      case 'LeakyRelu': {
        need(1);
        const x = ins[0]!;
        const o = out(x.shape, x.dtype, x.layout);
        emitActivation(node, node.op, ref(x, hint + '/x'), o.name);
        set(o);
        break;
      }

      case 'Add':
      case 'AddV2':
      case 'BiasAdd':
      case 'Sub':
      case 'Mul':
      case 'RealDiv':
      case 'Maximum':
      case 'Minimum':
      case 'Equal': {
        need(2);
        const [a, b] = ins as [Val, Val];
        const onnxOp = { Add: 'Add', AddV2: 'Add', BiasAdd: 'Add', Sub: 'Sub', Mul: 'Mul', RealDiv: 'Div', Maximum: 'Max', Minimum: 'Min', Equal: 'Equal' }[node.op]!;
        if (a.dtype !== b.dtype) fail(node, `operand types differ: ${a.dtype} and ${b.dtype}`);
        const shape = broadcast(a.shape, b.shape, () => fail(node, `shapes [${a.shape}] and [${b.shape}] do not broadcast`));
        const dtype = node.op === 'Equal' ? 'bool' : a.dtype;
        if (a.constData && b.constData) fail(node, 'constant folding of two constants is not supported');
        const nchw = (a.layout === 'nchw' || b.layout === 'nchw') && shape.length === 4;
        const operand = (v: Val, which: string): string => {
          if (!nchw) return v.layout === 'nchw' ? asPlain(v, `${hint}/${which}`) : ref(v, `${hint}/${which}`);
          if (v.layout === 'nchw') return v.name;
          if (v.constData) {
            // broadcast a constant against NHWC: pad its shape to rank 4 then permute
            const padded = [...new Array(4 - v.shape.length).fill(1), ...v.shape];
            const c = constVal('', v.dtype, padded, v.constData);
            return asNchw(c, `${hint}/${which}`);
          }
          if (v.shape.length === 4) return asNchw(v, `${hint}/${which}`);
          return fail(node, `cannot broadcast a ${v.shape.length}-D tensor against an NCHW activation`);
        };
        const o = out(shape, dtype, nchw ? 'nchw' : 'plain');
        g.node(onnxOp, [operand(a, 'a'), operand(b, 'b')], [o.name]);
        set(o);
        break;
      }

      case 'Mean':
      case 'Max':
      case 'Sum': {
        need(2);
        const [x, axesV] = ins as [Val, Val];
        const rank = x.shape.length;
        const axes = constInts(node, axesV, 'reduction_indices').map((a) => (a < 0 ? a + rank : a));
        const keep = attrBool(node, 'keep_dims');
        const onnxOp = { Mean: 'ReduceMean', Max: 'ReduceMax', Sum: 'ReduceSum' }[node.op]!;
        const shape = keep ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
        const spatialOnly = axes.length === 2 && axes.includes(1) && axes.includes(2);
        if (x.layout === 'nchw' && (keep || spatialOnly)) {
          const o = out(shape, x.dtype, keep ? 'nchw' : 'plain');
          g.node(onnxOp, [x.name], [o.name], { axes: axes.map(nchwAxis).sort(), keepdims: keep ? 1 : 0 });
          set(o);
        } else {
          const o = out(shape, x.dtype, 'plain');
          g.node(onnxOp, [asPlain(x, hint)], [o.name], { axes, keepdims: keep ? 1 : 0 });
          set(o);
        }
        break;
      }

      case 'MaxPool':
      case 'AvgPool': {
        need(1);
        const x = ins[0]!;
        if (attrStr(node, 'data_format', 'NHWC') !== 'NHWC') fail(node, 'only NHWC data_format is supported');
        const k = attrInts(node, 'ksize');
        const s = attrInts(node, 'strides');
        if (k[0] !== 1 || k[3] !== 1 || s[0] !== 1 || s[3] !== 1) fail(node, 'pooling over batch or channels');
        const [H, W] = [x.shape[1]!, x.shape[2]!];
        const padding = attrStr(node, 'padding');
        if (padding === 'EXPLICIT') fail(node, 'explicit padding is not supported for pooling');
        const { oh, ow, pads } = spatial(node, padding, H, W, [k[1]!, k[2]!], [s[1]!, s[2]!], [1, 1]);
        const o = out([x.shape[0]!, oh, ow, x.shape[3]!], x.dtype, 'nchw');
        const attrs: Record<string, number | number[]> = { kernel_shape: [k[1]!, k[2]!], strides: [s[1]!, s[2]!], pads };
        if (node.op === 'AvgPool') attrs.count_include_pad = 0;
        g.node(node.op === 'MaxPool' ? 'MaxPool' : 'AveragePool', [asNchw(x, hint)], [o.name], attrs);
        set(o);
        break;
      }

      case 'ResizeBilinear':
      case 'ResizeNearestNeighbor': {
        need(2);
        const [x, sizeV] = ins as [Val, Val];
        const [oh0, ow0] = constInts(node, sizeV, 'size');
        const [oh, ow] = [oh0! * resizeRatio[0], ow0! * resizeRatio[1]];
        if (!Number.isInteger(oh) || !Number.isInteger(ow)) fail(node, `at input size ${options.inputSize}, the resize to ${oh0}×${ow0} is ${oh}×${ow}: choose a size that divides evenly`);
        const alignCorners = attrBool(node, 'align_corners');
        const halfPixel = attrBool(node, 'half_pixel_centers');
        const bilinear = node.op === 'ResizeBilinear';
        const attrs: Record<string, string | number> = { mode: bilinear ? 'linear' : 'nearest' };
        if (alignCorners) attrs.coordinate_transformation_mode = 'align_corners';
        else if (halfPixel) attrs.coordinate_transformation_mode = bilinear ? 'half_pixel' : 'tf_half_pixel_for_nn';
        else attrs.coordinate_transformation_mode = 'asymmetric';
        if (!bilinear) attrs.nearest_mode = alignCorners ? 'round_prefer_ceil' : halfPixel ? 'round_prefer_ceil' : 'floor';
        const shape = [x.shape[0]!, oh!, ow!, x.shape[3]!];
        const o = out(shape, 'float32', 'nchw');
        g.node('Resize', [asNchw(x, hint), '', '', i64([shape[0]!, shape[3]!, oh!, ow!], `${hint}/sizes`)], [o.name], attrs);
        set(o);
        break;
      }

      case 'ConcatV2': {
        const n = attrInt(node, 'N', ins.length - 1);
        need(n + 1);
        const parts = ins.slice(0, n);
        const rank = parts[0]!.shape.length;
        let axis = constInts(node, ins[n]!, 'axis')[0]!;
        if (axis < 0) axis += rank;
        const shape = [...parts[0]!.shape];
        for (const p of parts.slice(1)) {
          if (p.shape.length !== rank || p.shape.some((d, i) => i !== axis && d !== shape[i]))
            fail(node, `cannot concatenate [${p.shape}] to [${parts[0]!.shape}] on axis ${axis}`);
          shape[axis]! += p.shape[axis]!;
        }
        const nchw = rank === 4 && parts.some((p) => p.layout === 'nchw');
        const o = out(shape, parts[0]!.dtype, nchw ? 'nchw' : 'plain');
        g.node(
          'Concat',
          parts.map((p, i) => (nchw ? asNchw(p, `${hint}/${i}`) : asPlain(p, `${hint}/${i}`))),
          [o.name],
          { axis: nchw ? nchwAxis(axis) : axis },
        );
        set(o);
        break;
      }

      case 'Reshape': {
        need(2);
        const [x, shapeV] = ins as [Val, Val];
        const target = constInts(node, shapeV, 'shape');
        const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
        const shape = target.map((d) => (d === -1 ? numel(x.shape) / known : d));
        if (numel(shape) !== numel(x.shape)) fail(node, `cannot reshape [${x.shape}] to [${target}]`);
        const o = out(shape, x.dtype, 'plain');
        g.node('Reshape', [asPlain(x, hint), i64(shape, `${hint}/shape`)], [o.name]);
        set(o);
        break;
      }

      case 'ExpandDims': {
        need(2);
        const [x, dimV] = ins as [Val, Val];
        let axis = constInts(node, dimV, 'dim')[0]!;
        if (axis < 0) axis += x.shape.length + 1;
        const shape = [...x.shape];
        shape.splice(axis, 0, 1);
        const o = out(shape, x.dtype, 'plain');
        g.node('Unsqueeze', [asPlain(x, hint), i64([axis], `${hint}/axes`)], [o.name]);
        set(o);
        break;
      }

      case 'Squeeze': {
        need(1);
        const x = ins[0]!;
        let axes = attrInts(node, 'squeeze_dims', []).map((a) => (a < 0 ? a + x.shape.length : a));
        if (!axes.length) axes = x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
        const o = out(x.shape.filter((_, i) => !axes.includes(i)), x.dtype, 'plain');
        g.node('Squeeze', [asPlain(x, hint), i64(axes, `${hint}/axes`)], [o.name]);
        set(o);
        break;
      }

      case 'StridedSlice': {
        need(4);
        const [x, bV, eV, sV] = ins as [Val, Val, Val, Val];
        const begin = constInts(node, bV, 'begin');
        const end = constInts(node, eV, 'end');
        const strides = constInts(node, sV, 'strides');
        if (attrInt(node, 'ellipsis_mask') || attrInt(node, 'new_axis_mask'))
          fail(node, 'ellipsis_mask and new_axis_mask are not supported');
        const bm = attrInt(node, 'begin_mask');
        const em = attrInt(node, 'end_mask');
        const sm = attrInt(node, 'shrink_axis_mask');
        const starts: number[] = [], ends: number[] = [], axes: number[] = [], steps: number[] = [];
        const slicedShape: number[] = [];
        const squeeze: number[] = [];
        for (let d = 0; d < x.shape.length; d++) {
          const dim = x.shape[d]!;
          if (d >= begin.length) {
            slicedShape.push(dim);
            continue;
          }
          const st = strides[d]!;
          if (st === 0) fail(node, 'stride 0');
          const norm = (v: number) => (v < 0 ? v + dim : v);
          // TF semantics, resolved to absolute indices; e = -1 means "before the first element"
          let b = bm & (1 << d) ? (st > 0 ? 0 : dim - 1) : norm(begin[d]!);
          let e = em & (1 << d) ? (st > 0 ? dim : -1) : norm(end[d]!);
          if (sm & (1 << d)) {
            e = b + 1;
            squeeze.push(d);
          }
          b = st > 0 ? Math.min(Math.max(b, 0), dim) : Math.min(Math.max(b, -1), dim - 1);
          e = st > 0 ? Math.min(Math.max(e, 0), dim) : Math.min(Math.max(e, -1), dim - 1);
          slicedShape.push(Math.max(0, Math.ceil((e - b) / st)));
          starts.push(b);
          ends.push(e < 0 ? -dim - 1 : e); // ONNX reads a negative end from the back; -dim-1 clamps to "before 0"
          axes.push(d);
          steps.push(st);
        }
        const shape = slicedShape.filter((_, i) => !squeeze.includes(i));
        const sliced = out(slicedShape, x.dtype, 'plain');
        g.node(
          'Slice',
          [asPlain(x, hint), i64(starts, `${hint}/starts`), i64(ends, `${hint}/ends`), i64(axes, `${hint}/axes`), i64(steps, `${hint}/steps`)],
          [sliced.name],
        );
        if (!squeeze.length) {
          set(sliced);
          break;
        }
        const o = out(shape, x.dtype, 'plain');
        g.node('Squeeze', [sliced.name, i64(squeeze, `${hint}/squeeze`)], [o.name]);
        set(o);
        break;
      }

      case 'Cast': {
        need(1);
        const x = ins[0]!;
        const to = tfTypes[attr(node, 'DstT')?.type ?? ''] ?? fail(node, `unsupported cast target ${attr(node, 'DstT')?.type}`);
        const o = out(x.shape, to as DType, x.layout);
        g.node('Cast', [ref(x, hint + '/x')], [o.name], { to: { float32: 1, int32: 6, int64: 7, bool: 9 }[to as DType] });
        set(o);
        break;
      }

      case 'TopKV2': {
        need(2);
        const [x, kV] = ins as [Val, Val];
        const k = constInts(node, kV, 'k')[0]!;
        const shape = [...x.shape.slice(0, -1), k];
        if (k > x.shape.at(-1)!) fail(node, `k=${k} exceeds the last dimension ${x.shape.at(-1)}`);
        const values = out(shape, x.dtype, 'plain');
        const idx64 = g.unique(`${hint}/indices64`);
        g.node('TopK', [asPlain(x, hint), i64([k], `${hint}/k`)], [values.name, idx64], {
          axis: -1,
          largest: 1,
          sorted: attr(node, 'sorted')?.b === false ? 0 : 1,
        });
        const indices = out(shape, 'int32', 'plain');
        g.node('Cast', [idx64], [indices.name], { to: 6 });
        set(values, 0);
        set(indices, 1);
        break;
      }

      case 'GatherV2': {
        need(3);
        const [params, indices, axisV] = ins as [Val, Val, Val];
        if (attrInt(node, 'batch_dims')) fail(node, 'batch_dims ≠ 0 is not supported');
        let axis = constInts(node, axisV, 'axis')[0]!;
        if (axis < 0) axis += params.shape.length;
        const shape = [...params.shape.slice(0, axis), ...indices.shape, ...params.shape.slice(axis + 1)];
        const o = out(shape, params.dtype, 'plain');
        g.node('Gather', [asPlain(params, `${hint}/params`), asPlain(indices, `${hint}/indices`)], [o.name], { axis });
        set(o);
        break;
      }

      case 'FloorDiv':
      case 'FloorMod': {
        need(2);
        const [a, b] = ins as [Val, Val];
        const shape = broadcast(a.shape, b.shape, () => fail(node, `shapes [${a.shape}] and [${b.shape}] do not broadcast`));
        const A = asPlain(a, `${hint}/a`);
        const B = asPlain(b, `${hint}/b`);
        const o = out(shape, a.dtype, 'plain');
        if (a.dtype === 'float32') {
          const q = g.unique(`${hint}/q`);
          const fq = g.unique(`${hint}/floor`);
          g.node('Div', [A, B], [q]);
          g.node('Floor', [q], [node.op === 'FloorDiv' ? o.name : fq]);
          if (node.op === 'FloorMod') {
            const p = g.unique(`${hint}/prod`);
            g.node('Mul', [fq, B], [p]);
            g.node('Sub', [A, p], [o.name]);
          }
        } else if (node.op === 'FloorMod') {
          g.node('Mod', [A, B], [o.name], { fmod: 0 }); // integer Mod takes the divisor's sign: floor semantics
        } else {
          // floor(a/b) = (a - floormod(a,b)) / b, exact in integers (ONNX Div truncates)
          const m = g.unique(`${hint}/mod`);
          const d = g.unique(`${hint}/diff`);
          g.node('Mod', [A, B], [m], { fmod: 0 });
          g.node('Sub', [A, m], [d]);
          g.node('Div', [d, B], [o.name]);
        }
        set(o);
        break;
      }

      default:
        fail(node, `unsupported op '${node.op}'`);
    }
  }

  /** Output size and ONNX pads [top, left, bottom, right] of a 2-D window op, exactly as TF pads it. */
  function spatial(node: TfNode, padding: string, H: number, W: number, [kh, kw]: number[], [sh, sw]: number[], [dh, dw]: number[]) {
    const ek = (k: number, d: number) => (k - 1) * d + 1;
    if (padding === 'SAME') {
      // TF 'SAME': output ceil(in/stride); the odd pixel of padding goes at the end
      const oh = Math.ceil(H / sh!);
      const ow = Math.ceil(W / sw!);
      const ph = Math.max((oh - 1) * sh! + ek(kh!, dh!) - H, 0);
      const pw = Math.max((ow - 1) * sw! + ek(kw!, dw!) - W, 0);
      return { oh, ow, pads: [Math.floor(ph / 2), Math.floor(pw / 2), ph - Math.floor(ph / 2), pw - Math.floor(pw / 2)] };
    }
    if (padding === 'VALID')
      return { oh: Math.ceil((H - ek(kh!, dh!) + 1) / sh!), ow: Math.ceil((W - ek(kw!, dw!) + 1) / sw!), pads: [0, 0, 0, 0] };
    if (padding === 'EXPLICIT') {
      const e = attrInts(node, 'explicit_paddings');
      const pads = [e[2]!, e[4]!, e[3]!, e[5]!];
      return {
        oh: Math.floor((H + pads[0]! + pads[2]! - ek(kh!, dh!)) / sh!) + 1,
        ow: Math.floor((W + pads[1]! + pads[3]! - ek(kw!, dw!)) / sw!) + 1,
        pads,
      };
    }
    return fail(node, `unsupported padding ${padding}`);
  }

  function emitActivation(node: TfNode, kind: string, input: string, output: string) {
    switch (kind) {
      case 'Relu':
        return g.node('Relu', [input], [output]);
      case 'Relu6':
        return g.node('Clip', [input, f32scalar(0, 'zero'), f32scalar(6, 'six')], [output]);
      case 'Sigmoid':
        return g.node('Sigmoid', [input], [output]);
      case 'Tanh':
        return g.node('Tanh', [input], [output]);
      case 'Elu':
        return g.node('Elu', [input], [output], { alpha: { float: 1 } });
      case 'LeakyRelu':
        return g.node('LeakyRelu', [input], [output], { alpha: { float: attr(node, 'alpha')?.f ?? attr(node, 'leakyrelu_alpha')?.f ?? 0.2 } });
      default:
        fail(node, `unsupported activation ${kind}`);
    }
  }

  const outputsOut: ConvertResult['outputs'] = [];
  for (const o of requested) {
    const r = parseRef(o);
    const v = vals.get(valKey(r.node, r.index))!;
    const name = rename[o] ?? o;
    let src: string;
    let layout: 'NCHW' | 'NHWC' | 'plain' = 'plain';
    let shape = v.shape;
    if (v.shape.length === 4 && (options.outputLayout ?? 'nhwc') === 'nchw') {
      src = asNchw(v, name);
      layout = 'NCHW';
      shape = NHWC_TO_NCHW.map((p) => v.shape[p]!);
    } else {
      src = asPlain(v, name);
      if (v.shape.length === 4) layout = 'NHWC';
    }
    if (!src) src = ref(v, name); // a constant output
    g.node('Identity', [src], [name]);
    g.output(name, v.dtype as ElemType, shape);
    outputsOut.push({ name, tfName: o, shape, dtype: v.dtype, layout });
  }

  if (options.fuseActivations ?? true) g.fuseHardActivations();
  const onnx = g.encode({
    graphName: 'converted',
    producer: 'inference-health-monitor tfjs2onnx',
  });
  return { onnx, inputs: inputsOut, outputs: outputsOut, ops: g.opHistogram(), tfOps };
}
