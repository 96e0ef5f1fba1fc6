/**
 * Per-rule flag counts in the current calendar minute, hour and day (UTC windows: floor(t / length)),
 * as plain JSON so they survive a reload: `[window index, count]` per scale.
 */
import type { FlagLimits, FlagRule } from './types.ts';

export type FlagCounters = Record<string, { m: [number, number]; h: [number, number]; d: [number, number] }>;

const SCALES = [
  ['m', 'perMinute', 60_000],
  ['h', 'perHour', 3_600_000],
  ['d', 'perDay', 86_400_000],
] as const satisfies readonly (readonly ['m' | 'h' | 'd', keyof FlagLimits, number])[];

const own = (counters: FlagCounters, id: string) => (Object.hasOwn(counters, id) ? counters[id] : undefined);

/** Whether each of the rule's limits has room at t (a count from another window counts as 0). */
export function withinLimits(counters: FlagCounters, rule: FlagRule, t: number): boolean {
  const c = own(counters, rule.id);
  return SCALES.every(([k, limit, ms]) => {
    const max = rule.limits[limit];
    if (max === undefined) return true;
    const n = c && c[k][0] === Math.floor(t / ms) ? c[k][1] : 0;
    return n < max;
  });
}

/** Counts one flag by the rule at t (mutates `counters`; windows that rolled over restart at 1). */
export function countFlag(counters: FlagCounters, ruleId: string, t: number): void {
  const c = own(counters, ruleId) ?? { m: [0, 0], h: [0, 0], d: [0, 0] };
  for (const [k, , ms] of SCALES) {
    const w = Math.floor(t / ms);
    c[k] = c[k][0] === w ? [w, c[k][1] + 1] : [w, 1];
  }
  counters[ruleId] = c;
}

/** The matched rules that still have room at t (the frame is kept if any; the caller then counts it against each). */
export function admit(counters: FlagCounters, matched: readonly FlagRule[], t: number): FlagRule[] {
  return matched.filter((r) => withinLimits(counters, r, t));
}

const isPair = (x: unknown): x is [number, number] =>
  Array.isArray(x) && x.length === 2 && x.every((n) => Number.isSafeInteger(n) && n >= 0);

/** Counters from persisted JSON; tolerant: a malformed value gives {} and malformed entries are dropped. */
export function parseCounters(x: unknown): FlagCounters {
  const out: FlagCounters = {};
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return out;
  for (const [id, c] of Object.entries(x)) {
    const e = c as Record<string, unknown> | null;
    if (e && isPair(e.m) && isPair(e.h) && isPair(e.d)) out[id] = { m: [e.m[0], e.m[1]], h: [e.h[0], e.h[1]], d: [e.d[0], e.d[1]] };
  }
  return out;
}
