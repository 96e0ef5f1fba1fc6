/// <reference lib="webworker" />
/**
 * The frame worker: reads camera frames as they come (a transferred MediaStreamTrackProcessor stream, or
 * ImageBitmaps one at a time), keeps the latest, and turns it into the model's input tensor when the
 * inference worker asks — timed to be ready just as the current run ends (or at once, when a run ends
 * first), so the next run starts right after the previous one is decoded, and no frame is preprocessed
 * only to be dropped. Latest frame wins: one frame held, older ones closed and counted. Every VideoFrame
 * is closed.
 */
import * as Comlink from 'comlink';
import { epochNow } from '../lib/epoch-now.ts';
import { holdLifeLock } from '../lib/life-lock.ts';
import { type Fit, fitFrame, rgbaToTensor, type TensorLayout } from './preprocess.ts';
import { type Yuv420, yuvLayout, yuvToRgba, yuvToTensor } from './yuv.ts';
import type { Detection } from '../types/detection.ts';
import { drawDetections } from '../lib/draw-detections.ts';
import type { ChallengerFrame, ChallengerReference, Drawn, EncodeReply, FrameRequest, PrepSpec, PreparedFrame, ReferenceDone, ReferenceFrame } from './protocol.ts';
import { JpegEncoder, serveEncodes } from './jpeg-encoder.ts';
import { type ImageStats, ImageStatsScratch, rgbaImageStats, yuvImageStats } from './image-stats.ts';

type Frame = VideoFrame | ImageBitmap;
/** a frame sent to inference, kept until its boxes come back: as its YUV planes, or as the frame; `epoch` its capture (or handoff) time */
type Shown = { seq: number; yuv?: Yuv420; frame?: Frame; epoch: number };
/** a judged frame kept a few seconds under its inferenceId, for the hub worker to flag */
type Judged = Shown & { id: string };

/** a second model's worker fed a sample of the judged frames within a budget of the time (a reference, a challenger) */
type Shadow = { port: MessagePort; spec: PrepSpec; budget: number; busy: boolean; lastEnd: number; lastMs: number; pool: Float32Array[]; canvas?: OffscreenCanvas };

/** A shadow model's channel: idle until its worker says it is done with a frame (how long it ran sets the next rest). */
function shadow(port: MessagePort, spec: PrepSpec, budget: number, done?: (d: ReferenceDone) => void): Shadow {
  const s: Shadow = { port, spec, budget: Math.min(1, Math.max(0.001, budget)), busy: false, lastEnd: -Infinity, lastMs: 0, pool: [] };
  port.onmessage = (e: MessageEvent<ReferenceDone>) => {
    s.busy = false;
    s.lastEnd = performance.now();
    s.lastMs = e.data.refDone.ms;
    s.pool.push(e.data.buffer);
    done?.(e.data);
  };
  return s;
}

/** judged frames kept for flagging: as planes (a few seconds at the inference rate), or as camera frames (fewer: they hold the camera's buffers) */
const KEEP_JUDGED = 8;
const KEEP_JUDGED_FRAMES = 2;

