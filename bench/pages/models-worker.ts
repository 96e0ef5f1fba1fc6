/**
 * One model on onnxruntime-web WASM, in its own worker (its own WASM instance, so its own thread count), on
 * pre-decoded frames, its two heads handed back to JS (what the monitor's decoding needs). ModelRun also
 * describes the TF.js peer, which bench/pages/tfjs-wasm-worker.js runs the same way.
 */
import * as Comlink from 'comlink';
import { loadOrt, sessionOptions } from '../../src/inference/ort.ts';

export interface ModelRun {
  runtime: 'ort' | 'tfjs';
  /** an ONNX manifest (ort) or a TF.js graph model.json (tfjs) */
  model: string;
  /** raw RGB frames at size × size */
  frames: string;
  size: number;
  /** WASM threads; undefined: the runtime's default here */
  threads?: number;
}

let run: (i: number) => Promise<void> = async () => {
  throw new Error('load() first');
};

const api = {
  async load(o: ModelRun) {
    const rgb = new Uint8Array(await (await fetch(o.frames)).arrayBuffer());
    const n = o.size * o.size * 3;
    const frames: Float32Array[] = [];
    for (let p = 0; p + n <= rgb.length; p += n) frames.push(Float32Array.from(rgb.subarray(p, p + n)));
    if (!frames.length) throw new Error(`${o.frames}: no ${o.size}×${o.size} frames`);
    const shape = [1, o.size, o.size, 3];
    let threads: number;
    if (o.runtime === 'ort') {
      const ort = await loadOrt('wasm', o.threads);
      const manifest = (await (await fetch(o.model)).json()) as { file: string };
      const bytes = new Uint8Array(await (await fetch(new URL(manifest.file, new URL(o.model, location.href)))).arrayBuffer());
      const session = await ort.InferenceSession.create(bytes, sessionOptions('wasm'));
      const tensors = frames.map((f) => new ort.Tensor('float32', f, shape));
      run = async (i) => {
        const out = await session.run({ images: tensors[i % tensors.length]! });
        for (const v of Object.values(out)) v.dispose();
      };
      threads = ort.env.wasm.numThreads ?? 1;
    } else throw new Error('TF.js runs in bench/pages/tfjs-wasm-worker.js');
    await run(0); // first run: kernels compiled, buffers sized
    return { threads, frames: frames.length, isolated: crossOriginIsolated };
  },
  /** Runs back to back for `seconds`; returns each run's ms. */
  async loop(seconds: number) {
    const times: number[] = [];
    const end = performance.now() + seconds * 1000;
    for (let i = 0; performance.now() < end; i++) {
      const t = performance.now();
      await run(i);
      times.push(performance.now() - t);
    }
    return times;
  },
};
export type ModelsApi = typeof api;
Comlink.expose(api);
