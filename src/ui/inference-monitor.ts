import * as Comlink from 'comlink';
import { html, LitElement, nothing, type PropertyValues } from 'lit';
import { monitorStyles } from './monitor-styles.ts';
import { closeCamera, frameStream, openCamera } from '../capture/camera.ts';
import type { BackendChoice, LoadProgress } from '../inference/engine.ts';
import { MonitorError, type MonitorErrorCode, toErrorInfo } from '../lib/errors.ts';
import { shortVersion } from '../inference/manifest.ts';
import { DEFAULT_MODEL_FILE, DEFAULT_MODEL_MANIFEST } from '../inference/default-model.ts';
import type { AlertDetail, FlaggedDetail, InferenceMonitorEventMap, MonitorErrorDetail, ReadyDetail } from './monitor-events.ts';
import type { InferenceResult, ReadyInfo } from '../inference/protocol.ts';
import type { InferenceClient } from '../inference/client.ts';
import { type FrameClient, startFrameWorker } from '../capture/frame-client.ts';
import { epochNow } from '../lib/epoch-now.ts';
import { drawDetections } from '../lib/draw-detections.ts';
import './health-panel.ts';
import { getHub, type HubClient } from '../hub/client.ts';
import { checkAnnotation } from '../store/annotations.ts';
import { uuidv7 } from '../lib/uuidv7.ts';
import type { Tags } from '../telemetry/record.ts';
import { ResourceSampler } from './monitor/resource-sampler.ts';
import type { AlertEvent, Baseline, Signal, Vitals } from '../health/engine.ts';
import type { AlertRule } from '../health/rules.ts';
import type { FlaggedFrame, FlagRule } from '../flagging/types.ts';
import type { FlaggedQuery } from '../flagging/flag-db.ts';
import type { FlagSettings } from '../flagging/flagger.ts';
import { HubSubscriptions } from './monitor/hub-subscriptions.ts';
import { closeToThresholdFloor } from '../flagging/rules.ts';
import type { CameraDownReason } from '../capture/camera-watch.ts';
import { PipelineSupervisor, type WorkerName } from './monitor/pipeline-supervisor.ts';
import { endWorker, type LoadRequest, spawnInferenceWorker, Standby } from './monitor/standby.ts';
import type { SyncStatus } from '../sync/outbox.ts';
import { baselineDuration, checkAttributes, otlpConfig, syncConfig, tagsOf, validThreshold } from './monitor/attributes.ts';

export type MonitorState = 'idle' | 'loading' | 'running' | 'error' | 'stopped';
/** The camera is down: its track ended (a camera is asked for again) or is muted (frames resume when it unmutes). */
export interface CameraDown {
  reason: CameraDownReason;
  /** epoch ms */
  since: number;
  message: string;
}
export type { MonitorErrorDetail };

/** `model` when none is set: the bundled default model (CenterNet COCO), served from wherever the host's bundler put it. */
export const DEFAULT_MODEL = '';

/** a spare inference worker is loaded this long after the pipeline starts, not competing with its start */
const STANDBY_DELAY_MS = 3000;


/**
 * `<inference-monitor>`: runs an ONNX vision model in a worker on webcam frames, shows the video with
 * boxes, and emits `ready`, `inference` and `error` events (bubbling, composed).
 */
export class InferenceMonitor extends LitElement {
  static override properties = {
    model: { type: String, reflect: true },
    backend: { type: String, reflect: true },
    camera: { type: String, reflect: true },
    width: { type: Number, reflect: true },
    height: { type: Number, reflect: true },
    threshold: { type: Number, reflect: true },
    threads: { type: Number, reflect: true },
    standby: { type: Boolean, reflect: true },
    autostart: { type: Boolean, reflect: true },
    cameraId: { type: String, reflect: true, attribute: 'camera-id' },
    location: { type: String, reflect: true },
    deviceId: { type: String, reflect: true, attribute: 'device-id' },
    metadata: { attribute: false },
    record: { type: String, reflect: true },
    flagging: { type: String, reflect: true },
    syncUrl: { type: String, reflect: true, attribute: 'sync-url' },
    syncToken: { type: String, attribute: 'sync-token' },
    syncInterval: { type: Number, reflect: true, attribute: 'sync-interval' },
    syncImages: { type: Boolean, reflect: true, attribute: 'sync-images' },
    otlpUrl: { type: String, reflect: true, attribute: 'otlp-url' },
    otlpToken: { type: String, attribute: 'otlp-token' },
    baselineMinutes: { type: Number, reflect: true, attribute: 'baseline-minutes' },
    notify: { type: Boolean, reflect: true },
    panel: { type: String, reflect: true },
    view: { type: String, reflect: true },
    theme: { type: String, reflect: true },
    state: { type: String, reflect: true, attribute: 'state' },
    _progress: { state: true },
    _error: { state: true },
    _ready: { state: true },
    _fps: { state: true },
    _flagNote: { state: true },
    _down: { state: true },
  };

