/** A reactive controller for the panel's Network tile: online or offline, and since when. */
import type { ReactiveController, ReactiveControllerHost } from 'lit';

/** Tracks `navigator.onLine` (and since when it last changed) for a panel, updating its host on `online`/`offline`. */
export class NetworkController implements ReactiveController {
  online = globalThis.navigator?.onLine ?? true;
  /** when it last changed while this page ran (undefined: as it was when the page loaded) */
  since?: number;

  constructor(private host: ReactiveControllerHost) {
    host.addController(this);
  }

  private readonly changed = () => {
    this.online = navigator.onLine;
    this.since = Date.now();
    this.host.requestUpdate();
  };

  hostConnected() {
    if (this.online !== navigator.onLine) this.changed();
    addEventListener('online', this.changed);
    addEventListener('offline', this.changed);
  }

  hostDisconnected() {
    removeEventListener('online', this.changed);
    removeEventListener('offline', this.changed);
  }
}

/** The network tile, shown while offline: since when, and whether this page runs from the offline cache (a service worker controls it). */
export function networkTile(n: NetworkController, time: (t: number) => string) {
  const cached = !!globalThis.navigator?.serviceWorker?.controller;
  return {
    id: 'network',
    label: 'Network',
    value: 'offline',
    detail: `${n.since === undefined ? 'since the page loaded' : `since ${time(n.since)}`} · ${cached ? 'running from the offline cache' : 'no offline cache: a reload will fail'}`,
    level: 'warn' as const,
  };
}
