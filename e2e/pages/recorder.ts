/**
 * An app that runs its own "model" on the camera and reports through the headless recorder: every 100 ms it
 * grabs a frame from its <video>, finds the brightest 64×64 cell (its own detector, in JS) and records the
 * result with the frame; a second recorder records without frames. Exposed as window.app for the test.
 */
import { createRecorder } from '../../src/index.ts';

const video = document.querySelector('video')!;
const canvas = new OffscreenCanvas(640, 480);
const ctx = canvas.getContext('2d', { willReadFrequently: true })!;

const withFrames = createRecorder({ cameraId: 'rec-cam', location: 'bench 2', modelVersion: 'brightest-cell-v1', modelId: 'brightest-cell', labels: ['light'], backend: 'js', frameRate: Infinity });
const noFrames = createRecorder({ cameraId: 'rec-noframe', modelVersion: 'brightest-cell-v1', labels: ['light'], backend: 'js' });
const errors: { field: string; message: string }[] = [];
for (const r of [withFrames, noFrames]) r.addEventListener('error', (e) => errors.push({ field: (e as CustomEvent).detail.field, message: (e as CustomEvent).detail.message }));

function detect(): { detections: { classId: number; label: string; score: number; box: [number, number, number, number] }[]; ms: number } {
  const t0 = performance.now();
  ctx.drawImage(video, 0, 0, 640, 480);
  const px = ctx.getImageData(0, 0, 640, 480).data;
  let best = -1, bx = 0, by = 0;
  for (let y = 0; y < 480; y += 64)
    for (let x = 0; x < 640; x += 64) {
      let s = 0;
      for (let j = y; j < Math.min(480, y + 64); j += 8) for (let i = x; i < x + 64; i += 8) s += px[(j * 640 + i) * 4]!;
      if (s > best) (best = s), (bx = x), (by = y);
    }
  const score = Math.min(1, best / (64 * 255));
  return { detections: [{ classId: 0, label: 'light', score, box: [bx, by, 64, 64] }], ms: performance.now() - t0 };
}

const ids: string[] = [];
let timer: ReturnType<typeof setInterval> | undefined;
async function start() {
  video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
  await video.play();
  timer = setInterval(() => {
    const { detections, ms } = detect();
    const id = withFrames.record({ timings: { inference: ms, total: ms + 1 }, detections, frame: canvas });
    if (id) ids.push(id);
    noFrames.record({ timings: { inference: ms }, detections, size: { width: 640, height: 480 } });
  }, 100);
}

(window as unknown as { app: unknown }).app = {
  withFrames,
  noFrames,
  canvas,
  ids,
  errors,
  stop: () => clearInterval(timer),
  started: start(),
};
