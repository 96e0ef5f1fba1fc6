/// <reference lib="webworker" />
/**
 * The store worker: owns IndexedDB for this page. Inference workers send it frame records over their own
 * MessagePorts (nothing crosses the main thread); pages query it through Comlink. Retention runs once a
 * minute under a Web Lock, so two tabs never do it at the same time.
 */
import * as Comlink from 'comlink';
import type { Detection } from '../inference/types.ts';
import type { FrameRecord } from '../telemetry/record.ts';
import { MonitorStore, type StoreOptions, type StoreStatus } from './store.ts';

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

function notify() {
  if (!store) return;
  const s = store.getStatus();
  if (s.mode !== lastMode) {
    lastMode = s.mode;
    for (const l of statusListeners) l(s);
  }
}

async function retention() {
  if (!store) return;
  const run = () => store!.applyRetention().catch(() => undefined);
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  if (locks) await locks.request('inference-health-retention', { ifAvailable: true }, async (lock) => (lock ? run() : undefined));
  else await run();
}

const api = {
  /** Opens the store (once per worker); resolves with its status. */
  open(options: StoreOptions = {}): Promise<StoreStatus> {
    if (!opening) {
      store = new MonitorStore(options);
      opening = store.open().then((s) => {
        lastMode = s.mode;
        void retention();
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
  applyRetention: (now?: number) => store!.applyRetention(now),
  importRollups: (...a: Parameters<MonitorStore['importRollups']>) => store!.importRollups(...a),
  evictOldestFrames: (n: number) => store!.evictOldestFrames(n),
  async close() {
    clearInterval(retentionTimer);
    await store?.close();
  },
};

export type StoreWorkerApi = typeof api;
Comlink.expose(api);
