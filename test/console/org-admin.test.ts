// The console meets organizations and usage (docs/contract.md "Console", "Organizations", "Quotas"):
// an organization admin who signs in sees and changes only its organization (another organization's
// client is "No such client.", keys are the super admin's), the clients it creates land in its
// organization, and the charts come from the recorded token usage.
import t from 'tap';
import { ISSUER, build, register } from '../helper.js';
import { accessToken, admin, adminApp, settle, tokenBasic } from '../admin/support.js';
import { csrfOf, get, post, sessionCookie, signIn } from './support.js';
import { createOrg } from '../orgs/support.js';

const b = await build(t);
const api = adminApp(b);

const orgA = await createOrg(api, { name: 'Acme' });
const orgB = await createOrg(api, { name: 'Beta' });
const adminA = await register(b.app, { client_name: 'acme-admin', scope: 'tokenmill:org-admin', audience: [ISSUER], org_id: orgA });
const workerA = await register(b.app, { client_name: 'acme-worker', scope: 'api:read', org_id: orgA });
const victim = await register(b.app, { client_name: 'beta-secret-project', scope: 'api:read', org_id: orgB });
for (let i = 0; i < 3; i++) await accessToken(tokenBasic(b.app, workerA.client_id, workerA.client_secret ?? ''));
for (let i = 0; i < 5; i++) await accessToken(tokenBasic(b.app, victim.client_id, victim.client_secret ?? ''));

async function signInOrgAdmin(): Promise<{ cookie: string; csrf: string; overview: string }> {
  const res = await post(api, '/console/sign-in', { method: 'client', client_id: adminA.client_id, client_secret: adminA.client_secret ?? '' }, null);
  const cookie = sessionCookie(res);
  if (res.statusCode !== 303 || !cookie) throw new Error(`org admin sign-in failed: ${res.statusCode} ${res.body}`);
  const page = await get(api, '/console/', cookie);
  if (page.statusCode !== 200) throw new Error(`overview: ${page.statusCode}`);
  return { cookie, csrf: csrfOf(page.body), overview: page.body };
}

t.test('an organization admin signs in and sees only its organization', async (t) => {
  const { cookie, overview } = await signInOrgAdmin();
  t.match(overview, `client:${adminA.client_id}`);
  t.match(overview, `(organization ${orgA})`, 'the header names its organization');
  t.notMatch(overview, 'href="/console/keys"', 'no Keys in its navigation');
  t.match(overview, 'Access tokens issued per hour, every node: 3 in the last 24 hours', "the chart counts its organization's tokens only (B's 5 are not there)");
  const list = await get(api, '/console/clients', cookie);
  t.equal(list.statusCode, 200);
  t.match(list.body, 'acme-worker');
  t.notMatch(list.body, 'beta-secret-project', "another organization's client is not listed");
  const foreign = await get(api, `/console/clients/${victim.client_id}`, cookie);
  t.equal(foreign.statusCode, 404, "another organization's client: no such client");
  t.match(foreign.body, 'No such client.');
  t.notMatch(foreign.body, 'beta-secret-project');
  const keys = await get(api, '/console/keys', cookie);
  t.equal(keys.statusCode, 403, 'keys are the super admin’s');
});

t.test('a client created by an organization admin in the console lands in its organization, audited with it', async (t) => {
  const { cookie, csrf } = await signInOrgAdmin();
  const res = await post(
    api,
    '/console/clients',
    {
      _csrf: csrf,
      client_name: 'acme-made-in-console',
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'api:read',
      audience: '',
      access_token_ttl: '',
      secret_expires_in: '30d',
      jwks: '',
      jwks_uri: '',
    },
    cookie,
  );
  t.equal(res.statusCode, 201, res.body.slice(0, 200));
  const rows = (await b.rt.sql.query<{ org_id: string | null }>("SELECT org_id FROM clients WHERE client_name = 'acme-made-in-console'")).rows;
  t.same(rows, [{ org_id: orgA }]);
  await settle(b);
  const audit = (await b.rt.sql.query<{ actor: string; org_id: string | null }>("SELECT actor, org_id FROM audit_log WHERE action = 'client.create' AND actor = $1", [`client:${adminA.client_id}`]))
    .rows;
  t.same(audit, [{ actor: `client:${adminA.client_id}`, org_id: orgA }]);
});

t.test('an organization admin loses the console when its scope is taken away', async (t) => {
  const { cookie } = await signInOrgAdmin();
  const demoted = await admin(api, 'PATCH', `/admin/v1/clients/${adminA.client_id}`, { scope: 'api:read' });
  t.equal(demoted.statusCode, 200);
  const after = await get(api, '/console/', cookie);
  t.equal(after.statusCode, 303, 'the session ended');
  t.equal(after.headers.location, '/console/sign-in?notice=expired');
  const restored = await admin(api, 'PATCH', `/admin/v1/clients/${adminA.client_id}`, { scope: 'tokenmill:org-admin' });
  t.equal(restored.statusCode, 200);
});

t.test('the super admin: every organization in the chart, and a client page with its usage', async (t) => {
  const { cookie } = await signIn(api);
  const overview = await get(api, '/console/', cookie);
  t.match(overview.body, /Access tokens issued per hour, every node: 8 in the last 24 hours/, '3 + 5 tokens of both organizations');
  const page = await get(api, `/console/clients/${victim.client_id}`, cookie);
  t.equal(page.statusCode, 200);
  t.match(page.body, 'Access tokens issued to this client per hour: 5 in the last 48 hours');
  t.match(page.body, 'No token quota applies to this client.');
  const limited = await admin(api, 'PATCH', `/admin/v1/clients/${victim.client_id}`, { token_quota: { per_hour: 100, enforce: true } });
  t.equal(limited.statusCode, 200);
  const withQuota = await get(api, `/console/clients/${victim.client_id}`, cookie);
  t.match(withQuota.body, /<td>hour<\/td>\s*<td>0<\/td>\s*<td>100<\/td>/, 'the quota window: counting starts when the quota is set');
});
