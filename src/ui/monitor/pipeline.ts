/**
 * `<inference-monitor>`'s pipeline lifecycle: launch (camera, model, frame and inference workers, the hub), halt, and
 * staying up unattended — a frame worker replaced, the spare on standby taking over, a camera opened again.
 */
import * as Comlink from 'comlink';
import { closeCamera, frameStream, openCamera } from '../../capture/camera.ts';
import type { CameraDownReason } from '../../capture/camera-watch.ts';
import { type FrameClient, startFrameWorker } from '../../capture/frame-client.ts';
import type { BackendChoice, LoadProgress } from '../../inference/engine.ts';
import type { InferenceClient } from '../../inference/client.ts';
import { DEFAULT_MODEL_FILE, DEFAULT_MODEL_MANIFEST } from '../../inference/default-model.ts';
import type { InferenceResult, ReadyInfo } from '../../inference/protocol.ts';
import { MonitorError, toErrorInfo } from '../../lib/errors.ts';
import { getHub, type HubClient } from '../../hub/client.ts';
import { closeToThresholdFloor } from '../../flagging/rules.ts';
import type { FlagRule } from '../../flagging/types.ts';
import type { MonitorEmit, MonitorErrorDetail } from '../monitor-events.ts';
import { baselineDuration, checkAttributes } from './attributes.ts';
import type { HubSubscriptions, SubscribedElement } from './hub-subscriptions.ts';
import { PipelineSupervisor, type RunProbe, type WorkerName } from './pipeline-supervisor.ts';
import { ResourceSampler } from './resource-sampler.ts';
import { endWorker, type LoadRequest, loadInferenceWorker, type Spare, spawnInferenceWorker, Standby } from './standby.ts';
import { DEFAULT_REFERENCE_BUDGET, Reference } from './reference.ts';
import { type Challenger, launchChallenger } from './challenger.ts';
import { shortVersion } from '../../lib/short-version.ts';

export type MonitorState = 'idle' | 'loading' | 'running' | 'error' | 'stopped';

/** The camera is down: its track ended (a camera is asked for again) or is muted (frames resume when it unmutes). */
export interface CameraDown {
  reason: CameraDownReason;
  /** epoch ms */
  since: number;
  message: string;
}

/** a spare inference worker is loaded this long after the pipeline starts, not competing with its start */
const STANDBY_DELAY_MS = 3000;

/** A stuck inference worker being replaced: shown over the video until results come again. */
export interface InferenceHung {
  message: string;
  /** stuck workers in a row (reset by a result) */
  attempt: number;
  /** epoch ms when the next worker starts loading */
  retryAt: number;
}

/** the wait before a stuck inference worker's replacement loads: 1 s, doubling for each one in a row that is stuck too, up to 60 s */
export const hangBackoffMs = (attempt: number) => Math.min(60_000, 1000 * 2 ** Math.max(0, attempt - 1));

/** The element, as its pipeline reads it: its settings, its shadow root (the video, the stage), its state. */
export interface PipelineElement extends SubscribedElement {
  readonly model?: string;
  readonly camera: string;
  readonly record: string;
  readonly standby: boolean;
  /** a reference model's manifest URL: it judges a sample of the frames beside the deployed model (reference.ts) */
  readonly referenceModel?: string;
  /** the share of the time the reference may run (default 0.1) */
  readonly referenceBudget?: number;
  /** a challenger model's manifest URL and its budget: a candidate compared with the deployed model (challenger.ts) */
  readonly challengerModel?: string;
  readonly challengerBudget?: number;
  readonly cameraDown?: CameraDown;
  readonly renderRoot: HTMLElement | DocumentFragment;
  state: MonitorState;
}

/** What the pipeline tells its element. */
export interface PipelineHost {
  /** a start began: loading (with what it does now), no error and no model yet */
  loading(progress: string): void;
  /** what the start does now (downloading the model, preparing it…) */
  progress(text: string): void;
  /** the start is through: the model runs */
  running(ready: ReadyInfo): void;
  /** the camera is down (undefined: it is back, or the pipeline stopped) */
  down(down: CameraDown | undefined): void;
  /** the inference worker is stuck in a run and being replaced (undefined: results come again, or the pipeline stopped) */
  hung(hung: InferenceHung | undefined): void;
  /** a result of the running pipeline */
  result(r: InferenceResult): void;
  /** a failure (fatal ones stop the pipeline) */
  fail(e: MonitorErrorDetail): void;
  emit: MonitorEmit;
  /** what the hub tells the element, subscribed as the pipeline connects to it */
  readonly subscriptions: HubSubscriptions;
}

