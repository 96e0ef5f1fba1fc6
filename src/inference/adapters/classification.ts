/** Classification heads: `[1, C]` logits or probabilities → the top K classes with probabilities. */
export function decodeClassification(data: Float32Array, dims: readonly number[], classes: number, topK: number) {
  if (dims.length !== 2 || dims[0] !== 1 || dims[1] !== classes)
    throw new RangeError(`expected [1, ${classes}], got [${dims}]`);
  let sum = 0, min = Infinity;
  for (const v of data) (sum += v), (min = Math.min(min, v));
  const isProb = min >= 0 && Math.abs(sum - 1) < 1e-3;
  let probs: Float32Array;
  if (isProb) probs = data;
  else {
    let max = -Infinity;
    for (const v of data) max = Math.max(max, v);
    probs = new Float32Array(data.length);
    let z = 0;
    for (let i = 0; i < data.length; i++) z += probs[i] = Math.exp(data[i]! - max);
    for (let i = 0; i < data.length; i++) probs[i]! /= z;
  }
  return Array.from(probs, (score, classId) => ({ classId, score }))
    .sort((a, b) => b.score - a.score)
    .slice(0, topK);
}
