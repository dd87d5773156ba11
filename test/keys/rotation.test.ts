// Signing-key lifecycle (contract "JWKS", "Admin" keys; threat model §3.3, §3.4, §3.6): pre-publication,
// activation, retirement, removal only after the last token expired, scheduled rotation under the
// lock, RFC 7638 kids, operator key import and the key-encryption key.
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { calculateJwkThumbprint, createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import { ISSUER, build, register, type Built } from '../helper.js';
import { removalTime, rotateKey, runScheduledRotation } from '../../src/keys/rotation.js';
import { accessToken, admin, adminApp, jwsHeader, jwsPayload, tokenBasic } from '../admin/support.js';

const iso = (ms: number): string => new Date(ms).toISOString();
const tmp = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};
// No operator keys unless a test supplies them; no automatic rotation behind the tests' backs.
const NO_KEYS = join(tmpdir(), 'tokenmill-no-such-keys-dir');
const BASE_ENV = { KEYS_DIR: NO_KEYS, KEY_ROTATION_INTERVAL: '0' };

type ServedJwks = { keys: (JWK & { kid: string })[] };
async function jwks(b: Built): Promise<ServedJwks> {
  const res = await b.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  if (res.statusCode !== 200) throw new Error(`jwks: ${res.statusCode}`);
  return res.json() as ServedJwks;
}
const kids = async (b: Built): Promise<string[]> => (await jwks(b)).keys.map((k) => k.kid).sort();
async function keyList(b: Built) {
  const res = await admin(adminApp(b), 'GET', '/admin/v1/keys');
  if (res.statusCode !== 200) throw new Error(`keys: ${res.statusCode} ${res.body}`);
  return (res.json() as { keys: { kid: string; alg: string; state: string; origin: string; created_at: string; activates_at: string; retires_at: string | null; remove_at: string | null }[] }).keys;
}
async function minter(b: Built) {
  const c = await register(b.app, { scope: 'api:read', audience: ['https://api.example.com'] });
  return () => accessToken(tokenBasic(b.app, c.client_id, c.client_secret ?? ''));
}
/** Verifies as a resource server would, with the JWKS as served now, at the test clock's time. */
async function verifyNow(b: Built, token: string) {
  return jwtVerify(token, createLocalJWKSet((await jwks(b)) as { keys: JWK[] }), { issuer: ISSUER, audience: 'https://api.example.com', typ: 'at+jwt', algorithms: ['ES256'], currentDate: new Date(b.clock.now()) });
}

// One runtime for the three-phase walk-through and then the admin API calls (each build costs seconds).
const shared = await build(t, BASE_ENV);

