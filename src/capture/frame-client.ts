/** The page's way to start a frame worker: a module worker wrapped with Comlink (the worker's file stays its own). */
import * as Comlink from 'comlink';
import type { FrameWorkerApi } from './frame-worker.ts';

export type FrameClient = Comlink.Remote<FrameWorkerApi>;

/** Starts a frame worker (named 'frames' in the browser's tools). */
export function startFrameWorker(): { worker: Worker; api: FrameClient } {
  const worker = new Worker(new URL('./frame-worker.ts', import.meta.url), { type: 'module', name: 'frames' });
  return { worker, api: Comlink.wrap<FrameWorkerApi>(worker) };
}
