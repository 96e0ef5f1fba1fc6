/**
 * `npm run bench:soak` (not part of `npm run bench`, not in CI): the kiosk as shipped — production build,
 * WASM, the health panel open — on the fake camera fed the vtest clip (looping), for SOAK_MIN minutes
 * (default 30). Every SOAK_SAMPLE_S seconds (default 30):
 *   - the JS heap after a forced GC (CDP HeapProfiler.collectGarbage, then Runtime.getHeapUsage: the page's
 *     main thread), the page's `performance.memory.usedJSHeapSize` before that GC (the sawtooth a sampler
 *     without GC sees), and `performance.measureUserAgentSpecificMemory()` (the number the monitor's own
 *     memory-staircase rule gets) with its breakdown per worker (inference, frames, store, onnxruntime's
 *     threads);
 *   - IndexedDB: `navigator.storage.estimate()` and the records in each object store;
 *   - long tasks on the page's main thread (PerformanceObserver 'longtask', with their attribution);
 *   - every `inference` event's time, inference and end-to-end latency (kept as numbers in the page and
 *     taken out at each sample, so the bench itself grows nothing in the page).
 * Reports the heap slope (least squares, MB per 10 min) after a warm-up, FPS and latency medians in the
 * first vs the last 5 minutes, the IndexedDB size against what retention allows, and each worker's memory
 * first vs last. Writes bench/results/soak.json and the chart docs/soak.svg.
 *
 * SOAK_MIN=8 npm run bench:soak for a short run while developing; SOAK_PORT to pick the port (default 5309);
 * SOAK_REDRAW=bench/results/soak.json redraws the chart from a run's figures.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CDPSession, Page } from '@playwright/test';
import { DEFAULT_RETENTION } from '../src/store/store.ts';
import { fmt, launchChromium, median, root, startPreviewServer } from './lib.ts';

const PORT = Number(process.env.SOAK_PORT ?? 5309);
const MINUTES = Number(process.env.SOAK_MIN ?? 30);
const SAMPLE_S = Number(process.env.SOAK_SAMPLE_S ?? 30);
/** the first minutes are warm-up (WASM tiers up, the baseline is captured, caches fill): not in the slope */
const WARM_MIN = Number(process.env.SOAK_WARM_MIN ?? Math.min(5, MINUTES / 5));
/** first vs last: 5 minutes each, less on a short run */
const EDGE_MIN = Math.min(5, MINUTES / 3);
const SVG = process.env.SOAK_SVG ?? join(root, 'docs', 'soak.svg');
/** numbers kept per result: time, inference, total, capture, queue, preprocess, postprocess */
const STRIDE = 7;

interface Sample {
  /** minutes since the kiosk's first result */
  min: number;
  /** main thread's JS heap after a forced GC (MB) */
  heapAfterGcMB: number;
  /** performance.memory.usedJSHeapSize before that GC (MB) */
  heapBeforeGcMB: number;
  /** measureUserAgentSpecificMemory: all of the page's agents (MB) */
  uaMB: number;
  /** …per worker (MB, by script) and the page's main thread */
  perAgentMB: Record<string, number>;
  /** each worker's JS heap after a forced GC (MB; CDP, by the worker's name) */
  workerHeapMB: Record<string, number>;
  /** the monitor's own latest heap sample (what memory-staircase sees; MB) */
  monitorHeapMB: number;
  /** the monitor's memory-staircase and latency-shift signals at this sample */
  staircase: { value: number; threshold: number; state: string } | null;
  latencyShift: { value: number; threshold: number; state: string } | null;
  /** IndexedDB's usage (MB): navigator.storage.estimate()'s usageDetails.indexedDB, else its whole usage */
  storageMB: number;
  /** records per object store */
  records: Record<string, number>;
  /** results since the previous sample */
  results: number;
  fps: number;
  inferenceP50: number;
  totalP50: number;
  longTasks: number;
  longTaskMs: number;
}

const lsSlope = (xs: number[], ys: number[]) => {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  return sxx ? sxy / sxx : NaN;
};

