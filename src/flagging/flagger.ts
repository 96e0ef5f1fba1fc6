/** The flagger: matches each record against the flag rules, applies their limits, and keeps the frames chosen (JPEG from the frame worker) in the flagged-frames database. */
import * as v from 'valibot';
import type { EncodeReply, EncodeRequest } from '../capture/protocol.ts';
import { scores } from '../inference/agreement.ts';
import type { AgreementSample } from '../inference/protocol.ts';
import type { Detection } from '../types/detection.ts';
import { type FrameRecord, parseTagKey } from '../telemetry/record.ts';
import { DEFAULT_FLAG_CAP } from './cap.ts';
import type { FlagDb } from './flag-db.ts';
import { dhash64, NearDuplicates } from './hash.ts';
import { admit, countFlag, type FlagCounters, parseCounters } from './limits.ts';
import { DEFAULT_FLAG_RULES, matchFlagRules, parseFlagRules } from './rules.ts';
import type { FlagContext, FlaggedFrame, FlagInput, FlagRule } from './types.ts';

/** How frames are kept: JPEG quality, the storage cap, and near-duplicate suppression. */
export interface FlagSettings {
  /** JPEG quality, 0.1–1 */
  quality: number;
  /** the cap: at most this many frames and bytes (the oldest flagged are evicted first) */
  maxFrames: number;
  maxBytes: number;
  /** a frame whose perceptual hash is within this Hamming distance (of 64 bits) of one flagged from the same camera… */
  dedupeDistance: number;
  /** …in the last this many minutes, with the same detections, is skipped (0 turns suppression off) */
  dedupeMinutes: number;
}

export const DEFAULT_FLAG_SETTINGS: Readonly<FlagSettings> = Object.freeze({ quality: 0.85, ...DEFAULT_FLAG_CAP, dedupeDistance: 6, dedupeMinutes: 10 });

const SettingsSchema = v.strictObject({
  quality: v.optional(v.pipe(v.number(), v.minValue(0.1), v.maxValue(1))),
  maxFrames: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100_000))),
  maxBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(100_000), v.maxValue(20e9))),
  dedupeDistance: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(64))),
  dedupeMinutes: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(7 * 24 * 60))),
});

/** Validates a partial settings change (a TypeError naming the field). */
export function parseFlagSettings(input: unknown, base: FlagSettings = DEFAULT_FLAG_SETTINGS): FlagSettings {
  const res = v.safeParse(SettingsSchema, input);
  if (!res.success) {
    const issue = res.issues[0];
    const path = issue.path?.map((p) => String(p.key)).join('.') ?? '';
    throw new TypeError(`flag settings: ${path ? `${path}: ` : ''}${issue.message}`);
  }
  const out = { ...base };
  for (const [k, x] of Object.entries(res.output)) if (x !== undefined) (out as Record<string, number>)[k] = x;
  return out;
}

/** Counted outcomes: nothing is dropped silently. */
export interface FlagStats {
  /** frames kept */
  flagged: number;
  /** candidates skipped as near-duplicates of a recently kept frame */
  duplicates: number;
  /** candidates skipped because every rule that matched had used up its limits */
  limited: number;
  /** candidates whose frame was no longer held when asked for, or that arrived while another was being kept */
  missed: number;
  /** frames that could not be encoded or written */
  failed: number;
  /** kept frames evicted by the cap */
  evicted: number;
  lastEvictionAt?: number;
  lastError?: string;
}

/** A kept frame as the `flagged` event and listeners see it. */
export type FlaggedEvent = FlaggedFrame & { evicted: number };

interface Seen {
  rec: FrameRecord;
  detections: Detection[];
  nearMisses?: Detection[];
  /** the reference model's verdict on this frame, once it came */
  reference?: { version: string; detections: Detection[]; f1: number };
}

const RECENT = 32;
/** how long flag(id) waits for a frame whose record has not arrived yet */
const ARRIVAL_WAIT_MS = 2000;
const ENCODE_TIMEOUT_MS = 10_000;
const META = { rules: 'flagRules', counters: 'flagCounters', settings: 'flagSettings', stats: 'flagStats' } as const;

