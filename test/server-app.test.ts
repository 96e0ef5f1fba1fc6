/**
 * The fleet server's app in-process (src/server/app.ts): failures answer 500/503 without details and the
 * app keeps answering; the rate limiter's token bucket.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApp, RateLimiter } from '../src/server/app.ts';
import { type Config, sha256Hex } from '../src/server/config.ts';
import type { FleetDb } from '../src/server/db.ts';

const TOKEN = 'in-process-token-0123456789';
const config: Config = {
  port: 0, host: '127.0.0.1', dbPath: ':memory:', tokens: [{ name: 't', sha256: sha256Hex(TOKEN), devices: ['*'] }], cors: [],
  maxBody: 1 << 20, maxInflated: 8 << 20, rate: 1200, staticDir: '/nonexistent', intervalMs: 60_000, maxSeries: 5000,
};
const broken = {
  sources: () => {
    throw new Error('SQLITE_IOERR: disk I/O error in /var/secret/fleet.sqlite');
  },
  ping: () => false,
} as unknown as FleetDb;

afterEach(() => vi.restoreAllMocks());

describe('fleet app', () => {
  it('answers unexpected errors with 500 and no details, logs no token, and keeps answering', async () => {
    const logged: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void logged.push(a.join(' ')));
    const app = createApp(config, broken);
    const res = await app.request('/v1/devices', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: 'internal error' });
    expect(text).not.toMatch(/SQLITE|secret|at /);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(logged.join('\n')).toMatch(/GET \/v1\/devices failed/);
    expect(logged.join('\n')).not.toContain(TOKEN);
    expect((await app.request('/healthz')).status).toBe(503);
    expect(await (await app.request('/healthz')).json()).toEqual({ ok: false, db: 'error' });
    expect((await app.request('/v1/nothing', { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
  });

  it('rate-limits with a token bucket: bursts of rate / 6, refilled at rate per minute', () => {
    const rl = new RateLimiter(60); // burst 10, one a second
    const t = 1_000_000;
    for (let i = 0; i < 10; i++) expect(rl.take('a', t)).toBe(0);
    expect(rl.take('a', t)).toBe(1);
    expect(rl.take('b', t)).toBe(0);
    expect(rl.take('a', t + 999)).toBe(1);
    expect(rl.take('a', t + 1000)).toBe(0);
    expect(rl.take('a', t + 60_000)).toBe(0);
    for (let i = 0; i < 9; i++) expect(rl.take('a', t + 60_000)).toBe(0);
    expect(rl.take('a', t + 60_000)).toBe(1);
  });
});