export class FrameWorker {
  private spec?: PrepSpec;
  private port?: MessagePort;
  private reader?: ReadableStreamDefaultReader<VideoFrame>;
  private wanted = false;
  /** the inference worker's latest request for a frame, and the last one served */
  private wantId = 0;
  private served = 0;
  private wantTimer?: ReturnType<typeof setTimeout>;
  private pool: Float32Array[] = [];
  private dropped = 0;
  private preparing = false;
  private raw?: { frame: Frame; captureEpoch?: number; handoffEpoch: number };
  private yuvPool: Uint8Array[] = [];
  private rgba?: ImageData;
  private canvas?: OffscreenCanvas;
  private ctx?: OffscreenCanvasRenderingContext2D;
  /** the page's overlay canvas, transferred here (boxes drawn off the main thread) */
  private overlayCtx?: OffscreenCanvasRenderingContext2D;
  private tsOffset?: number | null;
  private lastTs?: number;
  private interval?: number;
  private statsScratch = new ImageStatsScratch();
  private seq = 0;
  /** frames sent to inference, kept to be drawn with their boxes when `view` is 'inferred' */
  private shown: Shown[] = [];
  private view: 'live' | 'inferred' = 'live';
  /** the hub worker's flag port: while set, judged frames are kept (see KEEP_JUDGED) and encoded on request */
  private flagPort?: MessagePort;
  private judged: Judged[] = [];
  private readonly encoder = new JpegEncoder();
  /** a judged YUV frame's pixels as RGBA, for encoding (reused) */
  private encRgba?: ImageData;
  /**
   * the reference model's worker, while one is attached: a judged frame is prepared again for it when it is
   * idle and the budget allows (`budget`: the share of the time it may run, so the deployed model keeps the rest)
   */
  private ref?: Shadow;
  /**
   * a challenger model's worker, while one is attached: a judged frame is prepared for it twice — to the
   * challenger's input and to the champion's — within its own budget, so both models run on the same frames there
   */
  private challenger?: Shadow & { champion: { pool: Float32Array[]; canvas?: OffscreenCanvas }; withReference: Set<string> };
  /**
   * the judged frames last sent to the reference (ids), kept past KEEP_JUDGED until the hub has decided on them:
   * the reference's verdict comes a run later, and may flag the frame
   */
  private refIds: string[] = [];
  private refHeld: Judged[] = [];

  /**
   * Connects to the inference worker's port and starts preparing frames to `spec`. With `overlay` (the
   * page's canvas, transferred), the boxes of each result are drawn here, off the main thread.
   */
  connect(port: MessagePort, spec: PrepSpec, overlay?: OffscreenCanvas, view: 'live' | 'inferred' = 'live') {
    this.spec = spec;
    this.view = overlay ? view : 'live';
    this.overlayCtx = overlay?.getContext('2d', { alpha: this.view === 'live' }) as OffscreenCanvasRenderingContext2D | undefined;
    this.listen(port);
  }

  /**
   * Serves another inference worker over `port` (the previous one died; a spare with the same model took
   * over): same preparation, same overlay. A frame that was on its way to the dead one is not waited for.
   */
  reconnect(port: MessagePort) {
    this.port?.close();
    clearTimeout(this.wantTimer);
    this.wanted = false;
    this.wantId = this.served = 0; // the new worker counts its requests from 1
    this.listen(port);
  }

  private listen(port: MessagePort) {
    this.port = port;
    port.onmessage = (e: MessageEvent<{ want?: FrameRequest; buffer?: Float32Array; drawn?: Drawn }>) => {
      if (e.data.buffer) this.pool.push(e.data.buffer);
      if (e.data.drawn) this.judge(this.overlayCtx, e.data.drawn);
      if (e.data.want) this.request(e.data.want);
    };
  }

  /**
   * Connects the hub worker's flag port: from now on each judged frame is kept a few seconds under its
   * inferenceId, and encoded as JPEG (with a thumbnail) here, off the main thread, when the store flags it.
   */
  attachFlagPort(port: MessagePort) {
    this.flagPort = port;
    serveEncodes(port, (id, quality) => this.encode(id, quality));
  }

  /**
   * Connects the reference model's worker (a second model judging a sample of frames): each judged frame is
   * prepared again to `spec` and sent with the deployed model's detections when the reference is idle and has
   * rested long enough that it runs at most `budget` of the time (0.1: a tenth).
   */
  attachReference(port: MessagePort, spec: PrepSpec, budget: number) {
    this.ref?.port.close();
    // the reference's detections on a frame the challenger has too: passed on, so the challenger's worker can hold
    // both models against the reference on the same frames
    this.ref = shadow(port, spec, budget, (d) => {
      const c = this.challenger;
      if (!d.judged || !c?.withReference.delete(d.judged.id)) return;
      c.port.postMessage({ referenceFor: d.judged } satisfies ChallengerReference);
    });
  }

  /**
   * Connects a challenger model's worker: like the reference, each sampled judged frame goes to it within
   * `budget` — prepared to the challenger's `spec` and to the champion's, with the champion's detections.
   */
  attachChallenger(port: MessagePort, spec: PrepSpec, budget: number) {
    this.challenger?.port.close();
    const c = (this.challenger = Object.assign(shadow(port, spec, budget), { champion: { pool: [] as Float32Array[] }, withReference: new Set<string>() }));
    port.addEventListener('message', (e: MessageEvent<ReferenceDone>) => void (e.data.championBuffer && c.champion.pool.push(e.data.championBuffer)));
  }

