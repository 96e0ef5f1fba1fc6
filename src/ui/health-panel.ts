/** `<inference-health-panel>`: the element that lays out the tiles, charts, class table, log and gallery (their parts live in ui/panel/). */
import { html, LitElement, nothing, type PropertyValues } from 'lit';
import { type PanelData, type PanelHost, type PanelSource, sourceOf } from './panel/data-source.ts';

export type { PanelHost };
import { COCO_LABELS } from '../inference/coco-labels.ts';
import { panelStyles } from './panel/styles.ts';
import './flag-gallery.ts';
import type { InferenceFlagGallery } from './flag-gallery.ts';
import type { FlaggedFrame } from '../flagging/types.ts';
import { fileTime, saveBlob } from './save-blob.ts';
import { NetworkController } from './panel/network.ts';
import { dateTime, fmt, toLocalInput } from './format.ts';
import { CHART_TITLES, chartNames, chartSpecs, chartTheme } from './panel/chart-specs.ts';
import { TrendCharts } from './panel/trend-charts.ts';
import { renderTile, tiles } from './panel/tiles.ts';
import { type ConditionActions, conditionsSection } from './panel/conditions.ts';
import { classTable } from './panel/class-table.ts';
import { verdictTable } from './panel/verdicts.ts';
import type { VerdictEstimate, VerdictKind } from '../flagging/verdicts.ts';
import { InferenceLog, LOG_LIVE_ROWS, type LogRow } from './panel/log.ts';
import { shortVersion } from '../lib/short-version.ts';
import { conditionName } from '../health/conditions.ts';

type Range = '5m' | '1h' | '24h' | '7d' | 'custom';
const SPANS: Record<Exclude<Range, 'custom'>, number> = { '5m': 5 * 60_000, '1h': 3600_000, '24h': 24 * 3600_000, '7d': 7 * 24 * 3600_000 };
const RANGE_LABELS: Record<Range, string> = { '5m': '5 min', '1h': '1 h', '24h': '24 h', '7d': '7 d', custom: 'Custom' };

/**
 * `<inference-health-panel>`: vital-sign tiles, trend charts (uPlot), the inference log and the alert
 * history, from this origin's store. Sits inside `<inference-monitor>` by default, or alone on any page.
 * Themeable with CSS custom properties (`--hp-*`) and `::part`; `theme="dark"|"light"` (default: the
 * system's). Live updates at most 4 a second, paused while the page is hidden. What it shows is made in
 * ui/panel/: the tiles, the chart specs and the charts' uPlot instances (trend-charts.ts), the inference log
 * (a reactive controller), the class table, the styles.
 */
export class InferenceHealthPanel extends LitElement {
  static override properties = {
    cameraId: { type: String, reflect: true, attribute: 'camera-id' },
    location: { type: String, reflect: true },
    condition: { type: String, reflect: true },
    modelVersion: { type: String, reflect: true, attribute: 'model-version' },
    range: { type: String, reflect: true },
    theme: { type: String, reflect: true },
    live: { type: Boolean, reflect: true },
    monitor: { attribute: false },
    source: { attribute: false },
    _data: { state: true },
    _from: { state: true },
    _to: { state: true },
    _error: { state: true },
    _note: { state: true },
    _verdicts: { state: true },
  };

  /** filters (empty: all) */
  declare cameraId: string;
  declare location: string;
  /** a camera condition's id (`colour`, `mono`, `colour-2`…: the `condition` tag the hub records with each frame) */
  declare condition: string;
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
  /** the source the last refresh read (the page's hub when none was given) */
  private resolved?: PanelSource;
  declare private _data?: PanelData;
  declare private _from: number;
  declare private _to: number;
  declare private _error?: string;
  declare private _note?: string;
  /** people's verdicts per model version and camera (undefined: the source keeps none) */
  declare private _verdicts?: VerdictEstimate[];
  private galleryAt = 0;
  private verdictsAt = 0;

  private timer?: ReturnType<typeof setInterval>;
  private lastRefresh = 0;
  private refreshing = false;
  private pendingFull = false;
  private chartSig = '';
  private seriesAt = 0;
  private slowAt = 0;
  private onVisibility = () => {
    if (document.visibilityState === 'visible') void this.refresh();
  };
  /** main-thread ms spent applying each refresh (for the benchmark) */
  readonly refreshCost: number[] = [];
  /** online or not: a network tile while offline */
  private readonly network = new NetworkController(this);
  /** the trend charts' uPlot instances */
  private readonly charts = new TrendCharts(this, {
    theme: () => chartTheme(this, this.isDark()),
    zoom: (from, to) => this.zoom(from, to),
  });
  /** the inference log: its rows and the row whose details are open */
  private readonly _log = new InferenceLog(this, {
    filters: () => this.filters(),
    label: (id) => this.label(id),
    openFlagged: (id) => void this.openFlagged(id),
  });

