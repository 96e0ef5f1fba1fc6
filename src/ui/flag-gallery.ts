/** `<inference-flag-gallery>`: the flagged frames as a virtualised grid of thumbnails with their boxes, filters, selection, and the ZIP download. */
import * as Comlink from 'comlink';
import { html, LitElement, nothing, type PropertyValues, svg } from 'lit';
import { ref } from 'lit/directives/ref.js';
import { type PanelSource, sourceOf } from './panel/data-source.ts';
import type { FlaggedFrame } from '../flagging/types.ts';
import type { FlaggedQuery } from '../flagging/flag-db.ts';
import { fileTime, saveBlob } from './save-blob.ts';
import { fileSize, shortDateTime } from './format.ts';
import { CELL_H, CELL_W, galleryStyles } from './flag-gallery-styles.ts';
import { shortVersion } from '../lib/short-version.ts';
import type { VerdictKind } from '../flagging/verdicts.ts';
import { VERDICT_HINT, VERDICT_TEXT, verdictBadge, verdictButtons, verdictOfKey } from './panel/verdicts.ts';
import { verdictStyles } from './panel/verdict-styles.ts';

/** rows drawn beyond the visible ones, above and below */
const OVERSCAN = 2;
const PAGE = 120;
const MAX_THUMBS = 400;

/** Sets an element's height through the CSSOM (a strict CSP blocks style attributes). */
const height = (px: number) => (el?: Element) => {
  if (el) (el as HTMLElement).style.height = `${px}px`;
};

/** What the gallery needs of a monitor on the page: flagging by hand. */
export interface GalleryHost {
  state: string;
  flag?: (inferenceId?: string) => Promise<FlaggedFrame>;
}

type Status = Awaited<ReturnType<PanelSource['flagStatus']>>;
type Facets = Awaited<ReturnType<PanelSource['flaggedFacets']>>;

/**
 * `<inference-flag-gallery>`: the frames kept for labelling, newest first, as thumbnails with their boxes and
 * reason chips (virtualised: only the visible rows are in the DOM); filters by reason, class, camera and
 * time; open one full size; select, delete, and download the selection or everything as one ZIP (built in
 * the hub worker). Lives in `<inference-health-panel>`; labels and tags render as text.
 */
export class InferenceFlagGallery extends LitElement {
  static override properties = {
    cameraId: { type: String, attribute: 'camera-id' },
    from: { type: Number },
    to: { type: Number },
    labels: { attribute: false },
    monitor: { attribute: false },
    source: { attribute: false },
    _rows: { state: true },
    _total: { state: true },
    _status: { state: true },
    _facets: { state: true },
    _reason: { state: true },
    _classId: { state: true },
    _camera: { state: true },
    _allTime: { state: true },
    _selected: { state: true },
    _open: { state: true },
    _openUrl: { state: true },
    _busy: { state: true },
    _progress: { state: true },
    _message: { state: true },
    _confirmDelete: { state: true },
    _scroll: { state: true },
    _cols: { state: true },
    _thumbsVersion: { state: true },
    _verdicts: { state: true },
  };

  declare cameraId: string;
  /** the panel's time range (epoch ms) */
  declare from: number;
  declare to: number;
  declare labels: readonly string[];
  declare monitor?: GalleryHost;
  /** where the flagged frames come from (default: this page's store) */
  declare source?: PanelSource;
  declare private _rows: FlaggedFrame[];
  declare private _total: number;
  declare private _status?: Status;
  declare private _facets?: Facets;
  declare private _reason: string;
  declare private _classId: string;
  declare private _camera: string;
  declare private _allTime: boolean;
  declare private _selected: Set<string>;
  declare private _open?: FlaggedFrame;
  declare private _openUrl?: string;
  declare private _busy?: string;
  /** a download's progress: images packed, of how many */
  declare private _progress?: [number, number];
  declare private _message?: { text: string; level: 'ok' | 'alert' };
  declare private _confirmDelete: boolean;
  declare private _scroll: number;
  declare private _cols: number;
  declare private _thumbsVersion: number;
  /** people's verdicts on the frames shown, by id */
  declare private _verdicts: Record<string, VerdictKind>;

  private next?: string;
  private loading = false;
  /** what the rows shown were read for (counts, filters, range) */
  private sig = '';
  private thumbs = new Map<string, string>();
  private thumbsWanted = new Set<string>();
  private resize?: ResizeObserver;

