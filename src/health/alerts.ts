/**
 * Alert state per stream and rule: inactive → pending → firing → resolved for each new value, the alert
 * events of its changes, and the rule's latest signal.
 */
import { uuidv7 } from '../lib/uuidv7.ts';
import { type AlertRule, needsBaseline, passes } from './rules.ts';
import { probableCause } from './cause.ts';
import { covers, describeHours } from './schedule.ts';
import type { AlertEvent, AlertState, Reading } from './types.ts';
import { recordedCondition, type Stream } from './windows.ts';

export type { Reading } from './types.ts';

/**
 * Moves a rule's alert through inactive → pending → firing → resolved for a new value (`clear`, when
 * given, decides resolution instead), and keeps the rule's signal. Returns true when the alert resolved.
 *
 * A rule with `hours` (schedule.ts) fires only inside them, on the cameras they name: outside, its condition is
 * still followed (inactive ⇄ pending, so a new deployment is not adopted while it holds) but never fires, and
 * a firing alert resolves at the first value after its hours end, whatever the value, its evidence saying so.
 * A condition that held since before the hours begin fires as soon as they do (once it held for `for`).
 */
export function judge(s: Stream, rule: AlertRule, reading: Reading, t: number, emit: (alert: AlertEvent) => void): boolean {
  const { value, threshold, clear: clearValue = value, classId } = reading;
  let resolved = false;
  const st = s.alerts.get(rule.id) ?? { state: 'inactive' as AlertState, since: t };
  const learning = needsBaseline(rule) && !s.baseline;
  const active = covers(rule.hours, t, s.camera);
  if (!active && st.state === 'firing') {
    const evidence = `outside the rule's hours (${describeHours(rule.hours!)})${st.evidence ? `; it fired on: ${st.evidence}` : ''}`.slice(0, 300);
    emit(alertEvent(s, rule, 'resolved', value, threshold, t, st.since, classId, st.cause ? { cause: st.cause, evidence } : undefined));
    const breach = Number.isFinite(value) && passes(value, rule.comparator, threshold);
    st.state = breach ? 'pending' : 'inactive';
    st.since = t;
    resolved = true;
  } else if (Number.isFinite(value)) {
    const breach = passes(value, rule.comparator, threshold);
    if (st.state === 'inactive' && breach) {
      st.state = 'pending';
      st.since = t;
    } else if (st.state === 'pending' && !breach) st.state = 'inactive';
    if (st.state === 'pending' && active && t - st.since >= rule.for) {
      st.state = 'firing';
      const why = probableCause(s, rule, reading, t);
      st.cause = why.cause;
      st.evidence = why.evidence;
      emit(alertEvent(s, rule, 'firing', value, threshold, t, st.since, classId, why));
      st.since = t;
    } else if (st.state === 'firing') {
      const clear = (rule.clear ?? rule.threshold) * (rule.threshold ? threshold / rule.threshold : 1);
      if (!passes(clearValue, rule.comparator, clear)) {
        emit(alertEvent(s, rule, 'resolved', value, threshold, t, st.since, classId, st.cause ? { cause: st.cause, evidence: st.evidence ?? '' } : undefined));
        st.state = 'inactive';
        resolved = true;
      }
    }
  }
  s.alerts.set(rule.id, st);
  // a camera's fault over: an alert that blamed the camera (every image rule's, a scene rule's on a bumped view) resolved
  if (resolved && st.cause === 'camera') s.cameraFault = { rule: rule.id, until: t };
  const near = Number.isFinite(value) && passes(value, rule.comparator, threshold);
  s.signals.set(rule.id, {
    rule: rule.id, name: rule.name, metric: rule.metric, aggregation: rule.aggregation, severity: rule.severity,
    value, threshold,
    status: learning ? 'learning' : !Number.isFinite(value) ? (reading.silent ? 'silent' : 'no-data') : st.state === 'firing' ? 'alert' : near || st.state === 'pending' ? 'warn' : 'ok',
    state: st.state, ...(classId !== undefined ? { classId } : {}), mv: s.mv, camera_id: s.camera, ...(s.location ? { location: s.location } : {}), t,
  });
  return resolved;
}

/** An alert state change of a stream's rule, as reported. */
export function alertEvent(s: Stream, rule: Pick<AlertRule, 'id' | 'name' | 'severity'>, state: AlertEvent['state'], value: number, threshold: number, t: number, since: number, classId?: number, why?: Pick<AlertEvent, 'cause' | 'evidence'>): AlertEvent {
  const condition = recordedCondition(s);
  return { id: uuidv7(t), rule: rule.id, name: rule.name, severity: rule.severity, state, value, threshold, ...(classId !== undefined ? { classId } : {}), mv: s.mv, camera_id: s.camera, ...(s.location ? { location: s.location } : {}), ...(condition ? { condition } : {}), t, since, ...(why?.cause ? { cause: why.cause, ...(why.evidence ? { evidence: why.evidence } : {}) } : {}) };
}

/**
 * Resolves and forgets the stream's alert state of the rules `which` picks (all by default): each alert firing
 * emits `resolved` — under its rule (`rule(id)`, else the name its last signal had), its class and its cause, the
 * evidence followed by `note` where one is given —, then its state is forgotten, and with `forget` its signal and
 * control chart too.
 */
export function resolveAlerts(
  s: Stream,
  now: number,
  emit: (alert: AlertEvent) => void,
  o: { rule: (id: string) => AlertRule | undefined; which?: (id: string, rule: AlertRule | undefined) => boolean; note?: string; forget?: { signals?: boolean; charts?: boolean } },
) {
  for (const [id, st] of s.alerts) {
    const rule = o.rule(id);
    if (o.which && !o.which(id, rule)) continue;
    if (st.state === 'firing') {
      const sig = s.signals.get(id);
      const why = o.note && st.cause ? { cause: st.cause, evidence: `${st.evidence ?? ''}; ${o.note}`.replace(/^; /, '') } : st;
      emit(alertEvent(s, rule ?? { id, name: sig?.name ?? id, severity: sig?.severity ?? 'info' }, 'resolved', sig?.value ?? NaN, sig?.threshold ?? NaN, now, st.since, sig?.classId, why));
    }
    s.alerts.delete(id);
    if (o.forget?.signals) s.signals.delete(id);
    if (o.forget?.charts) s.charts.delete(id);
  }
}

/** Forgets the alert, chart and signal of every rule not in `kept`; alerts firing resolve. */
export function forgetRules(s: Stream, kept: Set<string>, now: number, emit: (alert: AlertEvent) => void) {
  resolveAlerts(s, now, emit, { rule: () => undefined, which: (id) => !kept.has(id), forget: { signals: true, charts: true } });
}

/** Resolves the stream's firing alerts and forgets its alert state. */
export function resolveAll(s: Stream, rules: readonly AlertRule[], now: number, emit: (alert: AlertEvent) => void) {
  resolveAlerts(s, now, emit, { rule: (id) => rules.find((r) => r.id === id) });
}
