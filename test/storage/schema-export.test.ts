// DATABASE_SCHEMA (every table in its own schema, an earlier release's tables in public moved or
// refused) and export / import on the SQL stores (format, key-encryption check, conflicts).
import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import type { Client } from '../../src/clients/client.js';
import { KeyEncryption } from '../../src/keys/key-encryption.js';
import { ImportError, exportData, importData, kekFingerprint, parseExport, type ExportDocument } from '../../src/storage/export.js';
import { SqlClientStore } from '../../src/storage/sql/client-store.js';
import { SqlKeyStore } from '../../src/storage/sql/key-store.js';
import { MIGRATIONS, migrate, migrationStatus } from '../../src/storage/sql/migrate.js';
import { openPglite } from '../../src/storage/sql/pglite.js';
import { openPostgres } from '../../src/storage/sql/postgres.js';
import { SqlRevocationLog } from '../../src/storage/sql/revocation-log.js';
import { LegacyTablesError } from '../../src/storage/sql/schema.js';
import type { Sql } from '../../src/storage/types.js';
import { backendOrSkip, pgTestDatabase } from '../helpers/backends.js';

// Each PGlite instance takes seconds to start on a loaded machine: few of them, shared.
t.setTimeout(290_000);

const ALL = MIGRATIONS.map((m) => m.version);
const NOW = Date.now();
const sha = (s: string): Buffer => createHash('sha256').update(s).digest();

async function tablesIn(sql: Sql, schema: string): Promise<string[]> {
  const { rows } = await sql.query<{ tablename: string }>('SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename', [schema]);
  return rows.map((r) => r.tablename);
}

t.test('PGlite: DATABASE_SCHEMA holds every table, none lands in public', async (t) => {
  const sql = await openPglite(null, { schema: 'tokenmill' });
  t.teardown(() => sql.close());
  t.strictSame(await migrationStatus(sql, { schema: 'tokenmill' }), { applied: [], pending: ALL, newer: [], legacyPublicTables: [] });
  t.strictSame(await migrate(sql, { schema: 'tokenmill' }), ALL);
  t.strictSame(await migrate(sql, { schema: 'tokenmill' }), [], 'a second run applies nothing');
  t.strictSame(await tablesIn(sql, 'tokenmill'), [
    'audit_log',
    'client_secrets',
    'clients',
    'console_sessions',
    'org_initial_access_tokens',
    'orgs',
    'revocations',
    'schema_migrations',
    'settings',
    'signing_keys',
    'token_usage',
  ]);
  t.strictSame(await tablesIn(sql, 'public'), []);
  t.strictSame((await migrationStatus(sql, { schema: 'tokenmill' })).pending, []);

  // An earlier release (the same instance, emptied): no schema, everything in public.
  await sql.query('DROP SCHEMA "tokenmill" CASCADE');
  await sql.query('SET search_path TO public');
  await migrate(sql);
  await sql.query(`INSERT INTO settings (name, value) VALUES ('probe', 'kept')`);
  await sql.query('SET search_path TO "tokenmill"'); // what openPglite(…, { schema }) does
  t.strictSame((await migrationStatus(sql, { schema: 'tokenmill' })).legacyPublicTables.length, 11);
  let moved: string[] = [];
  t.strictSame(await migrate(sql, { schema: 'tokenmill', legacyTables: 'move', onMoved: (m) => (moved = m) }), [], 'nothing left to apply');
  t.equal(moved.length, 11, 'every table moved');
  t.strictSame(await tablesIn(sql, 'public'), []);
  t.strictSame((await sql.query<{ value: string }>(`SELECT value FROM settings WHERE name = 'probe'`)).rows, [{ value: 'kept' }]);
  // The bigserial sequences moved with their tables.
  await new SqlRevocationLog(sql).append({ type: 'token', jti: 'j', exp: 4_000_000_000, clientId: null });
  t.equal((await new SqlRevocationLog(sql).live(0)).length, 1);
});

