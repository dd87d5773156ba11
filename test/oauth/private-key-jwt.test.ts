import t from 'tap';
import type { Test } from 'tap';
import { KeyObject, randomUUID, sign as cryptoSign } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { SignJWT, decodeJwt, exportJWK, exportSPKI, importJWK, type CryptoKey } from 'jose';
import { ADMIN_TOKEN, ISSUER, basic, build, form, register, tokenRequest, type RegisteredClient } from '../helper.js';
import { assertion, clientKey, type AssertionOptions, type ClientKey } from '../fixtures/assertion.js';

const { app, clock, rt, logs } = await build(t);

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const INVALID_CLIENT = { error: 'invalid_client', error_description: 'client authentication failed' };
const TOKEN_URL = `${ISSUER}/oauth2/token`;
const now = (): number => Math.floor(clock.now() / 1000);
const b64u = (s: string | Buffer): string => Buffer.from(s).toString('base64url');
const sensitive = new Set<string>();

interface PkjClient {
  c: RegisteredClient;
  k: ClientKey;
}

async function pkjClient(alg = 'ES256', metadata: Record<string, unknown> = {}, on: FastifyInstance = app): Promise<PkjClient> {
  const k = await clientKey(alg);
  const c = await register(on, { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [k.publicJwk] }, ...metadata });
  sensitive.add(c.registration_access_token);
  return { c, k };
}

async function make(p: PkjClient, o: AssertionOptions = {}, aud = ISSUER): Promise<string> {
  const a = await assertion(p.k, p.c.client_id, aud, now(), o);
  sensitive.add(a);
  return a;
}

function send(a: string, extra: Record<string, string> = {}, on: FastifyInstance = app): Promise<LightMyRequestResponse> {
  sensitive.add(a);
  return tokenRequest(on, { grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: a, ...extra });
}

function wire(res: LightMyRequestResponse): { status: number; headers: Record<string, unknown>; body: string } {
  const { date: _date, ...headers } = res.headers;
  return { status: res.statusCode, headers, body: res.body };
}

let baseline: ReturnType<typeof wire> | null = null;

/**
 * REQ-J13 / C3 / C4: 401 invalid_client, no-store, and byte-identical to every other auth failure.
 * Credentials in the body (an assertion) get no challenge; the Authorization header gets a Basic one.
 */
function expect401(t: Test, res: LightMyRequestResponse, what = '', challenge = false): void {
  t.equal(res.statusCode, 401, `401 ${what} (${res.body})`);
  t.same(res.json(), INVALID_CLIENT);
  if (challenge) t.equal(res.headers['www-authenticate'], `Basic realm="${ISSUER}"`, 'Basic challenge');
  else t.equal(res.headers['www-authenticate'], undefined, 'no challenge: the credentials were in the body');
  t.equal(res.headers['cache-control'], 'no-store');
  t.equal(res.headers.pragma, 'no-cache');
  const { 'www-authenticate': _challenge, ...headers } = wire(res).headers;
  const compared = { ...wire(res), headers };
  if (baseline) t.same(compared, baseline, 'identical to every other client-authentication failure');
  else baseline = compared;
}

function expect400(t: Test, res: LightMyRequestResponse, description: string): void {
  t.equal(res.statusCode, 400);
  t.same(res.json(), { error: 'invalid_request', error_description: description });
  t.equal(res.headers['cache-control'], 'no-store');
  t.equal(res.headers.pragma, 'no-cache');
  t.notOk(res.headers['www-authenticate']);
}

function expectOk(t: Test, res: LightMyRequestResponse, clientId: string): void {
  t.equal(res.statusCode, 200, `200 (${res.body})`);
  const body = res.json();
  sensitive.add(body.access_token);
  t.equal(body.token_type, 'Bearer');
  const claims = decodeJwt(body.access_token);
  t.equal(claims.sub, clientId);
  t.equal(claims.client_id, clientId);
  t.equal(claims.iss, ISSUER);
}

