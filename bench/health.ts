/**
 * The monitor's own accuracy: does it alarm when the scene changes, and stay quiet when it does not?
 *
 * Real model, real footage: every frame of opencv-doc's vtest.avi (795 frames, 10 fps) goes through the
 * monitor's own code — the frame worker's YUV → tensor and image statistics, the default model (run with
 * onnxruntime-node, faster than real time), the adapter's decoding, the frame record — once plain and once
 * per altered variant made with ffmpeg (darkened by brightness −0.45, defocused, camera bumped). The health
 * engine then watches scenarios built from those frames at the clip's 10 fps:
 *   - unchanged: the plain clip looping for a full hour (baseline from the first 5) → false alarms. As a kiosk
 *     sees it: each frame's inference time is one measured here (onnxruntime-node, this machine) times the
 *     machine's load — a slow random wander (Ornstein–Uhlenbeck on log latency, 5-minute correlation time)
 *     whose size is measured from the analysis passes' own 10-s block medians (at least 4 %); the heap is a
 *     GC sawtooth (garbage piles up 2–4 MB/min, a major GC every 2–6 min takes it back to the floor) over a
 *     5-minute warm-up that levels off, sampled every 30 s as the page does, with no net growth;
 *   - leak: the same, with the heap's floor rising 1.5 MB/min from minute 20 → memory-staircase;
 *   - darkened / defocused / bumped / swapped (mirrored): 5 minutes plain (the baseline), then the clip whose second half is
 *     altered, looping → detection delay after the change, false alarms before it;
 *   - latency creep: inference 1.8× slower from the middle of the first loop after the baseline on;
 *   - flicker (#27 part 3): every frame's boxes go to the engine too; per scenario, the flicker rate (blinks + flips
 *     per box tracked, the engine's own association) over the baseline, the changed frames and the rest, and
 *     whether flicker-rise fired; the unchanged hour again at the kiosk's 3 inferred frames a second (frames 0, 3,
 *     6, 10, 13… of the 10-fps clip); darkened and defocused staying once they start, at 10 and 3 a second; and
 *     each variant's flicker on the same stretch of the clip against plain;
 *   - reference model (#27 part 1): the default's 512×512 original judging a frame every 5 s (the kiosk's default
 *     budget) — the unchanged hour with it on (no alert expected), and a deployment wrong more often (pixels ×2.5:
 *     ordinary-looking boxes) → reference-disagreement and its delay, with the F1 against the reference.
 *   - conditions (#29): a compressed day — 6 minutes of the plain clip, then the clip as a camera's night IR mode
 *     shows it (grey, darker, flatter, noisy), day and night alternating —, then in the night a covered lens, a
 *     defocus and a bump, each between night stretches, and a blind deployment at night → the condition events,
 *     and per stretch the alerts fired (none expected in the day and night stretches; each fault's delay and cause).
 * Prints three tables, writes bench/results/health.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeOutputs } from '../src/inference/adapters/index.ts';
import { feedShape, inputSize, type ModelManifest } from '../src/inference/manifest.ts';
import { fitFrame } from '../src/capture/preprocess.ts';
import type { InferenceResult } from '../src/inference/protocol.ts';
import { yuvToTensor } from '../src/capture/yuv.ts';
import { ImageStatsScratch, sceneDistance, yuvImageStats } from '../src/capture/image-stats.ts';
import { HealthEngine } from '../src/health/engine.ts';
import { agreement } from '../src/inference/agreement.ts';
import type { AlertEvent, ConditionEvent } from '../src/health/types.ts';
import { faultLike } from '../src/health/conditions.ts';
import { type FrameRecord, toFrameRecord } from '../src/telemetry/record.ts';
import { FlickerTally, variantFlicker } from './health-flicker.ts';
import { heapTrace, loadTrace, rng } from './health-traces.ts';
import { fmt, median, q, root } from './lib.ts';
import { BUMP, COVERED, DARKENED, DEFOCUS, H, i420Frames, NIGHT_IR, W } from './footage.ts';

const FPS = 10;
const clip = join(root, 'fixtures', 'opencv-doc', 'usr', 'share', 'doc', 'opencv-doc', 'examples', 'data', 'vtest.avi');
const plainManifest = JSON.parse(readFileSync(join(root, 'models', 'centernet-coco.json'), 'utf8')) as ModelManifest;
/** the reference model (#27): the default's 512×512 original, as the docs suggest for the bundled default */
const referenceManifest = JSON.parse(readFileSync(join(root, 'models', 'centernet-coco-512.json'), 'utf8')) as ModelManifest;
/** how often the reference judges a frame: the kiosk's default budget (0.1) with its ~0.3-s single-thread run on this machine is 12 a minute (bench/reference.ts) */
const REFERENCE_EVERY_MS = 5000;
const manifest = plainManifest;

