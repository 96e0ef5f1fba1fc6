/**
 * A page-side watchdog over an inference worker's runs. On WASM a run executes on the worker's own thread, so a
 * run that never ends blocks the worker's event loop and the worker's own timeout can never fire: the page asks
 * the worker, every `intervalMs`, for the longest its next run may take (`probe`, answered between runs); a
 * question left unanswered for longer than that bound plus `marginMs` means a run is stuck, and `hung` is called
 * once. One question in flight at a time; no per-frame work.
 */

export interface RunWatchdogOptions {
  /** how often the worker is asked (ms) */
  intervalMs?: number;
  /** slack over the worker's own bound before the page calls it stuck (ms) */
  marginMs?: number;
  now?: () => number;
}

/** the slack over the worker's run timeout before the page calls a run stuck */
export const WATCHDOG_MARGIN_MS = 2000;

/** Watches one worker until `stop` (or until it is found stuck); `hung(waitedMs, boundMs)` is called at most once. */
export class RunWatchdog {
  private timer?: ReturnType<typeof setInterval>;
  private asked?: number;
  private stopped = false;
  private readonly intervalMs: number;
  private readonly marginMs: number;
  private readonly now: () => number;

  /**
   * `probe` answers with the worker's current run timeout (ms); `boundMs` is the bound known before the first
   * answer (the worker may already be in its first run when the first question is asked).
   */
  constructor(
    private readonly probe: () => Promise<number>,
    private boundMs: number,
    private readonly hung: (waitedMs: number, boundMs: number) => void,
    o: RunWatchdogOptions = {},
  ) {
    this.intervalMs = o.intervalMs ?? 1000;
    this.marginMs = o.marginMs ?? WATCHDOG_MARGIN_MS;
    this.now = o.now ?? Date.now;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
  }

  private tick() {
    if (this.stopped) return;
    const t = this.now();
    if (this.asked !== undefined) {
      const waited = t - this.asked;
      if (waited > this.boundMs + this.marginMs) {
        this.stop();
        this.hung(waited, this.boundMs);
      }
      return;
    }
    const asked = (this.asked = t);
    this.probe().then(
      (bound) => {
        if (this.asked !== asked) return;
        if (Number.isFinite(bound) && bound > 0) this.boundMs = bound;
        this.asked = undefined;
      },
      () => {}, // a worker that is gone: its death is seen by its life lock (pipeline-supervisor.ts)
    );
  }

  stop() {
    this.stopped = true;
    clearInterval(this.timer);
  }
}
