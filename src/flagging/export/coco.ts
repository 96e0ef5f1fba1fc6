/**
 * COCO detection export of flagged frames, plus the helpers every export writer shares so that all files
 * of one export agree: which detections survive clipping, their boxes, and the file names.
 */
import type { FlagDetection, FlaggedFrame, Labels } from '../types.ts';
import { isoTime } from '../../lib/csv.ts';

export interface CocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
  date_captured: string;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  /** [x, y, w, h] in pixels, inside the image */
  bbox: [number, number, number, number];
  area: number;
  iscrowd: 0;
  score: number;
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory: string;
}

export interface CocoDataset {
  info: { description: string; date_created: string; version: string };
  licenses: never[];
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
}

const r2 = (v: number) => Math.round(v * 100) / 100;
const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);

/** A frame's file stem: its id with anything but letters, digits, '.', '_' and '-' replaced by '_' (no paths in a ZIP). */
export const fileStem = (id: string) => id.replace(/[^A-Za-z0-9._-]/g, '_');

/** A pixel box [x, y, w, h] clipped to a width×height image, corners rounded to 2 decimals; undefined when nothing is left. */
export function clipBox(box: readonly number[], width: number, height: number): [number, number, number, number] | undefined {
  const [x = NaN, y = NaN, w = NaN, h = NaN] = box;
  const x0 = r2(clamp(x, 0, width)), y0 = r2(clamp(y, 0, height));
  const x1 = r2(clamp(x + w, 0, width)), y1 = r2(clamp(y + h, 0, height));
  const cw = r2(x1 - x0), ch = r2(y1 - y0);
  return cw > 0 && ch > 0 ? [x0, y0, cw, ch] : undefined;
}

/** The detections of a frame every writer exports (a valid class id and something left after clipping), with their clipped boxes. */
export function frameBoxes(frame: FlaggedFrame): { det: FlagDetection; box: [number, number, number, number] }[] {
  const out = [];
  for (const det of frame.detections) {
    if (!Number.isInteger(det.classId) || det.classId < 0) continue;
    const box = clipBox(det.box, frame.width, frame.height);
    if (box) out.push({ det, box });
  }
  return out;
}

/** `labels`, extended to every class id the frames' detections use (named by the detection's label, else `class_<id>`). */
export function labelsFor(frames: readonly FlaggedFrame[], labels: Labels): string[] {
  const out = [...labels];
  for (const f of frames) for (const { det } of frameBoxes(f)) out[det.classId] ??= det.label || `class_${det.classId}`;
  return Array.from(out, (l, i) => l ?? `class_${i}`);
}

/** COCO detection dataset of the frames (images in the order given, ids from 1; category id = class id + 1, one per label). */
export function cocoDataset(frames: readonly FlaggedFrame[], labels: Labels, now = Date.now()): CocoDataset {
  const images: CocoImage[] = [];
  const annotations: CocoAnnotation[] = [];
  frames.forEach((f, i) => {
    images.push({ id: i + 1, file_name: `${fileStem(f.id)}.jpg`, width: f.width, height: f.height, date_captured: isoTime(f.t) });
    for (const { det, box } of frameBoxes(f))
      annotations.push({ id: annotations.length + 1, image_id: i + 1, category_id: det.classId + 1, bbox: box, area: Math.round(box[2] * box[3] * 1e4) / 1e4, iscrowd: 0, score: det.score });
  });
  return {
    info: { description: 'Flagged frames exported by inference-health-monitor', date_created: isoTime(now), version: '1.0' },
    licenses: [],
    images,
    annotations,
    categories: labelsFor(frames, labels).map((name, i) => ({ id: i + 1, name, supercategory: '' })),
  };
}