interface Frame {
  detections: InferenceResult['detections'];
  image: NonNullable<InferenceResult['image']>;
  inferenceMs: number;
  malformed?: string;
}

/** Decodes the clip through an ffmpeg filter to I420 frames and runs each through the monitor's per-frame path. */
async function analyse(session: ort.InferenceSession, filter: string, statsMs: number[], opts: { manifest?: ModelManifest; threshold?: number } = {}): Promise<Frame[]> {
  const manifest = opts.manifest ?? plainManifest;
  const { width: iw, height: ih } = inputSize(manifest);
  const fit = fitFrame(W, H, iw, ih, manifest.input.resize);
  const scratch = new ImageStatsScratch();
  const frames: Frame[] = [];
  const tensor = new Float32Array(iw * ih * 3);
  for await (const yuv of i420Frames(clip, filter)) {
    yuvToTensor(yuv, fit, iw, ih, { layout: manifest.input.layout, channels: manifest.input.channels, normalization: manifest.input.normalization }, tensor);
    const t0 = performance.now();
    const image = { ...yuvImageStats(yuv, scratch), ms: 0 };
    image.ms = performance.now() - t0;
    statsMs.push(image.ms);
    const t1 = performance.now();
    const out = await session.run({ [manifest.input.name]: new ort.Tensor('float32', tensor, feedShape(manifest)) });
    const inferenceMs = performance.now() - t1;
    const outputs = Object.fromEntries(Object.entries(out).map(([k, t]) => [k, { data: t.data as Float32Array, dims: t.dims }]));
    const d = decodeOutputs(manifest, outputs, { width: W, height: H, fit, inputWidth: iw, inputHeight: ih }, opts.threshold ?? 0.3);
    frames.push({ detections: d.detections, image, inferenceMs, ...(d.malformed ? { malformed: d.malformed } : {}) });
  }
  return frames;
}

let seq = 0;
function record(f: Frame, t: number, camera: string, latencyScale = 1, inferenceMs = f.inferenceMs, deployment = 'a11a11a11a11'): FrameRecord {
  const inference = inferenceMs * latencyScale;
  const r: InferenceResult = {
    inferenceId: `${(seq++).toString(16).padStart(8, '0')}-0000-7000-8000-000000000000`,
    timestamp: t, handoffEpoch: t, workerDoneEpoch: t,
    modelVersion: manifest.sha256, deployment, backend: 'wasm', frame: { width: W, height: H },
    timings: { queue: 0.5, preprocess: 3, inference, postprocess: 2, total: inference + 8 },
    droppedFrames: 0, detections: f.detections, image: { ...f.image, thumb: f.image.thumb },
    ...(f.malformed ? { malformed: f.malformed } : {}),
  };
  return toFrameRecord(r, 'bench', { camera_id: camera });
}

interface Scenario {
  name: string;
  /** frames after the baseline period (a loop of the clip whose second half is altered), or none */
  altered?: Frame[];
  latencyScale?: number;
  /** the change stays once it starts (instead of the altered clip's second half, looping) */
  persistent?: boolean;
  /** rules whose firing counts as detecting this change */
  expect: RegExp;
  /** the altered frames come from another deployment of the model (its id) */
  deployment?: string;
  /** after the baseline, only these frames of the plain clip [from, to), looping (a quiet or busy stretch) */
  segment?: [number, number];
  /** the heap leaks this many MB/min from `leakFromMin` on (the change) */
  leakMBPerMin?: number;
  leakFromMin?: number;
  /** a reference model judges a frame every REFERENCE_EVERY_MS: its detections on the plain clip (the footage is the plain clip throughout) */
  reference?: Frame[];
  /**
   * the monitor infers every `stride`-th frame of the clip, default 1 (10 ÷ 3: the kiosk's 3 a second of the
   * 10-fps clip, frame 0, 3, 6, 10, 13…, so the frames it sees drift through the clip from loop to loop)
   */
  stride?: number;
}

/** F1 of summed agreement counts (2·tp over 2·tp + fp + fn; 1 when neither model found anything). */
function f1Of(v: { tp: number; fp: number; fn: number }[]): number {
  const tp = v.reduce((a, x) => a + x.tp, 0), fp = v.reduce((a, x) => a + x.fp, 0), fn = v.reduce((a, x) => a + x.fn, 0);
  return 2 * tp + fp + fn ? (2 * tp) / (2 * tp + fp + fn) : 1;
}

