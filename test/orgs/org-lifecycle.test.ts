// Organizations: max_clients (exact under concurrency, PGlite and PostgreSQL), org-bound initial
// access tokens (expiry, use count, revocation), disabling, re-enabling and deleting.
import t, { type Test } from 'tap';
import { ADMIN_TOKEN, build, type Built } from '../helper.js';
import { accessToken, admin, adminApp, introspect, tokenBasic } from '../admin/support.js';
import { backendOrSkip, pgTestDatabase } from '../helpers/backends.js';
import { createOrg } from './support.js';

const registerWith = (b: Built, token: string, body: Record<string, unknown>) =>
  b.app.inject({ method: 'POST', url: '/oauth2/register', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: body });
const countIn = async (b: Built, orgId: string) => Number((await b.rt.sql.query<{ n: string }>('SELECT count(*) AS n FROM clients WHERE org_id = $1', [orgId])).rows[0]?.n);

async function concurrencySuite(t: Test, env: Record<string, string>) {
  const b = await build(t, env);
  const api = adminApp(b);
  t.test('20 parallel creations against max_clients 10 end with exactly 10 (admin API: 409 naming the limit)', async (t) => {
    const org = await createOrg(adminApp(b), { name: 'ten', max_clients: 10 });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => admin(api, 'POST', '/admin/v1/clients', { client_name: `c${i}`, org_id: org })));
    t.equal(results.filter((r) => r.statusCode === 201).length, 10);
    const refused = results.filter((r) => r.statusCode !== 201);
    t.equal(refused.length, 10);
    for (const r of refused) t.same([r.statusCode, r.json()], [409, { error: 'conflict', error_description: `max_clients: the organization ${org} already has its limit of 10 clients` }]);
    t.equal(await countIn(b, org), 10);
  });
  t.test('20 parallel registrations with one initial access token of max_uses 20 against max_clients 10: exactly 10, uses counted exactly', async (t) => {
    const org = await createOrg(adminApp(b), { name: 'ten-iat', max_clients: 10 });
    const iat = (await admin(api, 'POST', `/admin/v1/orgs/${org}/initial-access-tokens`, { expires_in: 600, max_uses: 20 })).json() as { id: string; token: string };
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => registerWith(b, iat.token, { client_name: `r${i}` })));
    t.equal(results.filter((r) => r.statusCode === 201).length, 10);
    for (const r of results.filter((x) => x.statusCode !== 201))
      t.same([r.statusCode, r.json()], [400, { error: 'invalid_client_metadata', error_description: `max_clients: the organization ${org} already has its limit of 10 clients` }]);
    t.equal(await countIn(b, org), 10);
    const { rows } = await b.rt.sql.query<{ uses: number }>('SELECT uses FROM org_initial_access_tokens WHERE id = $1', [iat.id]);
    t.equal(Number(rows[0]?.uses), 10, 'refused registrations use nothing');
  });
  t.test('a single-use initial access token used 10 times at once: exactly one registration', async (t) => {
    const org = await createOrg(adminApp(b), { name: 'single' });
    const iat = (await admin(api, 'POST', `/admin/v1/orgs/${org}/initial-access-tokens`, { expires_in: 600, max_uses: 1 })).json() as { token: string };
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => registerWith(b, iat.token, { client_name: `s${i}` })));
    t.equal(results.filter((r) => r.statusCode === 201).length, 1);
    for (const r of results.filter((x) => x.statusCode !== 201)) {
      t.equal(r.statusCode, 401);
      t.same(r.json(), { error: 'invalid_token', error_description: 'the initial access token is invalid' });
      t.match(r.headers['www-authenticate'], /error="invalid_token"/);
    }
    t.equal(await countIn(b, org), 1);
  });
}

t.test('PGlite', (t) => concurrencySuite(t, {}));
t.test('PostgreSQL', async (t) => {
  if (!backendOrSkip(t, 'postgres')) return;
  await concurrencySuite(t, { DATABASE_URL: await pgTestDatabase(t) });
});

