/**
 * The health engine: watches frame records as they come, per stream (model version × camera_id), keeps
 * short windows of them, captures a baseline, evaluates the alert rules against it, and reports alert
 * state changes. Pure logic over plain data (no DOM, no IndexedDB): the store worker runs it and keeps
 * what it reports; benchmarks and tests run it in Node. Its parts: windows.ts (the windows), evaluate.ts
 * (what a rule reads), alerts.ts (alert state), vitals.ts; its types are in types.ts.
 */
import type { FrameRecord, Stage } from '../telemetry/record.ts';
import { addFrame, emptyRollup } from '../telemetry/rollup.ts';
import { addFlicker, type BoxLike, FLICKER_GAP_MS, FlickerTracker } from './flicker.ts';
import { baselineFlicker } from './flicker-rule.ts';
import { addChanges, pictureChanged, pictureOf } from './frozen.ts';
import { pictureMode, sceneDistance, THUMB } from '../capture/image-stats.ts';
import { type AlertRule, DEFAULT_RULES, needsBaseline } from './rules.ts';
import { medianOf, wanderKey, windowsVsRest } from './wander.ts';
import { forgetRules, judge, resolveAll } from './alerts.ts';
import { partOf } from './cause.ts';
import { covers } from './schedule.ts';
import { DEFAULT_SIGMA_FLOOR, evaluateRule, gapValue, resourceValue, type Settings } from './evaluate.ts';
import { streamVitals } from './vitals.ts';
import { chartValue, closeWindow, keepMinutesFor, keepWindowsFor, meanThumb, mergeWins, recordedCondition, type Stream, tagsOf, type Win } from './windows.ts';
import { type AlertEvent, type AlertState, type Baseline, CHART_METRICS, type ConditionSummary, type HealthEvent, type HealthOptions, type ResourceSample, type Signal, type Vitals } from './types.ts';
import { shortVersion } from '../lib/short-version.ts';
import type { AgreementSample } from '../inference/protocol.ts';
import { addSums } from './agreement-signal.ts';
import { completes, type ConditionHost, conditionName, conditionOf, emptyConditions, learnt, recognise, refuse } from './conditions.ts';

const PART_ORDER = { camera: 0, scene: 1, runtime: 2, model: 3 } as const;
/** Rules in evaluation order: the camera's, the scene's, the runtime's, then the output's (stable within each). */
const ordered = (rules: AlertRule[]) => [...rules].sort((a, b) => PART_ORDER[partOf(a.metric)] - PART_ORDER[partOf(b.metric)]);

/** The longest an enabled output rule takes to judge a deployment: its window and its `for`. */
/** A control chart's rule (its state persists across windows until it restarts). */
const isChart = (rule: AlertRule) => rule.aggregation === 'ewma' || rule.aggregation === 'cusum';
const judgeFor = (rules: AlertRule[]) => Math.max(0, ...rules.filter((r) => r.enabled !== false && partOf(r.metric) === 'model').map((r) => r.window + r.for));

/** The stream's baseline capture starts afresh with the windows from `t` on (a deployment changed). */
function restartCapture(s: Stream, t: number) {
  s.capture = [];
  s.captureFrom = t;
}

export class HealthEngine {
  /** the options, defaults filled in, as evaluation reads them (evaluate.ts) */
  private readonly cfg: Settings;
  /** how long a baseline is captured for (ms); a change applies to captures still running */
  get baselineMs() {
    return this.cfg.baselineMs;
  }
  set baselineMs(ms: number) {
    this.cfg.baselineMs = ms;
    this.keepMs = keepWindowsFor(this.baselineMs, this.rules, this.windowMs);
    this.keepMinutesMs = keepMinutesFor(this.rules);
  }
  readonly windowMs: number;
  private rules: AlertRule[];
  /** the rules in the order a window evaluates them: camera, scene, runtime, model (see close) */
  private byPart: AlertRule[] = [];
  /** how long a new deployment is compared at least: the longest output rule's window and `for` */
  private judgeMs = 0;
  private streams = new Map<string, Stream>();
  private listeners = new Set<(e: HealthEvent) => void>();
  /** reports an alert state change (alerts.ts) */
  private readonly alert = (alert: AlertEvent) => this.emit({ type: 'alert', alert });
  private keepMs = 0;
  private keepMinutesMs = 0;
  /** what the condition machinery calls back (conditions.ts) */
  private readonly conditionHost: ConditionHost = {
    rules: () => this.rules,
    emit: (e) => this.emit(e),
    alert: (a) => this.alert(a),
    restart: restartCapture,
  };

