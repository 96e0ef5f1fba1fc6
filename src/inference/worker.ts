/// <reference lib="webworker" />
/**
 * The inference worker: loads a model from its manifest, takes camera frames (a stream of VideoFrames,
 * or transferred frames one by one), keeps the latest (one in flight, one waiting, the rest counted as
 * dropped), preprocesses, runs, decodes and validates, and reports each result with its stage timings.
 */
import * as Comlink from 'comlink';
import { epochNow } from '../lib/epoch-now.ts';
import { uuidv7 } from '../lib/uuidv7.ts';
import { decodeOutputs, type OutputTensor } from './adapters/index.ts';
import { type BackendChoice, Engine, type EngineInfo, type LoadedModel, type LoadProgress, loadModel } from './engine.ts';
import { type MonitorErrorCode, toErrorInfo } from './errors.ts';
import { inputSize } from './manifest.ts';
import { fitFrame, rgbaToTensor } from './preprocess.ts';
import type { InferenceResult, ReadyInfo } from './protocol.ts';

type Frame = VideoFrame | ImageBitmap;
interface Pending {
  frame: Frame;
  /** capture time (epoch ms) if the source gave one */
  captureEpoch?: number;
  handoffEpoch: number;
}

const frameSize = (f: Frame) =>
  'displayWidth' in f ? { width: f.displayWidth, height: f.displayHeight } : { width: f.width, height: f.height };

export class InferenceWorker {
  private model?: LoadedModel;
  private engine?: Engine;
  private backendChoice: BackendChoice = 'auto';
  private threshold = 0.3;
  private busy = false;
  private waiting?: Pending;
  private dropped = 0;
  private frames = 0;
  private streamReader?: ReadableStreamDefaultReader<VideoFrame>;
  private onResult?: (r: InferenceResult) => void;
  private onError?: (e: { code: MonitorErrorCode; message: string; fatal: boolean }) => void;
  private canvas?: OffscreenCanvas;
  private ctx?: OffscreenCanvasRenderingContext2D;
  private inputBuffer?: Float32Array;
  private rebuilding?: Promise<void>;
  /** offset (ms) to turn a VideoFrame timestamp into epoch ms, when the timestamps prove to be on that clock */
  private tsOffset?: number | null;

  /** Loads the manifest and model and creates the session; reports progress while downloading and compiling. */
  async load(manifestUrl: string, backend: BackendChoice, onProgress?: (p: LoadProgress) => void): Promise<ReadyInfo> {
    const progress = (p: LoadProgress) => onProgress?.(p);
    this.backendChoice = backend;
    try {
      this.model = await loadModel(manifestUrl, progress);
      this.engine = await Engine.create(this.model, backend, progress);
    } catch (e) {
      // Comlink passes an Error on as name/message only: throw plain data so the code survives.
      throw toErrorInfo(e, 'worker-failed');
    }
    return this.readyInfo(this.engine.info);
  }

  private readyInfo(info: EngineInfo): ReadyInfo {
    const m = this.model!.manifest;
    return {
      ...info,
      modelVersion: this.model!.version,
      modelId: m.id,
      modelName: m.name,
      labels: m.labels,
      input: inputSize(m),
    };
  }

  setThreshold(t: number) {
    this.threshold = t;
  }

