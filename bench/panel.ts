/**
 * Health panel benchmark (Chromium): with 24 h of history in the store (2 cameras, rolled up), the
 * main-thread cost of a live refresh (p95), the time from clicking "7 d" to the charts drawn, and
 * whether scrolling 1,000 inference-log rows causes a long task. Production build of the page.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, launchChromium, q, root, startPreviewServer } from './lib.ts';

const PORT = Number(process.env.BENCH_PORT ?? 5303);

async function main() {
  const { base, server } = await startPreviewServer(PORT, '/bench/pages/panel.html');
  try {
    const browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`${base}/bench/pages/panel.html`);
    await page.waitForSelector('body[data-ready="1"]', { state: 'attached' });
    const t0 = Date.now();
    await page.evaluate(() => (globalThis as any).fill(24, 2, 2, 1500));
    console.log(`history in the store: 24 h × 2 cameras rolled up, 1,500 raw records (${fmt((Date.now() - t0) / 1000)} s)`);

    // 1. live refreshes on the 24-h range: main-thread time applying each (instrumented) and all tasks (CDP)
    await page.evaluate(() => {
      const p = (globalThis as any).mount('24h');
      (globalThis as any).__refreshes = [];
      p.addEventListener('refreshed', (e: CustomEvent) => (globalThis as any).__refreshes.push(e.detail));
    });
    await page.waitForFunction(() => (globalThis as any).__refreshes.length >= 3, undefined, { timeout: 60_000 });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const task = async () => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration')!.value * 1000;
    const seconds = Number(process.env.BENCH_SECONDS ?? 20);
    // the page's own main-thread time with the panel idle (live off), to subtract
    await page.evaluate(() => ((document.querySelector('inference-health-panel') as any).live = false));
    const idle0 = await task();
    await page.waitForTimeout(seconds * 1000);
    const idlePerSecond = ((await task()) - idle0) / seconds;
    await page.evaluate(() => ((document.querySelector('inference-health-panel') as any).live = true));
    const n0 = await page.evaluate(() => (globalThis as any).__refreshes.length);
    const task0 = await task();
    await page.waitForTimeout(seconds * 1000);
    const task1 = await task();
    const refreshes = (await page.evaluate((n) => (globalThis as any).__refreshes.slice(n), n0)) as { ms: number }[];
    const live = refreshes.map((r) => r.ms);

    // 2. switch to 7 d: click → charts drawn (5 rounds, alternating with 24 h)
    const switchMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      for (const range of ['7 d', '24 h']) {
        const ms = await page.evaluate(async (label) => {
          const p = document.querySelector('inference-health-panel')!;
          const button = [...p.shadowRoot!.querySelectorAll('.ranges button')].find((b) => b.textContent === label) as HTMLButtonElement;
          const t = performance.now();
          const done = new Promise<void>((r) => p.addEventListener('refreshed', (e) => (e as CustomEvent).detail.full && r(), { once: false }));
          button.click();
          await done;
          return performance.now() - t;
        }, range);
        if (range === '7 d') switchMs.push(ms);
      }
    }

    // 3. 1,000 log rows: load them (cursor pages of 200 as the list scrolls), then scroll through, counting long tasks
    const scroll = await page.evaluate(async () => {
      const p = document.querySelector('inference-health-panel')! as any;
      p.live = false;
      const log = p.shadowRoot.querySelector('.log') as HTMLElement;
      for (let i = 0; i < 200 && p._log.rows.length < 1000; i++) {
        log.scrollTop = log.scrollHeight;
        log.dispatchEvent(new Event('scroll'));
        await new Promise((r) => setTimeout(r, 50));
      }
      const rows = p._log.rows.length;
      log.scrollTop = 0;
      await new Promise((r) => requestAnimationFrame(r));
      const longTasks: number[] = [];
      const po = new PerformanceObserver((l) => l.getEntries().forEach((e) => longTasks.push(e.duration)));
      po.observe({ type: 'longtask' });
      const frameTimes: number[] = [];
      let last = performance.now();
      for (let y = 0; y < rows * 30; y += 240) {
        log.scrollTop = y;
        await new Promise((r) => requestAnimationFrame(r));
        const now = performance.now();
        frameTimes.push(now - last);
        last = now;
      }
      await new Promise((r) => setTimeout(r, 200));
      po.disconnect();
      const domRows = p.shadowRoot.querySelectorAll('tr.log-row').length;
      return { rows, longTasks, frames: frameTimes.length, maxFrameMs: Math.max(...frameTimes), domRows };
    });
    await browser.close();

    const summary = {
      date: new Date().toISOString(),
      history: '24 h × 2 cameras (rolled up), 1,500 raw records',
      liveRefresh: {
        instrumentedMs: { median: q(live, 0.5), p95: q(live, 0.95) },
        refreshes: live.length,
        cdpTaskMsPerRefresh: (task1 - task0) / Math.max(1, live.length),
        cdpTaskMsPerRefreshMinusIdle: (task1 - task0 - idlePerSecond * seconds) / Math.max(1, live.length),
        idleTaskMsPerSecond: idlePerSecond,
        target: 'p95 ≤ 16 ms',
      },
      switchTo7d: { medianMs: q(switchMs, 0.5), maxMs: Math.max(...switchMs), target: '≤ 200 ms' },
      logScroll: { ...scroll, target: 'no long task over 1,000 rows' },
    };
    writeFileSync(join(root, 'bench', 'results', 'panel.json'), JSON.stringify(summary, null, 2));
    console.log('\n== health panel benchmark (Chromium, 24 h of history) ==');
    console.log(`live refresh (24-h range): applying it ${fmt(summary.liveRefresh.instrumentedMs.median)} ms median, p95 ${fmt(summary.liveRefresh.instrumentedMs.p95)} ms over ${live.length} refreshes; all main-thread tasks ${fmt(summary.liveRefresh.cdpTaskMsPerRefresh)} ms per refresh, ${fmt(summary.liveRefresh.cdpTaskMsPerRefreshMinusIdle)} ms above the idle page's (target p95 ≤ 16 ms)`);
    console.log(`switch to 7 d, click → charts drawn: median ${fmt(summary.switchTo7d.medianMs)} ms, max ${fmt(summary.switchTo7d.maxMs)} ms (target ≤ 200 ms)`);
    console.log(`inference log: ${scroll.rows} rows loaded by cursor, scrolled through in ${scroll.frames} frames: ${scroll.longTasks.length} long tasks, slowest frame ${fmt(scroll.maxFrameMs)} ms, ${scroll.domRows} rows in the DOM (virtualised)`);
    console.log('written: bench/results/panel.json');
  } finally {
    server.kill();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
