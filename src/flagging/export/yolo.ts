/** YOLO (Ultralytics) export: one label file per image and the dataset's data.yaml. */
import type { FlaggedFrame, Labels } from '../types.ts';
import { frameBoxes } from './coco.ts';

const n6 = (v: number) => Math.min(1, Math.max(0, v)).toFixed(6);

/** A frame's YOLO label file: `classId cx cy w h` per detection, normalised to [0, 1] (6 decimals), each line ended by '\n'. */
export function yoloLabels(frame: FlaggedFrame): string {
  const { width: W, height: H } = frame;
  return frameBoxes(frame)
    .map(({ det, box: [x, y, w, h] }) => `${det.classId} ${n6((x + w / 2) / W)} ${n6((y + h / 2) / H)} ${n6(w / W)} ${n6(h / H)}\n`)
    .join('');
}

/** A YAML double-quoted scalar: the JSON literal, with what YAML 1.1 readers treat as line breaks or non-printable escaped too. */
const yamlString = (s: string) => JSON.stringify(s).replace(/[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * The data.yaml of a YOLO dataset whose images and labels sit in images/ and labels/ (names as a class id → JSON-string
 * mapping). No `path:` key: Ultralytics then takes the dataset root to be data.yaml's folder, wherever the trainer runs
 * (a relative `path: .` would be the trainer's current folder).
 */
export function yoloDataYaml(labels: Labels): string {
  const names = labels.map((l, i) => `  ${i}: ${yamlString(l)}\n`).join('');
  return `train: images\nval: images\nnc: ${labels.length}\nnames:${names ? `\n${names}` : ' {}\n'}`;
}
