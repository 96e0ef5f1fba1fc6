/**
 * Metadata attached to an inference after the fact, by its id (`annotate(inferenceId, {key: value})`, as
 * hosted monitoring APIs offer for an inference id): a lot number, the operator's verdict, the ground truth
 * once known. Kept beside the frame records (IndexedDB `annotations`), shown in the inference log, synced.
 * Pure: the checks run in the page (to throw at the caller) and again in the hub worker.
 */

export interface Annotation {
  /** the inference's id (UUIDv7) */
  id: string;
  /** the source (monitor or recorder) that recorded it */
  src: string;
  /** key → value, merged over earlier annotations of the same inference */
  meta: Record<string, string>;
  /** UUIDv7 of the last change: sync sends what changed after its cursor */
  seq: string;
}

export const ANNOTATION_LIMITS = { keys: 32, keyLength: 64, valueLength: 500 } as const;

const KEY = /^[A-Za-z0-9_.:-]{1,64}$/;
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

/** Validated metadata (a copy), or a TypeError naming the bad key. `null` as a value removes the key. */
export function checkAnnotation(id: unknown, meta: unknown): Record<string, string | null> {
  if (typeof id !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw new TypeError(`inferenceId: expected the inference's id (a UUID), got ${JSON.stringify(String(id).slice(0, 40))}`);
  if (!meta || typeof meta !== 'object' || Array.isArray(meta)) throw new TypeError('metadata: expected an object {key: value}');
  const out: Record<string, string | null> = {};
  const entries = Object.entries(meta);
  if (entries.length > ANNOTATION_LIMITS.keys) throw new TypeError(`metadata: at most ${ANNOTATION_LIMITS.keys} keys, got ${entries.length}`);
  for (const [k, v] of entries) {
    if (!KEY.test(k) || RESERVED.has(k)) throw new TypeError(`metadata.${k.slice(0, 64)}: a key is 1–64 letters, digits, _ . : -`);
    if (v === null) out[k] = null;
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      const s = String(v);
      if (s.length > ANNOTATION_LIMITS.valueLength) throw new TypeError(`metadata.${k}: at most ${ANNOTATION_LIMITS.valueLength} characters`);
      out[k] = s;
    } else throw new TypeError(`metadata.${k}: expected a string, number or boolean (null removes it)`);
  }
  return out;
}

/** `patch` merged over `meta` (null removes a key); at most ANNOTATION_LIMITS.keys keys, or a TypeError. */
export function mergeAnnotation(meta: Record<string, string>, patch: Record<string, string | null>): Record<string, string> {
  const out: Record<string, string> = { ...meta };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  if (Object.keys(out).length > ANNOTATION_LIMITS.keys) throw new TypeError(`metadata: an inference holds at most ${ANNOTATION_LIMITS.keys} keys`);
  return out;
}
