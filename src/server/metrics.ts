/**
 * Prometheus text exposition (format 0.0.4) for the fleet: a small writer (escaping, HELP/TYPE, counters,
 * gauges, cumulative histograms) and the fleet's metric families built from plain data (the all-time merged
 * rollups, the last 5 minutes, firing alerts, sources). Pure: no database, no clock.
 *
 * Latency histograms are coarsened from the 64 log-spaced buckets of telemetry/histogram.ts to 21 bounds
 * (every third bound: ×1.95 apart, 0.156 ms to 102 s) plus +Inf, by summing adjacent buckets; the counts at
 * those bounds stay exact. Their `_sum` is estimated (each bucket at its geometric middle), as the rollups
 * keep no exact latency sums. The confidence histogram keeps its 20 bins on [0, 1] (`le` 0.05 … 1).
 */
import { CONFIDENCE_BINS, LATENCY_BOUNDS, latencyMean, total as histTotal, type Hist } from '../telemetry/histogram.ts';
import { parseTagKey, STAGES } from '../telemetry/record.ts';
import { emptyRollup, mergeRollup, type Rollup } from '../telemetry/rollup.ts';
import type { AlertEvent } from '../health/types.ts';
import { shortVersion } from '../lib/short-version.ts';

export type Labels = Record<string, string>;

/** A counter or gauge sample. */
export interface Sample {
  labels: Labels;
  value: number;
}

/** A histogram sample: upper bounds (ascending) and per-bucket counts (one more than bounds: the last is above every bound). */
export interface HistSample {
  labels: Labels;
  bounds: readonly number[];
  counts: readonly number[];
  sum: number;
}

/** One metric family. */
export type Family =
  | { name: string; help: string; type: 'counter' | 'gauge'; samples: Sample[] }
  | { name: string; help: string; type: 'histogram'; samples: HistSample[] };

/** A label value escaped for the exposition format (backslash, double quote, newline). */
export const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

