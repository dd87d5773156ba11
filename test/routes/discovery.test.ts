import t from 'tap';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { ADMIN_TOKEN, ISSUER, basic, build, register, tokenRequest } from '../helper.js';

const { app, clock } = await build(t);

const WELL_KNOWN = ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'];
const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

t.test('REQ-M2 / RFC 8414: metadata at both well-known URLs, with every required member', async (t) => {
  const bodies: string[] = [];
  for (const url of WELL_KNOWN) {
    const res = await app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 200, url);
    t.match(res.headers['content-type'], /^application\/json/);
    bodies.push(res.body);
    const m = res.json() as Record<string, unknown>;
    t.equal(m.issuer, ISSUER, 'issuer equals the configured ISSUER (RFC 8414 §3.3)');
    t.equal(m.token_endpoint, `${ISSUER}/oauth2/token`);
    t.equal(m.jwks_uri, `${ISSUER}/.well-known/jwks.json`);
    t.equal(m.introspection_endpoint, `${ISSUER}/oauth2/introspect`);
    t.equal(m.revocation_endpoint, `${ISSUER}/oauth2/revoke`);
    t.equal(m.registration_endpoint, `${ISSUER}/oauth2/register`);
    t.same(m.grant_types_supported, ['client_credentials']);
    t.same(m.response_types_supported, []);
    t.ok(Array.isArray(m.scopes_supported), 'scopes_supported present');
    for (const key of ['token_endpoint_auth_methods_supported', 'introspection_endpoint_auth_methods_supported', 'revocation_endpoint_auth_methods_supported']) {
      t.same([...(m[key] as string[])].sort(), [...AUTH_METHODS].sort(), key);
    }
    for (const key of ['token_endpoint_auth_signing_alg_values_supported', 'introspection_endpoint_auth_signing_alg_values_supported', 'revocation_endpoint_auth_signing_alg_values_supported']) {
      const algs = m[key] as string[];
      t.ok(Array.isArray(algs) && algs.length > 0, `${key} present (private_key_jwt is listed)`);
      t.notOk(
        algs.some((a) => /^none$/i.test(a) || /^HS/.test(a)),
        `${key}: no none, no HMAC`,
      );
      t.ok(algs.includes('ES256') && algs.includes('PS256'), `${key}: ES256 and PS256`);
    }
    // every URL in it is absolute and under the issuer
    for (const [k, v] of Object.entries(m)) if (typeof v === 'string' && k.endsWith('endpoint')) t.ok(v.startsWith(`${ISSUER}/`), `${k} under the issuer`);
    t.equal(res.headers['cache-control'], 'public, max-age=300');
  }
  t.equal(bodies[0], bodies[1], 'both URLs serve the same document');
  const head = await app.inject({ method: 'HEAD', url: WELL_KNOWN[0]! });
  t.equal(head.statusCode, 200, 'HEAD');
});

t.test('REQ-M2: the endpoints the metadata names exist and answer their method', async (t) => {
  const m = (await app.inject({ method: 'GET', url: WELL_KNOWN[0]! })).json() as Record<string, string>;
  for (const key of ['token_endpoint', 'introspection_endpoint', 'revocation_endpoint', 'registration_endpoint']) {
    const path = m[key]!.slice(ISSUER.length);
    const res = await app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: '' });
    t.not(res.statusCode, 404, `${key} is routed`);
    t.not(res.statusCode, 405, `${key} takes POST`);
  }
  const jwks = await app.inject({ method: 'GET', url: m.jwks_uri!.slice(ISSUER.length) });
  t.equal(jwks.statusCode, 200);
});

