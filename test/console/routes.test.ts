// The web console's server side (docs/contract.md "Console"): sessions (cookie flags, idle and absolute
// limits on an injected clock, sign-out ends them server-side), CSRF refusals, the security headers, and
// escaping of hostile client names.
import t from 'tap';
import { ADMIN_TOKEN, ISSUER, build, register } from '../helper.js';
import { adminApp, settle } from '../admin/support.js';
import { ORIGIN, csrfOf, get, post, sessionCookie, signIn } from './support.js';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

t.test('the admin listener serves the console; / redirects to it; the public listener does not', async (t) => {
  const b = await build(t);
  const api = adminApp(b);
  const root = await api.inject({ method: 'GET', url: '/' });
  t.equal(root.statusCode, 302);
  t.equal(root.headers.location, '/console/');
  const anonymous = await get(api, '/console/', null);
  t.equal(anonymous.statusCode, 303, 'no session: to the sign-in page');
  t.equal(anonymous.headers.location, '/console/sign-in');
  t.equal((await b.app.inject({ method: 'GET', url: '/console/sign-in' })).statusCode, 404, 'not on the public listener');
  t.equal((await b.app.inject({ method: 'GET', url: '/' })).statusCode, 404);
  const css = await get(api, '/console/assets/console.css', null);
  t.equal(css.statusCode, 200);
  t.match(css.headers['content-type'], /^text\/css/);
  const js = await get(api, '/console/assets/console.js', null);
  t.match(js.headers['content-type'], /^text\/javascript/);
  t.equal(js.headers['x-content-type-options'], 'nosniff');
});

t.test('ADMIN_PORT = PORT: the one listener serves the console at /console/ and keeps the public endpoints', async (t) => {
  const b = await build(t, { PORT: '8080', ADMIN_PORT: '8080' });
  t.equal(b.apps.admin, null);
  t.equal((await b.app.inject({ method: 'GET', url: '/' })).headers.location, '/console/');
  t.equal((await get(b.app, '/console/sign-in', null)).statusCode, 200);
  t.equal((await b.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).statusCode, 200);
  t.equal((await b.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).statusCode, 200);
});

