/**
 * Builds the default model: @vladmandic/human's CenterNet (TF.js graph model) → models/centernet-coco.onnx,
 * and keeps the committed manifest models/centernet-coco.json in step with it (sha256, size).
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
const onnxPath = join(modelsDir, 'centernet-coco.onnx');
const manifestPath = join(modelsDir, 'centernet-coco.json');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function main() {
  const force = process.argv.includes('--force');
  const existing: ModelManifest | undefined = existsSync(manifestPath)
    ? JSON.parse(readFileSync(manifestPath, 'utf8'))
    : undefined;
  if (!force && existing && existsSync(onnxPath) && sha256(readFileSync(onnxPath)) === existing.sha256) {
    console.log(`build-model: ${onnxPath} is up to date (sha256 ${existing.sha256.slice(0, 12)})`);
    return;
  }
  const require = createRequire(import.meta.url);
  const pkgDir = (require.resolve.paths('@vladmandic/human') ?? [])
    .map((p) => join(p, '@vladmandic', 'human'))
    .find((p) => existsSync(join(p, 'package.json')));
  if (!pkgDir) throw new Error("the npm package '@vladmandic/human' is not installed (run npm install)");
  const pkgJson = join(pkgDir, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string };
  const modelJson = join(dirname(pkgJson), 'models', 'centernet.json');

  const t0 = performance.now();
  const model = await loadTfjsGraphModel(modelJson);
  const result = convertTfjsToOnnx(model, {
    outputs: ['tower_0/keypoints', 'tower_0/wh'],
    rename: { 'tower_0/images': 'images', 'tower_0/keypoints': 'keypoints', 'tower_0/wh': 'wh' },
    outputLayout: 'nchw',
    weights: 'fp16',
  });
  // Prove the file loads and runs before it replaces anything.
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(result.onnx);
  const probe = await session.run({ images: new ort.Tensor('float32', new Float32Array(512 * 512 * 3), [1, 512, 512, 3]) });
  const heat = probe.keypoints?.data as Float32Array | undefined;
  if (!heat || heat.length !== 80 * 128 * 128 || heat.some((v) => !Number.isFinite(v)))
    throw new Error('the converted model did not produce a finite [1,80,128,128] heatmap');
  await session.release();

  const digest = sha256(result.onnx);
  const manifest: ManifestInput = {
    schema: 1,
    id: 'centernet-coco',
    name: 'CenterNet, MobileNetV3 backbone, COCO (80 classes)',
    file: 'centernet-coco.onnx',
    sha256: digest,
    bytes: result.onnx.byteLength,
    input: {
      name: 'images',
      shape: [1, 512, 512, 3],
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
      description: 'TF.js graph model with float16-quantised weights, converted to ONNX by scripts/tfjs2onnx at install',
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
      why: 'fp16 weights with a Cast to fp32: half the download (4.1 MB vs 8.1 MB), bit-identical output (the source weights are fp16) and the same speed, since onnxruntime folds the Casts at session creation',
    },
  };
  parseManifest(manifest, manifestPath); // the manifest we commit must pass the schema the browser applies
  await mkdir(modelsDir, { recursive: true });
  await writeFileAtomic(onnxPath, result.onnx);
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  if (!existsSync(manifestPath) || readFileSync(manifestPath, 'utf8') !== text) await writeFileAtomic(manifestPath, text);
  if (existing && existing.sha256 !== digest)
    console.warn(`build-model: the model's sha256 changed (${existing.sha256.slice(0, 12)} → ${digest.slice(0, 12)}); the manifest was updated`);
  console.log(
    `build-model: wrote ${onnxPath} (${result.onnx.byteLength} bytes, sha256 ${digest.slice(0, 12)}, ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
}

main().catch((e) => {
  console.error(`build-model: ${e instanceof ConvertError ? e.message : (e as Error).stack ?? e}`);
  process.exitCode = 1;
});
