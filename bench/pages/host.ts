/**
 * A host app's own frame loop (bench/recorder.ts): 30 times a second it draws the camera's frame into its
 * canvas and runs its own "model" on it (a JS pass over the pixels, a few ms), then — with ?recorder=on —
 * reports the result through the headless recorder with the canvas as the frame. It times its own work per
 * frame (the loop's cost to the app) and each record() call.
 */
import { createRecorder } from '../../src/recorder/recorder.ts';

const params = new URLSearchParams(location.search);
const withRecorder = params.get('recorder') === 'on';
const withFrame = params.get('frame') !== 'off';
const video = document.querySelector('video')!;
const canvas = document.createElement('canvas');
canvas.width = 640;
canvas.height = 480;
const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
const recorder = withRecorder ? createRecorder({ cameraId: 'bench-host', modelVersion: 'bench-host-model', labels: ['light'], backend: 'js' }) : undefined;

const results = { loopMs: [] as number[], recordMs: [] as number[], frames: 0, started: 0 };
(window as unknown as { __bench: unknown }).__bench = { recorder, results, reset: () => ((results.loopMs = []), (results.recordMs = []), (results.frames = 0), (results.started = performance.now())) };

function ownModel() {
  ctx.drawImage(video, 0, 0, 640, 480);
  const px = ctx.getImageData(0, 0, 640, 480).data;
  let best = -1, bx = 0, by = 0;
  for (let y = 0; y < 480; y += 32)
    for (let x = 0; x < 640; x += 32) {
      let s = 0;
      for (let j = y; j < y + 32; j += 2) for (let i = x; i < x + 32; i += 2) s += px[(j * 640 + i) * 4]! + px[(j * 640 + i) * 4 + 1]!;
      if (s > best) (best = s), (bx = x), (by = y);
    }
  return [{ classId: 0, label: 'light', score: Math.min(1, best / (256 * 510)), box: [bx, by, 32, 32] as [number, number, number, number] }];
}

async function run() {
  video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
  await video.play();
  results.started = performance.now();
  setInterval(() => {
    const t0 = performance.now();
    const detections = ownModel();
    const t1 = performance.now();
    if (recorder) {
      recorder.record({ timings: { inference: t1 - t0 }, detections, ...(withFrame ? { frame: canvas } : { size: { width: 640, height: 480 } }) });
      results.recordMs.push(performance.now() - t1);
    }
    results.loopMs.push(t1 - t0);
    results.frames++;
  }, 1000 / 30);
}
void run();
