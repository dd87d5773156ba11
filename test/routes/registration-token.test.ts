// The RFC 7592 registration access token (RAT) has a lifecycle: rotated on every successful PUT
// (RFC 7592 §2.2: the response carries the new one, the old one stops working), rotated or revoked
// by the admin API, and ended by every "credentials leaked" step an admin can take: an immediate
// secret rotation, revoke-tokens, disabling, deleting.
import t from 'tap';
import type { Test } from 'tap';
import { createHash } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { ADMIN_TOKEN, ISSUER, build, register, type RegisteredClient } from '../helper.js';
import { ADMIN_ACTOR, admin, adminApp, settle } from '../admin/support.js';

const b = await build(t);
const api = adminApp(b);
const API = 'https://api.example.com';
const RAT_SHAPE = /^tmrat_[0-9A-Za-z]{49}$/;
const INVALID_RAT = { error: 'invalid_token', error_description: 'the registration access token is invalid' };
const INVALID_RAT_HEADER = `Bearer realm="${ISSUER}", error="invalid_token", error_description="the registration access token is invalid"`;
const NO_CLIENT = { error: 'not_found', error_description: 'client_id: no such client' };
const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

function manage(method: 'GET' | 'PUT' | 'DELETE', id: string, token: string, payload?: unknown): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (payload !== undefined) headers['content-type'] = 'application/json';
  return b.app.inject({ method, url: `/oauth2/register/${id}`, headers, ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }) });
}

async function storedHash(id: string): Promise<Buffer | null> {
  const { rows } = await b.rt.sql.query<{ h: Uint8Array | null }>('SELECT registration_access_token_hash AS h FROM clients WHERE client_id = $1', [id]);
  const h = rows[0]?.h;
  return h ? Buffer.from(h) : null;
}

async function clientRow(id: string): Promise<Record<string, unknown> | undefined> {
  const { rows } = await b.rt.sql.query('SELECT client_id, client_name, scopes, status, registration_access_token_hash, updated_at FROM clients WHERE client_id = $1', [id]);
  return rows[0];
}

/** The RAT is refused on every RFC 7592 method with the exact RFC 6750 answer, and nothing changes. */
async function expectDead(t: Test, c: RegisteredClient, rat: string, why: string): Promise<void> {
  const before = await clientRow(c.client_id);
  const get = await manage('GET', c.client_id, rat);
  t.equal(get.statusCode, 401, `${why}: GET → 401`);
  t.same(get.json(), INVALID_RAT, `${why}: exact body`);
  t.equal(get.headers['www-authenticate'], INVALID_RAT_HEADER, `${why}: RFC 6750 challenge`);
  t.equal(get.headers['cache-control'], 'no-store');
  const put = await manage('PUT', c.client_id, rat, { client_id: c.client_id, client_name: 'attacker', scope: 'api:read api:write', audience: [API] });
  t.equal(put.statusCode, 401, `${why}: PUT → 401`);
  t.same(put.json(), INVALID_RAT);
  t.notOk('registration_access_token' in (put.json() as object), `${why}: no new token handed out`);
  const del = await manage('DELETE', c.client_id, rat);
  t.equal(del.statusCode, 401, `${why}: DELETE → 401`);
  t.same(await clientRow(c.client_id), before, `${why}: nothing changed after the refusals`);
}

const newClient = (name: string) => register(b.app, { client_name: name, scope: 'api:read api:write', audience: [API] });

t.test('RFC 7592 §2.2: PUT rotates the registration access token; the response carries the new one, the old one is dead', async (t) => {
  const c = await newClient('put-rotates');
  const put = await manage('PUT', c.client_id, c.registration_access_token, { client_id: c.client_id, client_secret: c.client_secret, client_name: 'put-renamed' });
  t.equal(put.statusCode, 200, put.body);
  t.equal(put.headers['cache-control'], 'no-store');
  t.equal(put.headers.pragma, 'no-cache');
  const body = put.json() as Record<string, unknown>;
  t.match(body.registration_access_token, RAT_SHAPE, 'a new registration access token');
  t.not(body.registration_access_token, c.registration_access_token);
  t.equal(body.registration_client_uri, `${ISSUER}/oauth2/register/${c.client_id}`);
  t.equal(body.client_name, 'put-renamed');
  const fresh = body.registration_access_token as string;
  t.same(await storedHash(c.client_id), sha256(fresh), 'only the new token’s hash is stored');
  await expectDead(t, c, c.registration_access_token, 'the pre-PUT token');
  const get = await manage('GET', c.client_id, fresh);
  t.equal(get.statusCode, 200, 'the new token works');
  t.notOk('registration_access_token' in (get.json() as object), 'GET never shows a registration access token');
  // A second PUT with the new token rotates again.
  const again = await manage('PUT', c.client_id, fresh, { client_id: c.client_id, client_name: 'put-rotates' });
  t.equal(again.statusCode, 200);
  t.match((again.json() as Record<string, unknown>).registration_access_token, RAT_SHAPE);
  t.equal((await manage('GET', c.client_id, fresh)).statusCode, 401, 'the second-to-last one is dead too');
});

