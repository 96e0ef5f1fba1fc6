/**
 * The `<inference-monitor>` events' details, and the typings that make `monitor.addEventListener('inference', (e) =>
 * e.detail.detections)` typed in a host's TypeScript. Every event bubbles and is composed.
 */
import type { ChallengerSummary } from '../inference/challenger.ts';
import type { AlertEvent, ConditionEvent } from '../health/types.ts';
import type { MonitorErrorCode } from '../lib/errors.ts';
import type { InferenceResult, ReadyInfo } from '../inference/protocol.ts';
import type { Detection } from '../types/detection.ts';

/** `ready`: the model is loaded and the camera runs. */
export type ReadyDetail = Pick<ReadyInfo, 'backend' | 'threads' | 'modelVersion' | 'deployment' | 'fallbackReason' | 'adapter' | 'warnings' | 'modelId' | 'labels'>;

/** `error`: what failed; `fatal` false when the pipeline carries on. */
export interface MonitorErrorDetail {
  code: MonitorErrorCode;
  message: string;
  /** false when the pipeline carries on (a timed-out run, a lost GPU device being rebuilt) */
  fatal: boolean;
  /** `worker-crashed`: which worker died ('inference' or 'frames') */
  worker?: 'inference' | 'frames';
  /** `camera-lost`: 'ended' (unplugged, taken, revoked: a camera is asked for again) or 'muted' (no frames until it unmutes) */
  reason?: 'ended' | 'muted';
}

/** `alert`: an alert rule's state changed for this monitor's stream. */
export type AlertDetail = AlertEvent & { ruleId: string; time: number };

/**
 * `condition`: this monitor's camera changed condition (health/conditions.ts): `switched` to a known one (no alert),
 * `learning` a new one, `learnt` it, or `abandoned` learning it.
 */
export type ConditionDetail = ConditionEvent;

/** `flagged`: a frame of this monitor was kept for labelling. */
export interface FlaggedDetail {
  inferenceId: string;
  reasons: string[];
  time: number;
  tags: Record<string, string>;
  modelVersion: string;
  width: number;
  height: number;
  detections: Detection[];
  /** on a frame the reference model judged: its version, its detections and the deployed model's F1 against it */
  reference?: { version: string; detections: Detection[]; f1: number };
  bytes: number;
  /** frames evicted to stay under the cap */
  evicted: number;
}

/** The events `<inference-monitor>` dispatches, by type. */
export interface InferenceMonitorEventMap {
  ready: CustomEvent<ReadyDetail>;
  inference: CustomEvent<InferenceResult>;
  error: CustomEvent<MonitorErrorDetail>;
  alert: CustomEvent<AlertDetail>;
  condition: CustomEvent<ConditionDetail>;
  flagged: CustomEvent<FlaggedDetail>;
  /** with `challenger-model`: the challenger compared with the deployed model so far (every few seconds while frames are compared) */
  challenger: CustomEvent<ChallengerSummary>;
}

/** Dispatches one of the monitor's events on it (bubbling, composed): how the modules it is made of (ui/monitor/) speak for it. */
export type MonitorEmit = <K extends keyof InferenceMonitorEventMap>(type: K, detail: InferenceMonitorEventMap[K]['detail']) => void;
