/** Box geometry shared by every stage: intersection over union and one-to-one matching of two sets of boxes. */

type Box = readonly [number, number, number, number];

/** Intersection over union of two [x, y, w, h] boxes (0 when either is empty). */
export function iou(a: readonly number[], b: readonly number[]): number {
  const w = Math.min(a[0]! + a[2]!, b[0]! + b[2]!) - Math.max(a[0]!, b[0]!);
  const h = Math.min(a[1]! + a[3]!, b[1]! + b[3]!) - Math.max(a[1]!, b[1]!);
  const inter = w > 0 && h > 0 ? w * h : 0;
  const union = a[2]! * a[3]! + b[2]! * b[3]! - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Pairs of `a` and `b` matched one-to-one, greedily by best IoU first, keeping pairs with IoU ≥ `minIou`;
 * with `sameClass`, only boxes of one class pair. Returns [index in a, index in b, IoU] per pair.
 */
export function matchBoxes<T extends { readonly classId: number; readonly box: Box }>(a: readonly T[], b: readonly T[], minIou: number, sameClass = true): [number, number, number][] {
  const pairs: [number, number, number][] = [];
  for (let i = 0; i < a.length; i++)
    for (let j = 0; j < b.length; j++) {
      if (sameClass && a[i]!.classId !== b[j]!.classId) continue;
      const o = iou(a[i]!.box, b[j]!.box);
      if (o >= minIou) pairs.push([i, j, o]);
    }
  pairs.sort((p, q) => q[2] - p[2]);
  const usedA = new Set<number>(), usedB = new Set<number>(), kept: [number, number, number][] = [];
  for (const p of pairs)
    if (!usedA.has(p[0]) && !usedB.has(p[1])) {
      usedA.add(p[0]);
      usedB.add(p[1]);
      kept.push(p);
    }
  return kept;
}
