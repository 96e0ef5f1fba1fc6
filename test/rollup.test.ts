import { describe, expect, it } from 'vitest';
import { CONFIDENCE_BINS, confidenceQuantile, LATENCY_BOUNDS, latencyBucket, latencyQuantile, total } from '../src/telemetry/histogram.ts';
import { type FrameRecord, parseTagKey, tagKey, toFrameRecord } from '../src/telemetry/record.ts';
import { bucketStart, emptyRollup, errorKind, gaugeRollups, mergeRollup, rollFrames, type Rollup } from '../src/telemetry/rollup.ts';
import type { InferenceResult } from '../src/inference/protocol.ts';
import { rng } from './helpers/rng.ts';

/** The detections syntheticFrames(n, …, seed) makes, replayed from the same random sequence. */
function syntheticDetections(n: number, seed: number) {
  const rand = rng(seed);
  const out: { classId: number; score: number }[] = [];
  for (let i = 0; i < n; i++) {
    rand(); rand(); rand();
    const k = Math.floor(rand() * 5);
    for (let j = 0; j < k; j++) {
      const classId = rand() < 0.7 ? 0 : 2;
      out.push({ classId, score: 0.3 + 0.7 * rand() });
    }
    rand(); rand(); rand(); rand(); rand();
  }
  return out;
}

function syntheticFrames(n: number, start: number, fps: number, seed = 1): FrameRecord[] {
  const rand = rng(seed);
  const frames: FrameRecord[] = [];
  for (let i = 0; i < n; i++) {
    const inference = Math.exp(Math.log(40) + 0.5 * (rand() + rand() + rand() - 1.5)); // log-normal-ish around 40 ms
    const dets = Array.from({ length: Math.floor(rand() * 5) }, () => ({ classId: rand() < 0.7 ? 0 : 2, label: '', score: 0.3 + 0.7 * rand(), box: [0, 0, 1, 1] as [number, number, number, number] }));
    const r: InferenceResult = {
      inferenceId: `id-${i}`, timestamp: start + (i * 1000) / fps, handoffEpoch: 0, workerDoneEpoch: 0,
      modelVersion: 'abcdef0123456789', backend: 'wasm', frame: { width: 640, height: 480 },
      timings: { queue: rand() * 5, preprocess: 2 + rand(), inference, postprocess: 1 + rand(), total: inference + 10 },
      droppedFrames: rand() < 0.1 ? 1 : 0, detections: dets,
      ...(rand() < 0.01 ? { malformed: 'output has a non-finite value (NaN) at 3' } : {}),
    };
    frames.push(toFrameRecord(r, 'src-1', { camera_id: i % 2 ? 'cam-a' : 'cam-b', location: 'line 3' }));
  }
  return frames;
}

const exactQuantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
};

describe('histograms', () => {
  it('latency buckets are log-spaced and every value lands in the bucket whose bounds hold it', () => {
    for (const v of [0.05, 0.1, 0.11, 1, 3.3, 40, 999, 60_000, 1e9]) {
      const b = latencyBucket(v);
      if (b > 0) expect(v).toBeGreaterThan(LATENCY_BOUNDS[b - 1]!);
      if (b < LATENCY_BOUNDS.length) expect(v).toBeLessThanOrEqual(LATENCY_BOUNDS[b]!);
    }
  });

  it('percentiles from merged histograms are within one bucket (±12.5 %) of the exact percentiles', () => {
    const frames = syntheticFrames(20_000, 0, 30);
    const exact = frames.map((f) => f.l[3]!);
    const minutes = rollFrames(frames, '1m');
    const merged = [...minutes.values()].reduce((a, r) => mergeRollup(a, r), emptyRollup('1h', 0, '', ''));
    expect(total(merged.lat.inference)).toBe(20_000);
    for (const q of [0.5, 0.95, 0.99]) {
      const est = latencyQuantile(merged.lat.inference, q);
      const ex = exactQuantile(exact, q);
      expect(Math.abs(est - ex) / ex, `p${q * 100}: ${est} vs ${ex}`).toBeLessThan(0.125);
    }
    const scores = frames.flatMap((f) => (f.h ?? []).map((b) => (b + 0.5) / CONFIDENCE_BINS));
    expect(total(merged.conf)).toBe(scores.length);
    expect(Math.abs(confidenceQuantile(merged.conf, 0.5) - exactQuantile(scores, 0.5))).toBeLessThanOrEqual(1 / CONFIDENCE_BINS);
  });
});

