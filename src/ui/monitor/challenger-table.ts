/**
 * The challenger beside the champion (`challenger-model`): one table, the two models side by side on the same
 * sampled frames — run time p50/p95 on this device, detections a frame and per class, the confidence
 * distribution — the ratios with their 95 % intervals, the agreement, and the verdict line. Lit templates: every
 * value (labels come from a manifest) is escaped.
 */
import { css, html, nothing } from 'lit';
import type { ChallengerSummary, Interval } from '../../inference/challenger.ts';
import { shortVersion } from '../../lib/short-version.ts';

const n = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const ratio = (i: Interval) => (Number.isFinite(i.value) ? `×${i.value.toFixed(2)}${Number.isFinite(i.lo) ? ` (${i.lo.toFixed(2)}–${i.hi.toFixed(2)})` : ''}` : '–');

const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}`;
/** a difference with its interval: "−0.21 (−0.30 to −0.12)" */
const diff = (i: Interval) => (Number.isFinite(i.value) ? `${signed(i.value)}${Number.isFinite(i.lo) ? ` (${signed(i.lo)} to ${signed(i.hi)})` : ''}` : '–');

const BLOCKS = ' ▁▂▃▄▅▆▇█';
/** A confidence histogram as a row of block characters (bins of 0.1, 0 to 1), its counts in the title: no inline styles (a page's CSP may forbid them). */
function bars(counts: readonly number[]) {
  const max = Math.max(1, ...counts);
  return html`<span class="ch-hist" title=${counts.map((c, i) => `${(i / 10).toFixed(1)}–${((i + 1) / 10).toFixed(1)}: ${c}`).join('\n')}>${counts.map((c) => BLOCKS[c ? Math.max(1, Math.round((c / max) * 8)) : 0]).join('')}</span>`;
}

/** The table's styles: adopted by the element that shows it (a `<style>` in the template would fall to a page's CSP). */
export const challengerStyles = css`
  .challenger { font: 12px/1.4 system-ui, sans-serif; margin: 0.5em 0; overflow-x: auto; }
  .challenger table { border-collapse: collapse; }
  .challenger th, .challenger td { padding: 0.15em 0.6em; text-align: right; border-bottom: 1px solid #8884; }
  .challenger th:first-child, .challenger td:first-child { text-align: left; }
  .challenger .ch-line { font-weight: 600; margin: 0.3em 0; }
  .challenger [data-verdict='worse'] { color: #d33; }
  .challenger [data-verdict='fewer'] { color: #d33; }
  .challenger [data-verdict='more'] { color: #c80; }
  .challenger [data-verdict='better'] { color: #2a7; }
  .ch-hist { font-family: monospace; letter-spacing: 1px; white-space: pre; border-bottom: 1px solid #8886; }
`;

/** The side-by-side table and verdict line for `s`. */
export function challengerTable(s: ChallengerSummary) {
  return html`<section class="challenger" part="challenger" data-verdict=${s.verdict} aria-label="Challenger against the deployed model">
      <p class="ch-line" role="status" data-verdict=${s.verdict}>${s.line}</p>
      <table>
        <thead>
          <tr><th>${s.frames} frames, both models</th><th title=${s.champion.version}>champion ${shortVersion(s.champion.version)}</th><th title=${s.challenger.version}>challenger ${shortVersion(s.challenger.version)}</th><th>challenger ÷ champion (95 %)</th></tr>
        </thead>
        <tbody>
          <tr data-row="latency"><td>run p50 / p95 (ms)</td><td>${n(s.champion.p50Ms)} / ${n(s.champion.p95Ms)}</td><td>${n(s.challenger.p50Ms)} / ${n(s.challenger.p95Ms)}</td><td>${ratio(s.latency)}</td></tr>
          <tr data-row="detections"><td>detections a frame</td><td>${n(s.champion.perFrame, 1)}</td><td>${n(s.challenger.perFrame, 1)}</td><td>${ratio(s.detections)}</td></tr>
          <tr data-row="confidence"><td>confidence (mean, 0–1)</td><td>${n(s.champion.meanConfidence, 2)} ${bars(s.champion.confidence)}</td><td>${n(s.challenger.meanConfidence, 2)} ${bars(s.challenger.confidence)}</td><td></td></tr>
          ${s.classes.map(
            (c) => html`<tr data-class=${c.label} data-verdict=${c.verdict}><td>${c.label}</td><td>${c.champion}</td><td>${c.challenger}</td><td>${ratio(c.ratio)}${c.verdict === 'equal' ? nothing : html` ${c.verdict === 'too-few' ? '(too few to judge)' : c.verdict}`}</td></tr>`,
          )}
          <tr data-row="agreement"><td>agreement with the champion</td><td colspan="3">F1 ${n(s.agreement.f1, 2)} · precision ${n(s.agreement.precision, 2)} · recall ${n(s.agreement.recall, 2)} (${s.agreement.tp} matched, ${s.agreement.fp} only the challenger's, ${s.agreement.fn} only the champion's)</td></tr>
          ${s.reference
            ? html`<tr data-row="reference" data-verdict=${s.reference.verdict}><td>agreement with the reference (F1, ${s.reference.frames} frames)</td><td>${n(s.reference.champion.f1, 2)}</td><td>${n(s.reference.challenger.f1, 2)}</td><td>${diff(s.reference.f1Difference)}${s.reference.verdict === 'equal' ? nothing : html` ${s.reference.verdict === 'too-few' ? '(too few to judge)' : s.reference.verdict}`}</td></tr>`
            : nothing}
        </tbody>
      </table>
    </section>`;
}