  // Reactive properties are declared, not initialised as class fields: a class field would shadow
  // Lit's accessors under standard (define) class-field semantics.
  /** manifest URL (default: the bundled COCO model) */
  declare model?: string;
  declare backend: string;
  declare camera: string;
  declare width: number;
  declare height: number;
  declare threshold: number;
  /** WASM threads (1–16); unset: as many as the machine has cores, up to 4 (needs cross-origin isolation) */
  declare threads?: number;
  /**
   * keep a spare inference worker loaded with the model, idle: if the running one dies, the spare takes
   * over within 2 s instead of a new one loading the model (costs a second model session's memory)
   */
  declare standby: boolean;
  declare autostart: boolean;
  /** metadata tags recorded with every frame */
  declare cameraId?: string;
  declare location: string;
  declare deviceId?: string;
  /** free key/values recorded with every frame (besides camera_id, location, device_id) */
  declare metadata: Record<string, string>;
  /** 'on' (default): record every frame to IndexedDB; 'off': do not */
  declare record: string;
  /** 'on' (default, with recording): keep frames the flag rules pick for labelling; 'off': keep none */
  declare flagging: string;
  /** a fleet server's batch endpoint (e.g. http://127.0.0.1:8787/v1/batches): summaries sync there (page-wide) */
  declare syncUrl?: string;
  /** its bearer token (or a `<meta name="inference-monitor-sync-token" content="…">` the host renders) */
  declare syncToken?: string;
  /** seconds between batches (default 60) */
  declare syncInterval?: number;
  /** also send flagged frames' JPEGs */
  declare syncImages: boolean;
  /** an OpenTelemetry Collector's OTLP/HTTP metrics endpoint (e.g. http://127.0.0.1:4318/v1/metrics): the rollups go there too (page-wide) */
  declare otlpUrl?: string;
  /** its bearer token, if it wants one */
  declare otlpToken?: string;
  /** minutes of frames a new baseline is captured from (default 5; page-wide) */
  declare baselineMinutes?: number;
  /** show a browser notification when an alert fires (asks for permission on start) */
  declare notify: boolean;
  /** 'on' (default): the health panel beside the video; 'off': video only */
  declare panel: string;
  /**
   * 'inferred' (default): the frame the model judged, with its boxes (in step with them, at the inference
   * rate); 'live': the camera's video at its own rate, with the latest boxes over it (they lag by the
   * inference time). Browsers without MediaStreamTrackProcessor or OffscreenCanvas always show 'live'.
   */
  declare view: string;
  /** the panel's theme: 'auto' (default, the system's), 'dark' or 'light' */
  declare theme: string;
  /** one per monitor instance: tells its records apart from other tabs' and monitors' */
  readonly sourceId = uuidv7();
  declare state: MonitorState;
  declare private _progress: string;
  declare private _error?: MonitorErrorDetail;
  declare private _ready?: ReadyInfo;
  declare private _fps: number;
  declare private _flagNote: string;
  declare private _down?: CameraDown;

  constructor() {
    super();
    this.backend = 'auto';
    this.camera = 'default';
    this.width = 640;
    this.height = 480;
    this.threshold = 0.3;
    this.autostart = false;
    this.standby = false;
    this.metadata = {};
    this.record = 'on';
    this.flagging = 'on';
    this.syncImages = false;
    this._flagNote = '';
    this.notify = false;
    this.panel = 'on';
    this.view = 'inferred';
    this.theme = 'auto';
    this.state = 'idle';
    this._progress = '';
    this._fps = 0;
  }

