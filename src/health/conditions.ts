/**
 * A camera's conditions: the recurring states of its picture that are not faults — its colour day picture, its
 * grey infrared night picture — each with a baseline of its own, so that a camera switching to its night mode
 * every evening is compared with its own night, not alarmed against its day.
 *
 * A window's condition is read from its picture: its mode (colour, or mono when the saturation collapses, as a
 * camera's IR night mode does: capture/image-stats.ts), then among the camera's known conditions of that mode the
 * nearest in brightness. A change of mode held for `SWITCH_WINDOWS` windows is a switch: to the known condition
 * of that mode (an event, not an alert), or to a new one, learnt as a baseline is (`learning`), with the rules
 * that need a baseline waiting meanwhile. It is a switch only where the view is still the same one (its scene
 * signature matches) and as sharp for its contrast as before: a covered lens, a defocused or bumped camera is a
 * fault in any condition, and its window is judged by the rules as it is. A change that keeps the mode (a lamp
 * failing: darker, still colour) is judged by the rules as before.
 *
 * Pure logic over the engine's streams (windows.ts): the engine calls `recognise` as each window closes.
 */
import { type ImageStats, pictureMode, sceneDistance } from '../capture/image-stats.ts';
import { meanOf } from '../telemetry/rollup.ts';
import { needsBaseline, type AlertRule } from './rules.ts';
import { resolveAlerts } from './alerts.ts';
import { DEFAULT_SIGMA_FLOOR } from './evaluate.ts';
import { meanStd } from './stats.ts';
import type { AlertEvent, Baseline, ConditionEvent, ConditionState, Mode } from './types.ts';

export type { ConditionState, Mode };
import { meanThumb, mergeWins, type Stream, type Win } from './windows.ts';

/** consecutive windows of the other mode before a switch (10 s at the 5-s windows): a passing headlight is not a night */
export const SWITCH_WINDOWS = 2;
/** a view whose scene signature is further than this from the condition's is another view (a bumped camera: ~0.18; the same view in IR: ~0.02) */
export const SAME_VIEW = 0.1;
/** a picture whose sharpness for its contrast (Laplacian variance ÷ contrast²) fell under this share of the condition's is out of focus or covered (defocus: ~0.1–0.25; IR with its noise: ~1.1) */
export const SHARP_SHARE = 0.5;


/** What a condition is recognised by: its picture's statistics (means, as capture/image-stats.ts measures them) and mean scene signature. */
export type PictureSig = Omit<ImageStats, 'thumb'> & { thumb: number[] | null };

export const emptyConditions = (): ConditionState => ({ known: new Map() });

/** A display name: "day colour" / "night IR" for a camera's first of each mode, numbered after. */
export function conditionName(id: string): string {
  const [mode, n] = id.split('-');
  const base = mode === 'mono' ? 'night IR' : mode === 'colour' ? 'day colour' : mode ?? id;
  return n ? `${base} ${n}` : base;
}

/** The mode a condition id names. */
export const modeOfId = (id: string): Mode => (id.startsWith('mono') ? 'mono' : 'colour');

/** A window's picture statistics (NaN where its frames carried none: a recorder's, a failed run's). */
export function windowSig(w: Win): PictureSig {
  return { brightness: meanOf(w.r.img.br), contrast: meanOf(w.r.img.co), saturation: meanOf(w.r.img.sa), sharpness: meanOf(w.r.img.sh), thumb: meanThumb(w) };
}

const median = (xs: number[] | undefined) => {
  const v = (xs ?? []).filter(Number.isFinite).sort((a, b) => a - b);
  return v.length ? v[Math.floor(v.length / 2)]! : NaN;
};

/** A baseline's picture statistics: the medians of its windows. */
export function baselineSig(b: Baseline): PictureSig {
  const w = b.windows;
  return { brightness: median(w.brightness), contrast: median(w.contrast), saturation: median(w.saturation), sharpness: median(w.sharpness), thumb: b.thumb };
}

/** The condition a baseline was learnt in: its own, or for one stored before conditions, its picture's mode. */
export function conditionOf(b: Baseline): string {
  if (b.condition) return b.condition;
  const sa = baselineSig(b).saturation;
  return Number.isFinite(sa) ? pictureMode(sa) : 'colour';
}

