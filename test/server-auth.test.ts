/**
 * Who may read and write what, against the real server process (src/server/main.ts): read scopes (a device's
 * token reads its own sources only; the fleet takes a `*` read token), device ids bound to a token's ids, a
 * reused (source, seq) with other content refused (409), a back-off for wrong tokens per client address, and
 * no start on a non-loopback HOST with /metrics open.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WrongTokenBackoff } from '../src/server/auth.ts';
import { bucketStart } from '../src/telemetry/rollup.ts';
import { alert, batch, getJson, MIN, parseMetrics, post, rollupsFor, type Server, startServer } from './server-helpers.ts';

const ADMIN = 'admin-token-all-0123456789';
const TOK_A = 'device-a-token-0123456789';
const TOK_B = 'device-b-token-0123456789';
const FLEET = 'fleet-page-read-0123456789';
const KIOSKS = 'kiosks-write-only-0123456789';
const TOKENS = `admin:${ADMIN}:*,a:${TOK_A}:dev-a,b:${TOK_B}:dev-b,fleet:${FLEET}:*:read,kiosks:${KIOSKS}:*:write`;
const NOW = Date.now();
const T0 = bucketStart(NOW, '1m') - 12 * MIN;
const RANGE = `from=${T0}&to=${T0 + 20 * MIN}`;
/** a page's generated sync source id (what a kiosk really sends), and another page's */
const PAGE_A = '019a0000-aaaa-7000-8000-00000000000a';
const PAGE_B = '019a0000-bbbb-7000-8000-00000000000b';

let server: Server;
let gate: Server;

beforeAll(async () => {
  [server, gate] = await Promise.all([
    // FLEET_INTERVAL_MS 1 s: a source silent for 3 s is down
    startServer({ FLEET_TOKENS: TOKENS, FLEET_RATE: '1000000', FLEET_INTERVAL_MS: '1000' }),
    startServer({ FLEET_TOKENS: `admin:${ADMIN}:*`, FLEET_AUTH_FAILURES: '3', FLEET_AUTH_LOCK_MS: '1000', FLEET_TRUST_PROXY: '1', FLEET_METRICS_TOKEN: 'metrics-token-0123456789' }),
  ]);
  const ok = async (token: string, b: object) => expect((await post(server.url, token, JSON.stringify(b))).status).toBe(200);
  await ok(TOK_A, batch('dev-a', 1, rollupsFor(T0, 5, 1), { alerts: [alert('confidence-drop', 'cam-1', 'firing', T0 + MIN, '019a0000-0000-7000-8000-00000000000a')], annotations: [] }, 'dev-a'));
  await ok(TOK_B, batch('dev-b', 1, rollupsFor(T0, 5, 2), { alerts: [alert('latency-p95', 'cam-2', 'firing', T0 + 2 * MIN, '019a0000-0000-7000-8000-00000000000b')] }, 'dev-b'));
  await ok(TOK_B, batch(PAGE_B, 1, rollupsFor(T0, 2, 3), {}, 'dev-b'));
}, 60_000);

afterAll(async () => {
  await Promise.all([server?.stop(), gate?.stop()]);
});

const get = (token: string, path: string) => getJson(server.url, token, path);
const frames = async (token: string, query: string) => (await get(token, `/v1/totals?${RANGE}${query}`)).body.frames as number;

