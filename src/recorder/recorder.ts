/**
 * The headless recorder, for apps that already run their own model (TF.js, MediaPipe, transformers.js, a
 * server): `createRecorder({...})` returns a Recorder whose `record({timings, detections, frame?})` feeds
 * the same store, rollups, vital signs, drift tests, alert rules, flagging and sync as `<inference-monitor>`
 * — no camera, no model of ours. With a frame (ImageBitmap, VideoFrame, ImageData, canvas) the input-image
 * statistics and flagged images work; without, the image rules stay no-data.
 *
 * `record()` never blocks or throws on the caller's path: it checks the input's shape (cheap), hands the rest
 * to the recorder's worker (recorder-worker.ts) and returns the inference id; bad input returns null and
 * dispatches an `error` event whose detail is a RecorderError naming the field.
 */
import * as Comlink from 'comlink';
import type { Detection } from '../types/detection.ts';
import type { StageTimings } from '../inference/protocol.ts';
import { getHub } from '../hub/client.ts';
import { checkAnnotation } from '../store/annotations.ts';
import { STAGES, type Tags } from '../telemetry/record.ts';
import { uuidv7 } from '../lib/uuidv7.ts';
import { epochNow } from '../lib/epoch-now.ts';
import type { FrameMessage, RecorderWorkerApi, RecordPost } from './recorder-worker.ts';
import { shortVersion } from '../lib/short-version.ts';
import type { ChallengerSummary, ModelRun } from '../inference/challenger.ts';
import { challengerSync } from '../sync/challenger-payload.ts';

export interface RecorderOptions {
  /** the camera's id (the `camera_id` tag: filters, baselines and alerts are per camera) */
  cameraId?: string;
  location?: string;
  deviceId?: string;
  /** more tags (string values) */
  metadata?: Record<string, string>;
  /** the model's version: any string (a sha256 is kept as is; other strings are hashed to one) */
  modelVersion: string;
  /** the model's name as shown (default: modelVersion) */
  modelId?: string;
  /** class names by class id (exports and the panel use them) */
  labels?: string[];
  /** where the model runs, as shown (default 'host') */
  backend?: string;
  /**
   * frames per second whose pixels are taken (default 5): enough for the input-image statistics and scene
   * drift, while each frame taken costs a copy; 0 never, Infinity every one. Only frames taken can be
   * flagged with their image (the rest are counted as missed by flagging).
   */
  frameRate?: number;
}

/** The frame a result came from: anything createImageBitmap takes from a video pipeline. */
export type RecordFrame = ImageBitmap | VideoFrame | ImageData | HTMLCanvasElement | OffscreenCanvas | HTMLVideoElement | HTMLImageElement;

export interface RecordInput {
  /** epoch ms of the frame (default: now) */
  timestamp?: number;
  /** stage times in ms that the app measured (any of capture, queue, preprocess, inference, postprocess, total) */
  timings?: Partial<StageTimings>;
  detections: Detection[];
  frame?: RecordFrame;
  /** the frame's size when no frame is given (boxes are in its pixels) */
  size?: { width: number; height: number };
  /** the run failed: its error kind (e.g. 'timeout', 'oom'): counted as a failed frame */
  error?: string;
  /** the output was unusable: why (counted as malformed, kept) */
  malformed?: string;
  /** frames the app skipped since its last record */
  dropped?: number;
  /** your own id for it (a UUID; default: a new UUIDv7) */
  inferenceId?: string;
}

