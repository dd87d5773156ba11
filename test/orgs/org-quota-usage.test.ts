// Organizations meet token quotas (docs/contract.md "Organizations", "Quotas"), written as attacks: an
// organization admin reads usage only of its own organization's clients (another's: the same 404 as a
// client that does not exist), sees only its organization in the top list, and can never set a
// token_quota, neither on a new client nor on an existing one: the quota is the vendor's limit.
import t from 'tap';
import { ISSUER, build, register } from '../helper.js';
import { accessToken, admin, adminApp, tokenBasic } from '../admin/support.js';
import { createOrg } from './support.js';

const b = await build(t);
const api = adminApp(b);

const orgA = await createOrg(api, { name: 'Acme' });
const orgB = await createOrg(api, { name: 'Beta' });
const adminA = await register(b.app, { client_name: 'acme-admin', scope: 'tokenmill:org-admin', audience: [ISSUER], org_id: orgA });
const workerA = await register(b.app, { client_name: 'acme-worker', scope: 'api:read', audience: ['https://api.example.com'], org_id: orgA });
const victim = await register(b.app, { client_name: 'beta-ci', scope: 'api:read', audience: ['https://api.example.com'], org_id: orgB });
const tokenA = await accessToken(tokenBasic(b.app, adminA.client_id, adminA.client_secret ?? '', { scope: 'tokenmill:org-admin' }));
for (let i = 0; i < 3; i++) await accessToken(tokenBasic(b.app, victim.client_id, victim.client_secret ?? ''));
await accessToken(tokenBasic(b.app, workerA.client_id, workerA.client_secret ?? ''));

const NOT_FOUND = { error: 'not_found', error_description: 'client_id: no such client' };

t.test("usage of another organization's client: 404, the answer for a client that does not exist", async (t) => {
  const foreign = await admin(api, 'GET', `/admin/v1/clients/${victim.client_id}/usage`, undefined, tokenA);
  t.equal(foreign.statusCode, 404);
  t.same(foreign.json(), NOT_FOUND);
  const ghost = await admin(api, 'GET', '/admin/v1/clients/tmc_doesnotexist/usage', undefined, tokenA);
  t.same([ghost.statusCode, ghost.json()], [404, NOT_FOUND]);
  const own = await admin(api, 'GET', `/admin/v1/clients/${workerA.client_id}/usage`, undefined, tokenA);
  t.equal(own.statusCode, 200, 'its own client: allowed');
  const hours = (own.json() as { hours: { tokens: number }[] }).hours;
  t.equal(hours.length, 48);
  t.equal(hours.at(-1)?.tokens, 1, 'the token issued this hour');
  const bySuper = await admin(api, 'GET', `/admin/v1/clients/${victim.client_id}/usage`);
  t.equal((bySuper.json() as { hours: { tokens: number }[] }).hours.at(-1)?.tokens, 3, 'the super admin sees B');
});

t.test('the top list of an organization admin holds its organization only', async (t) => {
  const mine = await admin(api, 'GET', '/admin/v1/usage/top?limit=100', undefined, tokenA);
  t.equal(mine.statusCode, 200);
  const ids = (mine.json() as { items: { client_id: string }[] }).items.map((i) => i.client_id).sort();
  t.same(ids, [adminA.client_id, workerA.client_id].sort(), "only A's clients (B's busier one is not there)");
  const all = await admin(api, 'GET', '/admin/v1/usage/top?limit=100');
  t.ok(
    (all.json() as { items: { client_id: string }[] }).items.some((i) => i.client_id === victim.client_id),
    'the super admin sees every organization',
  );
});

t.test('an organization admin cannot set a token_quota: 403, nothing changes', async (t) => {
  const before = (await b.rt.sql.query('SELECT token_quota, updated_at FROM clients WHERE client_id = $1', [workerA.client_id])).rows;
  const patch = await admin(api, 'PATCH', `/admin/v1/clients/${workerA.client_id}`, { token_quota: { per_hour: 1000000, enforce: false } }, tokenA);
  t.equal(patch.statusCode, 403);
  t.equal((patch.json() as { error: string }).error, 'insufficient_scope');
  const lift = await admin(api, 'PATCH', `/admin/v1/clients/${workerA.client_id}`, { token_quota: null }, tokenA);
  t.equal(lift.statusCode, 403, 'nor reset it to the default');
  t.same((await b.rt.sql.query('SELECT token_quota, updated_at FROM clients WHERE client_id = $1', [workerA.client_id])).rows, before, 'the row is unchanged');
  const countBefore = Number((await b.rt.sql.query<{ n: string }>('SELECT count(*) AS n FROM clients WHERE org_id = $1', [orgA])).rows[0]?.n);
  const create = await admin(api, 'POST', '/admin/v1/clients', { client_name: 'sneaky', token_quota: { per_day: 1, enforce: false } }, tokenA);
  t.equal(create.statusCode, 403, 'nor on a new client');
  const countAfter = Number((await b.rt.sql.query<{ n: string }>('SELECT count(*) AS n FROM clients WHERE org_id = $1', [orgA])).rows[0]?.n);
  t.equal(countAfter, countBefore, 'no client was created');
  const bySuper = await admin(api, 'PATCH', `/admin/v1/clients/${workerA.client_id}`, { token_quota: { per_hour: 10, enforce: true } });
  t.equal(bySuper.statusCode, 200, 'the super admin sets it');
  t.same((bySuper.json() as { token_quota: unknown }).token_quota, { per_hour: 10, enforce: true });
});
