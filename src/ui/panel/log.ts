/** The panel's inference log: a reactive controller with its rows (live on top, older ones paged in on scrolling), the row whose details are open, and their markup. */
import { html, nothing, type ReactiveController, type ReactiveControllerHost } from 'lit';
import { ref } from 'lit/directives/ref.js';
import type { Filters } from '../../store/queries.ts';
import { STAGES } from '../../telemetry/record.ts';
import { dateTime, fmt, time } from '../format.ts';
import { type PanelSource, sourceOf } from './data-source.ts';
import { ROW_HEIGHT } from './styles.ts';
import type { VerdictKind } from '../../flagging/verdicts.ts';
import { VERDICT_HINT, VERDICT_TEXT, verdictBadge, verdictButtons, verdictOfKey } from './verdicts.ts';

/**
 * Rows the live log keeps on top of those scrolled in: new rows are put on top every second, so without a
 * bound the list grew by every frame for as long as the panel was open (issue #18's soak: the page's heap
 * rose with it). The rows cut off stay in the store; scrolling down loads them again.
 */
export const LOG_LIVE_ROWS = 500;

export interface LogRow {
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

/** Sets an element's height through the CSSOM (a strict CSP blocks style attributes, styleMap's first render included). */
const height = (px: number) => (el?: Element) => {
  if (el) (el as HTMLElement).style.height = `${px}px`;
};

/** What the log reads of its panel (an element property each). */
export interface LogHost extends ReactiveControllerHost {
  /** rows the live log keeps on top of those scrolled in */
  logLiveRows: number;
  /** where the rows come from (see sourceOf) */
  source?: PanelSource;
}

/** What the log asks of its panel. */
export interface LogOptions {
  /** the panel's filters (camera, location, model version) */
  filters: () => Filters;
  /** a class id's name */
  label: (id: number) => string;
  /** opens a flagged frame in the gallery (the details' link, for a row that is one) */
  openFlagged: (id: string) => void;
}

/** The inference log's state and loading; the panel renders it with render() and renderDetails(). */
export class InferenceLog implements ReactiveController {
  rows: LogRow[] = [];
  /** the cursor past the last row loaded (none: no older rows) */
  next?: string;
  loading = false;
  /** rows the person loaded by scrolling down (kept even past the live bound) */
  scrolled?: number;
  /** the log's scrollTop */
  scroll = 0;
  /** the row whose details are open */
  selected?: LogRow;
  /** the row whose details are open is a flagged frame */
  selectedFlagged = false;
  /** people's verdicts on the rows loaded, by id */
  verdicts: Record<string, VerdictKind> = {};
  /** what happened to the last verdict given here, on which row (shown in that row's details) */
  verdictNote?: { id: string; text: string };

  constructor(
    private readonly host: LogHost,
    private readonly options: LogOptions,
  ) {
    host.addController(this);
  }

  /** Nothing to let go of: the panel's refresh drives the loads (no timers or listeners here), and the rows stay for when it is connected again. */
  hostDisconnected() {}

  /** Live: puts rows newer than the newest shown on top (one small page), keeping the rows already loaded. */
  async loadNewest(store: PanelSource) {
    if (this.loading) return;
    const newest = this.rows[0]?.id;
    // only what came since the newest row shown (a second's worth, not the 50 newest every second)
    const page = await store.log({ ...this.options.filters(), limit: 50, ...(newest !== undefined ? { after: newest } : {}) });
    const fresh = page.rows as LogRow[];
    if (!fresh.length) return;
    if (page.next !== undefined && newest !== undefined) return this.load(store, true); // more than a page since: start over
    await this.readVerdicts(store, fresh);
    const rows = [...fresh, ...this.rows];
    const keep = Math.max(this.host.logLiveRows, this.scrolled ?? 0);
    // the oldest rows past the bound go; `next` points just past the last kept one, so scrolling reloads them
    if (rows.length > keep) {
      this.rows = rows.slice(0, keep);
      this.next = rows[keep - 1]!.id;
    } else this.rows = rows;
    this.host.requestUpdate();
  }

