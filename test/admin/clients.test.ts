// The admin API's client, secret and token calls (contract "Admin" table), with exact bodies.
import t from 'tap';
import { ADMIN_TOKEN, build } from '../helper.js';
import { clientKey, type ClientKey } from '../fixtures/assertion.js';
import { INVALID_CLIENT, accessToken, admin, adminApp, introspect, jwsPayload, tokenBasic, tokenPost, tokenPrivateKeyJwt } from './support.js';

const b = await build(t);
const api = adminApp(b);
const iso = (ms: number): string => new Date(ms).toISOString();
const now = (): number => b.clock.now();
const nowSeconds = (): number => Math.floor(now() / 1000);
const API = 'https://api.example.com';
const SECRET_SHAPE = /^tmsec_[0-9A-Za-z]{49}$/;

interface SecretView {
  secret_id: string;
  prefix: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  status: 'active' | 'expired';
}
interface ClientView {
  client_id: string;
  client_name: string | null;
  status: 'active' | 'disabled';
  token_endpoint_auth_method: string;
  token_endpoint_auth_signing_alg: string | null;
  access_token_signing_alg: string | null;
  grant_types: string[];
  scope: string;
  audience: string[];
  access_token_ttl: number | null;
  jwks: { keys: Record<string, unknown>[] } | null;
  jwks_uri: string | null;
  created_at: string;
  updated_at: string;
  last_used_at: string | null;
  secrets: SecretView[];
  token_quota: Record<string, unknown> | null;
  effective_token_quota: Record<string, unknown> | null;
  org_id: string | null;
}
interface Created {
  client: ClientView;
  client_secret: string | null;
  secret_id: string | null;
}

/** The view of a client created now with these fields (what every read must return). */
function expectedView(clientId: string, fields: Partial<ClientView>, secret?: { id: string; value: string; expiresAt?: number | null }): ClientView {
  const at = iso(now());
  return {
    client_id: clientId,
    client_name: null,
    status: 'active',
    token_endpoint_auth_method: 'client_secret_basic',
    token_endpoint_auth_signing_alg: null,
    access_token_signing_alg: null,
    grant_types: ['client_credentials'],
    scope: '',
    audience: [],
    access_token_ttl: null,
    jwks: null,
    jwks_uri: null,
    created_at: at,
    updated_at: at,
    last_used_at: null,
    secrets: secret
      ? [{ secret_id: secret.id, prefix: secret.value.slice(0, 12), created_at: at, expires_at: secret.expiresAt ? iso(secret.expiresAt) : null, last_used_at: null, status: 'active' }]
      : [],
    token_quota: null,
    effective_token_quota: null,
    org_id: null,
    ...fields,
  };
}

async function create(body: Record<string, unknown>): Promise<Created> {
  const res = await admin(api, 'POST', '/admin/v1/clients', body);
  if (res.statusCode !== 201) throw new Error(`create failed: ${res.statusCode} ${res.body}`);
  return res.json() as Created;
}
async function read(clientId: string): Promise<ClientView> {
  const res = await admin(api, 'GET', `/admin/v1/clients/${clientId}`);
  if (res.statusCode !== 200) throw new Error(`read failed: ${res.statusCode} ${res.body}`);
  return res.json() as ClientView;
}
const patch = (clientId: string, body: unknown) => admin(api, 'PATCH', `/admin/v1/clients/${clientId}`, body);
const rotate = (clientId: string, body: unknown = {}) => admin(api, 'POST', `/admin/v1/clients/${clientId}/secrets`, body);
const secretOf = (c: Created): string => c.client_secret ?? '';

const tokenWithKey = (clientId: string, key: ClientKey) => tokenPrivateKeyJwt(b.app, clientId, key, nowSeconds());

