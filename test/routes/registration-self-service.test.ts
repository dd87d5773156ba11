// RFC 7592 self-service: a client holding only its registration access token may change what grants
// nothing (name, contacts, keys) and echo back everything else unchanged. Anything that grants
// privilege (scope, audience, lifetimes, algorithms, grants, auth method) is refused with 400
// invalid_client_metadata naming the field, and changes nothing; only the admin API changes it.
import t from 'tap';
import type { Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { ADMIN_TOKEN, ISSUER, basic, build, register, tokenRequest, type RegisteredClient } from '../helper.js';
import { assertion, clientKey } from '../fixtures/assertion.js';
import { admin, adminApp } from '../admin/support.js';

const b = await build(t);
const { app, rt, clock } = b;
const api = adminApp(b);
const API = 'https://api.example.com';
const nowSeconds = (): number => Math.floor(clock.now() / 1000);

/**
 * Every successful PUT rotates the registration access token (RFC 7592 §2.2; tested in
 * registration-token.test.ts): these helpers carry on with the newest one a client was given.
 */
const currentRat = new Map<string, string>();
async function put(id: string, token: string, payload: unknown): Promise<LightMyRequestResponse> {
  const res = await app.inject({
    method: 'PUT',
    url: `/oauth2/register/${id}`,
    headers: { authorization: `Bearer ${currentRat.get(id) ?? token}`, 'content-type': 'application/json' },
    payload: JSON.stringify(payload),
  });
  if (res.statusCode === 200) currentRat.set(id, res.json().registration_access_token as string);
  return res;
}
function get(id: string, token: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: `/oauth2/register/${id}`, headers: { authorization: `Bearer ${currentRat.get(id) ?? token}` } });
}
/** A PUT response without its one-time value (the rotated registration access token). */
function withoutRat(res: LightMyRequestResponse): Record<string, unknown> {
  const { registration_access_token: _r, ...rest } = res.json() as Record<string, unknown>;
  return rest;
}
/** The metadata as a client reads it back (RFC 7592 §2.1), without the one-time values. */
function echoOf(reg: RegisteredClient): Record<string, unknown> {
  const { client_secret: _s, registration_access_token: _r, ...rest } = reg;
  return rest;
}
/** The stored row, straight from the database, to prove a refused request changed nothing. */
async function row(id: string): Promise<Record<string, unknown>> {
  const { rows } = await rt.sql.query<Record<string, unknown>>(
    'SELECT client_name, token_endpoint_auth_method, token_endpoint_auth_signing_alg, access_token_signing_alg, grant_types, scopes, audiences, access_token_ttl, jwks, jwks_uri, updated_at FROM clients WHERE client_id = $1',
    [id],
  );
  if (rows.length !== 1) throw new Error(`no client ${id}`);
  return rows[0]!;
}

function expectRefused(t: Test, res: LightMyRequestResponse, field: string): void {
  t.equal(res.statusCode, 400, `${field}: 400 (${res.body})`);
  t.same(
    res.json(),
    { error: 'invalid_client_metadata', error_description: `${field}: cannot be changed by the client itself (RFC 7592 section 2.2); an administrator changes it through the admin API` },
    `${field}: exact body`,
  );
  t.equal(res.headers['cache-control'], 'no-store');
  t.equal(res.headers.pragma, 'no-cache');
}

t.test('the attack: a client with only its registration access token cannot make itself an admin', async (t) => {
  // no audience registered: its tokens are for this server (the issuer), as an admin token would be
  const reg = await register(app, { client_name: 'attacker', scope: 'api:read', audience: [] });
  const id = reg.client_id;
  const before = await row(id);
  const res = await put(id, reg.registration_access_token, { client_id: id, scope: 'tokenmill:admin', access_token_ttl: 86400 });
  expectRefused(t, res, 'scope');
  t.same(await row(id), before, 'nothing stored changed');
  // and so it cannot get an admin token, nor reach the admin API
  const tok = await tokenRequest(app, { grant_type: 'client_credentials', scope: 'tokenmill:admin' }, { authorization: basic(id, reg.client_secret!) });
  t.equal(tok.statusCode, 400);
  t.same(tok.json(), { error: 'invalid_scope', error_description: 'the requested scope is not allowed for this client' });
  const own = await tokenRequest(app, { grant_type: 'client_credentials' }, { authorization: basic(id, reg.client_secret!) });
  t.equal(own.statusCode, 200);
  t.equal(own.json().scope, 'api:read');
  t.equal(own.json().expires_in, 3600, 'the lifetime was not stretched to a day');
  const adminCall = await admin(api, 'GET', '/admin/v1/clients', undefined, own.json().access_token as string);
  t.equal(adminCall.statusCode, 403, 'a token without tokenmill:admin is refused by the admin API');
  t.equal(adminCall.json().error, 'insufficient_scope');
});

