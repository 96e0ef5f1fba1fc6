/**
 * What one read can cost the fleet server, on the real server process (#25, "reads are unbounded… reads have no
 * rate limit"): /v1/dimensions lists at most MAX_DIMENSION_VALUES values per dimension and says it cut; every
 * GET on /v1/* and /metrics takes from a per-token read rate weighted by the rows it loads (429 with
 * Retry-After past it), while the fleet page's own polling stays far inside the default rate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_READ_RATE } from '../src/server/config.ts';
import { MAX_DIMENSION_VALUES, READ_COST } from '../src/server/reads.ts';
import { tagKey } from '../src/telemetry/record.ts';
import { emptyRollup, type Rollup } from '../src/telemetry/rollup.ts';
import { batch, MIN, MV, post, rollupsFor, type Server, startServer } from './server-helpers.ts';

const TOKEN = 'reads-token-0123456789abcdef';
const OTHER = 'reads-other-0123456789abcdef';
const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
const tokens = `fleet:${TOKEN}:*,other:${OTHER}:*`;

/** A one-frame rollup of one minute and camera. */
function tiny(start: number, camera: string): Rollup {
  const r = emptyRollup('1m', start, MV, tagKey({ camera_id: camera, location: `loc-${camera}` }));
  r.frames = 1;
  r.valid = 1;
  r.first = start;
  r.last = start + 1000;
  return r;
}

const get = (s: Server, path: string, token: string | null = TOKEN) => fetch(`${s.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

async function send(s: Server, b: unknown) {
  const res = await post(s.url, TOKEN, JSON.stringify(b));
  expect(res.status, await res.clone().text()).toBe(200);
}

describe('/v1/dimensions is capped', () => {
  let server: Server;
  beforeAll(async () => {
    server = await startServer({ FLEET_TOKENS: tokens, FLEET_RATE: '10000000', FLEET_SOURCE_RATE: '10000000' });
  }, 60_000);
  afterAll(() => server?.stop());

  it(`lists at most ${MAX_DIMENSION_VALUES} cameras and locations (the first in order) and says truncated; a small fleet's answer is whole`, async () => {
    const small = await get(server, `/v1/dimensions?from=${T0}&to=${T0 + 3_600_000}`);
    expect(await small.json()).toEqual({ mv: [], camera_id: [], location: [], condition: [], source: [], truncated: false });
    // 9 sources × 128 cameras (the most series one batch may carry): 1,152 distinct cameras and locations
    for (let s = 0; s < 9; s++) await send(server, batch(`dims-${s}`, 1, Array.from({ length: 128 }, (_, i) => tiny(T0, `c${String(s * 128 + i).padStart(4, '0')}`))));
    const res = await get(server, `/v1/dimensions?from=${T0}&to=${T0 + 3_600_000}`);
    expect(res.status).toBe(200);
    const d = await res.json();
    expect(d.truncated).toBe(true);
    expect(d.camera_id).toHaveLength(MAX_DIMENSION_VALUES);
    expect(d.location).toHaveLength(MAX_DIMENSION_VALUES);
    expect(d.camera_id[0]).toBe('c0000');
    expect(d.camera_id.at(-1)).toBe(`c${String(MAX_DIMENSION_VALUES - 1).padStart(4, '0')}`);
    expect(d.mv).toEqual([MV]);
    expect(d.source).toHaveLength(9);
    // one source: under the cap, whole
    const one = await (await get(server, `/v1/dimensions?from=${T0}&to=${T0 + 3_600_000}&source=dims-0`)).json();
    expect(one.truncated).toBe(false);
    expect(one.camera_id).toHaveLength(128);
  });
});

