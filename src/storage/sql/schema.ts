import type { SqlQueryable } from '../types.js';

/**
 * DATABASE_SCHEMA: every tokenmill table lives in one PostgreSQL schema (default `tokenmill`), so a
 * database shared with other applications sees no generic `clients` or `settings` in `public`.
 * Each connection's search_path is that schema alone (pg: the `options` startup parameter; PGlite:
 * `SET search_path` once, it is one session), so every statement keeps its unqualified table
 * names, and the migrations create the schema before anything else.
 */

/** What config accepts: a lower-case identifier that needs no quoting rules of its own, not pg_…. */
export const SCHEMA_NAME = /^(?!pg_)[a-z_][a-z0-9_]{0,62}$/;

/** A double-quoted identifier (a schema named like a keyword, `user`, still works). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function checked(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid database schema name ${JSON.stringify(schema)}: lower-case letters, digits and _, at most 63, not starting with pg_`);
  return schema;
}

/** The `-c search_path=…` startup option of a pg connection, merged with `options` already in the URL. */
export function searchPathOption(schema: string, existing?: string | null): string {
  const own = `-c search_path=${quoteIdent(checked(schema))}`;
  return existing ? `${existing} ${own}` : own;
}

/** The statement PGlite (one session) runs once after opening. */
export function setSearchPathStatement(schema: string): string {
  return `SET search_path TO ${quoteIdent(checked(schema))}`;
}

/** Tables the migrations create (parsed from their SQL, so later migrations count too), and the migration table. */
export function ownTables(scripts: readonly string[]): string[] {
  const names = new Set<string>(['schema_migrations']);
  for (const s of scripts) for (const m of s.matchAll(/CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([a-z_][a-z0-9_]*)/gi)) names.add(m[1]!.toLowerCase());
  return [...names];
}

async function tableExists(q: SqlQueryable, schema: string, table: string): Promise<boolean> {
  const { rows } = await q.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [`${quoteIdent(schema)}.${quoteIdent(table)}`]);
  return rows[0]?.present === true;
}

async function schemaExists(q: SqlQueryable, schema: string): Promise<boolean> {
  const { rows } = await q.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
  return rows.length > 0;
}

/**
 * What to do with tables an earlier release left in `public` when DATABASE_SCHEMA names another
 * schema that has none yet: `move` them (the embedded database belongs to tokenmill alone), or
 * `refuse` with the statements that move them (a shared PostgreSQL database: the operator decides,
 * and nodes of the earlier release still running read `public`).
 */
export type LegacyTables = 'move' | 'refuse';

/** The tables of an earlier release in `public` (empty when there are none or the schema has its own). */
export async function legacyPublicTables(q: SqlQueryable, schema: string, tables: readonly string[]): Promise<string[]> {
  if (schema === 'public') return [];
  if (await tableExists(q, schema, 'schema_migrations')) return [];
  if (!(await tableExists(q, 'public', 'schema_migrations'))) return [];
  const { rows } = await q.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY($1) ORDER BY tablename", [tables]);
  return rows.map((r) => r.tablename);
}

/** The statements that move an earlier release's tables (their indexes and sequences follow them). */
export function moveStatements(schema: string, tables: readonly string[]): string[] {
  return [`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`, ...tables.map((t) => `ALTER TABLE public.${quoteIdent(t)} SET SCHEMA ${quoteIdent(schema)}`)];
}

export class LegacyTablesError extends Error {
  readonly tables: string[];
  constructor(schema: string, tables: string[]) {
    super(
      `tokenmill's tables are in schema public (an earlier release) but DATABASE_SCHEMA=${schema} has none: ` +
        `either set DATABASE_SCHEMA=public to keep using them, or stop every node and move them in one transaction: ` +
        `BEGIN; ${moveStatements(schema, tables).join('; ')}; COMMIT;`,
    );
    this.name = 'LegacyTablesError';
    this.tables = tables;
  }
}

/**
 * Run by `migrate` first, inside its locked transaction: creates the schema when missing (the
 * CREATE privilege on the database is needed only then), and deals with an earlier release's
 * tables in `public`. Returns the tables moved.
 */
export async function prepareSchema(q: SqlQueryable, schema: string, legacy: LegacyTables, tables: readonly string[]): Promise<string[]> {
  checked(schema);
  if (!(await schemaExists(q, schema))) await q.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
  const found = await legacyPublicTables(q, schema, tables);
  if (found.length === 0) return [];
  if (legacy === 'refuse') throw new LegacyTablesError(schema, found);
  for (const statement of moveStatements(schema, found).slice(1)) await q.query(statement);
  return found;
}
