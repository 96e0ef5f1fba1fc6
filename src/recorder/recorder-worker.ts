/**
 * The recorder's worker: takes what a host app's own inference produced (recorder.ts posts it, with the frame
 * as an ImageBitmap when there is one), and does what the monitor's frame and inference workers do for a
 * camera — input-image statistics and the scene thumbnail from the frame, the frame record, the record into
 * the store worker (health, flagging, sync), and the last few frames kept for flagging (JPEG encoded here on
 * the store's request). Nothing of it runs on the host's thread.
 */
import * as Comlink from 'comlink';
import { type ImageStats, rgbaImageStats, ImageStatsScratch, yuvImageStats } from '../health/image-stats.ts';
import { yuvLayout } from '../inference/yuv.ts';
import type { InferenceResult, StageTimings } from '../inference/protocol.ts';
import type { Detection } from '../inference/types.ts';
import type { EncodeReply, EncodeRequest } from '../capture/frame-worker.ts';
import type { RecordMessage } from '../store/store-worker.ts';
import { STAGES, tagKey, type Tags, toFrameRecord } from '../telemetry/record.ts';

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
  frame?: ImageBitmap | VideoFrame;
  /** the frame's size when it is not given (boxes are in its pixels) */
  size?: { width: number; height: number };
}

/** frames kept for flagging (as ImageBitmaps: a few MB at most) */
const KEEP = 8;
const THUMB_WIDTH = 192;

class RecorderWorker {
  private store?: MessagePort;
  private src = '';
  private tags: Tags = {};
  private mv = '';
  private backend = '';
  private flagPort?: MessagePort;
  private labels: string[] = [];
  private kept: { id: string; frame: ImageBitmap | VideoFrame }[] = [];
  private stats?: { canvas: OffscreenCanvas; ctx: OffscreenCanvasRenderingContext2D };
  private scratch = new ImageStatsScratch();
  /** a frame's pixels, read with VideoFrame.copyTo (reused) */
  private pixels?: Uint8Array;
  /** posts are taken one after another (a frame's pixels are read asynchronously), in the order they came */
  private queue: Promise<void> = Promise.resolve();
  private enc?: { canvas: OffscreenCanvas; ctx: OffscreenCanvasRenderingContext2D; thumb: OffscreenCanvas; tctx: OffscreenCanvasRenderingContext2D };

  /** `records`: the host side's port for record() posts; `store`: the store worker's record port. */
  init(records: MessagePort, store: MessagePort, o: { src: string; tags: Tags; modelVersion: string; backend: string; labels?: string[] }) {
    this.store = store;
    this.labels = o.labels ?? [];
    this.src = o.src;
    this.tags = o.tags;
    this.mv = o.modelVersion;
    this.backend = o.backend;
    store.postMessage({ records: [], model: o.modelVersion } satisfies RecordMessage);
    // batches of posts; `{sync}` is answered once everything before it was taken (close() waits for it)
    records.onmessage = (e: MessageEvent<RecordPost[] | { sync: number }>) => {
      const d = e.data;
      if (Array.isArray(d)) for (const p of d) this.queue = this.queue.then(() => this.take(p)).catch(() => p.frame?.close());
      else this.queue = this.queue.then(() => records.postMessage({ synced: d.sync }));
    };
  }

  setTags(tags: Tags) {
    this.tags = tags;
  }

  /** The store worker's flag port: frames kept are encoded on its request. */
  attachFlagPort(port: MessagePort) {
    this.flagPort = port;
    port.onmessage = (e: MessageEvent<EncodeRequest>) => {
      if (e.data.encode) void this.encode(e.data.encode.id, e.data.encode.quality).then((reply) => port.postMessage(reply));
    };
  }

