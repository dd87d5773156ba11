import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { SqlAuditLog } from '../../src/storage/sql/audit-log.js';
import { SqlClientStore } from '../../src/storage/sql/client-store.js';
import { SqlKeyStore } from '../../src/storage/sql/key-store.js';
import { MIGRATIONS, migrate } from '../../src/storage/sql/migrate.js';
import { openPglite } from '../../src/storage/sql/pglite.js';
import { openPostgres } from '../../src/storage/sql/postgres.js';
import { SqlRevocationLog } from '../../src/storage/sql/revocation-log.js';
import type { Sql } from '../../src/storage/types.js';
import { backendOrSkip, pgTestDatabase, type TestContext } from '../helpers/backends.js';
import { auditLogContract } from './audit-log.contract.js';
import { clientStoreContract } from './client-store.contract.js';
import { keyStoreContract } from './key-store.contract.js';
import { revocationLogContract } from './revocation-log.contract.js';

// PGlite start-up and the expiry waits are slow on a loaded machine; tap's direct-run default is 30 s.
t.setTimeout(120_000);

const TABLES = 'clients, client_secrets, signing_keys, revocations, audit_log';

/** Runs every SQL store contract on one migrated database; each test starts from empty tables. */
function sqlContracts(t: TestContext, sql: Sql): void {
  const empty = async (): Promise<Sql> => {
    await sql.query(`TRUNCATE ${TABLES} RESTART IDENTITY CASCADE`);
    return sql;
  };
  t.test('ClientStore', async (t) => clientStoreContract(t, async () => new SqlClientStore(await empty())));
  t.test('KeyStore', async (t) => keyStoreContract(t, async () => new SqlKeyStore(await empty())));
  t.test('RevocationLog', async (t) => revocationLogContract(t, async () => new SqlRevocationLog(await empty())));
  t.test('AuditLog', async (t) => auditLogContract(t, async () => new SqlAuditLog(await empty())));
}

const ALL_VERSIONS = MIGRATIONS.map((m) => m.version);

t.test('PGlite (in memory)', async (t) => {
  const sql = await openPglite(null);
  t.teardown(() => sql.close());
  t.strictSame(await migrate(sql), ALL_VERSIONS, 'a fresh database gets every migration');
  t.strictSame(await migrate(sql), [], 'a second run applies nothing');
  sqlContracts(t, sql);
});

t.test('PGlite on disk: a new DATA_DIR is initialised (in a child process), migrated, and keeps its rows across a reopen', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenmill-pglite-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'pglite');
  const first = await openPglite(dataDir);
  t.ok(existsSync(join(dataDir, 'PG_VERSION')), 'the directory holds a PostgreSQL cluster');
  t.strictSame(await migrate(first), ALL_VERSIONS);
  await first.query(`INSERT INTO settings (name, value) VALUES ('probe', 'kept')`);
  await first.close();
  const second = await openPglite(dataDir);
  t.teardown(() => second.close());
  t.strictSame(await migrate(second), [], 'nothing to migrate after a reopen');
  t.strictSame((await second.query<{ value: string }>(`SELECT value FROM settings WHERE name = 'probe'`)).rows, [{ value: 'kept' }]);
});

t.test('PGlite on disk: a directory initdb cannot use stops the start with a message naming it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenmill-pglite-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'global'), 'not a directory');
  await t.rejects(openPglite(dir), { message: new RegExp(`^initializing the embedded database in ${dir} failed: \\S`) });
  t.notOk(existsSync(join(dir, 'PG_VERSION')), 'no half-made cluster is left to be opened next time');
});

t.test('PostgreSQL', async (t) => {
  if (!backendOrSkip(t, 'postgres')) return;
  const sql = await openPostgres(await pgTestDatabase(t));
  t.teardown(() => sql.close());
  t.strictSame(await migrate(sql), ALL_VERSIONS);
  t.strictSame(await migrate(sql), []);
  sqlContracts(t, sql);
});

t.test('PostgreSQL: two nodes migrating one fresh database at once both succeed, applying each migration once', async (t) => {
  if (!backendOrSkip(t, 'postgres')) return;
  const url = await pgTestDatabase(t);
  const [a, b] = await Promise.all([openPostgres(url), openPostgres(url)]);
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  const results = await Promise.all([migrate(a), migrate(b)]);
  t.strictSame(
    results.flat().sort((x, y) => x - y),
    ALL_VERSIONS,
    'each version was applied by exactly one of them',
  );
  t.ok(
    results.some((r) => r.length === 0),
    'the loser found nothing left to do',
  );
  const { rows } = await a.query<{ version: number; n: string }>('SELECT version, count(*) AS n FROM schema_migrations GROUP BY version ORDER BY version');
  t.strictSame(
    rows.map((r) => [Number(r.version), Number(r.n)]),
    ALL_VERSIONS.map((v) => [v, 1]),
  );
  const { rows: tables } = await b.query<{ n: string }>(
    "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('clients', 'client_secrets', 'signing_keys', 'revocations', 'audit_log')",
  );
  t.equal(Number(tables[0]?.n), 5);
});
