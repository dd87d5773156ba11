import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ConfigSchema } from '../../config/schema.js';
import { secureDataDir } from '../../lib/data-dir.js';
import type { Sql } from '../types.js';
import { migrate, type MigrateOptions } from './migrate.js';
import { openPglite } from './pglite.js';

/**
 * The part of the configuration that names the database, for the offline commands (`tokenmill
 * migrate`, `export`, `import`): they neither serve nor need the server's other settings, and
 * validate these with the server's own schema.
 */
export interface DatabaseSettings {
  databaseUrl: string | null;
  databaseSchema: string;
  dataDir: string;
  keyEncryptionKey: string | null;
}

const DatabaseSettingsSchema = Type.Pick(ConfigSchema, ['DATABASE_URL', 'DATABASE_SCHEMA', 'DATA_DIR', 'KEY_ENCRYPTION_KEY']);

export class DatabaseSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseSettingsError';
  }
}

export function databaseSettings(env: Record<string, string | undefined>): DatabaseSettings {
  const input: Record<string, unknown> = {};
  for (const name of Object.keys(DatabaseSettingsSchema.properties)) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') input[name] = raw;
  }
  const withDefaults = Value.Default(DatabaseSettingsSchema, input) as Record<string, string | undefined>;
  const first = Value.Errors(DatabaseSettingsSchema, withDefaults).First();
  if (first) {
    const name = first.path.replace(/^\//, '').split('/')[0] ?? '';
    const prop = (DatabaseSettingsSchema.properties as Record<string, { description?: string }>)[name];
    const shown = name === 'KEY_ENCRYPTION_KEY' ? '<hidden>' : JSON.stringify(env[name] ?? '');
    throw new DatabaseSettingsError(`invalid ${name}=${shown}: ${first.message}${prop?.description ? ` (${prop.description})` : ''}`);
  }
  return {
    databaseUrl: withDefaults.DATABASE_URL ?? null,
    databaseSchema: withDefaults.DATABASE_SCHEMA ?? 'tokenmill',
    dataDir: withDefaults.DATA_DIR ?? './data',
    keyEncryptionKey: withDefaults.KEY_ENCRYPTION_KEY ?? null,
  };
}

export interface OpenDatabase {
  sql: Sql;
  /** `postgresql (host/db, schema s)` or `pglite (dir, schema s)`, for messages */
  description: string;
  embedded: boolean;
  migrateOptions: MigrateOptions;
}

/** Whether the settings name an embedded database that has not been created yet. */
export function embeddedDatabaseMissing(settings: DatabaseSettings): boolean {
  return !settings.databaseUrl && !existsSync(join(settings.dataDir, 'pglite', 'PG_VERSION'));
}

/** Opens the database the settings name, as a node would (without migrating). */
export async function openDatabase(settings: DatabaseSettings): Promise<OpenDatabase> {
  const schema = settings.databaseSchema;
  if (settings.databaseUrl) {
    const u = new URL(settings.databaseUrl);
    const { openPostgres } = await import('./postgres.js');
    let sql: Sql;
    try {
      sql = await openPostgres(settings.databaseUrl, undefined, { schema });
    } catch (err) {
      const cause = (err as Error).cause as Error | undefined;
      throw new Error(`cannot reach PostgreSQL at ${u.host}${u.pathname} (DATABASE_URL): ${cause?.message ?? (err as Error).message}`, { cause: err });
    }
    return { sql, description: `postgresql (${u.host}${u.pathname}, schema ${schema})`, embedded: false, migrateOptions: { schema, legacyTables: 'refuse' } };
  }
  // As a node does: DATA_DIR 0700, its files 0600 (PGlite creates them 0666), before and after.
  secureDataDir(settings.dataDir);
  const dir = join(settings.dataDir, 'pglite');
  const pglite = await openPglite(dir, { schema });
  const sql: Sql = {
    // openPglite's functions are closures (no `this`).
    query: pglite.query,
    transaction: pglite.transaction,
    async close() {
      await pglite.close();
      secureDataDir(settings.dataDir);
    },
  };
  return { sql, description: `pglite (${dir}, schema ${schema})`, embedded: true, migrateOptions: { schema, legacyTables: 'move' } };
}

/** Opens and migrates, as a node does at start. */
export async function openMigrated(settings: DatabaseSettings): Promise<OpenDatabase & { applied: number[] }> {
  const db = await openDatabase(settings);
  try {
    return { ...db, applied: await migrate(db.sql, db.migrateOptions) };
  } catch (err) {
    await db.sql.close().catch(() => {});
    throw err;
  }
}

/**
 * The key-encryption key a node on these settings would use, without generating one: the
 * configured KEY_ENCRYPTION_KEY, else the one kept in DATA_DIR (development), else null.
 */
export function existingKeyEncryptionKey(settings: DatabaseSettings): { key: string; from: string } | null {
  if (settings.keyEncryptionKey) return { key: settings.keyEncryptionKey, from: 'KEY_ENCRYPTION_KEY' };
  const file = join(settings.dataDir, 'key-encryption-key');
  if (existsSync(file)) return { key: readFileSync(file, 'utf8').trim(), from: `${file}` };
  return null;
}