t.test('organizations: lifecycle and initial access tokens', async (t) => {
  const b = await build(t, { ORG_MAX_CLIENTS_DEFAULT: '3' });
  const api = adminApp(b);

  t.test('POST/GET/list/PATCH: ids are org_…, max_clients defaults to ORG_MAX_CLIENTS_DEFAULT', async (t) => {
    const res = await admin(api, 'POST', '/admin/v1/orgs', { name: 'Acme' });
    t.equal(res.statusCode, 201);
    const org = res.json() as Record<string, unknown>;
    t.match(org.org_id, /^org_[0-9A-Za-z]{22}$/);
    t.same(
      { ...org, org_id: 'x' },
      {
        org_id: 'x',
        name: 'Acme',
        status: 'active',
        max_clients: 3,
        token_quota: null,
        created_at: new Date(b.clock.now()).toISOString(),
        updated_at: new Date(b.clock.now()).toISOString(),
      },
    );
    t.same((await admin(api, 'GET', `/admin/v1/orgs/${String(org.org_id)}`)).json(), org);
    b.clock.advance(1000); // pages are ordered by creation time (then id): Big comes after Acme
    const unlimited = (await admin(api, 'POST', '/admin/v1/orgs', { name: 'Big', max_clients: null })).json() as { max_clients: null };
    t.equal(unlimited.max_clients, null);
    const page = (await admin(api, 'GET', '/admin/v1/orgs?limit=1')).json() as { items: unknown[]; next_cursor: string };
    t.same(page.items, [org]);
    const next = (await admin(api, 'GET', `/admin/v1/orgs?limit=1&cursor=${page.next_cursor}`)).json() as { items: { name: string }[] };
    t.equal(next.items[0]?.name, 'Big');
    const patched = await admin(api, 'PATCH', `/admin/v1/orgs/${String(org.org_id)}`, { name: 'Acme Inc', max_clients: 5 });
    t.match(patched.json(), { name: 'Acme Inc', max_clients: 5 });
    t.same((await admin(api, 'GET', '/admin/v1/orgs/org_missing')).json(), { error: 'not_found', error_description: 'org_id: no such organization' });
    t.equal((await admin(api, 'POST', '/admin/v1/orgs', { name: '' })).statusCode, 400);
    t.equal((await admin(api, 'POST', '/admin/v1/orgs', { name: 'x', org_id: 'org_mine' })).statusCode, 400, 'ids are the server’s');
  });

  t.test('initial access token: registers into its org only, cannot set org_id or grant admin scopes; expires; revoked', async (t) => {
    const org = await createOrg(adminApp(b), { name: 'ci' });
    const other = await createOrg(adminApp(b), { name: 'other' });
    const issued = await admin(api, 'POST', `/admin/v1/orgs/${org}/initial-access-tokens`, { expires_in: 3600 });
    t.equal(issued.statusCode, 201);
    t.equal(issued.headers['cache-control'], 'no-store');
    const iat = issued.json() as { id: string; token: string; expires_at: string; max_uses: null };
    t.match(iat.token, /^tmiat_[0-9A-Za-z]{49}$/);
    t.equal(iat.expires_at, new Date(b.clock.now() + 3600_000).toISOString());
    t.equal(iat.max_uses, null);
    const { rows } = await b.rt.sql.query<{ token_hash: Uint8Array }>('SELECT token_hash FROM org_initial_access_tokens WHERE id = $1', [iat.id]);
    t.equal(Buffer.from(rows[0]?.token_hash ?? []).length, 32, 'stored as a SHA-256 digest');
    t.notOk(JSON.stringify(rows).includes(iat.token));
    t.equal((await admin(api, 'POST', `/admin/v1/orgs/${org}/initial-access-tokens`, { expires_in: 31 * 86400 })).statusCode, 400, 'at most 30 days');

    const ok = await registerWith(b, iat.token, { client_name: 'ci-1', scope: 'api:read' });
    t.equal(ok.statusCode, 201);
    t.equal((ok.json() as { org_id: string }).org_id, org);
    const before = await countIn(b, other);
    for (const body of [
      { client_name: 'x', org_id: other },
      { client_name: 'x', org_id: org },
      { client_name: 'x', scope: 'tokenmill:org-admin' },
      { client_name: 'x', scope: 'api:read tokenmill:admin' },
    ]) {
      const res = await registerWith(b, iat.token, body);
      t.equal(res.statusCode, 400, JSON.stringify(body));
      t.equal((res.json() as { error: string }).error, 'invalid_client_metadata');
    }
    t.equal(await countIn(b, other), before);
    t.equal(await countIn(b, org), 1);

    // Revoked: 401 invalid_token.
    t.equal((await admin(api, 'DELETE', `/admin/v1/orgs/${other}/initial-access-tokens/${iat.id}`)).statusCode, 404, "another org's path does not reach it");
    t.equal((await admin(api, 'DELETE', `/admin/v1/orgs/${org}/initial-access-tokens/${iat.id}`)).statusCode, 204);
    const revoked = await registerWith(b, iat.token, { client_name: 'late' });
    t.same([revoked.statusCode, revoked.json()], [401, { error: 'invalid_token', error_description: 'the initial access token is invalid' }]);

    // Expired.
    const short = (await admin(api, 'POST', `/admin/v1/orgs/${org}/initial-access-tokens`, { expires_in: 60, max_uses: 5 })).json() as { token: string };
    t.equal((await registerWith(b, short.token, { client_name: 'in-time' })).statusCode, 201);
    b.clock.advance(60_000);
    const expired = await registerWith(b, short.token, { client_name: 'too-late' });
    t.same([expired.statusCode, expired.json()], [401, { error: 'invalid_token', error_description: 'the initial access token is invalid' }]);
    // Used up.
    const once = (await admin(api, 'POST', `/admin/v1/orgs/${org}/initial-access-tokens`, { expires_in: 60, max_uses: 1 })).json() as { token: string };
    t.equal((await registerWith(b, once.token, { client_name: 'one' })).statusCode, 201);
    t.equal((await registerWith(b, once.token, { client_name: 'two' })).statusCode, 401);
    t.equal(await countIn(b, org), 3);
    // Counts against max_clients (3, the configured default).
    const more = (await admin(api, 'POST', `/admin/v1/orgs/${org}/initial-access-tokens`, { expires_in: 60 })).json() as { token: string };
    const full = await registerWith(b, more.token, { client_name: 'four' });
    t.same([full.statusCode, full.json()], [400, { error: 'invalid_client_metadata', error_description: `max_clients: the organization ${org} already has its limit of 3 clients` }]);
  });

  t.test('disabling an org: its clients and tokens are refused at once; re-enabling revives no earlier token; deleting deletes its clients', async (t) => {
    const org = await createOrg(adminApp(b), { name: 'lifecycle' });
    const reg = await registerWith(b, ADMIN_TOKEN, { client_name: 'svc', org_id: org });
    const c = reg.json() as { client_id: string; client_secret: string };
    const token = await accessToken(tokenBasic(b.app, c.client_id, c.client_secret));
    t.equal((await introspect(b.app, token)).active, true);

    t.equal((await admin(adminApp(b), 'PATCH', `/admin/v1/orgs/${org}`, { status: 'disabled' })).statusCode, 200);
    t.same(await introspect(b.app, token), { active: false });
    t.equal((await tokenBasic(b.app, c.client_id, c.client_secret)).statusCode, 401, 'the token endpoint refuses its clients');
    const { rows } = await b.rt.sql.query("SELECT kind FROM revocations WHERE client_id = $1 AND kind = 'client'", [c.client_id]);
    t.equal(rows.length, 1, 'a client-wide revocation (the feed offline verifiers follow)');
    const feed = await b.app.inject({ method: 'GET', url: '/oauth2/revocations', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    t.match(feed.body, c.client_id);
    const intoDisabled = await admin(adminApp(b), 'POST', '/admin/v1/clients', { client_name: 'x', org_id: org });
    t.same([intoDisabled.statusCode, intoDisabled.json()], [409, { error: 'conflict', error_description: `org_id: the organization ${org} is disabled` }]);

    t.equal((await admin(adminApp(b), 'PATCH', `/admin/v1/orgs/${org}`, { status: 'active' })).statusCode, 200);
    t.same(await introspect(b.app, token), { active: false }, 'the earlier token stays dead');
    const fresh = await accessToken(tokenBasic(b.app, c.client_id, c.client_secret));
    t.equal((await introspect(b.app, fresh)).active, true, 'new tokens work again');

    t.equal((await admin(adminApp(b), 'DELETE', `/admin/v1/orgs/${org}`)).statusCode, 204);
    t.same(await introspect(b.app, fresh), { active: false });
    t.equal((await admin(adminApp(b), 'GET', `/admin/v1/clients/${c.client_id}`)).statusCode, 404, 'its client is gone');
    t.equal((await admin(adminApp(b), 'GET', `/admin/v1/orgs/${org}`)).statusCode, 404);
  });
});
