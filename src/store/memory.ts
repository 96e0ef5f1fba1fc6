/**
 * The store's memory backend: where records and rollups go when IndexedDB is unavailable or keeps failing
 * (bounded: 50,000 raw frames at most), and where history is mirrored, so a fallback keeps what this worker wrote.
 */
import { mergeRollup, type Resolution, type Rollup } from '../telemetry/rollup.ts';
import type { FrameRecord } from '../telemetry/record.ts';
import type { Annotation } from './annotations.ts';
import type { StoreBackend } from './backend.ts';
import { type AlertEvent, type AlertQuery, alertMatches, type Baseline } from './history.ts';
import { type LogPage, type LogQuery, logWanted } from './log.ts';
import type { RetentionOptions } from './retention.ts';

/** At most this many raw frames are kept in memory (or retention's frameMaxCount, if lower). */
const MEMORY_FRAMES_MAX = 50_000;
/** At most this many annotations are kept in memory (the oldest go first). */
const MEMORY_ANNOTATIONS_MAX = 10_000;

export class MemoryBackend implements StoreBackend {
  private frames: FrameRecord[] = [];
  private rollups = new Map<string, Rollup>();
  private annotations = new Map<string, Annotation>();
  private baselineMap = new Map<string, Baseline>();
  private alertList: AlertEvent[] = [];
  private meta = new Map<string, unknown>();

  constructor(private readonly retention: RetentionOptions) {}

  /** Keeps the records (detections and model versions are not kept in memory) and merges the deltas. */
  async commit(batch: FrameRecord[], _dets: unknown[], _models: ReadonlyMap<string, string>, deltas: Rollup[]): Promise<void> {
    this.frames.push(...batch);
    const cap = Math.min(this.retention.frameMaxCount, MEMORY_FRAMES_MAX);
    if (this.frames.length > cap) this.frames.splice(0, this.frames.length - cap);
    this.mergeRollups(deltas);
  }

  async importRollups(rows: Rollup[]): Promise<void> {
    this.mergeRollups(rows);
  }

  /** Merges rollups into those kept, by [res, start, mv, g]. */
  private mergeRollups(rows: Rollup[]) {
    for (const d of rows) {
      const k = `${d.res}|${d.start}|${d.mv}|${d.g}`;
      const r = this.rollups.get(k);
      this.rollups.set(k, r ? mergeRollup(r, d) : d);
    }
  }

  /** (In the order merged, not sorted.) */
  async rollupsBetween(res: Resolution, from: number, to: number): Promise<Rollup[]> {
    return [...this.rollups.values()].filter((r) => r.res === res && r.start >= from && r.start <= to);
  }

  async frameCount(): Promise<number> {
    return this.frames.length;
  }

  /** Nothing to make room in: memory is bounded by count. */
  async evictOldestFrames(): Promise<number> {
    return 0;
  }

  /** Nothing to do: memory is bounded by count (frames here, alerts in addAlert). */
  async applyRetention(): Promise<{ frames: number }> {
    return { frames: 0 };
  }

  async log(q: LogQuery, limit: number): Promise<LogPage> {
    const all = this.frames.filter(logWanted(q));
    const page = all.slice(-limit).reverse().map((r) => {
      const a = this.annotations.get(r.id);
      return a ? { ...r, annotations: a.meta } : r;
    });
    return { rows: page, next: all.length > limit ? all[all.length - limit]!.id : undefined };
  }

  async annotate(id: string, merge: (old: Annotation | undefined) => Annotation): Promise<Annotation> {
    const a = merge(this.annotations.get(id));
    this.keepAnnotation(a);
    return a;
  }

  /** Keeps an annotation (as the mirror of one kept in IndexedDB, too); the oldest go past the bound. */
  keepAnnotation(a: Annotation) {
    this.annotations.set(a.id, a);
    if (this.annotations.size > MEMORY_ANNOTATIONS_MAX) this.annotations.delete(this.annotations.keys().next().value!);
  }

  async annotationsAfter(seq: string, limit: number): Promise<Annotation[]> {
    return [...this.annotations.values()].filter((a) => a.seq > seq).sort((a, b) => (a.seq < b.seq ? -1 : 1)).slice(0, limit);
  }

  async baselines(): Promise<Baseline[]> {
    return [...this.baselineMap.values()];
  }

  async putBaseline(b: Baseline): Promise<void> {
    this.baselineMap.set(`${b.mv}|${b.camera}|${b.condition ?? ''}`, b);
  }

  async deleteBaseline(mv: string, camera: string): Promise<void> {
    for (const k of [...this.baselineMap.keys()]) if (k.startsWith(`${mv}|${camera}|`)) this.baselineMap.delete(k);
  }

  /** Keeps an alert state change; past retention's alertsMaxCount the oldest goes. */
  async addAlert(a: AlertEvent): Promise<void> {
    this.alertList.push(a);
    if (this.alertList.length > this.retention.alertsMaxCount) this.alertList.shift();
  }

  async alerts(q: AlertQuery, limit: number): Promise<AlertEvent[]> {
    return this.alertList.filter(alertMatches(q)).reverse().slice(0, limit + 1);
  }

  async alertsAfter(after: string, limit: number): Promise<AlertEvent[]> {
    return this.alertList.filter((a) => a.id > after).slice(0, limit);
  }

  async getMeta(key: string): Promise<unknown> {
    return this.meta.get(key);
  }

  async setMeta(key: string, value: unknown): Promise<void> {
    this.meta.set(key, value);
  }
}
