/** The CSV manifest of flagged frames (cells and rows: lib/csv.ts). */
import type { FlaggedFrame, Labels } from '../types.ts';
import { csvRow, isoTime } from '../../lib/csv.ts';

export const MANIFEST_COLUMNS = ['inference_id', 'time', 'camera_id', 'location', 'device_id', 'model_version', 'backend', 'width', 'height', 'reasons', 'detections', 'top_label', 'top_score', 'metadata', 'verdict'] as const;

const OWN_TAGS = new Set(['camera_id', 'location', 'device_id']);

/** The manifest: a header and one row per frame (reasons ';'-joined, the top-scoring detection, the other tags as JSON, a person's verdict by frame id if given). */
export function manifestCsv(frames: readonly FlaggedFrame[], labels: Labels, verdicts: Readonly<Record<string, string>> = {}): string {
  let out = csvRow([...MANIFEST_COLUMNS]);
  for (const f of frames) {
    const top = f.detections.reduce<FlaggedFrame['detections'][number] | undefined>((m, d) => (!m || d.score > m.score ? d : m), undefined);
    const metadata = Object.fromEntries(Object.entries(f.tags).filter(([k]) => !OWN_TAGS.has(k)));
    out += csvRow([
      f.id, isoTime(f.t), f.tags.camera_id, f.tags.location, f.tags.device_id, f.mv, f.backend, f.width, f.height,
      f.reasons.join(';'), f.detections.length, top && (labels[top.classId] ?? top.label), top?.score, JSON.stringify(metadata), verdicts[f.id],
    ]);
  }
  return out;
}