  constructor(opts: HealthOptions = {}) {
    this.windowMs = opts.windowMs ?? 5_000;
    this.cfg = {
      windowMs: this.windowMs,
      baselineMs: opts.baselineMs ?? 5 * 60_000,
      alpha: opts.alpha ?? 0.001,
      sps: opts.samplesPerSecond ?? 1,
      floor: { ...DEFAULT_SIGMA_FLOOR, ...opts.sigmaFloor },
      relFloor: opts.relativeSigmaFloor ?? 0.03,
    };
    this.rules = [...(opts.rules ?? DEFAULT_RULES)];
    this.byPart = ordered(this.rules);
    this.judgeMs = judgeFor(this.rules);
    this.keepMs = keepWindowsFor(this.baselineMs, this.rules, this.windowMs);
    this.keepMinutesMs = keepMinutesFor(this.rules);
  }

  on(listener: (e: HealthEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: HealthEvent) {
    for (const l of this.listeners) l(e);
  }

  getRules(): AlertRule[] {
    return this.rules.map((r) => ({ ...r }));
  }

  /** Replaces the rules (already validated: see parseRules). Alerts of removed or changed rules resolve. */
  setRules(rules: readonly AlertRule[], now = Date.now()) {
    const before = new Map(this.rules.map((r) => [r.id, JSON.stringify(r)]));
    this.rules = rules.map((r) => ({ ...r }));
    this.byPart = ordered(this.rules);
    this.judgeMs = judgeFor(this.rules);
    const kept = new Set(this.rules.filter((r) => before.get(r.id) === JSON.stringify(r)).map((r) => r.id));
    for (const s of this.streams.values()) forgetRules(s, kept, now, this.alert);
    this.keepMs = keepWindowsFor(this.baselineMs, this.rules, this.windowMs);
    this.keepMinutesMs = keepMinutesFor(this.rules);
  }

  /**
   * Baselines kept from earlier runs (IndexedDB): each camera's conditions' (conditions.ts), the newest in force
   * until the frames say which condition the camera is in.
   */
  loadBaselines(list: Baseline[]) {
    for (const b of [...list].sort((x, y) => x.createdAt - y.createdAt)) {
      const s = this.stream(b.mv, b.camera, b.location);
      b.condition = conditionOf(b);
      s.conditions.known.set(b.condition, b);
      s.conditions.current = b.condition;
      s.baseline = b;
      s.capture = [];
    }
  }

  private stream(mv: string, camera: string, location?: string): Stream {
    const key = `${mv}|${camera}`;
    let s = this.streams.get(key);
    if (!s) {
      s = { key, mv, camera, capture: [], recent: [], minutes: [], minutesTo: -Infinity, charts: new Map(), alerts: new Map(), signals: new Map(), lastFrameT: -Infinity, pictures: new Map(), trackers: new Map(), samples: [], conditions: emptyConditions() };
      this.streams.set(key, s);
    }
    if (location) s.location = location;
    return s;
  }

  /**
   * One frame's record. Fills in its scene distance (`i.sc`) when there is a baseline thumbnail, and
   * drops the thumbnail (`th`) it carried, so the store never keeps it. `boxes`, the frame's detections, feed
   * the flicker metric (flicker.ts); records given without them (a recorder's, a replay's) have none.
   */
  observe(rec: FrameRecord, boxes?: readonly BoxLike[]): void {
    const tags = tagsOf(rec.g);
    const s = this.stream(rec.mv, tags.camera, tags.location);
    const th = rec.th;
    const picture = pictureOf(rec);
    if (rec.i?.sa !== undefined && Number.isFinite(rec.i.sa)) s.mode = pictureMode(rec.i.sa);
    delete rec.th;
    if (th && s.baseline?.thumb && rec.i) rec.i.sc = Math.round(sceneDistance(th, s.baseline.thumb) * 1e4) / 1e4;
    const start = Math.floor(rec.t / this.windowMs) * this.windowMs;
    if (s.cur && start >= s.cur.start + this.windowMs) this.close(s);
    if (rec.dp && rec.dp !== s.deployment) this.deploy(s, rec.dp, rec.t);
    if (!s.cur) s.cur = { start, r: emptyRollup('10s', start, rec.mv, rec.g), thumb: null, thumbN: 0 };
    addFrame(s.cur.r, rec);
    if (picture) {
      // compared with the same source's frame before (two monitors on one camera_id interleave)
      const prev = s.pictures.get(rec.src);
      if (prev) addChanges((s.cur.ch ??= { pairs: 0, changed: 0 }), { pairs: 1, changed: pictureChanged(prev, picture) ? 1 : 0 });
      s.pictures.delete(rec.src);
      s.pictures.set(rec.src, picture);
      if (s.pictures.size > 8) s.pictures.delete(s.pictures.keys().next().value!); // sources of reloads gone by
    }
    this.track(s, rec, boxes);
    if (th) {
      s.cur.thumb ??= new Float64Array(THUMB * THUMB);
      for (let i = 0; i < th.length; i++) s.cur.thumb[i]! += th[i]!;
      s.cur.thumbN++;
    }
    s.lastFrameT = Math.max(s.lastFrameT, rec.t);
  }

  /**
   * A frame's boxes through its source's association (flicker.ts), counted in the open window. It starts afresh
   * after a gap in the frames or a frame without valid output (failed or malformed: what the model saw is unknown).
   */
  private track(s: Stream, rec: FrameRecord, boxes?: readonly BoxLike[]) {
    let x = s.trackers.get(rec.src);
    if (x && (rec.e || rec.m || rec.t - x.t > FLICKER_GAP_MS || rec.t < x.t)) x.tracker.reset();
    if (x) x.t = rec.t;
    if (!boxes || rec.e || rec.m) return;
    if (!x) {
      x = { tracker: new FlickerTracker(), t: rec.t };
      s.trackers.set(rec.src, x);
      if (s.trackers.size > 8) s.trackers.delete(s.trackers.keys().next().value!); // sources of reloads gone by
    }
    const c = x.tracker.push(boxes);
    s.cur!.fl = addFlicker(s.cur!.fl, c);
    // on the record too, so that the store rolls it up (rollup.ts `fl`), charted, synced and exported with the rest
    if (c.frames || c.flips) rec.fk = [c.frames, c.tracked, c.blinks, c.flips];
  }

  /**
   * A stream's frames now come from deployment `dp` (a model file and its manifest: inference/deployment.ts).
   * A deployment other than its baseline's is compared with that baseline while it captures its own; a camera's
   * new model version with no baseline of its own is compared with the camera's latest baseline.
   */
  private deploy(s: Stream, dp: string, t: number) {
    const before = s.deployment;
    s.deployment = dp;
    for (const x of s.trackers.values()) x.tracker.reset(); // another deployment's boxes are not the same objects' blinks
    const b = s.baseline;
    if (b && !s.comparing) {
      if (!b.deployment) b.deployment = dp; // stored before deployments were told apart: adopted
      else if (b.deployment !== dp) {
        s.comparing = { mv: b.mv, ...(b.deployment ? { deployment: b.deployment } : {}), since: t };
        restartCapture(s, t);
      }
      return;
    }
    if (b && s.comparing) {
      // back on the baseline's own deployment, or on yet another one (its capture starts afresh)
      if (b.mv === s.mv && b.deployment === dp) s.comparing = undefined;
      restartCapture(s, t);
      return;
    }
    if (before !== undefined) restartCapture(s, t); // frames captured so far were another deployment's
    const previous = [...this.streams.values()]
      .filter((x) => x !== s && x.camera === s.camera && x.baseline && !x.comparing)
      .sort((x, y) => y.baseline!.createdAt - x.baseline!.createdAt)[0]?.baseline;
    if (previous) {
      s.baseline = previous;
      s.comparing = { mv: previous.mv, ...(previous.deployment ? { deployment: previous.deployment } : {}), since: t };
      restartCapture(s, t);
      s.charts.clear();
    }
  }

  /**
   * A reference model's run on a frame the deployed model judged (inference/agreement.ts): its counts join the
   * window the frame fell in (it comes a run later), for `reference-disagreement` and the baseline.
   */
  observeAgreement(x: AgreementSample & { g: string }) {
    const tags = tagsOf(x.g);
    const s = this.stream(shortVersion(x.modelVersion), tags.camera, tags.location);
    const sums = { frames: 1, tp: x.counts.tp, fp: x.counts.fp, fn: x.counts.fn };
    const w = s.cur && x.t >= s.cur.start ? s.cur : s.recent.findLast((r) => r.start <= x.t && x.t < r.start + this.windowMs);
    if (w) w.ag = addSums(w.ag, sums);
    const ref = (s.reference ??= { times: [], version: x.reference, ms: x.ms });
    ref.version = x.reference;
    ref.ms = x.ms;
    ref.times.push(x.t);
    while (ref.times.length && ref.times[0]! < x.t - 60_000) ref.times.shift();
  }

  /** A resource sample from the page (every few seconds while a monitor runs). */
  observeResources(x: ResourceSample) {
    const s = this.stream(x.mv, x.camera_id);
    // a new run (a reload, a restart after a gap): its heap warms up again
    if (s.resourcesFrom === undefined || !s.samples.length || x.t - s.samples.at(-1)!.t > 60_000) s.resourcesFrom = x.t;
    s.samples.push(x);
    const cut = x.t - this.keepMs;
    while (s.samples.length && s.samples[0]!.t < cut) s.samples.shift();
  }

  /**
   * Time passes: closes windows no frame has closed (a stalled camera) and evaluates the rules that do not
   * wait for frames. Call about once a second.
   */
  tick(now: number) {
    for (const s of this.streams.values()) {
      if (s.cur && now >= s.cur.start + 2 * this.windowMs) this.close(s);
      for (const rule of this.rules) {
        if (rule.enabled === false) continue;
        if (rule.aggregation === 'gap') judge(s, rule, { value: gapValue(s, now), threshold: rule.threshold }, now, this.alert);
        else if (rule.metric === 'heap' || rule.metric === 'longtasks') judge(s, rule, { value: resourceValue(s, rule, now, this.baselineMs), threshold: rule.threshold }, now, this.alert);
        // a window rule's alert firing when its hours end resolves then, frames or none (schedule.ts)
        else if (rule.hours && s.alerts.get(rule.id)?.state === 'firing' && !covers(rule.hours, now, s.camera) && judge(s, rule, { value: NaN, threshold: rule.threshold }, now, this.alert)) s.charts.delete(rule.id);
      }
    }
  }

  private close(s: Stream) {
    const w = closeWindow(s, this.windowMs, this.keepMs, this.keepMinutesMs);
    const end = w.start + this.windowMs;
    // the camera's condition first: a switch brings its own baseline, a new condition is learnt (conditions.ts)
    const held = recognise(s, w, end, this.conditionHost);
    const learning = !s.baseline;
    // the image's rules first, then the scene's, the runtime's and the output's: a cause is read from the
    // signals that moved with a rule (cause.ts), so those of the same window must be in already
    let cameraCleared = false;
    for (const rule of this.byPart) {
      if (rule.enabled === false || rule.aggregation === 'gap' || rule.metric === 'heap' || rule.metric === 'longtasks') continue;
      // rules against the baseline start with the first window after it
      if (needsBaseline(rule) && (learning || held)) continue;
      const camera = partOf(rule.metric) === 'camera';
      // a camera's fault just over (a lens uncovered, a bumped view put back: alerts.ts cameraFault): the scene's and
      // the output's control charts restart, as its own do — what they summed under the fault was the camera's,
      // not a drift of the scene or the model to blame once the picture is back
      if (cameraCleared && !camera && isChart(rule)) s.charts.delete(rule.id);
      if (this.evaluate(s, rule, end) && s.cameraFault?.rule === rule.id && s.cameraFault.until === end) cameraCleared = true;
    }
    // a condition accepted early: its baseline completes with the condition's next windows, while nothing fires
    if (s.completing !== undefined) this.complete(s, w, end, held);
    // the baseline's capture: windows of the stream's current deployment only (from captureFrom on)
    else if ((learning || s.comparing) && w.start >= (s.captureFrom ?? -Infinity)) {
      s.capture.push(w);
      // a new deployment keeps its own baseline only once nothing fires or waits to, judged on this window
      // first: never a broken deployment as the new normal
      const alarmed = Boolean(s.comparing) && [...s.alerts.values()].some((x) => x.state !== 'inactive');
      // and only once every output rule has had its say (its window and `for`), however short the baseline
      const judged = !s.comparing || end - s.comparing.since >= this.judgeMs;
      if (alarmed || !judged) while (s.capture.length && end - s.capture[0]!.start > this.baselineMs) s.capture.shift();
      else if (end - s.capture[0]!.start >= this.baselineMs) this.finalize(s, s.capture, 'auto', end);
    }
  }

  /** A window of a condition accepted early (conditions.ts completes): into its baseline, learnt again once full. */
  private complete(s: Stream, w: Win, end: number, held: boolean) {
    // an alert of the picture, the scene or the model (the machine's own say nothing of the condition)
    const alarmed = [...s.alerts].some(([id, x]) => x.state !== 'inactive' && partOf(this.rules.find((r) => r.id === id)?.metric ?? 'fps') !== 'runtime');
    if (!completes(s, w, held, alarmed)) return;
    s.capture.push(w);
    if (end - s.capture[0]!.start >= this.baselineMs) this.finalize(s, s.capture, 'manual', end);
  }

  private finalize(s: Stream, wins: Win[], source: Baseline['source'], now: number) {
    s.completing = undefined;
    const all = mergeWins(wins, wins[0]!.start);
    const thumb = meanThumb(all);
    const windows: Baseline['windows'] = {};
    for (const m of CHART_METRICS) {
      const xs = wins.map((w) => chartValue(m, w.r, meanThumb(w), thumb));
      if (xs.some(Number.isFinite)) windows[m] = xs;
    }
    const seconds = (wins.length * this.windowMs) / 1000;
    // per window, frames and detections (all, and the 20 most frequent classes'): the rate rules' stretches
    const top = Object.entries(all.r.classes).sort((x, y) => y[1] - x[1]).slice(0, 20).map(([k]) => Number(k));
    const rates = { frames: wins.map((w) => w.r.valid), detections: wins.map((w) => w.r.detections), classes: Object.fromEntries(top.map((k) => [k, wins.map((w) => w.r.classes[k] ?? 0)])) };
    const flicker = baselineFlicker(wins);
    s.comparing = undefined;
    s.baseline = {
      mv: s.mv,
      camera: s.camera,
      ...(s.deployment ? { deployment: s.deployment } : {}),
      ...(s.location ? { location: s.location } : {}),
      createdAt: now,
      from: wins[0]!.start,
      to: wins.at(-1)!.start + this.windowMs,
      source,
      windowMs: this.windowMs,
      frames: all.r.frames,
      seconds,
      rollup: all.r,
      windows,
      thumb,
      fps: all.r.frames / seconds,
      ...(all.ch ? { changes: all.ch } : {}),
      ...this.wanderOf(wins),
      rates,
      ...(all.ag ? { agreement: { ...all.ag, windows: wins.map((w) => w.ag ?? { frames: 0, tp: 0, fp: 0, fn: 0 }) } } : {}),
      ...(flicker ? { flicker } : {}),
    };
    s.capture = [];
    s.charts.clear();
    learnt(s, s.baseline, this.conditionHost);
    this.emit({ type: 'baseline', baseline: s.baseline });
  }

  /** The baseline's own wander of each latency KS rule's metric, over windows of the rule's length (wander.ts). */
  private wanderOf(wins: Win[]): { wander?: Record<string, number> } {
    const wander: Record<string, number> = {};
    for (const r of this.rules) {
      if (r.aggregation !== 'ks' || !r.metric.startsWith('latency.')) continue;
      const stage = r.metric.slice(8) as Stage;
      const d = medianOf(windowsVsRest(wins.map((w) => w.r.lat[stage]), Math.max(1, Math.round(r.window / this.windowMs))));
      if (Number.isFinite(d)) wander[wanderKey(r.metric, r.window)] = Math.round(d * 1e4) / 1e4;
    }
    return Object.keys(wander).length ? { wander } : {};
  }

  /** A window-driven rule at the end of a window: what it reads (evaluate.ts), through its alert state (alerts.ts); true when its alert resolved. */
  private evaluate(s: Stream, rule: AlertRule, end: number): boolean {
    const reading = evaluateRule(s, rule, end, this.cfg);
    if (!reading) return false;
    const resolved = judge(s, rule, reading, end, this.alert);
    // a control chart restarts once its alert resolves, as after any out-of-control signal (evaluate.ts)
    if (resolved && isChart(rule)) s.charts.delete(rule.id);
    return resolved;
  }

  private matching(f: { mv?: string; camera_id?: string } = {}) {
    return [...this.streams.values()].filter((s) => (f.mv === undefined || s.mv === shortVersion(f.mv)) && (f.camera_id === undefined || s.camera === f.camera_id));
  }

  /**
   * "Mark current as healthy": the last baseline-length of frames becomes the baseline (or, with none
   * seen yet, capture starts afresh). Firing alerts of the stream resolve.
   */
  markHealthy(f: { mv?: string; camera_id?: string } = {}, now = Date.now()): Baseline[] {
    const out: Baseline[] = [];
    for (const s of this.matching(f)) {
      if (s.cur) this.close(s);
      resolveAll(s, this.rules, now, this.alert);
      const end = s.recent.at(-1) ? s.recent.at(-1)!.start + this.windowMs : now;
      const wins = s.recent.filter((w) => w.start >= Math.max(end - this.baselineMs, s.from ?? -Infinity) && w.r.frames > 0);
      if (wins.length) {
        this.finalize(s, wins, 'manual', now);
        out.push(s.baseline!);
      } else this.clear(s);
    }
    return out;
  }

  /**
   * A person accepts the condition being learnt (conditions.ts): what has been seen of it becomes its baseline now.
   * Returns the baselines learnt.
   */
  acceptCondition(f: { mv?: string; camera_id?: string } = {}, now = Date.now()): Baseline[] {
    const out: Baseline[] = [];
    for (const s of this.matching(f)) {
      if (!s.conditions.learning) continue;
      if (s.cur) this.close(s);
      const wins = s.capture.filter((w) => w.r.frames > 0);
      if (!s.conditions.learning || !wins.length) continue;
      this.finalize(s, wins, 'manual', now);
      out.push(s.baseline!);
      // shorter than a baseline: completed with the condition's next windows (complete)
      if (s.baseline!.to - s.baseline!.from < this.baselineMs) {
        s.completing = s.conditions.current;
        s.capture = wins;
      }
    }
    return out;
  }

  /**
   * A person marks the condition being learnt a fault: the camera is judged against the condition it came from
   * again (its rules fire) until its picture is back in that condition. Returns how many streams it applied to.
   */
  refuseCondition(f: { mv?: string; camera_id?: string } = {}, now = Date.now()): number {
    return this.matching(f).filter((s) => refuse(s, now, this.conditionHost)).length;
  }

  /** Forgets the baseline: a new one is captured from the next frames. */
  resetBaseline(f: { mv?: string; camera_id?: string } = {}, now = Date.now()) {
    for (const s of this.matching(f)) {
      resolveAll(s, this.rules, now, this.alert);
      this.clear(s);
    }
  }

  private clear(s: Stream) {
    s.completing = undefined;
    s.conditions = emptyConditions();
    s.baseline = undefined;
    s.comparing = undefined;
    s.capture = [];
    s.charts.clear();
    s.signals.clear();
    this.emit({ type: 'baseline-cleared', mv: s.mv, camera: s.camera });
  }

  /** The latest evaluation of every rule, per stream (filters: model version, camera_id, location). */
  signals(f: { mv?: string; camera_id?: string; location?: string } = {}): Signal[] {
    return this.matching(f)
      .filter((s) => f.location === undefined || s.location === f.location)
      .flatMap((s) =>
        this.rules.map(
          (rule) =>
            s.signals.get(rule.id) ?? {
              rule: rule.id, name: rule.name, metric: rule.metric, aggregation: rule.aggregation, severity: rule.severity,
              value: NaN, threshold: rule.threshold, status: needsBaseline(rule) && !s.baseline ? 'learning' : 'no-data', state: 'inactive' as AlertState,
              mv: s.mv, camera_id: s.camera, ...(s.location ? { location: s.location } : {}), t: NaN,
            },
        ),
      );
  }

  /**
   * Every rule across all streams (or those matching): the worst status and the stream it comes from —
   * the overall view, beside the per camera_id/location view of `signals()`.
   */
  overview(f: { mv?: string; camera_id?: string; location?: string } = {}): { status: Signal['status']; firing: number; streams: number; rules: Signal[] } {
    const rank: Record<Signal['status'], number> = { alert: 5, silent: 4, warn: 3, ok: 2, learning: 1, 'no-data': 0 };
    const worst = new Map<string, Signal>();
    const all = this.signals(f);
    for (const x of all) {
      const w = worst.get(x.rule);
      if (!w || rank[x.status] > rank[w.status]) worst.set(x.rule, x);
    }
    const rules = [...worst.values()];
    const status = rules.reduce<Signal['status']>((a, x) => (rank[x.status] > rank[a] ? x.status : a), 'no-data');
    return { status, firing: all.filter((x) => x.state === 'firing').length, streams: new Set(all.map((x) => `${x.mv}|${x.camera_id}`)).size, rules };
  }

  /** What the flag rules need of a stream: the alerts firing on it, and its baseline's detection counts. */
  flagContext(mv: string, camera: string): { firing: { rule: string; severity: string }[]; baseline?: { frames: number; detections: number; classes: Record<number, number> } } {
    const s = this.streams.get(`${shortVersion(mv)}|${camera}`);
    if (!s) return { firing: [] };
    const firing: { rule: string; severity: string }[] = [];
    for (const [rule, st] of s.alerts) if (st.state === 'firing') firing.push({ rule, severity: this.rules.find((r) => r.id === rule)?.severity ?? 'warning' });
    const b = s.baseline?.rollup;
    return { firing, ...(b ? { baseline: { frames: b.frames, detections: b.detections, classes: b.classes } } : {}) };
  }

  /** Every stream's baselines: one per condition its camera has been learnt in. */
  baselines(): Baseline[] {
    return [...this.streams.values()].flatMap((s) => {
      const known = [...s.conditions.known.values()];
      return s.baseline && !known.includes(s.baseline) ? [...known, s.baseline] : known;
    });
  }

  /**
   * The condition a frame of model version `mv` on `camera` is recorded under now: the one being learnt, else the
   * one in force, else (no baseline yet) the frame's picture mode (`saturation`), else that of the camera's latest
   * frame with a picture (what a reference verdict or a resource sample, which carry none, is recorded under).
   * Undefined without any of them.
   */
  conditionAt(mv: string, camera: string, saturation?: number): string | undefined {
    const s = this.streams.get(`${shortVersion(mv)}|${camera}`);
    const mode = saturation !== undefined && Number.isFinite(saturation) ? pictureMode(saturation) : s?.mode;
    return s ? recordedCondition(s, mode) : mode;
  }

  /**
   * The page stopped a stream's pipeline on purpose (the element's stop(), a start() with another model, the element
   * leaving the page): the frames that stop coming are not a stalled camera. The stream's next resource sample (its
   * pipeline running again) ends it.
   */
  stopped(mv: string, camera: string, now = Date.now()) {
    const s = this.streams.get(`${shortVersion(mv)}|${camera}`);
    if (s) s.stoppedAt = now;
  }

  /** Each stream's conditions (conditions.ts): the one in force and since when, one being learnt and how far, all known. */
  conditions(f: { mv?: string; camera_id?: string; location?: string } = {}, now = Date.now()): ConditionSummary[] {
    return this.matching(f)
      .filter((s) => f.location === undefined || s.location === f.location)
      .map((s) => {
        const c = s.conditions;
        const l = c.learning;
        return {
          mv: s.mv, camera_id: s.camera, ...(s.location ? { location: s.location } : {}),
          ...(c.current ? { current: c.current, name: conditionName(c.current) } : {}),
          ...(c.since !== undefined ? { since: c.since } : {}),
          ...(c.transition ? { transition: { ...c.transition, name: conditionName(c.transition.toward) } } : {}),
          ...(l ? { learning: { id: l.id, name: conditionName(l.id), since: l.since, learntMs: Math.min(this.baselineMs, Math.max(0, (s.lastFrameT > -Infinity ? s.lastFrameT : now) - l.since)), baselineMs: this.baselineMs } } : {}),
          ...(s.completing !== undefined && s.capture.length ? { completing: { id: s.completing, name: conditionName(s.completing), learntMs: s.capture.at(-1)!.start + this.windowMs - s.capture[0]!.start, baselineMs: this.baselineMs } } : {}),
          known: [...c.known.entries()].map(([id, b]) => ({ id, name: conditionName(id), createdAt: b.createdAt, from: b.from, to: b.to })),
        };
      });
  }

  /**
   * The vital signs of each stream, live: the last minute against the baseline (latency, reliability,
   * confidence, consistency, malformed outputs, the input image, resources), with its signals.
   */
  vitals(f: { mv?: string; camera_id?: string; location?: string } = {}, now?: number): Vitals[] {
    return this.matching(f)
      .filter((s) => f.location === undefined || s.location === f.location)
      .map((s) => streamVitals(s, this.cfg, this.signals({ mv: s.mv, camera_id: s.camera }), now));
  }
}
