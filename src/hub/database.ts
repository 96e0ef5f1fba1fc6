/** The page's IndexedDB database: the store's, flagging's and sync's schema slices composed (one name, one version). */
import type { DBSchema, IDBPDatabase } from 'idb';
import { composeMigrations, type DbSpec, type StoreDB, storeMigrations } from '../store/schema.ts';
import { type FlagDB, flagMigrations } from '../flagging/schema.ts';
import { type SyncDB, syncMigrations } from '../sync/schema.ts';

export interface MonitorDB extends StoreDB, FlagDB, SyncDB {}

export const MONITOR_DB: DbSpec = {
  name: 'inference-health',
  version: 9,
  migrations: composeMigrations(storeMigrations, flagMigrations, syncMigrations),
};

/** The open database as one feature's slice of it: each feature names only its own stores. */
export const sliceOf = <S extends DBSchema>(db: IDBPDatabase<StoreDB> | undefined) => db as unknown as IDBPDatabase<S> | undefined;
