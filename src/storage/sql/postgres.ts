import pg from 'pg';
import type { Logger } from 'pino';
import type { Sql, SqlQueryable } from '../types.js';
import { StoreUnavailableError } from '../types.js';
import { searchPathOption } from './schema.js';

/** Errors that mean "the database is not there", as opposed to a bad statement. */
function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (!e || typeof e !== 'object') return false;
  if (typeof e.code === 'string') {
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN'].includes(e.code)) return true;
    // 08xxx connection exceptions, 57P01-57P03 admin shutdown / cannot connect now, 53300 too many connections
    if (/^(08|57P0)/.test(e.code) || e.code === '53300') return true;
  }
  return /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(e.message ?? '');
}

function translate(err: unknown): never {
  if (isConnectionError(err)) throw new StoreUnavailableError('database', err);
  throw err;
}

/**
 * `schema` (DATABASE_SCHEMA) becomes the search_path of every connection, through the startup
 * parameter `options` (merged with one the URL carries: the URL's would otherwise win).
 */
function poolTarget(url: string, schema: string | undefined): { connectionString: string; options?: string } {
  if (schema === undefined) return { connectionString: url };
  const u = new URL(url);
  const existing = u.searchParams.get('options');
  u.searchParams.delete('options');
  return { connectionString: u.toString(), options: searchPathOption(schema, existing) };
}

/** PostgreSQL through a `pg` pool. Connection failures surface as StoreUnavailableError (→ 503). */
export async function openPostgres(url: string, logger?: Logger, options: { schema?: string } = {}): Promise<Sql> {
  const pool = new pg.Pool({ ...poolTarget(url, options.schema), max: 10, connectionTimeoutMillis: 2000, idleTimeoutMillis: 30000, statement_timeout: 5000 } as pg.PoolConfig);
  // An idle client losing its connection emits 'error' on the pool; without a listener it would crash the process.
  pool.on('error', (err) => logger?.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'postgres pool client error'));
  const query = async <Row>(q: pg.Pool | pg.PoolClient, text: string, params?: readonly unknown[]) => {
    try {
      const result = await q.query(text, params as unknown[] | undefined);
      return { rows: result.rows as Row[] };
    } catch (err) {
      return translate(err);
    }
  };
  const sql: Sql = {
    query: (text, params) => query(pool, text, params),
    async transaction(fn) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        return translate(err);
      }
      const tx: SqlQueryable = { query: (text, params) => query(client, text, params) };
      try {
        await tx.query('BEGIN');
        const result = await fn(tx);
        await tx.query('COMMIT');
        client.release();
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
          client.release();
        } catch (rollbackErr) {
          client.release(rollbackErr as Error);
        }
        throw err;
      }
    },
    async close() {
      await pool.end();
    },
  };
  try {
    await sql.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
  return sql;
}
