/**
 * The monitor's resource sampler, a Lit reactive controller: every 5 s while the pipeline runs, the page's JS heap,
 * long tasks, results and down time go to the health engine (memory staircase, long tasks, uptime, stalled frames).
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { getHub } from '../../hub/client.ts';
import { type Tags, tagKey } from '../../telemetry/record.ts';

/** The element sampled for: its camera_id and tags, read at each sample. */
export type SampledElement = ReactiveControllerHost & { readonly cameraId?: string; readonly tags: Tags };

/** Down time since the previous take, at `now` (the supervisor's clock). */
export type DowntimeTake = (now: number) => { ms: number; downMs: number };

export class ResourceSampler implements ReactiveController {
  private timer?: ReturnType<typeof setInterval>;
  private longTasks?: PerformanceObserver;
  /** results since the last sample */
  private results = 0;
  /** the model version sampled for while running */
  private mv?: string;

  constructor(
    private readonly host: SampledElement,
    private readonly downtime: DowntimeTake,
  ) {
    host.addController(this);
  }

  /** One more result, for the next sample. */
  counted() {
    this.results++;
  }

  /**
   * Samples every 5 s while `current()` (the run it was started for) for model version `mv`: JS heap (the whole
   * agent's memory via measureUserAgentSpecificMemory when cross-origin isolated, every 30 s; else
   * performance.memory), long tasks, results since the last sample and down time.
   */
  start(current: () => boolean, mv: string) {
    this.mv = mv;
    let longTasks = 0;
    if (PerformanceObserver.supportedEntryTypes?.includes('longtask')) {
      this.longTasks = new PerformanceObserver((l) => (longTasks += l.getEntries().length));
      this.longTasks.observe({ type: 'longtask', buffered: false });
    }
    let heapMB: number | undefined;
    let measuredAt = 0;
    const measure = performance as Performance & { measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }>; memory?: { usedJSHeapSize: number } };
    this.timer = setInterval(() => {
      if (!current()) return;
      const now = Date.now();
      if (crossOriginIsolated && measure.measureUserAgentSpecificMemory) {
        if (now - measuredAt >= 30_000) {
          measuredAt = now;
          measure.measureUserAgentSpecificMemory().then((m) => (heapMB = m.bytes / 1e6)).catch(() => {});
        }
      } else if (measure.memory) heapMB = measure.memory.usedJSHeapSize / 1e6;
      const sample = { t: now, mv, camera_id: this.host.cameraId ?? '', g: tagKey(this.host.tags), ...(heapMB !== undefined ? { heapMB } : {}), longTasks, results: this.results, ...this.downtime(now) };
      void getHub().then((s) => s.observeResources(sample));
      heapMB = crossOriginIsolated && measure.measureUserAgentSpecificMemory ? undefined : heapMB;
      longTasks = 0;
      this.results = 0;
    }, 5000);
  }

  /**
   * Stops sampling (the pipeline stopped). `onPurpose` (a stop() or a new start(), not a crash): the health engine is
   * told, so that the frames no longer coming are not a stalled camera.
   */
  stop(onPurpose = false) {
    if (onPurpose && this.timer !== undefined && this.mv) {
      const x = { mv: this.mv, camera_id: this.host.cameraId ?? '', t: Date.now() };
      void getHub().then((s) => s.monitorStopped(x)).catch(() => undefined);
    }
    clearInterval(this.timer);
    this.timer = undefined;
    this.longTasks?.disconnect();
    this.longTasks = undefined;
  }

  hostDisconnected() {
    this.stop(true);
  }
}
