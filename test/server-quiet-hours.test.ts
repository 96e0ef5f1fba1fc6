/**
 * Quiet hours on the fleet server (FLEET_QUIET_HOURS: src/server/forward/quiet.ts, quiet-hours.ts) with the real
 * server process and real HTTP receivers for the webhook and for Alertmanager's API: a firing alert in quiet hours
 * is stored and shown but not delivered (nor re-posted to Alertmanager); still firing when the hours end, it is
 * delivered then; one that resolved within them never is (counted muted on /metrics); a resolve of an alert
 * notified before the hours is delivered when they end; cameras and sources outside the spans are not held; a bad
 * setting stops the server from starting. The hours are real wall-clock spans, to the second, set a few seconds
 * around the test's start (no clock is faked).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/server/config.ts';
import { FleetDb } from '../src/server/db.ts';
import { parseQuietHours, quietAt } from '../src/server/forward/quiet-hours.ts';
import { QuietHours, quietStatus } from '../src/server/forward/quiet.ts';
import type { AlertEvent } from '../src/health/types.ts';
import { parseBatch } from '../src/sync/payload.ts';
import { zoneClock } from '../src/health/schedule.ts';
import { alert, batch, getJson, parseMetrics, post, Receiver, type Server, startServer, until } from './server-helpers.ts';

const TOKEN = 'quiet-hours-test-token-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** "HH:MM:SS" of `t` in UTC. */
const hms = (t: number) => new Date(t).toISOString().slice(11, 19);

describe('FLEET_QUIET_HOURS: the setting', () => {
  it('reads JSON spans (one or a list, with sources) and the compact HH:MM-HH:MM form', () => {
    expect(parseQuietHours(undefined)).toEqual([]);
    expect(parseQuietHours(' ')).toEqual([]);
    expect(parseQuietHours('22:00-06:00, 12:00-13:00:30')).toEqual([{ from: '22:00', to: '06:00' }, { from: '12:00', to: '13:00:30' }]);
    const json = [{ from: '22:00', to: '06:00', tz: 'Europe/Berlin', cameras: ['yard'], sources: ['kiosk-1'], days: [1, 2] }];
    expect(parseQuietHours(JSON.stringify(json))).toEqual(json);
    expect(parseQuietHours('{"sources":["night-shift"]}')).toEqual([{ sources: ['night-shift'] }]);
  });

  const bad: [string, RegExp][] = [
    ['22:00-25:00', /^FLEET_QUIET_HOURS: "22:00-25:00": to: a time of day/],
    ['10pm-6am', /^FLEET_QUIET_HOURS: "10pm-6am": expected HH:MM-HH:MM/],
    ['[{"from":"22:00","to":"06:00","tz":"Nowhere/Land"}]', /^FLEET_QUIET_HOURS: 0\.tz: an IANA time zone/],
    ['[{"from":"22:00"}]', /^FLEET_QUIET_HOURS: 0: from and to come together/],
    ['[{"from":"22:00","to":"06:00","sources":["<script>"]}]', /^FLEET_QUIET_HOURS: 0\.sources\.0: a source id/],
    ['[{"from":"22:00","to":"06:00","camera":["yard"]}]', /^FLEET_QUIET_HOURS: 0\.camera: /],
    ['[]', /^FLEET_QUIET_HOURS: an empty list/],
    ['[{"from":"22:00",', /^FLEET_QUIET_HOURS: not valid JSON/],
  ];
  it.each(bad)('refuses %s with a message naming the problem', (raw, message) => {
    expect(() => loadConfig({ FLEET_TOKENS: `kiosk:${TOKEN}:*`, FLEET_DB: ':memory:', FLEET_QUIET_HOURS: raw }, () => {})).toThrow(message);
  });

  it('covers a source and camera by its spans: cameras and sources limit a span, the server clock reads spans without tz', () => {
    const spans = parseQuietHours('[{"from":"22:00","to":"06:00","cameras":["yard"]},{"sources":["night-shift"]}]');
    const night = Date.UTC(2026, 10, 23, 23), noon = Date.UTC(2026, 10, 23, 12);
    const utc = zoneClock('UTC');
    expect(quietAt(spans, night, 'kiosk-1', 'yard', utc)).toBe(true);
    expect(quietAt(spans, noon, 'kiosk-1', 'yard', utc)).toBe(false);
    expect(quietAt(spans, night, 'kiosk-1', 'hall', utc)).toBe(false);
    expect(quietAt(spans, noon, 'night-shift', 'hall', utc)).toBe(true);
    expect(quietAt(spans, noon, 'night-shift', '', utc)).toBe(true); // device-down has no camera
    expect(quietAt(spans, night, 'kiosk-1', '', utc)).toBe(false);
  });

  it('a server with a bad setting refuses to start, saying why', async () => {
    await expect(startServer({ FLEET_TOKENS: `kiosk:${TOKEN}:*`, FLEET_QUIET_HOURS: '22:00-24:30' })).rejects.toThrow(/exited \(1\)[\s\S]*fleet server: FLEET_QUIET_HOURS: "22:00-24:30": to: a time of day/);
  }, 30_000);
});

