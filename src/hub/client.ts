/** The page's handle on its hub worker (the back-end every monitor and panel on the page shares). */
import * as Comlink from 'comlink';
import type { OpenOptions, HubApi } from './hub-worker.ts';

export type HubClient = Comlink.Remote<HubApi>;

let shared: { worker: Worker; api: HubClient } | undefined;

/**
 * The page's one hub worker (shared by every monitor and panel on the page), opened on first use.
 * Also asks the browser to keep the data (navigator.storage.persist), and flushes when the page hides.
 */
export async function getHub(options: OpenOptions = {}): Promise<HubClient> {
  if (!shared) {
    const worker = new Worker(new URL('./hub-worker.ts', import.meta.url), { type: 'module', name: 'hub' });
    const api = Comlink.wrap<HubApi>(worker);
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
