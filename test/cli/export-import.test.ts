// Backup and restore end to end: an embedded tokenmill (a real process on PGlite in DATA_DIR) with a
// client, a token and a revoked token; stopped; `tokenmill export`; `tokenmill migrate --status`
// and `tokenmill import` into a fresh PostgreSQL database; a server on PostgreSQL that still
// verifies the old token, takes the old secret and knows the revocation.
import t from 'tap';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { basicAuth, fetchJson, registerClient, startServer, type ServerHandle } from '../e2e/support.js';
import { backendOrSkip, pgTestDatabase } from '../helpers/backends.js';
import { ROOT, inheritedEnv } from '../helpers/server-process.js';

// Two PGlite-backed processes and a dozen CLI runs: minutes on a loaded machine.
t.setTimeout(300_000);

const BIN = join(ROOT, 'bin/tokenmill.js');
const ADMIN_TOKEN = `export-admin-${randomBytes(30).toString('base64url')}`;
const API = 'https://api.example.com';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function cli(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((ok) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...inheritedEnv(), ...env }, cwd: ROOT, timeout: 120_000 }, (err, stdout, stderr) => {
      ok({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const form = (h: ServerHandle, path: string, authorization: string, params: Record<string, string>) =>
  fetchJson(`${h.url}${path}`, { method: 'POST', headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() });

t.test('embedded → export → import into PostgreSQL → the same tokens, secret and revocations', async (t) => {
  if (!backendOrSkip(t, 'postgres')) return;
  const dir = mkdtempSync(join(tmpdir(), 'tokenmill-export-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'data');
  const file = join(dir, 'backup.json');

  // ---- the embedded deployment ------------------------------------------------------------------
  const s1 = await startServer(t, { DATA_DIR: dataDir, ADMIN_TOKEN, LOG_LEVEL: 'warn' }, { readyTimeoutMs: 240_000 });
  const reg = await registerClient(s1.url, ADMIN_TOKEN, { client_name: 'billing', scope: 'invoices:read', audience: [API] });
  const basic = basicAuth(reg.client_id, reg.client_secret);
  const minted = await form(s1, '/oauth2/token', basic, { grant_type: 'client_credentials' });
  t.equal(minted.status, 200);
  const kept: string = minted.body.access_token;
  const revoked: string = (await form(s1, '/oauth2/token', basic, { grant_type: 'client_credentials' })).body.access_token;
  t.equal((await form(s1, '/oauth2/revoke', basic, { token: revoked })).status, 200);
  t.equal((await s1.stop()).code, 0, 'the embedded server stops cleanly');

  // ---- export -------------------------------------------------------------------------------------
  const exported = await cli(['export', '--out', file], { DATA_DIR: dataDir });
  t.equal(exported.code, 0, exported.stderr);
  t.match(exported.stderr, /warning: the export holds client secret hashes/, 'warns that the file is sensitive');
  t.match(exported.stdout, /exported 1 client\(s\), 1 signing key\(s\), 1 revocation\(s\)/);
  t.equal(statSync(file).mode & 0o777, 0o600, 'written 0600');
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  t.match(doc, { format: 'tokenmill-export', version: 1, clients: [{ client_id: reg.client_id }] });
  t.notOk(readFileSync(file, 'utf8').includes(reg.client_secret), 'never a secret, only its hash');
  const kek = readFileSync(join(dataDir, 'key-encryption-key'), 'utf8').trim();
  t.notOk(readFileSync(file, 'utf8').includes(kek), 'never the key-encryption key');

  // ---- into PostgreSQL ------------------------------------------------------------------------------
  const url = await pgTestDatabase(t);
  const pgEnv = { DATABASE_URL: url, KEY_ENCRYPTION_KEY: kek, DATA_DIR: join(dir, 'pg-node') };
  const before = await cli(['migrate', '--status'], pgEnv);
  t.equal(before.code, 3, 'migrate --status: pending is exit 3');
  t.match(before.stdout, /applied: none\npending: 1, 2, 3/);
  const migrated = await cli(['migrate'], pgEnv);
  t.equal(migrated.code, 0, migrated.stderr);
  t.match(migrated.stdout, /schema tokenmill\)\napplied now: 1, 2, 3/);
  t.equal((await cli(['migrate', '--status'], pgEnv)).code, 0, 'migrate --status: up to date is exit 0');

  const wrongKek = await cli(['import', file], { ...pgEnv, KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url') });
  t.equal(wrongKek.code, 4, 'another key-encryption key: exit 4');
  t.match(wrongKek.stderr, /cannot decrypt signing key/);
  const imported = await cli(['import', file], pgEnv);
  t.equal(imported.code, 0, imported.stderr);
  t.match(imported.stdout, /imported 1 client\(s\) \(1 secret\(s\)\), 1 signing key\(s\), 1 revocation\(s\) into postgresql/);
  const again = await cli(['import', file], pgEnv);
  t.equal(again.code, 3, 'existing ids: exit 3');
  t.match(again.stderr, new RegExp(`client\\(s\\) ${reg.client_id} and signing key\\(s\\) \\S+ already exist.*--replace`));
  t.equal((await cli(['import', '--replace', file], pgEnv)).code, 0, '--replace overwrites');

  // ---- a node on PostgreSQL, same issuer and key-encryption key ------------------------------------
  const s2 = await startServer(t, { ...pgEnv, ADMIN_TOKEN, ISSUER: s1.issuer, LOG_LEVEL: 'warn' }, { readyTimeoutMs: 240_000 });
  const jwks = (await fetchJson(`${s2.url}/.well-known/jwks.json`)).body as JSONWebKeySet;
  const { payload } = await jwtVerify(kept, createLocalJWKSet(jwks), { issuer: s1.issuer, audience: API, typ: 'at+jwt' });
  t.equal(payload.client_id, reg.client_id, 'the token minted before verifies against the new JWKS');
  const fresh = await form(s2, '/oauth2/token', basic, { grant_type: 'client_credentials' });
  t.equal(fresh.status, 200, 'the old secret still gets tokens');
  await jwtVerify(fresh.body.access_token, createLocalJWKSet(jwks), { issuer: s1.issuer, audience: API });
  const admin = `Bearer ${ADMIN_TOKEN}`;
  t.equal((await form(s2, '/oauth2/introspect', admin, { token: kept })).body.active, true, 'the kept token is active');
  t.strictSame((await form(s2, '/oauth2/introspect', admin, { token: revoked })).body, { active: false }, 'the revoked token is still revoked');
});

t.test('export and import: usage errors and an unknown file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenmill-export-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const none = await cli(['export'], { DATA_DIR: join(dir, 'nothing') });
  t.equal(none.code, 1);
  t.match(none.stderr, /no embedded database in/);
  const bad = await cli(['migrate', '--status'], { DATABASE_SCHEMA: 'pg_catalog' });
  t.equal(bad.code, 2, 'an invalid DATABASE_SCHEMA is a configuration error');
  t.match(bad.stderr, /invalid DATABASE_SCHEMA="pg_catalog"/);
  const foreign = join(dir, 'foreign.json');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(foreign, JSON.stringify({ format: 'tokenmill-export', version: 9, clients: [], keys: [], revocations: [] }));
  const unknown = await cli(['import', foreign], { DATA_DIR: join(dir, 'target') });
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /unsupported export version 9/);
});
