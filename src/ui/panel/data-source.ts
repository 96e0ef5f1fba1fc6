import { getHub, type HubClient } from '../../hub/client.ts';

/**
 * What `<inference-health-panel>` and its gallery read, behind one interface: the page's own hub worker
 * (the default), or a fleet server (`ServerSource`, src/fleet/server-source.ts) — the same panel either way,
 * with the same shapes.
 */
export type PanelSource = Pick<
  HubClient,
  | 'series'
  | 'totals'
  | 'percentiles'
  | 'overview'
  | 'vitals'
  | 'usage'
  | 'alerts'
  | 'dimensions'
  | 'log'
  | 'syncStatus'
  | 'exportMetrics'
  | 'flagged'
  | 'flagStatus'
  | 'flaggedFacets'
  | 'flaggedImage'
  | 'flaggedFrame'
  | 'deleteFlagged'
  | 'exportFlagged'
>;

/** The panel's source: the one it was given, else this page's store. */
export const sourceOf = (given?: PanelSource): Promise<PanelSource> => (given ? Promise.resolve(given) : getHub());