/** A compact JWS signed by hand over `header.payload` (ES256, IEEE P1363 signature), for payloads jose would not produce. */
function signRaw(k: ClientKey, header: Record<string, unknown>, payloadJson: string): string {
  const input = `${b64u(JSON.stringify(header))}.${b64u(payloadJson)}`;
  const sig = cryptoSign('sha256', Buffer.from(input), { key: KeyObject.from(k.privateKey as unknown as Parameters<typeof KeyObject.from>[0]), dsaEncoding: 'ieee-p1363' });
  const a = `${input}.${sig.toString('base64url')}`;
  sensitive.add(a);
  return a;
}

t.test('RFC 7523: a valid ES256 assertion authenticates', async (t) => {
  const p = await pkjClient('ES256');
  expectOk(t, await send(await make(p)), p.c.client_id);
  // typ client-authentication+jwt (rfc7523bis) is accepted too
  expectOk(t, await send(await make(p, { typ: 'client-authentication+jwt' })), p.c.client_id);
  // and without iat
  expectOk(t, await send(await make(p, { iat: null })), p.c.client_id);
});

t.test('RFC 7523: a valid PS256 (RSA 2048) assertion authenticates', async (t) => {
  const p = await pkjClient('PS256');
  t.equal(p.k.publicJwk.kty, 'RSA');
  expectOk(t, await send(await make(p)), p.c.client_id);
});

t.test('RFC 7523: a valid EdDSA (Ed25519) assertion authenticates', async (t) => {
  const p = await pkjClient('EdDSA');
  t.equal(p.k.publicJwk.kty, 'OKP');
  expectOk(t, await send(await make(p)), p.c.client_id);
});

