import t from 'tap';
import type { Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { ADMIN_TOKEN, ISSUER, basic, build, form, register, tokenRequest, type RegisteredClient } from '../helper.js';
import { clientKey, assertion } from '../fixtures/assertion.js';
import { hashSecret } from '../../src/clients/secret.js';

// One runtime for the whole file: every test registers its own clients.
const { app, rt, clock, logs } = await build(t);

const TOKEN = '/oauth2/token';
const API = 'https://api.example.com';
const INVALID_CLIENT = { error: 'invalid_client', error_description: 'client authentication failed' };
const FORM = 'application/x-www-form-urlencoded';

/** Every credential or token this file sends or receives: none may appear in a log line (REQ-O1). */
const sensitive = new Set<string>();
/** Every error body seen, for the C1 character-set check. */
const errorBodies: string[] = [];

// Count what succeeds: tokens minted (a signing key is fetched per token) and secrets used.
let minted = 0;
const signingKey = rt.keyring.signingKey.bind(rt.keyring);
rt.keyring.signingKey = (alg: string) => {
  minted++;
  return signingKey(alg);
};
let secretUses = 0;
const secretUsed = rt.secretUsed;
rt.secretUsed = (id: string, at: number) => {
  secretUses++;
  secretUsed(id, at);
};

async function newClient(metadata: Record<string, unknown> = {}): Promise<RegisteredClient> {
  const c = await register(app, metadata);
  if (c.client_secret) {
    sensitive.add(c.client_secret);
    sensitive.add(basic(c.client_id, c.client_secret));
  }
  sensitive.add(c.registration_access_token);
  return c;
}

const auth = (c: RegisteredClient) => ({ authorization: basic(c.client_id, c.client_secret!) });
const cc = (extra: Record<string, string | string[]> = {}) => ({ grant_type: 'client_credentials', ...extra });

function checkNoStore(t: Test, res: LightMyRequestResponse): void {
  t.equal(res.headers['cache-control'], 'no-store', 'Cache-Control: no-store (C2)');
  t.equal(res.headers.pragma, 'no-cache', 'Pragma: no-cache (C2)');
}

/** Credentials in the Authorization header, or none at all: invalid_client carries a Basic challenge (C3). */
const CHALLENGE = true;
/** Credentials in the body (client_secret_post, client assertion): invalid_client carries no challenge (C3). */
const NO_CHALLENGE = false;

/**
 * Exact status, exact body, C2 headers, and the Basic challenge on invalid_client exactly when
 * `challenge` says so (C3); never on any other error.
 */
function expectError(t: Test, res: LightMyRequestResponse, status: number, body: Record<string, string>, challenge?: boolean): void {
  t.equal(res.statusCode, status, `status ${status}`);
  t.match(res.headers['content-type'], /^application\/json/);
  t.same(res.json(), body);
  checkNoStore(t, res);
  if (body.error === 'invalid_client' && challenge === undefined) throw new Error('say whether invalid_client carries a challenge');
  if (body.error === 'invalid_client' && challenge) t.equal(res.headers['www-authenticate'], `Basic realm="${ISSUER}"`, 'Basic challenge');
  else t.notOk(res.headers['www-authenticate'], 'no challenge');
  errorBodies.push(res.body);
}

function expectInvalidRequest(t: Test, res: LightMyRequestResponse, description: string): void {
  expectError(t, res, 400, { error: 'invalid_request', error_description: description });
}

function expectToken(t: Test, res: LightMyRequestResponse): Record<string, unknown> {
  t.equal(res.statusCode, 200, `200 (${res.body})`);
  checkNoStore(t, res);
  const body = res.json() as Record<string, unknown>;
  if (typeof body.access_token === 'string') sensitive.add(body.access_token);
  return body;
}

/**
 * Runs a request that must fail and asserts it minted nothing and, unless the client did
 * authenticate (scope and target errors come after authentication), recorded no secret use.
 */
async function changesNothing(t: Test, fn: () => Promise<LightMyRequestResponse>, authenticated = false): Promise<LightMyRequestResponse> {
  const before = { minted, secretUses };
  const res = await fn();
  if (authenticated) t.equal(minted, before.minted, 'no token minted');
  else t.same({ minted, secretUses }, before, 'no token minted, no secret use recorded');
  return res;
}

async function stillWorks(t: Test, c: RegisteredClient): Promise<void> {
  const res = await tokenRequest(app, cc(), auth(c));
  expectToken(t, res);
}

/** The whole response minus `date`, for byte-identical comparisons (REQ-A4). */
function wire(res: LightMyRequestResponse): { status: number; headers: Record<string, unknown>; body: string } {
  const { date: _date, ...headers } = res.headers;
  return { status: res.statusCode, headers, body: res.body };
}

t.test('REQ-G3: success is 200 with exactly access_token, token_type, expires_in, scope; a verifiable RFC 9068 token', async (t) => {
  const c = await newClient();
  const res = await tokenRequest(app, cc(), auth(c));
  const body = expectToken(t, res);
  t.match(res.headers['content-type'], /^application\/json/);
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type'], 'no refresh_token');
  t.equal(body.token_type, 'Bearer');
  t.equal(body.expires_in, 3600);
  t.equal(body.scope, 'api:read api:write', 'no scope requested: the client’s default scopes');
  const jwks = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  const now = Math.floor(clock.now() / 1000);
  const { payload, protectedHeader } = await jwtVerify(body.access_token as string, createLocalJWKSet(jwks.json()), {
    issuer: ISSUER,
    audience: API,
    typ: 'at+jwt',
    currentDate: new Date(clock.now()),
  });
  t.equal(protectedHeader.alg, 'ES256');
  t.same(Object.keys(payload).sort(), ['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'scope', 'sub']);
  t.same({ ...payload, jti: undefined }, { iss: ISSUER, sub: c.client_id, client_id: c.client_id, aud: API, iat: now, exp: now + 3600, scope: 'api:read api:write', jti: undefined });
  // jti is unique per token
  const again = expectToken(t, await tokenRequest(app, cc(), auth(c)));
  t.not(decodeJwt(again.access_token as string).jti, payload.jti);
});

t.test('contract: client_secret_post succeeds for a client registered for it', async (t) => {
  const c = await newClient({ token_endpoint_auth_method: 'client_secret_post' });
  const body = expectToken(t, await tokenRequest(app, cc({ client_id: c.client_id, client_secret: c.client_secret!, scope: 'api:read' })));
  t.equal(body.scope, 'api:read');
  t.equal(decodeJwt(body.access_token as string).sub, c.client_id);
});

t.test('REQ-T1: other methods are 405 with Allow: POST', async (t) => {
  for (const method of ['GET', 'PUT', 'DELETE', 'PATCH'] as const) {
    const res = await app.inject({ method, url: TOKEN });
    t.equal(res.statusCode, 405, method);
    t.equal(res.headers.allow, 'POST', `${method} Allow`);
    t.same(res.json(), { error: 'invalid_request', error_description: 'method not allowed' });
    checkNoStore(t, res);
  }
  const head = await app.inject({ method: 'HEAD', url: TOKEN });
  t.equal(head.statusCode, 405, 'HEAD');
  t.equal(head.headers.allow, 'POST');
  // a GET carrying credentials issues nothing
  const c = await newClient();
  const res = await changesNothing(t, () => app.inject({ method: 'GET', url: `${TOKEN}?grant_type=client_credentials`, headers: auth(c) }));
  t.equal(res.statusCode, 405);
});

t.test('REQ-T2: only application/x-www-form-urlencoded (UTF-8)', async (t) => {
  const c = await newClient();
  const formType = 'the request body must be application/x-www-form-urlencoded';
  await t.test('JSON body → 400 invalid_request', async (t) => {
    const res = await changesNothing(t, () => app.inject({ method: 'POST', url: TOKEN, headers: { ...auth(c), 'content-type': 'application/json' }, payload: JSON.stringify(cc()) }));
    expectInvalidRequest(t, res, formType);
  });
  await t.test('text/plain → 400 invalid_request', async (t) => {
    const res = await changesNothing(t, () => app.inject({ method: 'POST', url: TOKEN, headers: { ...auth(c), 'content-type': 'text/plain' }, payload: form(cc()) }));
    expectInvalidRequest(t, res, formType);
  });
  await t.test('no content type and no body → 400 invalid_request', async (t) => {
    const res = await changesNothing(t, () => app.inject({ method: 'POST', url: TOKEN, headers: auth(c) }));
    expectInvalidRequest(t, res, formType);
  });
  await t.test('multipart/form-data → 400 invalid_request', async (t) => {
    const payload = '--x\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nclient_credentials\r\n--x--\r\n';
    const res = await changesNothing(t, () => app.inject({ method: 'POST', url: TOKEN, headers: { ...auth(c), 'content-type': 'multipart/form-data; boundary=x' }, payload }));
    t.equal(res.statusCode, 400);
    t.equal(res.json().error, 'invalid_request');
    checkNoStore(t, res);
  });
  await t.test('charset=iso-8859-1 → 400 invalid_request', async (t) => {
    const res = await changesNothing(t, () => app.inject({ method: 'POST', url: TOKEN, headers: { ...auth(c), 'content-type': `${FORM}; charset=iso-8859-1` }, payload: form(cc()) }));
    expectInvalidRequest(t, res, 'only the UTF-8 charset is supported');
  });
  await t.test('media type matching is case-insensitive and tolerates charset=utf-8', async (t) => {
    for (const type of [`${FORM}; charset=utf-8`, `${FORM};charset=UTF-8`, 'Application/X-WWW-Form-Urlencoded', `APPLICATION/X-WWW-FORM-URLENCODED; Charset="utf-8"`]) {
      const res = await tokenRequest(app, cc(), { ...auth(c), 'content-type': type });
      t.equal(res.statusCode, 200, `${type}: ${res.body}`);
    }
  });
  await stillWorks(t, c);
});

t.test('REQ-T3: a body over 16 KiB is 413', async (t) => {
  const c = await newClient();
  const payload = form(cc({ pad: 'x'.repeat(16 * 1024) }));
  const res = await changesNothing(t, () => app.inject({ method: 'POST', url: TOKEN, headers: { ...auth(c), 'content-type': FORM }, payload }));
  expectError(t, res, 413, { error: 'invalid_request', error_description: 'request body too large' });
  // just under the limit is fine (unknown parameters are ignored)
  const ok = await app.inject({ method: 'POST', url: TOKEN, headers: { ...auth(c), 'content-type': FORM }, payload: form(cc({ pad: 'x'.repeat(15 * 1024) })) });
  expectToken(t, ok);
});

t.test('REQ-T5: a repeated parameter is invalid_request, even with identical values', async (t) => {
  const c = await newClient();
  const post = await newClient({ token_endpoint_auth_method: 'client_secret_post' });
  const cases: [string, string][] = [
    ['grant_type=client_credentials&grant_type=client_credentials', 'the grant_type parameter is repeated'],
    ['grant_type=client_credentials&scope=api%3Aread&scope=api%3Aread', 'the scope parameter is repeated'],
    ['grant_type=client_credentials&scope=api%3Aread&scope=api%3Awrite', 'the scope parameter is repeated'],
    ['grant_type=client_credentials&audience=https%3A%2F%2Fapi.example.com&audience=https%3A%2F%2Fapi.example.com', 'the audience parameter is repeated'],
  ];
  for (const [payload, description] of cases) {
    const res = await changesNothing(t, () => app.inject({ method: 'POST', url: TOKEN, headers: { ...auth(c), 'content-type': FORM }, payload }));
    expectInvalidRequest(t, res, description);
  }
  const dupId = `grant_type=client_credentials&client_id=${post.client_id}&client_id=${post.client_id}&client_secret=${post.client_secret}`;
  expectInvalidRequest(t, await changesNothing(t, () => app.inject({ method: 'POST', url: TOKEN, headers: { 'content-type': FORM }, payload: dupId })), 'the client_id parameter is repeated');
  const dupSecret = `grant_type=client_credentials&client_id=${post.client_id}&client_secret=${post.client_secret}&client_secret=${post.client_secret}`;
  expectInvalidRequest(t, await changesNothing(t, () => app.inject({ method: 'POST', url: TOKEN, headers: { 'content-type': FORM }, payload: dupSecret })), 'the client_secret parameter is repeated');
  await stillWorks(t, c);
});

t.test('REQ-T6: an empty parameter is treated as omitted', async (t) => {
  const c = await newClient();
  const body = expectToken(t, await app.inject({ method: 'POST', url: TOKEN, headers: { ...auth(c), 'content-type': FORM }, payload: 'grant_type=client_credentials&scope=&resource=&audience=' }));
  t.equal(body.scope, 'api:read api:write', 'scope= means the default scopes');
  t.equal(decodeJwt(body.access_token as string).aud, API, 'resource= / audience= mean the default audience');
  // an empty grant_type is a missing one
  expectInvalidRequest(t, await app.inject({ method: 'POST', url: TOKEN, headers: { ...auth(c), 'content-type': FORM }, payload: 'grant_type=' }), 'grant_type is missing');
});

t.test('REQ-T7: unknown parameters are ignored, bracketed and prototype keys included', async (t) => {
  const c = await newClient();
  const payloads = [
    'grant_type=client_credentials&foo=bar&token_type_hint=x',
    'grant_type=client_credentials&__proto__[x]=1&__proto__%5By%5D=2',
    'grant_type=client_credentials&client_id[]=someone-else',
    'grant_type=client_credentials&__proto__=polluted&constructor[prototype][z]=1',
    'grant_type=client_credentials&scope[]=api%3Aadmin',
  ];
  for (const payload of payloads) {
    const res = await app.inject({ method: 'POST', url: TOKEN, headers: { ...auth(c), 'content-type': FORM }, payload });
    const body = expectToken(t, res);
    t.equal(body.scope, 'api:read api:write', payload);
  }
  t.equal(({} as Record<string, unknown>).x, undefined, 'Object.prototype untouched');
  t.equal(({} as Record<string, unknown>).z, undefined, 'Object.prototype untouched');
});

t.test('REQ-G1: grant_type missing / unsupported / wrong case', async (t) => {
  const c = await newClient();
  expectInvalidRequest(t, await changesNothing(t, () => tokenRequest(app, { scope: 'api:read' }, auth(c))), 'grant_type is missing');
  for (const g of ['password', 'Client_Credentials', 'CLIENT_CREDENTIALS', 'client_credentials ', 'authorization_code', 'urn:ietf:params:oauth:grant-type:jwt-bearer']) {
    const res = await changesNothing(t, () => tokenRequest(app, { grant_type: g }, auth(c)));
    expectError(t, res, 400, { error: 'unsupported_grant_type', error_description: 'only grant_type=client_credentials is supported' });
  }
  // C6: parameter syntax (duplicates) is checked before the grant type
  expectInvalidRequest(
    t,
    await app.inject({ method: 'POST', url: TOKEN, headers: { ...auth(c), 'content-type': FORM }, payload: 'grant_type=password&scope=a&scope=b' }),
    'the scope parameter is repeated',
  );
  // C6: the grant type is checked before client authentication
  const wrong = await tokenRequest(app, { grant_type: 'password' }, { authorization: basic(c.client_id, 'wrong') });
  t.equal(wrong.json().error, 'unsupported_grant_type');
  await stillWorks(t, c);
});

t.test('REQ-G2: no client authentication is 401 invalid_client', async (t) => {
  expectError(t, await changesNothing(t, () => tokenRequest(app, cc())), 401, INVALID_CLIENT, CHALLENGE);
  const c = await newClient({ token_endpoint_auth_method: 'client_secret_post' });
  expectError(t, await changesNothing(t, () => tokenRequest(app, cc({ client_id: c.client_id }))), 401, INVALID_CLIENT, CHALLENGE);
  await t.test('an empty client_secret is no secret', async (t) => {
    expectError(t, await changesNothing(t, () => tokenRequest(app, cc({ client_id: c.client_id, client_secret: '' }))), 401, INVALID_CLIENT, CHALLENGE);
  });
});

t.test('REQ-A4 / C4: unknown client and wrong secret are byte-identical (body and headers)', async (t) => {
  const c = await newClient();
  const unknown = await changesNothing(t, () => tokenRequest(app, cc(), { authorization: basic('tmc_doesNotExist00000000', 'tmsec_whatever') }));
  const wrongSecret = await changesNothing(t, () => tokenRequest(app, cc(), { authorization: basic(c.client_id, `${c.client_secret!}x`) }));
  expectError(t, unknown, 401, INVALID_CLIENT, CHALLENGE);
  expectError(t, wrongSecret, 401, INVALID_CLIENT, CHALLENGE);
  t.same(wire(unknown), wire(wrongSecret));
  // with client_secret_post too
  const post = await newClient({ token_endpoint_auth_method: 'client_secret_post' });
  const u2 = await tokenRequest(app, cc({ client_id: 'tmc_doesNotExist00000000', client_secret: 'x' }));
  const w2 = await tokenRequest(app, cc({ client_id: post.client_id, client_secret: 'x' }));
  expectError(t, u2, 401, INVALID_CLIENT, NO_CHALLENGE);
  t.same(wire(u2), wire(w2));
  // Across methods only the challenge differs: it follows where the credentials were (C3).
  const { 'www-authenticate': _challenge, ...basicHeaders } = wire(unknown).headers;
  t.same(wire(u2), { ...wire(unknown), headers: basicHeaders }, 'and identical across methods but for the challenge');
  await stillWorks(t, c);
});

t.test('REQ-A1: two authentication methods at once are invalid_request', async (t) => {
  const c = await newClient();
  const k = await clientKey('ES256');
  const pkj = await newClient({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [k.publicJwk] } });
  const now = Math.floor(clock.now() / 1000);
  const a = await assertion(k, pkj.client_id, ISSUER, now);
  sensitive.add(a);
  const two = 'client authentication must use exactly one method';
  expectInvalidRequest(t, await changesNothing(t, () => tokenRequest(app, cc({ client_secret: c.client_secret! }), auth(c))), two);
  expectInvalidRequest(t, await changesNothing(t, () => tokenRequest(app, cc({ client_id: c.client_id, client_secret: c.client_secret! }), auth(c))), two);
  expectInvalidRequest(t, await changesNothing(t, () => tokenRequest(app, cc({ client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: a }), auth(c))), two);
  expectInvalidRequest(
    t,
    await changesNothing(t, () =>
      tokenRequest(app, cc({ client_id: c.client_id, client_secret: c.client_secret!, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: a })),
    ),
    two,
  );
  await stillWorks(t, c);
  // the assertion was not consumed by the refused requests
  const ok = await tokenRequest(app, cc({ client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: a }));
  expectToken(t, ok);
});

t.test('C3: invalid_client carries WWW-Authenticate: Basic exactly when the Authorization header was used or no credentials were sent', async (t) => {
  const post = await newClient({ token_endpoint_auth_method: 'client_secret_post' });
  const basicClient = await newClient();
  const k = await clientKey('ES256');
  const pkj = await newClient({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [k.publicJwk] } });
  const stranger = await clientKey('ES256', k.kid);
  const now = Math.floor(clock.now() / 1000);
  const badAssertion = await assertion(stranger, pkj.client_id, ISSUER, now);
  sensitive.add(badAssertion);
  const rows: [string, () => Promise<LightMyRequestResponse>, boolean][] = [
    ['client_secret_post, wrong secret', () => tokenRequest(app, cc({ client_id: post.client_id, client_secret: `${post.client_secret!}x` })), NO_CHALLENGE],
    ['client_secret_post, unknown client', () => tokenRequest(app, cc({ client_id: 'tmc_doesNotExist00000000', client_secret: 'x' })), NO_CHALLENGE],
    [
      'private_key_jwt, assertion signed by an unregistered key',
      () => tokenRequest(app, cc({ client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: badAssertion })),
      NO_CHALLENGE,
    ],
    ['client_secret_basic, wrong secret', () => tokenRequest(app, cc(), { authorization: basic(basicClient.client_id, 'wrong') }), CHALLENGE],
    ['client_secret_basic, unknown client', () => tokenRequest(app, cc(), { authorization: basic('tmc_doesNotExist00000000', 'wrong') }), CHALLENGE],
    ['no client credentials', () => tokenRequest(app, cc()), CHALLENGE],
    ['client_id alone', () => tokenRequest(app, cc({ client_id: basicClient.client_id })), CHALLENGE],
  ];
  for (const [name, send, challenge] of rows) {
    await t.test(name, async (t) => expectError(t, await changesNothing(t, send), 401, INVALID_CLIENT, challenge));
  }
});

t.test('REQ-A3: a body client_id different from the Basic user is invalid_request; the same one is fine', async (t) => {
  const c = await newClient();
  const other = await newClient();
  expectInvalidRequest(t, await changesNothing(t, () => tokenRequest(app, cc({ client_id: other.client_id }), auth(c))), 'client_id does not match the authenticated client');
  expectInvalidRequest(t, await changesNothing(t, () => tokenRequest(app, cc({ client_id: 'nobody' }), auth(c))), 'client_id does not match the authenticated client');
  const body = expectToken(t, await tokenRequest(app, cc({ client_id: c.client_id }), auth(c)));
  t.equal(decodeJwt(body.access_token as string).sub, c.client_id);
});

t.test('REQ-A2: the registered token_endpoint_auth_method is enforced', async (t) => {
  const post = await newClient({ token_endpoint_auth_method: 'client_secret_post' });
  const basicClient = await newClient({ token_endpoint_auth_method: 'client_secret_basic' });
  const wrongSecret = await tokenRequest(app, cc(), { authorization: basic(post.client_id, 'not-the-secret') });
  await t.test('client_secret_post client using Basic → 401', async (t) => {
    const res = await changesNothing(t, () => tokenRequest(app, cc(), auth(post)));
    expectError(t, res, 401, INVALID_CLIENT, CHALLENGE);
    t.same(wire(res), wire(wrongSecret), 'indistinguishable from a wrong secret');
  });
  await t.test('client_secret_basic client using the body → 401', async (t) => {
    const res = await changesNothing(t, () => tokenRequest(app, cc({ client_id: basicClient.client_id, client_secret: basicClient.client_secret! })));
    expectError(t, res, 401, INVALID_CLIENT, NO_CHALLENGE);
  });
  await t.test('a secret client sending an assertion → 401', async (t) => {
    const k = await clientKey('ES256');
    const a = await assertion(k, basicClient.client_id, ISSUER, Math.floor(clock.now() / 1000));
    sensitive.add(a);
    const res = await changesNothing(t, () => tokenRequest(app, cc({ client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: a })));
    expectError(t, res, 401, INVALID_CLIENT, NO_CHALLENGE);
  });
  expectToken(t, await tokenRequest(app, cc({ client_id: post.client_id, client_secret: post.client_secret! })));
  await stillWorks(t, basicClient);
});

t.test('REQ-T4: parameters in the query string are refused, client_secret above all', async (t) => {
  const post = await newClient({ token_endpoint_auth_method: 'client_secret_post' });
  const c = await newClient();
  const inUrl = 'parameters must be sent in the request body, not the URL';
  const res = await changesNothing(t, () =>
    app.inject({ method: 'POST', url: `${TOKEN}?client_secret=${encodeURIComponent(post.client_secret!)}`, headers: { 'content-type': FORM }, payload: form(cc({ client_id: post.client_id })) }),
  );
  expectInvalidRequest(t, res, inUrl);
  const res2 = await changesNothing(t, () =>
    app.inject({ method: 'POST', url: `${TOKEN}?client_id=${post.client_id}&client_secret=${encodeURIComponent(post.client_secret!)}`, headers: { 'content-type': FORM }, payload: form(cc()) }),
  );
  expectInvalidRequest(t, res2, inUrl);
  expectInvalidRequest(
    t,
    await changesNothing(t, () => app.inject({ method: 'POST', url: `${TOKEN}?grant_type=client_credentials`, headers: { ...auth(c), 'content-type': FORM }, payload: '' })),
    inUrl,
  );
  expectInvalidRequest(t, await changesNothing(t, () => app.inject({ method: 'POST', url: `${TOKEN}?scope=api:read`, headers: { ...auth(c), 'content-type': FORM }, payload: form(cc()) })), inUrl);
  // an unknown query parameter is ignored like an unknown body parameter
  expectToken(t, await app.inject({ method: 'POST', url: `${TOKEN}?utm=x`, headers: { ...auth(c), 'content-type': FORM }, payload: form(cc()) }));
  expectToken(t, await tokenRequest(app, cc({ client_id: post.client_id, client_secret: post.client_secret! })));
});

t.test('REQ-T8: client_id / client_secret outside VSCHAR or over the caps are invalid_request', async (t) => {
  const post = await newClient({ token_endpoint_auth_method: 'client_secret_post' });
  expectInvalidRequest(t, await changesNothing(t, () => tokenRequest(app, cc({ client_id: `${post.client_id}\u0000`, client_secret: post.client_secret! }))), 'the client_id is malformed');
  expectInvalidRequest(t, await changesNothing(t, () => tokenRequest(app, cc({ client_id: 'é', client_secret: 'x' }))), 'the client_id is malformed');
  expectInvalidRequest(t, await changesNothing(t, () => tokenRequest(app, cc({ client_id: 'i'.repeat(256), client_secret: 'x' }))), 'the client_id is malformed');
  expectInvalidRequest(t, await changesNothing(t, () => tokenRequest(app, cc({ client_id: post.client_id, client_secret: 's'.repeat(513) }))), 'the client_secret is malformed');
  expectInvalidRequest(t, await changesNothing(t, () => tokenRequest(app, cc({ client_id: post.client_id, client_secret: 'a\nb' }))), 'the client_secret is malformed');
  expectInvalidRequest(t, await changesNothing(t, () => tokenRequest(app, cc(), { authorization: basic('a\u0000b', 'x') })), 'the client_id is malformed');
});

t.test('REQ-B2 / C5: a malformed Authorization header is invalid_request', async (t) => {
  const c = await newClient();
  const creds = Buffer.from(`${c.client_id}:${c.client_secret!}`).toString('base64');
  for (const header of [`Basic  ${creds}`, `Basic ${creds.replace(/=+$/, '')}x`, `Basic ${creds}!`, 'Basic', `Basic ${Buffer.from(c.client_id).toString('base64')}`]) {
    const res = await changesNothing(t, () => tokenRequest(app, cc(), { authorization: header }));
    t.equal(res.statusCode, 400, header);
    t.equal(res.json().error, 'invalid_request');
    checkNoStore(t, res);
  }
  expectInvalidRequest(t, await tokenRequest(app, cc(), { authorization: `Digest ${creds}` }), 'unsupported Authorization scheme');
  expectInvalidRequest(t, await tokenRequest(app, cc(), { authorization: `Bearer ${ADMIN_TOKEN}` }), 'unsupported Authorization scheme');
  // lower-case scheme accepted
  expectToken(t, await tokenRequest(app, cc(), { authorization: `basic ${creds}` }));
});

t.test('REQ-G4: scope not allowed or malformed is invalid_scope', async (t) => {
  const c = await newClient();
  const notAllowed = { error: 'invalid_scope', error_description: 'the requested scope is not allowed for this client' };
  expectError(t, await changesNothing(t, () => tokenRequest(app, cc({ scope: 'api:admin' }), auth(c)), true), 400, notAllowed);
  expectError(t, await changesNothing(t, () => tokenRequest(app, cc({ scope: 'api:read api:admin' }), auth(c)), true), 400, notAllowed);
  expectError(t, await changesNothing(t, () => tokenRequest(app, cc({ scope: 'tokenmill:admin' }), auth(c)), true), 400, notAllowed);
  expectError(t, await changesNothing(t, () => tokenRequest(app, cc({ scope: 'api:read  api:write' }), auth(c)), true), 400, {
    error: 'invalid_scope',
    error_description: 'the scope parameter is malformed',
  });
  const body = expectToken(t, await tokenRequest(app, cc({ scope: 'api:write' }), auth(c)));
  t.equal(body.scope, 'api:write');
  t.equal(decodeJwt(body.access_token as string).scope, 'api:write');
});

t.test('REQ-G6: resource / audience checks (invalid_target)', async (t) => {
  const c = await newClient({ audience: [API, 'https://billing.example.com'] });
  const notAllowed = { error: 'invalid_target', error_description: 'the requested resource is not allowed for this client' };
  expectError(t, await changesNothing(t, () => tokenRequest(app, cc({ resource: 'https://evil.example.com' }), auth(c)), true), 400, notAllowed);
  expectError(t, await changesNothing(t, () => tokenRequest(app, cc({ audience: 'https://evil.example.com' }), auth(c)), true), 400, notAllowed);
  expectError(t, await changesNothing(t, () => tokenRequest(app, cc({ resource: [API, 'https://billing.example.com'] }), auth(c)), true), 400, {
    error: 'invalid_target',
    error_description: 'only one resource may be requested for this grant',
  });
  expectError(t, await changesNothing(t, () => tokenRequest(app, cc({ resource: [API, API] }), auth(c)), true), 400, {
    error: 'invalid_target',
    error_description: 'only one resource may be requested for this grant',
  });
  expectError(t, await changesNothing(t, () => tokenRequest(app, cc({ resource: `${API}#frag` }), auth(c)), true), 400, {
    error: 'invalid_target',
    error_description: 'resource must be an absolute URI without a fragment',
  });
  expectInvalidRequest(t, await changesNothing(t, () => tokenRequest(app, cc({ resource: API, audience: API }), auth(c)), true), 'use either resource or audience, not both');
  // C6: scope is checked before resource
  t.equal((await tokenRequest(app, cc({ scope: 'nope', resource: 'https://evil.example.com' }), auth(c))).json().error, 'invalid_scope');
  const viaResource = expectToken(t, await tokenRequest(app, cc({ resource: 'https://billing.example.com' }), auth(c)));
  t.equal(decodeJwt(viaResource.access_token as string).aud, 'https://billing.example.com');
  const viaAudience = expectToken(t, await tokenRequest(app, cc({ audience: 'https://billing.example.com' }), auth(c)));
  t.equal(decodeJwt(viaAudience.access_token as string).aud, 'https://billing.example.com');
  const byDefault = expectToken(t, await tokenRequest(app, cc(), auth(c)));
  t.equal(decodeJwt(byDefault.access_token as string).aud, API, 'the first registered audience is the default');
});

t.test('contract: a client with no audience registered gets the issuer as aud', async (t) => {
  const c = await newClient({ audience: [] });
  const body = expectToken(t, await tokenRequest(app, cc(), auth(c)));
  t.equal(decodeJwt(body.access_token as string).aud, ISSUER);
});

t.test('contract "Failure behaviour": a disabled client is refused (401) like a wrong secret, and works again once re-enabled', async (t) => {
  const c = await newClient();
  await stillWorks(t, c);
  await rt.clientService.update(c.client_id, { status: 'disabled' });
  const wrongSecret = await tokenRequest(app, cc(), { authorization: basic(c.client_id, 'wrong') });
  const res = await changesNothing(t, () => tokenRequest(app, cc(), auth(c)));
  expectError(t, res, 401, INVALID_CLIENT, CHALLENGE);
  t.same(wire(res), wire(wrongSecret));
  await rt.clientService.update(c.client_id, { status: 'active' });
  await stillWorks(t, c);
});

t.test('REQ-A8: a secret past its expiry is 401, identical to a wrong secret', async (t) => {
  const c = await newClient();
  const rotated = await rt.clientService.rotateSecret(c.client_id, { expiresInMs: 60_000, previousSecretTtlMs: 0 });
  t.ok(rotated);
  const fresh = rotated!.clientSecret;
  sensitive.add(fresh);
  sensitive.add(basic(c.client_id, fresh));
  await t.test('the previous secret ended at once (previous_secret_ttl 0)', async (t) => {
    expectError(t, await changesNothing(t, () => tokenRequest(app, cc(), auth(c))), 401, INVALID_CLIENT, CHALLENGE);
  });
  expectToken(t, await tokenRequest(app, cc(), { authorization: basic(c.client_id, fresh) }));
  clock.advance(59_000);
  expectToken(t, await tokenRequest(app, cc(), { authorization: basic(c.client_id, fresh) }));
  clock.advance(1_000);
  const expired = await changesNothing(t, () => tokenRequest(app, cc(), { authorization: basic(c.client_id, fresh) }));
  const wrong = await tokenRequest(app, cc(), { authorization: basic(c.client_id, `${fresh}x`) });
  expectError(t, expired, 401, INVALID_CLIENT, CHALLENGE);
  t.same(wire(expired), wire(wrong));
});

t.test('REQ-B1: a secret holding "+", "%", ":" works with correct Basic encoding, fails raw', async (t) => {
  const c = await newClient();
  const secret = 'sp+ec/ia%l:se=cr et';
  sensitive.add(secret);
  await rt.clientStore.addSecret(c.client_id, { secretId: 'sec_special0000000001', hash: hashSecret(secret), prefix: 'sp+ec/', createdAt: clock.now(), expiresAt: null, lastUsedAt: null });
  rt.clientCache.invalidate(c.client_id);
  const encoded = basic(c.client_id, secret);
  sensitive.add(encoded);
  t.equal(Buffer.from(encoded.slice(6), 'base64').toString(), `${c.client_id}:sp%2Bec%2Fia%25l%3Ase%3Dcr+et`);
  expectToken(t, await tokenRequest(app, cc(), { authorization: encoded }));
  // raw "+" (no "%"): decodes to a space → a different secret → 401
  const plusOnly = 'a+b+c';
  await rt.clientStore.addSecret(c.client_id, { secretId: 'sec_special0000000002', hash: hashSecret(plusOnly), prefix: 'a+b+c', createdAt: clock.now(), expiresAt: null, lastUsedAt: null });
  rt.clientCache.invalidate(c.client_id);
  const raw = (s: string) => `Basic ${Buffer.from(`${c.client_id}:${s}`).toString('base64')}`;
  sensitive.add(raw(plusOnly));
  expectError(t, await changesNothing(t, () => tokenRequest(app, cc(), { authorization: raw(plusOnly) })), 401, INVALID_CLIENT, CHALLENGE);
  expectToken(t, await tokenRequest(app, cc(), { authorization: basic(c.client_id, plusOnly) }));
  // raw "%l:" is an undecodable escape → 400
  sensitive.add(raw(secret));
  expectInvalidRequest(t, await changesNothing(t, () => tokenRequest(app, cc(), { authorization: raw(secret) })), 'the Authorization header is malformed');
  // client_secret_post carries the same secret form-encoded in the body
  await rt.clientService.update(c.client_id, { tokenEndpointAuthMethod: 'client_secret_post' });
  expectToken(t, await tokenRequest(app, cc({ client_id: c.client_id, client_secret: secret })));
});

t.test('contract: per-client access_token_ttl sets expires_in and exp', async (t) => {
  const c = await newClient({ access_token_ttl: 120 });
  const body = expectToken(t, await tokenRequest(app, cc(), auth(c)));
  t.equal(body.expires_in, 120);
  const claims = decodeJwt(body.access_token as string);
  const now = Math.floor(clock.now() / 1000);
  t.equal(claims.iat, now);
  t.equal(claims.exp, now + 120);
});

t.test('REQ-T9 / REQ-M4: the issuer is never taken from Host or X-Forwarded-*', async (t) => {
  const c = await newClient();
  const evil = { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https', forwarded: 'host=evil.example;proto=https' };
  const body = expectToken(t, await tokenRequest(app, cc(), { ...auth(c), ...evil }));
  t.equal(decodeJwt(body.access_token as string).iss, ISSUER);
  for (const url of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
    const meta = await app.inject({ method: 'GET', url, headers: evil });
    t.equal(meta.statusCode, 200);
    t.notMatch(meta.body, 'evil.example', url);
    t.equal(meta.json().issuer, ISSUER);
    t.equal(meta.json().token_endpoint, `${ISSUER}/oauth2/token`);
  }
  const reg = await app.inject({
    method: 'POST',
    url: '/oauth2/register',
    headers: { ...evil, authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    payload: { client_name: 'x' },
  });
  t.equal(reg.statusCode, 201);
  sensitive.add(reg.json().client_secret);
  sensitive.add(reg.json().registration_access_token);
  t.match(reg.json().registration_client_uri, new RegExp(`^${ISSUER}/oauth2/register/`));
  // a failed request's challenge also names the configured issuer
  const fail = await tokenRequest(app, cc(), { ...evil, authorization: basic(c.client_id, 'wrong') });
  t.equal(fail.headers['www-authenticate'], `Basic realm="${ISSUER}"`);
});

t.test('C1: every error_description uses the RFC 6749 §5.2 character set and echoes no input', async (t) => {
  t.ok(errorBodies.length > 20, `${errorBodies.length} error bodies collected`);
  for (const raw of errorBodies) {
    const body = JSON.parse(raw) as Record<string, unknown>;
    t.same(
      Object.keys(body).filter((k) => k !== 'error' && k !== 'error_description'),
      [],
      raw,
    );
    if (body.error_description !== undefined) t.match(body.error_description, /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/, raw);
    const echoed = [...sensitive].filter((s) => raw.includes(s));
    t.same(echoed, [], 'no credential echoed');
  }
});

t.test('REQ-O1: no log line holds a secret, an assertion, a token or an Authorization value', async (t) => {
  t.ok(logs.length > 50, `${logs.length} log lines captured`);
  t.ok(
    logs.some((l) => l.includes('"path":"/oauth2/token"')),
    'request lines are logged',
  );
  t.ok(sensitive.size > 20, `${sensitive.size} sensitive values tracked`);
  const leaks: string[] = [];
  for (const line of logs) {
    for (const s of sensitive) {
      if (line.includes(s)) leaks.push(`${s.slice(0, 12)}… in ${line.slice(0, 200)}`);
      // the base64 part of a Basic header on its own
      if (s.startsWith('Basic ') && line.includes(s.slice(6))) leaks.push(`basic credentials in ${line.slice(0, 200)}`);
    }
    if (/client_secret=|tmsec_|tmrat_|eyJ[A-Za-z0-9_-]{10,}\./.test(line)) leaks.push(`secret-looking text in ${line.slice(0, 200)}`);
    if (line.includes(ADMIN_TOKEN)) leaks.push('admin token');
  }
  t.same(leaks, []);
});
