/** `<inference-monitor>`'s shadow styles: the stage (video, overlay, camera-down veil), the status bar, the panel beside it. */
import { css } from 'lit';

export const monitorStyles = css`
  :host {
    display: block;
    container: monitor / inline-size;
    position: relative;
    background: var(--im-background, #111);
    color: var(--im-foreground, #eee);
    font: var(--im-font, 14px system-ui, sans-serif);
    overflow: hidden;
    min-height: 120px;
  }
  .layout {
    width: 100%;
    height: 100%;
    display: grid;
    grid-template-columns: minmax(0, 1fr);
  }
  .layout.with-panel {
    grid-template-columns: minmax(0, 1fr) var(--im-panel-width, minmax(380px, 38%));
  }
  @container monitor (max-width: 900px) {
    .layout.with-panel {
      grid-template-columns: minmax(0, 1fr);
      grid-template-rows: minmax(240px, 55%) auto;
    }
  }
  .main {
    position: relative;
    min-height: 120px;
    min-width: 0;
  }
  /* the challenger's side-by-side table (monitor/challenger-table.ts): over the video's top left, scrolling within */
  .main > section.challenger {
    position: absolute;
    top: 0.5em;
    left: 0.5em;
    max-width: calc(100% - 1em);
    max-height: calc(100% - 4em);
    overflow: auto;
    margin: 0;
    padding: 0.4em 0.6em;
    background: rgb(0 0 0 / 0.78);
    color: #eee;
    border-radius: 4px;
    z-index: 2;
  }
  inference-health-panel {
    min-width: 0;
    min-height: 0;
    overflow: auto;
  }
  .stage {
    position: relative;
    width: 100%;
    height: 100%;
  }
  video,
  canvas {
    position: absolute;
    inset: 0;
    width: 100%;
    height: 100%;
    object-fit: contain;
  }
  .bar {
    position: absolute;
    left: 0;
    right: 0;
    bottom: 0;
    display: flex;
    gap: 1em;
    flex-wrap: wrap;
    padding: 0.35em 0.75em;
    background: rgb(0 0 0 / 0.6);
    font-variant-numeric: tabular-nums;
  }
  .state-running {
    color: var(--im-ok, #8ac926);
  }
  .state-error {
    color: var(--im-alert, #ff595e);
  }
  .overlay {
    position: absolute;
    inset: 0;
    display: grid;
    place-content: center;
    text-align: center;
    padding: 1em;
    gap: 0.5em;
  }
  .error {
    color: var(--im-alert, #ff595e);
  }
  .error code {
    color: inherit;
    opacity: 0.8;
  }
  .warn {
    color: var(--im-warn, #ffca3a);
  }
  /* camera down: the last picture and its boxes are stale, so they are dimmed behind the message */
  .overlay.warn {
    background: rgb(0 0 0 / 0.72);
  }
  .alert {
    color: var(--im-alert, #ff595e);
    font-weight: 600;
  }
  .flag {
    font: inherit;
    color: inherit;
    background: rgb(255 255 255 / 0.12);
    border: 1px solid rgb(255 255 255 / 0.35);
    border-radius: 4px;
    padding: 0 0.6em;
    cursor: pointer;
  }
  .flag:focus-visible {
    outline: 2px solid var(--im-ok, #8ac926);
    outline-offset: 1px;
  }
`;