t.test('every privileged field: a changed value is 400 naming the field, and nothing changes', async (t) => {
  const key = await clientKey('ES256');
  const reg = await register(app, {
    client_name: 'pk',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [key.publicJwk] },
    token_endpoint_auth_signing_alg: 'ES256',
    access_token_signing_alg: 'ES256',
    scope: 'api:read',
    audience: [API],
    access_token_ttl: 300,
  });
  const id = reg.client_id;
  const rat = reg.registration_access_token;
  const echo = echoOf(reg);
  const before = await row(id);
  const cases: [string, unknown][] = [
    ['scope', 'api:read tokenmill:admin'],
    ['scope', 'api:read api:write'],
    ['scope', ''],
    ['scope', null],
    ['audience', [API, 'https://other.example.com']],
    ['audience', ['https://other.example.com', API]],
    ['audience', []],
    ['access_token_ttl', 86400],
    ['access_token_ttl', null],
    ['access_token_signing_alg', 'RS256'],
    ['access_token_signing_alg', null],
    ['token_endpoint_auth_signing_alg', 'PS256'],
    ['token_endpoint_auth_signing_alg', null],
    ['token_endpoint_auth_method', 'client_secret_basic'],
    ['grant_types', ['client_credentials', 'client_credentials']],
    ['grant_types', ['authorization_code']],
  ];
  for (const [field, value] of cases) {
    expectRefused(t, await put(id, rat, { ...echo, [field]: value }), field);
  }
  t.same(await row(id), before, 'no refused request changed anything');
  t.same((await get(id, rat)).json(), echo, 'the client reads back what it registered');
});

t.test('a secret client cannot switch itself to private_key_jwt (or to another secret method)', async (t) => {
  const key = await clientKey('ES256');
  const reg = await register(app, { client_name: 'basic', scope: 'api:read', audience: [API] });
  const before = await row(reg.client_id);
  expectRefused(
    t,
    await put(reg.client_id, reg.registration_access_token, { ...echoOf(reg), token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [key.publicJwk] } }),
    'token_endpoint_auth_method',
  );
  expectRefused(t, await put(reg.client_id, reg.registration_access_token, { ...echoOf(reg), token_endpoint_auth_method: 'client_secret_post' }), 'token_endpoint_auth_method');
  t.same(await row(reg.client_id), before);
  const { rows } = await rt.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM client_secrets WHERE client_id = $1 AND (expires_at IS NULL OR expires_at > $2)', [
    reg.client_id,
    new Date(clock.now()),
  ]);
  t.equal(rows[0]?.n, 1, 'its secret was not ended');
});

t.test('echoing every field back unchanged is accepted, and may change the name', async (t) => {
  const reg = await register(app, { client_name: 'echo', scope: 'api:read api:write', audience: [API, 'https://b.example.com'], access_token_ttl: 600 });
  const id = reg.client_id;
  const res = await put(id, reg.registration_access_token, { ...echoOf(reg), client_secret: reg.client_secret, client_name: 'echo, renamed' });
  t.equal(res.statusCode, 200, res.body);
  t.same(withoutRat(res), { ...echoOf(reg), client_name: 'echo, renamed' });
  // the scope may be echoed in another order: it is the same set of scopes
  const reordered = await put(id, reg.registration_access_token, { ...echoOf(reg), client_name: 'echo', scope: 'api:write api:read' });
  t.equal(reordered.statusCode, 200, reordered.body);
  t.equal(reordered.json().scope, 'api:read api:write', 'the stored order is kept');
  // null for a field that is not set is an echo of "not set"
  const nulls = await put(id, reg.registration_access_token, { ...echoOf(reg), access_token_signing_alg: null, token_endpoint_auth_signing_alg: null, jwks: null, jwks_uri: null });
  t.equal(nulls.statusCode, 200, nulls.body);
});

t.test('omitting a privileged field keeps its stored value (RFC 7592 section 2.2 lets the server ignore omissions)', async (t) => {
  const reg = await register(app, { client_name: 'omit', scope: 'api:read', audience: [API], access_token_ttl: 120, access_token_signing_alg: 'ES256' });
  const id = reg.client_id;
  const before = await row(id);
  const res = await put(id, reg.registration_access_token, { client_id: id, client_name: 'omit-2' });
  t.equal(res.statusCode, 200, res.body);
  t.same(withoutRat(res), { ...echoOf(reg), client_name: 'omit-2' });
  const after = await row(id);
  for (const k of ['token_endpoint_auth_method', 'token_endpoint_auth_signing_alg', 'access_token_signing_alg', 'grant_types', 'scopes', 'audiences', 'access_token_ttl'])
    t.same(after[k], before[k], `${k} kept`);
  const tok = await tokenRequest(app, { grant_type: 'client_credentials' }, { authorization: basic(id, reg.client_secret!) });
  t.equal(tok.statusCode, 200);
  t.equal(tok.json().expires_in, 120, 'its lifetime is unchanged, not reset to the deployment default');
  t.equal(tok.json().scope, 'api:read');
  // RFC 7592 PUT replaces the self-service fields: omitting the name removes it
  const unnamed = await put(id, reg.registration_access_token, { client_id: id });
  t.equal(unnamed.statusCode, 200);
  t.notOk('client_name' in unnamed.json());
});

