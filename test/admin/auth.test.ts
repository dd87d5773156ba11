// Admin API authentication (contract "Admin"; RFC 6750 §3, §3.1): ADMIN_TOKEN or an access token this
// server minted with scope tokenmill:admin; missing or bad → 401, valid without the scope → 403,
// and every call, failed ones included, in the audit log.
import t from 'tap';
import { SignJWT, generateKeyPair } from 'jose';
import { ADMIN_TOKEN, ISSUER, basic, build, form, register } from '../helper.js';
import { ADMIN_ACTOR, REALM, accessToken, admin, adminApp, jwsHeader, jwsPayload, settle, tokenBasic } from './support.js';

const b = await build(t);
const api = adminApp(b);
t.ok(b.apps.admin, 'default env: the admin API has its own listener');

// A client that may ask for the admin scope, with this server as an allowed audience.
const adminClient = await register(b.app, { client_name: 'ops-bot', scope: 'tokenmill:admin api:read', audience: [ISSUER, 'https://api.example.com'], access_token_ttl: 600 });
const adminClientSecret = adminClient.client_secret ?? '';
const mint = (scope: string) => accessToken(tokenBasic(b.app, adminClient.client_id, adminClientSecret, { scope }));
const actorOfClient = `client:${adminClient.client_id}`;

const INVALID_TOKEN_HEADER = `${REALM}, error="invalid_token", error_description="the access token is missing, invalid or expired"`;
const INVALID_TOKEN_BODY = { error: 'invalid_token', error_description: 'the access token is missing, invalid or expired' };

/** Every admin call made here, with what the audit log must say about it. */
const expected: { requestStatus: number; actor: string; outcome: 'success' | 'failure'; label: string }[] = [];
const list = async (label: string, authorization: string | null, status: number, actor: string) => {
  const res = await api.inject({ method: 'GET', url: '/admin/v1/clients?limit=1', headers: authorization === null ? {} : { authorization } });
  expected.push({ requestStatus: status, actor, outcome: status < 400 ? 'success' : 'failure', label });
  return res;
};

