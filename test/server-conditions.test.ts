/**
 * The camera condition as a dimension of the fleet (#29), on the real server process and its SQLite: rollups of one
 * camera under two conditions (the hub's `condition` tag) are read back filtered by `condition` on /v1/series,
 * /v1/totals and /v1/percentiles, listed by /v1/dimensions, labelled on /metrics; alerts are read back by the condition
 * they were judged in on /v1/alerts; a bad `condition` is a clear 400.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { percentilesOf, totalsOf } from '../src/store/queries.ts';
import { emptyRollup, mergeRollup, type Rollup } from '../src/telemetry/rollup.ts';
import { alert, batch, MIN, MV, parseMetrics, post, rollupsFor, type Server, startServer } from './server-helpers.ts';

const TOKEN = 'conditions-token-0123456789abcdef';
const T0 = Math.floor((Date.now() - 30 * MIN) / MIN) * MIN;

describe('the fleet server filters by camera condition', () => {
  let server: Server;
  // cam-1: 3 minutes in day colour, then 2 in night IR; cam-2 recorded with no condition
  const day = rollupsFor(T0, 3, 1, ['cam-1'], { condition: 'colour' });
  const night = rollupsFor(T0 + 3 * MIN, 2, 2, ['cam-1'], { condition: 'mono' });
  const none = rollupsFor(T0, 5, 3, ['cam-2']);
  const sum = (rows: Rollup[]) => rows.reduce((m, r) => mergeRollup(m, r), emptyRollup('1m', T0, MV, '*'));
  const range = `from=${T0}&to=${T0 + 10 * MIN}`;
  const get = async (path: string) => {
    const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    server = await startServer({ FLEET_TOKENS: `fleet:${TOKEN}:*` });
    // alerts judged by day, at night, and one from a page that knew no condition
    const alerts = [
      { ...alert('brightness-cusum', 'cam-1', 'firing', T0 + MIN, 'al-day'), condition: 'colour' },
      { ...alert('sharpness-cusum', 'cam-1', 'firing', T0 + 4 * MIN, 'al-night'), condition: 'mono' },
      alert('success-rate', 'cam-2', 'firing', T0 + 2 * MIN, 'al-none'),
    ];
    const res = await post(server.url, TOKEN, JSON.stringify(batch('kiosk-1', 1, [...day, ...night, ...none], { alerts })));
    expect(res.status, await res.clone().text()).toBe(200);
  }, 60_000);
  afterAll(() => server?.stop());

  it('/v1/dimensions lists the conditions', async () => {
    const d = await get(`/v1/dimensions?${range}`);
    expect(d.status).toBe(200);
    expect(d.body.condition).toEqual(['colour', 'mono']);
    expect(d.body.camera_id).toEqual(['cam-1', 'cam-2']);
  });

  it('/v1/totals, /v1/series and /v1/percentiles read one condition (with the other filters too)', async () => {
    for (const [condition, rows] of [['colour', day], ['mono', night]] as const) {
      const t = await get(`/v1/totals?${range}&condition=${condition}`);
      expect(t.status).toBe(200);
      const want = totalsOf(sum(rows));
      expect(t.body.frames).toBe(want.frames);
      expect(t.body.errors).toEqual(want.errors);
      expect(t.body.malformed).toBe(want.malformed);
      const s = await get(`/v1/series?${range}&condition=${condition}&camera_id=cam-1`);
      expect(s.status).toBe(200);
      expect(s.body.t).toEqual(rows.map((r) => r.start));
      expect(s.body.frames).toEqual(rows.map((r) => r.frames));
      const p = await get(`/v1/percentiles?${range}&condition=${condition}&what=inference`);
      expect(p.status).toBe(200);
      expect(p.body.n).toBe(percentilesOf(sum(rows), 'inference').n);
      expect(p.body.n).toBeGreaterThan(0);
    }
    // no filter: every condition and the camera without one
    expect((await get(`/v1/totals?${range}`)).body.frames).toBe(sum([...day, ...night, ...none]).frames);
    // a condition no frame was recorded under, or one camera without it: nothing
    expect((await get(`/v1/totals?${range}&condition=colour-2`)).body.frames).toBe(0);
    expect((await get(`/v1/totals?${range}&condition=mono&camera_id=cam-2`)).body.frames).toBe(0);
    expect((await get(`/v1/series?${range}&condition=mono`)).body.t).toEqual(night.map((r) => r.start));
  });

  it("/v1/devices gives each camera's condition in its latest minute (none for a camera recorded without one)", async () => {
    const d = await get('/v1/devices');
    expect(d.status).toBe(200);
    expect(d.body.find((x: { id: string }) => x.id === 'kiosk-1').vitals.conditions).toEqual({ 'cam-1': 'mono' });
  });

  it('refuses a bad condition with a 400 naming it', async () => {
    const long = await get(`/v1/totals?${range}&condition=${'x'.repeat(201)}`);
    expect(long.status).toBe(400);
    expect(long.body.error).toMatch(/^condition: expected a condition id .*at most 200 characters/);
    const twice = await get(`/v1/series?${range}&condition=mono&condition=colour`);
    expect(twice.status).toBe(400);
    expect(twice.body.error).toBe('condition: given more than once');
    // an alert from a device whose condition is not one: the batch refused, naming it
    const bad = await post(server.url, TOKEN, JSON.stringify(batch('kiosk-1', 2, [], { alerts: [{ ...alert('x', 'cam-1', 'firing', T0, 'al-x'), condition: '<b>night</b>' }] })));
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/condition.*a condition: colour, mono/);
    const alerts = await get(`/v1/alerts?${range}&condition=${'x'.repeat(201)}`);
    expect(alerts.status).toBe(400);
    expect(alerts.body.error).toMatch(/^condition: expected a condition id/);
  });

  it('/v1/alerts reads the alerts judged in one condition (the history page and the fleet panel filter by it)', async () => {
    const ids = async (q: string) => ((await get(`/v1/alerts?${range}${q}`)).body.rows as { id: string; condition?: string }[]).map((a) => `${a.id} ${a.condition ?? '-'}`);
    expect(await ids('&condition=mono')).toEqual(['al-night mono']);
    expect(await ids('&condition=colour&camera_id=cam-1')).toEqual(['al-day colour']);
    expect(await ids('&condition=colour-2')).toEqual([]);
    expect(await ids('')).toEqual(['al-night mono', 'al-none -', 'al-day colour']);
  });

  it('a stored alert whose data is not JSON is skipped by the condition filter, not a failed read', async () => {
    const db = new Database(server.dbPath);
    db.prepare(`INSERT INTO alerts (source, id, t, camera_id, rule, data) VALUES ('kiosk-1', 'al-bad', ?, 'cam-1', 'x', '{not json')`).run(T0 + 5 * MIN);
    db.close();
    const r = await get(`/v1/alerts?${range}&condition=mono`);
    expect(r.status).toBe(200);
    expect(r.body.rows.map((a: { id: string }) => a.id)).toEqual(['al-night']);
    expect((await get(`/v1/alerts?${range}`)).status).toBe(200);
  });

  it('/metrics labels the series by condition', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const frames = parseMetrics(text).samples.filter((s) => s.name === 'inference_frames_total' && s.labels.camera_id === 'cam-1');
    expect(frames.map((s) => [s.labels.condition, s.value]).sort()).toEqual([['colour', sum(day).frames], ['mono', sum(night).frames]]);
    expect(parseMetrics(text).samples.find((s) => s.name === 'inference_frames_total' && s.labels.camera_id === 'cam-2')?.labels.condition).toBe('');
  });
});
