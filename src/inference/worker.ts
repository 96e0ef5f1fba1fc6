/// <reference lib="webworker" />
/**
 * The inference worker: loads a model from its manifest, takes prepared frames from the frame worker
 * (one in flight; the frame worker holds the next and counts what it drops), runs, decodes and
 * validates, and reports each result with its stage timings.
 */
import * as Comlink from 'comlink';
import { epochNow } from '../lib/epoch-now.ts';
import { uuidv7 } from '../lib/uuidv7.ts';
import { decodeOutputs, type OutputTensor } from './adapters/index.ts';
import { type BackendChoice, Engine, type LoadedModel, type LoadProgress, loadModel } from './engine.ts';
import { type MonitorErrorCode, toErrorInfo } from './errors.ts';
import { inputSize } from './manifest.ts';
import type { InferenceResult, ReadyInfo } from './protocol.ts';
import type { PreparedFrame } from '../capture/frame-worker.ts';
import { STAGES, type Tags, tagKey, toFrameRecord } from '../telemetry/record.ts';
import type { RecordMessage } from '../store/store-worker.ts';

export class InferenceWorker {
  private model?: LoadedModel;
  private engine?: Engine;
  private backendChoice: BackendChoice = 'auto';
  private threads?: number;
  private threshold = 0.3;
  private port?: MessagePort;
  private spare?: Float32Array;
  private onResult?: (r: InferenceResult) => void;
  private onError?: (e: { code: MonitorErrorCode; message: string; fatal: boolean }) => void;
  private rebuilding?: Promise<void>;
  private closing = false;
  private storePort?: MessagePort;
  private sourceId = '';
  private tags: Tags = {};

  /** Loads the manifest and model and creates the session; reports progress while downloading and compiling. */
  async load(manifestUrl: string, backend: BackendChoice, onProgress?: (p: LoadProgress) => void, threads?: number): Promise<ReadyInfo> {
    const progress = (p: LoadProgress) => onProgress?.(p);
    this.backendChoice = backend;
    this.threads = threads;
    try {
      this.model = await loadModel(manifestUrl, progress);
      this.engine = await Engine.create(this.model, backend, progress, threads);
    } catch (e) {
      // Comlink passes an Error on as name/message only: throw plain data so the code survives.
      throw toErrorInfo(e, 'worker-failed');
    }
    const m = this.model.manifest;
    return {
      ...this.engine.info,
      modelVersion: this.model.version,
      modelId: m.id,
      modelName: m.name,
      labels: m.labels,
      input: inputSize(m),
      prep: { ...inputSize(m), layout: m.input.layout, channels: m.input.channels, normalization: m.input.normalization, resize: m.input.resize },
    };
  }

  setThreshold(t: number) {
    this.threshold = t;
  }

  /** Takes prepared frames from the frame worker over `port`, one at a time, asking for the next when done. */
  attach(
    port: MessagePort,
    onResult: (r: InferenceResult) => void,
    onError: (e: { code: MonitorErrorCode; message: string; fatal: boolean }) => void,
  ) {
    this.port = port;
    this.onResult = onResult;
    this.onError = onError;
    port.onmessage = (e: MessageEvent<PreparedFrame>) => void this.process(e.data);
    this.next();
  }

  /** Sends every frame's record to the store worker over `port` (the page never handles them). */
  attachStore(port: MessagePort, sourceId: string, tags: Tags) {
    this.storePort = port;
    this.sourceId = sourceId;
    this.tags = tags;
    if (this.model) port.postMessage({ records: [], model: this.model.version } satisfies RecordMessage);
  }

  setTags(tags: Tags) {
    this.tags = tags;
  }

  private record(r: InferenceResult) {
    this.storePort?.postMessage({
      records: [toFrameRecord(r, this.sourceId, this.tags)],
      detections: r.detections.length ? [{ id: r.inferenceId, t: Math.round(r.timestamp), detections: r.detections }] : undefined,
    } satisfies RecordMessage);
  }

  /** A frame that produced no result still counts: recorded with its error kind. */
  private recordFailure(p: PreparedFrame, code: string) {
    if (!this.storePort || !this.model) return;
    const t = p.captureEpoch ?? p.handoffEpoch;
    this.storePort.postMessage({
      records: [{ id: uuidv7(Math.floor(t)), t: Math.round(t), src: this.sourceId, mv: this.model.version.slice(0, 12), b: this.engine?.info.backend ?? '', l: STAGES.map(() => -1), d: p.dropped, k: [], s: [], e: code, g: tagKey(this.tags) }],
    } satisfies RecordMessage);
  }

