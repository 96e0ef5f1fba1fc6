/**
 * What one request and one token may cost the fleet server: the request body (bounded on
 * the wire and after gunzip), a cheap structure check before validation, per-batch bounds, rate limits weighted
 * by cost, and rollup maps bounded when merged. docs/operations.md ("What one token can cost") lists them.
 */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { type Batch, LIMITS } from '../sync/payload.ts';
import { type Hist, merge as mergeHist } from '../telemetry/histogram.ts';
import { addCounts, type AgreementCounts, mergeRollup, type Rollup } from '../telemetry/rollup.ts';
import { ApiError } from './errors.ts';

const MINUTE = 60_000;

/** The API error type has one home (errors.ts); re-exported for the code that reads bodies here. */
export { ApiError };

/**
 * The request body, read as a stream: at most `maxWire` bytes, gunzipped as it comes (zlib, streaming) to at
 * most `maxInflated` (a gzip bomb is refused after inflating at most that much). After a refusal the rest of the
 * body is read and discarded in the background (up to DISCARD_MAX bytes, then the connection is cut), so the
 * answer arrives and a keep-alive connection stays usable.
 */
export async function readBody(body: ReadableStream<Uint8Array> | Readable | null, gzip: boolean, maxWire: number, maxInflated: number): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  const chunksIn = chunkReader(body);
  const chunks: Buffer[] = [];
  let wire = 0, inflated = 0;
  let refused: ApiError | null = null;
  const z = gzip ? createGunzip() : null;
  const ended = z ? new Promise<void>((res, rej) => { z.on('end', res); z.on('close', res); z.on('error', rej); }) : null;
  ended?.catch(() => {}); // awaited below when it matters
  z?.on('data', (c: Buffer) => {
    inflated += c.length;
    if (inflated <= maxInflated) chunks.push(c);
    else if (!refused) {
      refused = new ApiError(413, `decompressed body over ${maxInflated} bytes`);
      z.destroy();
    }
  });
  let done = false;
  try {
    for (;;) {
      const r = await chunksIn.read();
      if (r.done) break;
      wire += r.value.byteLength;
      if (wire > maxWire) throw new ApiError(413, `body over ${maxWire} bytes`);
      if (!z) chunks.push(Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength));
      else if (!z.write(r.value)) await drained(z);
      if (refused) throw refused;
    }
    done = true;
    if (z) {
      z.end();
      await ended;
    }
    if (refused) throw refused;
  } catch (e) {
    if (!done) void discard(chunksIn);
    if (refused) throw refused;
    if (e instanceof ApiError) throw e;
    if (z && /^Z_/.test((e as NodeJS.ErrnoException).code ?? '')) throw new ApiError(400, 'body is not valid gzip');
    throw new ApiError(400, 'the request body could not be read');
  } finally {
    if (done) chunksIn.release();
    z?.destroy();
  }
  return Buffer.concat(chunks);
}

/** A body's chunks, one read at a time, from a web stream or (straight from the socket, without a web stream in between) a Node stream. */
interface ChunkReader {
  read(): Promise<IteratorResult<Uint8Array>>;
  cancel(): Promise<void>;
  release(): void;
}
function chunkReader(body: ReadableStream<Uint8Array> | Readable): ChunkReader {
  if (body instanceof Readable) {
    const it = body[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
    return { read: () => it.next(), cancel: async () => void body.destroy(), release: () => {} };
  }
  const reader = body.getReader();
  return { read: () => reader.read() as Promise<IteratorResult<Uint8Array>>, cancel: () => reader.cancel(), release: () => reader.releaseLock() };
}

/** Resolves when a writable stream drains or closes. */
const drained = (w: NodeJS.WritableStream & NodeJS.EventEmitter) =>
  new Promise<void>((ok) => {
    const done = () => {
      w.off('drain', done);
      w.off('close', done);
      ok();
    };
    w.on('drain', done);
    w.on('close', done);
  });

/** Bytes of a refused body read and dropped before the connection is cut instead. */
const DISCARD_MAX = 16 << 20;
async function discard(reader: ChunkReader) {
  let n = 0;
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) return;
      n += r.value.byteLength;
      if (n > DISCARD_MAX) return void (await reader.cancel());
    }
  } catch { /* the client went away */ }
}


