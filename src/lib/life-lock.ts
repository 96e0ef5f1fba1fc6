/**
 * A worker's life as a Web Lock: the worker holds a lock for as long as it lives; the page queues for the
 * same lock and is granted it the moment the worker is gone (terminated, killed for memory, crashed), with
 * no messages and no timers. Where the browser has no Web Locks, nothing is watched.
 */

/** In the worker: takes the lock `name` and keeps it for life; resolves once it is held. */
export function holdLifeLock(name: string): Promise<void> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return Promise.resolve();
  return new Promise((held) => {
    void locks.request(name, () => {
      held();
      return new Promise<void>(() => {}); // never released while the worker lives
    });
  });
}

/** On the page: calls `gone` when the holder of lock `name` is gone; `signal` stops waiting. False where there are no Web Locks. */
export function whenLockReleased(name: string, signal: AbortSignal, gone: () => void): boolean {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return false;
  locks
    .request(name, { signal }, () => {
      if (!signal.aborted) gone();
    })
    .catch(() => {}); // aborted
  return true;
}
