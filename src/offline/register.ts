/**
 * Registers the kiosk's service worker (/sw.js, src/offline/sw.ts) so that, after its first load, the page,
 * the model and onnxruntime's files load with the network gone. Called by the kiosk only: the element
 * never registers one (a host app owns its service worker).
 *
 * A kiosk has nobody to click "update": the page asks for a new build every `checkEvery` ms and when the
 * network returns, and reloads itself once a new build has taken over (its files are cached by then).
 */
export interface OfflineOptions {
  /** the service worker's URL (default: `/sw.js` under the build's base) */
  url?: string;
  /** how often to look for a new build, ms (default 10 min; browsers also look on each navigation) */
  checkEvery?: number;
  /** what to do when a new build has taken over (default: reload the page) */
  onUpdate?: () => void;
  /** model manifest URLs (same-origin) to keep for offline besides the bundled model, e.g. the kiosk's `?model=` */
  models?: string[];
}

/** After 'online', how long to wait before each further update check while the server cannot be reached. */
export const ONLINE_RETRY_MS = [1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000];

/**
 * When to look for a new build. 'online' often comes before the server can be reached (the link is up before
 * DNS, a proxy or the server is): a check that fails after 'online' is tried again, later each time
 * (ONLINE_RETRY_MS), until one reaches the server or the network goes again. A periodic check that fails
 * waits for the next period.
 */
export function updateChecks(update: () => Promise<unknown>, isOnline: () => boolean) {
  let retry: ReturnType<typeof setTimeout> | undefined;
  const check = (attempt: number) => {
    clearTimeout(retry);
    update().catch(() => {
      if (isOnline() && attempt < ONLINE_RETRY_MS.length) retry = setTimeout(() => check(attempt + 1), ONLINE_RETRY_MS[attempt]);
    });
  };
  return {
    online: () => check(0),
    periodic: () => check(ONLINE_RETRY_MS.length),
    offline: () => clearTimeout(retry),
  };
}

export async function registerOffline(options: OfflineOptions = {}): Promise<ServiceWorkerRegistration | undefined> {
  const sw = navigator.serviceWorker;
  if (!sw) return undefined; // not a secure context, or no support: the kiosk runs online only
  let controlled = !!sw.controller;
  let updating = false;
  sw.addEventListener('controllerchange', () => {
    // the first build to control the page (first visit) changes nothing; a later one is a new build
    if (controlled && !updating) {
      updating = true;
      (options.onUpdate ?? (() => location.reload()))();
    }
    controlled = true;
  });
  const registration = await sw.register(options.url ?? `${import.meta.env.BASE_URL}sw.js`, { scope: import.meta.env.BASE_URL, updateViaCache: 'none' });
  const checks = updateChecks(() => registration.update(), () => navigator.onLine);
  setInterval(checks.periodic, options.checkEvery ?? 10 * 60_000);
  addEventListener('online', checks.online);
  addEventListener('offline', checks.offline);
  if (options.models?.length)
    void sw.ready.then((r) => {
      for (const url of options.models ?? []) r.active?.postMessage({ type: 'keep-model', url: new URL(url, document.baseURI).href });
    });
  return registration;
}
