import { mkdirSync } from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Sql, SqlQueryable } from '../types.js';
import { StoreUnavailableError } from '../types.js';

/**
 * Embedded PostgreSQL (WASM). `dataDir` null keeps it in memory (tests). PGlite is a single
 * connection, so transactions are serialised by PGlite itself.
 */
export async function openPglite(dataDir: string | null): Promise<Sql> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  // tokenmill's tables are small and hot rows are cached in process: PostgreSQL's default 128 MB
  // of shared buffers would only add resident memory (measured: 283 MB → 149 MB for PGlite alone).
  const options = { postgresqlconf: ['shared_buffers = 8MB'] };
  const db = dataDir ? new PGlite(dataDir, options) : new PGlite(undefined, options);
  await db.waitReady;
  let closed = false;
  const wrap = (q: Pick<PGlite | Transaction, 'query'>): SqlQueryable => ({
    async query<Row>(text: string, params?: readonly unknown[]) {
      if (closed) throw new StoreUnavailableError('database');
      const result = await q.query<Row>(text, params as unknown[] | undefined);
      return { rows: result.rows };
    },
  });
  const top = wrap(db);
  return {
    query: top.query,
    async transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
      if (closed) throw new StoreUnavailableError('database');
      return db.transaction((tx) => fn(wrap(tx)));
    },
    async close() {
      if (closed) return;
      closed = true;
      await db.close();
    },
  };
}
