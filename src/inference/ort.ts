/** Loading onnxruntime-web for a backend from our own origin, with the threads the page may use. */
import type * as Ort from 'onnxruntime-web';

export type Backend = 'webgpu' | 'wasm';
export type OrtModule = typeof Ort;

/**
 * Loads the onnxruntime-web build for a backend — the plain SIMD-threaded build for `wasm` (2–4× faster
 * than the WebGPU build's WASM fallback), the `/webgpu` build for `webgpu` — with its .mjs/.wasm served
 * from our own origin, and `threads` threads (default: one per core, up to 4) where the page may use threads.
 */
export async function loadOrt(backend: Backend, threads?: number): Promise<OrtModule> {
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
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? (threads ?? Math.max(1, Math.min(4, cores))) : 1;
  return ort as unknown as OrtModule;
}

/**
 * Session options for a backend, the same for the monitor and the benchmark's bare loop. The WASM thread
 * pool does not spin while it waits: between runs (decoding, waiting for a frame) its threads sleep and
 * leave the cores to the camera, the page and the other workers (no slower per run, measured here).
 */
export function sessionOptions(backend: Backend) {
  return {
    executionProviders: [backend],
    graphOptimizationLevel: 'all' as const,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}
