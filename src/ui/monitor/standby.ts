/**
 * Inference workers for a monitor, and a spare on standby: the running model loaded and run once, idle, that takes over at
 * once when the running worker dies instead of a new worker loading the model (seconds); it costs a second session's memory.
 */
import * as Comlink from 'comlink';
import type { BackendChoice, BundledModel } from '../../inference/engine.ts';
import { MonitorError } from '../../lib/errors.ts';
import type { ReadyInfo } from '../../inference/protocol.ts';
import { type InferenceClient, startInferenceWorker } from '../../inference/client.ts';

/** What an inference worker is asked to load. */
export interface LoadRequest {
  manifestUrl: string;
  backend: BackendChoice;
  threads?: number;
  bundled?: BundledModel;
  /** every run's timeout (ms), when set (`run-timeout`) */
  runTimeoutMs?: number;
}

/** A started inference worker, holding the Web Lock `lock` for life once `held`. */
export interface InferenceWorkerHandle {
  worker: Worker;
  api: InferenceClient;
  lock: string;
  held: Promise<void>;
  /** rejects when the worker fails to start or throws before it is watched */
  failed: Promise<never>;
}

/** Starts an inference worker holding the Web Lock `lock` for life. */
export function spawnInferenceWorker(lock: string): InferenceWorkerHandle {
  const { worker, api } = startInferenceWorker();
  const failed = new Promise<never>((_, reject) => {
    worker.addEventListener('error', (e) => reject(new MonitorError('worker-failed', `inference worker failed: ${e.message || 'could not load'}`)), { once: true });
  });
  failed.catch(() => {});
  return { worker, api, lock, held: api.holdLifeLock(lock), failed };
}

/** Ends a worker and its proxy. */
export function endWorker(h: Pick<InferenceWorkerHandle, 'worker' | 'api'>) {
  h.api[Comlink.releaseProxy]();
  h.worker.terminate();
}

/** A loaded spare. */
export interface Spare extends InferenceWorkerHandle {
  ready: ReadyInfo;
}

/** Resolves with `p`, or rejects with `inference-timeout` after `ms` (a worker that is gone, or stuck in a run, never answers). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new MonitorError('inference-timeout', `${what}: no answer within ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

/**
 * Starts an inference worker holding the Web Lock `lock` and loads `request` into it; with `warm`, runs it once
 * on a blank input (the first run of a session is the slow one: allocations, GPU pipelines) — a run that does
 * not end within the worker's run timeout (plus 2 s) fails it. On failure the worker is ended and this rejects.
 */
export async function loadInferenceWorker(lock: string, request: LoadRequest, warm: boolean): Promise<Spare> {
  const h = spawnInferenceWorker(lock);
  try {
    if (request.runTimeoutMs) await Promise.race([h.api.setRunTimeout(request.runTimeoutMs), h.failed]);
    const ready = await Promise.race([h.api.load(request.manifestUrl, request.backend, undefined, request.threads, request.bundled), h.failed]);
    if (warm) await Promise.race([within(h.api.warmUp(), (await h.api.runTimeout()) + 2000, 'the inference worker\'s first run'), h.failed]);
    await h.held;
    return { ...h, ready };
  } catch (e) {
    endWorker(h);
    throw e;
  }
}

/**
 * Keeps one spare inference worker loaded with a model. `prepare` starts one (after `delayMs`, so that it
 * does not compete with a pipeline that is just starting); `take` hands it over once loaded and alive.
 */
export class Standby {
  private spare?: Promise<Spare | undefined>;
  private timer?: ReturnType<typeof setTimeout>;
  private request?: LoadRequest;
  private seq = 0;
  private loadedSeq = 0;

  constructor(private readonly lockName: (n: number) => string) {}

  /** Loads a spare for `request` (replacing one loaded for another request). */
  prepare(request: LoadRequest, delayMs = 0) {
    if (this.spare && sameRequest(this.request, request)) return;
    this.discard();
    this.request = request;
    const n = ++this.seq;
    this.spare = new Promise<void>((r) => (this.timer = setTimeout(r, delayMs))).then(async () => {
      if (n !== this.seq) return undefined;
      try {
        const s = await loadInferenceWorker(this.lockName(n), request, true);
        if (n !== this.seq) {
          endWorker(s);
          return undefined;
        }
        this.loadedSeq = n;
        return s;
      } catch {
        return undefined;
      }
    });
  }

  /** True once a spare is loaded (and not yet taken or discarded). */
  get ready(): boolean {
    return this.spare !== undefined && this.loadedSeq === this.seq;
  }

  /**
   * The loaded spare for `modelVersion`, checked alive (answers within `aliveMs`), now owned by the caller;
   * undefined when none is ready (still loading, failed, died, or for another model). Either way there is
   * no spare afterwards: `prepare` another.
   */
  async take(modelVersion: string, aliveMs = 500): Promise<Spare | undefined> {
    const p = this.spare;
    if (!p) return undefined;
    const loaded = await Promise.race([p, Promise.resolve(undefined)]);
    this.spare = undefined;
    this.seq++;
    clearTimeout(this.timer);
    if (!loaded) {
      void p.then((s) => s && endWorker(s)); // still loading: not waited for
      return undefined;
    }
    try {
      if (loaded.ready.modelVersion !== modelVersion) throw new Error('another model');
      await within(loaded.api.ping(), aliveMs, 'the spare inference worker');
      return loaded;
    } catch {
      endWorker(loaded);
      return undefined;
    }
  }

  /** Ends the spare (loaded or loading). */
  discard() {
    const p = this.spare;
    this.spare = undefined;
    this.request = undefined;
    this.seq++;
    clearTimeout(this.timer);
    void p?.then((s) => s && endWorker(s));
  }
}

function sameRequest(a: LoadRequest | undefined, b: LoadRequest): boolean {
  return !!a && a.manifestUrl === b.manifestUrl && a.backend === b.backend && a.threads === b.threads && a.bundled?.fileUrl === b.bundled?.fileUrl && a.runTimeoutMs === b.runTimeoutMs;
}