  constructor() {
    super();
    this.cameraId = '';
    this.location = '';
    this.condition = '';
    this.modelVersion = '';
    this.range = '1h';
    this.theme = 'auto';
    this.live = true;
    this._from = Date.now() - 3600_000;
    this._to = Date.now();
    // a verdict given in the log or the gallery (bubbling out of it, composed): the estimates again
    this.addEventListener('verdict', (e) => {
      const d = (e as CustomEvent<{ id: string; verdict: VerdictKind | null }>).detail;
      if (d) {
        this._log.noteVerdict(d.id, d.verdict);
        this.renderRoot.querySelector<InferenceFlagGallery>('inference-flag-gallery')?.noteVerdict(d.id, d.verdict);
      }
      void this.refreshVerdicts();
    });
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
  }

  protected override updated(changed: PropertyValues) {
    if (['cameraId', 'location', 'condition', 'modelVersion', 'range', 'source'].some((k) => changed.has(k)) && this.hasUpdated) void this.refresh(true);
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
      ...(this.condition ? { condition: this.condition } : {}),
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
      this.resolved = store;
      const range = { ...this.window(), ...this.filters() };
      const live = this.filters();
      // Tiles follow every refresh; the trend charts, whose buckets are 10 s to 1 h wide, at most every
      // sixth of a bucket (and the filter choices every 10 s): less to move across from the worker.
      const prev = this._data;
      const bucketMs = { '10s': 10_000, '1m': 60_000, '1h': 3600_000 }[prev?.series.res ?? '10s'];
      const stale = (at: number, every: number) => full || !prev || now - at >= every;
      const wantSeries = stale(this.seriesAt, Math.min(60_000, Math.max(1000, bucketMs / 6)));
      const wantSlow = stale(this.slowAt, 10_000);
      const [series, totals, latency, overview, vitals, usage, alerts, dims, sync, conditions, conditionEvents] = await Promise.all([
        wantSeries ? store.series(range) : prev!.series,
        store.totals(range),
        store.percentiles(range, 'inference', [0.5, 0.95]),
        store.overview(live),
        store.vitals(live),
        wantSlow ? store.usage() : prev!.usage,
        store.alerts({ from: range.from, to: range.to, ...(this.cameraId ? { camera_id: this.cameraId } : {}), ...(this.condition ? { condition: this.condition } : {}), limit: 200 }),
        wantSlow ? store.dimensions(range) : prev!.dims,
        store.syncStatus(),
        store.conditions?.(live),
        store.conditionEvents?.({ from: range.from, to: range.to, ...(this.cameraId ? { camera_id: this.cameraId } : {}), limit: 20 }),
      ]);
      if (wantSeries) this.seriesAt = now;
      if (wantSlow) this.slowAt = now;
      const t0 = performance.now();
      this._data = { range, series, totals, latency, overview, vitals, usage, alerts: alerts.rows, dims, sync, ...(conditions ? { conditions } : {}), ...(conditionEvents ? { conditionEvents } : {}) };
      this._error = undefined;
      this.charts.marks = alerts.rows.map((a) => ({ t: a.t, state: a.state }));
      await this.updateComplete;
      // charts redraw only when their data changed (a new or growing bucket, another range or filter)
      const sig = `${series.res}|${series.t.length}|${series.t[0]}|${series.t.at(-1)}|${series.frames.at(-1)}|${series.heapMB.at(-1)}|${series.agreement?.frames.reduce((a, n) => a + (n || 0), 0)}|${vitals.some((v) => v.reference)}|${this.charts.marks.length}|${this.isDark()}`;
      if (full || sig !== this.chartSig) this.drawCharts();
      this.chartSig = sig;
      const ms = performance.now() - t0;
      this.refreshCost.push(ms);
      if (this.refreshCost.length > 500) this.refreshCost.shift();
      if (full) await this._log.load(store, true);
      else if (this._log.scroll === 0 && !this._log.selected) await this._log.loadNewest(store);
      // the flagged frames: every 2 s (they come a few a minute at most)
      if (full || now - this.galleryAt >= 2000) {
        this.galleryAt = now;
        void this.renderRoot.querySelector<InferenceFlagGallery>('inference-flag-gallery')?.refresh(full);
      }
      // people's verdicts: every 10 s (sums over every verdict kept; one given here refreshes them at once)
      if (full || now - this.verdictsAt >= 10_000) {
        this.verdictsAt = now;
        void this.refreshVerdicts(store);
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

  /** People's verdicts per model version and camera (all kept, not only the range's: each rests on as many as there are), within the panel's filters. */
  private async refreshVerdicts(store?: PanelSource) {
    const s = store ?? (await sourceOf(this.source));
    this._verdicts = s.verdictEstimates ? await s.verdictEstimates(this.filters()).catch(() => this._verdicts) : undefined;
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
    this._log.select(row);
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

  private isDark() {
    return this.theme === 'dark' || (this.theme !== 'light' && matchMedia?.('(prefers-color-scheme: dark)').matches);
  }

  private drawCharts() {
    const d = this._data;
    if (d) this.charts.draw(chartSpecs(d, (id) => this.label(id)));
  }

  private zoom(from: number, to: number) {
    this.range = 'custom';
    this._from = from;
    this._to = to;
    void this.refresh(true);
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
          ? tiles(d, { monitor: this.monitor, backend: this._log.rows[0]?.b, network: this.network }).map(renderTile)
          : html`<p class="muted">Loading…</p>`}
      </section>
      ${conditionsSection(d?.conditions, d?.conditionEvents, this.conditionActions())}
      <section class="charts" part="charts" aria-label="Trends">
        ${chartNames(d).map((name) => {
          const title = CHART_TITLES[name];
          return html`<figure part="chart">
            <figcaption id="cap-${name}">${title}</figcaption>
            <div data-chart=${name} role="img" aria-labelledby="cap-${name}"></div>
          </figure>`;
        })}
      </section>
      ${classTable(d, (id) => this.label(id))} ${verdictTable(this._verdicts)}
      <div class="bottom">
        <section aria-labelledby="log-title" part="log">
          <h2 id="log-title">Inference log <span class="muted">(newest first${this._log.rows.length ? `, ${this._log.rows.length}${this._log.next ? '+' : ''} loaded` : ''})</span></h2>
          ${this._log.render()}
        </section>
        <section aria-labelledby="alerts-title" part="alerts">
          <h2 id="alerts-title">Alerts</h2>
          ${this._log.selected ? this._log.renderDetails(this._log.selected) : nothing}
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

  /** The conditions section's answers for a camera's condition being learnt: accepted, or a fault (then a refresh). */
  private conditionActions(): ConditionActions {
    const src = this.resolved;
    if (!src?.acceptCondition || !src.refuseCondition) return {};
    const run = (f: Promise<unknown>) => void f.then(() => this.refresh(true), (e: unknown) => (this._error = `Condition: ${e instanceof Error ? e.message : String(e)}`));
    const stream = (camera: string) => ({ camera_id: camera, ...(this.modelVersion ? { mv: this.modelVersion } : {}) });
    return { accept: (camera) => run(src.acceptCondition!(stream(camera))), refuse: (camera) => run(src.refuseCondition!(stream(camera))) };
  }

  private renderControls(d?: PanelData) {
    const dims = d?.dims ?? { mv: [], camera_id: [], location: [], condition: [] };
    const select = (label: string, prop: 'cameraId' | 'location' | 'condition' | 'modelVersion', options: string[], show: (o: string) => string = (o) => o) => html`<label
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
      ${select('Condition', 'condition', dims.condition, conditionName)}
      ${select('Model', 'modelVersion', dims.mv, (o) => shortVersion(o))}
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

  private renderAlerts(d?: PanelData) {
    const rows = d?.alerts ?? [];
    if (!rows.length) return html`<p class="muted">No alerts in this range.</p>`;
    return html`<ul class="alerts">
      ${rows.map(
        (a) => html`<li>
          <span class="state-${a.state}">${a.state}</span> <strong>${a.name}</strong>${a.cause ? html` <span class="cause" data-cause=${a.cause}>cause: ${a.cause}</span>` : nothing}<br />
          <span class="muted">${dateTime(a.t)} · ${a.camera_id || 'camera'}${a.location ? ` @ ${a.location}` : ''} · value ${fmt(a.value, 3)} / threshold ${fmt(a.threshold, 3)}</span>
          ${a.evidence ? html`<br /><span class="evidence muted" title=${a.evidence}>${a.evidence}</span>` : nothing}
        </li>`,
      )}
    </ul>`;
  }
}

if (!customElements.get('inference-health-panel')) customElements.define('inference-health-panel', InferenceHealthPanel);

declare global {
  interface HTMLElementTagNameMap {
    'inference-health-panel': InferenceHealthPanel;
  }
}
