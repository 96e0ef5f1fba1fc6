/**
 * The fleet server's HTTP API (Hono): batches in (authenticated, rate-limited, size-capped, gzip-aware,
 * validated with the shared payload schema, written idempotently), queries out with the browser store's own
 * query functions over merged rollups, Prometheus metrics, a health check, and the fleet page's static files.
 *
 * GET /metrics needs no token unless FLEET_METRICS_TOKEN is set: it is meant for a scraper on the same network.
 * Who may read and write what (tokens' scopes, the back-off for wrong tokens, 409 for a reused sequence) is auth.ts's.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { Hono, type Context } from 'hono';
import { type Batch, LIMITS, parseBatch } from '../sync/payload.ts';
import { percentilesOf, seriesOf, totalsOf, type Filters } from '../store/queries.ts';
import { parseTagKey, STAGES, type Stage } from '../telemetry/record.ts';
import { emptyRollup, mergeRollup, type Rollup } from '../telemetry/rollup.ts';
import { Auth, clientAddress } from './auth.ts';
import { AUTH_DEFAULTS, type Config, DEFAULT_IMAGE_QUOTA_MB, DEFAULT_READ_RATE, DEFAULT_SOURCE_RATE, type TokenEntry } from './config.ts';
import type { FleetDb, RollupFilters } from './db.ts';
import { forwardingStatus } from './forward/queue.ts';
import { quietStatus } from './forward/quiet.ts';
import { ApiError } from './errors.ts';
import { fleetMetrics, writeExposition } from './metrics.ts';
import { checkDepth, checkListSizes, checkSeries, mapKeys, RateLimiter, readBody, requestCost } from './limits.ts';
import { cappedDimensions, MAX_DIMENSION_ROWS, ReadMeter } from './reads.ts';
import { readVerdicts } from './verdicts.ts';
import { readChallengers } from './challenger.ts';

export { ApiError, RateLimiter, readBody };

const MINUTE = 60_000;
const DAY = 24 * 3600_000;
const HTML_CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'none'; frame-ancestors 'none'";
const ROUTES = ['/v1/batches', '/v1/annotations', '/v1/verdicts', '/v1/challengers', '/v1/devices', '/v1/series', '/v1/totals', '/v1/percentiles', '/v1/alerts', '/v1/dimensions', '/v1/forwarding', '/healthz', '/metrics'];
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.map': 'application/json', '.wasm': 'application/wasm',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.webp': 'image/webp',
  '.svg': 'image/svg+xml', '.ico': 'image/x-icon', '.txt': 'text/plain; charset=utf-8', '.woff2': 'font/woff2',
  '.webmanifest': 'application/manifest+json', '.onnx': 'application/octet-stream', '.bin': 'application/octet-stream',
};

/** Process counters behind fleet_batches_total and fleet_http_requests_total. */
export interface Stats {
  batches: Record<'ok' | 'duplicate' | 'rejected', number>;
  http: Map<string, number>;
  seriesDropped: number;
  /** the last ingest's duration (ms), from queueing the batch to its group commit */
  lastIngestMs: number;
}

// ---------- query parameters ----------

const bad = (name: string, why: string): never => {
  throw new ApiError(400, `${name.slice(0, 64)}: ${why}`);
};

/** The query parameters, each at most once and all of them known. */
function params(c: Context, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of new URL(c.req.url).searchParams) {
    if (!allowed.includes(k)) bad(k, `unknown parameter (expected ${allowed.join(', ')})`);
    if (out.has(k)) bad(k, 'given more than once');
    out.set(k, v);
  }
  return out;
}

function num(p: Map<string, string>, name: string): number | undefined {
  const s = p.get(name);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n)) bad(name, `expected a finite number, got ${JSON.stringify(s.slice(0, 40))}`);
  return n;
}

/** from, to (epoch ms; from < to; at most 400 days apart). */
function range(p: Map<string, string>): { from: number; to: number } {
  const from = num(p, 'from') ?? bad('from', 'required (epoch ms)');
  const to = num(p, 'to') ?? bad('to', 'required (epoch ms)');
  if (from < 0) bad('from', 'must be ≥ 0');
  if (!(from < to)) bad('to', 'must be after from');
  if (to - from > 400 * DAY) bad('to', 'the range may span at most 400 days');
  return { from, to };
}

