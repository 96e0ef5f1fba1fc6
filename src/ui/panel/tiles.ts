/** The panel's vital-sign tiles: what each says of a refresh's data (sync and network among them), and a tile's markup. */
import { html } from 'lit';
import type { Signal, Vitals } from '../../health/types.ts';
import type { SyncStatus } from '../../sync/outbox.ts';
import { fmt, mb, pct, secondsAgo, time } from '../format.ts';
import type { PanelHost } from './data-source.ts';
import type { PanelData } from './data-source.ts';
import { type NetworkController, networkTile } from './network.ts';
import { shortVersion } from '../../lib/short-version.ts';

export type Level = 'ok' | 'warn' | 'alert' | 'idle';

export interface Tile {
  id: string;
  label: string;
  value: string;
  detail: string;
  level: Level;
}

/** What the tiles read besides the refresh's data. */
export interface TileContext {
  /** the running monitor the panel sits in, if any */
  monitor?: PanelHost;
  /** the newest log row's backend (the model tile's, without a monitor) */
  backend?: string;
  network: NetworkController;
}

/** The tiles for a refresh, in their order. */
export function tiles(d: PanelData, { monitor, backend, network }: TileContext): Tile[] {
  const v = d.vitals.length === 1 ? d.vitals[0] : undefined;
  const sig = (ids: string[]) => d.overview.rules.filter((r) => ids.some((id) => r.rule === id || r.rule.startsWith(id)));
  // a silent output signal (no detections while frames flow) is an alarm in itself
  const level = (rs: Signal[]): Level => (rs.some((r) => r.status === 'alert' || r.status === 'silent') ? 'alert' : rs.some((r) => r.status === 'warn') ? 'warn' : rs.some((r) => r.status === 'ok') ? 'ok' : 'idle');
  const tot = d.totals;
  // without a live monitor on this page: results per second in the newest bucket, from its first frame
  // (or the bucket's start) to the last recorded frame, while that is recent
  const s = d.series;
  const k = s.t.length - 1;
  const bucketMs = { '10s': 10_000, '1m': 60_000, '1h': 3600_000 }[s.res];
  const span = k >= 0 ? (tot.last - Math.max(s.t[k]!, tot.first)) / 1000 : 0;
  const prevSpan = k >= 1 ? (s.t[k]! - Math.max(s.t[k - 1]!, tot.first)) / 1000 : 0; // a bucket just begun: the one before
  const recent = k >= 0 && Date.now() - tot.last < 3 * bucketMs && (span >= 1 || prevSpan >= 1);
  const fps = v?.reliability.fps ?? (!recent ? undefined : span >= 1 ? (s.frames[k]! - 1) / span : s.frames[k - 1]! / prevSpan);
  const confDelta = tot.meanConfidence - (v?.confidence.baselineMean ?? NaN);
  const drift = d.overview.rules.filter((r) => ['ewma', 'cusum', 'psi', 'js', 'ks'].includes(r.aggregation));
  const info = monitor?.readyInfo;
  const mv = info?.modelVersion ?? d.dims.mv[0];
  const quota = d.usage.quota ? ` of ${mb(d.usage.quota)}` : '';
  const camState = monitor?.state;
  // frames flowing, none detected: the confidence shown would be from before
  const blind = v !== undefined && v.detections.recentFrames > 0 && v.detections.recentPerFrame === 0;
  const camDown = camState === 'running' ? monitor?.cameraDown : undefined;
  const frozen = sig(['frame-frozen']);
  const stall = level([...sig(['frames-stalled']), ...frozen]);
  const stalled = stall === 'idle' ? 'ok' : stall; // running, not yet checked for stalls: ok
  return [
    { id: 'fps', label: 'FPS', value: fmt(fps), detail: v ? `baseline ${fmt(v.reliability.baselineFps)} · camera ${fmt(v.reliability.cameraFps)}` : recent ? `recorded, last ${s.res} bucket` : 'no recent frames', level: level(sig(['fps-drop', 'frames-stalled'])) },
    { id: 'latency', label: 'Latency p50 / p95', value: `${fmt(d.latency.values[0], 0)} / ${fmt(d.latency.values[1], 0)} ms`, detail: v ? `baseline ${fmt(v.latency.inference.baselineP50, 0)} / ${fmt(v.latency.inference.baselineP95, 0)} ms` : 'inference stage', level: level(sig(['latency-'])) },
    { id: 'success', label: 'Success rate', value: pct(tot.successRate), detail: `${v && Number.isFinite(v.reliability.baselineSuccessRate) ? `baseline ${pct(v.reliability.baselineSuccessRate)} · ` : ''}${tot.frames} frames, ${tot.frames - tot.valid} failed`, level: tot.frames ? level(sig(['success-rate'])) : 'idle' },
    blind
      ? { id: 'confidence', label: 'Mean confidence', value: 'no detections', detail: `none in the last ${v!.detections.recentFrames} frames: no confidence to show`, level: 'alert' as Level }
      : { id: 'confidence', label: 'Mean confidence', value: fmt(tot.meanConfidence, 3), detail: Number.isFinite(confDelta) ? `Δ ${confDelta >= 0 ? '+' : ''}${confDelta.toFixed(3)} vs baseline` : 'no baseline yet', level: level(sig(['confidence-'])) },
    ...(v ? [detectionsTile(v, level(sig(['detections-', 'class-detections-'])))] : []),
    ...(v?.reference ? [referenceTile(v.reference, level(sig(['reference-disagreement'])))] : []),
    ...(v?.flicker.tracked ? [flickerTile(v, level(sig(['flicker-'])))] : []),
    { id: 'malformed', label: 'Malformed outputs', value: String(tot.malformed), detail: Object.entries(tot.errors).map(([k, n]) => `${k} ${n}`).join(', ') || 'none', level: tot.malformed ? 'alert' : tot.frames ? 'ok' : 'idle' },
    { id: 'drift', label: 'Drift', value: drift.some((r) => r.status === 'alert') ? 'drifting' : drift.some((r) => r.status === 'silent') ? 'no output' : drift.some((r) => r.status === 'warn') ? 'watch' : drift.some((r) => r.status === 'ok') ? 'stable' : drift.some((r) => r.status === 'learning') ? 'learning baseline' : '–', detail: `${drift.filter((r) => r.status === 'alert' || r.status === 'warn' || r.status === 'silent').length} of ${drift.length} signals off`, level: level(drift) },
    { id: 'alerts', label: 'Alerts firing', value: String(d.overview.firing), detail: `${d.alerts.filter((a) => a.state === 'firing').length} fired in range`, level: d.overview.firing ? 'alert' : 'ok' },
    { id: 'model', label: 'Model · backend', value: `${mv ? shortVersion(mv) : '–'} · ${info?.backend ?? backend ?? '–'}`, detail: info?.fallbackReason ? `fallback: ${info.fallbackReason}` : deploymentText(v) ?? info?.modelId ?? '', level: info?.fallbackReason ? 'warn' : info ? 'ok' : 'idle' },
    {
      id: 'storage', label: 'Storage used', value: `${mb(d.usage.usage)}${quota}`,
      // storage full: the oldest raw frames made room (rollups kept), which the tile says until the page reloads
      detail: `${d.usage.status.mode}${d.usage.persisted ? ', persistent' : ''}${d.usage.status.evicted ? ` · storage full: ${d.usage.status.evicted.toLocaleString('en')} oldest frames evicted, rollups kept` : ''}${d.usage.status.error ? ` — ${d.usage.status.error}` : ''}`,
      level: d.usage.status.mode === 'memory' || d.usage.status.evicted ? 'warn' : 'ok',
    },
    ...(d.sync && d.sync.state !== 'off' ? [syncTile(d.sync)] : []),
    ...(network.online ? [] : [networkTile(network, time)]),
    camDown
      ? { id: 'camera', label: 'Camera', value: 'camera down' as string, detail: `${camDown.reason === 'ended' ? 'lost' : 'muted'} ${Math.round((Date.now() - camDown.since) / 1000)} s ago${v ? ` · uptime ${pct(v.reliability.uptime)}` : ''}`, level: 'alert' }
      : { id: 'camera', label: 'Camera', value: camState ?? (v ? 'frames flowing' : '–'), detail: v ? `uptime ${pct(v.reliability.uptime)}${frozen.some((r) => r.status === 'alert') ? ' · picture frozen' : ''}` : '', level: camState === 'error' ? 'alert' : camState === 'running' || v ? stalled : 'idle' },
  ];
}