/** One element's pipeline, for the element's life: every start builds it anew, a stop ends what runs. */
export class Pipeline {
  /** the running inference worker */
  api?: InferenceClient;
  /** whether the frame worker draws the boxes (on a transferred canvas); else the page does */
  offscreenOverlay = false;
  private worker?: Worker;
  private frameWorker?: Worker;
  private frames?: FrameClient;
  private stream?: MediaStream;
  private run = 0;
  /** starts asked for: only the latest builds a pipeline */
  private launches = 0;
  /** what ends the starts in progress when the pipeline is stopped */
  private onHalt: (() => void)[] = [];
  private fallbackLoop?: number;
  private viewMode: 'live' | 'inferred' = 'live';
  private workerSeq = 0;
  /** watches the camera and the workers, counts down time; the pipeline does what it says */
  private readonly supervisor = new PipelineSupervisor({
    cameraDown: (reason, message) => this.onCameraDown(reason, message),
    reopenCamera: () => this.reopenCamera(),
    workerDied: (which, message) => this.workerDied(which, message),
    workerHung: (which, message) => this.workerHung(which, message),
    recovered: () => {
      this.host.down(undefined);
      this.host.hung(undefined);
    },
  });
  /** inference workers in a row found stuck in a run (reset by a result): the replacement's back-off */
  private hangs = 0;
  /** the page's resources sampled for the health engine while running (a reactive controller of the element) */
  private readonly sampler: ResourceSampler;
  /** the spare inference worker (with `standby`), and what the running one loaded */
  private readonly spare: Standby;
  private loaded?: LoadRequest;
  /** the reference model's worker, while one runs */
  private reference?: Reference;
  private challenger?: Challenger;

  constructor(
    private readonly el: PipelineElement,
    private readonly host: PipelineHost,
  ) {
    this.sampler = new ResourceSampler(el, (now) => this.supervisor.downtime.take(now));
    this.spare = new Standby((n) => `inference-monitor:${el.sourceId}:spare:${n}`);
  }

  /** Starts (or restarts) the pipeline. Never rejects: failures go to the `error` event and the element's error state. */
  async start(): Promise<boolean> {
    this.supervisor.downtime.reset(Date.now());
    this.hangs = 0;
    return this.launch();
  }

  /** True while a spare inference worker is loaded and standing by. */
  get standbyReady(): boolean {
    return this.spare.ready;
  }

  /** `standby` changed while running: a spare is loaded with the running model, or the one there ends. */
  standbyChanged() {
    if (!this.loaded) return;
    if (this.el.standby) this.spare.prepare(this.loaded, STANDBY_DELAY_MS);
    else this.spare.discard();
  }

  /** Gives the inference worker `api` the near-miss floor: the close-to-threshold floor of the flag `rules` at the threshold. */
  nearMissFloor(api: InferenceClient, rules: FlagRule[]) {
    return api.setNearMissFloor(closeToThresholdFloor(rules, this.el.threshold));
  }

