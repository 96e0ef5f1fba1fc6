import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ConvertError } from './errors.ts';

/** A TensorFlow attribute value as tfjs graph-model JSON stores it (int64s are decimal strings). */
export interface TfAttr {
  i?: string;
  f?: number;
  b?: boolean;
  s?: string;
  type?: string;
  shape?: { dim?: { size: string }[]; unknownRank?: boolean };
  list?: { i?: string[]; f?: number[]; s?: string[]; b?: boolean[]; type?: string[] };
  tensor?: unknown;
}

export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}

export type WeightData = Float32Array | Int32Array | Uint8Array;
export interface Weight {
  name: string;
  dtype: 'float32' | 'int32' | 'bool';
  shape: number[];
  data: WeightData;
}

export interface TfjsGraphModel {
  file: string;
  nodes: TfNode[];
  weights: Map<string, Weight>;
  signature?: {
    inputs?: Record<string, { name: string }>;
    outputs?: Record<string, { name: string }>;
  };
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number; original_dtype?: string };
}

const storageBytes: Record<string, number> = { float32: 4, int32: 4, bool: 1, float16: 2, uint8: 1, uint16: 2 };

/** IEEE 754 half → single precision. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function decodeWeight(spec: WeightSpec, bytes: Uint8Array, file: string): Weight {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const q = spec.quantization;
  if (spec.dtype === 'float32') {
    const out = new Float32Array(n);
    if (!q) for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
    else if (q.dtype === 'float16') for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
    else if (q.dtype === 'uint8' || q.dtype === 'uint16') {
      const scale = q.scale ?? 1;
      const min = q.min ?? 0;
      for (let i = 0; i < n; i++) out[i] = (q.dtype === 'uint8' ? bytes[i]! : view.getUint16(i * 2, true)) * scale + min;
    } else throw new ConvertError(`weight '${spec.name}' has unsupported quantization ${q.dtype}`, { file });
    return { name: spec.name, dtype: 'float32', shape: spec.shape, data: out };
  }
  if (spec.dtype === 'int32') {
    if (q) throw new ConvertError(`weight '${spec.name}': quantized int32 is not supported`, { file });
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true);
    return { name: spec.name, dtype: 'int32', shape: spec.shape, data: out };
  }
  if (spec.dtype === 'bool') return { name: spec.name, dtype: 'bool', shape: spec.shape, data: bytes.slice(0, n) };
  throw new ConvertError(`weight '${spec.name}' has unsupported dtype ${spec.dtype}`, { file });
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Reads a tfjs graph model (model.json plus its weight shards), checking every size against the manifest. */
export async function loadTfjsGraphModel(jsonPath: string): Promise<TfjsGraphModel> {
  const file = resolve(jsonPath);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConvertError(`cannot read model file: ${(e as Error).message}`, { file });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConvertError(`model file is not valid JSON: ${(e as Error).message}`, { file });
  }
  if (!isObject(json) || !isObject(json.modelTopology) || !Array.isArray(json.modelTopology.node))
    throw new ConvertError('not a tfjs graph model: modelTopology.node is missing', { file });
  if (json.format !== undefined && json.format !== 'graph-model')
    throw new ConvertError(`not a tfjs graph model: format is '${String(json.format)}'`, { file });
  const nodes = json.modelTopology.node as TfNode[];
  for (const [i, n] of nodes.entries())
    if (!isObject(n) || typeof n.name !== 'string' || typeof n.op !== 'string')
      throw new ConvertError(`node #${i} has no name or op`, { file });
  if (!Array.isArray(json.weightsManifest)) throw new ConvertError('weightsManifest is missing', { file });

  const weights = new Map<string, Weight>();
  for (const group of json.weightsManifest as { paths: string[]; weights: WeightSpec[] }[]) {
    if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights))
      throw new ConvertError('weightsManifest group lacks paths or weights', { file });
    const shards: Uint8Array[] = [];
    for (const p of group.paths) {
      const shard = resolve(dirname(file), p);
      try {
        shards.push(new Uint8Array(await readFile(shard)));
      } catch (e) {
        throw new ConvertError(`cannot read weights: ${(e as Error).message}`, { file: shard });
      }
    }
    const total = shards.reduce((a, s) => a + s.byteLength, 0);
    const buf = new Uint8Array(total);
    let o = 0;
    for (const s of shards) buf.set(s, (o += s.byteLength) - s.byteLength);
    const shardNames = group.paths.map((p) => resolve(dirname(file), p)).join(', ');
    let offset = 0;
    for (const spec of group.weights) {
      const bytes = storageBytes[spec.quantization?.dtype ?? spec.dtype];
      if (!bytes || !Array.isArray(spec.shape))
        throw new ConvertError(`weight '${spec.name}' has unsupported dtype ${spec.quantization?.dtype ?? spec.dtype}`, { file });
      const size = spec.shape.reduce((a, b) => a * b, 1) * bytes;
      if (offset + size > total)
        throw new ConvertError(
          `weights are truncated or corrupt: '${spec.name}' needs bytes ${offset}..${offset + size} but the shards hold ${total}`,
          { file: shardNames },
        );
      weights.set(spec.name, decodeWeight(spec, buf.subarray(offset, offset + size), shardNames));
      offset += size;
    }
    if (offset !== total)
      throw new ConvertError(`weights are corrupt: the manifest describes ${offset} bytes but the shards hold ${total}`, {
        file: shardNames,
      });
  }
  return { file, nodes, weights, signature: json.signature as TfjsGraphModel['signature'] };
}
