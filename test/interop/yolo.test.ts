/**
 * The YOLO folder of a real export (test/interop/real-export.ts), unzipped, passes the dataset checks an
 * Ultralytics trainer applies before training (test/interop/yolo_check.py: PyYAML, Pillow, numpy — no trainer
 * installs here), run from the folder above it, as `yolo train data=<folder>/data.yaml` would be: data.yaml's
 * names and paths, one label file per image, rows of normalised centre boxes within 0–1 that are the detections.
 */
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fileStem } from '../../src/flagging/export/coco.ts';
import { root } from '../helpers/fixtures.ts';
import { runPython } from './python.ts';
import { entries, makeRealExport, type RealExport, unzipTo } from './real-export.ts';

interface Checked {
  image: string;
  label: string;
  status: 'found' | 'empty' | 'missing' | 'corrupt';
  error?: string;
  warnings: string[];
  rows: [number, number, number, number, number][];
  width: number;
  height: number;
  format: string;
}
interface YoloReport {
  cwd: string;
  error?: string;
  names: Record<string, string>;
  nc: number;
  root: string;
  resolved: Record<string, string[]>;
  splits: { train: Checked[]; val: Checked[] };
  orphans: string[];
}

describe('a YOLO trainer\'s dataset checks accept a real export (default model on vtest frames and a photo)', () => {
  let ex: RealExport;
  let dir: string;
  let yolo: YoloReport;
  beforeAll(async () => {
    ex = await makeRealExport();
    const base = join(root, 'test-results', 'interop');
    mkdirSync(base, { recursive: true });
    dir = unzipTo(ex.files, join(base, 'yolo'));
    // from the folder above, as a trainer is pointed at <folder>/data.yaml
    yolo = runPython<YoloReport>('yolo_check.py', [join(relative(base, dir), 'data.yaml')], base);
  }, 180_000);

  it('data.yaml: train and val found beside it, nc = the 80 names, names the model\'s labels by class id', () => {
    expect(yolo.error).toBeUndefined();
    expect(yolo.root).toBe(dir);
    expect(yolo.resolved.train).toEqual([join(dir, 'images')]);
    expect(yolo.resolved.val).toEqual([join(dir, 'images')]);
    expect(yolo.nc).toBe(80);
    expect(yolo.names).toEqual(Object.fromEntries(ex.manifest.labels.map((l, i) => [String(i), l])));
  });

  it('one label file per image, none without an image; every image a JPEG Pillow verifies, of the frame\'s size', () => {
    const train = yolo.splits.train;
    expect(train.map((c) => c.image)).toEqual(entries(ex.files, 'images').map((k) => join(dir, k)));
    expect(yolo.splits.val.map((c) => c.image)).toEqual(train.map((c) => c.image));
    for (const c of train) {
      const f = ex.frames.find((f) => c.image.endsWith(`/${fileStem(f.id)}.jpg`))!;
      expect(c.label).toBe(join(dir, 'labels', `${fileStem(f.id)}.txt`));
      expect(c.error, c.image).toBeUndefined();
      expect(c.warnings, c.image).toEqual([]); // no corrupt JPEG, no duplicate rows
      expect(c.status, f.tags.source).toBe(f.detections.length ? 'found' : 'empty'); // never missing, never corrupt
      expect({ format: c.format, width: c.width, height: c.height }).toEqual({ format: 'JPEG', width: f.width, height: f.height });
    }
    expect(train.filter((c) => c.status === 'empty')).toHaveLength(1); // the covered lens
    expect(yolo.orphans).toEqual([]);
  });

  it('each row is a detection: its class and its box as a normalised centre box within 0–1', () => {
    let n = 0;
    for (const c of yolo.splits.train) {
      const f = ex.frames.find((f) => c.image.endsWith(`/${fileStem(f.id)}.jpg`))!;
      expect(c.rows).toHaveLength(f.detections.length);
      for (const [k, [cls, cx, cy, w, h]] of c.rows.entries()) {
        const d = f.detections[k]!;
        expect(cls).toBe(d.classId);
        // the whole box inside the image, not only its centre
        for (const v of [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]) {
          expect(v).toBeGreaterThanOrEqual(-1e-6);
          expect(v).toBeLessThanOrEqual(1 + 1e-6);
        }
        expect(w).toBeGreaterThan(0);
        expect(h).toBeGreaterThan(0);
        // back to pixels: the detection's box (2-decimal clipping, 6-decimal rows, float32)
        const [x, y, bw, bh] = d.box;
        const tol = 0.02 / Math.min(f.width, f.height) + 2e-6;
        expect(Math.abs(cx - (x + bw / 2) / f.width)).toBeLessThanOrEqual(tol);
        expect(Math.abs(cy - (y + bh / 2) / f.height)).toBeLessThanOrEqual(tol);
        expect(Math.abs(w - bw / f.width)).toBeLessThanOrEqual(tol);
        expect(Math.abs(h - bh / f.height)).toBeLessThanOrEqual(tol);
        n++;
      }
    }
    expect(n).toBeGreaterThan(30);
  });
});
