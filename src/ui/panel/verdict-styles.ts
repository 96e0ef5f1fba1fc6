/** The verdict buttons and badges' styles, shared by the panel (log) and the gallery (viewer, thumbnails); colours from the host's `--_*` variables. */
import { css } from 'lit';

export const verdictStyles = css`
  .verdicts {
    display: flex;
    flex-wrap: wrap;
    gap: 0.3em;
    align-items: center;
    margin: 0.3em 0;
  }
  .verdict[aria-pressed='true'] {
    outline: 2px solid var(--_accent);
    font-weight: 600;
  }
  .verdict kbd {
    font-size: 0.8em;
    opacity: 0.7;
  }
  .verdict-badge {
    font-size: 0.85em;
    padding: 0 0.35em;
    border-radius: 4px;
    border: 1px solid var(--_border);
    margin-right: 0.3em;
  }
  .verdict-badge[data-verdict='right'] {
    color: var(--_ok);
  }
  .verdict-badge[data-verdict='wrong'] {
    color: var(--_alert);
  }
  .verdict-badge[data-verdict='missing'] {
    color: var(--_warn);
  }
`;
