import type { Sql } from '../types.js';
import { legacyPublicTables, ownTables, prepareSchema, type LegacyTables } from './schema.js';
import * as m001 from './migrations/001-initial.js';
import * as m002 from './migrations/002-tokens-revoked-before.js';
import * as m003 from './migrations/003-settings.js';
import * as m004 from './migrations/004-client-last-used.js';
import * as m005 from './migrations/005-token-quotas.js';
import * as m006 from './migrations/006-organizations.js';
import * as m007 from './migrations/007-org-token-quota.js';
import * as m008 from './migrations/008-console-sessions.js';

interface Migration {
  version: number;
  up: string;
}
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, up: m001.up },
  { version: 2, up: m002.up },
  { version: 3, up: m003.up },
  { version: 4, up: m004.up },
  { version: 5, up: m005.up },
  { version: 6, up: m006.up },
  { version: 7, up: m007.up },
  { version: 8, up: m008.up },
];

/** Arbitrary constant shared by every node: the advisory lock that serialises migrations. */
const MIGRATION_LOCK = 746_116_001;

export interface MigrateOptions {
  /**
   * DATABASE_SCHEMA: created first when missing; the connection's search_path must already name it
   * (openPostgres / openPglite with the same schema). Unset: whatever the search_path says.
   */
  schema?: string;
  /** tables of an earlier release in `public`: moved (embedded) or refused with instructions (default) */
  legacyTables?: LegacyTables;
  /** told about tables moved out of `public` */
  onMoved?: (tables: string[]) => void;
}

/**
 * Applies pending migrations in one transaction under a PostgreSQL advisory transaction lock, so
 * several nodes starting at once apply each migration exactly once; the losers wait, then find
 * nothing left to do.
 */
export async function migrate(sql: Sql, options: MigrateOptions = {}): Promise<number[]> {
  return sql.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    if (options.schema !== undefined) {
      const moved = await prepareSchema(tx, options.schema, options.legacyTables ?? 'refuse', ownTables(MIGRATIONS.map((m) => m.up)));
      if (moved.length) options.onMoved?.(moved);
    }
    await tx.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const { rows } = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((r) => Number(r.version)));
    const done: number[] = [];
    for (const m of MIGRATIONS) {
      if (applied.has(m.version)) continue;
      for (const statement of splitStatements(m.up)) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (version) VALUES ($1)', [m.version]);
      done.push(m.version);
    }
    return done;
  });
}

export interface MigrationStatus {
  /** versions of this release already applied */
  applied: number[];
  /** versions of this release not applied yet */
  pending: number[];
  /** versions the database has that this release does not know (applied by a newer release) */
  newer: number[];
  /** an earlier release's tables in `public` that DATABASE_SCHEMA does not name (see schema.ts) */
  legacyPublicTables: string[];
}

/** What `migrate` would do, read without the lock and without changing anything. */
export async function migrationStatus(sql: Sql, options: Pick<MigrateOptions, 'schema'> = {}): Promise<MigrationStatus> {
  const legacy = options.schema === undefined ? [] : await legacyPublicTables(sql, options.schema, ownTables(MIGRATIONS.map((m) => m.up)));
  const { rows: exists } = await sql.query<{ present: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS present");
  const versions = exists[0]?.present ? (await sql.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => Number(r.version)) : [];
  const known = new Set(MIGRATIONS.map((m) => m.version));
  const have = new Set(versions);
  return {
    applied: MIGRATIONS.filter((m) => have.has(m.version)).map((m) => m.version),
    pending: MIGRATIONS.filter((m) => !have.has(m.version)).map((m) => m.version),
    newer: versions.filter((v) => !known.has(v)),
    legacyPublicTables: legacy,
  };
}

/** Our migrations hold no semicolons inside literals or bodies, so a split on `;` at line end is exact. */
function splitStatements(script: string): string[] {
  return script
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
