/** Test/bench page: opens its own store worker (own database and options) and exposes it with a record generator. */
import * as Comlink from 'comlink';
import type { StoreWorkerApi } from '../../src/store/store-worker.ts';
import type { StoreOptions } from '../../src/store/store.ts';
import { syntheticRecords } from './synthetic.ts';

async function openTestStore(options: StoreOptions) {
  const api = Comlink.wrap<StoreWorkerApi>(new Worker(new URL('../../src/store/store-worker.ts', import.meta.url), { type: 'module' }));
  const status = await api.open(options);
  Object.assign(globalThis, { testStore: api });
  return status;
}

/** Adds n synthetic records in batches, as the pipeline would, then flushes. */
async function ingest(n: number, start: number, fps: number, opts: Parameters<typeof syntheticRecords>[3] = {}, batch = 500) {
  const api = (globalThis as unknown as { testStore: Comlink.Remote<StoreWorkerApi> }).testStore;
  const all = syntheticRecords(n, start, fps, opts);
  const t0 = performance.now();
  for (let i = 0; i < all.length; i += batch) await api.add(all.slice(i, i + batch));
  await api.flush();
  return { ms: performance.now() - t0, n };
}

Object.assign(globalThis, { openTestStore, ingest });
document.body.dataset.ready = '1';