/**
 * The page's side of a replay, called once a frame (at its time `t`): each second the engine ticks, and every 5 s
 * it gets a resource sample with the results since (the heap every 30 s, as the page measures it:
 * measureUserAgentSpecificMemory; the samples between carry none). `after(sec)` runs after each tick.
 */
function pageClock(engine: HealthEngine, t0: number, heap: readonly number[]) {
  let results = 0, nextTick = t0;
  return (t: number, after?: (sec: number) => void) => {
    results++;
    if (t < nextTick) return;
    const sec = Math.round((nextTick - t0) / 1000);
    nextTick += 1000;
    if (sec % 5 === 0) {
      const k30 = sec / 30;
      engine.observeResources({ t, mv: manifest.sha256.slice(0, 12), camera_id: 'bench-cam', ...(Number.isInteger(k30) ? { heapMB: heap[k30]! } : {}), longTasks: 0, results });
      results = 0;
    }
    engine.tick(t);
    after?.(sec);
  };
}

function runScenario(plain: Frame[], s: Scenario, minutes: number, wander: { sigma: number; tauS: number; noise: number[] }, seed = 1) {
  const engine = new HealthEngine(); // defaults: 5-min baseline, default rules
  const alerts: AlertEvent[] = [];
  engine.on((e) => e.type === 'alert' && alerts.push(e.alert));
  const t0 = Date.UTC(2026, 10, 25, 8);
  const stride = s.stride ?? 1;
  const fps = FPS / stride;
  const baselineFrames = Math.round(5 * 60 * fps);
  const total = Math.round(minutes * 60 * fps);
  const half = Math.floor(plain.length / 2);
  const load = loadTrace(total, wander.sigma, wander.tauS, seed, fps);
  const heap = heapTrace(minutes, seed + 1, s.leakMBPerMin ?? 0, s.leakFromMin);
  const r = rng(seed + 2);
  const typical = median(plain.map((f) => f.inferenceMs));
  let changeAt: number | undefined = s.leakMBPerMin ? t0 + (s.leakFromMin ?? 0) * 60_000 : undefined;
  const clock = pageClock(engine, t0, heap);
  let nextReference = t0;
  const judged: Record<'baseline' | 'after' | 'changed', { tp: number; fp: number; fn: number }[]> = { baseline: [], after: [], changed: [] };
  // the flicker the engine's association counts on the same boxes: the baseline's, the changed frames', the rest's
  const flicker = new FlickerTally();
  let dp: string | undefined;
  let peak = { value: NaN, threshold: NaN };
  for (let i = 0; i < total; i++) {
    const t = t0 + Math.round((i * 1000) / fps);
    const k = Math.floor(i * stride) % plain.length;
    const afterBaseline = i >= baselineFrames;
    // after the baseline, the altered clip plays from its start: its second half is the change
    const j = afterBaseline ? Math.floor((i - baselineFrames) * stride) % plain.length : k;
    const altered = afterBaseline && (s.altered || s.latencyScale) && (j >= half || changeAt !== undefined && Boolean(s.persistent));
    if (altered && changeAt === undefined) changeAt = t;
    const seg = s.segment && afterBaseline ? s.segment[0] + (Math.floor((i - baselineFrames) * stride) % (s.segment[1] - s.segment[0])) : undefined;
    const clipIndex = altered && s.altered ? j : seg !== undefined ? seg : afterBaseline ? j : k;
    const f = altered && s.altered ? s.altered[j]! : plain[clipIndex]!;
    // a measured frame's time (its spread around its own block's median) at the typical speed, times the load
    const inferenceMs = typical * wander.noise[Math.floor(r() * wander.noise.length)]! * load[i]!;
    const rec = record(f, t, 'bench-cam', altered ? (s.latencyScale ?? 1) : 1, inferenceMs, altered && s.deployment ? s.deployment : undefined);
    if (rec.dp !== dp) flicker.reset(); // the engine's association starts afresh on a new deployment too
    dp = rec.dp;
    engine.observe(rec, f.detections);
    if (s.reference && t >= nextReference) {
      // the reference's verdict on this frame (it comes a run later in the kiosk; here at once)
      nextReference = t + REFERENCE_EVERY_MS;
      const counts = agreement(f.detections, s.reference[clipIndex]!.detections);
      engine.observeAgreement({ id: rec.id, t, modelVersion: manifest.sha256, deployment: rec.dp, reference: referenceManifest.sha256, counts, detections: [], ms: 300, g: rec.g });
      judged[altered ? 'changed' : afterBaseline ? 'after' : 'baseline'].push(counts);
    }
    flicker.push(f.detections, !afterBaseline ? 'baseline' : altered && s.altered ? 'changed' : 'after');
    clock(t, (sec) => {
      // the flicker rule's reading after the change (after the baseline where nothing changes): its peak against
      // the threshold in force then
      if ((s.altered || s.latencyScale || s.leakMBPerMin ? changeAt !== undefined : afterBaseline) && sec % 5 === 0) {
        const x = engine.signals().find((g) => g.rule === 'flicker-rise');
        if (x && Number.isFinite(x.value) && !(x.value / x.threshold <= peak.value / peak.threshold)) peak = { value: x.value, threshold: x.threshold };
      }
    });
  }
  const firing = alerts.filter((a) => a.state === 'firing');
  const before = changeAt === undefined ? firing : firing.filter((a) => a.t < changeAt);
  const hit = changeAt === undefined ? undefined : firing.find((a) => a.t >= changeAt && s.expect.test(a.rule));
  const baseline = flicker.get('baseline'), changed = flicker.get('changed');
  const rise = firing.filter((a) => a.rule === 'flicker-rise');
  return {
    scenario: s.name,
    minutes,
    falseAlarms: before.length,
    falseAlarmRules: [...new Set(before.map((a) => a.rule))],
    detected: changeAt === undefined ? null : Boolean(hit),
    detectionDelayS: hit && changeAt !== undefined ? (hit.t - changeAt) / 1000 : null,
    detectedBy: hit?.rule ?? null,
    cause: hit?.cause ?? null,
    evidence: hit?.evidence ?? null,
    firedAfterChange: [...new Set(firing.filter((a) => changeAt !== undefined && a.t >= changeAt).map((a) => a.rule))],
    // the deployed model's F1 against the reference over the frames it judged: in the baseline, after it unchanged, changed
    ...(s.reference ? { reference: Object.fromEntries(Object.entries(judged).map(([k, v]) => [k, v.length ? { frames: v.length, f1: f1Of(v) } : null])) } : {}),
    // blinks + flips per box tracked: over the baseline's 5 minutes, the changed frames after it, the other frames after it
    flicker: {
      baseline,
      changed: changed.tracked ? changed : null,
      after: flicker.get('after'),
      changedRatio: changed.tracked ? changed.rate / baseline.rate : null,
      riseFirings: rise.length,
      risePeak: Number.isFinite(peak.value) ? peak : null,
      riseDelayS: changeAt !== undefined && rise[0] && rise[0].t >= changeAt ? (rise[0].t - changeAt) / 1000 : null,
      riseCause: rise[0]?.cause ?? null,
    },
  };
}

