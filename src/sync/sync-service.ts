/**
 * The hub worker's side of sync: the outbox kept in IndexedDB (or memory), what goes into a batch (rollups,
 * alerts, annotations, people's verdicts, the flagged frames and the baselines, all read from IndexedDB, so a page sends what
 * every page of the origin recorded), and the monitors that report.
 */
import type { IDBPDatabase } from 'idb';
import type { MonitorStore } from '../store/store.ts';
import type { SyncDB } from './schema.ts';
import type { HealthEngine } from '../health/engine.ts';
import type { Flagger } from '../flagging/flagger.ts';
import type { VerdictDb } from '../flagging/verdict-db.ts';
import { uuidv7 } from '../lib/uuidv7.ts';
import { APP_VERSION } from '../lib/version.ts';
import { idTime } from '../lib/uuidv7.ts';
import { AlertSchema, AnnotationSchema, BaselineSchema, type BaselineSummary, FlaggedSchema, type FlaggedSync, LIMITS, type MonitorInfo, RollupSchema, syncTags, validItem, VerdictSchema } from './payload.ts';
import { toOtlp } from './otlp.ts';
import { type Collected, gzipText, type OutboxPersistence, type OutboxState, type QueuedBatch, type SyncCursor, SyncOutbox } from './outbox.ts';
import { type ChallengerSync, ChallengerSyncSchema } from './challenger-payload.ts';
import * as v from 'valibot';

/** per batch: rollups (whole minutes), flagged frames (fewer with their images) */
const ROLLUPS_PER_BATCH = 300;
const FLAGGED_PER_BATCH = 200;
const FLAGGED_WITH_IMAGES_PER_BATCH = 5;
/** a flagged frame goes once it was captured this long ago (its id is its capture time; all monitors' frames are kept by then) */
export const FLAGGED_SETTLE_MS = 20_000;
const STATE_KEY = 'syncState';

/** The page's database as sync's slice of it, while it is open (undefined: memory). */
export type SyncDatabase = () => IDBPDatabase<SyncDB> | undefined;

/** The outbox's queue and state in IndexedDB: a batch and the state that goes with it are written in one transaction. */
export function idbPersistence(database: SyncDatabase, where: { queue: 'outbox' | 'otlpOutbox'; stateKey: string } = { queue: 'outbox', stateKey: STATE_KEY }): OutboxPersistence {
  const { queue: Q, stateKey: STATE } = where;
  const mem: { state?: OutboxState; queue: Map<number, QueuedBatch> } = { queue: new Map() };
  return {
    async load() {
      const db = database();
      if (!db) return { state: mem.state, queue: [...mem.queue.values()] };
      const [state, queue] = await Promise.all([db.get('meta', STATE) as Promise<OutboxState | undefined>, db.getAll(Q)]);
      return { state, queue };
    },
    async append(batch, state) {
      const db = database();
      if (!db) {
        mem.queue.set(batch.seq, batch);
        mem.state = state;
        return;
      }
      const tx = db.transaction([Q, 'meta'], 'readwrite');
      void tx.objectStore(Q).put(batch);
      void tx.objectStore('meta').put(state, STATE);
      await tx.done;
    },
    async remove(seqs, state) {
      const db = database();
      if (!db) {
        for (const s of seqs) mem.queue.delete(s);
        mem.state = state;
        return;
      }
      const tx = db.transaction([Q, 'meta'], 'readwrite');
      for (const s of seqs) void tx.objectStore(Q).delete(s);
      void tx.objectStore('meta').put(state, STATE);
      await tx.done;
    },
    async saveState(state) {
      mem.state = state;
      await database()?.put('meta', state, STATE);
    },
  };
}

