/** Drawing a frame's boxes and labels on a canvas (the monitor's view, flagged frames' JPEGs). */
import type { Detection } from '../types/detection.ts';

const COLORS = ['#ff595e', '#ffca3a', '#8ac926', '#1982c4', '#6a4c93', '#ff924c', '#52a675', '#4267ac'];

type Ctx = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;

/** Draws boxes and labels for one frame (over `image`, the frame itself, when given), sizing the canvas to the frame. Canvas text is never parsed as HTML. */
export function drawDetections(ctx: Ctx, detections: readonly Detection[], frame: { width: number; height: number }, image?: CanvasImageSource | ImageData) {
  const canvas = ctx.canvas;
  const { width, height } = frame;
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  if (image && 'data' in image) ctx.putImageData(image, 0, 0);
  else if (image) ctx.drawImage(image, 0, 0, width, height);
  else ctx.clearRect(0, 0, width, height);
  const line = Math.max(2, Math.round(width / 320));
  const th = Math.max(14, Math.round(width / 40));
  ctx.lineWidth = line;
  ctx.font = `${Math.max(12, Math.round(width / 45))}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  for (const d of detections) {
    const color = COLORS[d.classId % COLORS.length]!;
    const [x, y, w, h] = d.box;
    ctx.strokeStyle = color;
    ctx.strokeRect(x, y, w, h);
    const text = `${d.label} ${(d.score * 100).toFixed(0)}%`;
    const tw = ctx.measureText(text).width + 8;
    const ty = Math.max(0, y - th);
    ctx.fillStyle = color;
    ctx.fillRect(x - line / 2, ty, tw, th);
    ctx.fillStyle = '#000';
    ctx.fillText(text, x + 4, ty + 2);
  }
}
