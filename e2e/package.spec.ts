/**
 * The package as a host app gets it: `npm pack` (prepack builds dist/lib), a fresh Vite app installs the tarball
 * (a file: dependency, no workspace link; npm's cache serves what the registry would), imports it, type-checks its
 * use of the element's events, builds, and runs in Chromium on the fake camera with the bundled model — whose
 * files the host's bundler copied, with no configuration beyond the README's one step.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { writeByoModels } from '../test/helpers/byo-models.ts';
import { recordEvents, waitForEvent } from './helpers.ts';

const root = join(import.meta.dirname, '..');
const PORT = 5321;
const version = (pkg: string) => JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version as string;

function run(cmd: string, args: string[], cwd: string, timeout = 300_000) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_update_notifier: 'false' } });
  return { status: r.status, out: `${r.stdout ?? ''}\n${r.stderr ?? ''}` };
}

test('npm pack → a fresh Vite app installs it, type-checks its events, builds, and runs the monitor on the bundled model', async ({ page }) => {
  test.setTimeout(600_000);
  const dir = mkdtempSync(join(tmpdir(), 'host-app-'));
  let preview: ChildProcess | undefined;
  try {
    // 1. the tarball
    const pack = run('npm', ['pack', '--json', '--pack-destination', dir], root);
    expect(pack.status, pack.out.slice(-3000)).toBe(0);
    const packed = JSON.parse(pack.out.slice(pack.out.indexOf('['), pack.out.lastIndexOf(']') + 1)) as { filename: string; files: { path: string }[] }[];
    const { filename, files } = packed[0]!;
    const paths = files.map((f) => f.path);
    expect(paths).toContain('dist/lib/src/index.js');
    expect(paths).toContain('dist/lib/src/index.d.ts');
    expect(paths).toContain('dist/lib/src/inference/worker.js');
    expect(paths).toContain('dist/lib/models/centernet-coco.onnx');
    expect(paths.filter((p) => /^(src|test|e2e|scripts|bench)\//.test(p))).toEqual([]); // only the built library

    // 2. a fresh Vite app with the README's one step (vite.config: keep the package out of dev pre-bundling; isolation headers for threads)
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'host-app', private: true, type: 'module', dependencies: { 'inference-health-monitor': `file:./${filename}` }, devDependencies: { vite: version('vite') } }, null, 2));
    writeFileSync(
      join(dir, 'vite.config.js'),
      `import { defineConfig } from 'vite';
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
export default defineConfig({
  optimizeDeps: { exclude: ['inference-health-monitor', 'onnxruntime-web'] },
  server: { headers: isolation },
  preview: { headers: isolation },
});
`,
    );
    writeFileSync(
      join(dir, 'index.html'),
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host app</title></head>
<body><h1>Line 4</h1><inference-monitor backend="wasm" camera-id="host-cam" location="hall-c" autostart></inference-monitor><p id="count">0</p>
<script type="module" src="/main.ts"></script></body></html>`,
    );
    writeFileSync(
      join(dir, 'main.ts'),
      `import 'inference-health-monitor';
import type { InferenceMonitor, ReadyDetail } from 'inference-health-monitor';
const monitor: InferenceMonitor = document.querySelector('inference-monitor')!;
let frames = 0;
monitor.addEventListener('inference', (e) => {
  const people: number = e.detail.detections.filter((d) => d.label === 'person').length;
  frames += 1;
  document.getElementById('count')!.textContent = \`\${frames} \${people}\`;
  // @ts-expect-error — the detail is typed: no such field
  void e.detail.noSuchField;
});
monitor.addEventListener('ready', (e) => { const r: ReadyDetail = e.detail; document.title = r.backend; });
monitor.addEventListener('error', (e) => { const fatal: boolean = e.detail.fatal; console.log(e.detail.code, fatal); });
document.body.addEventListener('alert', (e) => { const rule: string = e.detail.ruleId; console.log(rule); });
`,
    );
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2023', 'DOM', 'DOM.Iterable'], strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['main.ts'] }));

    // 3. install from the tarball: none of our build tooling runs, nothing is converted
    const install = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], dir);
    expect(install.status, install.out.slice(-3000)).toBe(0);
    expect(install.out).not.toMatch(/tsx|build-model|inference-health-monitor.*(postinstall|prepare)/);
    const installed = JSON.parse(readFileSync(join(dir, 'node_modules', 'inference-health-monitor', 'package.json'), 'utf8'));
    expect(Object.keys(installed.scripts ?? {}).filter((s) => /install|prepare/.test(s) && s !== 'prepare')).toEqual([]);
    expect(existsSync(join(dir, 'node_modules', 'inference-health-monitor', 'src'))).toBe(false);

    // the manifest tool works from the installed package (plain node, none of our dev tooling)
    const byo = writeByoModels(join(dir, 'byo'));
    const cli = run(join(dir, 'node_modules', '.bin', 'inference-monitor-manifest'), [byo.detector, '--labels', byo.dataYaml, '--print'], dir);
    expect(cli.status, cli.out).toBe(0);
    expect(JSON.parse(cli.out.slice(cli.out.indexOf('{'), cli.out.lastIndexOf('}') + 1))).toMatchObject({ adapter: 'yolo', labels: ['light', 'shadow', 'warm'] });

    // 4. the host's TypeScript sees the element's events typed (and the @ts-expect-error holds)
    const tsc = run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], dir);
    expect(tsc.status, tsc.out).toBe(0);

    // 5. build: the model, onnxruntime-web's files and the workers land in the host's dist
    const build = run(process.execPath, [join(dir, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], dir);
    expect(build.status, build.out.slice(-3000)).toBe(0);
    const assets = readdirSync(join(dir, 'dist', 'assets'));
    expect(assets.some((f) => /^centernet-coco.*\.onnx$/.test(f))).toBe(true);
    expect(assets.some((f) => /^ort-wasm-simd-threaded.*\.wasm$/.test(f))).toBe(true);
    expect(assets.some((f) => /^worker.*\.js$/.test(f))).toBe(true);

    // 6. run it
    preview = spawn(process.execPath, [join(dir, 'node_modules', 'vite', 'bin', 'vite.js'), 'preview', '--host', '127.0.0.1', '--port', String(PORT), '--strictPort'], { cwd: dir, stdio: 'ignore' });
    const url = `http://127.0.0.1:${PORT}/`;
    await expect.poll(async () => (await fetch(url).catch(() => null))?.status ?? 0, { timeout: 30_000 }).toBe(200);
    const rec = await recordEvents(page);
    const consoleLines: string[] = [];
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on('requestfailed', (r) => consoleLines.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    const dump = () => console.log(`host app console:\n${consoleLines.join('\n').slice(-4000)}`);
    await page.goto(url);
    const ready = await waitForEvent(page, 'ready', () => true, 120_000).catch((e) => {
      dump();
      throw e;
    });
    expect(ready.detail.backend).toBe('wasm');
    expect(ready.detail.modelId).toBe('centernet-coco');
    await waitForEvent(page, 'inference', (e) => e.detail.detections.some((d: { label: string }) => d.label === 'person'), 90_000);
    await expect(page.locator('#count')).toHaveText(/^[1-9]\d* \d+$/);
    expect((await rec.events()).filter((e) => e.type === 'error')).toEqual([]);
    expect(rec.pageErrors).toEqual([]);
  } finally {
    preview?.kill();
    if (!process.env.KEEP_HOST_APP) rmSync(dir, { recursive: true, force: true });
  }
});
