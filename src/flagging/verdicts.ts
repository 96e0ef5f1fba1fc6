/**
 * People's verdicts on frames: a person marks a frame's detections as `right`, `wrong`, or `missing` something
 * (in the gallery's viewer or the inference log). Per (model version, camera) they give a precision estimate —
 * right / (right + wrong) — and a rate of frames missing something, each with a Wilson 95 % interval and the
 * number of verdicts it rests on. Pure: its schema and sums are shared by the hub worker, the export, the sync
 * payload and the fleet server.
 */
import * as v from 'valibot';

/** What a person can say of a frame's detections. */
export const VERDICT_KINDS = ['right', 'wrong', 'missing'] as const;
export type VerdictKind = (typeof VERDICT_KINDS)[number];

/** The keys that give each verdict (the viewer or the log row focused); `0` and Backspace clear it. */
export const VERDICT_KEYS: Record<string, VerdictKind | null> = { '1': 'right', r: 'right', '2': 'wrong', w: 'wrong', '3': 'missing', m: 'missing', '0': null, Backspace: null };

/** A verdict on one frame: the latest given replaces the earlier; `verdict: null` is a cleared one (kept, so sync carries the clearing). */
export interface Verdict {
  /** the frame's inferenceId (UUIDv7) */
  id: string;
  verdict: VerdictKind | null;
  /** the frame's model version (short or full sha256) */
  mv: string;
  /** the frame's camera_id tag ('' when none) */
  camera: string;
  location?: string;
  /** epoch ms the verdict was given (or cleared) */
  t: number;
}

/** A verdict as the hub keeps it: `seq`, a UUIDv7 of the change, orders changes for sync. */
export interface StoredVerdict extends Verdict {
  seq: string;
}

/** The most verdicts the page keeps (the oldest given go first past it) and sends in one batch. */
export const VERDICT_LIMITS = { kept: 20_000, perBatch: 1000, tagLength: 200 } as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A verdict's schema (valibot): the page checks what it keeps with it, the server every synced verdict. */
export const VerdictSchema = v.strictObject({
  id: v.pipe(v.string('expected the frame’s inference id'), v.regex(UUID, 'expected the frame’s inference id (a UUID)')),
  verdict: v.nullable(v.picklist(VERDICT_KINDS, `expected one of ${VERDICT_KINDS.join(', ')} (null clears it)`)),
  mv: v.pipe(v.string('expected a model version'), v.regex(/^[0-9a-f]{12}([0-9a-f]{52})?$/, 'expected a model version: 12 or 64 hex digits')),
  camera: v.pipe(v.string('expected the camera_id tag (a string)'), v.maxLength(VERDICT_LIMITS.tagLength, `at most ${VERDICT_LIMITS.tagLength} characters`)),
  location: v.optional(v.pipe(v.string(), v.maxLength(VERDICT_LIMITS.tagLength, `at most ${VERDICT_LIMITS.tagLength} characters`))),
  t: v.pipe(v.number('expected epoch ms'), v.integer('expected epoch ms (an integer)'), v.minValue(0, 'expected epoch ms ≥ 0'), v.maxValue(8.64e15, 'expected epoch ms')),
});

/** A valid verdict (a copy), or a TypeError naming the bad field (`verdict: expected one of right, wrong, missing …`). */
export function parseVerdict(input: unknown): Verdict {
  const res = v.safeParse(VerdictSchema, input, { abortEarly: true });
  if (!res.success) {
    const issue = res.issues[0];
    const path = issue.path?.map((p) => String(p.key)).join('.') ?? '';
    throw new TypeError(`verdict${path ? `.${path}` : ''}: ${issue.message}`);
  }
  return res.output as Verdict;
}

/** A proportion with its interval: `p` = k / n; `lo`–`hi` the Wilson score interval (NaN when n = 0). */
export interface Proportion {
  k: number;
  n: number;
  p: number;
  lo: number;
  hi: number;
}

/** The Wilson score interval of k successes in n trials at `z` (1.96: 95 %). */
export function wilson(k: number, n: number, z = 1.959963984540054): Proportion {
  if (!(n > 0)) return { k, n: 0, p: NaN, lo: NaN, hi: NaN };
  const p = k / n;
  const z2 = z * z;
  const den = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / den;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / den;
  // at k = 0 and k = n the ends are exactly 0 and 1 (rounding would leave 1e-17 off)
  return { k, n, p, lo: k <= 0 ? 0 : Math.max(0, centre - half), hi: k >= n ? 1 : Math.min(1, centre + half) };
}

/** The verdicts of one (model version, camera): counts by kind. */
export interface VerdictCounts {
  /** model version, short form (12 hex) */
  mv: string;
  camera: string;
  right: number;
  wrong: number;
  missing: number;
}

/** What the verdicts of one (model version, camera) say. */
export interface VerdictEstimate extends VerdictCounts {
  /** verdicts in all (cleared ones not counted) */
  n: number;
  /** right / (right + wrong): of the frames judged right or wrong, the share whose detections were right */
  precision: Proportion;
  /** missing / n: the share of judged frames on which the model missed something */
  missingRate: Proportion;
}

/** Counts per (short model version, camera), in order of model version then camera; cleared verdicts are left out. */
export function countVerdicts(verdicts: Iterable<Pick<Verdict, 'verdict' | 'mv' | 'camera'>>): VerdictCounts[] {
  const groups = new Map<string, VerdictCounts>();
  for (const x of verdicts) {
    if (!x.verdict) continue;
    const mv = x.mv.slice(0, 12);
    const key = `${mv}\u0000${x.camera}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { mv, camera: x.camera, right: 0, wrong: 0, missing: 0 }));
    g[x.verdict]++;
  }
  return [...groups.values()].sort((a, b) => (a.mv < b.mv ? -1 : a.mv > b.mv ? 1 : a.camera < b.camera ? -1 : a.camera > b.camera ? 1 : 0));
}

/** The estimate of counts: precision and the missing rate, each with its Wilson 95 % interval. */
export function estimate(c: VerdictCounts): VerdictEstimate {
  const n = c.right + c.wrong + c.missing;
  return { ...c, n, precision: wilson(c.right, c.right + c.wrong), missingRate: wilson(c.missing, n) };
}

/** Per (model version, camera): counts, precision and missing rate with their intervals. */
export const verdictEstimates = (verdicts: Iterable<Pick<Verdict, 'verdict' | 'mv' | 'camera'>>): VerdictEstimate[] => countVerdicts(verdicts).map(estimate);

/** `later` replaces `earlier` when given at or after it (ties: the later change wins, as sync sends changes in order). */
export const replaces = (later: Pick<Verdict, 't'>, earlier: Pick<Verdict, 't'> | undefined) => !earlier || later.t >= earlier.t;
