// tokenmill/verify and organizations: claims expose org_id; verify(token, { org }) refuses a token of
// another organization or of none (403 insufficient_scope with an error_description saying which);
// the Fastify plugin and the middleware take the organization from a route parameter.
import t from 'tap';
import Fastify from 'fastify';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { VerifyError, createVerifier, tokenmillAuth, tokenmillMiddleware, type AuthenticatedRequest } from '@tokenmill/verify';
import { StandInAS } from './fixtures/stand-in-as.js';
import { AUD } from './fixtures/util.js';

const as = await new StandInAS().start();
t.teardown(() => as.close());
const ORG_A = 'org_AAAAAAAAAAAAAAAAAAAAAA';
const ORG_B = 'org_BBBBBBBBBBBBBBBBBBBBBB';
const tokenA = await as.mint({ claims: { org_id: ORG_A } });
const tokenB = await as.mint({ claims: { org_id: ORG_B } });
const noOrg = await as.mint();

const foreign = (realm: string) => ({
  status: 403,
  body: { error: 'insufficient_scope', error_description: 'the access token belongs to another organization' },
  www: `Bearer realm="${realm}", error="insufficient_scope", error_description="the access token belongs to another organization"`,
});

t.test('verify: org_id in the claims; { org } refuses another organization and none', async (t) => {
  const v = createVerifier({ issuer: as.issuer, audience: AUD });
  t.teardown(() => v.close());
  t.equal((await v.verify(tokenA)).org_id, ORG_A);
  t.equal((await v.verify(tokenA, { org: ORG_A })).org_id, ORG_A);
  const err = await v.verify(tokenB, { org: ORG_A }).catch((e: unknown) => e);
  t.ok(err instanceof VerifyError);
  const e = err as VerifyError;
  t.same([e.status, e.code, e.toJSON(), e.wwwAuthenticate], [403, 'insufficient_scope', foreign(as.issuer).body, foreign(as.issuer).www]);
  const none = (await v.verify(noOrg, { org: ORG_A }).catch((x: unknown) => x)) as VerifyError;
  t.same([none.status, none.toJSON()], [403, { error: 'insufficient_scope', error_description: 'the access token belongs to no organization' }]);
  await t.rejects(v.verify(tokenA, { org: '' }), TypeError, 'an empty organization is a programming error');
  // A forged claim type never matches.
  const odd = await as.mint({ claims: { org_id: [ORG_A] } });
  t.equal(((await v.verify(odd, { org: ORG_A }).catch((x: unknown) => x)) as VerifyError).status, 403);
});

async function fetchJson(url: string, token: string): Promise<{ status: number; body: unknown; www: string | null }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json(), www: res.headers.get('www-authenticate') };
}

t.test('Fastify plugin: require({ org: { param } }) enforces the route’s :org', async (t) => {
  const app = Fastify({ logger: false });
  await app.register(tokenmillAuth, { issuer: as.issuer, audience: AUD });
  app.get('/orgs/:org/buckets', { preHandler: app.tokenmill.require({ org: { param: 'org' } }) }, async (req) => ({ org: req.tokenClaims?.org_id }));
  app.get('/misnamed', { preHandler: app.tokenmill.require({ org: { param: 'org' } }) }, async () => ({ ok: true }));
  app.get('/fixed', { preHandler: app.tokenmill.require({ org: ORG_B }) }, async () => ({ ok: true }));
  t.throws(() => app.tokenmill.require({ org: { param: '' } }), TypeError);
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => app.close());
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  t.same(await fetchJson(`${base}/orgs/${ORG_A}/buckets`, tokenA), { status: 200, body: { org: ORG_A }, www: null });
  const cross = await fetchJson(`${base}/orgs/${ORG_B}/buckets`, tokenA);
  t.same(cross, { status: 403, body: foreign(as.issuer).body, www: foreign(as.issuer).www }, "A's token on B's URL");
  t.equal((await fetchJson(`${base}/orgs/${ORG_A}/buckets`, noOrg)).status, 403, 'a token of no organization');
  t.equal((await fetchJson(`${base}/misnamed`, tokenA)).status, 403, 'no such parameter on the route: refused (fail closed)');
  t.equal((await fetchJson(`${base}/fixed`, tokenB)).status, 200);
  t.equal((await fetchJson(`${base}/fixed`, tokenA)).status, 403);
});

t.test('middleware: { org: { param } } reads req.params (Express-style routers set it)', async (t) => {
  const mw = tokenmillMiddleware({ issuer: as.issuer, audience: AUD }, { org: { param: 'org' } });
  t.teardown(() => mw.close());
  const server = createServer((req, res) => {
    // A stand-in for a router matching /orgs/:org/...
    const m = /^\/orgs\/([^/]+)\//.exec(req.url ?? '');
    if (m) (req as typeof req & { params: Record<string, string> }).params = { org: decodeURIComponent(m[1] ?? '') };
    mw(req, res, () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ org: (req as AuthenticatedRequest).auth?.org_id }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.same(await fetchJson(`${base}/orgs/${ORG_B}/x`, tokenB), { status: 200, body: { org: ORG_B }, www: null });
  t.same(await fetchJson(`${base}/orgs/${ORG_A}/x`, tokenB), {
    status: 403,
    body: { error: 'insufficient_scope', error_description: 'the access token belongs to another organization' },
    www: foreign(as.issuer).www.replace('another', 'another'),
  });
  t.equal((await fetchJson(`${base}/elsewhere`, tokenB)).status, 403, 'no parameter: refused');
});
