/** Who may read and write what: bearer tokens, their scopes for writes and reads, a back-off for wrong tokens per client address, and the body hash that makes a reused (source, seq) a 409. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import type { Batch } from '../sync/payload.ts';
import type { Rollup } from '../telemetry/rollup.ts';
import { AUTH_DEFAULTS, type AuthConfig, type Config, type TokenEntry } from './config.ts';
import type { FleetDb, RollupFilters } from './db.ts';
import { ApiError } from './errors.ts';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest();
/** The longest a client address is refused for (and how long a quiet address's wrong tokens are remembered). */
const LOCK_MAX_MS = 15 * 60_000;
/** Client addresses the back-off remembers at most (the least recently seen are forgotten first). */
const ADDRESSES_MAX = 10_000;

/** The bearer token of a request as its sha256, or null. */
export function bearerHash(c: Context): Buffer | null {
  const m = /^Bearer +([\x21-\x7e]{1,512})$/i.exec(c.req.header('authorization') ?? ''); // the scheme is case-insensitive (RFC 9110)
  return m ? sha(m[1]!) : null;
}

/** The client's address: the socket's peer, or (trustProxy) the last X-Forwarded-For entry, the one the proxy appended. */
export function clientAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const last = c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim();
    if (last) return last.slice(0, 64);
  }
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? 'unknown';
}

/**
 * Wrong tokens per client address: `failures` are free; then the address is refused (429 with Retry-After, no
 * token looked at) for `lockMs`, doubling with each further wrong token up to 15 min. A right token clears the
 * address; one quiet for 15 min is forgotten. At most ADDRESSES_MAX addresses are kept (least recent dropped).
 */
export class WrongTokenBackoff {
  private readonly seen = new Map<string, { fails: number; until: number; at: number }>();
  constructor(private readonly cfg: Pick<AuthConfig, 'failures' | 'lockMs'>, private readonly max = ADDRESSES_MAX) {}

  /** Throws 429 while `addr` is refused. */
  check(addr: string, now = Date.now()): void {
    const e = this.seen.get(addr);
    if (!e) return;
    if (now - e.at > LOCK_MAX_MS && e.until <= now) return void this.seen.delete(addr);
    if (e.until > now) throw new ApiError(429, `too many wrong tokens from this address: try again in ${Math.ceil((e.until - now) / 1000)} s`, { 'Retry-After': String(Math.ceil((e.until - now) / 1000)) });
  }

  /** A wrong token from `addr`. */
  fail(addr: string, now = Date.now()): void {
    const e = this.seen.get(addr) ?? { fails: 0, until: 0, at: now };
    this.seen.delete(addr); // re-inserted last: the Map's order is least recently seen first
    e.fails++;
    e.at = now;
    if (e.fails >= this.cfg.failures) e.until = now + Math.min(this.cfg.lockMs * 2 ** Math.min(e.fails - this.cfg.failures, 30), LOCK_MAX_MS);
    while (this.seen.size >= this.max) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(addr, e);
  }

  /** A right token from `addr`: its wrong ones are forgotten. */
  ok(addr: string): void {
    this.seen.delete(addr);
  }

  /** Addresses remembered (for tests). */
  get size(): number {
    return this.seen.size;
  }
}

/** What a read may see: one source, or (`only`) the token's own sources; neither: the whole fleet. */
export interface ReadScope {
  source?: string;
  only?: Set<string>;
}

/** The server's guard: authenticates requests, scopes writes and reads to a token's ids, keeps batches' body hashes. */
export class Auth {
  private readonly hashes: { entry: TokenEntry; hash: Buffer }[];
  private readonly metricsHash: Buffer | null;
  private readonly backoff: WrongTokenBackoff;
  private readonly cfg: AuthConfig;

  constructor(config: Config, private readonly db: FleetDb) {
    this.cfg = config.auth ?? AUTH_DEFAULTS;
    this.hashes = config.tokens.map((t) => ({ entry: t, hash: Buffer.from(t.sha256, 'hex') }));
    this.metricsHash = config.metricsTokenSha256 ? Buffer.from(config.metricsTokenSha256, 'hex') : null;
    this.backoff = new WrongTokenBackoff(this.cfg);
  }

  /** The token of a /v1 request; 401 for a missing or unknown one, 429 while its address is refused. */
  token(c: Context): TokenEntry {
    const addr = clientAddress(c, this.cfg.trustProxy);
    this.backoff.check(addr);
    const h = bearerHash(c);
    let found: TokenEntry | undefined;
    if (h) for (const t of this.hashes) if (timingSafeEqual(t.hash, h)) found ??= t.entry;
    if (!found) {
      if (h) this.backoff.fail(addr);
      throw new ApiError(401, h ? 'unknown token' : 'missing Authorization: Bearer <token>');
    }
    this.backoff.ok(addr);
    return found;
  }

