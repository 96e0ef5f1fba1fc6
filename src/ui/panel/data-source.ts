import { getStore, type StoreClient } from '../../store/client.ts';
import type { AlertEvent, Signal, Vitals } from '../../health/engine.ts';
import type { SyncStatus } from '../../sync/outbox.ts';

/**
 * What `<inference-health-panel>` and its gallery read, behind one interface: the page's own store worker
 * (the default), or a fleet server (`ServerSource`, src/fleet/server-source.ts) — the same panel either way,
 * with the same shapes.
 */
export type PanelSource = Pick<
  StoreClient,
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
export const sourceOf = (given?: PanelSource): Promise<PanelSource> => (given ? Promise.resolve(given) : getStore());

/** What one refresh of the panel read for its range and filters: the tiles, charts and class table show it. */
export interface PanelData {
  range: { from: number; to: number };
  series: Awaited<ReturnType<StoreClient['series']>>;
  totals: Awaited<ReturnType<StoreClient['totals']>>;
  latency: { n: number; values: number[] };
  overview: { status: Signal['status']; firing: number; streams: number; rules: Signal[] };
  vitals: Vitals[];
  usage: Awaited<ReturnType<StoreClient['usage']>>;
  alerts: AlertEvent[];
  dims: { mv: string[]; camera_id: string[]; location: string[] };
  sync?: SyncStatus;
}
