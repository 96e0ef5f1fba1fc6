/**
 * A challenger model beside the deployed one (`challenger-model`): a candidate version tried on this device before
 * it ships. Its own inference worker, on WASM with one thread, loads the challenger and the champion (the deployed
 * model) and runs both on a sample of the frames the deployed model judged — as many as `challenger-budget` of the
 * time allows (default a tenth), so the deployed model's frames are never waited on. The worker tallies the two
 * (inference/challenger.ts); this polls its summary for the panel's side-by-side table and the `challenger` event.
 */
import * as Comlink from 'comlink';
import type { FrameClient } from '../../capture/frame-client.ts';
import type { ChallengerSummary } from '../../inference/challenger.ts';
import { MonitorError, toErrorInfo } from '../../lib/errors.ts';
import { getHub } from '../../hub/client.ts';
import { challengerSync } from '../../sync/challenger-payload.ts';
import { endWorker, type InferenceWorkerHandle, type LoadRequest, spawnInferenceWorker, within } from './standby.ts';
import { WATCHDOG_MARGIN_MS } from './run-watchdog.ts';

/** the share of the time the challenger (both its runs on a frame) may take when `challenger-budget` is not set */
export const DEFAULT_CHALLENGER_BUDGET = 0.1;
/** how often the summary is asked for */
const POLL_MS = 2000;
/** how often the compared frames are kept (hub/challenger-keep.ts) while they change */
const KEEP_MS = 15_000;

export interface ChallengerStart {
  manifestUrl: string;
  /** the camera compared on (the frames compared are kept per camera and pair of versions) */
  camera: string;
  /** the deployed model, as it was loaded: the champion */
  champion: LoadRequest & { version: string };
  frames: FrameClient;
  threshold: number;
  budget: number;
  /** still the pipeline's current run */
  current: () => boolean;
  runTimeoutMs?: number;
  /** a new summary (every few seconds while frames are compared) */
  summary: (s: ChallengerSummary) => void;
}

/** One challenger worker for a pipeline's run; `stop` ends it. */
export class Challenger {
  private handle?: InferenceWorkerHandle;
  private started?: ChallengerStart;
  private timer?: ReturnType<typeof setInterval>;
  private prep?: import('../../capture/protocol.ts').PrepSpec;

  constructor(private readonly lockName: string) {}

  /** Loads the challenger and the champion beside it, and connects them; rejects with the error (reported, not fatal). */
  async start(o: ChallengerStart): Promise<void> {
    const h = (this.handle = spawnInferenceWorker(this.lockName));
    try {
      if (o.runTimeoutMs) await Promise.race([h.api.setRunTimeout(o.runTimeoutMs), h.failed]);
      const ready = await Promise.race([h.api.load(o.manifestUrl, 'wasm', undefined, 1), h.failed]);
      if (!o.current() || this.handle !== h) return;
      await h.api.setThreshold(o.threshold);
      const bound = await h.api.runTimeout();
      await Promise.race([within(h.api.warmUp(), bound + WATCHDOG_MARGIN_MS, "the challenger model's first run"), h.failed]);
      this.prep = ready.prep;
      this.started = o;
      await this.connect(h, o, o.frames);
      if (!o.current() || this.handle !== h) return;
      // the frames compared before a reload of this camera's pair of versions: the comparison goes on from them
      // (the tally is made as the challenger's worker is connected; frames compared since go after them)
      const key = [o.camera, o.champion.version, ready.modelVersion] as const;
      const kept = await getHub().then((hub) => hub.keptChallenger(...key), () => []);
      if (kept.length) await Promise.race([h.api.restoreChallenger(kept), h.failed]);
      if (!o.current() || this.handle !== h) return;
      let last = '', keptAt = Date.now(), unkept = false;
      this.timer = setInterval(() => {
        void h.api.challengerSummary().then((s) => {
          if (!s || this.handle !== h || !o.current()) return;
          // a new frame, or the reference's verdict on one (the count stops at CHALLENGER_KEEP: the newest's time moves)
          const now = `${s.frames}|${s.until}|${s.reference?.frames ?? 0}`;
          if (now !== last) (last = now), (unkept = true), o.summary(s);
          if (unkept && Date.now() - keptAt >= KEEP_MS) {
            (keptAt = Date.now()), (unkept = false);
            void h.api.challengerFrames().then((fs) => getHub().then((hub) => hub.keepChallenger(...key, fs)), () => {});
          }
        }, () => {});
      }, POLL_MS);
    } catch (e) {
      this.stop();
      const info = toErrorInfo(e, 'worker-failed');
      throw new MonitorError(info.code, `challenger model: ${info.message}`);
    }
  }

