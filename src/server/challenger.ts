/**
 * Challenger comparisons on the fleet server: the latest synced summary per (source, monitor) — a later one
 * replaces it, an older one arriving late does not — and `GET /v1/challengers` to read them back per device, so a
 * team sees on which cameras a candidate version would do worse before it ships. Written inside each batch's
 * transaction by an ingest hook (FleetDb.onIngest), as verdicts.ts is; its table `challengers` is schema.ts's
 * (migration 'challengers-and-quiet-hours').
 */
import type Database from 'better-sqlite3';
import type { Context } from 'hono';
import type { ChallengerSync, SourceChallenger } from '../sync/challenger-payload.ts';

type ChallengerSummary = ChallengerSync['summary'];
import type { DropCounts, Limits } from './bounds.ts';
import type { IngestEvent } from './ingest.ts';
import { ApiError } from './errors.ts';
import { storedRecord } from './schema.ts';

export interface ChallengerStore {
  readonly db: Database.Database;
  readonly dropped: DropCounts;
  limits: Limits;
  onIngest(hook: (e: IngestEvent) => void): void;
}
type ReadScope = { source?: string; only?: Set<string> };

export type { SourceChallenger };

const installed = new WeakSet<ChallengerStore>();

/** Keeps the latest comparison per (source, monitor) of every new batch (once per database). */
export function installChallengers(db: ChallengerStore): void {
  if (installed.has(db)) return;
  installed.add(db);
  const put = db.db.prepare(`
    INSERT INTO challengers (source, src, camera, t, summary, updated_at) VALUES (@source, @src, @camera, @t, @summary, @now)
    ON CONFLICT (source, src) DO UPDATE SET camera = excluded.camera, t = excluded.t, summary = excluded.summary, updated_at = excluded.updated_at
    WHERE excluded.t >= challengers.t`);
  db.onIngest(({ source, now, batch }) => {
    for (const c of batch.challengers ?? []) {
      if (c.t > now + db.limits.clockSkewMs) {
        db.dropped.future_challenger = (db.dropped.future_challenger ?? 0) + 1;
        continue;
      }
      put.run({ source, src: c.src, camera: c.camera, t: c.t, summary: JSON.stringify(c.summary), now });
    }
  });
}

/**
 * `GET /v1/challengers?source=`: the latest comparison per monitor within what the token reads, newest first, with
 * each source's device. `read` is the read scope (Auth.read); `loaded` notes rows for the read meter.
 */
export function readChallengers(c: Context, db: Pick<ChallengerStore, 'db'>, read: (source: string | undefined) => ReadScope, loaded: (n: number) => void): { rows: SourceChallenger[] } {
  const params = new URL(c.req.url).searchParams;
  for (const k of params.keys()) if (k !== 'source') throw new ApiError(400, `${k.slice(0, 64)}: unknown parameter (expected source)`);
  const asked = params.get('source') ?? undefined;
  if (asked !== undefined && !/^[A-Za-z0-9._:-]{1,64}$/.test(asked)) throw new ApiError(400, 'source: expected a source id (letters, digits, . _ : -)');
  const scope = read(asked);
  const source = scope.source ?? asked;
  const rows = db.db
    .prepare(`SELECT c.source, s.device_id, c.src, c.camera, c.t, c.summary FROM challengers c LEFT JOIN sources s ON s.id = c.source ${source !== undefined ? 'WHERE c.source = @source' : ''} ORDER BY c.t DESC LIMIT 1000`)
    .all(source !== undefined ? { source } : {}) as { source: string; device_id: string | null; src: string; camera: string; t: number; summary: string }[];
  const out = rows
    .filter((r) => !scope.only || scope.only.has(r.source))
    .flatMap(({ device_id, summary, ...r }) => {
      // a stored summary that cannot be read (a damaged file, a hand edit) is skipped, not a failed read
      const parsed = storedRecord(summary);
      return parsed ? [{ ...r, ...(device_id !== null ? { device_id } : {}), summary: parsed as unknown as ChallengerSummary }] : [];
    });
  loaded(out.length);
  return { rows: out };
}
