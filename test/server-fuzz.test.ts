/**
 * The fleet server against well over 1,000 generated bad requests — mutations of a valid batch (wrong types,
 * missing and extra fields, negative and fractional counts, numbers as strings, huge strings, bad model
 * versions, bad record keys, too many items), replays, bad tokens, other devices' sources, bad content types,
 * oversized bodies and gzip bombs — plus a few valid ones with HTML in tag values. Each answer must be the
 * expected 4xx (or 200 for replays and the valid ones), the server stays up, and at the end the database
 * holds exactly what the valid requests wrote.
 */
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totalsOf } from '../src/store/queries.ts';
import { tagKey } from '../src/telemetry/record.ts';
import { bucketStart, emptyRollup, mergeRollup, type Rollup } from '../src/telemetry/rollup.ts';
import type { Batch } from '../src/sync/payload.ts';
import { alert, batch, getJson, mergeAll, MIN, MV, post, rollupsFor, type Server, startServer, viaJson } from './server-helpers.ts';

const ALL = 'fuzz-all-token-0123456789';
const SCOPED = 'fuzz-scoped-token-0123456789';
const T0 = bucketStart(Date.now(), '1m') - 30 * MIN;
const HTML = '<img src=x onerror="alert(1)"><script>alert(2)</script>';