  /** Builds the pipeline (after `dead`, a worker that died, without waiting on it). */
  private async launch(dead?: WorkerName): Promise<boolean> {
    const launch = ++this.launches;
    await this.halt(dead);
    if (launch !== this.launches) return false; // a later start() (or rebuild) took over while this one stopped the last
    const run = ++this.run;
    // a stop() (or the element leaving the page) while loading: a worker that is gone never answers
    const stopped = new Promise<never>((_, reject) => this.onHalt.push(() => reject(new MonitorError('worker-failed', 'stopped while starting'))));
    stopped.catch(() => {});
    this.host.loading(dead ? `Restarting (the ${dead} worker died)…` : 'Loading model…');
    try {
      checkAttributes(this.el); // before anything starts
      // no model: the bundled one (its manifest in the code, its file wherever the bundler put it)
      const manifestUrl = this.el.model ? new URL(this.el.model, document.baseURI).href : 'bundled:centernet-coco.json';
      const bundled = this.el.model ? undefined : { manifest: DEFAULT_MODEL_MANIFEST, fileUrl: DEFAULT_MODEL_FILE };
      // each worker holds a Web Lock for life: the supervisor sees it released the moment the worker is gone
      const inference = spawnInferenceWorker(`inference-monitor:${this.el.sourceId}:inference:${++this.workerSeq}`);
      ({ worker: this.worker, api: this.api } = inference);
      const runTimeoutMs = this.el.runTimeout ? this.el.runTimeout * 1000 : undefined;
      const request: LoadRequest = { manifestUrl, backend: this.el.backend as BackendChoice, threads: this.el.threads ?? undefined, bundled, ...(runTimeoutMs ? { runTimeoutMs } : {}) };
      if (runTimeoutMs) await this.api.setRunTimeout(runTimeoutMs);
      const onProgress = Comlink.proxy((p: LoadProgress) => {
        if (run !== this.run) return;
        this.host.progress(
          p.phase === 'download'
            ? `Downloading model… ${p.total ? `${Math.round((100 * (p.loaded ?? 0)) / p.total)}%` : `${((p.loaded ?? 0) / 1e6).toFixed(1)} MB`}`
            : p.phase === 'compile'
              ? 'Preparing model…'
              : 'Loading manifest…',
        );
      });
      const [ready, stream] = await Promise.all([
        Promise.race([this.api.load(request.manifestUrl, request.backend, onProgress, request.threads, request.bundled), inference.failed, stopped]),
        openCamera({ camera: this.el.camera, width: this.el.width, height: this.el.height }),
      ].map((p) => p.catch((e) => ({ failed: e }))) as [Promise<ReadyInfo | { failed: unknown }>, Promise<MediaStream | { failed: unknown }>]);
      if ('failed' in stream) throw stream.failed;
      if (run !== this.run) {
        closeCamera(stream); // stopped meanwhile: the camera this start opened goes too
        return false;
      }
      this.stream = stream;
      if ('failed' in ready) throw ready.failed;
      const deployment = (await this.api.setThreshold(this.el.threshold)) ?? ready.deployment;
      const video = this.el.renderRoot.querySelector('video')!;
      const track = stream.getVideoTracks()[0]!;
      const readable = frameStream(track);
      // the 'inferred' view draws each judged frame in the frame worker: no <video> to decode and composite
      this.offscreenOverlay = typeof HTMLCanvasElement.prototype.transferControlToOffscreen === 'function';
      const view = this.el.view === 'live' || !readable || !this.offscreenOverlay ? 'live' : 'inferred';
      video.hidden = view !== 'live';
      if (view === 'live') {
        video.srcObject = stream;
        await video.play().catch(() => {});
      }
      this.viewMode = view;
      if (run !== this.run) return false; // stopped meanwhile (what this start made is gone with it)
      const { port: port2, held: framesHeld, lock: framesLock } = await this.startFrameWorker(ready.prep, view);
      if (readable) await this.attachStream(run, track, readable);
      else this.startFallbackLoop(run, video);
      if (this.el.record !== 'off') {
        // frame results go from the inference worker straight to the hub worker, which records them
        const store = await getHub();
        await this.connectRecords(this.api, store);
        await this.host.subscriptions.storage(store, () => run === this.run);
        const baseline = baselineDuration(this.el);
        if (baseline && 'invalid' in baseline) this.host.emit('error', { code: 'attribute-invalid', message: baseline.invalid, fatal: false });
        else if (baseline) await store.setBaselineDuration(baseline.ms);
        await this.host.subscriptions.alerts(store);
        await this.host.subscriptions.sync(store, ready);
        if (this.el.flagging !== 'off') {
          await this.connectFlagging(store);
          await store.noteLabels(ready.modelVersion, ready.labels);
          await this.nearMissFloor(this.api, await store.flagRules());
          await this.host.subscriptions.flagged(store);
        }
        this.sampler.start(() => run === this.run, shortVersion(ready.modelVersion));
        if (this.el.notify && typeof Notification !== 'undefined' && Notification.permission === 'default') void Notification.requestPermission().catch(() => {});
      }
      const runs = await this.runProbe(this.api);
      await this.attachInference(this.api, port2, run);
      if (run !== this.run) return false;
      this.host.running(ready);
      // from now on a lost camera, a dead worker or a stuck run is survived (before, it fails the start)
      this.supervisor.watchCamera(track);
      this.supervisor.watchWorker(this.worker, 'inference', inference.lock, inference.held, runs);
      this.loaded = request;
      if (this.el.standby) this.spare.prepare(request, STANDBY_DELAY_MS);
      this.supervisor.watchWorker(this.frameWorker!, 'frames', framesLock, framesHeld);
      if (this.el.referenceModel && this.el.record !== 'off') this.startReference(run, ready, deployment);
      if (this.el.challengerModel) this.challenger = launchChallenger({ lockName: `inference-monitor:${this.el.sourceId}:challenger:${++this.workerSeq}`, sourceId: this.el.sourceId, camera: this.el.cameraId ?? '', el: this.el, champion: { ...request, version: ready.modelVersion }, frames: () => this.frames, current: () => run === this.run, delayMs: STANDBY_DELAY_MS, summary: (s) => this.host.emit('challenger', s), failed: (e) => this.host.emit('error', { ...e, fatal: false }) });
      this.host.emit('ready', {
        backend: ready.backend,
        threads: ready.threads,
        modelVersion: ready.modelVersion,
        deployment,
        ...(ready.fallbackReason ? { fallbackReason: ready.fallbackReason } : {}),
        adapter: ready.adapter,
        warnings: ready.warnings,
        modelId: ready.modelId,
        labels: ready.labels,
      });
      return true;
    } catch (e) {
      if (run === this.run) {
        this.host.fail({ ...toErrorInfo(e, 'worker-failed'), fatal: true });
      }
      return false;
    }
  }

