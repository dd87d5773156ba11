// tokenmill/verify: the Fastify plugin and the Node/Express-style middleware, over real HTTP.
import t from 'tap';
import type { Test } from 'tap';
import Fastify from 'fastify';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createVerifier, tokenmillAuth, tokenmillMiddleware, VerifierConfigError } from '@tokenmill/verify';
import type { AuthenticatedRequest } from '@tokenmill/verify';
import { StandInAS } from './fixtures/stand-in-as.js';
import { AUD, nowSec } from './fixtures/util.js';

interface Answer {
  status: number;
  wwwAuthenticate: string | undefined;
  contentType: string | undefined;
  cacheControl: string | undefined;
  retryAfter: string | undefined;
  body: unknown;
}

/** GET with raw header control (node:http, so duplicate Authorization headers can be sent). */
function get(base: string, path: string, authorization?: string | string[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, base);
    const headers: Record<string, string | string[]> = {};
    if (authorization !== undefined) headers.authorization = authorization;
    const req = httpRequest(u, { method: 'GET', headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => {
        let body: unknown = data;
        try {
          body = JSON.parse(data);
        } catch {
          /* keep text */
        }
        resolve({
          status: res.statusCode ?? 0,
          wwwAuthenticate: res.headers['www-authenticate'] as string | undefined,
          contentType: res.headers['content-type'],
          cacheControl: res.headers['cache-control'],
          retryAfter: res.headers['retry-after'] as string | undefined,
          body,
        });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The behaviour both wrappers must share. */
async function commonCases(t: Test, as: StandInAS, base: string, claimsOf: (body: unknown) => unknown): Promise<void> {
  const realm = as.issuer;
  const token = await as.mint();

  const ok = await get(base, '/orders', `Bearer ${token}`);
  t.equal(ok.status, 200);
  t.equal((claimsOf(ok.body) as { client_id?: string }).client_id, 'client-a', 'claims exposed to the handler');
  t.equal((await get(base, '/orders', `bearer ${token}`)).status, 200, 'scheme is case-insensitive');
  t.equal((await get(base, '/orders', `BEARER   ${token}`)).status, 200, 'several spaces tolerated');

  const none = await get(base, '/orders');
  t.equal(none.status, 401);
  t.equal(none.wwwAuthenticate, `Bearer realm="${realm}"`, 'no token: bare challenge');
  t.same(none.body, { error: 'invalid_request', error_description: 'a bearer access token is required' });
  t.match(none.contentType, /^application\/json/);
  t.equal(none.cacheControl, 'no-store');

  const basic = await get(base, '/orders', 'Basic dXNlcjpwYXNz');
  t.equal(basic.status, 401, 'other scheme = no bearer token');
  t.equal(basic.wwwAuthenticate, `Bearer realm="${realm}"`);

  const two = await get(base, '/orders', `Bearer ${token} ${token}`);
  t.equal(two.status, 400, 'two tokens: invalid_request');
  t.equal(two.wwwAuthenticate, `Bearer realm="${realm}", error="invalid_request", error_description="exactly one bearer token is expected"`);
  t.same(two.body, { error: 'invalid_request', error_description: 'exactly one bearer token is expected' });

  const dup = await get(base, '/orders', [`Bearer ${token}`, `Bearer ${token}`]);
  t.equal(dup.status, 400, 'two Authorization headers: invalid_request');

  const empty = await get(base, '/orders', 'Bearer ');
  t.equal(empty.status, 400, 'empty credentials');

  const expired = await get(base, '/orders', `Bearer ${await as.mint({ claims: { exp: nowSec() - 100, iat: nowSec() - 400 } })}`);
  t.equal(expired.status, 401);
  t.equal(expired.wwwAuthenticate, `Bearer realm="${realm}", error="invalid_token", error_description="the access token expired"`);
  t.same(expired.body, { error: 'invalid_token', error_description: 'the access token expired' });

  const garbage = await get(base, '/orders', 'Bearer "quoted"');
  t.equal(garbage.status, 401);
  t.equal(garbage.wwwAuthenticate, `Bearer realm="${realm}", error="invalid_token", error_description="malformed access token"`);

  const scope = await get(base, '/admin', `Bearer ${token}`);
  t.equal(scope.status, 403);
  t.equal(scope.wwwAuthenticate, `Bearer realm="${realm}", error="insufficient_scope", error_description="the access token lacks a required scope", scope="admin"`);
  t.same(scope.body, { error: 'insufficient_scope', error_description: 'the access token lacks a required scope' });

  const revoked = await as.mint();
  t.equal((await get(base, '/orders', `Bearer ${revoked}`)).status, 200);
  const c = JSON.parse(Buffer.from(revoked.split('.')[1] ?? '', 'base64url').toString()) as { jti: string; exp: number };
  as.revokeToken(c.jti, c.exp);
  const start = performance.now();
  let r = await get(base, '/orders', `Bearer ${revoked}`);
  while (r.status === 200 && performance.now() - start < 2000) r = await get(base, '/orders', `Bearer ${revoked}`);
  t.equal(r.status, 401, `revoked token refused over HTTP after ${(performance.now() - start).toFixed(0)} ms`);
  t.equal(r.wwwAuthenticate, `Bearer realm="${realm}", error="invalid_token", error_description="the access token has been revoked"`);

  as.feedDown = true;
  // maxStaleness is 300 ms in these suites: after it, 503 with Retry-After and no challenge.
  const t0 = performance.now();
  let u = await get(base, '/orders', `Bearer ${token}`);
  while (u.status !== 503 && performance.now() - t0 < 5000) u = await get(base, '/orders', `Bearer ${token}`);
  t.equal(u.status, 503, 'stale revocation data: 503');
  t.equal(u.retryAfter, '1');
  t.equal(u.wwwAuthenticate, undefined);
  t.same(u.body, { error: 'temporarily_unavailable', error_description: 'the revocation list is unavailable' });
  as.feedDown = false;
  const t1 = performance.now();
  let back = await get(base, '/orders', `Bearer ${token}`);
  while (back.status !== 200 && performance.now() - t1 < 8000) back = await get(base, '/orders', `Bearer ${token}`);
  t.equal(back.status, 200, 'accepted again once the feed is back');
}

t.test('Fastify plugin', async (t) => {
  const as = await new StandInAS().start();
  t.teardown(() => as.close());
  const app = Fastify({ logger: false });
  await app.register(tokenmillAuth, {
    issuer: as.issuer,
    audience: AUD,
    revocations: { clientId: as.opts.feedClientId, clientSecret: as.opts.feedClientSecret },
    maxStaleness: 300,
  });
  app.get('/orders', { preHandler: app.tokenmill.require({ scope: 'orders:read' }) }, async (req) => ({ claims: req.tokenClaims }));
  app.get('/admin', { preHandler: app.tokenmill.require({ scope: ['admin'] }) }, async () => ({ ok: true }));
  app.get('/open', async (req) => ({ claims: req.tokenClaims }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  await commonCases(t, as, base, (b) => (b as { claims: unknown }).claims);
  t.same((await get(base, '/open')).body, { claims: null }, 'tokenClaims is null on unguarded routes');

  const verifier = app.tokenmill.verifier;
  await app.close();
  t.equal(await verifier.verify(await as.mint()).catch((e: { status: number }) => e.status), 503, 'verifier closed in onClose');
});

t.test('Fastify plugin refuses to start on an issuer mismatch', async (t) => {
  const as = await new StandInAS({ advertisedIssuer: 'https://elsewhere.example' }).start();
  t.teardown(() => as.close());
  const app = Fastify({ logger: false });
  app.register(tokenmillAuth, { issuer: as.issuer, audience: AUD });
  await t.rejects(async () => {
    await app.ready();
  }, VerifierConfigError);
});

t.test('Fastify plugin with a shared verifier leaves it open', async (t) => {
  const as = await new StandInAS().start();
  t.teardown(() => as.close());
  const verifier = createVerifier({ issuer: as.issuer, audience: AUD });
  t.teardown(() => verifier.close());
  const app = Fastify({ logger: false });
  await app.register(tokenmillAuth, { verifier });
  app.get('/x', { preHandler: app.tokenmill.require() }, async (req) => ({ sub: req.tokenClaims?.sub }));
  const res = await app.inject({ method: 'GET', url: '/x', headers: { authorization: `Bearer ${await as.mint()}` } });
  t.same(res.json(), { sub: 'client-a' });
  await app.close();
  t.ok(await verifier.verify(await as.mint()), 'still usable');
});

t.test('Node/Express-style middleware', async (t) => {
  const as = await new StandInAS().start();
  t.teardown(() => as.close());
  const options = {
    issuer: as.issuer,
    audience: AUD,
    revocations: { clientId: as.opts.feedClientId, clientSecret: as.opts.feedClientSecret },
    maxStaleness: 300,
  };
  const orders = tokenmillMiddleware(options, { scope: 'orders:read' });
  t.teardown(() => orders.close());
  const admin = tokenmillMiddleware(orders.verifier, { scope: 'admin' });
  await orders.verifier.ready();
  const server = createServer((req, res) => {
    const mw = req.url === '/admin' ? admin : orders;
    mw(req, res, (err?: unknown) => {
      if (err) {
        res.statusCode = 500;
        res.end('error');
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ auth: (req as AuthenticatedRequest).auth }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await commonCases(t, as, base, (b) => (b as { auth: unknown }).auth);
  await admin.close();
  t.ok(await orders.verifier.verify(await as.mint()), 'closing a middleware over a shared verifier leaves it open');
});
