/** The benchmark pages as a production build (no Lit dev mode, minified), served by `vite preview`. */
import { join } from 'node:path';
import { defineConfig, mergeConfig } from 'vite';
import base from '../vite.config.ts';

export default mergeConfig(base, defineConfig({
  build: { outDir: join(import.meta.dirname, '..', 'dist-bench'), emptyOutDir: true, rollupOptions: { input: { panel: join(import.meta.dirname, 'pages', 'panel.html'), bare: join(import.meta.dirname, 'pages', 'bare.html'), history: join(import.meta.dirname, '..', 'panel.html'), flagged: join(import.meta.dirname, 'pages', 'flagged.html'), host: join(import.meta.dirname, 'pages', 'host.html'), models: join(import.meta.dirname, 'pages', 'models.html') } } },
}));
