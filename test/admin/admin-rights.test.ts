// Admin rights come from the client's current state, not from the token (RFC 6750 §3.1): an access
// token with scope tokenmill:admin works on the admin API only while its client is active and its
// registered scopes still include tokenmill:admin. A token minted before the scope was removed is
// refused from that moment on, not at its exp.
import t from 'tap';
import { ISSUER, build, register } from '../helper.js';
import { ADMIN_ACTOR, REALM, accessToken, admin, adminApp, settle, tokenBasic } from './support.js';

const b = await build(t);
const api = adminApp(b);
const INSUFFICIENT_HEADER = `${REALM}, error="insufficient_scope", error_description="the access token lacks the required scope", scope="tokenmill:admin"`;
const INSUFFICIENT_BODY = { error: 'insufficient_scope', error_description: 'the access token lacks the required scope' };

const ops = await register(b.app, { client_name: 'ops-bot', scope: 'tokenmill:admin api:read', audience: [ISSUER], access_token_ttl: 900 });
const victim = await register(b.app, { client_name: 'victim', scope: 'api:read', audience: ['https://api.example.com'] });
const mint = (scope: string) => accessToken(tokenBasic(b.app, ops.client_id, ops.client_secret ?? '', { scope }));

async function victimRow(): Promise<unknown> {
  const { rows } = await b.rt.sql.query('SELECT * FROM clients WHERE client_id = $1', [victim.client_id]);
  return rows[0];
}

t.test('the admin scope removed from the client: its earlier admin token → 403 insufficient_scope at once, and changes nothing', async (t) => {
  const token = await mint('tokenmill:admin');
  t.equal((await admin(api, 'GET', '/admin/v1/clients?limit=1', undefined, token)).statusCode, 200, 'works while the client has the scope');

  const demote = await admin(api, 'PATCH', `/admin/v1/clients/${ops.client_id}`, { scope: 'api:read' });
  t.equal(demote.statusCode, 200);
  t.equal((demote.json() as { scope: string }).scope, 'api:read');

  const read = await admin(api, 'GET', '/admin/v1/clients?limit=1', undefined, token);
  t.equal(read.statusCode, 403, 'refused although the token still says tokenmill:admin and has not expired');
  t.equal(read.headers['www-authenticate'], INSUFFICIENT_HEADER);
  t.same(read.json(), INSUFFICIENT_BODY);

  // The attacker holding the token tries to write, and to give the scope back to its client.
  const before = await victimRow();
  const write = await admin(api, 'PATCH', `/admin/v1/clients/${victim.client_id}`, { scope: 'api:read tokenmill:admin' }, token);
  t.equal(write.statusCode, 403);
  t.same(write.json(), INSUFFICIENT_BODY);
  t.same(await victimRow(), before, 'the victim client is unchanged');
  const regrant = await admin(api, 'PATCH', `/admin/v1/clients/${ops.client_id}`, { scope: 'tokenmill:admin api:read' }, token);
  t.equal(regrant.statusCode, 403, 'cannot re-grant itself the scope');
  const rotate = await admin(api, 'POST', `/admin/v1/clients/${victim.client_id}/secrets`, {}, token);
  t.equal(rotate.statusCode, 403);
  t.same(await victimRow(), before);
  const { rows } = await b.rt.sql.query('SELECT scopes FROM clients WHERE client_id = $1', [ops.client_id]);
  t.same(rows[0], { scopes: ['api:read'] }, 'the ops client still lacks the scope');

  // Given back by a real admin, the same token works again: rights follow the client's state.
  t.equal((await admin(api, 'PATCH', `/admin/v1/clients/${ops.client_id}`, { scope: 'tokenmill:admin api:read' })).statusCode, 200);
  t.equal((await admin(api, 'GET', '/admin/v1/clients?limit=1', undefined, token)).statusCode, 200);
});

t.test('the admin check reads the client through the invalidated cache, not a copy held since the token was minted', async (t) => {
  const token = await mint('tokenmill:admin');
  t.equal((await admin(api, 'GET', '/admin/v1/clients?limit=1', undefined, token)).statusCode, 200, 'the client is now cached');
  // Another node removes the scope: the database changes and the bus carries the invalidation.
  await b.rt.clientStore.update(ops.client_id, { scopes: ['api:read'] }, b.clock.now());
  await b.rt.bus.publish('clients', ops.client_id);
  const res = await admin(api, 'GET', '/admin/v1/clients?limit=1', undefined, token);
  t.equal(res.statusCode, 403);
  t.same(res.json(), INSUFFICIENT_BODY);
  await b.rt.clientStore.update(ops.client_id, { scopes: ['tokenmill:admin', 'api:read'] }, b.clock.now());
  await b.rt.bus.publish('clients', ops.client_id);
});

t.test('the refusals are audited under the client that made them', async (t) => {
  await settle(b);
  const res = await admin(api, 'GET', '/admin/v1/audit?limit=100');
  const rows = (res.json() as { items: { actor: string; status: number | null; outcome: string }[] }).items;
  const refused = rows.filter((r) => r.status === 403);
  t.ok(refused.length >= 4, 'the 403s are recorded');
  t.ok(refused.every((r) => r.actor === `client:${ops.client_id}` && r.outcome === 'failure'));
  t.ok(
    rows.some((r) => r.actor === ADMIN_ACTOR),
    'the admin token calls are there too',
  );
});
