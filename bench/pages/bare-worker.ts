import * as Comlink from 'comlink';
import type { InferenceSession, Tensor } from 'onnxruntime-web';
import { loadOrt, type OrtModule, sessionOptions } from '../../src/inference/ort.ts';

let ort: OrtModule;
let session: InferenceSession;
let frames: Tensor[] = [];

const api = {
  async load(threads?: number) {
    ort = await loadOrt('wasm', threads);
    const manifest = (await (await fetch('/models/centernet-coco.json')).json()) as { file: string; input: { shape: number[] } };
    const model = new Uint8Array(await (await fetch(`/models/${manifest.file}`)).arrayBuffer());
    session = await ort.InferenceSession.create(model, sessionOptions('wasm'));
    const side = manifest.input.shape[1]!; // the default model's input size: the frames are made at 416 and 512
    const rgb = new Uint8Array(await (await fetch(`/fixtures/vtest-30x${side}.rgb`)).arrayBuffer());
    const size = side * side * 3;
    frames = [];
    for (let o = 0; o + size <= rgb.length; o += size) frames.push(new ort.Tensor('float32', Float32Array.from(rgb.subarray(o, o + size)), [1, side, side, 3]));
    await session.run({ images: frames[0]! }); // warm-up
    return { threads: ort.env.wasm.numThreads, isolated: crossOriginIsolated, frames: frames.length };
  },
  /** Runs back to back for `seconds`; returns each run's ms. */
  async loop(seconds: number) {
    const times: number[] = [];
    const end = performance.now() + seconds * 1000;
    for (let i = 0; performance.now() < end; i++) {
      const t = performance.now();
      const out = await session.run({ images: frames[i % frames.length]! });
      times.push(performance.now() - t);
      for (const v of Object.values(out)) v.dispose();
    }
    return times;
  },
};
export type BareApi = typeof api;
Comlink.expose(api);