t.test('REQ-J9 / REQ-D8: keys from a registered jwks_uri (development allows a loopback http URL)', async (t) => {
  const k = await clientKey('ES256');
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [k.publicJwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const c = await register(app, { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json` });
  sensitive.add(c.registration_access_token);
  expectOk(t, await send(await assertion(k, c.client_id, ISSUER, now())), c.client_id);
  t.ok(hits >= 1, 'fetched from the jwks_uri');
  const stranger = await clientKey('ES256');
  expect401(t, await send(await assertion(stranger, c.client_id, ISSUER, now())), 'a key the jwks_uri does not publish');
});

t.test('REQ-J8 / REQ-JWT2: alg "none" is refused in any form', async (t) => {
  const p = await pkjClient('ES256');
  const payload = b64u(JSON.stringify({ iss: p.c.client_id, sub: p.c.client_id, aud: ISSUER, exp: now() + 60, iat: now(), jti: randomUUID() }));
  for (const header of [{ alg: 'none' }, { alg: 'none', kid: p.k.kid }, { alg: 'noNE', kid: p.k.kid }, { alg: 'NONE' }]) {
    const h = b64u(JSON.stringify(header));
    expect401(t, await send(`${h}.${payload}.`), `${header.alg} with an empty signature`);
    expect401(t, await send(`${h}.${payload}`), `${header.alg} with two segments`);
    expect401(t, await send(`${h}.${payload}.AAAA`), `${header.alg} with a junk signature`);
  }
});

t.test('REQ-J8 / REQ-J10: HS256 keyed with the public key bytes is refused (algorithm confusion)', async (t) => {
  const p = await pkjClient('ES256');
  const rsa = await pkjClient('PS256');
  const claims = (c: RegisteredClient) => ({ iss: c.client_id, sub: c.client_id, aud: ISSUER, exp: now() + 60, iat: now(), jti: randomUUID() });
  const pem = await exportSPKI((await importJWK(p.k.publicJwk, 'ES256')) as CryptoKey);
  const rsaPem = await exportSPKI((await importJWK(rsa.k.publicJwk, 'PS256')) as CryptoKey);
  const secrets: [PkjClient, Uint8Array, string][] = [
    [p, new TextEncoder().encode(JSON.stringify(p.k.publicJwk)), 'JWK JSON'],
    [p, new TextEncoder().encode(JSON.stringify({ keys: [p.k.publicJwk] })), 'JWKS JSON'],
    [p, new TextEncoder().encode(pem), 'SPKI PEM'],
    [p, Buffer.from(p.k.publicJwk.x!, 'base64url'), 'raw x'],
    [rsa, new TextEncoder().encode(rsaPem), 'RSA SPKI PEM'],
    [rsa, Buffer.from(rsa.k.publicJwk.n!, 'base64url'), 'RSA n'],
  ];
  for (const [who, key, what] of secrets) {
    for (const alg of ['HS256', 'HS384', 'HS512']) {
      const a = await new SignJWT(claims(who.c)).setProtectedHeader({ alg, kid: who.k.kid }).sign(key);
      expect401(t, await send(a), `${alg} keyed with ${what}`);
    }
  }
});

t.test('REQ-J10: a header alg that does not match the key type is refused', async (t) => {
  const ec = await pkjClient('ES256');
  const otherRsa = await clientKey('RS256', ec.k.kid);
  // RS256 signature under the EC key's kid
  expect401(t, await send(await assertion(otherRsa, ec.c.client_id, ISSUER, now())), 'RS256 under an EC kid');
  // ES384 claimed for a P-256 key
  const a = await make(ec);
  const [h, pl, s] = a.split('.');
  const forged = `${b64u(JSON.stringify({ ...JSON.parse(Buffer.from(h!, 'base64url').toString()), alg: 'ES384' }))}.${pl}.${s}`;
  expect401(t, await send(forged), 'ES384 header on an ES256 signature');
});

t.test('REQ-J8: a registered token_endpoint_auth_signing_alg is the only alg accepted', async (t) => {
  const k = await clientKey('PS256');
  const jwk = { ...k.publicJwk };
  delete jwk.alg; // the same RSA key may then verify RS256 and PS256 signatures
  const c = await register(app, { token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'PS256', jwks: { keys: [jwk] } });
  // the same private key, imported for RSASSA-PKCS1-v1_5
  const rs256: ClientKey = { ...k, alg: 'RS256', privateKey: (await importJWK(await exportJWK(k.privateKey), 'RS256')) as CryptoKey };
  expect401(t, await send(await assertion(rs256, c.client_id, ISSUER, now())), 'RS256 when PS256 is registered');
  expectOk(t, await send(await assertion(k, c.client_id, ISSUER, now())), c.client_id);
});

t.test('REQ-J9: an unregistered kid, or a registered kid with another key, is refused', async (t) => {
  const p = await pkjClient('ES256');
  const stranger = await clientKey('ES256');
  expect401(t, await send(await assertion(stranger, p.c.client_id, ISSUER, now())), 'unregistered kid');
  const impostor = await clientKey('ES256', p.k.kid);
  expect401(t, await send(await assertion(impostor, p.c.client_id, ISSUER, now())), 'registered kid, other key');
  // a kid that looks like SQL or a path is just an unknown map key
  expect401(t, await send(await assertion(p.k, p.c.client_id, ISSUER, now(), { kid: "' OR 1=1 --" })), 'injection-looking kid');
  expect401(t, await send(await assertion(p.k, p.c.client_id, ISSUER, now(), { kid: '../../etc/passwd' })), 'path-looking kid');
  expect401(t, await send(await assertion(p.k, p.c.client_id, ISSUER, now(), { kid: '__proto__' })), '__proto__ kid');
  expectOk(t, await send(await make(p)), p.c.client_id);
});

t.test('REQ-J9 / REQ-JWT5: jku, x5u and jwk headers are ignored and never fetched', async (t) => {
  const p = await pkjClient('ES256');
  const attacker = await clientKey('ES256');
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [attacker.publicJwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  expect401(t, await send(await assertion(attacker, p.c.client_id, ISSUER, now(), { extraHeader: { jku: url } })), 'jku → attacker key');
  expect401(t, await send(await assertion(attacker, p.c.client_id, ISSUER, now(), { extraHeader: { x5u: url } })), 'x5u → attacker key');
  expect401(t, await send(await assertion(attacker, p.c.client_id, ISSUER, now(), { extraHeader: { jwk: attacker.publicJwk } })), 'embedded jwk');
  expect401(t, await send(await assertion(attacker, p.c.client_id, ISSUER, now(), { kid: p.k.kid, extraHeader: { jku: url, jwk: attacker.publicJwk } })), 'registered kid + jku + jwk');
  t.equal(hits, 0, 'nothing was fetched');
  // with the registered key, a jku header is simply ignored
  expectOk(t, await send(await make(p, { extraHeader: { jku: url } })), p.c.client_id);
  t.equal(hits, 0, 'still nothing fetched');
});

t.test('REQ-J9: unknown crit and b64:false are refused', async (t) => {
  const p = await pkjClient('ES256');
  const payload = () => JSON.stringify({ iss: p.c.client_id, sub: p.c.client_id, aud: ISSUER, exp: now() + 60, jti: randomUUID() });
  // control: hand-signed with a plain header is accepted
  expectOk(t, await send(signRaw(p.k, { alg: 'ES256', kid: p.k.kid }, payload())), p.c.client_id);
  expect401(t, await send(signRaw(p.k, { alg: 'ES256', kid: p.k.kid, crit: ['urn:example:unknown'], 'urn:example:unknown': true }, payload())), 'unknown crit');
  expect401(t, await send(signRaw(p.k, { alg: 'ES256', kid: p.k.kid, b64: false, crit: ['b64'] }, payload())), 'b64:false');
});

t.test('REQ-J4: aud must be the issuer identifier as a single string', async (t) => {
  const p = await pkjClient('ES256');
  expect401(t, await send(await make(p, {}, 'https://other-as.example')), 'foreign aud');
  expect401(t, await send(await make(p, { aud: [ISSUER] })), 'aud [issuer]');
  expect401(t, await send(await make(p, { aud: [ISSUER, 'https://other-as.example'] })), 'aud [issuer, other]');
  expect401(t, await send(await make(p, {}, TOKEN_URL)), 'token endpoint URL (not opted in)');
  expect401(t, await send(await make(p, {}, `${ISSUER}/oauth2/introspect`)), 'introspection endpoint URL');
  expect401(t, await send(await make(p, {}, `${ISSUER}/`)), 'issuer with a trailing slash (simple string comparison)');
  expect401(t, await send(await make(p, {}, 'HTTP://TOKENMILL.TEST')), 'issuer in other case');
  const noAud = signRaw(p.k, { alg: 'ES256', kid: p.k.kid }, JSON.stringify({ iss: p.c.client_id, sub: p.c.client_id, exp: now() + 60, jti: randomUUID() }));
  expect401(t, await send(noAud), 'no aud');
  expect401(t, await send(await make(p, { aud: 42 })), 'numeric aud');
  expectOk(t, await send(await make(p)), p.c.client_id);
});

t.test('REQ-J4: ASSERTION_AUDIENCE_TOKEN_ENDPOINT=true also accepts the token endpoint URL', async (t) => {
  const legacy = await build(t, { ASSERTION_AUDIENCE_TOKEN_ENDPOINT: 'true' });
  const k = await clientKey('ES256');
  const c = await register(legacy.app, { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [k.publicJwk] } });
  const n = Math.floor(legacy.clock.now() / 1000);
  const sendTo = (a: string) => tokenRequest(legacy.app, { grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: a });
  const ok1 = await sendTo(await assertion(k, c.client_id, TOKEN_URL, n));
  t.equal(ok1.statusCode, 200, `token endpoint URL accepted when opted in: ${ok1.body}`);
  const ok2 = await sendTo(await assertion(k, c.client_id, ISSUER, n));
  t.equal(ok2.statusCode, 200, 'the issuer still accepted');
  const arr = await sendTo(await assertion(k, c.client_id, ISSUER, n, { aud: [TOKEN_URL] }));
  t.equal(arr.statusCode, 401, 'arrays still refused');
  const other = await sendTo(await assertion(k, c.client_id, `${ISSUER}/oauth2/introspect`, n));
  t.equal(other.statusCode, 401, 'other endpoint URLs still refused');
});

t.test('REQ-J5: exp is required, bounded to 5 minutes ahead, and enforced', async (t) => {
  const p = await pkjClient('ES256');
  expect401(t, await send(await make(p, { exp: null })), 'no exp');
  expect401(t, await send(await make(p, { exp: now() + 600 })), 'exp 10 minutes ahead');
  expect401(t, await send(await make(p, { exp: now() + 3600, iat: null })), 'exp an hour ahead, no iat');
  expect401(t, await send(await make(p, { exp: now() - 60 })), 'expired a minute ago');
  expect401(t, await send(await make(p, { exp: now() - 300, iat: now() - 360 })), 'expired 5 minutes ago');
  const stringExp = signRaw(p.k, { alg: 'ES256', kid: p.k.kid }, JSON.stringify({ iss: p.c.client_id, sub: p.c.client_id, aud: ISSUER, exp: String(now() + 60), jti: randomUUID() }));
  expect401(t, await send(stringExp), 'exp as a string');
  expectOk(t, await send(await make(p, { exp: now() + 300 })), p.c.client_id);
});

t.test('REQ-J5 / REQ-J6: iat and nbf bounds', async (t) => {
  const p = await pkjClient('ES256');
  expect401(t, await send(await make(p, { iat: now() + 120 })), 'iat 2 minutes in the future');
  expect401(t, await send(await make(p, { iat: now() - 600, exp: now() + 60 })), 'iat older than the lifetime cap');
  expect401(t, await send(await make(p, { iat: now() - 200, exp: now() + 200 })), 'exp - iat over 5 minutes');
  expect401(t, await send(await make(p, { nbf: now() + 120 })), 'nbf 2 minutes in the future');
  const stringIat = signRaw(p.k, { alg: 'ES256', kid: p.k.kid }, JSON.stringify({ iss: p.c.client_id, sub: p.c.client_id, aud: ISSUER, exp: now() + 60, iat: String(now()), jti: randomUUID() }));
  expect401(t, await send(stringIat), 'iat as a string');
  // small clock skew is tolerated (REQ-J6: up to 10 s ahead)
  expectOk(t, await send(await make(p, { iat: now() + 5 })), p.c.client_id);
  expectOk(t, await send(await make(p, { nbf: now() + 5 })), p.c.client_id);
});

t.test('REQ-J7: jti is required, bounded, and single-use', async (t) => {
  const p = await pkjClient('ES256');
  expect401(t, await send(await make(p, { jti: null })), 'no jti');
  expect401(t, await send(await make(p, { jti: '' })), 'empty jti');
  expect401(t, await send(await make(p, { jti: 'j'.repeat(257) })), 'jti over 256 characters');
  const a = await make(p);
  expectOk(t, await send(a), p.c.client_id);
  expect401(t, await send(a), 'the same assertion replayed');
  // a new assertion reusing the jti is a replay too
  const jti = decodeJwt(a).jti as string;
  expect401(t, await send(await make(p, { jti })), 'a fresh assertion with a used jti');
  // ...also after a minute, while the first assertion's exp has not yet passed
  clock.advance(30_000);
  expect401(t, await send(await make(p, { jti })), 'reused 30 s later');
  // jtis are per client: another client may use the same value
  const q = await pkjClient('ES256');
  expectOk(t, await send(await make(q, { jti })), q.c.client_id);
});

t.test('REQ-J7, attack: a refused assertion stores no replay marker, so it cannot use up the jti its client will send', async (t) => {
  const p = await pkjClient('ES256');
  const jti = `predicted-${randomUUID()}`;
  const claims: string[] = [];
  const claim = rt.replay.claim.bind(rt.replay);
  rt.replay.claim = (key, exp, iat) => {
    claims.push(key);
    return claim(key, exp, iat);
  };
  t.teardown(() => {
    rt.replay.claim = claim;
  });
  // An unauthenticated caller who knows the client_id and guesses the next jti.
  const attacker = await clientKey('ES256', p.k.kid);
  expect401(t, await send(await assertion(attacker, p.c.client_id, ISSUER, now(), { jti })), "signed with another key under the client's kid");
  const forged = (await make(p, { jti })).split('.');
  expect401(t, await send(`${forged[0]}.${forged[1]}.${b64u(Buffer.alloc(64, 7))}`), "the client's claims with a bad signature");
  expect401(t, await send(await make(p, { jti, exp: now() - 60 })), 'expired');
  expect401(t, await send(await make(p, { jti }, `${ISSUER}/elsewhere`)), 'another audience');
  t.same(claims, [], 'no refused assertion reached the replay store');
  expectOk(t, await send(await make(p, { jti })), p.c.client_id);
  t.equal(claims.length, 1, 'the accepted one claimed its jti');
  expect401(t, await send(await make(p, { jti })), 'and it is single-use from then on');
});

t.test('REQ-J3: iss and sub must both be the client_id, as strings', async (t) => {
  const p = await pkjClient('ES256');
  const other = await pkjClient('ES256');
  expect401(t, await send(await make(p, { iss: other.c.client_id })), 'iss ≠ sub');
  expect401(t, await send(await make(p, { iss: 'someone' })), 'iss ≠ sub');
  expect401(t, await send(await make(p, { iss: [p.c.client_id] })), 'iss as an array');
  expect401(t, await send(await make(p, { sub: [p.c.client_id], iss: [p.c.client_id] })), 'iss and sub as arrays');
  const raw = (claims: Record<string, unknown>) => signRaw(p.k, { alg: 'ES256', kid: p.k.kid }, JSON.stringify({ aud: ISSUER, exp: now() + 60, jti: randomUUID(), ...claims }));
  expect401(t, await send(raw({ iss: p.c.client_id })), 'no sub');
  expect401(t, await send(raw({ sub: p.c.client_id })), 'no iss');
  expect401(t, await send(raw({ iss: p.c.client_id, sub: null })), 'sub null');
  expect401(t, await send(raw({ iss: 1, sub: 1 })), 'numeric iss and sub');
  expectOk(t, await send(raw({ iss: p.c.client_id, sub: p.c.client_id })), p.c.client_id);
  // sub names another client but the signature is ours: the other client's keys are used → refused
  expect401(t, await send(await assertion(p.k, other.c.client_id, ISSUER, now())), 'signed for another client');
});

t.test('REQ-J11: typ marking another JWT kind is refused', async (t) => {
  const p = await pkjClient('ES256');
  expect401(t, await send(await make(p, { typ: 'at+jwt' })), 'at+jwt');
  expect401(t, await send(await make(p, { typ: 'application/at+jwt' })), 'application/at+jwt');
  expect401(t, await send(await make(p, { typ: 'secevent+jwt' })), 'secevent+jwt');
  // an access token this server minted is not an assertion
  const secretClient = await register(app);
  const tok = await tokenRequest(app, { grant_type: 'client_credentials' }, { authorization: basic(secretClient.client_id, secretClient.client_secret!) });
  sensitive.add(tok.json().access_token);
  sensitive.add(secretClient.client_secret!);
  expect401(t, await send(tok.json().access_token), 'an access token used as an assertion');
});

t.test('REQ-J1: client_assertion_type must be the jwt-bearer URN', async (t) => {
  const p = await pkjClient('ES256');
  const a = await make(p);
  const wrongType = 'client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
  expect400(t, await send(a, { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' }), wrongType);
  expect400(t, await send(a, { client_assertion_type: 'URN:IETF:PARAMS:OAUTH:CLIENT-ASSERTION-TYPE:JWT-BEARER' }), wrongType);
  const noType = await tokenRequest(app, { grant_type: 'client_credentials', client_assertion: a });
  expect400(t, noType, wrongType);
  const noAssertion = await tokenRequest(app, { grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE });
  expect400(t, noAssertion, 'client_assertion is missing');
  // the refused requests did not consume the jti
  expectOk(t, await send(a), p.c.client_id);
});

t.test('REQ-J2 / REQ-JWT8: only a single compact JWS', async (t) => {
  const p = await pkjClient('ES256');
  const a = await make(p);
  const [h, pl, s] = a.split('.') as [string, string, string];
  const jweHeader = b64u(JSON.stringify({ alg: 'dir', enc: 'A256GCM', kid: p.k.kid }));
  expect401(t, await send(`${jweHeader}..${b64u('iv-iv-iv-iv')}.${b64u('ciphertext')}.${b64u('tag-tag-tag-tag')}`), 'JWE-looking 5-part value');
  expect401(t, await send(`${jweHeader}.${b64u('k')}.${b64u('iv-iv-iv-iv')}.${b64u('ciphertext')}.${b64u('tag-tag-tag-tag')}`), 'JWE with an encrypted key');
  expect401(t, await send(JSON.stringify({ payload: pl, signatures: [{ protected: h, signature: s }] })), 'JSON serialization');
  expect401(t, await send(`${a}.${a}`), 'two concatenated JWTs');
  expect401(t, await send(`${a} `), 'trailing space');
  expect401(t, await send(`${h}.${pl}.${s}=`), 'padded base64url');
  expect401(t, await send(`${h}.${pl}.${s.slice(0, -4)}AAAA`), 'tampered signature');
  expect401(t, await send(`${h}.${b64u(JSON.stringify({ ...decodeJwt(a), scope: 'x' }))}.${s}`), 'tampered payload');
  expect401(t, await send(a.padEnd(9000, 'A')), 'over 8 KiB');
  expectOk(t, await send(a), p.c.client_id);
});

t.test('REQ-J12: a payload with duplicate member names, or that is not an object, is refused', async (t) => {
  const p = await pkjClient('ES256');
  const id = p.c.client_id;
  const header = { alg: 'ES256', kid: p.k.kid };
  const claims = (jti: string) => `"iss":"${id}","aud":"${ISSUER}","exp":${now() + 60},"iat":${now()},"jti":"${jti}"`;
  // control: the same hand-made signing produces an accepted assertion
  expectOk(t, await send(signRaw(p.k, header, `{"sub":"${id}",${claims(randomUUID())}}`)), id);
  expect401(t, await send(signRaw(p.k, header, `{"sub":"${id}","sub":"${id}",${claims(randomUUID())}}`)), 'duplicate sub, same value');
  expect401(t, await send(signRaw(p.k, header, `{"sub":"someone-else","sub":"${id}",${claims(randomUUID())}}`)), 'duplicate sub, different values');
  expect401(t, await send(signRaw(p.k, header, `{"sub":"${id}",${claims(randomUUID())},"aud":"https://x.example"}`)), 'duplicate aud');
  expect401(t, await send(signRaw(p.k, header, `{"sub":"${id}","s\\u0075b":"${id}",${claims(randomUUID())}}`)), 'duplicate sub spelt with an escape');
  expect401(t, await send(signRaw(p.k, header, `[{"sub":"${id}",${claims(randomUUID())}}]`)), 'array payload');
  expect401(t, await send(signRaw(p.k, header, `"${id}"`)), 'string payload');
  expect401(t, await send(signRaw(p.k, header, `{"sub":"${id}",${claims(randomUUID())}`)), 'truncated JSON');
  // nested duplicate names are not top-level members: allowed
  expectOk(t, await send(signRaw(p.k, header, `{"sub":"${id}",${claims(randomUUID())},"ext":{"a":1},"ext2":{"a":2}}`)), id);
});

t.test('REQ-A3: a body client_id different from sub is invalid_request; the same is fine', async (t) => {
  const p = await pkjClient('ES256');
  const other = await pkjClient('ES256');
  const a = await make(p);
  expect400(t, await send(a, { client_id: other.c.client_id }), 'client_id does not match the authenticated client');
  expect400(t, await send(a, { client_id: 'nobody' }), 'client_id does not match the authenticated client');
  expectOk(t, await send(a, { client_id: p.c.client_id }), p.c.client_id);
});

t.test('REQ-A2: a secret client sending an assertion is refused; an unknown sub too', async (t) => {
  const secretClient = await register(app);
  sensitive.add(secretClient.client_secret!);
  const k = await clientKey('ES256');
  expect401(t, await send(await assertion(k, secretClient.client_id, ISSUER, now())), 'client_secret_basic client');
  expect401(t, await send(await assertion(k, 'tmc_unknownClient000000000', ISSUER, now())), 'unknown client');
  // and a private_key_jwt client cannot fall back to a secret
  const p = await pkjClient('ES256');
  expect401(t, await tokenRequest(app, { grant_type: 'client_credentials' }, { authorization: basic(p.c.client_id, 'anything') }), 'Basic for a private_key_jwt client', true);
  expect401(t, await tokenRequest(app, { grant_type: 'client_credentials', client_id: p.c.client_id, client_secret: 'anything' }), 'post for a private_key_jwt client');
});

t.test('contract: a disabled private_key_jwt client is refused, and not after re-enabling', async (t) => {
  const p = await pkjClient('ES256');
  await rt.clientService.update(p.c.client_id, { status: 'disabled' });
  const a = await make(p);
  expect401(t, await send(a), 'disabled');
  await rt.clientService.update(p.c.client_id, { status: 'active' });
  expectOk(t, await send(a), p.c.client_id);
});

t.test('REQ-J14: the same rules at introspection; the audience is still the issuer', async (t) => {
  const p = await pkjClient('ES256');
  const tokenRes = await send(await make(p));
  expectOk(t, tokenRes, p.c.client_id);
  const token = tokenRes.json().access_token as string;
  const introspect = (a: string) =>
    app.inject({
      method: 'POST',
      url: '/oauth2/introspect',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ token, client_assertion_type: ASSERTION_TYPE, client_assertion: a }),
    });
  const ok = await introspect(await make(p));
  t.equal(ok.statusCode, 200);
  t.equal(ok.json().active, true);
  expect401(t, await introspect(await make(p, {}, `${ISSUER}/oauth2/introspect`)), 'introspection URL as aud');
  expect401(t, await introspect(await make(p, {}, TOKEN_URL)), 'token URL as aud at introspection');
  const used = await make(p);
  t.equal((await introspect(used)).statusCode, 200);
  expect401(t, await introspect(used), 'replay at introspection');
  const revoke = await app.inject({
    method: 'POST',
    url: '/oauth2/revoke',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ token, client_assertion_type: ASSERTION_TYPE, client_assertion: await make(p, {}, `${ISSUER}/oauth2/revoke`) }),
  });
  expect401(t, revoke, 'revocation URL as aud');
});

t.test('REQ-O1: no log line holds an assertion, a token or a registration token', async (t) => {
  t.ok(logs.length > 50);
  t.ok(sensitive.size > 50);
  const leaks: string[] = [];
  for (const line of logs) {
    for (const s of sensitive) if (line.includes(s)) leaks.push(`${s.slice(0, 16)}… in ${line.slice(0, 200)}`);
    if (/eyJ[A-Za-z0-9_-]{10,}\.|tmrat_|tmsec_/.test(line) || line.includes(ADMIN_TOKEN)) leaks.push(line.slice(0, 200));
  }
  t.same(leaks, []);
});
