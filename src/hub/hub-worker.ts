/// <reference lib="webworker" />
/**
 * The hub: the page's back-end worker, one per page. It opens the page's database and runs what every monitor
 * on the page shares — the store (records, rollups, the log), the health engine (vitals, drift, alerts), the
 * flagger (frames to label), sync to a server and the OTLP export. Inference and recorder workers send it their
 * results over their own MessagePorts (nothing crosses the main thread); pages query it through Comlink.
 * Retention runs once a minute under a Web Lock, so two tabs never do it at the same time.
 */
import * as Comlink from 'comlink';
import type { DetectionsRow } from '../store/schema.ts';
import { failureRecord, type FrameRecord, tagKey, toFrameRecord } from '../telemetry/record.ts';
import type { ResultMessage } from '../inference/protocol.ts';
import { MonitorStore, type StoreOptions, type StoreStatus } from '../store/store.ts';
import { MONITOR_DB, sliceOf } from './database.ts';
import { conditionTagger } from './condition-tag.ts';
import type { FlagDB } from '../flagging/schema.ts';
import type { SyncDB } from '../sync/schema.ts';
import { HealthEngine } from '../health/engine.ts';
import { upShare } from '../health/uptime.ts';
import type { AlertEvent, ConditionEvent, HealthOptions, ResourceSample } from '../health/types.ts';
import { ConditionLog, type ConditionQuery } from './condition-log.ts';
import { type AlertRule, parseRules } from '../health/rules.ts';
import { FlagDb, type FlaggedQuery } from '../flagging/flag-db.ts';
import { type FlaggedEvent, Flagger } from '../flagging/flagger.ts';
import { buildLabellingZip } from '../flagging/export/zip.ts';
import { VerdictDb, type VerdictQuery } from '../flagging/verdict-db.ts';
import type { Verdict } from '../flagging/verdicts.ts';
import type { ChallengerSync } from '../sync/challenger-payload.ts';
import type { PairedFrame } from '../inference/challenger.ts';
import { challengerKey, keepChallenger, keptChallenger } from './challenger-keep.ts';
import { metricsCsv, metricsJson } from '../store/metrics-file.ts';
import type { Range } from '../store/store.ts';
import { createOtlp, createSync } from '../sync/sync-service.ts';
import type { SyncConfig, SyncOutbox, SyncStatus } from '../sync/outbox.ts';
import type { MonitorInfo } from '../sync/payload.ts';
import { shortVersion } from '../lib/short-version.ts';

let store: MonitorStore | undefined;
let opening: Promise<StoreStatus> | undefined;
let retentionTimer: ReturnType<typeof setInterval> | undefined;
const statusListeners = new Set<(s: StoreStatus) => void>();
let lastMode: StoreStatus['mode'] | undefined;
let engine: HealthEngine | undefined;
let tickTimer: ReturnType<typeof setInterval> | undefined;
const alertListeners = new Set<(a: AlertEvent) => void>();
let conditionLog: ConditionLog | undefined;
const conditionListeners = new Set<(e: ConditionEvent) => void>();
let flagger: Flagger | undefined;
let verdicts: VerdictDb | undefined;
const flagListeners = new Set<(f: FlaggedEvent) => void>();
let sync: ReturnType<typeof createSync> | undefined;
let otlp: ReturnType<typeof createOtlp> | undefined;
const otlpListeners = new Set<(e: { code: string; message: string; status?: number } | undefined, s: SyncStatus) => void>();
const syncListeners = new Set<(e: { code: string; message: string; status?: number } | undefined, s: SyncStatus) => void>();
addEventListener('online', () => (sync?.outbox.online(true), otlp?.online(true)));
addEventListener('offline', () => (sync?.outbox.online(false), otlp?.online(false)));

async function startFlagging(s: MonitorStore) {
  const f = new Flagger(
    new FlagDb(() => sliceOf<FlagDB>(s.database)), // follows the store's database: none once it falls back to memory
    { get: (k) => s.getMeta(k), set: (k, v) => s.setMeta(k, v) },
    (mv, camera) => engine?.flagContext(mv, camera) ?? { firing: [] },
    (mv) => s.fullVersion(mv),
  );
  await f.load().catch(() => undefined);
  f.on((x) => {
    for (const l of flagListeners) l(x);
  });
  flagger = f;
}

