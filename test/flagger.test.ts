/**
 * The flagger as the store worker runs it, in Node: records in, a fake frame worker on a real MessageChannel
 * answering encode requests, flagged frames kept (in memory) under the rules' limits, near-duplicate
 * suppression and the cap; rules, counters and counts persisted through the meta store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FlagDb } from '../src/flagging/flag-db.ts';
import { type FlaggedEvent, Flagger } from '../src/flagging/flagger.ts';
import type { FlagRule } from '../src/flagging/types.ts';
import type { FrameRecord } from '../src/telemetry/record.ts';
import type { Detection } from '../src/types/detection.ts';

const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);
let seq = 0;
const id = (t: number) => `${Math.floor(t).toString(16).padStart(12, '0').replace(/^(.{8})(.{4})$/, '$1-$2')}-7000-8000-${String(++seq).padStart(12, '0')}`;

/** A 16×16 thumbnail: a gradient whose direction flips with `pattern` (different patterns hash far apart). */
function thumb(pattern: number, noise = 0): Uint8Array {
  const th = new Uint8Array(256);
  for (let y = 0; y < 16; y++)
    for (let x = 0; x < 16; x++) {
      const v = ((pattern >> ((x + y * 3) % 8)) & 1) * 120 + ((x * 7 + y * 13 + pattern * 31) % 100);
      th[y * 16 + x] = Math.max(0, Math.min(255, v + (noise ? ((x * 31 + y * 17) % 3) - 1 : 0)));
    }
  return th;
}

const person = (score: number, x = 100): Detection => ({ classId: 0, label: 'person', score, box: [x, 50, 40, 100] });

function record(t: number, opts: { src?: string; camera?: string; pattern?: number; e?: string } = {}): FrameRecord {
  return { id: id(t), t, src: opts.src ?? 'src-1', mv: 'abcdef012345', b: 'wasm', l: [-1, 1, 2, 50, 2, 60], d: 0, k: [], s: [], g: `camera_id=${opts.camera ?? 'line-1'}`, th: thumb(opts.pattern ?? 1), ...(opts.e ? { e: opts.e } : {}) };
}

const rule = (r: Partial<FlagRule> & Pick<FlagRule, 'id' | 'kind'>): FlagRule => ({ name: r.id, params: {}, limits: {}, enabled: true, ...r });

function setup(opts: { gone?: Set<string>; meta?: Map<string, unknown> } = {}) {
  const meta = opts.meta ?? new Map<string, unknown>();
  const flagger = new Flagger(
    new FlagDb(undefined),
    { get: async <T>(k: string) => structuredClone(meta.get(k)) as T | undefined, set: async (k, v) => void meta.set(k, structuredClone(v)) },
    () => ({ firing: [] }),
    (mv) => `${mv}${'0'.repeat(52)}`,
    () => 0.5,
  );
  const channel = new MessageChannel();
  const requests: string[] = [];
  // the frame worker's side: a JPEG of 1,000 bytes and a thumbnail of 100 for every frame still held
  channel.port2.onmessage = (e: MessageEvent<{ encode: { id: string; quality: number } }>) => {
    const { id } = e.data.encode;
    requests.push(id);
    channel.port2.postMessage(
      opts.gone?.has(id)
        ? { encoded: { id, error: 'the frame is no longer held' } }
        : { encoded: { id, jpeg: new Blob([new Uint8Array(1000)]), thumb: new Blob([new Uint8Array(100)]), width: 640, height: 480, ms: 3 } },
    );
  };
  flagger.connect('src-1', channel.port1);
  const events: FlaggedEvent[] = [];
  flagger.on((f) => events.push(f));
  closers.push(() => {
    channel.port1.close();
    channel.port2.close();
  });
  return { flagger, meta, events, requests };
}

const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((c) => c()));

/** Observes one record and lets its encode round trip and keeping finish (a record that comes while its source's frame is being kept is passed over, as in the worker). */
async function feed(f: Flagger, rec: FrameRecord, dets: Detection[] = [], near?: Detection[]) {
  f.observe(rec, dets, near);
  await new Promise((r) => setTimeout(r, 15));
  const busy = (f as unknown as { busy: Set<string> }).busy;
  for (const end = Date.now() + 5000; busy.size && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 5));
}