/**
 * Decides which frames to keep for labelling, in the hub worker: every record is matched against the flag
 * rules (with its stream's alert state and baseline), admitted by the rules' limits, checked against recently
 * kept frames of the same camera (perceptual hash and detections), then the frame worker that holds the image
 * encodes it and it is stored under the cap. Rules, limits' counters, settings and counts persist in IndexedDB.
 */
export class Flagger {
  private rules: FlagRule[] = [...DEFAULT_FLAG_RULES];
  private counters: FlagCounters = {};
  private settings: FlagSettings = { ...DEFAULT_FLAG_SETTINGS };
  readonly stats: FlagStats = { flagged: 0, duplicates: 0, limited: 0, missed: 0, failed: 0, evicted: 0 };
  private dups = new NearDuplicates({ maxDistance: DEFAULT_FLAG_SETTINGS.dedupeDistance, windowMs: DEFAULT_FLAG_SETTINGS.dedupeMinutes * 60_000 });
  private ports = new Map<string, MessagePort>();
  private waiting = new Map<string, (r: EncodeReply['encoded']) => void>();
  private recent = new Map<string, Seen[]>();
  /** flag(id) calls waiting for a frame that has not arrived yet (its record still on the way) */
  private arriving = new Map<string, (() => void)[]>();
  /** sources with a frame being kept now: one at a time per source */
  private busy = new Set<string>();
  private listeners = new Set<(f: FlaggedEvent) => void>();
  private saveTimer?: ReturnType<typeof setTimeout>;

  constructor(
    /** the kept frames (gallery and exports read them directly) */
    readonly db: FlagDb,
    private readonly meta: { get<T>(k: string): Promise<T | undefined>; set(k: string, v: unknown): Promise<void> },
    /** the frame's stream as the health engine sees it (firing alerts, baseline) */
    private readonly context: (mv: string, camera: string) => Omit<FlagContext, 'random'>,
    /** the full sha256 behind a short model version, when known */
    private readonly fullVersion: (mv: string) => string = (mv) => mv,
    private readonly random: () => number = Math.random,
  ) {}

  /** Reads rules, counters, settings and counts kept earlier, and the recent kept frames for duplicate checks. */
  async load(now = Date.now()): Promise<void> {
    const [rules, counters, settings, stats] = await Promise.all([META.rules, META.counters, META.settings, META.stats].map((k) => this.meta.get<unknown>(k).catch(() => undefined)));
    try {
      if (rules) this.rules = parseFlagRules(rules);
    } catch {
      // saved by another version and no longer valid: defaults
    }
    this.counters = parseCounters(counters);
    try {
      if (settings) this.settings = parseFlagSettings(settings);
    } catch {
      // likewise
    }
    // counts kept earlier carry on (only numbers and the last error are taken from what was saved)
    for (const [k, x] of Object.entries(stats && typeof stats === 'object' ? stats : {})) if (typeof x === 'number' || (k === 'lastError' && typeof x === 'string')) (this.stats as unknown as Record<string, unknown>)[k] = x;
    await this.db.load();
    this.resetDuplicates();
    for (const f of await this.db.recent(now, this.settings.dedupeMinutes * 60_000)) if (f.hash) this.dups.add(this.dupKey(f.src, f.tags), f.id, f.hash, f.detections, f.t);
  }

  private resetDuplicates() {
    this.dups = new NearDuplicates({ maxDistance: this.settings.dedupeDistance, windowMs: this.settings.dedupeMinutes * 60_000 });
  }

  private dupKey(src: string, tags: Record<string, string>) {
    return tags.camera_id ? `camera:${tags.camera_id}` : `source:${src}`;
  }

  getRules(): FlagRule[] {
    return this.rules.map((r) => structuredClone(r));
  }
  /** Validates and replaces the rules (a TypeError naming the bad rule and field); kept in IndexedDB. */
  async setRules(input: unknown): Promise<FlagRule[]> {
    this.rules = parseFlagRules(input);
    await this.meta.set(META.rules, this.rules);
    return this.getRules();
  }
  getSettings(): FlagSettings {
    return { ...this.settings };
  }
  async setSettings(input: unknown): Promise<FlagSettings> {
    this.settings = parseFlagSettings(input, this.settings);
    this.resetDuplicates();
    await this.meta.set(META.settings, this.settings);
    return this.getSettings();
  }

