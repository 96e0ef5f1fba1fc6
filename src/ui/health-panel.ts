import { html, LitElement, nothing, type PropertyValues } from 'lit';
import { ref } from 'lit/directives/ref.js';
import type { StoreClient } from '../store/client.ts';
import { type PanelSource, sourceOf } from './panel/data-source.ts';
import type { AlertEvent, Signal, Vitals } from '../health/types.ts';
import { COCO_LABELS } from '../inference/coco-labels.ts';
import { STAGES } from '../telemetry/record.ts';
import { type AlertMark, type ChartSpec, type ChartTheme, chartOptions, stack, uPlot } from './charts.ts';
import { panelStyles, ROW_HEIGHT } from './panel/styles.ts';
import './flag-gallery.ts';
import type { InferenceFlagGallery } from './flag-gallery.ts';
import type { FlaggedFrame } from '../flagging/types.ts';
import { fileTime, saveBlob } from './save-blob.ts';
import type { SyncStatus } from '../sync/outbox.ts';
import { NetworkController, networkTile } from './panel/network.ts';

type Range = '5m' | '1h' | '24h' | '7d' | 'custom';
const SPANS: Record<Exclude<Range, 'custom'>, number> = { '5m': 5 * 60_000, '1h': 3600_000, '24h': 24 * 3600_000, '7d': 7 * 24 * 3600_000 };
const RANGE_LABELS: Record<Range, string> = { '5m': '5 min', '1h': '1 h', '24h': '24 h', '7d': '7 d', custom: 'Custom' };
type Level = 'ok' | 'warn' | 'alert' | 'idle';
const CHART_TITLES = {
  latency: 'Latency by stage, median per bucket, stacked (ms)',
  confidence: 'Mean confidence with p10–p90 band and baseline',
  classes: 'Detections per minute by class, stacked',
  image: 'Input image: brightness, sharpness and scene distance',
  memory: 'JS heap (MB)',
} as const;

/** What the panel shows of a running monitor (the `<inference-monitor>` it sits in, if any). */
export interface PanelHost {
  state: string;
  readyInfo?: { backend: string; modelVersion: string; modelId: string; fallbackReason?: string; labels: string[] };
  /** flags the frame on screen for labelling (the gallery's "Flag this frame") */
  flag?: (inferenceId?: string) => Promise<FlaggedFrame>;
  /** while its camera is down (track ended or muted): the camera tile says so */
  cameraDown?: { reason: 'ended' | 'muted'; since: number };
}

/**
 * Rows the live log keeps on top of those scrolled in: new rows are put on top every second, so without a
 * bound the list grew by every frame for as long as the panel was open (issue #18's soak: the page's heap
 * rose with it). The rows cut off stay in the store; scrolling down loads them again.
 */
const LOG_LIVE_ROWS = 500;

interface LogRow {
  id: string;
  t: number;
  mv: string;
  b: string;
  l: number[];
  k: [number, number, number, number][];
  g: string;
  m?: string;
  e?: string;
  detections?: { classId: number; label: string; score: number; box: number[] }[];
  /** metadata attached after the fact (annotate()) */
  annotations?: Record<string, string>;
}

