/** Prepared statements of the forwarding code, cached per database connection (by their SQL). */
import type Database from 'better-sqlite3';
import type { FleetDb } from '../db.ts';

/** Prepared statements per database connection. */
const cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();
export function st(db: FleetDb, sql: string): Database.Statement {
  let m = cache.get(db.db);
  if (!m) cache.set(db.db, (m = new Map()));
  let s = m.get(sql);
  if (!s) m.set(sql, (s = db.db.prepare(sql)));
  return s;
}
