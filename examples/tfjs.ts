/**
 * Example 2: an app that already runs its model with TF.js — here CenterNet (COCO) as a TF.js graph model from
 * the `@vladmandic/human` npm package, on TF.js's CPU backend — and reports every result through the headless
 * recorder: its own timings, its detections and the video frame. The panel below shows it like a monitor's.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { COCO_LABELS, createRecorder } from '../src/index.ts';

const status = document.getElementById('status')!;
const video = document.querySelector('video')!;
const SIZE = 512;

const recorder = createRecorder({ cameraId: 'tfjs-cam', location: 'example', modelVersion: 'human-centernet-tfjs', modelId: 'centernet (TF.js)', labels: [...COCO_LABELS], backend: 'tfjs-cpu' });
recorder.addEventListener('error', (e) => console.warn('recorder refused a record:', (e as CustomEvent).detail.message));
(window as unknown as { app: unknown }).app = { recorder, results: 0 };

async function main() {
  await tf.setBackend('cpu');
  const model = await loadGraphModel(new URL('models/centernet.json', location.href).href);
  video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
  await video.play();
  status.textContent = 'running';
  for (;;) {
    const t0 = performance.now();
    const input = tf.tidy(() => tf.expandDims(tf.cast(tf.image.resizeBilinear(tf.browser.fromPixels(video), [SIZE, SIZE]), 'float32'), 0));
    const t1 = performance.now();
    const out = (await model.executeAsync(input, 'tower_0/detections')) as tf.Tensor;
    const rows = await out.data();
    const t2 = performance.now();
    input.dispose();
    out.dispose();
    // rows of x1, y1, x2, y2 (model pixels), score, class → boxes in the video's pixels
    const sx = video.videoWidth / SIZE, sy = video.videoHeight / SIZE;
    const detections = [];
    for (let i = 0; i + 5 < rows.length; i += 6) {
      const score = rows[i + 4]!;
      if (!(score >= 0.3)) continue;
      const classId = Math.round(rows[i + 5]!);
      const x = rows[i]! * sx, y = rows[i + 1]! * sy;
      detections.push({ classId, label: COCO_LABELS[classId] ?? `class ${classId}`, score: Math.min(1, score), box: [x, y, rows[i + 2]! * sx - x, rows[i + 3]! * sy - y] as [number, number, number, number] });
    }
    const t3 = performance.now();
    recorder.record({ timings: { preprocess: t1 - t0, inference: t2 - t1, postprocess: t3 - t2, total: t3 - t0 }, detections, frame: video });
    (window as unknown as { app: { results: number } }).app.results++;
    status.textContent = `running: ${detections.length} detections, ${(t2 - t1).toFixed(0)} ms per inference`;
    await new Promise((r) => setTimeout(r, 0));
  }
}
main().catch((e) => (status.textContent = `failed: ${(e as Error).message}`));
