/**
 * The sync payload: what a page sends to a fleet server in one batch, and its schema. Shared by the browser
 * (which builds batches in the hub worker) and the server (which validates every request with it). Pure.
 */
import * as v from 'valibot';
import type { Rollup } from '../telemetry/rollup.ts';
import { isTagKey, STAGES } from '../telemetry/record.ts';
import { CONFIDENCE_BINS, type Hist, LATENCY_BUCKETS } from '../telemetry/histogram.ts';
import type { AlertEvent, Baseline } from '../health/types.ts';
import type { FlaggedFrame } from '../flagging/types.ts';
import { type Verdict, VerdictSchema } from '../flagging/verdicts.ts';

import { type ChallengerSync, ChallengerSyncSchema, CHALLENGER_LIMITS } from './challenger-payload.ts';

export { VerdictSchema };

export const SYNC_VERSION = 1;

/** Bounds on one batch (the server refuses more). */
export const LIMITS = {
  /** a page sends at most 300 (sync-service.ts), or one minute's worth of its few cameras */
  rollups: 1000,
  /** distinct (model version, tag key) series per batch: a page has at most `monitors` monitors */
  series: 128,
  alerts: 1000,
  flagged: 500,
  baselines: 100,
  annotations: 1000,
  /** people's verdicts on frames (flagging/verdicts.ts), each as it now stands */
  verdicts: 1000,
  monitors: 32,
  tags: 32,
  tagLength: 200,
  /** a tag key (`g`) of up to `tags` pairs */
  tagKeyLength: 8192,
  idLength: 64,
  text: 500,
  /** histogram buckets per histogram */
  buckets: 200,
  classes: 1000,
  /** a class label (a detection's, or a key of per-label agreement) */
  label: 200,
  detections: 200,
  imageBytes: 4_000_000,
  /** the deepest nesting of arrays and objects a batch has (baselines[i].rollup.cc[k][bucket]: 5) */
  depth: 12,
  /** a count in one item: frames, detections, histogram counts (a 1-hour baseline at 1,000 fps is 3.6e6) */
  count: 1e9,
  /** the magnitude of any other number: a sum of image statistics or gauges, an alert's value, a box coordinate */
  magnitude: 1e12,
} as const;

/** One monitor on the sending page: its source id, model, backend and tags. */
export interface MonitorInfo {
  src: string;
  mv: string;
  backend: string;
  tags: Record<string, string>;
  modelId?: string;
}

/** Who sends: the page's sync source (persistent across reloads), its device and app, and its monitors. */
export interface SourceInfo {
  id: string;
  device_id?: string;
  app_version: string;
  monitors: MonitorInfo[];
}

/** A baseline as the server keeps it: when and from what it was learnt, and its merged rollup (not its windows or thumbnail). */
export type BaselineSummary = Pick<Baseline, 'mv' | 'camera' | 'location' | 'condition' | 'createdAt' | 'from' | 'to' | 'source' | 'frames' | 'fps' | 'rollup'>;

/** A flagged frame's metadata, and its JPEG (base64) when the host opted in (`sync-images`). */
export type FlaggedSync = Omit<FlaggedFrame, 'encodeMs' | 'hashMs'> & { jpeg?: string };

/** An inference's annotations as synced: its id, the source that recorded it, its metadata as it now stands. */
export interface AnnotationSync {
  id: string;
  src: string;
  meta: Record<string, string>;
}

export interface Batch {
  v: typeof SYNC_VERSION;
  source: SourceInfo;
  /** 1, 2, 3… per source: the server's idempotency key with `source.id` */
  seq: number;
  /** epoch ms the batch was made */
  sentAt: number;
  /** closed 1-min rollups since the last batch (every model version × tag combination) */
  rollups: Rollup[];
  /** alert state changes since the last batch */
  alerts: AlertEvent[];
  flagged: FlaggedSync[];
  baselines: BaselineSummary[];
  /** metadata attached to inferences after the fact (the latest of each changed since the last batch) */
  annotations?: AnnotationSync[];
  /** people's verdicts on frames changed since the last batch, each as it now stands (`verdict: null`: cleared) */
  verdicts?: Verdict[];
  /** challenger models' comparisons (challenger-payload.ts): the latest per monitor, where one changed */
  challengers?: ChallengerSync[];
  /** batches the bounded outbox dropped (oldest first) before this one, since the last batch */
  dropped: number;
}

// ---------- schema ----------