  constructor() {
    super();
    this.cameraId = '';
    this.from = 0;
    this.to = Date.now();
    this.labels = [];
    this._rows = [];
    this._total = 0;
    this._reason = '';
    this._classId = '';
    this._camera = '';
    this._allTime = false;
    this._selected = new Set();
    this._confirmDelete = false;
    this._scroll = 0;
    this._cols = 3;
    this._thumbsVersion = 0;
    this._verdicts = {};
  }

  override disconnectedCallback() {
    super.disconnectedCallback();
    this.resize?.disconnect();
    for (const url of this.thumbs.values()) URL.revokeObjectURL(url);
    this.thumbs.clear();
    if (this._openUrl) URL.revokeObjectURL(this._openUrl);
  }

  protected override firstUpdated() {
    const grid = this.renderRoot.querySelector<HTMLElement>('.grid');
    if (grid) {
      this.resize = new ResizeObserver(([e]) => (this._cols = Math.max(1, Math.floor((e!.contentRect.width || CELL_W) / CELL_W))));
      this.resize.observe(grid);
    }
  }

  protected override updated(changed: PropertyValues) {
    if (changed.has('_cols')) this.style.setProperty('--cols', String(this._cols)); // the CSSOM: a strict CSP blocks style attributes
  }

  protected override willUpdate(changed: PropertyValues) {
    if (changed.has('cameraId') && this._camera === '' && this.cameraId) this._camera = this.cameraId;
  }

  private query(): FlaggedQuery {
    return {
      ...(this._allTime ? {} : { from: this.from, to: this.to }),
      ...(this._reason ? { reason: this._reason } : {}),
      ...(this._classId !== '' ? { classId: Number(this._classId) } : {}),
      ...(this._camera ? { camera_id: this._camera } : {}),
    };
  }

  /**
   * Re-reads the counts, and — when something was kept, evicted or deleted, or the filters or range moved —
   * the first pages (as far as was scrolled) and the filter choices.
   */
  async refresh(force = false): Promise<void> {
    if (this.loading) return;
    this.loading = true;
    try {
      const store = await sourceOf(this.source);
      const status = await store.flagStatus();
      const sig = JSON.stringify([status.count, status.stats.flagged, status.stats.evicted, this.query(), Math.floor(this.from / 60_000), Math.floor(this.to / 60_000)]);
      if (!force && sig === this.sig) {
        this._status = status;
        return;
      }
      this.sig = sig;
      const shown = Math.max(PAGE, this._rows.length);
      const [page, facets] = await Promise.all([store.flagged({ ...this.query(), limit: Math.min(1000, shown) }), store.flaggedFacets()]);
      this._rows = page.rows;
      this._verdicts = store.verdicts ? await store.verdicts(page.rows.map((r) => r.id)) : {};
      this._total = page.total;
      this.next = page.next;
      this._status = status;
      this._facets = facets;
      const ids = new Set(page.rows.map((r) => r.id));
      const selected = new Set([...this._selected].filter((id) => ids.has(id)));
      if (selected.size !== this._selected.size) this._selected = selected;
    } catch (e) {
      this._message = { text: `Could not read the flagged frames: ${(e as Error)?.message ?? e}`, level: 'alert' };
    } finally {
      this.loading = false;
    }
  }

  private async loadMore() {
    if (this.loading || !this.next) return;
    this.loading = true;
    try {
      const store = await sourceOf(this.source);
      const page = await store.flagged({ ...this.query(), before: this.next, limit: PAGE });
      if (store.verdicts) this._verdicts = { ...this._verdicts, ...(await store.verdicts(page.rows.map((r) => r.id))) };
      this._rows = [...this._rows, ...page.rows];
      this.next = page.next;
    } finally {
      this.loading = false;
    }
  }

  private setFilter(which: '_reason' | '_classId' | '_camera', value: string) {
    this[which] = value;
    this._rows = [];
    this._scroll = 0;
    this.renderRoot.querySelector('.grid')?.scrollTo({ top: 0 });
    void this.refresh(true);
  }