/** The detections tile: detections per frame over the last minute against the baseline's (does the model still see?). */
function detectionsTile(v: Vitals, level: Level): Tile {
  const { recentPerFrame: perFrame, baselinePerFrame } = v.detections; // now (10 s), as the confidence tile
  const change = perFrame / baselinePerFrame - 1;
  return {
    id: 'detections',
    label: 'Detections per frame',
    value: fmt(perFrame, 2),
    detail: Number.isFinite(baselinePerFrame) ? `baseline ${fmt(baselinePerFrame, 2)}${Number.isFinite(change) ? ` (${change >= 0 ? '+' : '−'}${Math.abs(Math.round(change * 100))} %)` : ''}` : 'no baseline yet',
    level: Number.isFinite(perFrame) ? level : 'idle',
  };
}

/** The reference tile: the deployed model's agreement with the reference model (F1) against the baseline's, and how often the reference runs. */
function referenceTile(r: NonNullable<Vitals['reference']>, level: Level): Tile {
  return {
    id: 'reference',
    label: 'Agreement with reference',
    value: r.frames ? `F1 ${fmt(r.f1, 2)}` : 'no frames yet',
    detail: `${Number.isFinite(r.baselineF1) ? `baseline ${fmt(r.baselineF1, 2)} · ` : ''}${r.frames} frames in 2 min, ${r.perMinute} a minute (${fmt(r.runMs, 0)} ms each) · reference ${shortVersion(r.version)}`,
    level: r.frames ? level : 'idle',
  };
}

