import { defineConfig } from 'vite';

/** Cross-origin isolation, so WASM can use threads (SharedArrayBuffer). Hosts must send these too. */
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export default defineConfig({
  server: { host: '127.0.0.1', port: Number(process.env.PORT ?? 4173), strictPort: true, headers: isolation },
  preview: { host: '127.0.0.1', port: Number(process.env.PORT ?? 4173), strictPort: true, headers: isolation },
  // onnxruntime-web finds its .wasm/.mjs by URL; pre-bundling would move it away from them.
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  worker: { format: 'es' },
  build: { target: 'es2022' },
});