  /** Thumbnails of the visible cells, fetched as Blobs from the hub worker and shown by object URL. */
  private wantThumbs(rows: FlaggedFrame[]) {
    const missing = rows.filter((r) => !this.thumbs.has(r.id) && !this.thumbsWanted.has(r.id));
    if (!missing.length) return;
    for (const r of missing) this.thumbsWanted.add(r.id);
    void sourceOf(this.source).then(async (store) => {
      const blobs = await Promise.all(missing.map((r) => store.flaggedImage(r.id, 'thumb').catch(() => undefined)));
      missing.forEach((r, i) => {
        this.thumbsWanted.delete(r.id);
        const b = blobs[i];
        if (b) this.thumbs.set(r.id, URL.createObjectURL(b));
      });
      // keep the newest-used few hundred
      while (this.thumbs.size > MAX_THUMBS) {
        const [id, url] = this.thumbs.entries().next().value as [string, string];
        URL.revokeObjectURL(url);
        this.thumbs.delete(id);
      }
      this._thumbsVersion++;
    });
  }

  /** Opens a flagged frame full size (by id: from the inference log's details too). */
  async open(id: string): Promise<void> {
    const store = await sourceOf(this.source);
    const [frame, jpeg] = await Promise.all([store.flaggedFrame(id), store.flaggedImage(id, 'jpeg')]);
    if (!frame || !jpeg) {
      this._message = { text: `Flagged frame ${id} is no longer kept.`, level: 'alert' };
      return;
    }
    if (this._openUrl) URL.revokeObjectURL(this._openUrl);
    this._openUrl = URL.createObjectURL(jpeg);
    this._open = frame;
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>('.viewer .close')?.focus();
  }