const id = v.pipe(v.string(), v.regex(/^[A-Za-z0-9._:-]{1,64}$/, 'letters, digits and . _ : - only, 1–64'));
const text = (max: number = LIMITS.text) => v.pipe(v.string(), v.maxLength(max));
const count = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(LIMITS.count));
/** a finite number within ±LIMITS.magnitude (no value a device measures comes near it; ±1e308 overflows sums to ±Infinity) */
const finite = v.pipe(v.number(), v.finite(), v.minValue(-LIMITS.magnitude), v.maxValue(LIMITS.magnitude));
/** a sum of scores in [0, 1]: at most one per counted item (the check below ties it to its count) */
const scoreSum = v.pipe(v.number(), v.minValue(0), v.maxValue(LIMITS.count));
const time = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(8.64e15));
const mv = v.pipe(v.string(), v.regex(/^[0-9a-f]{12}([0-9a-f]{52})?$/, 'a model version: 12 or 64 hex digits'));
/** a camera's condition (health/conditions.ts): `colour`, `mono`, then numbered */
const condition = v.pipe(v.string(), v.regex(/^[a-z]{1,16}(-[0-9]{1,4})?$/, 'a condition: colour, mono, or one of them numbered (mono-2)'));
const classKey = v.pipe(v.string(), v.regex(/^\d{1,5}$/, 'a class id'));
/** a key that is not a built-in object member (`toString`, `constructor`…): merging into such a key would write into the prototype's */
const own = v.check((k: string) => !(k in Object.prototype), 'not a built-in object member');
const sparse = <T extends v.GenericSchema>(key: v.GenericSchema<string>, value: T, max: number) => v.pipe(v.record(v.pipe(key, own), value), v.check((r) => Object.keys(r).length <= max, `at most ${max} entries`));
/** What is wrong with a histogram of `n` buckets (an object of bucket index below n → whole count), or undefined. */
function histProblem(x: unknown, n: number): string | undefined {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return 'a histogram: an object of bucket index → count';
  let keys = 0;
  for (const k in x) {
    if (++keys > n) return `at most ${n} entries`;
    if (!BUCKET_INDEX.test(k) || Number(k) >= n) return `bucket ${JSON.stringify(k.slice(0, 20))}: a histogram bucket index below ${n}`;
    const c = (x as Record<string, unknown>)[k];
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c > LIMITS.count) return `bucket ${k}: a whole count from 0 to ${LIMITS.count}, got ${JSON.stringify(c)?.slice(0, 20)}`;
  }
  return undefined;
}
const BUCKET_INDEX = /^\d{1,3}$/;
/**
 * A histogram, checked in one pass: a record schema runs ~8 actions per bucket, and a batch's histograms have
 * hundreds of buckets (that was half of the server's validation time per batch: bench/server.ts).
 */
const histogram = (n: number) => v.custom<Hist>((x) => histProblem(x, n) === undefined, (issue) => histProblem(issue.input, n) ?? 'a histogram');
const latHist = histogram(LATENCY_BUCKETS);
const hist = histogram(CONFIDENCE_BINS);
/** input statistics (IMAGE_KEYS) and page gauges (GAUGES) as [sum, count] */
const sums = sparse(v.picklist(['br', 'co', 'sa', 'sh', 'sc', 'heapMB', 'longTasks', 'up']), v.tuple([finite, count]), 16);
const tags = v.pipe(
  v.record(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'a tag name: letters, digits, _ . : - (1–64)')), text(LIMITS.tagLength)),
  v.check((t) => Object.keys(t).length <= LIMITS.tags, `at most ${LIMITS.tags} tags`),
);
/** first/last (epoch ms) are ±Infinity in a rollup without frames, which JSON carries as null */
const bound = v.nullable(v.pipe(v.number(), v.minValue(0), v.maxValue(8.64e15)));
/** a sum of scores in [0, 1] is at most its count (with room for rounding) */
const within = (sum: number, n: number) => sum <= n * (1 + 1e-9) + 1e-6;

/**
 * a bucket's reference-model runs (rollup `ag`): whole counts; a judged frame is counted in `frames`, so counts
 * without a judged frame are refused
 */
const agreementCounts = { tp: count, fp: count, fn: count };
const agreement = v.pipe(
  v.strictObject({
    frames: count,
    ...agreementCounts,
    // per label: a label as a manifest names it (the two models' own, so not a class id)
    byClass: v.optional(sparse(v.pipe(text(LIMITS.label), v.minLength(1)), v.strictObject(agreementCounts), LIMITS.classes)),
  }),
  v.check((a) => a.frames > 0 || a.tp + a.fp + a.fn === 0, 'agreement counts (tp, fp, fn) need at least one judged frame (frames ≥ 1)'),
);

