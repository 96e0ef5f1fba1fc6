/**
 * Alert forwarding (src/server/forward.ts) with real processes: the fleet server (node + tsx), a real
 * Alertmanager (Debian's `prometheus-alertmanager`) whose webhook receiver is a Node server here, and a direct
 * webhook receiver. Alert state changes reach both, once; a receiver answering 500 then 200 gets the event once
 * (Retry-After honoured); a dead receiver ends in one dead letter (on /v1/forwarding and /metrics) while
 * /healthz answers; a silent source raises device-down and its next batch resolves it; Alertmanager down for
 * 30 s, with the fleet server killed and restarted while deliveries are queued, still gets the alert once.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertmanagerAlert, slackMessage, webhookEvent } from '../src/server/forward/formats.ts';
import { retryAfterMs } from '../src/server/forward/lane.ts';
import { backoff } from '../src/server/forward/queue.ts';
import { alert, batch, getJson, MV, parseMetrics, post, Receiver, type Server, startServer, until } from './server-helpers.ts';
import { freePort } from './server-helpers.ts';

const AM_BIN = '/usr/bin/prometheus-alertmanager';
const TOKEN = 'forward-test-token-0123456789';
const PUBLIC = 'https://fleet.example.test';
const INTERVAL = 2000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


/** A real Alertmanager on 127.0.0.1:port whose only receiver is `hook` (every alert its own group). */
class Alertmanager {
  proc: ChildProcess | null = null;
  log = '';
  constructor(
    readonly dir: string,
    readonly port: number,
    hook: string,
  ) {
    writeFileSync(
      join(dir, 'alertmanager.yml'),
      [
        'global:',
        '  resolve_timeout: 5s',
        'route:',
        '  receiver: test',
        "  group_by: ['...']",
        '  group_wait: 1s',
        '  group_interval: 1s',
        '  repeat_interval: 1h',
        'receivers:',
        '  - name: test',
        '    webhook_configs:',
        `      - url: ${hook}`,
        '        send_resolved: true',
        '',
      ].join('\n'),
    );
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const proc = spawn(AM_BIN, [`--config.file=${join(this.dir, 'alertmanager.yml')}`, `--storage.path=${join(this.dir, 'am-data')}`, '--cluster.listen-address=', `--web.listen-address=127.0.0.1:${this.port}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    proc.stdout!.on('data', (d) => (this.log += d));
    proc.stderr!.on('data', (d) => (this.log += d));
    await until(async () => proc.exitCode === null && (await fetch(`${this.url}/-/ready`)).ok, `Alertmanager to be ready:\n${this.log.slice(-2000)}`);
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (proc.exitCode === null) proc.kill('SIGKILL');
  }

  /** Active alerts matching label matchers (e.g. `source="kiosk-a"`). */
  async alerts(...filters: string[]): Promise<any[]> {
    const q = filters.map((f) => `filter=${encodeURIComponent(f)}`).join('&');
    const res = await fetch(`${this.url}/api/v2/alerts?${q}`);
    if (!res.ok) throw new Error(`Alertmanager: ${res.status}`);
    return (await res.json()) as any[];
  }
}

describe('alert payloads', () => {
  const a = alert('drift', 'cam-1', 'resolved', 2_000_000, 'x-1');
  const ctx = { source: 'kiosk-1', device: 'dev-1', panel: `${PUBLIC}/#device=kiosk-1` };

  it('are shaped for Alertmanager, the webhook and Slack', () => {
    expect(alertmanagerAlert({ ...a, classId: 3 }, ctx, 1_000_000)).toEqual({
      labels: { alertname: 'drift', severity: 'warning', device: 'dev-1', source: 'kiosk-1', camera_id: 'cam-1', location: 'line-3', model_version: MV, class_id: '3' },
      annotations: { summary: 'Rule drift', description: 'Rule drift: value 0.2 (threshold 0.3) on camera cam-1 of device dev-1', value: '0.2', threshold: '0.3', panel: ctx.panel },
      // a page clock ahead of the server's: ends now, starts no later
      startsAt: new Date(1_000_000).toISOString(),
      endsAt: new Date(1_000_000).toISOString(),
      generatorURL: ctx.panel,
    });
    expect(webhookEvent({ ...a, value: NaN }, ctx)).toMatchObject({ event: 'alert', state: 'resolved', value: null, threshold: 0.3, device: 'dev-1', time: new Date(2_000_000).toISOString(), since: new Date(1_970_000).toISOString() });
    expect(slackMessage({ ...a, state: 'firing' }, ctx).text).toBe(`🔴 FIRING Rule drift — device dev-1 camera cam-1: value 0.2 (threshold 0.3) <${ctx.panel}>`);
    expect(slackMessage(a, ctx).text).toMatch(/^✅ RESOLVED Rule drift — /);
  });

  it('escape what devices send for Slack: a camera tag or rule name cannot mention the channel, a user or link elsewhere', () => {
    const evil = { ...a, state: 'firing' as const, name: 'x <https://evil.example|click>', camera_id: '<!channel> <@U0ADMIN> & co' };
    const text = slackMessage(evil, { ...ctx, device: '<!here>' }).text;
    expect(text).toBe(`🔴 FIRING x &lt;https://evil.example|click&gt; — device &lt;!here&gt; camera &lt;!channel&gt; &lt;@U0ADMIN&gt; &amp; co: value 0.2 (threshold 0.3) <${ctx.panel}>`);
    expect(text.match(/</g)).toHaveLength(1); // the panel link alone
  });

  it('carry the probable cause: a cause label and the evidence for Alertmanager, fields in the JSON, an escaped line for Slack; nothing without one', () => {
    const why = { ...a, state: 'firing' as const, cause: 'model' as const, evidence: 'confidence and class mix moved together <!channel> & co' };
    const am = alertmanagerAlert(why, ctx, 1_000_000);
    expect(am.labels).toMatchObject({ alertname: 'drift', cause: 'model' });
    expect(am.annotations.description).toBe(`Rule drift: value 0.2 (threshold 0.3) on camera cam-1 of device dev-1. Probable cause: model (${why.evidence})`);
    expect(am.annotations.evidence).toBe(why.evidence);
    expect(webhookEvent(why, ctx)).toMatchObject({ cause: 'model', evidence: why.evidence });
    expect(slackMessage(why, ctx).text).toBe(`🔴 FIRING Rule drift — device dev-1 camera cam-1: value 0.2 (threshold 0.3) <${ctx.panel}>\nProbable cause: model (confidence and class mix moved together &lt;!channel&gt; &amp; co)`);
    // an alert from a page without causes: as before
    expect(alertmanagerAlert(a, ctx, 1_000_000).labels).not.toHaveProperty('cause');
    expect(alertmanagerAlert(a, ctx, 1_000_000).annotations).not.toHaveProperty('evidence');
    expect(webhookEvent(a, ctx)).not.toHaveProperty('cause');
    expect(slackMessage(a, ctx).text).not.toContain('\n');
  });

  it('back off exponentially with jitter, capped, and read Retry-After', () => {
    expect(backoff(1, 1000, 300_000, 0)).toBe(500);
    expect(backoff(1, 1000, 300_000, 1)).toBe(1000);
    expect(backoff(4, 1000, 300_000, 1)).toBe(8000);
    expect(backoff(30, 1000, 300_000, 1)).toBe(300_000);
    expect(backoff(30, 1000, 300_000, 0)).toBe(150_000);
    expect(retryAfterMs('7')).toBe(7000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});

describe('alert forwarding with a real Alertmanager and webhooks', () => {
  let dir: string;
  let am: Alertmanager;
  const amHook = new Receiver(); // Alertmanager's receiver
  const hook = new Receiver(); // the fleet server's webhook
  let fleet: Server; // Alertmanager + hook, FLEET_INTERVAL_MS=2000
  let fleetEnv: Record<string, string>;
  let lonely: Server; // a dead webhook, FLEET_FORWARD_ATTEMPTS=3

  beforeAll(async () => {
    if (spawnSync(AM_BIN, ['--version']).error)
      throw new Error(`${AM_BIN} is missing: install Debian's Alertmanager (apt-get install -y prometheus-alertmanager) to run these tests`);
    dir = mkdtempSync(join(tmpdir(), 'fleet-forward-'));
    await Promise.all([amHook.listen(0), hook.listen(0)]);
    am = new Alertmanager(dir, await freePort(), `${amHook.url}/am`);
    await am.start();
    fleetEnv = {
      FLEET_TOKENS: `kiosk:${TOKEN}:*`,
      FLEET_ALERTMANAGER_URL: am.url,
      FLEET_ALERTMANAGER_REPEAT_MS: '1500',
      FLEET_WEBHOOK_URL: `${hook.url}/hook`,
      FLEET_PUBLIC_URL: PUBLIC,
      FLEET_INTERVAL_MS: String(INTERVAL),
      FLEET_FORWARD_ATTEMPTS: '100',
      FLEET_FORWARD_BACKOFF_MS: '200',
      FLEET_FORWARD_BACKOFF_MAX_MS: '2000',
    };
    const deadPort = await freePort();
    [fleet, lonely] = await Promise.all([
      startServer(fleetEnv),
      startServer({ FLEET_TOKENS: `kiosk:${TOKEN}:*`, FLEET_WEBHOOK_URL: `http://127.0.0.1:${deadPort}/hook`, FLEET_FORWARD_ATTEMPTS: '3', FLEET_FORWARD_BACKOFF_MS: '100', FLEET_FORWARD_BACKOFF_MAX_MS: '1000' }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([am?.stop(), fleet?.stop(), lonely?.stop(), amHook.close(), hook.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const send = async (server: Server, b: ReturnType<typeof batch>) => {
    const res = await post(server.url, TOKEN, JSON.stringify(b));
    expect(res.status, await res.clone().text()).toBe(200);
  };
  /** Alertmanager's notifications (to its receiver) with `status` that carry the alert (source, alertname). */
  const notes = (source: string, rule: string, status: 'firing' | 'resolved') =>
    amHook.got.filter((d) => d.body?.status === status && d.body.alerts?.some((a: any) => a.status === status && a.labels.source === source && a.labels.alertname === rule));
  /** The fleet server's webhook deliveries about (source, rule) in `state`, answered 2xx. */
  const hooked = (source: string, rule: string, state: 'firing' | 'resolved') =>
    hook.got.filter((d) => d.status === 200 && d.body?.source === source && d.body.rule === rule && d.body.state === state);
  const forwarding = async (server: Server) => {
    const { status, body } = await getJson(server.url, TOKEN, '/v1/forwarding');
    expect(status).toBe(200);
    return body.targets as { name: string; url: string; pending: number; delivered: number; deadLetters: number; lastError?: string; lastErrorAt?: number }[];
  };

  it('a firing alert reaches Alertmanager (its labels, its receiver) and the webhook once; resolving it reaches both once', async () => {
    const t = Date.now() - 1000;
    await send(fleet, batch('kiosk-a', 1, [], { alerts: [alert('drift', 'cam-1', 'firing', t, 'a-fire')] }, 'dev-a'));
    const panel = `${PUBLIC}/#device=kiosk-a`;

    const [inAm] = await until(async () => (await am.alerts('source="kiosk-a"', 'alertname="drift"')).filter((a) => a.status.state === 'active'), 'the alert in Alertmanager');
    expect(inAm.labels).toEqual({ alertname: 'drift', severity: 'warning', device: 'dev-a', source: 'kiosk-a', camera_id: 'cam-1', location: 'line-3', model_version: MV });
    expect(inAm.annotations).toEqual({ summary: 'Rule drift', description: 'Rule drift: value 0.2 (threshold 0.3) on camera cam-1 of device dev-a', value: '0.2', threshold: '0.3', panel });
    expect(Date.parse(inAm.startsAt)).toBe(t - 30_000);
    expect(inAm.generatorURL).toBe(panel);
    await until(() => notes('kiosk-a', 'drift', 'firing').length, "Alertmanager's notification");
    await until(() => hook.ok('kiosk-a:a-fire:webhook').length, 'the webhook delivery');
    expect(hook.ok('kiosk-a:a-fire:webhook')[0]!.body).toEqual({
      event: 'alert', id: 'a-fire', state: 'firing', rule: 'drift', name: 'Rule drift', severity: 'warning', value: 0.2, threshold: 0.3,
      device: 'dev-a', source: 'kiosk-a', camera_id: 'cam-1', location: 'line-3', model_version: MV,
      time: new Date(t).toISOString(), since: new Date(t - 30_000).toISOString(), panel,
    });
    expect(hook.ok('kiosk-a:a-fire:webhook')[0]!.path).toBe('/hook');

    await send(fleet, batch('kiosk-a', 2, [], { alerts: [alert('drift', 'cam-1', 'resolved', Date.now() - 500, 'a-res')] }, 'dev-a'));
    await until(() => notes('kiosk-a', 'drift', 'resolved').length, "Alertmanager's resolved notification");
    expect(await am.alerts('source="kiosk-a"', 'alertname="drift"')).toEqual([]); // no longer active
    await until(() => hook.ok('kiosk-a:a-res:webhook').length, 'the resolved webhook delivery');
    expect(hook.ok('kiosk-a:a-res:webhook')[0]!.body).toMatchObject({ state: 'resolved', rule: 'drift', source: 'kiosk-a' });
    await sleep(2000); // refreshes and retries would have come by now
    expect(hook.ok('kiosk-a:a-fire:webhook')).toHaveLength(1);
    expect(hook.ok('kiosk-a:a-res:webhook')).toHaveLength(1);
    expect(notes('kiosk-a', 'drift', 'firing')).toHaveLength(1);
    expect(notes('kiosk-a', 'drift', 'resolved')).toHaveLength(1);
    const targets = await forwarding(fleet);
    expect(targets.map((x) => [x.name, x.url])).toEqual([['alertmanager', am.url], ['webhook', `${hook.url}/hook`]]);
    expect(targets.every((x) => x.deadLetters === 0 && x.delivered >= 2)).toBe(true);
  });

  it('an alert with a probable cause, through ingest: label cause in Alertmanager (its resolve too), the evidence escaped on Slack, kept on /v1/alerts; none without; cause bogus is a 400', async () => {
    const slack = new Receiver();
    await slack.listen(0);
    const server = await startServer({ ...fleetEnv, FLEET_WEBHOOK_URL: `${slack.url}/slack`, FLEET_WEBHOOK_FORMAT: 'slack', FLEET_INTERVAL_MS: '60000' });
    try {
      const t = Date.now() - 1000;
      const evidence = 'confidence fell and the class mix moved while the image statistics held <!channel>';
      const why = { ...alert('drift', 'cam-1', 'firing', t, 'c-fire'), cause: 'model' as const, evidence };
      const old = alert('blur', 'cam-2', 'firing', t, 'c-old');
      await send(server, batch('kiosk-c', 1, [], { alerts: [why, old] }, 'dev-c'));

      const [inAm] = await until(() => am.alerts('source="kiosk-c"', 'alertname="drift"'), 'the alert with a cause in Alertmanager');
      expect(inAm.labels).toEqual({ alertname: 'drift', severity: 'warning', device: 'dev-c', source: 'kiosk-c', camera_id: 'cam-1', location: 'line-3', model_version: MV, cause: 'model' });
      expect(inAm.annotations).toMatchObject({ description: `Rule drift: value 0.2 (threshold 0.3) on camera cam-1 of device dev-c. Probable cause: model (${evidence})`, evidence });
      const [oldInAm] = await until(() => am.alerts('source="kiosk-c"', 'alertname="blur"'), 'the alert without a cause in Alertmanager');
      expect(oldInAm.labels).not.toHaveProperty('cause');
      expect(oldInAm.annotations).not.toHaveProperty('evidence');

      const [fired] = await until(() => slack.ok('kiosk-c:c-fire:webhook'), 'the Slack message');
      const text = fired!.body.text as string;
      expect(text.split('\n')).toEqual([expect.stringMatching(/^🔴 FIRING Rule drift — device dev-c camera cam-1: /), 'Probable cause: model (confidence fell and the class mix moved while the image statistics held &lt;!channel&gt;)']);
      expect(text).not.toContain('<!channel>');
      const [plain] = await until(() => slack.ok('kiosk-c:c-old:webhook'), 'the Slack message without a cause');
      expect(plain!.body.text).not.toMatch(/cause|\n/i);

      const { body: history } = await getJson(server.url, TOKEN, '/v1/alerts?source=kiosk-c');
      expect(history.rows.find((r: any) => r.id === 'c-fire')).toMatchObject({ cause: 'model', evidence });
      expect(history.rows.find((r: any) => r.id === 'c-old')).not.toHaveProperty('cause');

      // a resolve without a cause ends the alert that fired with one (the same label set in Alertmanager)
      await until(async () => (await forwarding(server)).find((x) => x.name === 'alertmanager')!.delivered >= 2, 'both alerts delivered to Alertmanager');
      await send(server, batch('kiosk-c', 2, [], { alerts: [{ ...alert('drift', 'cam-1', 'resolved', Date.now() - 500, 'c-res'), since: t }] }, 'dev-c'));
      await until(async () => (await forwarding(server)).find((x) => x.name === 'alertmanager')!.delivered >= 3, 'the resolve delivered to Alertmanager');
      // ended at once (a resolve under another label set would leave it active until its resolve_timeout, 5 s)
      expect(await am.alerts('source="kiosk-c"', 'alertname="drift"')).toEqual([]);
      const [res] = await until(() => notes('kiosk-c', 'drift', 'resolved'), "Alertmanager's resolved notification");
      expect(res!.body.alerts.find((x: any) => x.labels.alertname === 'drift').labels.cause).toBe('model');

      const bogus = batch('kiosk-c', 3, [], { alerts: [{ ...why, id: 'c-bogus', cause: 'bogus' as 'model' }] }, 'dev-c');
      const refused = await post(server.url, TOKEN, JSON.stringify(bogus));
      expect(refused.status).toBe(400);
      expect(await refused.text()).toMatch(/alerts\.0\.cause/);
      const long = batch('kiosk-c', 3, [], { alerts: [{ ...why, id: 'c-long', evidence: 'x'.repeat(301) }] }, 'dev-c');
      expect((await post(server.url, TOKEN, JSON.stringify(long))).status).toBe(400);
      expect((await getJson(server.url, TOKEN, '/v1/alerts?source=kiosk-c')).body.rows.map((r: any) => r.id).sort()).toEqual(['c-fire', 'c-old', 'c-res']);
    } finally {
      await Promise.allSettled([server.stop(), slack.close()]);
    }
  });

  it('a webhook answering 500 (Retry-After: 1) then 200 gets the event exactly once, a second later', async () => {
    const key = 'kiosk-w:w-fire:webhook';
    let failed = false;
    hook.answer = (d) => (d.key === key && !failed ? ((failed = true), { status: 500, headers: { 'retry-after': '1' } }) : { status: 200 });
    await send(fleet, batch('kiosk-w', 1, [], { alerts: [alert('blur', 'cam-2', 'firing', Date.now() - 1000, 'w-fire')] }, 'dev-w'));
    await until(() => hook.ok(key).length, 'the delivery after the 500');
    const tries = hook.got.filter((d) => d.key === key);
    expect(tries.map((d) => d.status)).toEqual([500, 200]);
    expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(950); // the back-off is 100–200 ms: Retry-After made it wait
    await sleep(1000);
    expect(hook.ok(key)).toHaveLength(1);
    expect(hook.got.filter((d) => d.key === key)).toHaveLength(2);
    const webhook = (await forwarding(fleet)).find((x) => x.name === 'webhook')!;
    expect(webhook.lastError).toMatch(/^HTTP 500/);
    hook.answer = () => ({ status: 200 });
  });

  it('a dead webhook: after FLEET_FORWARD_ATTEMPTS attempts, one dead letter on /v1/forwarding and /metrics; /healthz still answers', async () => {
    await send(lonely, batch('kiosk-l', 1, [], { alerts: [alert('drift', 'cam-1', 'firing', Date.now() - 1000, 'l-fire')] }));
    const [webhook] = await until(async () => (await forwarding(lonely)).filter((x) => x.deadLetters > 0), 'a dead letter');
    expect(webhook).toMatchObject({ name: 'webhook', pending: 0, delivered: 0, deadLetters: 1 });
    expect(webhook!.lastError).toMatch(/ECONNREFUSED/);
    const text = await (await fetch(`${lonely.url}/metrics`)).text();
    const { samples, types } = parseMetrics(text);
    const value = (name: string) => samples.find((s) => s.name === name && s.labels.target === 'webhook')?.value;
    expect(value('fleet_alerts_dead_letter_total')).toBe(1);
    expect(value('fleet_alerts_forwarded_total')).toBe(0);
    expect(value('fleet_alerts_pending')).toBe(0);
    expect(types.get('fleet_alerts_dead_letter_total')).toBe('counter');
    expect(types.get('fleet_alerts_pending')).toBe('gauge');
    const health = await fetch(`${lonely.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true, db: 'ok' });
    expect(lonely.output()).toMatch(/gave up on kiosk-l:l-fire:webhook after 3 attempt/);
  });

  it('a source that stops sending raises device-down (webhook, Alertmanager, /v1/devices); its next batch resolves it', async () => {
    await send(fleet, batch('kiosk-d', 1, [], {}, 'dev-d'));
    const sent = Date.now();
    const [fired] = await until(() => hooked('kiosk-d', 'device-down', 'firing'), 'device-down on the webhook', 25_000);
    // down after 3 intervals, seen within a check (every 5 s) and a delivery
    expect(fired!.at - sent).toBeGreaterThan(3 * INTERVAL);
    expect(fired!.at - sent).toBeLessThan(3 * INTERVAL + 5000 + 3000);
    expect(fired!.body).toMatchObject({ state: 'firing', name: 'Device stopped sending', severity: 'critical', device: 'dev-d', camera_id: '', panel: `${PUBLIC}/#device=kiosk-d` });
    const { body: devices } = await getJson(fleet.url, TOKEN, '/v1/devices?source=kiosk-d');
    expect(devices[0].down).toBe(true);
    expect(devices[0].firing).toMatchObject([{ rule: 'device-down', state: 'firing', severity: 'critical', camera_id: '' }]);
    const [inAm] = await until(() => am.alerts('source="kiosk-d"', 'alertname="device-down"'), 'device-down in Alertmanager');
    expect(inAm.labels).toEqual({ alertname: 'device-down', severity: 'critical', device: 'dev-d', source: 'kiosk-d', model_version: MV });
    await until(() => notes('kiosk-d', 'device-down', 'firing').length, "Alertmanager's device-down notification");

    // the re-posts keep a firing alert in Alertmanager past its resolve_timeout (5 s): kiosk-w's, from seconds ago
    const [w] = await am.alerts('source="kiosk-w"', 'alertname="blur"');
    expect(Date.now() - Date.parse(w.updatedAt)).toBeLessThan(4000);
    expect(Date.now() - (hook.ok('kiosk-w:w-fire:webhook')[0]?.at ?? 0)).toBeGreaterThan(6000);
    expect(notes('kiosk-w', 'blur', 'firing')).toHaveLength(1);
    expect(notes('kiosk-w', 'blur', 'resolved')).toHaveLength(0);

    await send(fleet, batch('kiosk-d', 2, [], {}, 'dev-d'));
    await until(() => hooked('kiosk-d', 'device-down', 'resolved').length, 'device-down resolved on the webhook');
    await until(() => notes('kiosk-d', 'device-down', 'resolved').length, "Alertmanager's device-down resolved notification");
    const { body: after } = await getJson(fleet.url, TOKEN, '/v1/devices?source=kiosk-d');
    expect(after[0].down).toBe(false);
    expect(after[0].firing).toEqual([]);
    const { body: history } = await getJson(fleet.url, TOKEN, '/v1/alerts?source=kiosk-d&rule=device-down');
    expect(history.rows.map((r: any) => r.state)).toEqual(['resolved', 'firing']);
    expect(hooked('kiosk-d', 'device-down', 'firing')).toHaveLength(1);
    expect(hooked('kiosk-d', 'device-down', 'resolved')).toHaveLength(1);
  }, 40_000);

  it('Alertmanager down for 30 s and the fleet server killed and restarted with queued rows: the alert arrives once, in both', async () => {
    await am.stop();
    const down = Date.now();
    await hook.close();
    await send(fleet, batch('kiosk-o', 1, [], { alerts: [alert('drift', 'cam-1', 'firing', Date.now() - 1000, 'o-fire')] }, 'dev-o'));
    // both deliveries queued and failing
    await until(async () => {
      const targets = await forwarding(fleet);
      return targets.length === 2 && targets.every((x) => x.pending > 0 && (x.lastErrorAt ?? 0) > down);
    }, 'failed attempts on both targets');

    // a crash: SIGKILL, then a new process on the same database
    const exited = new Promise((r) => fleet.proc.once('exit', r));
    fleet.proc.kill('SIGKILL');
    await exited;
    fleet = await startServer(fleetEnv, fleet.dir);
    expect((await forwarding(fleet)).every((x) => x.pending > 0)).toBe(true);

    // the webhook comes back first
    await hook.listen();
    await until(() => hook.ok('kiosk-o:o-fire:webhook').length, 'the webhook delivery after the restart');

    // Alertmanager after 30 s, on the same port
    await sleep(down + 30_000 - Date.now());
    await am.start();
    const [inAm] = await until(() => am.alerts('source="kiosk-o"', 'alertname="drift"'), 'the alert in Alertmanager after its outage');
    expect(inAm.labels).toMatchObject({ device: 'dev-o', camera_id: 'cam-1' });
    await until(() => notes('kiosk-o', 'drift', 'firing').length, "Alertmanager's notification after its outage");
    await until(async () => (await forwarding(fleet)).find((x) => x.name === 'alertmanager')!.pending === 0, 'an empty Alertmanager queue');
    await sleep(2500); // more re-posts and group intervals
    expect(notes('kiosk-o', 'drift', 'firing')).toHaveLength(1);
    expect(hook.ok('kiosk-o:o-fire:webhook')).toHaveLength(1);
    expect(hook.got.filter((d) => d.key === 'kiosk-o:o-fire:webhook')).toHaveLength(1);
  }, 70_000);
});
