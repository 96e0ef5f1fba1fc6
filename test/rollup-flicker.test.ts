/**
 * Flicker rolled up (#27 part 3): the health engine sets each associated frame's flicker on its record (`fk`), the
 * store rolls it up (`fl`, merged by addition at every resolution), the totals give its rate, the sync schema takes
 * it, and the real server merges it and answers it on /v1/totals, /v1/devices and /metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HealthEngine } from '../src/health/engine.ts';
import { addFlicker, type BoxLike, type FlickerCounts, FlickerTracker } from '../src/health/flicker.ts';
import { emptyRollup, mergeRollup, type Rollup, rollFrames } from '../src/telemetry/rollup.ts';
import { totalsOf } from '../src/store/queries.ts';
import { parseBatch } from '../src/sync/payload.ts';
import { toOtlp } from '../src/sync/otlp.ts';
import type { FrameRecord } from '../src/telemetry/record.ts';
import { batch, frames, MIN, MV, parseMetrics, post, type Server, startServer, viaJson } from './server-helpers.ts';

const START = Math.floor((Date.now() - 20 * MIN) / MIN) * MIN;

/** Boxes of frame i: three people standing; the second blinks out every 5th frame, the third flips class every 7th. */
function boxes(i: number): BoxLike[] {
  const out: BoxLike[] = [{ classId: 0, box: [10, 10, 40, 80] }];
  if (i % 5 !== 2) out.push({ classId: 0, box: [100, 10, 40, 80] });
  out.push({ classId: i % 7 === 3 ? 2 : 0, box: [200, 10, 40, 80] });
  return out;
}

/** Two minutes of a camera through the engine, each record with its boxes: the records (with `fk`) and the flicker the tracker counts. */
function observed(camera: string): { recs: FrameRecord[]; expected: FlickerCounts } {
  const recs = frames(camera, START, 2, 7).map((r) => ({ ...r, e: undefined, m: undefined }) as FrameRecord);
  const engine = new HealthEngine();
  const tracker = new FlickerTracker();
  let expected: FlickerCounts | undefined;
  recs.forEach((r, i) => {
    engine.observe(r, boxes(i));
    expected = addFlicker(expected, tracker.push(boxes(i)));
  });
  return { recs, expected: expected! };
}

describe('flicker in the rollups (fl)', () => {
  it('the engine marks each associated frame, and the rollups sum to what the tracker counts; the hour is the merge of its minutes', () => {
    const { recs, expected } = observed('cam-1');
    expect(recs[0]!.fk).toBeUndefined(); // nothing before it
    expect(recs.filter((r) => r.fk).length).toBeGreaterThan(recs.length - 3);
    expect(expected.blinks).toBeGreaterThan(0);
    expect(expected.flips).toBeGreaterThan(0);
    const minutes = [...rollFrames(recs, '1m').values()];
    const hour = minutes.reduce((h, r) => mergeRollup(h, r), emptyRollup('1h', START, MV, minutes[0]!.g));
    expect(hour.fl).toEqual(expected);
    expect([...rollFrames(recs, '1h').values()][0]!.fl).toEqual(expected);
    const t = totalsOf(hour);
    expect(t.flicker).toMatchObject(expected);
    expect(t.flicker!.rate).toBeCloseTo((expected.blinks + expected.flips) / expected.tracked, 10);
    // records without boxes (a recorder's, a replay's): no fl, no flicker in the totals
    const plain = [...rollFrames(frames('cam-1', START, 1, 3), '1m').values()][0]!;
    expect(plain.fl).toBeUndefined();
    expect(totalsOf(plain).flicker).toBeUndefined();
  });

  it('the sync schema takes whole counts and refuses others, naming the field; OTLP carries them', () => {
    const minutes = [...rollFrames(observed('cam-1').recs, '1m').values()];
    const sent = parseBatch(viaJson(batch('src-f', 1, minutes)));
    expect(sent.rollups.map((r) => r.fl)).toEqual(minutes.map((r) => r.fl));
    const bad = (fl: unknown) => () => parseBatch(viaJson(batch('src-f', 1, [{ ...minutes[0]!, fl } as Rollup])));
    expect(bad({ frames: 1, tracked: -1, blinks: 0, flips: 0 })).toThrow(/^rollups\.0\.fl\.tracked: /);
    expect(bad({ frames: 1, tracked: 2, blinks: 0.5, flips: 0 })).toThrow(/^rollups\.0\.fl\.blinks: /);
    expect(bad({ frames: 1, tracked: 2, blinks: 0 })).toThrow(/^rollups\.0\.fl\.flips: /);
    expect(bad({ frames: 1, tracked: 2, blinks: 0, flips: 0, extra: 1 })).toThrow(/^rollups\.0\.fl\.extra: /);
    const otlp = JSON.stringify(toOtlp(batch('src-f', 1, minutes)));
    for (const name of ['inference.flicker.tracked', 'inference.flicker.blinks', 'inference.flicker.flips']) expect(otlp).toContain(`"${name}"`);
  });
});

describe('flicker on the fleet server', () => {
  let server: Server;
  const TOKEN = 'flicker-token-0123456789abcdef';
  const { recs, expected } = observed('cam-1');
  const minutes = [...rollFrames(recs, '1m').values()];
  const get = async (path: string) => (await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as Promise<any>;

  beforeAll(async () => {
    server = await startServer({ FLEET_TOKENS: `fleet:${TOKEN}:*` });
    const res = await post(server.url, TOKEN, JSON.stringify(batch('dev-f', 1, [...minutes, ...[...rollFrames(frames('cam-2', START, 2, 5), '1m').values()]], {}, 'dev-f')));
    expect(res.status, await res.clone().text()).toBe(200);
  }, 60_000);
  afterAll(() => server?.stop());

  it('merges it: /v1/totals and /v1/devices give the counts and the rate; /metrics has counters for the cameras whose boxes were associated', async () => {
    const totals = await get(`/v1/totals?from=${START}&to=${START + 5 * MIN}&camera_id=cam-1`);
    expect(totals.flicker).toMatchObject(expected);
    expect((await get(`/v1/totals?from=${START}&to=${START + 5 * MIN}&camera_id=cam-2`)).flicker).toBeUndefined();
    const device = (await get('/v1/devices')).find((d: { id: string }) => d.id === 'dev-f');
    expect(device.vitals.flicker.rate).toBeCloseTo((expected.blinks + expected.flips) / expected.tracked, 10);
    const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    const m = parseMetrics(text);
    expect(m.types.get('inference_flicker_blinks_total')).toBe('counter');
    const at = (name: string, camera: string) => m.samples.filter((s) => s.name === name && s.labels.camera_id === camera).map((s) => s.value);
    expect(at('inference_flicker_tracked_total', 'cam-1')).toEqual([expected.tracked]);
    expect(at('inference_flicker_blinks_total', 'cam-1')).toEqual([expected.blinks]);
    expect(at('inference_flicker_flips_total', 'cam-1')).toEqual([expected.flips]);
    expect(at('inference_flicker_tracked_total', 'cam-2')).toEqual([]);
  });
});