const RollupEntries = {
  res: v.literal('1m'),
  start: v.pipe(time, v.check((t) => t % 60_000 === 0, 'a minute boundary')),
  mv,
  g: v.pipe(text(LIMITS.tagKeyLength), v.check(isTagKey, 'a tag key as tagKey writes it: sorted k=v pairs, URI-encoded, joined by &')),
  frames: count,
  valid: count,
  malformed: count,
  dropped: count,
  errors: sparse(v.pipe(v.string(), v.regex(/^[a-z0-9-]{1,64}$/)), count, 64),
  lat: v.strictObject(Object.fromEntries(STAGES.map((s) => [s, latHist])) as Record<(typeof STAGES)[number], typeof latHist>),
  conf: hist,
  scoreSum,
  detections: count,
  scoredFrames: count,
  frameScoreSum: scoreSum,
  classes: sparse(classKey, count, LIMITS.classes),
  classScore: sparse(classKey, scoreSum, LIMITS.classes),
  cc: v.optional(sparse(classKey, hist, LIMITS.classes)),
  img: sums,
  gauge: v.optional(sums),
  ag: v.optional(agreement),
  // flicker (rollup `fl`): frames associated, boxes tracked, blinks and flips (whole counts)
  fl: v.optional(v.strictObject({ frames: count, tracked: count, blinks: count, flips: count })),
  first: bound,
  last: bound,
};

/** Scores are in [0, 1]: a rollup's score sums are at most their counts (a mean confidence of −2.5e306 or 7 is refused). */
type Scored = { scoreSum: number; detections: number; frameScoreSum: number; scoredFrames: number; classes: Record<string, number>; classScore: Record<string, number> };
const scoresInRange = <T extends Scored>() => v.check(
  (r: T) =>
    within(r.scoreSum, r.detections) && within(r.frameScoreSum, r.scoredFrames) && Object.entries(r.classScore).every(([k, s]) => within(s, r.classes[k] ?? 0)),
  'scores must be in [0, 1]: a score sum is at most its count',
);

export const RollupSchema = v.pipe(v.strictObject(RollupEntries), scoresInRange());

/** An alert's probable causes (AlertEvent.cause, health/cause.ts). */
const causes = ['camera', 'scene', 'model', 'runtime'] as const satisfies readonly NonNullable<AlertEvent['cause']>[];

export const AlertSchema = v.strictObject({
  id,
  rule: v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9-]{0,63}$/i)),
  name: text(200),
  severity: v.picklist(['info', 'warning', 'critical']),
  state: v.picklist(['firing', 'resolved']),
  value: v.nullable(finite),
  threshold: v.nullable(finite),
  classId: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  mv,
  camera_id: text(LIMITS.tagLength),
  location: v.optional(text(LIMITS.tagLength)),
  /** the camera's condition it was judged in */
  condition: v.optional(condition),
  t: time,
  since: time,
  /** which part most likely broke (health/cause.ts) and the evidence for it, one line */
  cause: v.optional(v.picklist(causes)),
  evidence: v.optional(text(300)),
});

const box = v.tuple([finite, finite, finite, finite]);
const detection = v.strictObject({ classId: v.pipe(v.number(), v.integer(), v.minValue(0)), label: text(LIMITS.label), score: v.pipe(v.number(), v.minValue(0), v.maxValue(1)), box });
export const FlaggedSchema = v.strictObject({
  id,
  t: time,
  flaggedAt: time,
  src: id,
  tags,
  mv,
  backend: text(32),
  width: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(16384)),
  height: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(16384)),
  detections: v.pipe(v.array(detection), v.maxLength(LIMITS.detections)),
  nearMisses: v.optional(v.pipe(v.array(detection), v.maxLength(LIMITS.detections))),
  reasons: v.pipe(v.array(v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9-]{0,63}$/i))), v.maxLength(32)),
  /** the reference model's verdict on the frame: its version, its boxes, the deployed model's F1 against it */
  reference: v.optional(v.strictObject({ version: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)), detections: v.pipe(v.array(detection), v.maxLength(LIMITS.detections)), f1: v.pipe(v.number(), v.minValue(0), v.maxValue(1)) })),
  malformed: v.optional(text()),
  error: v.optional(text()),
  hash: v.optional(v.pipe(v.string(), v.regex(/^[0-9a-f]{16}$/))),
  bytes: count,
  quality: v.pipe(v.number(), v.minValue(0), v.maxValue(1)),
  jpeg: v.optional(v.pipe(v.string(), v.maxLength(Math.ceil((LIMITS.imageBytes * 4) / 3) + 4), v.regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64'))),
});

