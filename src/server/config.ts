/**
 * The fleet server's configuration, from environment variables (and a tokens file). Tokens are kept only as
 * sha256 hashes: plaintext tokens from FLEET_TOKENS are hashed here and dropped. With no token configured at
 * all, one is generated, its hash stored next to the database (server-tokens.json) and the token printed once.
 *
 * | variable | meaning | default |
 * |---|---|---|
 * | PORT, HOST | where to listen | 8787, 127.0.0.1 |
 * | FLEET_DB | the SQLite file (its folder is created) | data/fleet.sqlite |
 * | FLEET_TOKENS | `name:token:dev1\|dev2[:access],name2:token2:*[:access]`: the source or device ids a token may use (`*` any); access `rw` (write them and read them: the default), `read` (read only: the fleet page's, with `*`) or `write` (write only: a kiosk's). An old `*` token with no access part keeps writing every source and reading the fleet (an admin token) | — |
 * | FLEET_TOKENS_FILE | JSON `[{name, sha256, devices: ['*'] \| [ids], access?: 'rw' \| 'read' \| 'write'}]` (sha256 hex of the token) | — |
 * | FLEET_METRICS_TOKEN | when set, GET /metrics needs it as a bearer token; a HOST other than loopback refuses to start without it | none: /metrics is open (same-network scraper) |
 * | FLEET_ALLOW_OPEN_METRICS | `1`: start on a non-loopback HOST without FLEET_METRICS_TOKEN (a warning is printed) | — |
 * | FLEET_AUTH_FAILURES, FLEET_AUTH_LOCK_MS | wrong tokens one client address may send before it is refused (429) for FLEET_AUTH_LOCK_MS, doubling with each further one up to 15 min | 20, 1000 |
 * | FLEET_TRUST_PROXY | `1`: the client address is the last X-Forwarded-For entry (set it behind a TLS proxy that appends one) | — |
 * | FLEET_CORS | allowed origins, comma-separated | none |
 * | FLEET_MAX_BODY, FLEET_MAX_INFLATED | request body bytes on the wire, after gunzip | 1 MiB, 8 MiB |
 * | FLEET_RATE | cost units per minute per token, for all the sources it writes (token bucket, burst rate / 6; a request costs 1 + 1 per 64 KiB inflated + 1 per 32 rollups + 1 per 600 per-class map keys: limits.ts) | 1200 |
 * | FLEET_SOURCE_RATE | cost units per minute per source (the same bucket, per source id): a page syncing once a minute uses ~1.1 | 120 |
 * | FLEET_READ_RATE | read cost units per minute per token (GET /v1/*; /metrics per client address): a read costs 1 + 1 per 1,000 stored rows it loads (reads.ts); the same kind of bucket | 6000 |
 * | FLEET_IMAGE_QUOTA_MB | flagged frames' JPEG bytes kept per source (MB); past it images are dropped and counted, the rest of the batch kept | 200 |
 * | FLEET_STATIC | folder of the fleet page's static files | dist |
 * | FLEET_INTERVAL_MS | the pages' sync interval: silent for > 3 of these = down | 60000 |
 * | FLEET_MAX_SERIES | most label sets on /metrics | 5000 |
 * | FLEET_ALERTMANAGER_URL | Alertmanager's base URL: alert state changes are POSTed to its /api/v2/alerts | none |
 * | FLEET_ALERTMANAGER_REPEAT_MS | how often every firing alert is re-posted to Alertmanager (before its resolve_timeout forgets it) | 60000 |
 * | FLEET_WEBHOOK_URL | a URL alert state changes are POSTed to as JSON | none |
 * | FLEET_OTLP_URL | an OpenTelemetry Collector's OTLP/HTTP metrics endpoint: every batch's rollups go there too | none |
 * | FLEET_WEBHOOK_FORMAT | `json` (the event's fields) or `slack` (`{text}`, Slack-compatible) | json |
 * | FLEET_PUBLIC_URL | the server's public base URL, for links to a device's panel in forwarded alerts | http://HOST:PORT |
 * | FLEET_FORWARD_ATTEMPTS | delivery attempts per alert and target before it is dead-lettered (24: about 1.5 h of an outage at the 5-min cap) | 24 |
 * | FLEET_FORWARD_BACKOFF_MS, FLEET_FORWARD_BACKOFF_MAX_MS | back-off after a failed delivery: doubling from the first, at most the second (with jitter) | 1000, 300000 |
 * | FLEET_QUIET_HOURS | when firing alerts are not forwarded (stored and shown all the same; still firing when the hours end: forwarded then; resolved meanwhile: never, counted muted): JSON spans `[{from, to, days?, cameras?, sources?, tz?}]` or `22:00-06:00[,…]` (server's local time): forward/quiet-hours.ts | none |
 *
 * What one source may make the server keep (read by bounds.ts `limitsFrom`; past each, items are dropped and counted):
 *
 * | variable | meaning | default |
 * |---|---|---|
 * | FLEET_MAX_ALERTS_PER_BATCH | alert state changes kept from one batch | 100 |
 * | FLEET_MAX_FIRING_PER_SOURCE | alerts one source may have firing at once | 100 |
 * | FLEET_MAX_SERIES_PER_SOURCE | distinct (model version, tag key) series one source may have (sent in the last FLEET_SERIES_RETENTION_DAYS); rollups of new series past it are dropped | 500 |
 * | FLEET_MAX_VERDICTS_PER_SOURCE | people's verdicts one source may have kept; a verdict on a new frame past it is dropped | 100000 |
 * | FLEET_MAX_CLOCK_SKEW_MS | how far past the server's clock an item may be dated | 600000 |
 * | FLEET_FORWARD_QUEUE_MAX | deliveries queued per target (the oldest dropped past it) | 10000 |
 * | FLEET_FORWARD_MAX_AGE_MS | a delivery failing when older than this is dead-lettered | 900000 |
 * | FLEET_SERIES_RETENTION_DAYS | a series its source has not sent this long is forgotten (its all-time row) | 30 |
 * | FLEET_SOURCE_RETENTION_DAYS | a source silent this long is forgotten | 400 |
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as v from 'valibot';
import { parseQuietHours, type QuietSpan } from './forward/quiet-hours.ts';

/** What a token may do with its ids: read them, write them, or both (`rw`, the default). */
export type TokenAccess = 'rw' | 'read' | 'write';