describe('quiet hours: what is held and released (in-process, time given)', () => {
  const H = 3600_000;
  const NIGHT = Date.UTC(2026, 10, 23, 23); // Monday 23:00 UTC
  let dir: string;
  let db: FleetDb;
  let seq = 0;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fleet-quiet-'));
    db = FleetDb.open(join(dir, 'fleet.sqlite'));
  });
  afterAll(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A forwarder stand-in: queueing goes through `quiet`, and what passes is recorded as sent. */
  const host = (quiet: QuietHours, sent: string[]) => {
    const h = {
      db,
      context: (source: string) => ({ source, device: source, panel: '' }),
      enqueue: (ctx: { source: string }, a: AlertEvent, now: number, latest: boolean) => {
        if (quiet.hold(h, ctx as never, a, now, latest)) return 0;
        sent.push(`${a.id}${latest ? '' : ' (not latest)'}`);
        return 1;
      },
    };
    return h;
  };
  /** Stores `a` as a page's batch would (alerts, alert_state), then queues it at `now`. */
  const change = (h: ReturnType<typeof host>, source: string, a: AlertEvent, now: number) => {
    db.ingest(parseBatch(JSON.parse(JSON.stringify(batch(source, ++seq, [], { alerts: [a], sentAt: now }, source)))), 'tok', now);
    h.enqueue({ source }, a, now, true);
  };

  it('holds a night\'s firings; one still firing at 06:00 goes then, once; a superseded or resolved one is muted', () => {
    const quiet = new QuietHours(db, parseQuietHours('[{"from":"22:00","to":"06:00","tz":"UTC"}]'));
    const sent: string[] = [];
    const h = host(quiet, sent);
    change(h, 's1', alert('drift', 'cam-1', 'firing', NIGHT, 'a1'), NIGHT);
    change(h, 's1', alert('drift', 'cam-1', 'firing', NIGHT + 60_000, 'a2'), NIGHT + 60_000); // the page fired it again
    change(h, 's1', alert('blur', 'cam-2', 'firing', NIGHT, 'b1'), NIGHT);
    change(h, 's1', alert('blur', 'cam-2', 'resolved', NIGHT + H, 'b2'), NIGHT + H);
    expect(quiet.release(h, NIGHT + 6 * H)).toBe(0); // 05:00: still quiet
    expect(sent).toEqual([]);
    expect(quietStatus(db)).toEqual({ held: 1, muted: 2, released: 0 });
    expect(quiet.release(h, NIGHT + 7 * H)).toBe(1); // 06:00
    expect(sent).toEqual(['a2']);
    expect(quiet.release(h, NIGHT + 8 * H)).toBe(0);
    expect(quietStatus(db)).toEqual({ held: 0, muted: 2, released: 1 });
    // after the night, changes go straight out
    change(h, 's1', alert('drift', 'cam-1', 'resolved', NIGHT + 9 * H, 'a3'), NIGHT + 9 * H);
    expect(sent).toEqual(['a2', 'a3']);
  });

  it('a resolve of an alert notified before the night waits for its end, then goes with a later firing after it', () => {
    const quiet = new QuietHours(db, parseQuietHours('[{"from":"22:00","to":"06:00","tz":"UTC"}]'));
    const sent: string[] = [];
    const h = host(quiet, sent);
    const evening = NIGHT - 2 * H;
    change(h, 's2', alert('glare', 'cam-1', 'firing', evening, 'g1'), evening);
    expect(sent).toEqual(['g1']);
    change(h, 's2', alert('glare', 'cam-1', 'resolved', NIGHT, 'g2'), NIGHT);
    change(h, 's2', alert('glare', 'cam-1', 'firing', NIGHT + H, 'g3'), NIGHT + H);
    expect(sent).toEqual(['g1']);
    // the first change of the alert after the night releases what it held before itself
    change(h, 's2', alert('glare', 'cam-1', 'resolved', NIGHT + 8 * H, 'g4'), NIGHT + 8 * H);
    expect(sent).toEqual(['g1', 'g2 (not latest)', 'g3', 'g4']);
  });

  it('what other quiet hours held is released by a server without them; a forgotten source\'s is muted', () => {
    const sent: string[] = [];
    const before = new QuietHours(db, parseQuietHours('{"from":"22:00","to":"06:00","tz":"UTC"}'));
    change(host(before, []), 's3', alert('drift', 'cam-1', 'firing', NIGHT, 'c1'), NIGHT);
    host(before, []).enqueue({ source: 'ghost' }, alert('drift', 'cam-1', 'firing', NIGHT, 'x1'), NIGHT, true); // a source no longer kept
    const muted = quietStatus(db).muted;
    const after = new QuietHours(db, []);
    expect(after.release(host(after, sent), NIGHT + 60_000)).toBe(1);
    expect(sent).toEqual(['c1']);
    expect(quietStatus(db)).toMatchObject({ held: 0, muted: muted + 1 });
  });
});