// ---------- rate limits weighted by cost ----------

/**
 * What a request costs in rate-limit units: 1, plus 1 per 64 KiB of (inflated) body, plus 1 per 32 rollups (each
 * writes a 1-min, a 1-hour and an all-time row), plus 1 per 600 per-class map keys (`mapKeys`: each is merged into
 * those three rows; measured in-process, a rollup of 1,000 classes with their confidence histograms — ~22,000 keys,
 * 157 KB — took ~17 ms to write, ~35× an ordinary batch, where bytes alone charged it 3.4 units; now ~40). A page's
 * minute of a few cameras costs about 1.1.
 */
export const COST = { bytesPerUnit: 64 << 10, rollupsPerUnit: 32, mapKeysPerUnit: 600 } as const;
export const requestCost = (inflatedBytes: number, rollups: number, mapKeys = 0) => 1 + inflatedBytes / COST.bytesPerUnit + rollups / COST.rollupsPerUnit + mapKeys / COST.mapKeysPerUnit;

/** The per-class and error map keys of a batch's rollups (classes, classScore, each class's histogram buckets, per-label agreement, errors): merging them costs in proportion. */
export function mapKeys(b: Batch): number {
  let n = 0;
  for (const r of b.rollups) {
    for (const _ in r.classes) n += 2; // classes and classScore
    for (const _ in r.errors) n++;
    if (r.cc) for (const k in r.cc) for (const _ in r.cc[k as unknown as number]) n++;
    if (r.ag?.byClass) for (const _ in r.ag.byClass) n++;
  }
  return n;
}

/**
 * A token bucket per key: `rate` units per minute, bursts of rate / 6. A request needs one unit to start
 * (`take`); what it turns out to cost beyond that is charged when known (`charge`), so the bucket may go into
 * debt and the next request waits until it is paid off.
 */
export class RateLimiter {
  private buckets = new Map<string, { tokens: number; at: number }>();
  private readonly burst: number;
  private readonly perMs: number;
  constructor(rate: number) {
    this.burst = Math.max(1, rate / 6);
    this.perMs = rate / MINUTE;
  }
  private bucket(key: string, now: number) {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= 100_000) this.prune(now);
      this.buckets.set(key, (b = { tokens: this.burst, at: now }));
    }
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.perMs);
    b.at = now;
    return b;
  }
  /** 0 when a request may go now (one unit taken), else the seconds to wait. */
  take(key: string, now = Date.now()): number {
    const b = this.bucket(key, now);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000));
  }
  /** Charges `units` more (a request's cost beyond the unit `take` took); the bucket may go into debt. */
  charge(key: string, units: number, now = Date.now()): void {
    if (units > 0) this.bucket(key, now).tokens -= units;
  }
  /** Forgets full buckets (a key not seen for a while): the map stays bounded by the keys active in the last burst / rate minutes. */
  private prune(now: number) {
    for (const [k, b] of this.buckets) if (b.tokens + (now - b.at) * this.perMs >= this.burst) this.buckets.delete(k);
  }
}

// ---------- structure and per-batch bounds ----------

/**
 * Refuses a JSON body nested deeper than LIMITS.depth, by one pass over its bytes before it is parsed (1 MB of
 * `[[[[…` cost 537 ms on its way to a 400 when parsed and validated). Brackets inside strings do not count.
 */
export function checkDepth(buf: Uint8Array, max: number = LIMITS.depth): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) throw new ApiError(400, `the body is nested deeper than ${max} levels`);
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
}

const LISTS = ['rollups', 'alerts', 'flagged', 'baselines', 'annotations', 'verdicts'] as const;

/** Refuses (413, naming the limit) a parsed body whose lists are longer than LIMITS allows, before the schema looks at a single item. */
export function checkListSizes(json: unknown): void {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return; // the schema names it
  for (const k of LISTS) {
    const x = (json as Record<string, unknown>)[k];
    if (Array.isArray(x) && x.length > LIMITS[k]) throw new ApiError(413, `${k}: at most ${LIMITS[k]} per batch, got ${x.length}`);
  }
}

