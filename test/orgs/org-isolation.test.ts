// Organizations (docs/contract.md "Organizations"), written as attacks: an organization admin of A
// tries to read, change, rotate, revoke, list, audit and register into organization B, and to reach
// the super admin's calls. Every attempt is refused (404 for B's clients: existence is not revealed;
// 403 for what an organization admin may never call), and nothing changes in B.
import t from 'tap';
import { ISSUER, build, register } from '../helper.js';
import { createOrg } from './support.js';
import { accessToken, admin, adminApp, introspect, jwsPayload, settle, tokenBasic } from '../admin/support.js';

const b = await build(t);
const api = adminApp(b);

const orgA = await createOrg(api, { name: 'Acme' });
const orgB = await createOrg(api, { name: 'Beta' });
const adminA = await register(b.app, { client_name: 'acme-admin', scope: 'tokenmill:org-admin', audience: [ISSUER], org_id: orgA });
const victim = await register(b.app, { client_name: 'beta-ci', scope: 'api:read', audience: ['https://api.example.com'], org_id: orgB });
const tokenA = await accessToken(tokenBasic(b.app, adminA.client_id, adminA.client_secret ?? '', { scope: 'tokenmill:org-admin' }));

async function orgBState(): Promise<unknown> {
  const clients = await b.rt.sql.query('SELECT * FROM clients WHERE org_id = $1 ORDER BY client_id', [orgB]);
  const secrets = await b.rt.sql.query('SELECT s.* FROM client_secrets s JOIN clients c ON c.client_id = s.client_id WHERE c.org_id = $1 ORDER BY secret_id', [orgB]);
  const org = await b.rt.sql.query('SELECT * FROM orgs WHERE org_id = $1', [orgB]);
  const iats = await b.rt.sql.query('SELECT * FROM org_initial_access_tokens WHERE org_id = $1', [orgB]);
  const revocations = await b.rt.sql.query('SELECT * FROM revocations WHERE client_id = $1', [victim.client_id]);
  return { clients: clients.rows, secrets: secrets.rows, org: org.rows, iats: iats.rows, revocations: revocations.rows };
}
async function auditRowsOfB(): Promise<unknown[]> {
  await settle(b);
  return (await b.rt.sql.query("SELECT actor, action, target, outcome FROM audit_log WHERE org_id = $1 AND actor <> 'unauthenticated' ORDER BY id", [orgB])).rows;
}

t.test('the org_id claim: in the token, in introspection, on the client view and in RFC 7591 metadata', async (t) => {
  const token = await accessToken(tokenBasic(b.app, victim.client_id, victim.client_secret ?? ''));
  t.equal(jwsPayload(token).org_id, orgB);
  const info = await introspect(b.app, token);
  t.equal(info.active, true);
  t.equal(info.org_id, orgB);
  t.equal(victim.org_id, orgB, 'registration response');
  const view = await admin(api, 'GET', `/admin/v1/clients/${victim.client_id}`);
  t.equal((view.json() as { org_id: string }).org_id, orgB);
  const plain = await register(b.app, { client_name: 'no-org' });
  const plainToken = await accessToken(tokenBasic(b.app, plain.client_id, plain.client_secret ?? ''));
  t.notOk('org_id' in jwsPayload(plainToken), 'a client without an organization: no claim');
  t.notOk('org_id' in plain, 'nor in its metadata');
});

