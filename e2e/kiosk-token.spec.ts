/**
 * The kiosk's sync token out of the address bar (#25): opened once with `?sync_token=`, the real kiosk keeps
 * the token in its origin's storage and replaces the URL without it; a reload without the token still syncs to
 * the real server (its own process, a token scoped to the kiosk's device id); another sync_url gets no token.
 */
import { expect, type Page, test } from '@playwright/test';
import { recordEvents, waitForEvent } from './helpers.ts';
import { startFleetServer } from './fleet-server.ts';

const KIOSK = `http://127.0.0.1:${Number(process.env.E2E_PORT ?? 5200)}`;
const TOKEN = 'kiosk-tok-token-0123456789';

const annotateNext = async (page: Page, after: string | undefined, meta: Record<string, string>) => {
  const e = await waitForEvent(page, 'inference', (x) => after === undefined || x.detail.inferenceId > after);
  await page.evaluate(([id, m]) => (document.querySelector('inference-monitor') as any).annotate(id, m), [e.detail.inferenceId, meta] as const);
  return e.detail.inferenceId as string;
};

test('kiosk token: given once as ?sync_token=, kept in the page’s storage; the URL no longer holds it and a reload without it still syncs', async ({ page }) => {
  test.setTimeout(240_000);
  // the token may write (and read) only the device kiosk-tok: the page's generated source id is bound through it
  const server = await startFleetServer({ port: 5331, tokens: `kiosk:${TOKEN}:kiosk-tok`, cors: [KIOSK], intervalMs: 2000 });
  try {
    const syncUrl = encodeURIComponent(`${server.url}/v1/batches`);
    const base = `/?backend=wasm&panel=off&camera_id=tok-cam&device_id=kiosk-tok&sync_url=${syncUrl}&sync_interval=2&baseline_minutes=0.25`;
    const rec = await recordEvents(page);
    await page.goto(`${base}&sync_token=${TOKEN}`);
    // the address (and so history, and what a proxy or a screenshot of the URL bar sees next) lost the token
    await expect.poll(() => page.url()).not.toContain('sync_token');
    expect(page.url()).not.toContain(TOKEN);
    expect(page.url()).toContain('sync_url=');
    expect(page.url()).toContain('device_id=kiosk-tok');
    await waitForEvent(page, 'ready');
    const first = await annotateNext(page, undefined, { run: 'first' });
    type Rows = { rows: { id: string; meta: Record<string, string> }[] };
    const annotations = async () => (await server.get<Rows>('/v1/annotations', { from: Date.now() - 3600_000, to: Date.now() + 60_000 })).rows.map((r) => r.meta.run);
    await expect.poll(annotations, { timeout: 60_000, intervals: [1000] }).toEqual(['first']);

    // a reload without the token (and a browser's "reopen"): the kept token still syncs
    await page.goto(base);
    expect(page.url()).not.toContain('sync_token');
    await waitForEvent(page, 'ready');
    await annotateNext(page, first, { run: 'second' });
    await expect.poll(async () => (await annotations()).sort(), { timeout: 60_000, intervals: [1000] }).toEqual(['first', 'second']);
    const errors = (await rec.events()).filter((e) => e.type === 'error' && /^sync-/.test(e.detail.code));
    expect(errors).toEqual([]);
    const [device] = await server.get<{ device_id: string; id: string }[]>('/v1/devices');
    expect(device!.device_id).toBe('kiosk-tok');

    // the kept token goes only to the server it was given for
    await page.goto(`/?backend=wasm&panel=off&sync_url=${encodeURIComponent('http://127.0.0.1:9/v1/batches')}&sync_interval=2`);
    expect(await page.locator('inference-monitor').getAttribute('sync-token')).toBeNull();
    await page.goto(base);
    expect(await page.locator('inference-monitor').getAttribute('sync-token')).toBe(TOKEN);
    // an empty ?sync_token= forgets it
    await page.goto(`${base}&sync_token=`);
    await expect.poll(() => page.url()).not.toContain('sync_token');
    expect(await page.locator('inference-monitor').getAttribute('sync-token')).toBeNull();
    await page.goto(base);
    expect(await page.locator('inference-monitor').getAttribute('sync-token')).toBeNull();
    expect(rec.pageErrors).toEqual([]);
  } finally {
    await server.stop();
  }
});

test('the fleet page takes a read token: a kiosk’s write-only token is refused with the reason, and the form asks again', async ({ page }) => {
  const server = await startFleetServer({ port: 5332, tokens: `fleet:fleet-read-token-0123456789:*:read,kiosks:${TOKEN}:*:write` });
  try {
    const body = { v: 1, source: { id: 'k-1', device_id: 'line-9', app_version: '0.1.0', monitors: [] }, seq: 1, sentAt: Date.now(), rollups: [], alerts: [], flagged: [], baselines: [], dropped: 0 };
    const posted = await fetch(`${server.url}/v1/batches`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
    expect(posted.status).toBe(200);
    await page.goto(`${server.url}/#token=${TOKEN}`);
    const view = page.locator('fleet-view');
    await expect(view.locator('[role=alert]')).toContainText('token kiosks is write-only: it may not read');
    await view.locator('input[type=password]').fill('fleet-read-token-0123456789');
    await view.locator('button[type=submit]').click();
    await expect(view.locator('tr[data-device] th')).toHaveText('line-9');
  } finally {
    await server.stop();
  }
});
