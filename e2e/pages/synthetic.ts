import type { FrameRecord } from '../../src/telemetry/record.ts';
import { confidenceBin } from '../../src/telemetry/histogram.ts';
import { tagKey } from '../../src/telemetry/record.ts';

/** Synthetic frame records shaped like the real ones (for store tests and benchmarks). */
export function syntheticRecords(n: number, start: number, fps: number, opts: { mv?: string; camera?: string; seed?: number } = {}): FrameRecord[] {
  let seed = opts.seed ?? 1;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const out: FrameRecord[] = [];
  const g = tagKey({ camera_id: opts.camera ?? 'cam-1', location: 'line-3' });
  for (let i = 0; i < n; i++) {
    const t = Math.round(start + (i * 1000) / fps);
    const hex = t.toString(16).padStart(12, '0');
    const rnd = Array.from({ length: 20 }, () => Math.floor(rand() * 16).toString(16)).join('');
    const id = `${hex.slice(0, 8)}-${hex.slice(8)}-7${rnd.slice(0, 3)}-a${rnd.slice(3, 6)}-${rnd.slice(6, 18)}`;
    const persons = 1 + Math.floor(rand() * 4);
    const score = 0.4 + rand() * 0.3;
    const inf = 30 + rand() * 20;
    out.push({
      id, t, src: 'synthetic', mv: (opts.mv ?? '4c7094b7091d').slice(0, 12), b: 'wasm',
      l: [-1, +(rand() * 3).toFixed(2), +(2 + rand()).toFixed(2), +inf.toFixed(2), +(1 + rand()).toFixed(2), +(inf + 8).toFixed(2)],
      d: rand() < 0.1 ? 1 : 0,
      k: [[0, persons, +(score + 0.1).toFixed(3), +score.toFixed(3)]],
      s: [+score.toFixed(3), +(score - 0.1).toFixed(3), +(score + 0.1).toFixed(3)],
      h: Array.from({ length: persons }, () => confidenceBin(score)),
      g,
    });
  }
  return out;
}