t.test('the admin API is not served on the public listener', async (t) => {
  const res = await b.app.inject({ method: 'GET', url: '/admin/v1/clients', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  t.equal(res.statusCode, 404);
  t.same(res.json(), { error: 'not_found', error_description: 'not found' });
});

t.test('no credentials → 401 with a bare Bearer challenge (RFC 6750 §3.1: no error code)', async (t) => {
  const res = await list('none', null, 401, 'unauthenticated');
  t.equal(res.statusCode, 401);
  t.equal(res.headers['www-authenticate'], REALM);
  t.match(res.headers['content-type'], /^application\/json/);
  t.same(res.json(), { error: 'invalid_token', error_description: 'admin credentials are required' });
});

t.test('a wrong bearer token → 401 error="invalid_token"', async (t) => {
  const res = await list('wrong', 'Bearer not-the-admin-token-0123456789abcdefghijklmnop', 401, 'unauthenticated');
  t.equal(res.statusCode, 401);
  t.equal(res.headers['www-authenticate'], INVALID_TOKEN_HEADER);
  t.same(res.json(), INVALID_TOKEN_BODY);
});

t.test('the Basic scheme (even with valid client credentials) → 401', async (t) => {
  const res = await list('basic', basic(adminClient.client_id, adminClientSecret), 401, 'unauthenticated');
  t.equal(res.statusCode, 401);
  t.equal(res.headers['www-authenticate'], `${REALM}, error="invalid_token", error_description="a bearer token is required"`);
  t.same(res.json(), { error: 'invalid_token', error_description: 'a bearer token is required' });
});

t.test('the ADMIN_TOKEN in the Basic scheme is not accepted either → 401', async (t) => {
  const res = await list('basic-admin-token', `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`, 401, 'unauthenticated');
  t.equal(res.statusCode, 401);
  t.match(res.headers['www-authenticate'], /^Bearer realm="http:\/\/tokenmill\.test", error="invalid_token"/);
});

t.test('the ADMIN_TOKEN → 200', async (t) => {
  const res = await list('admin-token', `Bearer ${ADMIN_TOKEN}`, 200, ADMIN_ACTOR);
  t.equal(res.statusCode, 200);
  t.match(res.json(), { items: [{ client_id: adminClient.client_id }], next_cursor: null });
});

t.test('an access token of ours with scope tokenmill:admin → 200', async (t) => {
  const token = await mint('tokenmill:admin');
  t.equal(jwsPayload(token).aud, ISSUER, 'minted for this server');
  const res = await list('admin-scope', `Bearer ${token}`, 200, actorOfClient);
  t.equal(res.statusCode, 200);
  t.equal((res.json() as { items: unknown[] }).items.length, 1);
});

// A 403 comes from a caller who did authenticate: the audit row names that client (the actor is
// known; recording it as "unauthenticated" would hide which client probed the admin API).
t.test('the same client with only another scope → 403 insufficient_scope', async (t) => {
  const token = await mint('api:read');
  const res = await list('other-scope', `Bearer ${token}`, 403, actorOfClient);
  t.equal(res.statusCode, 403);
  t.equal(res.headers['www-authenticate'], `${REALM}, error="insufficient_scope", error_description="the access token lacks the required scope", scope="tokenmill:admin"`);
  t.same(res.json(), { error: 'insufficient_scope', error_description: 'the access token lacks the required scope' });
});

t.test('the admin token after RFC 7009 revocation → 401', async (t) => {
  const token = await mint('tokenmill:admin');
  t.equal((await list('before-revoke', `Bearer ${token}`, 200, actorOfClient)).statusCode, 200);
  const revoke = await b.app.inject({
    method: 'POST',
    url: '/oauth2/revoke',
    headers: { authorization: basic(adminClient.client_id, adminClientSecret), 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ token }),
  });
  t.equal(revoke.statusCode, 200);
  const res = await list('revoked', `Bearer ${token}`, 401, 'unauthenticated');
  t.equal(res.statusCode, 401);
  t.equal(res.headers['www-authenticate'], INVALID_TOKEN_HEADER);
  t.same(res.json(), INVALID_TOKEN_BODY);
});

t.test('the admin token of a client that was then disabled → 401, also once enabled again; a new one works', async (t) => {
  const token = await mint('tokenmill:admin');
  const disable = await admin(api, 'PATCH', `/admin/v1/clients/${adminClient.client_id}`, { status: 'disabled' });
  expected.push({ requestStatus: 200, actor: ADMIN_ACTOR, outcome: 'success', label: 'disable' });
  t.equal(disable.statusCode, 200);
  const res = await list('disabled', `Bearer ${token}`, 401, 'unauthenticated');
  t.equal(res.statusCode, 401);
  t.equal(res.headers['www-authenticate'], INVALID_TOKEN_HEADER);
  t.same(res.json(), INVALID_TOKEN_BODY);
  const enable = await admin(api, 'PATCH', `/admin/v1/clients/${adminClient.client_id}`, { status: 'active' });
  expected.push({ requestStatus: 200, actor: ADMIN_ACTOR, outcome: 'success', label: 'enable' });
  t.equal(enable.statusCode, 200);
  // Disabling revoked every token the client held: re-enabling does not bring them back.
  const old = await list('re-enabled-old-token', `Bearer ${token}`, 401, 'unauthenticated');
  t.equal(old.statusCode, 401);
  t.same(old.json(), INVALID_TOKEN_BODY);
  // (A token minted in the revocation's second carries iat = revoked_before; move past it so the
  // expiry test below measures from now.)
  b.clock.advance(1_000);
  t.equal((await list('re-enabled-new-token', `Bearer ${await mint('tokenmill:admin')}`, 200, actorOfClient)).statusCode, 200);
});

t.test('an expired admin token → 401', async (t) => {
  const token = await mint('tokenmill:admin');
  t.equal(jwsPayload(token).exp, (jwsPayload(token).iat as number) + 600);
  b.clock.advance(599_000);
  t.equal((await list('not-yet-expired', `Bearer ${token}`, 200, actorOfClient)).statusCode, 200);
  b.clock.advance(1_000); // now = exp
  const res = await list('expired', `Bearer ${token}`, 401, 'unauthenticated');
  t.equal(res.statusCode, 401);
  t.equal(res.headers['www-authenticate'], INVALID_TOKEN_HEADER);
  t.same(res.json(), INVALID_TOKEN_BODY);
});

t.test('the same claims signed by a foreign key (same kid, same alg) → 401', async (t) => {
  const genuine = await mint('tokenmill:admin');
  const header = jwsHeader(genuine);
  const { privateKey } = await generateKeyPair('ES256');
  const forged = await new SignJWT(jwsPayload(genuine)).setProtectedHeader(header as { alg: string }).sign(privateKey);
  t.not(forged, genuine);
  t.same(jwsPayload(forged), jwsPayload(genuine), 'identical claims');
  t.equal((await list('genuine', `Bearer ${genuine}`, 200, actorOfClient)).statusCode, 200);
  const res = await list('forged', `Bearer ${forged}`, 401, 'unauthenticated');
  t.equal(res.statusCode, 401);
  t.equal(res.headers['www-authenticate'], INVALID_TOKEN_HEADER);
  t.same(res.json(), INVALID_TOKEN_BODY);
});

t.test('an admin-scope token minted for another audience → 401 (not meant for this server)', async (t) => {
  const token = await accessToken(tokenBasic(b.app, adminClient.client_id, adminClientSecret, { scope: 'tokenmill:admin', audience: 'https://api.example.com' }));
  t.equal(jwsPayload(token).aud, 'https://api.example.com');
  const res = await list('other-audience', `Bearer ${token}`, 401, 'unauthenticated');
  t.equal(res.statusCode, 401);
  t.equal(res.headers['www-authenticate'], `${REALM}, error="invalid_token", error_description="the access token is not meant for this server"`);
  t.same(res.json(), { error: 'invalid_token', error_description: 'the access token is not meant for this server' });
});

t.test('an alg=none token with the same claims → 401', async (t) => {
  const genuine = await mint('tokenmill:admin');
  const none = `${Buffer.from(JSON.stringify({ ...jwsHeader(genuine), alg: 'none' })).toString('base64url')}.${genuine.split('.')[1]}.`;
  const res = await list('alg-none', `Bearer ${none}`, 401, 'unauthenticated');
  t.equal(res.statusCode, 401);
  t.equal(res.headers['www-authenticate'], INVALID_TOKEN_HEADER);
});

t.test('every call above is in GET /admin/v1/audit with actor, action, outcome and status', async (t) => {
  await settle(b);
  await b.rt.refusalAudit.flush(); // unauthenticated refusals: one row per source, action and minute
  const rows: {
    actor: string;
    action: string;
    outcome: string;
    status: number | null;
    target: string | null;
    at: string;
    id: string;
    request_id: string | null;
    count: number;
    source: string | null;
  }[] = [];
  let cursor: string | null = null;
  do {
    const res = await admin(api, 'GET', `/admin/v1/audit?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
    t.equal(res.statusCode, 200);
    const page = res.json() as { items: typeof rows; next_cursor: string | null };
    rows.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor !== null);
  // Newest first; the audit GETs themselves are recorded after they answer, so the reading pages show up too.
  const all = rows.filter((r) => r.action !== 'audit.list').reverse();
  // The RFC 7591 registration of the admin client (public listener) shares the audit log.
  t.match(all[0], { actor: ADMIN_ACTOR, action: 'client.register', outcome: 'success', target: adminClient.client_id }, 'the registration is audited too');
  const calls = all.slice(1).filter((r) => r.actor !== 'unauthenticated');
  const authenticated = expected.filter((e) => e.actor !== 'unauthenticated');
  t.equal(calls.length, authenticated.length, 'one audit row per authenticated admin call');
  for (let i = 0; i < authenticated.length; i++) {
    const e = authenticated[i];
    const row = calls[i];
    if (!e || !row) break;
    const action = e.label === 'disable' || e.label === 'enable' ? 'client.update' : 'client.list';
    const target = action === 'client.update' ? adminClient.client_id : null;
    t.match(
      row,
      { actor: e.actor, action, outcome: e.outcome, status: e.requestStatus, target, request_id: /^[0-9a-z]+-[0-9a-z]+$/, at: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/ },
      `audit row for ${e.label}`,
    );
  }
  const failed = all.filter((r) => r.actor === 'unauthenticated');
  const refused = expected.filter((e) => e.actor === 'unauthenticated');
  t.ok(refused.length >= 8, 'several unauthenticated calls were made');
  // One row per minute of the test clock (some tests above move it).
  t.ok(failed.length >= 1 && failed.length <= 3, `the 401s are recorded as ${failed.length} aggregated rows`);
  for (const r of failed) t.match(r, { actor: 'unauthenticated', action: 'client.list', outcome: 'failure', status: 401, source: '127.0.0.1', target: null }, 'actor unauthenticated, outcome failure');
  t.equal(
    failed.reduce((n, r) => n + r.count, 0),
    refused.length,
    'counting every unauthenticated call once',
  );
  const ids = rows.map((r) => Number(r.id));
  t.same(
    ids,
    [...ids].sort((x, y) => y - x),
    'newest first',
  );
  t.equal(new Set(ids).size, ids.length, 'pages do not overlap');
});

t.test('an audit cursor that is not an id → 400 naming cursor', async (t) => {
  const res = await admin(api, 'GET', '/admin/v1/audit?cursor=abc');
  t.equal(res.statusCode, 400);
  t.same(res.json(), { error: 'invalid_request', error_description: 'cursor: is not a cursor this server issued' });
});
