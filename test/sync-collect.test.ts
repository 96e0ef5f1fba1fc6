/**
 * What goes into a sync batch (the store worker's collect), with a stand-in store and flagger: flagged
 * frames go by their ids (capture time), so one stored after a newer one was sent would be skipped for
 * good; collect leaves the newest FLAGGED_SETTLE_MS of frames for the next batch.
 */
import { describe, expect, it } from 'vitest';
import type { Flagger } from '../src/flagging/flagger.ts';
import type { FlaggedFrame } from '../src/flagging/types.ts';
import { uuidv7 } from '../src/lib/uuidv7.ts';
import type { MonitorStore } from '../src/store/store.ts';
import type { SyncCursor } from '../src/sync/outbox.ts';
import { collect, FLAGGED_SETTLE_MS } from '../src/sync/sync-service.ts';
import { emptyRollup } from '../src/telemetry/rollup.ts';
import { tagKey } from '../src/telemetry/record.ts';

const store = {
  rollupsBetween: async () => [],
  alertsAfter: async () => [],
  annotationsAfter: async () => [],
} as unknown as MonitorStore;

function flagger() {
  const kept = new Map<string, FlaggedFrame>();
  const f = {
    db: {
      idsAfter: async (after: string, limit: number) => [...kept.keys()].sort().filter((id) => id > after).slice(0, limit), // oldest first, as FlagDb gives them
      frames: async (ids: string[]) => ids.map((id) => kept.get(id)),
      images: async () => undefined,
    },
  } as unknown as Flagger;
  const keep = (t: number) => {
    const id = uuidv7(t);
    kept.set(id, { id, t, flaggedAt: t + 50, src: uuidv7(t), tags: { camera_id: 'a' }, mv: 'abcdef012345', backend: 'wasm', width: 640, height: 480, detections: [], reasons: ['manual'], bytes: 1000, quality: 0.85 });
    return id;
  };
  return { f, keep };
}

describe('collect: flagged frames', () => {
  it('a frame stored after a newer one (a slower monitor, a hand flag) is still sent, once', async () => {
    const { f, keep } = flagger();
    let now = 1_800_000_000_000;
    const clock = () => now;
    let cursor: SyncCursor = { rollupsUpTo: now - 3_600_000, alertsAfter: '', flaggedAfter: '', baselines: {} };
    const sent: string[] = [];
    const tick = async () => {
      const c = await collect(store, undefined, f, cursor, now - 120_000, false, false, clock);
      sent.push(...c.flagged.map((x) => x.id));
      cursor = c.cursor;
    };
    const y = keep(now - 1_000); // monitor B's frame, kept at once
    await tick();
    const x = keep(now - 2_000); // monitor A's, captured a second before it, kept after that batch
    await tick();
    now += FLAGGED_SETTLE_MS;
    await tick();
    await tick();
    expect(sent).toEqual([x, y]);
  });

  it('a frame goes once it has settled, not before', async () => {
    const { f, keep } = flagger();
    const now = 1_800_000_000_000;
    const cursor: SyncCursor = { rollupsUpTo: now - 3_600_000, alertsAfter: '', flaggedAfter: '', baselines: {} };
    const old = keep(now - FLAGGED_SETTLE_MS - 1);
    keep(now - FLAGGED_SETTLE_MS + 1_000);
    const c = await collect(store, undefined, f, cursor, now - 120_000, false, false, () => now);
    expect(c.flagged.map((x) => x.id)).toEqual([old]);
    expect(c.cursor.flaggedAfter).toBe(old);
  });
});

describe('collect: baselines, one per condition of a camera', () => {
  it("a camera's day and night baselines are each sent once, with their condition, and again only when one is learnt anew", async () => {
    const baseline = (condition: string, createdAt: number) => ({ mv: 'abcdef012345', camera: 'gate-2', condition, createdAt, from: createdAt - 300_000, to: createdAt, source: 'auto', windowMs: 5000, frames: 3000, seconds: 300, fps: 10, thumb: null, windows: {}, rollup: emptyRollup('10s', createdAt - 300_000, 'abcdef012345', tagKey({ camera_id: 'gate-2' })) });
    let kept = [baseline('colour', 1_800_000_000_000), baseline('mono', 1_800_000_600_000)];
    const s = { ...store, baselines: async () => kept } as unknown as MonitorStore;
    const now = 1_800_001_000_000;
    // an outbox cursor from before conditions (keyed mv|camera): forgotten, both go once
    let cursor: SyncCursor = { rollupsUpTo: now - 3_600_000, alertsAfter: '', flaggedAfter: '', baselines: { 'abcdef012345|gate-2': 1_800_000_600_000 } };
    const engine = {} as never;
    const sent: string[] = [];
    const tick = async () => {
      const c = await collect(s, engine, undefined, cursor, now - 120_000, false, false, () => now);
      sent.push(...c.baselines.map((b) => `${b.condition} ${b.createdAt}`));
      cursor = c.cursor;
    };
    await tick();
    await tick();
    expect(sent).toEqual(['colour 1800000000000', 'mono 1800000600000']);
    expect(Object.keys(cursor.baselines).sort()).toEqual(['abcdef012345|gate-2|colour', 'abcdef012345|gate-2|mono']);
    kept = [baseline('colour', 1_800_000_900_000), kept[1]!]; // the day learnt anew
    await tick();
    expect(sent.slice(2)).toEqual(['colour 1800000900000']);
  });
});
