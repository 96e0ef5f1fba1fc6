/**
 * Challenger comparisons on the fleet server, against the real server process (src/server/main.ts): a synced
 * comparison is kept per (source, monitor) — a later one replaces it, a stale one does not — and served by
 * `GET /v1/challengers` with its device; a bad one is a 400 naming the field; a device's token reads its own only.
 * And the payload schema (sync/challenger-payload.ts): a real summary passes as JSON carries it, bounds hold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { pairFrame, summarize } from '../src/inference/challenger.ts';
import { challengerSync, ChallengerSyncSchema } from '../src/sync/challenger-payload.ts';
import { parseBatch } from '../src/sync/payload.ts';
import type { Detection } from '../src/types/detection.ts';
import { batch, getJson, post, type Server, startServer } from './server-helpers.ts';

const ADMIN = 'admin-token-all-0123456789';
const TOK_A = 'device-a-token-0123456789';
const TOK_B = 'device-b-token-0123456789';
const TOKENS = `admin:${ADMIN}:*,a:${TOK_A}:dev-a,b:${TOK_B}:dev-b`;
const NOW = Date.now();
const A = 'a'.repeat(64), B = 'b'.repeat(64);
const det = (label: string, x: number): Detection => ({ classId: 0, label, score: 0.7, box: [x, 0, 10, 10] });
const people = (n: number) => Array.from({ length: n }, (_, i) => det('person', i * 20));
/** the challenger finds `k` of the champion's 10 persons a frame */
const summary = (k: number) => summarize(Array.from({ length: 20 }, (_, i) => pairFrame(NOW - 20_000 + i, { ms: 100 + (i % 5), detections: people(10) }, { ms: 150 + (i % 5), detections: people(k + (i % 2)) })), A, B);

describe('the challenger payload', () => {
  it('a summary passes as JSON carries it (NaN as null), and the batch schema takes it', () => {
    const s = challengerSync('mon-1', 'cam-1', NOW, summary(7));
    expect(v.is(ChallengerSyncSchema, s)).toBe(true);
    // nothing compared yet: NaNs everywhere, still valid
    expect(v.is(ChallengerSyncSchema, challengerSync('mon-1', 'cam-1', NOW, summarize([], A, B)))).toBe(true);
    const b = parseBatch({ ...batch('dev-a', 1, [], {}, 'dev-a'), challengers: [s] });
    expect(b.challengers![0]!.summary.verdict).toBe('worse');
  });
  it('the reference part (both models against a reference) passes, and a bad one is refused', () => {
    const withRef = summarize(Array.from({ length: 20 }, (_, i) => pairFrame(NOW - 20_000 + i, { ms: 100, detections: people(10) }, { ms: 150, detections: people(7) }, { reference: people(10) })), A, B);
    const s = challengerSync('mon-1', 'cam-1', NOW, withRef);
    expect(s.summary.reference).toMatchObject({ frames: 20, champion: { f1: 1 }, verdict: 'worse' });
    const b = parseBatch({ ...batch('dev-a', 1, [], {}, 'dev-a'), challengers: [s] });
    expect(b.challengers![0]!.summary.reference!.challenger.tp).toBe(140);
    expect(v.is(ChallengerSyncSchema, { ...s, summary: { ...s.summary, reference: { ...s.summary.reference!, verdict: 'great' } } })).toBe(false);
    expect(v.is(ChallengerSyncSchema, { ...s, summary: { ...s.summary, reference: { ...s.summary.reference!, frames: -1 } } })).toBe(false);
  });
  it('bounds: a long line, a bad version, too many classes or comparisons are refused', () => {
    const s = challengerSync('mon-1', 'cam-1', NOW, summary(7));
    expect(v.is(ChallengerSyncSchema, { ...s, summary: { ...s.summary, line: 'x'.repeat(501) } })).toBe(false);
    expect(v.is(ChallengerSyncSchema, { ...s, summary: { ...s.summary, champion: { ...s.summary.champion, version: 'nope' } } })).toBe(false);
    expect(v.is(ChallengerSyncSchema, { ...s, summary: { ...s.summary, classes: Array(21).fill(s.summary.classes[0]) } })).toBe(false);
    expect(() => parseBatch({ ...batch('dev-a', 1, [], {}, 'dev-a'), challengers: Array(33).fill(s) })).toThrow(/challengers/);
  });
});

describe('/v1/challengers', () => {
  let server: Server;
  const seqs = new Map<string, number>();
  const send = (token: string, source: string, challengers: unknown[]) => {
    const seq = (seqs.get(source) ?? 0) + 1;
    seqs.set(source, seq);
    return post(server.url, token, JSON.stringify({ ...batch(source, seq, [], {}, source), challengers }));
  };
  beforeAll(async () => {
    server = await startServer({ FLEET_TOKENS: TOKENS, FLEET_RATE: '1000000' });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('stores a synced comparison per monitor and serves it with its device; a later one replaces it, a stale one does not', async () => {
    expect((await send(TOK_A, 'dev-a', [challengerSync('mon-1', 'cam-1', NOW - 5000, summary(7))])).status).toBe(200);
    expect((await send(TOK_B, 'dev-b', [challengerSync('mon-2', 'cam-9', NOW - 4000, summary(10))])).status).toBe(200);
    let r = await getJson(server.url, ADMIN, '/v1/challengers');
    expect(r.status).toBe(200);
    expect(r.body.rows.map((x: { source: string; camera: string; summary: { verdict: string } }) => [x.source, x.camera, x.summary.verdict])).toEqual([
      ['dev-b', 'cam-9', 'equal'],
      ['dev-a', 'cam-1', 'worse'],
    ]);
    expect(r.body.rows[1].device_id).toBe('dev-a');
    expect(r.body.rows[1].summary.line).toMatch(/^challenger finds \d+ % fewer persons/);
    // a later comparison replaces it; a stale one arriving late does not
    expect((await send(TOK_A, 'dev-a', [challengerSync('mon-1', 'cam-1', NOW - 1000, summary(10))])).status).toBe(200);
    expect((await send(TOK_A, 'dev-a', [challengerSync('mon-1', 'cam-1', NOW - 9000, summary(5))])).status).toBe(200);
    r = await getJson(server.url, TOK_A, '/v1/challengers');
    expect(r.body.rows).toHaveLength(1); // a device's token reads its own source only
    expect(r.body.rows[0]).toMatchObject({ source: 'dev-a', src: 'mon-1', t: NOW - 1000, summary: { verdict: 'equal' } });
    expect((await getJson(server.url, TOK_A, '/v1/challengers?source=dev-b')).status).toBe(403);
    expect((await getJson(server.url, ADMIN, '/v1/challengers?nope=1')).status).toBe(400);
  });

  it('refuses a bad comparison with a 400 naming the field', async () => {
    const s = challengerSync('mon-1', 'cam-1', NOW, summary(7));
    const res = await send(TOK_A, 'dev-a', [{ ...s, summary: { ...s.summary, verdict: 'great' } }]);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/challengers\.0\.summary\.verdict/);
  });
});