t.test('list: limit + next_cursor pagination, filters, bad cursor', async (t) => {
  const key = await clientKey();
  const made: Created[] = [];
  const specs: Record<string, unknown>[] = [
    { client_name: 'alpha-1', scope: 'api:read' },
    { client_name: 'alpha-2', token_endpoint_auth_method: 'client_secret_post' },
    { client_name: 'beta-1' },
    { client_name: 'alpha-3', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [key.publicJwk] } },
    { client_name: 'alpha%x' },
  ];
  for (const spec of specs) {
    made.push(await create(spec));
    b.clock.advance(1_000); // distinct created_at: the list order is creation order
  }
  const ids = made.map((m) => m.client.client_id);
  const [a1, a2, b1, a3, pct] = ids;
  t.equal((await patch(b1 ?? '', { status: 'disabled' })).statusCode, 200);

  const page = async (query: string) => {
    const res = await admin(api, 'GET', `/admin/v1/clients?${query}`);
    t.equal(res.statusCode, 200, query);
    return res.json() as { items: ClientView[]; next_cursor: string | null };
  };
  const p1 = await page('limit=2');
  t.same(
    p1.items.map((c) => c.client_id),
    [a1, a2],
  );
  t.type(p1.next_cursor, 'string');
  const p2 = await page(`limit=2&cursor=${encodeURIComponent(p1.next_cursor ?? '')}`);
  t.same(
    p2.items.map((c) => c.client_id),
    [b1, a3],
  );
  const p3 = await page(`limit=2&cursor=${encodeURIComponent(p2.next_cursor ?? '')}`);
  t.same(
    p3.items.map((c) => c.client_id),
    [pct],
  );
  t.equal(p3.next_cursor, null, 'the last page has no cursor');
  const exact = await page('limit=5');
  t.equal(exact.items.length, 5);
  t.equal(exact.next_cursor, null, 'exactly limit items left: no further page');

  // Items are the same views a read returns, and never a secret.
  for (const item of [...p1.items, ...p2.items, ...p3.items]) t.same(item, await read(item.client_id), `list item = read for ${item.client_name}`);
  const listed = JSON.stringify([p1, p2, p3]);
  for (const m of made) if (m.client_secret) t.notOk(listed.includes(m.client_secret), 'no secret in the list');

  t.same(
    (await page('status=disabled')).items.map((c) => c.client_id),
    [b1],
  );
  t.same(
    (await page('status=active')).items.map((c) => c.client_id),
    [a1, a2, a3, pct],
  );
  t.same(
    (await page('auth_method=client_secret_post')).items.map((c) => c.client_id),
    [a2],
  );
  t.same(
    (await page('auth_method=private_key_jwt')).items.map((c) => c.client_id),
    [a3],
  );
  t.same(
    (await page('name_prefix=alpha-')).items.map((c) => c.client_id),
    [a1, a2, a3],
  );
  t.same(
    (await page('name_prefix=alpha-&auth_method=client_secret_basic')).items.map((c) => c.client_id),
    [a1],
  );
  t.same(
    (await page(`name_prefix=${encodeURIComponent('alpha%')}`)).items.map((c) => c.client_id),
    [pct],
    '% is literal, not a LIKE wildcard',
  );
  t.same((await page('name_prefix=al_ha')).items, [], '_ is literal, not a LIKE wildcard');
  const f1 = await page('name_prefix=alpha-&limit=2');
  t.same(
    f1.items.map((c) => c.client_id),
    [a1, a2],
  );
  t.same(
    (await page(`name_prefix=alpha-&limit=2&cursor=${encodeURIComponent(f1.next_cursor ?? '')}`)).items.map((c) => c.client_id),
    [a3],
    'filters hold across pages',
  );

  for (const cursor of ['garbage', Buffer.from('[1,2]').toString('base64url'), Buffer.from('{"a":1}').toString('base64url')]) {
    const res = await admin(api, 'GET', `/admin/v1/clients?cursor=${cursor}`);
    t.equal(res.statusCode, 400, `cursor ${cursor}`);
    t.same(res.json(), { error: 'invalid_request', error_description: 'cursor: is not a cursor this server issued' });
  }
  for (const bad of ['limit=0', 'limit=501', 'limit=x']) {
    const res = await admin(api, 'GET', `/admin/v1/clients?${bad}`);
    t.equal(res.statusCode, 400, bad);
    t.match(res.json(), { error: 'invalid_request', error_description: /^limit: / });
  }
  const badStatus = await admin(api, 'GET', '/admin/v1/clients?status=deleted');
  t.equal(badStatus.statusCode, 400);
  t.match(badStatus.json(), { error: 'invalid_request', error_description: /^status: / });
});

