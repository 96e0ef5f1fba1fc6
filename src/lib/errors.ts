/** Stable error codes carried by the monitor's `error` event; hosts may switch on them. */
export type MonitorErrorCode =
  | 'manifest-not-found'
  | 'manifest-invalid'
  | 'model-not-found'
  | 'model-invalid'
  | 'model-checksum-mismatch'
  | 'backend-unknown'
  | 'backend-unavailable'
  | 'camera-denied'
  | 'camera-not-found'
  | 'camera-failed'
  | 'camera-lost'
  | 'inference-failed'
  | 'inference-timeout'
  | 'device-lost'
  | 'worker-failed'
  | 'worker-crashed'
  | 'attribute-invalid'
  | 'storage-unavailable'
  | 'sync-unauthorized'
  | 'sync-failed'
  | 'sync-rejected';

/** An error with a stable code, safe to pass across the worker boundary as plain data. */
export class MonitorError extends Error {
  constructor(
    readonly code: MonitorErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MonitorError';
  }
  toJSON() {
    return { code: this.code, message: this.message };
  }
}

/** Plain `{code, message}` from anything thrown (a MonitorError keeps its code). */
export function toErrorInfo(e: unknown, fallback: MonitorErrorCode): { code: MonitorErrorCode; message: string } {
  if (e instanceof MonitorError) return { code: e.code, message: e.message };
  if (e && typeof e === 'object' && 'code' in e && 'message' in e && typeof (e as { code: unknown }).code === 'string')
    return { code: (e as { code: MonitorErrorCode }).code, message: String((e as { message: unknown }).message) };
  return { code: fallback, message: e instanceof Error ? e.message : String(e) };
}

/**
 * What a thrown thing says, for a person: its message, else its name (a DOMException such as an IndexedDB
 * transaction's QuotaExceededError may carry only that), else itself as text.
 */
export function errorText(e: unknown): string {
  if (e && typeof e === 'object') {
    const { message, name } = e as { message?: unknown; name?: unknown };
    if (typeof message === 'string' && message) return message;
    if (typeof name === 'string' && name) return name;
  }
  return e === undefined || e === null ? 'unknown error' : String(e);
}
