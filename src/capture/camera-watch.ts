/**
 * Watching the camera while it runs: a track that ends (unplugged, taken by another app, access revoked) or
 * is muted (the system paused it) is down; a muted one may come back by itself (unmute); an ended one is
 * gone for good, and a camera is asked for again on each `devicechange` and every few seconds until one opens.
 */

export type CameraDownReason = 'ended' | 'muted';

/** The part of a MediaStreamTrack watched (a real track in the page; any EventTarget in a test). */
export interface WatchedTrack extends EventTarget {
  readonly readyState: string;
  readonly muted: boolean;
  readonly label?: string;
}

/**
 * Calls `down` when the track ends or is muted (at once, if it already is), `up` when a muted track
 * unmutes. Returns a function that stops watching.
 */
export function watchTrack(track: WatchedTrack, on: { down(reason: CameraDownReason, message: string): void; up(): void }): () => void {
  const name = track.label ? ` (${track.label})` : '';
  const ended = () => on.down('ended', `the camera${name} stopped: unplugged, taken by another app, or its permission revoked`);
  const mute = () => {
    if (track.readyState !== 'ended') on.down('muted', `the camera${name} sends no frames (muted by the system or another app)`);
  };
  const unmute = () => {
    if (track.readyState !== 'ended') on.up();
  };
  track.addEventListener('ended', ended);
  track.addEventListener('mute', mute);
  track.addEventListener('unmute', unmute);
  if (track.readyState === 'ended') ended();
  else if (track.muted) mute();
  return () => {
    track.removeEventListener('ended', ended);
    track.removeEventListener('mute', mute);
    track.removeEventListener('unmute', unmute);
  };
}

/**
 * While a camera is gone: calls `reopen` on each `devicechange` of `devices` and every `everyMs` (a camera
 * freed by another app sends no devicechange), one attempt at a time, until it resolves true. Returns a
 * function that stops trying.
 */
export function reacquire(devices: EventTarget | undefined, reopen: () => Promise<boolean>, everyMs = 5000): () => void {
  let done = false;
  let busy = false;
  let again = false;
  const attempt = async () => {
    if (done) return;
    if (busy) {
      again = true; // a devicechange during an attempt: try once more after it
      return;
    }
    busy = true;
    let ok = false;
    try {
      ok = await reopen();
    } catch {
      ok = false;
    }
    busy = false;
    if (ok) stop();
    else if (again && !done) {
      again = false;
      void attempt();
    }
  };
  const onChange = () => void attempt();
  const timer = setInterval(onChange, everyMs);
  devices?.addEventListener('devicechange', onChange);
  const stop = () => {
    done = true;
    clearInterval(timer);
    devices?.removeEventListener('devicechange', onChange);
  };
  return stop;
}