/** The labels of the model versions of `frames` (kept by the monitors that ran them); the first version's win. */
async function labelsFor(mvs: string[]): Promise<string[]> {
  for (const mv of mvs) {
    const l = await store!.getMeta<string[]>(`labels:${shortVersion(mv)}`).catch(() => undefined);
    if (Array.isArray(l)) return l;
  }
  return [];
}

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
  conditionLog = new ConditionLog(s);
  await conditionLog.load();
  engine.on((e) => {
    if (e.type === 'alert') {
      void s.addAlert(e.alert);
      for (const l of alertListeners) l(e.alert);
    } else if (e.type === 'baseline') void s.putBaseline(e.baseline);
    else if (e.type === 'baseline-cleared') void s.deleteBaseline(e.mv, e.camera);
    else if (e.type === 'condition') {
      conditionLog?.add(e);
      for (const l of conditionListeners) l(e);
    }
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

/** `g` with the `condition` tag its camera is recorded under now (condition-tag.ts); as it is where none is known. */
const conditioned = conditionTagger(() => engine);

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

/**
 * An outbox's state and queue are the origin's (IndexedDB): with two pages of it open (a kiosk window per
 * camera), one runs it at a time — the page holding the Web Lock, until it closes; the next waits its turn.
 */
function takeTurns(outbox: SyncOutbox, name: string) {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  if (!locks) return;
  outbox.follow();
  void locks
    .request(name, async () => {
      await outbox.lead().catch(() => undefined);
      await new Promise<never>(() => {}); // held for this page's life
    })
    .catch(() => void outbox.lead().catch(() => undefined)); // no lock to be had: run it here
}

const api = {
  /** Opens the store (once per worker); resolves with its status. */
  open(options: OpenOptions = {}): Promise<StoreStatus> {
    if (!opening) {
      store = new MonitorStore(options, MONITOR_DB);
      opening = store.open().then(async (s) => {
        await startHealth(store!, options.health ?? {});
        await startFlagging(store!);
        verdicts = new VerdictDb(() => sliceOf<FlagDB>(store?.database)); // follows the store's database, as the flagged frames do
        const database = () => sliceOf<SyncDB>(store?.database);
        sync = createSync(store!, database, () => engine, () => flagger, (e) => {
          const st = sync!.outbox.status();
          for (const l of syncListeners) l(e, st);
        }, () => verdicts);
        takeTurns(sync.outbox, 'inference-health-sync');
        await sync.outbox.load().catch(() => undefined);
        otlp = createOtlp(store!, database, () => [...sync!.monitors.values()], (e) => {
          const st = otlp!.status();
          for (const l of otlpListeners) l(e, st);
        });
        takeTurns(otlp, 'inference-health-otlp');
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
    port.onmessage = (e: MessageEvent<ResultMessage>) => {
      if (!store) return;
      const m = e.data;
      if (m.model) store.noteModel(m.model);
      // a reference model's verdict on a frame: a vital sign of the deployed model (health/agreement-signal.ts)
      if (m.agreement) {
        const g = tagKey(m.tags);
        engine?.observeAgreement({ ...m.agreement, g });
        flagger?.observeAgreement(m.src, m.agreement);
        // and rolled up with the judged frame's bucket (rollup.ts `ag`) under its camera's condition, as the frame's record: charted, exported and synced
        store.addAgreement(m.agreement.t, shortVersion(m.agreement.modelVersion), conditioned(g, m.agreement.modelVersion), m.agreement.counts);
        return;
      }
      const r = m.result;
      const record = r ? toFrameRecord(r, m.src, m.tags) : m.failure ? failureRecord(m.failure, m.src, m.tags) : undefined;
      if (!record) return notify();
      // flagging sees each record first (it hashes the thumbnail), then the health engine, which adds the
      // scene distance, drops the thumbnail and associates the boxes with the frame before (flicker)
      flagger?.observe(record, r?.detections, m.nearMisses);
      engine?.observe(record, r?.detections);
      // stored (rolled up, synced, exported) under the condition its camera is in now; flagging keeps the record as it came
      const g = conditioned(record.g, record.mv, record.i?.sa);
      store.add([g === record.g ? record : { ...record, g }], r?.detections.length ? [{ id: r.inferenceId, t: Math.round(r.timestamp), detections: r.detections }] : undefined);
      notify();
    };
  },
  onStatus(cb: (s: StoreStatus) => void) {
    statusListeners.add(cb);
  },
  add(records: FrameRecord[], detections?: DetectionsRow[]) {
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
    store?.addGauges(x.t, x.mv, conditioned(x.g ?? tagKey({ camera_id: x.camera_id }), x.mv), {
      ...(x.heapMB !== undefined ? { heapMB: x.heapMB } : {}),
      longTasks: x.longTasks,
      up: upShare(x),
    });
  },
  /** A page stopped a monitor's pipeline on purpose (not a crash): its stream awaits no frames (HealthEngine.stopped). */
  monitorStopped(x: { mv: string; camera_id: string; t: number }) {
    engine?.stopped(x.mv, x.camera_id, x.t);
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
  // ---------- a camera's conditions (health/conditions.ts) ----------
  /** Each stream's conditions: the one in force, one being learnt, those known. */
  conditions: (...a: Parameters<HealthEngine['conditions']>) => engine!.conditions(...a),
  /** The condition being learnt becomes its camera's baseline now (a person accepts it). */
  acceptCondition: (...a: Parameters<HealthEngine['acceptCondition']>) => engine!.acceptCondition(...a),
  /** The condition being learnt is a fault (a person says so): judged against the condition before it. */
  refuseCondition: (...a: Parameters<HealthEngine['refuseCondition']>) => engine!.refuseCondition(...a),
  /** Condition changes kept, newest first. */
  conditionEvents: (q?: ConditionQuery) => conditionLog?.query(q) ?? [],
  /** Condition changes as they happen. */
  onCondition(cb: (e: ConditionEvent) => void) {
    conditionListeners.add(cb);
  },
  alerts: (...a: Parameters<MonitorStore['alerts']>) => store!.alerts(...a),
  // ---------- flagging ----------
  /** A monitor's frame worker (it holds the judged frames and encodes those flagged), by source id. */
  connectFrames(port: MessagePort, src: string) {
    flagger?.connect(src, port);
  },
  disconnectFrames(src: string) {
    flagger?.disconnect(src);
  },
  /** Attaches metadata to an inference (see MonitorStore.annotate); the sync sends it with the next batch. */
  async annotate(src: string, id: string, meta: unknown) {
    if (!store) throw new Error('the store is not open');
    return store.annotate(src, id, meta);
  },
  /** A model version's labels (COCO categories and YOLO names in exports come from them). */
  async noteLabels(mv: string, labels: string[]) {
    await store!.setMeta(`labels:${shortVersion(mv)}`, labels.map(String));
  },
  onFlagged(cb: (f: FlaggedEvent) => void) {
    flagListeners.add(cb);
  },
  flagRules: () => flagger!.getRules(),
  /** Validates and replaces the flag rules (kept in IndexedDB); throws a TypeError naming the bad rule and field. */
  setFlagRules: (rules: unknown) => flagger!.setRules(rules),
  flagSettings: () => flagger!.getSettings(),
  setFlagSettings: (s: unknown) => flagger!.setSettings(s),
  /** Flags a frame by hand: `id`, or the newest judged frame of the monitor `src`. */
  flag: (src: string, id?: string) => flagger!.flag(src, id),
  flagged: (q?: FlaggedQuery) => flagger!.db.list(q),
  flaggedFacets: () => flagger!.db.facets(),
  flaggedFrame: (id: string) => flagger!.db.get(id),
  /** A flagged frame's JPEG or thumbnail (a Blob: crosses to the page as a handle, not as bytes). */
  async flaggedImage(id: string, kind: 'jpeg' | 'thumb' = 'jpeg') {
    return (await flagger!.db.images(id))?.[kind];
  },
  deleteFlagged: (ids: string[]) => flagger!.delete(ids),
  flagStatus: () => flagger!.status(),
  /**
   * One ZIP of the flagged frames passing `q` (a selection with `ids`), for labelling tools: images, COCO, YOLO,
   * Label Studio and a CSV manifest — built here, one image at a time; the page only saves the Blob.
   */
  async exportFlagged(q: FlaggedQuery = {}, onProgress?: (done: number, total: number) => void) {
    const f = flagger!;
    const ids = f.db.ids({ ...q, limit: undefined }).reverse(); // oldest first
    const frames = (await f.db.frames(ids)).filter((x): x is NonNullable<typeof x> => !!x);
    const labels = await labelsFor([...new Set(frames.map((x) => x.mv))]);
    const fallback = frames.flatMap((x) => x.detections).reduce<string[]>((l, d) => ((l[d.classId] ??= d.label), l), []);
    return buildLabellingZip({
      frames,
      labels: labels.length ? labels : Array.from(fallback, (l, i) => l ?? `class ${i}`),
      image: async (id) => (await f.db.images(id))?.jpeg,
      verdicts: (await verdicts?.all()) ?? [],
      ...(onProgress ? { onProgress } : {}),
    });
  },
  // ---------- challenger models ----------
  /** A monitor's challenger comparison (sync/challenger-payload.ts): the latest per monitor goes in the next sync batch (none without sync). */
  noteChallenger: (c: ChallengerSync) => void sync?.challengers.set(c.src, c),
  /** Keeps a camera's compared frames of two versions (challenger-keep.ts), to go on from after a reload. */
  keepChallenger: (camera: string, champion: string, challenger: string, frames: PairedFrame[]) => (store ? keepChallenger(store, challengerKey(camera, champion, challenger), frames) : Promise.resolve()),
  /** The frames kept for a camera's two versions, oldest first ([] where none). */
  keptChallenger: (camera: string, champion: string, challenger: string) => (store ? keptChallenger(store, challengerKey(camera, champion, challenger)) : Promise.resolve([])),
  // ---------- people's verdicts ----------
  /**
   * Gives (or, with `verdict: null`, clears) a person's verdict on a frame — its detections `right`, `wrong`, or
   * `missing` something — with the frame's model version and camera; stamped now, replacing an earlier one.
   * Validated: a TypeError names the bad field.
   */
  setVerdict: (v: Omit<Verdict, 't'>) => verdicts!.set({ ...v, t: Date.now() }),
  /** The verdicts of these frames, by id (none or cleared: absent). */
  verdicts: (ids: string[]) => verdicts!.of(ids),
  /** Per (model version, camera): counts, precision and missing rate with their Wilson 95 % intervals. */
  verdictEstimates: (q?: VerdictQuery) => verdicts!.estimates(q),
  /** The series and totals of a range (what the panel shows) as a CSV or JSON file. */
  async exportMetrics(range: Range, format: 'csv' | 'json', labels?: string[]) {
    const [series, totals] = await Promise.all([store!.series(range), store!.totals(range)]);
    const text = format === 'csv' ? metricsCsv(series, totals, labels) : metricsJson(series, totals, range);
    return new Blob([text], { type: format === 'csv' ? 'text/csv' : 'application/json' });
  },
  // ---------- sync ----------
  /** Starts syncing summaries to a server (undefined stops; the outbox is kept). */
  configureSync: (config: SyncConfig | undefined) => sync!.outbox.configure(config),
  syncStatus: () => sync?.outbox.status(),
  /** Sync errors as they start (sync-unauthorized, sync-failed, sync-rejected), and `undefined` once a batch gets through again. */
  onSyncError(cb: (e: { code: string; message: string; status?: number } | undefined, s: SyncStatus) => void) {
    syncListeners.add(cb);
  },
  /** A monitor that reports through this page's sync (its model, backend and tags go with every batch). */
  registerMonitor(info: MonitorInfo) {
    sync?.monitors.set(info.src, info);
  },
  unregisterMonitor(src: string) {
    sync?.monitors.delete(src);
  },
  /** Makes a batch of what is new and sends the queue now (tests, and "sync now" controls). */
  async syncNow() {
    await sync?.outbox.tick();
    return sync?.outbox.status();
  },
  /** The page is going away: commit what is buffered, batch what is new and send what fits a keepalive request. */
  async pagehide() {
    await Promise.all([store?.flush(), flagger?.save()]);
    await Promise.all([sync?.outbox.pagehide(), otlp?.pagehide()]);
  },
  /** Starts exporting the rollups as OTLP/HTTP JSON metrics to a Collector (undefined stops; its outbox is kept). */
  configureOtlp: (config: SyncConfig | undefined) => otlp!.configure(config),
  otlpStatus: () => otlp?.status(),
  onOtlpError(cb: (e: { code: string; message: string; status?: number } | undefined, s: SyncStatus) => void) {
    otlpListeners.add(cb);
  },
  /** Makes an OTLP export of what is new and sends its queue now (tests). */
  async otlpNow() {
    await otlp?.tick();
    return otlp?.status();
  },
  async close() {
    sync?.outbox.stop();
    otlp?.stop();
    await flagger?.save();
    clearInterval(retentionTimer);
    clearInterval(tickTimer);
    await store?.close();
  },
};

export type HubApi = typeof api;
Comlink.expose(api);
