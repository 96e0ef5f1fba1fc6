/** An inference session: loads the model (progress, sha256 check), picks the backend (WebGPU, else WASM, saying why) and runs it. */
import type { InferenceSession, Tensor } from 'onnxruntime-web';
import { MonitorError } from '../lib/errors.ts';
import { type ModelManifest, parseManifest } from './manifest.ts';
import { type Backend, loadOrt, type OrtModule, sessionOptions } from './ort.ts';
import { shortVersion } from '../lib/short-version.ts';

export type BackendChoice = 'auto' | Backend;
export const BACKENDS: readonly BackendChoice[] = ['auto', 'webgpu', 'wasm'];

export interface LoadProgress {
  phase: 'manifest' | 'download' | 'compile';
  loaded?: number;
  total?: number;
}

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
  isFallbackAdapter: boolean;
}

/** What the engine ended up running on, and why, when it is not what was asked for. */
export interface EngineInfo {
  backend: Backend;
  /** WASM threads onnxruntime-web runs with (1 without cross-origin isolation) */
  threads: number;
  fallbackReason?: string;
  adapter?: AdapterInfo;
  warnings: string[];
}

/** the first run's timeout without `run-timeout` (it compiles: minutes on a software WebGPU adapter) */
export const FIRST_RUN_TIMEOUT_MS = 300_000;

