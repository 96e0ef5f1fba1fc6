/** The forwarding targets (Alertmanager, webhook, OTLP) from the settings: where each POSTs, its credentials, and its URL as shown. */
import { FORWARD_DEFAULTS, type ForwardConfig } from '../config.ts';

export type TargetName = 'alertmanager' | 'webhook' | 'otlp';

/** A forwarding target. */
export interface Target {
  name: TargetName;
  /** where deliveries are POSTed (without credentials) */
  url: string;
  /** the URL as /v1/forwarding shows it: no credentials, query or secret-looking path */
  shown: string;
  /** `Basic …` from the URL's user:password, if any */
  auth?: string;
}

/** The configured targets. */
export function targetsOf(f: ForwardConfig = FORWARD_DEFAULTS): Target[] {
  const out: Target[] = [];
  if (f.alertmanagerUrl) out.push(target('alertmanager', `${f.alertmanagerUrl}/api/v2/alerts`, f.alertmanagerUrl));
  if (f.webhookUrl) out.push(target('webhook', f.webhookUrl));
  if (f.otlpUrl) out.push(target('otlp', f.otlpUrl));
  return out;
}

function target(name: TargetName, raw: string, base?: string): Target {
  const u = new URL(raw);
  const auth = u.username || u.password ? `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}` : undefined;
  u.username = u.password = '';
  let shown: string;
  if (base) {
    const b = new URL(base);
    b.username = b.password = '';
    shown = b.href.replace(/\/+$/, '');
  } else {
    // a webhook URL's path often is its secret (Slack's /services/T…/B…/…): show its first segment only
    const segs = u.pathname.split('/').filter(Boolean);
    shown = `${u.origin}${segs.length ? `/${segs[0]}` : ''}${segs.length > 1 || u.search ? '/…' : ''}`;
  }
  return { name, url: u.href, shown, ...(auth ? { auth } : {}) };
}
