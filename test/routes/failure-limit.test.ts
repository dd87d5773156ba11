// The per-source failed-authentication limit (AUTH_FAILURE_*; docs/threat-model.md REQ-A6, REQ-D11,
// REQ-I7): attacks first. A source past the limit gets 429 before any credential check, at every
// endpoint that authenticates; another source with the right credentials is never affected; the
// answers do not tell a known client_id from an unknown one.
import t from 'tap';
import type { Test } from 'tap';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { ADMIN_TOKEN, ISSUER, TestClock, basic, build, form, register, type Built } from '../helper.js';
import { assertion, clientKey } from '../fixtures/assertion.js';
import { parseMetrics, sampleValue } from '../helpers/prometheus.js';
import { pollUntil } from '../helpers/time.js';

const THROTTLED = { error: 'too_many_requests', error_description: 'too many failed authentications from this address; retry later' };
const INVALID_CLIENT = { error: 'invalid_client', error_description: 'client authentication failed' };
const FORM = 'application/x-www-form-urlencoded';
const LIMIT = { AUTH_FAILURE_MAX: '30', AUTH_FAILURE_WINDOW: '60', AUTH_FAILURE_BLOCK: '60' };

type Inject = InjectOptions;

/** A request from `ip` (the socket's address: TRUST_PROXY is off unless a test turns it on). */
function from(b: Built, ip: string, opts: Inject): Promise<LightMyRequestResponse> {
  const app = opts.url?.toString().startsWith('/admin/') ? (b.apps.admin ?? b.app) : b.app;
  return app.inject({ ...opts, remoteAddress: ip });
}

function token(b: Built, ip: string, id: string, secret: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return from(b, ip, { method: 'POST', url: '/oauth2/token', headers: { 'content-type': FORM, authorization: basic(id, secret), ...headers }, payload: form({ grant_type: 'client_credentials' }) });
}

/** The headers of an answer without the ones that vary per response by design. */
function stableHeaders(res: LightMyRequestResponse): Record<string, unknown> {
  const { date: _date, ...rest } = res.headers;
  return rest;
}

/** Exact 429: status, body, Retry-After, no caching, no challenge. */
function checkThrottled(t: Test, res: LightMyRequestResponse, what: string, retryAfter?: string): void {
  t.equal(res.statusCode, 429, `${what}: 429`);
  t.same(res.json(), THROTTLED, `${what}: exact body`);
  t.equal(res.body, JSON.stringify(THROTTLED), `${what}: exact bytes`);
  if (retryAfter !== undefined) t.equal(res.headers['retry-after'], retryAfter, `${what}: Retry-After ${retryAfter}`);
  else t.match(res.headers['retry-after'], /^[1-9]\d*$/, `${what}: Retry-After in whole seconds`);
  t.equal(res.headers['cache-control'], 'no-store', `${what}: Cache-Control: no-store`);
  t.equal(res.headers.pragma, 'no-cache', `${what}: Pragma: no-cache`);
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8', `${what}: JSON`);
  t.equal(res.headers['www-authenticate'], undefined, `${what}: no challenge (nothing to retry with)`);
}

/** Sends `n` failures with `send` and returns the statuses, in order. */
async function statuses(n: number, send: () => Promise<LightMyRequestResponse>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await send()).statusCode);
  return out;
}

const count = (list: number[], status: number) => list.filter((s) => s === status).length;

