import t from 'tap';
import type { Test } from 'tap';
import { createHash, generateKeyPairSync } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { exportJWK } from 'jose';
import { ADMIN_TOKEN, ISSUER, basic, build, form, tokenRequest } from '../helper.js';
import { clientKey } from '../fixtures/assertion.js';
import { hasValidChecksum } from '../../src/clients/secret.js';

const { app, rt, clock, logs } = await build(t);

const REGISTER = '/oauth2/register';
const API = 'https://api.example.com';
const JSON_TYPE = { 'content-type': 'application/json' };
const adminAuth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const sensitive = new Set<string>();
/** RFC 6749 §5.2 / RFC 7591 §3.2.2 / C1: error_description characters. */
const DESCRIPTION_CHARSET = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;
const now = (): number => Math.floor(clock.now() / 1000);

function post(payload: unknown, headers: Record<string, string> = { ...adminAuth, ...JSON_TYPE }): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: REGISTER, headers, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });
}

async function registerOk(t: Test, metadata: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await post(metadata);
  t.equal(res.statusCode, 201, `201 (${res.body.slice(0, 200)})`);
  const body = res.json() as Record<string, unknown>;
  if (typeof body.client_secret === 'string') sensitive.add(body.client_secret);
  if (typeof body.registration_access_token === 'string') sensitive.add(body.registration_access_token);
  return body;
}

function checkNoStore(t: Test, res: LightMyRequestResponse): void {
  t.equal(res.headers['cache-control'], 'no-store', 'Cache-Control: no-store');
  t.equal(res.headers.pragma, 'no-cache', 'Pragma: no-cache');
}

function expectError(t: Test, res: LightMyRequestResponse, status: number, body: Record<string, string>): void {
  t.equal(res.statusCode, status, `status ${status}`);
  t.same(res.json(), body);
  checkNoStore(t, res);
}

