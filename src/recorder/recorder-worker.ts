/**
 * The recorder's worker: takes what a host app's own inference produced (recorder.ts posts it; a frame comes
 * ahead of its record as a VideoFrame, whose pixels are copied out here at once, or with it as an ImageBitmap),
 * and does what the monitor's frame and inference workers do for a camera — input-image statistics and the
 * scene thumbnail from the frame, the frame record, the record into the hub worker (health, flagging, sync),
 * and the last few frames kept for flagging (JPEG encoded here on the store's request). Nothing of it runs on
 * the host's thread.
 */
import { type ChallengerSummary, ChallengerTally, type ModelRun, pairFrame } from '../inference/challenger.ts';
import * as Comlink from 'comlink';
import { type ImageStats, rgbaImageStats, ImageStatsScratch, yuvImageStats } from '../capture/image-stats.ts';
import { yuvLayout } from '../capture/yuv.ts';
import type { InferenceResult, ResultMessage, StageTimings } from '../inference/protocol.ts';
import type { Detection } from '../types/detection.ts';
import type { EncodeReply } from '../capture/protocol.ts';
import { JpegEncoder, serveEncodes } from '../capture/jpeg-encoder.ts';
import type { Tags } from '../telemetry/record.ts';

/** One call of record(), as it crosses to this worker. */
export interface RecordPost {
  id: string;
  t: number;
  timings: Partial<StageTimings>;
  /** labels may be left out: the worker fills them in from the recorder's labels */
  detections: (Omit<Detection, 'label'> & { label?: string })[];
  error?: string;
  malformed?: string;
  /** frames the host skipped since the last record */
  dropped: number;
  /** the frame, where the host's side could not make a VideoFrame of it (an ImageBitmap) */
  frame?: ImageBitmap | VideoFrame;
  /** its frame went ahead as a FrameMessage with the same id */
  framed?: boolean;
  /** the frame's size when it is not given (boxes are in its pixels) */
  size?: { width: number; height: number };
}

/** A record's frame, sent ahead of its record the moment record() is called (the worker copies its pixels out at once and closes it). */
export interface FrameMessage {
  id: string;
  frame: VideoFrame;
}

/** A frame's pixels in its own format (VideoFrame.copyTo): RGBA/BGRA/RGBX/BGRX, I420 or NV12. */
export interface FramePixels {
  /** the buffer (pooled: it may be longer than `size`) */
  data: ArrayBuffer;
  size: number;
  format: VideoPixelFormat;
  width: number;
  height: number;
  layout: PlaneLayout[];
  color: VideoColorSpaceInit;
}

/** frames kept for flagging (pixels or ImageBitmaps: ~10 MB at most at 640×480) */
const KEEP = 8;
/** frames copied ahead of their records, at most */
const MAX_COPIES = 32;

class RecorderWorker {
  private store?: MessagePort;
  private src = '';
  private tags: Tags = {};
  private mv = '';
  private backend = '';
  private flagPort?: MessagePort;
  private labels: string[] = [];
  private kept: { id: string; frame: ImageBitmap | VideoFrame | FramePixels }[] = [];
  /** frames' pixels being copied out or copied, by record id, until their record comes */
  private copies = new Map<string, Promise<FramePixels | undefined>>();
  /** pixel buffers no longer held, for reuse */
  private pool: ArrayBuffer[] = [];
  private stats?: { canvas: OffscreenCanvas; ctx: OffscreenCanvasRenderingContext2D };
  private scratch = new ImageStatsScratch();
  /** posts are taken one after another (a frame's pixels are read asynchronously), in the order they came */
  private queue: Promise<void> = Promise.resolve();
  private readonly encoder = new JpegEncoder();