t.test('1,000 bad secrets from one source: throttled; the same client_id from elsewhere still gets tokens', async (t) => {
  const b = await build(t, LIMIT);
  const c = await register(b.app);
  const secret = c.client_secret as string;
  const ATTACKER = '203.0.113.7';
  const OFFICE = '198.51.100.2';

  // Client lookups and secret uses, to prove a blocked request reaches neither.
  let lookups = 0;
  const get = b.rt.clients.get.bind(b.rt.clients);
  b.rt.clients.get = (id: string) => {
    lookups++;
    return get(id);
  };
  let secretUses = 0;
  const secretUsed = b.rt.secretUsed;
  b.rt.secretUsed = (id: string, at: number) => {
    secretUses++;
    secretUsed(id, at);
  };

  const first = await statuses(31, () => token(b, ATTACKER, c.client_id, 'wrong-secret'));
  t.same(first, new Array<number>(31).fill(401), 'the first 30 failures and the 31st (which starts the block) are answered invalid_client');
  t.equal(lookups, 31, 'each of them looked the client up');

  const blocked = await token(b, ATTACKER, c.client_id, 'wrong-secret');
  checkThrottled(t, blocked, 'the 32nd attempt', '60');

  const rest = await statuses(1000 - 32, () => token(b, ATTACKER, c.client_id, `guess-${Math.random()}`));
  t.equal(count(rest, 429), 1000 - 32, 'every later attempt: 429');
  t.equal(lookups, 31, 'no blocked request looked a client up');

  // The right secret from the blocked source: refused before the secret is compared.
  const right = await token(b, ATTACKER, c.client_id, secret);
  checkThrottled(t, right, 'the right secret from the blocked source', '60');
  t.equal(lookups, 31, 'still no client lookup');
  t.equal(secretUses, 0, 'and no secret was used');

  // REQ-A6: the client itself is not locked out.
  const office = await token(b, OFFICE, c.client_id, secret);
  t.equal(office.statusCode, 200, 'the same client_id with the right secret from another source: 200');
  t.ok(office.json().access_token, 'a token');
  t.equal(secretUses, 1, 'its secret was used');
  const officeWrong = await token(b, OFFICE, c.client_id, 'wrong-secret');
  t.equal(officeWrong.statusCode, 401, 'a failure from the other source is its own: 401, not 429');
  t.same(officeWrong.json(), INVALID_CLIENT, 'invalid_client');

  // Retry-After counts down with the clock.
  b.clock.advance(30_500);
  checkThrottled(t, await token(b, ATTACKER, c.client_id, secret), '30.5 s later', '30');

  // Observable: one log line at the start of the block (the address, never a credential), the metric, the audit row.
  const blockLogs = b.logs.filter((l) => l.includes('too many failed authentications'));
  t.equal(blockLogs.length, 1, 'one log line for the start of the block');
  const line = JSON.parse(blockLogs[0] ?? '{}') as Record<string, unknown>;
  t.equal(line.source, ATTACKER, 'it names the source');
  t.equal(line.endpoint, 'token', 'and the endpoint');
  t.equal(line.blockSeconds, 60, 'and the block');
  t.notOk(
    b.logs.some((l) => l.includes(secret) || l.includes('wrong-secret') || l.includes('guess-')),
    'no secret, right or wrong, in any log line',
  );
  const samples = parseMetrics(await b.rt.metrics.registry.metrics());
  t.equal(sampleValue(samples, 'tokenmill_auth_throttled_total', { endpoint: 'token' }), 1000 - 31 + 2, 'tokenmill_auth_throttled_total{endpoint="token"} counts every 429');
  t.notOk(
    samples.some((s) => s.name === 'tokenmill_auth_throttled_total' && Object.values(s.labels).some((v) => v.includes('203.0.113'))),
    'no address in any label',
  );
  await b.rt.refusalAudit.flush();
  const rows = (await b.rt.audit.list(100, null, { action: 'auth.throttled' })).items;
  t.equal(rows.length, 1, 'one aggregated audit row for the throttled source');
  t.same(rows[0]?.detail, { status: 429, source: ATTACKER, count: 1000 - 31 + 2 }, 'with the source and the number of refused requests');
});

t.test('the throttled answers are byte-identical for an existing and a made-up client_id', async (t) => {
  const b = await build(t, LIMIT);
  const c = await register(b.app);
  const KNOWN = '192.0.2.10';
  const UNKNOWN = '192.0.2.11';
  const madeUp = 'no-such-client-0123456789';

  // Each source is blocked by failures against one kind of client_id.
  const a = await statuses(31, () => token(b, KNOWN, c.client_id, 'wrong'));
  const u = await statuses(31, () => token(b, UNKNOWN, madeUp, 'wrong'));
  t.same(a, u, 'the same sequence of statuses before the block');
  t.same(a, new Array<number>(31).fill(401), '31 × 401');

  const answers = [
    await token(b, KNOWN, c.client_id, 'wrong'),
    await token(b, UNKNOWN, madeUp, 'wrong'),
    await token(b, KNOWN, madeUp, 'wrong'),
    await token(b, UNKNOWN, c.client_id, c.client_secret as string),
  ];
  for (const res of answers) checkThrottled(t, res, 'throttled', '60');
  const reference = answers[0] as LightMyRequestResponse;
  for (const res of answers.slice(1)) {
    t.equal(res.body, reference.body, 'same body bytes');
    t.same(stableHeaders(res), stableHeaders(reference), 'same headers');
  }
});