t.test('org admin A against organization B: every call refused, nothing changes in B', async (t) => {
  const secretId = String((await admin(api, 'GET', `/admin/v1/clients/${victim.client_id}`)).json().secrets[0].secret_id);
  const before = await orgBState();
  const auditBefore = await auditRowsOfB();
  const notFound = { error: 'not_found', error_description: 'client_id: no such client' };
  const id = victim.client_id;
  const attempts: [string, string, unknown][] = [
    ['GET', `/admin/v1/clients/${id}`, undefined],
    ['PATCH', `/admin/v1/clients/${id}`, { scope: 'api:read api:write' }],
    ['PATCH', `/admin/v1/clients/${id}`, { status: 'disabled' }],
    ['DELETE', `/admin/v1/clients/${id}`, undefined],
    ['POST', `/admin/v1/clients/${id}/secrets`, {}],
    ['DELETE', `/admin/v1/clients/${id}/secrets/${secretId}`, undefined],
    ['POST', `/admin/v1/clients/${id}/revoke-tokens`, undefined],
    ['POST', `/admin/v1/clients/${id}/registration-token`, undefined],
    ['DELETE', `/admin/v1/clients/${id}/registration-token`, undefined],
  ];
  for (const [method, url, body] of attempts) {
    const res = await admin(api, method as 'GET', url, body, tokenA);
    t.equal(res.statusCode, 404, `${method} ${url}`);
    t.same(res.json(), notFound, `${method} ${url}: the same answer as for a client that does not exist`);
  }
  const ghost = await admin(api, 'GET', '/admin/v1/clients/tmc_doesnotexist', undefined, tokenA);
  t.same([ghost.statusCode, ghost.json()], [404, notFound], 'indistinguishable from a missing client');

  // Listing: only A's clients, whatever filter is asked for.
  const list = await admin(api, 'GET', '/admin/v1/clients?limit=500', undefined, tokenA);
  t.same(
    (list.json() as { items: { client_id: string; org_id: string }[] }).items.map((c) => c.org_id),
    [orgA],
    'only its own organization (itself)',
  );
  const listB = await admin(api, 'GET', `/admin/v1/clients?org_id=${orgB}`, undefined, tokenA);
  t.same(listB.json(), { items: [], next_cursor: null }, 'asking for B: an empty page');

  // Creating into B, and granting admin scopes.
  const intoB = await admin(api, 'POST', '/admin/v1/clients', { client_name: 'x', org_id: orgB }, tokenA);
  t.same([intoB.statusCode, intoB.json()], [400, { error: 'invalid_request', error_description: 'org_id: no such organization' }]);
  for (const scope of ['tokenmill:admin', 'tokenmill:org-admin']) {
    const grant = await admin(api, 'POST', '/admin/v1/clients', { client_name: 'x', scope }, tokenA);
    t.equal(grant.statusCode, 403, `cannot grant ${scope}`);
    t.equal((grant.json() as { error: string }).error, 'insufficient_scope');
    const self = await admin(api, 'PATCH', `/admin/v1/clients/${adminA.client_id}`, { scope: `tokenmill:org-admin ${scope}` }, tokenA);
    t.equal(self.statusCode, scope === 'tokenmill:admin' ? 403 : 200, `PATCH itself with ${scope}`);
  }

  // The super admin's calls: organizations, initial access tokens, keys, revocation by jti.
  const forbidden: [string, string, unknown][] = [
    ['GET', '/admin/v1/orgs', undefined],
    ['POST', '/admin/v1/orgs', { name: 'mine' }],
    ['GET', `/admin/v1/orgs/${orgB}`, undefined],
    ['GET', `/admin/v1/orgs/${orgA}`, undefined],
    ['PATCH', `/admin/v1/orgs/${orgB}`, { status: 'disabled' }],
    ['PATCH', `/admin/v1/orgs/${orgA}`, { max_clients: 1000 }],
    ['DELETE', `/admin/v1/orgs/${orgB}`, undefined],
    ['POST', `/admin/v1/orgs/${orgB}/initial-access-tokens`, { expires_in: 600 }],
    ['POST', `/admin/v1/orgs/${orgA}/initial-access-tokens`, { expires_in: 600 }],
    ['GET', '/admin/v1/keys', undefined],
    ['POST', '/admin/v1/keys/rotate', {}],
    ['POST', '/admin/v1/tokens/revoke', { jti: 'abc', exp: Math.floor(b.clock.now() / 1000) + 60 }],
    ['GET', '/admin/v1/openapi.json', undefined],
  ];
  for (const [method, url, body] of forbidden) {
    const res = await admin(api, method as 'GET', url, body, tokenA);
    t.equal(res.statusCode, 403, `${method} ${url}`);
    t.same(res.json(), { error: 'insufficient_scope', error_description: 'the access token lacks the required scope' });
  }
  // Revoking B's token by the token itself: not there for A.
  const bToken = await accessToken(tokenBasic(b.app, victim.client_id, victim.client_secret ?? ''));
  const revoke = await admin(api, 'POST', '/admin/v1/tokens/revoke', { token: bToken }, tokenA);
  t.same([revoke.statusCode, revoke.json()], [404, { error: 'not_found', error_description: 'token: no such token' }]);
  t.equal((await introspect(b.app, bToken)).active, true, "B's token still works");

  // The audit log: A sees only A's rows; B's rows are untouched by A's attempts.
  const audit = await admin(api, 'GET', '/admin/v1/audit?limit=500', undefined, tokenA);
  const rows = (audit.json() as { items: { org_id: string | null; target: string | null; actor: string }[] }).items;
  t.ok(rows.length > 0);
  t.ok(
    rows.every((r) => r.org_id === orgA),
    'only its organization',
  );
  t.ok(
    rows.filter((r) => r.target === victim.client_id).every((r) => r.actor === `client:${adminA.client_id}`),
    "about B's client: only A's own refused attempts (the id A sent), never B's history",
  );
  const auditB = (await admin(api, 'GET', `/admin/v1/audit?target=${victim.client_id}&limit=500`, undefined, tokenA)).json() as { items: { actor: string; outcome: string }[] };
  t.ok(auditB.items.length > 0 && auditB.items.every((r) => r.actor === `client:${adminA.client_id}` && r.outcome === 'failure'));

  t.same(await orgBState(), before, "B's organization, clients, secrets, tokens and revocations are unchanged");
  t.same(await auditRowsOfB(), auditBefore, 'no audit row in B came from A');
});