  /**
   * Starts the reference model (`reference-model`) once the pipeline has run a little (as the spare does):
   * its failure is reported, not fatal — the deployed model goes on without it.
   */
  private startReference(run: number, ready: ReadyInfo, deployment: string) {
    const reference = (this.reference = new Reference(`inference-monitor:${this.el.sourceId}:reference:${++this.workerSeq}`));
    const budget = this.el.referenceBudget ?? DEFAULT_REFERENCE_BUDGET;
    setTimeout(() => {
      if (run !== this.run || this.reference !== reference || !this.frames) return;
      void getHub()
        .then((hub) =>
          reference.start({
            manifestUrl: new URL(this.el.referenceModel!, document.baseURI).href,
            frames: this.frames!,
            hub,
            sourceId: this.el.sourceId,
            tags: this.el.tags,
            threshold: this.el.threshold,
            budget,
            deployed: { modelVersion: ready.modelVersion, deployment },
            current: () => run === this.run && this.reference === reference,
            ...(this.el.runTimeout ? { runTimeoutMs: this.el.runTimeout * 1000 } : {}),
            hung: (message) => {
              if (run === this.run) this.host.emit('error', { code: 'inference-timeout', message, fatal: false });
            },
          }),
        )
        .catch((e) => {
          if (run === this.run) this.host.emit('error', { ...toErrorInfo(e, 'worker-failed'), fatal: false });
        });
    }, STANDBY_DELAY_MS);
  }

  /** Stops the pipeline; a `dead` worker is not waited on. */
  async halt(dead?: WorkerName): Promise<void> {
    this.run++;
    this.reference?.stop(this.frames);
    this.reference = undefined;
    this.challenger?.stop(this.frames);
    this.challenger = undefined;
    for (const stop of this.onHalt.splice(0)) stop();
    this.supervisor.disarm();
    this.spare.discard();
    this.loaded = undefined;
    this.host.down(undefined);
    this.host.hung(undefined);
    this.sampler.stop(!dead); // a crash's gap is down time (frames-stalled fires); a stop or restart on purpose is not
    if (this.fallbackLoop) cancelAnimationFrame(this.fallbackLoop);
    this.fallbackLoop = undefined;
    closeCamera(this.stream);
    this.stream = undefined;
    const src = this.el.sourceId;
    void getHub().then((s) => s.unregisterMonitor(src)).catch(() => undefined);
    const { api, worker, frames, frameWorker } = this;
    this.api = undefined;
    this.worker = undefined;
    this.frames = undefined;
    this.frameWorker = undefined;
    const settle = (p: Promise<unknown> | undefined) => Promise.race([p?.catch(() => {}), new Promise((r) => setTimeout(r, 1000))]);
    await Promise.all([dead === 'frames' ? undefined : settle(frames?.detach()), dead === 'inference' ? undefined : settle(api?.dispose())]);
    frames?.[Comlink.releaseProxy]();
    api?.[Comlink.releaseProxy]();
    frameWorker?.terminate();
    worker?.terminate();
    const video = this.el.renderRoot?.querySelector('video');
    if (video) video.srcObject = null;
    if (this.el.state === 'running' || this.el.state === 'loading') this.el.state = 'stopped';
  }

