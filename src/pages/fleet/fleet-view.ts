/** `<fleet-view>`: the fleet page's device table (from the fleet server's /v1/devices) and the panel of the device chosen. */
import type { SourceChallenger } from '../../sync/challenger-payload.ts';
import { css, html, LitElement, nothing } from 'lit';
import '../../ui/health-panel.ts';
import { FleetError, ServerSource } from './server-source.ts';
import { ago, fmt, pct } from '../../ui/format.ts';
import { shortVersion } from '../../lib/short-version.ts';
import { challengerStyles, challengerTable } from '../../ui/monitor/challenger-table.ts';

/** A device (sync source) as the fleet server lists it (`GET /v1/devices`). */
export interface FleetDevice {
  id: string;
  device_id?: string | null;
  lastSeen: number;
  down: boolean;
  app_version?: string;
  monitors: { src: string; mv: string; backend: string; tags: Record<string, string> }[];
  vitals?: { fps?: number | null; p50?: number | null; p95?: number | null; successRate?: number | null; meanConfidence?: number | null; frames?: number;
    /** the reference model's runs in those minutes, where one ran: frames judged and the deployed model's agreement with it */
    agreement?: { frames: number; f1?: number | null; precision?: number | null; recall?: number | null };
    /** each camera's condition in its latest minute with frames (the hub's `condition` tag), where it has one */
    conditions?: Record<string, string> };
  firing: { rule: string; name?: string; camera_id?: string; severity?: string }[];
}

const values = (ds: FleetDevice[], tag: string) => [...new Set(ds.flatMap((d) => d.monitors.map((m) => m.tags[tag] ?? '')).filter(Boolean))].sort();
const TOKEN_KEY = 'inference-fleet-token';

/** A monitor's latest challenger comparison, as `/v1/challengers` lists it. */
type FleetChallenger = SourceChallenger;

/** A device's challengers in its row: per camera, the verdict line (worse ones marked). */
const challengerCell = (cs: FleetChallenger[]) =>
  html`<td class="challenger">${cs.length
    ? cs.map((c) => html`<div data-verdict=${c.summary.verdict} class=${c.summary.verdict === 'worse' ? 'firing' : ''} title=${`${c.summary.frames} frames, ${ago(c.t)}`}>${c.camera || c.src}: ${c.summary.line}</div>`)
    : '–'}</td>`;

/**
 * `<fleet-view>`: the reference server's fleet page — every device with its vital signs, firing alerts and
 * last-seen (silent for more than 3 sync intervals: down), filters by camera, location and model version;
 * a device, or the whole fleet, opens the same `<inference-health-panel>` the kiosks show, fed by the server.
 * Everything devices send is rendered as text.
 */
export class FleetView extends LitElement {
  static override properties = {
    _devices: { state: true },
    _error: { state: true },
    _needsToken: { state: true },
    _camera: { state: true },
    _location: { state: true },
    _mv: { state: true },
    _condition: { state: true },
    _open: { state: true },
    _loadedAt: { state: true },
    _forwarding: { state: true },
  };

  declare private _devices: FleetDevice[];
  declare private _error?: string;
  declare private _needsToken: boolean;
  declare private _camera: string;
  declare private _location: string;
  declare private _mv: string;
  declare private _condition: string;
  /** the device whose panel is open ('*': the whole fleet) */
  declare private _open?: string;
  declare private _loadedAt?: number;
  /** challenger models' latest comparisons, per monitor (GET /v1/challengers) */
  declare private _challengers: FleetChallenger[];
  declare private _forwarding: { name: string; url: string; pending: number; delivered: number; deadLetters: number; lastError?: string }[];
  /** ms to render the device table after the last load (for the benchmark) */
  renderMs = 0;

  private token = sessionStorage.getItem(TOKEN_KEY) ?? new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
  private timer?: ReturnType<typeof setInterval>;
  private sources = new Map<string, ServerSource>();

  constructor() {
    super();
    this._devices = [];
    this._forwarding = [];
    this._challengers = [];
    this._needsToken = !this.token;
    this._camera = '';
    this._location = '';
    this._mv = '';
    this._condition = '';
    if (location.hash) history.replaceState(null, '', location.pathname + location.search); // the token leaves the address bar
  }

  override connectedCallback() {
    super.connectedCallback();
    if (this.token) void this.load();
    this.timer = setInterval(() => this.token && document.visibilityState === 'visible' && void this.load(), 10_000);
  }

  override disconnectedCallback() {
    super.disconnectedCallback();
    clearInterval(this.timer);
  }

  private source(device?: string) {
    const key = device ?? '*';
    let s = this.sources.get(key);
    if (!s) this.sources.set(key, (s = new ServerSource(location.origin, this.token, device)));
    return s;
  }