/**
 * #29: a camera's conditions on the real model. The engine (defaults) watches stretches of variants of the clip at its
 * 10 fps, each from the clip's start, with the machine's load replayed as runScenario does: a compressed day (its
 * first night learnt), then faults in the night between night stretches. Per stretch, the alerts fired (delay after
 * the stretch began, cause) and the condition events.
 */
function runConditions(frames: Record<string, Frame[]>, wander: { sigma: number; tauS: number; noise: number[] }, seed = 3) {
  const engine = new HealthEngine();
  const alerts: AlertEvent[] = [];
  const changes: ConditionEvent[] = [];
  engine.on((e) => (e.type === 'alert' ? alerts.push(e.alert) : e.type === 'condition' ? changes.push(e) : undefined));
  const plan: { name: string; variant: string; minutes: number; deployment?: string; fault?: boolean }[] = [
    { name: 'day (its baseline)', variant: 'plain', minutes: 6 },
    { name: 'first night (a new condition: learnt)', variant: 'night', minutes: 7 },
    { name: 'day', variant: 'plain', minutes: 4 },
    { name: 'night', variant: 'night', minutes: 4 },
    { name: 'day', variant: 'plain', minutes: 4 },
    { name: 'night', variant: 'night', minutes: 3 },
    { name: 'night: lens covered', variant: 'night-covered', minutes: 2, fault: true },
    { name: 'night', variant: 'night', minutes: 3 },
    { name: 'night: defocused', variant: 'night-defocused', minutes: 2, fault: true },
    { name: 'night', variant: 'night', minutes: 3 },
    { name: 'night: bumped (64×48 px)', variant: 'night-bumped', minutes: 2, fault: true },
    { name: 'night', variant: 'night', minutes: 3 },
    { name: 'night: blind deployment (pixels ÷ 255)', variant: 'night-blind', minutes: 3, deployment: 'b1b1b1b1b1b1', fault: true },
  ];
  const total = plan.reduce((a, p) => a + p.minutes * 60 * FPS, 0);
  const load = loadTrace(total, wander.sigma, wander.tauS, seed, FPS);
  const heap = heapTrace(Math.ceil(total / FPS / 60) + 1, seed + 1);
  const r = rng(seed + 2);
  const typical = median(frames.plain!.map((f) => f.inferenceMs));
  const t0 = Date.UTC(2026, 11, 6, 16);
  const clock = pageClock(engine, t0, heap);
  let i = 0;
  const out = [];
  let previousFault = false;
  for (const p of plan) {
    const from = t0 + Math.round((i * 1000) / FPS);
    const clip = frames[p.variant]!;
    for (let k = 0; k < p.minutes * 60 * FPS; k++, i++) {
      const t = t0 + Math.round((i * 1000) / FPS);
      const f = clip[k % clip.length]!;
      engine.observe(record(f, t, 'bench-cam', 1, typical * wander.noise[Math.floor(r() * wander.noise.length)]! * load[i]!, p.deployment), f.detections);
      clock(t);
    }
    const to = t0 + Math.round((i * 1000) / FPS);
    const fired = alerts.filter((a) => a.state === 'firing' && a.t >= from && a.t < to);
    out.push({
      stretch: p.name,
      minutes: p.minutes,
      fault: Boolean(p.fault),
      // the stretch after a fault: alerts of the fault may still fire or resolve in it (a 2-minute window's `for`)
      afterFault: previousFault,
      conditions: changes.filter((e) => e.t >= from && e.t < to).map((e) => ({ state: e.state, to: e.to, afterS: (e.t - from) / 1000 })),
      alerts: fired.map((a) => ({ rule: a.rule, afterS: (a.t - from) / 1000, cause: a.cause ?? null })),
    });
    previousFault = Boolean(p.fault);
  }
  // the thresholds' evidence: the night picture against the day's, each fault's against the night's (5-s windows' means over the clip)
  const sig = (v: string) => {
    const fs = frames[v]!;
    const mean = (k: 'brightness' | 'contrast' | 'saturation' | 'sharpness') => fs.reduce((a, f) => a + f.image[k], 0) / fs.length;
    const thumb = Array.from({ length: 256 }, (_, j) => fs.reduce((a, f) => a + f.image.thumb[j]!, 0) / fs.length);
    return { brightness: mean('brightness'), contrast: mean('contrast'), saturation: mean('saturation'), sharpness: mean('sharpness'), thumb };
  };
  const day = sig('plain'), night = sig('night');
  const pictures = Object.fromEntries(['plain', 'night', 'night-covered', 'night-defocused', 'night-bumped'].map((v) => {
    const x = sig(v), ref = v === 'night' ? day : night;
    return [v, { brightness: x.brightness, contrast: x.contrast, saturation: x.saturation, sharpForContrast: x.sharpness / x.contrast ** 2, sharpShareOfRef: x.sharpness / x.contrast ** 2 / (ref.sharpness / ref.contrast ** 2), sceneDistanceToRef: v === 'plain' ? 0 : sceneDistance(x.thumb, ref.thumb), faultLike: v === 'plain' ? null : faultLike(x, ref) ?? null }];
  }));
  return { stretches: out, pictures, quietStretchAlerts: out.filter((x) => !x.fault && !x.afterFault).reduce((a, x) => a + x.alerts.length, 0) };
}

