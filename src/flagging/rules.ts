/**
 * Flag rules are data, validated here; `matchFlagRules` says which of them a frame matches (pure: the
 * hub worker then applies each rule's limits and keeps the frame). Semantics per kind: see `FlagParams`.
 */
import * as v from 'valibot';
import { SEVERITIES } from '../health/rules.ts';
import { FLAG_KINDS, type FlagContext, type FlagDetection, type FlagInput, type FlagKind, type FlagParams, type FlagRule } from './types.ts';

const unit = v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(1));
const count = v.pipe(v.number(), v.integer(), v.minValue(0));
const classes = v.pipe(v.array(count), v.maxLength(1000));
const limit = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1e6));
const plainObject = v.custom<object>((x) => typeof x === 'object' && x !== null && !Array.isArray(x), 'Invalid type: Expected an object');
const onlyFields = (kind: FlagKind) => `not a ${kind} parameter`;

/** The parameters each kind takes; any other field is an error. */
const PARAMS: Record<FlagKind, v.GenericSchema<unknown, FlagParams>> = {
  'close-to-threshold': v.strictObject({ threshold: v.optional(unit), epsilon: v.optional(unit), classes: v.optional(classes), minCount: v.optional(count) }, onlyFields('close-to-threshold')),
  'detections-count': v.strictObject({ min: v.optional(count), max: v.optional(count), classes: v.optional(classes), baselineExpects: v.optional(v.boolean()) }, onlyFields('detections-count')),
  classes: v.strictObject({ classes: v.optional(classes), rareShare: v.optional(unit) }, onlyFields('classes')),
  random: v.strictObject({ probability: v.optional(unit) }, onlyFields('random')),
  alert: v.strictObject({ probability: v.optional(unit), severities: v.optional(v.array(v.picklist(SEVERITIES))) }, onlyFields('alert')),
  malformed: v.strictObject({}, onlyFields('malformed')),
  disagreement: v.strictObject({ maxF1: v.optional(unit), minCount: v.optional(count) }, onlyFields('disagreement')),
  manual: v.strictObject({}, onlyFields('manual')),
};

const RuleSchema = v.object({
  id: v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9-]{0,63}$/i, 'letters, digits and dashes, at most 64')),
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  kind: v.picklist(FLAG_KINDS),
  params: v.optional(v.pipe(plainObject, v.record(v.string(), v.unknown())), () => ({})),
  limits: v.optional(v.pipe(plainObject, v.strictObject({ perMinute: v.optional(limit), perHour: v.optional(limit), perDay: v.optional(limit) })), () => ({})),
  enabled: v.optional(v.boolean(), true),
});

/** Validates flag rules (throws a TypeError naming the rule's index, id and field) with unique ids; returns normalised copies. */
export function parseFlagRules(input: unknown): FlagRule[] {
  if (!Array.isArray(input)) throw new TypeError('flag rules must be an array');
  const ids = new Set<string>();
  return input.map((r, i) => {
    const fail = (path: string, reason: string): never => {
      throw new TypeError(`flag rule ${i} (${(r as { id?: unknown } | null)?.id ?? '?'}): ${path ? `${path}: ` : ''}${reason}`);
    };
    const first = (issues: readonly v.BaseIssue<unknown>[], prefix: string): never => {
      const issue = issues[0]!;
      return fail([prefix, ...(issue.path?.map((p) => String(p.key)) ?? [])].filter(Boolean).join('.'), issue.message);
    };
    const rule = v.safeParse(RuleSchema, r);
    if (!rule.success) return first(rule.issues, '');
    const params = v.safeParse(PARAMS[rule.output.kind], rule.output.params);
    if (!params.success) return first(params.issues, 'params');
    const p = params.output;
    if (rule.output.kind === 'detections-count') {
      if (p.min === undefined && p.max === undefined) fail('params', 'detections-count needs min or max');
      if (p.min !== undefined && p.max !== undefined && p.min > p.max) fail('params.min', `must be <= max (${p.max})`);
    }
    if (ids.has(rule.output.id)) fail('id', `duplicate id '${rule.output.id}'`);
    ids.add(rule.output.id);
    return { ...rule.output, params: p };
  });
}

const freeze = (r: FlagRule): FlagRule => Object.freeze({ ...r, params: Object.freeze(r.params), limits: Object.freeze(r.limits) });