t.test("org admin A manages its own organization's clients; they land in A; the audit rows carry A", async (t) => {
  const created = await admin(api, 'POST', '/admin/v1/clients', { client_name: 'acme-ci', scope: 'api:read', audience: ['https://api.example.com'] }, tokenA);
  t.equal(created.statusCode, 201);
  const c = (created.json() as { client: { client_id: string; org_id: string } }).client;
  t.equal(c.org_id, orgA);
  t.equal((await admin(api, 'PATCH', `/admin/v1/clients/${c.client_id}`, { client_name: 'acme-ci-2' }, tokenA)).statusCode, 200);
  t.equal((await admin(api, 'POST', `/admin/v1/clients/${c.client_id}/secrets`, {}, tokenA)).statusCode, 201);
  t.equal((await admin(api, 'POST', `/admin/v1/clients/${c.client_id}/revoke-tokens`, undefined, tokenA)).statusCode, 200);
  await settle(b);
  const { rows } = await b.rt.sql.query<{ action: string; org_id: string }>('SELECT action, org_id FROM audit_log WHERE target = $1 ORDER BY id', [c.client_id]);
  t.same(
    rows.map((r) => [r.action, r.org_id]),
    [
      ['client.create', orgA],
      ['client.update', orgA],
      ['secret.rotate', orgA],
      ['client.revoke_tokens', orgA],
    ],
  );
  // The super admin's call about an org client carries the client's organization too.
  await admin(api, 'GET', `/admin/v1/clients/${victim.client_id}`);
  await settle(b);
  const last = await b.rt.sql.query<{ org_id: string }>("SELECT org_id FROM audit_log WHERE target = $1 AND action = 'client.read' ORDER BY id DESC LIMIT 1", [victim.client_id]);
  t.equal(last.rows[0]?.org_id, orgB);
});

