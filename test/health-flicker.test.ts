/**
 * Flicker (#27 part 3): the frame-to-frame association of detection boxes (blinks, class flips) and the
 * `flicker-rise` rule against the baseline's flicker.
 */
import { describe, expect, it } from 'vitest';
import { addFlicker, type BoxLike, type FlickerCounts, FlickerTracker, flickerRate, greedyMatch, iou } from '../src/health/flicker.ts';

const person = (x: number, y = 100, w = 26, h = 64): BoxLike => ({ classId: 0, box: [x, y, w, h] });
const ofClass = (b: BoxLike, classId: number): BoxLike => ({ ...b, classId });

/** Pushes each frame's boxes through one tracker; the counts summed. */
function feed(frames: BoxLike[][], tracker = new FlickerTracker()): FlickerCounts {
  let sum: FlickerCounts = { frames: 0, tracked: 0, blinks: 0, flips: 0 };
  for (const f of frames) sum = addFlicker(sum, tracker.push(f))!;
  return sum;
}

describe('flicker: association', () => {
  it('iou of [x, y, w, h] boxes', () => {
    expect(iou([0, 0, 10, 10], [0, 0, 10, 10])).toBe(1);
    expect(iou([0, 0, 10, 10], [5, 0, 10, 10])).toBeCloseTo(50 / 150);
    expect(iou([0, 0, 10, 10], [10, 0, 10, 10])).toBe(0);
    expect(iou([0, 0, 0, 0], [0, 0, 0, 0])).toBe(0);
  });

  it('greedy matching takes the best pairs first and each box once', () => {
    const a = [person(0), person(20)];
    const b = [person(18), person(2)];
    expect(greedyMatch(a, b, [true, true], [true, true], true).sort()).toEqual([[0, 1], [1, 0]]);
    // across class only when asked
    expect(greedyMatch([person(0)], [ofClass(person(0), 2)], [true], [true], true)).toEqual([]);
    expect(greedyMatch([person(0)], [ofClass(person(0), 2)], [true], [true], false)).toEqual([[0, 0]]);
  });

  it('a steady box: every frame after the second is an opportunity, none blinks or flips', () => {
    const c = feed(Array.from({ length: 10 }, () => [person(100)]));
    expect(c).toEqual({ frames: 8, tracked: 8, blinks: 0, flips: 0 });
    expect(flickerRate(c)).toBe(0);
  });

  it('a blink: gone for one frame and back is one blink; gone for two frames too; gone for three is an object that left', () => {
    expect(feed([[person(100)], [person(100)], [], [person(100)], [person(100)]]).blinks).toBe(1);
    expect(feed([[person(100)], [], [], [person(100)], [person(100)]]).blinks).toBe(1);
    expect(feed([[person(100)], [], [], [], [person(100)]]).blinks).toBe(0);
    // one that leaves for good, or a new one that arrives, is no blink
    expect(feed([[person(100)], [person(100)], [], [], [], []]).blinks).toBe(0);
    expect(feed([[], [], [person(100)], [person(100)], [person(100)]]).blinks).toBe(0);
    // blinking every other frame: each return is a blink
    const c = feed([[person(100)], [], [person(100)], [], [person(100)], [], [person(100)]]);
    expect(c.blinks).toBe(3);
    expect(flickerRate(c)).toBeCloseTo(3 / c.tracked);
  });

  it('a flip: the same box under another class is one flip; a steady pair of classes on one object is none', () => {
    const car = ofClass(person(300, 40, 56, 48), 2);
    const truck = ofClass(car, 7);
    expect(feed([[car], [car], [truck], [truck]])).toMatchObject({ flips: 1, blinks: 0 });
    expect(feed([[car], [truck], [car], [truck]]).flips).toBe(3);
    // class-wise NMS keeps both labels on one vehicle, their boxes jittering apart: matched by class first (each
    // box's own class's continuation, not the other label's box that happens to overlap more), no flip
    const at = (b: BoxLike, dx: number): BoxLike => ({ ...b, box: [b.box[0]! + dx, ...b.box.slice(1)] });
    expect(feed(Array.from({ length: 6 }, (_, k) => (k % 2 ? [at(car, 2), truck] : [car, at(truck, 2)]))).flips).toBe(0);
  });

  it('a moving box (8 px a frame, a walker at the kiosk\'s ~3 frames a second) stays one object', () => {
    const c = feed(Array.from({ length: 20 }, (_, i) => [person(100 + 8 * i)]));
    expect(c).toMatchObject({ tracked: 18, blinks: 0, flips: 0 });
    // a blink of a slower walker (5 px a frame) is seen: back 10 px on, IoU 0.44 with where it was two frames before
    expect(feed([[person(100)], [person(105)], [], [person(115)], [person(120)]]).blinks).toBe(1);
    // at 8 px a frame the gap's 16 px leave IoU 0.24: the blink is not seen — a match lost, never a blink made up
    expect(feed([[person(100)], [person(108)], [], [person(124)], [person(132)]]).blinks).toBe(0);
    expect(feed([[person(100)], [person(100)], [], [person(140)]]).blinks).toBe(0);
  });

  it('a crowded scene: 30 people side by side (neighbours overlapping), jittering; one blink and one flip among them are counted once each', () => {
    // 26-px boxes every 16 px: a neighbour's IoU is 10/42 = 0.24; every 12 px (second row) 14/38 = 0.37, over the
    // match threshold, yet each box's own continuation overlaps more and is taken first
    const crowd = (k: number) => [
      ...Array.from({ length: 15 }, (_, i) => person(16 * i + (k % 2), 100)),
      ...Array.from({ length: 15 }, (_, i) => person(12 * i + ((k + 1) % 2), 300)),
    ];
    const frames = Array.from({ length: 12 }, (_, k) => crowd(k));
    frames[5] = frames[5]!.filter((_, i) => i !== 20); // person 20 (second row) missed in frame 5
    frames[8] = frames[8]!.map((b, i) => (i === 7 ? ofClass(b, 24) : b)); // person 7 called a backpack in frame 8
    const c = feed(frames);
    expect(c.blinks).toBe(1);
    expect(c.flips).toBe(2); // to the backpack and back
    expect(c.tracked).toBe(10 * 30 - 1);
  });

  it('reset forgets the frames before (a gap): no blink across it', () => {
    const t = new FlickerTracker();
    feed([[person(100)], [person(100)], []], t);
    expect(feed([[person(100)]], t).blinks).toBe(1); // without a reset: the box blinked
    const u = new FlickerTracker();
    feed([[person(100)], [person(100)], []], u);
    u.reset();
    expect(feed([[person(100)], [person(100)], [person(100)]], u)).toEqual({ frames: 1, tracked: 1, blinks: 0, flips: 0 });
  });

  it('rate without opportunities is NaN; counts add up', () => {
    expect(flickerRate(undefined)).toBeNaN();
    expect(flickerRate({ frames: 3, tracked: 0, blinks: 0, flips: 0 })).toBeNaN();
    expect(addFlicker(undefined, { frames: 1, tracked: 4, blinks: 1, flips: 1 })).toEqual({ frames: 1, tracked: 4, blinks: 1, flips: 1 });
    expect(addFlicker({ frames: 1, tracked: 4, blinks: 1, flips: 1 }, undefined)).toEqual({ frames: 1, tracked: 4, blinks: 1, flips: 1 });
  });
});