let server: Server;
beforeAll(async () => {
  // FLEET_AUTH_FAILURES: this suite sends 70 wrong tokens from one address on purpose (the back-off is test/server-auth.test.ts's)
  server = await startServer({ FLEET_TOKENS: `fuzz:${ALL}:*,scoped:${SCOPED}:fuzz-a`, FLEET_RATE: '10000000', FLEET_SOURCE_RATE: '10000000', FLEET_AUTH_FAILURES: '1000000' });
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

/** A small valid batch with one of everything. */
function base(seq: number, source = 'fuzz-a', seed = 1, cameras = ['cam-1', 'cam-2']): Batch {
  const rollups = rollupsFor(T0 + seed * MIN, 1, seed, cameras);
  const baselineRollup = rollups.reduce((m, r) => mergeRollup(m, r), emptyRollup('1m', rollups[0]!.start, MV, rollups[0]!.g));
  const det = { classId: 0, label: 'person', score: 0.8, box: [1, 2, 30, 40] as [number, number, number, number] };
  return batch(source, seq, rollups, {
    alerts: [{ ...alert('class-drop', cameras[0]!, 'firing', T0 + seed * MIN, `019a0000-0000-7000-8000-${String(seed).padStart(12, '0')}`), classId: 0, cause: 'model', evidence: `class mix moved, image statistics held ${HTML}` }],
    flagged: [{
      id: `019a0000-0000-7000-9000-${String(seed).padStart(12, '0')}`, t: T0 + seed * MIN, flaggedAt: T0 + seed * MIN + 5, src: 'mon-0',
      tags: { camera_id: cameras[0]!, location: 'line-3' }, mv: MV, backend: 'wasm', width: 640, height: 480,
      detections: [det], nearMisses: [{ ...det, score: 0.25 }], reasons: ['close-to-threshold'], hash: '0123456789abcdef', bytes: 1234, quality: 0.8, jpeg: Buffer.from('not really a jpeg').toString('base64'),
    }],
    baselines: [{ mv: MV, camera: cameras[0]!, location: 'line-3', createdAt: T0, from: T0 - 5 * MIN, to: T0, source: 'auto', frames: baselineRollup.frames, fps: 5, rollup: baselineRollup }],
  }, 'fuzz-device');
}

type Path = (string | number)[];
const RECORDS = new Set(['tags', 'conf', 'errors', 'classes', 'classScore', 'img', 'gauge', 'cc']);
const OPTIONAL = new Set(['device_id', 'classId', 'cause', 'evidence', 'location', 'nearMisses', 'malformed', 'error', 'hash', 'jpeg', 'modelId', 'cc', 'gauge']);
/** counts (integers in [0, 1e13]) */
const COUNTS = new Set(['frames', 'valid', 'malformed', 'dropped', 'detections', 'scoredFrames', 'bytes']);
/** epoch ms (integers in [0, 8.64e15]) */
const TIMES = new Set(['sentAt', 'start', 't', 'since', 'flaggedAt', 'createdAt', 'from', 'to']);
/** numbers with a range: a value past it */
const OUT_OF_RANGE: Record<string, number> = { seq: 2 ** 53, width: 16385, height: 16385, quality: 1.01, score: 1.01, fps: 10_001 };
/** numbers that may be any number (NaN included, carried as null) */
const ANY_NUMBER = new Set(['value', 'threshold']);

const isRecord = (p: Path) => p.length > 0 && (RECORDS.has(String(p.at(-1))) || p.at(-2) === 'lat' || p.at(-2) === 'cc');
/** Every node of a value with its path. */
function* nodes(x: unknown, path: Path = []): Generator<[Path, unknown]> {
  if (path.length) yield [path, x];
  if (x && typeof x === 'object') for (const [k, v] of Object.entries(x)) yield* nodes(v, [...path, Array.isArray(x) ? Number(k) : k]);
}
const clone = <T>(x: T): T => structuredClone(x);
function at(obj: unknown, path: Path): [Record<string | number, unknown>, string | number] {
  let o = obj as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  return [o, path.at(-1)!];
}

interface Case { name: string; body: string | Uint8Array; headers?: Record<string, string>; token?: string | null; expect: number[]; valid?: Batch; duplicate?: boolean }

/** The schema mutations of a valid batch, each expected to be 400. */
function mutations(): Case[] {
  const out: Case[] = [];
  let seq = 1000;
  const valid = base(0);
  const add = (name: string, mutate: (b: Batch) => void, raw?: (json: string) => string) => {
    const b = clone(valid);
    b.seq = ++seq;
    mutate(b);
    const json = JSON.stringify(b);
    out.push({ name, body: raw ? raw(json) : json, expect: [400] });
  };
  for (const [path, value] of nodes(valid)) {
    const key = String(path.at(-1));
    const parent = path.slice(0, -1);
    const parentRecord = isRecord(parent);
    const parentArray = typeof path.at(-1) === 'number';
    const name = path.join('.');
    const set = (v: unknown) => (b: Batch) => {
      const [o, k] = at(b, path);
      o[k] = v;
    };
    // wrong types
    if (typeof value === 'string') add(`${name}: number`, set(12345));
    else if (typeof value === 'number') for (const s of ['NaN', 'Infinity', String(value)]) add(`${name}: "${s}"`, set(s));
    else if (value === null) add(`${name}: "null"`, set('null'));
    else if (Array.isArray(value)) add(`${name}: {}`, set({}));
    else if (typeof value === 'object') {
      add(`${name}: "x"`, set('x'));
      add(`${name}: true`, set(true));
    }
    // missing fields
    if (!parentRecord && !parentArray && !OPTIONAL.has(key))
      add(`${name}: missing`, (b) => {
        const [o, k] = at(b, path);
        delete o[k];
      });
    // extra fields on strict objects
    if (value && typeof value === 'object' && !Array.isArray(value) && !isRecord(path) && !(path.length === 3 && path[0] === 'baselines' && path[2] === 'rollup'))
      add(`${name}: extra field`, (b) => {
        const [o, k] = at(b, path);
        (o[k] as Record<string, unknown>).extra = 1;
      });
    // negative, fractional, too large and non-finite numbers
    if (typeof value === 'number' && !ANY_NUMBER.has(key)) {
      const count = COUNTS.has(key) || (parentRecord && parent.at(-1) !== 'classScore') || (path.at(-3) === 'img' && key === '1');
      const integer = count || TIMES.has(key) || ['seq', 'width', 'height', 'classId'].includes(key);
      if (integer || key in OUT_OF_RANGE) add(`${name}: -1`, set(-1));
      if (integer) add(`${name}: 1.5`, set(1.5));
      if (count) add(`${name}: 1e14`, set(1e14));
      if (TIMES.has(key)) add(`${name}: 1e16`, set(1e16));
      if (key in OUT_OF_RANGE) add(`${name}: ${OUT_OF_RANGE[key]}`, set(OUT_OF_RANGE[key]));
      add(`${name}: 1e400`, set('__HUGE__'), (j) => j.replace('"__HUGE__"', '1e400'));
    }
    // huge strings
    if (typeof value === 'string' && key !== 'jpeg') add(`${name}: 9000 chars`, set('a'.repeat(9000)));
    // bad model versions
    if (key === 'mv') for (const mv of ['', 'XYZ', MV.slice(1), MV.toUpperCase(), `${MV}0`, 'g'.repeat(12), 'a'.repeat(65)]) add(`${name}: mv ${mv.slice(0, 16)}`, set(mv));
    // bad record keys
    if (value && typeof value === 'object' && isRecord(path) && key !== 'tags')
      for (const k of key === 'errors' ? ['ABC', ' 1', '1.5', 'a_b', 'x'.repeat(65)] : ['abc', '-1', '123456', ' 1', '1.5']) add(`${name}: key ${k}`, (b) => ((at(b, path)[0][at(b, path)[1]] as Record<string, unknown>)[k] = 1));
    if (key === 'tags') for (const k of ['bad key!', '', 'x'.repeat(65), 'é']) add(`${name}: tag key ${k.slice(0, 8)}`, (b) => ((at(b, path)[0][at(b, path)[1]] as Record<string, unknown>)[k] = 'v'));
  }
  // whole-batch mutations
  add('extra field at the root', (b) => void ((b as unknown as Record<string, unknown>).extra = 1));
  add('v: 2', (b) => void ((b as { v: number }).v = 2));
  add('seq: 0', (b) => void (b.seq = 0));
  add('seq: 2^53', (b) => void (b.seq = 2 ** 53));
  add('rollup start off the minute', (b) => void (b.rollups[0]!.start += 1));
  add('rollup res 1h', (b) => void ((b.rollups[0] as { res: string }).res = '1h'));
  add('alert severity', (b) => void ((b.alerts[0] as { severity: string }).severity = 'fatal'));
  add('alert state', (b) => void ((b.alerts[0] as { state: string }).state = 'pending'));
  add('alert cause bogus', (b) => void ((b.alerts[0] as { cause: string }).cause = 'bogus'));
  add('alert evidence 301 chars', (b) => void (b.alerts[0]!.evidence = 'a'.repeat(301)));
  add('jpeg not base64', (b) => void (b.flagged[0]!.jpeg = '<html>'));
  add('hash too short', (b) => void (b.flagged[0]!.hash = 'abc'));
  add('score > 1', (b) => void (b.flagged[0]!.detections[0]!.score = 1.5));
  add('box of 3', (b) => void ((b.flagged[0]!.detections[0] as { box: number[] }).box = [1, 2, 3]));
  add('width 0', (b) => void (b.flagged[0]!.width = 0));
  add('source.id with space', (b) => void (b.source.id = 'a b'));
  add('source.id 65 chars', (b) => void (b.source.id = 'a'.repeat(65)));
  add('app_version 65 chars', (b) => void (b.source.app_version = 'a'.repeat(65)));
  add('tag value 201 chars', (b) => void (b.source.monitors[0]!.tags.camera_id = 'a'.repeat(201)));
  add('g 8193 chars', (b) => void (b.rollups[0]!.g = 'a'.repeat(8193)));
  add('33 tags', (b) => void (b.source.monitors[0]!.tags = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`t${i}`, 'v']))));
  add('33 monitors', (b) => void (b.source.monitors = Array.from({ length: 33 }, () => b.source.monitors[0]!)));
  add('201 histogram buckets', (b) => void (b.rollups[0]!.conf = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [i, 1]))));
  add('1001 classes', (b) => void (b.rollups[0]!.classes = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [i, 1]))));
  add('201 detections', (b) => void (b.flagged[0]!.detections = Array.from({ length: 201 }, () => b.flagged[0]!.detections[0]!)));
  add('img key toString (a prototype member)', (b) => void (b.rollups[0]!.img = { toString: [1, 1] } as unknown as Rollup['img']));
  add('gauge key valueOf', (b) => void (b.rollups[0]!.gauge = { valueOf: [1, 1] } as unknown as Rollup['img']));
  add('__proto__ key at the root', () => {}, (j) => j.replace('{', '{"__proto__":{"polluted":1},'));
  add('__proto__ key in a rollup', () => {}, (j) => j.replace('"frames"', '"__proto__":{"frames":1},"frames"'));
  add('constructor key in errors', () => {}, (j) => j.replace('"errors":{', '"errors":{"constructor":5,'));
  // too many items: gzip keeps these under the wire limit; refused as too large (413, naming the limit) before validation
  const many = (name: string, mutate: (b: Batch) => void) => {
    const b = clone(valid);
    b.seq = ++seq;
    mutate(b);
    out.push({ name, body: gzipSync(JSON.stringify(b)), headers: { 'content-encoding': 'gzip' }, expect: [413] });
  };
  many('5001 rollups', (b) => void (b.rollups = Array.from({ length: 5001 }, (_, i) => emptyRollup('1m', T0 - i * MIN, MV, 'camera_id=x'))));
  many('1001 alerts', (b) => void (b.alerts = Array.from({ length: 1001 }, () => b.alerts[0]!)));
  many('501 flagged', (b) => void (b.flagged = Array.from({ length: 501 }, () => ({ ...b.flagged[0]!, jpeg: undefined }))));
  many('101 baselines', (b) => void (b.baselines = Array.from({ length: 101 }, () => b.baselines[0]!)));
  // not a batch at all
  for (const body of ['', 'null', '[]', '"batch"', '42', 'true', '{}', '{"v":1}', '{"v": 1,', '<html></html>', '\u0000\u0001', 'NaN', '{"v":1}garbage', JSON.stringify([valid])]) out.push({ name: `body ${body.slice(0, 12)}`, body, expect: [400] });
  return out;
}