  /** Reads the device list (every 10 s while visible). */
  async load(): Promise<void> {
    try {
      const [devices, forwarding, challengers] = await Promise.all([
        this.source().get<FleetDevice[]>('/v1/devices'),
        this.source().get<{ targets: FleetView['_forwarding'] }>('/v1/forwarding').catch(() => ({ targets: [] })),
        this.source().get<{ rows: FleetChallenger[] }>('/v1/challengers').catch(() => ({ rows: [] })),
      ]);
      this._forwarding = forwarding.targets;
      this._challengers = challengers.rows;
      const t0 = performance.now();
      this._devices = devices;
      this._error = undefined;
      this._loadedAt = Date.now();
      await this.updateComplete;
      this.renderMs = performance.now() - t0;
      this.dispatchEvent(new CustomEvent('loaded', { detail: { devices: devices.length, ms: this.renderMs } }));
    } catch (e) {
      // 401: an unknown token; 403: one that may not read the fleet (a kiosk's write-only token): ask for another
      if (e instanceof FleetError && (e.status === 401 || e.status === 403)) {
        this._needsToken = true;
        sessionStorage.removeItem(TOKEN_KEY);
      }
      this._error = (e as Error).message;
    }
  }

  private signIn(e: SubmitEvent) {
    e.preventDefault();
    const input = (e.target as HTMLFormElement).querySelector('input')!;
    this.token = input.value.trim();
    if (!this.token) return;
    sessionStorage.setItem(TOKEN_KEY, this.token);
    this.sources.clear();
    this._needsToken = false;
    void this.load();
  }

  private shown(): FleetDevice[] {
    return this._devices.filter(
      (d) =>
        (d.monitors.some((m) => (!this._camera || m.tags.camera_id === this._camera) && (!this._location || m.tags.location === this._location) && (!this._mv || m.mv.startsWith(this._mv))) ||
          (!d.monitors.length && !this._camera && !this._location && !this._mv)) &&
        // a condition: the devices with a camera in it now (in their latest minute), the camera filter's where one is set
        (!this._condition || Object.entries(d.vitals?.conditions ?? {}).some(([cam, c]) => c === this._condition && (!this._camera || cam === this._camera))),
    );
  }

  static override styles = [css`
    :host {
      display: block;
      font: 14px system-ui, sans-serif;
      color: #e8eaed;
      background: #16181d;
      min-height: 100vh;
      padding: 1em;
      box-sizing: border-box;
    }
    h1 {
      font-size: 1.3em;
      margin: 0 0 0.5em;
    }
    .bar {
      display: flex;
      flex-wrap: wrap;
      gap: 0.5em 1em;
      align-items: end;
      margin-bottom: 0.75em;
    }
    select,
    button,
    input {
      font: inherit;
      color: inherit;
      background: #20232a;
      border: 1px solid #353a44;
      border-radius: 4px;
      padding: 0.2em 0.5em;
    }
    button:focus-visible,
    select:focus-visible,
    input:focus-visible {
      outline: 2px solid #79b8ff;
    }
    table {
      border-collapse: collapse;
      width: 100%;
      font-variant-numeric: tabular-nums;
    }
    th,
    td {
      text-align: left;
      padding: 0.3em 0.6em;
      border-bottom: 1px solid #353a44;
      vertical-align: top;
    }
    tr[data-down='true'] td {
      color: #a8adb7;
    }
    .down {
      color: #ff7b72;
      font-weight: 600;
    }
    .up {
      color: #4ac26b;
    }
    .firing {
      color: #ff7b72;
    }
    .muted {
      color: #a8adb7;
    }
    .error {
      color: #ff7b72;
    }
    .device {
      all: unset;
      cursor: pointer;
      color: #79b8ff;
      text-decoration: underline;
    }
    .device:focus-visible {
      outline: 2px solid #79b8ff;
    }
    .panel {
      margin-top: 1em;
      border-top: 1px solid #353a44;
      padding-top: 0.75em;
    }
    inference-health-panel {
      margin-top: 0.5em;
    }
  `, challengerStyles];