t.test('REQ-M3: the JWKS holds public keys only, each with kid, alg and use "sig"', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/json/);
  t.equal(res.headers['cache-control'], 'public, max-age=300');
  t.match(res.headers.etag, /^"[^"]+"$/, 'a strong ETag');
  const jwks = res.json() as { keys: Record<string, unknown>[] };
  t.same(Object.keys(jwks), ['keys']);
  t.ok(jwks.keys.length >= 1);
  const kids = new Set<string>();
  for (const key of jwks.keys) {
    t.type(key.kid, 'string');
    t.type(key.alg, 'string');
    t.equal(key.use, 'sig');
    t.notOk(/^(none|HS)/i.test(String(key.alg)), 'asymmetric alg');
    for (const m of PRIVATE_MEMBERS) t.notOk(m in key, `no private member ${m}`);
    t.notOk(kids.has(key.kid as string), 'unique kid');
    kids.add(key.kid as string);
  }
  // a minted token's kid is published and verifies against the JWKS
  const c = await register(app);
  const tok = await tokenRequest(app, { grant_type: 'client_credentials' }, { authorization: basic(c.client_id, c.client_secret!) });
  const accessToken = tok.json().access_token as string;
  t.ok(kids.has(decodeProtectedHeader(accessToken).kid as string), 'the signing kid is in the JWKS');
  const { payload } = await jwtVerify(accessToken, createLocalJWKSet(jwks as never), { issuer: ISSUER, typ: 'at+jwt', currentDate: new Date(clock.now()) });
  t.equal(payload.sub, c.client_id);
});

t.test('JWKS: conditional GET with If-None-Match → 304', async (t) => {
  const first = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  const etag = first.headers.etag as string;
  const second = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  t.equal(second.headers.etag, etag, 'stable ETag');
  for (const inm of [etag, `W/${etag}`, `"other", ${etag}`]) {
    const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json', headers: { 'if-none-match': inm } });
    t.equal(res.statusCode, 304, inm);
    t.equal(res.body, '', 'no body');
    t.equal(res.headers.etag, etag);
    t.equal(res.headers['cache-control'], 'public, max-age=300');
  }
  const miss = await app.inject({ method: 'GET', url: '/.well-known/jwks.json', headers: { 'if-none-match': '"stale"' } });
  t.equal(miss.statusCode, 200);
  t.equal(miss.body, first.body);
});

t.test('REQ-T1-style: JWKS and metadata answer other methods with 405 Allow: GET, HEAD', async (t) => {
  for (const url of ['/.well-known/jwks.json', ...WELL_KNOWN]) {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH'] as const) {
      const res = await app.inject({ method, url, headers: { 'content-type': 'application/json' }, payload: '{}' });
      t.equal(res.statusCode, 405, `${method} ${url}`);
      t.equal(res.headers.allow, 'GET, HEAD');
      t.same(res.json(), { error: 'invalid_request', error_description: 'method not allowed' });
    }
  }
});

t.test('an unknown path is 404 JSON', async (t) => {
  for (const url of ['/nope', '/oauth2/authorize', '/.well-known/jwks', '/oauth2/token/x']) {
    const res = await app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 404, url);
    t.match(res.headers['content-type'], /^application\/json/);
    t.same(res.json(), { error: 'not_found', error_description: 'not found' });
  }
  const post = await app.inject({ method: 'POST', url: '/nope', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` }, payload: '{}' });
  t.equal(post.statusCode, 404);
});

t.test('REQ-M4 / REQ-T9: metadata and JWKS ignore Host and X-Forwarded-*, even with TRUST_PROXY', async (t) => {
  const proxied = await build(t, { TRUST_PROXY: 'true' });
  const evil = { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9', forwarded: 'host=evil.example;proto=https' };
  const plain = await proxied.app.inject({ method: 'GET', url: WELL_KNOWN[0]! });
  for (const url of [...WELL_KNOWN, '/.well-known/jwks.json']) {
    const res = await proxied.app.inject({ method: 'GET', url, headers: evil });
    t.equal(res.statusCode, 200, url);
    t.notMatch(res.body, 'evil.example', url);
  }
  const m = (await proxied.app.inject({ method: 'GET', url: WELL_KNOWN[0]!, headers: evil })).json();
  t.equal(m.issuer, ISSUER);
  t.equal((await proxied.app.inject({ method: 'GET', url: WELL_KNOWN[0]!, headers: evil })).body, plain.body, 'byte-identical to the request without those headers');
  const c = await register(proxied.app);
  const tok = await tokenRequest(proxied.app, { grant_type: 'client_credentials' }, { ...evil, authorization: basic(c.client_id, c.client_secret!) });
  t.equal(tok.statusCode, 200);
  const { payload } = await jwtVerify(tok.json().access_token, createLocalJWKSet((await proxied.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json()), {
    currentDate: new Date(proxied.clock.now()),
  });
  t.equal(payload.iss, ISSUER);
});