  detachChallenger() {
    this.challenger?.port.close();
    this.challenger = undefined;
  }

  detachReference() {
    this.ref?.port.close();
    this.ref = undefined;
    this.refIds = [];
    for (const j of this.refHeld.splice(0)) this.release(j);
  }

  /** Keeps frames sent to inference until their result comes back: to draw them ('inferred'), to flag them, or for the reference. */
  private get keepsShown() {
    return this.view === 'inferred' || this.flagPort !== undefined || this.ref !== undefined || this.challenger !== undefined;
  }

  /** Whether the reference may take a frame now: idle, and rested `lastMs · (1 − budget) / budget` since its last run. */
  private referenceDue(now: number, r: Shadow | undefined = this.ref): boolean {
    return Boolean(r && !r.busy && now - r.lastEnd >= (r.lastMs * (1 - r.budget)) / r.budget);
  }

  /** A judged frame prepared to `spec` (a tensor from `pool` where one fits), or undefined where the frame is gone. */
  private prepareFor(shown: Shown, frame: { width: number; height: number }, spec: PrepSpec, pool: Float32Array[], holder: { canvas?: OffscreenCanvas }): { tensor: Float32Array; fit: Fit } | undefined {
    const fit = fitFrame(frame.width, frame.height, spec.width, spec.height, spec.resize);
    const n = spec.width * spec.height * 3;
    let out = pool.pop();
    if (!out || out.length !== n) out = new Float32Array(n);
    if (shown.yuv) return { tensor: yuvToTensor(shown.yuv, fit, spec.width, spec.height, spec, out, spec.pad), fit };
    if (!shown.frame) return undefined;
    if (!holder.canvas || holder.canvas.width !== spec.width || holder.canvas.height !== spec.height) holder.canvas = new OffscreenCanvas(spec.width, spec.height);
    const ctx = holder.canvas.getContext('2d', { willReadFrequently: true, alpha: false })!;
    if (spec.resize === 'letterbox') {
      ctx.fillStyle = `rgb(${(spec.pad ?? [114, 114, 114]).join(',')})`;
      ctx.fillRect(0, 0, spec.width, spec.height);
    }
    ctx.drawImage(shown.frame, fit.dx, fit.dy, fit.dw, fit.dh);
    return { tensor: rgbaToTensor(ctx.getImageData(0, 0, spec.width, spec.height).data, spec.width, spec.height, spec, out), fit };
  }

  /** Prepares a judged frame for the reference model and sends it, with the deployed model's detections; false where the frame is gone. */
  private sendReference(shown: Shown, d: Drawn): boolean {
    const r = this.ref!;
    const t0 = performance.now();
    const { width, height } = d.frame;
    const p = this.prepareFor(shown, d.frame, r.spec, r.pool, r);
    if (!p) return false;
    r.busy = true;
    this.refIds.push(d.id);
    if (this.refIds.length > 2) this.refIds.shift();
    const f: ReferenceFrame = { tensor: p.tensor, frame: { width, height }, fit: p.fit, handoffEpoch: shown.epoch, captureEpoch: shown.epoch, preprocessMs: performance.now() - t0, seq: shown.seq, dropped: 0, deployed: { id: d.id, detections: d.detections } };
    r.port.postMessage(f, [p.tensor.buffer]);
    return true;
  }