/**
 * A bearer token as the server keeps it: a name, the sha256 (hex) of the token, the source or device ids it
 * may use (`*`: any), and what it may do with them (absent: `rw`, read and write).
 */
export interface TokenEntry {
  name: string;
  sha256: string;
  devices: string[];
  access?: TokenAccess;
}

/** Everything the server reads from its environment. */
export interface Config {
  port: number;
  host: string;
  /** the SQLite file (its folder is created) */
  dbPath: string;
  tokens: TokenEntry[];
  /** origins that get CORS headers (exact match) */
  cors: string[];
  /** request body bytes on the wire */
  maxBody: number;
  /** request body bytes after gunzip */
  maxInflated: number;
  /** POST /v1/batches cost units per minute per token (token bucket, burst = rate / 6; limits.ts requestCost) */
  rate: number;
  /** the same per source id (absent: FLEET_SOURCE_RATE's default) */
  sourceRate?: number;
  /** read cost units per minute per token, and per client address for /metrics (absent: FLEET_READ_RATE's default; reads.ts) */
  readRate?: number;
  /** flagged JPEG bytes kept per source (absent: the default) */
  imageQuota?: number;
  /** folder of static files (the fleet page) */
  staticDir: string;
  /** the clients' sync interval (ms): a source silent for more than 3 of these is down */
  intervalMs: number;
  /** sha256 of FLEET_METRICS_TOKEN: when set, GET /metrics needs it as a bearer token */
  metricsTokenSha256?: string;
  /** most label sets /metrics exposes (the oldest-seen devices' series go first) */
  maxSeries: number;
  /** alert forwarding (loadConfig always sets it; absent: FORWARD_DEFAULTS) */
  forward?: ForwardConfig;
  /** the back-off for wrong tokens (absent: AUTH_DEFAULTS) */
  auth?: AuthConfig;
}

/** The back-off for wrong tokens, per client address (auth.ts). */
export interface AuthConfig {
  /** wrong tokens an address may send before it is refused */
  failures: number;
  /** the first refusal's length (ms), doubling with each further wrong token up to 15 min */
  lockMs: number;
  /** the client address is the last X-Forwarded-For entry (behind a proxy that appends one) */
  trustProxy: boolean;
}

/** The back-off defaults. */
export const AUTH_DEFAULTS: AuthConfig = { failures: 20, lockMs: 1000, trustProxy: false };

