import type { Sql, SqlQueryable } from '../types.js';
import { StoreUnavailableError } from '../types.js';

/** What the decorator reports per statement (lib/metrics-registry.ts's `dbQuery`). */
export type SqlObserver = (seconds: number, error: 'unavailable' | 'statement' | null) => void;

/**
 * Wraps any Sql (PostgreSQL or PGlite) so every statement, inside transactions too, reports its
 * duration and whether it failed: `unavailable` when the database could not be reached
 * (StoreUnavailableError), `statement` when the database refused it.
 */
export function instrumentSql(sql: Sql, observe: SqlObserver): Sql {
  const timed = (q: SqlQueryable): SqlQueryable['query'] =>
    async function query<Row>(text: string, params?: readonly unknown[]) {
      const start = performance.now();
      try {
        const result = await q.query<Row>(text, params);
        observe((performance.now() - start) / 1000, null);
        return result;
      } catch (err) {
        observe((performance.now() - start) / 1000, err instanceof StoreUnavailableError ? 'unavailable' : 'statement');
        throw err;
      }
    };
  return {
    query: timed(sql),
    transaction: (fn) => sql.transaction((tx) => fn({ query: timed(tx) })),
    close: () => sql.close(),
  };
}
