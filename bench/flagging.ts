/**
 * Flagging benchmark (Chromium, production build, WASM, vtest on the fake camera):
 * 1. the main thread's time per frame with flagging on vs off, side by side (alternating rounds; "on" keeps
 *    about one frame a second, so JPEG encoding runs throughout);
 * 2. JPEG encoding (frame worker) and hashing (store worker) per flagged frame;
 * 3. downloading 1,000 flagged 640×480 frames as one ZIP through the gallery, timed from the click until the file
 *    is complete on disk (Playwright's `download.path()`, which waits for the download to finish, and the ZIP's
 *    end-of-central-directory record checked against the file's size) — not until the browser's `download` event,
 *    which fires when the download begins — and how much the page's JS heap grows meanwhile (main thread, and all
 *    the page's heaps with its workers). Also written alone to bench/results/flagging-download.json.
 *
 * `BENCH_PARTS=download` runs 2 and 3 only.
 */
import { openSync, readSync, closeSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { fmt, launchChromium, mainThread, median, openKiosk, q, root, startPreviewServer } from './lib.ts';

const PORT = Number(process.env.BENCH_PORT ?? 5304);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const FLAGGED = Number(process.env.BENCH_FLAGGED ?? 1000);
/** the "on" side's rules: 'defaults' (a few frames a minute), or a probability of keeping each frame (limits off) */
const FLAG_P = process.env.BENCH_FLAG_P ?? 'defaults';
const DOWNLOAD_ONLY = process.env.BENCH_PARTS === 'download';

/**
 * The ZIP at `path` is whole: its end-of-central-directory record (the last thing a ZIP writer writes) is at its
 * end, and the central directory it points at ends right before it. Returns the entries it lists.
 */
function zipEntries(path: string): number {
  const size = statSync(path).size;
  const n = Math.min(size, 22 + 65_535);
  const tail = Buffer.alloc(n);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, tail, 0, n, size - n);
  } finally {
    closeSync(fd);
  }
  const at = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (at < 0) throw new Error(`${path}: no end-of-central-directory record (${size} bytes): not a whole ZIP`);
  const entries = tail.readUInt16LE(at + 10), cdSize = tail.readUInt32LE(at + 12), cdOffset = tail.readUInt32LE(at + 16);
  const eocd = size - n + at;
  // ZIP64 (over 65,535 entries or 4 GiB) keeps 0xffff…: the directory then ends before its ZIP64 records
  if (cdOffset !== 0xffffffff && cdOffset + cdSize !== eocd && cdOffset + cdSize + 20 + 56 !== eocd) throw new Error(`${path}: the central directory does not end where the ZIP's last record begins: incomplete`);
  return entries;
}

type Monitor = Record<string, (...a: unknown[]) => Promise<any>>;
const call = (page: Page, fn: string, ...args: unknown[]) =>
  page.evaluate(([fn, args]) => (document.querySelector('inference-monitor') as unknown as Monitor)[fn as string]!(...(args as unknown[])), [fn, args] as const);
const status = (page: Page) => page.evaluate(async () => (await (document.querySelector('inference-monitor') as unknown as { store(): Promise<any> }).store()).flagStatus());

/** Rules that keep every frame (`limits` as given), without near-duplicate suppression. */
async function keepEvery(page: Page, probability: number) {
  const manual = ((await call(page, 'flagRules')) as { id: string }[]).find((r) => r.id === 'manual');
  await call(page, 'setFlagRules', [{ id: 'bench', name: 'bench sample', kind: 'random', params: { probability }, limits: {}, enabled: true }, manual]);
  await call(page, 'setFlagSettings', { dedupeMinutes: 0, maxFrames: Math.max(2000, FLAGGED) });
}