describe('reads are rate-limited per token, weighted by the rows they load (FLEET_READ_RATE=60: bursts of 10 units)', () => {
  let server: Server;
  beforeAll(async () => {
    server = await startServer({ FLEET_TOKENS: tokens, FLEET_RATE: '10000000', FLEET_SOURCE_RATE: '10000000', FLEET_READ_RATE: '60' });
    // 5,000 one-minute rows of one camera (3.5 days): a read of them all costs 1 + 5,000 / 1,000 = 6 units
    const start = T0 - 5000 * MIN;
    for (let b = 0; b < 5; b++) await send(server, batch('heavy', b + 1, Array.from({ length: 1000 }, (_, i) => tiny(start + (b * 1000 + i) * MIN, 'cam-h'))));
  }, 60_000);
  afterAll(() => server?.stop());

  it('two reads of 5,000 rows (6 units each, X-Read-Cost) empty the bucket: the next read is 429 with Retry-After; another token still reads', async () => {
    const path = `/v1/totals?from=${T0 - 5000 * MIN}&to=${T0}&res=1m`;
    const first = await get(server, path);
    expect(first.status).toBe(200);
    expect((await first.json()).frames).toBe(5000);
    expect(Number(first.headers.get('x-read-cost'))).toBeCloseTo(1 + 5000 / READ_COST.rowsPerUnit, 2);
    expect((await get(server, path)).status).toBe(200);
    const refused = await get(server, `/v1/devices`);
    expect(refused.status).toBe(429);
    expect((await refused.json()).error).toMatch(/read rate limit: 60 cost units per minute/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(2); // 2 units of debt at 1 a second
    // every GET under /v1 takes from the same bucket
    for (const p of ['/v1/forwarding', `/v1/series?from=${T0 - MIN}&to=${T0}`, `/v1/alerts`, `/v1/dimensions?from=${T0 - MIN}&to=${T0}`]) expect((await get(server, p)).status, p).toBe(429);
    // per token: another token's reads are untouched
    const other = await get(server, path, OTHER);
    expect(other.status).toBe(200);
    // writes have their own rate: a batch still goes in
    await send(server, batch('heavy', 99, [tiny(T0, 'cam-h')]));
  });

  it('/metrics takes from a bucket per client address: a burst of scrapes gets 429 with Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) statuses.push((await get(server, '/metrics', null)).status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses).toContain(429);
    const res = await get(server, '/metrics', null);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});

describe(`the default read rate (${DEFAULT_READ_RATE} units a minute) and the fleet page`, () => {
  let server: Server;
  beforeAll(async () => {
    server = await startServer({ FLEET_TOKENS: tokens, FLEET_RATE: '10000000', FLEET_SOURCE_RATE: '10000000' });
    // 100 devices, 2 cameras each, the last hour: 12,000 one-minute rows
    const rollups = rollupsFor(Math.floor(Date.now() / MIN) * MIN - 60 * MIN, 60, 1);
    for (let d = 0; d < 100; d++) await send(server, batch(`kiosk-${d}`, 1, rollups, {}, `kiosk-${d}`));
  }, 120_000);
  afterAll(() => server?.stop());

  it("the fleet list every 10 s and a fleet-wide panel refreshing every second over the last hour use under half of it, and are never refused", async () => {
    const now = Date.now();
    const r = `from=${now - 3_600_000}&to=${now}`;
    // what the panel reads on each refresh (src/ui/health-panel.ts over src/pages/fleet/server-source.ts), and every 10 s
    const everySecond = [`/v1/totals?${r}`, `/v1/percentiles?${r}&what=inference&q=0.5,0.95`, '/v1/devices', `/v1/alerts?${r}&limit=200`];
    const every10s = [`/v1/series?${r}`, `/v1/dimensions?${r}`, '/v1/devices', '/v1/forwarding'];
    const cost = async (paths: string[]) => {
      const res = await Promise.all(paths.map((p) => get(server, p)));
      for (const [i, x] of res.entries()) {
        expect(x.status, paths[i]).toBe(200);
        expect(Number(x.headers.get('x-read-cost')), paths[i]).toBeGreaterThanOrEqual(1);
      }
      return res.reduce((a, x) => a + Number(x.headers.get('x-read-cost')), 0);
    };
    const perSecond = await cost(everySecond);
    const per10s = await cost(every10s);
    const perMinute = 60 * perSecond + 6 * per10s;
    console.log(`fleet server: a fleet-wide panel over 100 devices' hour costs ${perSecond.toFixed(1)} read units a refresh; with the list every 10 s, ${perMinute.toFixed(0)} a minute (FLEET_READ_RATE ${DEFAULT_READ_RATE})`);
    expect(perMinute).toBeLessThan(DEFAULT_READ_RATE / 2);
    // and at that cadence for 5 s: nothing refused
    for (let s = 0; s < 5; s++) {
      const t = Date.now();
      await cost(s % 10 === 0 ? [...everySecond, ...every10s] : everySecond);
      await new Promise((ok) => setTimeout(ok, Math.max(0, 1000 - (Date.now() - t))));
    }
  }, 60_000);
});