/** 400 invalid_client_metadata whose description names the field and keeps to the C1 character set. */
function expectBadMetadata(t: Test, res: LightMyRequestResponse, field: string, what: string): void {
  t.equal(res.statusCode, 400, `${what}: 400 (${res.body})`);
  const body = res.json() as Record<string, unknown>;
  t.same(Object.keys(body).sort(), ['error', 'error_description']);
  t.equal(body.error, 'invalid_client_metadata', what);
  t.match(body.error_description, new RegExp(`^${field}: `), `${what}: names ${field}`);
  t.match(body.error_description, DESCRIPTION_CHARSET, `${what}: C1 / RFC 7591 §3.2.2 charset (ASCII, no " or \\): ${String(body.error_description)}`);
  checkNoStore(t, res);
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

// ---------------------------------------------------------------- initial access token (REQ-D1)

t.test('REQ-D1: no token → 401 with a bare Bearer challenge', async (t) => {
  const res = await post({ client_name: 'x' }, JSON_TYPE);
  expectError(t, res, 401, { error: 'invalid_token', error_description: 'a bearer token is required' });
  t.equal(res.headers['www-authenticate'], `Bearer realm="${ISSUER}"`);
});

t.test('REQ-D1: a wrong token → 401 Bearer error="invalid_token"', async (t) => {
  const res = await post({ client_name: 'x' }, { authorization: 'Bearer not-the-admin-token', ...JSON_TYPE });
  expectError(t, res, 401, { error: 'invalid_token', error_description: 'the initial access token is invalid' });
  t.equal(res.headers['www-authenticate'], `Bearer realm="${ISSUER}", error="invalid_token", error_description="the initial access token is invalid"`);
  // another scheme is not a bearer token
  const b = await post({ client_name: 'x' }, { authorization: basic('admin', ADMIN_TOKEN), ...JSON_TYPE });
  t.equal(b.statusCode, 401);
  t.match(b.headers['www-authenticate'], /^Bearer realm="http:\/\/tokenmill\.test"/);
  checkNoStore(t, b);
  // a prefix of the admin token is wrong too
  const prefix = await post({ client_name: 'x' }, { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}`, ...JSON_TYPE });
  t.equal(prefix.statusCode, 401);
  // nothing was registered by any of them
  const { rows } = await rt.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM clients');
  t.equal(rows[0]?.n, 0);
});

// ---------------------------------------------------------------- body (REQ-D2)

t.test('REQ-D2: a non-JSON body is 400 invalid_request', async (t) => {
  expectError(t, await post(form({ client_name: 'x' }), { ...adminAuth, 'content-type': 'application/x-www-form-urlencoded' }), 400, {
    error: 'invalid_request',
    error_description: 'the request body must be application/json',
  });
  expectError(t, await post('client_name=x', { ...adminAuth, 'content-type': 'text/plain' }), 400, { error: 'invalid_request', error_description: 'the request body must be application/json' });
  const xml = await post('<client/>', { ...adminAuth, 'content-type': 'application/xml' });
  t.equal(xml.statusCode, 400);
  t.equal(xml.json().error, 'invalid_request');
  checkNoStore(t, xml);
  const broken = await post('{"client_name":', { ...adminAuth, ...JSON_TYPE });
  t.equal(broken.statusCode, 400);
  t.equal(broken.json().error, 'invalid_request');
  const empty = await app.inject({ method: 'POST', url: REGISTER, headers: { ...adminAuth, ...JSON_TYPE } });
  t.equal(empty.statusCode, 400);
  t.equal(empty.json().error, 'invalid_request');
  // application/json; charset=utf-8 is JSON
  await registerOk(t, { client_name: 'charset' }).then(() => undefined);
  const withCharset = await post({ client_name: 'x' }, { ...adminAuth, 'content-type': 'application/json; charset=utf-8' });
  t.equal(withCharset.statusCode, 201);
  sensitive.add(withCharset.json().client_secret);
  sensitive.add(withCharset.json().registration_access_token);
});

t.test('REQ-D2: a body over 64 KiB is 413; between 16 and 64 KiB is accepted', async (t) => {
  const big = await post({ client_name: 'x', padding: 'p'.repeat(65 * 1024) });
  expectError(t, big, 413, { error: 'invalid_request', error_description: 'request body too large' });
  const medium = await registerOk(t, { client_name: 'medium', padding: 'p'.repeat(20 * 1024) });
  t.notOk('padding' in medium, 'unknown member ignored (REQ-D9)');
});

t.test('REQ-D2: prototype poisoning in JSON is 400', async (t) => {
  const before = (await rt.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM clients')).rows[0]?.n;
  const proto = await post('{"client_name":"x","__proto__":{"token_endpoint_auth_method":"private_key_jwt","admin":true}}');
  t.equal(proto.statusCode, 400);
  t.equal(proto.json().error, 'invalid_request');
  checkNoStore(t, proto);
  const ctor = await post('{"client_name":"x","constructor":{"prototype":{"admin":true}}}');
  t.equal(ctor.statusCode, 400);
  t.equal(ctor.json().error, 'invalid_request');
  t.equal(({} as Record<string, unknown>).admin, undefined, 'Object.prototype untouched');
  t.equal((await rt.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM clients')).rows[0]?.n, before, 'nothing registered');
});

// ---------------------------------------------------------------- metadata (REQ-D4..D7)

t.test('REQ-D4..D7: bad metadata is 400 invalid_client_metadata', async (t) => {
  const ec = await clientKey('ES256');
  const { publicKey: rsa1024 } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const smallRsa = { ...(await exportJWK(rsa1024)), kid: 'small', alg: 'PS256' };
  const { privateKey: ecPriv } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const privateJwk = { ...(await exportJWK(ecPriv)), kid: 'priv' };
  const ec2 = await clientKey('ES256', ec.kid);
  const pkj = { token_endpoint_auth_method: 'private_key_jwt' };
  const cases: [Record<string, unknown>, string, string][] = [
    [{ token_endpoint_auth_method: 'none' }, 'token_endpoint_auth_method', 'auth method none'],
    [{ token_endpoint_auth_method: 'tls_client_auth' }, 'token_endpoint_auth_method', 'auth method tls_client_auth'],
    [{ token_endpoint_auth_method: 'client_secret_jwt' }, 'token_endpoint_auth_method', 'auth method client_secret_jwt'],
    [{ token_endpoint_auth_method: 42 }, 'token_endpoint_auth_method', 'auth method not a string'],
    [{ grant_types: ['authorization_code'] }, 'grant_types', 'grant_types authorization_code'],
    [{ grant_types: ['client_credentials', 'refresh_token'] }, 'grant_types', 'grant_types with refresh_token'],
    [{ grant_types: 'client_credentials' }, 'grant_types', 'grant_types not an array'],
    [{ grant_types: [] }, 'grant_types', 'grant_types empty'],
    [{ response_types: ['code'] }, 'response_types', 'response_types code'],
    [{ ...pkj, jwks: { keys: [ec.publicJwk] }, jwks_uri: 'https://keys.example.com/jwks.json' }, 'jwks', 'jwks and jwks_uri together'],
    [{ ...pkj }, 'jwks', 'private_key_jwt without keys'],
    [{ ...pkj, jwks: { keys: [privateJwk] } }, 'jwks', 'jwks with a private d'],
    [{ ...pkj, jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'sym' }] } }, 'jwks', 'symmetric key'],
    [{ ...pkj, jwks: { keys: [smallRsa] } }, 'jwks', 'RSA 1024-bit key'],
    [{ ...pkj, jwks: { keys: [ec.publicJwk, ec2.publicJwk] } }, 'jwks', 'duplicate kids'],
    [{ ...pkj, jwks: { keys: [] } }, 'jwks', 'empty key set'],
    [{ ...pkj, jwks: [ec.publicJwk] }, 'jwks', 'jwks not a key set'],
    [{ ...pkj, jwks: { keys: [{ ...ec.publicJwk, use: 'enc' }] } }, 'jwks', 'use enc'],
    [{ jwks: { keys: [ec.publicJwk] } }, 'jwks', 'keys for a secret method'],
    [{ ...pkj, jwks_uri: 'ftp://keys.example.com/jwks.json' }, 'jwks_uri', 'jwks_uri not http(s)'],
    [{ ...pkj, jwks_uri: 'https://user:pw@keys.example.com/jwks.json' }, 'jwks_uri', 'jwks_uri with credentials'],
    [{ ...pkj, jwks: { keys: [ec.publicJwk] }, token_endpoint_auth_signing_alg: 'HS256' }, 'token_endpoint_auth_signing_alg', 'HS256 signing alg'],
    [{ ...pkj, jwks: { keys: [ec.publicJwk] }, token_endpoint_auth_signing_alg: 'none' }, 'token_endpoint_auth_signing_alg', 'none signing alg'],
    [{ scope: 'api:read "quoted"' }, 'scope', 'scope with "'],
    [{ scope: 'a  b' }, 'scope', 'scope with two spaces'],
    [{ scope: ['api:read'] }, 'scope', 'scope not a string'],
    [{ access_token_ttl: 0 }, 'access_token_ttl', 'ttl 0'],
    [{ access_token_ttl: 1e9 }, 'access_token_ttl', 'ttl 1e9'],
    [{ access_token_ttl: 'x' }, 'access_token_ttl', 'ttl "x"'],
    [{ access_token_ttl: 1.5 }, 'access_token_ttl', 'ttl 1.5'],
    [{ access_token_ttl: -60 }, 'access_token_ttl', 'ttl negative'],
    [{ audience: [1] }, 'audience', 'audience [1]'],
    [{ audience: { a: 1 } }, 'audience', 'audience object'],
    [{ audience: 42 }, 'audience', 'audience number'],
    [{ audience: [''] }, 'audience', 'audience [""]'],
    [{ audience: ['https://a.example b'] }, 'audience', 'audience with whitespace'],
    [{ client_name: 42 }, 'client_name', 'client_name not a string'],
    [{ client_name: 'a\u0000b' }, 'client_name', 'client_name with NUL'],
    [{ access_token_signing_alg: 'HS256' }, 'access_token_signing_alg', 'access token alg HS256'],
  ];
  for (const [metadata, field, what] of cases) {
    expectBadMetadata(t, await post({ client_name: 'bad', ...metadata }), field, what);
  }
  for (const body of ['[]', '"x"', '42', 'null']) {
    const res = await post(body);
    t.equal(res.statusCode, 400, body);
    t.equal(res.json().error, body === 'null' ? res.json().error : 'invalid_client_metadata', `${body}: ${res.body}`);
  }
  const { rows } = await rt.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM clients WHERE client_name = 'bad'");
  t.equal(rows[0]?.n, 0, 'no bad client was stored');
});

t.test('REQ-D7: exact descriptions for the simple metadata errors', async (t) => {
  expectError(t, await post({ token_endpoint_auth_method: 'none' }), 400, {
    error: 'invalid_client_metadata',
    error_description: 'token_endpoint_auth_method: must be one of client_secret_basic, client_secret_post, private_key_jwt',
  });
  expectError(t, await post({ response_types: ['code'] }), 400, { error: 'invalid_client_metadata', error_description: 'response_types: no response types are supported' });
  expectError(t, await post({ access_token_ttl: 0 }), 400, { error: 'invalid_client_metadata', error_description: 'access_token_ttl: must be an integer number of seconds between 1 and 86400' });
  expectError(t, await post({ audience: [1] }), 400, { error: 'invalid_client_metadata', error_description: 'audience: must be an array of non-empty strings without whitespace' });
  expectError(t, await post({ token_endpoint_auth_method: 'private_key_jwt' }), 400, { error: 'invalid_client_metadata', error_description: 'jwks: private_key_jwt requires jwks or jwks_uri' });
});

// ---------------------------------------------------------------- success (REQ-D3, D9, D10)

t.test('REQ-D3: 201 with exactly the contract fields; a well-formed secret shown once', async (t) => {
  const res = await post({ client_name: 'billing', scope: 'api:read api:write', audience: [API], access_token_ttl: 600 });
  t.equal(res.statusCode, 201);
  checkNoStore(t, res);
  t.match(res.headers['content-type'], /^application\/json/);
  const body = res.json() as Record<string, unknown>;
  sensitive.add(body.client_secret as string);
  sensitive.add(body.registration_access_token as string);
  const id = body.client_id as string;
  t.match(id, /^tmc_[0-9A-Za-z]{22}$/);
  t.match(body.client_secret, /^tmsec_[0-9A-Za-z]{49}$/);
  t.ok(hasValidChecksum(body.client_secret as string), 'checksum verifies offline');
  t.notOk(hasValidChecksum(`${(body.client_secret as string).slice(0, -1)}${(body.client_secret as string).endsWith('A') ? 'B' : 'A'}`), 'a changed character fails the checksum');
  t.match(body.registration_access_token, /^tmrat_[0-9A-Za-z]+$/);
  t.same(body, {
    client_id: id,
    client_secret: body.client_secret,
    client_id_issued_at: now(),
    client_secret_expires_at: 0,
    registration_access_token: body.registration_access_token,
    registration_client_uri: `${ISSUER}/oauth2/register/${id}`,
    client_name: 'billing',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    scope: 'api:read api:write',
    audience: [API],
    access_token_ttl: 600,
  });
  // and the secret works
  const tok = await tokenRequest(app, { grant_type: 'client_credentials' }, { authorization: basic(id, body.client_secret as string) });
  t.equal(tok.statusCode, 200);
  t.equal(tok.json().expires_in, 600);
  sensitive.add(tok.json().access_token);
});

t.test('REQ-D3: defaults — client_secret_basic, client_credentials, no scope, no audience', async (t) => {
  const body = await registerOk(t, {});
  t.equal(body.token_endpoint_auth_method, 'client_secret_basic');
  t.same(body.grant_types, ['client_credentials']);
  t.same(body.response_types, []);
  t.equal(body.scope, '');
  t.same(body.audience, []);
  t.equal(body.client_secret_expires_at, 0);
});

t.test('REQ-D3: private_key_jwt registration issues no secret', async (t) => {
  const k = await clientKey('ES256');
  const body = await registerOk(t, { client_name: 'pkj', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [k.publicJwk] }, scope: 'api:read', audience: [API] });
  t.notOk('client_secret' in body, 'no client_secret');
  t.notOk('client_secret_expires_at' in body, 'no client_secret_expires_at');
  const id = body.client_id as string;
  t.same(body, {
    client_id: id,
    client_id_issued_at: now(),
    registration_access_token: body.registration_access_token,
    registration_client_uri: `${ISSUER}/oauth2/register/${id}`,
    client_name: 'pkj',
    token_endpoint_auth_method: 'private_key_jwt',
    grant_types: ['client_credentials'],
    response_types: [],
    scope: 'api:read',
    audience: [API],
    jwks: { keys: [k.publicJwk] },
  });
  const { rows } = await rt.sql.query('SELECT * FROM client_secrets WHERE client_id = $1', [id]);
  t.equal(rows.length, 0, 'no secret row');
});

t.test('REQ-D9 / REQ-D10: unknown members ignored; client-supplied client_id and client_secret ignored', async (t) => {
  const body = await registerOk(t, {
    client_id: 'tmc_chosenByTheCaller000',
    client_secret: 'tmsec_chosenByTheCaller',
    client_id_issued_at: 1,
    client_secret_expires_at: 99,
    registration_access_token: 'tmrat_mine',
    redirect_uris: ['https://app.example/cb'],
    software_id: 'x',
    favourite_colour: 'blue',
  });
  t.not(body.client_id, 'tmc_chosenByTheCaller000');
  t.match(body.client_id, /^tmc_[0-9A-Za-z]{22}$/);
  t.not(body.client_secret, 'tmsec_chosenByTheCaller');
  t.ok(hasValidChecksum(body.client_secret as string));
  t.not(body.registration_access_token, 'tmrat_mine');
  t.equal(body.client_id_issued_at, now());
  t.equal(body.client_secret_expires_at, 0);
  t.notOk('redirect_uris' in body);
  t.notOk('favourite_colour' in body);
  const chosen = await tokenRequest(app, { grant_type: 'client_credentials' }, { authorization: basic(body.client_id as string, 'tmsec_chosenByTheCaller') });
  t.equal(chosen.statusCode, 401, 'the caller’s secret does not work');
  const { rows } = await rt.sql.query('SELECT client_id FROM clients WHERE client_id = $1', ['tmc_chosenByTheCaller000']);
  t.equal(rows.length, 0);
});

t.test('REQ-A5 / contract: the secret and the registration token are stored only as SHA-256 hashes', async (t) => {
  const body = await registerOk(t, { client_name: 'hashed' });
  const secret = body.client_secret as string;
  const rat = body.registration_access_token as string;
  const { rows } = await rt.sql.query<{ secret_hash: Uint8Array }>('SELECT secret_hash FROM client_secrets WHERE client_id = $1', [body.client_id]);
  t.equal(rows.length, 1);
  t.same(Buffer.from(rows[0]!.secret_hash), sha256(secret), 'secret_hash = sha256(secret)');
  const client = await rt.sql.query<{ registration_access_token_hash: Uint8Array }>('SELECT registration_access_token_hash FROM clients WHERE client_id = $1', [body.client_id]);
  t.same(Buffer.from(client.rows[0]!.registration_access_token_hash), sha256(rat), 'registration_access_token_hash = sha256(token)');
  // the plaintext appears in no column of any table, in any encoding
  const render = (v: unknown): string => {
    if (v instanceof Uint8Array) return `${Buffer.from(v).toString('hex')} ${Buffer.from(v).toString('latin1')} ${Buffer.from(v).toString('base64')}`;
    if (v instanceof Date) return v.toISOString();
    return typeof v === 'string' ? v : JSON.stringify(v);
  };
  for (const table of ['client_secrets', 'clients', 'audit_log', 'revocations']) {
    const all = await rt.sql.query(`SELECT * FROM ${table}`);
    const text = all.rows.map((r) => Object.values(r).map(render).join('|')).join('\n');
    t.notOk(text.includes(secret), `${table}: no plaintext secret`);
    t.notOk(text.includes(secret.slice(6, 30)), `${table}: no secret body fragment`);
    t.notOk(text.includes(rat), `${table}: no plaintext registration token`);
    t.notOk(text.includes(ADMIN_TOKEN), `${table}: no admin token`);
  }
});

// ---------------------------------------------------------------- RFC 7592

async function manage(method: 'GET' | 'PUT' | 'DELETE', id: string, token: string | null, payload?: unknown): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (payload !== undefined) headers['content-type'] = 'application/json';
  return app.inject({ method, url: `${REGISTER}/${id}`, headers, ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }) });
}

t.test('RFC 7592 GET: the registration access token reads the metadata, without secret', async (t) => {
  const reg = await registerOk(t, { client_name: 'read-me', scope: 'api:read', audience: [API] });
  const id = reg.client_id as string;
  const res = await manage('GET', id, reg.registration_access_token as string);
  t.equal(res.statusCode, 200);
  checkNoStore(t, res);
  const { client_secret: _s, registration_access_token: _r, ...expected } = reg;
  t.same(res.json(), expected, 'the registration response minus the one-time values');
  t.notOk(res.body.includes(reg.client_secret as string));
  // admin token works too
  t.equal((await manage('GET', id, ADMIN_TOKEN)).statusCode, 200);
});

t.test('RFC 7592: another client’s token, no token, or an unknown client is 401', async (t) => {
  const a = await registerOk(t, { client_name: 'a' });
  const b = await registerOk(t, { client_name: 'b' });
  const cross = await manage('GET', a.client_id as string, b.registration_access_token as string);
  expectError(t, cross, 401, { error: 'invalid_token', error_description: 'the registration access token is invalid' });
  t.equal(cross.headers['www-authenticate'], `Bearer realm="${ISSUER}", error="invalid_token", error_description="the registration access token is invalid"`);
  const none = await manage('GET', a.client_id as string, null);
  t.equal(none.statusCode, 401);
  t.equal(none.headers['www-authenticate'], `Bearer realm="${ISSUER}"`);
  const unknown = await manage('GET', 'tmc_doesNotExist000000000', a.registration_access_token as string);
  t.same(unknown.json(), cross.json(), 'unknown client looks like a bad token');
  t.equal(unknown.statusCode, 401);
  for (const method of ['PUT', 'DELETE'] as const) {
    const res = await manage(method, a.client_id as string, b.registration_access_token as string, method === 'PUT' ? { client_id: a.client_id, scope: 'x' } : undefined);
    t.equal(res.statusCode, 401, `${method} with another client's token`);
  }
  // a's secret is a credential for the token endpoint, not for management
  t.equal((await manage('GET', a.client_id as string, a.client_secret as string)).statusCode, 401);
  t.equal((await manage('GET', a.client_id as string, ADMIN_TOKEN)).statusCode, 200, 'a still exists');
});

t.test('RFC 7592 PUT: changes the name; requires a matching client_id; refuses a scope change (see registration-self-service.test.ts)', async (t) => {
  const reg = await registerOk(t, { client_name: 'put-me', scope: 'api:read api:write', audience: [API] });
  const id = reg.client_id as string;
  const rat = reg.registration_access_token as string;
  const creds = { authorization: basic(id, reg.client_secret as string) };
  expectError(t, await manage('PUT', id, rat, { client_name: 'put-me', scope: 'api:read', audience: [API] }), 400, {
    error: 'invalid_request',
    error_description: 'client_id must be included and match',
  });
  expectError(t, await manage('PUT', id, rat, { client_id: 'tmc_other', client_name: 'put-me', scope: 'api:read', audience: [API] }), 400, {
    error: 'invalid_request',
    error_description: 'client_id must be included and match',
  });
  expectError(t, await manage('PUT', id, rat, { client_id: id, client_secret: 'tmsec_wrong', scope: 'api:read', audience: [API] }), 400, {
    error: 'invalid_request',
    error_description: 'client_secret does not match the current secret',
  });
  expectBadMetadata(t, await manage('PUT', id, rat, { client_id: id, scope: 'a"b' }), 'scope', 'PUT with a bad scope');
  expectError(t, await manage('PUT', id, rat, { client_id: id, client_name: 'put-me', scope: 'api:read', audience: [API] }), 400, {
    error: 'invalid_client_metadata',
    error_description: 'scope: cannot be changed by the client itself (RFC 7592 section 2.2); an administrator changes it through the admin API',
  });
  expectBadMetadata(t, await manage('PUT', id, rat, { client_id: id, client_name: 'a\u202eb' }), 'client_name', 'PUT with a bidi override in the name');
  const ok = await manage('PUT', id, rat, { client_id: id, client_secret: reg.client_secret, client_name: 'put-me-too', scope: 'api:read api:write', audience: [API] });
  t.equal(ok.statusCode, 200, ok.body);
  checkNoStore(t, ok);
  t.equal(ok.json().client_name, 'put-me-too');
  t.equal(ok.json().scope, 'api:read api:write');
  t.equal(ok.json().client_id, id);
  t.notOk('client_secret' in ok.json(), 'the existing secret is not shown again');
  // RFC 7592 §2.2: the response carries a new registration access token; the old one has ended.
  const newRat = ok.json().registration_access_token as string;
  sensitive.add(newRat);
  t.match(newRat, /^tmrat_/);
  t.equal((await manage('GET', id, rat)).statusCode, 401, 'the old registration access token has ended');
  // the scopes are what they were
  const allowed = await tokenRequest(app, { grant_type: 'client_credentials', scope: 'api:write' }, creds);
  t.equal(allowed.statusCode, 200);
  t.equal(allowed.json().scope, 'api:write');
  sensitive.add(allowed.json().access_token);
  t.equal((await manage('GET', id, newRat)).json().client_name, 'put-me-too');
});

t.test('RFC 7592 DELETE: 204; then the client cannot get tokens and its tokens are inactive', async (t) => {
  const reg = await registerOk(t, { client_name: 'delete-me', scope: 'api:read', audience: [API] });
  const id = reg.client_id as string;
  const creds = { authorization: basic(id, reg.client_secret as string) };
  const tok = await tokenRequest(app, { grant_type: 'client_credentials' }, creds);
  t.equal(tok.statusCode, 200);
  const accessToken = tok.json().access_token as string;
  sensitive.add(accessToken);
  const del = await manage('DELETE', id, reg.registration_access_token as string);
  t.equal(del.statusCode, 204);
  t.equal(del.body, '');
  checkNoStore(t, del);
  const after = await tokenRequest(app, { grant_type: 'client_credentials' }, creds);
  t.equal(after.statusCode, 401);
  t.same(after.json(), { error: 'invalid_client', error_description: 'client authentication failed' });
  t.equal(after.headers['www-authenticate'], `Basic realm="${ISSUER}"`);
  const intro = await app.inject({ method: 'POST', url: '/oauth2/introspect', headers: { ...adminAuth, 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ token: accessToken }) });
  t.equal(intro.body, '{"active":false}');
  t.equal((await manage('GET', id, reg.registration_access_token as string)).statusCode, 401, 'the registration token died with the client');
  t.equal((await manage('DELETE', id, reg.registration_access_token as string)).statusCode, 401, 'deleting twice');
  const { rows } = await rt.sql.query('SELECT * FROM client_secrets WHERE client_id = $1', [id]);
  t.equal(rows.length, 0, 'its secrets are gone');
});

