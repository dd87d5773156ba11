import t from 'tap';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { basic, build, register, tokenRequest, ISSUER } from '../helper.js';

t.test('a registered client gets an RFC 9068 token with client_secret_basic', async (t) => {
  const { app, clock } = await build(t);
  const c = await register(app);
  const res = await tokenRequest(app, { grant_type: 'client_credentials', scope: 'api:read' }, { authorization: basic(c.client_id, c.client_secret!) });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['cache-control'], 'no-store');
  t.equal(res.headers.pragma, 'no-cache');
  const body = res.json();
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
  t.equal(body.token_type, 'Bearer');
  t.equal(body.expires_in, 3600);
  t.equal(body.scope, 'api:read');
  const header = decodeProtectedHeader(body.access_token);
  t.equal(header.typ, 'at+jwt');
  t.equal(header.alg, 'ES256');
  const claims = decodeJwt(body.access_token);
  t.equal(claims.iss, ISSUER);
  t.equal(claims.sub, c.client_id);
  t.equal(claims.client_id, c.client_id);
  t.equal(claims.aud, 'https://api.example.com');
  t.equal(claims.iat, Math.floor(clock.now() / 1000));
  t.equal(claims.exp, Math.floor(clock.now() / 1000) + 3600);
});
