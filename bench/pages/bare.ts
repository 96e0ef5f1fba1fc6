/** Benchmark page: a bare onnxruntime-web loop in a worker, no monitoring — the baseline the pipeline is held to. */
import * as Comlink from 'comlink';
import type { BareApi } from './bare-worker.ts';

const api = Comlink.wrap<BareApi>(new Worker(new URL('./bare-worker.ts', import.meta.url), { type: 'module' }));

let stream: MediaStream | undefined;
/**
 * Opens the camera and reads every frame off it (closing each), as the monitor must, with nothing else:
 * what merely having a camera running costs the bare loop on this machine.
 */
async function cameraOn(): Promise<void> {
  stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  const MSTP = (globalThis as any).MediaStreamTrackProcessor;
  const reader = new MSTP({ track: stream.getVideoTracks()[0], maxBufferSize: 2 }).readable.getReader() as ReadableStreamDefaultReader<VideoFrame>;
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      value.close();
    }
  })();
}
function cameraOff() {
  for (const t of stream?.getTracks() ?? []) t.stop();
  stream = undefined;
}

Object.assign(globalThis, { bare: api, cameraOn, cameraOff });
document.body.dataset.ready = '1';
