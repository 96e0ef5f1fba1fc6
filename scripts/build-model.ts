/**
 * Builds the bundled models: @vladmandic/human's CenterNet (TF.js graph model) → models/centernet-coco.onnx (the
 * default, 416×416 input) and models/centernet-coco-512.onnx (the original 512×512 input), and keeps the committed
 * manifests models/<id>.json in step with them (sha256, size).
 * Runs before whatever needs it (npm start, dev, build, server, bench, test, build:lib; never on a host's install). Idempotent: a model whose sha256 matches the manifest is left alone.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ManifestInput, parseManifest, type ModelManifest } from '../src/inference/manifest.ts';
import { COCO_LABELS } from '../src/inference/coco-labels.ts';
import { convertTfjsToOnnx } from './tfjs2onnx/convert.ts';
import { ConvertError } from './tfjs2onnx/errors.ts';
import { loadTfjsGraphModel } from './tfjs2onnx/tfjs-model.ts';
import { writeFileAtomic } from './tfjs2onnx/write-atomic.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const modelsDir = join(root, 'models');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const manifestPathOf = (id: string) => join(modelsDir, `${id}.json`);
const readManifest = (id: string): ModelManifest | undefined =>
  existsSync(manifestPathOf(id)) ? JSON.parse(readFileSync(manifestPathOf(id), 'utf8')) : undefined;

/**
 * The bundled models, both from the same weights: the default at a 416×416 input (0.66× the work of 512×512; its
 * detections agree with the original's on ≥ 95 % — see docs/models.md and test/model-agreement.test.ts), and
 * the original's own 512×512 input, equal to it to 1e-3 (test/model-parity.test.ts).
 */
const VARIANTS = [
  { id: 'centernet-coco', size: 416, name: 'CenterNet, MobileNetV3 backbone, COCO (80 classes), 416×416 input' },
  { id: 'centernet-coco-512', size: 512, name: 'CenterNet, MobileNetV3 backbone, COCO (80 classes), 512×512 input (the original size)' },
] as const;

async function main() {
  const force = process.argv.includes('--force');
  const stale = VARIANTS.filter((v) => {
    const onnxPath = join(modelsDir, `${v.id}.onnx`);
    const existing = readManifest(v.id);
    const fresh = !force && existing && existing.input.shape[1] === v.size && existsSync(onnxPath) && sha256(readFileSync(onnxPath)) === existing.sha256;
    if (fresh) console.log(`build-model: ${onnxPath} is up to date (sha256 ${existing.sha256.slice(0, 12)})`);
    return !fresh;
  });
  if (!stale.length) return;
  const require = createRequire(import.meta.url);
  const pkgDir = (require.resolve.paths('@vladmandic/human') ?? [])
    .map((p) => join(p, '@vladmandic', 'human'))
    .find((p) => existsSync(join(p, 'package.json')));
  if (!pkgDir) throw new Error("the npm package '@vladmandic/human' is not installed (run npm install)");
  const pkgJson = join(pkgDir, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string };
  const modelJson = join(dirname(pkgJson), 'models', 'centernet.json');
  const model = await loadTfjsGraphModel(modelJson);
  const ort = await import('onnxruntime-node');
  await mkdir(modelsDir, { recursive: true });

  for (const variant of stale) {
    const t0 = performance.now();
    const { id, size } = variant;
    const manifestPath = manifestPathOf(id), onnxPath = join(modelsDir, `${id}.onnx`);
    const existing = readManifest(id);
    const result = convertTfjsToOnnx(model, {
      outputs: ['tower_0/keypoints', 'tower_0/wh'],
      rename: { 'tower_0/images': 'images', 'tower_0/keypoints': 'keypoints', 'tower_0/wh': 'wh' },
      outputLayout: 'nchw',
      weights: 'fp16',
      inputSize: [size, size],
    });
    // Prove the file loads and runs before it replaces anything.
    const session = await ort.InferenceSession.create(result.onnx);
    const probe = await session.run({ images: new ort.Tensor('float32', new Float32Array(size * size * 3), [1, size, size, 3]) });
    const heat = probe.keypoints?.data as Float32Array | undefined;
    const cells = (size / 4) ** 2;
    if (!heat || heat.length !== 80 * cells || heat.some((v) => !Number.isFinite(v)))
      throw new Error(`the converted model did not produce a finite [1,80,${size / 4},${size / 4}] heatmap`);
    await session.release();

    const digest = sha256(result.onnx);
    const manifest: ManifestInput = {
      schema: 1,
      id,
      name: variant.name,
      file: `${id}.onnx`,
      sha256: digest,
      bytes: result.onnx.byteLength,
      input: {
        name: 'images',
        shape: [1, size, size, 3],
        dtype: 'float32',
        layout: 'NHWC',
        channels: 'RGB',
        resize: 'stretch',
        normalization: { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] },
      },
      outputs: result.outputs.map((o) => ({ name: o.name, shape: o.shape, layout: o.layout })),
      adapter: 'centernet',
      decode: { heatmap: 'keypoints', sizes: 'wh', stride: 4, peakKernel: 3, topK: 100, minScore: 0.05 },
      labels: [...COCO_LABELS],
      source: {
        package: '@vladmandic/human',
        version: pkg.version,
        files: ['models/centernet.json', 'models/centernet.bin'],
        upstream: 'https://github.com/610265158/mobilenetv3_centernet',
        description: `TF.js graph model with float16-quantised weights, converted to ONNX by scripts/tfjs2onnx${size === 512 ? '' : ` at a ${size}×${size} input (the original takes 512×512)`}`,
      },
      license: {
        model: 'MIT',
        notes:
          'Redistributed in @vladmandic/human (MIT, Copyright (c) Vladimir Mandic). Trained on COCO (annotations CC BY 4.0) by the upstream mobilenetv3_centernet project.',
      },
      conversion: {
        tool: 'scripts/tfjs2onnx',
        opset: 17,
        weights: 'fp16',
        inputSize: [size, size],
        activations: 'hard-swish / hard-sigmoid chains fused into HardSwish / HardSigmoid (scripts/tfjs2onnx/fuse.ts)',
        why:
          'fp16 weights with a Cast to fp32: half the download and bit-identical output (the source weights are fp16); onnxruntime folds the Casts at session creation. ' +
          (size === 512
            ? 'The original input size: equal to the original graph within 1e-3.'
            : `A ${size}×${size} input: ${((size / 512) ** 2).toFixed(2)}× the work of 512×512 (see docs/benchmarks.md), detections agreeing with the original's on ≥ 95 % (docs/models.md).`),
      },
    };
    parseManifest(manifest, manifestPath); // the manifest we commit must pass the schema the browser applies
    await writeFileAtomic(onnxPath, result.onnx);
    const text = `${JSON.stringify(manifest, null, 2)}\n`;
    if (!existsSync(manifestPath) || readFileSync(manifestPath, 'utf8') !== text) await writeFileAtomic(manifestPath, text);
    if (existing && existing.sha256 !== digest)
      console.warn(`build-model: ${id}'s sha256 changed (${existing.sha256.slice(0, 12)} → ${digest.slice(0, 12)}); the manifest was updated`);
    console.log(
      `build-model: wrote ${onnxPath} (${result.onnx.byteLength} bytes, sha256 ${digest.slice(0, 12)}, ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
  }
}

main().catch((e) => {
  console.error(`build-model: ${e instanceof ConvertError ? e.message : (e as Error).stack ?? e}`);
  process.exitCode = 1;
});