export const BaselineSchema = v.strictObject({
  mv,
  camera: text(LIMITS.tagLength),
  location: v.optional(text(LIMITS.tagLength)),
  /** the camera's condition it was learnt in (health/conditions.ts): `colour`, `mono`, then numbered */
  condition: v.optional(condition),
  createdAt: time,
  from: time,
  to: time,
  source: v.picklist(['auto', 'manual']),
  frames: count,
  fps: v.pipe(v.number(), v.minValue(0), v.maxValue(10_000)),
  rollup: v.pipe(v.object({ ...RollupEntries, res: v.picklist(['10s', '1m', '1h']), start: time }), scoresInRange()),
});

export const AnnotationSchema = v.strictObject({
  id: v.pipe(v.string(), v.regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'an inference id (UUID)')),
  src: id,
  meta: v.pipe(
    v.record(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'a key: letters, digits, _ . : - (1–64)'), own), text(500)),
    v.check((m) => Object.keys(m).length <= 32, 'at most 32 keys'),
  ),
});

const MonitorSchema = v.strictObject({ src: id, mv, backend: text(32), tags, modelId: v.optional(text(200)) });

export const BatchSchema = v.strictObject({
  v: v.literal(SYNC_VERSION),
  source: v.strictObject({ id, device_id: v.optional(text(LIMITS.tagLength)), app_version: text(64), monitors: v.pipe(v.array(MonitorSchema), v.maxLength(LIMITS.monitors)) }),
  seq: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(Number.MAX_SAFE_INTEGER)),
  sentAt: time,
  rollups: v.pipe(v.array(RollupSchema), v.maxLength(LIMITS.rollups)),
  alerts: v.pipe(v.array(AlertSchema), v.maxLength(LIMITS.alerts)),
  flagged: v.pipe(v.array(FlaggedSchema), v.maxLength(LIMITS.flagged)),
  baselines: v.pipe(v.array(BaselineSchema), v.maxLength(LIMITS.baselines)),
  annotations: v.optional(v.pipe(v.array(AnnotationSchema), v.maxLength(LIMITS.annotations))),
  verdicts: v.optional(v.pipe(v.array(VerdictSchema), v.maxLength(LIMITS.verdicts))),
  challengers: v.optional(v.pipe(v.array(ChallengerSyncSchema), v.maxLength(CHALLENGER_LIMITS.perBatch))),
  dropped: count,
});

/** Tags as a batch carries them: names made of letters, digits and `_ . : -` (others become `_`), at most 64 long; values at most 200; at most 32 tags. */
export function syncTags(tags: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(tags).slice(0, LIMITS.tags)) out[(k.replace(/[^A-Za-z0-9_.:-]/g, '_') || '_').slice(0, 64)] = String(val).slice(0, LIMITS.tagLength);
  return out;
}

/** Whether one item of a batch would pass the server's schema (as JSON carries it: NaN and ±Infinity as null). */
export function validItem(schema: typeof RollupSchema | typeof AlertSchema | typeof FlaggedSchema | typeof BaselineSchema | typeof AnnotationSchema | typeof VerdictSchema, item: unknown): boolean {
  return v.is(schema, JSON.parse(JSON.stringify(item)));
}

/** A valid batch, or a TypeError naming the first bad field (e.g. `rollups.3.lat.inference.12: …`). */
export function parseBatch(input: unknown): Batch {
  const res = v.safeParse(BatchSchema, input, { abortEarly: true });
  if (!res.success) {
    const issue = res.issues[0];
    const path = issue.path?.map((p) => String(p.key)).join('.') ?? '';
    throw new TypeError(`${path ? `${path}: ` : ''}${issue.message}`);
  }
  const b = res.output as unknown as Batch;
  // JSON carries ±Infinity as null
  for (const r of b.rollups) fixBounds(r);
  for (const x of b.baselines) fixBounds(x.rollup);
  for (const a of b.alerts) {
    a.value ??= NaN;
    a.threshold ??= NaN;
  }
  return b;
}

function fixBounds(r: Rollup) {
  r.first ??= Infinity;
  r.last ??= -Infinity;
}
