/**
 * The `flicker` metric against the baseline: what a baseline keeps of its flicker, and a window's reading —
 * its flicker rate (flicker.ts), or that rate as a ratio to the baseline's, with the threshold in force moved
 * past the baseline's flickeriest stretch and the Poisson chance level. Pure logic over plain data.
 */
import { addFlicker, type FlickerCounts, flickerRate } from './flicker.ts';
import type { AlertRule } from './rules.ts';
import { poissonQuantile, stretchExtremes } from './stats.ts';
import type { Baseline, Reading } from './types.ts';

/** Flicker events (blinks and flips) of some counts. */
const events = (c: FlickerCounts | undefined) => (c ? c.blinks + c.flips : 0);

/** A baseline's flicker from its windows' counts; undefined where no window tracked a box (records without boxes). */
export function baselineFlicker(wins: readonly { fl?: FlickerCounts }[]): Baseline['flicker'] {
  if (!wins.some((w) => w.fl?.frames)) return undefined;
  const sum = wins.reduce<FlickerCounts | undefined>((a, w) => addFlicker(a, w.fl), undefined)!;
  return { ...sum, perWindow: { tracked: wins.map((w) => w.fl?.tracked ?? 0), events: wins.map((w) => events(w.fl)) } };
}

/** The baseline's flicker rate: at least half an event over what it tracked (a baseline that never flickered is not a rate of 0). */
export function baselineRate(b: Baseline | undefined): number {
  const f = b?.flicker;
  return f?.tracked ? Math.max(0.5, events(f)) / f.tracked : NaN;
}

/**
 * The `flicker` rule's reading over a window's counts (`win`, from `seconds` of footage). `mean`: the rate.
 * `ratio`: the rate ÷ the baseline's; the threshold in force is the rule's taken against the baseline's
 * flickeriest (`>`) or steadiest (`<`) stretch of the window's length — a level the healthy model held for a
 * whole window is no fault — and moved past the Poisson chance level at `alpha` for the window's effective
 * boxes: a frame's boxes count as one sample per `sps` seconds' worth of frames (consecutive frames show the
 * same objects, and one object occluded blinks again and again), so a few blinks on a quiet camera never fire.
 * No value without boxes tracked, or against a baseline without flicker counts (stored before they were kept).
 */
export function flickerReading(rule: AlertRule, win: FlickerCounts | undefined, b: Baseline | undefined, seconds: number, windowMs: number, alpha: number, sps: number): Reading {
  const none = { value: NaN, threshold: rule.threshold };
  const rate = flickerRate(win);
  if (rule.aggregation === 'mean') return { value: rate, threshold: rule.threshold };
  const p0 = baselineRate(b);
  if (rule.aggregation !== 'ratio' || !Number.isFinite(rate) || !(p0 > 0)) return none;
  const value = rate / p0;
  const effective = win!.tracked * Math.min(1, (seconds * sps) / Math.max(1, win!.frames));
  const expected = p0 * effective;
  const below = rule.comparator === '<' || rule.comparator === '<=';
  const chance = poissonQuantile(expected, below ? alpha : 1 - alpha) / expected;
  const k = Math.max(1, Math.round(rule.window / (b!.windowMs || windowMs)));
  const ext = stretchExtremes(b!.flicker!.perWindow.tracked, b!.flicker!.perWindow.events, k);
  const threshold = below ? Math.min(rule.threshold * Math.min(1, ext.lo), chance) : Math.max(rule.threshold * Math.max(1, ext.hi), chance);
  return { value, threshold };
}
