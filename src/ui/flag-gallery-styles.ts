/** `<inference-flag-gallery>`'s shadow styles (the bar, the virtualised grid of cells, the viewer) and its cell size. */
import { css } from 'lit';

/** A grid cell's width (px): the gallery shows as many columns as fit. */
export const CELL_W = 184;
/** A grid cell's height (px): the virtualised grid positions its rows by it. */
export const CELL_H = 176;

export const galleryStyles = css`
  :host {
    display: block;
  }
  .bar {
    display: flex;
    flex-wrap: wrap;
    gap: 0.4em 0.8em;
    align-items: center;
    margin-bottom: 0.5em;
  }
  .bar label {
    display: inline-flex;
    gap: 0.3em;
    align-items: center;
  }
  select,
  button {
    font: inherit;
    color: var(--_fg);
    background: var(--_card);
    border: 1px solid var(--_border);
    border-radius: 4px;
    padding: 0.15em 0.5em;
  }
  button:disabled {
    opacity: 0.5;
  }
  button:focus-visible,
  select:focus-visible,
  input:focus-visible,
  .thumb:focus-visible {
    outline: 2px solid var(--_accent);
    outline-offset: 1px;
  }
  .danger {
    border-color: var(--_alert);
    color: var(--_alert);
  }
  .muted {
    color: var(--_muted);
  }
  .note {
    margin: 0.3em 0;
  }
  .note.alert {
    color: var(--_alert);
  }
  .note.ok {
    color: var(--_ok);
  }
  .grid {
    height: 380px;
    overflow: auto;
    border: 1px solid var(--_border);
    border-radius: 6px;
  }
  .row {
    display: grid;
    grid-template-columns: repeat(var(--cols, 3), minmax(0, 1fr));
    gap: 8px;
    height: ${CELL_H}px;
    padding: 4px 6px;
    box-sizing: border-box;
  }
  .cell {
    position: relative;
    min-width: 0;
    display: grid;
    grid-template-rows: 1fr auto;
    background: var(--_card);
    border: 1px solid var(--_border);
    border-radius: 4px;
    overflow: hidden;
  }
  .cell[data-selected='true'] {
    border-color: var(--_accent);
    box-shadow: 0 0 0 1px var(--_accent);
  }
  .thumb {
    all: unset;
    cursor: pointer;
    min-height: 0;
    display: block;
  }
  .pic {
    display: block;
    width: 100%;
    height: 100%;
    background: #000;
  }
  .placeholder {
    fill: #222;
  }
  .box {
    fill: none;
    stroke: #ffca3a;
    stroke-width: 3;
    vector-effect: non-scaling-stroke;
  }
  .box-label {
    fill: #ffca3a;
    font: 600 14px system-ui, sans-serif;
    paint-order: stroke;
    stroke: #000;
    stroke-width: 3px;
  }
  .meta {
    display: flex;
    flex-wrap: wrap;
    gap: 2px 4px;
    align-items: center;
    padding: 2px 4px;
    font-size: 11px;
    max-height: 40px;
    overflow: hidden;
  }
  .chip {
    border: 1px solid var(--_border);
    border-radius: 999px;
    padding: 0 5px;
    white-space: nowrap;
    color: var(--_fg);
  }
  .pick {
    position: absolute;
    top: 3px;
    left: 3px;
    margin: 0;
    width: 16px;
    height: 16px;
  }
  .viewer {
    border: 1px solid var(--_border);
    border-radius: 6px;
    padding: 0.5em;
    margin-bottom: 0.5em;
    background: var(--_card);
  }
  .viewer .pic {
    max-height: 60vh;
  }
  .viewer h3 {
    margin: 0 0 0.4em;
    font-size: 1em;
    display: flex;
    gap: 0.5em;
    flex-wrap: wrap;
    align-items: center;
  }
  .viewer dl {
    display: grid;
    grid-template-columns: max-content minmax(0, 1fr);
    gap: 0.1em 0.8em;
    margin: 0.5em 0 0;
    font-size: 0.9em;
  }
  .viewer dt {
    color: var(--_muted);
  }
  .viewer dd {
    margin: 0;
    overflow-wrap: anywhere;
  }
  progress {
    width: 10em;
  }
`;