  /** Consumes a stream of camera frames (from a MediaStreamTrackProcessor on the page). */
  async attachStream(
    readable: ReadableStream<VideoFrame>,
    onResult: (r: InferenceResult) => void,
    onError: (e: { code: MonitorErrorCode; message: string; fatal: boolean }) => void,
  ): Promise<void> {
    this.onResult = onResult;
    this.onError = onError;
    const reader = readable.getReader();
    this.streamReader = reader;
    void (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          this.accept({ frame: value, captureEpoch: this.captureEpoch(value), handoffEpoch: epochNow() });
        }
      } catch (e) {
        if (this.streamReader === reader) onError({ code: 'camera-failed', message: `camera stream failed: ${(e as Error).message}`, fatal: true });
      }
    })();
  }

  /** For browsers without MediaStreamTrackProcessor: one transferred frame at a time. */
  setCallbacks(onResult: (r: InferenceResult) => void, onError: (e: { code: MonitorErrorCode; message: string; fatal: boolean }) => void) {
    this.onResult = onResult;
    this.onError = onError;
  }
  submit(frame: Frame, captureEpoch?: number) {
    this.accept({ frame, captureEpoch, handoffEpoch: epochNow() });
  }

  /** Stops taking frames; closes any waiting frame. */
  async detach() {
    const r = this.streamReader;
    this.streamReader = undefined;
    await r?.cancel().catch(() => {});
    this.waiting?.frame.close();
    this.waiting = undefined;
  }

  async dispose() {
    await this.detach();
    await this.engine?.dispose();
    this.engine = undefined;
  }

  stats() {
    return { frames: this.frames, dropped: this.dropped, busy: this.busy };
  }

  private captureEpoch(f: VideoFrame): number | undefined {
    // A camera VideoFrame's timestamp (µs) is its capture time on the browser's monotonic clock. It is
    // used only if it proves to be on this worker's performance clock: then handoff latency is real.
    if (this.tsOffset === null) return undefined;
    const ts = f.timestamp / 1000;
    const age = performance.now() - ts;
    if (this.tsOffset === undefined) {
      this.tsOffset = age >= 0 && age < 5_000 ? performance.timeOrigin : null;
      if (this.tsOffset === null) return undefined;
    }
    return age >= 0 && age < 60_000 ? this.tsOffset + ts : undefined;
  }

  private accept(p: Pending) {
    this.frames++;
    if (!this.engine || this.busy || this.rebuilding) {
      if (this.waiting) {
        this.waiting.frame.close();
        this.dropped++;
      }
      this.waiting = p;
      return;
    }
    void this.process(p);
  }

  private async process(p: Pending) {
    this.busy = true;
    try {
      const r = await this.infer(p);
      if (r) this.onResult?.(r);
    } catch (e) {
      const info = toErrorInfo(e, 'inference-failed');
      const fatal = !['inference-timeout', 'device-lost', 'inference-failed'].includes(info.code);
      this.onError?.({ ...info, fatal });
      if (info.code === 'inference-timeout' || info.code === 'device-lost') this.rebuild();
    } finally {
      this.busy = false;
    }
    const next = this.waiting;
    this.waiting = undefined;
    if (next && !this.rebuilding) void this.process(next);
    else if (next) this.waiting = next;
  }

  /** After a timeout or device loss the old session is unusable: build a fresh one on the same choice. */
  private rebuild() {
    if (this.rebuilding || !this.model) return;
    const old = this.engine;
    this.engine = undefined;
    this.rebuilding = (async () => {
      void old?.dispose();
      try {
        this.engine = await Engine.create(this.model!, this.backendChoice, () => {});
      } catch (e) {
        this.onError?.({ ...toErrorInfo(e, 'backend-unavailable'), fatal: true });
      } finally {
        this.rebuilding = undefined;
        const next = this.waiting;
        this.waiting = undefined;
        if (next && this.engine) void this.process(next);
      }
    })();
  }

  private async infer(p: Pending): Promise<InferenceResult | undefined> {
    const engine = this.engine;
    const model = this.model;
    if (!engine || !model) {
      p.frame.close();
      return undefined;
    }
    const m = model.manifest;
    const { width: iw, height: ih } = inputSize(m);
    const t0 = performance.now();
    const { width, height } = frameSize(p.frame);
    let fit;
    try {
      fit = fitFrame(width, height, iw, ih, m.input.resize);
      if (!this.canvas || this.canvas.width !== iw || this.canvas.height !== ih) {
        this.canvas = new OffscreenCanvas(iw, ih);
        this.ctx = this.canvas.getContext('2d', { willReadFrequently: true, alpha: false })!;
      }
      const ctx = this.ctx!;
      if (m.input.resize === 'letterbox') {
        ctx.fillStyle = 'rgb(114,114,114)';
        ctx.fillRect(0, 0, iw, ih);
      }
      ctx.drawImage(p.frame, fit.dx, fit.dy, fit.dw, fit.dh);
    } finally {
      p.frame.close();
    }
    const rgba = this.ctx!.getImageData(0, 0, iw, ih).data;
    this.inputBuffer = rgbaToTensor(rgba, iw, ih, m.input, this.inputBuffer);
    const tensor = new engine.ort.Tensor('float32', this.inputBuffer, m.input.shape);
    const t1 = performance.now();
    const out = await engine.run({ [m.input.name]: tensor });
    const t2 = performance.now();
    const outputs: Record<string, OutputTensor> = {};
    for (const [name, t] of Object.entries(out)) {
      outputs[name] = { data: t.data as Float32Array, dims: t.dims };
    }
    const decoded = decodeOutputs(m, outputs, { width, height, fit, inputWidth: iw, inputHeight: ih }, this.threshold);
    for (const t of Object.values(out)) t.dispose();
    const t3 = performance.now();
    const dropped = this.dropped;
    this.dropped = 0;
    const done = epochNow();
    return {
      inferenceId: uuidv7(Math.floor(p.captureEpoch ?? p.handoffEpoch)),
      timestamp: p.captureEpoch ?? p.handoffEpoch,
      captureEpoch: p.captureEpoch,
      handoffEpoch: p.handoffEpoch,
      workerDoneEpoch: done,
      modelVersion: model.version,
      backend: engine.info.backend,
      frame: { width, height },
      timings: {
        capture: p.captureEpoch !== undefined ? Math.max(0, p.handoffEpoch - p.captureEpoch) : undefined,
        queue: Math.max(0, performance.timeOrigin + t0 - p.handoffEpoch),
        preprocess: t1 - t0,
        inference: t2 - t1,
        postprocess: t3 - t2,
      },
      droppedFrames: dropped,
      detections: decoded.detections,
      ...(decoded.malformed ? { malformed: decoded.malformed } : {}),
    };
  }
}

export type InferenceWorkerApi = InferenceWorker;
Comlink.expose(new InferenceWorker());