/** A sample value as the format writes it (NaN, +Inf, -Inf). */
export function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
function labelText(labels: Labels, extra?: [string, string]): string {
  const parts = Object.entries(labels).map(([k, v]) => {
    if (!LABEL_NAME.test(k)) throw new Error(`bad label name ${k}`);
    return `${k}="${escapeLabel(v)}"`;
  });
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** The exposition text of some families (each family's samples in the order given). */
export function writeExposition(families: readonly Family[]): string {
  const out: string[] = [];
  for (const f of families) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(f.name)) throw new Error(`bad metric name ${f.name}`);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    if (f.type !== 'histogram') {
      for (const s of f.samples) out.push(`${f.name}${labelText(s.labels)} ${formatValue(s.value)}`);
      continue;
    }
    for (const s of f.samples) {
      let acc = 0;
      s.bounds.forEach((le, i) => {
        acc += s.counts[i] ?? 0;
        out.push(`${f.name}_bucket${labelText(s.labels, ['le', formatValue(le)])} ${acc}`);
      });
      acc += s.counts[s.bounds.length] ?? 0;
      out.push(`${f.name}_bucket${labelText(s.labels, ['le', '+Inf'])} ${acc}`);
      out.push(`${f.name}_sum${labelText(s.labels)} ${formatValue(s.sum)}`);
      out.push(`${f.name}_count${labelText(s.labels)} ${acc}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** Latency bucket indices kept as bounds (every third, ending at the last bound). */
const KEPT = LATENCY_BOUNDS.map((_, i) => i).filter((i) => i % 3 === (LATENCY_BOUNDS.length - 1) % 3);
/** The coarse latency bounds in seconds. */
export const LATENCY_SECONDS: readonly number[] = KEPT.map((i) => +(LATENCY_BOUNDS[i]! / 1000).toPrecision(6));
/** The confidence bins' upper bounds. */
export const CONFIDENCE_BOUNDS: readonly number[] = Array.from({ length: CONFIDENCE_BINS }, (_, k) => (k + 1) / CONFIDENCE_BINS);

/** A latency histogram (ms buckets) → per-coarse-bucket counts (the last: above every bound, and unknown indices). */
export function coarseLatency(h: Hist): number[] {
  const counts = new Array<number>(KEPT.length + 1).fill(0);
  for (const key in h) {
    const k = +key;
    const j = k <= KEPT.at(-1)! ? KEPT.findIndex((i) => k <= i) : KEPT.length;
    counts[j]! += h[k]!;
  }
  return counts;
}

/** A confidence histogram → counts per bin (bins past the last counted above every bound). */
export function confidenceCounts(h: Hist): number[] {
  const counts = new Array<number>(CONFIDENCE_BINS + 1).fill(0);
  for (const key in h) counts[Math.min(+key, CONFIDENCE_BINS)]! += h[+key]!;
  return counts;
}

/** What the fleet's families are built from. */
export interface FleetInput {
  now: number;
  intervalMs: number;
  maxSeries: number;
  sources: { id: string; device_id: string | null; last_seen: number; dropped: number }[];
  /** the all-time merged rollup per (source, mv, g) */
  cumulative: { source: string; rollup: Rollup }[];
  /** 1-min rollups of the last 5 minutes */
  recent: { source: string; rollup: Rollup }[];
  firing: (AlertEvent & { source: string })[];
  /** process counters */
  batches: Record<string, number>;
  http: { route: string; code: number; n: number }[];
  /** label sets left out by maxSeries so far (this call adds its own) */
  droppedSoFar: number;
  /** alert forwarding per target (forward.ts); `dropped`: rows dropped unsent from a full queue */
  forwarding?: { target: string; delivered: number; deadLetters: number; pending: number; dropped?: number }[];
  /** quiet hours (forward/quiet.ts): alerts held back now, muted (never sent) and released, all time */
  quiet?: { held: number; muted: number; released: number };
  /** items dropped at ingest by reason (bounds.ts: future times, alerts per batch, firing per source) */
  itemsDropped?: Record<string, number>;
}

/** Error kinds kept as `kind` values (the most frequent over the fleet); the rest are summed into kind="other". */
export const ERROR_KINDS_MAX = 20;

/**
 * At most `max` samples of a family (every family of the fleet's labels holds FLEET_MAX_SERIES): past that, the
 * samples of the devices seen longest ago are left out. Returns the samples kept (in their order) and how many were left out.
 */
function cap<S extends { labels: Labels }>(samples: S[], max: number, rank: (l: Labels) => number): { kept: S[]; left: number } {
  if (samples.length <= max) return { kept: samples, left: 0 };
  const order = samples.map((s, i) => ({ s, i, r: rank(s.labels) }));
  order.sort((a, b) => a.r - b.r || a.i - b.i);
  const keep = order.slice(0, max).sort((a, b) => a.i - b.i);
  return { kept: keep.map((o) => o.s), left: samples.length - max };
}

const SERIES_LABELS = ['device', 'camera_id', 'location', 'condition', 'model_version'] as const;

/**
 * The fleet's metric families. Labels: device (device_id, else the source id), camera_id, location, condition
 * (the camera condition the hub recorded the frames under: health/conditions.ts; '' where none), model_version
 * (12 hex); alerts firing carry no condition. At most `maxSeries` label sets, and at most `maxSeries` samples in every family of
 * these labels (per stage, error kind or rule too): past that, the devices seen longest ago lose theirs (counted
 * in `dropped`, which the caller adds to inference_metrics_series_dropped_total). Error kinds past the
 * ERROR_KINDS_MAX most frequent are summed into kind="other".
 */
export function fleetMetrics(input: FleetInput): { families: Family[]; dropped: number } {
  const deviceOf = new Map(input.sources.map((s) => [s.id, s.device_id || s.id]));
  const lastSeen = new Map<string, number>();
  const outboxDropped = new Map<string, number>();
  for (const s of input.sources) {
    const d = deviceOf.get(s.id)!;
    lastSeen.set(d, Math.max(lastSeen.get(d) ?? 0, s.last_seen));
    outboxDropped.set(d, (outboxDropped.get(d) ?? 0) + s.dropped);
  }
  const labelsOf = (source: string, mv: string, tags: { camera_id?: string; location?: string; condition?: string }): Labels => ({
    device: deviceOf.get(source) ?? source,
    camera_id: tags.camera_id ?? '',
    location: tags.location ?? '',
    condition: tags.condition ?? '',
    model_version: shortVersion(mv),
  });
  const keyOf = (l: Labels) => JSON.stringify(SERIES_LABELS.map((k) => l[k]));

  // merge per label set (several tag keys, or several sources of one device, can share one)
  const sets = new Map<string, { labels: Labels; all: Rollup; recent?: Rollup }>();
  const setFor = (source: string, r: Rollup) => {
    const labels = labelsOf(source, r.mv, parseTagKey(r.g));
    const key = keyOf(labels);
    let s = sets.get(key);
    if (!s) sets.set(key, (s = { labels, all: emptyRollup('1h', 0, r.mv, '*') }));
    return s;
  };
  for (const { source, rollup } of input.cumulative) mergeRollup(setFor(source, rollup).all, rollup);
  for (const { source, rollup } of input.recent) {
    const s = setFor(source, rollup);
    mergeRollup((s.recent ??= emptyRollup('1m', 0, rollup.mv, '*')), rollup);
  }

  // bound cardinality: keep the label sets of the most recently seen devices
  let kept = [...sets.values()];
  let dropped = 0;
  if (kept.length > input.maxSeries) {
    kept.sort((a, b) => (lastSeen.get(b.labels.device!) ?? 0) - (lastSeen.get(a.labels.device!) ?? 0) || keyOf(a.labels).localeCompare(keyOf(b.labels)));
    dropped = kept.length - input.maxSeries;
    kept = kept.slice(0, input.maxSeries);
  }
  kept.sort((a, b) => keyOf(a.labels).localeCompare(keyOf(b.labels)));
  const keptDevices = new Set(kept.map((s) => s.labels.device!));
  const droppedDevices = new Set([...sets.values()].map((s) => s.labels.device!).filter((d) => !keptDevices.has(d)));
  const devices = [...lastSeen.keys()].filter((d) => !droppedDevices.has(d)).sort();

  const counter = (name: string, help: string, pick: (r: Rollup) => number): Family => ({ name, help, type: 'counter', samples: kept.map((s) => ({ labels: s.labels, value: pick(s.all) })) });
  // error kinds are what devices send: the ERROR_KINDS_MAX most frequent keep their name, the rest add up in "other"
  const kindTotals = new Map<string, number>();
  for (const s of kept) for (const [kind, n] of Object.entries(s.all.errors)) kindTotals.set(kind, (kindTotals.get(kind) ?? 0) + n);
  const kinds = new Set([...kindTotals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, ERROR_KINDS_MAX).map(([k]) => k));
  // the reference model's runs (rollup `ag`): only label sets where a reference ran have samples
  const agCounter = (name: string, help: string, pick: (a: NonNullable<Rollup['ag']>) => number): Family => ({
    name, help, type: 'counter', samples: kept.filter((s) => s.all.ag).map((s) => ({ labels: s.labels, value: pick(s.all.ag!) })),
  });
  // flicker (rollup `fl`): only label sets whose boxes were associated frame to frame have samples
  const flCounter = (name: string, help: string, pick: (f: NonNullable<Rollup['fl']>) => number): Family => ({
    name, help, type: 'counter', samples: kept.filter((s) => s.all.fl).map((s) => ({ labels: s.labels, value: pick(s.all.fl!) })),
  });
  const errors: Sample[] = [];
  for (const s of kept) {
    const by = new Map<string, number>();
    for (const [kind, n] of Object.entries(s.all.errors)) {
      const k = kinds.has(kind) ? kind : 'other';
      by.set(k, (by.get(k) ?? 0) + n);
    }
    for (const kind of [...by.keys()].sort()) errors.push({ labels: { ...s.labels, kind }, value: by.get(kind)! });
  }
  const latency: HistSample[] = [];
  for (const stage of STAGES)
    for (const s of kept) {
      const h = s.all.lat[stage];
      const n = histTotal(h);
      if (n) latency.push({ labels: { ...s.labels, stage }, bounds: LATENCY_SECONDS, counts: coarseLatency(h), sum: (latencyMean(h) * n) / 1000 });
    }
  const confidence: HistSample[] = kept.filter((s) => histTotal(s.all.conf) > 0).map((s) => ({ labels: s.labels, bounds: CONFIDENCE_BOUNDS, counts: confidenceCounts(s.all.conf), sum: s.all.scoreSum }));
  const meanConf: Sample[] = kept.filter((s) => s.recent && s.recent.detections > 0).map((s) => ({ labels: s.labels, value: s.recent!.scoreSum / s.recent!.detections }));

  const firing = new Map<string, Sample>();
  for (const a of input.firing) {
    const { condition: _, ...own } = labelsOf(a.source, a.mv, a);
    const labels: Labels = { ...own, rule: a.rule };
    if (droppedDevices.has(labels.device!)) continue;
    const key = JSON.stringify(labels);
    const s = firing.get(key);
    if (s) s.value++;
    else firing.set(key, { labels, value: 1 });
  }

  const down = 3 * input.intervalMs;
  const deviceRank = new Map([...lastSeen].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([d], i) => [d, i]));
  const rank = (l: Labels) => deviceRank.get(l.device ?? '') ?? deviceRank.size;
  const fleet: Family[] = [
      counter('inference_frames_total', 'Frames judged by the model', (r) => r.frames),
      counter('inference_valid_frames_total', 'Frames whose output was valid (neither malformed nor failed)', (r) => r.valid),
      counter('inference_malformed_total', 'Frames whose output was malformed', (r) => r.malformed),
      counter('inference_dropped_frames_total', 'Camera frames dropped before inference', (r) => r.dropped),
      agCounter('inference_reference_frames_total', 'Sampled frames a reference model judged (the deployed model compared with it)', (a) => a.frames),
      agCounter('inference_reference_tp_total', "Deployed detections the reference model confirms (same label, IoU ≥ 0.5; classifiers: same top-1 label)", (a) => a.tp),
      agCounter('inference_reference_fp_total', 'Deployed detections the reference model does not have', (a) => a.fp),
      agCounter('inference_reference_fn_total', "Reference model's detections the deployed model missed", (a) => a.fn),
      flCounter('inference_flicker_tracked_total', 'Boxes associated with the frame before (flicker: the denominator of its rate)', (f) => f.tracked),
      flCounter('inference_flicker_blinks_total', 'Tracked objects that blinked out for one or two frames and came back', (f) => f.blinks),
      flCounter('inference_flicker_flips_total', "Tracked boxes whose class flipped from the frame before", (f) => f.flips),
      { name: 'inference_errors_total', help: 'Malformed outputs and failed frames by kind', type: 'counter', samples: errors },
      { name: 'inference_stage_latency_seconds', help: 'Latency per pipeline stage (buckets coarsened to every third log-spaced bound; _sum estimated from bucket midpoints)', type: 'histogram', samples: latency },
      { name: 'inference_confidence', help: 'Detection scores (20 bins on [0, 1]; _sum from per-class mean scores)', type: 'histogram', samples: confidence },
      { name: 'inference_mean_confidence', help: 'Mean detection score over the last 5 minutes', type: 'gauge', samples: meanConf },
      { name: 'inference_drift_alert_firing', help: 'Alerts firing now (1 per firing alert; per-class alerts of one rule add up)', type: 'gauge', samples: [...firing.values()].sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels))) },
      { name: 'inference_device_up', help: `1 while the device synced within the last 3 sync intervals (${(down / 1000).toFixed(0)} s), else 0`, type: 'gauge', samples: devices.map((d) => ({ labels: { device: d }, value: input.now - lastSeen.get(d)! <= down ? 1 : 0 })) },
      { name: 'inference_device_last_seen_seconds', help: 'When the device last synced (unix seconds)', type: 'gauge', samples: devices.map((d) => ({ labels: { device: d }, value: Math.floor(lastSeen.get(d)! / 1000) })) },
      { name: 'inference_sync_dropped_batches_total', help: "Batches the device's bounded outbox dropped before sending", type: 'counter', samples: devices.map((d) => ({ labels: { device: d }, value: outboxDropped.get(d) ?? 0 })) },
  ];
  // FLEET_MAX_SERIES holds for every family of the fleet's labels (per stage, kind and rule too)
  for (const f of fleet) {
    const c = cap<{ labels: Labels }>(f.samples, input.maxSeries, rank);
    f.samples = c.kept as never;
    dropped += c.left;
  }
  const drops = Object.entries(input.itemsDropped ?? {}).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  return {
    dropped,
    families: [
      ...fleet,
      { name: 'inference_metrics_series_dropped_total', help: 'Label sets left out of this endpoint by FLEET_MAX_SERIES (oldest-seen devices first; per family, so per stage, error kind and rule too), summed over scrapes', type: 'counter', samples: [{ labels: {}, value: input.droppedSoFar + dropped }] },
      { name: 'fleet_items_dropped_total', help: 'Items of accepted batches the server did not keep, by reason (dated past the clock skew; alerts over a bound)', type: 'counter', samples: drops.map(([reason, value]) => ({ labels: { reason }, value })) },
      { name: 'fleet_batches_total', help: 'POST /v1/batches by result', type: 'counter', samples: Object.entries(input.batches).sort().map(([result, value]) => ({ labels: { result }, value })) },
      { name: 'fleet_http_requests_total', help: 'HTTP requests by route and status code', type: 'counter', samples: [...input.http].sort((a, b) => a.route.localeCompare(b.route) || a.code - b.code).map((h) => ({ labels: { route: h.route, code: String(h.code) }, value: h.n })) },
      ...forwardFamilies(input.forwarding ?? []),
      ...(input.quiet ? quietFamilies(input.quiet) : []),
    ],
  };
}

/** Alert forwarding per target: delivered, dead-lettered (all time) and queued now. */
function forwardFamilies(targets: NonNullable<FleetInput['forwarding']>): Family[] {
  const per = (pick: (t: (typeof targets)[number]) => number): Sample[] => targets.map((t) => ({ labels: { target: t.target }, value: pick(t) }));
  return [
    { name: 'fleet_alerts_forwarded_total', help: 'Alert state changes delivered to a target (answered 2xx)', type: 'counter', samples: per((t) => t.delivered) },
    { name: 'fleet_alerts_dead_letter_total', help: 'Alert state changes a target never took (dead-lettered after FLEET_FORWARD_ATTEMPTS)', type: 'counter', samples: per((t) => t.deadLetters) },
    { name: 'fleet_alerts_pending', help: 'Alert state changes queued for a target', type: 'gauge', samples: per((t) => t.pending) },
    { name: 'fleet_alerts_dropped_total', help: "Alert state changes dropped unsent because the target's queue was full (FLEET_FORWARD_QUEUE_MAX, oldest first)", type: 'counter', samples: per((t) => t.dropped ?? 0) },
  ];
}

/** Quiet hours (FLEET_QUIET_HOURS): alerts held back now, muted and released when the hours ended. */
function quietFamilies(q: NonNullable<FleetInput['quiet']>): Family[] {
  return [
    { name: 'fleet_alerts_muted_total', help: 'Firing alerts never forwarded because quiet hours held them back and they resolved before the hours ended (FLEET_QUIET_HOURS)', type: 'counter', samples: [{ labels: {}, value: q.muted }] },
    { name: 'fleet_alerts_held', help: 'Firing alerts held back by quiet hours now, forwarded when the hours end if still firing', type: 'gauge', samples: [{ labels: {}, value: q.held }] },
    { name: 'fleet_alerts_released_total', help: 'Firing alerts held back by quiet hours and forwarded when the hours ended', type: 'counter', samples: [{ labels: {}, value: q.released }] },
  ];
}
