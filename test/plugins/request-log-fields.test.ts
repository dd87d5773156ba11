// Issue 16 item 8: every request line carries the client address (`ip`, X-Forwarded-For only with
// TRUST_PROXY) and the authenticated client_id where there is one (token, also when the grant is
// refused after authentication; introspection, revocation, the feed, registration) or the admin
// actor; a successful revocation-feed poll writes no info line; no secret reaches the new fields.
import t from 'tap';
import { ADMIN_TOKEN, basic, build, form, register, tokenRequest } from '../helper.js';

const b = await build(t, { TRUST_PROXY: 'true' });
const adminApp = b.apps.admin ?? b.app;
const XFF = '203.0.113.7';

interface Line {
  level: number;
  msg: string;
  path?: string;
  status?: number;
  ip?: string;
  client_id?: string;
  actor?: string;
  error?: string;
}
const requestLines = (): Line[] => b.logs.map((l) => JSON.parse(l) as Line).filter((l) => l.msg === 'request');
/** The request line written by `fn` (the only one). */
async function lineOf(fn: () => Promise<unknown>): Promise<Line> {
  const before = requestLines().length;
  await fn();
  const lines = requestLines().slice(before);
  if (lines.length !== 1) throw new Error(`${lines.length} request lines`);
  return lines[0] as Line;
}

const c = await register(b.app, { client_name: 'log-fields' });
const auth = basic(c.client_id, c.client_secret as string);
const formHeaders = { authorization: auth, 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': XFF };

t.test('token: ip and client_id, on success and on a refusal after authentication', async (t) => {
  const ok = await lineOf(() => tokenRequest(b.app, { grant_type: 'client_credentials' }, { authorization: auth, 'x-forwarded-for': XFF }));
  t.match(ok, { path: '/oauth2/token', status: 200, ip: XFF, client_id: c.client_id, level: 30 });
  const refused = await lineOf(() => tokenRequest(b.app, { grant_type: 'client_credentials', scope: 'not-registered' }, { authorization: auth, 'x-forwarded-for': XFF }));
  t.match(refused, { path: '/oauth2/token', status: 400, error: 'invalid_scope', ip: XFF, client_id: c.client_id });
  const anonymous = await lineOf(() => tokenRequest(b.app, { grant_type: 'client_credentials' }, { authorization: basic(c.client_id, 'tmsec_wrong'), 'x-forwarded-for': XFF }));
  t.match(anonymous, { status: 401, ip: XFF });
  t.notOk('client_id' in anonymous, 'no client_id when authentication failed');
});

t.test('introspection, revocation, feed, registration, admin: who called', async (t) => {
  const token = ((await tokenRequest(b.app, { grant_type: 'client_credentials' }, { authorization: auth })).json() as { access_token: string }).access_token;
  const introspect = await lineOf(() => b.app.inject({ method: 'POST', url: '/oauth2/introspect', headers: formHeaders, payload: form({ token }) }));
  t.match(introspect, { path: '/oauth2/introspect', status: 200, ip: XFF, client_id: c.client_id });
  const revoke = await lineOf(() => b.app.inject({ method: 'POST', url: '/oauth2/revoke', headers: formHeaders, payload: form({ token }) }));
  t.match(revoke, { path: '/oauth2/revoke', status: 200, ip: XFF, client_id: c.client_id });
  const refusedRevoke = await lineOf(() => b.app.inject({ method: 'POST', url: '/oauth2/revoke', headers: formHeaders, payload: form({}) }));
  t.match(refusedRevoke, { status: 400, client_id: c.client_id }, 'a refused revocation names the authenticated client');
  const feedRefused = await lineOf(() => b.app.inject({ method: 'GET', url: '/oauth2/revocations', headers: { authorization: basic(c.client_id, 'tmsec_wrong'), 'x-forwarded-for': XFF } }));
  t.match(feedRefused, { path: '/oauth2/revocations', status: 401, ip: XFF }, 'a refused feed poll is logged');
  const read = await lineOf(() => b.app.inject({ method: 'GET', url: `/oauth2/register/${c.client_id}`, headers: { authorization: `Bearer ${c.registration_access_token}`, 'x-forwarded-for': XFF } }));
  t.match(read, { status: 200, ip: XFF, client_id: c.client_id });
  const adminCall = await lineOf(() => adminApp.inject({ method: 'GET', url: '/admin/v1/clients', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-forwarded-for': XFF } }));
  t.match(adminCall, { path: '/admin/v1/clients', status: 200, ip: XFF, actor: /^admin-token:[0-9a-f]{8}$/ });
});

t.test('a successful revocation-feed poll writes no info line', async (t) => {
  const before = requestLines().length;
  for (let i = 0; i < 3; i++) t.equal((await b.app.inject({ method: 'GET', url: '/oauth2/revocations', headers: { authorization: auth } })).statusCode, 200);
  t.same(requestLines().slice(before), [], 'no request line at info');
});

t.test('ip: only address-shaped text from X-Forwarded-For; no secret in any new field', async (t) => {
  const peer = await lineOf(() => tokenRequest(b.app, { grant_type: 'client_credentials' }, { authorization: auth }));
  t.equal(peer.ip, '127.0.0.1', 'the peer without X-Forwarded-For');
  const forged = await lineOf(() => tokenRequest(b.app, { grant_type: 'client_credentials' }, { authorization: auth, 'x-forwarded-for': `${c.client_secret} ${ADMIN_TOKEN}` }));
  t.equal(forged.ip, 'invalid');
  const leaks = b.logs.filter((l) => l.includes(c.client_secret as string) || l.includes(ADMIN_TOKEN) || l.includes(c.registration_access_token) || l.includes(auth.slice(6)));
  t.same(leaks, []);
});