/** Where and how alert state changes are forwarded (forward.ts). */
export interface ForwardConfig {
  /** Alertmanager's base URL (alerts go to `<it>/api/v2/alerts`) */
  alertmanagerUrl?: string;
  /** how often every firing alert is re-posted to Alertmanager (ms) */
  alertmanagerRepeatMs: number;
  /** a URL that gets each alert state change as a JSON POST */
  webhookUrl?: string;
  /** an OpenTelemetry Collector's OTLP/HTTP metrics endpoint: every batch's rollups are forwarded there */
  otlpUrl?: string;
  webhookFormat: 'json' | 'slack';
  /** the server's public base URL (no trailing slash); absent: http://HOST:PORT as it listens */
  publicUrl?: string;
  /** delivery attempts before a dead letter */
  attempts: number;
  /** back-off after the first failure (ms), doubling up to backoffMaxMs, with jitter */
  backoffMs: number;
  backoffMaxMs: number;
  /** FLEET_QUIET_HOURS: when firing alerts are held back instead of forwarded (forward/quiet.ts); absent or empty: never */
  quietHours?: QuietSpan[];
}

/** FLEET_SOURCE_RATE's default: cost units per minute per source (a page once a minute: ~1.1; a day's backlog of 1,440 batches drains in ~14 min). */
export const DEFAULT_SOURCE_RATE = 120;
/**
 * FLEET_READ_RATE's default: read cost units per minute per token (bursts of 1,000). The fleet page's list every
 * 10 s and a panel refreshing every second over 100 devices' last hour use well under half (test/server-reads.test.ts).
 */
export const DEFAULT_READ_RATE = 6000;
/** FLEET_IMAGE_QUOTA_MB's default: flagged JPEG megabytes kept per source (a year of a few flagged frames an hour). */
export const DEFAULT_IMAGE_QUOTA_MB = 200;

/** The forwarding defaults: no targets. */
export const FORWARD_DEFAULTS: ForwardConfig = { alertmanagerRepeatMs: 60_000, webhookFormat: 'json', attempts: 24, backoffMs: 1000, backoffMaxMs: 300_000 };

/** A bad configuration value (main.ts prints it and exits 1). */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** sha256 hex of a token. */
export const sha256Hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const SOURCE = /^[A-Za-z0-9._:-]{1,64}$/;
const TokenFileSchema = v.array(
  v.strictObject({
    name: v.pipe(v.string(), v.regex(NAME, 'a token name: letters, digits, . _ - (1–64)')),
    sha256: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, 'sha256: 64 lowercase hex digits')),
    devices: v.pipe(v.array(v.pipe(v.string(), v.regex(/^(\*|[A-Za-z0-9._:-]{1,64})$/, 'a source id or *'))), v.minLength(1, 'at least one device (or *)')),
    access: v.optional(v.picklist(['rw', 'read', 'write'], 'access: rw, read or write')),
  }),
);

/** An entry with `*` alone when it lists `*`, and no access part when it is the default (rw). */
function normal(t: TokenEntry): TokenEntry {
  const { access, ...rest } = t;
  return { ...rest, devices: t.devices.includes('*') ? ['*'] : t.devices, ...(access && access !== 'rw' ? { access } : {}) };
}