t.test('a private_key_jwt client rotates its own keys, and moves between jwks and jwks_uri', async (t) => {
  const k1 = await clientKey('ES256');
  const k2 = await clientKey('ES256');
  const reg = await register(app, { client_name: 'keys', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [k1.publicJwk] }, scope: 'api:read', audience: [API] });
  const id = reg.client_id;
  const tokenWith = async (key: typeof k1) =>
    app.inject({
      method: 'POST',
      url: '/oauth2/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await assertion(key, id, ISSUER, nowSeconds()),
      }).toString(),
    });
  t.equal((await tokenWith(k1)).statusCode, 200);
  clock.advance(1000); // the key-set cache is keyed on updated_at (milliseconds)
  const rotated = await put(id, reg.registration_access_token, { ...echoOf(reg), jwks: { keys: [k2.publicJwk] } });
  t.equal(rotated.statusCode, 200, rotated.body);
  t.same(rotated.json().jwks, { keys: [k2.publicJwk] });
  t.equal((await tokenWith(k2)).statusCode, 200, 'the new key works');
  t.equal((await tokenWith(k1)).statusCode, 401, 'the old key no longer does');
  const { jwks: _j, ...withoutJwks } = echoOf(reg);
  const uri = await put(id, reg.registration_access_token, { ...withoutJwks, jwks_uri: 'https://keys.example.com/jwks.json' });
  t.equal(uri.statusCode, 200, uri.body);
  t.equal(uri.json().jwks_uri, 'https://keys.example.com/jwks.json');
  t.notOk('jwks' in uri.json());
  // keys stay validated: a private key is refused, and so is dropping every key
  const { privateKey } = await (await import('jose')).generateKeyPair('ES256', { extractable: true });
  const privateJwk = { ...(await (await import('jose')).exportJWK(privateKey)), kid: 'priv' };
  const bad = await put(id, reg.registration_access_token, { ...withoutJwks, jwks: { keys: [privateJwk] } });
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().error, 'invalid_client_metadata');
  t.match(bad.json().error_description, /^jwks: /);
  const none = await put(id, reg.registration_access_token, { client_id: id });
  t.same(none.json(), { error: 'invalid_client_metadata', error_description: 'jwks: private_key_jwt requires jwks or jwks_uri' });
  t.equal((await get(id, reg.registration_access_token)).json().jwks_uri, 'https://keys.example.com/jwks.json', 'still the last accepted keys');
});

t.test('the admin token on the RFC 7592 endpoint is held to the same policy: the admin API changes privileges', async (t) => {
  const reg = await register(app, { client_name: 'via-admin', scope: 'api:read', audience: [API] });
  expectRefused(t, await put(reg.client_id, ADMIN_TOKEN, { ...echoOf(reg), scope: 'api:read api:write' }), 'scope');
  const patched = await admin(api, 'PATCH', `/admin/v1/clients/${reg.client_id}`, { scope: 'api:read api:write' });
  t.equal(patched.statusCode, 200, patched.body);
  t.equal(patched.json().scope, 'api:read api:write');
  // the client may now echo the new value
  const echoed = await put(reg.client_id, reg.registration_access_token, { ...echoOf(reg), scope: 'api:read api:write' });
  t.equal(echoed.statusCode, 200, echoed.body);
});

t.test('unknown and server-issued members are ignored, never stored (REQ-D9)', async (t) => {
  const reg = await register(app, { client_name: 'unknown', scope: 'api:read', audience: [API] });
  const id = reg.client_id;
  const before = await row(id);
  const res = await put(id, reg.registration_access_token, {
    ...echoOf(reg),
    client_name: 'unknown',
    is_admin: true,
    roles: ['tokenmill:admin'],
    client_id_issued_at: 1,
    registration_access_token: 'tmrat_mine',
    client_secret_expires_at: 1,
  });
  t.equal(res.statusCode, 200, res.body);
  t.same(withoutRat(res), echoOf(reg));
  const after = await row(id);
  delete after.updated_at;
  delete before.updated_at;
  t.same(after, before);
  t.equal((await get(id, reg.registration_access_token)).statusCode, 200, 'the registration access token was not replaced by the caller’s');
});

