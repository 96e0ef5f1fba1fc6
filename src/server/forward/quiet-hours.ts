/**
 * FLEET_QUIET_HOURS, the setting: when alert notifications are held back (forward/quiet.ts does the holding). Spans
 * as a rule's `hours` (health/schedule.ts: `from`, `to`, `days`, `cameras`, `tz`), each optionally for some
 * `sources` only (sync ids); the server's local time unless a span names its `tz`. Pure: no clock read here.
 *
 * Written as JSON — one span or a list, e.g. `[{"from":"22:00","to":"06:00","tz":"Europe/Berlin","cameras":["yard"]}]`
 * — or compactly as comma-separated `HH:MM-HH:MM` spans every day on every camera (`22:00-06:00,12:00-13:00`).
 */
import * as v from 'valibot';
import { covers, type HoursSpan, hoursIssue, hoursProblem, localClock, type WallClock } from '../../health/schedule.ts';

/** A quiet-hours span: a schedule span, optionally for some sources only. */
export interface QuietSpan extends HoursSpan {
  /** the sources (sync ids) it applies to (default every source) */
  sources?: string[];
}

const SOURCE = /^[A-Za-z0-9._:-]{1,128}$/;
const Sources = v.pipe(v.array(v.pipe(v.string(), v.regex(SOURCE, 'a source id (letters, digits, . _ : -)'))), v.minLength(1, 'at least one source id, or leave sources out for every source'), v.maxLength(256));

/** The spans of a FLEET_QUIET_HOURS value (empty: none); throws an Error naming the problem. */
export function parseQuietHours(raw: string | undefined): QuietSpan[] {
  const s = raw?.trim();
  if (!s) return [];
  if (s.startsWith('[') || s.startsWith('{')) {
    let input: unknown;
    try {
      input = JSON.parse(s);
    } catch (e) {
      throw new Error(`not valid JSON (${(e as Error).message.split('\n')[0]})`);
    }
    const list = (Array.isArray(input) ? input : [input]) as unknown[];
    if (!list.length) throw new Error('an empty list: leave the variable out for no quiet hours');
    if (list.length > 64) throw new Error('at most 64 spans');
    return list.map((span, i) => {
      const at = (...path: (string | undefined)[]) => [Array.isArray(input) ? String(i) : undefined, ...path].filter(Boolean).join('.') || 'the value';
      if (span === null || typeof span !== 'object' || Array.isArray(span)) throw new Error(`${at()}: expected a span {from, to, days?, cameras?, sources?, tz?}`);
      const { sources, ...rest } = span as Record<string, unknown>;
      const issue = hoursIssue(rest);
      if (issue) throw new Error(`${at(issue.path)}: ${issue.message}`);
      if (sources !== undefined) {
        const r = v.safeParse(Sources, sources);
        if (!r.success) throw new Error(`${at('sources', r.issues[0].path?.map((p) => String(p.key)).join('.'))}: ${r.issues[0].message}`);
      }
      return span as QuietSpan;
    });
  }
  return s.split(',').map((part) => {
    const m = /^\s*(\d\d:\d\d(?::\d\d)?)\s*-\s*(\d\d:\d\d(?::\d\d)?)\s*$/.exec(part);
    const span = m ? { from: m[1]!, to: m[2]! } : undefined;
    const problem = span ? hoursProblem(span) : 'expected HH:MM-HH:MM';
    if (problem) throw new Error(`${JSON.stringify(part.trim().slice(0, 40))}: ${problem} (spans like 22:00-06:00, comma-separated, or JSON)`);
    return span!;
  });
}

/** Whether notifications of `camera` on `source` are held back at `t` (`clock` for spans without a tz: the server's local time). */
export function quietAt(spans: readonly QuietSpan[], t: number, source: string, camera: string, clock: WallClock = localClock): boolean {
  return spans.some((s) => (!s.sources || s.sources.includes(source)) && covers(s, t, camera, clock));
}
