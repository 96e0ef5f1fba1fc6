/**
 * Schedules: when an alert rule is active (a rule's `hours`) or when the fleet server holds notifications back
 * (FLEET_QUIET_HOURS). A schedule is one span or a list of spans; it covers a moment on a camera when any span
 * does. A span is a time of day `from`–`to` (wall-clock "HH:MM" or "HH:MM:SS"; `to` earlier than `from` runs
 * past midnight, `from` equal to `to` or both left out is the whole day), optionally on some `days` only
 * (0 Sunday … 6 Saturday, the day the span starts on: Friday 22:00–06:00 covers Saturday's small hours), and
 * optionally for some `cameras` only (camera_id; on other cameras the span does not apply). Times are in the
 * span's `tz` (an IANA time zone such as "Europe/Berlin" or "UTC"), or the device's local time without one.
 *
 * Pure: every function takes the moment (epoch ms) and reads the wall clock through a `WallClock` function;
 * nothing here reads the current time.
 */
import * as v from 'valibot';

/** One span of a schedule. */
export interface HoursSpan {
  /** start, wall-clock "HH:MM" or "HH:MM:SS" (inclusive); with `to`, or neither (the whole day) */
  from?: string;
  /** end, "HH:MM" or "HH:MM:SS" (exclusive); earlier than `from`: past midnight; "24:00" is the end of the day */
  to?: string;
  /** the days the span starts on, 0 Sunday … 6 Saturday (default every day) */
  days?: number[];
  /** the camera_ids it applies to (default every camera) */
  cameras?: string[];
  /** an IANA time zone ("UTC", "Europe/Berlin"); default the device's local time */
  tz?: string;
}

/** A schedule: one span, or a list of them (any one covers). */
export type Hours = HoursSpan | HoursSpan[];

/** The wall clock at a moment: the day of the week (0 Sunday) and the second of the day (fractional). */
export type WallClock = (t: number) => { day: number; sec: number };

const DAY = 86_400;
const TIME = /^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$|^24:00(?::00)?$/;

/** "HH:MM[:SS]" → seconds of the day (24:00 → 86400), or NaN. */
export function secondsOf(s: string): number {
  const m = TIME.exec(s);
  if (!m) return NaN;
  if (!m[1]) return DAY;
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] ?? 0);
}

/** The device's local wall clock (the runtime's time zone). */
export const localClock: WallClock = (t) => {
  const d = new Date(t);
  return { day: d.getDay(), sec: d.getHours() * 3600 + d.getMinutes() * 60 + d.getSeconds() + d.getMilliseconds() / 1000 };
};

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
const zones = new Map<string, WallClock>();

