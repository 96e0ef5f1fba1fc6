import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig, type Plugin } from 'vite';
import { offlineKiosk } from './src/offline/build-plugin.ts';

/** Cross-origin isolation, so WASM can use threads (SharedArrayBuffer). Hosts must send these too. */
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** The generated default model (models/*.onnx + manifests) ships inside the kiosk build at /models/. */
function bundledModels(): Plugin {
  const dir = join(import.meta.dirname, 'models');
  return {
    name: 'bundled-models',
    apply: 'build',
    generateBundle() {
      for (const f of readdirSync(dir).filter((f) => /\.(json|onnx)$/.test(f)))
        this.emitFile({ type: 'asset', fileName: `models/${f}`, source: readFileSync(join(dir, f)) });
    },
  };
}

/** The TF.js example's model (CenterNet as a TF.js graph model, from the @vladmandic/human npm package) at examples/models/. */
function exampleModels(): Plugin {
  const dir = join(import.meta.dirname, 'node_modules', '@vladmandic', 'human', 'models');
  return {
    name: 'example-models',
    apply: 'build',
    generateBundle() {
      for (const f of ['centernet.json', 'centernet.bin']) this.emitFile({ type: 'asset', fileName: `examples/models/${f}`, source: readFileSync(join(dir, f)) });
    },
  };
}

export default defineConfig({
  server: { host: '127.0.0.1', port: Number(process.env.PORT ?? 4173), strictPort: true, headers: isolation },
  preview: { host: '127.0.0.1', port: Number(process.env.PORT ?? 4173), strictPort: true, headers: isolation },
  // onnxruntime-web finds its .wasm/.mjs by URL; pre-bundling would move it away from them.
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  appType: 'mpa', // a missing file is a 404, not the kiosk page
  worker: { format: 'es' },
  // offlineKiosk: /sw.js, the kiosk's service worker, knowing this build's files (src/offline/)
  plugins: [bundledModels(), exampleModels(), offlineKiosk()],
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 2000,
    // the kiosk, the history page (the health panel alone, no camera), the fleet page the server serves, and
    // the examples (examples/: the element in an app's layout, two cameras and one panel)
    rollupOptions: { input: { index: join(import.meta.dirname, 'index.html'), panel: join(import.meta.dirname, 'panel.html'), fleet: join(import.meta.dirname, 'fleet.html'), 'examples/embed': join(import.meta.dirname, 'examples', 'embed.html'), 'examples/two-cameras': join(import.meta.dirname, 'examples', 'two-cameras.html'), 'examples/tfjs': join(import.meta.dirname, 'examples', 'tfjs.html') } },
  },
});
