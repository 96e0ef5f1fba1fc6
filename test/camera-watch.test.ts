import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { reacquire, watchTrack } from '../src/capture/camera-watch.ts';
import { DowntimeClock, PipelineSupervisor, type SupervisedPipeline } from '../src/ui/monitor/pipeline-supervisor.ts';
import { uptimeOf, upShare } from '../src/health/uptime.ts';

/** A track as the browser drives one: readyState and muted change, then the event fires. */
class Track extends EventTarget {
  readyState: 'live' | 'ended' = 'live';
  muted = false;
  label = 'fake cam';
  mute() {
    this.muted = true;
    this.dispatchEvent(new Event('mute'));
  }
  unmute() {
    this.muted = false;
    this.dispatchEvent(new Event('unmute'));
  }
  end() {
    this.readyState = 'ended';
    this.dispatchEvent(new Event('ended'));
  }
}

describe('watchTrack', () => {
  it('ended and muted are down, unmute is up; an ended track is not up again', () => {
    const t = new Track();
    const seen: string[] = [];
    const off = watchTrack(t, { down: (r, m) => seen.push(`down:${r}:${m.includes('fake cam')}`), up: () => seen.push('up') });
    t.mute();
    t.unmute();
    t.end();
    t.unmute();
    expect(seen).toEqual(['down:muted:true', 'up', 'down:ended:true']);
    off();
    t.mute();
    expect(seen).toHaveLength(3);
  });
  it('a track already ended or muted when watched is down at once', () => {
    const a = new Track();
    a.readyState = 'ended';
    const b = new Track();
    b.muted = true;
    const seen: string[] = [];
    watchTrack(a, { down: (r) => seen.push(r), up: () => {} });
    watchTrack(b, { down: (r) => seen.push(r), up: () => {} });
    expect(seen).toEqual(['ended', 'muted']);
  });
});

describe('reacquire', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());
  it('tries on each devicechange and every few seconds, one at a time, until a camera opens', async () => {
    const devices = new EventTarget();
    let tries = 0;
    let available = false;
    let release!: () => void;
    const reopen = vi.fn(async () => {
      tries++;
      const ok = available; // what getUserMedia found when asked
      if (tries === 2) await new Promise<void>((r) => (release = r)); // a slow attempt
      return ok;
    });
    reacquire(devices, reopen, 5000);
    devices.dispatchEvent(new Event('devicechange'));
    await vi.advanceTimersByTimeAsync(0);
    expect(tries).toBe(1);
    await vi.advanceTimersByTimeAsync(5000); // the timer: second (slow) attempt
    expect(tries).toBe(2);
    devices.dispatchEvent(new Event('devicechange')); // during it: not a parallel attempt, one more after
    await vi.advanceTimersByTimeAsync(0);
    expect(tries).toBe(2);
    available = true; // plugged in while the slow attempt (which found none) was under way
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(tries).toBe(3);
    // opened: no more tries
    devices.dispatchEvent(new Event('devicechange'));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(tries).toBe(3);
  });
});

describe('DowntimeClock', () => {
  it('splits down time over the sampler\'s intervals', () => {
    const c = new DowntimeClock();
    c.reset(0);
    expect(c.take(5000)).toEqual({ ms: 5000, downMs: 0 });
    expect(c.markDown('ended', 6000)).toBe(true);
    expect(c.markDown('muted', 6500)).toBe(false); // already down: the reason only
    expect(c.current).toEqual({ since: 6000, reason: 'muted' });
    expect(c.take(10_000)).toEqual({ ms: 5000, downMs: 4000 });
    expect(c.take(15_000)).toEqual({ ms: 5000, downMs: 5000 });
    expect(c.markUp(17_000)).toBe(11_000);
    expect(c.down).toBe(false);
    expect(c.take(20_000)).toEqual({ ms: 5000, downMs: 2000 });
    // a rebuild that took 1.5 s inside one interval, the sampler restarted in between: one longer interval
    c.markDown('worker-crashed', 21_000);
    c.markUp(22_500);
    expect(c.take(27_000)).toEqual({ ms: 7000, downMs: 1500 });
    expect(c.markUp(30_000)).toBeUndefined();
  });
});

describe('uptime', () => {
  it('is the up share of the sampled time: no results is down, down time inside an interval counts', () => {
    expect(upShare({ results: 0 })).toBe(0);
    expect(upShare({ results: 3 })).toBe(1);
    expect(upShare({ results: 3, ms: 5000, downMs: 2000 })).toBeCloseTo(0.6);
    expect(uptimeOf([{ results: 5 }, { results: 0 }, { results: 2, ms: 10_000, downMs: 5000 }])).toBeCloseTo((5000 + 0 + 5000) / 20_000);
    expect(uptimeOf([])).toBeNaN();
  });
});

describe('PipelineSupervisor', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());
  function setup() {
    let now = 1000;
    const calls: string[] = [];
    let cameraBack = false;
    const host: SupervisedPipeline = {
      cameraDown: (reason, _m, first) => calls.push(`down:${reason}:${first}`),
      reopenCamera: async () => {
        calls.push('reopen');
        return cameraBack;
      },
      workerDied: (which) => calls.push(`died:${which}`),
      workerHung: (which) => calls.push(`hung:${which}`),
      recovered: (reason, ms) => calls.push(`up:${reason}:${ms}`),
    };
    const devices = new EventTarget();
    const sup = new PipelineSupervisor(host, devices, () => now, 5000);
    return { sup, calls, devices, at: (t: number) => (now = t), back: () => (cameraBack = true) };
  }

  it('a muted camera is down until it unmutes (or frames flow); nothing is reopened', async () => {
    const { sup, calls, at } = setup();
    const t = new Track();
    sup.watchCamera(t);
    at(2000);
    t.mute();
    expect(sup.downtime.down).toBe(true);
    await vi.advanceTimersByTimeAsync(30_000);
    at(9000);
    t.unmute();
    expect(calls).toEqual(['down:muted:true', 'up:muted:7000']);
    sup.framesFlow(); // already up: nothing more
    expect(calls).toHaveLength(2);
  });

  it('an ended camera is down; a camera is asked for on devicechange until one opens; frames flowing end the down time', async () => {
    const { sup, calls, devices, at, back } = setup();
    const t = new Track();
    sup.watchCamera(t);
    at(2000);
    t.end();
    devices.dispatchEvent(new Event('devicechange'));
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toEqual(['down:ended:true', 'reopen']);
    back();
    devices.dispatchEvent(new Event('devicechange'));
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.filter((c) => c === 'reopen')).toHaveLength(2);
    sup.framesFlow(1500); // a result for a frame taken before the camera went: still down
    expect(sup.downtime.down).toBe(true);
    sup.watchCamera(new Track()); // the element feeds the new track
    at(12_000);
    sup.framesFlow(11_900);
    expect(calls.at(-1)).toBe('up:ended:10000');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls.filter((c) => c === 'reopen')).toHaveLength(2);
  });

  it('disarm stops watching the track and asking for a camera', async () => {
    const { sup, calls, devices } = setup();
    const t = new Track();
    sup.watchCamera(t);
    t.end();
    sup.disarm();
    devices.dispatchEvent(new Event('devicechange'));
    await vi.advanceTimersByTimeAsync(60_000);
    new Track().mute();
    expect(calls).toEqual(['down:ended:true']);
    expect(sup.downtime.down).toBe(true); // still down until frames flow
  });
});
