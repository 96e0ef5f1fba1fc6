import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const root = join(import.meta.dirname, '..', '..');
export const fixturePath = (name: string) => join(root, 'fixtures', name);

/** A 512×512 RGB frame made by scripts/fixtures.sh, as the float32 NHWC tensor the model takes (0–255). */
export function rgbFixture(name: string): Float32Array {
  const p = fixturePath(name);
  if (!existsSync(p)) throw new Error(`missing fixture ${p}: run 'bash scripts/fixtures.sh'`);
  return Float32Array.from(readFileSync(p));
}

export const humanModelJson = join(root, 'node_modules', '@vladmandic', 'human', 'models', 'centernet.json');
export const defaultOnnx = join(root, 'models', 'centernet-coco.onnx');
export const defaultManifest = join(root, 'models', 'centernet-coco.json');
/** The same model at the original's 512×512 input (equal to the original: test/model-parity.test.ts). */
export const fullOnnx = join(root, 'models', 'centernet-coco-512.onnx');
export const fullManifest = join(root, 'models', 'centernet-coco-512.json');
