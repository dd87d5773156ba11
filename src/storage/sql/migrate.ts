import type { Sql } from '../types.js';
import * as m001 from './migrations/001-initial.js';
import * as m002 from './migrations/002-tokens-revoked-before.js';
import * as m003 from './migrations/003-settings.js';
import * as m004 from './migrations/004-client-last-used.js';

interface Migration {
  version: number;
  up: string;
}
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, up: m001.up },
  { version: 2, up: m002.up },
  { version: 3, up: m003.up },
  { version: 4, up: m004.up },
];

/** Arbitrary constant shared by every node: the advisory lock that serialises migrations. */
const MIGRATION_LOCK = 746_116_001;

/**
 * Applies pending migrations in one transaction under a PostgreSQL advisory transaction lock, so
 * several nodes starting at once apply each migration exactly once; the losers wait, then find
 * nothing left to do.
 */
export async function migrate(sql: Sql): Promise<number[]> {
  return sql.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
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

/** Our migrations hold no semicolons inside literals or bodies, so a split on `;` at line end is exact. */
function splitStatements(script: string): string[] {
  return script
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
