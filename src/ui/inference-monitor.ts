/**
 * `<inference-monitor>` itself: its attributes, properties, methods, events and state. What it is made of — the
 * pipeline's lifecycle, the attribute checks, the hub subscriptions, the resource sampler, the view — is in ui/monitor/.
 */
import type { ChallengerSummary } from '../inference/challenger.ts';
import { LitElement, type PropertyValues } from 'lit';
import { monitorStyles } from './monitor-styles.ts';
import { challengerStyles } from './monitor/challenger-table.ts';
import type { AlertDetail, FlaggedDetail, InferenceMonitorEventMap, MonitorErrorDetail, ReadyDetail } from './monitor-events.ts';
import type { InferenceResult, ReadyInfo } from '../inference/protocol.ts';
import { epochNow } from '../lib/epoch-now.ts';
import { drawDetections } from '../lib/draw-detections.ts';
import { getHub, type HubClient } from '../hub/client.ts';
import { checkAnnotation } from '../store/annotations.ts';
import { uuidv7 } from '../lib/uuidv7.ts';
import type { Tags } from '../telemetry/record.ts';
import type { AlertEvent, Baseline, ConditionEvent, ConditionSummary, Signal, Vitals } from '../health/types.ts';
import type { AlertRule } from '../health/rules.ts';
import type { FlaggedFrame, FlagRule } from '../flagging/types.ts';
import type { FlaggedQuery } from '../flagging/flag-db.ts';
import type { FlagSettings } from '../flagging/flagger.ts';
import type { SyncStatus } from '../sync/outbox.ts';
import { tagsOf, validThreshold } from './monitor/attributes.ts';
import { FrameMeter } from './monitor/frame-meter.ts';
import { HubSubscriptions } from './monitor/hub-subscriptions.ts';
import { type CameraDown, type InferenceHung, type MonitorState, Pipeline } from './monitor/pipeline.ts';
import { monitorView } from './monitor/view.ts';
import { shortVersion } from '../lib/short-version.ts';

export type { CameraDown, MonitorErrorDetail, MonitorState };

/** `model` when none is set: the bundled default model (CenterNet COCO), served from wherever the host's bundler put it. */
export const DEFAULT_MODEL = '';