t.test('PostgreSQL: two schemas of one database are two deployments; tables of an earlier release in public are refused with how to move them', async (t) => {
  if (!backendOrSkip(t, 'postgres')) return;
  const url = await pgTestDatabase(t);
  const a = await openPostgres(url, undefined, { schema: 'tm_a' });
  const b = await openPostgres(url, undefined, { schema: 'tm_b' });
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  t.strictSame(await migrate(a, { schema: 'tm_a' }), ALL);
  t.strictSame(await migrate(b, { schema: 'tm_b' }), ALL);
  await a.query(`INSERT INTO settings (name, value) VALUES ('who', 'a')`);
  t.strictSame((await b.query('SELECT * FROM settings')).rows, [], 'b does not see a');
  t.strictSame(await tablesIn(a, 'public'), []);

  // An earlier release: its tables in public.
  const old = await openPostgres(url);
  t.teardown(() => old.close());
  await migrate(old);
  const c = await openPostgres(url, undefined, { schema: 'tokenmill' });
  t.teardown(() => c.close());
  const status = await migrationStatus(c, { schema: 'tokenmill' });
  t.equal(status.legacyPublicTables.length, 11);
  const err = await migrate(c, { schema: 'tokenmill' }).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(err instanceof LegacyTablesError, 'refused');
  t.match((err as Error).message, /DATABASE_SCHEMA=public.*ALTER TABLE public\."clients" SET SCHEMA "tokenmill"/);
  t.notOk((await c.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'tokenmill'`)).rows.length, 'nothing created by the refused run');
  const p = await openPostgres(url, undefined, { schema: 'public' });
  t.teardown(() => p.close());
  t.strictSame(await migrate(p, { schema: 'public' }), [], 'DATABASE_SCHEMA=public keeps using them');
});

// ---- export / import ------------------------------------------------------------------------------

const KEK = randomBytes(32).toString('base64url');

function client(id: string): Client {
  return {
    clientId: id,
    clientName: `client ${id}`,
    tokenQuota: null,
    status: 'active',
    orgId: null,
    tokenEndpointAuthMethod: 'client_secret_basic',
    tokenEndpointAuthSigningAlg: null,
    accessTokenSigningAlg: 'ES256',
    grantTypes: ['client_credentials'],
    scopes: ['read', 'write'],
    audiences: ['https://api.example.com'],
    accessTokenTtl: 900,
    jwks: null,
    jwksUri: null,
    registrationAccessTokenHash: sha(`rat-${id}`),
    secrets: [{ secretId: `${id}-s1`, hash: sha(`${id}-secret`), prefix: 'tmsec_ab', createdAt: NOW - 5000, expiresAt: NOW + 86_400_000, lastUsedAt: NOW - 1000 }],
    tokensRevokedBefore: Math.floor(NOW / 1000) - 10,
    createdAt: NOW - 10_000,
    updatedAt: NOW - 2000,
  };
}

const shared: { source?: Promise<{ sql: Sql; doc: ExportDocument }>; target?: Promise<Sql> } = {};
t.teardown(async () => {
  await (await shared.source)?.sql.close();
  await (await shared.target)?.close();
});

/** One source database for every test (read only after it is filled). */
function source(): Promise<{ sql: Sql; doc: ExportDocument }> {
  shared.source ??= makeSource();
  return shared.source;
}

async function makeSource(): Promise<{ sql: Sql; doc: ExportDocument }> {
  const sql = await openPglite(null, { schema: 'tokenmill' });
  await migrate(sql, { schema: 'tokenmill' });
  await new SqlClientStore(sql).create(client('c1'));
  await new SqlClientStore(sql).create({
    ...client('c2'),
    jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'j1' }] },
    registrationAccessTokenHash: null,
    // clients.token_quota (jsonb) travels with the client
    tokenQuota: { perSecond: null, perHour: 1000, perDay: 20000, enforce: false },
  });
  const jwe = await new KeyEncryption(KEK).encrypt({ kty: 'EC', crv: 'P-256', d: 'private', x: 'x', y: 'y' });
  await new SqlKeyStore(sql).insert({
    kid: 'k1',
    alg: 'ES256',
    publicJwk: { kty: 'EC', kid: 'k1' },
    privateJwe: jwe,
    origin: 'generated',
    createdAt: NOW - 9000,
    activatesAt: NOW - 8000,
    retiresAt: null,
    removeAt: null,
  });
  const log = new SqlRevocationLog(sql);
  await log.append({ type: 'token', jti: 'live', exp: Math.floor(NOW / 1000) + 600, clientId: 'c1' });
  await log.append({ type: 'token', jti: 'lapsed', exp: Math.floor(NOW / 1000) - 600, clientId: 'c1' });
  await log.append({ type: 'client', clientId: 'c1', revokedBefore: Math.floor(NOW / 1000) - 10, until: Math.floor(NOW / 1000) + 3600 });
  const doc = await exportData(sql, { now: NOW, database: 'pglite', kek: { key: KEK, from: 'test' } });
  return { sql, doc };
}

/** One target instance, its schema dropped and migrated afresh for each test. */
async function target(): Promise<Sql> {
  shared.target ??= openPglite(null, { schema: 'other' });
  const sql = await shared.target;
  await sql.query('DROP SCHEMA IF EXISTS "other" CASCADE');
  await migrate(sql, { schema: 'other' });
  return sql;
}

t.test('export: the versioned document; import: the same rows, in another database', async (t) => {
  const { sql, doc } = await source();
  t.match(doc, { format: 'tokenmill-export', version: 1, exported_at: new Date(NOW).toISOString(), source: { database: 'pglite', migrations: ALL } });
  t.equal(doc.key_encryption_key?.fingerprint, kekFingerprint(KEK));
  t.notOk(JSON.stringify(doc).includes(KEK), 'never the key-encryption key itself');
  t.strictSame(
    doc.clients.map((c) => c.client_id),
    ['c1', 'c2'],
  );
  t.equal(doc.clients[0]?.secrets[0]?.secret_hash, sha('c1-secret').toString('base64url'), 'secret hashes as base64url');
  t.strictSame(
    doc.revocations.map((r) => (r.type === 'token' ? r.jti : `client ${r.client_id}`)),
    ['live', 'client c1'],
    'revocations still in effect only',
  );
  // It survives the trip through text.
  const parsed = parseExport(JSON.stringify(doc));

  const to = await target();
  const result = await importData(to, parsed, { now: NOW, kek: { key: KEK, from: 'test' } });
  t.match(result, { clients: 2, secrets: 2, keys: 1, revocations: 2, revocationsPresent: 0, undecryptable: [] });
  for (const id of ['c1', 'c2']) t.strictSame(await new SqlClientStore(to).get(id), await new SqlClientStore(sql).get(id), `client ${id} exactly as stored`);
  t.strictSame(await new SqlKeyStore(to).list(), await new SqlKeyStore(sql).list(), 'keys exactly as stored');
  t.strictSame(await new SqlRevocationLog(to).live(Math.floor(NOW / 1000)), await new SqlRevocationLog(sql).live(Math.floor(NOW / 1000)));
  const audit = (await to.query<{ action: string }>("SELECT action FROM audit_log WHERE actor = 'cli'")).rows;
  t.strictSame(audit, [{ action: 'data.import' }], 'the import is in the audit log');
});

t.test('import refuses a key-encryption key that cannot decrypt the keys, unless forced', async (t) => {
  const { doc } = await source();
  const to = await target();
  const wrong = randomBytes(32).toString('base64url');
  const err = await importData(to, doc, { now: NOW, kek: { key: wrong, from: 'KEY_ENCRYPTION_KEY' } }).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(err instanceof ImportError && err.reason === 'key-encryption');
  t.match((err as Error).message, new RegExp(`cannot decrypt signing key\\(s\\) k1 .*fingerprint ${kekFingerprint(KEK)}.*--force`));
  t.strictSame((await to.query('SELECT client_id FROM clients')).rows, [], 'nothing imported');
  const none = await importData(to, doc, { now: NOW, kek: null }).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(none instanceof ImportError && none.reason === 'key-encryption', 'no key-encryption key at all is refused too');
  const forced = await importData(to, doc, { now: NOW, kek: { key: wrong, from: 'KEY_ENCRYPTION_KEY' }, force: true });
  t.strictSame(forced.undecryptable, ['k1']);
  t.equal(forced.clients, 2);
});

t.test('import refuses ids that exist, naming them, unless --replace', async (t) => {
  const { sql, doc } = await source();
  const to = await target();
  await importData(to, doc, { now: NOW, kek: { key: KEK, from: 'test' } });
  await new SqlClientStore(to).update('c1', { clientName: 'changed here' }, NOW);
  await new SqlClientStore(to).addSecret('c1', { secretId: 'extra', hash: sha('extra'), prefix: 'tmsec_ex', createdAt: NOW, expiresAt: null, lastUsedAt: null });
  const err = await importData(to, doc, { now: NOW, kek: { key: KEK, from: 'test' } }).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(err instanceof ImportError && err.reason === 'conflict');
  t.match((err as Error).message, /client\(s\) c1, c2 and signing key\(s\) k1 already exist.*--replace/);
  t.equal((await new SqlClientStore(to).get('c1'))?.clientName, 'changed here', 'unchanged');

  const replaced = await importData(to, doc, { now: NOW, kek: { key: KEK, from: 'test' }, replace: true });
  t.strictSame(replaced.replaced, { orgs: [], clients: ['c1', 'c2'], keys: ['k1'] });
  t.equal(replaced.revocations, 0, 'revocations already present are not repeated');
  t.equal(replaced.revocationsPresent, 2);
  t.strictSame(await new SqlClientStore(to).get('c1'), await new SqlClientStore(sql).get('c1'), 'the exported client, its secrets only');
  t.equal((await new SqlRevocationLog(to).live(0)).length, 2);
});

t.test('import refuses an unknown format or version, a malformed document, and a column this database lacks', async (t) => {
  const { doc } = await source();
  const reason = (text: string) => {
    try {
      parseExport(text);
      return null;
    } catch (e) {
      return e instanceof ImportError ? `${e.reason}: ${e.message}` : String(e);
    }
  };
  t.match(reason('not json'), /^invalid: not JSON/);
  t.match(reason(JSON.stringify({ ...doc, format: 'something-else' })), /^invalid: not a tokenmill export/);
  t.match(reason(JSON.stringify({ ...doc, version: 2 })), /^invalid: unsupported export version 2/);
  t.match(reason(JSON.stringify({ ...doc, clients: [{ client_name: 'no id', secrets: [] }] })), /^invalid: malformed export: clients\[0\]/);
  t.match(reason(JSON.stringify({ ...doc, revocations: [{ type: 'token', jti: 'x' }] })), /^invalid: malformed export: revocations\[0\]/);
  const to = await target();
  const newer = { ...doc, clients: [{ ...doc.clients[0]!, from_the_future: 1 }] };
  const err = await importData(to, newer, { now: NOW, kek: { key: KEK, from: 'test' } }).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(err instanceof ImportError && err.reason === 'invalid');
  t.match((err as Error).message, /from_the_future do not exist in table clients/);
  t.strictSame((await to.query('SELECT client_id FROM clients')).rows, [], 'the transaction left nothing behind');
});
