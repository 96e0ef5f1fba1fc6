/**
 * Schedules (src/health/schedule.ts) and rules limited to hours and cameras (a rule's `hours`, judged in
 * src/health/alerts.ts): spans across midnight, days, time zones and cameras; a rule is silent outside its
 * hours and a firing alert resolves when they end (saying so), while its signal is still read; bad schedules
 * are refused by parseRules with a message naming the rule and field.
 */
import { describe, expect, it } from 'vitest';
import { HealthEngine } from '../src/health/engine.ts';
import { type AlertRule, parseRules } from '../src/health/rules.ts';
import { covers, describeHours, type Hours, localClock, secondsOf, zoneClock } from '../src/health/schedule.ts';
import type { AlertEvent, HealthEvent } from '../src/health/types.ts';
import type { FrameRecord } from '../src/telemetry/record.ts';
import { healthRecords } from './helpers/health-records.ts';

const H = 3600_000;
/** Monday 23 November 2026, 00:00 UTC */
const MON = Date.UTC(2026, 10, 23);
const at = (day: number, hh: number, mm = 0, ss = 0) => MON + day * 24 * H + hh * H + mm * 60_000 + ss * 1000;
const utc = zoneClock('UTC');

describe('schedule: when a span covers a moment', () => {
  it('reads HH:MM and HH:MM:SS, and 24:00 as the end of the day', () => {
    expect(secondsOf('00:00')).toBe(0);
    expect(secondsOf('06:30')).toBe(6 * 3600 + 30 * 60);
    expect(secondsOf('23:59:59')).toBe(86_399);
    expect(secondsOf('24:00')).toBe(86_400);
    for (const bad of ['24:01', '6:00', '06:60', '12', '', 'noon']) expect(secondsOf(bad)).toBeNaN();
  });

  it('a span from 22:00 to 06:00 runs across midnight: from is inside, to is not', () => {
    const night: Hours = { from: '22:00', to: '06:00' };
    expect(covers(night, at(0, 22), 'cam-1', utc)).toBe(true);
    expect(covers(night, at(0, 23, 30), 'cam-1', utc)).toBe(true);
    expect(covers(night, at(1, 0), 'cam-1', utc)).toBe(true);
    expect(covers(night, at(1, 5, 59, 59), 'cam-1', utc)).toBe(true);
    expect(covers(night, at(1, 6), 'cam-1', utc)).toBe(false);
    expect(covers(night, at(1, 12), 'cam-1', utc)).toBe(false);
    expect(covers(night, at(1, 21, 59, 59), 'cam-1', utc)).toBe(false);
  });

  it('a daytime span, the whole day, and no schedule at all', () => {
    const day: Hours = { from: '08:00', to: '18:00' };
    expect(covers(day, at(2, 7, 59), 'c', utc)).toBe(false);
    expect(covers(day, at(2, 8), 'c', utc)).toBe(true);
    expect(covers(day, at(2, 17, 59, 59), 'c', utc)).toBe(true);
    expect(covers(day, at(2, 18), 'c', utc)).toBe(false);
    expect(covers({ from: '00:00', to: '24:00' }, at(2, 3), 'c', utc)).toBe(true);
    expect(covers({ from: '07:00', to: '07:00' }, at(2, 3), 'c', utc)).toBe(true);
    expect(covers({}, at(2, 3), 'c', utc)).toBe(true);
    expect(covers(undefined, at(2, 3), 'c', utc)).toBe(true);
  });

  it('days name the day a span starts on: Friday night runs into Saturday morning, not Friday morning', () => {
    const fridayNight: Hours = { from: '22:00', to: '06:00', days: [5] };
    // at(4, …) is Friday, at(5, …) Saturday
    expect(new Date(at(4, 0)).getUTCDay()).toBe(5);
    expect(covers(fridayNight, at(3, 23), 'c', utc)).toBe(false); // Thursday night
    expect(covers(fridayNight, at(4, 3), 'c', utc)).toBe(false); // Friday 03:00 belongs to Thursday night
    expect(covers(fridayNight, at(4, 21, 59), 'c', utc)).toBe(false);
    expect(covers(fridayNight, at(4, 22), 'c', utc)).toBe(true);
    expect(covers(fridayNight, at(5, 3), 'c', utc)).toBe(true); // Saturday 03:00
    expect(covers(fridayNight, at(5, 6), 'c', utc)).toBe(false);
    expect(covers(fridayNight, at(5, 22), 'c', utc)).toBe(false); // Saturday night
    const weekdays: Hours = { from: '08:00', to: '18:00', days: [1, 2, 3, 4, 5] };
    expect(covers(weekdays, at(0, 9), 'c', utc)).toBe(true); // Monday
    expect(covers(weekdays, at(5, 9), 'c', utc)).toBe(false); // Saturday
    expect(covers(weekdays, at(6, 9), 'c', utc)).toBe(false); // Sunday
  });

  it('cameras limit a span to those cameras; a list covers where any span does', () => {
    const hours: Hours = [{ from: '22:00', to: '06:00', cameras: ['yard'] }, { cameras: ['door'] }];
    expect(covers(hours, at(0, 23), 'yard', utc)).toBe(true);
    expect(covers(hours, at(0, 12), 'yard', utc)).toBe(false);
    expect(covers(hours, at(0, 12), 'door', utc)).toBe(true);
    expect(covers(hours, at(0, 23), 'hall', utc)).toBe(false);
    expect(describeHours(hours)).toBe('22:00–06:00 on yard; all day on door');
  });

  it("a span's tz is its wall clock; without one the clock given (default the device's local time)", () => {
    // 22:00 in Berlin is 21:00 UTC in November (CET, UTC+1)
    const berlin: Hours = { from: '22:00', to: '06:00', tz: 'Europe/Berlin' };
    expect(covers(berlin, at(0, 21, 30), 'c')).toBe(true);
    expect(covers(berlin, at(0, 20, 59), 'c')).toBe(false);
    expect(covers(berlin, at(1, 4, 59), 'c')).toBe(true);
    expect(covers(berlin, at(1, 5), 'c')).toBe(false);
    // a clock 2 h ahead of UTC, given
    const plus2 = (t: number) => utc(t + 2 * H);
    expect(covers({ from: '08:00', to: '09:00' }, at(0, 6, 30), 'c', plus2)).toBe(true);
    expect(covers({ from: '08:00', to: '09:00' }, at(0, 8, 30), 'c', plus2)).toBe(false);
    // the default is the runtime's local time, whatever TZ it runs in
    const t = at(2, 13, 17, 5);
    const d = new Date(t);
    expect(localClock(t)).toEqual({ day: d.getDay(), sec: d.getHours() * 3600 + d.getMinutes() * 60 + d.getSeconds() });
    expect(utc(t)).toEqual({ day: 3, sec: 13 * 3600 + 17 * 60 + 5 });
  });
});

