/**
 * Flagging benchmark page: multiplies the frames a kiosk flagged on this origin (real JPEGs of the vtest
 * camera) into `n` flagged frames — each a copy of one of them under a new inferenceId — written straight
 * into the store's IndexedDB with the flagged store's own code, so the download benchmark has 1,000 real-size
 * frames in seconds instead of minutes of flagging.
 */
import { openDB } from 'idb';
import { MONITOR_DB } from '../../src/hub/database.ts';
import type { FlagDB } from '../../src/flagging/schema.ts';
import { FlagDb } from '../../src/flagging/flag-db.ts';
import { uuidv7 } from '../../src/lib/uuidv7.ts';

async function multiply(n: number) {
  const db = await openDB<FlagDB>(MONITOR_DB.name, MONITOR_DB.version, {
    upgrade(d, oldVersion, newVersion, tx) {
      for (let v = oldVersion + 1; v <= (newVersion ?? MONITOR_DB.version); v++) MONITOR_DB.migrations[v]?.(d, tx);
    },
  });
  const flagged = new FlagDb(db);
  await flagged.load();
  const seeds = (await flagged.list({ limit: 1000 })).rows;
  if (!seeds.length) throw new Error('no flagged frame to multiply: flag some with the kiosk first');
  const images = await Promise.all(seeds.map((f) => flagged.images(f.id)));
  const cap = { maxFrames: 100_000, maxBytes: 20e9 };
  const end = Date.now();
  for (let i = flagged.totals().count; i < n; i++) {
    const k = i % seeds.length;
    const t = end - (n - i) * 200;
    await flagged.add({ ...seeds[k]!, id: uuidv7(t), t, flaggedAt: t }, images[k]!, cap);
  }
  db.close();
  return flagged.totals();
}

Object.assign(globalThis, { multiply });
document.body.dataset.ready = '1';