  /** `records`: the host side's port for record() posts; `store`: the hub worker's record port. */
  init(records: MessagePort, store: MessagePort, o: { src: string; tags: Tags; modelVersion: string; backend: string; labels?: string[] }) {
    this.store = store;
    this.labels = o.labels ?? [];
    this.src = o.src;
    this.tags = o.tags;
    this.mv = o.modelVersion;
    this.backend = o.backend;
    store.postMessage({ src: o.src, tags: o.tags, model: o.modelVersion } satisfies ResultMessage);
    // batches of posts; `{sync}` is answered once everything before it was taken (close() waits for it)
    records.onmessage = (e: MessageEvent<RecordPost[] | FrameMessage | { sync: number }>) => {
      const d = e.data;
      if ('frame' in d) this.copyOut(d.id, d.frame);
      else if (Array.isArray(d)) for (const p of d) this.queue = this.queue.then(() => this.take(p)).catch(() => this.drop(p.frame));
      else this.queue = this.queue.then(() => records.postMessage({ synced: d.sync }));
    };
  }

  setTags(tags: Tags) {
    this.tags = tags;
  }

  /** a challenger's runs beside the app's own model (the champion), tallied here (inference/challenger.ts) */
  private challenger?: ChallengerTally;

  /** One frame both the app's model and a challenger ran on; the tally starts again for another challenger version. */
  compare(challengerVersion: string, t: number, champion: ModelRun, challenger: ModelRun) {
    if (this.challenger?.challengerVersion !== challengerVersion) this.challenger = new ChallengerTally(this.mv, challengerVersion);
    this.challenger.add(pairFrame(t, champion, challenger));
  }

  /** The comparison so far (undefined before the first compared frame). */
  challengerSummary(): ChallengerSummary | undefined {
    return this.challenger?.summary();
  }

  /** The hub worker's flag port: frames kept are encoded on its request. */
  attachFlagPort(port: MessagePort) {
    this.flagPort = port;
    serveEncodes(port, (id, quality) => this.encode(id, quality));
  }

  /** A frame's pixels copied out at once into a pooled buffer, as they are; the frame is closed. */
  private copyOut(id: string, vf: VideoFrame) {
    const copy = (async (): Promise<FramePixels | undefined> => {
      try {
        const { width, height } = vf.visibleRect!;
        const size = vf.allocationSize();
        const i = this.pool.findIndex((b) => b.byteLength >= size);
        const data = i >= 0 ? this.pool.splice(i, 1)[0]! : new ArrayBuffer(size);
        const layout = await vf.copyTo(new Uint8Array(data, 0, size));
        return { data, size, format: vf.format!, width, height, layout, color: vf.colorSpace.toJSON() };
      } catch {
        return undefined; // its record goes without image statistics
      } finally {
        vf.close();
      }
    })();
    this.copies.set(id, copy);
    // a frame whose record never comes (the host's side dropped it) is not kept for long
    while (this.copies.size > MAX_COPIES) {
      const [old, c] = this.copies.entries().next().value!;
      this.copies.delete(old);
      void c.then((px) => this.drop(px));
    }
  }

  /** A frame no longer held: closed, or its pixel buffer kept for reuse. */
  private drop(f: ImageBitmap | VideoFrame | FramePixels | undefined) {
    if (!f) return;
    if ('data' in f) {
      if (this.pool.length < KEEP + 2) this.pool.push(f.data);
    } else f.close();
  }

  private async take(p: RecordPost) {
    let f: ImageBitmap | VideoFrame | FramePixels | undefined = p.frame;
    if (p.framed) {
      f = await this.copies.get(p.id);
      this.copies.delete(p.id);
    }
    if (!this.store) return this.drop(f);
    for (const d of p.detections) d.label ??= this.labels[d.classId] ?? `class ${d.classId}`;
    const detections = p.detections as Detection[];
    let image: InferenceResult['image'];
    let width = p.size?.width ?? 0, height = p.size?.height ?? 0;
    if (f) {
      [width, height] = 'displayWidth' in f ? [f.displayWidth, f.displayHeight] : [f.width, f.height];
      const t0 = performance.now();
      image = { ...this.imageStats(f, width, height), ms: 0 };
      image.ms = performance.now() - t0;
      if (this.flagPort) {
        this.kept.push({ id: p.id, frame: f });
        while (this.kept.length > KEEP) this.drop(this.kept.shift()!.frame);
      } else this.drop(f);
    }
    if (p.error) {
      const failure = { id: p.id, t: Math.round(p.t), modelVersion: this.mv, backend: this.backend, dropped: p.dropped, error: p.error, timings: p.timings };
      this.store.postMessage({ src: this.src, tags: this.tags, failure } satisfies ResultMessage);
      return;
    }
    const r: InferenceResult = {
      inferenceId: p.id,
      timestamp: p.t,
      handoffEpoch: p.t,
      workerDoneEpoch: p.t,
      modelVersion: this.mv,
      backend: this.backend as InferenceResult['backend'],
      frame: { width, height },
      timings: p.timings as StageTimings, // stages the host did not time stay unknown (-1 in the record)
      droppedFrames: p.dropped,
      detections,
      ...(p.malformed ? { malformed: p.malformed } : {}),
      ...(image ? { image } : {}),
    };
    this.store.postMessage({ src: this.src, tags: this.tags, result: r } satisfies ResultMessage);
  }

