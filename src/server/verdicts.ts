/**
 * People's verdicts on the fleet server: every synced verdict (validated by the shared payload schema with the
 * batch) kept per (source, frame id) — a later one replaces it, an older one arriving late does not — bounded per
 * source and in age, and read back with `GET /v1/verdicts`: the precision estimate and the missing rate per model
 * version and camera (flagging/verdicts.ts, the page's own sums) and the verdicts, newest given first.
 * Written inside each batch's transaction by an ingest hook (FleetDb.onIngest), so ingest.ts needs no change.
 */
import type Database from 'better-sqlite3';
import type { Context } from 'hono';
import { countVerdicts, estimate, type Verdict, type VerdictEstimate, type VerdictKind } from '../flagging/verdicts.ts';
import type { DropCounts, Limits } from './bounds.ts';
import type { IngestEvent } from './ingest.ts';
import { ApiError } from './errors.ts';

/** What verdicts need of the fleet database (FleetDb, which installs them when it opens). */
export interface VerdictStore {
  readonly db: Database.Database;
  readonly dropped: DropCounts;
  limits: Limits;
  onIngest(hook: (e: IngestEvent) => void): void;
}
/** Verdicts are kept a year by the time they were given (as alerts are: RETENTION.alerts). */
export const VERDICT_RETENTION_MS = 365 * 24 * 3600_000;
/** A read scope (auth.ts ReadScope). */
type ReadScope = { source?: string; only?: Set<string> };

/** How often (at most) the hook deletes verdicts older than RETENTION.alerts (a year) and those of forgotten sources. */
const PRUNE_EVERY_MS = 3600_000;

const installed = new WeakSet<VerdictStore>();

/**
 * Stores the verdicts of every new batch (once per database): at most `limits.verdictsPerSource` per source — past it
 * a verdict on a new frame is dropped (counted, `verdicts_per_source`); changes to kept ones pass.
 */
export function installVerdicts(db: VerdictStore): void {
  if (installed.has(db)) return;
  installed.add(db);
  const put = db.db.prepare(`
    INSERT INTO verdicts (source, id, verdict, mv, camera, location, t, updated_at) VALUES (@source, @id, @verdict, @mv, @camera, @location, @t, @now)
    ON CONFLICT (source, id) DO UPDATE SET verdict = excluded.verdict, mv = excluded.mv, camera = excluded.camera, location = excluded.location, t = excluded.t, updated_at = excluded.updated_at
    WHERE excluded.t >= verdicts.t`);
  const has = db.db.prepare('SELECT 1 FROM verdicts WHERE source = ? AND id = ?').pluck();
  const count = db.db.prepare('SELECT count(*) FROM verdicts WHERE source = ?').pluck();
  const pruneOld = db.db.prepare('DELETE FROM verdicts WHERE t < ?');
  const pruneGone = db.db.prepare('DELETE FROM verdicts WHERE source NOT IN (SELECT id FROM sources)');
  let lastPrune = 0;
  const drop = (reason: 'future_verdict' | 'verdicts_per_source', n: number) => {
    if (n) db.dropped[reason] = (db.dropped[reason] ?? 0) + n;
  };
  db.onIngest(({ source, now, batch }) => {
    const list = batch.verdicts ?? [];
    if (list.length) {
      const latest = now + db.limits.clockSkewMs;
      let kept = -1;
      for (const v of list) {
        if (v.t > latest) {
          drop('future_verdict', 1);
          continue;
        }
        if (!has.get(source, v.id)) {
          if (kept < 0) kept = count.get(source) as number;
          if (kept >= db.limits.verdictsPerSource) {
            drop('verdicts_per_source', 1);
            continue;
          }
          kept++;
        }
        put.run({ source, id: v.id, verdict: v.verdict, mv: v.mv, camera: v.camera, location: v.location ?? null, t: v.t, now });
      }
    }
    if (now - lastPrune > PRUNE_EVERY_MS) {
      lastPrune = now;
      pruneOld.run(now - VERDICT_RETENTION_MS);
      pruneGone.run();
    }
  });
}