/** A bad record() input: `field` names what is wrong (e.g. `detections.3.box`). */
export class RecorderError extends Error {
  override name = 'RecorderError';
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** The input's problem, or undefined (a cheap shape check on the caller's thread). */
export function checkRecord(r: RecordInput): RecorderError | undefined {
  if (!r || typeof r !== 'object') return new RecorderError('(input)', 'expected an object {timings, detections, frame?}');
  if (r.timestamp !== undefined && !(isNum(r.timestamp) && r.timestamp > 0)) return new RecorderError('timestamp', 'expected epoch milliseconds');
  if (r.timings !== undefined) {
    if (typeof r.timings !== 'object' || r.timings === null) return new RecorderError('timings', 'expected {stage: ms}');
    for (const [k, v] of Object.entries(r.timings)) {
      if (!(STAGES as readonly string[]).includes(k)) return new RecorderError(`timings.${k}`, `not a stage (${STAGES.join(', ')})`);
      if (!(isNum(v) && v >= 0 && v < 3.6e6)) return new RecorderError(`timings.${k}`, `expected milliseconds ≥ 0, got ${String(v)}`);
    }
  }
  if (!Array.isArray(r.detections)) return new RecorderError('detections', 'expected an array (empty when nothing was found)');
  if (r.detections.length > 1000) return new RecorderError('detections', `at most 1000 per frame, got ${r.detections.length}`);
  for (let i = 0; i < r.detections.length; i++) {
    const d = r.detections[i]!;
    if (!d || typeof d !== 'object') return new RecorderError(`detections.${i}`, 'expected {classId, label, score, box}');
    if (!(Number.isInteger(d.classId) && d.classId >= 0 && d.classId < 100_000)) return new RecorderError(`detections.${i}.classId`, `expected a class index ≥ 0, got ${String(d.classId)}`);
    if (!(isNum(d.score) && d.score >= 0 && d.score <= 1)) return new RecorderError(`detections.${i}.score`, `expected 0–1, got ${String(d.score)}`);
    if (!(Array.isArray(d.box) && d.box.length === 4 && d.box.every(isNum))) return new RecorderError(`detections.${i}.box`, 'expected [x, y, width, height] in frame pixels');
    if (d.label !== undefined && typeof d.label !== 'string') return new RecorderError(`detections.${i}.label`, 'expected a string');
  }
  if (r.error !== undefined && !(typeof r.error === 'string' && /^[a-z0-9-]{1,64}$/.test(r.error))) return new RecorderError('error', 'expected an error kind: lower-case letters, digits and -');
  if (r.malformed !== undefined && typeof r.malformed !== 'string') return new RecorderError('malformed', 'expected a reason (string)');
  if (r.dropped !== undefined && !(Number.isInteger(r.dropped) && r.dropped >= 0)) return new RecorderError('dropped', 'expected a count ≥ 0');
  if (r.size !== undefined && !(r.size && isNum(r.size.width) && isNum(r.size.height) && r.size.width > 0 && r.size.height > 0)) return new RecorderError('size', 'expected {width, height} > 0');
  // time-ordered: the log, "after this id" queries and sync's cursor over flagged frames go by it
  if (r.inferenceId !== undefined && !(typeof r.inferenceId === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(r.inferenceId)))
    return new RecorderError('inferenceId', 'expected a UUIDv7 (ids sort by time); leave it out and record() makes one');
  if (r.frame !== undefined && r.frame !== null && typeof r.frame !== 'object') return new RecorderError('frame', 'expected an ImageBitmap, VideoFrame, ImageData or canvas');
  return undefined;
}

/** A 64-hex model version: a sha256 as given, else the sha256 of the string. */
async function versionOf(v: string): Promise<string> {
  if (/^[0-9a-f]{64}$/.test(v)) return v;
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(v));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** at most this many frames waiting (to become ImageBitmaps, or for the worker to start); past it a record goes without its frame (counted) */
const MAX_PENDING_FRAMES = 4;
/** records go to the worker together, this often (ms) */
const FLUSH_MS = 100;

export class Recorder extends EventTarget {
  /** this recorder's source id (as a monitor's: one per recorder) */
  readonly sourceId = uuidv7();
  readonly tags: Tags;
  /** resolves when records reach the store (record() may be called before: records wait, bounded) */
  readonly ready: Promise<void>;
  /** records taken, refused (bad input), and frames left out (too many waiting) */
  readonly counts = { recorded: 0, refused: 0, framesSkipped: 0 };
  private port?: MessagePort;
  /** record batches for the worker before it is ready (bounded) */
  private early: { posts: RecordPost[]; transfer: Transferable[] }[] = [];
  /** frames to send ahead of their records (bounded until the worker is ready) */
  private framesOut: FrameMessage[] = [];
  private frameTimer?: ReturnType<typeof setTimeout>;
  private outbox: { post: RecordPost; later?: Promise<ImageBitmap | undefined> }[] = [];
  private flushTimer?: ReturnType<typeof setTimeout>;
  private flushing: Promise<void> = Promise.resolve();
  private pendingFrames = 0;
  private worker: Worker;
  private api: Comlink.Remote<RecorderWorkerApi>;
  private closed = false;
  private syncs = 0;
  private synced = new Map<number, () => void>();
  private mv = '';
  private readonly labels?: string[];
  private lastFrameAt = -Infinity;
  private readonly frameGapMs: number;

