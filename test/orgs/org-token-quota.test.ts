// An organization's token quota (docs/contract.md "Organizations", "Quotas"): counted over all the
// organization's clients, on top of each client's own; `org-…` RateLimit policies; set only by the
// super admin; a change reaches the token endpoint at once (the cached client records are reloaded).
import t from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { ISSUER, build, register, type RegisteredClient } from '../helper.js';
import { accessToken, admin, adminApp, tokenBasic } from '../admin/support.js';
import { createOrgView } from './support.js';

const T0 = Date.UTC(2026, 10, 23, 12, 30, 0); // 12:30:00 UTC: 1,800 s left in the hour

const b = await build(t);
const { app, clock } = b;
const api = adminApp(b);
clock.set(T0);

const token = (c: RegisteredClient): Promise<LightMyRequestResponse> => tokenBasic(app, c.client_id, c.client_secret ?? '');

t.test('a per_hour quota of 3 shared by two clients of the organization; another organization is not affected', async (t) => {
  const org = await createOrgView(api, { name: 'Acme', token_quota: { per_hour: 3, enforce: true } });
  t.same(org.token_quota, { per_hour: 3, enforce: true }, 'the view shows it');
  const orgId = String(org.org_id);
  const other = String((await createOrgView(api, { name: 'Beta' })).org_id);
  const a1 = await register(app, { client_name: 'a1', org_id: orgId });
  const a2 = await register(app, { client_name: 'a2', org_id: orgId });
  const b1 = await register(app, { client_name: 'b1', org_id: other });

  const policy = '"org-hour";q=3;w=3600';
  const first = await token(a1);
  t.equal(first.statusCode, 200);
  t.equal(first.headers['ratelimit-policy'], policy);
  t.equal(first.headers.ratelimit, '"org-hour";r=2;t=1800');
  t.equal((await token(a2)).headers.ratelimit, '"org-hour";r=1;t=1800', 'the other client counts against the same quota');
  t.equal((await token(a1)).headers.ratelimit, '"org-hour";r=0;t=1800');
  const refused = await token(a2);
  t.equal(refused.statusCode, 429);
  t.same(refused.json(), { error: 'too_many_requests', error_description: "the organization's token quota exceeded: at most 3 tokens per hour; retry after 1800 seconds" });
  t.equal(refused.headers['retry-after'], '1800');
  t.equal(refused.headers['cache-control'], 'no-store');
  t.equal(refused.headers['ratelimit-policy'], policy);
  t.equal(refused.headers.ratelimit, '"org-hour";r=0;t=1800');
  const free = await token(b1);
  t.equal(free.statusCode, 200, 'a client of another organization gets its token');
  t.notOk(free.headers['ratelimit-policy'], 'and no quota headers');

  // The client's own quota and the organization's: both policies; RateLimit names the tightest.
  const patched = await admin(api, 'PATCH', `/admin/v1/orgs/${orgId}`, { token_quota: { per_day: 100, enforce: true } });
  t.equal(patched.statusCode, 200, patched.body);
  t.same((patched.json() as { token_quota: unknown }).token_quota, { per_day: 100, enforce: true });
  const own = await admin(api, 'PATCH', `/admin/v1/clients/${a1.client_id}`, { token_quota: { per_hour: 10, enforce: true } });
  t.equal(own.statusCode, 200);
  const both = await token(a1);
  t.equal(both.statusCode, 200, 'the raised organization quota applies at once');
  t.equal(both.headers['ratelimit-policy'], '"hour";q=10;w=3600, "org-day";q=100;w=86400');
  t.equal(both.headers.ratelimit, '"hour";r=9;t=1800', 'the tightest: the client has 9 left this hour (its own count starts when its quota is set)');

  const cleared = await admin(api, 'PATCH', `/admin/v1/orgs/${orgId}`, { token_quota: null });
  t.same((cleared.json() as { token_quota: unknown }).token_quota, null);
  t.equal((await token(a2)).headers['ratelimit-policy'], undefined, 'no organization quota: no headers for a client without its own');
});

t.test('only the super admin sets an organization quota; bad shapes change nothing', async (t) => {
  const org = await createOrgView(api, { name: 'Gamma' });
  const orgId = String(org.org_id);
  const orgAdmin = await register(app, { client_name: 'gamma-admin', scope: 'tokenmill:org-admin', audience: [ISSUER], org_id: orgId });
  const orgToken = await accessToken(tokenBasic(app, orgAdmin.client_id, orgAdmin.client_secret ?? '', { scope: 'tokenmill:org-admin' }));
  const byOrgAdmin = await admin(api, 'PATCH', `/admin/v1/orgs/${orgId}`, { token_quota: { per_hour: 1000000, enforce: false } }, orgToken);
  t.equal(byOrgAdmin.statusCode, 403, 'an organization admin cannot lift its quota');
  for (const bad of [{ per_hour: 0, enforce: true }, { per_hour: 5 }, { per_week: 5, enforce: true }, 'lots']) {
    const res = await admin(api, 'PATCH', `/admin/v1/orgs/${orgId}`, { token_quota: bad });
    t.equal(res.statusCode, 400, JSON.stringify(bad));
  }
  t.same((await b.rt.sql.query('SELECT token_quota FROM orgs WHERE org_id = $1', [orgId])).rows, [{ token_quota: null }], 'unchanged');
});
