/**
 * pycocotools reads a real export's annotations.coco.json: the default model's detections on real frames, exported
 * by the monitor's ZIP writer (test/interop/real-export.ts), loaded by pycocotools' COCO (test/interop/coco_check.py).
 * What pycocotools holds must be the detections: every detection at or above the threshold, on its image, with its
 * class name, score and box (the box clipped to the image, 2 decimals), and the file must evaluate against itself
 * with COCOeval at AP = AR = 1.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fileStem } from '../../src/flagging/export/coco.ts';
import { root } from '../helpers/fixtures.ts';
import { runPython } from './python.ts';
import { jpegSize, makeRealExport, type RealExport, THRESHOLD } from './real-export.ts';

interface CocoReport {
  images: {
    id: number;
    file_name: string;
    width: number;
    height: number;
    annotations: { id: number; category: string; bbox: [number, number, number, number]; area: number; iscrowd: number; score: number | null }[];
  }[];
  categories: { id: number; name: string }[];
  annotations: number;
  selfEval?: { ap: number; ap50: number; ar100: number };
}

describe('pycocotools reads a real export (default model on vtest frames and a photo)', () => {
  let ex: RealExport;
  let coco: CocoReport;
  beforeAll(async () => {
    ex = await makeRealExport();
    const dir = join(root, 'test-results', 'interop', 'coco');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'annotations.coco.json');
    writeFileSync(file, ex.files['annotations.coco.json']!);
    coco = runPython<CocoReport>('coco_check.py', [file]);
  }, 180_000);

  it('holds every image with its file in the ZIP and the JPEG\'s own size', () => {
    expect(coco.images.map((i) => i.file_name)).toEqual(ex.frames.map((f) => `${fileStem(f.id)}.jpg`));
    for (const img of coco.images) {
      const jpeg = ex.files[`images/${img.file_name}`];
      expect(jpeg, img.file_name).toBeDefined();
      expect({ width: img.width, height: img.height }).toEqual(jpegSize(jpeg!));
    }
  });

  it('has the model\'s 80 labels as categories, id = class + 1', () => {
    expect(coco.categories).toEqual(ex.manifest.labels.map((name, i) => ({ id: i + 1, name })));
  });

  it('holds each detection (all at or above the threshold), on its image, with its class, score and box', () => {
    let n = 0;
    for (const [i, frame] of ex.frames.entries()) {
      const img = coco.images[i]!;
      const want = frame.detections;
      expect(img.annotations, frame.tags.source).toHaveLength(want.length);
      for (const [k, d] of want.entries()) {
        const a = img.annotations[k]!;
        expect(d.score).toBeGreaterThanOrEqual(THRESHOLD);
        expect(a.category).toBe(d.label);
        expect(a.score).toBeCloseTo(d.score, 6);
        expect(a.iscrowd).toBe(0);
        // the clipped box, corners rounded to 2 decimals: within 0.01 px of the detection's
        for (let c = 0; c < 4; c++) expect(Math.abs(a.bbox[c]! - d.box[c]!), `${frame.tags.source} #${k} bbox[${c}]`).toBeLessThanOrEqual(0.0101);
        expect(a.area).toBeCloseTo(a.bbox[2] * a.bbox[3], 3);
        n++;
      }
    }
    expect(coco.annotations).toBe(n);
    // real content: people in every vtest frame and the photo, none on the covered lens
    const people = coco.images.map((img) => img.annotations.filter((a) => a.category === 'person').length);
    expect(people.filter((p) => p > 0)).toHaveLength(ex.frames.length - 1);
    expect(coco.images[ex.frames.findIndex((f) => f.tags.source!.endsWith('covered'))]!.annotations).toEqual([]);
    expect(n).toBeGreaterThan(30);
  });

  it('evaluates against itself with COCOeval at AP = AR = 1 (every box, area, id and category well formed)', () => {
    expect(coco.selfEval).toBeDefined();
    expect(coco.selfEval!.ap).toBeCloseTo(1, 6);
    expect(coco.selfEval!.ap50).toBeCloseTo(1, 6);
    expect(coco.selfEval!.ar100).toBeCloseTo(1, 6);
  });
});