  /** GET /metrics: the FLEET_METRICS_TOKEN bearer token when one is set (with the same back-off). */
  metrics(c: Context): void {
    if (!this.metricsHash) return;
    const addr = clientAddress(c, this.cfg.trustProxy);
    this.backoff.check(addr);
    const h = bearerHash(c);
    if (!h || !timingSafeEqual(h, this.metricsHash)) {
      if (h) this.backoff.fail(addr);
      throw new ApiError(401, 'this endpoint needs the FLEET_METRICS_TOKEN bearer token');
    }
    this.backoff.ok(addr);
  }

  /**
   * Throws 403 unless `token` may write `b`: a read-only token writes nothing; a token scoped to ids writes a
   * batch whose device id (when it names one) is among them, and whose source id is among them too — or, for a
   * page's generated source id, a source that is new or already this token's device's.
   */
  checkWrite(token: TokenEntry, b: Batch): void {
    if (token.access === 'read') throw new ApiError(403, `token ${token.name} is read-only: it may not write`);
    if (token.devices.includes('*')) return;
    const ids = token.devices;
    const device = b.source.device_id;
    if (device !== undefined && !ids.includes(device)) throw new ApiError(403, `token ${token.name} may not write device ${device}`);
    if (ids.includes(b.source.id)) return;
    if (device !== undefined) {
      const row = this.db.db.prepare('SELECT device_id FROM sources WHERE id = ?').get(b.source.id) as { device_id: string | null } | undefined;
      if (!row || (row.device_id !== null && ids.includes(row.device_id))) return;
    }
    throw new ApiError(403, `token ${token.name} may not write source ${b.source.id}`);
  }

  /** `body`'s hash: stored with its batch (FleetDb.queue), and what a duplicate's body is checked against (checkReplay). */
  bodyHash(body: Buffer): Buffer {
    return createHash('sha256').update(body).digest();
  }

  /** For a batch answered as a duplicate: 409 when its (source, seq) was taken with another body. */
  checkReplay(b: Batch, hash: Buffer): void {
    const stored = this.db.batchHash(b.source.id, b.seq);
    if (stored && !stored.equals(hash)) throw new ApiError(409, `source ${b.source.id} already sent batch ${b.seq} with other content: a sequence number is used once`);
  }

  /**
   * What `token` may read, for a request that names `source` (or none): a `*` token reads the fleet; a token
   * scoped to ids reads the sources with those ids or device ids (403 for another one); a write-only token
   * reads nothing.
   */
  read(token: TokenEntry, source: string | undefined): ReadScope {
    if (token.access === 'write') throw new ApiError(403, `token ${token.name} is write-only: it may not read`);
    if (token.devices.includes('*')) return source === undefined ? {} : { source };
    const own = this.own(token);
    if (source !== undefined) {
      if (!own.has(source)) throw new ApiError(403, `token ${token.name} may not read source ${source}`);
      return { source };
    }
    return { only: own };
  }

  /** As `read`, narrowed to one source (for paged reads): the token's only one, or 403 asking for `source=`. */
  readOne(token: TokenEntry, source: string | undefined): string | undefined {
    const s = this.read(token, source);
    if (!s.only) return s.source;
    if (s.only.size <= 1) return [...s.only][0] ?? token.devices[0]; // none yet: an id of its own, which matches nothing else
    throw new ApiError(403, `token ${token.name} reads only its own sources: name one with source=`);
  }

  /** 403 unless `token` reads the whole fleet (fleet-wide state such as forwarding). */
  readFleet(token: TokenEntry, what: string): void {
    if (token.access === 'write' || !token.devices.includes('*')) throw new ApiError(403, `token ${token.name} may not read ${what}: that takes a token for the whole fleet (devices *, access rw or read)`);
  }

  /** Rollup rows of a query within a read scope, one at a time (FleetDb.eachRollupRow: at most `limit` stored rows read, -1: no limit; `loaded` called for each). */
  *rollups(scope: ReadScope, res: '1m' | '1h', from: number, to: number, f: RollupFilters, limit = -1, loaded?: () => void): Generator<Rollup> {
    const only = scope.only;
    const source = scope.source ?? (only?.size === 1 ? [...only][0]! : undefined);
    for (const r of this.db.eachRollupRow(res, from, to, source !== undefined ? { ...f, source } : f, limit, loaded)) if (source !== undefined || !only || only.has(r.source)) yield r.rollup;
  }

  /** The source ids a scoped token reads: those among its ids, and those whose device id is among them. */
  private own(token: TokenEntry): Set<string> {
    const ids = new Set(token.devices);
    const rows = this.db.db.prepare('SELECT id, device_id FROM sources').all() as { id: string; device_id: string | null }[];
    return new Set(rows.filter((r) => ids.has(r.id) || (r.device_id !== null && ids.has(r.device_id))).map((r) => r.id));
  }
}