t.test('client_name: C0/C1 controls and bidi overrides are refused on RFC 7591 POST and RFC 7592 PUT', async (t) => {
  const reg = await register(app, { client_name: 'clean', scope: 'api:read', audience: [API] });
  const before = await row(reg.client_id);
  const names: [string, string][] = [
    ['a\u0000b', 'NUL'],
    ['a\u001bb', 'ESC'],
    ['a\u007fb', 'DEL'],
    ['a\u0085b', 'NEL (C1)'],
    ['a\u009bb', 'CSI (C1)'],
    ['pay\u202eusd', 'RLO'],
    ['a\u202ab', 'LRE'],
    ['a\u202cb', 'PDF'],
    ['a\u2066b', 'LRI'],
    ['a\u2069b', 'PDI'],
    ['a\u200eb', 'LRM'],
    ['a\u200fb', 'RLM'],
    ['a\u061cb', 'ALM'],
  ];
  for (const [name, what] of names) {
    const posted = await app.inject({
      method: 'POST',
      url: '/oauth2/register',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ client_name: name }),
    });
    t.equal(posted.statusCode, 400, `POST ${what}`);
    t.equal(posted.json().error, 'invalid_client_metadata', `POST ${what}`);
    t.match(posted.json().error_description, /^client_name: must not contain /, `POST ${what}: names the field`);
    const updated = await put(reg.client_id, reg.registration_access_token, { ...echoOf(reg), client_name: name });
    t.equal(updated.statusCode, 400, `PUT ${what}`);
    t.equal(updated.json().error, 'invalid_client_metadata', `PUT ${what}`);
    t.match(updated.json().error_description, /^client_name: must not contain /, `PUT ${what}: names the field`);
  }
  t.same(await row(reg.client_id), before, 'nothing changed');
  // ordinary non-ASCII names remain fine
  const ok = await put(reg.client_id, reg.registration_access_token, { ...echoOf(reg), client_name: 'Zürich – 東京 ✓' });
  t.equal(ok.statusCode, 200, ok.body);
  t.equal(ok.json().client_name, 'Zürich – 東京 ✓');
});

t.test('client_name: the admin API refuses controls and bidi overrides with invalid_request naming the field', async (t) => {
  const created = await admin(api, 'POST', '/admin/v1/clients', { client_name: 'ad\u202emin' });
  t.equal(created.statusCode, 400);
  t.same(created.json(), { error: 'invalid_request', error_description: 'client_name: must not contain control characters or bidirectional formatting characters' });
  const ok = await admin(api, 'POST', '/admin/v1/clients', { client_name: 'fine' });
  t.equal(ok.statusCode, 201);
  const id = ok.json().client.client_id as string;
  for (const name of ['a\u0085b', 'a\u2067b', 'a\u0001b']) {
    const patched = await admin(api, 'PATCH', `/admin/v1/clients/${id}`, { client_name: name });
    t.equal(patched.statusCode, 400, JSON.stringify(name));
    t.same(patched.json(), { error: 'invalid_request', error_description: 'client_name: must not contain control characters or bidirectional formatting characters' });
  }
  t.equal((await admin(api, 'GET', `/admin/v1/clients/${id}`)).json().client_name, 'fine');
});

t.test('an expired secret is not renewed by a PUT: self-service issues no credentials', async (t) => {
  const reg = await register(app, { client_name: 'expiring', scope: 'api:read', audience: [API] });
  // an administrator gives it a secret that ends in an hour (the registered one a millisecond later:
  // a rotation with a grace period keeps the registration access token, an immediate one ends it)
  const secret = await rt.clientService.rotateSecret(reg.client_id, { expiresInMs: 3_600_000, previousSecretTtlMs: 1 });
  t.ok(secret);
  clock.advance(3_600_000 + 1000);
  const expired = await tokenRequest(app, { grant_type: 'client_credentials' }, { authorization: basic(reg.client_id, secret!.clientSecret) });
  t.equal(expired.statusCode, 401, 'the secret has expired');
  const res = await put(reg.client_id, reg.registration_access_token, { ...echoOf(reg) });
  t.equal(res.statusCode, 200, res.body);
  t.notOk('client_secret' in res.json(), 'no new secret was issued');
  const { rows } = await rt.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM client_secrets WHERE client_id = $1 AND (expires_at IS NULL OR expires_at > $2)', [
    reg.client_id,
    new Date(clock.now()),
  ]);
  t.equal(rows[0]?.n, 0, 'still no live secret: only an administrator issues one');
});