describe('rollups', () => {
  it('the 1-h rollup equals the merge of its 1-min rollups (and of its 10-s rollups)', () => {
    const frames = syntheticFrames(3 * 3600 * 2, Date.UTC(2026, 10, 25, 10, 17), 2, 7); // 3 h at 2 fps, off the hour
    const hours = rollFrames(frames, '1h');
    const minutes = rollFrames(frames, '1m');
    const tens = rollFrames(frames, '10s');
    for (const fine of [minutes, tens]) {
      const merged = new Map<string, Rollup>();
      for (const r of fine.values()) {
        const start = bucketStart(r.start, '1h');
        const key = `${start}|${r.mv}|${r.g}`;
        if (!merged.has(key)) merged.set(key, emptyRollup('1h', start, r.mv, r.g));
        mergeRollup(merged.get(key)!, r);
      }
      expect([...merged.keys()].sort()).toEqual([...hours.keys()].sort());
      for (const [k, h] of hours) {
        const m = merged.get(k)!;
        expect({ ...m, scoreSum: +m.scoreSum.toFixed(6), frameScoreSum: +m.frameScoreSum.toFixed(6), classScore: {} }).toEqual({
          ...h, scoreSum: +h.scoreSum.toFixed(6), frameScoreSum: +h.frameScoreSum.toFixed(6), classScore: {},
        });
      }
    }
    // frames, class counts and errors add up across everything
    const all = [...hours.values()];
    expect(all.reduce((a, r) => a + r.frames, 0)).toBe(frames.length);
    expect(all.reduce((a, r) => a + (r.errors['non-finite'] ?? 0), 0)).toBe(frames.filter((f) => f.m).length);
  });

  it("keeps each class's confidence histogram, from the record's bins grouped by class", () => {
    const frames = syntheticFrames(2000, 0, 10, 3);
    for (const f of frames) expect(f.h?.length ?? 0).toBe(f.k.reduce((a, x) => a + x[1], 0));
    // by hand: every detection's bin, per class
    const exact: Record<number, Record<number, number>> = {};
    for (const d of syntheticDetections(2000, 3)) {
      const bin = Math.min(CONFIDENCE_BINS - 1, Math.floor(d.score * CONFIDENCE_BINS));
      const h = (exact[d.classId] ??= {});
      h[bin] = (h[bin] ?? 0) + 1;
    }
    const all = emptyRollup('1h', 0, 'x', '*');
    for (const r of rollFrames(frames, '10s').values()) mergeRollup(all, r);
    expect(all.cc).toEqual(exact);
    expect(Object.keys(exact).sort()).toEqual(['0', '2']);
    // the classes' histograms add up to the overall one
    const sum: Record<number, number> = {};
    for (const h of Object.values(all.cc!)) for (const [k, n] of Object.entries(h)) sum[+k] = (sum[+k] ?? 0) + n;
    expect(sum).toEqual(all.conf);
  });

  it('keys rollups by tag combination; tag keys are canonical and reversible', () => {
    expect(tagKey({ location: 'line 3', camera_id: 'a&b=c' })).toBe('camera_id=a%26b%3Dc&location=line%203');
    expect(parseTagKey(tagKey({ location: 'line 3', camera_id: 'a&b=c' }))).toEqual({ camera_id: 'a&b=c', location: 'line 3' });
    const minutes = rollFrames(syntheticFrames(240, 0, 2), '1m');
    expect(new Set([...minutes.values()].map((r) => r.g))).toEqual(new Set(['camera_id=cam-a&location=line%203', 'camera_id=cam-b&location=line%203']));
  });

  it('page resource samples become gauges that merge like everything else, and leave frame counts alone', () => {
    const t = Date.UTC(2026, 10, 25, 8, 0, 3);
    const [s10, m1, h1] = gaugeRollups(t, 'mv', 'camera_id=a', { heapMB: 40, longTasks: 2, up: 1, bad: NaN });
    expect([s10!.res, m1!.res, h1!.res]).toEqual(['10s', '1m', '1h']);
    expect(m1!.start).toBe(bucketStart(t, '1m'));
    expect(m1!.gauge).toEqual({ heapMB: [40, 1], longTasks: [2, 1], up: [1, 1] });
    const next = gaugeRollups(t + 5000, 'mv', 'camera_id=a', { heapMB: 44, longTasks: 0, up: 0 })[1]!;
    const frames = rollFrames(syntheticFrames(10, t, 10), '1m').values().next().value!;
    const merged = mergeRollup(mergeRollup(mergeRollup(emptyRollup('1m', m1!.start, 'mv', 'camera_id=a'), m1!), next), frames);
    expect(merged.gauge).toEqual({ heapMB: [84, 2], longTasks: [2, 2], up: [1, 2] });
    expect(merged.frames).toBe(frames.frames);
  });

  it('classifies error kinds', () => {
    expect(errorKind('output \'x\' has a non-finite value (NaN) at 3')).toBe('non-finite');
    expect(errorKind('output \'x\' has shape [1,2], expected [1,3]')).toBe('wrong-shape');
    expect(errorKind('box out of frame: person at [..]')).toBe('box-out-of-frame');
    expect(errorKind('inference-timeout')).toBe('inference-timeout');
  });
});