  private startFallbackLoop(run: number, video: HTMLVideoElement) {
    // No MediaStreamTrackProcessor: grab each new video frame as an ImageBitmap and transfer it.
    const rvfc = (video as HTMLVideoElement & { requestVideoFrameCallback?: (cb: (now: number, meta: { captureTime?: number }) => void) => number })
      .requestVideoFrameCallback;
    const tick = (_now: number, meta?: { captureTime?: number }) => {
      if (run !== this.run || !this.frames) return;
      const capture = meta?.captureTime !== undefined ? performance.timeOrigin + meta.captureTime : undefined;
      createImageBitmap(video)
        .then((bmp) => this.frames?.submit(Comlink.transfer(bmp, [bmp]), capture))
        .catch(() => {});
      if (rvfc) rvfc.call(video, tick);
      else this.fallbackLoop = requestAnimationFrame((t) => tick(t));
    };
    if (rvfc) rvfc.call(video, tick);
    else this.fallbackLoop = requestAnimationFrame((t) => tick(t));
  }

  /**
   * Frames: camera → frame worker (reads, prepares the latest) → inference worker, over their own channel.
   * Starts a frame worker drawing on a fresh canvas; returns the channel's port for the inference worker and
   * the Web Lock the worker holds for life (once `held`).
   */
  private async startFrameWorker(prep: ReadyInfo['prep'], view: 'live' | 'inferred') {
    const started = startFrameWorker();
    this.frameWorker = started.worker;
    const frames = (this.frames = started.api);
    const lock = `inference-monitor:${this.el.sourceId}:frames:${++this.workerSeq}`;
    const held = frames.holdLifeLock(lock);
    const { port1, port2 } = new MessageChannel();
    // Boxes are drawn by the frame worker on a transferred canvas; a fresh canvas each start, since a
    // canvas can be transferred only once. Without OffscreenCanvas the page draws them.
    const stage = this.el.renderRoot.querySelector('.stage')!;
    this.el.renderRoot.querySelector('canvas')?.remove();
    const canvas = document.createElement('canvas');
    canvas.setAttribute('part', 'overlay');
    stage.append(canvas);
    if (this.offscreenOverlay) {
      const overlay = canvas.transferControlToOffscreen();
      await frames.connect(Comlink.transfer(port1, [port1]), prep, Comlink.transfer(overlay, [overlay]), view);
    } else await frames.connect(Comlink.transfer(port1, [port1]), prep);
    return { port: port2, held, lock };
  }

  /**
   * The frame worker died while running: only it is replaced (same camera, model and inference worker) —
   * no model to reload. Anything failing here rebuilds the whole pipeline.
   */
  private async replaceFrameWorker() {
    const run = this.run;
    const ready = this.el.readyInfo!;
    const { frames, frameWorker } = this;
    frames?.[Comlink.releaseProxy]();
    frameWorker?.terminate();
    try {
      const { port, held, lock } = await this.startFrameWorker(ready.prep, this.viewMode);
      if (run !== this.run) return;
      const track = this.stream?.getVideoTracks()[0];
      const readable = track?.readyState === 'live' ? frameStream(track) : undefined; // ended: the new camera will be attached
      if (track && readable) await this.attachStream(run, track, readable);
      if (this.el.record !== 'off' && this.el.flagging !== 'off') {
        await this.connectFlagging(await getHub());
      }
      if (run !== this.run) return;
      // the reference model's channel died with the old frame worker: connected to the new one (its failure is reported, not fatal)
      await this.reference?.reconnect(this.frames!).catch((e) => this.host.emit('error', { ...toErrorInfo(e, 'worker-failed'), message: `reference model: ${toErrorInfo(e, 'worker-failed').message}`, fatal: false }));
      await this.challenger?.reconnect(this.frames!).catch((e) => this.host.emit('error', { ...toErrorInfo(e, 'worker-failed'), message: `challenger model: ${toErrorInfo(e, 'worker-failed').message}`, fatal: false }));
      await this.attachInference(this.api!, port, run);
      if (run === this.run) this.supervisor.watchWorker(this.frameWorker!, 'frames', lock, held);
    } catch {
      if (run === this.run) void this.launch('frames');
    }
  }

