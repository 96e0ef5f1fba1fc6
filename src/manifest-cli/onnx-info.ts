/**
 * What an ONNX file says about itself, read straight from its protobuf bytes (no dependency, no copy of the
 * weights): the graph's real inputs (initializers listed as inputs by older exporters are left out), its
 * outputs, their element types and shapes (a dimension is a number, or the name of a symbolic one such as
 * `batch`, or null when unknown), the opsets, the producer, the metadata properties (Ultralytics writes
 * `names`, `imgsz`, `task` there) and the operator types used. Pure: runs in Node and in the browser.
 */

/** A tensor's dimension: a size, a symbolic name (`batch`, `N`…), or null (unknown). */
export type Dim = number | string | null;

export interface TensorInfo {
  name: string;
  /** ONNX element type name: float32, uint8, int64… */
  dtype: string;
  /** null when the file gives no shape */
  shape: Dim[] | null;
}

export interface OnnxInfo {
  irVersion: number;
  producer: string;
  producerVersion: string;
  /** domain ('' for the default ai.onnx) → version */
  opsets: Record<string, number>;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** key → value from metadata_props */
  metadata: Record<string, string>;
  /** operator types in the graph (top level), each once */
  ops: string[];
  /** number of initializers (weights) */
  initializers: number;
}

/** An ONNX file that cannot be read, with why. */
export class OnnxFormatError extends Error {
  override name = 'OnnxFormatError';
}

const ELEM_TYPES: Record<number, string> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool',
  10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 14: 'complex64', 15: 'complex128', 16: 'bfloat16',
};

/** A protobuf wire-format reader over a byte range. */
class Reader {
  pos: number;
  constructor(readonly buf: Uint8Array, start = 0, readonly end = buf.length) {
    this.pos = start;
  }
  get done() {
    return this.pos >= this.end;
  }
  varint(): number {
    let result = 0, shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new OnnxFormatError('truncated varint');
      const b = this.buf[this.pos++]!;
      if (shift < 49) result += (b & 0x7f) * 2 ** shift;
      else if (b & 0x7f) result = Number.MAX_SAFE_INTEGER; // beyond 2^53: not a size we can use anyway
      if (!(b & 0x80)) return result;
      shift += 7;
      if (shift > 63) throw new OnnxFormatError('varint longer than 10 bytes');
    }
  }
  /** A signed int64 varint (two's complement: -1 comes as ten bytes). */
  int64(): number {
    let v = 0n, shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new OnnxFormatError('truncated varint');
      const b = this.buf[this.pos++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return Number(BigInt.asIntN(64, v));
      shift += 7n;
      if (shift > 63n) throw new OnnxFormatError('varint longer than 10 bytes');
    }
  }
  tag(): { field: number; wire: number } {
    const t = this.varint();
    return { field: Math.floor(t / 8), wire: t & 7 };
  }
  /** A length-delimited field's range. */
  bytes(): [number, number] {
    const n = this.varint();
    const start = this.pos;
    if (start + n > this.end) throw new OnnxFormatError(`a field of ${n} bytes runs past the end of its message`);
    this.pos += n;
    return [start, start + n];
  }
  string(): string {
    const [a, b] = this.bytes();
    return new TextDecoder().decode(this.buf.subarray(a, b));
  }
  sub(): Reader {
    const [a, b] = this.bytes();
    return new Reader(this.buf, a, b);
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new OnnxFormatError(`unsupported protobuf wire type ${wire} (not an ONNX file?)`);
    if (this.pos > this.end) throw new OnnxFormatError('truncated field');
  }
}

function readDim(r: Reader): Dim {
  let dim: Dim = null;
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 0) dim = r.int64();
    else if (field === 2 && wire === 2) dim = r.string() || null;
    else r.skip(wire);
  }
  return typeof dim === 'number' && dim < 0 ? null : dim;
}