/** The flicker tile: detections that blink out and come back, and class flips, per box tracked over the last minute, against the baseline's. */
function flickerTile(v: Vitals, level: Level): Tile {
  const { rate, baselineRate, tracked, blinks, flips } = v.flicker;
  return {
    id: 'flicker',
    label: 'Flicker',
    value: pct(rate),
    detail: `${Number.isFinite(baselineRate) ? `baseline ${pct(baselineRate)} · ` : ''}${blinks} blinks, ${flips} flips of ${tracked} boxes`,
    level,
  };
}

/** The deployment and, while a new one is compared with the previous one's baseline, that comparison. */
function deploymentText(v?: Vitals): string | undefined {
  const b = v?.baseline;
  if (!b?.deployment) return undefined;
  if (b.state === 'comparing') return `new deployment ${b.deployment}: compared with ${b.previous?.deployment ?? shortVersion(b.previous?.mv ?? '')}'s baseline, learning its own ${Math.round(b.progress * 100)} %`;
  return `deployment ${b.deployment}`;
}

/** The sync tile: state and last success; backlog (batches, age of the oldest) and the last error. */
function syncTile(s: SyncStatus): Tile {
  // another page of this origin runs the sync (one at a time): what this page knows of it is from its start
  if (s.state === 'elsewhere') return { id: 'sync', label: 'Sync', value: 'by another tab', detail: 'another page of this site sends the batches; this one takes over when it closes', level: 'ok' };
  const err = s.stats.lastError;
  const failing = !!err && (!s.stats.lastSuccessAt || err.at > s.stats.lastSuccessAt);
  const backlog = s.backlog.batches ? `${s.backlog.batches} batch${s.backlog.batches === 1 ? '' : 'es'} waiting, oldest ${secondsAgo(s.backlog.oldestAt)}` : 'nothing waiting';
  const dropped = s.stats.dropped ? ` · ${s.stats.dropped} dropped (queue full)` : '';
  const rejected = s.stats.rejected ? ` · ${s.stats.rejected} refused` : '';
  const skipped = s.stats.skipped ? ` · ${s.stats.skipped} items left out (invalid)` : '';
  return {
    id: 'sync',
    label: 'Sync',
    value: s.state === 'offline' ? 'offline' : `synced ${secondsAgo(s.stats.lastSuccessAt)}`,
    detail: `${backlog}${dropped}${rejected}${skipped}${failing ? ` — ${err!.code}: ${err!.message}` : ''}`,
    level: failing && err!.code === 'sync-unauthorized' ? 'alert' : failing || s.state === 'offline' || s.stats.dropped ? 'warn' : 'ok',
  };
}

/** One tile: its label and level, value and detail (both also as a title: they may be cut off). */
export const renderTile = (t: Tile) =>
  html`<div class="tile" part="tile tile-${t.level}" data-tile=${t.id} data-level=${t.level} role="group" aria-label=${t.label}>
    <h3>${t.label} <span class="level">${t.level === 'idle' ? '' : t.level}</span></h3>
    <div class="value" title=${t.value}>${t.value}</div>
    <div class="detail" title=${t.detail}>${t.detail}</div>
  </div>`;
