/**
 * The monitor's own accuracy on real footage, and its alerts reaching people: the kiosk watches vtest.avi whose
 * second half (from 25 s) is darkened with ffmpeg (brightness −0.45). A baseline is learnt from the first 15 s; the
 * lighting brightness rule's alert (not a confidence one: the rule the docs name) must fire within 30 s of the
 * change, none before it, with a browser notification (`notify`), and resolve when the clip loops back to normal
 * light. The kiosk syncs to the real fleet server, which forwards the alert to a real Alertmanager (Debian's
 * `prometheus-alertmanager`), whose webhook receiver (a Node server here) gets it, and then its resolution; the
 * kiosk then stops and the server raises `device-down`, which reaches the receiver too. A second target, a
 * webhook nobody answers, ends in dead letters that the fleet page shows. (One kiosk run for both: the darkened
 * clip's alert was once its own test.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { recordEvents, type Recorded, waitForEvent } from './helpers.ts';
import { startFleetServer } from './fleet-server.ts';

const KIOSK = `http://127.0.0.1:${Number(process.env.E2E_PORT ?? 5200)}`;
const TOKEN = 'kiosk-token-dark-0123456';
const AM = '/usr/bin/prometheus-alertmanager';

interface Notification {
  status: 'firing' | 'resolved';
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[];
}

test('darkened footage: the lighting rule (brightness-*, cause camera) fires within 30 s of the change, none before, with a notification; it reaches Alertmanager through the server, then its receiver, and resolves; a stopped kiosk raises device-down', async ({ page }) => {
  test.setTimeout(300_000);
  if (!existsSync(AM)) throw new Error(`${AM} is missing: install Debian's Alertmanager (apt-get install -y prometheus-alertmanager)`);
  // Alertmanager's receiver
  const got: Notification[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      got.push(JSON.parse(body));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(5317, '127.0.0.1', r));
  const dir = mkdtempSync(join(tmpdir(), 'alertmanager-'));
  writeFileSync(
    join(dir, 'alertmanager.yml'),
    `route:\n  receiver: hook\n  group_by: ['...']\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: http://127.0.0.1:5317/notify\n        send_resolved: true\n`,
  );
  const am: ChildProcess = spawn(AM, [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`, '--cluster.listen-address=', '--web.listen-address=127.0.0.1:5316'], { stdio: 'ignore' });
  // (nothing listens on 5319: the webhook's deliveries fail, 2 attempts each, then become dead letters)
  const server = await startFleetServer({
    port: 5318,
    tokens: `kiosk:${TOKEN}:*`,
    cors: [KIOSK],
    intervalMs: 2000,
    env: { FLEET_ALERTMANAGER_URL: 'http://127.0.0.1:5316', FLEET_WEBHOOK_URL: 'http://127.0.0.1:5319/hook', FLEET_FORWARD_ATTEMPTS: '2', FLEET_FORWARD_BACKOFF_MS: '200', FLEET_FORWARD_BACKOFF_MAX_MS: '1000' },
  });
  try {
    const rec = await recordEvents(page);
    // `notify`: the page may show notifications; a spy around the browser's Notification records each one
    await page.context().grantPermissions(['notifications']);
    await page.addInitScript(() => {
      const Real = window.Notification;
      const shown: { title: string; body?: string; tag?: string }[] = [];
      (window as unknown as { __notifications: typeof shown }).__notifications = shown;
      class Spy extends Real {
        constructor(title: string, opts?: NotificationOptions) {
          shown.push({ title, body: opts?.body, tag: opts?.tag });
          super(title, opts);
        }
      }
      Object.defineProperty(window, 'Notification', { value: Spy, configurable: true, writable: true });
    });
    await page.goto(`/?backend=wasm&panel=off&camera_id=dock-2&location=line%203&notify&device_id=kiosk-dark&baseline_minutes=0.25&sync_url=${encodeURIComponent(`${server.url}/v1/batches`)}&sync_token=${TOKEN}&sync_interval=2`);
    await waitForEvent(page, 'ready', () => true, 60_000);
    // the clip's own brightness, as the frame worker measured it, tells when the light changed
    const first = await waitForEvent(page, 'inference', (e) => e.detail.image?.brightness > 0, 30_000);
    const light = first.detail.image.brightness;
    const change = await waitForEvent(page, 'inference', (e) => e.detail.image?.brightness < light - 30, 90_000);
    const alert = await waitForEvent(page, 'alert', (e) => e.detail.state === 'firing' && /^brightness-/.test(e.detail.ruleId), 60_000);
    const rule = alert.detail.ruleId as string;
    const before = (await rec.events()).filter((e: Recorded) => e.type === 'alert' && e.detail.state === 'firing' && e.at < change.at);
    expect(before.map((e) => e.detail.ruleId)).toEqual([]);
    const delay = (alert.at - change.at) / 1000;
    test.info().annotations.push({ type: 'detection delay (s)', description: delay.toFixed(1) }, { type: 'alert', description: JSON.stringify(alert.detail) });
    expect(delay).toBeLessThanOrEqual(30);
    expect(alert.detail).toMatchObject({ camera_id: 'dock-2', location: 'line 3', state: 'firing', cause: 'camera' }); // the light changed, not the model
    expect(alert.detail.value).toBeGreaterThanOrEqual(alert.detail.threshold);
    expect(alert.detail.time).toBeGreaterThan(0);
    // the element's API: history and vitals agree
    const seen = await page.evaluate(async () => {
      const m = document.querySelector('inference-monitor')!;
      const v = await m.vitals();
      const h = await m.alerts({ limit: 20 });
      return { vitals: v && { baseline: v.baseline.state, brightness: v.image.brightness, baseline_brightness: v.image.baseline?.brightness }, history: h.rows.map((r) => [r.rule, r.state]), bar: m.shadowRoot!.querySelector('[part=alerts]')?.textContent ?? '' };
    });
    expect(seen.vitals!.baseline).toBe('ready');
    expect(seen.vitals!.brightness).toBeLessThan(seen.vitals!.baseline_brightness!); // the last minute holds dark frames
    expect(seen.history).toContainEqual([rule, 'firing']);
    expect(seen.bar).toMatch(/alert/);
    // with notify: a notification for each firing alert (none for resolutions), titled with the rule's name
    const notes = await page.evaluate(() => (window as unknown as { __notifications: { title: string; body?: string; tag?: string }[] }).__notifications);
    const note = notes.find((n) => n.tag === `${rule}|dock-2`);
    expect(note, JSON.stringify(notes)).toBeDefined();
    expect(note!.title).toBe(alert.detail.name);
    expect(note!.body).toMatch(/^dock-2: [\d.]+ \(threshold [\d.]+\) — cause: camera$/);
    expect(notes.length).toBe((await rec.events()).filter((e: Recorded) => e.type === 'alert' && e.detail.state === 'firing').length);
    const firing = (n: Notification) => n.alerts.some((a) => a.status === 'firing' && a.labels.alertname === rule && a.labels.device === 'kiosk-dark');
    await expect.poll(() => got.some(firing), { timeout: 30_000 }).toBe(true);
    const sent = got.find(firing)!.alerts.find((a) => a.labels.alertname === rule)!;
    expect(sent.labels).toMatchObject({ camera_id: 'dock-2', severity: alert.detail.severity, model_version: alert.detail.mv, cause: 'camera' });
    expect(sent.annotations.summary).toBe(alert.detail.name);
    expect(sent.annotations.panel).toContain(`${server.url}/#device=`);
    // Alertmanager itself lists it
    const listed = (await (await fetch('http://127.0.0.1:5316/api/v2/alerts')).json()) as { labels: Record<string, string>; status: { state: string } }[];
    expect(listed.some((a) => a.labels.alertname === rule && a.labels.device === 'kiosk-dark')).toBe(true);
    // the light comes back (the clip loops back to normal light at 50 s): resolved in the kiosk (hysteresis, no
    // flapping), then at the receiver
    const resolved = await waitForEvent(page, 'alert', (e) => e.detail.state === 'resolved' && e.detail.ruleId === rule, 150_000);
    expect(resolved.at).toBeGreaterThan(alert.at);
    await expect.poll(() => got.some((n) => n.alerts.some((a) => a.status === 'resolved' && a.labels.alertname === rule && a.labels.device === 'kiosk-dark')), { timeout: 30_000 }).toBe(true);
    // the dead webhook: its dead letters on the fleet page, the server healthy
    const fleet = await page.context().newPage();
    await fleet.goto(`${server.url}/#token=${TOKEN}`);
    await expect(fleet.locator('fleet-view [data-target=webhook]')).toContainText(/[1-9]\d* dead letters?/, { timeout: 30_000 });
    await expect(fleet.locator('fleet-view [data-target=alertmanager]')).toContainText('0 dead letters');
    expect((await fetch(`${server.url}/healthz`)).ok).toBe(true);
    await fleet.close();
    // the kiosk stops: the server notices the silence
    await page.close();
    await expect.poll(() => got.some((n) => n.alerts.some((a) => a.status === 'firing' && a.labels.alertname === 'device-down' && a.labels.device === 'kiosk-dark')), { timeout: 60_000 }).toBe(true);
    expect(rec.pageErrors).toEqual([]);
  } finally {
    await server.stop();
    am.kill('SIGTERM');
    receiver.close();
  }
});
