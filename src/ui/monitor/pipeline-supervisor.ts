/**
 * Keeps a monitor's pipeline going unattended: watches its camera track and two workers, counts the time it is down, and
 * tells the pipeline (pipeline.ts) what to do — camera down: wait for a camera (ended) or for frames (muted); a worker died.
 */
import { type CameraDownReason, reacquire, watchTrack, type WatchedTrack } from '../../capture/camera-watch.ts';
import { whenLockReleased } from '../../lib/life-lock.ts';
import { RunWatchdog } from './run-watchdog.ts';

/** The monitor's two workers. */
export type WorkerName = 'inference' | 'frames';

/** What the pipeline is down for. */
export type DownReason = CameraDownReason | 'worker-crashed' | 'inference-timeout';

/** A worker's runs watched from the page (run-watchdog.ts): `probe` answers with its run timeout between runs; `boundMs` is the first. */
export interface RunProbe {
  probe: () => Promise<number>;
  boundMs: number;
}

/**
 * Down time, for the uptime vital: the page's resource sampler takes, every few seconds, how long the
 * interval since the previous take was and how much of it the pipeline was down.
 */
export class DowntimeClock {
  private since?: number;
  private why?: DownReason;
  private lastTake?: number;
  private acc = 0;

  get down(): boolean {
    return this.since !== undefined;
  }
  /** when the current down interval began, and why */
  get current(): { since: number; reason: DownReason } | undefined {
    return this.since !== undefined ? { since: this.since, reason: this.why! } : undefined;
  }
  /** Starts a down interval at `t` (true), or only notes the newer reason when already down (false). */
  markDown(reason: DownReason, t: number): boolean {
    this.why = reason;
    if (this.since !== undefined) return false;
    this.since = t;
    return true;
  }
  /** Ends the down interval at `t`; returns its length (undefined when not down). */
  markUp(t: number): number | undefined {
    if (this.since === undefined) return undefined;
    const from = Math.max(this.since, this.lastTake ?? this.since);
    this.acc += Math.max(0, t - from);
    const length = Math.max(0, t - this.since);
    this.since = undefined;
    this.why = undefined;
    return length;
  }
  /** The interval since the previous take (`fallbackMs` for the first) and the ms of it spent down. */
  take(t: number, fallbackMs = 5000): { ms: number; downMs: number } {
    const ms = this.lastTake !== undefined ? Math.max(0, t - this.lastTake) : fallbackMs;
    let downMs = this.acc;
    if (this.since !== undefined) downMs += Math.max(0, t - Math.max(this.since, this.lastTake ?? this.since));
    this.acc = 0;
    this.lastTake = t;
    return { ms, downMs: Math.min(ms, downMs) };
  }
  /** Forgets everything (a start by hand): the next interval is counted from `t`. */
  reset(t: number) {
    this.since = undefined;
    this.why = undefined;
    this.acc = 0;
    this.lastTake = t;
  }
}

/** What the pipeline does when the supervisor says so. */
export interface SupervisedPipeline {
  /** the camera is down (show it, send `camera-lost`); `first` false when it was down already */
  cameraDown(reason: CameraDownReason, message: string, first: boolean): void;
  /** opens a camera again and feeds it to the running pipeline; true once it runs (or there is nothing left to do) */
  reopenCamera(): Promise<boolean>;
  /** a worker died: rebuild the pipeline */
  workerDied(which: WorkerName, message: string): void;
  /** a worker's run has not ended within its timeout (plus a margin): it is stuck, end it and start another */
  workerHung(which: WorkerName, message: string): void;
  /** frames flow again after being down for `ms` */
  recovered(reason: DownReason, ms: number): void;
}

/** A monitor's watchers (one supervisor for the element's life): `disarm` ends the current run's, the down time carries on. */
export class PipelineSupervisor {
  readonly downtime = new DowntimeClock();
  private disarms: (() => void)[] = [];
  private stopReacquire?: () => void;

  constructor(
    private readonly host: SupervisedPipeline,
    private readonly devices: EventTarget | undefined = globalThis.navigator?.mediaDevices,
    private readonly now: () => number = Date.now,
    private readonly retryMs = 5000,
  ) {}

  /** Watches the camera's track: down when it ends or is muted, a camera asked for again when it ended. */
  watchCamera(track: WatchedTrack) {
    this.stopReacquire?.();
    this.stopReacquire = undefined;
    const unwatch = watchTrack(track, {
      down: (reason, message) => {
        const first = this.downtime.markDown(reason, this.now());
        this.host.cameraDown(reason, message, first);
        if (reason === 'ended' && !this.stopReacquire) this.stopReacquire = reacquire(this.devices, () => this.host.reopenCamera(), this.retryMs);
      },
      up: () => this.framesFlow(),
    });
    this.disarms.push(unwatch);
  }

  /**
   * Watches a worker: an uncaught error in it, or its end (terminated, killed for memory) — seen as the
   * release of the Web Lock it holds for life (`lockName`, once `held`) — is its death, reported once. With
   * `runs`, a run that does not end within the worker's run timeout plus a margin is its hang, reported once
   * instead (run-watchdog.ts).
   */
  watchWorker(worker: Worker, which: WorkerName, lockName: string, held: Promise<unknown>, runs?: RunProbe) {
    const ac = new AbortController();
    let dead = false;
    let watchdog: RunWatchdog | undefined;
    const die = (message: string) => {
      if (dead || ac.signal.aborted) return;
      dead = true;
      ac.abort();
      watchdog?.stop();
      worker.removeEventListener('error', onError);
      this.downtime.markDown('worker-crashed', this.now());
      this.host.workerDied(which, message);
    };
    const onError = (e: ErrorEvent) => {
      e.preventDefault();
      die(`the ${which} worker crashed: ${e.message || 'an uncaught error'}`);
    };
    worker.addEventListener('error', onError);
    void held.then(() => whenLockReleased(lockName, ac.signal, () => die(`the ${which} worker ended (terminated or out of memory)`)), () => {});
    if (runs)
      watchdog = new RunWatchdog(runs.probe, runs.boundMs, (waited, bound) => {
        if (dead || ac.signal.aborted) return;
        dead = true;
        ac.abort();
        worker.removeEventListener('error', onError);
        this.downtime.markDown('inference-timeout', this.now());
        this.host.workerHung(which, `a run in the ${which} worker has not ended after ${(waited / 1000).toFixed(1)} s (its timeout: ${(bound / 1000).toFixed(1)} s)`);
      }, { now: this.now });
    this.disarms.push(() => {
      ac.abort();
      watchdog?.stop();
      worker.removeEventListener('error', onError);
    });
  }

  /**
   * A result came for a frame taken at `frameTime` (epoch ms): if the pipeline was down before that frame,
   * it is up again (a result still in flight when the camera went is not). Cheap enough for every frame.
   */
  framesFlow(frameTime = this.now()) {
    if (!this.downtime.down || frameTime < this.downtime.current!.since) return;
    const reason = this.downtime.current!.reason;
    const ms = this.downtime.markUp(this.now())!;
    this.stopReacquire?.();
    this.stopReacquire = undefined;
    this.host.recovered(reason, ms);
  }

  /** Stops watching this run (the down time, if any, goes on counting until frames flow). */
  disarm() {
    for (const d of this.disarms.splice(0)) d();
    this.stopReacquire?.();
    this.stopReacquire = undefined;
  }
}