/**
 * Why a picture is not the condition `ref`'s view in another light, but a fault — another view (bumped,
 * blocked) or a picture that lost its sharpness for its contrast (defocused, covered, fogged) — or undefined.
 */
export function faultLike(now: PictureSig, ref: PictureSig): string | undefined {
  if (now.thumb && ref.thumb) {
    const d = sceneDistance(now.thumb, ref.thumb);
    if (!(d <= SAME_VIEW)) return `the view changed (scene distance ${d.toFixed(2)})`;
  }
  const share = now.sharpness / now.contrast ** 2 / (ref.sharpness / ref.contrast ** 2);
  if (Number.isFinite(share) && share < SHARP_SHARE) return `the picture lost its sharpness (${(share * 100).toFixed(0)} % of the condition's for its contrast)`;
  if (!(now.contrast > 2)) return 'the picture is flat';
  return undefined;
}

/**
 * How far a picture lies along the way from condition `a`'s picture to `b`'s, where it lies on that way, and NaN
 * where it does not. The way is read from the colour (0 with `a`'s saturation, 1 with `b`'s): dusk and dawn fade it
 * in and out, as a lamp dimming or a lens fogging does not; the brightness only has to lie between the two
 * conditions' (within `PATH_WIDTH` of the way past either end). A picture as colourful as `a` or more is not on it.
 */
export function along(sig: PictureSig, a: PictureSig, b: PictureSig): number {
  const db = Math.log(b.brightness / a.brightness), ds = b.saturation - a.saturation;
  const v = ds ? (sig.saturation - a.saturation) / ds : NaN;
  const x = Math.log(sig.brightness / a.brightness);
  // conditions as bright as each other: the brightness has to stay within 5 % of theirs
  const u = Math.abs(db) < 0.02 ? (Math.abs(x) <= 0.05 ? 0 : NaN) : x / db;
  return v <= 1 + PATH_WIDTH && u >= -PATH_WIDTH && u <= 1 + PATH_WIDTH ? v : NaN;
}

/** how far (in shares of the way between two conditions) a picture may stray from the way and still be on it */
export const PATH_WIDTH = 0.35;

/** The known condition of `mode` nearest to `sig` in brightness, if any. */
export function nearestKnown(c: ConditionState, mode: Mode, sig: PictureSig): Baseline | undefined {
  let best: Baseline | undefined, bd = Infinity;
  for (const [id, b] of c.known) {
    if (modeOfId(id) !== mode) continue;
    const d = Math.abs(Math.log((sig.brightness + 1) / (baselineSig(b).brightness + 1))); // +1: a black picture is still nearest the darkest
    if (!(d >= bd)) (best = b), (bd = d);
  }
  return best;
}

/** A new id for a condition of `mode` (the mode itself, then numbered). */
function newId(c: ConditionState, mode: Mode): string {
  if (!c.known.has(mode)) return mode;
  for (let n = 2; ; n++) if (!c.known.has(`${mode}-${n}`)) return `${mode}-${n}`;
}

/** What the engine does with the stream's condition machinery (engine.ts). */
export interface ConditionHost {
  /** the rules in force */
  rules(): readonly AlertRule[];
  emit(e: ConditionEvent): void;
  alert(a: AlertEvent): void;
  /** the stream's baseline capture starts afresh from `t` */
  restart(s: Stream, t: number): void;
}

/** A condition event of the stream. */
function event(s: Stream, state: ConditionEvent['state'], to: string, t: number, from?: string, why?: string): ConditionEvent {
  return { type: 'condition', state, mv: s.mv, camera: s.camera, ...(s.location ? { location: s.location } : {}), to, name: conditionName(to), ...(from ? { from, fromName: conditionName(from) } : {}), t, ...(why ? { why } : {}) };
}

/** The alerts of the rules that compare with a baseline resolve: the baseline they compared with is no longer in force. */
function resolveBaselineRules(s: Stream, h: ConditionHost, t: number) {
  const rules = h.rules();
  resolveAlerts(s, t, (a) => h.alert(a), { rule: (id) => rules.find((r) => r.id === id), which: (_, rule) => !!rule && needsBaseline(rule), note: 'the camera switched condition', forget: { signals: true } });
  s.charts.clear();
}

