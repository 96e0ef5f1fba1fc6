/**
 * A probable cause for an alert — camera, scene, model or runtime — from which of the stream's signals moved
 * together when it fired, with the evidence in one line. Pure: reads a stream's latest signals, baseline
 * thumbnail and deployment state.
 */
import { sceneDistance, THUMB } from '../capture/image-stats.ts';
import type { AlertRule, Metric } from './rules.ts';
import type { Cause, ChartMetric, Reading, Signal } from './types.ts';
import { chartValue, meanThumb, mergeWins, span, type Stream } from './windows.ts';

/** Which part a metric watches. */
export function partOf(metric: Metric): Cause {
  switch (metric) {
    case 'brightness': case 'contrast': case 'saturation': case 'sharpness': case 'changed': case 'frames':
      return 'camera';
    case 'scene': case 'classes':
      return 'scene';
    case 'detections': case 'class-detections': case 'confidence': case 'class-confidence': case 'malformed': case 'agreement': case 'flicker':
      return 'model';
    default:
      return 'runtime'; // latency, success, errors, fps, dropped, heap, long tasks
  }
}

const fmt = (x: number) => (!Number.isFinite(x) ? '–' : Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));

/** "rule value past threshold", or "rule: no detections" for a silent signal. */
const said = (x: Pick<Signal, 'rule' | 'value' | 'threshold' | 'status'>) => (x.status === 'silent' ? `${x.rule}: no detections` : `${x.rule} ${fmt(x.value)} (threshold ${fmt(x.threshold)})`);

/**
 * Where the view moved by a few thumbnail pixels (the camera bumped) rather than changed (a different scene):
 * the shift (in thumbnail pixels, 1/16 of the frame) whose overlap matches the baseline best, when it explains
 * at least half the distance. Undefined where no shift does.
 */
export function viewShift(now: ArrayLike<number>, ref: ArrayLike<number>, max = 3): { dx: number; dy: number; distance: number; unshifted: number } | undefined {
  const d0 = sceneDistance(now, ref);
  let best = { dx: 0, dy: 0, distance: d0 };
  for (let dy = -max; dy <= max; dy++)
    for (let dx = -max; dx <= max; dx++) {
      if (!dx && !dy) continue;
      const a: number[] = [], b: number[] = [];
      for (let y = Math.max(0, -dy); y < Math.min(THUMB, THUMB - dy); y++)
        for (let x = Math.max(0, -dx); x < Math.min(THUMB, THUMB - dx); x++) {
          a.push(now[y * THUMB + x]!);
          b.push(ref[(y + dy) * THUMB + x + dx]!);
        }
      const d = sceneDistance(a, b);
      if (d < best.distance) best = { dx, dy, distance: d };
    }
  return (best.dx || best.dy) && best.distance < d0 / 2 ? { ...best, unshifted: d0 } : undefined;
}

/**
 * The probable cause of `rule` firing on `s` with `reading`, and its evidence. Camera rules blame the camera;
 * a scene or output rule blames the camera when image signals moved with it (their rules say so, or their latest
 * window is already far off the baseline: see imageFar) or the view only shifted, the
 * scene when the scene moved with an output rule (the camera when that scene is the view shifted, or when the
 * rule's window still holds a camera fault that has just ended), and the model when image and scene are healthy or a new
 * deployment runs against the previous one's baseline; runtime rules blame the runtime (a new deployment's
 * latency, the model).
 */
