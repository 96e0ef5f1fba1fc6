/**
 * Recording in a real browser: the kiosk's frames reach IndexedDB and the query API; nothing committed
 * is lost on reload; quota pressure evicts raw frames, never rollups; retention by age and count.
 */
import { expect, test, type Page } from '@playwright/test';
import { manifest, recordEvents, waitForEvent } from './helpers.ts';
import { syntheticRecords } from './pages/synthetic.ts';

const DEV = `http://127.0.0.1:${process.env.E2E_DEV_PORT ?? 5199}`;

async function openStorePage(page: Page, options: object) {
  await page.goto(`${DEV}/e2e/pages/store.html`);
  await expect(page.locator('body[data-ready="1"]')).toBeAttached();
  return page.evaluate((o) => (globalThis as any).openTestStore(o), options);
}

test('the kiosk on the vtest camera writes records that the query API returns', async ({ page }) => {
  const rec = await recordEvents(page);
  await page.goto('/?backend=wasm&camera_id=cam-7&location=line%203');
  await waitForEvent(page, 'ready');
  for (let i = 0; i < 40 && (await rec.events()).filter((e) => e.type === 'inference').length < 6; i++) await page.waitForTimeout(500);
  const ids = (await rec.events()).filter((e) => e.type === 'inference').map((e) => e.detail.inferenceId);
  expect(ids.length).toBeGreaterThanOrEqual(6);
  const q = await page.evaluate(async () => {
    const el = document.querySelector('inference-monitor') as any;
    const store = await el.hub();
    if ((await el.store()) !== store) throw new Error('store() is not hub()'); // the earlier name, the same handle
    await store.flush();
    const now = Date.now();
    const range = { from: now - 10 * 60_000, to: now + 1000 };
    return {
      log: await store.log({ limit: 100 }),
      filtered: await store.log({ limit: 100, camera_id: 'cam-7', classId: 0 }),
      other: await store.log({ limit: 100, camera_id: 'cam-8' }),
      totals: await store.totals(range),
      p: await store.percentiles(range, 'inference'),
      series: await store.series(range),
      usage: await store.usage(),
    };
  });
  const logged = new Set(q.log.rows.map((r: any) => r.id));
  for (const id of ids) expect(logged.has(id), `record ${id}`).toBe(true);
  const row = q.log.rows.find((r: any) => r.id === ids[0]);
  expect(row.mv).toBe(manifest.sha256.slice(0, 12));
  expect(row.g).toBe('camera_id=cam-7&condition=colour&location=line%203'); // with its camera's condition (vtest: colour)
  expect(row.l[3]).toBeGreaterThan(0);
  expect(q.log.rows[0].t).toBeGreaterThanOrEqual(q.log.rows.at(-1).t); // newest first
  expect(q.filtered.rows.length).toBeGreaterThan(0);
  expect(q.other.rows).toEqual([]);
  expect(q.totals.frames).toBeGreaterThanOrEqual(ids.length);
  expect(q.totals.classCounts[0]).toBeGreaterThan(0); // people
  expect(q.totals.successRate).toBeGreaterThan(0.9);
  expect(q.p.values[0]).toBeGreaterThan(0);
  expect(q.series.res).toBe('10s');
  expect(q.series.t.length).toBeGreaterThan(0);
  expect(q.usage.status.mode).toBe('indexeddb');
  expect(q.usage.usage).toBeGreaterThan(0);
});

test('reload mid-run: every record flushed before the reload is there; loss is at most one flush interval', async ({ page }) => {
  test.setTimeout(240_000);
  const rec = await recordEvents(page);
  await page.goto('/?backend=wasm&camera_id=reload');
  await waitForEvent(page, 'ready');
  const end = Date.now() + 90_000;
  while ((await rec.events()).filter((e) => e.type === 'inference').length < 8 && Date.now() < end) await page.waitForTimeout(500);
  await page.waitForTimeout(1000);
  const before = (await rec.events()).filter((e) => e.type === 'inference');
  const reloadAt = Date.now();
  await page.reload();
  await waitForEvent(page, 'ready');
  const ids: string[] = await page.evaluate(async () => {
    const store = await (document.querySelector('inference-monitor') as any).store();
    const out: string[] = [];
    let next: string | undefined;
    do {
      const page = await store.log({ camera_id: 'reload', limit: 500, before: next });
      out.push(...page.rows.map((r: any) => r.id));
      next = page.next;
    } while (next);
    return out;
  });
  const have = new Set(ids);
  const old = before.filter((e) => e.at < reloadAt - 500);
  const lost = before.filter((e) => !have.has(e.detail.inferenceId));
  test.info().annotations.push({ type: 'reload', description: `${before.length} results before reload, ${lost.length} lost (all within the last flush interval)` });
  expect(old.length).toBeGreaterThan(3);
  for (const e of old) expect(have.has(e.detail.inferenceId), `record from ${reloadAt - e.at} ms before reload`).toBe(true);
});