  /** Loads the first page (`reset`: the rows shown are replaced) or the next older one. */
  async load(store: PanelSource, reset: boolean) {
    if (this.loading || (!reset && !this.next)) return;
    this.loading = true;
    this.host.requestUpdate();
    const page = await store.log({ ...this.options.filters(), limit: 200, ...(reset ? {} : { before: this.next }) });
    const rows = page.rows as LogRow[];
    if (reset) this.verdicts = {};
    await this.readVerdicts(store, rows);
    const all = reset ? rows : [...this.rows, ...rows];
    this.rows = all;
    this.next = page.next ? page.next : undefined;
    this.loading = false;
    this.scrolled = reset ? undefined : all.length;
    this.host.requestUpdate();
  }

  /** The verdicts of `rows` (where the source keeps them). */
  private async readVerdicts(store: PanelSource, rows: LogRow[]) {
    if (!store.verdicts || !rows.length) return;
    const got: Record<string, VerdictKind> = await store.verdicts(rows.map((r) => r.id)).catch(() => ({}));
    const next = { ...this.verdicts };
    for (const r of rows) {
      if (got[r.id]) next[r.id] = got[r.id]!;
      else delete next[r.id];
    }
    this.verdicts = next;
  }

  /** Gives (null: clears) a person's verdict on a row's detections, with its model version and camera; the panel hears of it (`verdict`). */
  async setVerdict(r: LogRow, verdict: VerdictKind | null) {
    const tags = Object.fromEntries(r.g ? r.g.split('&').map((p) => p.split('=').map(decodeURIComponent) as [string, string]) : []);
    try {
      const store = await sourceOf(this.host.source);
      if (!store.setVerdict) throw new Error('this view keeps no verdicts');
      await store.setVerdict({ id: r.id, verdict, mv: r.mv, camera: tags.camera_id ?? '', ...(tags.location !== undefined ? { location: tags.location } : {}) });
      const { [r.id]: _old, ...rest } = this.verdicts;
      this.verdicts = verdict ? { ...rest, [r.id]: verdict } : rest;
      this.verdictNote = { id: r.id, text: verdict ? `Marked: detections ${VERDICT_TEXT[verdict].text}.` : 'Verdict cleared.' };
      (this.host as unknown as Partial<EventTarget>).dispatchEvent?.(new CustomEvent('verdict', { detail: { id: r.id, verdict }, bubbles: true, composed: true }));
    } catch (e) {
      this.verdictNote = { id: r.id, text: `The verdict was not kept: ${(e as Error)?.message ?? e}` };
    }
    this.host.requestUpdate();
  }

  /** Opens a log row's details; says whether it is a flagged frame (its details then link to it). */
  select(r: LogRow | undefined) {
    if (this.selected !== r || this.selectedFlagged) this.host.requestUpdate();
    this.selected = r;
    this.selectedFlagged = false;
    if (r) {
      const source = sourceOf(this.host.source);
      void source
        .then((s) => s.flaggedFrame(r.id))
        .then((f) => {
          if (this.selected?.id === r.id && this.selectedFlagged !== !!f) {
            this.selectedFlagged = !!f;
            this.host.requestUpdate();
          }
        });
      // its verdict as it stands (given in the gallery, or the row was not among those loaded)
      void source.then((s) => this.readVerdicts(s, [r])).then(() => this.host.requestUpdate());
    }
  }

  /** A verdict given elsewhere (the gallery): its row's badge follows. */
  noteVerdict(id: string, verdict: VerdictKind | null) {
    if ((this.verdicts[id] ?? null) === verdict) return;
    const { [id]: _old, ...rest } = this.verdicts;
    this.verdicts = verdict ? { ...rest, [id]: verdict } : rest;
    this.host.requestUpdate();
  }

