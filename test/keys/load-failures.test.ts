// A signing key that cannot be used never stops a node: an operator file in KEYS_DIR whose alg does
// not fit the key is refused (logged with the file name, not stored), and a stored key that cannot
// be loaded is skipped (logged, named on /readyz) while the good key keeps signing.
import t from 'tap';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader, type JWK, type JSONWebKeySet } from 'jose';
import { KeyEncryption } from '../../src/keys/key-encryption.js';
import { kidFor } from '../../src/keys/kid.js';
import { publicOnly } from '../../src/keys/keyring.js';
import { SqlKeyStore } from '../../src/storage/sql/key-store.js';
import { openPglite } from '../../src/storage/sql/pglite.js';
import { basicAuth, fetchJson, registerClient, startServer, type ServerHandle } from '../e2e/support.js';

t.setTimeout(240_000);

const API = 'https://api.example.com';

async function tokenKid(s: ServerHandle, id: string, secret: string): Promise<string | undefined> {
  const res = await fetchJson(`${s.url}/oauth2/token`, { method: 'POST', headers: { authorization: basicAuth(id, secret), 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
  return res.status === 200 ? decodeProtectedHeader(res.body.access_token).kid : `status ${res.status}`;
}

t.test('bad key files and corrupt stored keys are skipped, never fatal', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tokenmill-keyfail-'));
  const keysDir = mkdtempSync(join(tmpdir(), 'tokenmill-keyfail-keys-'));
  t.teardown(() => {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(keysDir, { recursive: true, force: true });
  });
  const kekValue = randomBytes(32).toString('base64url');
  const adminToken = `keyfail-admin-${'k'.repeat(32)}`;
  const env = { DATA_DIR: dataDir, KEYS_DIR: keysDir, KEY_ENCRYPTION_KEY: kekValue, ADMIN_TOKEN: adminToken, SIGNING_ALG: 'ES256' };

  // An operator's RSA-1024 JWK labelled ES256, and a good EC P-256 key.
  const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'jwk' }) as JWK;
  writeFileSync(join(keysDir, 'a-weak-rsa.json'), JSON.stringify({ ...weak, alg: 'ES256' }));
  const good = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as JWK;
  writeFileSync(join(keysDir, 'b-good.json'), JSON.stringify({ ...good, alg: 'ES256' }));
  const goodKid = await kidFor(good);
  const weakKid = await kidFor(weak);

  const s1 = await startServer(t, env);
  const jwks1 = (await fetchJson(`${s1.url}/.well-known/jwks.json`)).body as JSONWebKeySet;
  t.ok(jwks1.keys.some((k) => k.kid === goodKid), 'the good key was imported');
  t.notOk(jwks1.keys.some((k) => k.kid === weakKid || k.kty === 'RSA'), 'the RSA-1024 key labelled ES256 was not stored');
  const logged = s1.jsonLines().find((l) => l.level === 50 && String(l.file ?? '').endsWith('a-weak-rsa.json'));
  t.ok(logged, 'an error log line names the file');
  t.match(String(logged?.reason), /^a-weak-rsa.json: (RSA keys must be at least 2048 bits|"alg" ES256 does not match the key)/, "and says why");
  const reg = await registerClient(s1.url, adminToken, { client_name: 'keyfail', scope: 'api:read', audience: [API] });
  t.equal(await tokenKid(s1, reg.client_id, reg.client_secret), goodKid, 'tokens are signed with the good key');
  t.same(await s1.stop('SIGTERM'), { code: 0, signal: null });

  // Corrupt rows, as a bad restore, a bug or another KEK would leave them: newer than the good key.
  const sql = await openPglite(join(dataDir, 'pglite'), { schema: 'tokenmill' }); // DATABASE_SCHEMA's default
  const store = new SqlKeyStore(sql);
  const enc = new KeyEncryption(kekValue);
  const now = Date.now();
  const row = { origin: 'imported' as const, createdAt: now, activatesAt: now - 1000, retiresAt: null, removeAt: null };
  await store.insert({ ...row, kid: 'corrupt-jwe', alg: 'ES256', publicJwk: publicOnly(good, 'corrupt-jwe', 'ES256') as Record<string, unknown>, privateJwe: 'not.a.jwe.at.all' });
  await store.insert({ ...row, kid: 'rsa-as-es256', alg: 'ES256', publicJwk: publicOnly(weak, 'rsa-as-es256', 'ES256') as Record<string, unknown>, privateJwe: await enc.encrypt({ ...weak, kid: 'rsa-as-es256', alg: 'ES256' }) });
  await sql.close();

  const s2 = await startServer(t, env);
  t.pass('the node starts with two corrupt stored keys');
  t.equal(await tokenKid(s2, reg.client_id, reg.client_secret), goodKid, 'and signs with the good key');
  const ready = await fetchJson(`${s2.url}/readyz`);
  t.equal(ready.status, 200, 'ready: the other keys work');
  t.equal(ready.body?.checks?.keys, 'ok');
  t.match(ready.body?.notes?.keys ?? '', /signing keys that cannot be loaded \(skipped\): .*corrupt-jwe/, 'readyz names the corrupt key');
  t.match(ready.body?.notes?.keys ?? '', /rsa-as-es256/, 'and the mismatched one');
  for (const kid of ['corrupt-jwe', 'rsa-as-es256']) t.ok(s2.jsonLines().some((l) => l.level === 50 && l.kid === kid), `an error log line names ${kid}`);
  t.same(await s2.stop('SIGTERM'), { code: 0, signal: null });
});