  private async take(p: RecordPost) {
    if (!this.store) return p.frame?.close();
    for (const d of p.detections) d.label ??= this.labels[d.classId] ?? `class ${d.classId}`;
    const detections = p.detections as Detection[];
    let image: InferenceResult['image'];
    let width = p.size?.width ?? 0, height = p.size?.height ?? 0;
    if (p.frame) {
      [width, height] = 'displayWidth' in p.frame ? [p.frame.displayWidth, p.frame.displayHeight] : [p.frame.width, p.frame.height];
      const t0 = performance.now();
      image = { ...(await this.imageStats(p.frame, width, height)), ms: 0 };
      image.ms = performance.now() - t0;
      if (this.flagPort) {
        this.kept.push({ id: p.id, frame: p.frame });
        while (this.kept.length > KEEP) this.kept.shift()!.frame.close();
      } else p.frame.close();
    }
    if (p.error) {
      const rec = { id: p.id, t: Math.round(p.t), src: this.src, mv: this.mv.slice(0, 12), b: this.backend, l: STAGES.map((s) => (typeof p.timings[s] === 'number' ? p.timings[s]! : -1)), d: p.dropped, k: [], s: [], e: p.error, g: tagKey(this.tags) };
      this.store.postMessage({ records: [rec] } satisfies RecordMessage);
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
    const rec = toFrameRecord(r, this.src, this.tags);
    this.store.postMessage({ records: [rec], detections: detections.length ? [{ id: p.id, t: Math.round(p.t), detections }] : undefined } satisfies RecordMessage);
  }

  /**
   * The frame's image statistics. A VideoFrame's pixels are copied out as they are (a memory copy: 0.15 ms
   * for 640×480) — drawing it on a canvas to read it back costs ~30 ms of this thread on a machine without a
   * GPU; an ImageBitmap is drawn.
   */
  private async imageStats(f: ImageBitmap | VideoFrame, width: number, height: number): Promise<ImageStats> {
    if ('format' in f && f.format) {
      const { width: w, height: h } = f.visibleRect ?? { width, height };
      if (/^(RGB|BGR)[AX]$/.test(f.format)) {
        const size = w * h * 4;
        if (!this.pixels || this.pixels.length < size) this.pixels = new Uint8Array(size);
        await f.copyTo(this.pixels, { layout: [{ offset: 0, stride: w * 4 }] });
        return rgbaImageStats(this.pixels, w, h, undefined, this.scratch, f.format.startsWith('BGR') ? 'bgr' : 'rgb');
      }
      if (f.format === 'I420' || f.format === 'NV12') {
        const size = f.allocationSize();
        if (!this.pixels || this.pixels.length < size) this.pixels = new Uint8Array(size);
        const yuv = yuvLayout(f.format, this.pixels, await f.copyTo(this.pixels), w, h, f.colorSpace ?? {});
        if (yuv) return yuvImageStats(yuv, this.scratch);
      }
    }
    if (!this.stats || this.stats.canvas.width !== width || this.stats.canvas.height !== height) {
      const canvas = new OffscreenCanvas(width, height);
      this.stats = { canvas, ctx: canvas.getContext('2d', { willReadFrequently: true, alpha: false })! };
    }
    this.stats.ctx.drawImage(f, 0, 0, width, height);
    return rgbaImageStats(this.stats.ctx.getImageData(0, 0, width, height).data, width, height, undefined, this.scratch);
  }

  /** A kept frame as JPEG at its own size, plus a thumbnail. */
  private async encode(id: string, quality: number): Promise<EncodeReply> {
    const k = this.kept.find((x) => x.id === id);
    if (!k) return { encoded: { id, error: 'the frame is no longer held (only the last few recorded frames are kept), or was recorded without one' } };
    try {
      const t0 = performance.now();
      const [width, height] = 'displayWidth' in k.frame ? [k.frame.displayWidth, k.frame.displayHeight] : [k.frame.width, k.frame.height];
      if (!this.enc || this.enc.canvas.width !== width || this.enc.canvas.height !== height) {
        const canvas = new OffscreenCanvas(width, height);
        const thumb = new OffscreenCanvas(THUMB_WIDTH, Math.max(1, Math.round((height * THUMB_WIDTH) / width)));
        this.enc = { canvas, ctx: canvas.getContext('2d', { alpha: false })!, thumb, tctx: thumb.getContext('2d', { alpha: false })! };
      }
      const e = this.enc;
      e.ctx.drawImage(k.frame, 0, 0, width, height);
      e.tctx.drawImage(e.canvas, 0, 0, e.thumb.width, e.thumb.height);
      const [jpeg, thumb] = await Promise.all([e.canvas.convertToBlob({ type: 'image/jpeg', quality }), e.thumb.convertToBlob({ type: 'image/jpeg', quality: 0.7 })]);
      return { encoded: { id, jpeg, thumb, width, height, ms: performance.now() - t0 } };
    } catch (err) {
      return { encoded: { id, error: `could not encode the frame: ${(err as Error).message}` } };
    }
  }

  close() {
    for (const k of this.kept.splice(0)) k.frame.close();
    this.flagPort?.close();
    this.store?.close();
    this.store = undefined;
  }
}

export type RecorderWorkerApi = RecorderWorker;
Comlink.expose(new RecorderWorker());
