/**
 * What `<inference-monitor>` measures of itself per frame on the main thread: the results' rate (smoothed, for
 * the bar) and each frame's cost there — handling its result, and drawing its boxes when the page draws them.
 */
export class FrameMeter {
  /** main-thread ms per frame, the last 512 frames */
  readonly costs: number[] = [];
  /** ms spent on results whose drawing is still to come */
  private pending = 0;
  private lastAt = 0;
  private estimate = 0;
  private shownAt = 0;

  /** A result came at `now` (epoch ms): the smoothed rate when the bar is to show it (at most twice a second, not per frame), else undefined. */
  result(now: number): number | undefined {
    if (this.lastAt) {
      const fps = 1000 / Math.max(1, now - this.lastAt);
      this.estimate = this.estimate ? this.estimate * 0.8 + fps * 0.2 : fps;
    }
    this.lastAt = now;
    if (now - this.shownAt <= 500) return undefined;
    this.shownAt = now;
    return this.estimate;
  }

  /** A frame cost the main thread `ms` in all (its boxes drawn elsewhere). */
  spent(ms: number) {
    this.costs.push(ms);
    if (this.costs.length > 512) this.costs.shift();
  }

  /** A result cost `ms`; its drawing comes later. */
  handled(ms: number) {
    this.pending += ms;
  }

  /** Drawing cost `ms`: with the results handled since the last drawing, one frame's cost. */
  drawn(ms: number) {
    this.spent(this.pending + ms);
    this.pending = 0;
  }
}
