/// <reference lib="webworker" />
/**
 * The inference worker: loads a model from its manifest, takes prepared frames from the frame worker
 * (one in flight, at most one waiting; the frame worker holds the newest camera frame and counts what it
 * drops), runs, decodes and validates, and reports each result with its stage timings.
 */
import * as Comlink from 'comlink';
import { epochNow } from '../lib/epoch-now.ts';
import { holdLifeLock } from '../lib/life-lock.ts';
import { uuidv7 } from '../lib/uuidv7.ts';
import { decodeOutputs, type OutputTensor } from './adapters/index.ts';
import { type BackendChoice, type BundledModel, Engine, FIRST_RUN_TIMEOUT_MS, type LoadedModel, type LoadProgress, loadModel } from './engine.ts';
import { type MonitorErrorCode, toErrorInfo } from '../lib/errors.ts';
import { feedShape, inputSize, padRgb } from './manifest.ts';
import { deploymentId } from './deployment.ts';
import type { InferenceResult, ReadyInfo, ResultMessage } from './protocol.ts';

type Tags = ResultMessage['tags'];
import type { ChallengerFrame, ChallengerReference, FrameRequest, PreparedFrame, ReferenceDone, ReferenceFrame } from '../capture/protocol.ts';
import { againstFrame, ChallengerTally, type ChallengerSummary, type PairedFrame, pairFrame } from './challenger.ts';
import { agreement } from './agreement.ts';
import type { Detection } from '../types/detection.ts';

export class InferenceWorker {
  private model?: LoadedModel;
  private engine?: Engine;
  private backendChoice: BackendChoice = 'auto';
  private threads?: number;
  private threshold = 0.3;
  /** every run's timeout (ms), when set (`run-timeout`) */
  private runTimeoutMs?: number;
  /** the lowest score the flag rules look at (decoded below the threshold as near misses) */
  private floor?: number;
  private port?: MessagePort;
  /** a frame that arrived while a run was going: it runs next */
  private pending?: PreparedFrame;
  private busy = false;
  /** the id of the last frame request, and whether its frame is still to come */
  private requestId = 0;
  private requested = false;
  /** recent frames' preparation times (ms): with the engine's run times, they time the next frame's request */
  private prepMs: number[] = [];
  private onResult?: (r: InferenceResult) => void;
  private onError?: (e: { code: MonitorErrorCode; message: string; fatal: boolean }) => void;
  private rebuilding?: Promise<void>;
  private closing = false;
  /** the uint8 input's buffer, reused (see toBytes) */
  private bytes?: Uint8ClampedArray;
  private storePort?: MessagePort;
  private sourceId = '';
  private tags: Tags = {};

  /**
   * Loads the manifest and model and creates the session; reports progress while downloading and compiling.
   * `bundled`: the manifest itself and where its file is (the bundled default model), instead of fetching them from `manifestUrl`.
   */
  async load(manifestUrl: string, backend: BackendChoice, onProgress?: (p: LoadProgress) => void, threads?: number, bundled?: BundledModel): Promise<ReadyInfo> {
    const progress = (p: LoadProgress) => onProgress?.(p);
    this.backendChoice = backend;
    this.threads = threads;
    try {
      this.model = await loadModel(manifestUrl, progress, bundled);
      this.dp = undefined;
      this.engine = await Engine.create(this.model, backend, progress, threads);
      this.engine.fixedTimeoutMs = this.runTimeoutMs;
    } catch (e) {
      // Comlink passes an Error on as name/message only: throw plain data so the code survives.
      throw toErrorInfo(e, 'worker-failed');
    }
    const m = this.model.manifest;
    return {
      ...this.engine.info,
      modelVersion: this.model.version,
      deployment: this.deployment()!,
      modelId: m.id,
      modelName: m.name,
      labels: m.labels,
      input: inputSize(m),
      prep: { ...inputSize(m), layout: m.input.layout, channels: m.input.channels, normalization: m.input.normalization, resize: m.input.resize, pad: padRgb(m) },
    };
  }