  private onScroll = (e: Event) => {
    const el = e.target as HTMLElement;
    if (this.scroll !== el.scrollTop) this.host.requestUpdate();
    this.scroll = el.scrollTop;
    if (el.scrollTop + el.clientHeight > el.scrollHeight - 20 * ROW_HEIGHT) void sourceOf(this.host.source).then((s) => this.load(s, false));
  };

  /** The log: a virtualised table (only the rows in view, and a few around, are in the DOM). */
  render() {
    const rows = this.rows;
    const visible = 14;
    const first = Math.max(0, Math.floor(this.scroll / ROW_HEIGHT) - 4);
    const last = Math.min(rows.length, first + visible + 8);
    return html`<div class="log" tabindex="0" aria-label="Inference log, scrollable" @scroll=${this.onScroll}>
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
    const label = this.options.label;
    const classes = r.k.map(([id, n, max]) => `${label(id)} ×${n} (${max.toFixed(2)})`).join(', ');
    const tags = r.g ? decodeURIComponent(r.g.replace(/&/g, ', ')) : '';
    const status = r.m ? `malformed: ${r.m}` : r.e ? `error: ${r.e}` : '';
    const verdict = this.verdicts[r.id];
    return html`<tr
      class="log-row"
      tabindex="0"
      data-id=${r.id}
      data-verdict=${verdict ?? ''}
      title=${`Enter opens the details. ${VERDICT_HINT}`}
      aria-keyshortcuts="1 2 3 0 R W M"
      aria-selected=${this.selected?.id === r.id ? 'true' : 'false'}
      @click=${() => this.select(r)}
      @keydown=${(e: KeyboardEvent) => {
        const v = verdictOfKey(e);
        if (v !== undefined) (e.preventDefault(), void this.setVerdict(r, v));
        else if (e.key === 'Enter' || e.key === ' ') (e.preventDefault(), this.select(r));
      }}
    >
      <td title=${r.id}>${time(r.t)}</td>
      <td>${r.mv.slice(0, 6)} · ${r.b}</td>
      <td>${fmt(r.l[3], 0)} ms</td>
      <td title=${classes}>${classes || html`<span class="muted">none</span>`}</td>
      <td class=${status ? 'malformed' : ''} title=${`${tags} ${status}`}>${verdictBadge(verdict)}${status || tags}</td>
    </tr>`;
  }

  /** The open row's details: every stage's latency, its tags, detections and annotations. */
  renderDetails(r: LogRow) {
    const label = this.options.label;
    const tags = r.g ? r.g.split('&').map((p) => p.split('=').map(decodeURIComponent) as [string, string]) : [];
    return html`<div class="details" part="details" aria-live="polite">
      <h2>Inference ${r.id} <button type="button" aria-label="Close details" @click=${() => this.select(undefined)}>×</button></h2>
      ${this.selectedFlagged ? html`<button type="button" class="open-flagged" @click=${() => this.options.openFlagged(r.id)}>⚑ Open the flagged frame</button>` : nothing}
      ${verdictButtons(this.verdicts[r.id], (v) => void this.setVerdict(r, v))}
      ${this.verdictNote?.id === r.id ? html`<p class="muted verdict-note" role="status">${this.verdictNote.text}</p>` : nothing}
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
          (d) => html`<dt>${d.label || label(d.classId)}</dt><dd>${d.score.toFixed(3)} at [${d.box.map((v) => Math.round(v)).join(', ')}]</dd>`,
        )}
        ${Object.entries(r.annotations ?? {}).map(([k, v]) => html`<dt class="annotation" title="annotation">✎ ${k}</dt><dd class="annotation">${v}</dd>`)}
        ${!r.detections && r.k.length ? html`<dt>detections</dt><dd>${r.k.map(([id, n, max, mean]) => `${label(id)} ×${n}: max ${max}, mean ${mean}`).join('; ')}</dd>` : nothing}
      </dl>
    </div>`;
  }
}