  constructor(readonly options: RecorderOptions) {
    super();
    if (!options || typeof options.modelVersion !== 'string' || !options.modelVersion) throw new RecorderError('modelVersion', 'required: the version of the model whose results are recorded');
    const tags: Tags = {};
    for (const [k, v] of Object.entries(options.metadata ?? {})) if (typeof v === 'string') tags[k] = v;
    if (options.cameraId) tags.camera_id = options.cameraId;
    if (options.location) tags.location = options.location;
    if (options.deviceId) tags.device_id = options.deviceId;
    this.tags = tags;
    this.labels = options.labels;
    const rate = options.frameRate ?? 5;
    if (!(typeof rate === 'number' && rate >= 0)) throw new RecorderError('frameRate', 'expected frames per second ≥ 0');
    // a little under the period, so a host at exactly that rate is not skipped by timer jitter
    this.frameGapMs = rate === 0 ? Infinity : (1000 / rate) * 0.9;
    this.worker = new Worker(new URL('./recorder-worker.ts', import.meta.url), { type: 'module', name: 'recorder' });
    this.api = Comlink.wrap<RecorderWorkerApi>(this.worker);
    this.ready = this.start();
    this.ready.catch((e) => this.dispatchEvent(new CustomEvent('error', { detail: e })));
  }

  private async start() {
    const version = await versionOf(this.options.modelVersion);
    this.mv = shortVersion(version);
    const store = await getHub();
    const toStore = new MessageChannel();
    await store.connect(Comlink.transfer(toStore.port1, [toStore.port1]));
    const records = new MessageChannel();
    const backend = this.options.backend ?? 'host';
    await this.api.init(Comlink.transfer(records.port2, [records.port2]), Comlink.transfer(toStore.port2, [toStore.port2]), { src: this.sourceId, tags: this.tags, modelVersion: version, backend, ...(this.labels ? { labels: this.labels.map(String) } : {}) });
    const flags = new MessageChannel();
    await store.connectFrames(Comlink.transfer(flags.port1, [flags.port1]), this.sourceId);
    await this.api.attachFlagPort(Comlink.transfer(flags.port2, [flags.port2]));
    if (this.labels?.length) await store.noteLabels(version, this.labels.map(String));
    await store.registerMonitor({ src: this.sourceId, mv: version, backend, tags: this.tags, modelId: this.options.modelId ?? this.options.modelVersion });
    this.port = records.port1;
    this.port.onmessage = (e: MessageEvent<{ synced: number }>) => {
      const n = e.data.synced;
      this.synced.get(n)?.(), this.synced.delete(n);
    };
    this.sendFrames();
    for (const e of this.early.splice(0)) this.port.postMessage(e.posts, e.transfer);
  }

  /** The short model version records carry (12 hex), once ready. */
  get modelVersion() {
    return this.mv;
  }