describe('quiet hours with the real server and receivers', () => {
  const hook = new Receiver();
  const am = new Receiver();
  let fleet: Server;
  /** when the quiet hours of cam-1, cam-2 and cam-3 end; cam-3's begin at `cam3From` */
  let quietEnd = 0;
  let cam3From = 0;

  beforeAll(async () => {
    await Promise.all([hook.listen(), am.listen()]);
    const now = Date.now();
    quietEnd = Math.ceil((now + 35_000) / 1000) * 1000;
    cam3From = Math.ceil((now + 15_000) / 1000) * 1000;
    const spans = [
      { from: hms(now - 60_000), to: hms(quietEnd), tz: 'UTC', cameras: ['cam-1', 'cam-2'] },
      { from: hms(cam3From), to: hms(quietEnd), tz: 'UTC', cameras: ['cam-3'] },
      { sources: ['night-shift'] }, // all day, every camera of that source
    ];
    fleet = await startServer({
      FLEET_TOKENS: `kiosk:${TOKEN}:*`,
      FLEET_WEBHOOK_URL: `${hook.url}/hook`,
      FLEET_ALERTMANAGER_URL: `${am.url}/am`,
      FLEET_ALERTMANAGER_REPEAT_MS: '1000',
      FLEET_FORWARD_BACKOFF_MS: '100',
      FLEET_QUIET_HOURS: JSON.stringify(spans),
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([fleet?.stop(), hook.close(), am.close()]);
  });

  const send = async (b: ReturnType<typeof batch>) => {
    const res = await post(fleet.url, TOKEN, JSON.stringify(b));
    expect(res.status, await res.clone().text()).toBe(200);
  };
  /** webhook deliveries of an event id */
  const hooked = (id: string) => hook.got.filter((d) => d.body?.id === id);
  /** Alertmanager posts (queued or re-posted) carrying (source, rule, camera) */
  const amPosts = (source: string, rule: string, camera: string, status: 'firing' | 'resolved' = 'firing') =>
    am.got.filter((d) => d.path === '/am/api/v2/alerts' && Array.isArray(d.body) && d.body.some((a: any) => a.labels.source === source && a.labels.alertname === rule && a.labels.camera_id === camera && (status === 'resolved') === Boolean(a.endsAt)));
  const metric = async (name: string) => {
    const text = await (await fetch(`${fleet.url}/metrics`)).text();
    return parseMetrics(text).samples.find((s) => s.name === name)?.value;
  };

  it('holds firing alerts in quiet hours (stored, shown, counted), forwards the rest, and delivers what still fires when the hours end', async () => {
    const t = Date.now();
    expect(cam3From - t, 'the server took too long to start for the timed spans').toBeGreaterThan(5000);
    // before cam-3's quiet hours: its alert is notified at once
    await send(batch('kiosk-q', 1, [], { alerts: [alert('glare', 'cam-3', 'firing', t - 500, 'q-e-fire')] }, 'dev-q'));
    await until(() => hooked('q-e-fire').length, 'the firing of cam-3 before its quiet hours');

    // in quiet hours: A (cam-1) keeps firing, B (cam-2) fires and resolves, C is on a camera not in them
    await send(batch('kiosk-q', 2, [], { alerts: [alert('drift', 'cam-1', 'firing', t, 'q-a-fire'), alert('blur', 'cam-2', 'firing', t, 'q-b-fire'), alert('drift', 'cam-9', 'firing', t, 'q-c-fire')] }, 'dev-q'));
    await send(batch('kiosk-q', 3, [], { alerts: [alert('blur', 'cam-2', 'resolved', t + 200, 'q-b-res')] }, 'dev-q'));
    // a source quiet all day
    await send(batch('night-shift', 1, [], { alerts: [alert('drift', 'cam-9', 'firing', t, 'q-d-fire')] }, 'dev-n'));
    await until(() => hooked('q-c-fire').length && amPosts('kiosk-q', 'drift', 'cam-9').length, 'the alert outside quiet hours, at both targets');
    await sleep(2500); // deliveries and Alertmanager's 1-s re-posts would have come by now
    expect(Date.now()).toBeLessThan(cam3From);
    for (const id of ['q-a-fire', 'q-b-fire', 'q-b-res', 'q-d-fire']) expect(hooked(id), id).toEqual([]);
    expect(amPosts('kiosk-q', 'drift', 'cam-1')).toEqual([]);
    expect(amPosts('kiosk-q', 'blur', 'cam-2')).toEqual([]);
    expect(amPosts('night-shift', 'drift', 'cam-9')).toEqual([]);
    expect(amPosts('kiosk-q', 'glare', 'cam-3').length).toBeGreaterThan(1); // notified, and re-posted as usual

    // stored and shown as always
    const { body: alerts } = await getJson(fleet.url, TOKEN, '/v1/alerts?limit=100');
    expect(alerts.rows.map((a: any) => a.id).sort()).toEqual(['q-a-fire', 'q-b-fire', 'q-b-res', 'q-c-fire', 'q-d-fire', 'q-e-fire']);
    const { body: devices } = await getJson(fleet.url, TOKEN, '/v1/devices');
    const q = devices.find((d: any) => d.id === 'kiosk-q');
    expect(q.firing.map((a: any) => a.id).sort()).toEqual(['q-a-fire', 'q-c-fire', 'q-e-fire']);
    expect(await metric('fleet_alerts_held')).toBe(2); // A and D
    expect(await metric('fleet_alerts_muted_total')).toBe(1); // B
    expect((await getJson(fleet.url, TOKEN, '/v1/forwarding')).body.quiet).toEqual({ held: 2, muted: 1, released: 0 });

    // cam-3's quiet hours begin: the resolve of its alert, notified before, waits for their end
    await until(() => Date.now() >= cam3From + 300, "cam-3's quiet hours", 30_000);
    await send(batch('kiosk-q', 4, [], { alerts: [alert('glare', 'cam-3', 'resolved', Date.now() - 100, 'q-e-res')] }, 'dev-q'));
    await sleep(1500);
    expect(hooked('q-e-res')).toEqual([]);

    // the hours end: A (still firing) and E's resolve are delivered then, B never, D (all-day quiet) not
    await until(() => hooked('q-a-fire').length && hooked('q-e-res').length, 'the held alerts after the quiet hours', 40_000);
    expect(hooked('q-a-fire')).toHaveLength(1);
    expect(hooked('q-a-fire')[0]!.at).toBeGreaterThanOrEqual(quietEnd);
    expect(hooked('q-a-fire')[0]!.body).toMatchObject({ state: 'firing', rule: 'drift', camera_id: 'cam-1', source: 'kiosk-q' });
    expect(hooked('q-e-res')[0]!.at).toBeGreaterThanOrEqual(quietEnd);
    await until(() => amPosts('kiosk-q', 'drift', 'cam-1').length, 'the held alert at Alertmanager');
    expect(amPosts('kiosk-q', 'glare', 'cam-3', 'resolved').length).toBeGreaterThan(0);
    await sleep(2000);
    for (const id of ['q-b-fire', 'q-b-res', 'q-d-fire']) expect(hooked(id), id).toEqual([]);
    expect(amPosts('kiosk-q', 'blur', 'cam-2')).toEqual([]);
    expect(amPosts('night-shift', 'drift', 'cam-9')).toEqual([]);
    expect(await metric('fleet_alerts_held')).toBe(1); // D
    expect(await metric('fleet_alerts_muted_total')).toBe(1);
    expect(await metric('fleet_alerts_released_total')).toBe(1);

    // after the hours, A's resolve goes out at once (it was notified)
    await send(batch('kiosk-q', 5, [], { alerts: [alert('drift', 'cam-1', 'resolved', Date.now() - 100, 'q-a-res')] }, 'dev-q'));
    await until(() => hooked('q-a-res').length, "A's resolve after the quiet hours");
  }, 90_000);
});