function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** What is new after `cursor`: closed 1-min rollups up to `closedUpTo`, alert changes, flagged frames (settled), new baselines, annotation and (given `verdictDb`) verdict changes. */
export async function collect(store: MonitorStore, engine: HealthEngine | undefined, flagger: Flagger | undefined, cursor: SyncCursor, closedUpTo: number, images: boolean, rollupsOnly = false, now: () => number = Date.now, verdictDb?: VerdictDb): Promise<Collected> {
  let more = false;
  // whole minutes only, up to the per-batch bound
  let rollups = await store.rollupsBetween('1m', cursor.rollupsUpTo + 60_000, closedUpTo);
  let rollupsUpTo = closedUpTo;
  if (rollups.length > ROLLUPS_PER_BATCH) {
    // whole minutes up to the bound (at least the first minute, however many tag combinations it holds)
    const cut = Math.max(rollups[ROLLUPS_PER_BATCH]!.start, rollups[0]!.start + 60_000);
    rollups = rollups.filter((r) => r.start < cut);
    rollupsUpTo = cut - 60_000;
    more = true;
  }
  if (!rollups.length && rollupsUpTo < cursor.rollupsUpTo) rollupsUpTo = cursor.rollupsUpTo;
  const alerts = rollupsOnly ? [] : await store.alertsAfter(cursor.alertsAfter, LIMITS.alerts);
  if (alerts.length === LIMITS.alerts) more = true;
  const max = images ? FLAGGED_WITH_IMAGES_PER_BATCH : FLAGGED_PER_BATCH;
  // frames captured up to FLAGGED_SETTLE_MS ago: the cursor is the newest id sent, and a slower monitor (or a
  // hand flag) may still store a frame captured a little before one already kept
  const settled = now() - FLAGGED_SETTLE_MS;
  const after = flagger ? await flagger.db.idsAfter(cursor.flaggedAfter, max + 1) : [];
  const ids = after.filter((id) => idTime(id) <= settled);
  if (ids.length > max) more = true;
  const flagged: FlaggedSync[] = [];
  for (const f of flagger ? await flagger.db.frames(ids.slice(0, max)) : []) {
    if (!f) continue;
    const { encodeMs: _e, hashMs: _h, ...meta } = f;
    const jpeg = images ? (await flagger!.db.images(f.id))?.jpeg : undefined;
    const item = { ...meta, tags: syncTags(meta.tags) };
    flagged.push(jpeg && jpeg.size <= LIMITS.imageBytes ? { ...item, jpeg: base64(new Uint8Array(await jpeg.arrayBuffer())) } : item);
  }
  const baselines: BaselineSummary[] = [];
  // the cursor keeps the baselines kept now (one gone, or keyed as before conditions, is forgotten)
  const sent: Record<string, number> = {};
  // as stored: every page's (sync is run by one page of the origin)
  for (const b of engine ? await store.baselines() : []) {
    const key = `${b.mv}|${b.camera}|${b.condition ?? ''}`; // a baseline per condition (health/conditions.ts)
    sent[key] = b.createdAt;
    if (cursor.baselines[key] === b.createdAt) continue;
    baselines.push({ mv: b.mv, camera: b.camera, ...(b.location ? { location: b.location } : {}), ...(b.condition ? { condition: b.condition } : {}), createdAt: b.createdAt, from: b.from, to: b.to, source: b.source, frames: b.frames, fps: b.fps, rollup: b.rollup });
  }
  const changes = rollupsOnly ? [] : await store.annotationsAfter(cursor.annotationsAfter ?? '', LIMITS.annotations);
  if (changes.length === LIMITS.annotations) more = true;
  const annotations = changes.map((a) => ({ id: a.id, src: a.src, meta: a.meta }));
  // people's verdicts changed since the last batch, each as it now stands (a replaced one goes again, with its new value)
  const verdictChanges = rollupsOnly || !verdictDb ? [] : await verdictDb.after(cursor.verdictsAfter ?? '', LIMITS.verdicts);
  if (verdictChanges.length === LIMITS.verdicts) more = true;
  const verdicts = verdictChanges.map(({ seq: _s, ...x }) => x);
  // what the server's schema would refuse is left out (and counted) rather than sink the whole batch
  const keep = <T>(schema: Parameters<typeof validItem>[0], xs: T[]) => xs.filter((x) => validItem(schema, x));
  const ok = { rollups: keep(RollupSchema, rollups), alerts: keep(AlertSchema, alerts), flagged: keep(FlaggedSchema, flagged), baselines: keep(BaselineSchema, baselines), annotations: keep(AnnotationSchema, annotations), verdicts: keep(VerdictSchema, verdicts) };
  const skipped = rollups.length + alerts.length + flagged.length + baselines.length + annotations.length + verdicts.length - (ok.rollups.length + ok.alerts.length + ok.flagged.length + ok.baselines.length + ok.annotations.length + ok.verdicts.length);
  return {
    ...ok,
    ...(skipped ? { skipped } : {}),
    cursor: { rollupsUpTo, alertsAfter: alerts.at(-1)?.id ?? cursor.alertsAfter, flaggedAfter: flagged.at(-1)?.id ?? cursor.flaggedAfter, baselines: sent, annotationsAfter: changes.at(-1)?.seq ?? cursor.annotationsAfter ?? '', verdictsAfter: verdictChanges.at(-1)?.seq ?? cursor.verdictsAfter ?? '' },
    ...(more ? { more } : {}),
  };
}