  /**
   * Records one inference. Returns its id, or null when the input is refused (then an `error` event carries a
   * RecorderError naming the field). Never throws, never waits.
   */
  record(input: RecordInput): string | null {
    const bad = this.closed ? new RecorderError('(recorder)', 'closed') : checkRecord(input);
    if (bad) {
      this.counts.refused++;
      queueMicrotask(() => this.dispatchEvent(new CustomEvent('error', { detail: bad })));
      return null;
    }
    const id = input.inferenceId ?? uuidv7();
    // copied now (the caller may reuse its objects); labels filled in the worker
    const ds = input.detections;
    const detections: RecordPost['detections'] = new Array(ds.length);
    for (let i = 0; i < ds.length; i++) {
      const d = ds[i]!, b = d.box;
      detections[i] = { classId: d.classId, label: d.label, score: d.score, box: [b[0], b[1], b[2], b[3]] };
    }
    const post: RecordPost = { id, t: input.timestamp ?? epochNow(), timings: input.timings ? { ...input.timings } : {}, detections, dropped: input.dropped ?? 0 };
    if (input.error) post.error = input.error;
    if (input.malformed) post.malformed = input.malformed;
    if (input.size) post.size = input.size;
    this.counts.recorded++;
    let frame = input.frame;
    if (frame) {
      const t = performance.now();
      if (t - this.lastFrameAt < this.frameGapMs) frame = undefined; // not this one: the rate's budget is spent
      else this.lastFrameAt = t;
    }
    if (!frame) {
      this.queue(post, undefined);
      return id;
    }
    // The frame as it is now (the host draws the next one into the same canvas): where the browser makes a
    // VideoFrame of the source (a snapshot, ~0.03–0.07 ms), it goes to the worker at once, which copies its
    // pixels out and closes it. A snapshot still alive when the host next draws into its canvas makes that draw
    // copy the canvas (measured: 8 held for flagging slowed the host's loop by 7–14 %, one held for 100 ms by
    // 22 %); copying the pixels on the page instead costs its thread ~2 ms a frame.
    let vf: VideoFrame | undefined;
    try {
      if (typeof VideoFrame === 'function' && !(frame instanceof ImageData)) vf = frame instanceof VideoFrame ? frame.clone() : new VideoFrame(frame as CanvasImageSource, { timestamp: 0 });
    } catch {
      /* not a source VideoFrame takes (e.g. a video with no frame yet): an ImageBitmap below */
    }
    if (vf?.format) {
      if (!this.port && this.framesOut.length >= MAX_PENDING_FRAMES) {
        vf.close();
        this.counts.framesSkipped++;
        this.queue(post, undefined);
        return id;
      }
      // sent in a task of its own, right after the caller's (moving the frame is most of a framed call's cost),
      // and always before its record
      this.framesOut.push({ id, frame: vf });
      this.frameTimer ??= setTimeout(() => this.sendFrames());
      this.queue({ ...post, framed: true }, undefined);
      return id;
    }
    vf?.close(); // pixels it cannot hand out (no format): drawn from an ImageBitmap instead
    if (this.pendingFrames >= MAX_PENDING_FRAMES) {
      this.counts.framesSkipped++;
      this.queue(post, undefined);
      return id;
    }
    this.pendingFrames++;
    let bitmap: Promise<ImageBitmap | undefined>;
    try {
      bitmap = createImageBitmap(frame as ImageBitmapSource).catch(() => undefined);
    } catch {
      bitmap = Promise.resolve(undefined);
    }
    this.queue(post, bitmap.then((b) => {
      this.pendingFrames--;
      if (!b) this.counts.framesSkipped++;
      return b;
    }));
    return id;
  }

  /** Sends the frames waiting to go ahead of their records (once the worker is ready). */
  private sendFrames() {
    clearTimeout(this.frameTimer);
    this.frameTimer = undefined;
    const port = this.port;
    if (!port) return;
    for (const m of this.framesOut.splice(0)) port.postMessage(m, [m.frame]);
  }

