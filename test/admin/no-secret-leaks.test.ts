// No plaintext secret, access token, registration access token or ADMIN_TOKEN ever leaves the request
// that carried it: not in admin list/read bodies, log lines, audit rows or any database table
// (contract "Admin": never a secret; "Operations": never a secret or a token in a log line; REQ-O1).
import t, { type Test } from 'tap';
import { ADMIN_TOKEN, ISSUER, basic, build, form, register } from '../helper.js';
import { clientKey } from '../fixtures/assertion.js';
import { accessToken, admin, adminApp, settle, tokenBasic, tokenPost, tokenPrivateKeyJwt } from './support.js';

const b = await build(t);
const api = adminApp(b);
const nowSeconds = (): number => Math.floor(b.clock.now() / 1000);

const secrets: string[] = [];
const tokens: string[] = [];
const registrationTokens: string[] = [];
/** Bodies of every list and read response. */
const bodies: string[] = [];

const keep = <T extends string | null | undefined>(list: string[], v: T): T => {
  if (typeof v === 'string' && v) list.push(v);
  return v;
};
const readAll = async (t: Test, token = ADMIN_TOKEN) => {
  const list = await admin(api, 'GET', '/admin/v1/clients?limit=500', undefined, token);
  t.equal(list.statusCode, 200);
  bodies.push(list.body);
  for (const c of (list.json() as { items: { client_id: string }[] }).items) {
    const one = await admin(api, 'GET', `/admin/v1/clients/${c.client_id}`, undefined, token);
    t.equal(one.statusCode, 200);
    bodies.push(one.body);
  }
  const audit = await admin(api, 'GET', '/admin/v1/audit?limit=500', undefined, token);
  t.equal(audit.statusCode, 200);
  bodies.push(audit.body);
  const keys = await admin(api, 'GET', '/admin/v1/keys', undefined, token);
  bodies.push(keys.body);
};

