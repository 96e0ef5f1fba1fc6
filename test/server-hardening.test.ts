/**
 * The fleet server against a bad or careless device, on the real server process: a malformed tag key (a
 * rollup's `g`) is refused at ingest, and a row stored with one (by an older server) never makes a read fail —
 * before, one such rollup was accepted and /metrics, /v1/dimensions, /v1/series and /v1/totals answered 500
 * from then on; the bearer scheme in any case; the SQLite file readable by the server's user alone.
 */
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTagKey, parseTagKey, tagKey } from '../src/telemetry/record.ts';
import { batch, getJson, MIN, post, rollupsFor, type Server, startServer } from './server-helpers.ts';

const TOKEN = 'fleet-token-0123456789abcdef';
const env = { FLEET_TOKENS: `fleet:${TOKEN}:*`, FLEET_RATE: '1000000', FLEET_SOURCE_RATE: '1000000' };
const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
const BAD = 'camera_id=%E0%A4%A';
let server: Server;

beforeAll(async () => {
  server = await startServer(env);
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

describe('tag keys', () => {
  it('a tag key is what tagKey writes; parsing one that is not never throws', () => {
    const all: Record<string, string>[] = [{}, { camera_id: 'cam-1' }, { camera_id: 'a b&c=d', location: 'hall 4/ß', device_id: '<b>' }];
    for (const tags of all) expect(isTagKey(tagKey(tags))).toBe(true);
    for (const bad of [BAD, 'camera_id=a b', 'location=x&camera_id=y', 'camera_id', 'camera_id=a=b', '&camera_id=a', 'camera_id=']) expect(isTagKey(bad)).toBe(false);
    expect(parseTagKey(BAD)).toEqual({ camera_id: '%E0%A4%A' });
  });

  it('the server refuses a rollup whose tag key does not read back (400, naming it), and keeps nothing of that batch', async () => {
    const ok = await post(server.url, TOKEN, JSON.stringify(batch('dev-a', 1, rollupsFor(T0, 2, 1))));
    expect(ok.status).toBe(200);
    const rollups = rollupsFor(T0 + 2 * MIN, 1, 2);
    rollups[0] = { ...rollups[0]!, g: BAD };
    const res = await post(server.url, TOKEN, JSON.stringify(batch('dev-a', 2, rollups)));
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toMatch(/tag key/);
    const dims = await getJson(server.url, TOKEN, `/v1/dimensions?from=${T0}&to=${T0 + 10 * MIN}`);
    expect(dims.status).toBe(200);
    expect(dims.body.camera_id).toEqual(['cam-1', 'cam-2']);
  });

  it('a row stored with a malformed tag key (by an older server) never makes a read fail', async () => {
    // as an older server would have kept it: a 1-min, a 1-hour and an all-time row under the bad key
    const exited = new Promise((r) => server.proc.once('exit', r));
    server.proc.kill('SIGTERM'); // its files stay (stop() would remove them)
    await exited;
    const db = new Database(server.dbPath);
    const data = db.prepare("SELECT data FROM rollups WHERE res = '1m' AND source = 'dev-a' LIMIT 1").get() as { data: string };
    const row = { ...JSON.parse(data.data), g: BAD };
    db.prepare('INSERT INTO rollups (res, start, mv, g, source, data) VALUES (?, ?, ?, ?, ?, ?)').run('1m', T0 + 5 * MIN, row.mv, BAD, 'dev-a', JSON.stringify({ ...row, start: T0 + 5 * MIN }));
    db.prepare('INSERT INTO rollups (res, start, mv, g, source, data) VALUES (?, ?, ?, ?, ?, ?)').run('1h', T0, row.mv, BAD, 'dev-a', JSON.stringify({ ...row, res: '1h', start: T0 }));
    db.prepare('INSERT INTO cumulative (source, mv, g, data, updated_at) VALUES (?, ?, ?, ?, ?)').run('dev-a', row.mv, BAD, JSON.stringify(row), Date.now());
    db.close();
    server = await startServer(env, server.dir);

    const range = `from=${T0}&to=${T0 + 3_600_000}`;
    for (const path of [`/v1/dimensions?${range}`, `/v1/series?${range}&camera_id=cam-1`, `/v1/series?${range}&camera_id=%25E0%25A4%25A`, `/v1/totals?${range}&location=hall`, `/v1/totals?${range}`, '/v1/devices']) {
      const r = await getJson(server.url, TOKEN, path);
      expect(r.status, path).toBe(200);
    }
    const metrics = await fetch(`${server.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/camera_id="%E0%A4%A"/);
  });
});

describe('access', () => {
  it("the Authorization scheme is case-insensitive ('bearer', 'BEARER'), the token is not", async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      const res = await fetch(`${server.url}/v1/devices`, { headers: { authorization: `${scheme} ${TOKEN}` } });
      expect(res.status, scheme).toBe(200);
    }
    expect((await fetch(`${server.url}/v1/devices`, { headers: { authorization: `Bearer ${TOKEN.toUpperCase()}` } })).status).toBe(401);
  });

  it('the SQLite file is readable and writable by the server\'s user only (mode 0600), its WAL too', () => {
    expect((statSync(server.dbPath).mode & 0o777).toString(8)).toBe('600');
    expect((statSync(`${server.dbPath}-wal`).mode & 0o777).toString(8)).toBe('600');
  });
});
