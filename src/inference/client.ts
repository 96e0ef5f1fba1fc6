/** The page's way to start an inference worker: a module worker wrapped with Comlink (the worker's file stays its own). */
import * as Comlink from 'comlink';
import type { InferenceWorkerApi } from './worker.ts';

export type InferenceClient = Comlink.Remote<InferenceWorkerApi>;

/** Starts an inference worker (named 'inference' in the browser's tools). */
export function startInferenceWorker(): { worker: Worker; api: InferenceClient } {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'inference' });
  return { worker, api: Comlink.wrap<InferenceWorkerApi>(worker) };
}
