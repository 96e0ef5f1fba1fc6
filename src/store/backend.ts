/**
 * Where the store keeps its data: the page's IndexedDB (indexeddb.ts) or, when that is unavailable or keeps
 * failing, memory (memory.ts). Both offer these operations, so MonitorStore picks one instead of branching.
 */
import type { FrameRecord } from '../telemetry/record.ts';
import type { Resolution, Rollup } from '../telemetry/rollup.ts';
import type { Annotation } from './annotations.ts';
import type { AlertEvent, AlertQuery, Baseline } from './history.ts';
import type { LogPage, LogQuery } from './log.ts';
import type { RetentionOptions } from './retention.ts';
import type { DetectionsRow } from './schema.ts';

export interface StoreBackend {
  /**
   * Writes a flush: its records, their detections, the model versions seen (short → full), and its rollup
   * deltas merged into the rollups kept. Rejects when the write fails (nothing of it is kept then).
   */
  commit(batch: FrameRecord[], dets: DetectionsRow[], models: ReadonlyMap<string, string>, deltas: Rollup[]): Promise<void>;
  /** Merges rollups in as they are (imports, benchmarks, sync from another device). */
  importRollups(rows: Rollup[]): Promise<void>;
  /** Every rollup of a resolution whose bucket starts in [from, to] (from ≤ to), all tag combinations, in the backend's own order. */
  rollupsBetween(res: Resolution, from: number, to: number): Promise<Rollup[]>;

  /** Number of raw frames kept. */
  frameCount(): Promise<number>;
  /** Deletes at least n of the oldest raw frames and their detections; returns how many went. */
  evictOldestFrames(n: number): Promise<number>;
  /** Applies retention; `forget(res, cut)` hears which rollups go. Returns how many raw frames went. */
  applyRetention(now: number, r: RetentionOptions, forget: (res: Resolution, cut: number) => void): Promise<{ frames: number }>;

  /** A page of the inference log, newest first, at most `limit` rows. */
  log(q: LogQuery, limit: number): Promise<LogPage>;

  /** Merges an inference's annotation with `merge` and keeps the result. */
  annotate(id: string, merge: (old: Annotation | undefined) => Annotation): Promise<Annotation>;
  /** Annotation changes after `seq`, oldest first, at most `limit`. */
  annotationsAfter(seq: string, limit: number): Promise<Annotation[]>;
  baselines(): Promise<Baseline[]>;
  putBaseline(b: Baseline): Promise<void>;
  deleteBaseline(mv: string, camera: string): Promise<void>;
  addAlert(a: AlertEvent): Promise<void>;
  /** Alerts passing `q`, newest first, at most `limit` + 1 (the one more says there is a next page). */
  alerts(q: AlertQuery, limit: number): Promise<AlertEvent[]>;
  /** Alert state changes after an id, oldest first, at most `limit`. */
  alertsAfter(after: string, limit: number): Promise<AlertEvent[]>;
  getMeta(key: string): Promise<unknown>;
  setMeta(key: string, value: unknown): Promise<void>;
}