t.test('RFC 7591 §3.2.1: client_secret_expires_at reflects a rotated secret’s expiry', async (t) => {
  const reg = await registerOk(t, { client_name: 'rotating' });
  const id = reg.client_id as string;
  const rotated = await rt.clientService.rotateSecret(id, { expiresInMs: 3_600_000, previousSecretTtlMs: 0 });
  sensitive.add(rotated!.clientSecret);
  const expiresAt = Math.floor((clock.now() + 3_600_000) / 1000);
  // An immediate rotation ended the registration access token: read with the admin token.
  t.equal((await manage('GET', id, reg.registration_access_token as string)).statusCode, 401);
  const res = await manage('GET', id, ADMIN_TOKEN);
  // clientToMetadata filters live secrets with Date.now() instead of the injected clock
  t.equal(res.json().client_secret_expires_at, expiresAt, 'the live secret’s expiry (not 0 = never)');
  clock.advance(3_600_000 + 1_000);
  const expired = await manage('GET', id, ADMIN_TOKEN);
  t.equal(expired.json().client_secret_expires_at, expiresAt, 'an expired secret still reports its (past) expiry, never 0 = "does not expire"');
});

t.test('REQ-T1-style: wrong methods on the registration endpoints are 405 with Allow', async (t) => {
  const get = await app.inject({ method: 'GET', url: REGISTER, headers: adminAuth });
  t.equal(get.statusCode, 405);
  t.equal(get.headers.allow, 'POST');
  t.same(get.json(), { error: 'invalid_request', error_description: 'method not allowed' });
  checkNoStore(t, get);
  const reg = await registerOk(t, {});
  const postToClient = await app.inject({
    method: 'POST',
    url: `${REGISTER}/${reg.client_id as string}`,
    headers: { authorization: `Bearer ${reg.registration_access_token as string}`, ...JSON_TYPE },
    payload: '{}',
  });
  t.equal(postToClient.statusCode, 405);
  t.equal(postToClient.headers.allow, 'GET, PUT, DELETE');
});

t.test('REQ-O1: no log line holds a secret or a registration token', async (t) => {
  t.ok(logs.some((l) => l.includes('/oauth2/register')));
  const leaks: string[] = [];
  for (const line of logs) {
    for (const s of sensitive) if (s && line.includes(s)) leaks.push(`${s.slice(0, 12)}… in ${line.slice(0, 200)}`);
    if (/tmsec_|tmrat_|eyJ[A-Za-z0-9_-]{10,}\./.test(line) || line.includes(ADMIN_TOKEN)) leaks.push(line.slice(0, 200));
  }
  t.same(leaks, []);
});
