/// <reference lib="webworker" />
/**
 * The store worker: owns IndexedDB for this page. Inference workers send it frame records over their own
 * MessagePorts (nothing crosses the main thread); pages query it through Comlink. Retention runs once a
 * minute under a Web Lock, so two tabs never do it at the same time.
 */
import * as Comlink from 'comlink';
import type { Detection } from '../inference/types.ts';
import { type FrameRecord, tagKey } from '../telemetry/record.ts';
import { MonitorStore, type StoreOptions, type StoreStatus } from './store.ts';
import { type AlertEvent, HealthEngine, type HealthOptions, type ResourceSample } from '../health/engine.ts';
import { type AlertRule, parseRules } from '../health/rules.ts';

export interface RecordMessage {
  records: FrameRecord[];
  detections?: { id: string; t: number; detections: Detection[] }[];
  model?: string;
}

let store: MonitorStore | undefined;
let opening: Promise<StoreStatus> | undefined;
let retentionTimer: ReturnType<typeof setInterval> | undefined;
const statusListeners = new Set<(s: StoreStatus) => void>();
let lastMode: StoreStatus['mode'] | undefined;
let engine: HealthEngine | undefined;
let tickTimer: ReturnType<typeof setInterval> | undefined;
const alertListeners = new Set<(a: AlertEvent) => void>();

/** Options for the page's health engine (set once, by the first monitor that opens the store). */
export interface OpenOptions extends StoreOptions {
  health?: Omit<HealthOptions, 'rules'>;
}

async function startHealth(s: MonitorStore, options: HealthOptions) {
  const saved = await s.getMeta<AlertRule[]>('rules').catch(() => undefined);
  let rules: AlertRule[] | undefined;
  try {
    rules = saved ? parseRules(saved) : undefined;
  } catch {
    rules = undefined; // rules saved by another version that no longer validate: defaults
  }
  engine = new HealthEngine({ ...options, ...(rules ? { rules } : {}) });
  engine.loadBaselines(await s.baselines().catch(() => []));
  engine.on((e) => {
    if (e.type === 'alert') {
      void s.addAlert(e.alert);
      for (const l of alertListeners) l(e.alert);
    } else if (e.type === 'baseline') void s.putBaseline(e.baseline);
    else void s.deleteBaseline(e.mv, e.camera);
  });
  tickTimer = setInterval(() => engine?.tick(Date.now()), 1000);
}

function notify() {
  if (!store) return;
  const s = store.getStatus();
  if (s.mode !== lastMode) {
    lastMode = s.mode;
    for (const l of statusListeners) l(s);
  }
}

async function retention(upkeep = true) {
  if (!store) return;
  const run = async () => {
    await store!.applyRetention().catch(() => undefined);
    if (!upkeep) return;
    // keep the default views' series pages current (a cold panel then reads pages, not rollups); not at
    // open, where it would compete with the page's own first queries
    const now = Date.now();
    await store!.series({ from: now - 24 * 3600_000, to: now }, '1m').catch(() => undefined);
    await store!.series({ from: now - 2 * 3600_000, to: now }, '10s').catch(() => undefined);
  };
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  if (locks) await locks.request('inference-health-retention', { ifAvailable: true }, async (lock) => (lock ? run() : undefined));
  else await run();
}

const api = {
  /** Opens the store (once per worker); resolves with its status. */
  open(options: OpenOptions = {}): Promise<StoreStatus> {
    if (!opening) {
      store = new MonitorStore(options);
      opening = store.open().then(async (s) => {
        await startHealth(store!, options.health ?? {});
        lastMode = s.mode;
        void retention(false);
        retentionTimer = setInterval(() => void retention(), 60_000);
        return s;
      });
    }
    return opening;
  },
  /** Receives frame records from an inference worker. */
  connect(port: MessagePort) {
    port.onmessage = (e: MessageEvent<RecordMessage>) => {
      if (!store) return;
      if (e.data.model) store.noteModel(e.data.model);
      // the health engine sees each record first: it adds the scene distance and drops the thumbnail
      if (engine) for (const r of e.data.records ?? []) engine.observe(r);
      if (e.data.records?.length) store.add(e.data.records, e.data.detections);
      notify();
    };
  },
  onStatus(cb: (s: StoreStatus) => void) {
    statusListeners.add(cb);
  },
  add(records: FrameRecord[], detections?: RecordMessage['detections']) {
    store?.add(records, detections);
  },
  async flush() {
    await store?.flush();
    notify();
  },
  status: () => store?.getStatus(),
  totals: (...a: Parameters<MonitorStore['totals']>) => store!.totals(...a),
  percentiles: (...a: Parameters<MonitorStore['percentiles']>) => store!.percentiles(...a),
  series: (...a: Parameters<MonitorStore['series']>) => store!.series(...a),
  log: (...a: Parameters<MonitorStore['log']>) => store!.log(...a),
  usage: () => store!.usage(),
  dimensions: (...a: Parameters<MonitorStore['dimensions']>) => store!.dimensions(...a),
  applyRetention: (now?: number) => store!.applyRetention(now),
  importRollups: (...a: Parameters<MonitorStore['importRollups']>) => store!.importRollups(...a),
  evictOldestFrames: (n: number) => store!.evictOldestFrames(n),
  // ---------- health ----------
  /** Alert state changes as they happen. */
  onAlert(cb: (a: AlertEvent) => void) {
    alertListeners.add(cb);
  },
  /** A resource sample from a page running a monitor (heap, long tasks, results since the last). */
  observeResources(x: ResourceSample & { g?: string }) {
    engine?.observeResources(x);
    store?.addGauges(x.t, x.mv, x.g ?? tagKey({ camera_id: x.camera_id }), {
      ...(x.heapMB !== undefined ? { heapMB: x.heapMB } : {}),
      longTasks: x.longTasks,
      up: x.results > 0 ? 1 : 0,
    });
  },
  vitals: (...a: Parameters<HealthEngine['vitals']>) => engine!.vitals(...a),
  signals: (...a: Parameters<HealthEngine['signals']>) => engine!.signals(...a),
  overview: (...a: Parameters<HealthEngine['overview']>) => engine!.overview(...a),
  rules: () => engine!.getRules(),
  /** Validates and replaces the alert rules (kept in IndexedDB); throws a TypeError naming the bad rule. */
  async setRules(rules: unknown) {
    const parsed = parseRules(rules);
    engine!.setRules(parsed);
    await store!.setMeta('rules', parsed);
    return engine!.getRules();
  },
  /** How long baselines are captured for (ms), page-wide. */
  setBaselineDuration(ms: number) {
    if (engine && ms >= 10_000) engine.baselineMs = ms;
  },
  markHealthy: (...a: Parameters<HealthEngine['markHealthy']>) => engine!.markHealthy(...a),
  resetBaseline: (...a: Parameters<HealthEngine['resetBaseline']>) => engine!.resetBaseline(...a),
  baselines: () => engine!.baselines(),
  alerts: (...a: Parameters<MonitorStore['alerts']>) => store!.alerts(...a),
  async close() {
    clearInterval(retentionTimer);
    clearInterval(tickTimer);
    await store?.close();
  },
};

export type StoreWorkerApi = typeof api;
Comlink.expose(api);