t.test('a refused PUT (bad metadata) does not rotate: the token still works', async (t) => {
  const c = await newClient('put-refused');
  const bad = await manage('PUT', c.client_id, c.registration_access_token, { client_id: c.client_id, scope: 'a"b' });
  t.equal(bad.statusCode, 400);
  t.same(await storedHash(c.client_id), sha256(c.registration_access_token));
  t.equal((await manage('GET', c.client_id, c.registration_access_token)).statusCode, 200);
});

t.test('an immediate secret rotation (previous_secret_ttl 0) ends the registration access token', async (t) => {
  const c = await newClient('leak-rotate');
  const rot = await admin(api, 'POST', `/admin/v1/clients/${c.client_id}/secrets`, { previous_secret_ttl: 0 });
  t.equal(rot.statusCode, 201);
  t.equal(await storedHash(c.client_id), null, 'no registration access token hash left');
  await expectDead(t, c, c.registration_access_token, 'after secrets rotate (no grace)');
});

t.test('the default secret rotation (no body: previous_secret_ttl defaults to 0) ends it too', async (t) => {
  const c = await newClient('leak-rotate-default');
  t.equal((await admin(api, 'POST', `/admin/v1/clients/${c.client_id}/secrets`, {})).statusCode, 201);
  await expectDead(t, c, c.registration_access_token, 'after secrets rotate (default)');
});

t.test('a rotation with a grace period is routine, not a leak: the registration access token keeps working', async (t) => {
  const c = await newClient('routine-rotate');
  t.equal((await admin(api, 'POST', `/admin/v1/clients/${c.client_id}/secrets`, { previous_secret_ttl: 600 })).statusCode, 201);
  t.equal((await manage('GET', c.client_id, c.registration_access_token)).statusCode, 200);
});

t.test('revoke-tokens ends the registration access token', async (t) => {
  const c = await newClient('leak-revoke');
  t.equal((await admin(api, 'POST', `/admin/v1/clients/${c.client_id}/revoke-tokens`)).statusCode, 200);
  t.equal(await storedHash(c.client_id), null);
  await expectDead(t, c, c.registration_access_token, 'after revoke-tokens');
});

t.test('disabling ends the registration access token; enabling does not bring it back', async (t) => {
  const c = await newClient('leak-disable');
  t.equal((await admin(api, 'PATCH', `/admin/v1/clients/${c.client_id}`, { status: 'disabled' })).statusCode, 200);
  t.equal(await storedHash(c.client_id), null);
  await expectDead(t, c, c.registration_access_token, 'after disable');
  t.equal((await admin(api, 'PATCH', `/admin/v1/clients/${c.client_id}`, { status: 'active' })).statusCode, 200);
  await expectDead(t, c, c.registration_access_token, 'after enable again');
});

t.test('a registration access token never authenticates for a disabled client', async (t) => {
  const c = await newClient('disabled-rotated');
  t.equal((await admin(api, 'PATCH', `/admin/v1/clients/${c.client_id}`, { status: 'disabled' })).statusCode, 200);
  const rot = await admin(api, 'POST', `/admin/v1/clients/${c.client_id}/registration-token`);
  t.equal(rot.statusCode, 201);
  const rat = (rot.json() as { registration_access_token: string }).registration_access_token;
  const get = await manage('GET', c.client_id, rat);
  t.equal(get.statusCode, 401, 'refused while disabled');
  t.same(get.json(), INVALID_RAT);
  t.equal((await admin(api, 'PATCH', `/admin/v1/clients/${c.client_id}`, { status: 'active' })).statusCode, 200);
  t.equal((await manage('GET', c.client_id, rat)).statusCode, 200, 'works once enabled');
});

t.test('deleting ends the registration access token', async (t) => {
  const c = await newClient('leak-delete');
  t.equal((await admin(api, 'DELETE', `/admin/v1/clients/${c.client_id}`)).statusCode, 204);
  const get = await manage('GET', c.client_id, c.registration_access_token);
  t.equal(get.statusCode, 401);
  t.same(get.json(), INVALID_RAT);
  t.equal(get.headers['www-authenticate'], INVALID_RAT_HEADER);
  t.equal((await manage('DELETE', c.client_id, c.registration_access_token)).statusCode, 401);
});