  /**
   * One run on a blank input, so that the first real frame does not pay for the session's first run
   * (buffer allocations; on WebGPU, compiling its pipelines). For a spare worker on standby.
   */
  async warmUp(): Promise<void> {
    const engine = this.engine;
    const m = this.model?.manifest;
    if (!engine || !m) return;
    const shape = feedShape(m);
    const n = shape.reduce((a, b) => a * b, 1);
    const input = m.input.dtype === 'uint8' ? new engine.ort.Tensor('uint8', new Uint8Array(n), shape) : new engine.ort.Tensor('float32', new Float32Array(n), shape);
    const out = await engine.run({ [m.input.name]: input });
    for (const t of Object.values(out)) t.dispose();
  }

  /** Answers at once: the page's check that this worker is alive. */
  ping(): true {
    return true;
  }

  /** Every run's timeout (ms; undefined: 10 × the median run, at least 10 s, and 5 min for the first). */
  setRunTimeout(ms: number | undefined) {
    this.runTimeoutMs = ms;
    if (this.engine) this.engine.fixedTimeoutMs = ms;
  }

  /**
   * The longest the next run may take (ms). Answered between runs: the page's watchdog asks it now and then,
   * and calls a run stuck when no answer comes within that bound (a WASM run blocks this thread).
   */
  runTimeout(): number {
    return this.engine?.runTimeoutMs() ?? this.runTimeoutMs ?? FIRST_RUN_TIMEOUT_MS;
  }

  /** Holds the Web Lock `name` for this worker's life (the page sees it released when the worker is gone). */
  holdLifeLock(name: string): Promise<void> {
    return holdLifeLock(name);
  }

  /** The score threshold; returns the deployment id it makes with the model (deployment.ts). */
  setThreshold(t: number): string | undefined {
    this.threshold = t;
    this.dp = undefined;
    return this.deployment();
  }

  /** the deployment id of the model, its manifest and the threshold (deployment.ts), kept until one changes */
  private dp?: string;
  private deployment(): string | undefined {
    if (!this.model) return undefined;
    return (this.dp ??= deploymentId(this.model.version, this.model.manifest, this.threshold));
  }

  /** Decodes detections down to `floor` (below the threshold) for the close-to-threshold flag rules; undefined: none. */
  setNearMissFloor(floor: number | undefined) {
    this.floor = floor;
  }

  /** Takes prepared frames from the frame worker over `port`, one at a time, asking for the next when done (a new port replaces the previous one). */
  attach(
    port: MessagePort,
    onResult: (r: InferenceResult) => void,
    onError: (e: { code: MonitorErrorCode; message: string; fatal: boolean }) => void,
  ) {
    // attached again (a new frame worker replaced one that died): the old channel and its frame are done
    if (this.port && this.port !== port) this.port.close();
    this.pending = undefined;
    this.requested = false;
    this.port = port;
    this.onResult = onResult;
    this.onError = onError;
    port.onmessage = (e: MessageEvent<PreparedFrame>) => this.receive(e.data);
    this.request(0);
  }

  /** Sends every frame's result to the hub worker over `port`, which makes its record (the page never handles them). */
  attachStore(port: MessagePort, sourceId: string, tags: Tags) {
    this.storePort = port;
    this.sourceId = sourceId;
    this.tags = tags;
    if (this.model) port.postMessage({ src: sourceId, tags, model: this.model.version } satisfies ResultMessage);
  }

  setTags(tags: Tags) {
    this.tags = tags;
  }

  /** as a reference model: the deployed model whose detections it judges */
  private deployed?: { modelVersion: string; deployment?: string };

  /**
   * Runs as a reference model (the page's reference.ts): takes judged frames prepared for this model from the
   * frame worker over `port`, each with the deployed model's detections, and posts how far they agree
   * (agreement.ts) to the hub worker over `storePort`. `deployed`: the deployed model's version and deployment.
   */
  attachReference(port: MessagePort, storePort: MessagePort, sourceId: string, tags: Tags, deployed: { modelVersion: string; deployment?: string }) {
    // attached again (a new frame worker replaced one that died): the old channels are done
    this.port?.close();
    if (this.storePort && this.storePort !== storePort) this.storePort.close();
    this.port = port;
    this.storePort = storePort;
    this.sourceId = sourceId;
    this.tags = tags;
    this.deployed = deployed;
    port.onmessage = (e: MessageEvent<ReferenceFrame>) => void this.judgeReference(e.data);
  }