t.test('every console response carries the security headers; pages are not cached', async (t) => {
  const b = await build(t);
  const api = adminApp(b);
  const { cookie } = await signIn(api);
  for (const url of ['/console/sign-in', '/console/', '/console/clients', '/console/clients/new', '/console/keys', '/console/audit', '/console/no-such-page']) {
    const res = await get(api, url, url === '/console/sign-in' ? null : cookie);
    t.equal(res.statusCode, url.endsWith('no-such-page') ? 404 : 200, url);
    t.equal(res.headers['content-security-policy'], CSP, `${url}: CSP`);
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${url}: nosniff`);
    t.equal(res.headers['referrer-policy'], 'no-referrer', `${url}: referrer`);
    t.equal(res.headers['x-frame-options'], 'DENY');
    t.equal(res.headers['cache-control'], 'no-store', `${url}: no-store`);
    t.match(res.headers['content-type'], /^text\/html; charset=utf-8/);
    t.notMatch(res.body, /<script>|<style>|\sstyle="|\son[a-z]+="/i, `${url}: no inline script, style or handler`);
  }
});

t.test('sign-in with the admin token: an HttpOnly, SameSite=Strict, Path=/console cookie; the token is nowhere in the response', async (t) => {
  const b = await build(t);
  const api = adminApp(b);
  const res = await post(api, '/console/sign-in', { method: 'admin_token', admin_token: ADMIN_TOKEN }, null);
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/console/');
  const setCookie = String(res.headers['set-cookie']);
  t.match(setCookie, /^tm_console=[A-Za-z0-9_-]{43}; Max-Age=43200; Path=\/console; HttpOnly; SameSite=Strict$/);
  t.notMatch(setCookie, /Secure/, 'plain http issuer in development: not Secure');
  t.notMatch(res.body + setCookie, ADMIN_TOKEN);
  const stored = await b.rt.sql.query<{ id_hash: Uint8Array; actor: string }>('SELECT id_hash, actor FROM console_sessions');
  t.equal(stored.rows.length, 1);
  t.match(stored.rows[0]?.actor, /^admin-token:[0-9a-f]{8}$/);
  t.equal(Buffer.from(stored.rows[0]?.id_hash ?? []).length, 32, 'only the SHA-256 of the id is stored');
  t.notOk(
    b.logs.some((l) => l.includes(ADMIN_TOKEN) || l.includes(sessionCookie(res) ?? '-')),
    'neither token nor session id in a log line',
  );
  await settle(b);
  const events = await b.rt.audit.list(10, null, { action: 'console.sign_in' });
  t.same(
    events.items.map((e) => [e.actor, e.outcome]),
    [[stored.rows[0]?.actor, 'success']],
  );
});

t.test('Secure cookie with an https issuer', async (t) => {
  const b = await build(t, { ISSUER: 'https://auth.example.com' });
  const res = await post(adminApp(b), '/console/sign-in', { method: 'admin_token', admin_token: ADMIN_TOKEN }, null);
  t.match(String(res.headers['set-cookie']), /; Secure; SameSite=Strict$/);
});

t.test('a wrong admin token gets no session and changes nothing', async (t) => {
  const b = await build(t);
  const api = adminApp(b);
  const res = await post(api, '/console/sign-in', { method: 'admin_token', admin_token: `${ADMIN_TOKEN}x` }, null);
  t.equal(res.statusCode, 401);
  t.equal(res.headers['set-cookie'], undefined);
  t.match(res.body, 'Sign-in refused: that is not the admin token.');
  t.equal((await b.rt.sql.query('SELECT 1 FROM console_sessions')).rows.length, 0);
  const forged = await get(api, '/console/', 'A'.repeat(43));
  t.equal(forged.statusCode, 303, 'a made-up session id is no session');
  t.equal(forged.headers.location, '/console/sign-in?notice=expired');
});

t.test('sign-in with a client holding tokenmill:admin, authenticated as the token endpoint does', async (t) => {
  const b = await build(t);
  const api = adminApp(b);
  const ops = await register(b.app, { client_name: 'ops', scope: 'tokenmill:admin', audience: [ISSUER], token_endpoint_auth_method: 'client_secret_basic' });
  const poster = await register(b.app, { client_name: 'poster', scope: 'tokenmill:admin', audience: [ISSUER], token_endpoint_auth_method: 'client_secret_post' });
  const plain = await register(b.app, { client_name: 'plain', scope: 'api:read' });
  for (const c of [ops, poster]) {
    const ok = await post(api, '/console/sign-in', { method: 'client', client_id: c.client_id, client_secret: c.client_secret ?? '' }, null);
    t.equal(ok.statusCode, 303, `${String(c.client_name)}: signed in`);
    const cookie = sessionCookie(ok);
    const page = await get(api, '/console/', cookie);
    t.equal(page.statusCode, 200);
    t.match(page.body, `client:${c.client_id}`, 'the actor is shown as the API names it');
  }
  const wrong = await post(api, '/console/sign-in', { method: 'client', client_id: ops.client_id, client_secret: 'nope' }, null);
  t.equal(wrong.statusCode, 401);
  t.equal(wrong.headers['set-cookie'], undefined);
  const noScope = await post(api, '/console/sign-in', { method: 'client', client_id: plain.client_id, client_secret: plain.client_secret ?? '' }, null);
  t.equal(noScope.statusCode, 401, 'a client without tokenmill:admin is refused');
  t.equal(noScope.headers['set-cookie'], undefined);

  // Losing tokenmill:admin ends the client's console session at its next request.
  const res = await post(api, '/console/sign-in', { method: 'client', client_id: ops.client_id, client_secret: ops.client_secret ?? '' }, null);
  const cookie = sessionCookie(res);
  const patch = await api.inject({
    method: 'PATCH',
    url: `/admin/v1/clients/${ops.client_id}`,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    payload: { scope: 'api:read' },
  });
  t.equal(patch.statusCode, 200);
  t.equal((await get(api, '/console/', cookie)).headers.location, '/console/sign-in?notice=expired');
});

t.test('idle timeout and absolute lifetime, on the injected clock; sign-out kills the session server-side', async (t) => {
  const b = await build(t, { CONSOLE_SESSION_IDLE: '600', CONSOLE_SESSION_MAX: '3600' });
  const api = adminApp(b);
  const { cookie, csrf } = await signIn(api);
  b.clock.advance(599_000);
  t.equal((await get(api, '/console/clients', cookie)).statusCode, 200, 'just inside the idle limit');
  b.clock.advance(599_000);
  t.equal((await get(api, '/console/clients', cookie)).statusCode, 200, 'each request restarts the idle timer');
  b.clock.advance(600_000);
  const idle = await get(api, '/console/clients', cookie);
  t.equal(idle.statusCode, 303, 'idle for CONSOLE_SESSION_IDLE: ended');
  t.equal(idle.headers.location, '/console/sign-in?notice=expired');
  t.match(String(idle.headers['set-cookie']), /^tm_console=; Max-Age=0; Path=\/console/);
  t.equal((await b.rt.sql.query('SELECT 1 FROM console_sessions')).rows.length, 0, 'and deleted');
  t.equal(csrf.length, 43);

  const again = await signIn(api);
  for (let i = 0; i < 6; i++) {
    b.clock.advance(590_000);
    t.equal((await get(api, '/console/keys', again.cookie)).statusCode, 200);
  }
  b.clock.advance(60_000);
  t.equal((await get(api, '/console/keys', again.cookie)).statusCode, 303, 'past CONSOLE_SESSION_MAX, active or not: ended');

  const third = await signIn(api);
  const out = await post(api, '/console/sign-out', { _csrf: third.csrf }, third.cookie);
  t.equal(out.statusCode, 303);
  t.equal(out.headers.location, '/console/sign-in?notice=signed-out');
  t.match(String(out.headers['set-cookie']), /^tm_console=; Max-Age=0; Path=\/console/);
  t.equal((await get(api, '/console/', third.cookie)).statusCode, 303, 'the old cookie no longer works');
  t.equal((await b.rt.sql.query('SELECT 1 FROM console_sessions')).rows.length, 0);
});

t.test('CSRF: a missing or wrong token, a foreign Origin or a cross-site fetch is refused and changes nothing', async (t) => {
  const b = await build(t);
  const api = adminApp(b);
  const { cookie, csrf } = await signIn(api);
  const victim = await register(b.app, { client_name: 'victim' });
  const url = `/console/clients/${victim.client_id}/status`;
  const cases: [string, Record<string, string>, Record<string, string>][] = [
    ['no token', { status: 'disabled' }, {}],
    ['wrong token', { status: 'disabled', _csrf: `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'B' : 'A'}` }, {}],
    ['another session token', { status: 'disabled', _csrf: 'x'.repeat(43) }, {}],
    ['foreign Origin', { status: 'disabled', _csrf: csrf }, { origin: 'https://evil.example' }],
    ['no Origin', { status: 'disabled', _csrf: csrf }, { origin: '' }],
    ['Sec-Fetch-Site cross-site', { status: 'disabled', _csrf: csrf }, { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site same-site', { status: 'disabled', _csrf: csrf }, { 'sec-fetch-site': 'same-site' }],
    ['Sec-Fetch-Site same-origin but a foreign Origin', { status: 'disabled', _csrf: csrf }, { 'sec-fetch-site': 'same-origin', origin: 'https://evil.example' }],
    ['Origin null without Sec-Fetch-Site', { status: 'disabled', _csrf: csrf }, { origin: 'null', 'sec-fetch-site': '' }],
  ];
  for (const [label, fields, headers] of cases) {
    const h: Record<string, string> = { ...headers };
    if (h['sec-fetch-site'] === '') delete h['sec-fetch-site'];
    const res = await (h.origin === ''
      ? api.inject({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `tm_console=${cookie}` }, payload: new URLSearchParams(fields).toString() })
      : post(api, url, fields, cookie, h, headers['sec-fetch-site'] === ''));
    t.equal(res.statusCode, 403, label);
    t.match(res.body, /Refused/, label);
  }
  const foreignSignIn = await post(api, '/console/sign-in', { method: 'admin_token', admin_token: ADMIN_TOKEN }, null, { origin: 'https://evil.example' });
  t.equal(foreignSignIn.statusCode, 403, 'sign-in from another site (login CSRF)');
  t.equal(foreignSignIn.headers['set-cookie'], undefined);
  const client = await b.rt.clientService.get(victim.client_id);
  t.equal(client?.status, 'active', 'nothing changed');
  // Referrer-Policy: no-referrer makes Chromium send Origin: null on form posts; Sec-Fetch-Site vouches for them.
  const ok = await post(api, url, { status: 'disabled', _csrf: csrf }, cookie, { origin: 'null' });
  t.equal(ok.statusCode, 303, 'with the token, from this origin, it works');
  t.equal((await b.rt.clientService.get(victim.client_id))?.status, 'disabled');
  t.equal(ORIGIN, 'http://localhost');
});

t.test('hostile names and bidi overrides render as text, on every page that shows them', async (t) => {
  const b = await build(t);
  const api = adminApp(b);
  const { cookie } = await signIn(api);
  const hostile = '<img src=x onerror=alert(1)>"\'&\u202Egnp.exe';
  // Registration refuses bidi characters in names; a row from elsewhere (an import, an older release) may still hold them.
  const c = await register(b.app, { client_name: 'placeholder', scope: 'api:read', audience: ['https://api.example.com/<b>'] });
  await b.rt.sql.query('UPDATE clients SET client_name = $1 WHERE client_id = $2', [hostile, c.client_id]);
  b.rt.clientCache.invalidate(c.client_id);
  for (const url of ['/console/clients', `/console/clients/${c.client_id}`, `/console/clients?q=${encodeURIComponent('<img')}`, `/console/audit?target=${encodeURIComponent(c.client_id)}`]) {
    const res = await get(api, url, cookie);
    t.equal(res.statusCode, 200, url);
    t.notMatch(res.body, '<img src=x', `${url}: no live markup`);
    t.notMatch(res.body, '\u202E', `${url}: no bidi override`);
    t.notMatch(res.body, '<b>', url);
  }
  const page = await get(api, `/console/clients/${c.client_id}`, cookie);
  t.match(page.body, '&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;⟨U+202E⟩gnp.exe');
  t.match(page.body, 'https://api.example.com/&lt;b&gt;');
  const q = await get(api, `/console/clients?q=${encodeURIComponent('"><script>alert(1)</script>')}`, cookie);
  t.match(q.body, 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"', 'the search box echoes escaped');
});

t.test('console changes go through the admin API validation and are audited with the API actor', async (t) => {
  const b = await build(t);
  const api = adminApp(b);
  const { cookie, csrf } = await signIn(api);
  const bad = await post(api, '/console/clients', { _csrf: csrf, client_name: 'x', token_endpoint_auth_method: 'client_secret_basic', scope: 'bad"scope', secret_expires_in: '30d' }, cookie);
  t.equal(bad.statusCode, 400);
  t.match(bad.body, /<p class="error" id="f-scope-error">must be space-separated scope tokens/);
  t.equal((await b.rt.clientStore.list(10, null)).items.length, 0, 'nothing created');
  const jwks = await post(api, '/console/clients', { _csrf: csrf, client_name: 'k', token_endpoint_auth_method: 'private_key_jwt', jwks: '{not json' }, cookie);
  t.equal(jwks.statusCode, 400);
  t.match(jwks.body, /id="f-jwks-error">is not valid JSON/);

  const ok = await post(
    api,
    '/console/clients',
    { _csrf: csrf, client_name: 'svc', token_endpoint_auth_method: 'client_secret_post', scope: 'api:read', audience: 'https://api.example.com', secret_expires_in: '30d' },
    cookie,
  );
  t.equal(ok.statusCode, 201, 'the secret is shown in the POST response, not after a redirect');
  t.equal(ok.headers.location, undefined);
  t.equal(ok.headers['cache-control'], 'no-store');
  const secret = /id="once-value" class="secret" type="text" readonly value="([^"]+)"/.exec(ok.body)?.[1] ?? '';
  t.match(secret, /^tmsec_/);
  t.notOk(
    b.logs.some((l) => l.includes(secret)),
    'the secret is in no log line',
  );
  const [created] = (await b.rt.clientStore.list(10, null)).items;
  t.equal(created?.clientName, 'svc');
  t.equal(created?.secrets[0]?.expiresAt, b.clock.now() + 30 * 86_400_000, 'the expiry preset');

  const edit = await post(api, `/console/clients/${created?.clientId}/edit`, { _csrf: csrf, client_name: 'svc', scope: 'api:read', audience: 'not a uri with spaces', access_token_ttl: '' }, cookie);
  t.equal(edit.statusCode, 400);
  t.match(edit.body, /id="f-audience-error">/);
  const del = await post(api, `/console/clients/${created?.clientId}/delete`, { _csrf: csrf, confirm_name: 'sv' }, cookie);
  t.equal(del.statusCode, 400, 'delete needs the exact name');
  t.ok(await b.rt.clientService.get(created?.clientId ?? ''));
  await settle(b);
  const events = await b.rt.audit.list(20, null, { action: 'client.create' });
  // The JSON of the pasted JWK is checked before the API is called; the refused scope reached the API.
  t.same(
    events.items.map((e) => [e.actor, e.outcome]),
    [
      [(await b.rt.audit.list(1, null, { action: 'console.sign_in' })).items[0]?.actor, 'success'],
      [(await b.rt.audit.list(1, null, { action: 'console.sign_in' })).items[0]?.actor, 'failure'],
    ],
    'refused and successful creations are audited like API calls, under the session actor',
  );
  t.same(events.items[0]?.detail, { status: 201, via: 'console' });
  t.equal(csrfOf(ok.body), csrf);
});

t.test('client actions through the console: each does what its button says, and is audited', async (t) => {
  const b = await build(t);
  const api = adminApp(b);
  const { cookie, csrf } = await signIn(api);
  const c = await register(b.app, { client_name: 'ops client', scope: 'api:read', audience: ['https://api.example.com'] });
  const base = `/console/clients/${c.client_id}`;
  const expectRedirect = async (url: string, fields: Record<string, string>, location: string) => {
    const res = await post(api, url, { _csrf: csrf, ...fields }, cookie);
    t.equal(res.statusCode, 303, url);
    t.equal(res.headers.location, location, url);
  };

  // Rotate with no grace: the old secret ends now; the new one is shown once in the response.
  const rotated = await post(api, `${base}/secrets`, { _csrf: csrf, previous_secret_ttl: '0', expires_in: '7d' }, cookie);
  t.equal(rotated.statusCode, 201);
  t.match(rotated.body, 'The previous secrets stopped working now.');
  let client = await b.rt.clientService.get(c.client_id);
  t.equal(client?.secrets.length, 2);
  t.equal(client?.secrets.filter((s) => s.expiresAt !== null && s.expiresAt <= b.clock.now()).length, 1, 'the old secret ended');
  const oldSecret = client?.secrets.find((s) => s.expiresAt !== null && s.expiresAt <= b.clock.now());
  await expectRedirect(`${base}/secrets/${oldSecret?.secretId}/delete`, {}, `${base}?notice=secret-deleted`);
  client = await b.rt.clientService.get(c.client_id);
  t.equal(client?.secrets.length, 1, 'the secret is deleted');
  t.equal(client?.secrets[0]?.expiresAt, b.clock.now() + 7 * 86_400_000, 'the new secret expires after the preset');

  const reg = await post(api, `${base}/registration-token`, { _csrf: csrf, op: 'rotate' }, cookie);
  t.equal(reg.statusCode, 201);
  t.match(reg.body, /value="tmrat_[A-Za-z0-9]+"/, 'the registration access token is shown once');
  t.ok((await b.rt.clientService.get(c.client_id))?.registrationAccessTokenHash);
  await expectRedirect(`${base}/registration-token`, { op: 'revoke' }, `${base}?notice=registration-token-revoked`);
  t.equal((await b.rt.clientService.get(c.client_id))?.registrationAccessTokenHash, null);

  await expectRedirect(`${base}/revoke-tokens`, {}, `${base}?notice=tokens-revoked`);
  t.ok((await b.rt.clientService.get(c.client_id))?.tokensRevokedBefore, 'a client-wide revocation is recorded');
  await expectRedirect(`${base}/status`, { status: 'disabled' }, `${base}?notice=disabled`);
  await expectRedirect(`${base}/status`, { status: 'active' }, `${base}?notice=enabled`);
  t.equal((await b.rt.clientService.get(c.client_id))?.status, 'active');

  await expectRedirect(
    `${base}/edit`,
    { client_name: 'ops client', scope: 'api:read api:write', audience: 'https://api.example.com\nhttps://b.example.com', access_token_ttl: '600' },
    `${base}?notice=updated`,
  );
  client = await b.rt.clientService.get(c.client_id);
  t.same([client?.scopes, client?.audiences, client?.accessTokenTtl], [['api:read', 'api:write'], ['https://api.example.com', 'https://b.example.com'], 600]);

  await expectRedirect('/console/keys/rotate', { alg: 'ES256', activate_in: '3600' }, '/console/keys?notice=key-rotated');
  await expectRedirect(`${base}/delete`, { confirm_name: 'ops client' }, '/console/clients?notice=deleted');
  t.equal(await b.rt.clientService.get(c.client_id), null, 'deleted after typing its name');

  await settle(b);
  const actions = (await b.rt.audit.list(50, null)).items.filter((e) => (e.detail as { via?: string } | null)?.via === 'console').map((e) => `${e.action} ${e.outcome}`);
  t.same(actions.reverse(), [
    'console.sign_in success',
    'secret.rotate success',
    'secret.delete success',
    'registration_token.rotate success',
    'registration_token.revoke success',
    'client.revoke_tokens success',
    'client.update success',
    'client.update success',
    'client.update success',
    'key.rotate success',
    'client.delete success',
  ]);
  const deleted = await get(api, base, cookie);
  t.equal(deleted.statusCode, 404);
  t.match(deleted.body, 'No such client.');
});
