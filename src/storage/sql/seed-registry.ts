import type { Sql } from '../types.js';

/**
 * Whether seeding the fast store `name` now is a first seeding (nothing can have been lost) rather
 * than a re-seed after it lost data, recorded in PostgreSQL so that a Redis that comes back empty
 * cannot make itself look new. `runId` identifies the Redis server run (INFO run_id): the same run
 * as recorded means another node is seeding the same new Redis at this moment; a different run
 * means Redis restarted, and may have lost replay markers. Without a run id, a known store counts
 * as a loss (the safe answer).
 */
export async function isFirstSeed(sql: Sql, name: string, runId: string | null): Promise<boolean> {
  const value = runId ?? 'unknown';
  const inserted = await sql.query('INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING name', [name, value]);
  if (inserted.rows.length > 0) return true;
  const { rows } = await sql.query<{ value: string }>('SELECT value FROM settings WHERE name = $1', [name]);
  // Only while that run's seeding has not completed (see markSeeded): once it has, an unseeded
  // store of the same run lost its data without a restart (FLUSHALL, eviction, deleted keys).
  if (runId !== null && rows[0]?.value === runId) return true;
  await sql.query('UPDATE settings SET value = $2, updated_at = now() WHERE name = $1', [name, value]);
  return false;
}

/**
 * Records that the seeding of run `runId` has completed; called before the store is marked seeded,
 * so that no claim can be made in that run before the record says so.
 */
export async function markSeeded(sql: Sql, name: string, runId: string | null): Promise<void> {
  const value = `${runId ?? 'unknown'} seeded`;
  await sql.query('INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = $2, updated_at = now()', [name, value]);
}