/**
 * The page's OpenTelemetry export: the same closed 1-min rollups as OTLP/HTTP JSON metrics to a Collector's
 * `/v1/metrics`, with an outbox of its own (cursor, queue, retries) — a Collector acknowledges with any 2xx.
 */
export function createOtlp(store: MonitorStore, database: SyncDatabase, monitors: () => MonitorInfo[], onError: (e: { code: string; message: string; status?: number } | undefined) => void) {
  return new SyncOutbox({
    persistence: idbPersistence(database, { queue: 'otlpOutbox', stateKey: 'otlpState' }),
    collect: async (cursor, closedUpTo) => {
      const all = await collect(store, undefined, undefined, cursor, closedUpTo, false, true);
      return { rollups: all.rollups, alerts: [], flagged: [], baselines: [], cursor: { ...cursor, rollupsUpTo: all.cursor.rollupsUpTo }, ...(all.more ? { more: true } : {}) };
    },
    monitors,
    deviceId: () => monitors().map((m) => m.tags.device_id).find(Boolean),
    appVersion: APP_VERSION,
    newId: () => uuidv7(),
    gzip: gzipText,
    format: (b) => JSON.stringify(toOtlp(b)),
    acknowledged: async () => true,
    onError,
  });
}

/** The page's sync: its outbox and the monitors that report through it. */
export function createSync(store: MonitorStore, database: SyncDatabase, engine: () => HealthEngine | undefined, flagger: () => Flagger | undefined, onError: (e: { code: string; message: string; status?: number } | undefined) => void, verdicts: () => VerdictDb | undefined = () => undefined) {
  const monitors = new Map<string, MonitorInfo>();
  /** challengers' latest comparisons not yet in a batch, per monitor (kept in memory: the next comes in seconds) */
  const challengers = new Map<string, ChallengerSync>();
  const outbox = new SyncOutbox({
    persistence: idbPersistence(database),
    collect: async (cursor, closedUpTo, images) => {
      const c = await collect(store, engine(), flagger(), cursor, closedUpTo, images, false, Date.now, verdicts());
      const ch = [...challengers.values()].filter((x) => v.is(ChallengerSyncSchema, x));
      challengers.clear();
      return ch.length ? { ...c, challengers: ch } : c;
    },
    monitors: () => [...monitors.values()].map((m) => ({ ...m, tags: syncTags(m.tags) })),
    deviceId: () => [...monitors.values()].map((m) => m.tags.device_id).find(Boolean),
    appVersion: APP_VERSION,
    newId: () => uuidv7(),
    gzip: gzipText,
    onError,
  });
  return { outbox, monitors, challengers };
}
