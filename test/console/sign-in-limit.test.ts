// Attack: guessing the admin token (or a client secret) through the console's sign-in form instead
// of the admin API. The form is one more place that checks those credentials, so it is held to the
// same per-source failed-authentication limit (AUTH_FAILURE_*; docs/threat-model.md REQ-A6): each
// refused sign-in counts; past the limit the source gets 429 before its credentials are looked at,
// even the right ones; another source is unaffected; failures at the API and the form add up.
import t from 'tap';
import { ADMIN_TOKEN, build } from '../helper.js';
import { adminApp } from '../admin/support.js';
import { form } from '../helper.js';
import { ORIGIN } from './support.js';

const b = await build(t, { AUTH_FAILURE_MAX: '3', AUTH_FAILURE_WINDOW: '60', AUTH_FAILURE_BLOCK: '60' });
const api = adminApp(b);

const signIn = (ip: string, token: string) =>
  api.inject({
    method: 'POST',
    url: '/console/sign-in',
    remoteAddress: ip,
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN, 'sec-fetch-site': 'same-origin' },
    payload: form({ method: 'admin_token', admin_token: token }),
  });

t.test('wrong admin tokens at the console sign-in are throttled per source', async (t) => {
  for (let i = 0; i < 3; i++) t.equal((await signIn('203.0.113.7', `${ADMIN_TOKEN}-guess-${i}`)).statusCode, 401, `guess ${i}: 401`);
  const fourth = await signIn('203.0.113.7', `${ADMIN_TOKEN}-guess-3`);
  t.equal(fourth.statusCode, 401, 'the limit is more than 3 failures');
  const blocked = await signIn('203.0.113.7', ADMIN_TOKEN);
  t.equal(blocked.statusCode, 429, 'then even the right token is refused before it is checked');
  t.equal(blocked.headers['retry-after'], '60');
  t.equal(blocked.headers['set-cookie'], undefined, 'no session');
  t.match(blocked.body, 'Too many failed sign-ins from this address');
  t.equal((await b.rt.sql.query('SELECT 1 FROM console_sessions')).rows.length, 0, 'no session row');
  const other = await signIn('198.51.100.9', ADMIN_TOKEN);
  t.equal(other.statusCode, 303, 'another source signs in');
  const apiCall = await api.inject({ method: 'GET', url: '/admin/v1/clients', remoteAddress: '203.0.113.7', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  t.equal(apiCall.statusCode, 429, 'the block covers the admin API too: one limit per source');
});

t.test('failures at the admin API and at the console sign-in add up', async (t) => {
  const ip = '192.0.2.44';
  for (let i = 0; i < 3; i++) {
    const res = await api.inject({ method: 'GET', url: '/admin/v1/clients', remoteAddress: ip, headers: { authorization: 'Bearer wrong' } });
    t.equal(res.statusCode, 401);
  }
  t.equal((await signIn(ip, 'wrong')).statusCode, 401, 'the fourth failure, at the console');
  t.equal((await signIn(ip, ADMIN_TOKEN)).statusCode, 429, 'blocked');
});