t.test('exercise: registration, admin clients, rotation, tokens, introspection, revocation', async (t) => {
  // RFC 7591 registration and RFC 7592 management.
  const reg = await register(b.app, { client_name: 'registered', scope: 'api:read tokenmill:admin', audience: [ISSUER, 'https://api.example.com'] });
  keep(secrets, reg.client_secret);
  keep(registrationTokens, reg.registration_access_token);
  const regRead = await b.app.inject({ method: 'GET', url: `/oauth2/register/${reg.client_id}`, headers: { authorization: `Bearer ${reg.registration_access_token}` } });
  t.equal(regRead.statusCode, 200);
  const regPut = await b.app.inject({
    method: 'PUT',
    url: `/oauth2/register/${reg.client_id}`,
    headers: { authorization: `Bearer ${reg.registration_access_token}`, 'content-type': 'application/json' },
    payload: { client_id: reg.client_id, client_secret: reg.client_secret, client_name: 'registered-2', scope: 'api:read tokenmill:admin', audience: [ISSUER, 'https://api.example.com'] },
  });
  t.equal(regPut.statusCode, 200);
  // RFC 7592 §2.2: the PUT answered with a new registration access token; then an admin rotation.
  keep(registrationTokens, (regPut.json() as { registration_access_token: string }).registration_access_token);
  const ratRotate = await admin(api, 'POST', `/admin/v1/clients/${reg.client_id}/registration-token`);
  t.equal(ratRotate.statusCode, 201);
  const latestRat = keep(registrationTokens, (ratRotate.json() as { registration_access_token: string }).registration_access_token);
  // A wrong initial access token that is in fact a client secret.
  const badIat = await b.app.inject({ method: 'POST', url: '/oauth2/register', headers: { authorization: `Bearer ${reg.client_secret}`, 'content-type': 'application/json' }, payload: {} });
  t.equal(badIat.statusCode, 401);

  // Admin-created clients of every method.
  const created = async (body: Record<string, unknown>) => {
    const res = await admin(api, 'POST', '/admin/v1/clients', body);
    t.equal(res.statusCode, 201);
    const out = res.json() as { client: { client_id: string }; client_secret: string | null };
    keep(secrets, out.client_secret);
    return out;
  };
  const basicClient = await created({ client_name: 'basic', scope: 'api:read', audience: ['https://api.example.com'] });
  const postClient = await created({ client_name: 'post', token_endpoint_auth_method: 'client_secret_post', scope: 'api:read', audience: ['https://api.example.com'] });
  const key = await clientKey();
  const pkClient = await created({ client_name: 'pk', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [key.publicJwk] }, scope: 'api:read', audience: ['https://api.example.com'] });

  // Rotations: one with a grace period, one immediate.
  const r1 = await admin(api, 'POST', `/admin/v1/clients/${basicClient.client.client_id}/secrets`, { previous_secret_ttl: 600, expires_in: '30d' });
  t.equal(r1.statusCode, 201);
  const basicNew = keep(secrets, (r1.json() as { client_secret: string }).client_secret);
  t.ok(r1.body.includes(basicNew), 'control: the search finds a secret where it is shown (once)');
  const r2 = await admin(api, 'POST', `/admin/v1/clients/${postClient.client.client_id}/secrets`, {});
  t.equal(r2.statusCode, 201);
  const postNew = keep(secrets, (r2.json() as { client_secret: string }).client_secret);

  // Tokens by every method, and failures carrying real secrets.
  keep(tokens, await accessToken(tokenBasic(b.app, basicClient.client.client_id, basicClient.client_secret ?? '')));
  keep(tokens, await accessToken(tokenBasic(b.app, basicClient.client.client_id, basicNew)));
  keep(tokens, await accessToken(tokenPost(b.app, postClient.client.client_id, postNew)));
  t.equal((await tokenPost(b.app, postClient.client.client_id, postClient.client_secret ?? '')).statusCode, 401, 'rotated-out post secret');
  t.equal((await tokenBasic(b.app, postClient.client.client_id, postNew)).statusCode, 401, 'wrong method with a real secret');
  t.equal((await tokenBasic(b.app, 'tmc_unknown000000000000000', basicNew)).statusCode, 401, 'a real secret for an unknown client');
  keep(tokens, await accessToken(tokenPrivateKeyJwt(b.app, pkClient.client.client_id, key, nowSeconds())));
  const adminScoped = keep(tokens, await accessToken(tokenBasic(b.app, reg.client_id, reg.client_secret ?? '', { scope: 'tokenmill:admin' })));
  const otherScoped = keep(tokens, await accessToken(tokenBasic(b.app, reg.client_id, reg.client_secret ?? '', { scope: 'api:read' })));

  // Introspection (admin and client callers), RFC 7009 revocation, admin token revocation.
  for (const tok of tokens) {
    const res = await b.app.inject({
      method: 'POST',
      url: '/oauth2/introspect',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ token: tok }),
    });
    t.equal(res.statusCode, 200);
  }
  for (const url of ['/oauth2/introspect', '/oauth2/revoke']) {
    const res = await b.app.inject({
      method: 'POST',
      url,
      headers: { authorization: basic(basicClient.client.client_id, basicNew), 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ token: tokens[0] ?? '' }),
    });
    t.equal(res.statusCode, 200);
  }
  t.equal((await admin(api, 'POST', '/admin/v1/tokens/revoke', { token: tokens[1] })).statusCode, 200);
  const feed = await b.app.inject({ method: 'GET', url: '/oauth2/revocations', headers: { authorization: basic(basicClient.client.client_id, basicNew) } });
  t.equal(feed.statusCode, 200);

  // The admin API with an admin-scope access token, with a token lacking the scope, and with secrets as bearer tokens.
  await readAll(t, adminScoped);
  t.equal((await admin(api, 'PATCH', `/admin/v1/clients/${postClient.client.client_id}`, { client_name: 'post-2' }, adminScoped)).statusCode, 200);
  t.equal((await admin(api, 'GET', '/admin/v1/clients', undefined, otherScoped)).statusCode, 403);
  t.equal((await admin(api, 'GET', '/admin/v1/clients', undefined, basicNew)).statusCode, 401);
  t.equal((await admin(api, 'GET', '/admin/v1/clients', undefined, reg.registration_access_token)).statusCode, 401);
  t.equal((await admin(api, 'GET', '/admin/v1/clients', undefined, `${ADMIN_TOKEN}x`)).statusCode, 401);
  t.equal((await admin(api, 'POST', `/admin/v1/clients/${basicClient.client.client_id}/revoke-tokens`)).statusCode, 200);

  // Disable then delete one client with a real secret still presented.
  t.equal((await admin(api, 'PATCH', `/admin/v1/clients/${basicClient.client.client_id}`, { status: 'disabled' })).statusCode, 200);
  t.equal((await tokenBasic(b.app, basicClient.client.client_id, basicNew)).statusCode, 401);
  const regDelete = await b.app.inject({ method: 'DELETE', url: `/oauth2/register/${reg.client_id}`, headers: { authorization: `Bearer ${latestRat}` } });
  t.equal(regDelete.statusCode, 204);

  await readAll(t);
  await settle(b);
  t.ok(secrets.length === 5 && tokens.length >= 6 && registrationTokens.length === 3, 'collected the values to look for');
});