async function main() {
  const { base, server } = await startPreviewServer(PORT, '/');
  const browser = await launchChromium(['--enable-blink-features=ForceEagerMeasureMemory']); // measureUserAgentSpecificMemory answers at once

  try {
    // 1. main thread per frame, flagging off vs on (one page each, alternating rounds)
    const sides = { off: { instr: [] as number[], task: [] as number[], busy: [] as number[], fps: [] as number[] }, on: { instr: [] as number[], task: [] as number[], busy: [] as number[], fps: [] as number[], flagged: 0 } };
    for (let r = 0; r < (DOWNLOAD_ONLY ? 0 : ROUNDS); r++) {
      for (const side of ['off', 'on'] as const) {
        const page = await openKiosk(browser, base, `panel=off&camera_id=bench-${side}&flagging=${side}`, 4);
        if (side === 'on' && FLAG_P !== 'defaults') await keepEvery(page, Number(FLAG_P));
        const before = side === 'on' ? (await status(page)).count : 0;
        await page.waitForTimeout(4000);
        const m = await mainThread(page, SECONDS);
        sides[side].instr.push(...m.instrumented);
        sides[side].task.push(m.taskMsPerFrame);
        sides[side].busy.push(m.busyMsPerSecond);
        sides[side].fps.push(m.fps);
        if (side === 'on') sides.on.flagged += (await status(page)).count - before;
        await page.close();
        console.log(`round ${r + 1} flagging ${side}: ${fmt(m.fps)} FPS, main thread ${fmt(median(m.instrumented), 3)} ms median per frame in the monitor's handler, ${fmt(m.taskMsPerFrame, 2)} ms of all main-thread tasks (${fmt(m.busyMsPerSecond, 1)} ms/s)`);
      }
    }

    if (!FLAGGED) {
      console.log(`main thread per frame (flagging on: ${FLAG_P}), off → on: median ${fmt(median(sides.off.instr), 3)} → ${fmt(median(sides.on.instr), 3)} ms, p99 ${fmt(q(sides.off.instr, 0.99), 3)} → ${fmt(q(sides.on.instr, 0.99), 3)} ms; all main-thread tasks ${fmt(median(sides.off.task), 2)} → ${fmt(median(sides.on.task), 2)} ms per frame (${fmt(median(sides.off.busy), 1)} → ${fmt(median(sides.on.busy), 1)} ms/s); ${sides.on.flagged} flagged`);
      return;
    }
    // 2 + 3. the kiosk flags real frames (their encode/hash costs are read), which are then multiplied to
    // FLAGGED frames in the same origin's store; then all of them are downloaded through the gallery
    const ctx = await browser.newContext({ acceptDownloads: true });
    const seed = await openKiosk(ctx, base, 'panel=off&camera_id=bench-seed', 2);
    await keepEvery(seed, 1);
    const tSeed = Date.now();
    const SEEDS = Math.min(FLAGGED, Number(process.env.BENCH_SEEDS ?? 60));
    while ((await status(seed)).count < SEEDS) {
      if (Date.now() - tSeed > 5 * 60_000) throw new Error('too few frames flagged in 5 minutes');
      await seed.waitForTimeout(1000);
    }
    const costs = (await seed.evaluate(async () => {
      const store = await (document.querySelector('inference-monitor') as unknown as { store(): Promise<any> }).store();
      return (await store.flagged({ limit: 1000 })).rows.map((r: any) => ({ encodeMs: r.encodeMs, hashMs: r.hashMs, bytes: r.bytes, width: r.width }));
    })) as { encodeMs: number; hashMs: number; bytes: number; width: number }[];
    const seedSeconds = (Date.now() - tSeed) / 1000;
    await seed.close();
    const tool = await ctx.newPage();
    await tool.goto(`${base}/bench/pages/flagged.html`);
    await tool.waitForSelector('body[data-ready="1"]', { state: 'attached' });
    const kept = (await tool.evaluate((n) => (globalThis as any).multiply(n), FLAGGED)) as { count: number; bytes: number };
    await tool.close();
    console.log(`${costs.length} frames flagged by the kiosk in ${fmt(seedSeconds)} s, multiplied to ${kept.count} (${fmt(kept.bytes / 1e6)} MB)`);

    const page = await ctx.newPage();
    await page.setViewportSize({ width: 1400, height: 1000 });
    await page.goto(`${base}/panel.html?range=24h`);
    const gallery = page.locator('inference-flag-gallery');
    await gallery.locator('.download-all').waitFor();
    await page.waitForFunction(() => /Download all \(\d{3,}/.test(document.querySelector('inference-health-panel')!.shadowRoot!.querySelector('inference-flag-gallery')!.shadowRoot!.querySelector('.download-all')!.textContent!), undefined, { timeout: 60_000 });
    const rounds: { ms: number; eventMs: number; mainPeakMB: number; allPeakMB: number; bytes: number; images: number; entries: number }[] = [];
    for (let i = 0; i < 3; i++) {
      await page.evaluate(() => {
        const w = window as any;
        w.__heap = { main: [], all: [] };
        const base = (performance as any).memory.usedJSHeapSize;
        w.__heap.mainBase = base;
        w.__heap.timer = setInterval(() => w.__heap.main.push((performance as any).memory.usedJSHeapSize - base), 50);
        w.__heap.allTimer = setInterval(() => (performance as any).measureUserAgentSpecificMemory?.().then((m: any) => w.__heap.all.push(m.bytes)).catch(() => {}), 250);
      });
      await page.waitForTimeout(600);
      const t0 = Date.now();
      const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), gallery.locator('.download-all').click()]);
      const eventMs = Date.now() - t0; // the download has begun
      const path = await download.path(); // it has finished: the file is on disk
      const ms = Date.now() - t0;
      const entries = zipEntries(path);
      const heap = await page.evaluate(() => {
        const w = window as any;
        clearInterval(w.__heap.timer);
        clearInterval(w.__heap.allTimer);
        return { main: w.__heap.main as number[], all: w.__heap.all as number[] };
      });
      const text = await gallery.locator('.message').textContent();
      const images = Number(/Downloaded (\d+)/.exec(text ?? '')?.[1] ?? NaN);
      rounds.push({ ms, eventMs, entries, mainPeakMB: Math.max(0, ...heap.main) / 1e6, allPeakMB: heap.all.length ? (Math.max(...heap.all) - heap.all[0]!) / 1e6 : NaN, bytes: statSync(path).size, images });
      console.log(`download ${i + 1}: ${images} frames (${entries} ZIP entries), ${fmt(statSync(path).size / 1e6)} MB on disk ${fmt(ms / 1000, 2)} s after the click (the download event at ${fmt(eventMs / 1000, 2)} s); JS heap growth: main thread peak ${fmt(rounds.at(-1)!.mainPeakMB)} MB, page + workers peak ${fmt(rounds.at(-1)!.allPeakMB)} MB`);
      await page.waitForTimeout(2000);
    }
    await browser.close();

    const enc = costs.map((c) => c.encodeMs).filter(Number.isFinite);
    const hash = costs.map((c) => c.hashMs).filter(Number.isFinite);
    const summary = {
      date: new Date().toISOString(),
      mainThreadPerFrame: {
        flaggingOff: { median: median(sides.off.instr), p95: q(sides.off.instr, 0.95), p99: q(sides.off.instr, 0.99), allTasksMs: median(sides.off.task), busyMsPerSecond: median(sides.off.busy), fps: median(sides.off.fps) },
        flaggingOn: { median: median(sides.on.instr), p95: q(sides.on.instr, 0.95), p99: q(sides.on.instr, 0.99), allTasksMs: median(sides.on.task), busyMsPerSecond: median(sides.on.busy), fps: median(sides.on.fps), framesFlagged: sides.on.flagged },
        rounds: ROUNDS,
        secondsPerRound: SECONDS,
      },
      perFlaggedFrame: {
        encodeMs: { median: median(enc), p95: q(enc, 0.95) },
        hashMs: { median: median(hash), p95: q(hash, 0.95) },
        kbytes: median(costs.map((c) => c.bytes)) / 1024,
        frames: costs.length,
        width: costs[0]?.width,
        seededIn: seedSeconds,
      },
      download: { measured: 'click → the ZIP complete on disk (download.path() resolved, end-of-central-directory checked)', rounds, medianMs: median(rounds.map((r) => r.ms)), medianEventMs: median(rounds.map((r) => r.eventMs)), medianMainPeakMB: median(rounds.map((r) => r.mainPeakMB)), medianAllPeakMB: median(rounds.map((r) => r.allPeakMB)), target: '1,000 frames ≤ 10 s, heap growth ≤ 100 MB' },
    };
    writeFileSync(join(root, 'bench', 'results', 'flagging-download.json'), JSON.stringify({ date: summary.date, perFlaggedFrame: summary.perFlaggedFrame, download: summary.download }, null, 2));
    if (!DOWNLOAD_ONLY) writeFileSync(join(root, 'bench', 'results', 'flagging.json'), JSON.stringify(summary, null, 2));
    const m = summary.mainThreadPerFrame;
    console.log('\n== flagging benchmark (Chromium, WASM, vtest 640×480) ==');
    if (!DOWNLOAD_ONLY) console.log(`main thread per frame, flagging off → on: median ${fmt(m.flaggingOff.median, 3)} → ${fmt(m.flaggingOn.median, 3)} ms, p99 ${fmt(m.flaggingOff.p99, 3)} → ${fmt(m.flaggingOn.p99, 3)} ms; all main-thread tasks ${fmt(m.flaggingOff.allTasksMs, 2)} → ${fmt(m.flaggingOn.allTasksMs, 2)} ms per frame (${fmt(m.flaggingOff.busyMsPerSecond, 1)} → ${fmt(m.flaggingOn.busyMsPerSecond, 1)} ms per second); FPS ${fmt(m.flaggingOff.fps)} → ${fmt(m.flaggingOn.fps)} (${m.flaggingOn.framesFlagged} frames flagged while measured)`);
    console.log(`per flagged frame: JPEG + thumbnail in the frame worker ${fmt(summary.perFlaggedFrame.encodeMs.median, 1)} ms median (p95 ${fmt(summary.perFlaggedFrame.encodeMs.p95, 1)}), hash in the store worker ${fmt(summary.perFlaggedFrame.hashMs.median, 3)} ms; ${fmt(summary.perFlaggedFrame.kbytes, 0)} KB a frame (q 0.85)`);
    console.log(`download of ${rounds[0]?.images} frames (${fmt(rounds[0]!.bytes / 1e6)} MB ZIP) through the gallery, click → complete on disk: ${fmt(summary.download.medianMs / 1000, 2)} s median (${rounds.map((r) => fmt(r.ms / 1000, 2)).join(', ')}; the download event at ${fmt(summary.download.medianEventMs / 1000, 2)} s); JS heap growth ${fmt(summary.download.medianMainPeakMB)} MB main thread, ${fmt(summary.download.medianAllPeakMB)} MB page + workers (target ≤ 10 s, ≤ 100 MB)`);
    console.log(`written: ${DOWNLOAD_ONLY ? '' : 'bench/results/flagging.json, '}bench/results/flagging-download.json`);
  } finally {
    server.kill();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