t.test('failures count at every endpoint that authenticates, and the block covers them all', async (t) => {
  const b = await build(t, LIMIT);
  const c = await register(b.app);
  const secret = c.client_secret as string;
  const good = (await token(b, '198.51.100.200', c.client_id, secret)).json().access_token as string;

  const endpoints: { name: string; fail: (ip: string) => Promise<LightMyRequestResponse>; ok: (ip: string) => Promise<LightMyRequestResponse>; failStatus: number }[] = [
    {
      name: 'introspection',
      fail: (ip) => from(b, ip, { method: 'POST', url: '/oauth2/introspect', headers: { 'content-type': FORM, authorization: basic(c.client_id, 'wrong') }, payload: form({ token: good }) }),
      ok: (ip) => from(b, ip, { method: 'POST', url: '/oauth2/introspect', headers: { 'content-type': FORM, authorization: basic(c.client_id, secret) }, payload: form({ token: good }) }),
      failStatus: 401,
    },
    {
      name: 'revocation',
      fail: (ip) => from(b, ip, { method: 'POST', url: '/oauth2/revoke', headers: { 'content-type': FORM, authorization: basic(c.client_id, 'wrong') }, payload: form({ token: 'x' }) }),
      ok: (ip) => from(b, ip, { method: 'POST', url: '/oauth2/revoke', headers: { 'content-type': FORM, authorization: basic(c.client_id, secret) }, payload: form({ token: 'x' }) }),
      failStatus: 401,
    },
    {
      name: 'revocation feed',
      fail: (ip) => from(b, ip, { method: 'GET', url: '/oauth2/revocations', headers: { authorization: 'Bearer not-the-admin-token' } }),
      ok: (ip) => from(b, ip, { method: 'GET', url: '/oauth2/revocations', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
      failStatus: 401,
    },
    {
      name: 'admin API',
      fail: (ip) => from(b, ip, { method: 'GET', url: '/admin/v1/clients', headers: { authorization: 'Bearer not-the-admin-token' } }),
      ok: (ip) => from(b, ip, { method: 'GET', url: '/admin/v1/clients', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
      failStatus: 401,
    },
    {
      name: 'registration (initial access token)',
      fail: (ip) =>
        from(b, ip, { method: 'POST', url: '/oauth2/register', headers: { authorization: 'Bearer not-the-admin-token', 'content-type': 'application/json' }, payload: { client_name: 'x' } }),
      ok: (ip) => from(b, ip, { method: 'POST', url: '/oauth2/register', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, payload: { client_name: 'x' } }),
      failStatus: 401,
    },
    {
      name: 'RFC 7592 (registration access token)',
      fail: (ip) => from(b, ip, { method: 'GET', url: `/oauth2/register/${c.client_id}`, headers: { authorization: 'Bearer not-the-registration-token' } }),
      ok: (ip) => from(b, ip, { method: 'GET', url: `/oauth2/register/${c.client_id}`, headers: { authorization: `Bearer ${c.registration_access_token}` } }),
      failStatus: 401,
    },
  ];

  let n = 0;
  for (const e of endpoints) {
    const ip = `203.0.113.${100 + n++}`;
    const sequence = await statuses(31, () => e.fail(ip));
    t.same(sequence, new Array<number>(31).fill(e.failStatus), `${e.name}: 31 failures answered ${e.failStatus}`);
    checkThrottled(t, await e.fail(ip), `${e.name}: the next failure`, '60');
    checkThrottled(t, await e.ok(ip), `${e.name}: the right credential from the blocked source`, '60');
    const elsewhere = await e.ok(`198.51.100.${n}`);
    t.ok(elsewhere.statusCode >= 200 && elsewhere.statusCode < 300, `${e.name}: the right credential from another source: ${elsewhere.statusCode}`);
  }
  // The admin API's own audit of refused calls leaves the 429s to the limiter: one kind of row for them.
  await b.rt.refusalAudit.flush();
  const refused = (await b.rt.audit.list(1000, null, { actor: 'unauthenticated' })).items;
  t.same([...new Set(refused.filter((r) => (r.detail as { status?: number } | null)?.status === 429).map((r) => r.action))], ['auth.throttled'], 'every audited 429 is an auth.throttled row');
  const samples = parseMetrics(await b.rt.metrics.registry.metrics());
  for (const endpoint of ['introspection', 'revocation', 'revocation_feed', 'admin', 'registration'])
    t.ok(sampleValue(samples, 'tokenmill_auth_throttled_total', { endpoint }) >= 2, `tokenmill_auth_throttled_total{endpoint="${endpoint}"}`);

  // One count per source, whatever the endpoint: 10 + 10 + 11 failures spread over three endpoints block it everywhere.
  const ip = '203.0.113.250';
  const adminFail = () => from(b, ip, { method: 'GET', url: '/admin/v1/clients', headers: { authorization: 'Bearer not-the-admin-token' } });
  const registrationFail = () => from(b, ip, { method: 'GET', url: `/oauth2/register/${c.client_id}`, headers: { authorization: 'Bearer not-the-registration-token' } });
  t.same(await statuses(10, () => token(b, ip, c.client_id, 'wrong')), new Array<number>(10).fill(401), '10 failures at the token endpoint');
  t.same(await statuses(10, adminFail), new Array<number>(10).fill(401), '10 at the admin API');
  t.same(await statuses(11, registrationFail), new Array<number>(11).fill(401), '11 at registration');
  checkThrottled(t, await token(b, ip, c.client_id, secret), 'then the token endpoint, with the right secret', '60');
  const admin = await from(b, ip, { method: 'GET', url: '/admin/v1/clients', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  checkThrottled(t, admin, 'and the admin API, with the right token', '60');

  // Not counted: what is not a failed authentication (a 400, a 403, a success).
  const clean = '198.51.100.77';
  const bad = await statuses(40, () => from(b, clean, { method: 'POST', url: '/oauth2/token', headers: { 'content-type': FORM }, payload: form({ grant_type: 'password' }) }));
  t.same(bad, new Array<number>(40).fill(400), 'malformed requests (400) are not counted');
  const ok = await statuses(40, () => token(b, clean, c.client_id, secret));
  t.same(ok, new Array<number>(40).fill(200), 'nor are successes');
});

t.test('private_key_jwt: bad assertions count; the assertion of a blocked source is never verified nor its jti claimed', async (t) => {
  const b = await build(t, LIMIT);
  const key = await clientKey('ES256');
  const other = await clientKey('ES256');
  const c = await register(b.app, { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [key.publicJwk] } });
  const now = Math.floor(b.clock.now() / 1000);
  const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
  const send = (ip: string, jws: string) =>
    from(b, ip, {
      method: 'POST',
      url: '/oauth2/token',
      headers: { 'content-type': FORM },
      payload: form({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: jws }),
    });
  const ATTACKER = '203.0.113.60';
  const seq: number[] = [];
  for (let i = 0; i < 31; i++) seq.push((await send(ATTACKER, await assertion(other, c.client_id, ISSUER, now))).statusCode);
  t.same(seq, new Array<number>(31).fill(401), '31 assertions signed by a key the client does not have: 401');
  let claims = 0;
  const claim = b.rt.replay.claim.bind(b.rt.replay);
  b.rt.replay.claim = (...args: Parameters<typeof claim>) => {
    claims++;
    return claim(...args);
  };
  const good = await assertion(key, c.client_id, ISSUER, now);
  checkThrottled(t, await send(ATTACKER, good), 'a valid assertion from the blocked source', '60');
  t.equal(claims, 0, 'its jti was not claimed (the assertion was never verified)');
  const elsewhere = await send('198.51.100.60', good);
  t.equal(elsewhere.statusCode, 200, 'the same assertion from another source: 200 (it was not used up by the refused request)');
  t.equal(claims, 1, 'claimed once, there');
});

t.test('X-Forwarded-For is the key only with TRUST_PROXY', async (t) => {
  t.test('TRUST_PROXY off: a spoofed X-Forwarded-For does not escape the block', async (t) => {
    const b = await build(t, LIMIT);
    const c = await register(b.app);
    let i = 0;
    const spoofed = () => ({ 'x-forwarded-for': `10.9.${i >> 8}.${i++ & 255}` });
    const seq = await statuses(31, () => token(b, '192.0.2.50', c.client_id, 'wrong', spoofed()));
    t.same(seq, new Array<number>(31).fill(401), '31 failures, each with another X-Forwarded-For');
    checkThrottled(t, await token(b, '192.0.2.50', c.client_id, c.client_secret as string, spoofed()), 'a fresh X-Forwarded-For does not help', '60');
  });

  t.test('TRUST_PROXY on: the forwarded client address is the source', async (t) => {
    const b = await build(t, { ...LIMIT, TRUST_PROXY: 'true' });
    const c = await register(b.app);
    const proxy = '127.0.0.1';
    const seq = await statuses(31, () => token(b, proxy, c.client_id, 'wrong', { 'x-forwarded-for': '203.0.113.9' }));
    t.same(seq, new Array<number>(31).fill(401), '31 failures forwarded for 203.0.113.9');
    checkThrottled(t, await token(b, proxy, c.client_id, c.client_secret as string, { 'x-forwarded-for': '203.0.113.9' }), '203.0.113.9 is blocked', '60');
    const other = await token(b, proxy, c.client_id, c.client_secret as string, { 'x-forwarded-for': '198.51.100.9' });
    t.equal(other.statusCode, 200, 'another client behind the same proxy is not');
  });
});

t.test('IPv6: a source is counted by its /64', async (t) => {
  const b = await build(t, LIMIT);
  const c = await register(b.app);
  let i = 1;
  const seq = await statuses(31, () => token(b, `2001:db8:1:2::${(i++).toString(16)}`, c.client_id, 'wrong'));
  t.same(seq, new Array<number>(31).fill(401), '31 failures from 31 addresses of one /64');
  checkThrottled(t, await token(b, '2001:db8:1:2:ffff::1', c.client_id, c.client_secret as string), 'a 32nd address of that /64', '60');
  t.equal((await token(b, '2001:db8:1:3::1', c.client_id, c.client_secret as string)).statusCode, 200, 'the next /64 is another source');
  t.equal((await token(b, '::ffff:192.0.2.1', c.client_id, c.client_secret as string)).statusCode, 200, 'an IPv4-mapped address is its IPv4 source');
});

t.test('the block ends: window and block expire on real time', async (t) => {
  // The counters run on real time (rate-limiter-flexible), so this server's clock is the real one.
  const realClock = new (class extends TestClock {
    override now(): number {
      return Date.now();
    }
  })();
  const b = await build(t, { AUTH_FAILURE_MAX: '2', AUTH_FAILURE_WINDOW: '1', AUTH_FAILURE_BLOCK: '1' }, { clock: realClock });
  const c = await register(b.app);
  const ip = '192.0.2.77';
  t.same(await statuses(3, () => token(b, ip, c.client_id, 'wrong')), [401, 401, 401], 'three failures (MAX = 2): the third starts the block');
  checkThrottled(t, await token(b, ip, c.client_id, c.client_secret as string), 'blocked', '1');
  const unblocked = await pollUntil(async () => (await token(b, ip, c.client_id, c.client_secret as string)).statusCode === 200, { timeoutMs: 10_000, intervalMs: 100 });
  t.ok(unblocked.ok, `the right secret works again once the block is over (${unblocked.elapsed.toFixed(0)} ms)`);
  t.same(await statuses(2, () => token(b, ip, c.client_id, 'wrong')), [401, 401], 'a fresh window: two failures are allowed again');
  t.equal((await token(b, ip, c.client_id, c.client_secret as string)).statusCode, 200, 'and do not block');
});

t.test('AUTH_FAILURE_MAX=0 turns the limit off', async (t) => {
  const b = await build(t, { AUTH_FAILURE_MAX: '0' });
  const c = await register(b.app);
  const seq = await statuses(60, () => token(b, '192.0.2.99', c.client_id, 'wrong'));
  t.same(seq, new Array<number>(60).fill(401), '60 failures: all 401, none 429');
  t.equal((await token(b, '192.0.2.99', c.client_id, c.client_secret as string)).statusCode, 200, 'and the right secret works');
  t.equal(b.rt.authFailures.enabled, false, 'the limiter is off');
});
