import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ModelManifest } from '../src/inference/manifest.ts';
import { defaultManifest, defaultOnnx, fullManifest, fullOnnx } from './helpers/fixtures.ts';

describe.each([
  ['default (416×416)', defaultManifest, defaultOnnx, 416],
  ['512×512', fullManifest, fullOnnx, 512],
])('%s model manifest', (_, manifestPath, onnxPath, size) => {
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as ModelManifest;

  it('names the ONNX file the build produced, by sha256 and size', () => {
    const bytes = readFileSync(onnxPath);
    expect(manifest.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(manifest.bytes).toBe(statSync(onnxPath).size);
  });

  it('describes input, outputs, decoding, labels and provenance', () => {
    const cells = size / 4;
    expect(manifest.input).toMatchObject({ name: 'images', shape: [1, size, size, 3], layout: 'NHWC' });
    expect(manifest.outputs.map((o) => [o.name, o.shape, o.layout])).toEqual([
      ['keypoints', [1, 80, cells, cells], 'NCHW'],
      ['wh', [1, 4, cells, cells], 'NCHW'],
    ]);
    expect(manifest.adapter).toBe('centernet');
    expect(manifest.labels).toHaveLength(80);
    expect(manifest.labels[0]).toBe('person');
    expect(manifest.source.package).toBe('@vladmandic/human');
    expect(manifest.license?.model).toBe('MIT');
  });
});