describe('read scopes: a device token reads its own sources, the fleet takes a read token', () => {
  it("a token scoped to dev-a sees dev-a only: devices, series, totals, percentiles, dimensions, alerts; dev-b's are 403", async () => {
    const devices = await get(TOK_A, '/v1/devices');
    expect(devices.status).toBe(200);
    expect(devices.body.map((d: { id: string }) => d.id)).toEqual(['dev-a']);

    const own = await frames(ADMIN, '&source=dev-a');
    expect(own).toBeGreaterThan(0);
    expect(await frames(TOK_A, '')).toBe(own); // not the fleet's
    expect(await frames(TOK_A, '&location=line-3')).toBe(own);
    expect(await frames(ADMIN, '')).toBeGreaterThan(own);
    const series = await get(TOK_A, `/v1/series?${RANGE}`);
    const adminSeries = await get(ADMIN, `/v1/series?${RANGE}&source=dev-a`);
    expect(series.body).toEqual(adminSeries.body);
    expect((await get(TOK_A, `/v1/percentiles?${RANGE}`)).body.n).toBe((await get(ADMIN, `/v1/percentiles?${RANGE}&source=dev-a`)).body.n);
    expect((await get(TOK_A, `/v1/dimensions?${RANGE}`)).body.source).toEqual(['dev-a']);
    const alerts = await get(TOK_A, '/v1/alerts');
    expect(alerts.body.rows.map((r: { source: string }) => r.source)).toEqual(['dev-a']);

    for (const path of [
      '/v1/devices?source=dev-b', `/v1/series?${RANGE}&source=dev-b`, `/v1/totals?${RANGE}&source=dev-b`, `/v1/percentiles?${RANGE}&source=dev-b`,
      `/v1/dimensions?${RANGE}&source=dev-b`, '/v1/alerts?source=dev-b', `/v1/annotations?${RANGE}&source=dev-b`, '/v1/forwarding',
    ]) {
      const res = await get(TOK_A, path);
      expect(res.status, path).toBe(403);
      expect(res.body.error, path).toMatch(/^token a may not read/);
    }
  });

  it('the fleet read token reads every device but writes nothing; a write-only token writes but reads nothing; an old * token does both', async () => {
    const all = await get(FLEET, '/v1/devices');
    expect(all.body.map((d: { id: string }) => d.id).sort()).toEqual([PAGE_B, 'dev-a', 'dev-b'].sort());
    expect((await get(FLEET, '/v1/forwarding')).status).toBe(200);
    const refused = await post(server.url, FLEET, JSON.stringify(batch('dev-a', 50, [], {}, 'dev-a')));
    expect(refused.status).toBe(403);
    expect((await refused.json()).error).toBe('token fleet is read-only: it may not write');

    expect((await post(server.url, KIOSKS, JSON.stringify(batch('kiosk-w', 1, [])))).status).toBe(200);
    for (const path of ['/v1/devices', `/v1/totals?${RANGE}`, '/v1/alerts', '/v1/forwarding']) {
      const res = await get(KIOSKS, path);
      expect(res.status, path).toBe(403);
      expect(res.body.error, path).toMatch(/^token kiosks (is write-only|may not read)/);
    }

    // an existing `*` token (no access part) keeps writing any source and reading the fleet
    expect((await post(server.url, ADMIN, JSON.stringify(batch('admin-src', 1, [])))).status).toBe(200);
    expect((await get(ADMIN, '/v1/devices')).body.length).toBe(5);
  });

  it("a kiosk's generated source id, sent with the token's device id, is written and read back as the token's own", async () => {
    expect((await post(server.url, TOK_A, JSON.stringify(batch(PAGE_A, 1, rollupsFor(T0, 2, 4), {}, 'dev-a')))).status).toBe(200);
    expect((await get(TOK_A, '/v1/devices')).body.map((d: { id: string }) => d.id).sort()).toEqual([PAGE_A, 'dev-a'].sort());
    expect((await get(TOK_A, `/v1/totals?${RANGE}&source=${PAGE_A}`)).status).toBe(200);
    expect((await get(TOK_A, `/v1/totals?${RANGE}&source=${PAGE_B}`)).status).toBe(403);
    // with two sources of its own, a paged read names one
    expect((await get(TOK_A, '/v1/alerts')).status).toBe(403);
    expect((await get(TOK_A, '/v1/alerts?source=dev-a')).status).toBe(200);
  });
});

