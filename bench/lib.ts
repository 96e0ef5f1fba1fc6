/**
 * Shared by the benchmarks: quantiles, formatting, a Vite dev or preview server, Debian's Chromium with the
 * fake camera, the bare onnxruntime-web loop's page and the kiosk page with its results recorded.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from '@playwright/test';

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

/** Debian's Chromium, fake camera fed the vtest clip (plus `extraArgs`). */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      `--use-file-for-fake-video-capture=${join(root, 'fixtures', 'vtest.y4m')}`,
      ...extraArgs,
    ],
  });
}

/**
 * Opens the bare onnxruntime-web loop (bench/pages/bare.html on the benchmark build) with its session on
 * `threads` WASM threads, and warms it up for `warmSeconds`. Its pre-decoded frames are not part of the
 * build: they are copied into it first.
 */
export async function openBareLoop(browser: Browser, base: string, threads: number | undefined, warmSeconds: number) {
  mkdirSync(join(root, 'dist-bench', 'fixtures'), { recursive: true });
  for (const f of ['vtest-30x512.rgb', 'vtest-30x416.rgb']) copyFileSync(join(root, 'fixtures', f), join(root, 'dist-bench', 'fixtures', f));
  const page = await browser.newPage();
  await page.goto(`${base}/bench/pages/bare.html`);
  await page.waitForSelector('body[data-ready="1"]', { state: 'attached' });
  const info = (await page.evaluate((t) => (globalThis as any).bare.load(t), threads)) as { threads: number; isolated: boolean; frames: number };
  await page.evaluate((s) => (globalThis as any).bare.loop(s), warmSeconds); // warm-up, not counted
  return { page, info };
}

/**
 * Opens the kiosk on WASM with URL parameters `params`, recording every `inference` event's detail in
 * `window.__results`; waits for its first results, then `warmSeconds` more (a fresh worker's WASM tiers up).
 */
export async function openKiosk(browser: Browser | BrowserContext, base: string, params: string, warmSeconds: number): Promise<Page> {
  // a Browser gives the page a context of its own; a BrowserContext shares its storage with its other pages
  const page = await browser.newPage({ viewport: { width: 960, height: 720 } });
  await page.addInitScript(() => {
    (window as any).__results = [];
    document.addEventListener('inference', (e) => (window as any).__results.push((e as CustomEvent).detail));
  });
  await page.goto(`${base}/?backend=wasm&${params}`);
  await page.waitForFunction(() => (window as any).__results.length >= 3, undefined, { timeout: 120_000 });
  await page.waitForTimeout(warmSeconds * 1000);
  return page;
}

/** The kiosk's results recorded so far (by openKiosk), from the `from`-th on. */
export const kioskResults = (page: Page, from = 0) => page.evaluate((n) => (window as any).__results.slice(n), from) as Promise<any[]>;

/** Gaps between one run's end and the next run's start, from consecutive results (ms). */
export function runGaps(results: any[]): number[] {
  const start = (r: any) => r.workerDoneEpoch - r.timings.postprocess - r.timings.inference;
  return results.slice(1).map((r, i) => start(r) - (start(results[i]) + results[i].timings.inference));
}

/**
 * The kiosk page's main thread over `seconds` (opened by openKiosk): the monitor's own per-frame handler
 * (instrumented) and every task on the renderer's main thread — a Chromium trace's top-level tasks on
 * CrRendererMain (worker threads excluded; event dispatch, Comlink messages, style and paint included) — per
 * frame and per second.
 */
export async function mainThread(page: Page, seconds: number) {
  const n0 = await page.evaluate(() => (window as any).__results.length);
  await page.context().browser()!.startTracing(page, { categories: ['toplevel'] });
  await page.waitForTimeout(seconds * 1000);
  const trace = JSON.parse((await page.context().browser()!.stopTracing()).toString('utf8')) as { traceEvents: { ph: string; name: string; pid: number; tid: number; dur?: number; args?: { name?: string } }[] };
  const frames = (await page.evaluate(() => (window as any).__results.length)) - n0;
  const mains = new Set(trace.traceEvents.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
  const busy = trace.traceEvents.filter((e) => e.ph === 'X' && e.name === 'ThreadControllerImpl::RunTask' && mains.has(`${e.pid}:${e.tid}`)).reduce((a, e) => a + (e.dur ?? 0), 0) / 1000;
  const instrumented = (await page.evaluate(() => [...(document.querySelector('inference-monitor') as unknown as { mainThreadCost: number[] }).mainThreadCost])).slice(-Math.max(1, frames)) as number[];
  return { frames, fps: frames / seconds, instrumented, taskMsPerFrame: busy / Math.max(1, frames), busyMsPerSecond: busy / seconds };
}
