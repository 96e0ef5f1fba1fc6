/** Panel benchmark page: fills this origin's store with a day of history, then mounts the health panel on demand. */
import { getHub } from '../../src/hub/client.ts';
import { rollFrames } from '../../src/telemetry/rollup.ts';
import { syntheticRecords } from '../../e2e/pages/synthetic.ts';
import '../../src/ui/health-panel.ts';

/** `hours` of history for `cameras` cameras rolled up (records at `fps`), plus `logRows` recent raw records for the log. */
async function fill(hours: number, fps: number, cameras: number, logRows: number) {
  const store = await getHub();
  const end = Date.now();
  for (let c = 0; c < cameras; c++)
    for (let h = 0; h < hours; h++) {
      const recs = syntheticRecords(3600 * fps, end - (hours - h) * 3600_000, fps, { camera: `cam-${c}`, seed: h * 31 + c });
      await store.importRollups((['10s', '1m', '1h'] as const).flatMap((res) => [...rollFrames(recs, res).values()]));
      console.log(`filled camera ${c} hour ${h}`);
    }
  await store.add(syntheticRecords(logRows, end - logRows * 100, 10, { camera: 'cam-0', seed: 5 }));
  await store.flush();
  return { end };
}

function mount(range: string) {
  const p = document.createElement('inference-health-panel');
  p.setAttribute('range', range);
  p.style.cssText = 'display:block;width:1280px;';
  document.body.append(p);
  return p;
}

Object.assign(globalThis, { fill, mount });
document.body.dataset.ready = '1';