/**
 * `<inference-monitor>`: runs an ONNX vision model in a worker on webcam frames, shows the video with boxes and
 * its health panel, and dispatches `ready`, `inference`, `alert`, `flagged` and `error` events (bubbling, composed;
 * their details: `InferenceMonitorEventMap`, monitor-events.ts).
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
    runTimeout: { type: Number, reflect: true, attribute: 'run-timeout' },
    referenceModel: { type: String, reflect: true, attribute: 'reference-model' },
    referenceBudget: { type: Number, reflect: true, attribute: 'reference-budget' },
    challengerModel: { type: String, reflect: true, attribute: 'challenger-model' },
    challengerBudget: { type: Number, reflect: true, attribute: 'challenger-budget' },
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
    _hung: { state: true },
    _challenger: { state: true },
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
  /**
   * seconds a run may take before it counts as stuck (1–600): the worker is ended and another started
   * (`inference-timeout`); unset: 10 × the median run, at least 10 s, and 5 minutes for the first run
   */
  declare runTimeout?: number;
  /**
   * a reference model's manifest URL: a second model (e.g. a larger one) judges a sample of the frames in its own
   * worker, and how far the deployed model agrees with it is a vital sign (`reference-disagreement`)
   */
  declare referenceModel?: string;
  /** the share of the time the reference may run, 0–1 (default 0.1): it samples as many frames as that allows */
  declare referenceBudget?: number;
  /**
   * a challenger model's manifest URL: a candidate version run beside the deployed model (the champion) on the same
   * sampled frames, both in one worker (WASM, one thread); the panel compares them side by side (`challenger` event)
   */
  declare challengerModel?: string;
  /** the share of the time the challenger (both runs on a frame) may take, above 0 and at most 1 (default 0.1) */
  declare challengerBudget?: number;
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
  declare private _hung?: InferenceHung;
  declare private _challenger?: ChallengerSummary;

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

  private last?: InferenceResult;
  private drawPending = false;
  /** the results' rate and what each frame costs the main thread */
  private readonly meter = new FrameMeter();
  /** what the hub tells this monitor (alerts, flagged frames, sync and storage errors), as its events */
  private readonly subscriptions = new HubSubscriptions(this, (type, detail) => this.emit(type, detail));
  private flagNoteTimer?: ReturnType<typeof setTimeout>;
  /** camera, workers and model: started, stopped, kept up unattended; it tells the element what to show */
  private readonly pipeline = new Pipeline(this, {
    loading: (progress) => {
      this.state = 'loading';
      this._error = undefined;
      this._ready = undefined;
      this._challenger = undefined;
      this._progress = progress;
    },
    progress: (text) => (this._progress = text),
    running: (ready) => {
      this._ready = ready;
      this.state = 'running';
      this._progress = '';
    },
    down: (down) => (this._down = down),
    hung: (hung) => (this._hung = hung),
    result: (r) => this.onResult(r),
    fail: (e) => this.fail(e),
    emit: (type, detail) => {
      if (type === 'challenger') this._challenger = detail as ChallengerSummary;
      this.emit(type, detail);
    },
    subscriptions: this.subscriptions,
  });

  /** With `challenger-model`: the challenger compared with the deployed model so far (undefined before the first frames). */
  get challengerSummary(): ChallengerSummary | undefined {
    return this._challenger;
  }

  /** The latest result, for hosts that poll rather than listen. */
  get lastResult(): InferenceResult | undefined {
    return this.last;
  }
  /** The page's hub (its back-end worker, shared by every monitor on it): the store's queries, health, flagging, sync. */
  hub(): Promise<HubClient> {
    return getHub();
  }
  /** The same as hub(), under the name it had before (kept for code written against it). */
  store(): Promise<HubClient> {
    return getHub();
  }

  /** This monitor's stream: its model version (short) and camera_id, as the health engine keys them. */
  private streamFilter() {
    return { ...(this._ready ? { mv: shortVersion(this._ready.modelVersion) } : {}), camera_id: this.cameraId ?? '' };
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
  /**
   * This camera's conditions (its day colour, its night IR…: docs/health.md): the one in force and since when, one
   * being learnt and how far, one being switched to (dusk, dawn), all those known.
   */
  async conditions(): Promise<ConditionSummary | undefined> {
    return (await (await getHub()).conditions(this.streamFilter()))[0];
  }
  /** A person accepts the condition being learnt: what has been seen of it becomes its baseline now. */
  async acceptCondition(): Promise<Baseline | undefined> {
    return (await (await getHub()).acceptCondition(this.streamFilter()))[0];
  }
  /** A person marks the condition being learnt a fault: judged against the condition before it (its rules fire). */
  async refuseCondition(): Promise<boolean> {
    return (await (await getHub()).refuseCondition(this.streamFilter())) > 0;
  }
  /** This camera's condition changes, newest first. */
  async conditionEvents(q: { from?: number; to?: number; limit?: number } = {}): Promise<ConditionEvent[]> {
    return (await getHub()).conditionEvents({ camera_id: this.cameraId ?? '', ...q });
  }
  // ---------- flagging ----------
  /** The page's flag rules (defaults until changed). */
  async flagRules(): Promise<FlagRule[]> {
    return (await getHub()).flagRules();
  }
  /** Replaces the page's flag rules (validated: rejects with a TypeError naming the bad rule and field; kept in IndexedDB). */
  async setFlagRules(rules: FlagRule[]): Promise<FlagRule[]> {
    const out = await (await getHub()).setFlagRules(rules);
    const api = this.pipeline.api;
    if (api) void this.pipeline.nearMissFloor(api, out);
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
    return this.pipeline.standbyReady;
  }
  /** While the camera is down (its track ended or muted): why, since when (epoch ms) and what to tell; else undefined. */
  get cameraDown(): CameraDown | undefined {
    return this._down;
  }
  /** Main-thread milliseconds spent per frame by the monitor (handling a result and drawing it), recent frames. */
  get mainThreadCost(): readonly number[] {
    return this.meter.costs;
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
    const api = this.pipeline.api;
    if (changed.has('threshold') && api && validThreshold(this.threshold)) {
      void api.setThreshold(this.threshold);
      if (this.flagging !== 'off' && this.record !== 'off') void this.flagRules().then((r) => this.pipeline.api && this.pipeline.nearMissFloor(this.pipeline.api, r));
    }
    if (['cameraId', 'location', 'deviceId', 'metadata'].some((k) => changed.has(k)) && api) void api.setTags(this.tags);
    if (changed.has('standby')) this.pipeline.standbyChanged();
    // another model (or manifest) while running: a new deployment, started in its place
    if (changed.has('model') && changed.get('model') !== undefined && api) void this.start();
    // another reference model while running: the pipeline starts again with it (or without one)
    else if ((changed.has('referenceModel') || changed.has('challengerModel')) && api) void this.start();
  }

  /** Starts (or restarts) the pipeline. Never rejects: failures go to the `error` event and the element's error state. */
  async start(): Promise<boolean> {
    return this.pipeline.start();
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

  /** Stops the camera and the workers. */
  async stop(): Promise<void> {
    return this.pipeline.halt();
  }

  /** A result: its total latency, the fps, the `inference` event, and its boxes drawn when the page draws them. */
  private onResult(r: InferenceResult) {
    const t0 = performance.now();
    const now = epochNow();
    r.timings.total = now - (r.captureEpoch ?? r.handoffEpoch);
    const fps = this.meter.result(now); // the status bar re-renders at most twice a second, not per frame
    if (fps !== undefined) this._fps = fps;
    this.last = r;
    this.emit('inference', r);
    if (this.pipeline.offscreenOverlay) this.meter.spent(performance.now() - t0);
    else if (!this.drawPending) {
      this.drawPending = true;
      requestAnimationFrame(() => {
        this.drawPending = false;
        const t1 = performance.now();
        this.draw();
        this.meter.drawn(performance.now() - t1);
      });
    }
    if (!this.pipeline.offscreenOverlay) this.meter.handled(performance.now() - t0);
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

  static override styles = [monitorStyles, challengerStyles];

  override render() {
    return monitorView({
      state: this.state,
      progress: this._progress,
      error: this._error,
      ready: this._ready,
      down: this._down,
      hung: this._hung,
      fps: this._fps,
      last: this.last,
      flaggable: this.state === 'running' && this.record !== 'off' && this.flagging !== 'off',
      onFlag: () => this.flagFromUi(),
      flagNote: this._flagNote,
      syncError: this.subscriptions.syncError,
      firing: this.subscriptions.firing,
      panel: this.panel !== 'off',
      monitor: this,
      cameraId: this.cameraId ?? '',
      challenger: this.challengerModel ? this._challenger : undefined,
      theme: this.theme,
    });
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