  /** Prepares a judged frame for the challenger and again for the champion, and sends both with the champion's detections (`withReference`: the reference has it too). */
  private sendChallenger(shown: Shown, d: Drawn, withReference: boolean) {
    const c = this.challenger!;
    if (!this.spec) return;
    const t0 = performance.now();
    const p = this.prepareFor(shown, d.frame, c.spec, c.pool, c);
    if (!p) return;
    const champion = this.prepareFor(shown, d.frame, this.spec, c.champion.pool, c.champion);
    if (!champion) return void c.pool.push(p.tensor);
    c.busy = true;
    const f: ChallengerFrame = { tensor: p.tensor, frame: { ...d.frame }, fit: p.fit, handoffEpoch: shown.epoch, captureEpoch: shown.epoch, preprocessMs: performance.now() - t0, seq: shown.seq, dropped: 0, deployed: { id: d.id, detections: d.detections }, champion, ...(withReference ? { withReference } : {}) };
    if (withReference) {
      c.withReference.add(d.id);
      if (c.withReference.size > 4) c.withReference.delete(c.withReference.values().next().value!); // a reference run that failed: never answered
    }
    c.port.postMessage(f, [p.tensor.buffer, champion.tensor.buffer]);
  }

  /** A result (or a failed run) for a frame sent to inference: drawn, then kept for flagging or released. */
  private judge(ctx: OffscreenCanvasRenderingContext2D | undefined, d: Drawn) {
    let shown: Shown | undefined;
    if (this.keepsShown)
      while (this.shown.length && this.shown[0]!.seq <= d.seq) {
        const s = this.shown.shift()!;
        if (s.seq === d.seq) shown = s;
        else this.release(s);
      }
    if (ctx && !d.failed) this.draw(ctx, d, shown);
    if (!shown) return;
    const toReference = Boolean(this.ref && !d.failed && this.referenceDue(performance.now())) && this.sendReference(shown, d);
    // with a reference set, the challenger takes only frames the reference takes (when its own budget allows), so
    // that all three models are compared on the same frames
    if (this.challenger && !d.failed && (toReference || !this.ref) && this.referenceDue(performance.now(), this.challenger)) this.sendChallenger(shown, d, toReference);
    if (!this.flagPort) return this.release(shown);
    this.judged.push({ ...shown, id: d.id });
    while (this.judged.length > KEEP_JUDGED) this.drop(this.judged.shift()!);
    let frames = 0; // newest first: camera frames past the few allowed go back
    for (let i = this.judged.length - 1; i >= 0; i--) if (this.judged[i]!.frame && ++frames > KEEP_JUDGED_FRAMES) this.drop(this.judged.splice(i, 1)[0]!);
  }

  /** A judged frame leaves the kept few: released, unless the reference judges it (held a little longer). */
  private drop(j: Judged) {
    if (!this.refIds.includes(j.id)) return this.release(j);
    this.refHeld.push(j);
    while (this.refHeld.length > 2) this.release(this.refHeld.shift()!);
  }

  /** A kept judged frame as JPEG at capture resolution, plus a small thumbnail (both in this worker). */
  private encode(id: string, quality: number): Promise<EncodeReply> {
    const j = this.judged.find((x) => x.id === id) ?? this.refHeld.find((x) => x.id === id);
    if (!j) return Promise.resolve({ encoded: { id, error: 'the frame is no longer held (only the last few judged frames are kept)' } });
    const f = j.frame;
    const size = () =>
      j.yuv ? ([j.yuv.width, j.yuv.height] as const) : 'format' in f! ? ([f.visibleRect?.width ?? f.displayWidth, f.visibleRect?.height ?? f.displayHeight] as const) : ([f!.width, f!.height] as const);
    return this.encoder.encode(id, quality, size, (ctx, width, height) => {
      if (j.yuv) {
        if (this.encRgba?.width !== width || this.encRgba.height !== height) this.encRgba = new ImageData(width, height);
        yuvToRgba(j.yuv, this.encRgba.data);
        ctx.putImageData(this.encRgba, 0, 0);
      } else ctx.drawImage(f!, 0, 0, width, height);
    });
  }

  /**
   * A request for the next frame: now, or in `inMs` (timed by the inference worker to land just as its
   * run ends, so the frame is prepared while the run is still going). A repeated id brings it forward.
   */
  private request({ id, inMs }: FrameRequest) {
    if (id <= this.served) return; // already sent
    this.wantId = id;
    clearTimeout(this.wantTimer);
    const go = () => {
      this.wanted = true;
      this.flush();
    };
    if (inMs > 0) this.wantTimer = setTimeout(go, inMs);
    else go();
  }

