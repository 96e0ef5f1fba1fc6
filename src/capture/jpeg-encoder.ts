/** A frame kept for flagging → a JPEG at its own size and a small thumbnail, encoded in the worker that holds the frame (the frame worker, the recorder's worker). */
import type { EncodeReply, EncodeRequest } from './protocol.ts';

const THUMB_WIDTH = 192;
const THUMB_QUALITY = 0.7;

type Ctx = OffscreenCanvasRenderingContext2D;

/** Reuses its canvases while frames keep one size. */
export class JpegEncoder {
  private c?: { canvas: OffscreenCanvas; ctx: Ctx; thumb: OffscreenCanvas; tctx: Ctx };

  /**
   * `size` gives the frame's size and `paint` draws it on a canvas of that size; both run inside the try,
   * so a frame that can no longer be read answers with an error instead of throwing.
   */
  async encode(id: string, quality: number, size: () => readonly [number, number], paint: (ctx: Ctx, width: number, height: number) => void): Promise<EncodeReply> {
    try {
      const t0 = performance.now();
      const [width, height] = size();
      if (!this.c || this.c.canvas.width !== width || this.c.canvas.height !== height) {
        const canvas = new OffscreenCanvas(width, height);
        const thumb = new OffscreenCanvas(THUMB_WIDTH, Math.max(1, Math.round((height * THUMB_WIDTH) / width)));
        this.c = { canvas, ctx: canvas.getContext('2d', { alpha: false })!, thumb, tctx: thumb.getContext('2d', { alpha: false })! };
      }
      const c = this.c;
      paint(c.ctx, width, height);
      c.tctx.drawImage(c.canvas, 0, 0, c.thumb.width, c.thumb.height);
      const [jpeg, thumb] = await Promise.all([c.canvas.convertToBlob({ type: 'image/jpeg', quality }), c.thumb.convertToBlob({ type: 'image/jpeg', quality: THUMB_QUALITY })]);
      return { encoded: { id, jpeg, thumb, width, height, ms: performance.now() - t0 } };
    } catch (err) {
      return { encoded: { id, error: `could not encode the frame: ${(err as Error).message}` } };
    }
  }
}

/** Answers the hub worker's encode requests on a flag port. */
export function serveEncodes(port: MessagePort, encode: (id: string, quality: number) => Promise<EncodeReply>) {
  port.onmessage = (e: MessageEvent<EncodeRequest>) => {
    if (e.data.encode) void encode(e.data.encode.id, e.data.encode.quality).then((reply) => port.postMessage(reply));
  };
}
