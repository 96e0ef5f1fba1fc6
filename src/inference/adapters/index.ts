/** Output adapters: a model's raw output tensors → detections (CenterNet, YOLO, classification), checked for malformed output first. */
import { type ModelManifest, numericDims } from '../manifest.ts';
import { type Fit, toSourceBox } from '../../capture/preprocess.ts';
import type { Detection } from '../../types/detection.ts';
import { decodeCenternet, type RawDetection } from './centernet.ts';
import { decodeClassification } from './classification.ts';
import { decodeYolo } from './yolo.ts';

export interface OutputTensor {
  data: Float32Array;
  dims: readonly number[];
}

export interface Decoded {
  detections: Detection[];
  /** Why the output cannot be trusted; the result is kept and marked, never dropped. */
  malformed?: string;
  /** detections scoring below the threshold but at or above the requested floor, best first (at most 20) */
  nearMisses?: Detection[];
}

const MAX_NEAR_MISSES = 20;

/** How far a box may reach outside the model input before the output counts as malformed (fraction of size). */
const OUT_OF_FRAME_SLACK = 0.25;

/** Checks an output tensor: present, of the manifest's shape, non-empty, all finite. Returns a reason or undefined. */
export function checkOutput(name: string, t: OutputTensor | undefined, expected?: readonly number[]): string | undefined {
  if (!t) return `output '${name}' is missing`;
  if (t.data.length === 0 || t.dims.some((d) => d === 0)) return `output '${name}' is empty`;
  if (expected && (expected.length !== t.dims.length || expected.some((d, i) => d > 0 && d !== t.dims[i])))
    return `output '${name}' has shape [${t.dims}], expected [${expected}]`;
  const bad = firstNonFinite(t.data);
  return bad < 0 ? undefined : `output '${name}' has a non-finite value (${t.data[bad]}) at ${bad}`;
}

/**
 * The index of the first NaN or ±Infinity, or -1. On the path of every frame: x·0 is 0 for every finite x
 * and NaN otherwise, so four running sums say whether there is one (~2.5× faster than testing each value);
 * only then is it looked for.
 */
export function firstNonFinite(d: Float32Array): number {
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  const n = d.length & ~3;
  for (let i = 0; i < n; i += 4) {
    a0 += d[i]! * 0;
    a1 += d[i + 1]! * 0;
    a2 += d[i + 2]! * 0;
    a3 += d[i + 3]! * 0;
  }
  for (let i = n; i < d.length; i++) a0 += d[i]! * 0;
  if (a0 + a1 + a2 + a3 === 0) return -1;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return i;
  return -1;
}

const num = (m: ModelManifest, key: string, dflt: number) => {
  const v = m.decode[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : dflt;
};

/**
 * Decodes a model's outputs by its manifest adapter into detections in source-frame pixels.
 * Validation failures (NaN/Inf, wrong shape, empty, boxes far outside the frame) mark the result malformed.
 */
export function decodeOutputs(
  m: ModelManifest,
  outputs: Record<string, OutputTensor>,
  frame: { width: number; height: number; fit: Fit; inputWidth: number; inputHeight: number },
  threshold: number,
  /** also decode detections down to this score (≤ threshold), returned apart as `nearMisses` (for flagging) */
  floor = threshold,
): Decoded {
  const lowest = Math.min(threshold, floor);
  for (const spec of m.outputs) {
    const reason = checkOutput(spec.name, outputs[spec.name], spec.shape && numericDims(spec.shape));
    if (reason) return { detections: [], malformed: reason };
  }
  let raw: RawDetection[];
  const topK = num(m, 'topK', 100);
  try {
    if (m.adapter === 'centernet') {
      const heat = outputs[String(m.decode.heatmap ?? m.outputs[0]!.name)];
      const sizes = outputs[String(m.decode.sizes ?? m.outputs[1]?.name)];
      if (!heat || !sizes) return { detections: [], malformed: 'centernet needs a heatmap and a size output' };
      const [, C, H, W] = heat.dims as [number, number, number, number];
      if (C !== m.labels.length) return { detections: [], malformed: `heatmap has ${C} classes, the manifest ${m.labels.length} labels` };
      raw = decodeCenternet(
        { heatmap: heat.data, sizes: sizes.data, classes: C, height: H, width: W },
        { stride: num(m, 'stride', 4), topK, minScore: Math.min(lowest, num(m, 'minScore', 0.05)) },
      );
    } else if (m.adapter === 'yolo') {
      const out = outputs[String(m.decode.output ?? m.outputs[0]!.name)]!;
      raw = decodeYolo(out.data, out.dims, {
        classes: m.labels.length,
        format: m.decode.format === 'nms' ? 'nms' : undefined,
        scoreThreshold: Math.min(lowest, num(m, 'minScore', 0.05)),
        iouThreshold: num(m, 'iou', 0.45),
        topK,
      });
    } else {
      const out = outputs[String(m.decode.output ?? m.outputs[0]!.name)]!;
      const top = decodeClassification(out.data, out.dims, m.labels.length, num(m, 'topK', 5));
      return {
        detections: top.map((c) => ({ classId: c.classId, label: m.labels[c.classId]!, score: c.score, box: [0, 0, frame.width, frame.height] })),
      };
    }
  } catch (e) {
    return { detections: [], malformed: (e as Error).message };
  }
  const sx = frame.inputWidth * OUT_OF_FRAME_SLACK;
  const sy = frame.inputHeight * OUT_OF_FRAME_SLACK;
  const far = raw.find(
    (d) => d.score >= threshold && (d.x1 < -sx || d.y1 < -sy || d.x2 > frame.inputWidth + sx || d.y2 > frame.inputHeight + sy || d.x2 < d.x1 || d.y2 < d.y1),
  );
  const toDetection = (d: RawDetection): Detection => ({
    classId: d.classId,
    label: m.labels[d.classId] ?? `class ${d.classId}`,
    score: d.score,
    box: toSourceBox(d.x1, d.y1, d.x2, d.y2, frame.fit, frame.width, frame.height),
  });
  const detections = raw.filter((d) => d.score >= threshold).map(toDetection);
  const near = lowest < threshold ? raw.filter((d) => d.score >= lowest && d.score < threshold).sort((a, b) => b.score - a.score).slice(0, MAX_NEAR_MISSES) : [];
  const nearMisses = near.length ? { nearMisses: near.map(toDetection) } : {};
  if (far)
    return {
      detections,
      ...nearMisses,
      malformed: `box out of frame: ${m.labels[far.classId] ?? far.classId} at [${[far.x1, far.y1, far.x2, far.y2].map((v) => v.toFixed(0))}] in a ${frame.inputWidth}×${frame.inputHeight} input`,
    };
  return { detections, ...nearMisses };
}