/** A worker's script URL → a name a person reads. */
function agentName(a: { url?: string; scope?: string }): string {
  if (!a.scope || a.scope === 'Window') return 'main';
  const file = (a.url ?? '').split('/').pop() ?? '';
  if (/hub-worker/.test(file)) return 'hub worker';
  if (/frame-worker/.test(file)) return 'frame worker';
  if (/ort|wasm/.test(file)) return "onnxruntime's threads";
  if (/worker/.test(file)) return 'inference worker';
  return file || a.scope;
}

async function installProbes(page: Page) {
  // tsx names functions with a helper the page does not have
  await page.addInitScript('globalThis.__name ??= (f) => f');
  await page.addInitScript(() => {
    const w = window as any;
    // compact: [epoch ms, inference ms, total ms] per result, taken out by the bench every sample
    w.__soak = { results: [] as number[], longTasks: [] as { d: number; a: string }[], count: 0, ua: null, alerts: [] as unknown[] };
    document.addEventListener('alert', (e) => {
      const d = (e as CustomEvent).detail;
      w.__soak.alerts.push({ rule: d.rule, state: d.state, value: d.value, threshold: d.threshold, t: d.t });
    });
    // measureUserAgentSpecificMemory resolves with a GC in every agent, which can take minutes: measured in
    // the background, the latest answer read at each sample
    const measure = (performance as any).measureUserAgentSpecificMemory;
    if (crossOriginIsolated && measure) {
      const loop = async () => {
        try {
          const r = await measure.call(performance);
          w.__soak.ua = { bytes: r.bytes, breakdown: r.breakdown.map((b: any) => ({ bytes: b.bytes, attribution: b.attribution.map((a: any) => ({ url: a.url, scope: a.scope })) })) };
        } catch {}
        setTimeout(loop, 30_000);
      };
      setTimeout(loop, 5_000);
    }
    document.addEventListener('inference', (e) => {
      const d = (e as CustomEvent).detail;
      const t = d.timings ?? {};
      w.__soak.results.push(d.timestamp ?? Date.now(), t.inference ?? NaN, t.total ?? NaN, t.capture ?? NaN, t.queue ?? NaN, t.preprocess ?? NaN, t.postprocess ?? NaN);
      w.__soak.count++;
    });
    if (PerformanceObserver.supportedEntryTypes?.includes('longtask'))
      new PerformanceObserver((l) => {
        for (const e of l.getEntries() as any[]) {
          const a = e.attribution?.[0];
          w.__soak.longTasks.push({ d: e.duration, a: `${e.name}${a ? `/${a.containerType}${a.containerSrc ? `:${a.containerSrc}` : ''}` : ''}` });
        }
      }).observe({ type: 'longtask', buffered: true });
  });
}

/**
 * The page's dedicated workers over CDP (the page session auto-attaches to them, unflattened: Playwright's
 * own session keeps its flattened one): a forced GC and the heap used in each, by the worker's name.
 */
class Workers {
  private seq = 0;
  private waiting = new Map<number, (r: any) => void>();
  readonly sessions = new Map<string, string>();
  constructor(private cdp: CDPSession) {
    cdp.on('Target.attachedToTarget', (e: any) => {
      if (e.targetInfo.type === 'worker') this.sessions.set(e.sessionId, e.targetInfo.title || e.targetInfo.url);
    });
    cdp.on('Target.detachedFromTarget', (e: any) => this.sessions.delete(e.sessionId));
    cdp.on('Target.receivedMessageFromTarget', (e: any) => {
      const m = JSON.parse(e.message);
      this.waiting.get(m.id)?.(m.result ?? null);
      this.waiting.delete(m.id);
    });
  }
  async start() {
    await this.cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  }
  private send(sessionId: string, method: string): Promise<any> {
    const id = ++this.seq;
    return Promise.race([
      new Promise((r) => {
        this.waiting.set(id, r);
        void this.cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method }) }).catch(() => r(null));
      }),
      new Promise((r) => setTimeout(() => r(null), 10_000)),
    ]);
  }
  /** heap used after a forced GC, MB, per worker */
  async heaps(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const [sid, name] of this.sessions) {
      await this.send(sid, 'HeapProfiler.collectGarbage');
      const u = await this.send(sid, 'Runtime.getHeapUsage');
      if (u) out[workerName(name)] = (out[workerName(name)] ?? 0) + u.usedSize / 1e6;
    }
    return out;
  }
}

