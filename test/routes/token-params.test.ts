// Parameter transport (RFC 6749 §3.2, App. A; RFC 8707 §2): a value that decodes to hold a NUL or
// another control character is invalid_request, and a repeatable parameter (`resource`) travels as
// a list, so one value with an embedded NUL is never read as two.
import t from 'tap';
import type { Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import { ADMIN_TOKEN, basic, build, register, type RegisteredClient } from '../helper.js';

const { app } = await build(t);

const TOKEN = '/oauth2/token';
const FORM = 'application/x-www-form-urlencoded';
const A = 'https://a.example';
const B = 'https://b.example';

function expectError(t: Test, res: LightMyRequestResponse, status: number, body: Record<string, string>): void {
  t.equal(res.statusCode, status, `status ${status}`);
  t.match(res.headers['content-type'], /^application\/json/);
  t.same(res.json(), body);
  t.equal(res.headers['cache-control'], 'no-store', 'Cache-Control: no-store (C2)');
  t.equal(res.headers.pragma, 'no-cache', 'Pragma: no-cache (C2)');
  t.notOk(res.headers['www-authenticate'], 'no challenge');
}

const c: RegisteredClient = await register(app, { audience: [A, B] });
const auth = { authorization: basic(c.client_id, c.client_secret!), 'content-type': FORM };
const post = (payload: string, url = TOKEN, headers: Record<string, string> = auth) => app.inject({ method: 'POST', url, headers, payload });

t.test('a resource holding an encoded NUL is invalid_request, not split into two resources', async (t) => {
  const res = await post(`grant_type=client_credentials&resource=${encodeURIComponent(A)}%00${encodeURIComponent(B)}`);
  expectError(t, res, 400, { error: 'invalid_request', error_description: 'the resource is malformed' });
  // A trailing NUL is not an extra, empty resource either.
  expectError(t, await post(`grant_type=client_credentials&resource=${encodeURIComponent(A)}%00`), 400, { error: 'invalid_request', error_description: 'the resource is malformed' });
  // The same NUL in the second of two repeated values.
  expectError(t, await post(`grant_type=client_credentials&resource=${encodeURIComponent(A)}&resource=${encodeURIComponent(B)}%00`), 400, {
    error: 'invalid_request',
    error_description: 'the resource is malformed',
  });
});

t.test('two real resource values are still two (invalid_target, REQ-G6); one is granted', async (t) => {
  expectError(t, await post(`grant_type=client_credentials&resource=${encodeURIComponent(A)}&resource=${encodeURIComponent(B)}`), 400, {
    error: 'invalid_target',
    error_description: 'only one resource may be requested for this grant',
  });
  const ok = await post(`grant_type=client_credentials&resource=${encodeURIComponent(B)}`);
  t.equal(ok.statusCode, 200, 'one resource is granted');
  t.equal(decodeJwt((ok.json() as { access_token: string }).access_token).aud, B);
});

t.test('a control character in any parameter value is invalid_request naming the parameter', async (t) => {
  for (const [name, value] of [
    ['grant_type', 'client_credentials%00'],
    ['scope', 'api%3Aread%00'],
    ['scope', 'api%3Aread%0Aapi%3Awrite'],
    ['audience', `${encodeURIComponent(A)}%00`],
    ['resource', `${encodeURIComponent(A)}%0D%0A`],
    ['resource', `${encodeURIComponent(A)}%7F`],
    ['resource', `${encodeURIComponent(A)}%C2%9B`],
  ] as const) {
    const body = name === 'grant_type' ? `grant_type=${value}` : `grant_type=client_credentials&${name}=${value}`;
    expectError(t, await post(body), 400, { error: 'invalid_request', error_description: `the ${name} is malformed` });
  }
});

t.test('a NUL in token is a malformed token: inactive at introspection (RFC 7662), 200 at revocation (RFC 7009)', async (t) => {
  const bearer = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': FORM };
  const introspected = await post('token=abc%00def', '/oauth2/introspect', bearer);
  t.equal(introspected.statusCode, 200);
  t.same(introspected.json(), { active: false });
  t.equal(introspected.headers['cache-control'], 'no-store');
  const revoked = await post('token=abc%00def', '/oauth2/revoke');
  t.equal(revoked.statusCode, 200, revoked.body);
  t.equal(revoked.headers['cache-control'], 'no-store');
});