describe("a device cannot claim another device's id", () => {
  const up = async (device: string) => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return parseMetrics(text).samples.find((s) => s.name === 'inference_device_up' && s.labels.device === device)?.value;
  };

  it('with dev-b down, token a posting device_id=dev-b is 403 naming it: dev-b stays down and its series untouched', async () => {
    await expect.poll(() => up('dev-b'), { timeout: 10_000, interval: 500 }).toBe(0);
    const before = await frames(ADMIN, '&source=dev-b');
    const claims = [
      [batch('dev-a', 2, rollupsFor(T0 + 5 * MIN, 2, 5), {}, 'dev-b'), 'token a may not write device dev-b'],
      [batch('019a0000-cccc-7000-8000-00000000000c', 1, rollupsFor(T0 + 5 * MIN, 2, 6), {}, 'dev-b'), 'token a may not write device dev-b'],
      [batch('dev-b', 7, rollupsFor(T0 + 5 * MIN, 2, 7), {}, 'dev-a'), 'token a may not write source dev-b'],
      [batch('dev-b', 8, rollupsFor(T0 + 5 * MIN, 2, 8)), 'token a may not write source dev-b'],
      // another page's generated source (dev-b's), claimed under the token's own device id
      [batch(PAGE_B, 9, rollupsFor(T0 + 5 * MIN, 2, 9), {}, 'dev-a'), `token a may not write source ${PAGE_B}`],
    ] as const;
    for (const [b, error] of claims) {
      const res = await post(server.url, TOK_A, JSON.stringify(b));
      expect(res.status).toBe(403);
      expect((await res.json()).error).toBe(error);
    }
    expect(await up('dev-b')).toBe(0);
    expect(await frames(ADMIN, '&source=dev-b')).toBe(before);
    expect(await frames(ADMIN, `&source=${PAGE_B}`)).toBeGreaterThan(0);
    expect((await get(ADMIN, '/v1/devices')).body.find((d: { id: string }) => d.id === 'dev-a').device_id).toBe('dev-a');
  });

  it('the same (source, seq) with other content is 409, even from a * token; the identical retry is still a duplicate', async () => {
    const mine = batch('dev-b', 5, rollupsFor(T0 + 8 * MIN, 1, 10), {}, 'dev-b');
    const body = JSON.stringify(mine);
    expect(await (await post(server.url, TOK_B, body)).json()).toEqual({ ack: 5 });
    const taken = await frames(ADMIN, '&source=dev-b');
    const forged = JSON.stringify({ ...mine, rollups: rollupsFor(T0 + 8 * MIN, 1, 11) });
    const res = await post(server.url, ADMIN, forged);
    expect(res.status).toBe(409);
    expect((await res.json()).error).toBe('source dev-b already sent batch 5 with other content: a sequence number is used once');
    expect(await frames(ADMIN, '&source=dev-b')).toBe(taken);
    const retry = await post(server.url, TOK_B, body);
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual({ ack: 5, duplicate: true });
  });
});

