/** Starts the real reference server (`src/server/main.ts`) for a browser test: its own SQLite file, port and tokens. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');

export interface FleetServer {
  url: string;
  db: string;
  proc: ChildProcess;
  /** stops the process (SIGTERM) and waits for it to exit */
  stop(): Promise<void>;
  /** starts it again on the same port and database */
  restart(): Promise<void>;
  /** GET a /v1 path with the token */
  get<T>(path: string, params?: Record<string, string | number>): Promise<T>;
}

export async function startFleetServer(opts: { port: number; tokens: string; cors?: string[]; intervalMs?: number; dir?: string; env?: Record<string, string> }): Promise<FleetServer> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'fleet-'));
  const db = join(dir, 'fleet.sqlite');
  const url = `http://127.0.0.1:${opts.port}`;
  const token = opts.tokens.split(',')[0]!.split(':')[1]!;
  const env = {
    ...process.env,
    PORT: String(opts.port),
    HOST: '127.0.0.1',
    FLEET_DB: db,
    FLEET_TOKENS: opts.tokens,
    FLEET_CORS: (opts.cors ?? []).join(','),
    FLEET_STATIC: join(root, 'dist-e2e'),
    FLEET_INTERVAL_MS: String(opts.intervalMs ?? 60_000),
    ...opts.env,
  };
  const server: FleetServer = {
    url,
    db,
    proc: undefined as unknown as ChildProcess,
    async stop() {
      const p = server.proc;
      if (p.exitCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (p.exitCode === null) p.kill('SIGKILL');
    },
    async restart() {
      server.proc = spawn(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'src', 'server', 'main.ts')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      server.proc.stdout!.on('data', (d) => (log += d));
      server.proc.stderr!.on('data', (d) => (log += d));
      const end = Date.now() + 30_000;
      for (;;) {
        try {
          if ((await fetch(`${url}/healthz`)).ok) return;
        } catch {}
        if (server.proc.exitCode !== null || Date.now() > end) throw new Error(`the fleet server did not start: ${log.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async get<T>(path: string, params: Record<string, string | number> = {}) {
      const u = new URL(path, url);
      for (const [k, v] of Object.entries(params)) u.searchParams.set(k, String(v));
      const res = await fetch(u, { headers: { authorization: `Bearer ${token}` } });
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
  };
  await server.restart();
  return server;
}
