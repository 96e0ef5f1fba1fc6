/**
 * Helpers for the fleet server tests: start the real server process (node + tsx) on a free port with a temp
 * database, build realistic batches from synthetic frame records, and post them.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticRecords } from '../e2e/pages/synthetic.ts';
import type { Batch, SourceInfo } from '../src/sync/payload.ts';
import type { AlertEvent } from '../src/health/types.ts';
import { type FrameRecord, tagKey } from '../src/telemetry/record.ts';
import { emptyRollup, mergeRollup, rollFrames, type Rollup } from '../src/telemetry/rollup.ts';

export const ROOT = join(import.meta.dirname, '..');
export const MIN = 60_000;
export const MV = '4c7094b7091d';

export interface Server {
  url: string;
  proc: ChildProcess;
  dir: string;
  dbPath: string;
  /** everything the process printed */
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts `src/server/main.ts` in a child process (PORT=0: the OS picks a free port) and waits for its start line. */
export async function startServer(env: Record<string, string>, dir = mkdtempSync(join(tmpdir(), 'fleet-'))): Promise<Server> {
  const dbPath = join(dir, 'db', 'fleet.sqlite');
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', HOST: '127.0.0.1', FLEET_DB: dbPath, FLEET_STATIC: join(dir, 'static'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start in 20 s:\n${out}`)), 20_000);
    const check = () => {
      const m = /fleet server on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', check);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}):\n${out}`));
    });
  });
  return {
    url, proc, dir, dbPath,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Frame records of one camera over some minutes (5 fps), with a few malformed and failed frames. */
export function frames(camera: string, start: number, minutes: number, seed: number, extraTags: Record<string, string> = {}): FrameRecord[] {
  const recs = syntheticRecords(minutes * 60 * 5, start, 5, { camera, seed, mv: MV });
  const g = tagKey({ camera_id: camera, location: 'line-3', ...extraTags });
  recs.forEach((r, i) => {
    r.g = g;
    r.i = { br: 100 + (i % 50), co: 40 + (i % 7), sa: 0.3 };
    if (i % 97 === 3) r.m = 'output has a non-finite value (NaN) at 7';
    else if (i % 131 === 5) r.e = 'timeout';
  });
  return recs;
}

/** Real 1-min rollups of 2 cameras over some minutes. */
export function rollupsFor(start: number, minutes: number, seed: number, cameras = ['cam-1', 'cam-2'], extraTags: Record<string, string> = {}): Rollup[] {
  return cameras.flatMap((c, i) => [...rollFrames(frames(c, start, minutes, seed * 10 + i, extraTags), '1m').values()]);
}

/** A monitor list for a source. */
export const monitors = (cameras = ['cam-1', 'cam-2']): SourceInfo['monitors'] =>
  cameras.map((c, i) => ({ src: `mon-${i}`, mv: MV, backend: 'wasm', tags: { camera_id: c, location: 'line-3' } }));

/** An alert state change. */
export function alert(rule: string, camera: string, state: 'firing' | 'resolved', t: number, id: string): AlertEvent {
  return { id, rule, name: `Rule ${rule}`, severity: 'warning', state, value: 0.2, threshold: 0.3, mv: MV, camera_id: camera, location: 'line-3', t, since: t - 30_000 };
}

/** A batch (JSON-ready: what a page sends). */
export function batch(source: string, seq: number, rollups: Rollup[], extra: Partial<Batch> = {}, device_id?: string): Batch {
  return {
    v: 1,
    source: { id: source, ...(device_id ? { device_id } : {}), app_version: '0.1.0', monitors: monitors() },
    seq,
    sentAt: Date.now(),
    rollups,
    alerts: [],
    flagged: [],
    baselines: [],
    dropped: 0,
    ...extra,
  };
}

/** Posts a body to /v1/batches. */
export function post(url: string, token: string | null, body: string | Uint8Array, headers: Record<string, string> = {}) {
  return fetch(`${url}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: body as BodyInit,
  });
}

/** GET with a token, as JSON. */
/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

export async function getJson(url: string, token: string, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

/** Merges rollups in the server's order (start, mv, g, source) — the same additions, so the same floats. */
export function mergeAll(rows: { source: string; rollup: Rollup }[], res: '1m' | '1h' = '1m', from = 0): Rollup {
  const m = emptyRollup(res, from, '*', '*');
  for (const r of sortRows(rows)) mergeRollup(m, r.rollup);
  return m;
}

/** Rows sorted as the server returns them. */
export const sortRows = (rows: { source: string; rollup: Rollup }[]) =>
  [...rows].sort((a, b) => a.rollup.start - b.rollup.start || cmp(a.rollup.mv, b.rollup.mv) || cmp(a.rollup.g, b.rollup.g) || cmp(a.source, b.source));
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A value through JSON (NaN and ±Infinity become null), as a client sees it. */
export const viaJson = <T>(x: T): unknown => JSON.parse(JSON.stringify(x));

/** VmHWM / VmRSS (bytes) of a process, from /proc (null elsewhere). */
export async function memoryOf(pid: number): Promise<{ rss: number; hwm: number } | null> {
  try {
    const { readFile } = await import('node:fs/promises');
    const s = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** A small parser of the Prometheus text format: families with their TYPE and samples. */
export function parseMetrics(text: string) {
  const types = new Map<string, string>();
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) {
      types.set(t[1]!, t[2]!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[3] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
    let at = 0;
    while (at < body.length) {
      re.lastIndex = at;
      const l = re.exec(body);
      if (!l) throw new Error(`bad labels in: ${line}`);
      labels[l[1]!] = l[2]!.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
      at = re.lastIndex;
    }
    const v = m[4]!;
    samples.push({ name: m[1]!, labels, value: v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v) });
  }
  return { types, samples };
}

/** Polls `fn` until it returns something truthy and not an empty array (every 200 ms), or fails naming `what`. */
export async function until<T>(fn: () => T | Promise<T>, what: string, timeout = 20_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeout;
  for (;;) {
    let v: T | undefined;
    try {
      v = await fn();
    } catch {
      // not there yet
    }
    if (v && !(Array.isArray(v) && v.length === 0)) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A request a receiver got, and what it answered. */
export interface Delivery {
  path: string;
  key: string | undefined;
  body: any;
  status: number;
  at: number;
}

/** An HTTP receiver that records every POST and answers what `answer` says (200 by default). */
export class Receiver {
  got: Delivery[] = [];
  answer: (d: Delivery) => { status: number; headers?: Record<string, string> } = () => ({ status: 200 });
  port = 0;
  private server: HttpServer | null = null;

  async listen(port = this.port): Promise<void> {
    const server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body: unknown = null;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch { /* not JSON */ }
        const d: Delivery = { path: req.url ?? '', key: req.headers['idempotency-key'] as string | undefined, body, status: 0, at: Date.now() };
        const a = this.answer(d);
        d.status = a.status;
        this.got.push(d);
        res.writeHead(a.status, { 'content-type': 'text/plain', ...a.headers });
        res.end(a.status < 300 ? 'ok' : 'failed');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Stops listening and drops open connections (a client then gets ECONNREFUSED). */
  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = null;
    const closed = new Promise((r) => s.close(r));
    s.closeAllConnections();
    await closed;
  }

  /** Deliveries with an Idempotency-Key answered 2xx. */
  ok(key: string) {
    return this.got.filter((d) => d.key === key && d.status >= 200 && d.status < 300);
  }
}
