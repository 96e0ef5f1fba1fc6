/**
 * `<inference-monitor>`'s view: the stage (video, boxes), an overlay saying what it does (loading, failed, camera
 * down, model not answering, stopped), the status bar (model, backend, fps, flag button, sync error, alerts), the health panel beside.
 */
import { html, nothing } from 'lit';
import type { AlertEvent } from '../../health/types.ts';
import { shortVersion } from '../../lib/short-version.ts';
import type { InferenceResult, ReadyInfo } from '../../inference/protocol.ts';
import type { MonitorErrorCode } from '../../lib/errors.ts';
import type { MonitorErrorDetail } from '../monitor-events.ts';
import type { PanelHost } from '../panel/data-source.ts';
import '../health-panel.ts';
import type { ChallengerSummary } from '../../inference/challenger.ts';
import { challengerTable } from './challenger-table.ts';
import type { CameraDown, InferenceHung, MonitorState } from './pipeline.ts';

/** What the view shows: the element's state at this render. */
export interface MonitorView {
  state: MonitorState;
  /** what a start does now */
  progress: string;
  error?: MonitorErrorDetail;
  ready?: ReadyInfo;
  down?: CameraDown;
  /** the inference worker is stuck in a run and being replaced */
  hung?: InferenceHung;
  fps: number;
  last?: InferenceResult;
  /** the "Flag this frame" button is there (running, recording and flagging) */
  flaggable: boolean;
  onFlag: () => void;
  flagNote: string;
  syncError?: { code: string; message: string };
  /** alerts firing now, by rule */
  firing: Map<string, AlertEvent>;
  /** the health panel beside the video */
  panel: boolean;
  /** the monitor, for its panel */
  monitor: PanelHost;
  cameraId: string;
  theme: string;
  /** with a challenger model: the comparison so far (the side-by-side table) */
  challenger?: ChallengerSummary;
}

/** The monitor's shadow DOM for `v`. */
export function monitorView(v: MonitorView) {
  const r = v.ready;
  const err = v.error;
  const panel = v.panel;
  const { firing, syncError } = v;
  return html`<div class="layout ${panel ? 'with-panel' : ''}">
      <div class="main">
      <div class="stage" part="stage">
        <video part="video" muted playsinline></video>
      </div>
      ${v.state === 'loading'
        ? html`<div class="overlay" part="status" role="status">${v.progress}</div>`
        : v.state === 'error' && err
          ? html`<div class="overlay error" part="error" role="alert">
              <strong>${describe(err.code)}</strong>
              <span>${err.message}</span>
              <code>${err.code}</code>
            </div>`
          : v.state === 'running' && v.down
            ? html`<div class="overlay warn" part="status camera-down" role="alert">
                <strong>Camera down</strong>
                <span>${v.down.message}</span>
                <span>${v.down.reason === 'ended' ? 'Waiting for a camera…' : 'Waiting for frames…'}</span>
              </div>`
          : v.state === 'running' && v.hung
            ? html`<div class="overlay warn" part="status inference-hung" role="alert">
                <strong>Model not answering</strong>
                <span>${v.hung.message}</span>
                <span>Restarting the inference worker (${v.hung.attempt === 1 ? 'first stuck run' : `${v.hung.attempt} stuck in a row`}; the next try ${new Date(v.hung.retryAt).toLocaleTimeString()})…</span>
              </div>`
          : v.state === 'idle' || v.state === 'stopped'
            ? html`<div class="overlay" part="status">${v.state === 'idle' ? 'Not started' : 'Stopped'}</div>`
            : nothing}
      <div class="bar" part="bar">
        <span class="state-${v.state}">● ${v.state}</span>
        ${r
          ? html`<span title=${r.modelVersion}>${r.modelId} ${shortVersion(r.modelVersion)}</span>
              <span title=${r.fallbackReason ?? ''}>${r.backend}${r.fallbackReason ? html` <span class="warn">(fallback)</span>` : nothing}</span>
              <span>${v.fps.toFixed(1)} fps</span>`
          : nothing}
        ${v.last ? html`<span>${v.last.timings.inference.toFixed(0)} ms inference</span>` : nothing}
        ${v.flaggable
          ? html`<button type="button" class="flag" part="flag-button" title="Keep the frame on screen for labelling" @click=${v.onFlag}>⚑ Flag this frame</button>`
          : nothing}
        ${v.flagNote ? html`<span part="flag-note" role="status">${v.flagNote}</span>` : nothing}
        ${syncError ? html`<span class="warn" part="sync-error" role="status" title=${syncError.message}>⇅ ${syncError.code}</span>` : nothing}
        ${firing.size
          ? html`<span class="alert" part="alerts" role="status" title=${[...firing.values()].map((a) => a.name).join('\n')}>⚠ ${firing.size} alert${firing.size > 1 ? 's' : ''}: ${[...firing.values()][0]!.name}</span>`
          : nothing}
      </div>
      ${v.challenger ? challengerTable(v.challenger) : nothing}
      </div>
      ${panel
        ? html`<inference-health-panel part="panel" exportparts="tile, chart, tiles, conditions, charts, log, alerts, controls, details" .monitor=${v.monitor} camera-id=${v.cameraId} theme=${v.theme}></inference-health-panel>`
        : nothing}
    </div>`;
}

/** A failure's headline, by its code. */
function describe(code: MonitorErrorCode): string {
  switch (code) {
    case 'camera-denied':
      return 'Camera access was denied';
    case 'camera-not-found':
      return 'No camera';
    case 'camera-failed':
      return 'The camera failed';
    case 'manifest-not-found':
    case 'model-not-found':
      return 'Model not found';
    case 'manifest-invalid':
      return 'Model manifest is invalid';
    case 'model-invalid':
    case 'model-checksum-mismatch':
      return 'Model file is invalid';
    case 'backend-unknown':
    case 'attribute-invalid':
      return 'Invalid setting';
    case 'backend-unavailable':
      return 'Backend unavailable';
    default:
      return 'Inference failed';
  }
}