test('log after an id: exactly the frames newer than it, newest first, across blocks and sources; more than a page says so', async ({ page }) => {
  await openStorePage(page, { dbName: `after-${Date.now()}` });
  const now = Date.now();
  const r = await page.evaluate(async (now) => {
    const g = globalThis as any;
    await g.ingest(600, now - 60_000, 10, { seed: 3 }); // 1 min at 10 fps: a dozen blocks
    await g.ingest(300, now - 40_000, 10, { seed: 4 }); // a second source over the same time
    let all: any[] = [], next: string | undefined;
    do {
      const p: any = await g.testStore.log({ limit: 1000, before: next });
      all = all.concat(p.rows);
      next = p.next;
    } while (next);
    const pivot = all[57].id; // 57 frames are newer
    const since = await g.testStore.log({ limit: 100, after: pivot });
    const capped = await g.testStore.log({ limit: 20, after: pivot });
    const none = await g.testStore.log({ limit: 100, after: all[0].id });
    return { all: all.map((x: any) => x.id), since: since.rows.map((x: any) => x.id), sinceNext: since.next, capped: capped.rows.length, cappedNext: capped.next, none: none.rows.length };
  }, now);
  expect(r.all.length).toBe(900);
  expect(r.since).toEqual(r.all.slice(0, 57));
  expect(r.sinceNext).toBeUndefined();
  expect(r.capped).toBe(20);
  expect(r.cappedNext).toBeDefined(); // more than a page came since: the panel starts over
  expect(r.none).toBe(0);
});

test('annotations: five of one inference sent at once all stay, merged; null removes a key', async ({ page }) => {
  await openStorePage(page, { dbName: `annotate-${Date.now()}` });
  const meta = await page.evaluate(async (now) => {
    const g = globalThis as any;
    await g.ingest(10, now - 5_000, 10, { seed: 5 });
    const id = (await g.testStore.log({ limit: 1 })).rows[0].id;
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((k, i) => g.testStore.annotate('0190a0c0-0000-7000-8000-00000000000a', id, { [k]: i })));
    await g.testStore.annotate('0190a0c0-0000-7000-8000-00000000000a', id, { c: null });
    return (await g.testStore.log({ limit: 1 })).rows[0].annotations;
  }, Date.now());
  expect(meta).toEqual({ a: '0', b: '1', d: '3', e: '4' }); // kept as text
});

test('retention: raw frames by age and by count; rollups stay', async ({ page }) => {
  await openStorePage(page, { dbName: `retention-${Date.now()}`, retention: { frameMaxCount: 1000, frameMaxAgeMs: 3600_000 } });
  const now = Date.now();
  const r = await page.evaluate(async (now) => {
    const g = globalThis as any;
    await g.ingest(600, now - 3 * 3600_000, 10, { seed: 1 }); // 1 min of frames, 3 h ago
    await g.ingest(1500, now - 5 * 60_000, 10, { seed: 2 }); // 2.5 min of recent frames
    const range = { from: now - 4 * 3600_000, to: now };
    const before = await g.testStore.totals(range);
    const removed = await g.testStore.applyRetention(now);
    const after = await g.testStore.totals(range);
    let rows = 0, next: string | undefined, oldest = Infinity;
    do {
      const p: any = await g.testStore.log({ limit: 1000, before: next });
      rows += p.rows.length;
      for (const x of p.rows) oldest = Math.min(oldest, x.t);
      next = p.next;
    } while (next);
    return { before: before.frames, after: after.frames, removed, rows, oldest };
  }, now);
  // whole blocks (≤ 5 s of frames) go: the count cap keeps at most 1,000, at least 1,000 less one block
  expect(r.rows).toBeLessThanOrEqual(1000);
  expect(r.rows).toBeGreaterThan(1000 - 60);
  expect(r.oldest).toBeGreaterThan(now - 3600_000 - 5000); // age cap
  expect(r.removed.frames).toBe(2100 - r.rows);
  expect(r.before).toBe(2100);
  expect(r.after).toBe(2100); // rollups keep every frame's summary
});

