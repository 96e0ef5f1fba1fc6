/**
 * A reference model beside the deployed one (`reference-model`): its own inference worker, on WASM with one
 * thread, judging a sample of the frames the deployed model judged — as many as a budget of the time allows
 * (`reference-budget`, default a tenth), so the deployed model's frames are never waited on. The frame worker
 * prepares each sampled frame again for the reference; the reference worker posts how far the two agree to the
 * hub worker, where the health engine keeps it as a vital sign (agreement.ts, health/agreement-signal.ts).
 */
import * as Comlink from 'comlink';
import type { FrameClient } from '../../capture/frame-client.ts';
import type { HubClient } from '../../hub/client.ts';
import type { ReadyInfo } from '../../inference/protocol.ts';
import { MonitorError, toErrorInfo } from '../../lib/errors.ts';
import { endWorker, type InferenceWorkerHandle, spawnInferenceWorker, within } from './standby.ts';
import { RunWatchdog, WATCHDOG_MARGIN_MS } from './run-watchdog.ts';

/** the share of the time the reference may run when `reference-budget` is not set */
export const DEFAULT_REFERENCE_BUDGET = 0.1;

export interface ReferenceStart {
  manifestUrl: string;
  frames: FrameClient;
  hub: HubClient;
  sourceId: string;
  tags: Record<string, string>;
  threshold: number;
  budget: number;
  /** the deployed model whose detections it judges */
  deployed: { modelVersion: string; deployment?: string };
  /** still the pipeline's current run */
  current: () => boolean;
  /** every run's timeout (ms), when set (`run-timeout`) */
  runTimeoutMs?: number;
  /**
   * a run of the reference has not ended within its timeout (+ a margin; run-watchdog.ts): the reference is
   * stopped (its worker ended), and the deployed model goes on without it until the pipeline starts again
   */
  hung: (message: string) => void;
}

/** One reference worker for a pipeline's run; `stop` ends it. */
export class Reference {
  private handle?: InferenceWorkerHandle;
  private started?: ReferenceStart;
  private watchdog?: RunWatchdog;
  ready?: ReadyInfo;

  constructor(private readonly lockName: string) {}

  /** Loads the reference model and connects it; rejects with the error (the page reports it, not fatal). */
  async start(o: ReferenceStart): Promise<ReadyInfo | undefined> {
    const h = (this.handle = spawnInferenceWorker(this.lockName));
    try {
      if (o.runTimeoutMs) await Promise.race([h.api.setRunTimeout(o.runTimeoutMs), h.failed]);
      // WASM with one thread: the deployed model keeps the GPU and the other cores
      const ready = await Promise.race([h.api.load(o.manifestUrl, 'wasm', undefined, 1), h.failed]);
      if (!o.current() || this.handle !== h) return undefined;
      await h.api.setThreshold(o.threshold);
      // its first run is the slow one (allocations): not on a frame, where it would set the budget's first rest
      // (a model whose run never ends: bounded by its run timeout, the worker's thread being stuck in it)
      const bound = await h.api.runTimeout();
      await Promise.race([within(h.api.warmUp(), bound + WATCHDOG_MARGIN_MS, "the reference model's first run"), h.failed]);
      await this.connect(h, o, o.frames, ready);
      if (!o.current() || this.handle !== h) return undefined;
      this.ready = ready;
      this.started = o;
      this.watchdog = new RunWatchdog(() => h.api.runTimeout(), bound, (waited, b) => {
        if (this.handle !== h) return;
        this.stop(o.frames);
        o.hung(`reference model: a run has not ended after ${(waited / 1000).toFixed(1)} s (its timeout: ${(b / 1000).toFixed(1)} s): the reference is stopped, the deployed model goes on without it`);
      });
      return ready;
    } catch (e) {
      this.stop();
      const info = toErrorInfo(e, 'worker-failed');
      throw new MonitorError(info.code, `reference model: ${info.message}`);
    }
  }

  /** Channels from the frame worker `frames` to the reference worker `h`, and from it to the hub worker. */
  private async connect(h: InferenceWorkerHandle, o: ReferenceStart, frames: FrameClient, ready: ReadyInfo) {
    const judged = new MessageChannel();
    const store = new MessageChannel();
    await o.hub.connect(Comlink.transfer(store.port1, [store.port1]));
    await h.api.attachReference(Comlink.transfer(judged.port2, [judged.port2]), Comlink.transfer(store.port2, [store.port2]), o.sourceId, o.tags, o.deployed);
    if (!o.current() || this.handle !== h) return;
    await frames.attachReference(Comlink.transfer(judged.port1, [judged.port1]), ready.prep, o.budget);
  }

  /**
   * The frame worker was replaced (the old one died, and with it the reference's channel): the running reference
   * is connected to the new one `frames`, so it goes on judging without reloading its model.
   */
  async reconnect(frames: FrameClient) {
    const h = this.handle, o = this.started, ready = this.ready;
    if (h && o && ready && o.current()) await this.connect(h, o, frames, ready);
  }

  /** Ends the reference worker (the frame worker stops sending when its port closes). */
  stop(frames?: FrameClient) {
    const h = this.handle;
    this.handle = undefined;
    this.ready = undefined;
    this.started = undefined;
    this.watchdog?.stop();
    this.watchdog = undefined;
    void frames?.detachReference().catch(() => {});
    if (h) endWorker(h);
  }
}
