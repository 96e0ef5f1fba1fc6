/**
 * Flicker: objects that persist in the scene should persist in the detections. A light frame-to-frame
 * association of one stream's detection boxes counts how often a detection blinks out for a frame or two and
 * comes back, and how often a box's class flips — a label-free sign of a model that degrades (defocus, a dark
 * scene, a broken deployment), seen on real detectors as objects "dropping out periodically".
 *
 * Association is greedy IoU matching between frames, same class first and then across classes (a box whose
 * only continuation is another class's box has flipped). Per new frame, over the last three frames:
 *   - `tracked`: the boxes of the frame two back, each an opportunity to blink (gone in the frame between, back now);
 *   - `blinks`: boxes of the frame two back with no match in the last frame that match one now (gone one frame),
 *     and boxes of the frame three back gone in both frames since that match one now (gone two frames);
 *   - `flips`: boxes of the last frame whose only match now is another class's.
 * The flicker rate is (blinks + flips) ÷ tracked. An object that leaves and does not come back within two
 * frames is not a blink, so people walking out of the view are not counted; motion between inferred frames
 * mostly loses a match (fewer blinks seen), rarely makes one up. Pure logic over plain data.
 */
import { iou } from '../types/boxes.ts';

/** What association reads of a detection: its class and its box, [x, y, width, height] in frame pixels. */
export interface BoxLike {
  classId: number;
  box: readonly number[];
}

/** Frames with a frame two back, the boxes that could blink, and the blinks and class flips seen. */
export interface FlickerCounts {
  frames: number;
  tracked: number;
  blinks: number;
  flips: number;
}

/**
 * The least IoU for two boxes to be one object. The kiosk infers at only 2–4 frames a second, so people move
 * between inferred frames: on vtest (people ~26 px wide) the best IoU of a box with the next inferred frame's
 * at 3 frames a second is ≥ 0.5 for 56 % of boxes, ≥ 0.3 for 76 %, ≥ 0.2 for 86 %; at 10 a second 90 / 95 / 95 %.
 * 0.5 (detection benchmarks' match) would lose half the objects at the kiosk's rate; below 0.3 two people side
 * by side, or a person and the bag they carry, start to match each other (false flips in a crowd). A lost
 * match costs a blink seen, never a blink made up: the object would have to vanish for a frame and come back.
 */
export const FLICKER_IOU = 0.3;

/**
 * A gap in a source's frames longer than this starts its association afresh: 2 s is 4 frames at the kiosk's
 * slowest 2 a second (a stall, a reload, a camera restarting), time for people to have moved on.
 */
export const FLICKER_GAP_MS = 2_000;

/** Frames the association looks back: a blink is gone for one or two frames. */
const HISTORY = 3;

export { iou };

/**
 * Greedy IoU matching of `from`'s boxes to `to`'s, highest IoU first, each box used once, only among boxes not
 * yet taken (`fromFree`, `toFree`: updated in place) and pairs with IoU ≥ `min`; with `sameClass`, only boxes of
 * one class. Returns the pairs [from index, to index].
 */
export function greedyMatch(from: readonly BoxLike[], to: readonly BoxLike[], fromFree: boolean[], toFree: boolean[], sameClass: boolean, min = FLICKER_IOU): [number, number][] {
  const pairs: [number, number, number][] = [];
  for (let i = 0; i < from.length; i++) {
    if (!fromFree[i]) continue;
    for (let j = 0; j < to.length; j++) {
      if (!toFree[j] || (sameClass && from[i]!.classId !== to[j]!.classId)) continue;
      const x = iou(from[i]!.box, to[j]!.box);
      if (x >= min) pairs.push([x, i, j]);
    }
  }
  pairs.sort((p, q) => q[0] - p[0] || p[1] - q[1] || p[2] - q[2]);
  const out: [number, number][] = [];
  for (const [, i, j] of pairs) {
    if (!fromFree[i] || !toFree[j]) continue;
    fromFree[i] = false;
    toFree[j] = false;
    out.push([i, j]);
  }
  return out;
}

/** Same class first, then across classes; the second list is the cross-class pairs. */
function associate(from: readonly BoxLike[], to: readonly BoxLike[], fromFree: boolean[], toFree: boolean[]) {
  const same = greedyMatch(from, to, fromFree, toFree, true);
  const cross = greedyMatch(from, to, fromFree, toFree, false);
  return { same, cross };
}

/** One frame in the history: its boxes, which found a match in the frame after, and which came back later. */
interface Slot {
  boxes: readonly BoxLike[];
  /** matched in the following frame */
  kept: boolean[];
  /** gone in the following frame and found again after the gap */
  back: boolean[];
}

/** One stream's (one source's) association over its last frames. */
export class FlickerTracker {
  /** the last frames, oldest first (at most HISTORY) */
  private hist: Slot[] = [];

  /** Forgets the frames before (a gap in the frames, another camera or deployment). */
  reset() {
    this.hist = [];
  }

  /** A new frame's boxes; its counts (frames 0 until there is a frame two back). */
  push(boxes: readonly BoxLike[]): FlickerCounts {
    const out: FlickerCounts = { frames: 0, tracked: 0, blinks: 0, flips: 0 };
    const free = boxes.map(() => true);
    const [three, two, last] = [this.hist.at(-3), this.hist.at(-2), this.hist.at(-1)];
    if (last) {
      const m = associate(last.boxes, boxes, last.boxes.map(() => true), free);
      for (const [i] of [...m.same, ...m.cross]) last.kept[i] = true;
      out.flips = m.cross.length;
    }
    if (two) {
      out.frames = 1;
      out.tracked = two.boxes.length;
      // gone in the last frame, back now
      const m = associate(two.boxes, boxes, two.kept.map((k) => !k), free);
      for (const [i] of [...m.same, ...m.cross]) two.back[i] = true;
      out.blinks += m.same.length + m.cross.length;
    }
    if (three) {
      // gone in the last two frames, back now
      const m = associate(three.boxes, boxes, three.kept.map((k, i) => !k && !three.back[i]), free);
      out.blinks += m.same.length + m.cross.length;
    }
    this.hist.push({ boxes, kept: boxes.map(() => false), back: boxes.map(() => false) });
    if (this.hist.length > HISTORY) this.hist.shift();
    return out;
  }
}

/** Adds `from`'s counts into `into` (created when absent); returns it. */
export function addFlicker(into: FlickerCounts | undefined, from: FlickerCounts | undefined): FlickerCounts | undefined {
  if (!from) return into;
  into ??= { frames: 0, tracked: 0, blinks: 0, flips: 0 };
  into.frames += from.frames;
  into.tracked += from.tracked;
  into.blinks += from.blinks;
  into.flips += from.flips;
  return into;
}

/** The flicker rate: (blinks + flips) ÷ tracked (NaN with nothing tracked). */
export const flickerRate = (c: FlickerCounts | undefined) => (c?.tracked ? (c.blinks + c.flips) / c.tracked : NaN);