  /** A channel from the frame worker `frames` to the challenger's worker; the champion is loaded there on the first. */
  private async connect(h: InferenceWorkerHandle, o: ChallengerStart, frames: FrameClient) {
    const ch = new MessageChannel();
    const { manifestUrl, bundled, version } = o.champion;
    await Promise.race([h.api.attachChallenger(Comlink.transfer(ch.port2, [ch.port2]), { manifestUrl, ...(bundled ? { bundled } : {}), version }), h.failed]);
    if (!o.current() || this.handle !== h) return;
    await frames.attachChallenger(Comlink.transfer(ch.port1, [ch.port1]), this.prep!, o.budget);
  }

  /** The frame worker was replaced: the running challenger is connected to the new one `frames`. */
  async reconnect(frames: FrameClient) {
    const h = this.handle, o = this.started;
    if (h && o && o.current()) await this.connect(h, o, frames);
  }

  /** Ends the challenger's worker (the frame worker stops sending to it). */
  stop(frames?: FrameClient) {
    const h = this.handle;
    this.handle = undefined;
    this.started = undefined;
    clearInterval(this.timer);
    void frames?.detachChallenger().catch(() => {});
    if (h) endWorker(h);
  }
}

/** What a pipeline gives its challenger: the element's settings, the running champion, and where to report. */
export interface ChallengerLaunch {
  lockName: string;
  /** the monitor's source id and camera, as its comparisons sync */
  sourceId: string;
  camera: string;
  el: { challengerModel?: string; challengerBudget?: number; threshold: number; runTimeout?: number };
  champion: LoadRequest & { version: string };
  /** the frame worker now (it may have been replaced by the time the challenger starts) */
  frames: () => FrameClient | undefined;
  current: () => boolean;
  delayMs: number;
  summary: (s: ChallengerSummary) => void;
  /** a failure: reported, not fatal (the deployed model goes on) */
  failed: (e: { code: import('../../lib/errors.ts').MonitorErrorCode; message: string }) => void;
}

/** A `challenger-budget` that is not a share of the time in (0, 1]: the message that says so, else undefined. */
export function invalidChallengerBudget(b: number | undefined): string | undefined {
  return b === undefined || (Number.isFinite(b) && b > 0 && b <= 1) ? undefined : `challenger-budget must be a number above 0 and at most 1, not '${b}': the challenger is not started`;
}

/** Starts a challenger `delayMs` after the pipeline (as the spare and the reference do); its failure is reported, not fatal. */
export function launchChallenger(o: ChallengerLaunch): Challenger | undefined {
  const invalid = invalidChallengerBudget(o.el.challengerBudget);
  if (invalid) return void o.failed({ code: 'attribute-invalid', message: invalid });
  const c = new Challenger(o.lockName);
  setTimeout(() => {
    const frames = o.frames();
    if (!o.current() || !frames) return;
    c.start({
      manifestUrl: new URL(o.el.challengerModel!, document.baseURI).href,
      camera: o.camera,
      champion: o.champion,
      frames,
      threshold: o.el.threshold,
      budget: o.el.challengerBudget ?? DEFAULT_CHALLENGER_BUDGET,
      current: o.current,
      ...(o.el.runTimeout ? { runTimeoutMs: o.el.runTimeout * 1000 } : {}),
      summary: (s) => {
        o.summary(s);
        // the latest per monitor goes in the next sync batch (the fleet page shows it per device)
        void getHub().then((hub) => hub.noteChallenger(challengerSync(o.sourceId, o.camera, Date.now(), s)), () => {});
      },
    }).catch((e) => o.current() && o.failed(toErrorInfo(e, 'worker-failed')));
  }, o.delayMs);
  return c;
}
