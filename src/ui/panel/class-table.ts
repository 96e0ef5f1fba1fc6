/** The panel's per-class table: for one stream, each class's counts per minute and hour, its change, and its confidence distribution, against the baseline. */
import { html, nothing } from 'lit';
import { fmt } from '../format.ts';
import type { PanelData } from './data-source.ts';
import { scores as agreementScores } from '../../inference/agreement.ts';

/** Per class, live (one stream): counts per minute and hour and the confidence distribution against the baseline. */
export function classTable(d: PanelData | undefined, label: (id: number) => string) {
  const v = d?.vitals.length === 1 ? d.vitals[0] : undefined;
  if (!v) return nothing;
  const c = v.consistency.classes;
  const pc = v.confidence.perClass;
  const ids = [...new Set([...Object.keys(c), ...Object.keys(pc)].map(Number))].sort((a, b) => (c[b]?.perHour ?? 0) - (c[a]?.perHour ?? 0) || a - b).slice(0, 12);
  if (!ids.length) return nothing;
  const base = v.baseline.state === 'ready';
  // the reference model's agreement per label over the range shown (where one ran): the deployed model's F1 against it
  const byLabel = d?.totals?.agreement?.byClass;
  const agreed = (id: number) => {
    const a = byLabel?.[label(id)];
    return a ? { ...a, ...agreementScores(a) } : undefined;
  };
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
          ${byLabel ? html`<th scope="col" title="the deployed model against the reference model over the range shown: F1 (matched, only the deployed model's, only the reference's)">F1 vs reference</th>` : nothing}
        </tr>
      </thead>
      <tbody>
        ${ids.map((id) => {
          const x = c[id];
          const p = pc[id];
          const shifted = p && p.psi > p.psiThreshold;
          return html`<tr data-class=${id}>
            <th scope="row">${label(id)}</th>
            <td>${fmt(x?.perMinute, 0)}${base ? html` <span class="muted">/ ${fmt(x?.baselinePerMinute, 0)}</span>` : nothing}</td>
            <td>${fmt(x?.perHour, 0)}${base ? html` <span class="muted">/ ${fmt(x?.baselinePerHour, 0)}</span>` : nothing}</td>
            <td data-level=${changeLevel(x?.change)}>${x?.change ?? '–'}</td>
            <td>${fmt(p?.mean, 3)}${base ? html` <span class="muted">/ ${fmt(p?.baselineMean, 3)}</span>` : nothing}</td>
            <td>${fmt(p?.p10, 2)} – ${fmt(p?.p90, 2)}${base ? html` <span class="muted">/ ${fmt(p?.baselineP10, 2)} – ${fmt(p?.baselineP90, 2)}</span>` : nothing}</td>
            <td data-level=${shifted ? 'alert' : 'ok'} title=${p ? `threshold ${fmt(p.psiThreshold, 2)}` : ''}>${fmt(p?.psi, 2)}</td>
            ${byLabel ? agreementCell(agreed(id)) : nothing}
          </tr>`;
        })}
      </tbody>
    </table></div>
    <p class="muted hint">Now / baseline. Change: vanished (none where ≥ 10 were expected), drop (under ¼), spike (over 4×), new. PSI: the class's confidence distribution in the last minute against the baseline's; it is off when above its threshold (hover).${byLabel ? ' F1 vs reference: the class\'s detections against the reference model\'s on the frames it judged in the range shown.' : ''}</p>
  </section>`;
}

/** A label's agreement with the reference: F1, with its counts in the title. */
const agreementCell = (a: ({ tp: number; fp: number; fn: number } & ReturnType<typeof agreementScores>) | undefined) =>
  html`<td data-col="reference-f1" title=${a ? `${a.tp} matched, ${a.fp} only the deployed model's, ${a.fn} only the reference's` : 'no detections of this class on the frames the reference judged'}>${fmt(a?.f1, 2)}</td>`;
