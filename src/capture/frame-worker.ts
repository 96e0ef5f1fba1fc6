/// <reference lib="webworker" />
/**
 * The frame worker: reads camera frames as they come (a transferred MediaStreamTrackProcessor stream, or
 * ImageBitmaps one at a time), turns the latest into the model's input tensor, and hands it to the
 * inference worker the moment that asks — so inference never waits on the camera or on preprocessing.
 * Latest frame wins: one tensor ready, older ones dropped and counted. Every VideoFrame is closed.
 */
import * as Comlink from 'comlink';
import { epochNow } from '../lib/epoch-now.ts';
import { type Fit, fitFrame, rgbaToTensor, type TensorLayout } from '../inference/preprocess.ts';
import { yuvLayout, yuvToTensor } from '../inference/yuv.ts';
import type { Detection } from '../inference/types.ts';
import { drawDetections } from '../ui/draw-detections.ts';
import { type ImageStats, ImageStatsScratch, rgbaImageStats, yuvImageStats } from '../health/image-stats.ts';

export interface PrepSpec extends TensorLayout {
  width: number;
  height: number;
  resize: 'stretch' | 'letterbox';
}

/** What crosses to the inference worker for one frame (the tensor's buffer is transferred). */
export interface PreparedFrame {
  tensor: Float32Array;
  frame: { width: number; height: number };
  fit: Fit;
  captureEpoch?: number;
  handoffEpoch: number;
  preprocessMs: number;
  /** frames dropped since the previous prepared frame was taken */
  dropped: number;
  /** input-image statistics and their cost (ms) */
  image?: ImageStats & { ms: number };
}

type Frame = VideoFrame | ImageBitmap;

export class FrameWorker {
  private spec?: PrepSpec;
  private port?: MessagePort;
  private reader?: ReadableStreamDefaultReader<VideoFrame>;
  private ready?: PreparedFrame;
  private wanted = false;
  private pool: Float32Array[] = [];
  private dropped = 0;
  private preparing = false;
  private raw?: { frame: Frame; captureEpoch?: number; handoffEpoch: number };
  private yuv?: Uint8Array;
  private canvas?: OffscreenCanvas;
  private ctx?: OffscreenCanvasRenderingContext2D;
  private tsOffset?: number | null;
  private lastTs?: number;
  private interval?: number;
  private statsScratch = new ImageStatsScratch();

  /**
   * Connects to the inference worker's port and starts preparing frames to `spec`. With `overlay` (the
   * page's canvas, transferred), the boxes of each result are drawn here, off the main thread.
   */
  connect(port: MessagePort, spec: PrepSpec, overlay?: OffscreenCanvas) {
    this.spec = spec;
    this.port = port;
    const ctx = overlay?.getContext('2d');
    port.onmessage = (
      e: MessageEvent<{ want?: boolean; buffer?: Float32Array; drawn?: { detections: Detection[]; frame: { width: number; height: number } } }>,
    ) => {
      if (e.data.buffer) this.pool.push(e.data.buffer);
      if (ctx && e.data.drawn) drawDetections(ctx, e.data.drawn.detections, e.data.drawn.frame);
      if (e.data.want) {
        this.wanted = true;
        this.flush();
      }
    };
  }

  /** Reads a stream of camera frames until detached; `frameRate` (the track's) lets lost frames be counted. */
  attachStream(readable: ReadableStream<VideoFrame>, onError: (message: string) => void, frameRate?: number) {
    this.interval = frameRate && frameRate > 0 ? 1e6 / frameRate : undefined;
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
    this.raw?.frame.close();
    this.raw = undefined;
    this.port?.close();
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
    if (!this.preparing) void this.prepareLoop();
  }

  private async prepareLoop() {
    this.preparing = true;
    try {
      while (this.raw && this.spec) {
        const raw = this.raw;
        this.raw = undefined;
        const t0 = performance.now();
        let prepared: PreparedFrame;
        try {
          prepared = await this.prepare(raw.frame, this.spec);
        } finally {
          raw.frame.close();
        }
        prepared.captureEpoch = raw.captureEpoch;
        prepared.handoffEpoch = raw.handoffEpoch;
        prepared.preprocessMs = performance.now() - t0;
        if (this.ready) {
          this.pool.push(this.ready.tensor);
          this.dropped++;
        }
        this.ready = prepared;
        this.flush();
      }
    } finally {
      this.preparing = false;
    }
  }

  private flush() {
    if (!this.wanted || !this.ready || !this.port) return;
    const p = this.ready;
    this.ready = undefined;
    this.wanted = false;
    p.dropped = this.dropped;
    this.dropped = 0;
    this.port.postMessage(p, [p.tensor.buffer]);
  }

  private async prepare(f: Frame, spec: PrepSpec): Promise<PreparedFrame> {
    const video = 'format' in f;
    const width = video ? (f.visibleRect?.width ?? f.displayWidth) : f.width;
    const height = video ? (f.visibleRect?.height ?? f.displayHeight) : f.height;
    const fit = fitFrame(width, height, spec.width, spec.height, spec.resize);
    const n = spec.width * spec.height * 3;
    let out = this.pool.pop();
    if (!out || out.length !== n) out = new Float32Array(n);
    let tensor: Float32Array | undefined;
    let image: PreparedFrame['image'];
    if (video && (f.format === 'I420' || f.format === 'NV12')) {
      // straight from the camera's planes: no full-frame RGBA conversion, no canvas readback
      const size = f.allocationSize();
      if (!this.yuv || this.yuv.length < size) this.yuv = new Uint8Array(size);
      const layout = await f.copyTo(this.yuv);
      const yuv = yuvLayout(f.format, this.yuv, layout, width, height, f.colorSpace ?? {});
      if (yuv) {
        tensor = yuvToTensor(yuv, fit, spec.width, spec.height, spec, out);
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
        ctx.fillStyle = 'rgb(114,114,114)';
        ctx.fillRect(0, 0, spec.width, spec.height);
      }
      ctx.drawImage(f, fit.dx, fit.dy, fit.dw, fit.dh);
      const rgba = ctx.getImageData(0, 0, spec.width, spec.height).data;
      tensor = rgbaToTensor(rgba, spec.width, spec.height, spec, out);
      const t = performance.now();
      image = { ...rgbaImageStats(rgba, spec.width, spec.height, { x: fit.dx, y: fit.dy, width: fit.dw, height: fit.dh }, this.statsScratch), ms: 0 };
      image.ms = performance.now() - t;
    }
    return { tensor, frame: { width, height }, fit, handoffEpoch: 0, preprocessMs: 0, dropped: 0, image };
  }
}

export type FrameWorkerApi = FrameWorker;
Comlink.expose(new FrameWorker());