  /**
   * The inference worker died while running: the spare on standby (same model, loaded and run once) takes
   * its place on the same frame worker, camera and store — else the whole pipeline is rebuilt.
   */
  private async replaceInferenceWorker() {
    const run = this.run;
    const request = this.loaded;
    const ready = this.el.readyInfo;
    const spare = this.el.standby && ready && this.frames ? await this.spare.take(ready.modelVersion) : undefined;
    if (!spare || run !== this.run || !request) {
      if (spare) endWorker(spare);
      if (run === this.run) void this.launch('inference');
      return;
    }
    const { worker, api } = this;
    if (worker && api) endWorker({ worker, api });
    await this.putInferenceWorker(spare, run, request);
  }

  /**
   * The inference worker is stuck in a run (the page's watchdog: no answer within its run timeout): it is
   * ended at once (it holds a core), and after a back-off (1 s, doubling for each stuck one in a row, up to
   * 60 s) the spare takes its place or, without one, a new worker loads the model — on the same frame worker,
   * camera, store and reference model. Each stuck worker is reported; none is retried faster than the back-off.
   */
  private async workerHung(which: WorkerName, message: string) {
    if (this.el.state !== 'running' || which !== 'inference') return;
    const run = this.run;
    const attempt = ++this.hangs;
    this.host.emit('error', { code: 'inference-timeout', message: `${message}: the worker is ended and another started`, fatal: false, worker: 'inference' });
    const { worker, api } = this;
    this.worker = undefined;
    this.api = undefined;
    if (worker && api) endWorker({ worker, api });
    const wait = hangBackoffMs(attempt);
    this.host.hung({ message, attempt, retryAt: Date.now() + wait });
    await new Promise((r) => setTimeout(r, wait));
    const request = this.loaded;
    const ready = this.el.readyInfo;
    if (run !== this.run || !request || !ready || !this.frames) return;
    let next: Spare | undefined = this.el.standby ? await this.spare.take(ready.modelVersion) : undefined;
    try {
      next ??= await loadInferenceWorker(`inference-monitor:${this.el.sourceId}:inference:${++this.workerSeq}`, request, false);
    } catch {
      if (run === this.run) void this.launch('inference'); // the model cannot load any more: the whole start again (it reports why)
      return;
    }
    if (run !== this.run || next.ready.modelVersion !== ready.modelVersion) {
      endWorker(next);
      if (run === this.run) void this.launch('inference');
      return;
    }
    await this.putInferenceWorker(next, run, request);
  }

  /** Puts a loaded inference worker in the place of the one that died or hung: same frame worker, camera and store. */
  private async putInferenceWorker(next: Spare, run: number, request: LoadRequest) {
    ({ worker: this.worker, api: this.api } = next);
    try {
      await next.api.setThreshold(this.el.threshold);
      const { port1, port2 } = new MessageChannel();
      await this.frames!.reconnect(Comlink.transfer(port1, [port1]));
      if (this.el.record !== 'off') {
        const store = await getHub();
        await this.connectRecords(next.api, store);
        if (this.el.flagging !== 'off') await this.nearMissFloor(next.api, await store.flagRules());
      }
      if (run !== this.run) return;
      const runs = await this.runProbe(next.api);
      await this.attachInference(next.api, port2, run);
      if (run !== this.run) return;
      this.supervisor.watchWorker(next.worker, 'inference', next.lock, next.held, runs);
      if (this.el.standby) this.spare.prepare(request, STANDBY_DELAY_MS); // the next spare
    } catch {
      if (run === this.run) void this.launch('inference');
    }
  }

