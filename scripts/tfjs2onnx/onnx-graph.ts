import onnxProto from 'onnx-proto';
import { fuseHardActivations } from './fuse.ts';

const { onnx } = onnxProto;
export const DT = onnx.TensorProto.DataType;
const AT = onnx.AttributeProto.AttributeType;

export type AttrValue = number | string | number[] | { float: number } | { floats: number[] };
export type ElemType = 'float32' | 'float16' | 'int32' | 'int64' | 'bool';
export const elemTypeCode: Record<ElemType, number> = {
  float32: DT.FLOAT,
  float16: DT.FLOAT16,
  int32: DT.INT32,
  int64: DT.INT64,
  bool: DT.BOOL,
};

/** Single → half precision, round to nearest even (for fp16 weight storage). */
export function floatToHalf(v: number): number {
  const f32 = new Float32Array([v]);
  const x = new Uint32Array(f32.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** Accumulates nodes, initializers and I/O, and serialises an ONNX ModelProto. */
export class OnnxGraph {
  private nodes: onnxProto.onnx.INodeProto[] = [];
  private initializers: onnxProto.onnx.ITensorProto[] = [];
  private inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private names = new Set<string>();

  /** A fresh tensor name derived from `base`. */
  unique(base: string): string {
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  /** Claims an exact name (graph inputs and outputs) so no intermediate takes it. */
  reserve(name: string): void {
    if (this.names.has(name)) throw new Error(`tensor name '${name}' is used twice`);
    this.names.add(name);
  }

  node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}, name?: string): void {
    const attribute = Object.entries(attrs).map(([k, v]) => {
      if (typeof v === 'number') return Number.isInteger(v) ? { name: k, type: AT.INT, i: v } : { name: k, type: AT.FLOAT, f: v };
      if (typeof v === 'string') return { name: k, type: AT.STRING, s: new TextEncoder().encode(v) };
      if (Array.isArray(v)) return { name: k, type: AT.INTS, ints: v };
      if ('float' in v) return { name: k, type: AT.FLOAT, f: v.float };
      return { name: k, type: AT.FLOATS, floats: v.floats };
    });
    this.nodes.push({ opType, input: inputs, output: outputs, attribute, name: name ?? this.unique(`${opType}_node`) });
  }

  initializer(name: string, type: ElemType, dims: number[], data: ArrayLike<number> | bigint[]): void {
    let raw: Uint8Array;
    if (type === 'float32') raw = new Uint8Array(Float32Array.from(data as ArrayLike<number>).buffer);
    else if (type === 'float16') raw = new Uint8Array(Uint16Array.from(data as ArrayLike<number>, floatToHalf).buffer);
    else if (type === 'int32') raw = new Uint8Array(Int32Array.from(data as ArrayLike<number>).buffer);
    else if (type === 'int64')
      raw = new Uint8Array(BigInt64Array.from(Array.from(data as ArrayLike<number | bigint>, (v) => BigInt(v))).buffer);
    else raw = Uint8Array.from(data as ArrayLike<number>, (v) => (v ? 1 : 0));
    this.initializers.push({ name, dataType: elemTypeCode[type], dims, rawData: raw });
  }

  private valueInfo(name: string, type: ElemType, dims: number[]): onnxProto.onnx.IValueInfoProto {
    return {
      name,
      type: { tensorType: { elemType: elemTypeCode[type], shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
    };
  }

  input(name: string, type: ElemType, dims: number[]): void {
    this.inputs.push(this.valueInfo(name, type, dims));
  }

  output(name: string, type: ElemType, dims: number[]): void {
    this.outputs.push(this.valueInfo(name, type, dims));
  }

  encode(meta: { graphName: string; producer: string; docString?: string; metadata?: Record<string, string> }): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      producerName: meta.producer,
      docString: meta.docString ?? '',
      metadataProps: Object.entries(meta.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: meta.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  /** Rewrites hard-swish / hard-sigmoid chains into HardSwish / HardSigmoid (see fuse.ts). */
  fuseHardActivations(): { hardSwish: number; hardSigmoid: number } {
    return fuseHardActivations(this.nodes, this.initializers, this.outputs.map((o) => o.name!));
  }

  get nodeCount(): number {
    return this.nodes.length;
  }
  /** Op types used, with counts (for reporting which kernels the model needs). */
  opHistogram(): Record<string, number> {
    const h: Record<string, number> = {};
    for (const n of this.nodes) h[n.opType!] = (h[n.opType!] ?? 0) + 1;
    return h;
  }
}
