/** The recorder's input check (src/recorder/recorder.ts checkRecord) and annotations' (src/store/annotations.ts): the field named, nothing thrown for good input. */
import { describe, expect, it } from 'vitest';
import { checkRecord, RecorderError } from '../src/recorder/recorder.ts';
import { checkAnnotation, mergeAnnotation } from '../src/store/annotations.ts';

const det = (o: Record<string, unknown> = {}) => ({ classId: 0, label: 'a', score: 0.5, box: [0, 0, 10, 10], ...o });

describe('checkRecord', () => {
  it('passes what apps send: timings, detections with or without labels, frames, errors', () => {
    expect(checkRecord({ detections: [] })).toBeUndefined();
    expect(checkRecord({ timestamp: Date.now(), timings: { inference: 12.5, total: 20 }, detections: [det(), det({ label: undefined, classId: 3 })] } as never)).toBeUndefined();
    expect(checkRecord({ detections: [], error: 'timeout', dropped: 2, size: { width: 640, height: 480 } })).toBeUndefined();
  });

  it.each([
    [null, '(input)'],
    [{ detections: 'none' }, 'detections'],
    [{ detections: [det({ classId: -1 })] }, 'detections.0.classId'],
    [{ detections: [det(), det({ score: 1.5 })] }, 'detections.1.score'],
    [{ detections: [det({ box: [0, 0, 1] })] }, 'detections.0.box'],
    [{ detections: [det({ box: [0, 0, NaN, 1] })] }, 'detections.0.box'],
    [{ detections: [det({ label: 7 })] }, 'detections.0.label'],
    [{ detections: [], timings: { inference: -1 } }, 'timings.inference'],
    [{ detections: [], timings: { think: 1 } }, 'timings.think'],
    [{ detections: [], timestamp: 'now' }, 'timestamp'],
    [{ detections: [], error: 'Out Of Memory!' }, 'error'],
    [{ detections: [], dropped: 1.5 }, 'dropped'],
    [{ detections: [], size: { width: 0, height: 10 } }, 'size'],
    [{ detections: [], inferenceId: 'x' }, 'inferenceId'],
    [{ detections: [], inferenceId: '0b7a1c52-3f0e-4c8d-9a51-6f2d8e4b7c10' }, 'inferenceId'], // a v4 (random) UUID: not time-ordered
    [{ detections: Array.from({ length: 1001 }, () => det()) }, 'detections'],
  ])('refuses %j naming %s', (input, field) => {
    const e = checkRecord(input as never);
    expect(e).toBeInstanceOf(RecorderError);
    expect(e!.field).toBe(field);
    expect(e!.message.startsWith(`${field}: `)).toBe(true);
  });
});

describe('annotations', () => {
  const id = '019ad0c0-0000-7000-8000-000000000001';
  it('takes strings, numbers and booleans (as text) and null to remove; merges over what is there', () => {
    const patch = checkAnnotation(id, { lot: 'L-1', weight: 2.5, ok: true, gone: null });
    expect(patch).toEqual({ lot: 'L-1', weight: '2.5', ok: 'true', gone: null });
    expect(mergeAnnotation({ gone: 'x', keep: 'y' }, patch)).toEqual({ keep: 'y', lot: 'L-1', weight: '2.5', ok: 'true' });
  });
  it('names the bad id, key or value', () => {
    expect(() => checkAnnotation('not-an-id', {})).toThrow(/^inferenceId: /);
    expect(() => checkAnnotation(id, [])).toThrow(/^metadata: expected an object/);
    expect(() => checkAnnotation(id, { 'a b': 'x' })).toThrow(/^metadata\.a b: a key is/);
    expect(() => checkAnnotation(id, JSON.parse('{"__proto__": "x"}'))).toThrow(/^metadata\.__proto__/);
    expect(() => checkAnnotation(id, { v: 'x'.repeat(501) })).toThrow(/^metadata\.v: at most 500/);
    expect(() => checkAnnotation(id, { v: { nested: 1 } })).toThrow(/^metadata\.v: expected a string/);
    expect(() => checkAnnotation(id, Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])))).toThrow(/at most 32 keys/);
    expect(() => mergeAnnotation(Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`, 'v'])), { extra: 'v' })).toThrow(/at most 32 keys/);
  });
});
