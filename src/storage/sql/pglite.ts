import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Sql, SqlQueryable } from '../types.js';
import { StoreUnavailableError } from '../types.js';
import { setSearchPathStatement } from './schema.js';

/**
 * tokenmill's tables are small and hot rows are cached in process: PostgreSQL's default 128 MB of
 * shared buffers would only add resident memory (measured: 283 MB → 149 MB for PGlite alone).
 */
export const PGLITE_OPTIONS = { postgresqlconf: ['shared_buffers = 8MB'] };

const INIT_SCRIPT = fileURLToPath(new URL('./pglite-init.js', import.meta.url));

/**
 * Runs PGlite's initdb for a new data directory in a short-lived child process. Done in this
 * process, initdb's WebAssembly instance stays reachable from PGlite and keeps ~430 MB resident
 * for the life of the server (measured: 595 MB RSS idle after a first start, 165 MB after a
 * restart on the same directory).
 */
function initializeInChildProcess(dataDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--liftoff-only', INIT_SCRIPT, dataDir], { timeout: 120_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const reason = stderr.trim().split('\n').at(-1) || err.message;
      reject(new Error(`initializing the embedded database in ${dataDir} failed: ${reason}`));
    });
  });
}

/**
 * Embedded PostgreSQL (WASM). `dataDir` null keeps it in memory (tests). PGlite is a single
 * connection, so transactions are serialised by PGlite itself, and `schema` (DATABASE_SCHEMA) is
 * set as its search_path once.
 */
export async function openPglite(dataDir: string | null, options: { schema?: string } = {}): Promise<Sql> {
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (!existsSync(join(dataDir, 'PG_VERSION'))) await initializeInChildProcess(dataDir);
  }
  const db = dataDir ? new PGlite(dataDir, PGLITE_OPTIONS) : new PGlite(undefined, PGLITE_OPTIONS);
  await db.waitReady;
  if (options.schema !== undefined) await db.query(setSearchPathStatement(options.schema));
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