t.test('create: 201 with the secret shown once, never again in read or list', async (t) => {
  const res = await admin(api, 'POST', '/admin/v1/clients', { client_name: 'svc', scope: 'api:read api:write', audience: [API], access_token_ttl: 900 });
  t.equal(res.statusCode, 201);
  t.match(res.headers['content-type'], /^application\/json/);
  const body = res.json() as Created;
  t.match(body.client_secret, SECRET_SHAPE);
  t.match(body.secret_id, /^sec_[0-9A-Za-z]{16}$/);
  t.match(body.client.client_id, /^tmc_[0-9A-Za-z]{22}$/);
  const expected = expectedView(
    body.client.client_id,
    { client_name: 'svc', scope: 'api:read api:write', audience: [API], access_token_ttl: 900 },
    { id: body.secret_id ?? '', value: secretOf(body) },
  );
  t.same(body, { client: expected, client_secret: body.client_secret, secret_id: body.secret_id });
  const again = await admin(api, 'GET', `/admin/v1/clients/${body.client.client_id}`);
  t.equal(again.statusCode, 200);
  t.same(again.json(), expected);
  t.notOk(again.body.includes(secretOf(body)), 'read never shows the secret');
  t.notOk(/client_secret"/.test(again.body), 'no client_secret member');
  const listed = await admin(api, 'GET', '/admin/v1/clients?limit=500');
  t.notOk(listed.body.includes(secretOf(body)), 'list never shows the secret');
  const tok = await tokenBasic(b.app, body.client.client_id, secretOf(body));
  t.equal(tok.statusCode, 200);
  t.match(tok.json(), { token_type: 'Bearer', expires_in: 900, scope: 'api:read api:write' });
  t.equal(jwsPayload((tok.json() as { access_token: string }).access_token).aud, API);

  const key = await clientKey();
  const pk = await admin(api, 'POST', '/admin/v1/clients', { client_name: 'pk', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [key.publicJwk] } });
  t.equal(pk.statusCode, 201);
  const pkBody = pk.json() as Created;
  t.same(pkBody, {
    client: expectedView(pkBody.client.client_id, { client_name: 'pk', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [key.publicJwk] } }),
    client_secret: null,
    secret_id: null,
  });

  const bad = await admin(api, 'POST', '/admin/v1/clients', { token_endpoint_auth_method: 'none' });
  t.equal(bad.statusCode, 400);
  t.same(bad.json(), { error: 'invalid_request', error_description: 'token_endpoint_auth_method: must be one of client_secret_basic, client_secret_post, private_key_jwt' });
});

t.test('read: an unknown client → 404 not_found', async (t) => {
  const res = await admin(api, 'GET', '/admin/v1/clients/tmc_doesnotexist0000000000');
  t.equal(res.statusCode, 404);
  t.match(res.headers['content-type'], /^application\/json/);
  t.same(res.json(), { error: 'not_found', error_description: 'client_id: no such client' });
  const patched = await patch('tmc_doesnotexist0000000000', { client_name: 'x' });
  t.equal(patched.statusCode, 404);
  t.same(patched.json(), { error: 'not_found', error_description: 'client_id: no such client' });
});

