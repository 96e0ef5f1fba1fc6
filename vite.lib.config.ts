import { defineConfig } from 'vite';

/** The npm library: one ES module entry (src/index.ts); the worker and onnxruntime-web's .wasm/.mjs ship beside it. */
export default defineConfig({
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  // onnxruntime-web stays external, in the worker too: the host's bundler serves its .wasm/.mjs (`?url`),
  // instead of 100 MB of base64 that library mode would inline.
  worker: { format: 'es', rollupOptions: { external: [/^onnxruntime-web/] } },
  build: {
    target: 'es2022',
    outDir: 'dist/lib',
    emptyOutDir: true,
    lib: { entry: 'src/index.ts', formats: ['es'], fileName: 'index' },
    rollupOptions: { external: ['lit', /^lit\//, /^@lit\//, 'comlink', 'valibot', /^onnxruntime-web/] },
  },
});