  private close() {
    const id = this._open?.id;
    if (this._openUrl) URL.revokeObjectURL(this._openUrl);
    this._openUrl = undefined;
    this._open = undefined;
    void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLElement>(`.cell[data-id="${id}"] .thumb`)?.focus());
  }

  private step(d: number) {
    const i = this._rows.findIndex((r) => r.id === this._open?.id);
    const r = this._rows[i + d];
    if (r) void this.open(r.id);
  }

  /** Gives (null: clears) a person's verdict on a frame's detections; the panel hears of it (`verdict`, to update its estimates). */
  private async setVerdict(f: FlaggedFrame, verdict: VerdictKind | null) {
    try {
      const store = await sourceOf(this.source);
      if (!store.setVerdict) throw new Error('this view keeps no verdicts');
      await store.setVerdict({ id: f.id, verdict, mv: f.mv, camera: f.tags.camera_id ?? '', ...(f.tags.location !== undefined ? { location: f.tags.location } : {}) });
      const { [f.id]: _old, ...rest } = this._verdicts;
      this._verdicts = verdict ? { ...rest, [f.id]: verdict } : rest;
      this._message = { text: verdict ? `Marked the frame of ${shortDateTime(f.t)}: detections ${VERDICT_TEXT[verdict].text}.` : `Cleared the verdict on the frame of ${shortDateTime(f.t)}.`, level: 'ok' };
      this.dispatchEvent(new CustomEvent('verdict', { detail: { id: f.id, verdict }, bubbles: true, composed: true }));
    } catch (e) {
      this._message = { text: `The verdict was not kept: ${(e as Error)?.message ?? e}`, level: 'alert' };
    }
  }

  /** A verdict given elsewhere (the inference log): the frame's badge follows, if it is shown. */
  noteVerdict(id: string, verdict: VerdictKind | null) {
    if ((this._verdicts[id] ?? null) === verdict || !this._rows.some((r) => r.id === id)) return;
    const { [id]: _old, ...rest } = this._verdicts;
    this._verdicts = verdict ? { ...rest, [id]: verdict } : rest;
  }

  /** A verdict key pressed on a frame (its thumbnail or the viewer). */
  private onVerdictKey(e: KeyboardEvent, f: FlaggedFrame) {
    const v = verdictOfKey(e);
    if (v === undefined) return;
    e.preventDefault();
    e.stopPropagation();
    void this.setVerdict(f, v);
  }

  private toggle(id: string, on: boolean) {
    const s = new Set(this._selected);
    if (on) s.add(id);
    else s.delete(id);
    this._selected = s;
    this._confirmDelete = false;
  }

  private async flagNow() {
    try {
      const f = await this.monitor!.flag!();
      this._message = { text: `Flagged the frame on screen (${f.reasons.join(', ')}).`, level: 'ok' };
      await this.refresh(true);
    } catch (e) {
      this._message = { text: `Not flagged: ${(e as Error)?.message ?? e}`, level: 'alert' };
    }
  }

  private async deleteSelected() {
    if (!this._confirmDelete) {
      this._confirmDelete = true;
      return;
    }
    const ids = [...this._selected];
    this._confirmDelete = false;
    try {
      const n = await (await sourceOf(this.source)).deleteFlagged(ids);
      this._selected = new Set();
      if (this._open && ids.includes(this._open.id)) this.close();
      this._message = { text: `Deleted ${n} flagged frame${n === 1 ? '' : 's'}.`, level: 'ok' };
    } catch (e) {
      this._message = { text: `Could not delete: ${(e as Error)?.message ?? e}`, level: 'alert' };
    }
    await this.refresh(true);
  }

  /** Downloads the selection (or everything the filters pass) as one ZIP for labelling tools. */
  private async download(selection: boolean) {
    const q: FlaggedQuery = selection ? { ids: [...this._selected] } : this.query();
    this._busy = 'Preparing the download…';
    this._message = undefined;
    try {
      const store = await sourceOf(this.source);
      const out = await store.exportFlagged(
        q,
        Comlink.proxy((done: number, total: number) => {
          this._busy = `Packing images ${done} of ${total}…`;
          this._progress = [done, total];
        }),
      );
      if (!out.images) {
        this._message = { text: 'Nothing to download: no flagged frame passes the filters.', level: 'alert' };
        return;
      }
      saveBlob(out.blob, `flagged-frames-${fileTime()}.zip`, this.renderRoot);
      this._message = {
        text: `Downloaded ${out.images} frame${out.images === 1 ? '' : 's'} (${fileSize(out.blob.size)}) for labelling${out.missing.length ? `; ${out.missing.length} left out: their images are gone` : ''}. Nothing was deleted.`,
        level: out.missing.length ? 'alert' : 'ok',
      };
    } catch (e) {
      this._message = { text: `The download failed: ${(e as Error)?.message ?? e}. Nothing was deleted.`, level: 'alert' };
    } finally {
      this._busy = undefined;
      this._progress = undefined;
    }
  }

  private label(id: number, fallback?: string) {
    return this.labels[id] ?? fallback ?? `class ${id}`;
  }

  /** A frame with its boxes: an SVG holding the image, so boxes scale with it whatever the cell's size. */
  private picture(f: FlaggedFrame, url: string | undefined, withLabels: boolean) {
    return svg`<svg class="pic" viewBox="0 0 ${f.width} ${f.height}" preserveAspectRatio="xMidYMid meet" role="img" aria-label=${`frame ${shortDateTime(f.t)}: ${f.detections.length} detections`}>
      ${url ? svg`<image href=${url} x="0" y="0" width=${f.width} height=${f.height}></image>` : svg`<rect class="placeholder" x="0" y="0" width=${f.width} height=${f.height}></rect>`}
      ${f.detections.map(
        (d) => svg`<rect class="box" x=${d.box[0]} y=${d.box[1]} width=${d.box[2]} height=${d.box[3]}></rect>
          ${withLabels ? svg`<text class="box-label" x=${d.box[0] + 2} y=${Math.max(14, d.box[1] - 4)}>${this.label(d.classId, d.label)} ${d.score.toFixed(2)}</text>` : nothing}`,
      )}
    </svg>`;
  }

  static override styles = [galleryStyles, verdictStyles];

  override render() {
    const s = this._status;
    const rows = this._rows;
    const cols = this._cols;
    const first = Math.max(0, Math.floor(this._scroll / CELL_H) - OVERSCAN);
    const totalRows = Math.ceil(rows.length / cols);
    const last = Math.min(totalRows, first + Math.ceil(380 / CELL_H) + 2 * OVERSCAN);
    const visible = rows.slice(first * cols, last * cols);
    this.wantThumbs(visible);
    const f = this._facets;
    const option = (value: string, text: string, current: string) => html`<option value=${value} ?selected=${value === current}>${text}</option>`;
    const canFlag = this.monitor?.state === 'running' && typeof this.monitor.flag === 'function';
    return html`
      <div class="bar" role="group" aria-label="Flagged frames: filters and actions">
        <label
          >Reason
          <select @change=${(e: Event) => this.setFilter('_reason', (e.target as HTMLSelectElement).value)}>
            ${option('', 'all', this._reason)} ${Object.entries(f?.reasons ?? {}).map(([r, n]) => option(r, `${r} (${n})`, this._reason))}
          </select></label
        >
        <label
          >Class
          <select @change=${(e: Event) => this.setFilter('_classId', (e.target as HTMLSelectElement).value)}>
            ${option('', 'all', this._classId)} ${Object.entries(f?.classes ?? {}).map(([c, n]) => option(c, `${this.label(Number(c))} (${n})`, this._classId))}
          </select></label
        >
        <label
          >Camera
          <select @change=${(e: Event) => this.setFilter('_camera', (e.target as HTMLSelectElement).value)}>
            ${option('', 'all', this._camera)} ${Object.entries(f?.cameras ?? {}).map(([c, n]) => option(c, `${c || '(none)'} (${n})`, this._camera))}
          </select></label
        >
        <label
          ><input
            type="checkbox"
            .checked=${this._allTime}
            @change=${(e: Event) => {
              this._allTime = (e.target as HTMLInputElement).checked;
              void this.refresh(true);
            }}
          />
          all time (not just the panel's range)</label
        >
      </div>
      <div class="bar" role="group" aria-label="Flagged frames: selection and download">
        ${canFlag ? html`<button type="button" class="flag-now" @click=${() => this.flagNow()}>⚑ Flag this frame</button>` : nothing}
        <button type="button" class="select-all" ?disabled=${!rows.length} @click=${() => (this._selected = new Set(rows.map((r) => r.id)))}>Select shown</button>
        <button type="button" ?disabled=${!this._selected.size} @click=${() => ((this._selected = new Set()), (this._confirmDelete = false))}>Clear selection</button>
        <button type="button" class="download-selected" ?disabled=${!this._selected.size || !!this._busy} @click=${() => this.download(true)}>Download selected (${this._selected.size})</button>
        <button type="button" class="download-all" ?disabled=${!this._total || !!this._busy} @click=${() => this.download(false)}>Download all (${this._total})</button>
        <button type="button" class="delete danger" ?disabled=${!this._selected.size} @click=${() => this.deleteSelected()}>
          ${this._confirmDelete ? `Confirm: delete ${this._selected.size}` : `Delete selected`}
        </button>
        ${this._busy ? html`<span role="status" class="busy">${this._progress ? html`<progress max=${this._progress[1]} .value=${this._progress[0]}></progress>` : html`<progress></progress>`} ${this._busy}</span>` : nothing}
      </div>
      <p class="muted note summary">
        ${s
          ? html`${s.count} kept (${fileSize(s.bytes)}, cap ${s.settings.maxFrames} frames / ${fileSize(s.settings.maxBytes)}) · ${s.stats.duplicates} near-duplicates skipped ·
              ${s.stats.limited} over their rules' limits${s.stats.missed ? ` · ${s.stats.missed} missed` : ''}${s.stats.failed ? ` · ${s.stats.failed} failed` : ''}`
          : 'Loading…'}
      </p>
      ${s && s.stats.evicted
        ? html`<p class="note alert eviction" role="status">
            The storage cap evicted ${s.stats.evicted} of the oldest flagged frame${s.stats.evicted === 1 ? '' : 's'}${s.stats.lastEvictionAt ? `, last at ${shortDateTime(s.stats.lastEvictionAt)}` : ''}. Download them before the cap is reached, or raise it.
          </p>`
        : nothing}
      ${s?.stats.lastError ? html`<p class="note alert" role="alert">${s.stats.lastError}</p>` : nothing}
      ${this._message ? html`<p class="note ${this._message.level} message" role="status">${this._message.text}</p>` : nothing}
      ${this._open ? this.renderViewer(this._open) : nothing}
      <div class="grid" tabindex="0" aria-label=${`Flagged frames, newest first: ${rows.length}${this.next ? '+' : ''} of ${this._total}`} @scroll=${this.onScroll}>
        <div aria-hidden="true" ${ref(height(first * CELL_H))}></div>
        ${Array.from({ length: last - first }, (_, i) => html`<div class="row">${rows.slice((first + i) * cols, (first + i + 1) * cols).map((r) => this.renderCell(r))}</div>`)}
        <div aria-hidden="true" ${ref(height(Math.max(0, totalRows - last) * CELL_H))}></div>
        ${!rows.length ? html`<p class="muted empty">No flagged frames${this._allTime ? '' : ' in this range'}.</p>` : nothing}
      </div>
    `;
  }

  private onScroll = (e: Event) => {
    const el = e.target as HTMLElement;
    this._scroll = el.scrollTop;
    if (el.scrollTop + el.clientHeight > el.scrollHeight - 3 * CELL_H) void this.loadMore();
  };

  private renderCell(r: FlaggedFrame) {
    const sel = this._selected.has(r.id);
    const top = r.detections.reduce<FlaggedFrame['detections'][number] | undefined>((a, d) => (!a || d.score > a.score ? d : a), undefined);
    const verdict = this._verdicts[r.id];
    return html`<div class="cell" data-id=${r.id} data-selected=${sel ? 'true' : 'false'} data-verdict=${verdict ?? ''}>
      <button
        type="button"
        class="thumb"
        aria-label=${`Open flagged frame of ${shortDateTime(r.t)}: ${r.reasons.join(', ')}${verdict ? `; verdict: ${VERDICT_TEXT[verdict].text}` : ''}. ${VERDICT_HINT}`}
        title=${VERDICT_HINT}
        @click=${() => this.open(r.id)}
        @keydown=${(e: KeyboardEvent) => this.onVerdictKey(e, r)}
      >
        ${this.picture(r, this.thumbs.get(r.id), false)}
      </button>
      <input class="pick" type="checkbox" aria-label="Select" .checked=${sel} @change=${(e: Event) => this.toggle(r.id, (e.target as HTMLInputElement).checked)} />
      <div class="meta">
        <span class="muted">${shortDateTime(r.t)}</span>
        ${verdictBadge(verdict)} ${r.reasons.map((x) => html`<span class="chip reason">${x}</span>`)}
        ${top ? html`<span class="muted">${this.label(top.classId, top.label)} ${top.score.toFixed(2)}</span>` : nothing}
      </div>
    </div>`;
  }

  private renderViewer(f: FlaggedFrame) {
    const i = this._rows.findIndex((r) => r.id === f.id);
    const verdict = this._verdicts[f.id];
    return html`<section class="viewer" aria-label=${`Flagged frame (${VERDICT_HINT})`} data-verdict=${verdict ?? ''} @keydown=${(e: KeyboardEvent) => {
      if (verdictOfKey(e) !== undefined) this.onVerdictKey(e, f);
      else if (e.key === 'Escape') this.close();
      else if (e.key === 'ArrowLeft') this.step(-1);
      else if (e.key === 'ArrowRight') this.step(1);
    }}>
      <h3>
        <span>Flagged frame ${shortDateTime(f.t)} ${verdictBadge(verdict)}</span>
        <button type="button" ?disabled=${i <= 0} @click=${() => this.step(-1)} aria-label="Newer">←</button>
        <button type="button" ?disabled=${i < 0 || i >= this._rows.length - 1} @click=${() => this.step(1)} aria-label="Older">→</button>
        <button type="button" class="show-in-log" @click=${() => this.dispatchEvent(new CustomEvent('show-inference', { detail: { id: f.id }, bubbles: true, composed: true }))}>Show in inference log</button>
        <button type="button" class="close" @click=${() => this.close()} aria-label="Close the flagged frame">×</button>
      </h3>
      ${verdictButtons(verdict, (v) => void this.setVerdict(f, v))}
      ${this.picture(f, this._openUrl, true)}
      <dl>
        <dt>inference</dt>
        <dd>${f.id}</dd>
        <dt>reasons</dt>
        <dd>${f.reasons.join(', ')}</dd>
        <dt>size</dt>
        <dd>${f.width} × ${f.height}, JPEG q ${f.quality} (${(f.bytes / 1024).toFixed(0)} KB with thumbnail)</dd>
        <dt>model</dt>
        <dd>${shortVersion(f.mv)} · ${f.backend}</dd>
        ${Object.entries(f.tags).map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}
        ${f.malformed ? html`<dt>malformed</dt><dd>${f.malformed}</dd>` : nothing}
        ${f.error ? html`<dt>error</dt><dd>${f.error}</dd>` : nothing}
        ${f.detections.map((d) => html`<dt>${this.label(d.classId, d.label)}</dt><dd>${d.score.toFixed(3)} at [${d.box.map((v) => Math.round(v)).join(', ')}]</dd>`)}
        ${(f.nearMisses ?? []).map((d) => html`<dt class="muted">${this.label(d.classId, d.label)} (below threshold)</dt><dd class="muted">${d.score.toFixed(3)}</dd>`)}
      </dl>
    </section>`;
  }
}

if (!customElements.get('inference-flag-gallery')) customElements.define('inference-flag-gallery', InferenceFlagGallery);

declare global {
  interface HTMLElementTagNameMap {
    'inference-flag-gallery': InferenceFlagGallery;
  }
}
