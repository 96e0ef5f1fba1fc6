/**
 * People's verdicts in the panel: the buttons and keys that give one (the gallery's viewer, the inference log's
 * row and details), the badge that shows it, and the table of what they say per model version and camera —
 * precision and the missing rate with their Wilson 95 % intervals and how many verdicts they rest on.
 */
import { html, nothing } from 'lit';
import { VERDICT_KEYS, type VerdictEstimate, type VerdictKind } from '../../flagging/verdicts.ts';
import { shortVersion } from '../../lib/short-version.ts';

/** What each verdict says, as a person reads it; its key. */
export const VERDICT_TEXT: Record<VerdictKind, { mark: string; text: string; key: string }> = {
  right: { mark: '✓', text: 'right', key: '1' },
  wrong: { mark: '✗', text: 'wrong', key: '2' },
  missing: { mark: '+', text: 'missing something', key: '3' },
};

/** The keys, said once (titles and aria-labels). */
export const VERDICT_HINT = 'Verdict keys: 1 or R right, 2 or W wrong, 3 or M missing something, 0 clears';

/** The verdict a key press gives (null: clear), or undefined for any other key (or one with a modifier, or typed into a field). */
export function verdictOfKey(e: KeyboardEvent): VerdictKind | null | undefined {
  if (e.ctrlKey || e.metaKey || e.altKey) return undefined;
  const t = e.composedPath?.()[0] as HTMLElement | undefined;
  if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA')) return undefined;
  const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  return Object.hasOwn(VERDICT_KEYS, k) ? VERDICT_KEYS[k] : undefined;
}

/** A verdict's badge (a thumbnail's, a log row's). */
export const verdictBadge = (v: VerdictKind | null | undefined) =>
  v ? html`<span class="verdict-badge" data-verdict=${v} title=${`A person's verdict: ${VERDICT_TEXT[v].text}`}>${VERDICT_TEXT[v].mark} ${v}</span>` : nothing;

/** The three buttons (pressed: the current verdict) and a clear button; `set` gives one. */
export function verdictButtons(current: VerdictKind | null | undefined, set: (v: VerdictKind | null) => void) {
  return html`<div class="verdicts" role="group" aria-label=${`Your verdict on this frame's detections (${VERDICT_HINT})`} title=${VERDICT_HINT}>
    <span class="muted">Detections are</span>
    ${(Object.keys(VERDICT_TEXT) as VerdictKind[]).map(
      (k) => html`<button type="button" class="verdict verdict-${k}" data-verdict=${k} aria-pressed=${current === k ? 'true' : 'false'} aria-keyshortcuts=${`${VERDICT_TEXT[k].key} ${k[0]!.toUpperCase()}`} @click=${() => set(k)}>
        ${VERDICT_TEXT[k].mark} ${VERDICT_TEXT[k].text} <kbd>${VERDICT_TEXT[k].key}</kbd>
      </button>`,
    )}
    <button type="button" class="verdict verdict-clear" ?disabled=${!current} aria-keyshortcuts="0" @click=${() => set(null)}>Clear <kbd>0</kbd></button>
  </div>`;
}

const pct = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');

/** The table of estimates per model version and camera; "no verdicts yet" where there are none; nothing where the source keeps none (the fleet page). */
export function verdictTable(estimates: readonly VerdictEstimate[] | undefined) {
  if (!estimates) return nothing;
  return html`<section class="verdict-estimates" part="verdicts" aria-labelledby="verdicts-title">
    <h2 id="verdicts-title">People's verdicts <span class="muted">(precision = right / (right + wrong); 95 % Wilson intervals)</span></h2>
    ${estimates.length
      ? html`<div class="scroll" tabindex="0" aria-label="People's verdicts, scrollable"><table>
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">Camera</th>
              <th scope="col">Precision</th>
              <th scope="col" title="the share of judged frames on which the model missed something">Missing</th>
              <th scope="col" title="right / wrong / missing something · verdicts in all">✓ / ✗ / +</th>
            </tr>
          </thead>
          <tbody>
            ${estimates.map(
              (e) => html`<tr data-mv=${e.mv} data-camera=${e.camera}>
                <td title=${shortVersion(e.mv)}>${e.mv.slice(0, 6)}</td>
                <td>${e.camera || html`<span class="muted">(none)</span>`}</td>
                <td class="precision">${e.precision.n ? html`<span class="nw">precision ${pct(e.precision.p)}</span> <span class="nw">(${pct(e.precision.lo)}–${pct(e.precision.hi)})</span>` : html`<span class="muted">no right or wrong yet</span>`}</td>
                <td class="missing"><span class="nw">${pct(e.missingRate.p)}</span> <span class="nw">(${pct(e.missingRate.lo)}–${pct(e.missingRate.hi)})</span></td>
                <td class="n"><span class="nw">${e.right} / ${e.wrong} / ${e.missing}</span> · <span class="nw">${e.n} verdict${e.n === 1 ? '' : 's'}</span></td>
              </tr>`,
            )}
          </tbody>
        </table></div>`
      : html`<p class="muted empty">No verdicts yet: open a flagged frame or an inference-log row and mark its detections right (1), wrong (2) or missing something (3).</p>`}
  </section>`;
}