/** Every value that must never be seen again, with the ways it could leak partially. */
function needles(): { label: string; value: string }[] {
  const out: { label: string; value: string }[] = [{ label: 'ADMIN_TOKEN', value: ADMIN_TOKEN }];
  for (const [i, s] of secrets.entries()) {
    out.push({ label: `secret ${i}`, value: s });
    // The first 12 characters are the displayed prefix; the rest must never appear.
    out.push({ label: `secret ${i} (undisplayed part)`, value: s.slice(12, 32) });
  }
  for (const [i, tok] of tokens.entries()) {
    out.push({ label: `access token ${i}`, value: tok });
    out.push({ label: `access token ${i} signature`, value: tok.split('.')[2] ?? tok });
  }
  for (const [i, rat] of registrationTokens.entries()) {
    out.push({ label: `registration access token ${i}`, value: rat });
    out.push({ label: `registration access token ${i} (body)`, value: rat.slice(6, 30) });
  }
  return out;
}

function assertClean(t: Test, where: string, haystacks: string[]): void {
  t.ok(haystacks.length > 0, `${where}: something to search`);
  const text = haystacks.join('\n');
  for (const n of needles()) t.notOk(text.includes(n.value), `${where}: no ${n.label}`);
}

t.test('no admin list or read response holds a secret or token', async (t) => {
  assertClean(t, 'admin responses', bodies);
});

t.test('no log line holds a secret or token', async (t) => {
  t.ok(
    b.logs.some((l) => l.includes('"path":"/oauth2/token"')),
    'the token requests were logged',
  );
  // The fields added for issue 16 (ip, client_id, actor) are in every line, and hold no credential either.
  const requestLines = b.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
  t.same(
    requestLines.filter((l) => typeof l.ip !== 'string'),
    [],
    'every request line has an ip',
  );
  t.ok(
    requestLines.some((l) => typeof l.actor === 'string'),
    'admin calls name their actor',
  );
  assertClean(t, 'logs', b.logs);
});

t.test('no audit row holds a secret or token', async (t) => {
  const { rows } = await b.rt.sql.query('SELECT * FROM audit_log');
  t.ok(rows.length >= 10, 'audit rows were written');
  assertClean(
    t,
    'audit_log',
    rows.map((r) => JSON.stringify(r)),
  );
});

t.test('no database table holds a secret or token (as text or bytes)', async (t) => {
  const { rows: tables } = await b.rt.sql.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'");
  const names = tables.map((r) => r.table_name);
  t.ok(names.includes('clients') && names.includes('client_secrets'), 'clients and client_secrets exist');
  const dumped: string[] = [];
  for (const name of names) {
    const { rows } = await b.rt.sql.query(`SELECT * FROM "${name}"`);
    for (const row of rows) {
      dumped.push(JSON.stringify(row, (_k, v: unknown) => (v instanceof Uint8Array ? `${Buffer.from(v).toString('utf8')}|${Buffer.from(v).toString('hex')}|${Buffer.from(v).toString('base64')}` : v)));
    }
  }
  const { rows: secretRows } = await b.rt.sql.query('SELECT * FROM client_secrets');
  t.ok(secretRows.length >= 4, 'secret rows exist');
  assertClean(t, 'database', dumped);
});
