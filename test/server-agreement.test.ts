/**
 * A reference model's agreement (rollup `ag`) through the real fleet server process: a batch whose rollups carry
 * it is stored and merged; /metrics has the inference_reference_* counters per device and camera (labels
 * escaped); /v1/series, /v1/totals and /v1/devices carry it; a batch with bad counts is refused naming the field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batch, getJson, MIN, MV, parseMetrics, post, rollupsFor, type Server, startServer } from './server-helpers.ts';
import { agreementRollups, bucketStart, mergeRollup, type Rollup } from '../src/telemetry/rollup.ts';

const TOKEN = 'agreement-test-token-0123';
const NOW = Date.now();
const T0 = bucketStart(NOW, '1m') - 8 * MIN;
const WEIRD = 'we"ird\\cam';

/** cam-1's minutes carry 2 judged frames each (tp 3+1, fp 1, fn 0+2); cam-2's none (no reference there). */
function rollups(start: number, minutes: number, seed: number, cameras = ['cam-1', 'cam-2']): Rollup[] {
  const rows = rollupsFor(start, minutes, seed, cameras);
  for (const r of rows) {
    if (r.g.includes('cam-2')) continue;
    mergeRollup(r, agreementRollups(r.start + 5_000, r.mv, r.g, { tp: 3, fp: 1, fn: 0 })[1]!);
    mergeRollup(r, agreementRollups(r.start + 35_000, r.mv, r.g, { tp: 1, fp: 0, fn: 2 })[1]!);
  }
  return rows;
}

describe('fleet server: reference agreement', () => {
  let server: Server;
  const q = (path: string) => getJson(server.url, TOKEN, path);

  beforeAll(async () => {
    server = await startServer({ FLEET_TOKENS: `fleet:${TOKEN}:*`, FLEET_RATE: '1000000', FLEET_SOURCE_RATE: '1000000' });
    // two batches of one source (merged by addition into the same 1-hour and all-time rows), one of another device
    for (const [seq, start] of [[1, T0], [2, T0 + 3 * MIN]] as const) {
      const res = await post(server.url, TOKEN, JSON.stringify(batch('kiosk-r', seq, rollups(start, 3, seq), {}, 'dev-r')));
      expect(res.status, await res.text()).toBe(200);
    }
    const w = await post(server.url, TOKEN, JSON.stringify(batch('kiosk-w', 1, rollups(T0, 2, 9, [WEIRD]), {}, 'dev-w')));
    expect(w.status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('/metrics: inference_reference_{frames,tp,fp,fn}_total per device and camera, only where a reference ran', async () => {
    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    const { types, samples } = parseMetrics(await res.text());
    for (const k of ['frames', 'tp', 'fp', 'fn']) expect(types.get(`inference_reference_${k}_total`)).toBe('counter');
    const at = (name: string, device: string, camera: string) => samples.filter((s) => s.name === name && s.labels.device === device && s.labels.camera_id === camera);
    // 6 minutes × 2 judged frames; tp 6 × 4, fp 6 × 1, fn 6 × 2
    expect(at('inference_reference_frames_total', 'dev-r', 'cam-1').map((s) => s.value)).toEqual([12]);
    expect(at('inference_reference_tp_total', 'dev-r', 'cam-1').map((s) => s.value)).toEqual([24]);
    expect(at('inference_reference_fp_total', 'dev-r', 'cam-1').map((s) => s.value)).toEqual([6]);
    expect(at('inference_reference_fn_total', 'dev-r', 'cam-1').map((s) => s.value)).toEqual([12]);
    expect(at('inference_reference_frames_total', 'dev-r', 'cam-2')).toEqual([]);
    expect(at('inference_frames_total', 'dev-r', 'cam-2')).toHaveLength(1);
    // escaped labels parse back to the camera's name
    expect(at('inference_reference_frames_total', 'dev-w', WEIRD).map((s) => s.value)).toEqual([4]);
    expect(at('inference_reference_frames_total', 'dev-w', WEIRD)[0]!.labels.model_version).toBe(MV);
  });

  it('/v1/series and /v1/totals carry the agreement, /v1/devices the last minutes’ per device', async () => {
    const range = `from=${T0}&to=${T0 + 6 * MIN}&camera_id=cam-1`;
    const s = await q(`/v1/series?${range}`);
    expect(s.status).toBe(200);
    expect(s.body.agreement.frames).toEqual([2, 2, 2, 2, 2, 2]);
    expect(s.body.agreement.f1[0]).toBeCloseTo(8 / 11); // 2·4 / (2·4 + 1 + 2)
    const t = await q(`/v1/totals?${range}`);
    expect(t.body.agreement).toMatchObject({ frames: 12, tp: 24, fp: 6, fn: 12 });
    expect(t.body.agreement.f1).toBeCloseTo(48 / 66);
    const cam2 = await q(`/v1/totals?from=${T0}&to=${T0 + 6 * MIN}&camera_id=cam-2`);
    expect(cam2.body.agreement).toBeUndefined();
    const d = await q('/v1/devices');
    const dev = (d.body as { device_id: string; vitals: { agreement?: { frames: number; f1: number } } }[]).find((x) => x.device_id === 'dev-r')!;
    expect(dev.vitals.agreement).toMatchObject({ frames: 10, tp: 20, fp: 5, fn: 10 }); // the last 5 minutes with data
    expect(dev.vitals.agreement!.f1).toBeCloseTo(40 / 55);
  });

  it('refuses a batch with bad agreement counts, naming the field', async () => {
    const [r] = rollups(T0, 1, 4, ['cam-1']);
    const bad = { ...r!, ag: { frames: 0, tp: 2, fp: 0, fn: 0 } };
    const res = await post(server.url, TOKEN, JSON.stringify(batch('kiosk-bad', 1, [bad])));
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toMatch(/rollups\.0\.ag: agreement counts \(tp, fp, fn\) need at least one judged frame/);
    const neg = await post(server.url, TOKEN, JSON.stringify(batch('kiosk-bad', 1, [{ ...r!, ag: { frames: 1, tp: 1, fp: -1, fn: 0 } }])));
    expect(neg.status).toBe(400);
    expect(JSON.stringify(await neg.json())).toMatch(/rollups\.0\.ag\.fp/);
  });
});