function int(env: Record<string, string | undefined>, key: string, dflt: number, min: number, max: number): number {
  const raw = env[key];
  if (raw === undefined || raw.trim() === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${key}: expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

/** An http(s) URL from `key` (a base URL: trailing slashes dropped), or undefined when unset. */
function httpUrl(env: Record<string, string | undefined>, key: string, what: string, base = true): string | undefined {
  const raw = env[key]?.trim();
  if (!raw) return undefined;
  let u: URL | null = null;
  try {
    u = new URL(raw);
  } catch { /* below */ }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) throw new ConfigError(`${key}: expected ${what} (an http:// or https:// URL), got ${JSON.stringify(raw.slice(0, 200))}`);
  if (base && (u.search || u.hash)) throw new ConfigError(`${key}: a base URL without ? or # parts, got ${JSON.stringify(raw.slice(0, 200))}`);
  return base ? u.href.replace(/\/+$/, '') : u.href;
}

/** The forwarding settings from `env`. */
function forwardConfig(env: Record<string, string | undefined>): ForwardConfig {
  const format = env.FLEET_WEBHOOK_FORMAT?.trim() || 'json';
  if (format !== 'json' && format !== 'slack') throw new ConfigError(`FLEET_WEBHOOK_FORMAT: expected json or slack, got ${JSON.stringify(format)}`);
  const alertmanagerUrl = httpUrl(env, 'FLEET_ALERTMANAGER_URL', "Alertmanager's base URL like http://127.0.0.1:9093");
  const webhookUrl = httpUrl(env, 'FLEET_WEBHOOK_URL', 'a webhook URL', false);
  const publicUrl = httpUrl(env, 'FLEET_PUBLIC_URL', "the server's public base URL like https://fleet.example.com");
  const otlpUrl = httpUrl(env, 'FLEET_OTLP_URL', "an OpenTelemetry Collector's OTLP/HTTP metrics endpoint like http://127.0.0.1:4318/v1/metrics", false);
  let quietHours: QuietSpan[];
  try {
    quietHours = parseQuietHours(env.FLEET_QUIET_HOURS);
  } catch (e) {
    throw new ConfigError(`FLEET_QUIET_HOURS: ${(e as Error).message}`);
  }
  const d = FORWARD_DEFAULTS;
  const backoffMs = int(env, 'FLEET_FORWARD_BACKOFF_MS', d.backoffMs, 10, 3600_000);
  const backoffMaxMs = int(env, 'FLEET_FORWARD_BACKOFF_MAX_MS', Math.max(d.backoffMaxMs, backoffMs), backoffMs, 24 * 3600_000);
  return {
    ...(alertmanagerUrl ? { alertmanagerUrl } : {}),
    alertmanagerRepeatMs: int(env, 'FLEET_ALERTMANAGER_REPEAT_MS', d.alertmanagerRepeatMs, 1000, 24 * 3600_000),
    ...(webhookUrl ? { webhookUrl } : {}),
    webhookFormat: format,
    ...(otlpUrl ? { otlpUrl } : {}),
    ...(publicUrl ? { publicUrl } : {}),
    attempts: int(env, 'FLEET_FORWARD_ATTEMPTS', d.attempts, 1, 1000),
    backoffMs,
    backoffMaxMs,
    ...(quietHours.length ? { quietHours } : {}),
  };
}

/** `name:token[:dev1|dev2|*[:rw|read|write]]` entries, comma-separated → hashed entries (no devices part: any device; no access part: rw). */
export function parseTokenList(raw: string): TokenEntry[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry, i) => {
      const [name = '', token = '', devices = '*', access = 'rw', ...rest] = entry.split(':');
      const where = `FLEET_TOKENS entry ${i + 1}`;
      if (rest.length) throw new ConfigError(`${where}: expected name:token:devices[:access] (ids separated by |, or *; access rw, read or write)`);
      if (access !== 'rw' && access !== 'read' && access !== 'write') throw new ConfigError(`${where} (${name}): access must be rw, read or write, got ${JSON.stringify(access.slice(0, 20))}`);
      if (!NAME.test(name)) throw new ConfigError(`${where}: the name must be letters, digits, . _ - (1–64)`);
      if (!/^[\x21-\x7e]{16,256}$/.test(token)) throw new ConfigError(`${where} (${name}): the token must be 16–256 printable characters without spaces`);
      const list = devices.split('|').filter(Boolean);
      if (!list.length || list.some((d) => d !== '*' && !SOURCE.test(d))) throw new ConfigError(`${where} (${name}): devices must be source ids (letters, digits, . _ : -) separated by |, or *`);
      return normal({ name, sha256: sha256Hex(token), devices: list, access: access as TokenAccess });
    });
}

function readTokenFile(path: string): TokenEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError(`FLEET_TOKENS_FILE ${path}: cannot read it as JSON (${(e as Error).message.split('\n')[0]})`);
  }
  const res = v.safeParse(TokenFileSchema, json);
  if (!res.success) {
    const issue = res.issues[0];
    const at = issue.path?.map((p) => String(p.key)).join('.') ?? '';
    throw new ConfigError(`FLEET_TOKENS_FILE ${path}: ${at ? `${at}: ` : ''}${issue.message}`);
  }
  return res.output.map(normal);
}