t.test('PATCH each field', async (t) => {
  const c = await create({ client_name: 'orig', scope: 'api:read api:write', audience: [API] });
  const id = c.client.client_id;
  const secret = secretOf(c);
  let view = c.client;
  const apply = async (body: Record<string, unknown>, change: Partial<ClientView>, label: string) => {
    b.clock.advance(1_000);
    const res = await patch(id, body);
    t.equal(res.statusCode, 200, label);
    view = { ...view, ...change, updated_at: iso(now()) };
    t.same(res.json(), view, `${label}: whole body`);
    t.same(await read(id), view, `${label}: read agrees`);
  };

  await apply({ client_name: 'renamed' }, { client_name: 'renamed' }, 'client_name');
  await apply({ client_name: null }, { client_name: null }, 'client_name cleared');

  await apply({ scope: 'api:read' }, { scope: 'api:read' }, 'scope');
  const narrowed = await tokenBasic(b.app, id, secret, { scope: 'api:write' });
  t.equal(narrowed.statusCode, 400);
  t.match(narrowed.json(), { error: 'invalid_scope' });
  t.match((await tokenBasic(b.app, id, secret)).json(), { scope: 'api:read' }, 'default scope is the new one');

  await apply({ audience: ['https://b.example', 'https://c.example'] }, { audience: ['https://b.example', 'https://c.example'] }, 'audience');
  t.equal(jwsPayload(await accessToken(tokenBasic(b.app, id, secret))).aud, 'https://b.example', 'default audience is the first');
  t.equal(jwsPayload(await accessToken(tokenBasic(b.app, id, secret, { resource: 'https://c.example' }))).aud, 'https://c.example');
  const oldAud = await tokenBasic(b.app, id, secret, { resource: API });
  t.equal(oldAud.statusCode, 400);
  t.match(oldAud.json(), { error: 'invalid_target' });

  await apply({ access_token_ttl: 120 }, { access_token_ttl: 120 }, 'access_token_ttl');
  t.match((await tokenBasic(b.app, id, secret)).json(), { expires_in: 120 });

  await apply({ token_endpoint_auth_method: 'client_secret_post' }, { token_endpoint_auth_method: 'client_secret_post' }, 'auth method basic → post');
  t.equal((await tokenPost(b.app, id, secret)).statusCode, 200, 'the old secret works with post');
  const viaBasic = await tokenBasic(b.app, id, secret);
  t.equal(viaBasic.statusCode, 401, 'basic is refused now');
  t.same(viaBasic.json(), INVALID_CLIENT);
  t.same(
    (await read(id)).secrets.map((s) => s.secret_id),
    [c.secret_id],
    'no new secret was issued',
  );

  await apply({ status: 'disabled' }, { status: 'disabled' }, 'status disabled');
  t.equal((await tokenPost(b.app, id, secret)).statusCode, 401);
  await apply({ status: 'active' }, { status: 'active' }, 'status active');
  t.equal((await tokenPost(b.app, id, secret)).statusCode, 200);
});

// ClientPatchBody declares access_token_ttl, access_token_signing_alg and jwks_uri as `T | null`:
// null clears the field back to the deployment default.
t.test('PATCH null clears a nullable field (access_token_ttl, access_token_signing_alg)', async (t) => {
  const c = await create({ client_name: 'nullable', access_token_ttl: 120, access_token_signing_alg: 'ES256' });
  const id = c.client.client_id;
  t.match((await tokenBasic(b.app, id, secretOf(c))).json(), { expires_in: 120 });
  b.clock.advance(1_000);
  const ttl = await patch(id, { access_token_ttl: null });
  t.equal(ttl.statusCode, 200, 'access_token_ttl: null is accepted');
  t.same(ttl.json(), { ...c.client, access_token_ttl: null, access_token_signing_alg: 'ES256', updated_at: iso(now()) });
  t.match((await tokenBasic(b.app, id, secretOf(c))).json(), { expires_in: 3600 }, 'back to ACCESS_TOKEN_TTL');
  const alg = await patch(id, { access_token_signing_alg: null });
  t.equal(alg.statusCode, 200, 'access_token_signing_alg: null is accepted');
  t.match(alg.json(), { access_token_signing_alg: null });
});

t.test('PATCH jwks of a private_key_jwt client: the new key authenticates, the old one no longer', async (t) => {
  const k1 = await clientKey();
  const k2 = await clientKey();
  const c = await create({ client_name: 'pk', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [k1.publicJwk] } });
  const id = c.client.client_id;
  t.equal((await tokenWithKey(id, k1)).statusCode, 200);
  b.clock.advance(1_000);
  const res = await patch(id, { jwks: { keys: [k2.publicJwk] } });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { ...c.client, jwks: { keys: [k2.publicJwk] }, updated_at: iso(now()) });
  t.equal((await tokenWithKey(id, k2)).statusCode, 200);
  const old = await tokenWithKey(id, k1);
  t.equal(old.statusCode, 401);
  t.same(old.json(), INVALID_CLIENT);
  const withD = await patch(id, { jwks: { keys: [{ ...k2.publicJwk, d: 'AAAA' }] } });
  t.equal(withD.statusCode, 400, 'a private key is refused');
  t.match(withD.json(), { error: 'invalid_request', error_description: /^jwks: / });
});