t.test('three-phase rotation on one runtime', async (t) => {
  const b = shared;
  const mint = await minter(b);
  const T0 = b.clock.now();

  // A fresh runtime: one ES256 key, active.
  const all = b.rt.keyring.all();
  t.equal(all.length, 1);
  const old = all[0];
  if (!old) return;
  t.equal(old.alg, 'ES256');
  t.equal(b.rt.keyring.stateOf(old), 'active');
  const set0 = await jwks(b);
  t.equal(set0.keys.length, 1);
  t.same(Object.keys(set0.keys[0] ?? {}).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'], 'public members only');
  t.match(set0.keys[0], { kid: old.kid, alg: 'ES256', use: 'sig', kty: 'EC', crv: 'P-256' });
  t.same(await keyList(b), [{ kid: old.kid, alg: 'ES256', state: 'active', origin: 'generated', created_at: iso(T0), activates_at: iso(T0), retires_at: null, remove_at: null }]);
  t.equal(jwsHeader(await mint()).kid, old.kid);

  // Phase 1: published, not signing.
  const created = await rotateKey(b.rt.keyStore, b.rt.keyring, b.clock, 'ES256', 300_000);
  await b.rt.keyring.load();
  t.not(created.kid, old.kid);
  t.same(await kids(b), [old.kid, created.kid].sort(), 'the JWKS has both keys');
  t.equal(jwsHeader(await mint()).kid, old.kid, 'the old key still signs');
  const retiresAt = T0 + 300_000;
  const removeAt = removalTime(retiresAt);
  t.equal(removeAt, retiresAt + 86_400_000 + 60_000, 'removal = retirement + max token lifetime + skew');
  t.same(await keyList(b), [
    { kid: old.kid, alg: 'ES256', state: 'active', origin: 'generated', created_at: iso(T0), activates_at: iso(T0), retires_at: iso(retiresAt), remove_at: iso(removeAt) },
    { kid: created.kid, alg: 'ES256', state: 'published', origin: 'generated', created_at: iso(T0), activates_at: iso(retiresAt), retires_at: null, remove_at: null },
  ]);

  // Just before activation the old key signs; this token must outlive the old key's signing days.
  b.clock.advance(299_999);
  const lastOld = await mint();
  t.equal(jwsHeader(lastOld).kid, old.kid, 'old key signs 1 ms before activation');

  // Phase 2: the new key signs; the old one is retired but published.
  b.clock.advance(1);
  const firstNew = await mint();
  t.equal(jwsHeader(firstNew).kid, created.kid, 'new key signs at activation');
  const states = Object.fromEntries((await keyList(b)).map((k) => [k.kid, k.state]));
  t.same(states, { [old.kid]: 'retired', [created.kid]: 'active' });
  t.same(await kids(b), [old.kid, created.kid].sort(), 'the retired key stays in the JWKS');
  t.match((await verifyNow(b, lastOld)).protectedHeader, { kid: old.kid }, 'a token of the old key verifies');
  t.match((await verifyNow(b, firstNew)).protectedHeader, { kid: created.kid });

  // Until its exp, the last old token still verifies against the served JWKS.
  const exp = jwsPayload(lastOld).exp as number;
  b.clock.set(exp * 1000 - 1_000);
  t.match((await verifyNow(b, lastOld)).payload, { exp }, 'still verifies 1 s before exp');
  b.clock.set(exp * 1000);
  await t.rejects(verifyNow(b, lastOld), { code: 'ERR_JWT_EXPIRED' }, 'and expires at exp, not because its key vanished');

  // Phase 3: the old key leaves the JWKS only at removalTime(retiresAt).
  b.clock.set(removeAt - 1);
  t.same(await kids(b), [old.kid, created.kid].sort(), 'still published 1 ms before removal');
  t.ok((await keyList(b)).some((k) => k.kid === old.kid && k.state === 'retired'));
  b.clock.set(removeAt + 1_000); // past the keyring's 1-second JWKS memo
  t.same(await kids(b), [created.kid], 'gone after removal');
  t.same((await keyList(b)).map((k) => k.kid), [created.kid], 'and from the admin list');
  const every = await jwks(b);
  for (const k of every.keys) t.equal(await calculateJwkThumbprint(k, 'sha256'), k.kid, 'kid is the RFC 7638 thumbprint');
});

t.test('runScheduledRotation: due, not before; never over a pending successor; removes; one key under a race', async (t) => {
  const b = await build(t, BASE_ENV);
  const T0 = b.clock.now();
  const interval = 30 * 86_400_000;
  const policy = { publishLeadMs: 300_000, intervalMs: interval };
  const run = (p = policy) => runScheduledRotation(b.rt.keyStore, b.rt.keyring, b.clock, p, ['ES256']);
  const stored = async () => (await b.rt.keyStore.list()).sort((x, y) => x.createdAt - y.createdAt);
  const first = (await stored())[0];
  if (!first) return;

  b.clock.set(T0 + interval - 1);
  t.same(await run(), { rotated: [], removed: [] }, 'not before the interval');
  t.equal((await stored()).length, 1);

  b.clock.set(T0 + interval);
  const due = await run();
  t.equal(due.rotated.length, 1, 'rotates once the newest key is as old as the interval');
  t.same(due.removed, []);
  const [k1, k2] = await stored();
  t.equal(k1?.kid, first.kid);
  t.equal(k2?.kid, due.rotated[0]);
  t.equal(k2?.activatesAt, T0 + interval + 300_000, 'the successor is pre-published for publishLeadMs');
  t.equal(k1?.retiresAt, T0 + interval + 300_000);
  t.equal(k1?.removeAt, removalTime(T0 + interval + 300_000));

  b.clock.advance(100_000);
  t.same(await run({ publishLeadMs: 300_000, intervalMs: 1_000 }), { rotated: [], removed: [] }, 'nothing while a successor is pending, even when "due"');
  t.equal((await stored()).length, 2);

  const removeAt = k1?.removeAt ?? 0;
  b.clock.set(removeAt - 1);
  t.same(await run(), { rotated: [], removed: [] }, 'not removed before its time');
  b.clock.set(removeAt);
  t.same(await run(), { rotated: [], removed: [first.kid] }, 'removed at its time');
  t.same((await stored()).map((k) => k.kid), [k2?.kid]);

  // Two schedulers racing (two nodes): one key, not two.
  b.clock.set((k2?.createdAt ?? 0) + interval);
  const [a, c] = await Promise.all([run(), run()]);
  t.equal(a.rotated.length + c.rotated.length, 1, 'exactly one of the racers rotated');
  t.equal((await stored()).length, 2, 'one new key');

  // Keys of other algorithms: the kid is the RFC 7638 thumbprint too.
  await rotateKey(b.rt.keyStore, b.rt.keyring, b.clock, 'RS256', 0);
  await rotateKey(b.rt.keyStore, b.rt.keyring, b.clock, 'EdDSA', 0);
  await b.rt.keyring.load();
  const set = await jwks(b);
  t.same(set.keys.map((k) => k.alg).sort(), ['ES256', 'ES256', 'EdDSA', 'RS256']);
  for (const k of set.keys) {
    t.equal(await calculateJwkThumbprint(k, 'sha256'), k.kid, `${k.alg}: kid is the RFC 7638 thumbprint`);
    t.notOk(['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].some((m) => m in k), `${k.alg}: no private member`);
  }
});

t.test('admin API: GET /keys states; POST /keys/rotate with activate_in 0 signs at once, default pre-publishes', async (t) => {
  const b = shared;
  const api = adminApp(b);
  const mint = await minter(b);
  const listed = await keyList(b);
  t.equal(listed.length, 1, 'one key listed before the call');
  const [old] = listed;
  b.clock.advance(10_000);
  const res = await admin(api, 'POST', '/admin/v1/keys/rotate', { activate_in: 0 });
  t.equal(res.statusCode, 201);
  const body = res.json() as { kid: string };
  const now = iso(b.clock.now());
  t.same(body, { kid: body.kid, alg: 'ES256', state: 'active', origin: 'generated', created_at: now, activates_at: now, retires_at: null, remove_at: null });
  t.equal(jwsHeader(await mint()).kid, body.kid, 'the new key signs at once');
  t.same(await keyList(b), [
    { ...old, state: 'retired', retires_at: now, remove_at: iso(removalTime(b.clock.now())) },
    body,
  ]);
  t.same(await kids(b), [old?.kid, body.kid].sort());

  b.clock.advance(10_000);
  const lead = await admin(api, 'POST', '/admin/v1/keys/rotate', {});
  t.equal(lead.statusCode, 201);
  const pending = lead.json() as { kid: string; state: string; activates_at: string };
  t.equal(pending.state, 'published', 'by default a new key is only published');
  t.equal(pending.activates_at, iso(b.clock.now() + 300_000), 'for JWKS_MAX_AGE seconds');
  t.equal(jwsHeader(await mint()).kid, body.kid, 'the previous key keeps signing meanwhile');
  t.ok((await kids(b)).includes(pending.kid), 'published in the JWKS');

  const bad = await admin(api, 'POST', '/admin/v1/keys/rotate', { alg: 'HS256' });
  t.equal(bad.statusCode, 400);
  t.match(bad.json(), { error: 'invalid_request', error_description: /^alg/ });
  const negative = await admin(api, 'POST', '/admin/v1/keys/rotate', { activate_in: -1 });
  t.equal(negative.statusCode, 400);
  t.match(negative.json(), { error: 'invalid_request', error_description: /^activate_in/ });
});

t.test('operator key import: PEM P-256 PKCS#8 from KEYS_DIR, imported once per data dir', async (t) => {
  const keysDir = tmp('tokenmill-keys-');
  const dataDir = tmp('tokenmill-data-');
  const pem = (): { pem: string; kid: Promise<string> } => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const out = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    return { pem: out, kid: calculateJwkThumbprint(createPublicKey(out).export({ format: 'jwk' }) as JWK, 'sha256') };
  };
  const first = pem();
  writeFileSync(join(keysDir, 'signing.pem'), first.pem);
  const firstKid = await first.kid;
  const env = { KEYS_DIR: keysDir, KEY_ROTATION_INTERVAL: '0' };

  await t.test('first start imports it and signs with it', async (t) => {
    const b = await build(t, env, { persistent: true, dataDir });
    t.same(await kids(b), [firstKid], 'the JWKS holds the imported key (no generated one)');
    t.match(await keyList(b), [{ kid: firstKid, alg: 'ES256', state: 'active', origin: 'imported' }]);
    const mint = await minter(b);
    t.equal(jwsHeader(await mint()).kid, firstKid);
    t.ok(b.logs.some((l) => l.includes('imported operator-supplied signing keys') && l.includes(firstKid)));
    t.notOk(b.logs.some((l) => l.includes('BEGIN PRIVATE KEY')), 'the PEM is never logged');
  });

  const second = pem();
  writeFileSync(join(keysDir, 'signing-2.pem'), second.pem);
  const secondKid = await second.kid;
  await t.test('a restart on the same data dir does not import it twice; a new file is pre-published', async (t) => {
    const b = await build(t, env, { persistent: true, dataDir });
    const stored = await b.rt.keyStore.list();
    t.equal(stored.filter((k) => k.kid === firstKid).length, 1, 'the first key once');
    t.equal(stored.length, 2, 'no duplicate, no generated key');
    t.same(await kids(b), [firstKid, secondKid].sort());
    const states = Object.fromEntries((await keyList(b)).map((k) => [k.kid, k.state]));
    t.same(states, { [firstKid]: 'active', [secondKid]: 'published' }, 'the newly imported key waits for JWKS caches');
    t.notOk(b.logs.some((l) => l.includes('imported operator-supplied') && l.includes(firstKid)), 'nothing re-imported');
  });

  await t.test('a third start changes nothing', async (t) => {
    const b = await build(t, env, { persistent: true, dataDir });
    t.equal((await b.rt.keyStore.list()).length, 2);
    t.same(await kids(b), [firstKid, secondKid].sort());
  });
});

t.test('a wrong KEY_ENCRYPTION_KEY on an existing data dir refuses to start, naming KEY_ENCRYPTION_KEY', async (t) => {
  const dataDir = tmp('tokenmill-kek-');
  const kekA = Buffer.alloc(32, 1).toString('base64url');
  const kekB = Buffer.alloc(32, 2).toString('base64url');
  t.equal(kekA.length, 43);
  let kid = '';
  await t.test('first start with key A', async (t) => {
    const b = await build(t, { ...BASE_ENV, KEY_ENCRYPTION_KEY: kekA }, { persistent: true, dataDir });
    kid = (await kids(b))[0] ?? '';
    t.ok(kid);
  });
  await t.test('restart with key B is refused', async (t) => {
    await t.rejects(build(t, { ...BASE_ENV, KEY_ENCRYPTION_KEY: kekB }, { persistent: true, dataDir }), /KEY_ENCRYPTION_KEY/);
  });
  await t.test('restart with key A again works with the same key', async (t) => {
    const b = await build(t, { ...BASE_ENV, KEY_ENCRYPTION_KEY: kekA }, { persistent: true, dataDir });
    t.same(await kids(b), [kid], 'the original key, not a replacement');
  });
});