test('quota exceeded: the oldest raw frames are evicted first, rollups kept, the pipeline keeps running, the storage tile says so', async ({ page, context }) => {
  test.setTimeout(300_000);
  const rec = await recordEvents(page);
  await page.goto('/?backend=wasm&camera_id=quota&panel=off'); // the store under test, without the panel's queries beside it
  await waitForEvent(page, 'ready');
  const cdp = await context.newCDPSession(page);
  const origin = new URL(page.url()).origin;
  const base = (await page.evaluate(() => navigator.storage.estimate())).usage ?? 0;
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: base + 6 * 1024 * 1024 });
  const now = Date.now();
  let ingested = 0;
  for (let i = 0; i < 12; i++) {
    const batch = syntheticRecords(5000, now - 3600_000 + ingested * 100, 10, { seed: i + 1, camera: 'synthetic' });
    await page.evaluate(async (b) => {
      const store = await (document.querySelector('inference-monitor') as any).store();
      await store.add(b);
      await store.flush();
    }, batch);
    ingested += batch.length;
  }
  const inferencesBefore = (await rec.events()).filter((e) => e.type === 'inference').length;
  for (let end = Date.now() + 60_000; Date.now() < end; await page.waitForTimeout(500))
    if ((await rec.events()).filter((e) => e.type === 'inference').length > inferencesBefore + 1) break;
  const r = await page.evaluate(async (now) => {
    const store = await (document.querySelector('inference-monitor') as any).store();
    await store.flush();
    let rows = 0, next: string | undefined, oldest = Infinity, newest = -Infinity;
    do {
      const p: any = await store.log({ limit: 1000, before: next, camera_id: "synthetic" });
      rows += p.rows.length;
      for (const x of p.rows) (oldest = Math.min(oldest, x.t)), (newest = Math.max(newest, x.t));
      next = p.next;
    } while (next);
    const totals = await store.totals({ from: now - 2 * 3600_000, to: now + 3600_000, camera_id: 'synthetic' });
    return { rows, oldest, newest, totals, status: await store.status(), kioskRows: (await store.log({ limit: 5, camera_id: 'quota' })).rows.length };
  }, now);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin });
  test.info().annotations.push({ type: 'quota', description: JSON.stringify({ ingested, rows: r.rows, status: r.status }) });
  expect(r.status.evicted).toBeGreaterThan(0);
  expect(r.rows).toBeLessThan(ingested);
  expect(r.totals.frames).toBe(ingested); // every frame is still in the rollups
  // oldest first: what is left is the newest frames without a hole (the records are 100 ms apart, in order)
  expect(r.newest).toBe(now - 3600_000 + (ingested - 1) * 100);
  expect((r.newest - r.oldest) / 100 + 1).toBe(r.rows);
  expect(r.status.mode).toBe('indexeddb');
  // the pipeline kept running and recording all along
  expect((await rec.events()).filter((e) => e.type === 'inference').length).toBeGreaterThan(inferencesBefore);
  expect(r.kioskRows).toBeGreaterThan(0);
  await expect(page.locator('inference-monitor')).toHaveAttribute('state', 'running');
  // the panel opened now: its storage tile says the storage filled up and what went
  await page.evaluate(() => document.querySelector('inference-monitor')!.setAttribute('panel', 'on'));
  const tile = page.locator('inference-monitor inference-health-panel [data-tile=storage]');
  await expect(tile.locator('.detail')).toContainText(`storage full: ${r.status.evicted.toLocaleString('en')} oldest frames evicted, rollups kept`, { timeout: 30_000 });
  await expect(tile).toHaveAttribute('data-level', 'warn');
  expect(rec.pageErrors).toEqual([]);
});

test('series: cached closed buckets give the same answer, and a late write to a closed bucket is seen', async ({ page }) => {
  await openStorePage(page, { dbName: `series-${Date.now()}` });
  const now = Date.now();
  const r = await page.evaluate(async (now) => {
    const g = globalThis as any;
    await g.ingest(3600, now - 2 * 3600_000, 0.5, { seed: 3 }); // 2 h at one frame per 2 s
    const range = { from: now - 3 * 3600_000, to: now };
    const a = await g.testStore.series(range, '1m');
    const b = await g.testStore.series(range, '1m'); // from the cache
    const late = g.syntheticRecords(30, a.t[10] + 1000, 1, { seed: 9 });
    await g.testStore.add(late);
    await g.testStore.flush();
    const c = await g.testStore.series(range, '1m');
    return { a, b, c, t10: a.t[10] };
  }, now);
  expect(r.b).toEqual(r.a);
  expect(r.a.t.length).toBeGreaterThan(100);
  const i = r.c.t.indexOf(r.t10);
  expect(r.c.frames[i]).toBe(r.a.frames[i] + 30);
});

