/**
 * Raw frame records are stored in blocks of up to BLOCK_MAX records spanning at most BLOCK_SPAN_MS,
 * columnar: typed arrays for the numbers, dictionaries for the strings that repeat (model version,
 * backend, source, tags). One IndexedDB value per block instead of per frame makes commits ~10× cheaper
 * and a record ~3× smaller. Blocks are keyed [first id, count]: ids are UUIDv7s, so keys sort by time
 * and a key cursor counts records without reading them.
 */
import type { FrameRecord } from '../telemetry/record.ts';

export const BLOCK_MAX = 512;
export const BLOCK_SPAN_MS = 5_000;

export interface FrameBlock {
  /** [first record's id, number of records] */
  key: [string, number];
  /** ids, 36 characters each, concatenated */
  ids: string;
  t0: number;
  /** ms after t0 */
  dt: Uint32Array;
  /** stage latencies, 6 per record (-1 unknown) */
  l: Float32Array;
  d: Uint16Array;
  /** per record: [mean, min, max] score, NaN when nothing was detected */
  s: Float32Array;
  /** per-class rows [classId, count, max, mean]; kOff[i]..kOff[i+1] are record i's rows */
  k: Float32Array;
  kOff: Uint32Array;
  /** confidence bins of each detection; hOff like kOff */
  h: Uint8Array;
  hOff: Uint32Array;
  /** dictionaries and per-record indices */
  dict: string[];
  mv: Uint16Array;
  b: Uint16Array;
  src: Uint16Array;
  g: Uint16Array;
  /** sparse: record index → malformed reason / error kind */
  m?: Record<number, string>;
  e?: Record<number, string>;
  /** input-image statistics, IMAGE_KEYS.length per record (NaN where absent); only when some record has them */
  img?: Float32Array;
  /** statistics under other keys (sparse; blocks written before `img` hold all of them here) */
  i?: Record<number, Record<string, number>>;
}

/** The input-image statistics a record carries, stored columnar in this order (see FrameRecord.i). */
export const IMAGE_KEYS = ['br', 'co', 'sa', 'sh', 'sc'] as const;

const ID_LENGTH = 36;

/** Splits records (any order) into blocks by time. */
export function packBlocks(records: FrameRecord[]): FrameBlock[] {
  const sorted = [...records].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const out: FrameBlock[] = [];
  let start = 0;
  for (let i = 1; i <= sorted.length; i++) {
    if (i === sorted.length || i - start >= BLOCK_MAX || sorted[i]!.t - sorted[start]!.t > BLOCK_SPAN_MS || sorted[i]!.t < sorted[start]!.t) {
      out.push(packBlock(sorted.slice(start, i)));
      start = i;
    }
  }
  return out;
}

function packBlock(rs: FrameRecord[]): FrameBlock {
  const n = rs.length;
  const dict: string[] = [];
  const index = new Map<string, number>();
  const intern = (s: string) => {
    let i = index.get(s);
    if (i === undefined) index.set(s, (i = dict.push(s) - 1));
    return i;
  };
  const t0 = rs[0]!.t;
  const kRows = rs.reduce((a, r) => a + r.k.length, 0);
  const hLen = rs.reduce((a, r) => a + (r.h?.length ?? 0), 0);
  const b: FrameBlock = {
    key: [rs[0]!.id, n],
    ids: '',
    t0,
    dt: new Uint32Array(n),
    l: new Float32Array(n * 6),
    d: new Uint16Array(n),
    s: new Float32Array(n * 3),
    k: new Float32Array(kRows * 4),
    kOff: new Uint32Array(n + 1),
    h: new Uint8Array(hLen),
    hOff: new Uint32Array(n + 1),
    dict,
    mv: new Uint16Array(n),
    b: new Uint16Array(n),
    src: new Uint16Array(n),
    g: new Uint16Array(n),
  };
  const ids: string[] = [];
  let ko = 0, ho = 0;
  rs.forEach((r, i) => {
    if (r.id.length !== ID_LENGTH) throw new RangeError(`record id '${r.id}' is not a UUID`);
    ids.push(r.id);
    b.dt[i] = Math.max(0, r.t - t0);
    for (let j = 0; j < 6; j++) b.l[i * 6 + j] = r.l[j] ?? -1;
    b.d[i] = Math.min(65535, r.d);
    if (r.s.length) b.s.set([r.s[0]!, r.s[1]!, r.s[2]!], i * 3);
    else b.s.fill(NaN, i * 3, i * 3 + 3);
    b.kOff[i] = ko;
    for (const row of r.k) b.k.set(row, 4 * ko++);
    b.hOff[i] = ho;
    for (const bin of r.h ?? []) b.h[ho++] = bin;
    b.mv[i] = intern(r.mv);
    b.b[i] = intern(r.b);
    b.src[i] = intern(r.src);
    b.g[i] = intern(r.g);
    if (r.m) (b.m ??= {})[i] = r.m;
    if (r.e) (b.e ??= {})[i] = r.e;
    if (r.i) {
      const img = (b.img ??= new Float32Array(n * IMAGE_KEYS.length).fill(NaN));
      for (const [k, v] of Object.entries(r.i)) {
        const j = (IMAGE_KEYS as readonly string[]).indexOf(k);
        if (j >= 0) img[i * IMAGE_KEYS.length + j] = v;
        else ((b.i ??= {})[i] ??= {})[k] = v;
      }
    }
  });
  b.kOff[n] = ko;
  b.hOff[n] = ho;
  b.ids = ids.join('');
  return b;
}

const r3 = (v: number) => Math.round(v * 1000) / 1000;
const r2 = (v: number) => Math.round(v * 100) / 100;

/** The records of a block, in id order. */
export function unpackBlock(b: FrameBlock): FrameRecord[] {
  const n = b.key[1];
  const out: FrameRecord[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const k: FrameRecord['k'] = [];
    for (let j = b.kOff[i]!; j < b.kOff[i + 1]!; j++)
      k.push([b.k[4 * j]!, b.k[4 * j + 1]!, r3(b.k[4 * j + 2]!), r3(b.k[4 * j + 3]!)]);
    const s0 = b.s[i * 3]!;
    const r: FrameRecord = {
      id: b.ids.slice(i * ID_LENGTH, (i + 1) * ID_LENGTH),
      t: b.t0 + b.dt[i]!,
      src: b.dict[b.src[i]!]!,
      mv: b.dict[b.mv[i]!]!,
      b: b.dict[b.b[i]!]!,
      l: Array.from(b.l.subarray(i * 6, i * 6 + 6), (v) => (v < 0 ? -1 : r2(v))),
      d: b.d[i]!,
      k,
      s: Number.isNaN(s0) ? [] : [r3(s0), r3(b.s[i * 3 + 1]!), r3(b.s[i * 3 + 2]!)],
      g: b.dict[b.g[i]!]!,
    };
    if (b.hOff[i + 1]! > b.hOff[i]!) r.h = Array.from(b.h.subarray(b.hOff[i]!, b.hOff[i + 1]!));
    if (b.m?.[i]) r.m = b.m[i];
    if (b.e?.[i]) r.e = b.e[i];
    if (b.img) {
      for (let j = 0; j < IMAGE_KEYS.length; j++) {
        const v = b.img[i * IMAGE_KEYS.length + j]!;
        if (!Number.isNaN(v)) (r.i ??= {})[IMAGE_KEYS[j]!] = +v.toPrecision(5);
      }
    }
    if (b.i?.[i]) r.i = { ...r.i, ...b.i[i] };
    out[i] = r;
  }
  return out;
}