  private worker?: Worker;
  private api?: InferenceClient;
  private frameWorker?: Worker;
  private frames?: FrameClient;
  private stream?: MediaStream;
  private run = 0;
  /** starts asked for: only the latest builds a pipeline */
  private launches = 0;
  /** what ends the starts in progress when the pipeline is stopped */
  private onHalt: (() => void)[] = [];
  private last?: InferenceResult;
  private drawPending = false;
  private fallbackLoop?: number;
  private lastResultAt = 0;
  /** main-thread ms per frame (result handling + drawing), last 512 frames */
  private mainThreadMs: number[] = [];
  private pendingMainMs = 0;
  private fpsEstimate = 0;
  private offscreenOverlay = false;
  private barUpdatedAt = 0;
  /** what the hub tells this monitor (alerts, flagged frames, sync and storage errors), as its events */
  private readonly subscriptions = new HubSubscriptions(this, (type, detail) => this.emit(type, detail));
  private flagNoteTimer?: ReturnType<typeof setTimeout>;
  /** watches the camera and the workers, counts down time; the element does what it says */
  private readonly supervisor = new PipelineSupervisor({
    cameraDown: (reason, message) => this.onCameraDown(reason, message),
    reopenCamera: () => this.reopenCamera(),
    workerDied: (which, message) => this.workerDied(which, message),
    recovered: () => (this._down = undefined),
  });
  /** the page's resources sampled for the health engine while running (a reactive controller) */
  private readonly sampler = new ResourceSampler(this, (now) => this.supervisor.downtime.take(now));
  private viewMode: 'live' | 'inferred' = 'live';
  private workerSeq = 0;
  /** the spare inference worker (with `standby`), and what the running one loaded */
  private readonly spare = new Standby((n) => `inference-monitor:${this.sourceId}:spare:${n}`);
  private loaded?: LoadRequest;

  /** The latest result, for hosts that poll rather than listen. */
  get lastResult(): InferenceResult | undefined {
    return this.last;
  }
  /** The page's store (shared by every monitor on it): totals, percentiles, series, log, usage. */
  store(): Promise<HubClient> {
    return getHub();
  }

  /** This monitor's stream: its model version (short) and camera_id, as the health engine keys them. */
  private streamFilter() {
    return { ...(this._ready ? { mv: this._ready.modelVersion.slice(0, 12) } : {}), camera_id: this.cameraId ?? '' };
  }

  /** Live vital signs of this monitor's stream (last minute vs baseline), or undefined before frames flow. */
  async vitals(): Promise<(Vitals & { backend?: string; adapter?: unknown; fallbackReason?: string }) | undefined> {
    const v = (await (await getHub()).vitals(this.streamFilter()))[0];
    const r = this._ready;
    return v && { ...v, ...(r ? { backend: r.backend, adapter: r.adapter, ...(r.fallbackReason ? { fallbackReason: r.fallbackReason } : {}) } : {}) };
  }
  /** Every rule's latest value, threshold and status for this monitor's stream (drift signals included). */
  async signals(): Promise<Signal[]> {
    return (await getHub()).signals(this.streamFilter());
  }
  /** The page's alert rules. */
  async rules(): Promise<AlertRule[]> {
    return (await getHub()).rules();
  }
  /** Replaces the page's alert rules (validated: rejects with a TypeError naming the bad rule; kept in IndexedDB). */
  async setRules(rules: AlertRule[]): Promise<AlertRule[]> {
    return (await getHub()).setRules(rules);
  }
  /** Alert history of this monitor's camera, newest first (pass `next` back as `before` for the next page). */
  async alerts(q: { from?: number; to?: number; rule?: string; before?: string; limit?: number } = {}) {
    return (await getHub()).alerts({ camera_id: this.cameraId ?? '', ...q });
  }
  /** "Mark current as healthy": the last baseline-length of frames becomes this stream's baseline. */
  async markHealthy(): Promise<Baseline | undefined> {
    return (await (await getHub()).markHealthy(this.streamFilter()))[0];
  }
  /** Forgets this stream's baseline; a new one is captured from the next frames. */
  async resetBaseline(): Promise<void> {
    await (await getHub()).resetBaseline(this.streamFilter());
  }
  // ---------- flagging ----------
  /** The page's flag rules (defaults until changed). */
  async flagRules(): Promise<FlagRule[]> {
    return (await getHub()).flagRules();
  }
  /** Replaces the page's flag rules (validated: rejects with a TypeError naming the bad rule and field; kept in IndexedDB). */
  async setFlagRules(rules: FlagRule[]): Promise<FlagRule[]> {
    const out = await (await getHub()).setFlagRules(rules);
    void this.api?.setNearMissFloor(closeToThresholdFloor(out, this.threshold));
    return out;
  }
  /** JPEG quality, the storage cap (frames, bytes) and near-duplicate suppression (page-wide). */
  async flagSettings(): Promise<FlagSettings> {
    return (await getHub()).flagSettings();
  }
  async setFlagSettings(s: Partial<FlagSettings>): Promise<FlagSettings> {
    return (await getHub()).setFlagSettings(s);
  }
  /**
   * Flags a frame for labelling by hand: `inferenceId` (one of the last few judged), or the frame on screen.
   * Resolves with the kept frame; rejects with a clear message when it cannot be kept.
   */
  async flag(inferenceId?: string): Promise<FlaggedFrame> {
    if (this.record === 'off' || this.flagging === 'off') throw new Error('flagging is off (record="off" or flagging="off")');
    return (await getHub()).flag(this.sourceId, inferenceId ?? this.last?.inferenceId);
  }
  /** Flagged frames kept on this origin, newest first (filters: reason, classId, camera_id, from/to; `next` pages). */
  async flagged(q: FlaggedQuery = {}) {
    return (await getHub()).flagged(q);
  }

