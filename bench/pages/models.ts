/**
 * Benchmark page: model runners, one worker each, made on request — onnxruntime-web in a module worker
 * (bench/pages/models-worker.ts), TF.js's WASM backend in a classic worker on its prebuilt bundles
 * (bench/pages/tfjs-wasm-worker.js, copied to /tfjs-wasm/ by bench/inference.ts).
 */
import * as Comlink from 'comlink';
import type { ModelRun, ModelsApi } from './models-worker.ts';

interface Runner {
  loop(seconds: number): Promise<number[]>;
}
const runners = new Map<string, Runner>();

function classic(url: string): { call: <T>(msg: object, key: string) => Promise<T> } {
  const w = new Worker(url);
  return {
    call: <T>(msg: object, key: string) =>
      new Promise<T>((resolve, reject) => {
        w.onmessage = (e) => (e.data.error ? reject(new Error(e.data.error)) : resolve(e.data[key] as T));
        w.onerror = (e) => reject(new Error(e.message));
        w.postMessage(msg);
      }),
  };
}

async function open(key: string, o: ModelRun) {
  if (o.runtime === 'tfjs') {
    const w = classic('/tfjs-wasm/tfjs-wasm-worker.js');
    const info = await w.call<{ threads: number }>({ load: o }, 'loaded');
    runners.set(key, { loop: (s) => w.call<number[]>({ loop: s }, 'times') });
    return info;
  }
  const api = Comlink.wrap<ModelsApi>(new Worker(new URL('./models-worker.ts', import.meta.url), { type: 'module', name: key }));
  const info = await api.load(o);
  runners.set(key, { loop: (s) => api.loop(s) });
  return info;
}
const loop = (key: string, seconds: number) => runners.get(key)!.loop(seconds);

Object.assign(globalThis, { models: { open, loop } });
document.body.dataset.ready = '1';