/** Refuses (413, naming the limit) a batch with more distinct (model version, tag key) series than LIMITS.series. */
export function checkSeries(b: Batch): void {
  if (b.rollups.length <= LIMITS.series) return;
  const keys = new Set<string>();
  for (const r of b.rollups) {
    keys.add(`${r.mv}\u0000${r.g}`);
    if (keys.size > LIMITS.series) throw new ApiError(413, `rollups: at most ${LIMITS.series} distinct (model version, tag key) series per batch`);
  }
}

// ---------- rollup maps bounded when merged ----------

/**
 * The most keys a stored rollup's maps hold: error kinds past `errors` fold into `other`; class ids past
 * `classes` are left out of classes, classScore and cc (the totals — detections, scoreSum, conf — still count
 * them). Either way the keys are counted (FleetDb: the source's keys_dropped, shown on /v1/devices).
 */
export const MAP_BOUNDS = { errors: 64, classes: LIMITS.classes } as const;

/**
 * Keys of the maps being merged into, counted once and then kept up to date by addBounded (the only writer of a
 * stored row's maps): counting a thousand integer keys with for…in at every merge cost more than the merge.
 */
const sizes = new WeakMap<object, number>();
function keyCount(o: object): number {
  let n = sizes.get(o);
  if (n === undefined) {
    n = 0;
    for (const _ in o) n++;
  }
  return n;
}

/**
 * Adds `from`'s values into `into` in place (`add` merges one value into the one there, or returns a new one for a
 * key `into` lacks), keeping `into` at most `max` keys: a new key past that goes to `spill` instead. Returns how
 * many keys were spilled. No copies: the keys are counted only once a new one arrives.
 */
function addBounded<V>(into: Record<string, V>, from: Record<string, V>, max: number, add: (have: V | undefined, v: V) => V, spill?: (v: V) => void): number {
  let size = -1;
  let n = 0;
  for (const k in from) {
    const v = from[k]!;
    const have = into[k];
    if (have !== undefined) {
      into[k] = add(have, v);
      continue;
    }
    if (size < 0) size = keyCount(into);
    if (size < max) {
      into[k] = add(undefined, v);
      size++;
    } else {
      n++;
      spill?.(v);
    }
  }
  if (size >= 0) sizes.set(into, size);
  return n;
}

const addCount = (have: number | undefined, v: number) => (have ?? 0) + v;
const addHist = (have: Hist | undefined, v: Hist) => mergeHist(have ?? {}, v);
const addLabelCounts = (have: AgreementCounts | undefined, v: AgreementCounts) => addCounts(have, v, () => ({ tp: 0, fp: 0, fn: 0 }));
const NONE: Record<string, number> = Object.freeze({}) as Record<string, number>;

/** mergeRollup with `into`'s maps held to MAP_BOUNDS, merged in place; returns how many keys were folded or left out (0 on a real page's data). */
export function mergeBounded(into: Rollup, from: Rollup): number {
  // error kinds past the bound fold into `other` (so error totals stay exact); the bound counts `other` itself
  let other = 0;
  let n = addBounded(into.errors, from.errors, Object.hasOwn(into.errors, 'other') ? MAP_BOUNDS.errors : MAP_BOUNDS.errors - 1, addCount, (v) => (other += v));
  if (n) {
    const fresh = !Object.hasOwn(into.errors, 'other');
    into.errors.other = (into.errors.other ?? 0) + other;
    if (fresh) sizes.set(into.errors, keyCount(into.errors) + 1);
  }
  // class ids past the bound are left out of the per-class maps (detections, scoreSum and conf still count them)
  n += addBounded(into.classes, from.classes, MAP_BOUNDS.classes, addCount);
  n += addBounded(into.classScore, from.classScore, MAP_BOUNDS.classes, addCount);
  if (from.cc) n += addBounded((into.cc ??= {}), from.cc, MAP_BOUNDS.classes, addHist);
  // labels past the bound are left out of the per-label agreement (its totals still count them)
  if (from.ag?.byClass) n += addBounded(((into.ag ??= { frames: 0, tp: 0, fp: 0, fn: 0 }).byClass ??= {}), from.ag.byClass, MAP_BOUNDS.classes, addLabelCounts);
  mergeRollup(into, { ...from, errors: NONE, classes: NONE, classScore: NONE, cc: undefined, ...(from.ag ? { ag: { frames: from.ag.frames, tp: from.ag.tp, fp: from.ag.fp, fn: from.ag.fn } } : {}) });
  return n;
}
