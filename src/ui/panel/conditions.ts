/**
 * The panel's conditions section (health/conditions.ts): for each camera shown, the condition it is in and since
 * when, one it is on its way to (dusk, dawn), one being learnt — with a person's two answers, accept it or call it
 * a fault —, the conditions it knows, and its latest condition changes. Names and reasons render as text.
 */
import { html, nothing } from 'lit';
import type { ConditionEvent, ConditionSummary } from '../../health/types.ts';
import { dateTime, time } from '../format.ts';

/** What the section's buttons do (absent: a source without them, the fleet page: no buttons). */
export interface ConditionActions {
  accept?: (camera: string) => void;
  refuse?: (camera: string) => void;
}

/** How far a condition's learning is: "3 of 5 minutes", or in seconds for a baseline under 2 minutes. */
export const progress = (learntMs: number, baselineMs: number) =>
  baselineMs >= 120_000 ? `${Math.floor(learntMs / 60_000)} of ${Math.round(baselineMs / 60_000)} minutes` : `${Math.floor(learntMs / 1000)} of ${Math.round(baselineMs / 1000)} s`;

/** One condition change, as the log says it. */
export function describeChange(e: ConditionEvent): string {
  switch (e.state) {
    case 'switched':
      return `${e.fromName ?? 'start'} → ${e.name} (known: no alert)`;
    case 'learning':
      return `new condition: ${e.name}${e.fromName ? ` (after ${e.fromName})` : ''} — learning`;
    case 'learnt':
      return `${e.name} learnt: its own baseline from now on`;
    case 'abandoned':
      return `${e.name} not learnt${e.why ? `: ${e.why}` : ''}`;
  }
}

/** The section for the cameras' summaries and their changes (nothing where the source has no conditions). */
export function conditionsSection(summaries: ConditionSummary[] | undefined, changes: ConditionEvent[] | undefined, act: ConditionActions) {
  if (!summaries?.length && !changes?.length) return nothing;
  return html`<section class="conditions" part="conditions" aria-labelledby="conditions-title">
    <h2 id="conditions-title">Conditions <span class="muted">(each with its own baseline: a known one is no alert)</span></h2>
    ${(summaries ?? []).map((c) => {
      const l = c.learning;
      const cam = c.camera_id || 'camera';
      return html`<div class="condition" data-camera=${c.camera_id} data-condition=${c.current ?? ''} data-learning=${l?.id ?? ''}>
        ${(summaries?.length ?? 0) > 1 ? html`<strong>${cam}</strong> · ` : nothing}
        ${l
          ? html`<span class="learning" role="status" data-level="warn"
                >New condition: <strong>${l.name}</strong> — learning, ${progress(l.learntMs, l.baselineMs)}</span
              >
              ${act.accept ? html`<button type="button" class="accept-condition" @click=${() => act.accept!(c.camera_id)}>Accept ${l.name}</button>` : nothing}
              ${act.refuse ? html`<button type="button" class="refuse-condition" @click=${() => act.refuse!(c.camera_id)}>It is a fault</button>` : nothing}`
          : c.name
            ? html`<span class="current">Now: <strong>${c.name}</strong>${c.since !== undefined ? html` <span class="muted">since ${time(c.since)}</span>` : nothing}</span>`
            : html`<span class="muted">No condition yet: the first baseline is being learnt.</span>`}
        ${c.completing
          ? html`<span class="completing muted"> · ${c.completing.name} accepted: its baseline completes as it goes on, ${progress(c.completing.learntMs, c.completing.baselineMs)}</span>`
          : nothing}
        ${c.transition ? html`<span class="transition muted"> · on the way to ${c.transition.name} (${Math.round(c.transition.way * 100)} %)</span>` : nothing}
        ${c.known.length
          ? html`<br /><span class="known muted">Known: ${c.known.map((k, i) => html`${i ? ', ' : ''}<span data-known=${k.id} title=${`learnt ${dateTime(k.createdAt)}`}>${k.name}</span>`)}</span>`
          : nothing}
      </div>`;
    })}
    ${changes?.length
      ? html`<ul class="condition-changes">
          ${changes.slice(0, 20).map((e) => html`<li data-state=${e.state}><span class="muted">${dateTime(e.t)}${(summaries?.length ?? 0) > 1 ? ` · ${e.camera || 'camera'}` : ''}</span> ${describeChange(e)}</li>`)}
        </ul>`
      : nothing}
  </section>`;
}