/** Runs cases with some concurrency; returns the failures (status not as expected, or a 4xx without {error}). */
async function run(cases: Case[], concurrency = 16): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const c = cases[next++]!;
      const res = await post(server.url, c.token === undefined ? ALL : c.token, c.body, c.headers);
      const text = await res.text();
      if (!c.expect.includes(res.status)) failures.push(`${c.name}: ${res.status} ${text.slice(0, 200)}`);
      else if (res.status >= 400) {
        try {
          if (typeof JSON.parse(text).error !== 'string') failures.push(`${c.name}: no error message`);
        } catch {
          failures.push(`${c.name}: not JSON: ${text.slice(0, 100)}`);
        }
      } else if (c.duplicate !== undefined && JSON.parse(text).duplicate !== (c.duplicate || undefined)) failures.push(`${c.name}: duplicate = ${JSON.parse(text).duplicate}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return failures;
}

const healthy = async () => expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ ok: true, db: 'ok' });

describe('fleet server: 1,000+ bad requests', () => {
  const valid: Batch[] = [];
  let total = 0;

  it('accepts the valid batches, HTML in tag values included', async () => {
    const cases: Case[] = [];
    for (let i = 1; i <= 3; i++) cases.push({ name: `valid ${i}`, body: '', expect: [200], valid: base(i, 'fuzz-a', i) });
    cases.push({ name: 'valid other source', body: '', expect: [200], valid: base(1, 'fuzz-b', 7) });
    for (let i = 0; i < 4; i++) {
      const b = base(10 + i, 'fuzz-a', 10 + i, [`${HTML}-${i}`, 'cam-2']);
      b.source.monitors[0]!.tags = { camera_id: HTML, location: '"><svg onload=alert(3)>' };
      b.rollups.push(...rollupsFor(T0 + (20 + i) * MIN, 1, 20 + i, ['cam-3'], { note: HTML }));
      cases.push({ name: `valid HTML ${i}`, body: '', expect: [200], valid: b });
    }
    for (const c of cases) c.body = JSON.stringify(c.valid);
    expect(await run(cases, 1)).toEqual([]);
    valid.push(...cases.map((c) => c.valid!));
    total += cases.length;
    expect(valid[4]!.rollups.some((r) => r.g === tagKey({ camera_id: `${HTML}-0`, location: 'line-3' }))).toBe(true);
  });

  it('refuses every schema mutation with 400', async () => {
    const cases = mutations();
    expect(cases.length).toBeGreaterThan(700);
    expect(await run(cases)).toEqual([]);
    total += cases.length;
    await healthy();
  });

  it('answers exact replays as duplicates, and the same seq with other content as a conflict (409)', async () => {
    const cases: Case[] = [];
    for (let i = 0; i < 40; i++) cases.push({ name: `replay ${i}`, body: JSON.stringify(valid[i % valid.length]), expect: [200], duplicate: true });
    for (let i = 0; i < 40; i++) {
      const b = base(1 + (i % 3), 'fuzz-a', 50 + i);
      cases.push({ name: `same seq, other content ${i}`, body: JSON.stringify(b), expect: [409] });
    }
    expect(await run(cases)).toEqual([]);
    total += cases.length;
    await healthy();
  });

  it('refuses bad tokens (401) and other sources for a scoped token (403)', async () => {
    const body = JSON.stringify(base(500));
    const cases: Case[] = [];
    for (let i = 0; i < 60; i++) cases.push({ name: `wrong token ${i}`, body, token: `wrong-${i}-${'x'.repeat(i)}`, expect: [401] });
    for (const auth of ['', 'Bearer', 'Bearer ', `bearer${ALL}`, `Basic ${ALL}`, `Bearer ${ALL} x`, `Bearer ${ALL.slice(0, -1)}`, `Bearer ${ALL}0`, `Token ${ALL}`, `Bearer ${'x'.repeat(600)}`])
      cases.push({ name: `auth header ${auth.slice(0, 12)}`, body, token: null, headers: auth ? { authorization: auth } : {}, expect: [401] });
    for (let i = 0; i < 60; i++) cases.push({ name: `scoped token, source ${i}`, body: JSON.stringify(base(600 + i, `other-${i}`)), token: SCOPED, expect: [403] });
    expect(await run(cases)).toEqual([]);
    total += cases.length;
    await healthy();
  });

  it('refuses bad content types and encodings (415)', async () => {
    const body = JSON.stringify(base(700));
    const cases: Case[] = [];
    for (const ct of ['text/plain', 'text/html', 'application/xml', 'multipart/form-data', 'application/jsonp', 'application/x-www-form-urlencoded', '', 'json', 'application/json-seq', 'text/json'])
      cases.push({ name: `content-type ${ct}`, body, headers: { 'content-type': ct }, expect: [415] });
    for (const ce of ['br', 'deflate', 'compress', 'gzip, br', 'identity, gzip', 'zstd', 'x-compress', 'bogus'])
      cases.push({ name: `content-encoding ${ce}`, body, headers: { 'content-encoding': ce }, expect: [415] });
    for (const bad of ['plain text', '\x1f\x8b\x08\x00garbage', gzipSync(body).subarray(0, 40)])
      cases.push({ name: 'bad gzip', body: bad, headers: { 'content-encoding': 'gzip' }, expect: [400] });
    expect(await run(cases)).toEqual([]);
    total += cases.length;
    await healthy();
  });

  it('refuses oversized bodies and gzip bombs (413)', async () => {
    const cases: Case[] = [];
    for (let i = 0; i < 8; i++) cases.push({ name: `oversized ${i}`, body: JSON.stringify({ ...base(800 + i), pad: 'x'.repeat(1_100_000 + i * 100_000) }), expect: [413] });
    for (let i = 0; i < 8; i++) cases.push({ name: `bomb ${i}`, body: gzipSync(Buffer.alloc(9_000_000 + i * 5_000_000, i)), headers: { 'content-encoding': 'gzip' }, expect: [413] });
    // a gzipped batch that inflates past the limit (a real JSON document, padded)
    cases.push({ name: 'inflates past 8 MiB', body: gzipSync(JSON.stringify({ ...base(850), pad: 'y'.repeat(9_000_000) })), headers: { 'content-encoding': 'gzip' }, expect: [413] });
    expect(await run(cases, 4)).toEqual([]);
    total += cases.length;
    await healthy();
  });

  it('holds exactly what the valid requests wrote', async () => {
    expect(total).toBeGreaterThan(1000);
    console.log(`fleet server: ${total} generated requests (${valid.length} valid batches)`);
    const d = new Database(server.dbPath, { readonly: true, fileMustExist: true });
    try {
      const batches = d.prepare('SELECT source, seq FROM batches ORDER BY source, seq').all();
      expect(batches).toEqual(valid.map((b) => ({ source: b.source.id, seq: b.seq })).sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : a.seq - b.seq)));
      expect(d.prepare('SELECT id FROM sources ORDER BY id').pluck().all()).toEqual(['fuzz-a', 'fuzz-b']);
      expect(d.prepare('SELECT count(*) FROM alerts').pluck().get()).toBe(valid.length);
      // each alert's probable cause and evidence kept as sent (its HTML too: it is text)
      expect((d.prepare('SELECT data FROM alerts').pluck().all() as string[]).map((j) => JSON.parse(j).evidence)).toEqual(valid.map((b) => b.alerts[0]!.evidence));
      expect(d.prepare('SELECT count(*) FROM flagged').pluck().get()).toBe(valid.length);
    } finally {
      d.close();
    }
    const rows = valid.flatMap((b) => b.rollups.map((rollup) => ({ source: b.source.id, rollup })));
    const res = await getJson(server.url, ALL, `/v1/totals?from=${T0}&to=${T0 + 60 * MIN}`);
    expect(res.body).toEqual(viaJson(totalsOf(mergeAll(rows))));
    expect(res.body.frames).toBe(rows.reduce((a, r) => a + r.rollup.frames, 0));
    // nothing polluted the server's prototypes: a fresh query still works
    await healthy();
  });
});