t.test('RFC 7592 self-service cannot change org_id (nor grant the admin scopes)', async (t) => {
  const before = await orgBState();
  const got = await b.app.inject({ method: 'GET', url: `/oauth2/register/${victim.client_id}`, headers: { authorization: `Bearer ${victim.registration_access_token}` } });
  const meta = got.json() as Record<string, unknown>;
  t.equal(meta.org_id, orgB);
  for (const change of [{ org_id: orgA }, { org_id: null }, { scope: 'api:read tokenmill:org-admin' }]) {
    const res = await b.app.inject({
      method: 'PUT',
      url: `/oauth2/register/${victim.client_id}`,
      headers: { authorization: `Bearer ${victim.registration_access_token}`, 'content-type': 'application/json' },
      payload: { ...meta, ...change },
    });
    t.equal(res.statusCode, 400, JSON.stringify(change));
    t.equal((res.json() as { error: string }).error, 'invalid_client_metadata');
  }
  t.same(await orgBState(), before);

  // A client of no organization cannot join one by itself either.
  const loner = await register(b.app, { client_name: 'loner' });
  const own = (await b.app.inject({ method: 'GET', url: `/oauth2/register/${loner.client_id}`, headers: { authorization: `Bearer ${loner.registration_access_token}` } })).json() as Record<
    string,
    unknown
  >;
  t.notOk('org_id' in own);
  const join = await b.app.inject({
    method: 'PUT',
    url: `/oauth2/register/${loner.client_id}`,
    headers: { authorization: `Bearer ${loner.registration_access_token}`, 'content-type': 'application/json' },
    payload: { ...own, org_id: orgB },
  });
  t.same(
    [join.statusCode, join.json()],
    [400, { error: 'invalid_client_metadata', error_description: 'org_id: cannot be changed by the client itself (RFC 7592 section 2.2); an administrator changes it through the admin API' }],
  );
  const { rows } = await b.rt.sql.query('SELECT org_id FROM clients WHERE client_id = $1', [loner.client_id]);
  t.same(rows, [{ org_id: null }]);
});

t.test('a client registered by the super admin into a missing organization: 400 invalid_client_metadata, nothing created', async (t) => {
  const count = async () => Number((await b.rt.sql.query<{ n: string }>('SELECT count(*) AS n FROM clients')).rows[0]?.n);
  const n = await count();
  const res = await b.app.inject({
    method: 'POST',
    url: '/oauth2/register',
    headers: { authorization: 'Bearer test-admin-token-0123456789abcdefghijklmnopqrstuvwxyz', 'content-type': 'application/json' },
    payload: { client_name: 'x', org_id: 'org_nope' },
  });
  t.same([res.statusCode, res.json()], [400, { error: 'invalid_client_metadata', error_description: 'org_id: no such organization' }]);
  const adminRes = await admin(api, 'POST', '/admin/v1/clients', { client_name: 'x', org_id: 'org_nope' });
  t.same([adminRes.statusCode, adminRes.json()], [400, { error: 'invalid_request', error_description: 'org_id: no such organization' }]);
  t.equal(await count(), n);
});

t.test("introspection across organizations: a client that lists the same audience does not see another organization's tokens", async (t) => {
  const victimToken = await accessToken(tokenBasic(b.app, victim.client_id, victim.client_secret ?? ''));
  const asClient = async (c: { client_id: string; client_secret?: string }) => {
    const res = await b.app.inject({
      method: 'POST',
      url: '/oauth2/introspect',
      headers: { authorization: `Basic ${Buffer.from(`${c.client_id}:${c.client_secret ?? ''}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${victimToken}`,
    });
    return [res.statusCode, res.json(), res.headers['cache-control']];
  };
  // An organization admin of A registers a client for B's API into A, and asks about B's token.
  const spy = await register(b.app, { client_name: 'acme-spy', scope: 'api:read', audience: ['https://api.example.com'], org_id: orgA });
  t.same(await asClient(spy), [200, { active: false }, 'no-store'], 'a client of organization A: inactive');
  const loner = await register(b.app, { client_name: 'no-org-spy', scope: 'api:read', audience: ['https://api.example.com'] });
  t.same(await asClient(loner), [200, { active: false }, 'no-store'], 'a client of no organization: inactive');
  const sibling = await register(b.app, { client_name: 'beta-api', scope: 'api:read', audience: ['https://api.example.com'], org_id: orgB });
  const [status, body] = await asClient(sibling);
  t.equal(status, 200);
  t.equal((body as { active: boolean; org_id?: string }).active, true, "a resource server of B's own organization for that audience still sees it");
  t.equal((body as { org_id?: string }).org_id, orgB);
});
