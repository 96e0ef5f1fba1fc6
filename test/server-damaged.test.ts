/**
 * Stored data never makes a read fail: on the real server process and its SQLite file, rows damaged on disk (a
 * crash mid-write on a bad disk, a hand edit) — a minute's rollup that is not JSON, one that is JSON but not a
 * rollup, the all-time row, a source's monitor list, an annotation, a challenger's summary — are skipped by every
 * read (200, the rest of the data as it was), and the next batch that brings the damaged minute replaces it.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rollup } from '../src/telemetry/rollup.ts';
import { batch, MIN, post, rollupsFor, type Server, startServer } from './server-helpers.ts';

const TOKEN = 'damaged-token-0123456789abcdef';
const T0 = Math.floor((Date.now() - 30 * MIN) / MIN) * MIN;
const range = `from=${T0}&to=${T0 + 10 * MIN}`;

describe('damaged rows in the fleet database', () => {
  let server: Server;
  const rows = rollupsFor(T0, 5, 1, ['cam-1', 'cam-2']);
  // cam-1's second minute is damaged as text, its fourth as JSON that is not a rollup
  const notJson = rows.find((r) => r.g.includes('cam-1') && r.start === T0 + MIN)!;
  const notRollup = rows.find((r) => r.g.includes('cam-1') && r.start === T0 + 3 * MIN)!;
  const kept = rows.filter((r) => r !== notJson && r !== notRollup);
  const frames = (xs: Rollup[]) => xs.reduce((a, r) => a + r.frames, 0);
  const get = async (path: string) => {
    const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return { status: res.status, text: await res.text() };
  };
  const json = async (path: string) => {
    const r = await get(path);
    expect(r.status, `${path}: ${r.text.slice(0, 300)}`).toBe(200);
    return JSON.parse(r.text);
  };

  beforeAll(async () => {
    const first = await startServer({ FLEET_TOKENS: `fleet:${TOKEN}:*` });
    const res = await post(first.url, TOKEN, JSON.stringify(batch('kiosk-1', 1, rows)));
    expect(res.status, await res.clone().text()).toBe(200);
    // stopped, its files kept (stop() would remove them)
    const exited = new Promise((r) => first.proc.once('exit', r));
    first.proc.kill('SIGTERM');
    await exited;
    // the file damaged while the server is down; it starts again on it
    const db = new Database(first.dbPath);
    const damage = db.prepare("UPDATE rollups SET data = ? WHERE res = '1m' AND start = ? AND g = ?");
    expect(damage.run('{"frames": 12, "lat', notJson.start, notJson.g).changes).toBe(1);
    expect(damage.run('{"frames": "many", "mv": 3}', notRollup.start, notRollup.g).changes).toBe(1);
    expect(db.prepare("UPDATE cumulative SET data = 'null' WHERE g = ?").run(notJson.g).changes).toBe(1);
    expect(db.prepare("UPDATE sources SET monitors = '[{' WHERE id = 'kiosk-1'").run().changes).toBe(1);
    db.prepare("INSERT INTO annotations (source, id, t, src, data, updated_at) VALUES ('kiosk-1', 'an-bad', ?, 'mon-0', '{x', ?)").run(T0 + MIN, T0 + MIN);
    db.prepare("INSERT INTO challengers (source, src, camera, t, summary, updated_at) VALUES ('kiosk-1', 'mon-0', 'cam-1', ?, 'not json', ?)").run(T0 + MIN, T0 + MIN);
    db.close();
    server = await startServer({ FLEET_TOKENS: `fleet:${TOKEN}:*` }, first.dir);
  }, 60_000);
  afterAll(() => server?.stop());

  it('every read answers, without the damaged rows: series, totals, percentiles, dimensions, devices, annotations, challengers, /metrics', async () => {
    const series = await json(`/v1/series?${range}&camera_id=cam-1`);
    expect(series.t).toEqual(kept.filter((r) => r.g.includes('cam-1')).map((r) => r.start));
    expect((await json(`/v1/totals?${range}`)).frames).toBe(frames(kept));
    await json(`/v1/percentiles?${range}`);
    expect((await json(`/v1/dimensions?${range}`)).camera_id).toEqual(['cam-1', 'cam-2']);
    const devices = await json('/v1/devices');
    expect(JSON.stringify(devices)).toContain('kiosk-1');
    expect((await json(`/v1/annotations?${range}`)).rows ?? []).toEqual([]);
    expect((await json('/v1/challengers')).rows).toEqual([]);
    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/inference_frames_total\{[^}]*camera_id="cam-2"/);
    expect(metrics.text).not.toMatch(/inference_frames_total\{[^}]*camera_id="cam-1"/);
    expect(server.output()).not.toMatch(/SyntaxError|TypeError/);
  });

  it('the next batch that brings a damaged minute replaces it', async () => {
    const again = rollupsFor(T0, 5, 1, ['cam-1', 'cam-2']).filter((r) => r.g.includes('cam-1') && (r.start === notJson.start || r.start === notRollup.start));
    const res = await post(server.url, TOKEN, JSON.stringify(batch('kiosk-1', 2, again)));
    expect(res.status, await res.clone().text()).toBe(200);
    const series = await json(`/v1/series?${range}&camera_id=cam-1`);
    expect(series.t).toEqual(rows.filter((r) => r.g.includes('cam-1')).map((r) => r.start));
    const at = series.t.indexOf(notJson.start);
    expect(series.frames[at]).toBe(notJson.frames);
  });
});