const workerName = (t: string) => {
  if (/hub/.test(t)) return 'hub worker';
  if (/frame/.test(t)) return 'frame worker';
  if (/inference/.test(t) || /worker-[\w-]+\.js/.test(t)) return 'inference worker';
  return /ort|wasm/.test(t) ? "onnxruntime's threads" : t.split('/').pop() || t;
};

async function sample(page: Page, cdp: CDPSession, workers: Workers) {
  const before = await page.evaluate(() => ((performance as any).memory?.usedJSHeapSize ?? NaN) / 1e6);
  await cdp.send('HeapProfiler.collectGarbage');
  const workerHeapMB = await workers.heaps();
  const usage = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number; totalSize: number };
  const perAgentMB: Record<string, number> = {};
  const m = await page.evaluate(() => (window as any).__soak.ua as { bytes: number; breakdown: { bytes: number; attribution: { url?: string; scope?: string }[] }[] } | null);
  for (const b of m?.breakdown ?? []) {
    const name = b.attribution.length ? agentName(b.attribution[0]!) : 'shared';
    perAgentMB[name] = (perAgentMB[name] ?? 0) + b.bytes / 1e6;
  }
  const page2 = await page.evaluate(async () => {
    const w = window as any;
    const results = w.__soak.results.splice(0) as number[];
    const longTasks = w.__soak.longTasks.splice(0) as { d: number; a: string }[];
    const est = await navigator.storage.estimate();
    const records: Record<string, number> = {};
    const dbs = (await indexedDB.databases?.()) ?? [];
    for (const d of dbs) {
      if (!d.name) continue;
      const db = await new Promise<IDBDatabase>((res, rej) => {
        const r = indexedDB.open(d.name!);
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
      for (const s of [...db.objectStoreNames]) {
        records[s] = await new Promise<number>((res) => {
          const r = db.transaction(s).objectStore(s).count();
          r.onsuccess = () => res(r.result);
          r.onerror = () => res(NaN);
        });
      }
      db.close();
    }
    // what the monitor's own rules see: its latest heap sample and the memory and latency signals
    const v = await (document.querySelector('inference-monitor') as any).vitals().catch(() => undefined);
    const sig = (id: string) => {
      const x = v?.signals?.find((y: any) => y.rule === id);
      return x ? { value: x.value, threshold: x.threshold, state: x.state } : null;
    };
    const alerts = w.__soak.alerts.splice(0);
    // IndexedDB's share where the browser says (Chromium: usageDetails), not the kiosk's offline cache (~47 MB)
    const idb = (est as StorageEstimate & { usageDetails?: { indexedDB?: number } }).usageDetails?.indexedDB;
    return { results, longTasks, usageMB: (idb ?? est.usage ?? NaN) / 1e6, records, monitorHeapMB: v?.resources?.heapMB ?? NaN, staircase: sig('memory-staircase'), latencyShift: sig('latency-shift'), alerts };
  });
  return { before, afterGcMB: usage.usedSize / 1e6, workerHeapMB, uaMB: m ? m.bytes / 1e6 : NaN, perAgentMB, ...page2 };
}

function svgChart(samples: Sample[], title: string): string {
  const W = 760, PH = 100, PAD = { l: 56, r: 16, t: 26, b: 26 }, GAP = 18;
  const workerNames = [...new Set(samples.flatMap((s) => Object.keys(s.workerHeapMB)))].sort();
  const colors = ['#0891b2', '#ca8a04', '#db2777', '#4b5563'];
  const panels: { label: string; unit: string; series: { name: string; color: string; ys: number[] }[] }[] = [
    { label: 'JS heap after GC', unit: 'MB', series: [
      { name: 'main thread', color: '#2563eb', ys: samples.map((s) => s.heapAfterGcMB) },
      ...workerNames.map((w, i) => ({ name: w, color: colors[i % colors.length]!, ys: samples.map((s) => s.workerHeapMB[w] ?? NaN) })),
    ] },
    { label: 'All agents, incl. WASM memory', unit: 'MB', series: [{ name: 'measureUserAgentSpecificMemory', color: '#9333ea', ys: samples.map((s) => s.uaMB) }] },
    { label: 'Frame rate', unit: 'fps', series: [{ name: 'results per second', color: '#16a34a', ys: samples.map((s) => s.fps) }] },
    { label: 'Latency, median', unit: 'ms', series: [
      { name: 'inference', color: '#ea580c', ys: samples.map((s) => s.inferenceP50) },
      { name: 'end to end', color: '#dc2626', ys: samples.map((s) => s.totalP50) },
    ] },
  ];
  const H = PAD.t + panels.length * (PH + GAP) + PAD.b;
  const xs = samples.map((s) => s.min);
  const x0 = 0, x1 = Math.max(1, ...xs);
  const X = (x: number) => PAD.l + ((x - x0) / (x1 - x0)) * (W - PAD.l - PAD.r);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${PAD.l}" y="16" font-size="13" font-weight="600">${title}</text>`,
  ];
  panels.forEach((p, i) => {
    const top = PAD.t + i * (PH + GAP) + 8;
    const all = p.series.flatMap((s) => s.ys).filter(Number.isFinite);
    let lo = Math.min(...all), hi = Math.max(...all);
    if (!all.length) (lo = 0), (hi = 1);
    const pad = Math.max((hi - lo) * 0.1, Math.abs(hi) * 0.02, 1e-6);
    lo = Math.max(0, lo - pad);
    hi += pad;
    const Y = (y: number) => top + PH - ((y - lo) / (hi - lo)) * PH;
    out.push(`<rect x="${PAD.l}" y="${top}" width="${W - PAD.l - PAD.r}" height="${PH}" fill="none" stroke="#ddd"/>`);
    for (const v of [lo, (lo + hi) / 2, hi]) out.push(`<text x="${PAD.l - 4}" y="${Y(v) + 4}" text-anchor="end" fill="#555">${v.toFixed(hi - lo < 10 ? 1 : 0)}</text>`);
    out.push(`<text x="${PAD.l + 4}" y="${top + 12}" font-weight="600">${p.label} (${p.unit})</text>`);
    let lx = PAD.l + 16 + (p.label.length + p.unit.length + 3) * 6.6;
    for (const s of p.series) {
      const pts = s.ys.map((y, k) => (Number.isFinite(y) ? `${X(xs[k]!).toFixed(1)},${Y(y).toFixed(1)}` : '')).filter(Boolean).join(' ');
      out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts}"/>`);
      out.push(`<rect x="${lx}" y="${top + 4}" width="10" height="10" fill="${s.color}"/><text x="${lx + 14}" y="${top + 13}">${s.name}</text>`);
      lx += 24 + s.name.length * 5.6;
    }
  });
  const axisY = PAD.t + panels.length * (PH + GAP) + 4;
  const step = x1 > 20 ? 5 : x1 > 8 ? 2 : 1;
  for (let m = 0; m <= x1; m += step) out.push(`<text x="${X(m)}" y="${axisY}" text-anchor="middle" fill="#555">${m}</text>`);
  out.push(`<text x="${W - PAD.r}" y="${axisY + 14}" text-anchor="end" fill="#555">minutes</text>`, '</svg>');
  return out.join('\n');
}

