import * as Comlink from 'comlink';
import type { OpenOptions, StoreWorkerApi } from './store-worker.ts';

export type StoreClient = Comlink.Remote<StoreWorkerApi>;

let shared: { worker: Worker; api: StoreClient } | undefined;

/**
 * The page's one store worker (shared by every monitor and panel on the page), opened on first use.
 * Also asks the browser to keep the data (navigator.storage.persist), and flushes when the page hides.
 */
export async function getStore(options: OpenOptions = {}): Promise<StoreClient> {
  if (!shared) {
    const worker = new Worker(new URL('./store-worker.ts', import.meta.url), { type: 'module', name: 'store' });
    const api = Comlink.wrap<StoreWorkerApi>(worker);
    shared = { worker, api };
    void navigator.storage?.persist?.().catch(() => false);
    const flush = () => void api.flush();
    document.addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && flush());
    // going away: commit, and let sync send what is new with a keepalive request
    addEventListener('pagehide', () => void api.pagehide());
  }
  await shared.api.open(options);
  return shared.api;
}
