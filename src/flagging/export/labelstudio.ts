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

/** One Label Studio task per frame (image at images/<id>.jpg, tags as data), its detections as one prediction in percent boxes. */
export function labelStudioTasks(frames: readonly FlaggedFrame[], labels?: Labels): LabelStudioTask[] {
  return frames.map((f) => {
    const { width: W, height: H } = f;
    const result = frameBoxes(f).map(({ det, box: [x, y, w, h] }, k): LabelStudioResult => ({
      id: `${f.id}-${k}`,
      type: 'rectanglelabels',
      from_name: 'label',
      to_name: 'image',
      original_width: W,
      original_height: H,
      image_rotation: 0,
      value: { x: (x * 100) / W, y: (y * 100) / H, width: (w * 100) / W, height: (h * 100) / H, rotation: 0, rectanglelabels: [labels?.[det.classId] ?? det.label] },
      score: det.score,
    }));
    const tags = Object.fromEntries(Object.entries(f.tags).map(([k, v]) => [k, String(v)]));
    return {
      data: { ...tags, image: `images/${fileStem(f.id)}.jpg`, inference_id: f.id, time: isoTime(f.t) },
      predictions: [{ model_version: f.mv, score: result.reduce((m, r) => Math.max(m, r.score), 0), result }],
    };
  });
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;' };

/** Text as an XML attribute value: markup characters and whitespace escaped, characters XML 1.0 forbids dropped. */
export const xmlEscape = (s: string) => s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '').replace(/[&<>"'\t\n\r]/g, (c) => XML_ESCAPES[c]!);

/** A Label Studio labelling config: the image and a rectangle label per class (values XML-escaped). */
export function labelStudioConfig(labels: Labels): string {
  const items = labels.map((l) => `    <Label value="${xmlEscape(l)}"/>\n`).join('');
  return `<View>\n  <Image name="image" value="$image"/>\n  <RectangleLabels name="label" toName="image">\n${items}  </RectangleLabels>\n</View>\n`;
}
