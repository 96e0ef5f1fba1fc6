/*
 * The TF.js WASM peer of the inference benchmark (bench/inference.ts), as a plain classic worker on TF.js's own
 * prebuilt bundles (copied beside it): the threaded WASM build spawns its threads from its own script, which a
 * bundler's re-minified copy breaks. Messages: {load: {model, frames, size, threads}} → {loaded: {threads}},
 * {loop: seconds} → {times}; failures → {error}.
 */
/* global tf, importScripts */
importScripts('tf-core.min.js', 'tf-converter.min.js', 'tf-backend-wasm.min.js');
let run;
self.onmessage = async (e) => {
  try {
    if (e.data.load) {
      const o = e.data.load;
      const rgb = new Uint8Array(await (await fetch(o.frames)).arrayBuffer());
      const n = o.size * o.size * 3;
      tf.wasm.setWasmPaths(new URL('./', self.location.href).href);
      if (o.threads) tf.wasm.setThreadsCount(o.threads);
      if (!(await tf.setBackend('wasm'))) throw new Error('the TF.js WASM backend did not start');
      const frames = [];
      for (let p = 0; p + n <= rgb.length; p += n) frames.push(tf.tensor(Float32Array.from(rgb.subarray(p, p + n)), [1, o.size, o.size, 3], 'float32'));
      const model = await tf.loadGraphModel(new URL(o.model, self.location.href).href);
      run = async (i) => {
        const out = model.execute(frames[i % frames.length], ['tower_0/keypoints', 'tower_0/wh']);
        await Promise.all(out.map((t) => t.data()));
        for (const t of out) t.dispose();
      };
      await run(0);
      self.postMessage({ loaded: { threads: tf.wasm.getThreadsCount(), frames: frames.length, simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'), multithread: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'), isolated: self.crossOriginIsolated } });
    } else if (e.data.loop !== undefined) {
      const times = [];
      const end = performance.now() + e.data.loop * 1000;
      for (let i = 0; performance.now() < end; i++) {
        const t = performance.now();
        await run(i);
        times.push(performance.now() - t);
      }
      self.postMessage({ times });
    }
  } catch (err) {
    self.postMessage({ error: String(err && err.stack ? err.stack : err) });
  }
};
