/** What the health benchmark replays besides the footage: the machine's load on inference latency, and the page's heap. */
import { rng } from '../src/lib/rng.ts';

export { rng };
const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

/**
 * The machine's load as a kiosk on a shared machine sees it: per frame, a factor on inference latency,
 * exp(x) with x an Ornstein–Uhlenbeck process (stationary σ `sigma` in log units, correlation time `tauS`).
 */
export function loadTrace(frames: number, sigma: number, tauS: number, seed: number, fps = 10): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(frames);
  const dt = 1 / fps, a = Math.exp(-dt / tauS), b = sigma * Math.sqrt(1 - a * a);
  let x = sigma * gauss(r);
  for (let i = 0; i < frames; i++) {
    x = a * x + b * gauss(r);
    out[i] = Math.exp(x);
  }
  return out;
}

/**
 * A page's heap over `minutes`, sampled every 30 s (MB), shaped like the soak's measureUserAgentSpecificMemory
 * samples (~90 MB, moving ±4 MB): a floor that warms up over 5 minutes by 15 MB and levels off (plus `leak`
 * MB/min from `leakFromMin`), and garbage piling up 1–2.5 MB/min between major GCs 1–4 minutes apart, each
 * taking it back to the floor.
 */
export function heapTrace(minutes: number, seed: number, leak = 0, leakFromMin = Infinity): number[] {
  const r = rng(seed);
  const out: number[] = [];
  let garbage = 0, rate = 1.5, nextGc = 1 + 3 * r();
  for (let k = 0; k <= minutes * 2; k++) {
    const m = k / 2;
    if (m >= nextGc) {
      garbage = 0;
      rate = 1 + 1.5 * r();
      nextGc = m + 1 + 3 * r();
    } else garbage += rate / 2;
    const floor = 75 + 15 * Math.min(1, m / 5) + leak * Math.max(0, m - leakFromMin) + 0.3 * gauss(r);
    out.push(floor + garbage);
  }
  return out;
}