/**
 * Reads the condition of a window as it closes, and switches the stream's baseline where the camera changed
 * condition. Returns whether the rules that compare with a baseline wait this window out (a switch pending or
 * just made: the window is the new condition's, not a change from the old one's).
 */
export function recognise(s: Stream, w: Win, end: number, h: ConditionHost): boolean {
  const c = s.conditions;
  const sig = windowSig(w);
  if (!Number.isFinite(sig.saturation) || !Number.isFinite(sig.brightness)) return false; // no image statistics: nothing to read
  const mode = pictureMode(sig.saturation);
  if (c.refused && (!c.current || mode === modeOfId(c.current))) c.refused = undefined;
  if (c.refused === mode) {
    c.pending = undefined;
    return false;
  }
  if (c.learning) {
    // a fault while it is learnt (covered, defocused, bumped: against the condition it came from), whatever its
    // mode, is not learnt: its learning starts again after it
    if (c.learning.from && faultLike(sig, baselineSig(c.learning.from))) {
      c.pending = undefined;
      h.restart(s, end);
      return true;
    }
    if (modeOfId(c.learning.id) === mode) return false; // the new condition goes on being learnt
    // the mode changed again before it was learnt: back to the condition it came from (or to another known one)
  } else if (!s.baseline || !c.current) {
    c.pending = undefined;
    return false;
  } else if (modeOfId(c.current) === mode) {
    c.pending = undefined;
    return (c.transition = transition(s, sig)) !== undefined;
  }
  c.transition = undefined;
  const target = nearestKnown(c, mode, sig);
  const ref = target ?? s.baseline ?? c.learning?.from;
  const fault = ref ? faultLike(sig, baselineSig(ref)) : undefined;
  if (fault && !c.learning) {
    c.pending = undefined;
    return false; // judged by the rules against the condition in force
  }
  c.pending = c.pending?.mode === mode ? { mode, n: c.pending.n + 1 } : { mode, n: 1 };
  if (c.pending.n < SWITCH_WINDOWS) return true;
  c.pending = undefined;
  const from = c.learning?.id ?? c.current;
  resolveBaselineRules(s, h, end);
  // the rules' windows start afresh: a window reaching back into the other condition would compare its frames with this one's baseline
  s.from = end;
  for (const x of s.trackers.values()) x.tracker.reset();
  if (c.learning) {
    h.emit(event(s, 'abandoned', c.learning.id, end, undefined, `the picture went back to ${mode} before ${conditionName(c.learning.id)} was learnt`));
    c.learning = undefined;
  }
  if (target) {
    s.baseline = target;
    s.capture = [];
    c.current = conditionOf(target);
    c.since = end;
    // learnt on another deployment than the one running now: compared with it while the new one learns its own (as engine.ts deploy)
    if (s.deployment && target.deployment && target.deployment !== s.deployment) {
      s.comparing = { mv: target.mv, deployment: target.deployment, since: end };
      h.restart(s, end);
    } else s.comparing = undefined;
    h.emit(event(s, 'switched', c.current, end, from));
  } else {
    const id = newId(c, mode);
    c.learning = { id, since: end, ...(s.baseline ? { from: s.baseline } : {}) };
    s.baseline = undefined;
    s.comparing = undefined;
    h.restart(s, end);
    h.emit(event(s, 'learning', id, end, from));
  }
  return true;
}

/**
 * On the way from the condition in force to a known one of the other mode (dusk, dawn: the light and the colour
 * fading together, as far as `along` reads it), and not a fault: where to, and how far. The rules that compare with a
 * baseline wait such windows out: the picture is between two conditions it knows.
 */
function transition(s: Stream, sig: PictureSig): ConditionState['transition'] {
  const c = s.conditions;
  const other = nearestKnown(c, modeOfId(c.current!) === 'mono' ? 'colour' : 'mono', sig);
  if (!other || !s.baseline) return undefined;
  const a = baselineSig(s.baseline), b = baselineSig(other);
  const t = along(sig, a, b);
  if (!(t >= minWay(s.baseline, a, b) && t <= 1 + PATH_WIDTH) || faultLike(sig, a)) return undefined;
  return { toward: conditionOf(other), way: Math.round(t * 100) / 100 };
}