  on(cb: (f: FlaggedEvent) => void) {
    this.listeners.add(cb);
  }

  /** A monitor's frame worker, which holds its judged frames and encodes the ones flagged. */
  connect(src: string, port: MessagePort) {
    this.ports.get(src)?.close();
    this.ports.set(src, port);
    port.onmessage = (e: MessageEvent<EncodeReply>) => {
      const r = e.data.encoded;
      if (r) this.waiting.get(r.id)?.(r);
    };
  }

  disconnect(src: string) {
    this.ports.get(src)?.close();
    this.ports.delete(src);
    this.recent.delete(src);
  }

  /** Every frame record, before the health engine drops its thumbnail: kept if the rules, limits and duplicates allow. */
  observe(rec: FrameRecord, detections: Detection[] = [], nearMisses?: Detection[]): void {
    if (!this.ports.has(rec.src)) return; // no frame worker to take the image from (recording alone)
    const seen: Seen = { rec, detections, ...(nearMisses ? { nearMisses } : {}) };
    const list = this.recent.get(rec.src) ?? [];
    list.push(seen);
    if (list.length > RECENT) list.shift();
    this.recent.set(rec.src, list);
    const waiters = this.arriving.get(rec.id);
    if (waiters) for (const w of waiters) w();
    const tags = parseTagKey(rec.g);
    const ctx = { ...this.context(rec.mv, tags.camera_id ?? ''), random: this.random };
    const matched = matchFlagRules(this.rules, inputOf(seen), ctx);
    if (!matched.length) return;
    const rules = this.rules.filter((r) => matched.includes(r.id));
    if (!admit(this.counters, rules, rec.t).length) {
      this.stats.limited++;
      return this.saveSoon();
    }
    if (this.busy.has(rec.src)) {
      this.stats.missed++;
      return this.saveSoon();
    }
    const t0 = performance.now();
    const hash = rec.th ? dhash64(rec.th, 16, 16) : undefined;
    const hashMs = performance.now() - t0;
    if (hash && this.settings.dedupeMinutes > 0 && this.dups.find(this.dupKey(rec.src, tags), hash, detections, rec.t)) {
      this.stats.duplicates++;
      return this.saveSoon();
    }
    void this.keep(seen, tags, matched, hash, hashMs).catch(() => undefined);
  }

  /**
   * The reference model's verdict on a frame this monitor judged (it comes a run after the frame's record): the
   * frame is kept when a disagreement rule matches — with both models' boxes — or, kept already by another
   * rule, gains the reason and the reference's boxes.
   */
  observeAgreement(src: string, a: AgreementSample): void {
    const seen = this.recent.get(src)?.find((s) => s.rec.id === a.id);
    if (!seen || !this.ports.has(src)) return;
    const f1 = scores(a.counts).f1;
    seen.reference = { version: a.reference, detections: a.detections, f1 };
    const rules = this.rules.filter((r) => r.kind === 'disagreement');
    if (!rules.length) return;
    const tags = parseTagKey(seen.rec.g);
    const input = { ...inputOf(seen), agreement: { f1, detections: seen.detections.length + a.detections.length } };
    const matched = matchFlagRules(rules, input, { ...this.context(seen.rec.mv, tags.camera_id ?? ''), random: this.random });
    if (!matched.length) return;
    void (async () => {
      const existing = this.db.has(a.id) ? await this.db.get(a.id) : undefined;
      if (!admit(this.counters, rules.filter((r) => matched.includes(r.id)), seen.rec.t).length) {
        this.stats.limited++;
        return this.saveSoon();
      }
      if (existing) {
        const updated: FlaggedFrame = { ...existing, reasons: [...new Set([...existing.reasons, ...matched])], reference: referenceOf(seen)! };
        await this.db.update(updated);
        for (const id of matched) countFlag(this.counters, id, seen.rec.t);
        this.saveSoon();
        for (const l of this.listeners) l({ ...updated, evicted: 0 });
        return;
      }
      if (this.busy.has(src)) {
        this.stats.missed++;
        return this.saveSoon();
      }
      // not checked against near-duplicates: where the two models disagree is worth labelling each time
      await this.keep(seen, tags, matched, seen.rec.th ? dhash64(seen.rec.th, 16, 16) : undefined, 0);
    })().catch(() => undefined);
  }