function str(p: Map<string, string>, name: string, re: RegExp, what: string): string | undefined {
  const s = p.get(name);
  if (s !== undefined && !re.test(s)) bad(name, `expected ${what}`);
  return s;
}

const TAG_VALUE = new RegExp(`^[^]{0,${LIMITS.tagLength}}$`);
const SOURCE_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const FILTER_PARAMS = ['camera_id', 'location', 'condition', 'mv', 'source'] as const;

function filters(p: Map<string, string>): RollupFilters {
  const f: RollupFilters = {};
  const camera = str(p, 'camera_id', TAG_VALUE, `at most ${LIMITS.tagLength} characters`);
  const location = str(p, 'location', TAG_VALUE, `at most ${LIMITS.tagLength} characters`);
  const condition = str(p, 'condition', TAG_VALUE, `a condition id (colour, mono, colour-2…): at most ${LIMITS.tagLength} characters`);
  const mv = str(p, 'mv', /^[0-9a-f]{12}([0-9a-f]{52})?$/, 'a model version: 12 or 64 hex digits');
  const source = str(p, 'source', SOURCE_ID, 'a source id (letters, digits, . _ : -)');
  if (camera !== undefined) f.camera_id = camera;
  if (location !== undefined) f.location = location;
  if (condition !== undefined) f.condition = condition;
  if (mv !== undefined) f.mv = mv;
  if (source !== undefined) f.source = source;
  return f;
}

/** The most time buckets one read covers: 1m over 7 days (1h over 400 days is 9,600). */
export const MAX_READ_BUCKETS = 7 * 24 * 60;
/** The most stored rows one rollup read loads (a fleet-wide read over a long range: narrow it, filter it or use res=1h). */
export const MAX_READ_ROWS = 200_000;

/** res: 1m or 1h ('10s', the browser's finest, is served as 1m); default 1m up to 3 days, else 1h; 1m over more than MAX_READ_BUCKETS minutes is refused. */
function resolution(p: Map<string, string>, span: number): '1m' | '1h' {
  const r = p.get('res');
  if (r === undefined) return span <= 3 * DAY ? '1m' : '1h';
  if ((r === '10s' || r === '1m') && span > MAX_READ_BUCKETS * MINUTE) bad('res', `1m covers at most ${MAX_READ_BUCKETS} buckets (7 days) per read: use res=1h or a shorter range`);
  if (r === '10s' || r === '1m') return '1m';
  if (r === '1h') return '1h';
  return bad('res', 'expected 1m or 1h');
}

/** A `next` cursor for a page of alerts. */
const toCursor = (cursor: [number, string, string]) => Buffer.from(JSON.stringify(cursor)).toString('base64url');
function cursor(p: Map<string, string>): [number, string, string] | undefined {
  const s = p.get('before');
  if (s === undefined) return undefined;
  if (/^\d{1,16}$/.test(s)) return [Number(s), '', '']; // epoch ms: rows before it
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(c) && c.length === 3 && Number.isFinite(c[0]) && typeof c[1] === 'string' && typeof c[2] === 'string') return c as [number, string, string];
  } catch { /* below */ }
  return bad('before', "expected a page's `next` cursor or epoch ms");
}

const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** The first reserved key anywhere in a parsed JSON value (JSON.parse makes even `__proto__` an own key), or undefined. */
export function reservedKey(v: unknown): string | undefined {
  const stack: unknown[] = [v];
  while (stack.length) {
    const x = stack.pop();
    if (typeof x !== 'object' || x === null) continue;
    if (Array.isArray(x)) {
      for (const e of x) if (typeof e === 'object' && e !== null) stack.push(e);
      continue;
    }
    for (const k of Object.keys(x)) {
      if (RESERVED_KEYS.has(k)) return k;
      const e = (x as Record<string, unknown>)[k];
      if (typeof e === 'object' && e !== null) stack.push(e);
    }
  }
  return undefined;
}