const fmt = (v: number | undefined, d = 1) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d));
const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : `${(100 * v).toFixed(1)} %`);
// One formatter each, made once: toLocale*String builds a formatter per call (~0.1 ms), and the log
// renders a time per row every refresh.
const timeFormat = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const dateTimeFormat = new Intl.DateTimeFormat([], { year: 'numeric', month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const time = (t: number) => timeFormat.format(t);
const dateTime = (t: number) => dateTimeFormat.format(t);
const mb = (b?: number) => (b === undefined ? '–' : b > 1e9 ? `${(b / 1e9).toFixed(2)} GB` : `${(b / 1e6).toFixed(1)} MB`);
/** Sets an element's height through the CSSOM (a strict CSP blocks style attributes, styleMap's first render included). */
const height = (px: number) => (el?: Element) => {
  if (el) (el as HTMLElement).style.height = `${px}px`;
};
const toLocalInput = (t: number) => new Date(t - new Date(t).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);


/**
 * `<inference-health-panel>`: vital-sign tiles, trend charts (uPlot), the inference log and the alert
 * history, from this origin's store. Sits inside `<inference-monitor>` by default, or alone on any page.
 * Themeable with CSS custom properties (`--hp-*`) and `::part`; `theme="dark"|"light"` (default: the
 * system's). Live updates at most 4 a second, paused while the page is hidden.
 */
export class InferenceHealthPanel extends LitElement {
  static override properties = {
    cameraId: { type: String, reflect: true, attribute: 'camera-id' },
    location: { type: String, reflect: true },
    modelVersion: { type: String, reflect: true, attribute: 'model-version' },
    range: { type: String, reflect: true },
    theme: { type: String, reflect: true },
    live: { type: Boolean, reflect: true },
    monitor: { attribute: false },
    source: { attribute: false },
    _data: { state: true },
    _log: { state: true },
    _selected: { state: true },
    _scroll: { state: true },
    _from: { state: true },
    _to: { state: true },
    _error: { state: true },
    _selectedFlagged: { state: true },
    _note: { state: true },
  };

  /** filters (empty: all) */
  declare cameraId: string;
  declare location: string;
  declare modelVersion: string;
  /** `5m` | `1h` | `24h` | `7d` | `custom` */
  declare range: Range;
  /** `dark` | `light` | `auto` */
  declare theme: string;
  /** refresh while visible (default on) */
  declare live: boolean;
  /** rows the live log keeps on top of those scrolled in (default LOG_LIVE_ROWS; a property, not an attribute) */
  logLiveRows = LOG_LIVE_ROWS;
  declare monitor?: PanelHost;
  /** where the data comes from: this page's store (default), or a fleet server's (see PanelSource) */
  declare source?: PanelSource;
  declare private _data?: PanelData;
  /** `scrolled`: rows the person loaded by scrolling down (kept even past LOG_LIVE_ROWS) */
  declare private _log: { rows: LogRow[]; next?: string; loading: boolean; scrolled?: number };
  declare private _selected?: LogRow;
  declare private _scroll: number;
  declare private _from: number;
  declare private _to: number;
  declare private _error?: string;
  /** the log row whose details are open is a flagged frame */
  declare private _selectedFlagged: boolean;
  declare private _note?: string;
  private galleryAt = 0;

  private charts = new Map<string, uPlot>();
  private timer?: ReturnType<typeof setInterval>;
  private lastRefresh = 0;
  private refreshing = false;
  private pendingFull = false;
  private chartSig = '';
  private seriesAt = 0;
  private slowAt = 0;
  private resize?: ResizeObserver;
  private marks: AlertMark[] = [];
  private onVisibility = () => {
    if (document.visibilityState === 'visible') void this.refresh();
  };
  /** main-thread ms spent applying each refresh (for the benchmark) */
  readonly refreshCost: number[] = [];
  /** online or not: a network tile while offline */
  private readonly network = new NetworkController(this);

  constructor() {
    super();
    this.cameraId = '';
    this.location = '';
    this.modelVersion = '';
    this.range = '1h';
    this.theme = 'auto';
    this.live = true;
    this._log = { rows: [], loading: false };
    this._scroll = 0;
    this._from = Date.now() - 3600_000;
    this._to = Date.now();
  }

  override connectedCallback() {
    super.connectedCallback();
    document.addEventListener('visibilitychange', this.onVisibility);
    this.timer = setInterval(() => {
      if (this.live && document.visibilityState === 'visible') void this.refresh();
    }, 1000);
    void this.refresh(true);
  }

  override disconnectedCallback() {
    super.disconnectedCallback();
    document.removeEventListener('visibilitychange', this.onVisibility);
    clearInterval(this.timer);
    this.resize?.disconnect();
    for (const c of this.charts.values()) c.destroy();
    this.charts.clear();
  }

  protected override updated(changed: PropertyValues) {
    if (['cameraId', 'location', 'modelVersion', 'range', 'source'].some((k) => changed.has(k)) && this.hasUpdated) void this.refresh(true);
  }

  private window(): { from: number; to: number } {
    if (this.range === 'custom') return { from: this._from, to: this._to };
    const to = Date.now();
    return { from: to - (SPANS[this.range] ?? SPANS['1h']), to };
  }

  private filters() {
    return {
      ...(this.cameraId ? { camera_id: this.cameraId } : {}),
      ...(this.location ? { location: this.location } : {}),
      ...(this.modelVersion ? { mv: this.modelVersion } : {}),
    };
  }

  /** Re-reads everything for the range (throttled to 4 a second; `full` also reloads the log). */
  async refresh(full = false): Promise<void> {
    const now = performance.now();
    if (this.refreshing) {
      // a range or filter change during a refresh: run again (fully) as soon as this one ends
      if (full) this.pendingFull = true;
      return;
    }
    if (!full && now - this.lastRefresh < 250) return;
    this.refreshing = true;
    this.lastRefresh = now;
    try {
      const store = await sourceOf(this.source);
      const range = { ...this.window(), ...this.filters() };
      const live = this.filters();
      // Tiles follow every refresh; the trend charts, whose buckets are 10 s to 1 h wide, at most every
      // sixth of a bucket (and the filter choices every 10 s): less to move across from the worker.
      const prev = this._data;
      const bucketMs = { '10s': 10_000, '1m': 60_000, '1h': 3600_000 }[prev?.series.res ?? '10s'];
      const stale = (at: number, every: number) => full || !prev || now - at >= every;
      const wantSeries = stale(this.seriesAt, Math.min(60_000, Math.max(1000, bucketMs / 6)));
      const wantSlow = stale(this.slowAt, 10_000);
      const [series, totals, latency, overview, vitals, usage, alerts, dims, sync] = await Promise.all([
        wantSeries ? store.series(range) : prev!.series,
        store.totals(range),
        store.percentiles(range, 'inference', [0.5, 0.95]),
        store.overview(live),
        store.vitals(live),
        wantSlow ? store.usage() : prev!.usage,
        store.alerts({ from: range.from, to: range.to, ...(this.cameraId ? { camera_id: this.cameraId } : {}), limit: 200 }),
        wantSlow ? store.dimensions(range) : prev!.dims,
        store.syncStatus(),
      ]);
      if (wantSeries) this.seriesAt = now;
      if (wantSlow) this.slowAt = now;
      const t0 = performance.now();
      this._data = { range, series, totals, latency, overview, vitals, usage, alerts: alerts.rows, dims, sync };
      this._error = undefined;
      this.marks = alerts.rows.map((a) => ({ t: a.t, state: a.state }));
      await this.updateComplete;
      // charts redraw only when their data changed (a new or growing bucket, another range or filter)
      const sig = `${series.res}|${series.t.length}|${series.t[0]}|${series.t.at(-1)}|${series.frames.at(-1)}|${series.heapMB.at(-1)}|${this.marks.length}|${this.isDark()}`;
      if (full || sig !== this.chartSig) this.drawCharts();
      this.chartSig = sig;
      const ms = performance.now() - t0;
      this.refreshCost.push(ms);
      if (this.refreshCost.length > 500) this.refreshCost.shift();
      if (full) await this.loadLog(store, true);
      else if (this._scroll === 0 && !this._selected) await this.loadNewest(store);
      // the flagged frames: every 2 s (they come a few a minute at most)
      if (full || now - this.galleryAt >= 2000) {
        this.galleryAt = now;
        void this.renderRoot.querySelector<InferenceFlagGallery>('inference-flag-gallery')?.refresh(full);
      }
      /** after every refresh that reached the screen: {ms (main-thread time applying it), full} */
      this.dispatchEvent(new CustomEvent('refreshed', { detail: { ms, full } }));
    } catch (e) {
      this._error = `could not read the health data: ${(e as Error)?.message ?? e}`;
    } finally {
      this.refreshing = false;
      if (this.pendingFull) {
        this.pendingFull = false;
        void this.refresh(true);
      }
    }
  }

  /** Live: puts rows newer than the newest shown on top (one small page), keeping the rows already loaded. */
  private async loadNewest(store: PanelSource) {
    if (this._log.loading) return;
    const newest = this._log.rows[0]?.id;
    // only what came since the newest row shown (a second's worth, not the 50 newest every second)
    const page = await store.log({ ...this.filters(), limit: 50, ...(newest !== undefined ? { after: newest } : {}) });
    const fresh = page.rows as LogRow[];
    if (!fresh.length) return;
    if (page.next !== undefined && newest !== undefined) return this.loadLog(store, true); // more than a page since: start over
    const rows = [...fresh, ...this._log.rows];
    const keep = Math.max(this.logLiveRows, this._log.scrolled ?? 0);
    // the oldest rows past the bound go; `next` points just past the last kept one, so scrolling reloads them
    this._log = rows.length > keep ? { ...this._log, rows: rows.slice(0, keep), next: rows[keep - 1]!.id } : { ...this._log, rows };
  }

  private async loadLog(store: PanelSource, reset: boolean) {
    if (this._log.loading || (!reset && !this._log.next)) return;
    this._log = { ...this._log, loading: true };
    const page = await store.log({ ...this.filters(), limit: 200, ...(reset ? {} : { before: this._log.next }) });
    const rows = page.rows as LogRow[];
    const all = reset ? rows : [...this._log.rows, ...rows];
    this._log = { rows: all, ...(page.next ? { next: page.next } : {}), loading: false, ...(reset ? {} : { scrolled: all.length }) };
  }

  /** Opens a log row's details; says whether it is a flagged frame (its details then link to it). */
  private select(r: LogRow | undefined) {
    this._selected = r;
    this._selectedFlagged = false;
    if (r)
      void sourceOf(this.source)
        .then((s) => s.flaggedFrame(r.id))
        .then((f) => {
          if (this._selected?.id === r.id) this._selectedFlagged = !!f;
        });
  }

  /** From the gallery: the inference log's row of a flagged frame, opened in the details. */
  private async showInLog(id: string) {
    const store = await sourceOf(this.source);
    const page = await store.log({ before: `${id}~`, limit: 1 });
    const row = page.rows[0] as LogRow | undefined;
    if (row?.id !== id) {
      this._note = `Inference ${id} is no longer in the log (raw frames are kept 24 h); the flagged frame keeps its details.`;
      return;
    }
    this._note = undefined;
    this.select(row);
    await this.updateComplete;
    const details = this.renderRoot.querySelector<HTMLElement>('.details');
    details?.scrollIntoView({ block: 'nearest' });
    details?.querySelector<HTMLElement>('button')?.focus();
  }

  private async openFlagged(id: string) {
    const g = this.renderRoot.querySelector<InferenceFlagGallery>('inference-flag-gallery');
    if (!g) return;
    await g.open(id);
    g.scrollIntoView({ block: 'nearest' });
  }

  /** The range's series and totals (what the charts and tiles show) as a CSV or JSON download. */
  private async downloadMetrics(format: 'csv' | 'json') {
    try {
      const range = { ...this.window(), ...this.filters() };
      const labels = this.monitor?.readyInfo?.labels ?? COCO_LABELS;
      const blob = await (await sourceOf(this.source)).exportMetrics(range, format, [...labels]);
      saveBlob(blob, `inference-metrics-${fileTime(range.from)}--${fileTime(range.to)}.${format}`, this.renderRoot);
      this._note = undefined;
    } catch (e) {
      this._note = `The metrics download failed: ${(e as Error)?.message ?? e}`;
    }
  }

  private label(id: number): string {
    const labels = this.monitor?.readyInfo?.labels ?? COCO_LABELS;
    return labels[id] ?? `class ${id}`;
  }

  // ---------- charts ----------

  private themeColors = (): ChartTheme => {
    const s = getComputedStyle(this);
    const v = (name: string, fallback: string) => s.getPropertyValue(name).trim() || fallback;
    const dark = this.isDark();
    return {
      axis: v('--hp-axis', dark ? '#c8c8c8' : '#333'),
      grid: v('--hp-grid', dark ? '#ffffff1f' : '#0000001a'),
      alert: v('--hp-alert', '#e5484d'),
      band: v('--hp-band', dark ? '#4aa3ff33' : '#1f6feb26'),
      palette: v('--hp-palette', '#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b #e377c2 #17becf').split(/\s+/),
    };
  };

  private isDark() {
    return this.theme === 'dark' || (this.theme !== 'light' && matchMedia?.('(prefers-color-scheme: dark)').matches);
  }

  private specs(d: PanelData): Record<string, { spec: ChartSpec; data: uPlot.AlignedData }> {
    const s = d.series;
    const t = s.t;
    const stages = ['queue', 'preprocess', 'inference', 'postprocess'] as const;
    const stacked = stack(stages.map((k) => s.p50[k]));
    const baselineConf = d.vitals[0]?.confidence.baselineMean ?? NaN;
    const totals = new Map<number, number>();
    for (const c of s.classCounts) for (const [k, n] of Object.entries(c)) totals.set(+k, (totals.get(+k) ?? 0) + n);
    const top = [...totals].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([k]) => k);
    const perMin = { '10s': 6, '1m': 1, '1h': 1 / 60 }[s.res];
    const classStack = stack(top.map((k) => s.classCounts.map((c) => (c[k] ?? 0) * perMin)));
    return {
      latency: {
        spec: {
          title: CHART_TITLES.latency,
          series: stages.map((k, i) => ({ label: k, fill: true, color: i })).reverse(),
          axes: [{ scale: 'y', side: 3, label: 'ms' }],
        },
        data: [t, ...[...stacked].reverse()],
      },
      confidence: {
        spec: {
          title: CHART_TITLES.confidence,
          series: [{ label: 'mean' }, { label: 'p10', width: 0.5 }, { label: 'p90', width: 0.5 }, { label: 'baseline', dash: [6, 4], color: 3 }],
          bands: [[3, 2]],
          scales: { y: { range: [0, 1] } },
        },
        data: [t, s.meanConfidence, s.confP10, s.confP90, t.map(() => baselineConf)],
      },
      classes: {
        spec: {
          title: CHART_TITLES.classes,
          series: top.map((k, i) => ({ label: this.label(k), fill: true, color: i })).reverse(),
          axes: [{ scale: 'y', side: 3, label: '/min' }],
        },
        data: [t, ...[...classStack].reverse()],
      },
      image: {
        spec: {
          title: CHART_TITLES.image,
          series: [{ label: 'brightness', scale: 'luma' }, { label: 'sharpness', scale: 'sharp' }, { label: 'scene distance', scale: 'scene' }],
          scales: { luma: { range: [0, 255] }, scene: { range: [0, 1] } },
          axes: [{ scale: 'luma', side: 3, label: 'luma' }, { scale: 'scene', side: 1, label: 'scene' }],
        },
        data: [t, s.image.br, s.image.sh, s.image.sc],
      },
      memory: {
        spec: { title: CHART_TITLES.memory, series: [{ label: 'heap MB' }], axes: [{ scale: 'y', side: 3, label: 'MB' }] },
        data: [t, s.heapMB],
      },
    };
  }

  private drawCharts() {
    const d = this._data;
    if (!d) return;
    const specs = this.specs(d);
    for (const [name, { spec, data }] of Object.entries(specs)) {
      const el = this.renderRoot.querySelector<HTMLElement>(`[data-chart="${name}"]`);
      if (!el) continue;
      let chart = this.charts.get(name);
      // a chart whose series changed (other classes on top) is rebuilt; otherwise only its data is set
      if (chart && chart.series.length !== spec.series.length + 1) {
        chart.destroy();
        chart = undefined;
      }
      if (chart && spec.series.some((s, i) => chart!.series[i + 1]!.label !== s.label)) {
        chart.destroy();
        chart = undefined;
      }
      if (!chart) {
        const size = { width: Math.max(200, el.clientWidth), height: 160 };
        chart = new uPlot(
          chartOptions(spec, size, this.themeColors, () => this.marks, (from, to) => this.zoom(from, to)),
          data,
          el,
        );
        this.charts.set(name, chart);
        this.observe(el);
      } else chart.setData(data);
    }
  }

  private observe(el: HTMLElement) {
    this.resize ??= new ResizeObserver((entries) => {
      for (const e of entries) {
        const name = (e.target as HTMLElement).dataset.chart!;
        const c = this.charts.get(name);
        const w = Math.max(200, Math.floor(e.contentRect.width));
        if (c && Math.abs(c.width - w) > 2) c.setSize({ width: w, height: 160 });
      }
    });
    this.resize.observe(el);
  }

  private zoom(from: number, to: number) {
    this.range = 'custom';
    this._from = from;
    this._to = to;
    void this.refresh(true);
  }

  // ---------- tiles ----------

  private tiles(d: PanelData): { id: string; label: string; value: string; detail: string; level: Level }[] {
    const v = d.vitals.length === 1 ? d.vitals[0] : undefined;
    const sig = (ids: string[]) => d.overview.rules.filter((r) => ids.some((id) => r.rule === id || r.rule.startsWith(id)));
    const level = (rs: Signal[]): Level => (rs.some((r) => r.status === 'alert') ? 'alert' : rs.some((r) => r.status === 'warn') ? 'warn' : rs.some((r) => r.status === 'ok') ? 'ok' : 'idle');
    const tot = d.totals;
    // without a live monitor on this page: results per second in the newest bucket, from its first frame
    // (or the bucket's start) to the last recorded frame, while that is recent
    const s = d.series;
    const k = s.t.length - 1;
    const bucketMs = { '10s': 10_000, '1m': 60_000, '1h': 3600_000 }[s.res];
    const span = k >= 0 ? (tot.last - Math.max(s.t[k]!, tot.first)) / 1000 : 0;
    const prevSpan = k >= 1 ? (s.t[k]! - Math.max(s.t[k - 1]!, tot.first)) / 1000 : 0; // a bucket just begun: the one before
    const recent = k >= 0 && Date.now() - tot.last < 3 * bucketMs && (span >= 1 || prevSpan >= 1);
    const fps = v?.reliability.fps ?? (!recent ? undefined : span >= 1 ? (s.frames[k]! - 1) / span : s.frames[k - 1]! / prevSpan);
    const confDelta = tot.meanConfidence - (v?.confidence.baselineMean ?? NaN);
    const drift = d.overview.rules.filter((r) => ['ewma', 'cusum', 'psi', 'js', 'ks'].includes(r.aggregation));
    const info = this.monitor?.readyInfo;
    const mv = info?.modelVersion ?? d.dims.mv[0];
    const quota = d.usage.quota ? ` of ${mb(d.usage.quota)}` : '';
    const camState = this.monitor?.state;
    const camDown = camState === 'running' ? this.monitor?.cameraDown : undefined;
    const frozen = sig(['frame-frozen']);
    const stall = level([...sig(['frames-stalled']), ...frozen]);
    const stalled = stall === 'idle' ? 'ok' : stall; // running, not yet checked for stalls: ok
    return [
      { id: 'fps', label: 'FPS', value: fmt(fps), detail: v ? `baseline ${fmt(v.reliability.baselineFps)} · camera ${fmt(v.reliability.cameraFps)}` : recent ? `recorded, last ${s.res} bucket` : 'no recent frames', level: level(sig(['fps-drop', 'frames-stalled'])) },
      { id: 'latency', label: 'Latency p50 / p95', value: `${fmt(d.latency.values[0], 0)} / ${fmt(d.latency.values[1], 0)} ms`, detail: v ? `baseline ${fmt(v.latency.inference.baselineP50, 0)} / ${fmt(v.latency.inference.baselineP95, 0)} ms` : 'inference stage', level: level(sig(['latency-'])) },
      { id: 'success', label: 'Success rate', value: pct(tot.successRate), detail: `${v && Number.isFinite(v.reliability.baselineSuccessRate) ? `baseline ${pct(v.reliability.baselineSuccessRate)} · ` : ''}${tot.frames} frames, ${tot.frames - tot.valid} failed`, level: tot.frames ? level(sig(['success-rate'])) : 'idle' },
      { id: 'confidence', label: 'Mean confidence', value: fmt(tot.meanConfidence, 3), detail: Number.isFinite(confDelta) ? `Δ ${confDelta >= 0 ? '+' : ''}${confDelta.toFixed(3)} vs baseline` : 'no baseline yet', level: level(sig(['confidence-'])) },
      { id: 'malformed', label: 'Malformed outputs', value: String(tot.malformed), detail: Object.entries(tot.errors).map(([k, n]) => `${k} ${n}`).join(', ') || 'none', level: tot.malformed ? 'alert' : tot.frames ? 'ok' : 'idle' },
      { id: 'drift', label: 'Drift', value: drift.some((r) => r.status === 'alert') ? 'drifting' : drift.some((r) => r.status === 'warn') ? 'watch' : drift.some((r) => r.status === 'ok') ? 'stable' : drift.some((r) => r.status === 'learning') ? 'learning baseline' : '–', detail: `${drift.filter((r) => r.status === 'alert' || r.status === 'warn').length} of ${drift.length} signals off`, level: level(drift) },
      { id: 'alerts', label: 'Alerts firing', value: String(d.overview.firing), detail: `${d.alerts.filter((a) => a.state === 'firing').length} fired in range`, level: d.overview.firing ? 'alert' : 'ok' },
      { id: 'model', label: 'Model · backend', value: `${mv ? mv.slice(0, 12) : '–'} · ${info?.backend ?? this._log.rows[0]?.b ?? '–'}`, detail: info?.fallbackReason ? `fallback: ${info.fallbackReason}` : (info?.modelId ?? ''), level: info?.fallbackReason ? 'warn' : info ? 'ok' : 'idle' },
      { id: 'storage', label: 'Storage used', value: `${mb(d.usage.usage)}${quota}`, detail: `${d.usage.status.mode}${d.usage.persisted ? ', persistent' : ''}${d.usage.status.error ? ` — ${d.usage.status.error}` : ''}`, level: d.usage.status.mode === 'memory' ? 'warn' : 'ok' },
      ...(d.sync && d.sync.state !== 'off' ? [syncTile(d.sync)] : []),
      ...(this.network.online ? [] : [networkTile(this.network, time)]),
      camDown
        ? { id: 'camera', label: 'Camera', value: 'camera down' as string, detail: `${camDown.reason === 'ended' ? 'lost' : 'muted'} ${Math.round((Date.now() - camDown.since) / 1000)} s ago${v ? ` · uptime ${pct(v.reliability.uptime)}` : ''}`, level: 'alert' }
        : { id: 'camera', label: 'Camera', value: camState ?? (v ? 'frames flowing' : '–'), detail: v ? `uptime ${pct(v.reliability.uptime)}${frozen.some((r) => r.status === 'alert') ? ' · picture frozen' : ''}` : '', level: camState === 'error' ? 'alert' : camState === 'running' || v ? stalled : 'idle' },
    ];
  }

  // ---------- rendering ----------

  static override styles = panelStyles;

  override render() {
    const d = this._data;
    return html`<div class="wrap" part="panel">
      ${this.renderControls(d)}
      ${this._error ? html`<p class="error" role="alert">${this._error}</p>` : nothing}
      ${this._note ? html`<p class="error note" role="status">${this._note}</p>` : nothing}
      <h2 class="sr-only" id="tiles-title">Vital signs</h2>
      <section class="tiles" part="tiles" aria-labelledby="tiles-title">
        ${d
          ? this.tiles(d).map(
              (t) => html`<div class="tile" part="tile tile-${t.level}" data-tile=${t.id} data-level=${t.level} role="group" aria-label=${t.label}>
                <h3>${t.label} <span class="level">${t.level === 'idle' ? '' : t.level}</span></h3>
                <div class="value" title=${t.value}>${t.value}</div>
                <div class="detail" title=${t.detail}>${t.detail}</div>
              </div>`,
            )
          : html`<p class="muted">Loading…</p>`}
      </section>
      <section class="charts" part="charts" aria-label="Trends">
        ${(['latency', 'confidence', 'classes', 'image', 'memory'] as const).map((name) => {
          const title = CHART_TITLES[name];
          return html`<figure part="chart">
            <figcaption id="cap-${name}">${title}</figcaption>
            <div data-chart=${name} role="img" aria-labelledby="cap-${name}"></div>
          </figure>`;
        })}
      </section>
      ${this.renderClasses(d)}
      <div class="bottom">
        <section aria-labelledby="log-title" part="log">
          <h2 id="log-title">Inference log <span class="muted">(newest first${this._log.rows.length ? `, ${this._log.rows.length}${this._log.next ? '+' : ''} loaded` : ''})</span></h2>
          ${this.renderLog()}
        </section>
        <section aria-labelledby="alerts-title" part="alerts">
          <h2 id="alerts-title">Alerts</h2>
          ${this._selected ? this.renderDetails(this._selected) : nothing}
          ${this.renderAlerts(d)}
        </section>
      </div>
      <section aria-labelledby="gallery-title" part="gallery" class="gallery">
        <h2 id="gallery-title">Flagged frames <span class="muted">(kept for labelling, newest first)</span></h2>
        <inference-flag-gallery
          camera-id=${this.cameraId}
          .from=${d?.range.from ?? 0}
          .to=${d?.range.to ?? Date.now()}
          .labels=${this.monitor?.readyInfo?.labels ?? COCO_LABELS}
          .monitor=${this.monitor}
          .source=${this.source}
          @show-inference=${(e: CustomEvent<{ id: string }>) => this.showInLog(e.detail.id)}
        ></inference-flag-gallery>
      </section>
    </div>`;
  }

  private renderControls(d?: PanelData) {
    const dims = d?.dims ?? { mv: [], camera_id: [], location: [] };
    const select = (label: string, prop: 'cameraId' | 'location' | 'modelVersion', options: string[], show: (o: string) => string = (o) => o) => html`<label
      >${label}
      <select
        @change=${(e: Event) => (this[prop] = (e.target as HTMLSelectElement).value)}
        .value=${this[prop]}
      >
        <option value="">all</option>
        ${[...new Set([...options, ...(this[prop] ? [this[prop]] : [])])].map((o) => html`<option value=${o} ?selected=${o === this[prop]}>${show(o)}</option>`)}
      </select></label
    >`;
    return html`<div class="controls" part="controls">
      <div class="ranges" role="group" aria-label="Time range">
        ${(Object.keys(RANGE_LABELS) as Range[]).map(
          (r) => html`<button type="button" aria-pressed=${this.range === r ? 'true' : 'false'} @click=${() => this.pickRange(r)}>${RANGE_LABELS[r]}</button>`,
        )}
      </div>
      ${this.range === 'custom'
        ? html`<label>From <input type="datetime-local" .value=${toLocalInput(this._from)} @change=${(e: Event) => this.setCustom('from', (e.target as HTMLInputElement).value)} /></label>
            <label>To <input type="datetime-local" .value=${toLocalInput(this._to)} @change=${(e: Event) => this.setCustom('to', (e.target as HTMLInputElement).value)} /></label>`
        : nothing}
      ${select('Camera', 'cameraId', dims.camera_id)} ${select('Location', 'location', dims.location)}
      ${select('Model', 'modelVersion', dims.mv, (o) => o.slice(0, 12))}
      <label
        >Live
        <input type="checkbox" .checked=${this.live} @change=${(e: Event) => (this.live = (e.target as HTMLInputElement).checked)}
      /></label>
      <span class="downloads" role="group" aria-label="Download the range's metrics">
        <button type="button" class="metrics-csv" @click=${() => this.downloadMetrics('csv')}>Metrics CSV</button>
        <button type="button" class="metrics-json" @click=${() => this.downloadMetrics('json')}>JSON</button>
      </span>
    </div>`;
  }

  private pickRange(r: Range) {
    if (r === 'custom' && this.range !== 'custom') {
      const w = this.window();
      this._from = w.from;
      this._to = w.to;
    }
    this.range = r;
  }

  private setCustom(which: 'from' | 'to', value: string) {
    const t = new Date(value).getTime();
    if (!Number.isFinite(t)) return;
    if (which === 'from') this._from = t;
    else this._to = t;
    if (this._from < this._to) void this.refresh(true);
  }

  /** Per class, live (one stream): counts per minute and hour and the confidence distribution against the baseline. */
  private renderClasses(d?: PanelData) {
    const v = d?.vitals.length === 1 ? d.vitals[0] : undefined;
    if (!v) return nothing;
    const c = v.consistency.classes;
    const pc = v.confidence.perClass;
    const ids = [...new Set([...Object.keys(c), ...Object.keys(pc)].map(Number))].sort((a, b) => (c[b]?.perHour ?? 0) - (c[a]?.perHour ?? 0) || a - b).slice(0, 12);
    if (!ids.length) return nothing;
    const base = v.baseline.state === 'ready';
    const changeLevel = (x?: string) => (x === 'vanished' || x === 'spike' ? 'alert' : x === 'drop' || x === 'new' ? 'warn' : 'ok');
    return html`<section class="classes" part="classes" aria-labelledby="classes-title">
      <h2 id="classes-title">Per class <span class="muted">(last minute and hour${base ? ' against the baseline' : '; baseline still learning'})</span></h2>
      <div class="scroll" tabindex="0" aria-label="Per class, scrollable"><table>
        <thead>
          <tr>
            <th scope="col">Class</th>
            <th scope="col">/ min</th>
            <th scope="col">/ hour</th>
            <th scope="col" title="over the last 10 minutes">Change</th>
            <th scope="col" title="mean confidence">Mean</th>
            <th scope="col">p10 – p90</th>
            <th scope="col">PSI</th>
          </tr>
        </thead>
        <tbody>
          ${ids.map((id) => {
            const x = c[id];
            const p = pc[id];
            const shifted = p && p.psi > p.psiThreshold;
            return html`<tr data-class=${id}>
              <th scope="row">${this.label(id)}</th>
              <td>${fmt(x?.perMinute, 0)}${base ? html` <span class="muted">/ ${fmt(x?.baselinePerMinute, 0)}</span>` : nothing}</td>
              <td>${fmt(x?.perHour, 0)}${base ? html` <span class="muted">/ ${fmt(x?.baselinePerHour, 0)}</span>` : nothing}</td>
              <td data-level=${changeLevel(x?.change)}>${x?.change ?? '–'}</td>
              <td>${fmt(p?.mean, 3)}${base ? html` <span class="muted">/ ${fmt(p?.baselineMean, 3)}</span>` : nothing}</td>
              <td>${fmt(p?.p10, 2)} – ${fmt(p?.p90, 2)}${base ? html` <span class="muted">/ ${fmt(p?.baselineP10, 2)} – ${fmt(p?.baselineP90, 2)}</span>` : nothing}</td>
              <td data-level=${shifted ? 'alert' : 'ok'} title=${p ? `threshold ${fmt(p.psiThreshold, 2)}` : ''}>${fmt(p?.psi, 2)}</td>
            </tr>`;
          })}
        </tbody>
      </table></div>
      <p class="muted hint">Now / baseline. Change: vanished (none where ≥ 10 were expected), drop (under ¼), spike (over 4×), new. PSI: the class's confidence distribution in the last minute against the baseline's; it is off when above its threshold (hover).</p>
    </section>`;
  }

  private renderLog() {
    const rows = this._log.rows;
    const visible = 14;
    const first = Math.max(0, Math.floor(this._scroll / ROW_HEIGHT) - 4);
    const last = Math.min(rows.length, first + visible + 8);
    return html`<div class="log" tabindex="0" aria-label="Inference log, scrollable" @scroll=${this.onLogScroll}>
      <table>
        <colgroup>
          <col class="c-time" />
          <col class="c-model" />
          <col class="c-lat" />
          <col />
          <col class="c-tags" />
        </colgroup>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Model · backend</th>
            <th scope="col">Latency</th>
            <th scope="col">Classes (top score)</th>
            <th scope="col">Tags · status</th>
          </tr>
        </thead>
        <tbody>
          <tr aria-hidden="true" class="spacer" ${ref(height(first * ROW_HEIGHT))}></tr>
          ${rows.slice(first, last).map((r) => this.renderRow(r))}
          <tr aria-hidden="true" class="spacer" ${ref(height((rows.length - last) * ROW_HEIGHT))}></tr>
        </tbody>
      </table>
      ${!rows.length ? html`<p class="muted empty">No inferences recorded in this range.</p>` : nothing}
    </div>`;
  }

  private renderRow(r: LogRow) {
    const classes = r.k.map(([id, n, max]) => `${this.label(id)} ×${n} (${max.toFixed(2)})`).join(', ');
    const tags = r.g ? decodeURIComponent(r.g.replace(/&/g, ', ')) : '';
    const status = r.m ? `malformed: ${r.m}` : r.e ? `error: ${r.e}` : '';
    return html`<tr
      class="log-row"
      tabindex="0"
      data-id=${r.id}
      aria-selected=${this._selected?.id === r.id ? 'true' : 'false'}
      @click=${() => this.select(r)}
      @keydown=${(e: KeyboardEvent) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), this.select(r))}
    >
      <td title=${r.id}>${time(r.t)}</td>
      <td>${r.mv.slice(0, 6)} · ${r.b}</td>
      <td>${fmt(r.l[3], 0)} ms</td>
      <td title=${classes}>${classes || html`<span class="muted">none</span>`}</td>
      <td class=${status ? 'malformed' : ''} title=${`${tags} ${status}`}>${status || tags}</td>
    </tr>`;
  }

  private onLogScroll = (e: Event) => {
    const el = e.target as HTMLElement;
    this._scroll = el.scrollTop;
    if (el.scrollTop + el.clientHeight > el.scrollHeight - 20 * ROW_HEIGHT) void sourceOf(this.source).then((s) => this.loadLog(s, false));
  };

  private renderDetails(r: LogRow) {
    const tags = r.g ? r.g.split('&').map((p) => p.split('=').map(decodeURIComponent) as [string, string]) : [];
    return html`<div class="details" part="details" aria-live="polite">
      <h2>Inference ${r.id} <button type="button" aria-label="Close details" @click=${() => this.select(undefined)}>×</button></h2>
      ${this._selectedFlagged ? html`<button type="button" class="open-flagged" @click=${() => this.openFlagged(r.id)}>⚑ Open the flagged frame</button>` : nothing}
      <dl>
        <dt>time</dt>
        <dd>${dateTime(r.t)}</dd>
        <dt>model</dt>
        <dd>${r.mv} · ${r.b}</dd>
        ${STAGES.map((s, i) => (r.l[i]! >= 0 ? html`<dt>${s}</dt><dd>${fmt(r.l[i], 1)} ms</dd>` : nothing))}
        ${tags.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}
        ${r.m ? html`<dt>malformed</dt><dd class="malformed">${r.m}</dd>` : nothing}
        ${r.e ? html`<dt>error</dt><dd class="malformed">${r.e}</dd>` : nothing}
        ${(r.detections ?? []).map(
          (d) => html`<dt>${d.label || this.label(d.classId)}</dt><dd>${d.score.toFixed(3)} at [${d.box.map((v) => Math.round(v)).join(', ')}]</dd>`,
        )}
        ${Object.entries(r.annotations ?? {}).map(([k, v]) => html`<dt class="annotation" title="annotation">✎ ${k}</dt><dd class="annotation">${v}</dd>`)}
        ${!r.detections && r.k.length ? html`<dt>detections</dt><dd>${r.k.map(([id, n, max, mean]) => `${this.label(id)} ×${n}: max ${max}, mean ${mean}`).join('; ')}</dd>` : nothing}
      </dl>
    </div>`;
  }

  private renderAlerts(d?: PanelData) {
    const rows = d?.alerts ?? [];
    if (!rows.length) return html`<p class="muted">No alerts in this range.</p>`;
    return html`<ul class="alerts">
      ${rows.map(
        (a) => html`<li>
          <span class="state-${a.state}">${a.state}</span> <strong>${a.name}</strong><br />
          <span class="muted">${dateTime(a.t)} · ${a.camera_id || 'camera'}${a.location ? ` @ ${a.location}` : ''} · value ${fmt(a.value, 3)} / threshold ${fmt(a.threshold, 3)}</span>
        </li>`,
      )}
    </ul>`;
  }
}

const ago = (t?: number) => (t === undefined ? 'never' : `${Math.max(0, Math.round((Date.now() - t) / 1000))} s ago`);

/** The sync tile: state and last success; backlog (batches, age of the oldest) and the last error. */
function syncTile(s: SyncStatus): { id: string; label: string; value: string; detail: string; level: Level } {
  // another page of this origin runs the sync (one at a time): what this page knows of it is from its start
  if (s.state === 'elsewhere') return { id: 'sync', label: 'Sync', value: 'by another tab', detail: 'another page of this site sends the batches; this one takes over when it closes', level: 'ok' };
  const err = s.stats.lastError;
  const failing = !!err && (!s.stats.lastSuccessAt || err.at > s.stats.lastSuccessAt);
  const backlog = s.backlog.batches ? `${s.backlog.batches} batch${s.backlog.batches === 1 ? '' : 'es'} waiting, oldest ${ago(s.backlog.oldestAt)}` : 'nothing waiting';
  const dropped = s.stats.dropped ? ` · ${s.stats.dropped} dropped (queue full)` : '';
  const rejected = s.stats.rejected ? ` · ${s.stats.rejected} refused` : '';
  const skipped = s.stats.skipped ? ` · ${s.stats.skipped} items left out (invalid)` : '';
  return {
    id: 'sync',
    label: 'Sync',
    value: s.state === 'offline' ? 'offline' : `synced ${ago(s.stats.lastSuccessAt)}`,
    detail: `${backlog}${dropped}${rejected}${skipped}${failing ? ` — ${err!.code}: ${err!.message}` : ''}`,
    level: failing && err!.code === 'sync-unauthorized' ? 'alert' : failing || s.state === 'offline' || s.stats.dropped ? 'warn' : 'ok',
  };
}

interface PanelData {
  range: { from: number; to: number };
  series: Awaited<ReturnType<StoreClient['series']>>;
  totals: Awaited<ReturnType<StoreClient['totals']>>;
  latency: { n: number; values: number[] };
  overview: { status: Signal['status']; firing: number; streams: number; rules: Signal[] };
  vitals: Vitals[];
  usage: Awaited<ReturnType<StoreClient['usage']>>;
  alerts: AlertEvent[];
  dims: { mv: string[]; camera_id: string[]; location: string[] };
  sync?: SyncStatus;
}

if (!customElements.get('inference-health-panel')) customElements.define('inference-health-panel', InferenceHealthPanel);

declare global {
  interface HTMLElementTagNameMap {
    'inference-health-panel': InferenceHealthPanel;
  }
}