async function main() {
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  const session = await ort.InferenceSession.create(join(root, 'models', 'centernet-coco.onnx'), { intraOpNumThreads: 2 });
  // warm up: the first runs are slow, and their times would be a cluster of outliers in the baseline's tail
  const { width: iw, height: ih } = inputSize(manifest);
  for (let i = 0; i < 20; i++) await session.run({ [manifest.input.name]: new ort.Tensor('float32', new Float32Array(iw * ih * 3), feedShape(manifest)) });
  const statsMs: number[] = [];
  const variants: Record<string, string> = {
    plain: '',
    darkened: DARKENED,
    defocused: DEFOCUS,
    bumped: BUMP,
    // another scene with the same image statistics: the hall seen mirrored (as a camera swapped for one
    // facing the other way would), every pixel's value kept
    swapped: 'hflip',
    // the same footage through other deployments of the same model file
    blind: '',
    'sees-less': '',
    // a deployment wrong more often with ordinary-looking boxes (#27): the pixels scaled ×2.5 (normalisation scale 0.4)
    'wrong-2.5x': '',
    // and the reference model's own view of the plain clip
    reference: '',
    // #29: the clip as a camera's night IR mode shows it, and faults in the night
    night: NIGHT_IR,
    'night-covered': `${NIGHT_IR},${COVERED}`,
    'night-defocused': `${DEFOCUS},${NIGHT_IR}`,
    'night-bumped': `${BUMP},${NIGHT_IR}`,
    'night-blind': NIGHT_IR,
  };
  const deployments: Record<string, { manifest?: ModelManifest; threshold?: number }> = {
    // the everyday integration mistake: pixels scaled to 0–1 (÷ 255) where the graph wants 0–255
    blind: { manifest: { ...plainManifest, input: { ...plainManifest.input, normalization: { ...plainManifest.input.normalization, scale: 255 } } } },
    // a score threshold raised from 0.3 to 0.5: the model still sees, less
    'sees-less': { threshold: 0.5 },
    'wrong-2.5x': { manifest: { ...plainManifest, input: { ...plainManifest.input, normalization: { ...plainManifest.input.normalization, scale: 0.4 } } } },
    reference: { manifest: referenceManifest },
    'night-blind': { manifest: { ...plainManifest, input: { ...plainManifest.input, normalization: { ...plainManifest.input.normalization, scale: 255 } } } },
  };
  const referenceSession = await ort.InferenceSession.create(join(root, 'models', 'centernet-coco-512.onnx'), { intraOpNumThreads: 2 });
  // HEALTH_REUSE=1: the frames analysed by the last run (bench/results/health-frames.json), to iterate on scenarios
  const cache = join(root, 'bench', 'results', 'health-frames.json');
  let frames: Record<string, Frame[]> = {};
  if (process.env.HEALTH_REUSE && existsSync(cache)) {
    const saved = JSON.parse(readFileSync(cache, 'utf8')) as { frames: Record<string, Frame[]>; statsMs: number[] };
    frames = saved.frames;
    for (const fs of Object.values(frames)) for (const f of fs) f.image.thumb = Uint8Array.from(f.image.thumb as unknown as number[]);
    statsMs.push(...saved.statsMs);
    console.log(`reusing the frames analysed before (${cache.replace(`${root}/`, '')})`);
  }
  if (Object.keys(variants).some((k) => !frames[k])) {
    for (const [name, filter] of Object.entries(variants)) {
      if (frames[name]) continue;
      const t = performance.now();
      frames[name] = await analyse(name === 'reference' ? referenceSession : session, filter, name === 'reference' ? [] : statsMs, deployments[name]);
      console.log(`analysed ${name}: ${frames[name].length} frames in ${fmt((performance.now() - t) / 1000)} s (real model, onnxruntime-node)`);
    }
    writeFileSync(cache, JSON.stringify({ frames, statsMs }, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Uint8Array) : v)));
  }
  const plain = frames.plain!;
  // the machine's load, as measured: each analysis pass's 10-s blocks (100 frames) and their medians
  const all = Object.entries(frames).flatMap(([k, fs]) => (k === 'reference' ? [] : fs.map((f) => f.inferenceMs)));
  // (the night variants' times are among them: the load of the whole analysis)
  const blocks: number[][] = [];
  for (let i = 0; i + 100 <= all.length; i += 100) blocks.push(all.slice(i, i + 100));
  const blockMedians = blocks.map((b) => median(b));
  const logDev = blockMedians.map((m) => Math.log(m / median(blockMedians)));
  const measuredSigma = Math.sqrt(logDev.reduce((a, x) => a + x * x, 0) / Math.max(1, logDev.length - 1));
  // replayed at the measured σ, within 4–10 %: past 10 % the machine is overloaded (inference 1.3× slower for
  // minutes at a time is what latency-creep is there to report), so that is replayed too, and reported apart
  const wander = {
    sigma: Math.min(0.1, Math.max(0.04, measuredSigma)),
    tauS: 300,
    // each measured time over its block's median: the frame-to-frame spread without the load
    noise: blocks.flatMap((b, i) => b.map((x) => x / blockMedians[i]!)),
  };
  console.log(`measured inference: median ${fmt(median(all))} ms; load wander between 10-s blocks σ ${fmt(measuredSigma * 100)} % (replayed at σ ${fmt(wander.sigma * 100)} %, 5-min correlation)`);
  // the clip's quietest and busiest 20 s (detections per frame against the clip's mean)
  const perFrame = plain.map((f) => f.detections.length);
  const clipMean = perFrame.reduce((a, x) => a + x, 0) / perFrame.length;
  const starts = Array.from({ length: Math.floor((plain.length - 200) / 10) + 1 }, (_, i) => i * 10);
  const rateAt = (a: number) => perFrame.slice(a, a + 200).reduce((x, y) => x + y, 0) / 200;
  const pick = (better: (x: number, y: number) => boolean) => {
    const a = starts.reduce((best, x) => (better(rateAt(x), rateAt(best)) ? x : best), 0);
    return { range: [a, a + 200] as [number, number], label: `${fmt(a / FPS, 0)}–${fmt((a + 200) / FPS, 0)} s, ${fmt(rateAt(a))} detections a frame against ${fmt(clipMean)}` };
  };
  const stretch = { quiet: pick((x, y) => x < y), busy: pick((x, y) => x > y) };
  const scenarios: [Scenario, number][] = [
    [{ name: 'unchanged clip, looping, an hour', expect: /$^/ }, 60],
    [{ name: "unchanged clip at the kiosk's 3 frames a second, an hour", stride: FPS / 3, expect: /$^/ }, 60],
    [{ name: 'unchanged clip, an hour, with the reference model', reference: frames.reference, expect: /$^/ }, 60],
    [{ name: 'wrong more often (pixels ×2.5), with the reference model', altered: frames['wrong-2.5x'], deployment: 'c0c0c0c0c0c0', persistent: true, reference: frames.reference, expect: /^reference-disagreement$/ }, 10],
    [{ name: 'heap leak (1.5 MB/min from minute 20)', leakMBPerMin: 1.5, leakFromMin: 20, expect: /^memory-staircase$/ }, 40],
    [{ name: 'darkened (brightness −0.45)', altered: frames.darkened, expect: /^(brightness|confidence)-/ }, 8],
    [{ name: 'defocused lens (gaussian blur σ 3)', altered: frames.defocused, expect: /^sharpness-/ }, 8],
    [{ name: 'camera bumped (view moved 64×48 px)', altered: frames.bumped, expect: /^scene-/ }, 8],
    [{ name: 'scene swapped (the hall mirrored, same image statistics)', altered: frames.swapped, persistent: true, expect: /^(scene|class)-/ }, 8],
    // flicker-rise needs its 2-min window and 1 min `for`: the degradations again, staying once they start
    [{ name: 'darkened, from then on', altered: frames.darkened, persistent: true, expect: /^flicker-rise$/ }, 10],
    [{ name: 'defocused, from then on', altered: frames.defocused, persistent: true, expect: /^flicker-rise$/ }, 10],
    [{ name: 'darkened, from then on, at 3 frames a second', altered: frames.darkened, persistent: true, stride: FPS / 3, expect: /^flicker-rise$/ }, 10],
    [{ name: 'defocused, from then on, at 3 frames a second', altered: frames.defocused, persistent: true, stride: FPS / 3, expect: /^flicker-rise$/ }, 10],
    [{ name: 'latency creep (inference ×1.8, from then on)', latencyScale: 1.8, persistent: true, expect: /^latency-/ }, 8],
    [{ name: 'blind deployment (pixels ÷ 255 where the graph wants 0–255)', altered: frames.blind, deployment: 'b1b1b1b1b1b1', persistent: true, expect: /^detections-collapse$/ }, 8],
    [{ name: 'sees less (score threshold 0.3 → 0.5)', altered: frames['sees-less'], deployment: '5e5e5e5e5e5e', persistent: true, expect: /^detections-drop$/ }, 10],
    [{ name: `quiet stretch (${stretch.quiet.label}), looping`, segment: stretch.quiet.range, expect: /$^/ }, 15],
    [{ name: `busy stretch (${stretch.busy.label}), looping`, segment: stretch.busy.range, expect: /$^/ }, 15],
  ];
  const results = scenarios.map(([s, m]) => runScenario(plain, s, m, wander));
  // the unchanged hour again under other draws of the load and the heap: false alarms per hour
  const SEEDS = Number(process.env.HEALTH_SEEDS ?? 5);
  const hours = Array.from({ length: SEEDS }, (_, k) => runScenario(plain, scenarios[0]![0], 60, wander, 101 + k * 7));
  const overloaded = measuredSigma > 0.1 ? runScenario(plain, scenarios[0]![0], 60, { ...wander, sigma: measuredSigma }, 5) : undefined;
  const conditions = runConditions(frames, wander);
  const summary = {
    date: new Date().toISOString(),
    clip: 'vtest.avi (opencv-doc), 795 frames, 10 fps, 640×480',
    imageStatsMs: { median: median(statsMs), p95: q(statsMs, 0.95), frames: statsMs.length, where: 'Node (same code the frame worker runs)' },
    loadWander: { measuredSigma, replayedSigma: wander.sigma, correlationS: wander.tauS, medianInferenceMs: median(all) },
    scenarios: results,
    unchangedHours: { seeds: SEEDS, falseAlarms: hours.map((h) => h.falseAlarms), rules: [...new Set(hours.flatMap((h) => h.falseAlarmRules))] },
    // each variant's flicker on the same stretch of the clip (its second half, the part the altered scenarios alter),
    // at the clip's 10 fps and at the kiosk's 3 a second (frames 0, 3, 6, 10, 13…, drifting through the clip's loops)
    flickerByVariant: variantFlicker(frames, Object.keys(variants), { fps10: 1, fps3: FPS / 3 }),
    conditions,
    ...(overloaded ? { unchangedHourAtMeasuredSigma: { sigma: measuredSigma, alerts: overloaded.falseAlarms, rules: overloaded.falseAlarmRules } } : {}),
    targets: { unchangedFalseAlarms: 0, darkenedDelayS: '≤ 30', imageStatsMs: '≤ 1' },
  };
  writeFileSync(join(root, 'bench', 'results', 'health.json'), JSON.stringify(summary, null, 2));
  console.log('\n== health benchmark: detection delay and false alarms (real model on vtest, default rules, 5-min baseline) ==');
  console.log('scenario                                  min  false alarms  detected  delay (s)  by (cause)');
  for (const r of results)
    console.log(`  ${r.scenario.padEnd(40)} ${String(r.minutes).padStart(3)}  ${String(r.falseAlarms).padStart(12)}  ${String(r.detected ?? '—').padStart(8)}  ${r.detectionDelayS === null ? '        —' : fmt(r.detectionDelayS).padStart(9)}  ${r.detectedBy ?? ''}${r.cause ? ` (${r.cause})` : ''}${r.falseAlarmRules.length ? `  (false: ${r.falseAlarmRules.join(', ')})` : ''}`);
  console.log(`unchanged hour under ${SEEDS} other draws of load and heap: false alarms ${summary.unchangedHours.falseAlarms.join(', ')}${summary.unchangedHours.rules.length ? ` (${summary.unchangedHours.rules.join(', ')})` : ''}`);
  console.log('\n== flicker: blinks + flips per box tracked (the engine\'s association on the replayed boxes) ==');
  console.log('scenario                                  baseline  changed frames (× baseline)  other frames after  flicker-rise fired');
  const pc = (x: { rate: number } | null) => (x && Number.isFinite(x.rate) ? `${fmt(100 * x.rate, 2)} %` : '—');
  for (const r of results)
    console.log(`  ${r.scenario.slice(0, 40).padEnd(40)} ${pc(r.flicker.baseline).padStart(8)}  ${`${pc(r.flicker.changed)}${r.flicker.changedRatio === null ? '' : ` (×${fmt(r.flicker.changedRatio, 2)})`}`.padStart(27)}  ${pc(r.flicker.after).padStart(18)}  ${r.flicker.riseFirings ? `${r.flicker.riseFirings}×${r.flicker.riseDelayS === null ? '' : `, first ${fmt(r.flicker.riseDelayS)} s after the change`}${r.flicker.riseCause ? ` (${r.flicker.riseCause})` : ''}` : 'no'}${r.flicker.risePeak ? ` (peak ×${fmt(r.flicker.risePeak.value, 2)}, threshold then ${fmt(r.flicker.risePeak.threshold, 2)})` : ''}`);
  console.log('the same stretch of the clip (its second half), each variant against plain:');
  for (const [v, by] of Object.entries(summary.flickerByVariant))
    console.log(`  ${v.padEnd(10)} 10 fps ${pc(by.fps10!.secondHalf).padStart(8)} (×${fmt(by.fps10!.secondHalf.rate / summary.flickerByVariant.plain!.fps10!.secondHalf.rate, 2)})   3 a second ${pc(by.fps3!.secondHalf).padStart(8)} (×${fmt(by.fps3!.secondHalf.rate / summary.flickerByVariant.plain!.fps3!.secondHalf.rate, 2)})`);
  console.log('\n== conditions (#29): a compressed day, then faults in the night (real model, default rules) ==');
  for (const x of conditions.stretches)
    console.log(`  ${x.stretch.padEnd(42)} ${String(x.minutes).padStart(2)} min  conditions: ${x.conditions.map((c) => `${c.state} ${c.to} +${fmt(c.afterS, 0)} s`).join(', ') || '—'}  alerts: ${x.alerts.map((a) => `${a.rule} +${fmt(a.afterS, 0)} s (${a.cause})`).join(', ') || 'none'}`);
  console.log(`  alerts in the day and night stretches (not those right after a fault): ${conditions.quietStretchAlerts}`);
  if (overloaded) console.log(`unchanged hour at this machine's measured load wander (σ ${fmt(measuredSigma * 100)} %, overloaded): ${overloaded.falseAlarms} alerts (${overloaded.falseAlarmRules.join(', ') || 'none'})`);
  console.log(`input-image statistics: median ${fmt(summary.imageStatsMs.median, 3)} ms, p95 ${fmt(summary.imageStatsMs.p95, 3)} ms per 640×480 frame (target ≤ 1)`);
  console.log('written: bench/results/health.json');
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
