import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RunWatchdog } from '../src/ui/monitor/run-watchdog.ts';
import { hangBackoffMs } from '../src/ui/monitor/pipeline.ts';

describe('RunWatchdog', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('a worker that answers between runs is never called stuck, however long it watches', async () => {
    const hung = vi.fn();
    const probe = vi.fn(async () => 10_000);
    const w = new RunWatchdog(probe, 10_000, hung, { intervalMs: 1000, marginMs: 2000, now: Date.now });
    await vi.advanceTimersByTimeAsync(120_000);
    expect(hung).not.toHaveBeenCalled();
    expect(probe.mock.calls.length).toBeGreaterThan(100);
    w.stop();
  });

  it('a question left unanswered past the bound plus the margin is a hang, reported once; one question at a time', async () => {
    const hung = vi.fn();
    const probe = vi.fn(() => new Promise<number>(() => {})); // stuck in a run: never answers
    new RunWatchdog(probe, 3000, hung, { intervalMs: 1000, marginMs: 2000, now: Date.now });
    await vi.advanceTimersByTimeAsync(5000);
    expect(hung).not.toHaveBeenCalled(); // asked at 1 s: 4 s waited, bound 3 s + 2 s
    await vi.advanceTimersByTimeAsync(2000);
    expect(hung).toHaveBeenCalledTimes(1);
    expect(hung.mock.calls[0]![0]).toBeGreaterThan(5000);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(hung).toHaveBeenCalledTimes(1);
    expect(probe).toHaveBeenCalledTimes(1);
  });

  it('the bound follows the worker\'s answers (a longer timeout once runs are slower)', async () => {
    const hung = vi.fn();
    let answer = true;
    const probe = () => (answer ? Promise.resolve(20_000) : new Promise<number>(() => {}));
    new RunWatchdog(probe, 3000, hung, { intervalMs: 1000, marginMs: 2000, now: Date.now });
    await vi.advanceTimersByTimeAsync(1500); // answered: 20 s
    answer = false;
    await vi.advanceTimersByTimeAsync(15_000);
    expect(hung).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(hung).toHaveBeenCalledTimes(1);
    expect(hung.mock.calls[0]![1]).toBe(20_000);
  });

  it('stuck workers in a row wait 1 s, 2 s, 4 s … up to a minute before the next is started', () => {
    expect([1, 2, 3, 4, 7, 8, 20].map(hangBackoffMs)).toEqual([1000, 2000, 4000, 8000, 60_000, 60_000, 60_000]);
  });
});