/** Rejects rollup map keys that name Object.prototype members (a merge would write to the prototype chain). */
function checkKeys(b: Batch) {
  const reserved = (o: object | undefined) => (o ? Object.keys(o).find((k) => k in Object.prototype) : undefined);
  b.rollups.forEach((r, i) => {
    for (const [field, o] of [['img', r.img], ['gauge', r.gauge], ['errors', r.errors]] as const) {
      const k = reserved(o);
      if (k) throw new ApiError(400, `rollups.${i}.${field}.${k}: a reserved name`);
    }
  });
}

// ---------- the app ----------

/** The fleet server's Hono app over a configuration and an open database. */
export function createApp(config: Config, db: FleetDb, stats: Stats = { batches: { ok: 0, duplicate: 0, rejected: 0 }, http: new Map(), seriesDropped: 0, lastIngestMs: NaN }) {
  const app = new Hono<{ Variables: { token: TokenEntry } }>();
  const limiter = new RateLimiter(config.rate);
  const auth = new Auth(config, db);
  const sourceRate = config.sourceRate ?? DEFAULT_SOURCE_RATE;
  const sourceLimiter = new RateLimiter(sourceRate);
  const reads = new ReadMeter(config.readRate ?? DEFAULT_READ_RATE);
  const cors = new Set(config.cors);
  const staticRoot = resolve(config.staticDir);

  // counters, security headers, CORS (in that order around everything)
  app.use('*', async (c, next) => {
    const origin = c.req.header('origin');
    const allowed = origin !== undefined && cors.has(origin);
    if (c.req.method === 'OPTIONS') {
      const headers: Record<string, string> = { Vary: 'Origin', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' };
      if (allowed) {
        Object.assign(headers, {
          'Access-Control-Allow-Origin': origin,
          'Access-Control-Allow-Methods': 'GET, POST',
          'Access-Control-Allow-Headers': 'authorization, content-type, content-encoding',
          'Access-Control-Max-Age': '600',
        });
      }
      count(c.req.path, 204);
      return c.body(null, 204, headers);
    }
    await next();
    const h = c.res.headers;
    h.set('X-Content-Type-Options', 'nosniff');
    h.set('Referrer-Policy', 'no-referrer');
    if (h.get('content-type')?.startsWith('text/html')) h.set('Content-Security-Policy', HTML_CSP);
    if (c.req.path.startsWith('/v1/')) h.set('Cache-Control', 'no-store');
    h.append('Vary', 'Origin');
    if (allowed) {
      h.set('Access-Control-Allow-Origin', origin);
      h.set('Access-Control-Expose-Headers', 'Retry-After');
    }
    count(c.req.path, c.res.status);
    if (c.req.path === '/v1/batches' && c.req.method === 'POST' && c.res.status !== 200) stats.batches.rejected++;
  });
  function count(path: string, code: number) {
    const route = ROUTES.includes(path) ? path : path.startsWith('/v1/') ? '/v1/other' : 'static';
    const key = `${route} ${code}`;
    stats.http.set(key, (stats.http.get(key) ?? 0) + 1);
  }

  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json({ error: err.message }, err.status, err.headers);
    console.error(`fleet server: ${c.req.method} ${c.req.path} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return c.json({ error: 'internal error' }, 500);
  });
  app.notFound((c) => (c.req.path.startsWith('/v1/') ? c.json({ error: 'no such route' }, 404) : c.text('not found', 404)));

  // authentication for /v1 (auth.ts: 401, and 429 for an address that sent too many wrong tokens)
  app.use('/v1/*', async (c, next) => {
    c.set('token', auth.token(c));
    // reads take from the token's read rate (reads.ts), weighted by the rows they load
    if (c.req.method === 'GET' || c.req.method === 'HEAD') await reads.run(c, c.get('token').name, next);
    else await next();
  });
  // /metrics: its token (FLEET_METRICS_TOKEN) when one is set, then the read rate of the client's address
  app.use('/metrics', async (c, next) => {
    auth.metrics(c);
    await reads.run(c, `/metrics ${clientAddress(c, (config.auth ?? AUTH_DEFAULTS).trustProxy)}`, next);
  });

  app.post('/v1/batches', async (c) => {
    const token = c.get('token');
    const wait = limiter.take(token.name);
    if (wait) throw new ApiError(429, `rate limit: ${config.rate} cost units per minute per token (a request costs 1 + 1 per 64 KiB + 1 per 32 rollups + 1 per 600 per-class map keys)`, { 'Retry-After': String(wait) });
    // what the request turns out to cost beyond the unit taken is charged once known, refused or not
    let inflated = 0, rollups = 0, keys = 0, source: string | undefined;
    try {
      const len = c.req.header('content-length');
      if (len !== undefined && Number(len) > config.maxBody) throw new ApiError(413, `body over ${config.maxBody} bytes`);
      const enc = (c.req.header('content-encoding') ?? 'identity').trim().toLowerCase();
      if (enc !== 'identity' && enc !== 'gzip' && enc !== 'x-gzip') throw new ApiError(415, 'Content-Encoding: gzip or none');
      if (!/^application\/json\s*(;|$)/i.test(c.req.header('content-type') ?? '')) throw new ApiError(415, 'Content-Type: application/json');
      // under @hono/node-server the socket's own stream (no Request object or web stream is built for the body)
      const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
      inflated = config.maxInflated; // if reading fails, as much as it may have cost
      const buf = await readBody(incoming instanceof Readable ? incoming : c.req.raw.body, enc !== 'identity', config.maxBody, config.maxInflated);
      inflated = buf.length;
      checkDepth(buf);
      let json: unknown;
      try {
        json = JSON.parse(buf.toString('utf8'));
      } catch {
        throw new ApiError(400, 'body is not valid JSON');
      }
      checkListSizes(json);
      // the schema's records would silently drop these keys: refuse them instead
      const reserved = reservedKey(json);
      if (reserved) throw new ApiError(400, `a reserved key: ${reserved}`);
      let batch: Batch;
      try {
        batch = parseBatch(json);
      } catch (e) {
        if (e instanceof TypeError) throw new ApiError(400, e.message);
        throw e;
      }
      checkKeys(batch);
      checkSeries(batch);
      auth.checkWrite(token, batch);
      // a source's own bucket, so that one page of a shared token cannot take all of it
      const sourceWait = sourceLimiter.take(batch.source.id);
      if (sourceWait) throw new ApiError(429, `rate limit: ${sourceRate} cost units per minute per source`, { 'Retry-After': String(sourceWait) });
      source = batch.source.id;
      rollups = batch.rollups.length;
      keys = mapKeys(batch);
      const hash = auth.bodyHash(buf);
      const t0 = performance.now();
      const r = await db.queue(batch, token.name, Date.now(), hash);
      if (r.duplicate) auth.checkReplay(batch, hash); // 409: the same (source, seq) with another body
      stats.lastIngestMs = performance.now() - t0;
      stats.batches[r.duplicate ? 'duplicate' : 'ok']++;
      c.header('Server-Timing', `ingest;dur=${stats.lastIngestMs.toFixed(2)}`);
      return c.json({ ack: batch.seq, ...(r.duplicate ? { duplicate: true } : {}), ...(r.imagesDropped ? { imagesDropped: r.imagesDropped } : {}), ...(r.keysDropped ? { keysDropped: r.keysDropped } : {}), ...(r.seriesDropped ? { seriesDropped: r.seriesDropped } : {}) });
    } finally {
      const extra = requestCost(inflated, rollups, keys) - 1;
      limiter.charge(token.name, extra);
      if (source !== undefined) sourceLimiter.charge(source, extra);
    }
  });

  /** The range, resolution, filters and rows of a rollup query. */
  const rollupQuery = (c: Context, extra: readonly string[] = []) => {
    const p = params(c, ['from', 'to', 'res', ...FILTER_PARAMS, ...extra]);
    const r = range(p);
    const res = resolution(p, r.to - r.from);
    const f = filters(p);
    const scope = auth.read(c.get('token'), f.source);
    // read one row at a time as the answer is computed (one pass), counted for the read rate; past MAX_READ_ROWS the read stops with 413
    let n = 0;
    const rows = auth.rollups(scope, res, r.from, r.to, f, MAX_READ_ROWS + 1, () => {
      reads.rows(c, 1);
      if (++n > MAX_READ_ROWS) throw new ApiError(413, `the query reads more than ${MAX_READ_ROWS} rows: narrow the range, filter by source or camera, or use res=1h`);
    });
    return { p, range: { ...r, ...f }, res, rows };
  };
  const merged = (res: '1m' | '1h', from: number, rows: Iterable<Rollup>, f: Filters) => {
    const m = emptyRollup(res, from, f.mv ?? '*', '*');
    for (const r of rows) mergeRollup(m, r);
    return m;
  };

  app.get('/v1/series', (c) => {
    const q = rollupQuery(c);
    return c.json(seriesOf(q.rows, q.range, q.res));
  });

  app.get('/v1/totals', (c) => {
    const q = rollupQuery(c);
    return c.json(totalsOf(merged(q.res, q.range.from, q.rows, q.range)));
  });

  app.get('/v1/percentiles', (c) => {
    const q = rollupQuery(c, ['what', 'q']);
    const what = q.p.get('what') ?? 'inference';
    if (what !== 'confidence' && !(STAGES as readonly string[]).includes(what)) bad('what', `expected one of ${[...STAGES, 'confidence'].join(', ')}`);
    const qs = q.p.has('q') ? q.p.get('q')!.split(',').map(Number) : [0.5, 0.95, 0.99];
    if (!qs.length || qs.length > 20 || qs.some((x) => !Number.isFinite(x) || x < 0 || x > 1)) bad('q', 'expected 1–20 comma-separated numbers in [0, 1]');
    return c.json(percentilesOf(merged(q.res, q.range.from, q.rows, q.range), what as Stage | 'confidence', qs));
  });

  app.get('/v1/alerts', (c) => {
    const p = params(c, ['from', 'to', 'camera_id', 'condition', 'source', 'rule', 'before', 'limit']);
    // from and to are optional here (the page size bounds the cost): all alerts kept, by default
    const r = p.has('from') || p.has('to') ? range(p) : { from: 0, to: 8.64e15 };
    const limit = num(p, 'limit') ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) bad('limit', 'expected an integer from 1 to 1000');
    const camera_id = str(p, 'camera_id', TAG_VALUE, `at most ${LIMITS.tagLength} characters`);
    const source = auth.readOne(c.get('token'), str(p, 'source', SOURCE_ID, 'a source id'));
    const rule = str(p, 'rule', /^[a-z0-9][a-z0-9-]{0,63}$/i, 'a rule id');
    const condition = str(p, 'condition', TAG_VALUE, `a condition id (colour, mono, colour-2…): at most ${LIMITS.tagLength} characters`);
    const before = cursor(p);
    const page = db.alerts({ ...r, limit, ...(camera_id !== undefined ? { camera_id } : {}), ...(condition ? { condition } : {}), ...(source ? { source } : {}), ...(rule ? { rule } : {}), ...(before ? { before } : {}) });
    reads.rows(c, page.rows.length);
    return c.json({ rows: page.rows, next: page.next ? toCursor(page.next) : null });
  });

  // metadata attached to inferences after the fact (annotate()), newest first
  app.get('/v1/annotations', (c) => {
    const p = params(c, ['from', 'to', 'source', 'limit']);
    const r = range(p);
    const source = auth.readOne(c.get('token'), str(p, 'source', SOURCE_ID, 'a source id (letters, digits, . _ : -)'));
    const limit = num(p, 'limit') ?? 100;
    if (!(Number.isInteger(limit) && limit >= 1 && limit <= 1000)) bad('limit', 'expected a whole number from 1 to 1000');
    const rows = db.annotations({ ...r, ...(source !== undefined ? { source } : {}), limit });
    reads.rows(c, rows.length);
    return c.json({ rows });
  });

  // people's verdicts on frames: precision per model version and camera, and the verdicts (verdicts.ts)
  app.get('/v1/verdicts', (c) => c.json(readVerdicts(c, db, (source) => auth.read(c.get('token'), source), (n) => reads.rows(c, n))));
  // challenger models' latest comparisons per monitor, with each source's device (challenger.ts)
  app.get('/v1/challengers', (c) => c.json(readChallengers(c, db, (source) => auth.read(c.get('token'), source), (n) => reads.rows(c, n))));

  app.get('/v1/dimensions', (c) => {
    const p = params(c, ['from', 'to', 'source']);
    const r = range(p);
    const scope = auth.read(c.get('token'), str(p, 'source', SOURCE_ID, 'a source id'));
    // at most MAX_DIMENSION_ROWS rows loaded, and MAX_DIMENSION_VALUES values listed per dimension (`truncated` says so)
    const all = db.dimensions(r.from, r.to, MAX_DIMENSION_ROWS + 1);
    reads.rows(c, all.length);
    const rows = all.slice(0, MAX_DIMENSION_ROWS).filter((row) => (scope.source === undefined || row.source === scope.source) && (!scope.only || scope.only.has(row.source)));
    return c.json(cappedDimensions(rows, all.length > MAX_DIMENSION_ROWS));
  });

  app.get('/v1/devices', (c) => {
    const scope = auth.read(c.get('token'), str(params(c, ['source']), 'source', SOURCE_ID, 'a source id'));
    const now = Date.now();
    const sources = db.sources();
    const series = db.seriesCounts();
    reads.rows(c, sources.length + series.size);
    const devices = sources.filter((s) => (scope.source === undefined || s.id === scope.source) && (!scope.only || scope.only.has(s.id))).map((s) => {
      let vitals = null;
      if (s.last_data !== null) {
        // the source's last 5 minutes with data (a down source keeps its last known vitals)
        const from = s.last_data - 4 * MINUTE;
        const rows = db.rollups('1m', from, s.last_data, { source: s.id });
        reads.rows(c, rows.length);
        const m = merged('1m', from, rows, {});
        const t = totalsOf(m);
        // results per second: per camera (tag set), frames over the footage between each minute's first and last
        // frame (a partial minute or a pause does not dilute it), summed over the device's cameras
        const rate = new Map<string, [number, number]>();
        for (const r of rows)
          if (r.frames > 1 && r.last > r.first) {
            const x = rate.get(r.g) ?? [0, 0];
            x[0] += r.frames - 1;
            x[1] += (r.last - r.first) / 1000;
            rate.set(r.g, x);
          }
        const fps = [...rate.values()].reduce((a, [n, sec]) => a + n / sec, 0);
        // each camera's condition (the hub's `condition` tag: its day colour, its night IR…) in its latest minute with frames
        const latest = new Map<string, { last: number; condition: string }>();
        for (const r of rows) {
          if (!r.frames) continue;
          const tags = parseTagKey(r.g);
          const cam = tags.camera_id ?? '', was = latest.get(cam);
          if (tags.condition && (!was || r.last > was.last)) latest.set(cam, { last: r.last, condition: tags.condition });
        }
        const [p50, p95] = percentilesOf(m, 'inference', [0.5, 0.95]).values;
        vitals = { from, to: s.last_data + MINUTE, frames: t.frames, fps, p50, p95, successRate: t.successRate, meanConfidence: t.meanConfidence,
          // the reference model's runs in those minutes (frames judged, tp/fp/fn, precision/recall/F1), where one ran
          ...(t.agreement ? { agreement: t.agreement } : {}),
          // flicker in those minutes (boxes tracked, blinks, flips and the rate), where boxes were associated
          ...(t.flicker ? { flicker: t.flicker } : {}),
          ...(latest.size ? { conditions: Object.fromEntries([...latest].map(([cam, l]) => [cam, l.condition])) } : {}) };
      }
      return {
        id: s.id,
        device_id: s.device_id,
        app_version: s.app_version,
        firstSeen: s.first_seen,
        lastSeen: s.last_seen,
        lastSeq: s.last_seq,
        down: now - s.last_seen > 3 * config.intervalMs,
        dropped: s.dropped,
        monitors: s.monitors.map((m) => ({ src: m.src, mv: m.mv, backend: m.backend, tags: m.tags, ...(m.modelId ? { modelId: m.modelId } : {}) })),
        vitals,
        // what the source costs: flagged JPEG bytes kept (of its quota), images dropped past it, rollup map keys dropped (limits.ts),
        // distinct series kept (of FLEET_MAX_SERIES_PER_SOURCE) and rollups of new series dropped past it (ingest.ts)
        storage: { imageBytes: s.image_bytes, imageQuota: config.imageQuota ?? DEFAULT_IMAGE_QUOTA_MB * 1e6, imagesDropped: s.images_dropped, keysDropped: s.keys_dropped, series: series.get(s.id) ?? 0, seriesMax: db.limits.seriesPerSource, seriesDropped: s.series_dropped },
        firing: db.firing(s.id),
      };
    });
    return c.json(devices);
  });

  // alert forwarding's targets: queued, delivered, dead-lettered, last error
  app.get('/v1/forwarding', (c) => {
    params(c, []);
    auth.readFleet(c.get('token'), 'forwarding state');
    return c.json({ ...forwardingStatus(db, config), ...(config.forward?.quietHours?.length ? { quiet: quietStatus(db) } : {}) });
  });

  app.get('/healthz', (c) => (db.ping() ? c.json({ ok: true, db: 'ok' }) : c.json({ ok: false, db: 'error' }, 503)));

  app.get('/metrics', (c) => {
    const now = Date.now();
    const http = [...stats.http].map(([k, n]) => {
      const [route, code] = k.split(' ');
      return { route: route!, code: Number(code), n };
    });
    const sources = db.sources(), cumulative = db.cumulative(), recent = db.rollupRows('1m', now - 5 * MINUTE, now);
    reads.rows(c, sources.length + cumulative.length + recent.length);
    const { families, dropped } = fleetMetrics({
      now, intervalMs: config.intervalMs, maxSeries: config.maxSeries,
      sources, cumulative, recent, firing: db.firing(),
      batches: stats.batches, http, droppedSoFar: stats.seriesDropped,
      forwarding: forwardingStatus(db, config).targets.map((t) => ({ target: t.name, delivered: t.delivered, deadLetters: t.deadLetters, pending: t.pending, dropped: t.dropped })),
      itemsDropped: db.dropped,
      quiet: quietStatus(db),
    });
    stats.seriesDropped += dropped;
    return c.body(writeExposition(families), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
  });

  // the fleet page's static files
  app.get('*', async (c) => {
    if (c.req.path.startsWith('/v1/')) return c.json({ error: 'no such route' }, 404);
    let rel: string;
    try {
      rel = decodeURIComponent(new URL(c.req.url).pathname);
    } catch {
      return c.text('not found', 404);
    }
    if (rel === '/') rel = '/fleet.html';
    const segs = rel.split('/').filter(Boolean);
    const file = resolve(staticRoot, ...segs);
    const ok = !rel.includes('\0') && !rel.includes('\\') && segs.length > 0 && segs.every((s) => !s.startsWith('.')) && file.startsWith(staticRoot + sep);
    const real = ok ? await realpath(file).catch(() => null) : null;
    const root = await realpath(staticRoot).catch(() => null);
    const st = real && root && real.startsWith(root + sep) ? await stat(real).catch(() => null) : null;
    if (!st?.isFile()) {
      if (rel === '/fleet.html') return c.text('The fleet page is not built yet: run `npm run build` (it writes fleet.html to the FLEET_STATIC folder).\n', 200);
      return c.text('not found', 404);
    }
    const headers = { 'Content-Type': TYPES[extname(real!).toLowerCase()] ?? 'application/octet-stream', 'Content-Length': String(st.size), 'Cache-Control': 'no-cache' };
    if (c.req.method === 'HEAD') return c.body(null, 200, headers);
    return c.body(Readable.toWeb(createReadStream(real!)) as unknown as ReadableStream, 200, headers);
  });

  return app;
}
