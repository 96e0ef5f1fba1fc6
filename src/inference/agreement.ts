/**
 * How far the deployed model agrees with a reference model on one frame, without labels: the reference's
 * detections stand in for the truth. Detections match one-to-one by label and IoU ≥ 0.5 (COCO's own
 * threshold); a deployed detection with no match is a false positive against the reference, a reference
 * detection with no match a miss. For classifiers, the top-1 labels agree or not. Counts, not ratios, so that
 * frames, windows and baselines add up; precision, recall and F1 come from the sums (`scores`).
 */
import { matchBoxes } from '../types/boxes.ts';
import type { Detection } from '../types/detection.ts';

export interface AgreementCounts {
  /** deployed detections the reference confirms */
  tp: number;
  /** deployed detections the reference does not have */
  fp: number;
  /** reference detections the deployed model missed */
  fn: number;
}

export interface FrameAgreement extends AgreementCounts {
  /** per label (labels, not class ids: the two models may number their classes differently) */
  byClass: Record<string, AgreementCounts>;
}

/** IoU at which a deployed box and a reference box are the same object */
export const AGREEMENT_IOU = 0.5;

const bump = (m: Record<string, AgreementCounts>, label: string, k: keyof AgreementCounts) => {
  (m[label] ??= { tp: 0, fp: 0, fn: 0 })[k]++;
};

/** The deployed model's detections against the reference's on one frame. `classification`: compare top-1 labels. */
export function agreement(deployed: readonly Detection[], reference: readonly Detection[], o: { classification?: boolean; minIou?: number } = {}): FrameAgreement {
  const byClass: Record<string, AgreementCounts> = {};
  if (o.classification) {
    const top = (ds: readonly Detection[]) => ds.reduce<Detection | undefined>((b, d) => (!b || d.score > b.score ? d : b), undefined);
    const a = top(deployed), b = top(reference);
    if (a && b && a.label === b.label) bump(byClass, a.label, 'tp');
    else {
      if (a) bump(byClass, a.label, 'fp');
      if (b) bump(byClass, b.label, 'fn');
    }
  } else {
    // labels as class ids for matching, so that only the same label pairs
    const ids = new Map<string, number>();
    const keyed = (ds: readonly Detection[]) => ds.map((d) => ({ classId: ids.get(d.label) ?? (ids.set(d.label, ids.size), ids.size - 1), box: d.box }));
    const pairs = matchBoxes(keyed(deployed), keyed(reference), o.minIou ?? AGREEMENT_IOU);
    const matchedA = new Set(pairs.map((p) => p[0])), matchedB = new Set(pairs.map((p) => p[1]));
    deployed.forEach((d, i) => bump(byClass, d.label, matchedA.has(i) ? 'tp' : 'fp'));
    reference.forEach((d, j) => matchedB.has(j) || bump(byClass, d.label, 'fn'));
  }
  const sum = { tp: 0, fp: 0, fn: 0 };
  for (const c of Object.values(byClass)) (sum.tp += c.tp), (sum.fp += c.fp), (sum.fn += c.fn);
  return { ...sum, byClass };
}

/** Adds `b`'s counts into `a` (per class too, where both have them). */
export function addAgreement(a: FrameAgreement, b: FrameAgreement): FrameAgreement {
  a.tp += b.tp;
  a.fp += b.fp;
  a.fn += b.fn;
  for (const [label, c] of Object.entries(b.byClass)) {
    const t = (a.byClass[label] ??= { tp: 0, fp: 0, fn: 0 });
    t.tp += c.tp;
    t.fp += c.fp;
    t.fn += c.fn;
  }
  return a;
}

/**
 * Precision, recall and F1 of the deployed model against the reference. Each is NaN where it has nothing to
 * rest on (no deployed detections for precision, none of the reference's for recall); F1 is 1 where neither
 * model saw anything (they agree).
 */
export function scores(c: AgreementCounts): { precision: number; recall: number; f1: number } {
  const precision = c.tp + c.fp ? c.tp / (c.tp + c.fp) : NaN;
  const recall = c.tp + c.fn ? c.tp / (c.tp + c.fn) : NaN;
  const f1 = c.tp + c.fp + c.fn ? (2 * c.tp) / (2 * c.tp + c.fp + c.fn) : 1;
  return { precision, recall, f1 };
}