  /**
   * Flags a frame by hand (`id`, or the newest judged frame of `src`): kept whatever the rules say, subject to
   * the manual rule's limits; resolves with the kept frame, rejects with a clear message when it cannot be.
   */
  async flag(src: string, id?: string): Promise<FlaggedFrame> {
    let list = this.recent.get(src) ?? [];
    // an id newer than the newest frame judged (ids are UUIDv7, time-ordered): its record may still be on its
    // way from the frame worker or the recorder; wait for it a little rather than refuse
    const newest = list.at(-1)?.rec.id;
    const waited = id !== undefined && this.ports.has(src) && (newest === undefined || id > newest) && !this.db.has(id);
    if (waited) {
      // every caller waiting on this id is woken (a second flag() of the same frame does not displace the first)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, ARRIVAL_WAIT_MS);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.arriving.set(id, [...(this.arriving.get(id) ?? []), done]);
      });
      this.arriving.delete(id);
      list = this.recent.get(src) ?? [];
    }
    const seen = id === undefined ? list.at(-1) : list.find((s) => s.rec.id === id);
    const known = id ?? seen?.rec.id;
    const existing = known !== undefined && this.db.has(known) ? await this.db.get(known) : undefined;
    if (existing?.reasons.includes('manual')) return existing;
    if (!existing && !seen)
      throw new Error(
        id === undefined ? 'no frame has been judged yet' : waited ? `no frame ${id} has been recorded (none arrived within ${ARRIVAL_WAIT_MS / 1000} s)` : `frame ${id} is no longer held: only the last few judged frames can be flagged by hand`,
      );
    const manual = this.rules.find((r) => r.kind === 'manual') ?? DEFAULT_FLAG_RULES.find((r) => r.kind === 'manual')!;
    if (manual.enabled === false) throw new Error('flagging by hand is turned off (the manual rule is disabled)');
    const now = Date.now();
    if (!admit(this.counters, [manual], now).length) throw new Error(`the manual rule's limits are used up (${describeLimits(manual)})`);
    if (existing) {
      // flagged already by a rule: the person's flag is recorded too
      const updated = { ...existing, reasons: [manual.id, ...existing.reasons] };
      await this.db.update(updated);
      countFlag(this.counters, manual.id, now);
      this.saveSoon();
      for (const l of this.listeners) l({ ...updated, evicted: 0 });
      return updated;
    }
    if (!seen) throw new Error(`frame ${id} is no longer held`);
    const tags = parseTagKey(seen.rec.g);
    const ctx = { ...this.context(seen.rec.mv, tags.camera_id ?? ''), random: this.random };
    const auto = matchFlagRules(this.rules, inputOf(seen), ctx);
    const hash = seen.rec.th ? dhash64(seen.rec.th, 16, 16) : undefined;
    return (await this.keep(seen, tags, [manual.id, ...auto.filter((r) => r !== manual.id)], hash, 0, true))!;
  }

  /** Encodes, stores and announces a frame; `manual`: failures reject (to the person who asked) instead of being counted. */
  private async keep(seen: Seen, tags: Record<string, string>, reasons: string[], hash: string | undefined, hashMs: number, manual = false): Promise<FlaggedFrame | undefined> {
    const { rec } = seen;
    const port = this.ports.get(rec.src);
    if (!port) return undefined;
    this.busy.add(rec.src);
    try {
      const img = await this.encode(port, rec.id);
      if (!img.jpeg || !img.thumb || !img.width || !img.height) {
        if (manual) throw new Error(img.error ?? 'the frame could not be encoded');
        this.stats.missed++;
        return undefined;
      }
      const frame: FlaggedFrame = {
        id: rec.id,
        t: rec.t,
        flaggedAt: Date.now(),
        src: rec.src,
        tags,
        mv: this.fullVersion(rec.mv),
        backend: rec.b,
        width: img.width,
        height: img.height,
        detections: seen.detections.map(({ classId, label, score, box }) => ({ classId, label, score, box: [...box] as [number, number, number, number] })),
        ...(seen.nearMisses?.length ? { nearMisses: seen.nearMisses.map(({ classId, label, score, box }) => ({ classId, label, score, box: [...box] as [number, number, number, number] })) } : {}),
        reasons,
        ...(seen.reference ? { reference: referenceOf(seen)! } : {}),
        ...(rec.m ? { malformed: rec.m } : {}),
        ...(rec.e ? { error: rec.e } : {}),
        ...(hash ? { hash } : {}),
        bytes: img.jpeg.size + img.thumb.size,
        quality: this.settings.quality,
        ...(img.ms !== undefined ? { encodeMs: Math.round(img.ms * 100) / 100 } : {}),
        hashMs: Math.round(hashMs * 1000) / 1000,
      };
      const evicted = await this.db.add(frame, { jpeg: img.jpeg, thumb: img.thumb }, this.settings);
      for (const id of evicted) this.dups.remove(id);
      if (evicted.length) {
        this.stats.evicted += evicted.length;
        this.stats.lastEvictionAt = Date.now();
      }
      for (const r of this.rules.filter((x) => reasons.includes(x.id))) countFlag(this.counters, r.id, rec.t);
      if (hash) this.dups.add(this.dupKey(rec.src, tags), rec.id, hash, frame.detections, rec.t);
      this.stats.flagged++;
      // the limits' counters are written now, with the frame, not a second later: a reload in between would
      // forget the count and let one frame past a used-up limit
      void this.save();
      for (const l of this.listeners) l({ ...frame, evicted: evicted.length });
      return frame;
    } catch (e) {
      if (manual) throw e;
      this.stats.failed++;
      this.stats.lastError = `could not keep a flagged frame: ${(e as Error)?.message ?? e}`;
      this.saveSoon();
      return undefined;
    } finally {
      this.busy.delete(rec.src);
    }
  }

  private encode(port: MessagePort, id: string): Promise<EncodeReply['encoded']> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done({ id, error: 'the frame worker did not answer' }), ENCODE_TIMEOUT_MS);
      const done = (r: EncodeReply['encoded']) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(r);
      };
      this.waiting.set(id, done);
      port.postMessage({ encode: { id, quality: this.settings.quality } } satisfies EncodeRequest);
    });
  }

  /** Counters and counts are written a moment later, in one go. */
  private saveSoon() {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => void this.save(), 1000);
  }

  async save(): Promise<void> {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    await Promise.all([this.meta.set(META.counters, this.counters), this.meta.set(META.stats, this.stats)]).catch(() => undefined);
  }

  /** Deletes kept frames (metadata and images). */
  async delete(ids: readonly string[]): Promise<number> {
    for (const id of ids) this.dups.remove(id);
    return this.db.delete(ids);
  }

  status() {
    return { ...this.db.totals(), stats: { ...this.stats }, settings: this.getSettings(), counters: structuredClone(this.counters) };
  }
}

/** The reference's verdict as kept with a frame (boxes copied). */
const referenceOf = ({ reference: r }: Seen): FlaggedFrame['reference'] =>
  r && { version: r.version, f1: Math.round(r.f1 * 1e4) / 1e4, detections: r.detections.map(({ classId, label, score, box }) => ({ classId, label, score, box: [...box] as [number, number, number, number] })) };

const inputOf = ({ rec, detections, nearMisses }: Seen): FlagInput => ({ detections, ...(nearMisses ? { nearMisses } : {}), ...(rec.m ? { malformed: rec.m } : {}), ...(rec.e ? { error: rec.e } : {}) });

const describeLimits = (r: FlagRule) =>
  [r.limits.perMinute !== undefined ? `${r.limits.perMinute} a minute` : '', r.limits.perHour !== undefined ? `${r.limits.perHour} an hour` : '', r.limits.perDay !== undefined ? `${r.limits.perDay} a day` : ''].filter(Boolean).join(', ');