t.test('PATCH validation: unknown field, access_token_ttl 0, empty body', async (t) => {
  const c = await create({ client_name: 'v' });
  const id = c.client.client_id;
  const unknown = await patch(id, { client_name: 'w', favourite_colour: 'blue' });
  t.equal(unknown.statusCode, 400, 'an unknown field is refused, not silently dropped');
  t.match(unknown.json(), { error: 'invalid_request', error_description: /favourite_colour/ });
  t.equal((await read(id)).client_name, 'v', 'nothing was changed');
  const onlyUnknown = await patch(id, { favourite_colour: 'blue' });
  t.equal(onlyUnknown.statusCode, 400);
  t.match(onlyUnknown.json(), { error: 'invalid_request', error_description: /favourite_colour/ });

  const ttl0 = await patch(id, { access_token_ttl: 0 });
  t.equal(ttl0.statusCode, 400);
  t.same(ttl0.json(), { error: 'invalid_request', error_description: 'access_token_ttl: must be an integer number of seconds between 1 and 86400' });
  const ttlBig = await patch(id, { access_token_ttl: 86401 });
  t.equal(ttlBig.statusCode, 400);
  t.match(ttlBig.json(), { error: 'invalid_request', error_description: /^access_token_ttl: / });

  const empty = await patch(id, {});
  t.equal(empty.statusCode, 400);
  t.match(empty.json(), { error: 'invalid_request', error_description: String });
  const badStatus = await patch(id, { status: 'deleted' });
  t.equal(badStatus.statusCode, 400);
  t.match(badStatus.json(), { error: 'invalid_request', error_description: /^status: / });
  const notJson = await api.inject({
    method: 'PATCH',
    url: `/admin/v1/clients/${id}`,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    payload: '{"client_name":',
  });
  t.equal(notJson.statusCode, 400);
  t.match(notJson.json(), { error: 'invalid_request' });
  t.same(await read(id), c.client, 'the client is unchanged after every refused PATCH');
});

t.test('disable → invalid_client and earlier tokens inactive; enable → works again', async (t) => {
  const c = await create({ client_name: 'd', scope: 'api:read', audience: [API] });
  const id = c.client.client_id;
  const earlier = await accessToken(tokenBasic(b.app, id, secretOf(c)));
  t.match(await introspect(b.app, earlier), { active: true, client_id: id });
  t.equal((await patch(id, { status: 'disabled' })).statusCode, 200);
  const refused = await tokenBasic(b.app, id, secretOf(c));
  t.equal(refused.statusCode, 401);
  t.equal(refused.headers['www-authenticate'], 'Basic realm="http://tokenmill.test"');
  t.same(refused.json(), INVALID_CLIENT);
  t.same(await introspect(b.app, earlier), { active: false });
  t.equal((await patch(id, { status: 'active' })).statusCode, 200);
  t.equal((await tokenBasic(b.app, id, secretOf(c))).statusCode, 200);
});