test('series pages: a fresh worker reads the points of closed buckets from IndexedDB (same series), and a late write drops the page it touches', async ({ page }) => {
  const dbName = `series-pages-${Date.now()}`;
  await openStorePage(page, { dbName });
  const now = Date.now();
  const range = { from: now - 3 * 3600_000, to: now };
  const a = await page.evaluate(async ([now, range]) => {
    const g = globalThis as any;
    await g.ingest(3600, now - 2 * 3600_000, 0.5, { seed: 3 }); // 2 h at one frame per 2 s
    return g.testStore.series(range, '1m');
  }, [now, range] as const);
  const pages = () =>
    page.evaluate(
      (name) =>
        new Promise<number[]>((resolve, reject) => {
          const req = indexedDB.open(name);
          req.onsuccess = () => {
            const q = req.result.transaction('seriesPages').objectStore('seriesPages').getAll();
            q.onsuccess = () => (req.result.close(), resolve(q.result.filter((p: { key: string }) => p.key === '1m|||').map((p: { start: number }) => p.start)));
            q.onerror = () => reject(q.error);
          };
          req.onerror = () => reject(req.error);
        }),
      dbName,
    );
  await expect.poll(async () => (await pages()).length).toBeGreaterThanOrEqual(1); // the 12-h page(s) the range falls in, up to the last closed bucket
  // a fresh worker (reload): the same series, closed buckets from the pages (float32: 7 significant digits)
  await openStorePage(page, { dbName });
  const b = await page.evaluate((range) => (globalThis as any).testStore.series(range, '1m'), range);
  expect(b.t).toEqual(a.t);
  expect(b.frames).toEqual(a.frames);
  for (const k of ['successRate', 'meanConfidence', 'confP10', 'confP90'] as const)
    b[k].forEach((v: number, i: number) => expect(v).toBeCloseTo(a[k][i], 5));
  b.p95.inference.forEach((v: number, i: number) => expect(Math.abs(v - a.p95.inference[i]) / a.p95.inference[i]).toBeLessThan(1e-6));
  expect(b.classCounts).toEqual(a.classCounts);
  // a late write into a closed bucket: its page goes, and a fresh worker sees the new frames
  const t10 = a.t[10];
  const before = await pages();
  await page.evaluate(async (t10) => {
    const g = globalThis as any;
    await g.testStore.add(g.syntheticRecords(30, t10 + 1000, 1, { seed: 9 }));
    await g.testStore.flush();
  }, t10);
  const after = await pages();
  const touched = before.filter((p) => p <= t10 && t10 < p + 12 * 3600_000);
  expect(touched).toHaveLength(1);
  expect(after).not.toContain(touched[0]);
  expect(before.filter((p) => p !== touched[0]).every((p) => after.includes(p))).toBe(true);
  await openStorePage(page, { dbName });
  const c = await page.evaluate((range) => (globalThis as any).testStore.series(range, '1m'), range);
  expect(c.frames[c.t.indexOf(t10)]).toBe(a.frames[a.t.indexOf(t10)] + 30);
});

test('migration to one baseline per condition: the baselines kept under version 8 move over under their picture\'s mode, and the engine loads them', async ({ page }) => {
  const dbName = `legacy-${Date.now()}`;
  await page.goto(`${DEV}/e2e/pages/store.html`);
  await expect(page.locator('body[data-ready="1"]')).toBeAttached();
  const legacy = (camera: string, saturation: number) => ({
    mv: 'abcdef012345', camera, createdAt: 1, from: 0, to: 300_000, source: 'auto', windowMs: 5000, frames: 3000, seconds: 300,
    rollup: { res: '10s', start: 0, mv: 'abcdef012345', g: '*', frames: 0 }, thumb: null, fps: 10,
    windows: { brightness: [120, 121, 119], saturation: [saturation, saturation, saturation] },
  });
  await page.evaluate(([name, a, b]) => (globalThis as any).legacyDatabase(name, [a, b]), [dbName, legacy('cam-day', 0.42), legacy('cam-ir', 0.01)] as const);
  expect((await page.evaluate((o) => (globalThis as any).openTestStore(o), { dbName })).mode).toBe('indexeddb');
  const keys = await page.evaluate((name) => (globalThis as any).baselineKeys(name), dbName);
  expect(keys).toEqual([['abcdef012345', 'cam-day', 'colour'], ['abcdef012345', 'cam-ir', 'mono']]);
  const loaded = await page.evaluate(() => (globalThis as any).testStore.baselines());
  expect(loaded.map((b: { camera: string; condition: string }) => `${b.camera} ${b.condition}`).sort()).toEqual(['cam-day colour', 'cam-ir mono']);
});

