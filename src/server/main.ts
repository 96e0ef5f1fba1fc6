/**
 * `npm run server`: the reference fleet server. Loads the configuration, opens the database (retention at
 * start and hourly), serves the app on HOST:PORT, forwards alerts (forward.ts: Alertmanager, webhook,
 * device-down), and on SIGINT/SIGTERM closes the server, stops forwarding, and checkpoints and closes the database.
 */
import { serve } from '@hono/node-server';
import { createApp } from './app.ts';
import { limitsFrom } from './bounds.ts';
import { ConfigError, loadConfig } from './config.ts';
import { FleetDb } from './db.ts';
import { Forwarder } from './forward.ts';

/** Starts the server; resolves once it listens. */
export async function main(env: Record<string, string | undefined> = process.env) {
  let config;
  let limits;
  try {
    config = loadConfig(env);
    limits = limitsFrom(env);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`fleet server: ${e.message}`);
      process.exit(1);
    }
    throw e;
  }
  let db: FleetDb;
  try {
    db = FleetDb.open(config.dbPath);
  } catch (e) {
    console.error(`fleet server: cannot open the database ${config.dbPath}: ${(e as Error).message}`);
    process.exit(1);
  }
  db.limits = limits;
  const prune = () => {
    try {
      db.retention();
    } catch (e) {
      console.error(`fleet server: retention failed: ${(e as Error).message}`);
    }
  };
  db.imageQuota = config.imageQuota ?? Infinity;
  prune();
  const hourly = setInterval(prune, 3600_000);
  hourly.unref();

  const forwarder = new Forwarder(db, config);
  const app = createApp(config, db);
  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
    const host = info.address.includes(':') ? `[${info.address}]` : info.address;
    forwarder.start(`http://${host}:${info.port}`);
    console.log(`fleet server on http://${host}:${info.port} (db ${config.dbPath})`);
  });
  server.on('error', (e) => {
    console.error(`fleet server: ${e.message}`);
    process.exit(1);
  });

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    clearInterval(hourly);
    const force = setTimeout(() => {
      void forwarder.stop(0);
      db.close();
      process.exit(0);
    }, 5000);
    force.unref();
    const stopping = forwarder.stop();
    server.close(() => {
      void stopping.then(() => {
        db.close();
        console.log(`fleet server: stopped (${signal})`);
        process.exit(0);
      });
    });
    (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('src/server/main.ts')) await main();