/** A verdict as `/v1/verdicts` lists it: the page's, with its source. */
export type SourceVerdict = Verdict & { source: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PARAMS = ['source', 'mv', 'camera_id', 'from', 'to', 'limit'] as const;

const bad = (name: string, why: string): never => {
  throw new ApiError(400, `${name}: ${why}`);
};

/** The query: each parameter at most once and known; from/to epoch ms (given time); limit 1–1000 rows (default 100; 0: only the estimates). */
function query(c: Context) {
  const p = new Map<string, string>();
  for (const [k, v] of new URL(c.req.url).searchParams) {
    if (!(PARAMS as readonly string[]).includes(k)) bad(k.slice(0, 64), `unknown parameter (expected ${PARAMS.join(', ')})`);
    if (p.has(k)) bad(k, 'given more than once');
    p.set(k, v);
  }
  const int = (k: string, min: number, max: number) => {
    const s = p.get(k);
    if (s === undefined) return undefined;
    const n = Number(s);
    if (!/^\d{1,16}$/.test(s) || n < min || n > max) bad(k, `expected a whole number from ${min} to ${max}`);
    return n;
  };
  const source = p.get('source');
  if (source !== undefined && !/^[A-Za-z0-9._:-]{1,64}$/.test(source)) bad('source', 'expected a source id (letters, digits, . _ : -)');
  const mv = p.get('mv');
  if (mv !== undefined && !/^[0-9a-f]{12}([0-9a-f]{52})?$/.test(mv)) bad('mv', 'expected a model version: 12 or 64 hex digits');
  const camera = p.get('camera_id');
  if (camera !== undefined && camera.length > 200) bad('camera_id', 'at most 200 characters');
  const from = int('from', 0, 8.64e15), to = int('to', 0, 8.64e15);
  if (from !== undefined && to !== undefined && !(from < to)) bad('to', 'must be after from');
  return { source, mv: mv?.slice(0, 12), camera, from, to, limit: int('limit', 0, 1000) ?? 100 };
}

/** The WHERE clause of a verdict read (its model version by its short form). */
function where(q: ReturnType<typeof query>, scope: ReadScope) {
  const conds: string[] = [];
  const args: Record<string, unknown> = {};
  const source = scope.source ?? q.source;
  if (source !== undefined) (conds.push('source = @source'), (args.source = source));
  if (q.mv !== undefined) (conds.push('substr(mv, 1, 12) = @mv'), (args.mv = q.mv));
  if (q.camera !== undefined) (conds.push('camera = @camera'), (args.camera = q.camera));
  if (q.from !== undefined) (conds.push('t >= @from'), (args.from = q.from));
  if (q.to !== undefined) (conds.push('t <= @to'), (args.to = q.to));
  return { sql: conds.length ? `WHERE ${conds.join(' AND ')}` : '', args };
}

/**
 * `GET /v1/verdicts?source=&mv=&camera_id=&from=&to=&limit=`: `{estimates, rows}` within what the token reads —
 * estimates per (model version, camera) over every matching verdict (cleared ones not counted), rows newest given first.
 * `read` is the read scope (Auth.read: 403 for a source the token does not read); `loaded` notes rows for the read meter.
 */
export function readVerdicts(c: Context, db: Pick<VerdictStore, 'db'>, read: (source: string | undefined) => ReadScope, loaded: (n: number) => void): { estimates: VerdictEstimate[]; rows: SourceVerdict[] } {
  const q = query(c);
  const scope = read(q.source);
  const w = where(q, scope);
  const mine = (s: string) => !scope.only || scope.only.has(s);
  const counts = db.db
    .prepare(`SELECT source, substr(mv, 1, 12) AS mv, camera, verdict, count(*) AS n FROM verdicts ${w.sql ? `${w.sql} AND` : 'WHERE'} verdict IS NOT NULL GROUP BY source, substr(mv, 1, 12), camera, verdict`)
    .all(w.args) as { source: string; mv: string; camera: string; verdict: VerdictKind; n: number }[];
  loaded(counts.length);
  // the groups' counts, summed over the sources in scope (countVerdicts gives the groups their order)
  const groups = countVerdicts(counts.filter((r) => mine(r.source)).map((r) => ({ mv: r.mv, camera: r.camera, verdict: r.verdict })));
  for (const g of groups) g.right = g.wrong = g.missing = 0;
  const byKey = new Map(groups.map((g) => [`${g.mv}\u0000${g.camera}`, g]));
  for (const r of counts) if (mine(r.source)) byKey.get(`${r.mv}\u0000${r.camera}`)![r.verdict] += r.n;
  const rows = q.limit
    ? (db.db.prepare(`SELECT source, id, verdict, mv, camera, location, t FROM verdicts ${w.sql} ORDER BY t DESC, id DESC LIMIT @limit`).all({ ...w.args, limit: scope.only ? 100_000 : q.limit }) as (SourceVerdict & { location: string | null })[])
        .filter((r) => mine(r.source))
        .slice(0, q.limit)
        .map(({ location, ...r }) => ({ ...r, ...(location !== null ? { location } : {}) }))
    : [];
  loaded(rows.length);
  return { estimates: groups.map(estimate), rows };
}