/** One rule that fires on malformed output in the last minute, limited by `hours`. */
const malformedRule = (hours?: Hours): AlertRule => ({ id: 'malformed-output', name: 'Malformed model output', metric: 'malformed', aggregation: 'count', window: 60_000, comparator: '>', threshold: 0, for: 0, severity: 'critical', ...(hours ? { hours } : {}) });

/** Feeds records through an engine, ticking each second, and returns its alert events. */
function run(engine: HealthEngine, records: FrameRecord[]): AlertEvent[] {
  const events: HealthEvent[] = [];
  const off = engine.on((e) => events.push(e));
  for (const r of records) {
    engine.observe(r);
    engine.tick(r.t);
  }
  off();
  return events.flatMap((e) => (e.type === 'alert' ? [e.alert] : []));
}
/** Malformed output all along, one frame every 2 s, from `from` for `hours` hours. */
const broken = (from: number, hours: number, camera = 'cam-1') => healthRecords(from, hours * 3600, { malformed: true }, { fps: 0.5, camera, seed: 3 });
const hhmm = (t: number) => new Date(t).toISOString().slice(11, 19);

describe('rules limited to hours', () => {
  it('without hours the rule fires at once and stays firing (the control case)', () => {
    const alerts = run(new HealthEngine({ rules: parseRules([malformedRule()]) }), broken(at(0, 6), 14));
    expect(alerts.map((a) => a.state)).toEqual(['firing']);
    expect(alerts[0]!.t - at(0, 6)).toBeLessThanOrEqual(20_000);
  });

  it('fires only inside its hours (08:00–18:00): silent before, fires at 08:00, resolves at 18:00 saying why, silent after', () => {
    const engine = new HealthEngine({ rules: parseRules([malformedRule({ from: '08:00', to: '18:00', tz: 'UTC' })]) });
    const before = run(engine, broken(at(0, 6), 2));
    expect(before).toEqual([]);
    // outside its hours the condition is still read: the signal shows the value past the threshold, not firing
    const sig = engine.signals().find((s) => s.rule === 'malformed-output')!;
    expect(sig.value).toBeGreaterThan(0);
    expect(sig.status).toBe('warn');
    expect(sig.state).toBe('pending');

    const rest = run(engine, broken(at(0, 8), 12));
    expect(rest.map((a) => `${a.state} ${hhmm(a.t)}`)).toEqual(['firing 08:00:00', 'resolved 18:00:00']);
    const [fire, resolve] = rest as [AlertEvent, AlertEvent];
    // the condition held since before the hours: it fires as they begin, dated from when it started
    expect(fire.since).toBeLessThan(at(0, 8));
    expect(resolve.since).toBe(fire.t);
    expect(resolve.cause).toBe(fire.cause);
    expect(resolve.evidence).toMatch(/^outside the rule's hours \(08:00–18:00 \(UTC\)\)/);
    expect(engine.signals().find((s) => s.rule === 'malformed-output')!.state).not.toBe('firing');
  });

  it('a span across midnight (22:00–06:00): fires at 22:00 and resolves at 06:00, once each', () => {
    const engine = new HealthEngine({ rules: parseRules([malformedRule({ from: '22:00', to: '06:00', tz: 'UTC' })]) });
    const alerts = run(engine, broken(at(0, 20), 12));
    expect(alerts.map((a) => `${a.state} ${new Date(a.t).toISOString().slice(0, 19)}`)).toEqual(['firing 2026-11-23T22:00:00', 'resolved 2026-11-24T06:00:00']);
  });

  it('a firing alert resolves when its hours end even if the frames stopped before (the engine\'s tick judges it)', () => {
    const engine = new HealthEngine({ rules: parseRules([malformedRule({ from: '08:00', to: '18:00', tz: 'UTC' })]) });
    const events: HealthEvent[] = [];
    engine.on((e) => events.push(e));
    for (const r of broken(at(0, 8), 1)) {
      engine.observe(r);
      engine.tick(r.t);
    }
    // no frames after 09:00: the camera's window rules get no more windows; time passes to 18:00:05
    for (let t = at(0, 9); t <= at(0, 18, 0, 5); t += 1000) engine.tick(t);
    const alerts = events.flatMap((e) => (e.type === 'alert' && e.alert.rule === 'malformed-output' ? [e.alert] : []));
    expect(alerts.map((a) => a.state)).toEqual(['firing', 'resolved']);
    expect(alerts[0]!.t - at(0, 8)).toBeLessThanOrEqual(10_000);
    expect(hhmm(alerts[1]!.t)).toBe('18:00:00');
    expect(alerts[1]!.evidence).toMatch(/^outside the rule's hours/);
  });

  it('a firing alert whose condition ends inside its hours resolves as usual (no hours reason)', () => {
    const engine = new HealthEngine({ rules: parseRules([malformedRule({ from: '08:00', to: '18:00', tz: 'UTC' })]) });
    const alerts = run(engine, [...broken(at(0, 9), 1), ...healthRecords(at(0, 10), 600, {}, { fps: 0.5, seed: 4 })]);
    expect(alerts.map((a) => a.state)).toEqual(['firing', 'resolved']);
    expect(alerts[1]!.t).toBeGreaterThan(at(0, 10));
    expect(alerts[1]!.t).toBeLessThan(at(0, 10) + 2 * 60_000);
    expect(alerts[1]!.evidence ?? '').not.toMatch(/hours/);
  });

  it('days: a rule for weekdays stays silent through Saturday and fires on Monday', () => {
    const engine = new HealthEngine({ rules: parseRules([malformedRule({ days: [1, 2, 3, 4, 5], tz: 'UTC' })]) });
    // Saturday 10:00 to Sunday 10:00, then Monday from 00:00
    expect(run(engine, broken(at(5, 10), 24))).toEqual([]);
    const monday = run(engine, broken(at(7, 0), 1));
    // (the first window after the night's gap closes a few seconds in)
    expect(monday.map((a) => a.state)).toEqual(['firing']);
    expect(monday[0]!.t - at(7, 0)).toBeGreaterThanOrEqual(0);
    expect(monday[0]!.t - at(7, 0)).toBeLessThan(20_000);
  });

  it('cameras: a rule for one camera fires on it alone, and its signal is read on every camera', () => {
    const engine = new HealthEngine({ rules: parseRules([malformedRule({ cameras: ['yard'] })]) });
    const records = [...broken(at(0, 9), 0.5, 'yard'), ...broken(at(0, 9), 0.5, 'hall')].sort((a, b) => a.t - b.t);
    const alerts = run(engine, records);
    expect(alerts.map((a) => `${a.state} ${a.camera_id}`)).toEqual(['firing yard']);
    const hall = engine.signals().find((s) => s.camera_id === 'hall' && s.rule === 'malformed-output')!;
    expect(hall.value).toBeGreaterThan(0);
    expect(hall.state).not.toBe('firing');
  });

  it('a rule limited to cameras with hours: the other cameras never alert, the named one in its hours only', () => {
    const engine = new HealthEngine({ rules: parseRules([malformedRule([{ from: '22:00', to: '06:00', tz: 'UTC', cameras: ['yard'] }])]) });
    const records = [...broken(at(0, 21), 2, 'yard'), ...broken(at(0, 21), 2, 'hall')].sort((a, b) => a.t - b.t);
    const alerts = run(engine, records);
    expect(alerts.map((a) => `${a.state} ${a.camera_id} ${hhmm(a.t)}`)).toEqual(['firing yard 22:00:00']);
  });
});

describe('rules limited to hours: validation', () => {
  const bad: [unknown, RegExp][] = [
    [{ from: '25:00', to: '06:00' }, /rule 0 \(malformed-output\): hours: from: a time of day "HH:MM"/],
    [{ from: '22:00' }, /hours: from and to come together/],
    [{ from: '22:00', to: '06:00', days: [7] }, /hours: days\.0: days are 0 \(Sunday\) to 6 \(Saturday\)/],
    [{ from: '22:00', to: '06:00', days: [] }, /hours: days: at least one day, or leave/],
    [{ cameras: [] }, /hours: cameras: at least one camera_id, or leave/],
    [{ from: '22:00', to: '06:00', tz: 'Mars/Olympus_Mons' }, /hours: tz: an IANA time zone/],
    [{ form: '22:00', to: '06:00' }, /hours: form: /],
    [[], /hours: at least one span/],
    [[{ from: '08:00', to: '09:00' }, { from: '8am', to: '09:00' }], /hours: 1\.from: a time of day/],
    ['22:00-06:00', /hours: expected a span/],
  ];
  it.each(bad)('refuses %j', (hours, message) => {
    expect(() => parseRules([{ ...malformedRule(), hours }])).toThrow(message);
    expect(() => parseRules([{ ...malformedRule(), hours }])).toThrow(TypeError);
  });

  it('takes good schedules as they are', () => {
    const hours = [{ from: '22:00', to: '06:00', days: [5, 6], cameras: ['yard'], tz: 'Europe/Berlin' }, { from: '12:00:30', to: '24:00' }];
    expect(parseRules([{ ...malformedRule(), hours }])[0]!.hours).toEqual(hours);
  });
});