  override render() {
    if (this._needsToken)
      return html`<h1>Inference health — fleet</h1>
        <form @submit=${this.signIn} class="bar">
          <label>Token <input type="password" autocomplete="current-password" required /></label>
          <button type="submit">Open</button>
        </form>
        ${this._error ? html`<p class="error" role="alert">${this._error}</p>` : nothing}
        <p class="muted">A token that reads the fleet: one from the server's FLEET_TOKENS with devices <code>*</code> and access <code>read</code> (or the token it printed when it started). Kept for this tab only.</p>`;
    const ds = this.shown();
    // a column for the reference model's agreement only where some device runs one
    const withRef = ds.some((d) => d.vitals?.agreement);
    const all = this._devices;
    const down = all.filter((d) => d.down).length;
    const select = (label: string, value: string, set: (v: string) => void, options: string[], show = (o: string) => o) =>
      html`<label>${label} <select @change=${(e: Event) => set((e.target as HTMLSelectElement).value)}>
        <option value="">all</option>
        ${options.map((o) => html`<option value=${o} ?selected=${o === value}>${show(o)}</option>`)}
      </select></label>`;
    const mvs = [...new Set(all.flatMap((d) => d.monitors.map((m) => shortVersion(m.mv))))].sort();
    const conditions = [...new Set(all.flatMap((d) => Object.values(d.vitals?.conditions ?? {})))].sort();
    return html`<h1>Inference health — fleet</h1>
      <div class="bar">
        <span><strong>${all.length}</strong> devices, <span class=${down ? 'down' : 'up'}>${down} down</span>, ${all.reduce((a, d) => a + d.firing.length, 0)} alerts firing</span>
        ${select('Camera', this._camera, (v) => (this._camera = v), values(all, 'camera_id'))}
        ${select('Location', this._location, (v) => (this._location = v), values(all, 'location'))}
        ${select('Model', this._mv, (v) => (this._mv = v), mvs)}
        ${conditions.length ? select('Condition', this._condition, (v) => (this._condition = v), conditions) : nothing}
        <button type="button" class="fleet" @click=${() => (this._open = '*')}>Whole fleet's panel</button>
        <span class="muted">${this._loadedAt ? `updated ${ago(this._loadedAt)}` : 'loading…'}</span>
      </div>
      ${this._error ? html`<p class="error" role="alert">${this._error}</p>` : nothing}
      ${this._forwarding.length
        ? html`<p class="forwarding">
            Alert forwarding:
            ${this._forwarding.map(
              (t) => html`<span data-target=${t.name}
                >${t.name} ${t.delivered} delivered, ${t.pending} pending,
                <span class=${t.deadLetters ? 'down' : ''}>${t.deadLetters} dead letter${t.deadLetters === 1 ? '' : 's'}</span>${t.lastError ? html` <span class="muted">(last error: ${t.lastError})</span>` : nothing};
              </span>`,
            )}
          </p>`
        : nothing}
      <table>
        <thead>
          <tr>
            <th scope="col">Device</th>
            <th scope="col">Status</th>
            <th scope="col">Cameras · locations</th>
            <th scope="col">Model · backend</th>
            <th scope="col">FPS</th>
            <th scope="col">Latency p50 / p95</th>
            <th scope="col">Success</th>
            <th scope="col">Confidence</th>
            ${withRef ? html`<th scope="col" title="The deployed model's F1 against the reference model on the sampled frames it judged (last 5 minutes with data)">Reference F1</th>` : nothing}
            <th scope="col">Alerts firing</th>
            ${this._challengers.length ? html`<th scope="col">Challenger</th>` : nothing}
          </tr>
        </thead>
        <tbody>
          ${ds.map((d) => {
            const v = d.vitals ?? {};
            return html`<tr data-device=${d.id} data-down=${d.down ? 'true' : 'false'}>
              <th scope="row"><button type="button" class="device" @click=${() => (this._open = d.id)}>${d.device_id || d.id}</button></th>
              <td><span class=${d.down ? 'down' : 'up'}>${d.down ? 'down' : 'up'}</span> <span class="muted">${ago(d.lastSeen)}</span></td>
              <td>${d.monitors.map((m) => [m.tags.camera_id || '–', m.tags.location].filter(Boolean).join(' @ ') + (d.vitals?.conditions?.[m.tags.camera_id ?? ''] ? ` (${d.vitals.conditions[m.tags.camera_id ?? '']})` : '')).join(', ') || '–'}</td>
              <td>${[...new Set(d.monitors.map((m) => `${shortVersion(m.mv)} · ${m.backend}`))].join(', ') || '–'}</td>
              <td>${fmt(v.fps)}</td>
              <td>${fmt(v.p50, 0)} / ${fmt(v.p95, 0)} ms</td>
              <td>${pct(v.successRate)}</td>
              <td>${fmt(v.meanConfidence, 3)}</td>
              ${withRef ? html`<td class="reference">${v.agreement ? html`${fmt(v.agreement.f1, 2)} <span class="muted">(${v.agreement.frames} frame${v.agreement.frames === 1 ? '' : 's'})</span>` : '–'}</td>` : nothing}
              <td class=${d.firing.length ? 'firing' : ''}>${d.firing.map((a) => a.name ?? a.rule).join(', ') || 'none'}</td>
              ${this._challengers.length ? challengerCell(this._challengers.filter((c) => c.source === d.id)) : nothing}
            </tr>`;
          })}
        </tbody>
      </table>
      ${!ds.length ? html`<p class="muted">${all.length ? 'No device matches the filters.' : 'No device has synced yet.'}</p>` : nothing}
      ${this._open
        ? html`<section class="panel" aria-label="Health panel">
            <div class="bar">
              <strong>${this._open === '*' ? 'The whole fleet' : `Device ${all.find((d) => d.id === this._open)?.device_id || this._open}`}</strong>
              <button type="button" @click=${() => (this._open = undefined)}>Close</button>
            </div>
            ${this._challengers.filter((c) => this._open === '*' || c.source === this._open).map((c) => html`<h3>Challenger on ${c.camera || c.src}</h3>${challengerTable(c.summary)}`)}
            <inference-health-panel theme="dark" range="1h" .source=${this.source(this._open === '*' ? undefined : this._open).asPanelSource()}></inference-health-panel>
          </section>`
        : nothing}`;
  }
}

if (!customElements.get('fleet-view')) customElements.define('fleet-view', FleetView);

declare global {
  interface HTMLElementTagNameMap {
    'fleet-view': FleetView;
  }
}
