/** Opening and closing the camera (getUserMedia with clear errors), and its frames as a stream for the frame worker. */
import { MonitorError } from '../lib/errors.ts';

export interface CameraRequest {
  /** a deviceId, or 'default' */
  camera: string;
  width?: number;
  height?: number;
}

/** Opens the camera; failures become `camera-denied`, `camera-not-found` or `camera-failed`. */
export async function openCamera(req: CameraRequest): Promise<MediaStream> {
  const md = globalThis.navigator?.mediaDevices;
  if (!md?.getUserMedia)
    throw new MonitorError('camera-not-found', 'no camera API here (the page must be a secure context: https or localhost)');
  const video: MediaTrackConstraints = {};
  if (req.camera && req.camera !== 'default') video.deviceId = { exact: req.camera };
  if (req.width) video.width = { ideal: req.width };
  if (req.height) video.height = { ideal: req.height };
  try {
    return await md.getUserMedia({ video, audio: false });
  } catch (e) {
    const name = (e as DOMException).name;
    const msg = (e as Error).message || name;
    if (name === 'NotAllowedError' || name === 'SecurityError') throw new MonitorError('camera-denied', `camera permission denied: ${msg}`);
    if (name === 'NotFoundError' || name === 'OverconstrainedError')
      throw new MonitorError('camera-not-found', req.camera !== 'default' ? `no camera with id '${req.camera}'` : `no camera found: ${msg}`);
    throw new MonitorError('camera-failed', `cannot open the camera: ${msg}`);
  }
}

/** Stops every track of a stream. */
export function closeCamera(stream: MediaStream | undefined) {
  for (const t of stream?.getTracks() ?? []) t.stop();
}

/** A transferable stream of VideoFrames for a track, where the browser has MediaStreamTrackProcessor. */
export function frameStream(track: MediaStreamTrack): ReadableStream<VideoFrame> | undefined {
  const MSTP = (globalThis as { MediaStreamTrackProcessor?: new (o: { track: MediaStreamTrack; maxBufferSize?: number }) => { readable: ReadableStream<VideoFrame> } })
    .MediaStreamTrackProcessor;
  if (!MSTP) return undefined;
  return new MSTP({ track, maxBufferSize: 2 }).readable;
}