describe('back-off for wrong tokens', () => {
  const send = (token: string, headers: Record<string, string> = {}) => fetch(`${gate.url}/v1/devices`, { headers: { authorization: `Bearer ${token}`, ...headers } });

  it('after 3 wrong tokens an address gets 429 with Retry-After, even with the right token; once the window passes the right token works', async () => {
    for (let i = 0; i < 3; i++) expect((await send(`wrong-token-${i}-0123456789`)).status).toBe(401);
    const refused = await send('wrong-token-x-0123456789');
    expect(refused.status).toBe(429);
    const wait = Number(refused.headers.get('retry-after'));
    expect(wait).toBeGreaterThanOrEqual(1);
    expect((await send(ADMIN)).status).toBe(429); // no token is looked at while refused
    expect((await fetch(`${gate.url}/metrics`, { headers: { authorization: 'Bearer metrics-token-0123456789' } })).status).toBe(429);
    // another client behind the proxy (FLEET_TRUST_PROXY: the last X-Forwarded-For entry) is not held back
    expect((await send(ADMIN, { 'x-forwarded-for': '10.0.0.9, 10.1.2.3' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, wait * 1000 + 100));
    expect((await send(ADMIN)).status).toBe(200);
    // the right token cleared the address: wrong ones start from nothing again
    expect((await send('wrong-token-y-0123456789')).status).toBe(401);
    expect((await send(ADMIN)).status).toBe(200);
  });

  it('the refusal doubles with each further wrong token, and the addresses kept are bounded', () => {
    const b = new WrongTokenBackoff({ failures: 2, lockMs: 1000 }, 100);
    const t = 1_000_000;
    b.fail('x', t);
    expect(() => b.check('x', t)).not.toThrow();
    b.fail('x', t);
    expect(() => b.check('x', t + 999)).toThrow(/try again in 1 s/);
    expect(() => b.check('x', t + 1000)).not.toThrow();
    b.fail('x', t + 1000);
    expect(() => b.check('x', t + 2999)).toThrow(/try again in 1 s/);
    expect(() => b.check('x', t + 3000)).not.toThrow();
    for (let i = 0; i < 20; i++) b.fail('x', t + 4000);
    expect(() => b.check('x', t + 4000 + 15 * MIN - 1)).toThrow();
    expect(() => b.check('x', t + 4000 + 15 * MIN)).not.toThrow(); // at most 15 min
    for (let i = 0; i < 10_000; i++) b.fail(`10.0.${i >> 8}.${i & 255}`, t);
    expect(b.size).toBeLessThanOrEqual(100);
  });
});

describe('HOST beyond loopback', () => {
  it('refuses to start on HOST=0.0.0.0 without FLEET_METRICS_TOKEN, naming the variables', async () => {
    await expect(startServer({ FLEET_TOKENS: `admin:${ADMIN}:*`, HOST: '0.0.0.0' })).rejects.toThrow(/exited \(1\)[^]*HOST=0\.0\.0\.0[^]*FLEET_METRICS_TOKEN[^]*FLEET_ALLOW_OPEN_METRICS=1/);
  });

  it('starts with FLEET_METRICS_TOKEN, or with FLEET_ALLOW_OPEN_METRICS=1 and a warning', async () => {
    const closed = await startServer({ FLEET_TOKENS: `admin:${ADMIN}:*`, HOST: '0.0.0.0', FLEET_METRICS_TOKEN: 'metrics-token-0123456789' });
    const open = await startServer({ FLEET_TOKENS: `admin:${ADMIN}:*`, HOST: '0.0.0.0', FLEET_ALLOW_OPEN_METRICS: '1' });
    try {
      expect(closed.output()).not.toMatch(/WARNING/);
      expect(open.output()).toMatch(/WARNING: HOST=0\.0\.0\.0 with FLEET_ALLOW_OPEN_METRICS=1: \/metrics is open/);
      const port = new URL(closed.url).port;
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(401);
    } finally {
      await Promise.all([closed.stop(), open.stop()]);
    }
  });
});

describe('the token format, backward compatible', () => {
  it('name:token:ids[:access] — no access part is rw, as before; read and write narrow it; a bad one names the entry', async () => {
    const { loadConfig, sha256Hex } = await import('../src/server/config.ts');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'fleet-cfg-'));
    writeFileSync(join(dir, 't.json'), JSON.stringify([{ name: 'f', sha256: sha256Hex('file-token-0123456789'), devices: ['*'], access: 'read' }]));
    const c = loadConfig({ FLEET_DB: join(dir, 'f.sqlite'), FLEET_TOKENS: `old:${ADMIN}:*,dev:${TOK_A}:dev-a|dev-c,r:${FLEET}:*:read,w:${KIOSKS}:*:write,rw:${TOK_B}:dev-b:rw`, FLEET_TOKENS_FILE: join(dir, 't.json') }, () => {});
    expect(c.tokens.map((t) => [t.name, t.devices.join('|'), t.access ?? 'rw'])).toEqual([
      ['old', '*', 'rw'], ['dev', 'dev-a|dev-c', 'rw'], ['r', '*', 'read'], ['w', '*', 'write'], ['rw', 'dev-b', 'rw'], ['f', '*', 'read'],
    ]);
    expect(() => loadConfig({ FLEET_DB: join(dir, 'f.sqlite'), FLEET_TOKENS: `x:${ADMIN}:*:admin` }, () => {})).toThrow(/^FLEET_TOKENS entry 1 \(x\): access must be rw, read or write/);
  });
});
