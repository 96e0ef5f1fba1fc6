/** Label Studio export: tasks with pre-annotations (predictions), and the matching labelling config. */
import type { FlaggedFrame, Labels } from '../types.ts';
import { fileStem, frameBoxes } from './coco.ts';
import { isoTime } from '../../lib/csv.ts';

export interface LabelStudioResult {
  id: string;
  type: 'rectanglelabels';
  from_name: 'label';
  to_name: 'image';
  original_width: number;
  original_height: number;
  image_rotation: 0;
  /** percent of the image (0–100) */
  value: { x: number; y: number; width: number; height: number; rotation: 0; rectanglelabels: string[] };
  score: number;
}

export interface LabelStudioTask {
  data: Record<string, string> & { image: string; inference_id: string; time: string };
  predictions: { model_version: string; score: number; result: LabelStudioResult[] }[];
}

/**
 * One Label Studio task per frame (image at images/<id>.jpg, tags as data), its detections as one prediction in
 * percent boxes; a frame the reference model judged has the reference's detections as a second prediction
 * (its model version the reference's), so a labeller sees both models' boxes.
 */
export function labelStudioTasks(frames: readonly FlaggedFrame[], labels?: Labels, verdicts: Readonly<Record<string, string>> = {}): LabelStudioTask[] {
  return frames.map((f) => {
    const result = results(f, frameBoxes(f), '', labels);
    const tags = Object.fromEntries(Object.entries(f.tags).map(([k, v]) => [k, String(v)]));
    const reference = f.reference ? results(f, frameBoxes({ ...f, detections: f.reference.detections }), 'r', labels) : undefined;
    return {
      data: { ...tags, image: `images/${fileStem(f.id)}.jpg`, inference_id: f.id, time: isoTime(f.t), ...(verdicts[f.id] ? { verdict: verdicts[f.id]! } : {}) },
      predictions: [
        { model_version: f.mv, score: result.reduce((m, r) => Math.max(m, r.score), 0), result },
        ...(reference ? [{ model_version: f.reference!.version, score: reference.reduce((m, r) => Math.max(m, r.score), 0), result: reference }] : []),
      ],
    };
  });
}

/** A frame's boxes as Label Studio results (ids `<frame id>-<prefix><k>`). */
function results(f: FlaggedFrame, boxes: ReturnType<typeof frameBoxes>, prefix: string, labels?: Labels): LabelStudioResult[] {
  const { width: W, height: H } = f;
  return boxes.map(({ det, box: [x, y, w, h] }, k): LabelStudioResult => ({
      id: `${f.id}-${prefix}${k}`,
      type: 'rectanglelabels',
      from_name: 'label',
      to_name: 'image',
      original_width: W,
      original_height: H,
      image_rotation: 0,
      value: { x: (x * 100) / W, y: (y * 100) / H, width: (w * 100) / W, height: (h * 100) / H, rotation: 0, rectanglelabels: [labels?.[det.classId] ?? det.label] },
      score: det.score,
    }));
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;' };

/** Text as an XML attribute value: markup characters and whitespace escaped, characters XML 1.0 forbids dropped. */
export const xmlEscape = (s: string) => s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '').replace(/[&<>"'\t\n\r]/g, (c) => XML_ESCAPES[c]!);

/** A Label Studio labelling config: the image and a rectangle label per class (values XML-escaped). */
export function labelStudioConfig(labels: Labels): string {
  const items = labels.map((l) => `    <Label value="${xmlEscape(l)}"/>\n`).join('');
  return `<View>\n  <Image name="image" value="$image"/>\n  <RectangleLabels name="label" toName="image">\n${items}  </RectangleLabels>\n</View>\n`;
}