async function main() {
  const { base, server } = await startPreviewServer(PORT, '/');
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await installProbes(page);
    page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
    await page.goto(`${base}/?backend=wasm&panel=on`);
    await page.waitForFunction(() => (window as any).__soak.count >= 3, undefined, { timeout: 600_000 });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('HeapProfiler.enable');
    const workers = new Workers(cdp);
    await workers.start();
    const start = Date.now();
    const samples: Sample[] = [];
    const allResults: number[] = [];
    const tasks: { min: number; d: number; a: string }[] = [];
    let frames = 0;
    const alerts: unknown[] = [];
    console.log(`soak: ${MINUTES} min of the kiosk (production build, WASM, panel open) on the vtest camera; a sample every ${SAMPLE_S} s`);
    while (Date.now() - start < MINUTES * 60_000) {
      // the next whole sample interval (a slow sample skips one rather than bunching the next ones)
      const k = Math.floor((Date.now() - start) / (SAMPLE_S * 1000)) + 1;
      await page.waitForTimeout(Math.max(0, start + k * SAMPLE_S * 1000 - Date.now()));
      const t = Date.now();
      let s: Awaited<ReturnType<typeof sample>>;
      try {
        s = await sample(page, cdp, workers);
      } catch (e) {
        console.log(`  sample failed (${(e as Error).message.split('\n')[0]}): skipped`);
        continue;
      }
      const min = (t - start) / 60_000;
      const res = s.results;
      const inf: number[] = [], tot: number[] = [], cap: number[] = [];
      for (let i = 0; i < res.length; i += STRIDE) {
        allResults.push((res[i]! - start) / 60_000, ...res.slice(i + 1, i + STRIDE));
        inf.push(res[i + 1]!);
        tot.push(res[i + 2]!);
        if (Number.isFinite(res[i + 3])) cap.push(res[i + 3]!);
      }
      frames += inf.length;
      for (const x of s.longTasks) tasks.push({ min, ...x });
      for (const a of s.alerts) alerts.push({ min, ...(a as object) });
      const prevMin = samples.at(-1)?.min ?? 0;
      const x: Sample = {
        min, heapAfterGcMB: s.afterGcMB, heapBeforeGcMB: s.before, uaMB: s.uaMB, perAgentMB: s.perAgentMB, workerHeapMB: s.workerHeapMB, monitorHeapMB: s.monitorHeapMB, staircase: s.staircase, latencyShift: s.latencyShift,
        storageMB: s.usageMB, records: s.records, results: inf.length, fps: inf.length / ((min - prevMin) * 60),
        inferenceP50: median(inf), totalP50: median(tot), longTasks: s.longTasks.length, longTaskMs: s.longTasks.reduce((a, y) => a + y.d, 0),
      };
      samples.push(x);
      console.log(`  ${fmt(min, 1).padStart(5)} min  heap after GC ${fmt(x.heapAfterGcMB)} MB (before ${fmt(x.heapBeforeGcMB)}) workers ${Object.entries(x.workerHeapMB).map(([k, v]) => `${k.split(' ')[0]} ${fmt(v)}`).join(', ')}  all agents ${fmt(x.uaMB)} MB  ${fmt(x.fps)} fps  inference p50 ${fmt(x.inferenceP50)} ms  total p50 ${fmt(x.totalP50)} ms (capture ${fmt(median(cap), 1)})  IndexedDB ${fmt(x.storageMB)} MB  long tasks ${x.longTasks}  monitor heap ${fmt(x.monitorHeapMB)} MB, staircase ${fmt(x.staircase?.value ?? NaN, 2)} MB/min, latency KS ${fmt(x.latencyShift?.value ?? NaN, 2)}/${fmt(x.latencyShift?.threshold ?? NaN, 2)}${s.alerts.length ? `  ALERTS ${JSON.stringify(s.alerts)}` : ''}`);
    }
    await cdp.detach();
    await page.close();

    // figures
    const end = samples.at(-1)!.min;
    const steady = samples.filter((s) => s.min >= WARM_MIN);
    const slope = (f: (s: Sample) => number) => {
      const xs = steady.filter((s) => Number.isFinite(f(s)));
      return lsSlope(xs.map((s) => s.min), xs.map(f)) * 10;
    };
    const between = (from: number, to: number) => {
      const inf: number[] = [], tot: number[] = [];
      const stages: Record<string, number[]> = { capture: [], queue: [], preprocess: [], inference: [], postprocess: [], 'to the page': [] };
      for (let i = 0; i < allResults.length; i += STRIDE)
        if (allResults[i]! >= from && allResults[i]! < to) {
          const [, inference, total, capture, queue, preprocess, postprocess] = allResults.slice(i, i + STRIDE) as number[];
          inf.push(inference!);
          tot.push(total!);
          Object.entries({ capture, queue, preprocess, inference, postprocess }).forEach(([k, v]) => Number.isFinite(v) && stages[k]!.push(v!));
          // what the stages leave of end to end: the result's way to the page and the page's turn to take it
          const rest = total! - [capture, queue, preprocess, inference, postprocess].reduce((a: number, v) => a + (Number.isFinite(v) ? v! : 0), 0);
          if (Number.isFinite(rest)) stages['to the page']!.push(rest);
        }
      const stageP50 = Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, median(v)]));
      return { fps: inf.length / ((to - from) * 60), inferenceP50: median(inf), totalP50: median(tot), stageP50, results: inf.length };
    };
    const first = between(WARM_MIN, WARM_MIN + EDGE_MIN);
    const last = between(end - EDGE_MIN, end);
    const ratio = (a: number, b: number) => b / a;
    const agents = [...new Set(samples.flatMap((s) => Object.keys(s.perAgentMB)))];
    const firstS = steady[0] ?? samples[0]!, lastS = samples.at(-1)!;
    const perAgent = Object.fromEntries(agents.map((a) => {
      const xs = steady.filter((s) => s.perAgentMB[a] !== undefined);
      return [a, { firstMB: firstS.perAgentMB[a] ?? NaN, lastMB: lastS.perAgentMB[a] ?? NaN, slopeMBPer10Min: lsSlope(xs.map((s) => s.min), xs.map((s) => s.perAgentMB[a]!)) * 10 }];
    }));
    const wnames = [...new Set(samples.flatMap((s) => Object.keys(s.workerHeapMB)))];
    const workerHeaps = Object.fromEntries(wnames.map((a) => {
      const xs = steady.filter((s) => s.workerHeapMB[a] !== undefined);
      return [a, { firstMB: firstS.workerHeapMB[a] ?? NaN, lastMB: lastS.workerHeapMB[a] ?? NaN, slopeMBPer10Min: lsSlope(xs.map((s) => s.min), xs.map((s) => s.workerHeapMB[a]!)) * 10 }];
    }));
    // storage: what retention allows at this frame rate, against what is there
    const r = DEFAULT_RETENTION;
    const fps = frames / (end * 60);
    const framesAllowed = Math.min(r.frameMaxCount, (fps * r.frameMaxAgeMs) / 1000);
    const storageSlope = slope((s) => s.storageMB) / 10; // MB per minute
    const bytesPerFrame = (storageSlope * 1e6) / (fps * 60);
    const rec = lastS.records;
    const summary = {
      date: new Date().toISOString(),
      minutes: end,
      sampleSeconds: SAMPLE_S,
      warmUpMinutes: WARM_MIN,
      frames,
      heap: {
        afterGcFirstMB: firstS.heapAfterGcMB,
        afterGcLastMB: lastS.heapAfterGcMB,
        afterGcSlopeMBPer10Min: slope((s) => s.heapAfterGcMB),
        beforeGcSlopeMBPer10Min: slope((s) => s.heapBeforeGcMB),
        beforeGcRangeMB: [Math.min(...steady.map((s) => s.heapBeforeGcMB)), Math.max(...steady.map((s) => s.heapBeforeGcMB))],
        allAgentsSlopeMBPer10Min: slope((s) => s.uaMB),
        target: '≤ 1 MB per 10 min',
      },
      workers: { heapAfterGc: workerHeaps, measureUserAgentSpecificMemory: perAgent },
      storage: {
        usageFirstMB: firstS.storageMB,
        usageLastMB: lastS.storageMB,
        growthMBPerMinute: storageSlope,
        bytesPerFrame,
        records: rec,
        retention: { frameMaxAgeH: r.frameMaxAgeMs / 3600_000, frameMaxCount: r.frameMaxCount, detectionsMaxCount: r.detectionsMaxCount, alertsMaxCount: r.alertsMaxCount },
        framesAllowedAtThisRate: framesAllowed,
        projectedAtRetentionMB: (framesAllowed * bytesPerFrame) / 1e6,
        // retention runs once a minute: a minute's results over the count are within it
        detectionsWithinRetention: (rec.detections ?? 0) <= r.detectionsMaxCount + Math.ceil(fps * 60),
        alertsWithinRetention: (rec.alerts ?? 0) <= r.alertsMaxCount,
      },
      longTasks: {
        count: tasks.length,
        perMinute: tasks.length / end,
        totalMs: tasks.reduce((a, t) => a + t.d, 0),
        maxMs: tasks.length ? Math.max(...tasks.map((t) => t.d)) : 0,
        attribution: Object.fromEntries([...new Set(tasks.map((t) => t.a))].map((a) => [a, tasks.filter((t) => t.a === a).length])),
        note: "the kiosk page runs only the monitor and its panel: every long task on its main thread is the monitor's",
      },
      alerts,
      first: { fromMin: WARM_MIN, toMin: WARM_MIN + EDGE_MIN, ...first },
      last: { fromMin: end - EDGE_MIN, toMin: end, ...last },
      ratios: { fps: ratio(first.fps, last.fps), inferenceP50: ratio(first.inferenceP50, last.inferenceP50), totalP50: ratio(first.totalP50, last.totalP50), target: 'within 5 % (0.95–1.05)' },
      samples,
    };
    mkdirSync(join(root, 'bench', 'results'), { recursive: true });
    writeFileSync(join(root, 'bench', 'results', 'soak.json'), JSON.stringify(summary, null, 2));
    writeFileSync(SVG, svgChart(samples, `Soak: kiosk with panel, vtest camera, ${fmt(end, 0)} min (${summary.date.slice(0, 10)})`));
    const h = summary.heap;
    console.log(`\n== soak: ${fmt(end, 1)} min, ${frames} results ==`);
    console.log(`JS heap after GC (main thread): ${fmt(h.afterGcFirstMB)} → ${fmt(h.afterGcLastMB)} MB, slope ${fmt(h.afterGcSlopeMBPer10Min, 2)} MB per 10 min (target ≤ 1); before GC ${fmt(h.beforeGcRangeMB[0]!)}–${fmt(h.beforeGcRangeMB[1]!)} MB (sawtooth), slope ${fmt(h.beforeGcSlopeMBPer10Min, 2)}`);
    console.log(`all agents (measureUserAgentSpecificMemory): slope ${fmt(h.allAgentsSlopeMBPer10Min, 2)} MB per 10 min`);
    for (const [a, w] of Object.entries(workerHeaps)) console.log(`  ${a.padEnd(24)} JS heap after GC ${fmt(w.firstMB)} → ${fmt(w.lastMB)} MB, slope ${fmt(w.slopeMBPer10Min, 2)} MB per 10 min`);
    for (const [a, w] of Object.entries(perAgent)) console.log(`  ${a.padEnd(24)} ${fmt(w.firstMB)} → ${fmt(w.lastMB)} MB, slope ${fmt(w.slopeMBPer10Min, 2)} MB per 10 min`);
    console.log(`FPS first ${fmt(first.fps, 2)} vs last ${fmt(last.fps, 2)} (×${fmt(summary.ratios.fps, 3)}); inference p50 ${fmt(first.inferenceP50)} vs ${fmt(last.inferenceP50)} ms (×${fmt(summary.ratios.inferenceP50, 3)}); end-to-end p50 ${fmt(first.totalP50)} vs ${fmt(last.totalP50)} ms (×${fmt(summary.ratios.totalP50, 3)}) (target within 5 %)`);
    console.log(`end to end by stage, p50 first → last (ms): ${Object.keys(first.stageP50).map((k) => `${k} ${fmt(first.stageP50[k]!, 1)} → ${fmt(last.stageP50[k]!, 1)}`).join('; ')}`);
    console.log(`IndexedDB: ${fmt(summary.storage.usageFirstMB)} → ${fmt(summary.storage.usageLastMB)} MB, ${fmt(storageSlope, 2)} MB/min, ${fmt(bytesPerFrame, 0)} B per frame; retention keeps ${fmt(framesAllowed, 0)} frames at this rate → ~${fmt(summary.storage.projectedAtRetentionMB, 0)} MB at most; records ${JSON.stringify(rec)}`);
    console.log(`alerts raised by the monitor: ${alerts.length ? JSON.stringify(alerts) : 'none'}`);
    console.log(`long tasks: ${tasks.length} (${fmt(summary.longTasks.perMinute, 2)}/min, max ${fmt(summary.longTasks.maxMs, 0)} ms) ${JSON.stringify(summary.longTasks.attribution)}`);
    const pct = (x: number) => `${x >= 1 ? '+' : ''}${fmt((x - 1) * 100)} %`;
    console.log('\nfor docs/benchmarks.md (the soak figures table):');
    console.log('| | result | target |\n|---|---|---|');
    console.log(`| JS heap after GC, main thread (slope, least squares after ${fmt(WARM_MIN, 0)} min warm-up) | ${fmt(h.afterGcFirstMB)} → ${fmt(h.afterGcLastMB)} MB, ${fmt(h.afterGcSlopeMBPer10Min, 2)} MB per 10 min | ≤ 1 MB per 10 min |`);
    console.log(`| workers' JS heap after GC | ${Object.entries(workerHeaps).map(([a, w]) => `${a} ${fmt(w.firstMB)} → ${fmt(w.lastMB)} MB (${fmt(w.slopeMBPer10Min, 2)}/10 min)`).join('; ')} | flat |`);
    console.log(`| all agents (measureUserAgentSpecificMemory, what memory-staircase sees) | slope ${fmt(h.allAgentsSlopeMBPer10Min, 2)} MB per 10 min | flat |`);
    console.log(`| FPS, first vs last ${fmt(EDGE_MIN, 0)} min (median rate) | ${fmt(first.fps, 2)} → ${fmt(last.fps, 2)} (${pct(summary.ratios.fps)}) | within 5 % |`);
    console.log(`| inference latency p50, first vs last | ${fmt(first.inferenceP50)} → ${fmt(last.inferenceP50)} ms (${pct(summary.ratios.inferenceP50)}) | within 5 % |`);
    console.log(`| end-to-end latency p50, first vs last | ${fmt(first.totalP50)} → ${fmt(last.totalP50)} ms (${pct(summary.ratios.totalP50)}) | within 5 % |`);
    console.log(`| IndexedDB | ${fmt(summary.storage.usageLastMB)} MB after ${fmt(end, 0)} min, ${fmt(bytesPerFrame, 0)} B per frame; retention (24 h / 500,000 frames) caps it near ${fmt(summary.storage.projectedAtRetentionMB, 0)} MB at this rate; detections ${rec.detections ?? '—'} (retention keeps ${r.detectionsMaxCount}, trimming once a minute: ${summary.storage.detectionsWithinRetention ? 'within it' : 'PAST IT'}) | no growth past retention |`);
    console.log(`| long tasks on the page (all the monitor's) | ${tasks.length} (${fmt(summary.longTasks.perMinute, 2)} per min, longest ${fmt(summary.longTasks.maxMs, 0)} ms) | |`);
    console.log(`| alerts raised on the unchanged clip | ${alerts.length} | 0 |`);
    console.log(`written: bench/results/soak.json, ${SVG.replace(`${root}/`, '')}`);
  } finally {
    await browser.close();
    server.kill();
  }
}

if (process.env.SOAK_REDRAW) {
  // redraws the chart from a run's soak.json (SOAK_REDRAW=bench/results/soak.json)
  const run = JSON.parse(readFileSync(process.env.SOAK_REDRAW, 'utf8')) as { samples: Sample[]; minutes: number; date: string };
  writeFileSync(SVG, svgChart(run.samples, `Soak: kiosk with panel, vtest camera, ${fmt(run.minutes, 0)} min (${run.date.slice(0, 10)})`));
  console.log(`written: ${SVG.replace(`${root}/`, '')}`);
} else main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