  /**
   * The frame's image statistics: from its pixels as they came (RGBA/BGRA, or the YUV planes of a video frame),
   * else by drawing the ImageBitmap and reading it back (drawing costs ~30 ms of this thread on a machine
   * without a GPU; the pixels cost nothing more than the statistics).
   */
  private imageStats(f: ImageBitmap | VideoFrame | FramePixels, width: number, height: number): ImageStats {
    if ('data' in f) {
      const px = new Uint8Array(f.data, 0, f.size);
      const rgb = /^(RGB|BGR)[AX]$/.exec(f.format);
      const plane = f.layout[0];
      if (rgb && plane && plane.stride === f.width * 4) return rgbaImageStats(px.subarray(plane.offset), f.width, f.height, undefined, this.scratch, rgb[1] === 'BGR' ? 'bgr' : 'rgb');
      const yuv = yuvLayout(f.format, px, f.layout, f.width, f.height, f.color);
      if (yuv) return yuvImageStats(yuv, this.scratch);
      // a format the statistics do not read directly: drawn below
      const vf = this.toVideoFrame(f);
      try {
        return this.drawnStats(vf, width, height);
      } finally {
        vf.close();
      }
    }
    return this.drawnStats(f, width, height);
  }

  private drawnStats(f: CanvasImageSource, width: number, height: number): ImageStats {
    if (!this.stats || this.stats.canvas.width !== width || this.stats.canvas.height !== height) {
      const canvas = new OffscreenCanvas(width, height);
      this.stats = { canvas, ctx: canvas.getContext('2d', { willReadFrequently: true, alpha: false })! };
    }
    this.stats.ctx.drawImage(f, 0, 0, width, height);
    return rgbaImageStats(this.stats.ctx.getImageData(0, 0, width, height).data, width, height, undefined, this.scratch);
  }

  /** Pixels back into a VideoFrame (a copy), to draw them: for a flagged frame's JPEG. */
  private toVideoFrame(f: FramePixels) {
    return new VideoFrame(new Uint8Array(f.data, 0, f.size), { format: f.format, codedWidth: f.width, codedHeight: f.height, layout: f.layout, colorSpace: f.color, timestamp: 0 });
  }

  /** A kept frame as JPEG at its own size, plus a thumbnail. */
  private encode(id: string, quality: number): Promise<EncodeReply> {
    const k = this.kept.find((x) => x.id === id);
    if (!k) return Promise.resolve({ encoded: { id, error: 'the frame is no longer held (only the last few recorded frames are kept), or was recorded without one' } });
    const kf = k.frame;
    const size = () => ('displayWidth' in kf ? ([kf.displayWidth, kf.displayHeight] as const) : ([kf.width, kf.height] as const));
    return this.encoder.encode(id, quality, size, (ctx, width, height) => {
      if ('data' in kf) {
        const vf = this.toVideoFrame(kf);
        ctx.drawImage(vf, 0, 0, width, height);
        vf.close();
      } else ctx.drawImage(kf, 0, 0, width, height);
    });
  }

  close() {
    for (const k of this.kept.splice(0)) if ('close' in k.frame) k.frame.close();
    this.copies.clear();
    this.pool = [];
    this.flagPort?.close();
    this.store?.close();
    this.store = undefined;
  }
}

export type RecorderWorkerApi = RecorderWorker;
Comlink.expose(new RecorderWorker());