  /**
   * Queues a post for the worker; posts go together every FLUSH_MS (one message, a few records: the worker is
   * woken ~10 times a second, not on every call). `later`: the frame still being made (order is kept).
   */
  private queue(post: RecordPost, later: Promise<ImageBitmap | undefined> | undefined) {
    this.outbox.push(later ? { post, later } : { post });
    if (this.outbox.length > 1000) void this.outbox.shift()!.later?.then((f) => f?.close());
    if (!this.flushTimer) this.flushTimer = setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** One flush at a time, in order: one waiting on a frame's bitmap is not overtaken (by deliver()'s, say). */
  private flush(): Promise<void> {
    const run = this.flushing.then(() => this.flushNow());
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private async flushNow() {
    const items = this.outbox.splice(0);
    const posts: RecordPost[] = [];
    for (const it of items) {
      if (it.later) {
        const frame = await it.later;
        posts.push(frame ? { ...it.post, frame } : it.post);
      } else posts.push(it.post);
    }
    this.flushTimer = undefined;
    if (this.outbox.length && !this.flushTimer) this.flushTimer = setTimeout(() => void this.flush(), FLUSH_MS);
    if (!posts.length) return;
    const transfer = posts.flatMap((p) => (p.frame ? [p.frame as Transferable] : []));
    const drop = () => posts.forEach((p) => p.frame?.close());
    if (this.closed) return drop();
    this.sendFrames();
    if (this.port) this.port.postMessage(posts, transfer);
    else if (this.early.length < 100) this.early.push({ posts, transfer });
    else drop();
  }

  /** Sends what record() has queued now, and resolves once the worker has passed it on to the store. */
  private async deliver() {
    await this.ready;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await this.flush();
    const port = this.port;
    if (!port) return;
    const n = ++this.syncs;
    await new Promise<void>((resolve) => {
      this.synced.set(n, resolve);
      port.postMessage({ sync: n });
    });
  }

  /**
   * Attaches metadata to a recorded inference by its id, after the fact (a lot number, the operator's
   * verdict, the ground truth): merged over earlier ones (null removes a key), shown in the inference log,
   * synced. Rejects with a TypeError naming a bad key or value.
   */
  async annotate(inferenceId: string, metadata: Record<string, string | number | boolean | null>) {
    checkAnnotation(inferenceId, metadata);
    await this.deliver();
    return (await getHub()).annotate(this.sourceId, inferenceId, metadata);
  }

  private challengerName?: string;
  private challengerVersion?: Promise<string>;
  private challengerSent = 0;

  /**
   * Reports a challenger's run beside the app's own model on the same frame (a candidate version tried before it
   * ships): `champion` is the app's model's run (ms and detections), `challenger` the candidate's, `version` the
   * candidate's version (any string; hashed as modelVersion is). The recorder's worker tallies them
   * (inference/challenger.ts: latency, detections per class, confidence, agreement, a verdict line); the latest
   * summary syncs at most every 10 s. Never throws on the caller's path.
   */
  recordChallenger(input: { version: string; champion: ModelRun; challenger: ModelRun; t?: number }): void {
    const t = input.t ?? epochNow();
    const ok = (r: ModelRun) => r && Number.isFinite(r.ms) && r.ms >= 0 && Array.isArray(r.detections);
    if (!ok(input.champion) || !ok(input.challenger) || typeof input.version !== 'string') {
      this.dispatchEvent(new CustomEvent('error', { detail: new RecorderError('challenger', 'recordChallenger needs {version, champion: {ms, detections}, challenger: {ms, detections}}') }));
      return;
    }
    if (this.challengerName !== input.version) (this.challengerName = input.version), (this.challengerVersion = versionOf(input.version));
    const version = this.challengerVersion!;
    void Promise.all([version, this.ready])
      .then(async ([v]) => {
        await this.api.compare(v, t, input.champion, input.challenger);
        if (Date.now() - this.challengerSent < 10_000) return;
        this.challengerSent = Date.now();
        const s = await this.api.challengerSummary();
        if (s) await (await getHub()).noteChallenger(challengerSync(this.sourceId, this.tags.camera_id ?? '', Date.now(), s));
      })
      .catch((e) => this.dispatchEvent(new CustomEvent('error', { detail: e })));
  }

  /** The challenger's comparison so far (recordChallenger), or undefined before any. */
  async challengerSummary(): Promise<ChallengerSummary | undefined> {
    await this.ready;
    return this.api.challengerSummary();
  }

  /** Flags a recorded frame for labelling (the last few with frames can be; default: the latest). */
  async flag(inferenceId: string) {
    await this.deliver();
    return (await getHub()).flag(this.sourceId, inferenceId);
  }

  /** Stops: records in flight are delivered, then the worker closes. */
  async close() {
    if (this.closed) return;
    await this.deliver().catch(() => undefined); // a recorder that never started has nothing to deliver
    this.closed = true;
    clearTimeout(this.frameTimer);
    for (const m of this.framesOut.splice(0)) m.frame.close(); // a recorder that never started
    const store = await getHub();
    await store.flush();
    await store.unregisterMonitor(this.sourceId);
    await store.disconnectFrames(this.sourceId);
    await this.api.close();
    this.worker.terminate();
  }
}

/** A recorder for an app's own inference results (see the module comment). */
export function createRecorder(options: RecorderOptions): Recorder {
  return new Recorder(options);
}
