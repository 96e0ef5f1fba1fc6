/**
 * Agreement with a reference model as a vital sign (the reference's runs: inference/agreement.ts). Windows and
 * baselines sum the sampled frames' counts; the signal is the disagreement share, (misses + false positives) /
 * (2·matches + misses + false positives) = 1 − F1, and `reference-disagreement` compares a window's share with
 * the baseline's as a ratio. The threshold in force is the rule's ratio, raised to the worst the baseline itself
 * reached over a stretch of the window's length, and to the Poisson chance level at α for the window's
 * objects: a few sampled frames with a crowd the reference sees differently never fire.
 */
import type { AgreementCounts } from '../inference/agreement.ts';
import type { AlertRule } from './rules.ts';
import { poissonQuantile } from './stats.ts';
import type { AgreementSums, BaselineAgreement, Reading } from './types.ts';

export type { AgreementSums, BaselineAgreement };

/** a window judged on fewer reference frames has no value */
export const MIN_REFERENCE_FRAMES = 3;

export function addSums(into: AgreementSums | undefined, from: AgreementSums | undefined): AgreementSums | undefined {
  if (!from) return into;
  if (!into) return { ...from };
  into.frames += from.frames;
  into.tp += from.tp;
  into.fp += from.fp;
  into.fn += from.fn;
  return into;
}

/** (fp + fn) / (2·tp + fp + fn), 1 − F1; NaN where neither model saw anything. */
export function disagreement(c: AgreementCounts): number {
  const n = 2 * c.tp + c.fp + c.fn;
  return n ? (c.fp + c.fn) / n : NaN;
}

/** The highest disagreement share over `k` consecutive baseline windows with reference frames, as a ratio to the whole baseline's. */
function worstStretch(b: BaselineAgreement, k: number, p0: number): number {
  let worst = 1;
  const ws = b.windows;
  for (let i = 0; i + k <= ws.length; i++) {
    let s: AgreementSums | undefined;
    for (let j = i; j < i + k; j++) s = addSums(s, ws[j]);
    if (s && s.frames >= MIN_REFERENCE_FRAMES) worst = Math.max(worst, disagreement(s) / p0 || 1);
  }
  return worst;
}

/** `reference-disagreement`'s reading for a window's sums `w` against the baseline's, `windowMs` its windows' length. */
export function agreementReading(b: BaselineAgreement | undefined, rule: AlertRule, w: AgreementSums | undefined, windowMs: number, alpha: number): Reading {
  const none = { value: NaN, threshold: rule.threshold };
  if (!b || !w || w.frames < MIN_REFERENCE_FRAMES || b.frames < MIN_REFERENCE_FRAMES) return none;
  const n = 2 * w.tp + w.fp + w.fn;
  const bn = 2 * b.tp + b.fp + b.fn;
  if (!n || !bn) return none;
  // a baseline in perfect agreement still has its chance of a slip: half an object's worth
  const p0 = Math.max(b.fp + b.fn, 0.5) / bn;
  const value = (w.fp + w.fn) / n / p0;
  const expected = n * p0;
  const chance = poissonQuantile(expected, 1 - alpha) / expected;
  const k = Math.max(1, Math.round(rule.window / windowMs));
  return { value, threshold: Math.max(rule.threshold, chance, worstStretch(b, k, p0)) };
}
