/**
 * A challenger's comparison as a sync batch carries it (`challengers`: the latest per monitor) and its schema: the
 * summary of inference/challenger.ts for one monitor (`src`) and camera, numbers that have nothing to rest on as
 * null (JSON has no NaN), at most 20 classes. Shared by the page (hub worker) and the server. Pure.
 */
import * as v from 'valibot';
import type { ChallengerSummary } from '../inference/challenger.ts';

/** one comparison, bounded for the wire */
export interface ChallengerSync {
  /** the monitor's source id */
  src: string;
  camera: string;
  /** when the summary was made (epoch ms) */
  t: number;
  summary: ChallengerSummary;
}

export const CHALLENGER_LIMITS = { perBatch: 32, classes: 20, label: 200, line: 500 } as const;

const num = v.nullable(v.pipe(v.number(), v.minValue(-1e12), v.maxValue(1e12)));
const count = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1e9));
const time = v.pipe(v.number(), v.minValue(0), v.maxValue(8.64e15));
const version = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/));
const interval = v.strictObject({ value: num, lo: num, hi: num });
const side = v.strictObject({ version, p50Ms: num, p95Ms: num, perFrame: num, confidence: v.pipe(v.array(count), v.maxLength(10)), meanConfidence: num });
const direction = v.picklist(['fewer', 'more', 'equal', 'too-few']);
const scores = v.strictObject({ tp: count, fp: count, fn: count, f1: num, precision: num, recall: num });

export const ChallengerSyncSchema = v.strictObject({
  src: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  camera: v.pipe(v.string(), v.maxLength(200)),
  t: time,
  summary: v.strictObject({
    frames: count,
    since: time,
    until: time,
    champion: side,
    challenger: side,
    classes: v.pipe(
      v.array(v.strictObject({ label: v.pipe(v.string(), v.maxLength(CHALLENGER_LIMITS.label)), champion: count, challenger: count, ratio: interval, verdict: direction })),
      v.maxLength(CHALLENGER_LIMITS.classes),
    ),
    detections: interval,
    latency: interval,
    agreement: scores,
    reference: v.optional(v.strictObject({ frames: count, champion: scores, challenger: scores, f1Difference: interval, verdict: v.picklist(['worse', 'better', 'equal', 'too-few']) })),
    verdict: v.picklist(['worse', 'better', 'equal', 'different', 'too-few']),
    line: v.pipe(v.string(), v.maxLength(CHALLENGER_LIMITS.line)),
  }),
});

/** A summary as a batch carries it (NaN and ±Infinity as null, as JSON would write them). */
export function challengerSync(src: string, camera: string, t: number, summary: ChallengerSummary): ChallengerSync {
  return { src, camera, t, summary: JSON.parse(JSON.stringify(summary)) as ChallengerSummary };
}

/** A monitor's latest comparison as `GET /v1/challengers` lists it (the fleet server writes it, the fleet page reads it). */
export interface SourceChallenger {
  source: string;
  device_id?: string;
  src: string;
  camera: string;
  t: number;
  summary: ChallengerSummary;
}