t.test('DELETE → 204; tokens refused, earlier token inactive, revocation feed entry; again → 404', async (t) => {
  const c = await create({ client_name: 'gone', scope: 'api:read', audience: [API] });
  const id = c.client.client_id;
  const earlier = await accessToken(tokenBasic(b.app, id, secretOf(c)));
  const feedBefore = await b.app.inject({ method: 'GET', url: '/oauth2/revocations', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  t.equal(feedBefore.statusCode, 200);
  const cursor = (feedBefore.json() as { next_cursor: string }).next_cursor;

  const del = await admin(api, 'DELETE', `/admin/v1/clients/${id}`);
  t.equal(del.statusCode, 204);
  t.equal(del.body, '');
  const refused = await tokenBasic(b.app, id, secretOf(c));
  t.equal(refused.statusCode, 401);
  t.same(refused.json(), INVALID_CLIENT);
  t.same(await introspect(b.app, earlier), { active: false });
  const feed = await b.app.inject({ method: 'GET', url: `/oauth2/revocations?since=${encodeURIComponent(cursor)}`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  t.equal(feed.statusCode, 200);
  const revokedBefore = nowSeconds() + 1;
  t.match(feed.json(), { tokens: [], clients: [{ client_id: id, revoked_before: revokedBefore, exp: revokedBefore + 86400 + 60 }], snapshot: false });
  t.equal((feed.json() as { clients: unknown[] }).clients.length, 1);

  const read404 = await admin(api, 'GET', `/admin/v1/clients/${id}`);
  t.equal(read404.statusCode, 404);
  const again = await admin(api, 'DELETE', `/admin/v1/clients/${id}`);
  t.equal(again.statusCode, 404);
  t.same(again.json(), { error: 'not_found', error_description: 'client_id: no such client' });
});

t.test('secrets: lifetimes (presets, never, seconds) are exact from the clock', async (t) => {
  const c = await create({ client_name: 's' });
  const id = c.client.client_id;
  const cases: [unknown, number | null][] = [
    ['30d', 30 * 86400_000],
    ['7d', 7 * 86400_000],
    ['1y', 365 * 86400_000],
    ['never', null],
    [3600, 3600_000],
    [1, 1000],
  ];
  let previous = secretOf(c);
  for (const [expiresIn, ms] of cases) {
    b.clock.advance(1_000);
    const res = await rotate(id, { expires_in: expiresIn });
    t.equal(res.statusCode, 201, `expires_in ${String(expiresIn)}`);
    const body = res.json() as { secret_id: string; client_secret: string; expires_at: string | null; prefix: string };
    t.match(body.client_secret, SECRET_SHAPE);
    t.same(
      body,
      { secret_id: body.secret_id, client_secret: body.client_secret, expires_at: ms === null ? null : iso(now() + ms), prefix: body.client_secret.slice(0, 12) },
      `expires_in ${String(expiresIn)}: body`,
    );
    const viewed = (await read(id)).secrets.find((s) => s.secret_id === body.secret_id);
    t.same(viewed, {
      secret_id: body.secret_id,
      prefix: body.client_secret.slice(0, 12),
      created_at: iso(now()),
      expires_at: ms === null ? null : iso(now() + ms),
      last_used_at: null,
      status: 'active',
    });
    t.equal((await tokenBasic(b.app, id, body.client_secret)).statusCode, 200, 'the new secret works');
    t.equal((await tokenBasic(b.app, id, previous)).statusCode, 401, 'the default previous_secret_ttl (0) ends the old one at once');
    previous = body.client_secret;
  }
  // The 1-second secret expires with the clock.
  b.clock.advance(1_000);
  t.equal((await tokenBasic(b.app, id, previous)).statusCode, 401, 'a secret past expires_in is refused');
  for (const bad of [{ expires_in: '45d' }, { expires_in: 0 }, { expires_in: -5 }, { previous_secret_ttl: -1 }, { previous_secret_ttl: 30 * 86400 + 1 }]) {
    const res = await rotate(id, bad);
    t.equal(res.statusCode, 400, JSON.stringify(bad));
    t.match(res.json(), { error: 'invalid_request', error_description: new RegExp(`^${Object.keys(bad)[0]}`) });
  }
  const unknown = await rotate('tmc_doesnotexist0000000000');
  t.equal(unknown.statusCode, 404);
  t.same(unknown.json(), { error: 'not_found', error_description: 'client_id: no such client' });
});

t.test('secrets: previous_secret_ttl 0 ends the old secret at once', async (t) => {
  const c = await create({ client_name: 'r0' });
  const id = c.client.client_id;
  const res = await rotate(id, { previous_secret_ttl: 0 });
  t.equal(res.statusCode, 201);
  const fresh = (res.json() as { client_secret: string }).client_secret;
  const old = await tokenBasic(b.app, id, secretOf(c));
  t.equal(old.statusCode, 401);
  t.same(old.json(), INVALID_CLIENT);
  t.equal((await tokenBasic(b.app, id, fresh)).statusCode, 200);
  const oldView = (await read(id)).secrets.find((s) => s.secret_id === c.secret_id);
  t.match(oldView, { expires_at: iso(now()), status: 'expired' });
});

t.test('secrets: previous_secret_ttl 600 keeps both until the grace period ends; expired = wrong, byte for byte', async (t) => {
  const c = await create({ client_name: 'r600' });
  const id = c.client.client_id;
  const rotatedAt = now();
  const res = await rotate(id, { previous_secret_ttl: 600 });
  t.equal(res.statusCode, 201);
  const fresh = (res.json() as { client_secret: string }).client_secret;
  t.equal((await tokenBasic(b.app, id, secretOf(c))).statusCode, 200, 'old works during the grace period');
  t.equal((await tokenBasic(b.app, id, fresh)).statusCode, 200, 'new works');
  t.match(
    (await read(id)).secrets.find((s) => s.secret_id === c.secret_id),
    { expires_at: iso(rotatedAt + 600_000), status: 'active' },
  );
  b.clock.advance(599_000);
  t.equal((await tokenBasic(b.app, id, secretOf(c))).statusCode, 200, 'old still works at +599 s');
  b.clock.advance(2_000); // +601 s
  const expired = await tokenBasic(b.app, id, secretOf(c));
  t.equal(expired.statusCode, 401, 'old refused after the grace period');
  t.equal((await tokenBasic(b.app, id, fresh)).statusCode, 200, 'new still works');
  t.match(
    (await read(id)).secrets.find((s) => s.secret_id === c.secret_id),
    { status: 'expired' },
  );

  const wrong = await tokenBasic(b.app, id, `tmsec_${'x'.repeat(49)}`);
  t.equal(wrong.statusCode, 401);
  t.equal(expired.body, wrong.body, 'same body');
  const headers = (h: Record<string, unknown>) => Object.fromEntries(Object.entries(h).filter(([k]) => k !== 'date'));
  t.same(headers(expired.headers), headers(wrong.headers), 'same headers');
  t.same(expired.json(), INVALID_CLIENT);
  t.equal(expired.headers['www-authenticate'], 'Basic realm="http://tokenmill.test"');
});

t.test('secrets: a private_key_jwt client has none → 409 conflict', async (t) => {
  const key = await clientKey();
  const c = await create({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [key.publicJwk] } });
  const res = await rotate(c.client.client_id);
  t.equal(res.statusCode, 409);
  t.same(res.json(), { error: 'conflict', error_description: 'the client authenticates with private_key_jwt; it has no secrets' });
  t.same((await read(c.client.client_id)).secrets, []);
});

t.test('secrets: DELETE one → 204 and it stops working; unknown → 404', async (t) => {
  const c = await create({ client_name: 'del' });
  const id = c.client.client_id;
  const second = (await rotate(id, { previous_secret_ttl: 3600 })).json() as { secret_id: string; client_secret: string };
  t.equal((await tokenBasic(b.app, id, secretOf(c))).statusCode, 200);
  const del = await admin(api, 'DELETE', `/admin/v1/clients/${id}/secrets/${c.secret_id}`);
  t.equal(del.statusCode, 204);
  t.equal(del.body, '');
  t.equal((await tokenBasic(b.app, id, secretOf(c))).statusCode, 401, 'the deleted secret stops working');
  t.equal((await tokenBasic(b.app, id, second.client_secret)).statusCode, 200, 'the other one still works');
  t.same(
    (await read(id)).secrets.map((s) => s.secret_id),
    [second.secret_id],
  );
  const again = await admin(api, 'DELETE', `/admin/v1/clients/${id}/secrets/${c.secret_id}`);
  t.equal(again.statusCode, 404);
  t.same(again.json(), { error: 'not_found', error_description: 'secret_id: no such secret' });
  const otherClient = await create({ client_name: 'other' });
  const cross = await admin(api, 'DELETE', `/admin/v1/clients/${otherClient.client.client_id}/secrets/${second.secret_id}`);
  t.equal(cross.statusCode, 404, "another client's secret is not reachable through this one");
  t.equal((await tokenBasic(b.app, id, second.client_secret)).statusCode, 200);
  const noClient = await admin(api, 'DELETE', `/admin/v1/clients/tmc_doesnotexist0000000000/secrets/${second.secret_id}`);
  t.equal(noClient.statusCode, 404);
  t.same(noClient.json(), { error: 'not_found', error_description: 'client_id: no such client' });
});

t.test('secrets: six live secrets at once all work', async (t) => {
  const c = await create({ client_name: 'six' });
  const id = c.client.client_id;
  const secrets = [secretOf(c)];
  for (let i = 0; i < 5; i++) {
    b.clock.advance(1_000);
    const res = await rotate(id, { previous_secret_ttl: 86400 });
    t.equal(res.statusCode, 201);
    secrets.push((res.json() as { client_secret: string }).client_secret);
  }
  t.equal(new Set(secrets).size, 6);
  for (const [i, s] of secrets.entries()) t.equal((await tokenBasic(b.app, id, s)).statusCode, 200, `secret ${i + 1}`);
  const view = await read(id);
  t.equal(view.secrets.length, 6);
  t.ok(view.secrets.every((s) => s.status === 'active'));
});

t.test('last_used_at appears once the batched usage is flushed', async (t) => {
  const c = await create({ client_name: 'used' });
  const id = c.client.client_id;
  t.equal((await read(id)).last_used_at, null);
  b.clock.advance(5_000);
  const usedAt = iso(now());
  t.equal((await tokenBasic(b.app, id, secretOf(c))).statusCode, 200);
  await b.rt.flushSecretUsage();
  const view = await read(id);
  t.equal(view.last_used_at, usedAt);
  t.match(view.secrets, [{ secret_id: c.secret_id, last_used_at: usedAt }]);
  b.clock.advance(5_000);
  t.equal((await tokenBasic(b.app, id, secretOf(c))).statusCode, 200);
  await b.rt.flushSecretUsage();
  t.equal((await read(id)).last_used_at, iso(now()), 'moves forward on later use');
});

t.test('revoke-tokens → 200 {client_id, revoked_before}; every earlier token inactive', async (t) => {
  const c = await create({ client_name: 'rt', scope: 'api:read', audience: [API] });
  const id = c.client.client_id;
  const earlier = [await accessToken(tokenBasic(b.app, id, secretOf(c)))];
  b.clock.advance(30_000);
  earlier.push(await accessToken(tokenBasic(b.app, id, secretOf(c))));
  const res = await admin(api, 'POST', `/admin/v1/clients/${id}/revoke-tokens`);
  t.equal(res.statusCode, 200);
  t.same(res.json(), { client_id: id, revoked_before: nowSeconds() + 1 });
  for (const tok of earlier) t.same(await introspect(b.app, tok), { active: false });
  b.clock.advance(1_000);
  const later = await accessToken(tokenBasic(b.app, id, secretOf(c)));
  t.match(await introspect(b.app, later), { active: true }, 'tokens issued afterwards are unaffected');
  const unknown = await admin(api, 'POST', '/admin/v1/clients/tmc_doesnotexist0000000000/revoke-tokens');
  t.equal(unknown.statusCode, 404);
  t.same(unknown.json(), { error: 'not_found', error_description: 'client_id: no such client' });
});

t.test('tokens/revoke: {token} and {jti, exp} → 200 and inactive; garbage → 400 naming token', async (t) => {
  const c = await create({ client_name: 'tr', scope: 'api:read', audience: [API] });
  const id = c.client.client_id;
  const byToken = await accessToken(tokenBasic(b.app, id, secretOf(c)));
  const claims = jwsPayload(byToken);
  const res = await admin(api, 'POST', '/admin/v1/tokens/revoke', { token: byToken });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { jti: claims.jti, exp: claims.exp, revoked: true });
  t.same(await introspect(b.app, byToken), { active: false });

  const byJti = await accessToken(tokenBasic(b.app, id, secretOf(c)));
  const c2 = jwsPayload(byJti);
  t.match(await introspect(b.app, byJti), { active: true });
  const res2 = await admin(api, 'POST', '/admin/v1/tokens/revoke', { jti: c2.jti, exp: c2.exp });
  t.equal(res2.statusCode, 200, '{jti, exp} is accepted');
  t.same(res2.json(), { jti: c2.jti, exp: c2.exp, revoked: true });
  t.same(await introspect(b.app, byJti), { active: false });

  const byJtiWithClient = await accessToken(tokenBasic(b.app, id, secretOf(c)));
  const c3 = jwsPayload(byJtiWithClient);
  const res3 = await admin(api, 'POST', '/admin/v1/tokens/revoke', { jti: c3.jti, exp: c3.exp, client_id: id });
  t.equal(res3.statusCode, 200, '{jti, exp, client_id} is accepted');
  t.same(await introspect(b.app, byJtiWithClient), { active: false });

  const garbage = await admin(api, 'POST', '/admin/v1/tokens/revoke', { token: 'not.a.token' });
  t.equal(garbage.statusCode, 400);
  t.same(garbage.json(), { error: 'invalid_request', error_description: 'token: is not an access token issued by this server' });
  const neither = await admin(api, 'POST', '/admin/v1/tokens/revoke', { exp: 1 });
  t.equal(neither.statusCode, 400);
  t.match(neither.json(), { error: 'invalid_request' });
});