  async dispose() {
    this.closing = true; // a run cut short by shutdown is not a failure of the model: record nothing for it
    this.storePort?.close();
    this.storePort = undefined;
    this.port?.close();
    this.port = undefined;
    await this.engine?.dispose();
    this.engine = undefined;
  }

  /** Asks the frame worker for the latest frame, returning the last tensor's buffer for reuse. */
  private next() {
    if (!this.port) return;
    const buffer = this.spare;
    this.spare = undefined;
    this.port.postMessage({ want: true, buffer }, buffer ? [buffer.buffer] : []);
  }

  private async process(p: PreparedFrame) {
    let asked = false;
    // Ask for the next frame as soon as the input tensor is free (right after the run), so its transfer
    // overlaps decoding instead of following it.
    const askNext = () => {
      if (asked) return;
      asked = true;
      this.spare = p.tensor;
      this.next();
    };
    try {
      if (this.rebuilding) await this.rebuilding;
      const r = await this.infer(p, askNext);
      if (r) {
        // end to end as far as the worker sees it; the page replaces it with capture → result on the page
        r.timings.total = r.workerDoneEpoch - (r.captureEpoch ?? r.handoffEpoch);
        this.port?.postMessage({ drawn: { seq: p.seq, detections: r.detections, frame: r.frame } }); // boxes for the overlay
        this.record(r);
        this.onResult?.(r);
      }
    } catch (e) {
      if (this.closing) return;
      const info = toErrorInfo(e, 'inference-failed');
      this.recordFailure(p, info.code);
      const fatal = !['inference-timeout', 'device-lost', 'inference-failed'].includes(info.code);
      this.onError?.({ ...info, fatal });
      if (info.code === 'inference-timeout' || info.code === 'device-lost') await this.rebuild();
    }
    askNext();
  }

  /** After a timeout or device loss the old session is unusable: build a fresh one on the same choice. */
  private rebuild(): Promise<void> {
    if (this.rebuilding || !this.model) return this.rebuilding ?? Promise.resolve();
    const old = this.engine;
    this.engine = undefined;
    this.rebuilding = (async () => {
      void old?.dispose();
      try {
        this.engine = await Engine.create(this.model!, this.backendChoice, () => {}, this.threads);
      } catch (e) {
        this.onError?.({ ...toErrorInfo(e, 'backend-unavailable'), fatal: true });
      } finally {
        this.rebuilding = undefined;
      }
    })();
    return this.rebuilding;
  }

  /** Runs one frame; `inputFree` is called once the input tensor is no longer needed. Nothing awaits after the run. */
  private async infer(p: PreparedFrame, inputFree: () => void): Promise<InferenceResult | undefined> {
    const engine = this.engine;
    const model = this.model;
    if (!engine || !model) return undefined;
    const m = model.manifest;
    const { width: iw, height: ih } = inputSize(m);
    const t1 = performance.now();
    const out = await engine.run({ [m.input.name]: new engine.ort.Tensor('float32', p.tensor, m.input.shape) });
    const t2 = performance.now();
    inputFree();
    const outputs: Record<string, OutputTensor> = {};
    for (const [name, t] of Object.entries(out)) outputs[name] = { data: t.data as Float32Array, dims: t.dims };
    const { width, height } = p.frame;
    const decoded = decodeOutputs(m, outputs, { width, height, fit: p.fit, inputWidth: iw, inputHeight: ih }, this.threshold);
    for (const t of Object.values(out)) t.dispose();
    const t3 = performance.now();
    const start = performance.timeOrigin + t1;
    return {
      inferenceId: uuidv7(Math.floor(p.captureEpoch ?? p.handoffEpoch)),
      timestamp: p.captureEpoch ?? p.handoffEpoch,
      captureEpoch: p.captureEpoch,
      handoffEpoch: p.handoffEpoch,
      workerDoneEpoch: epochNow(),
      modelVersion: model.version,
      backend: engine.info.backend,
      frame: { width, height },
      timings: {
        capture: p.captureEpoch !== undefined ? Math.max(0, p.handoffEpoch - p.captureEpoch) : undefined,
        queue: Math.max(0, start - p.handoffEpoch - p.preprocessMs),
        preprocess: p.preprocessMs,
        inference: t2 - t1,
        postprocess: t3 - t2,
      },
      droppedFrames: p.dropped,
      detections: decoded.detections,
      ...(decoded.malformed ? { malformed: decoded.malformed } : {}),
      ...(p.image ? { image: p.image } : {}),
    };
  }
}

export type InferenceWorkerApi = InferenceWorker;
Comlink.expose(new InferenceWorker());