/** The wall clock of an IANA time zone (cached per zone); throws a RangeError for an unknown zone. */
export function zoneClock(tz: string): WallClock {
  let c = zones.get(tz);
  if (c) return c;
  const fmt = new Intl.DateTimeFormat('en-US', { timeZone: tz, weekday: 'short', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  c = (t) => {
    const p: Record<string, string> = {};
    for (const x of fmt.formatToParts(t)) p[x.type] = x.value;
    return { day: WEEKDAYS[p.weekday!] ?? 0, sec: (Number(p.hour) % 24) * 3600 + Number(p.minute) * 60 + Number(p.second) + (((t % 1000) + 1000) % 1000) / 1000 };
  };
  if (zones.size > 64) zones.clear();
  zones.set(tz, c);
  return c;
}

/** Whether `tz` names a time zone this runtime knows. */
export function knownZone(tz: string): boolean {
  try {
    zoneClock(tz);
    return true;
  } catch {
    return false;
  }
}

/** The spans of a schedule as a list. */
export const spansOf = (h: Hours): HoursSpan[] => (Array.isArray(h) ? h : [h]);

/** Whether `span` covers the wall-clock moment `at` (its camera not considered). */
export function spanCovers(span: HoursSpan, at: { day: number; sec: number }): boolean {
  const from = span.from === undefined ? 0 : secondsOf(span.from);
  const to = span.to === undefined ? DAY : secondsOf(span.to);
  const onDay = (d: number) => !span.days || span.days.includes(d);
  if (from === to || (from === 0 && to === DAY)) return onDay(at.day);
  if (from < to) return at.sec >= from && at.sec < to && onDay(at.day);
  // past midnight: the evening part on a listed day, the morning part on the day after one
  return (at.sec >= from && onDay(at.day)) || (at.sec < to && onDay((at.day + 6) % 7));
}

/** Whether `span` applies to `camera` (no `cameras`: every camera). */
export const spanApplies = (span: HoursSpan, camera: string) => !span.cameras || span.cameras.includes(camera);

/**
 * Whether the schedule covers moment `t` on `camera`: some span applies to the camera and covers `t` on its
 * wall clock (`clock` for spans without a `tz`; default the device's local time). No schedule covers always.
 */
export function covers(hours: Hours | undefined, t: number, camera: string, clock: WallClock = localClock): boolean {
  if (!hours) return true;
  return spansOf(hours).some((s) => spanApplies(s, camera) && spanCovers(s, (s.tz ? zoneClock(s.tz) : clock)(t)));
}

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** A schedule in a few words, e.g. "22:00–06:00 Mon, Tue (Europe/Berlin) on cam-1". */
export function describeHours(hours: Hours): string {
  return spansOf(hours)
    .map((s) => {
      const parts = [s.from === undefined ? 'all day' : `${s.from}–${s.to}`];
      if (s.days) parts.push(s.days.map((d) => DAY_NAMES[d]).join(', '));
      if (s.tz) parts.push(`(${s.tz})`);
      if (s.cameras) parts.push(`on ${s.cameras.join(', ')}`);
      return parts.join(' ');
    })
    .join('; ');
}

const time = v.pipe(v.string(), v.check((s) => !Number.isNaN(secondsOf(s)), 'a time of day "HH:MM" or "HH:MM:SS" (00:00–24:00)'));
const SpanSchema = v.pipe(
  v.strictObject({
    from: v.optional(time),
    to: v.optional(time),
    days: v.optional(v.pipe(v.array(v.pipe(v.number(), v.integer(), v.minValue(0, 'days are 0 (Sunday) to 6 (Saturday)'), v.maxValue(6, 'days are 0 (Sunday) to 6 (Saturday)'))), v.minLength(1, 'at least one day, or leave days out for every day'), v.maxLength(7))),
    cameras: v.optional(v.pipe(v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(128))), v.minLength(1, 'at least one camera_id, or leave cameras out for every camera'), v.maxLength(64))),
    tz: v.optional(v.pipe(v.string(), v.maxLength(64), v.check(knownZone, 'an IANA time zone such as "UTC" or "Europe/Berlin"'))),
  }),
  v.check((s) => (s.from === undefined) === (s.to === undefined), 'from and to come together (leave both out for the whole day)'),
);

const ListSchema = v.pipe(v.array(SpanSchema), v.minLength(1, 'at least one span'), v.maxLength(32, 'at most 32 spans'));

/**
 * The first problem of a schedule (one span `{from?, to?, days?, cameras?, tz?}` or a list of 1–32): where (a path
 * such as "1.from", "" for the whole) and what, or undefined when it is valid.
 */
export function hoursIssue(input: unknown): { path: string; message: string } | undefined {
  if (input === null || typeof input !== 'object') return { path: '', message: 'expected a span {from, to, days?, cameras?, tz?} or a list of them' };
  const res = Array.isArray(input) ? v.safeParse(ListSchema, input) : v.safeParse(SpanSchema, input);
  if (res.success) return undefined;
  const issue = res.issues[0];
  return { path: issue.path?.map((p) => String(p.key)).join('.') ?? '', message: issue.message };
}

/** The first problem of a schedule as "path: message", or undefined when it is valid. */
export function hoursProblem(input: unknown): string | undefined {
  const i = hoursIssue(input);
  return i && `${i.path ? `${i.path}: ` : ''}${i.message}`;
}

/** A valid schedule, or a TypeError naming what is wrong (`what`: where it came from). */
export function parseHours(input: unknown, what = 'hours'): Hours {
  const problem = hoursProblem(input);
  if (problem) throw new TypeError(`${what}: ${problem}`);
  return input as Hours;
}