  private async flagFromUi() {
    clearTimeout(this.flagNoteTimer);
    try {
      const f = await this.flag();
      this._flagNote = `Flagged (${f.reasons.join(', ')})`;
    } catch (e) {
      this._flagNote = `Not flagged: ${(e as Error).message}`;
    }
    this.flagNoteTimer = setTimeout(() => (this._flagNote = ''), 4000);
  }

  /** Alerts firing now on this monitor's stream. */
  get firingAlerts(): AlertEvent[] {
    return [...this.subscriptions.firing.values()];
  }

  /** The tags recorded with each frame. */
  get tags(): Tags {
    return tagsOf(this);
  }

  get readyInfo(): ReadyInfo | undefined {
    return this._ready;
  }
  get lastError(): MonitorErrorDetail | undefined {
    return this._error;
  }
  /** True while a spare inference worker is loaded and standing by (with `standby`, a few seconds after the start). */
  get standbyReady(): boolean {
    return this.spare.ready;
  }
  /** While the camera is down (its track ended or muted): why, since when (epoch ms) and what to tell; else undefined. */
  get cameraDown(): CameraDown | undefined {
    return this._down;
  }
  /** Main-thread milliseconds spent per frame by the monitor (handling a result and drawing it), recent frames. */
  get mainThreadCost(): readonly number[] {
    return this.mainThreadMs;
  }

  override connectedCallback() {
    super.connectedCallback();
    if (this.autostart) void this.start();
  }

  override disconnectedCallback() {
    super.disconnectedCallback();
    void this.stop();
  }

  protected override updated(changed: PropertyValues) {
    if (changed.has('threshold') && this.api && validThreshold(this.threshold)) {
      void this.api.setThreshold(this.threshold);
      if (this.flagging !== 'off' && this.record !== 'off') void this.flagRules().then((r) => this.api?.setNearMissFloor(closeToThresholdFloor(r, this.threshold)));
    }
    if (['cameraId', 'location', 'deviceId', 'metadata'].some((k) => changed.has(k)) && this.api) void this.api.setTags(this.tags);
    if (changed.has('standby') && this.loaded) {
      if (this.standby) this.spare.prepare(this.loaded, STANDBY_DELAY_MS);
      else this.spare.discard();
    }
  }