  /** How the supervisor's watchdog asks the inference worker `api` for its run timeout (run-watchdog.ts), with the first answer. */
  private async runProbe(api: InferenceClient): Promise<RunProbe> {
    return { probe: () => api.runTimeout(), boundMs: await api.runTimeout() };
  }

  /** Frame results go from the inference worker `api` straight to the hub worker, which records them (the page never handles them). */
  private async connectRecords(api: InferenceClient, store: HubClient) {
    const ch = new MessageChannel();
    await store.connect(Comlink.transfer(ch.port1, [ch.port1]));
    await api.attachStore(Comlink.transfer(ch.port2, [ch.port2]), this.el.sourceId, this.el.tags);
  }

  /** The hub worker flags; this monitor's frame worker holds the judged frames and encodes those flagged: a channel between the two. */
  private async connectFlagging(store: HubClient) {
    const ch = new MessageChannel();
    await store.connectFrames(Comlink.transfer(ch.port1, [ch.port1]), this.el.sourceId);
    await this.frames!.attachFlagPort(Comlink.transfer(ch.port2, [ch.port2]));
  }

  /** Starts the inference worker `api` on the frame worker's channel `port`; its results and failures count while `run` is current. */
  private attachInference(api: InferenceClient, port: MessagePort, run: number) {
    return api.attach(
      Comlink.transfer(port, [port]),
      Comlink.proxy((r: InferenceResult) => this.onResult(run, r)),
      Comlink.proxy((e: MonitorErrorDetail) => {
        if (run === this.run) this.host.fail(e);
      }),
    );
  }

  /** The camera's frames go to the frame worker; a stream that fails is a failure of the camera. */
  private attachStream(run: number, track: MediaStreamTrack, readable: ReadableStream<VideoFrame>) {
    return this.frames!.attachStream(
      Comlink.transfer(readable, [readable as unknown as Transferable]),
      Comlink.proxy((message: string) => run === this.run && this.host.fail({ code: 'camera-failed', message, fatal: true })),
      track.getSettings().frameRate,
    );
  }

  /** The camera's track ended or was muted: "camera down" shown and a `camera-lost` event, once per reason. */
  private onCameraDown(reason: CameraDownReason, message: string) {
    if (this.el.cameraDown?.reason === reason) return;
    this.host.down({ reason, message, since: this.supervisor.downtime.current?.since ?? Date.now() });
    this.host.emit('error', { code: 'camera-lost', message, fatal: false, reason });
  }

  /** Opens a camera again (its track ended) and feeds it to the running pipeline; false while none opens. */
  private async reopenCamera(): Promise<boolean> {
    const run = this.run;
    if (this.el.state !== 'running' || !this.frames) return true; // stopped or rebuilt meanwhile: nothing to do
    let stream: MediaStream;
    try {
      stream = await openCamera({ camera: this.el.camera, width: this.el.width, height: this.el.height });
    } catch {
      return false;
    }
    if (run !== this.run || !this.frames) {
      closeCamera(stream);
      return true;
    }
    closeCamera(this.stream);
    this.stream = stream;
    const track = stream.getVideoTracks()[0]!;
    const video = this.el.renderRoot.querySelector('video')!;
    if (this.viewMode === 'live') {
      video.srcObject = stream; // without MediaStreamTrackProcessor the fallback loop reads the video: it goes on with the new stream
      await video.play().catch(() => {});
    }
    const readable = frameStream(track);
    if (readable) await this.attachStream(run, track, readable);
    if (run === this.run) this.supervisor.watchCamera(track);
    return true;
  }

  /** A result of run `run`: frames flow (the pipeline is up), one more for the sampler, and the element shows it. */
  private onResult(run: number, r: InferenceResult) {
    if (run !== this.run) return;
    this.hangs = 0;
    this.supervisor.framesFlow(r.captureEpoch ?? r.handoffEpoch);
    this.sampler.counted();
    this.host.result(r);
  }

  /** A worker died while running: `worker-crashed` (not fatal); the frame worker is replaced, after the inference worker the pipeline is rebuilt. */
  private workerDied(which: WorkerName, message: string) {
    if (this.el.state !== 'running') return;
    this.host.emit('error', { code: 'worker-crashed', message, fatal: false, worker: which });
    if (which === 'frames' && this.api && this.el.readyInfo) void this.replaceFrameWorker();
    else void this.replaceInferenceWorker();
  }
}
