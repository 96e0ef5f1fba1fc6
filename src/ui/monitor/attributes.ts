/**
 * `<inference-monitor>`'s attributes checked and read: what a start refuses (an `attribute-invalid` or
 * `backend-unknown` error naming the attribute), the sync and OTLP configurations, the baseline length, the tags.
 */
import { BACKENDS, type BackendChoice } from '../../inference/engine.ts';
import { MonitorError } from '../../lib/errors.ts';
import type { SyncConfig } from '../../sync/outbox.ts';
import type { Tags } from '../../telemetry/record.ts';

/** The element's attributes (as their properties) that are checked or read here. */
export interface MonitorAttributes {
  readonly backend: string;
  readonly threshold: number;
  readonly threads?: number;
  /** seconds a run may take before it counts as stuck */
  readonly runTimeout?: number;
  readonly view: string;
  readonly width: number;
  readonly height: number;
  readonly flagging: string;
  readonly syncUrl?: string;
  readonly syncToken?: string;
  readonly syncInterval?: number;
  readonly syncImages: boolean;
  readonly otlpUrl?: string;
  readonly otlpToken?: string;
  readonly baselineMinutes?: number;
  readonly cameraId?: string;
  readonly location: string;
  readonly deviceId?: string;
  readonly metadata: Record<string, string>;
  /** the attribute's text, for messages */
  getAttribute(name: string): string | null;
}

/** True when `threshold` is a score from 0 to 1. */
export function validThreshold(threshold: number): boolean {
  return Number.isFinite(threshold) && threshold >= 0 && threshold <= 1;
}

/** Throws the first bad setting a start refuses, before anything starts (a MonitorError naming it). */
export function checkAttributes(a: MonitorAttributes): void {
  if (!BACKENDS.includes(a.backend as BackendChoice)) throw new MonitorError('backend-unknown', `unknown backend '${a.backend}' (use auto, webgpu or wasm)`);
  if (!validThreshold(a.threshold)) throw new MonitorError('attribute-invalid', `threshold must be a number from 0 to 1, not '${a.getAttribute('threshold')}'`);
  if (a.threads !== undefined && a.threads !== null && !(Number.isInteger(a.threads) && a.threads >= 1 && a.threads <= 16))
    throw new MonitorError('attribute-invalid', `threads must be a whole number from 1 to 16, not '${a.getAttribute('threads')}'`);
  if (a.runTimeout !== undefined && a.runTimeout !== null && !(Number.isFinite(a.runTimeout) && a.runTimeout >= 1 && a.runTimeout <= 600))
    throw new MonitorError('attribute-invalid', `run-timeout must be a number of seconds from 1 to 600, not '${a.getAttribute('run-timeout')}'`);
  if (a.view !== 'inferred' && a.view !== 'live') throw new MonitorError('attribute-invalid', `view must be 'inferred' or 'live', not '${a.view}'`);
  if (!(a.width > 0 && a.height > 0)) throw new MonitorError('attribute-invalid', 'width and height must be positive numbers');
  if (a.flagging !== 'on' && a.flagging !== 'off') throw new MonitorError('attribute-invalid', `flagging must be 'on' or 'off', not '${a.flagging}'`);
  syncConfig(a);
  otlpConfig(a);
}

/** The sync configuration from the attributes (validated), or undefined without `sync-url`. */
export function syncConfig(a: MonitorAttributes): SyncConfig | undefined {
  if (!a.syncUrl) return undefined;
  const url = httpUrl('sync-url', a.syncUrl);
  const every = a.syncInterval ?? 60;
  if (!(Number.isFinite(every) && every >= 1 && every <= 3600)) throw new MonitorError('attribute-invalid', `sync-interval must be a number of seconds from 1 to 3600, not '${a.getAttribute('sync-interval')}'`);
  const token = a.syncToken || document.querySelector<HTMLMetaElement>('meta[name="inference-monitor-sync-token"]')?.content || undefined;
  return { url: url.href, ...(token ? { token } : {}), intervalMs: every * 1000, images: a.syncImages };
}

/** The OTLP export's configuration from the attributes (validated), or undefined without `otlp-url`. */
export function otlpConfig(a: MonitorAttributes): SyncConfig | undefined {
  if (!a.otlpUrl) return undefined;
  const url = httpUrl('otlp-url', a.otlpUrl);
  return { url: url.href, ...(a.otlpToken ? { token: a.otlpToken } : {}), intervalMs: (a.syncInterval ?? 60) * 1000, images: false };
}

/**
 * How long a new baseline is captured for, from `baseline-minutes`: ms (at least 10 s), undefined when it is
 * not set, or the message of a bad value (not fatal: the page's current length stays).
 */
export function baselineDuration(a: MonitorAttributes): { ms: number } | { invalid: string } | undefined {
  if (a.baselineMinutes === undefined || a.baselineMinutes === null) return undefined;
  if (!(a.baselineMinutes > 0 && a.baselineMinutes <= 24 * 60))
    return { invalid: `baseline-minutes must be a number of minutes from 0.2 to 1440, not '${a.getAttribute('baseline-minutes')}'` };
  return { ms: Math.max(10_000, a.baselineMinutes * 60_000) };
}

/** The tags recorded with each frame: `metadata`'s string and number values, then camera_id, location and device_id. */
export function tagsOf(a: MonitorAttributes): Tags {
  const t: Tags = {};
  for (const [k, v] of Object.entries(a.metadata ?? {})) if (typeof v === 'string' || typeof v === 'number') t[k] = String(v);
  if (a.cameraId) t.camera_id = a.cameraId;
  if (a.location) t.location = a.location;
  if (a.deviceId) t.device_id = a.deviceId;
  return t;
}

/** An attribute's http(s) URL (relative ones against the page), or an attribute-invalid error naming it. */
export function httpUrl(attribute: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value, document.baseURI);
  } catch {
    throw new MonitorError('attribute-invalid', `${attribute} must be a URL, not '${value}'`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new MonitorError('attribute-invalid', `${attribute} must be an http(s) URL, not '${value}'`);
  return url;
}
