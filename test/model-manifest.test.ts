import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ModelManifest } from '../src/inference/manifest.ts';
import { defaultManifest, defaultOnnx } from './helpers/fixtures.ts';

describe('default model manifest', () => {
  const manifest = JSON.parse(readFileSync(defaultManifest, 'utf8')) as ModelManifest;

  it('names the ONNX file npm install produced, by sha256 and size', () => {
    const bytes = readFileSync(defaultOnnx);
    expect(manifest.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(manifest.bytes).toBe(statSync(defaultOnnx).size);
  });

  it('describes input, outputs, decoding, labels and provenance', () => {
    expect(manifest.input).toMatchObject({ name: 'images', shape: [1, 512, 512, 3], layout: 'NHWC' });
    expect(manifest.outputs.map((o) => [o.name, o.shape, o.layout])).toEqual([
      ['keypoints', [1, 80, 128, 128], 'NCHW'],
      ['wh', [1, 4, 128, 128], 'NCHW'],
    ]);
    expect(manifest.adapter).toBe('centernet');
    expect(manifest.labels).toHaveLength(80);
    expect(manifest.labels[0]).toBe('person');
    expect(manifest.source.package).toBe('@vladmandic/human');
    expect(manifest.license?.model).toBe('MIT');
  });
});