test('two tabs record side by side: every frame of each lands once, under its own source id', async ({ context }) => {
  test.setTimeout(300_000);
  const tabs = [await context.newPage(), await context.newPage()];
  const recs = await Promise.all(tabs.map((p) => recordEvents(p)));
  await Promise.all(tabs.map((p, i) => p.goto(`/?backend=wasm&camera_id=tab-${i}`)));
  await Promise.all(tabs.map((p) => waitForEvent(p, 'ready')));
  // two tabs share two cores: wait for enough frames in each rather than a fixed time
  for (const [i, p] of tabs.entries()) {
    const n = async () => (await recs[i]!.events()).filter((e) => e.type === 'inference').length;
    const end = Date.now() + 90_000;
    while ((await n()) < 4 && Date.now() < end) await p.waitForTimeout(500);
  }
  await Promise.all(tabs.map((p) => p.evaluate(() => (document.querySelector('inference-monitor') as any).stop())));
  // each tab has its own store worker: let both commit what they hold before reading
  await Promise.all(tabs.map((p) => p.evaluate(async () => (await (document.querySelector('inference-monitor') as any).store()).flush())));
  const results = await Promise.all(recs.map(async (r) => (await r.events()).filter((e) => e.type === 'inference').map((e) => e.detail.inferenceId)));
  const q = await tabs[0]!.evaluate(async () => {
    const store = await (document.querySelector('inference-monitor') as any).store();
    await store.flush();
    const rows: any[] = [];
    let next: string | undefined;
    do {
      const p = await store.log({ limit: 1000, before: next });
      rows.push(...p.rows);
      next = p.next;
    } while (next);
    const now = Date.now();
    const t0 = await store.totals({ from: now - 600_000, to: now, camera_id: 'tab-0' });
    const t1 = await store.totals({ from: now - 600_000, to: now, camera_id: 'tab-1' });
    return { rows: rows.map((r) => ({ id: r.id, src: r.src, g: r.g })), t0: t0.frames, t1: t1.frames };
  });
  for (const [i, ids] of results.entries()) {
    expect(ids.length).toBeGreaterThan(3);
    const mine = q.rows.filter((r) => r.g === `camera_id=tab-${i}&condition=colour`); // vtest: its camera's condition is colour
    const stored = new Set(mine.map((r) => r.id));
    for (const id of ids) expect(stored.has(id), id).toBe(true);
    expect(stored.size).toBe(mine.length); // no duplicates
    // at stop(), up to two frames are recorded without their event reaching the page: a result already on its
    // way to the page (which ignores results once stopping), and the run still going until the worker hears of it
    expect(mine.length - ids.length).toBeLessThanOrEqual(2);
    expect(new Set(mine.map((r) => r.src)).size).toBe(1);
    expect(i === 0 ? q.t0 : q.t1).toBe(mine.length); // rollups merged from both tabs' commits, nothing lost or doubled
  }
  expect(q.rows.find((r) => r.g === 'camera_id=tab-0&condition=colour')!.src).not.toBe(q.rows.find((r) => r.g === 'camera_id=tab-1&condition=colour')!.src);
});

test('IndexedDB unavailable (a newer database version holds it): the monitor keeps running in memory and says so', async ({ page }) => {
  const rec = await recordEvents(page);
  await page.goto('/models/centernet-coco.json');
  await page.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const req = indexedDB.open('inference-health', 99);
        req.onsuccess = () => (req.result.close(), resolve());
        req.onerror = () => reject(req.error);
      }),
  );
  await page.goto('/?backend=wasm&camera_id=memory');
  const err = await waitForEvent(page, 'error', (e) => e.detail.code === 'storage-unavailable');
  expect(err.detail.fatal).toBe(false);
  await waitForEvent(page, 'inference');
  await page.waitForTimeout(2000);
  const q = await page.evaluate(async () => {
    const store = await (document.querySelector('inference-monitor') as any).store();
    await store.flush();
    return { log: await store.log({ limit: 10 }), status: await store.status() };
  });
  expect(q.status.mode).toBe('memory');
  expect(q.status.error).toMatch(/memory/);
  expect(q.log.rows.length).toBeGreaterThan(0);
  await expect(page.locator('inference-monitor')).toHaveAttribute('state', 'running');
  expect(rec.pageErrors).toEqual([]);
});
