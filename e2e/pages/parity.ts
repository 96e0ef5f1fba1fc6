/** Test page: runs a bundled model (by manifest) on a fixture frame with onnxruntime-web on a given backend. */
import { decodeCenternet } from '../../src/inference/adapters/centernet.ts';
import { feedShape, type ModelManifest } from '../../src/inference/manifest.ts';
import { type Backend, loadOrt } from '../../src/inference/ort.ts';

async function runParity(backend: Backend, fixture: string, manifestUrl = '/models/centernet-coco.json') {
  const logs: string[] = [];
  const ort = await loadOrt(backend);
  ort.env.logLevel = 'verbose';
  const manifest = (await (await fetch(manifestUrl)).json()) as ModelManifest;
  const model = new Uint8Array(await (await fetch(`/models/${manifest.file}`)).arrayBuffer());
  const rgb = new Uint8Array(await (await fetch(`/fixtures/${fixture}`)).arrayBuffer());
  const input = Float32Array.from(rgb);
  let adapterInfo: Record<string, unknown> | undefined;
  if (backend === 'webgpu') {
    const adapter = await navigator.gpu?.requestAdapter();
    if (!adapter) throw new Error('no WebGPU adapter');
    const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
    adapterInfo = { vendor: info.vendor, architecture: info.architecture, isFallbackAdapter: info.isFallbackAdapter };
  }
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(model, {
    executionProviders: [backend],
    logSeverityLevel: 0,
    logVerbosityLevel: 0,
  });
  const t1 = performance.now();
  const out = await session.run({ [manifest.input.name]: new ort.Tensor('float32', input, feedShape(manifest)) });
  const t2 = performance.now();
  const heat = (await out.keypoints!.getData()) as Float32Array;
  const sizes = (await out.wh!.getData()) as Float32Array;
  const [, , height, width] = manifest.outputs[0]!.shape as number[];
  const top = decodeCenternet({ heatmap: heat, sizes, classes: 80, height: height!, width: width! }, { stride: 4, topK: 10, minScore: 0.05 });
  await session.release();
  return { top, createMs: t1 - t0, runMs: t2 - t1, adapterInfo, logs, heatSample: Array.from(heat.subarray(0, 8)) };
}

Object.assign(globalThis, { runParity });
document.body.dataset.ready = '1';