function readValueInfo(r: Reader): TensorInfo {
  let name = '';
  let dtype = 'unknown';
  let shape: Dim[] | null = null;
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 2) name = r.string();
    else if (field === 2 && wire === 2) {
      const type = r.sub();
      while (!type.done) {
        const t = type.tag();
        if (t.field === 1 && t.wire === 2) {
          const tensor = type.sub();
          while (!tensor.done) {
            const u = tensor.tag();
            if (u.field === 1 && u.wire === 0) dtype = ELEM_TYPES[tensor.varint()] ?? 'unknown';
            else if (u.field === 2 && u.wire === 2) {
              const s = tensor.sub();
              shape = [];
              while (!s.done) {
                const d = s.tag();
                if (d.field === 1 && d.wire === 2) shape.push(readDim(s.sub()));
                else s.skip(d.wire);
              }
            } else tensor.skip(u.wire);
          }
        } else type.skip(t.wire);
      }
    } else r.skip(wire);
  }
  return { name, dtype, shape };
}

/** Reads an ONNX model's interface. Throws OnnxFormatError for bytes that are not one. */
export function readOnnx(bytes: Uint8Array): OnnxInfo {
  if (bytes.length < 8) throw new OnnxFormatError(`${bytes.length} bytes is too short for an ONNX model`);
  const info: OnnxInfo = { irVersion: 0, producer: '', producerVersion: '', opsets: {}, inputs: [], outputs: [], metadata: {}, ops: [], initializers: 0 };
  const r = new Reader(bytes);
  let graph: Reader | null = null;
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 0) info.irVersion = r.varint();
    else if (field === 2 && wire === 2) info.producer = r.string();
    else if (field === 3 && wire === 2) info.producerVersion = r.string();
    else if (field === 7 && wire === 2) graph = r.sub();
    else if (field === 8 && wire === 2) {
      const o = r.sub();
      let domain = '', version = 0;
      while (!o.done) {
        const t = o.tag();
        if (t.field === 1 && t.wire === 2) domain = o.string();
        else if (t.field === 2 && t.wire === 0) version = o.varint();
        else o.skip(t.wire);
      }
      info.opsets[domain] = version;
    } else if (field === 14 && wire === 2) {
      const m = r.sub();
      let key = '', value = '';
      while (!m.done) {
        const t = m.tag();
        if (t.field === 1 && t.wire === 2) key = m.string();
        else if (t.field === 2 && t.wire === 2) value = m.string();
        else m.skip(t.wire);
      }
      if (key) info.metadata[key] = value;
    } else r.skip(wire);
  }
  if (!graph) throw new OnnxFormatError('no graph in the file (not an ONNX model?)');
  if (!info.irVersion) throw new OnnxFormatError('no ir_version (not an ONNX model?)');
  const inputs: TensorInfo[] = [];
  const initializers = new Set<string>();
  const ops = new Set<string>();
  while (!graph.done) {
    const { field, wire } = graph.tag();
    if (field === 11 && wire === 2) inputs.push(readValueInfo(graph.sub()));
    else if (field === 12 && wire === 2) info.outputs.push(readValueInfo(graph.sub()));
    else if (field === 5 && wire === 2) {
      const t = graph.sub();
      info.initializers++;
      while (!t.done) {
        const u = t.tag();
        if (u.field === 8 && u.wire === 2) initializers.add(t.string());
        else t.skip(u.wire);
      }
    } else if (field === 1 && wire === 2) {
      const n = graph.sub();
      while (!n.done) {
        const u = n.tag();
        if (u.field === 4 && u.wire === 2) ops.add(n.string());
        else n.skip(u.wire);
      }
    } else graph.skip(wire);
  }
  info.inputs = inputs.filter((i) => !initializers.has(i.name));
  info.ops = [...ops].sort();
  if (!info.inputs.length) throw new OnnxFormatError('the graph has no inputs');
  if (!info.outputs.length) throw new OnnxFormatError('the graph has no outputs');
  return info;
}

/** A shape as text: `[batch, 3, 640, 640]`, `?` for an unknown dimension. */
export const shapeText = (s: Dim[] | null) => (s ? `[${s.map((d) => d ?? '?').join(', ')}]` : '[unknown shape]');