export function probableCause(s: Stream, rule: Pick<AlertRule, 'id' | 'metric' | 'window'>, reading: Reading, t = -Infinity): { cause: Cause; evidence: string } {
  const off = [...s.signals.values()].filter((x) => x.rule !== rule.id && (x.status === 'warn' || x.status === 'alert' || x.status === 'silent'));
  const camera = off.filter((x) => partOf(x.metric) === 'camera');
  const scene = off.filter((x) => partOf(x.metric) === 'scene');
  const self = said({ rule: rule.id, value: reading.value, threshold: reading.threshold, status: reading.silent ? 'silent' : 'alert' });
  const also = (xs: Signal[]) => (xs.length ? `; moved with it: ${xs.slice(0, 3).map(said).join(', ')}${xs.length > 3 ? ` and ${xs.length - 3} more` : ''}` : '');
  const deployed = s.comparing ? `new deployment ${s.deployment ?? s.mv} against the previous deployment's baseline (${s.comparing.deployment ?? s.comparing.mv})` : '';
  const part = partOf(rule.metric);
  const line = (cause: Cause, text: string) => ({ cause, evidence: text.length > 300 ? `${text.slice(0, 299)}…` : text });
  // a camera's fault that ended within the rule's window (a lens just uncovered): the window still holds it
  const fault = s.cameraFault && t - s.cameraFault.until < rule.window ? s.cameraFault : undefined;
  const lingering = fault ? `: its ${Math.round(rule.window / 1000)}-s window still holds the camera's fault (${fault.rule}, over ${Math.max(0, Math.round((t - fault.until) / 1000))} s ago)` : '';
  if (part === 'camera') return line('camera', `${self}${also(camera)}`);
  if (part === 'runtime') return deployed && rule.metric.startsWith('latency.') ? line('model', `${deployed}: ${self}`) : line('runtime', `${self}${also(off.filter((x) => partOf(x.metric) === 'runtime'))}`);
  // the image moved: its rules say so, or (before their charts' next sample) its latest window is far off the baseline
  const far = camera.length ? [] : imageFar(s, rule.window, t);
  const image = camera.length ? `, with the image${also(camera)}` : far.length ? `, with the image; moved with it: ${far.join(', ')}` : '';
  if (part === 'scene') {
    if (image) return line('camera', `${self}${image}`);
    if (fault) return line('camera', `${self}${lingering}`);
    const shift = rule.metric === 'scene' ? shiftOf(s) : undefined;
    if (shift) return line('camera', `${self}: the view moved by ${shift.dx}, ${shift.dy} sixteenths of the frame (a bumped camera), image statistics healthy`);
    return line('scene', `${self}, image healthy${also(scene)}`);
  }
  if (deployed) return line('model', `${deployed}: ${self}${also(off)}`);
  if (image) return line('camera', `${self}${image}`);
  if (fault) return line('camera', `${self}${lingering}`);
  if (scene.length) {
    // the scene moved because the view did (a bumped camera): the output follows the camera, as the scene's rules
    // do — those firing that blamed it, or the view shifted now
    const byCamera = scene.filter((x) => {
      const a = s.alerts.get(x.rule);
      return a?.state === 'firing' && a.cause === 'camera';
    });
    if (byCamera.length) return line('camera', `${self}, with the scene's rules that blame the camera${also(byCamera)}`);
    const shift = shiftOf(s);
    if (shift) return line('camera', `${self}, with the view moved by ${shift.dx}, ${shift.dy} sixteenths of the frame (a bumped camera)${also(scene)}`);
    return line('scene', `${self}, with the scene${also(scene)}`);
  }
  return line('model', `${self}; image and scene healthy`);
}

/** How far (in its charts' σ) an image statistic's latest window stands from the baseline to count as moved before its charts say so. */
export const FAR_SIGMA = 6;

/**
 * The image statistics whose latest window within `window` before `t` stands FAR_SIGMA or more of their
 * control chart's σ off the baseline, one line each ("brightness-ewma 4.1 against 52.3, 19σ"): a covered lens
 * or a lamp gone out is seen at once, while the charts sample once per whole window and may not have yet.
 */
function imageFar(s: Stream, window: number, t: number): string[] {
  const w = span(s, window, t).at(-1);
  if (!w) return [];
  const out: string[] = [];
  const seen = new Set<string>();
  for (const [id, chart] of s.charts) {
    const metric = s.signals.get(id)?.metric;
    if (!metric || partOf(metric) !== 'camera' || seen.has(metric)) continue;
    const x = chartValue(metric as ChartMetric, w.r, null, null);
    const z = Math.abs(x - chart.mu0) / chart.sigma;
    if (!(z >= FAR_SIGMA)) continue;
    seen.add(metric);
    out.push(`${id} ${fmt(x)} against ${fmt(chart.mu0)}, ${z.toFixed(0)}σ`);
  }
  return out;
}

/**
 * The view's shift against the baseline's thumbnail (see viewShift): over the last window — the one a rule fires
 * on, whole after a bump even when the window before it was not — else over the last two (less noise).
 */
function shiftOf(s: Stream) {
  const ref = s.baseline?.thumb;
  if (!ref) return undefined;
  for (const n of [1, 2]) {
    const recent = s.recent.slice(-n);
    const now = recent.length ? meanThumb(mergeWins(recent, recent[0]!.start)) : null;
    const shift = now ? viewShift(now, ref) : undefined;
    if (shift) return shift;
  }
  return undefined;
}