/**
 * The configuration from `env`. Throws ConfigError on a bad value. With no token configured, generates one
 * (stored hashed in `<db folder>/server-tokens.json`) and prints it once through `print`.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env, print: (line: string) => void = console.log): Config {
  const dbPath = resolve(env.FLEET_DB?.trim() || 'data/fleet.sqlite');
  try {
    mkdirSync(dirname(dbPath), { recursive: true });
  } catch (e) {
    throw new ConfigError(`FLEET_DB ${dbPath}: cannot create its folder (${(e as Error).message})`);
  }
  const host = env.HOST?.trim() || '127.0.0.1';
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(host)) throw new ConfigError(`HOST: not a host name or address: ${JSON.stringify(host)}`);

  const tokens: TokenEntry[] = [];
  if (env.FLEET_TOKENS?.trim()) tokens.push(...parseTokenList(env.FLEET_TOKENS));
  if (env.FLEET_TOKENS_FILE?.trim()) tokens.push(...readTokenFile(resolve(env.FLEET_TOKENS_FILE.trim())));
  if (!tokens.length) tokens.push(...defaultToken(join(dirname(dbPath), 'server-tokens.json'), print));
  const names = new Set<string>();
  for (const t of tokens) {
    if (names.has(t.name)) throw new ConfigError(`token name ${t.name} is used twice`);
    names.add(t.name);
  }

  const cors = (env.FLEET_CORS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const o of cors) {
    let ok = false;
    try {
      const u = new URL(o);
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === o;
    } catch { /* not a URL */ }
    if (!ok) throw new ConfigError(`FLEET_CORS: ${JSON.stringify(o)} is not an origin like https://fleet.example.com (scheme, host and port only)`);
  }

  const metricsToken = env.FLEET_METRICS_TOKEN?.trim();
  if (metricsToken !== undefined && metricsToken !== '' && metricsToken.length < 16) throw new ConfigError('FLEET_METRICS_TOKEN: at least 16 characters');
  if (!metricsToken && !isLoopback(host)) {
    if (env.FLEET_ALLOW_OPEN_METRICS?.trim() !== '1')
      throw new ConfigError(`HOST=${host} listens beyond this machine, but /metrics would be open to anyone who reaches it: set FLEET_METRICS_TOKEN (16+ characters; the scraper sends it as a bearer token), or FLEET_ALLOW_OPEN_METRICS=1 to serve it open on purpose. Put a TLS proxy in front (docs/operations.md, "Security model").`);
    print(`fleet server: WARNING: HOST=${host} with FLEET_ALLOW_OPEN_METRICS=1: /metrics is open to anyone who reaches this port (set FLEET_METRICS_TOKEN to close it)`);
  }
  const maxBody = int(env, 'FLEET_MAX_BODY', 1 << 20, 1024, 1 << 30);
  return {
    port: int(env, 'PORT', 8787, 0, 65535),
    host,
    dbPath,
    tokens,
    cors,
    maxBody,
    maxInflated: int(env, 'FLEET_MAX_INFLATED', 8 << 20, 1024, 1 << 30),
    rate: int(env, 'FLEET_RATE', 1200, 1, 10_000_000),
    sourceRate: int(env, 'FLEET_SOURCE_RATE', DEFAULT_SOURCE_RATE, 1, 10_000_000),
    readRate: int(env, 'FLEET_READ_RATE', DEFAULT_READ_RATE, 1, 10_000_000),
    imageQuota: int(env, 'FLEET_IMAGE_QUOTA_MB', DEFAULT_IMAGE_QUOTA_MB, 0, 1 << 20) * 1e6,
    staticDir: resolve(env.FLEET_STATIC?.trim() || 'dist'),
    intervalMs: int(env, 'FLEET_INTERVAL_MS', 60_000, 1000, 24 * 3600_000),
    ...(metricsToken ? { metricsTokenSha256: sha256Hex(metricsToken) } : {}),
    maxSeries: int(env, 'FLEET_MAX_SERIES', 5000, 1, 10_000_000),
    forward: forwardConfig(env),
    auth: {
      failures: int(env, 'FLEET_AUTH_FAILURES', AUTH_DEFAULTS.failures, 1, 1_000_000),
      lockMs: int(env, 'FLEET_AUTH_LOCK_MS', AUTH_DEFAULTS.lockMs, 100, 15 * 60_000),
      trustProxy: env.FLEET_TRUST_PROXY?.trim() === '1',
    },
  };
}

/** Whether a HOST value listens on this machine only (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/** The generated token's entry: read from `file`, or made now (and printed once). */
function defaultToken(file: string, print: (line: string) => void): TokenEntry[] {
  if (existsSync(file)) return readTokenFile(file);
  const token = randomBytes(24).toString('base64url');
  const entries: TokenEntry[] = [{ name: 'default', sha256: sha256Hex(token), devices: ['*'] }];
  writeFileSync(file, `${JSON.stringify(entries, null, 2)}\n`, { mode: 0o600 });
  print(`fleet server: no FLEET_TOKENS or FLEET_TOKENS_FILE, so a token was generated (shown once; its hash is in ${file}):`);
  print(`  ${token}`);
  print('  pages send it as "Authorization: Bearer <token>"; set it as the monitor\'s sync token.');
  return entries;
}
