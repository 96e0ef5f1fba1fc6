/** Shared by the benchmarks: quantiles, formatting, a Vite dev server and Debian's Chromium with the fake camera. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, chromium } from '@playwright/test';

export const root = resolve(import.meta.dirname, '..');

/** The p-quantile (0..1) of a sample, nearest rank. */
export const q = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))]!;
};
export const median = (xs: number[]) => q(xs, 0.5);
export const fmt = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '—');

/** Starts `vite` on a port and waits until `probePath` answers; returns the base URL and the process. */
export async function startDevServer(port: number, probePath: string): Promise<{ base: string; server: ChildProcess }> {
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  const server = spawn(join(root, 'node_modules/.bin/vite'), ['--port', String(port), '--strictPort'], { cwd: root, stdio: 'ignore' });
  return answering(server, port, probePath);
}

/** Waits (up to a minute) until the server on `port` answers `probePath`. */
async function answering(server: ChildProcess, port: number, probePath: string): Promise<{ base: string; server: ChildProcess }> {
  const base = `http://127.0.0.1:${port}`;
  const end = Date.now() + 60_000;
  while (Date.now() < end) {
    try {
      if ((await fetch(base + probePath)).ok) return { base, server };
    } catch {}
    await new Promise((r) => setTimeout(r, 300));
  }
  server.kill();
  throw new Error(`the server on port ${port} did not start`);
}

/** Builds the benchmark pages for production (bench/vite.bench.config.ts) and serves them with `vite preview`. */
export async function startPreviewServer(port: number, probePath: string): Promise<{ base: string; server: ChildProcess }> {
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  const vite = join(root, 'node_modules/.bin/vite');
  const config = join(root, 'bench', 'vite.bench.config.ts');
  const built = spawnSync(vite, ['build', '-c', config, '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) throw new Error('building the benchmark pages failed');
  const server = spawn(vite, ['preview', '-c', config, '--port', String(port), '--strictPort'], { cwd: root, stdio: 'ignore' });
  return answering(server, port, probePath);
}

/** Debian's Chromium, fake camera fed the vtest clip. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      `--use-file-for-fake-video-capture=${join(root, 'fixtures', 'vtest.y4m')}`,
    ],
  });
}
