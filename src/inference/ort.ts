import type * as Ort from 'onnxruntime-web';

export type Backend = 'webgpu' | 'wasm';
export type OrtModule = typeof Ort;

/**
 * Loads the onnxruntime-web build for a backend — the plain SIMD-threaded build for `wasm` (2–4× faster
 * than the WebGPU build's WASM fallback), the `/webgpu` build for `webgpu` — with its .mjs/.wasm served
 * from our own origin, and as many threads as the page may use.
 */
export async function loadOrt(backend: Backend): Promise<OrtModule> {
  const [ort, mjs, wasm] =
    backend === 'webgpu'
      ? await Promise.all([
          import('onnxruntime-web/webgpu'),
          import('onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url'),
          import('onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url'),
        ])
      : await Promise.all([
          import('onnxruntime-web/wasm'),
          import('onnxruntime-web/ort-wasm-simd-threaded.mjs?url'),
          import('onnxruntime-web/ort-wasm-simd-threaded.wasm?url'),
        ]);
  ort.env.wasm.wasmPaths = { mjs: mjs.default, wasm: wasm.default };
  const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.max(1, Math.min(4, cores)) : 1;
  return ort as unknown as OrtModule;
}