/** The defaults: one rule per reason a frame is worth labelling, each with modest limits. */
export const DEFAULT_FLAG_RULES: readonly FlagRule[] = Object.freeze(([
  { id: 'near-threshold', name: 'Detection close to the threshold', kind: 'close-to-threshold', params: { threshold: 0.3, epsilon: 0.1, minCount: 1 }, limits: { perMinute: 2, perHour: 30, perDay: 200 }, enabled: true },
  { id: 'empty-frame', name: 'Nothing detected where the baseline expects something', kind: 'detections-count', params: { min: 1, baselineExpects: true }, limits: { perMinute: 1, perHour: 10, perDay: 100 }, enabled: true },
  { id: 'crowd', name: 'Crowded frame', kind: 'detections-count', params: { max: 25 }, limits: { perMinute: 1, perHour: 10, perDay: 50 }, enabled: true },
  { id: 'rare-class', name: 'A class the baseline rarely sees', kind: 'classes', params: { rareShare: 0.01 }, limits: { perMinute: 2, perHour: 20, perDay: 100 }, enabled: true },
  { id: 'random', name: 'Random sample', kind: 'random', params: { probability: 0.005 }, limits: { perMinute: 1, perHour: 12, perDay: 100 }, enabled: true },
  { id: 'alert', name: 'While an alert fires', kind: 'alert', params: { probability: 0.2 }, limits: { perMinute: 2, perHour: 30, perDay: 200 }, enabled: true },
  { id: 'malformed', name: 'Malformed output or failed frame', kind: 'malformed', params: {}, limits: { perMinute: 2, perHour: 30, perDay: 200 }, enabled: true },
  { id: 'reference-disagreement', name: 'The model and the reference model disagree', kind: 'disagreement', params: { maxF1: 0.6, minCount: 2 }, limits: { perMinute: 2, perHour: 20, perDay: 100 }, enabled: true },
  { id: 'manual', name: 'Flagged by hand', kind: 'manual', params: {}, limits: { perMinute: 30, perHour: 600, perDay: 5000 }, enabled: true },
] satisfies FlagRule[]).map(freeze));

/** Slack for float arithmetic at the edges of the ε band (0.3 + 0.1 is not 0.4 in binary). */
const EDGE = 1e-9;

const ofClasses = (ds: readonly FlagDetection[], cs: readonly number[] | undefined) => (cs ? ds.filter((d) => cs.includes(d.classId)) : ds);

function matches(r: FlagRule, input: FlagInput, ctx: FlagContext): boolean {
  const p = r.params;
  if (r.kind === 'malformed') return input.malformed !== undefined || input.error !== undefined;
  if (input.error !== undefined) return false; // a failed frame has no output worth judging
  switch (r.kind) {
    case 'close-to-threshold': {
      const threshold = p.threshold ?? 0.3, epsilon = p.epsilon ?? 0.1;
      const near = ofClasses([...input.detections, ...(input.nearMisses ?? [])], p.classes).filter((d) => Math.abs(d.score - threshold) <= epsilon + EDGE);
      return near.length >= (p.minCount ?? 1);
    }
    case 'detections-count': {
      const n = ofClasses(input.detections, p.classes).length;
      if (p.max !== undefined && n > p.max) return true;
      if (p.min === undefined || n >= p.min) return false;
      if (!p.baselineExpects) return true;
      const b = ctx.baseline;
      if (!b || b.frames <= 0) return false;
      const expected = p.classes ? p.classes.reduce((s, c) => s + (b.classes[c] ?? 0), 0) : b.detections;
      return expected / b.frames >= p.min;
    }
    case 'classes': {
      const b = ctx.baseline, rare = p.rareShare;
      const share = (c: number) => (b && b.detections > 0 ? (b.classes[c] ?? 0) / b.detections : 0);
      return input.detections.some((d) => p.classes?.includes(d.classId) || (rare !== undefined && b !== undefined && share(d.classId) < rare));
    }
    case 'random':
      return ctx.random() < (p.probability ?? 0.01);
    case 'alert': {
      const firing = p.severities ? ctx.firing.filter((a) => (p.severities as readonly string[]).includes(a.severity)) : ctx.firing;
      return firing.length > 0 && ctx.random() < (p.probability ?? 1);
    }
    case 'disagreement': {
      const a = input.agreement;
      return a !== undefined && a.detections >= (p.minCount ?? 2) && a.f1 < (p.maxF1 ?? 0.6);
    }
    case 'manual':
      return false;
  }
}

/** Ids of the enabled rules the frame matches, in rule order (never `manual`; a failed frame matches only `malformed`). */
export function matchFlagRules(rules: readonly FlagRule[], input: FlagInput, ctx: FlagContext): string[] {
  return rules.filter((r) => r.enabled && matches(r, input, ctx)).map((r) => r.id);
}

/** The lowest score an enabled close-to-threshold rule looks at (threshold − epsilon), clamped to [0, monitorThreshold]. */
export function closeToThresholdFloor(rules: readonly FlagRule[], monitorThreshold: number): number {
  let floor = monitorThreshold;
  for (const r of rules)
    if (r.enabled && r.kind === 'close-to-threshold') floor = Math.min(floor, (r.params.threshold ?? 0.3) - (r.params.epsilon ?? 0.1));
  return Math.max(0, floor);
}
