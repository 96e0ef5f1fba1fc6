/** `<inference-health-panel>`'s shadow styles and themes (dark, light, auto), and the log's row height. */
import { verdictStyles } from './verdict-styles.ts';
import { css, unsafeCSS } from 'lit';
import uplotCss from 'uplot/dist/uPlot.min.css?inline';

/** The inference log's row height (px): the virtualised log positions rows by it. */
export const ROW_HEIGHT = 30;

/** The dark theme's defaults (each still overridable by its --hp-* property). */
const DARK = css`
  --_bg: var(--hp-background, #16181d);
  --_fg: var(--hp-foreground, #e8eaed);
  --_muted: var(--hp-muted, #a8adb7);
  --_card: var(--hp-card, #20232a);
  --_border: var(--hp-border, #353a44);
  --_ok: var(--hp-ok, #4ac26b);
  --_warn: var(--hp-warn, #e3b341);
  --_alert: var(--hp-alert, #ff7b72);
  --_accent: var(--hp-accent, #79b8ff);
`;

/** `<inference-health-panel>`'s styles: light by default, dark by `theme` or the system's preference. */
export const panelStyles = [
  unsafeCSS(uplotCss),
  css`
    :host {
      --_bg: var(--hp-background, #fff);
      --_fg: var(--hp-foreground, #1b1b1f);
      --_muted: var(--hp-muted, #5c5f66);
      --_card: var(--hp-card, #f4f5f7);
      --_border: var(--hp-border, #d9dbe0);
      --_ok: var(--hp-ok, #1a7f37);
      --_warn: var(--hp-warn, #9a6700);
      --_alert: var(--hp-alert, #cf222e);
      --_accent: var(--hp-accent, #0b57d0);
      display: block;
      container-type: inline-size;
      background: var(--_bg);
      color: var(--_fg);
      font: var(--hp-font, 13px/1.35 system-ui, sans-serif);
      overflow: auto;
    }
    :host([theme='dark']) {
      ${DARK}
    }
    @media (prefers-color-scheme: dark) {
      :host(:not([theme='light'])) {
        ${DARK}
      }
    }
    .wrap {
      padding: 0.75em;
      display: grid;
      gap: 0.75em;
    }
    .controls {
      display: flex;
      flex-wrap: wrap;
      gap: 0.5em;
      align-items: end;
    }
    .ranges {
      display: flex;
      gap: 0;
    }
    button,
    select,
    input {
      font: inherit;
      color: var(--_fg);
      background: var(--_card);
      border: 1px solid var(--_border);
      border-radius: 4px;
      padding: 0.25em 0.55em;
    }
    button:focus-visible,
    select:focus-visible,
    input:focus-visible,
    .log-row:focus-visible {
      outline: 2px solid var(--_accent);
      outline-offset: 1px;
    }
    .ranges button[aria-pressed='true'] {
      background: var(--_accent);
      color: var(--_bg);
      border-color: var(--_accent);
    }
    label {
      display: grid;
      font-size: 0.85em;
      color: var(--_muted);
    }
    .tiles {
      display: grid;
      grid-template-columns: repeat(5, minmax(0, 1fr));
      gap: 0.5em;
    }
    .tile {
      background: var(--_card);
      border: 1px solid var(--_border);
      border-left: 4px solid var(--_muted);
      border-radius: 6px;
      padding: 0.4em 0.6em;
      min-width: 0;
    }
    .tile[data-level='ok'] {
      border-left-color: var(--_ok);
    }
    .tile[data-level='warn'] {
      border-left-color: var(--_warn);
    }
    .tile[data-level='alert'] {
      border-left-color: var(--_alert);
    }
    .tile h3 {
      margin: 0;
      font-size: 0.8em;
      font-weight: 500;
      color: var(--_muted);
    }
    .tile .value {
      font-size: 1.25em;
      font-weight: 600;
      font-variant-numeric: tabular-nums;
      white-space: nowrap;
      overflow: hidden;
      text-overflow: ellipsis;
    }
    .tile .detail {
      font-size: 0.78em;
      color: var(--_muted);
      white-space: nowrap;
      overflow: hidden;
      text-overflow: ellipsis;
    }
    .level {
      font-size: 0.75em;
      text-transform: uppercase;
      letter-spacing: 0.04em;
    }
    .charts {
      display: grid;
      grid-template-columns: repeat(2, minmax(0, 1fr));
      gap: 0.75em;
    }
    figure {
      margin: 0;
      min-width: 0;
      background: var(--_card);
      border: 1px solid var(--_border);
      border-radius: 6px;
      padding: 0.4em;
    }
    figcaption,
    h2 {
      font-size: 0.9em;
      font-weight: 600;
      margin: 0 0 0.3em;
    }
    .u-legend {
      font-size: 0.8em;
      color: var(--_fg);
    }
    .u-select {
      background: color-mix(in srgb, var(--_accent) 20%, transparent);
    }
    .bottom {
      display: grid;
      grid-template-columns: minmax(0, 2fr) minmax(0, 1fr);
      gap: 0.75em;
    }
    .classes,
    .verdict-estimates {
      min-width: 0;
    }
    .conditions {
      margin: 0.5em 0;
    }
    .conditions h2 {
      font-size: 1em;
      margin: 0 0 0.25em;
    }
    .conditions .condition {
      border-left: 4px solid var(--_ok);
      padding: 0.2em 0.6em;
    }
    .conditions .condition[data-learning]:not([data-learning='']) {
      border-left-color: var(--_warn);
    }
    .conditions button {
      margin-left: 0.5em;
    }
    .condition-changes {
      margin: 0.25em 0 0;
      padding-left: 1.2em;
      max-height: 6.5em;
      overflow-y: auto;
    }
    .verdict-estimates .scroll {
      overflow-x: auto;
    }
    .verdict-estimates table {
      table-layout: auto;
    }
    .verdict-estimates th,
    .verdict-estimates td {
      overflow: visible;
      text-overflow: clip;
    }
    .verdict-estimates .nw {
      white-space: nowrap;
    }
    .verdict-estimates td {
      white-space: normal;
      height: auto;
      padding-top: 0.2em;
      padding-bottom: 0.2em;
    }
    .verdict-estimates .empty {
      margin: 0.3em 0;
    }
    .gallery {
      min-width: 0;
      margin-top: 0.75em;
    }
    .downloads {
      display: inline-flex;
      gap: 0.3em;
      align-items: end;
    }
    .open-flagged {
      margin-bottom: 0.4em;
    }
    .classes .scroll {
      overflow-x: auto;
    }
    .classes table {
      table-layout: auto;
    }
    .classes th,
    .classes td {
      overflow: visible;
      text-overflow: clip;
    }
    .classes td[data-level='alert'] {
      color: var(--_alert);
      font-weight: 600;
    }
    .classes td[data-level='warn'] {
      color: var(--_warn);
    }
    .classes .hint {
      font-size: 0.85em;
      margin: 0.3em 0 0;
    }
    .classes th[scope='row'] {
      font-weight: 600;
      border-bottom: 1px solid var(--_border);
    }
    .log {
      height: 320px;
      overflow: auto;
      border: 1px solid var(--_border);
      border-radius: 6px;
      position: relative;
    }
    table {
      border-collapse: collapse;
      width: 100%;
      table-layout: fixed;
      font-variant-numeric: tabular-nums;
    }
    th,
    td {
      text-align: left;
      padding: 0 0.5em;
      height: ${ROW_HEIGHT}px;
      white-space: nowrap;
      overflow: hidden;
      text-overflow: ellipsis;
      border-bottom: 1px solid var(--_border);
    }
    thead th {
      position: sticky;
      top: 0;
      background: var(--_card);
      z-index: 1;
    }
    .log-row {
      cursor: pointer;
    }
    .c-time {
      width: 6.5em;
    }
    .c-model {
      width: 6.5em;
    }
    .c-lat {
      width: 4.5em;
    }
    .c-tags {
      width: 9em;
    }
    tr.spacer td,
    tr.spacer {
      border: 0;
      padding: 0;
    }
    .empty {
      padding: 0.5em;
    }
    .log-row:hover,
    .log-row[aria-selected='true'] {
      background: color-mix(in srgb, var(--_accent) 12%, transparent);
    }
    .malformed {
      color: var(--_alert);
    }
    .details {
      background: var(--_card);
      border: 1px solid var(--_border);
      border-radius: 6px;
      padding: 0.5em;
      overflow: auto;
      max-height: 320px;
    }
    .details dl {
      display: grid;
      grid-template-columns: auto 1fr;
      gap: 0.15em 0.75em;
      margin: 0;
    }
    .details dt {
      color: var(--_muted);
    }
    .details dd {
      margin: 0;
      overflow-wrap: anywhere;
    }
    ul.alerts {
      list-style: none;
      margin: 0;
      padding: 0;
      max-height: 260px;
      overflow: auto;
    }
    ul.alerts li {
      padding: 0.3em 0;
      border-bottom: 1px solid var(--_border);
    }
    .state-firing {
      color: var(--_alert);
      font-weight: 600;
    }
    .state-resolved {
      color: var(--_ok);
    }
    ul.alerts .cause {
      font-size: 0.85em;
      padding: 0 0.4em;
      border: 1px solid var(--_border);
      border-radius: 0.6em;
    }
    ul.alerts .evidence {
      font-size: 0.85em;
      overflow-wrap: anywhere;
    }
    .muted {
      color: var(--_muted);
    }
    .sr-only {
      position: absolute;
      width: 1px;
      height: 1px;
      overflow: hidden;
      clip-path: inset(50%);
      white-space: nowrap;
    }
    .error {
      color: var(--_alert);
    }
    @container (max-width: 720px) {
      .tiles {
        grid-template-columns: repeat(2, minmax(0, 1fr));
      }
      .charts,
      .bottom {
        grid-template-columns: minmax(0, 1fr);
      }
    }
  `,
  verdictStyles,
];