async function fetchOrThrow(url: string, notFound: 'manifest-not-found' | 'model-not-found'): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new MonitorError(notFound, `cannot fetch ${url}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new MonitorError(notFound, `cannot fetch ${url}: HTTP ${res.status}`);
  return res;
}

/** Downloads a body, reporting progress per chunk. */
async function readWithProgress(res: Response, onProgress: (p: LoadProgress) => void): Promise<Uint8Array<ArrayBuffer>> {
  const total = Number(res.headers.get('content-length')) || undefined;
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.byteLength;
    onProgress({ phase: 'download', loaded, total });
  }
  const out = new Uint8Array(loaded);
  let o = 0;
  for (const c of chunks) out.set(c, (o += c.byteLength) - c.byteLength);
  return out;
}

const hex = (b: ArrayBuffer) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');

export interface LoadedModel {
  manifest: ModelManifest;
  bytes: Uint8Array<ArrayBuffer>;
  /** sha256 of the ONNX bytes: the model version. */
  version: string;
}

/** A manifest already in hand and where its ONNX file is (the bundled default model). */
export interface BundledModel {
  manifest: unknown;
  fileUrl: string;
}

/** Fetches and validates a manifest (or takes `bundled`'s) and its ONNX file (checked against the manifest's sha256). */
export async function loadModel(manifestUrl: string, onProgress: (p: LoadProgress) => void, bundled?: BundledModel): Promise<LoadedModel> {
  onProgress({ phase: 'manifest' });
  let json: unknown = bundled?.manifest;
  if (!bundled) {
    const res = await fetchOrThrow(manifestUrl, 'manifest-not-found');
    try {
      json = await res.json();
    } catch (e) {
      throw new MonitorError('manifest-invalid', `${manifestUrl} is not JSON: ${(e as Error).message}`);
    }
  }
  const manifest = parseManifest(json, manifestUrl);
  const modelUrl = bundled?.fileUrl ?? new URL(manifest.file, new URL(manifestUrl, globalThis.location?.href)).href;
  const bytes = await readWithProgress(await fetchOrThrow(modelUrl, 'model-not-found'), onProgress);
  const version = hex(await crypto.subtle.digest('SHA-256', bytes));
  if (version !== manifest.sha256)
    throw new MonitorError(
      'model-checksum-mismatch',
      `${modelUrl} has sha256 ${shortVersion(version)}…, the manifest says ${shortVersion(manifest.sha256)}… (rebuild the model or update the manifest)`,
    );
  return { manifest, bytes, version };
}

/** One onnxruntime-web session on one backend, with a timeout on every run and GPU device-loss detection. */
export class Engine {
  private runTimes: number[] = [];
  /** every run's timeout (ms), when set (`run-timeout`); else it follows the runs' median */
  fixedTimeoutMs?: number;
  private lost?: string;
  /** settles when the GPU device is lost (never, off WebGPU) */
  private lostSignal: Promise<void> = new Promise(() => {});

  private constructor(
    readonly ort: OrtModule,
    private session: InferenceSession,
    readonly info: EngineInfo,
  ) {}

  /** Creates a session on the requested backend; `auto` prefers a hardware WebGPU adapter, else WASM, and says why. */
  static async create(model: LoadedModel, choice: BackendChoice, onProgress: (p: LoadProgress) => void, threads?: number): Promise<Engine> {
    if (!BACKENDS.includes(choice)) throw new MonitorError('backend-unknown', `unknown backend '${choice}' (use auto, webgpu or wasm)`);
    onProgress({ phase: 'compile' });
    let fallbackReason: string | undefined;
    if (choice !== 'wasm') {
      const gpu = await probeWebGpu();
      if (gpu.ok && (choice === 'webgpu' || !gpu.adapter.isFallbackAdapter)) {
        try {
          return await Engine.open(model, 'webgpu', threads, gpu.adapter);
        } catch (e) {
          const reason = `WebGPU session creation failed: ${(e as Error).message}`;
          if (choice === 'webgpu') throw classifySessionError(e, reason);
          fallbackReason = reason;
        }
      } else if (!gpu.ok) {
        if (choice === 'webgpu') throw new MonitorError('backend-unavailable', gpu.reason);
        fallbackReason = gpu.reason;
      } else {
        fallbackReason = `the WebGPU adapter is a software fallback (${gpu.adapter.architecture || gpu.adapter.vendor || 'unknown'}), far slower than WASM`;
      }
    }
    try {
      const engine = await Engine.open(model, 'wasm', threads);
      if (fallbackReason) engine.info.fallbackReason = fallbackReason;
      return engine;
    } catch (e) {
      throw classifySessionError(e, `WASM session creation failed: ${(e as Error).message}`);
    }
  }

  private static async open(model: LoadedModel, backend: Backend, threads?: number, adapter?: AdapterInfo): Promise<Engine> {
    const ort = await loadOrt(backend, threads);
    const session = await ort.InferenceSession.create(model.bytes, sessionOptions(backend));
    const warnings: string[] = [];
    if (adapter?.isFallbackAdapter)
      warnings.push(`software WebGPU adapter (${adapter.architecture || adapter.vendor}): expect it to be ~100× slower than a GPU`);
    if (backend === 'wasm' && !globalThis.crossOriginIsolated && (globalThis.navigator?.hardwareConcurrency ?? 1) > 1)
      warnings.push('WASM runs single-threaded: serve the page cross-origin isolated (COOP/COEP) for threads');
    const engine = new Engine(ort, session, { backend, threads: ort.env.wasm.numThreads ?? 1, adapter, warnings });
    if (backend === 'webgpu') engine.watchDevice();
    return engine;
  }

  private async watchDevice() {
    try {
      const device = (await (this.ort.env.webgpu as { device?: GPUDevice | Promise<GPUDevice> }).device) as GPUDevice | undefined;
      if (!device) return;
      this.lostSignal = device.lost.then((info) => {
        this.lost = info.message || info.reason || 'GPU device lost';
      });
    } catch {
      /* no device to watch */
    }
  }

  /** The median of the last 50 runs' durations (ms), once at least `minRuns` have been timed. */
  medianRunMs(minRuns = 1): number | undefined {
    if (this.runTimes.length < Math.max(1, minRuns)) return undefined;
    const sorted = [...this.runTimes].sort((a, b) => a - b);
    return sorted[sorted.length >> 1];
  }

  /** The longest the next run may take (ms): `fixedTimeoutMs` when set, else 10 × the median run (at least 10 s), 5 min for the first. */
  runTimeoutMs(): number {
    if (this.fixedTimeoutMs) return this.fixedTimeoutMs;
    const median = this.medianRunMs();
    return median !== undefined ? Math.max(10_000, 10 * median) : FIRST_RUN_TIMEOUT_MS;
  }

  /**
   * Runs one input; rejects with `inference-timeout` or `device-lost`, after which the engine must be rebuilt.
   * (A run that blocks this thread — WASM — cannot be timed out here: the page's watchdog ends the worker.)
   */
  async run(feeds: Record<string, Tensor>): Promise<InferenceSession.OnnxValueMapType> {
    if (this.lost) throw new MonitorError('device-lost', `GPU device lost: ${this.lost}`);
    const timeout = this.runTimeoutMs();
    const t0 = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const out = await Promise.race([
        this.session.run(feeds),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new MonitorError(this.lost ? 'device-lost' : 'inference-timeout', `inference took over ${Math.round(timeout)} ms${this.lost ? ` (GPU device lost: ${this.lost})` : ''}`)),
            timeout,
          );
        }),
      ]);
      this.runTimes.push(performance.now() - t0);
      if (this.runTimes.length > 50) this.runTimes.shift();
      return out;
    } catch (e) {
      if (e instanceof MonitorError) throw e;
      // A run that fails because the device went away (a buffer that cannot be mapped, …) can reject before
      // `device.lost` settles: give it a moment, so the failure is classed as a loss and the session rebuilt.
      if (!this.lost && this.info.backend === 'webgpu') await Promise.race([this.lostSignal, new Promise((r) => setTimeout(r, 200))]);
      if (this.lost) throw new MonitorError('device-lost', `GPU device lost: ${this.lost}`);
      throw new MonitorError('inference-failed', (e as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  async dispose() {
    await this.session.release().catch(() => {});
  }
}

function classifySessionError(e: unknown, message: string): MonitorError {
  const text = (e as Error)?.message ?? String(e);
  // protobuf parse failures and graph errors mean the file, not the backend, is at fault
  if (/protobuf|parse|invalid model|load model|ModelProto|graph/i.test(text)) return new MonitorError('model-invalid', message);
  return new MonitorError('backend-unavailable', message);
}

async function probeWebGpu(): Promise<{ ok: true; adapter: AdapterInfo } | { ok: false; reason: string }> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return { ok: false, reason: 'navigator.gpu is unavailable (no WebGPU in this browser, or not a secure context)' };
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    return { ok: false, reason: `requestAdapter failed: ${(e as Error).message}` };
  }
  if (!adapter) return { ok: false, reason: 'no WebGPU adapter (the GPU is blocklisted or unavailable)' };
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return {
    ok: true,
    adapter: {
      vendor: info.vendor ?? '',
      architecture: info.architecture ?? '',
      description: info.description ?? '',
      isFallbackAdapter: Boolean(info.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter),
    },
  };
}