/**
 * How far toward another condition a picture must be to be on its way there: its colour faded past the condition's
 * own wander — `WANDER_SIGMAS` times the spread of its baseline's window saturations (at least `SATURATION_WANDER`) —,
 * as a share of the way, between `MIN_WAY` and `MAX_MIN_WAY`. A picture nearer than that is the condition's own; the
 * rules judge it. The sooner a dusk is seen, the less of it the lighting rules sum: its light falls from its start.
 */
export function minWay(base: Baseline, a: PictureSig, b: PictureSig): number {
  const sd = meanStd(base.windows?.saturation ?? []).std;
  const share = (WANDER_SIGMAS * Math.max(Number.isFinite(sd) ? sd : 0, SATURATION_WANDER)) / Math.abs(b.saturation - a.saturation);
  return Number.isFinite(share) ? Math.min(MAX_MIN_WAY, Math.max(MIN_WAY, share)) : MAX_MIN_WAY;
}

/** the least share of the way a picture is on its way at, whatever its condition's wander */
export const MIN_WAY = 0.05;
/** the most: a condition whose colour wanders over more than this share of the way is not left for another before it */
export const MAX_MIN_WAY = 0.2;
/** how many of its own wander's σ a picture's colour must fade to be on its way */
export const WANDER_SIGMAS = 3;
/** the least wander of a window's mean saturation: the saturation chart's σ floor */
const SATURATION_WANDER = DEFAULT_SIGMA_FLOOR.saturation;

/** A baseline just learnt (or marked) for the stream: the condition it belongs to, now known. */
export function learnt(s: Stream, b: Baseline, h: Pick<ConditionHost, 'emit'>): string {
  const c = s.conditions;
  const own = b.condition ?? conditionOf(b);
  const id = c.learning?.id ?? (c.current && modeOfId(c.current) === modeOfId(own) ? c.current : own);
  const wasLearning = c.learning?.id === id;
  b.condition = id;
  c.known.set(id, b);
  c.learning = undefined;
  c.pending = undefined;
  if (c.current !== id) c.since = b.to;
  c.current = id;
  if (wasLearning) h.emit(event(s, 'learnt', id, b.createdAt));
  return id;
}

/**
 * A person marks the condition being learnt a fault: the stream goes back to the condition it came from, and
 * the rules judge the picture against it (they fire) until the picture is back in that condition's mode.
 * Returns whether there was one being learnt.
 */
export function refuse(s: Stream, t: number, h: Pick<ConditionHost, 'emit' | 'restart'>): boolean {
  const c = s.conditions;
  const l = c.learning;
  if (!l?.from) return false;
  c.learning = undefined;
  c.pending = undefined;
  c.refused = modeOfId(l.id);
  s.baseline = l.from;
  s.capture = [];
  h.restart(s, t);
  h.emit(event(s, 'abandoned', l.id, t, undefined, 'marked a fault: judged against the condition before it'));
  return true;
}

/**
 * A condition accepted by a person before its baseline was full is judged at once against what had been seen; its
 * baseline goes on taking the condition's windows (the engine learns it again from all of them once they span a
 * baseline, and the charts restart against it). Whether window `w` is one of them: not while a switch is pending or
 * the picture is on its way to another condition (`held`). It ends — what was accepted stays — when the camera
 * leaves the condition, a picture, scene or model alert fires (`alarmed`), or the window looks like a fault against
 * what was accepted (as a fault is kept out of a condition being learnt).
 */
export function completes(s: Stream, w: Win, held: boolean, alarmed: boolean): boolean {
  const last = s.capture.at(-1), sig = windowSig(w);
  const fault = s.baseline && Number.isFinite(sig.brightness) && faultLike(sig, baselineSig(s.baseline));
  if (!s.baseline || !last || alarmed || fault || s.conditions.current !== s.completing || s.conditions.learning) {
    s.completing = undefined;
    s.capture = [];
    return false;
  }
  if (held || !w.r.frames) return false;
  // the window cut short by the click goes on in a second one from the same start: the two are one window's frames
  if (w.start === last.start) {
    s.capture[s.capture.length - 1] = mergeWins([last, w], last.start);
    return false;
  }
  return w.start > last.start;
}