  /** Starts (or restarts) the pipeline. Never rejects: failures go to the `error` event and the element's error state. */
  async start(): Promise<boolean> {
    this.supervisor.downtime.reset(Date.now());
    return this.launch();
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
    this.state = 'loading';
    this._error = undefined;
    this._ready = undefined;
    this._progress = dead ? `Restarting (the ${dead} worker died)…` : 'Loading model…';
    try {
      checkAttributes(this); // before anything starts
      // no model: the bundled one (its manifest in the code, its file wherever the bundler put it)
      const manifestUrl = this.model ? new URL(this.model, document.baseURI).href : 'bundled:centernet-coco.json';
      const bundled = this.model ? undefined : { manifest: DEFAULT_MODEL_MANIFEST, fileUrl: DEFAULT_MODEL_FILE };
      // each worker holds a Web Lock for life: the supervisor sees it released the moment the worker is gone
      const inference = spawnInferenceWorker(`inference-monitor:${this.sourceId}:inference:${++this.workerSeq}`);
      ({ worker: this.worker, api: this.api } = inference);
      const request: LoadRequest = { manifestUrl, backend: this.backend as BackendChoice, threads: this.threads ?? undefined, bundled };
      const onProgress = Comlink.proxy((p: LoadProgress) => {
        if (run !== this.run) return;
        this._progress =
          p.phase === 'download'
            ? `Downloading model… ${p.total ? `${Math.round((100 * (p.loaded ?? 0)) / p.total)}%` : `${((p.loaded ?? 0) / 1e6).toFixed(1)} MB`}`
            : p.phase === 'compile'
              ? 'Preparing model…'
              : 'Loading manifest…';
      });
      const [ready, stream] = await Promise.all([
        Promise.race([this.api.load(request.manifestUrl, request.backend, onProgress, request.threads, request.bundled), inference.failed, stopped]),
        openCamera({ camera: this.camera, width: this.width, height: this.height }),
      ].map((p) => p.catch((e) => ({ failed: e }))) as [Promise<ReadyInfo | { failed: unknown }>, Promise<MediaStream | { failed: unknown }>]);
      if ('failed' in stream) throw stream.failed;
      if (run !== this.run) {
        closeCamera(stream); // stopped meanwhile: the camera this start opened goes too
        return false;
      }
      this.stream = stream;
      if ('failed' in ready) throw ready.failed;
      await this.api.setThreshold(this.threshold);
      const video = this.renderRoot.querySelector('video')!;
      const track = stream.getVideoTracks()[0]!;
      const readable = frameStream(track);
      // the 'inferred' view draws each judged frame in the frame worker: no <video> to decode and composite
      this.offscreenOverlay = typeof HTMLCanvasElement.prototype.transferControlToOffscreen === 'function';
      const view = this.view === 'live' || !readable || !this.offscreenOverlay ? 'live' : 'inferred';
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
      if (this.record !== 'off') {
        // frame results go from the inference worker straight to the hub worker, which records them
        const store = await getHub();
        await this.connectRecords(this.api, store);
        await this.subscriptions.storage(store, () => run === this.run);
        const baseline = baselineDuration(this);
        if (baseline && 'invalid' in baseline) this.emit('error', { code: 'attribute-invalid', message: baseline.invalid, fatal: false });
        else if (baseline) await store.setBaselineDuration(baseline.ms);
        await this.subscriptions.alerts(store);
        await this.subscriptions.sync(store, ready);
        if (this.flagging !== 'off') {
          // the hub worker flags; this monitor's frame worker holds the judged frames and encodes those flagged
          const fc = new MessageChannel();
          await store.connectFrames(Comlink.transfer(fc.port1, [fc.port1]), this.sourceId);
          await this.frames!.attachFlagPort(Comlink.transfer(fc.port2, [fc.port2]));
          await store.noteLabels(ready.modelVersion, ready.labels);
          await this.api.setNearMissFloor(closeToThresholdFloor(await store.flagRules(), this.threshold));
          await this.subscriptions.flagged(store);
        }
        this.sampler.start(() => run === this.run, ready.modelVersion.slice(0, 12));
        if (this.notify && typeof Notification !== 'undefined' && Notification.permission === 'default') void Notification.requestPermission().catch(() => {});
      }
      await this.attachInference(this.api, port2, run);
      if (run !== this.run) return false;
      this._ready = ready;
      this.state = 'running';
      this._progress = '';
      // from now on a lost camera or a dead worker is survived (before, it fails the start)
      this.supervisor.watchCamera(track);
      this.supervisor.watchWorker(this.worker, 'inference', inference.lock, inference.held);
      this.loaded = request;
      if (this.standby) this.spare.prepare(request, STANDBY_DELAY_MS);
      this.supervisor.watchWorker(this.frameWorker!, 'frames', framesLock, framesHeld);
      this.emit('ready', {
        backend: ready.backend,
        threads: ready.threads,
        modelVersion: ready.modelVersion,
        ...(ready.fallbackReason ? { fallbackReason: ready.fallbackReason } : {}),
        adapter: ready.adapter,
        warnings: ready.warnings,
        modelId: ready.modelId,
        labels: ready.labels,
      });
      return true;
    } catch (e) {
      if (run === this.run) {
        this.fail({ ...toErrorInfo(e, 'worker-failed'), fatal: true });
      }
      return false;
    }
  }

  /**
   * Attaches metadata to one of this monitor's inferences by its id, after the fact (e.g. the lot on the
   * belt, the operator's verdict): merged over earlier ones (null removes a key), shown in the inference log,
   * synced. Rejects with a TypeError naming a bad key or value.
   */
  async annotate(inferenceId: string, metadata: Record<string, string | number | boolean | null>) {
    checkAnnotation(inferenceId, metadata);
    return (await getHub()).annotate(this.sourceId, inferenceId, metadata);
  }

  /** The page's sync state: state, backlog (batches, bytes, oldest), counts, last success and last error. */
  async syncStatus(): Promise<SyncStatus | undefined> {
    return (await getHub()).syncStatus();
  }

  /** Stops the camera and the worker. */
  async stop(): Promise<void> {
    return this.halt();
  }

