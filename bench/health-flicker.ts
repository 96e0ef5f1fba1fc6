/**
 * The health benchmark's flicker figures (#27 part 3): a scenario's flicker rate before and after its change,
 * counted by the engine's own association (src/health/flicker.ts) on the same boxes, and each variant's rate on
 * the same stretch of the clip at the bench's and the kiosk's frame rate.
 */
import { addFlicker, type BoxLike, type FlickerCounts, FlickerTracker, flickerRate } from '../src/health/flicker.ts';

export interface FlickerPart {
  rate: number;
  tracked: number;
  blinks: number;
  flips: number;
}

const part = (c: FlickerCounts | undefined): FlickerPart => ({ rate: flickerRate(c), tracked: c?.tracked ?? 0, blinks: c?.blinks ?? 0, flips: c?.flips ?? 0 });

/** A scenario's frames through one association, their counts kept apart by part (the baseline, the changed frames, the rest). */
export class FlickerTally {
  private tracker = new FlickerTracker();
  private parts = new Map<string, FlickerCounts>();

  /** A new deployment: the engine starts its association afresh too. */
  reset() {
    this.tracker.reset();
  }

  push(boxes: readonly BoxLike[], into: string) {
    this.parts.set(into, addFlicker(this.parts.get(into), this.tracker.push(boxes))!);
  }

  get(name: string): FlickerPart {
    return part(this.parts.get(name));
  }
}

/**
 * Each variant's flicker over the clip's second half (the part the altered scenarios alter) and its first, the
 * clip looped `loops` times through one association, taking frame ⌊i·stride⌋ (per named rate: 1, the clip's
 * 10 fps; 10 ÷ 3, the kiosk's 3 inferred frames a second, drifting through the clip from loop to loop).
 */
export function variantFlicker(frames: Record<string, { detections: BoxLike[] }[]>, variants: string[], rates: Record<string, number>, loops = 9) {
  const out: Record<string, Record<string, { firstHalf: FlickerPart; secondHalf: FlickerPart }>> = {};
  for (const v of variants) {
    const fr = frames[v]!;
    const half = Math.floor(fr.length / 2);
    out[v] = {};
    for (const [name, stride] of Object.entries(rates)) {
      const tally = new FlickerTally();
      for (let i = 0; i * stride < loops * fr.length; i++) {
        const k = Math.floor(i * stride) % fr.length;
        tally.push(fr[k]!.detections, k >= half ? 'second' : 'first');
      }
      out[v][name] = { firstHalf: tally.get('first'), secondHalf: tally.get('second') };
    }
  }
  return out;
}
