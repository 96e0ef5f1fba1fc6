import { describe, expect, it } from 'vitest';
import { parseManifest } from '../src/inference/manifest.ts';
import { fitFrame, rgbaToTensor, toSourceBox } from '../src/capture/preprocess.ts';
import { readFileSync } from 'node:fs';
import { defaultManifest } from './helpers/fixtures.ts';

describe('preprocess', () => {
  const rgba = Uint8ClampedArray.from([10, 20, 30, 255, 40, 50, 60, 255]); // 2×1 pixels
  it('NHWC RGB raw (the default model): copies channels, drops alpha', () => {
    const t = rgbaToTensor(rgba, 2, 1, { layout: 'NHWC', channels: 'RGB', normalization: { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] } });
    expect(Array.from(t)).toEqual([10, 20, 30, 40, 50, 60]);
  });
  it('NCHW BGR with ImageNet-style normalisation', () => {
    const spec = { layout: 'NCHW' as const, channels: 'BGR' as const, normalization: { scale: 255, mean: [0.5, 0.25, 0] as [number, number, number], std: [0.5, 0.5, 1] as [number, number, number] } };
    const t = rgbaToTensor(rgba, 2, 1, spec);
    // channel 0 is blue: (30/255 - 0.5)/0.5 …
    expect(Array.from(t).map((v) => +v.toFixed(4))).toEqual(
      [(30 / 255 - 0.5) / 0.5, (60 / 255 - 0.5) / 0.5, (20 / 255 - 0.25) / 0.5, (50 / 255 - 0.25) / 0.5, 10 / 255, 40 / 255].map((v) => +v.toFixed(4)),
    );
  });
  it('rejects a buffer too small for the size', () => {
    expect(() => rgbaToTensor(rgba, 2, 2, { layout: 'NHWC', channels: 'RGB', normalization: { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] } })).toThrow(/expected 16 RGBA bytes/);
  });
  it('stretch and letterbox fits map boxes back to source pixels, clipped to the frame', () => {
    const s = fitFrame(640, 480, 512, 512, 'stretch');
    expect(toSourceBox(0, 0, 512, 512, s, 640, 480)).toEqual([0, 0, 640, 480]);
    const l = fitFrame(1280, 720, 640, 640, 'letterbox');
    expect(l).toMatchObject({ dx: 0, dy: 140, dw: 640, dh: 360 });
    expect(toSourceBox(-10, 140, 320, 500, l, 1280, 720)).toEqual([0, 0, 640, 720]);
  });
});

describe('manifest validation', () => {
  const good = JSON.parse(readFileSync(defaultManifest, 'utf8'));
  it('accepts the committed default manifest', () => {
    expect(parseManifest(good).id).toBe('centernet-coco');
  });
  it.each([
    [{ ...good, sha256: 'xyz' }, /sha256/],
    [{ ...good, input: { ...good.input, layout: 'HWC' } }, /input\.layout/],
    [{ ...good, input: { ...good.input, shape: [1, 512, 512, 4] } }, /3 channels/],
    [{ ...good, adapter: 'ssd' }, /adapter/],
    [{ ...good, labels: [] }, /labels/],
    [{ ...good, outputs: [] }, /outputs/],
    [null, /root|Invalid/],
  ])('rejects a bad manifest with the field named (%#)', (json, msg) => {
    expect(() => parseManifest(json, 'm.json')).toThrow(msg);
    try {
      parseManifest(json, 'm.json');
    } catch (e) {
      expect((e as { code: string }).code).toBe('manifest-invalid');
    }
  });
});
