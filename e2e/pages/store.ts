/** Test/bench page: opens its own store worker (own database and options) and exposes it with a record generator. */
import * as Comlink from 'comlink';
import type { HubApi } from '../../src/hub/hub-worker.ts';
import type { StoreOptions } from '../../src/store/store.ts';
import { syntheticRecords } from './synthetic.ts';
import { rollFrames } from '../../src/telemetry/rollup.ts';
import { openDB } from 'idb';
import { MONITOR_DB } from '../../src/hub/database.ts';

async function openTestStore(options: StoreOptions) {
  const api = Comlink.wrap<HubApi>(new Worker(new URL('../../src/hub/hub-worker.ts', import.meta.url), { type: 'module' }));
  const status = await api.open(options);
  Object.assign(globalThis, { testStore: api });
  return status;
}

/** Adds n synthetic records in batches, as the pipeline would, then flushes. */
async function ingest(n: number, start: number, fps: number, opts: Parameters<typeof syntheticRecords>[3] = {}, batch = 500) {
  const api = (globalThis as unknown as { testStore: Comlink.Remote<HubApi> }).testStore;
  const all = syntheticRecords(n, start, fps, opts);
  const t0 = performance.now();
  for (let i = 0; i < all.length; i += batch) await api.add(all.slice(i, i + batch));
  await api.flush();
  return { ms: performance.now() - t0, n };
}

/** Rolls up `hours` of synthetic frames at `fps` for `cameras` cameras, in chunks, and imports only the rollups. */
async function importDay(hours: number, fps: number, cameras: number, end: number) {
  const api = (globalThis as unknown as { testStore: Comlink.Remote<HubApi> }).testStore;
  let frames = 0;
  for (let c = 0; c < cameras; c++) {
    for (let h = 0; h < hours; h++) {
      const start = end - (hours - h) * 3600_000;
      const recs = syntheticRecords(3600 * fps, start, fps, { camera: `cam-${c}`, seed: h * 31 + c });
      frames += recs.length;
      const rows = (['10s', '1m', '1h'] as const).flatMap((res) => [...rollFrames(recs, res).values()]);
      await api.importRollups(rows);
    }
  }
  return frames;
}

/** A database as version 8 left it (the product's own migrations up to 8), holding `baselines` keyed [mv, camera]. */
async function legacyDatabase(name: string, baselines: object[]) {
  const db = await openDB(name, 8, {
    upgrade: (db, oldVersion, _newVersion, tx) => {
      for (let v = oldVersion + 1; v <= 8; v++) MONITOR_DB.migrations[v]?.(db, tx as never);
    },
  });
  for (const b of baselines) await db.put('baselines', b);
  db.close();
}

/** The raw keys of a database's baselines store. */
async function baselineKeys(name: string) {
  const db = await openDB(name);
  const keys = await db.getAllKeys('baselines');
  db.close();
  return keys;
}

Object.assign(globalThis, { openTestStore, ingest, importDay, syntheticRecords, legacyDatabase, baselineKeys });
document.body.dataset.ready = '1';