  private async judgeReference(f: ReferenceFrame) {
    const t0 = performance.now();
    let failed = false;
    let judged: ReferenceDone['judged'];
    try {
      if (this.rebuilding) await this.rebuilding;
      const out = await this.infer(f, () => {}, () => {});
      const m = this.model, d = this.deployed;
      if (out) judged = { id: f.deployed.id, detections: out.result.detections };
      if (out && m && d && !this.closing) {
        const counts = agreement(f.deployed.detections, out.result.detections, { classification: m.manifest.adapter === 'classification' });
        const sample = { id: f.deployed.id, t: Math.round(f.captureEpoch ?? f.handoffEpoch), modelVersion: d.modelVersion, ...(d.deployment ? { deployment: d.deployment } : {}), reference: m.version, counts, detections: out.result.detections, ms: out.result.timings.inference };
        this.storePort?.postMessage({ src: this.sourceId, tags: this.tags, agreement: sample } satisfies ResultMessage);
      }
    } catch (e) {
      failed = true;
      const info = toErrorInfo(e, 'inference-failed');
      if (info.code === 'inference-timeout' || info.code === 'device-lost') await this.rebuild();
    }
    this.port?.postMessage({ refDone: { ms: performance.now() - t0, ...(failed ? { failed } : {}) }, buffer: f.tensor, ...(judged ? { judged } : {}) } satisfies ReferenceDone, [f.tensor.buffer]);
  }

  /** as a challenger: the champion (the deployed model) loaded beside it in this worker, and the tally of the two */
  private champion?: InferenceWorker;
  private tally?: ChallengerTally;
  /** frames run as a pair so far (who goes first alternates) */
  private pairs = 0;
  /**
   * frames the reference judges too, by inferenceId: a pair done before the reference's detections came (`pair`),
   * or the reference's detections come before the pair was done (`reference`); a few at most
   */
  private withReference = new Map<string, { pair?: { frame: PairedFrame; champion: Detection[]; challenger: Detection[] }; reference?: Detection[] }>();

  /**
   * Runs as a challenger model (the page's challenger.ts): loads the champion — the deployed model, `manifestUrl`
   * — in this worker too, on the same runtime (this worker's: WASM, one thread), so that both run each sampled
   * frame the same way and their run times compare; then takes frames prepared for both over `port`.
   */
  async attachChallenger(port: MessagePort, champion: { manifestUrl: string; bundled?: BundledModel; version: string }) {
    if (!this.champion) {
      const c = new InferenceWorker();
      await c.load(champion.manifestUrl, this.backendChoice, undefined, this.threads, champion.bundled);
      c.setThreshold(this.threshold);
      await c.warmUp();
      this.champion = c;
      this.tally = new ChallengerTally(c.model!.version, this.model!.version);
    }
    this.port?.close();
    this.port = port;
    port.onmessage = (e: MessageEvent<ChallengerFrame | ChallengerReference>) => void ('referenceFor' in e.data ? this.meetReference(e.data.referenceFor.id, { reference: e.data.referenceFor.detections }) : this.judgeChallenger(e.data));
  }

  /** The comparison so far (challenger.ts), undefined before the challenger is attached. */
  challengerSummary(): ChallengerSummary | undefined {
    return this.tally?.summary();
  }

  /** The frames compared so far (to keep across a reload), oldest first. */
  challengerFrames(): PairedFrame[] {
    return this.tally ? [...this.tally.frames] : [];
  }

  /** Goes on from frames compared before (a reload): they come before any compared since. */
  restoreChallenger(frames: PairedFrame[]) {
    this.tally?.restore(frames);
  }

  private async judgeChallenger(f: ChallengerFrame) {
    const t0 = performance.now();
    let failed = false;
    try {
      if (this.rebuilding) await this.rebuilding;
      // the same frame, one after the other on the same thread, taking turns at going first (the second run of a
      // pair finds the caches warm: always second, the challenger would read faster than it is)
      const champion = () => this.champion!.infer({ ...f, tensor: f.champion.tensor, fit: f.champion.fit }, () => {}, () => {});
      const challenger = () => this.infer(f, () => {}, () => {});
      const championFirst = (this.pairs++ & 1) === 0;
      const a = championFirst ? await champion() : undefined;
      const b = await challenger();
      const ran = a ?? (await champion());
      if (ran && b && this.model && !this.closing) {
        const frame = pairFrame(Math.round(f.captureEpoch ?? f.handoffEpoch), { ms: ran.result.timings.inference, detections: ran.result.detections }, { ms: b.result.timings.inference, detections: b.result.detections }, { classification: this.model.manifest.adapter === 'classification' });
        this.tally?.add(frame);
        if (f.withReference) this.meetReference(f.deployed.id, { pair: { frame, champion: ran.result.detections, challenger: b.result.detections } });
      }
    } catch (e) {
      failed = true;
      const info = toErrorInfo(e, 'inference-failed');
      if (info.code === 'inference-timeout' || info.code === 'device-lost') await this.rebuild();
    }
    this.port?.postMessage({ refDone: { ms: performance.now() - t0, ...(failed ? { failed } : {}) }, buffer: f.tensor, championBuffer: f.champion.tensor } satisfies ReferenceDone, [f.tensor.buffer, f.champion.tensor.buffer]);
  }