describe('Flagger', () => {
  it('keeps a frame a rule matches, with every matching reason, its image bytes, hash and tags; emits it', async () => {
    const { flagger, events, requests } = setup();
    await flagger.setRules([rule({ id: 'near', kind: 'close-to-threshold', params: { threshold: 0.3, epsilon: 0.1 } }), rule({ id: 'any', kind: 'random', params: { probability: 1 } }), rule({ id: 'manual', kind: 'manual' })]);
    const rec = record(T0);
    await feed(flagger, rec, [person(0.35)]);
    expect(requests).toEqual([rec.id]);
    expect(events).toHaveLength(1);
    const f = events[0]!;
    expect(f.id).toBe(rec.id);
    expect(f.reasons).toEqual(['near', 'any']);
    expect(f.bytes).toBe(1100);
    expect([f.width, f.height]).toEqual([640, 480]);
    expect(f.tags).toEqual({ camera_id: 'line-1' });
    expect(f.mv).toHaveLength(64);
    expect(f.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(f.detections[0]!.score).toBe(0.35);
    expect(flagger.status()).toMatchObject({ count: 1, bytes: 1100, stats: { flagged: 1 } });
    // a frame no rule matches is not asked for
    await flagger.setRules([rule({ id: 'near', kind: 'close-to-threshold' })]);
    await feed(flagger, record(T0 + 100, { pattern: 2 }), [person(0.9)]);
    expect(requests).toHaveLength(1);
  });

  it('holds each rule to its limits per minute, hour and day; counters and counts persist', async () => {
    const { flagger, meta, events } = setup();
    await flagger.setRules([rule({ id: 'every', kind: 'random', params: { probability: 1 }, limits: { perMinute: 2, perDay: 3 } })]);
    for (let i = 0; i < 5; i++) await feed(flagger, record(T0 + i * 1000, { pattern: i + 1 }), [person(0.8, 10 + 60 * i)]);
    expect(events).toHaveLength(2); // two in the first minute
    expect(flagger.stats.limited).toBe(3);
    for (let i = 0; i < 3; i++) await feed(flagger, record(T0 + 60_000 + i * 1000, { pattern: 10 + i }), [person(0.8, 10 + 60 * i)]);
    expect(events).toHaveLength(3); // the day's limit of 3 is reached in the next minute
    await flagger.save();
    // a new flagger on the same stored meta: the day is still used up
    const again = setup({ meta });
    await again.flagger.load(T0 + 120_000);
    expect(again.flagger.getRules().map((r) => r.id)).toEqual(['every']);
    await feed(again.flagger, record(T0 + 120_000, { pattern: 40 }), [person(0.8)]);
    expect(again.events).toHaveLength(0);
    expect(again.flagger.stats.limited).toBe(flagger.stats.limited + 1);
    expect(again.flagger.stats.flagged).toBe(3);
  });

  it('writes the limits’ counters with each kept frame: a flagger loaded right after (a reload) still sees the limit used up', async () => {
    const { flagger, meta, events } = setup();
    await flagger.setRules([rule({ id: 'every', kind: 'random', params: { probability: 1 }, limits: { perDay: 2 } })]);
    for (let i = 0; i < 2; i++) await feed(flagger, record(T0 + i * 1000, { pattern: i + 1 }), [person(0.8, 10 + 60 * i)]);
    expect(events).toHaveLength(2);
    // no save(), no waiting a second: what a reload straight after would load
    const again = setup({ meta });
    await again.flagger.load(T0 + 5000);
    await feed(again.flagger, record(T0 + 5000, { pattern: 9 }), [person(0.8)]);
    expect(again.events).toHaveLength(0);
    expect(again.flagger.status().counters.every?.d[1]).toBe(2);
  });

  it('skips near-duplicates of a recent frame of the same camera (same picture, same detections), and counts them', async () => {
    const { flagger, events } = setup();
    await flagger.setRules([rule({ id: 'every', kind: 'random', params: { probability: 1 } })]);
    await feed(flagger, record(T0, { pattern: 5 }), [person(0.8)]);
    await feed(flagger, record(T0 + 1000, { pattern: 5 }), [person(0.81)]); // the same scene, the same detections
    await feed(flagger, { ...record(T0 + 2000, { pattern: 5 }), th: thumb(5, 1) }, [person(0.79)]); // with sensor noise
    expect(events).toHaveLength(1);
    expect(flagger.stats.duplicates).toBe(2);
    await feed(flagger, record(T0 + 3000, { pattern: 5 }), [person(0.8, 400)]); // someone walked: other detections
    await feed(flagger, record(T0 + 4000, { pattern: 5, camera: 'line-2' }), [person(0.8)]); // another camera
    await feed(flagger, record(T0 + 5000, { pattern: 77 }), [person(0.8)]); // another picture
    expect(events).toHaveLength(4);
    // outside the window (10 min by default) it is kept again
    await feed(flagger, record(T0 + 11 * 60_000, { pattern: 5 }), [person(0.8)]);
    expect(events).toHaveLength(5);
    // suppression off
    await flagger.setSettings({ dedupeMinutes: 0 });
    await feed(flagger, record(T0 + 11 * 60_000 + 1000, { pattern: 5 }), [person(0.8)]);
    expect(events).toHaveLength(6);
  });

  it('holds the cap by evicting the oldest flagged frames first, counting and saying so', async () => {
    const { flagger, events } = setup();
    await flagger.setRules([rule({ id: 'every', kind: 'random', params: { probability: 1 } })]);
    await flagger.setSettings({ maxFrames: 2, dedupeMinutes: 0 });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = record(T0 + i * 1000, { pattern: i + 1 });
      ids.push(r.id);
      await feed(flagger, r, [person(0.8)]);
    }
    expect(events.map((e) => e.evicted)).toEqual([0, 0, 1, 1]);
    expect(flagger.status()).toMatchObject({ count: 2, bytes: 2200, stats: { evicted: 2 } });
    expect((await flagger.db.list()).rows.map((r) => r.id)).toEqual([ids[3], ids[2]]);
  });

  it('counts a frame the frame worker no longer holds as missed, and keeps nothing', async () => {
    const gone = new Set<string>();
    const { flagger, events } = setup({ gone });
    await flagger.setRules([rule({ id: 'every', kind: 'random', params: { probability: 1 } })]);
    const r = record(T0);
    gone.add(r.id);
    await feed(flagger, r, [person(0.8)]);
    expect(events).toHaveLength(0);
    expect(flagger.status()).toMatchObject({ count: 0, stats: { missed: 1, flagged: 0 } });
  });

  it('a failed frame is kept for the malformed rule only', async () => {
    const { flagger, events } = setup();
    await flagger.setRules([rule({ id: 'bad', kind: 'malformed' }), rule({ id: 'every', kind: 'random', params: { probability: 1 } })]);
    await feed(flagger, record(T0, { e: 'inference-failed' }));
    expect(events.map((e) => [e.reasons, e.error])).toEqual([[['bad'], 'inference-failed']]);
  });

  it('flags by hand: the newest judged frame or one by id, under the manual limits; clear errors otherwise', async () => {
    // the per-minute limit counts by clock minute: start well inside one
    if (Date.now() % 60_000 > 57_000) await new Promise((r) => setTimeout(r, 60_000 - (Date.now() % 60_000) + 50));
    const { flagger, events } = setup();
    await flagger.setRules([rule({ id: 'near', kind: 'close-to-threshold' }), rule({ id: 'manual', kind: 'manual', limits: { perMinute: 2 } })]);
    await expect(flagger.flag('src-1')).rejects.toThrow(/no frame has been judged yet/);
    const a = record(Date.now(), { pattern: 3 });
    const b = record(Date.now() + 1, { pattern: 4 });
    await feed(flagger, a, [person(0.9)]);
    await feed(flagger, b, [person(0.32)]); // the rule keeps this one
    expect(events.map((e) => e.reasons)).toEqual([['near']]);
    const byId = await flagger.flag('src-1', a.id);
    expect(byId.reasons).toEqual(['manual']);
    // a frame a rule kept already: the manual flag is added to its reasons
    const newest = await flagger.flag('src-1');
    expect(newest.id).toBe(b.id);
    expect(newest.reasons).toEqual(['manual', 'near']);
    expect((await flagger.db.get(b.id))!.reasons).toEqual(['manual', 'near']);
    await expect(flagger.flag('src-1', '00000000-0000-7000-8000-000000000000')).rejects.toThrow(/is no longer held/);
    const c = record(Date.now() + 2, { pattern: 6 });
    await feed(flagger, c, [person(0.9)]);
    await expect(flagger.flag('src-1', c.id)).rejects.toThrow(/manual rule's limits are used up \(2 a minute\)/);
    // an id newer than any frame seen: waited for (2 s), then refused
    await expect(flagger.flag('src-1', 'ffffffff-ffff-7fff-8fff-ffffffffffff')).rejects.toThrow(/no frame ffffffff-ffff-7fff-8fff-ffffffffffff has been recorded \(none arrived within 2 s\)/);
  });

  it('flag(id) for a frame whose record is still on its way waits for it, then keeps it', async () => {
    const { flagger } = setup();
    await flagger.setRules([rule({ id: 'manual', kind: 'manual' })]);
    await feed(flagger, record(Date.now(), { pattern: 3 }));
    const late = record(Date.now() + 5, { pattern: 5 });
    const asked = flagger.flag('src-1', late.id);
    await new Promise((r) => setTimeout(r, 100));
    await feed(flagger, late);
    const kept = await asked;
    expect([kept.id, kept.reasons]).toEqual([late.id, ['manual']]);
  });

  it('the reference model disagreeing on a judged frame (F1 below 0.6): kept with both models\' boxes and its own reason; an agreeing one is not; one kept already gains the reason', async () => {
    const { flagger, events } = setup();
    await flagger.setRules([rule({ id: 'reference-disagreement', kind: 'disagreement', params: { maxF1: 0.6, minCount: 2 } }), rule({ id: 'any', kind: 'random', params: { probability: 1 }, limits: { perMinute: 1 } })]);
    const agreeing = record(T0, { pattern: 1 });
    await feed(flagger, agreeing, [person(0.8, 10)]); // kept by the random rule
    const ref = 'e'.repeat(64);
    const sample = (rec: FrameRecord, tp: number, fp: number, fn: number, detections: Detection[]) => ({ id: rec.id, t: rec.t, modelVersion: 'abcdef012345', reference: ref, counts: { tp, fp, fn, byClass: {} }, detections, ms: 500 });
    const wrong = record(T0 + 1000, { pattern: 2 });
    await feed(flagger, wrong, [person(0.8, 10), person(0.7, 200)]); // the random rule's minute is used up: not kept
    expect(events).toHaveLength(1);
    // the reference sees someone else: one match of three → F1 0.4
    flagger.observeAgreement('src-1', sample(wrong, 1, 1, 2, [person(0.9, 10), person(0.8, 400), person(0.7, 500)]));
    for (const end = Date.now() + 3000; events.length < 2 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({ id: wrong.id, reasons: ['reference-disagreement'], reference: { version: ref, f1: 0.4 } });
    expect(events[1]!.detections).toHaveLength(2);
    expect(events[1]!.reference!.detections.map((d) => d.box[0])).toEqual([10, 400, 500]);
    // agreeing (F1 1): nothing new
    const fine = record(T0 + 2000, { pattern: 3 });
    await feed(flagger, fine, [person(0.8, 10)]);
    flagger.observeAgreement('src-1', sample(fine, 1, 0, 0, [person(0.8, 10)]));
    await new Promise((r) => setTimeout(r, 50));
    expect(events).toHaveLength(2);
    // the frame the random rule kept, then the reference disagreeing on it: the reason and the boxes are added
    flagger.observeAgreement('src-1', sample(agreeing, 0, 1, 2, [person(0.9, 300), person(0.9, 500)]));
    for (const end = Date.now() + 3000; events.length < 3 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
    expect(events[2]).toMatchObject({ id: agreeing.id, reasons: ['any', 'reference-disagreement'], reference: { f1: 0 } });
    // a verdict on a frame no longer among the recent ones: nothing
    flagger.observeAgreement('src-1', sample({ ...fine, id: 'gone' }, 0, 5, 5, []));
    await new Promise((r) => setTimeout(r, 50));
    expect(events).toHaveLength(3);
  });

  it('validates settings, naming the field', async () => {
    const { flagger } = setup();
    await expect(flagger.setSettings({ quality: 2 })).rejects.toThrow(/flag settings: quality/);
    await expect(flagger.setSettings({ maxFrames: 0 })).rejects.toThrow(/maxFrames/);
    await expect(flagger.setSettings({ bogus: 1 })).rejects.toThrow(/flag settings/);
    expect((await flagger.setSettings({ quality: 0.6 })).quality).toBe(0.6);
  });
});
