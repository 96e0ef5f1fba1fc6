/**
 * What `<inference-health-panel>` and its gallery read, behind one interface: the page's own hub worker
 * (the default), or a fleet server (`ServerSource`, src/pages/fleet/server-source.ts) — the same panel either way,
 * with the same shapes.
 */
import type { FlaggedFrame } from '../../flagging/types.ts';
import { getHub, type HubClient } from '../../hub/client.ts';
import type { AlertEvent, ConditionEvent, ConditionSummary, Signal, Vitals } from '../../health/types.ts';
import type { SyncStatus } from '../../sync/outbox.ts';

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
> &
  /** people's verdicts on frames: the page's store keeps them; a source without them (the fleet page) shows none */
  Partial<Pick<HubClient, 'setVerdict' | 'verdicts' | 'verdictEstimates'>> &
  /** the cameras' conditions (health/conditions.ts): the page's engine has them; a source without them shows none */
  Partial<Pick<HubClient, 'conditions' | 'conditionEvents' | 'acceptCondition' | 'refuseCondition'>>;

/** The panel's source: the one it was given, else this page's store. */
export const sourceOf = (given?: PanelSource): Promise<PanelSource> => (given ? Promise.resolve(given) : getHub());

/** What one refresh of the panel read for its range and filters: the tiles, charts and class table show it. */
export interface PanelData {
  range: { from: number; to: number };
  series: Awaited<ReturnType<HubClient['series']>>;
  totals: Awaited<ReturnType<HubClient['totals']>>;
  latency: { n: number; values: number[] };
  overview: { status: Signal['status']; firing: number; streams: number; rules: Signal[] };
  vitals: Vitals[];
  usage: Awaited<ReturnType<HubClient['usage']>>;
  alerts: AlertEvent[];
  /** the filter choices in the range (`condition`: camera conditions' ids, shown by their names: health/conditions.ts conditionName) */
  dims: { mv: string[]; camera_id: string[]; location: string[]; condition: string[] };
  sync?: SyncStatus;
  /** the cameras' conditions and their latest changes, where the source has them */
  conditions?: ConditionSummary[];
  conditionEvents?: ConditionEvent[];
}

/** What the panel shows of a running monitor (the `<inference-monitor>` it sits in, if any). */
export interface PanelHost {
  state: string;
  readyInfo?: { backend: string; modelVersion: string; modelId: string; fallbackReason?: string; labels: string[] };
  /** flags the frame on screen for labelling (the gallery's "Flag this frame") */
  flag?: (inferenceId?: string) => Promise<FlaggedFrame>;
  /** while its camera is down (track ended or muted): the camera tile says so */
  cameraDown?: { reason: 'ended' | 'muted'; since: number };
}