t.test('POST /admin/v1/clients/:id/registration-token → 201 {registration_access_token, registration_client_uri}, shown once', async (t) => {
  const c = await newClient('admin-rotate');
  const res = await admin(api, 'POST', `/admin/v1/clients/${c.client_id}/registration-token`);
  t.equal(res.statusCode, 201, res.body);
  t.match(res.headers['content-type'], /^application\/json/);
  t.equal(res.headers['cache-control'], 'no-store', 'a credential is never cached');
  t.equal(res.headers.pragma, 'no-cache');
  const body = res.json() as { registration_access_token: string; registration_client_uri: string };
  t.same(Object.keys(body).sort(), ['registration_access_token', 'registration_client_uri']);
  t.match(body.registration_access_token, RAT_SHAPE);
  t.equal(body.registration_client_uri, `${ISSUER}/oauth2/register/${c.client_id}`);
  t.same(await storedHash(c.client_id), sha256(body.registration_access_token));
  await expectDead(t, c, c.registration_access_token, 'the token replaced by the admin');
  t.equal((await manage('GET', c.client_id, body.registration_access_token)).statusCode, 200, 'the new one works');
  // Shown once: no read of the client shows it again.
  const read = await admin(api, 'GET', `/admin/v1/clients/${c.client_id}`);
  t.notOk(read.body.includes(body.registration_access_token));
  t.notOk(read.body.includes('registration_access_token'));
  // Unknown client → 404, nothing created.
  const unknown = await admin(api, 'POST', '/admin/v1/clients/tmc_doesNotExist000000000/registration-token');
  t.equal(unknown.statusCode, 404);
  t.same(unknown.json(), NO_CLIENT);
  // Without admin credentials → 401 and the token is unchanged.
  const anon = await admin(api, 'POST', `/admin/v1/clients/${c.client_id}/registration-token`, undefined, body.registration_access_token);
  t.equal(anon.statusCode, 401, 'a registration access token is no admin credential');
  t.same(await storedHash(c.client_id), sha256(body.registration_access_token), 'unchanged after the refusal');
});

t.test('DELETE /admin/v1/clients/:id/registration-token → 204; the token is dead and a new one can be issued', async (t) => {
  const c = await newClient('admin-revoke');
  const res = await admin(api, 'DELETE', `/admin/v1/clients/${c.client_id}/registration-token`);
  t.equal(res.statusCode, 204);
  t.equal(res.body, '');
  t.equal(await storedHash(c.client_id), null);
  await expectDead(t, c, c.registration_access_token, 'after the admin revoked it');
  t.equal((await admin(api, 'DELETE', `/admin/v1/clients/${c.client_id}/registration-token`)).statusCode, 204, 'idempotent');
  const unknown = await admin(api, 'DELETE', '/admin/v1/clients/tmc_doesNotExist000000000/registration-token');
  t.equal(unknown.statusCode, 404);
  t.same(unknown.json(), NO_CLIENT);
  const rot = await admin(api, 'POST', `/admin/v1/clients/${c.client_id}/registration-token`);
  t.equal(rot.statusCode, 201);
  t.equal((await manage('GET', c.client_id, (rot.json() as { registration_access_token: string }).registration_access_token)).statusCode, 200);
});

t.test('the admin token still manages a client whose registration access token was ended (RFC 7592 with the admin token)', async (t) => {
  const c = await newClient('admin-manages');
  t.equal((await admin(api, 'DELETE', `/admin/v1/clients/${c.client_id}/registration-token`)).statusCode, 204);
  t.equal((await manage('GET', c.client_id, ADMIN_TOKEN)).statusCode, 200);
});

t.test('the rotate and revoke calls are audited under their own action names', async (t) => {
  await settle(b);
  const res = await admin(api, 'GET', '/admin/v1/audit?limit=500');
  const rows = (res.json() as { items: { actor: string; action: string; target: string | null; outcome: string; status: number | null }[] }).items;
  const rotate = rows.filter((r) => r.action === 'registration_token.rotate');
  const revoke = rows.filter((r) => r.action === 'registration_token.revoke');
  t.ok(
    rotate.some((r) => r.actor === ADMIN_ACTOR && r.outcome === 'success' && r.status === 201 && r.target?.startsWith('tmc_')),
    'rotate success row',
  );
  t.ok(
    rotate.some((r) => r.outcome === 'failure' && r.status === 404 && r.target === 'tmc_doesNotExist000000000'),
    'rotate of an unknown client row',
  );
  t.ok(
    revoke.some((r) => r.actor === ADMIN_ACTOR && r.outcome === 'success' && r.status === 204),
    'revoke success row',
  );
  const text = JSON.stringify(rows);
  t.notMatch(text, /tmrat_/, 'no audit row holds a registration access token');
});