  /** A pair and the reference's detections on one frame, whichever comes second: the frame is held against the reference. */
  private meetReference(id: string, part: { pair?: { frame: PairedFrame; champion: Detection[]; challenger: Detection[] }; reference?: Detection[] }) {
    const m = { ...this.withReference.get(id), ...part };
    this.withReference.delete(id);
    if (!m.pair || !m.reference) {
      this.withReference.set(id, m);
      if (this.withReference.size > 4) this.withReference.delete(this.withReference.keys().next().value!); // its other half never came
      return;
    }
    m.pair.frame.reference = againstFrame(m.pair.champion, m.pair.challenger, m.reference, { classification: this.model?.manifest.adapter === 'classification' });
    this.tally?.changed();
  }

  private record(r: InferenceResult, nearMisses?: Detection[]) {
    this.storePort?.postMessage({ src: this.sourceId, tags: this.tags, result: r, ...(nearMisses?.length ? { nearMisses } : {}) } satisfies ResultMessage);
  }

  /** A frame that produced no result still counts: recorded with its error kind (its id returned). */
  private recordFailure(p: PreparedFrame, code: string): string | undefined {
    if (!this.storePort || !this.model) return undefined;
    const t = p.captureEpoch ?? p.handoffEpoch;
    const id = uuidv7(Math.floor(t));
    const failure = { id, t: Math.round(t), modelVersion: this.model.version, deployment: this.deployment(), backend: this.engine?.info.backend ?? '', dropped: p.dropped, error: code };
    this.storePort.postMessage({ src: this.sourceId, tags: this.tags, failure } satisfies ResultMessage);
    return id;
  }

  async dispose() {
    this.closing = true; // a run cut short by shutdown is not a failure of the model: record nothing for it
    this.storePort?.close();
    this.storePort = undefined;
    this.port?.close();
    this.port = undefined;
    await this.engine?.dispose();
    this.engine = undefined;
    await this.champion?.dispose();
  }

  /**
   * Asks the frame worker for its newest frame, now or in `inMs`; asking again for a frame still to come
   * brings it forward.
   */
  private request(inMs: number) {
    if (!this.port) return;
    if (!this.requested) {
      this.requested = true;
      this.requestId++;
    }
    this.port.postMessage({ want: { id: this.requestId, inMs } satisfies FrameRequest });
  }

  private receive(p: PreparedFrame) {
    this.requested = false;
    this.prepMs.push(p.preprocessMs);
    if (this.prepMs.length > 20) this.prepMs.shift();
    if (this.busy) this.pending = p;
    else void this.process(p);
  }

  /**
   * When to ask for the next frame, counted from a run's start: so that it is prepared (in the frame
   * worker, while this run goes on) just before the run ends — the next run then starts as soon as this
   * one is decoded. Undefined until a few runs have been timed: then the frame is asked for when the run ends.
   */
  private requestLead(): number | undefined {
    const run = this.engine?.medianRunMs(3);
    if (run === undefined || !this.prepMs.length) return undefined;
    const prep = [...this.prepMs].sort((a, b) => a - b)[this.prepMs.length >> 1]!;
    return Math.max(0, run - prep - 5);
  }