  /** Draws a result's boxes; in the 'inferred' view, over the very frame they were found in (`shown`). */
  private draw(ctx: OffscreenCanvasRenderingContext2D, d: Drawn, shown: Shown | undefined) {
    if (this.view === 'live') return drawDetections(ctx, d.detections, d.frame);
    if (!shown) return; // its frame is gone (after a failed run): keep the last picture
    let picture: CanvasImageSource | ImageData | undefined = shown.frame;
    if (shown.yuv) {
      const { width, height } = shown.yuv;
      if (this.rgba?.width !== width || this.rgba.height !== height) this.rgba = new ImageData(width, height);
      yuvToRgba(shown.yuv, this.rgba.data);
      picture = this.rgba;
    }
    drawDetections(ctx, d.detections, d.frame, picture);
  }

  /** Holds the Web Lock `name` for this worker's life (the page sees it released when the worker is gone). */
  holdLifeLock(name: string): Promise<void> {
    return holdLifeLock(name);
  }

  /**
   * Reads a stream of camera frames until detached (a new stream — a camera opened again — replaces the
   * previous one); `frameRate` (the track's) lets lost frames be counted.
   */
  attachStream(readable: ReadableStream<VideoFrame>, onError: (message: string) => void, frameRate?: number) {
    this.interval = frameRate && frameRate > 0 ? 1e6 / frameRate : undefined;
    this.lastTs = undefined;
    void this.reader?.cancel().catch(() => {});
    const reader = readable.getReader();
    this.reader = reader;
    void (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          this.countGaps(value.timestamp);
          this.take({ frame: value, captureEpoch: this.captureEpoch(value), handoffEpoch: epochNow() });
        }
      } catch (e) {
        if (this.reader === reader) onError(`camera stream failed: ${(e as Error).message}`);
      }
    })();
  }

  /** One frame from the page (browsers without MediaStreamTrackProcessor). */
  submit(frame: Frame, captureEpoch?: number) {
    this.take({ frame, captureEpoch, handoffEpoch: epochNow() });
  }

  async detach() {
    const r = this.reader;
    this.reader = undefined;
    await r?.cancel().catch(() => {});
    clearTimeout(this.wantTimer);
    this.raw?.frame.close();
    this.raw = undefined;
    for (const s of this.shown.splice(0)) this.release(s);
    for (const s of this.judged.splice(0)) this.release(s);
    this.port?.close();
    this.flagPort?.close();
    this.flagPort = undefined;
    this.detachReference();
    this.detachChallenger();
  }

  /** Camera frames lost before they reached us show as gaps in their timestamps. */
  private countGaps(ts: number) {
    if (this.lastTs !== undefined && this.interval) {
      const missed = Math.round((ts - this.lastTs) / this.interval) - 1;
      if (missed > 0 && missed < 1000) this.dropped += missed;
    }
    this.lastTs = ts;
  }

  private captureEpoch(f: VideoFrame): number | undefined {
    // A camera frame's timestamp (µs) is its capture time; used only if it is on this context's clock.
    if (this.tsOffset === null) return undefined;
    const ts = f.timestamp / 1000;
    const age = performance.now() - ts;
    if (this.tsOffset === undefined) this.tsOffset = age >= 0 && age < 5_000 ? performance.timeOrigin : null;
    return this.tsOffset !== null && age >= 0 && age < 60_000 ? this.tsOffset + ts : undefined;
  }

  private take(raw: NonNullable<FrameWorker['raw']>) {
    if (this.raw) {
      this.raw.frame.close();
      this.dropped++;
    }
    this.raw = raw;
    this.flush();
  }

  /** Prepares the latest frame and sends it, if the inference worker is waiting for one. */
  private flush() {
    if (this.wanted && this.raw && !this.preparing) void this.prepareAndSend();
  }

  private async prepareAndSend() {
    this.preparing = true;
    try {
      const raw = this.raw!;
      this.raw = undefined;
      const t0 = performance.now();
      let p: PreparedFrame, yuv: Yuv420 | undefined;
      try {
        ({ prepared: p, yuv } = await this.prepare(raw.frame, this.spec!));
      } catch {
        raw.frame.close();
        this.dropped++; // a frame that cannot be read (e.g. closed under us) counts as dropped; the next one is tried
        return;
      }
      p.seq = ++this.seq;
      if (this.keepsShown) {
        // kept to be shown with its boxes, or flagged: as its planes (the camera's frame goes back at once), or as itself
        this.shown.push({ seq: p.seq, epoch: raw.captureEpoch ?? raw.handoffEpoch, ...(yuv ? { yuv } : { frame: raw.frame }) });
        if (yuv) raw.frame.close();
        // a result that never comes (a failed run) must hold nothing for long: keep the last few
        while (this.shown.length > 3) this.release(this.shown.shift()!);
      } else {
        raw.frame.close();
        if (yuv) this.yuvPool.push(yuv.data);
      }
      p.captureEpoch = raw.captureEpoch;
      p.handoffEpoch = raw.handoffEpoch;
      p.preprocessMs = performance.now() - t0;
      p.dropped = this.dropped;
      this.dropped = 0;
      this.wanted = false;
      this.served = this.wantId;
      if (this.port) this.port.postMessage(p, [p.tensor.buffer]);
      else this.pool.push(p.tensor);
    } finally {
      this.preparing = false;
    }
    this.flush();
  }

  private release(s: Shown) {
    s.frame?.close();
    if (s.yuv) this.yuvPool.push(s.yuv.data);
  }

  private async prepare(f: Frame, spec: PrepSpec): Promise<{ prepared: PreparedFrame; yuv?: Yuv420 }> {
    const video = 'format' in f;
    const width = video ? (f.visibleRect?.width ?? f.displayWidth) : f.width;
    const height = video ? (f.visibleRect?.height ?? f.displayHeight) : f.height;
    const fit = fitFrame(width, height, spec.width, spec.height, spec.resize);
    const n = spec.width * spec.height * 3;
    let out = this.pool.pop();
    if (!out || out.length !== n) out = new Float32Array(n);
    let tensor: Float32Array | undefined;
    let image: PreparedFrame['image'];
    let yuv: Yuv420 | undefined;
    if (video && (f.format === 'I420' || f.format === 'NV12')) {
      // straight from the camera's planes: no full-frame RGBA conversion, no canvas readback
      const size = f.allocationSize();
      let buf = this.yuvPool.pop();
      if (!buf || buf.length < size) buf = new Uint8Array(size);
      const layout = await f.copyTo(buf);
      yuv = yuvLayout(f.format, buf, layout, width, height, f.colorSpace ?? {});
      if (!yuv) this.yuvPool.push(buf);
      else {
        tensor = yuvToTensor(yuv, fit, spec.width, spec.height, spec, out, spec.pad);
        const t = performance.now();
        image = { ...yuvImageStats(yuv, this.statsScratch), ms: 0 };
        image.ms = performance.now() - t;
      }
    }
    if (!tensor) {
      if (!this.canvas || this.canvas.width !== spec.width || this.canvas.height !== spec.height) {
        this.canvas = new OffscreenCanvas(spec.width, spec.height);
        this.ctx = this.canvas.getContext('2d', { willReadFrequently: true, alpha: false })!;
      }
      const ctx = this.ctx!;
      if (spec.resize === 'letterbox') {
        ctx.fillStyle = `rgb(${(spec.pad ?? [114, 114, 114]).join(',')})`;
        ctx.fillRect(0, 0, spec.width, spec.height);
      }
      ctx.drawImage(f, fit.dx, fit.dy, fit.dw, fit.dh);
      const rgba = ctx.getImageData(0, 0, spec.width, spec.height).data;
      tensor = rgbaToTensor(rgba, spec.width, spec.height, spec, out);
      const t = performance.now();
      image = { ...rgbaImageStats(rgba, spec.width, spec.height, { x: fit.dx, y: fit.dy, width: fit.dw, height: fit.dh }, this.statsScratch), ms: 0 };
      image.ms = performance.now() - t;
    }
    return { prepared: { tensor, frame: { width, height }, fit, handoffEpoch: 0, preprocessMs: 0, dropped: 0, seq: 0, image }, yuv };
  }
}

export type FrameWorkerApi = FrameWorker;
Comlink.expose(new FrameWorker());
