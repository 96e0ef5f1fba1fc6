/**
 * What a target receives for an alert state change: Alertmanager's v2 alert, the webhook's JSON event, or a
 * Slack-compatible `{text}` message (pure functions of the alert and who it is about).
 */
import type { AlertEvent } from '../../health/types.ts';
import { shortVersion } from '../../lib/short-version.ts';

/** An alert as Alertmanager's POST /api/v2/alerts takes it. */
export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL: string;
}

/** The webhook's JSON body (FLEET_WEBHOOK_FORMAT=json). */
export interface WebhookEvent {
  event: 'alert';
  /** the alert event's id (unique per source) */
  id: string;
  state: AlertEvent['state'];
  rule: string;
  name: string;
  severity: AlertEvent['severity'];
  value: number | null;
  threshold: number | null;
  class_id?: number;
  device: string;
  source: string;
  camera_id: string;
  location: string | null;
  model_version: string;
  time: string;
  since: string;
  panel: string;
  /** which part most likely broke: camera, scene, model or runtime */
  cause?: NonNullable<AlertEvent['cause']>;
  /** the evidence for the cause, one line */
  evidence?: string;
}

/** Who an alert is about, and the link to its device's panel. */
export interface AlertContext {
  source: string;
  /** the device id, else the source id */
  device: string;
  panel: string;
}

/** The link to a source's panel on the fleet page. */
export const panelLink = (publicUrl: string, source: string) => `${publicUrl}/#device=${encodeURIComponent(source)}`;

/** A number for people: 4 significant digits, `n/a` when unknown. */
const fmt = (n: number) => (Number.isFinite(n) ? String(+n.toPrecision(4)) : 'n/a');
const iso = (t: number) => new Date(t).toISOString();
const finite = (n: number) => (Number.isFinite(n) ? n : null);

/** "Probable cause: C (evidence)", "Evidence: E", or '' when the alert has neither (line breaks in the evidence become spaces). */
export function causeText(a: Pick<AlertEvent, 'cause' | 'evidence'>): string {
  const evidence = a.evidence?.replace(/[\r\n]+/g, ' ');
  if (!a.cause) return evidence ? `Evidence: ${evidence}` : '';
  return `Probable cause: ${a.cause}${evidence ? ` (${evidence})` : ''}`;
}

/** "<name>: value V (threshold T) on camera C of device D", then ". Probable cause: C (evidence)" when known. */
export function describeAlert(a: AlertEvent, ctx: AlertContext): string {
  const cause = causeText(a);
  return `${a.name}: value ${fmt(a.value)} (threshold ${fmt(a.threshold)}) on ${a.camera_id ? `camera ${a.camera_id} of ` : ''}device ${ctx.device}${cause ? `. ${cause}` : ''}`;
}

/**
 * An alert state change as Alertmanager takes it. Empty label values are left out (Prometheus treats them as
 * absent). A resolved alert ends at min(t, now) (a page's clock ahead of the server's must not keep it firing).
 */
export function alertmanagerAlert(a: AlertEvent, ctx: AlertContext, now = Date.now()): AlertmanagerAlert {
  const labels: Record<string, string> = { alertname: a.rule, severity: a.severity, device: ctx.device, source: ctx.source };
  const put = (k: string, v: string | undefined) => {
    if (v) labels[k] = v;
  };
  put('camera_id', a.camera_id);
  put('location', a.location);
  put('model_version', shortVersion(a.mv));
  if (a.classId !== undefined) labels.class_id = String(a.classId);
  put('cause', a.cause);
  const annotations: Record<string, string> = { summary: a.name, description: describeAlert(a, ctx), value: fmt(a.value), threshold: fmt(a.threshold), panel: ctx.panel };
  if (a.evidence) annotations.evidence = a.evidence;
  if (a.state === 'firing') return { labels, annotations, startsAt: iso(a.since || a.t), generatorURL: ctx.panel };
  const end = Math.min(a.t, now);
  return { labels, annotations, startsAt: iso(Math.min(a.since || end, end)), endsAt: iso(end), generatorURL: ctx.panel };
}

/** An alert state change as the webhook's JSON. */
export function webhookEvent(a: AlertEvent, ctx: AlertContext): WebhookEvent {
  return {
    event: 'alert',
    id: a.id,
    state: a.state,
    rule: a.rule,
    name: a.name,
    severity: a.severity,
    value: finite(a.value),
    threshold: finite(a.threshold),
    ...(a.classId !== undefined ? { class_id: a.classId } : {}),
    device: ctx.device,
    source: ctx.source,
    camera_id: a.camera_id,
    location: a.location ?? null,
    model_version: shortVersion(a.mv),
    time: iso(a.t),
    since: iso(a.since),
    panel: ctx.panel,
    ...(a.cause ? { cause: a.cause } : {}),
    ...(a.evidence ? { evidence: a.evidence } : {}),
  };
}

/** Text a device sent, as Slack's message format takes it: `&`, `<` and `>` escaped, so a camera tag cannot become a mention (`<!channel>`, `<@U…>`) or a link. */
const slackText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** An alert state change as a Slack-compatible message (what devices sent escaped; the panel link is ours), the probable cause and its evidence on a second line. */
export function slackMessage(a: AlertEvent, ctx: AlertContext): { text: string } {
  const head = a.state === 'firing' ? '🔴 FIRING' : '✅ RESOLVED';
  const camera = a.camera_id ? ` camera ${slackText(a.camera_id)}` : '';
  const cause = causeText(a);
  return { text: `${head} ${slackText(a.name)} — device ${slackText(ctx.device)}${camera}: value ${fmt(a.value)} (threshold ${fmt(a.threshold)}) <${ctx.panel}>${cause ? `\n${slackText(cause)}` : ''}` };
}