  private async process(p: PreparedFrame) {
    this.busy = true;
    let freed = false;
    // the input tensor's buffer goes back to the frame worker as soon as the run no longer needs it
    const inputFree = () => {
      if (freed) return;
      freed = true;
      this.port?.postMessage({ buffer: p.tensor }, [p.tensor.buffer]);
    };
    const beforeRun = () => {
      const lead = this.requestLead();
      if (lead !== undefined && !this.requested && !this.pending) this.request(lead);
    };
    try {
      if (this.rebuilding) await this.rebuilding;
      const out = await this.infer(p, inputFree, beforeRun);
      if (out) {
        const { result: r, nearMisses } = out;
        // end to end as far as the worker sees it; the page replaces it with capture → result on the page
        r.timings.total = r.workerDoneEpoch - (r.captureEpoch ?? r.handoffEpoch);
        // boxes for the overlay; the frame worker keeps the judged frame a few seconds under its id (for flagging)
        this.port?.postMessage({ drawn: { seq: p.seq, id: r.inferenceId, detections: r.detections, frame: r.frame } });
        this.record(r, nearMisses);
        this.onResult?.(r);
      }
    } catch (e) {
      if (this.closing) return;
      const info = toErrorInfo(e, 'inference-failed');
      const id = this.recordFailure(p, info.code);
      if (id) this.port?.postMessage({ drawn: { seq: p.seq, id, failed: true, detections: [], frame: p.frame } }); // kept, not drawn
      const fatal = !['inference-timeout', 'device-lost', 'inference-failed'].includes(info.code);
      this.onError?.({ ...info, fatal });
      if (info.code === 'inference-timeout' || info.code === 'device-lost') await this.rebuild();
    }
    inputFree();
    this.busy = false;
    const next = this.pending;
    this.pending = undefined;
    if (next) void this.process(next);
    else this.request(0); // not asked for yet, or asked for later than now: now
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
        this.engine.fixedTimeoutMs = this.runTimeoutMs;
      } catch (e) {
        this.onError?.({ ...toErrorInfo(e, 'backend-unavailable'), fatal: true });
      } finally {
        this.rebuilding = undefined;
      }
    })();
    return this.rebuilding;
  }

  /**
   * Runs one frame; `beforeRun` is called just before the run starts, `inputFree` once the input tensor is
   * no longer needed. Nothing awaits after the run.
   */
  private async infer(p: PreparedFrame, inputFree: () => void, beforeRun: () => void): Promise<{ result: InferenceResult; nearMisses?: Detection[] } | undefined> {
    const engine = this.engine;
    const model = this.model;
    if (!engine || !model) return undefined;
    const m = model.manifest;
    const { width: iw, height: ih } = inputSize(m);
    const input =
      m.input.dtype === 'uint8'
        ? new engine.ort.Tensor('uint8', toBytes(p.tensor, (this.bytes = this.bytes?.length === p.tensor.length ? this.bytes : new Uint8ClampedArray(p.tensor.length))), feedShape(m)) // raw 0–255 pixels (identity normalisation)
        : new engine.ort.Tensor('float32', p.tensor, feedShape(m));
    beforeRun();
    const t1 = performance.now();
    const out = await engine.run({ [m.input.name]: input });
    const t2 = performance.now();
    inputFree();
    const outputs: Record<string, OutputTensor> = {};
    for (const [name, t] of Object.entries(out)) outputs[name] = { data: t.data as Float32Array, dims: t.dims };
    const { width, height } = p.frame;
    const decoded = decodeOutputs(m, outputs, { width, height, fit: p.fit, inputWidth: iw, inputHeight: ih }, this.threshold, this.floor);
    for (const t of Object.values(out)) t.dispose();
    const t3 = performance.now();
    const start = performance.timeOrigin + t1;
    const result: InferenceResult = {
      inferenceId: uuidv7(Math.floor(p.captureEpoch ?? p.handoffEpoch)),
      timestamp: p.captureEpoch ?? p.handoffEpoch,
      captureEpoch: p.captureEpoch,
      handoffEpoch: p.handoffEpoch,
      workerDoneEpoch: epochNow(),
      modelVersion: model.version,
      deployment: this.deployment(),
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
    return { result, ...(decoded.nearMisses ? { nearMisses: decoded.nearMisses } : {}) };
  }
}

/** A 0–255 float tensor as bytes (rounded, clamped) in `out` (one frame runs at a time, so it is reused). */
function toBytes(t: Float32Array, out: Uint8ClampedArray): Uint8Array {
  out.set(t);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

export type InferenceWorkerApi = InferenceWorker;
Comlink.expose(new InferenceWorker());