  /** Stops the pipeline; a `dead` worker is not waited on. */
  private async halt(dead?: WorkerName): Promise<void> {
    this.run++;
    for (const stop of this.onHalt.splice(0)) stop();
    this.supervisor.disarm();
    this.spare.discard();
    this.loaded = undefined;
    this._down = undefined;
    this.sampler.stop();
    if (this.fallbackLoop) cancelAnimationFrame(this.fallbackLoop);
    this.fallbackLoop = undefined;
    closeCamera(this.stream);
    this.stream = undefined;
    const src = this.sourceId;
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
    const video = this.renderRoot?.querySelector('video');
    if (video) video.srcObject = null;
    if (this.state === 'running' || this.state === 'loading') this.state = 'stopped';
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

  private onResult(run: number, r: InferenceResult) {
    if (run !== this.run) return;
    this.supervisor.framesFlow(r.captureEpoch ?? r.handoffEpoch);
    const t0 = performance.now();
    const now = epochNow();
    r.timings.total = now - (r.captureEpoch ?? r.handoffEpoch);
    if (this.lastResultAt) {
      const fps = 1000 / Math.max(1, now - this.lastResultAt);
      this.fpsEstimate = this.fpsEstimate ? this.fpsEstimate * 0.8 + fps * 0.2 : fps;
    }
    this.lastResultAt = now;
    this.sampler.counted();
    // the status bar re-renders at most twice a second, not per frame
    if (now - this.barUpdatedAt > 500) {
      this.barUpdatedAt = now;
      this._fps = this.fpsEstimate;
    }
    this.last = r;
    this.emit('inference', r);
    if (this.offscreenOverlay) this.mainThreadMs.push(performance.now() - t0);
    else if (!this.drawPending) {
      this.drawPending = true;
      requestAnimationFrame(() => {
        this.drawPending = false;
        const t1 = performance.now();
        this.draw();
        this.mainThreadMs.push(this.pendingMainMs + performance.now() - t1);
        if (this.mainThreadMs.length > 512) this.mainThreadMs.shift();
        this.pendingMainMs = 0;
      });
    }
    if (!this.offscreenOverlay) this.pendingMainMs += performance.now() - t0;
    if (this.mainThreadMs.length > 512) this.mainThreadMs.shift();
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
    const lock = `inference-monitor:${this.sourceId}:frames:${++this.workerSeq}`;
    const held = frames.holdLifeLock(lock);
    const { port1, port2 } = new MessageChannel();
    // Boxes are drawn by the frame worker on a transferred canvas; a fresh canvas each start, since a
    // canvas can be transferred only once. Without OffscreenCanvas the page draws them.
    const stage = this.renderRoot.querySelector('.stage')!;
    this.renderRoot.querySelector('canvas')?.remove();
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
    const ready = this._ready!;
    const { frames, frameWorker } = this;
    frames?.[Comlink.releaseProxy]();
    frameWorker?.terminate();
    try {
      const { port, held, lock } = await this.startFrameWorker(ready.prep, this.viewMode);
      if (run !== this.run) return;
      const track = this.stream?.getVideoTracks()[0];
      const readable = track?.readyState === 'live' ? frameStream(track) : undefined; // ended: the new camera will be attached
      if (track && readable) await this.attachStream(run, track, readable);
      if (this.record !== 'off' && this.flagging !== 'off') {
        const store = await getHub();
        const fc = new MessageChannel();
        await store.connectFrames(Comlink.transfer(fc.port1, [fc.port1]), this.sourceId);
        await this.frames!.attachFlagPort(Comlink.transfer(fc.port2, [fc.port2]));
      }
      if (run !== this.run) return;
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
    const spare = this.standby && this._ready && this.frames ? await this.spare.take(this._ready.modelVersion) : undefined;
    if (!spare || run !== this.run || !request) {
      if (spare) endWorker(spare);
      if (run === this.run) void this.launch('inference');
      return;
    }
    const { worker, api } = this;
    if (worker && api) endWorker({ worker, api });
    ({ worker: this.worker, api: this.api } = spare);
    try {
      await spare.api.setThreshold(this.threshold);
      const { port1, port2 } = new MessageChannel();
      await this.frames!.reconnect(Comlink.transfer(port1, [port1]));
      if (this.record !== 'off') {
        const store = await getHub();
        await this.connectRecords(spare.api, store);
        if (this.flagging !== 'off') await spare.api.setNearMissFloor(closeToThresholdFloor(await store.flagRules(), this.threshold));
      }
      if (run !== this.run) return;
      await this.attachInference(spare.api, port2, run);
      if (run !== this.run) return;
      this.supervisor.watchWorker(spare.worker, 'inference', spare.lock, spare.held);
      this.spare.prepare(request, STANDBY_DELAY_MS); // the next spare
    } catch {
      if (run === this.run) void this.launch('inference');
    }
  }

  /** Frame results go from the inference worker `api` straight to the hub worker, which records them (the page never handles them). */
  private async connectRecords(api: InferenceClient, store: HubClient) {
    const ch = new MessageChannel();
    await store.connect(Comlink.transfer(ch.port1, [ch.port1]));
    await api.attachStore(Comlink.transfer(ch.port2, [ch.port2]), this.sourceId, this.tags);
  }

  /** Starts the inference worker `api` on the frame worker's channel `port`; its results and failures count while `run` is current. */
  private attachInference(api: InferenceClient, port: MessagePort, run: number) {
    return api.attach(
      Comlink.transfer(port, [port]),
      Comlink.proxy((r: InferenceResult) => this.onResult(run, r)),
      Comlink.proxy((e: MonitorErrorDetail) => {
        if (run === this.run) this.fail(e);
      }),
    );
  }

  /** The camera's frames go to the frame worker; a stream that fails is a failure of the camera. */
  private attachStream(run: number, track: MediaStreamTrack, readable: ReadableStream<VideoFrame>) {
    return this.frames!.attachStream(
      Comlink.transfer(readable, [readable as unknown as Transferable]),
      Comlink.proxy((message: string) => run === this.run && this.fail({ code: 'camera-failed', message, fatal: true })),
      track.getSettings().frameRate,
    );
  }

  /** The camera's track ended or was muted: "camera down" shown and a `camera-lost` event, once per reason. */
  private onCameraDown(reason: CameraDownReason, message: string) {
    if (this._down?.reason === reason) return;
    this._down = { reason, message, since: this.supervisor.downtime.current?.since ?? Date.now() };
    this.emit('error', { code: 'camera-lost', message, fatal: false, reason });
  }

  /** Opens a camera again (its track ended) and feeds it to the running pipeline; false while none opens. */
  private async reopenCamera(): Promise<boolean> {
    const run = this.run;
    if (this.state !== 'running' || !this.frames) return true; // stopped or rebuilt meanwhile: nothing to do
    let stream: MediaStream;
    try {
      stream = await openCamera({ camera: this.camera, width: this.width, height: this.height });
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
    const video = this.renderRoot.querySelector('video')!;
    if (this.viewMode === 'live') {
      video.srcObject = stream; // without MediaStreamTrackProcessor the fallback loop reads the video: it goes on with the new stream
      await video.play().catch(() => {});
    }
    const readable = frameStream(track);
    if (readable) await this.attachStream(run, track, readable);
    if (run === this.run) this.supervisor.watchCamera(track);
    return true;
  }

  /** A worker died while running: `worker-crashed` (not fatal); the frame worker is replaced, after the inference worker the pipeline is rebuilt. */
  private workerDied(which: WorkerName, message: string) {
    if (this.state !== 'running') return;
    this.emit('error', { code: 'worker-crashed', message, fatal: false, worker: which });
    if (which === 'frames' && this.api && this._ready) void this.replaceFrameWorker();
    else void this.replaceInferenceWorker();
  }

  private fail(e: MonitorErrorDetail) {
    this.emit('error', e);
    if (!e.fatal) return;
    this._error = e;
    this.state = 'error';
    this._progress = '';
    void this.stop().then(() => {
      this.state = 'error';
    });
  }

  private emit<K extends keyof InferenceMonitorEventMap>(type: K, detail: InferenceMonitorEventMap[K]['detail']) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  private draw() {
    const canvas = this.renderRoot.querySelector('canvas');
    if (canvas && this.last) drawDetections(canvas.getContext('2d')!, this.last.detections, this.last.frame);
  }

  static override styles = monitorStyles;

  override render() {
    const r = this._ready;
    const err = this._error;
    const panel = this.panel !== 'off';
    const { firing, syncError } = this.subscriptions;
    return html`<div class="layout ${panel ? 'with-panel' : ''}">
      <div class="main">
      <div class="stage" part="stage">
        <video part="video" muted playsinline></video>
      </div>
      ${this.state === 'loading'
        ? html`<div class="overlay" part="status" role="status">${this._progress}</div>`
        : this.state === 'error' && err
          ? html`<div class="overlay error" part="error" role="alert">
              <strong>${describe(err.code)}</strong>
              <span>${err.message}</span>
              <code>${err.code}</code>
            </div>`
          : this.state === 'running' && this._down
            ? html`<div class="overlay warn" part="status camera-down" role="alert">
                <strong>Camera down</strong>
                <span>${this._down.message}</span>
                <span>${this._down.reason === 'ended' ? 'Waiting for a camera…' : 'Waiting for frames…'}</span>
              </div>`
          : this.state === 'idle' || this.state === 'stopped'
            ? html`<div class="overlay" part="status">${this.state === 'idle' ? 'Not started' : 'Stopped'}</div>`
            : nothing}
      <div class="bar" part="bar">
        <span class="state-${this.state}">● ${this.state}</span>
        ${r
          ? html`<span title=${r.modelVersion}>${r.modelId} ${shortVersion(r.modelVersion)}</span>
              <span title=${r.fallbackReason ?? ''}>${r.backend}${r.fallbackReason ? html` <span class="warn">(fallback)</span>` : nothing}</span>
              <span>${this._fps.toFixed(1)} fps</span>`
          : nothing}
        ${this.last ? html`<span>${this.last.timings.inference.toFixed(0)} ms inference</span>` : nothing}
        ${this.state === 'running' && this.record !== 'off' && this.flagging !== 'off'
          ? html`<button type="button" class="flag" part="flag-button" title="Keep the frame on screen for labelling" @click=${() => this.flagFromUi()}>⚑ Flag this frame</button>`
          : nothing}
        ${this._flagNote ? html`<span part="flag-note" role="status">${this._flagNote}</span>` : nothing}
        ${syncError ? html`<span class="warn" part="sync-error" role="status" title=${syncError.message}>⇅ ${syncError.code}</span>` : nothing}
        ${firing.size
          ? html`<span class="alert" part="alerts" role="status" title=${[...firing.values()].map((a) => a.name).join('\n')}>⚠ ${firing.size} alert${firing.size > 1 ? 's' : ''}: ${[...firing.values()][0]!.name}</span>`
          : nothing}
      </div>
      </div>
      ${panel
        ? html`<inference-health-panel part="panel" exportparts="tile, chart, tiles, charts, log, alerts, controls, details" .monitor=${this} camera-id=${this.cameraId ?? ''} theme=${this.theme}></inference-health-panel>`
        : nothing}
    </div>`;
  }
}

function describe(code: MonitorErrorCode): string {
  switch (code) {
    case 'camera-denied':
      return 'Camera access was denied';
    case 'camera-not-found':
      return 'No camera';
    case 'camera-failed':
      return 'The camera failed';
    case 'manifest-not-found':
    case 'model-not-found':
      return 'Model not found';
    case 'manifest-invalid':
      return 'Model manifest is invalid';
    case 'model-invalid':
    case 'model-checksum-mismatch':
      return 'Model file is invalid';
    case 'backend-unknown':
    case 'attribute-invalid':
      return 'Invalid setting';
    case 'backend-unavailable':
      return 'Backend unavailable';
    default:
      return 'Inference failed';
  }
}

if (!customElements.get('inference-monitor')) customElements.define('inference-monitor', InferenceMonitor);

/** Typed listeners for the monitor's own events (`error` here is its CustomEvent, not a script's ErrorEvent). */
export interface InferenceMonitor {
  addEventListener<K extends keyof InferenceMonitorEventMap>(type: K, listener: (this: InferenceMonitor, ev: InferenceMonitorEventMap[K]) => unknown, options?: boolean | AddEventListenerOptions): void;
  addEventListener<K extends keyof HTMLElementEventMap>(type: K, listener: (this: InferenceMonitor, ev: HTMLElementEventMap[K]) => unknown, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof InferenceMonitorEventMap>(type: K, listener: (this: InferenceMonitor, ev: InferenceMonitorEventMap[K]) => unknown, options?: boolean | EventListenerOptions): void;
  removeEventListener<K extends keyof HTMLElementEventMap>(type: K, listener: (this: InferenceMonitor, ev: HTMLElementEventMap[K]) => unknown, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    'inference-monitor': InferenceMonitor;
  }
  /** The monitor's events bubble: any element (and its listeners) sees them typed. `error` is left to the DOM's own. */
  interface HTMLElementEventMap {
    ready: CustomEvent<ReadyDetail>;
    inference: CustomEvent<import('../inference/protocol.ts').InferenceResult>;
    alert: CustomEvent<AlertDetail>;
    flagged: CustomEvent<FlaggedDetail>;
  }
}
