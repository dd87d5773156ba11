import type { SeedVerdict, Sql } from '../types.js';

/**
 * Whether seeding the fast store `name` now is a first seeding (nothing can have been lost) rather
 * than a re-seed after it lost data, recorded in PostgreSQL so that a Redis that comes back empty
 * cannot make itself look new. `runId` identifies the Redis server run (INFO run_id): the same run
 * as recorded means another node is seeding the same new Redis at this moment; a different run
 * means Redis restarted, and may have lost replay markers. Without a run id, a known store counts
 * as a loss (the safe answer). A loss is recorded as such (`<run> lost`), so that every node that
 * asks during this run hears a loss too, until a seeding completes (markSeeded). A loss in the run
 * whose seeding was recorded complete also says how long ago that was: the node that recorded it
 * sets the markers with its next command, so the markers may be missing only because they are not
 * set yet.
 */
export async function seedVerdict(sql: Sql, name: string, runId: string | null): Promise<SeedVerdict> {
  const value = runId ?? 'unknown';
  const inserted = await sql.query('INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING name', [name, value]);
  if (inserted.rows.length > 0) return { first: true, sameRunSeededMsAgo: null };
  const { rows } = await sql.query<{ value: string; ms_ago: number | string }>('SELECT value, (EXTRACT(EPOCH FROM (now() - updated_at)) * 1000)::float8 AS ms_ago FROM settings WHERE name = $1', [
    name,
  ]);
  const recorded = rows[0];
  // Only while that run's seeding has not completed (see markSeeded): once it has, an unseeded
  // store of the same run lost its data without a restart (FLUSHALL, eviction, deleted keys).
  if (runId !== null && recorded?.value === runId) return { first: true, sameRunSeededMsAgo: null };
  await sql.query('UPDATE settings SET value = $2, updated_at = now() WHERE name = $1', [name, `${value} lost`]);
  const sameRunSeeded = runId !== null && recorded?.value === `${runId} seeded`;
  return { first: false, sameRunSeededMsAgo: sameRunSeeded ? Math.max(0, Number(recorded.ms_ago)) : null };
}

/**
 * Records that the seeding of run `runId` has completed; called before the store is marked seeded,
 * so that no claim can be made in that run before the record says so.
 */
export async function markSeeded(sql: Sql, name: string, runId: string | null): Promise<void> {
  const value = `${runId ?? 'unknown'} seeded`;
  await sql.query('INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = $2, updated_at = now()', [name, value]);
}
