// Token quotas at the token endpoint (docs/contract.md "Quotas"): exact 429 bodies and headers,
// RateLimit headers on success, UTC window boundaries through the injected clock, enforce: false
// (never refuses, logs once per window), the admin PATCH (validated; bad input changes nothing),
// RFC 7592 self-service (cannot read or change the quota), usage, top list and metrics.
import t from 'tap';
import type { Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { ADMIN_TOKEN, build, register, type RegisteredClient } from '../helper.js';
import { admin, adminApp, tokenBasic } from '../admin/support.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0); // the TestClock's start: 12:00:00 UTC

const b = await build(t);
const { app, rt, clock, logs } = b;
const api = adminApp(b);

const token = (c: RegisteredClient) => tokenBasic(app, c.client_id, c.client_secret!);
const view = async (id: string) => (await admin(api, 'GET', `/admin/v1/clients/${id}`)).json() as Record<string, unknown>;
async function setQuota(id: string, quota: unknown): Promise<LightMyRequestResponse> {
  return admin(api, 'PATCH', `/admin/v1/clients/${id}`, { token_quota: quota });
}

function expect429(t: Test, res: LightMyRequestResponse, description: string, retryAfter: number, policy: string, rateLimit: string): void {
  t.equal(res.statusCode, 429, '429');
  t.same(res.json(), { error: 'too_many_requests', error_description: description }, 'exact body');
  t.equal(res.headers['retry-after'], String(retryAfter), 'Retry-After');
  t.equal(res.headers['cache-control'], 'no-store', 'Cache-Control: no-store');
  t.equal(res.headers.pragma, 'no-cache', 'Pragma: no-cache');
  t.equal(res.headers['ratelimit-policy'], policy, 'RateLimit-Policy');
  t.equal(res.headers.ratelimit, rateLimit, 'RateLimit');
  t.notOk(res.headers['www-authenticate'], 'no challenge');
}
function expect200(t: Test, res: LightMyRequestResponse, policy: string | undefined, rateLimit: string | undefined): void {
  t.equal(res.statusCode, 200, `200 (${res.body.slice(0, 80)})`);
  t.equal(res.headers['cache-control'], 'no-store');
  t.equal(res.headers['ratelimit-policy'], policy, 'RateLimit-Policy');
  t.equal(res.headers.ratelimit, rateLimit, 'RateLimit');
}

t.test('enforce: true — headers on success, exact 429, and the UTC hour boundary', async (t) => {
  clock.set(T0);
  const c = await register(app);
  const patched = await setQuota(c.client_id, { per_hour: 3, per_day: 10, enforce: true });
  t.equal(patched.statusCode, 200, patched.body);
  t.same(patched.json().token_quota, { per_hour: 3, per_day: 10, enforce: true }, 'stored as sent');
  t.same(patched.json().effective_token_quota, { per_hour: 3, per_day: 10, enforce: true, source: 'client' });
  const policy = '"hour";q=3;w=3600, "day";q=10;w=86400';

  expect200(t, await token(c), policy, '"hour";r=2;t=3600');
  clock.advance(1800_000); // 12:30:00
  expect200(t, await token(c), policy, '"hour";r=1;t=1800');
  expect200(t, await token(c), policy, '"hour";r=0;t=1800');
  const refused = await token(c);
  expect429(t, refused, 'token quota exceeded: at most 3 tokens per hour; retry after 1800 seconds', 1800, policy, '"hour";r=0;t=1800');

  clock.set(T0 + HOUR - 1000); // 12:59:59.000, the last second of the hour
  expect429(t, await token(c), 'token quota exceeded: at most 3 tokens per hour; retry after 1 seconds', 1, policy, '"hour";r=0;t=1');
  clock.set(T0 + HOUR - 1); // 12:59:59.999
  t.equal((await token(c)).statusCode, 429, 'still refused a millisecond before the hour ends');
  clock.set(T0 + HOUR); // 13:00:00.000, the first second of the next
  // hour: 1 of 3 used; day: 4 of 10 (the refusals were not counted): the hour has fewer left.
  expect200(t, await token(c), policy, '"hour";r=2;t=3600');
  t.ok(logs.filter((l) => l.includes('token quota reached') && l.includes(c.client_id)).length === 1, 'the refusal is logged once for the window');
  const metric = await rt.metrics.registry.getSingleMetricAsString('tokenmill_quota_rejections_total');
  t.match(metric, /tokenmill_quota_rejections_total\{window="hour"\} 3\b/, 'three refusals counted under window="hour"');
  t.match(metric, /tokenmill_quota_rejections_total\{window="second"\} 0\b/);
});

t.test('the tightest window is the one with the fewest tokens left; the day refuses until midnight UTC', async (t) => {
  clock.set(T0 + 5 * HOUR); // 17:00
  const c = await register(app);
  t.equal((await setQuota(c.client_id, { per_second: 5, per_hour: 100, per_day: 2, enforce: true })).statusCode, 200);
  const policy = '"second";q=5;w=1, "hour";q=100;w=3600, "day";q=2;w=86400';
  expect200(t, await token(c), policy, '"day";r=1;t=25200');
  expect200(t, await token(c), policy, '"day";r=0;t=25200');
  expect429(t, await token(c), 'token quota exceeded: at most 2 tokens per day; retry after 25200 seconds', 25200, policy, '"day";r=0;t=25200');
  clock.set(Date.UTC(2026, 10, 24, 0, 0, 0));
  expect200(t, await token(c), policy, '"day";r=1;t=86400');
});

t.test('enforce: false never refuses, sends the headers and logs once per client and window', async (t) => {
  clock.set(T0 + 7 * HOUR);
  const c = await register(app);
  t.equal((await setQuota(c.client_id, { per_second: 2, enforce: false })).statusCode, 200);
  const before = logs.length;
  const remaining = ['1', '0', '0', '0', '0'];
  for (const r of remaining) expect200(t, await token(c), '"second";q=2;w=1', `"second";r=${r};t=1`);
  const lines = () => logs.slice(before).filter((l) => l.includes('token quota exceeded (enforce: false)') && l.includes(c.client_id));
  t.equal(lines().length, 1, 'one line for the window');
  const line = JSON.parse(lines()[0]!) as Record<string, unknown>;
  t.match(line, { level: 40, client_id: c.client_id, window: 'second', limit: 2, used: 3 });
  clock.advance(1000);
  for (let i = 0; i < 4; i++) t.equal((await token(c)).statusCode, 200);
  t.equal(lines().length, 2, 'one more line for the next window, not one per request');
});

t.test('no quota: no RateLimit headers', async (t) => {
  const c = await register(app);
  expect200(t, await token(c), undefined, undefined);
  t.same((await view(c.client_id)).token_quota, null);
  t.same((await view(c.client_id)).effective_token_quota, null, 'no default configured: unlimited');
  // A quota without limits exempts the client (from a default too): no headers either.
  t.equal((await setQuota(c.client_id, { enforce: true })).statusCode, 200);
  expect200(t, await token(c), undefined, undefined);
});

t.test('PATCH token_quota: bad shapes are 400 with the member named, and change nothing', async (t) => {
  const c = await register(app);
  t.equal((await setQuota(c.client_id, { per_hour: 7, enforce: true })).statusCode, 200);
  const stored = await view(c.client_id);
  const cases: [unknown, string][] = [
    [{ per_hour: 0, enforce: true }, 'token_quota.per_hour: must be >= 1'],
    [{ per_hour: 1.5, enforce: true }, 'token_quota.per_hour: must be integer'],
    [{ per_hour: 1_000_000_001, enforce: true }, 'token_quota.per_hour: must be <= 1000000000'],
    [{ per_hour: '10', enforce: true }, 'token_quota.per_hour: must be integer'],
    [{ per_hour: 10 }, "token_quota.enforce: must have required property 'enforce'"],
    [{ per_minute: 10, enforce: true }, 'token_quota.per_minute: is not a known field'],
    [{ per_hour: 10, enforce: 'yes' }, 'token_quota.enforce: must be boolean'],
    ['1000', 'token_quota: must be object'],
    [[], 'token_quota: must be object'],
  ];
  for (const [quota, description] of cases) {
    const res = await setQuota(c.client_id, quota);
    t.equal(res.statusCode, 400, `${JSON.stringify(quota)}: 400`);
    t.same(res.json(), { error: 'invalid_request', error_description: description }, `${JSON.stringify(quota)}: ${description}`);
  }
  t.same(await view(c.client_id), stored, 'the client is unchanged');
  // null: back to the configured default (none here); recorded in the audit log like every PATCH.
  const reset = await setQuota(c.client_id, null);
  t.equal(reset.statusCode, 200);
  t.same(reset.json().token_quota, null);
  const audit = (await admin(api, 'GET', `/admin/v1/audit?action=client.update&target=${c.client_id}`)).json() as { items: { outcome: string; status: number }[] };
  t.ok(
    audit.items.some((e) => e.outcome === 'failure' && e.status === 400),
    'refused PATCHes are audited',
  );
  t.ok(
    audit.items.some((e) => e.outcome === 'success'),
    'accepted PATCHes are audited',
  );
});

t.test('RFC 7592 self-service can neither read nor change the quota; RFC 7591 registration ignores it', async (t) => {
  const c = await register(app, { token_quota: { per_hour: 1_000_000, enforce: false } });
  t.same((await view(c.client_id)).token_quota, null, 'a quota sent at registration is ignored (admin API only)');
  t.notOk('token_quota' in c, 'the registration response does not show it');
  t.equal((await setQuota(c.client_id, { per_hour: 1, enforce: true })).statusCode, 200);
  const read = await app.inject({ method: 'GET', url: `/oauth2/register/${c.client_id}`, headers: { authorization: `Bearer ${c.registration_access_token}` } });
  t.equal(read.statusCode, 200);
  t.notOk(/quota/.test(read.body), 'RFC 7592 read shows no quota');
  const { client_secret: _s, registration_access_token: _r, ...echo } = read.json() as Record<string, unknown>;
  const put = await app.inject({
    method: 'PUT',
    url: `/oauth2/register/${c.client_id}`,
    headers: { authorization: `Bearer ${c.registration_access_token}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ ...echo, token_quota: { per_hour: 1_000_000, enforce: false }, effective_token_quota: null }),
  });
  t.ok(put.statusCode === 200 || put.statusCode === 400, `answered ${put.statusCode}`);
  t.notOk(/quota/.test(put.body), 'the PUT response shows no quota');
  t.same((await view(c.client_id)).token_quota, { per_hour: 1, enforce: true }, 'the stored quota is unchanged');
  t.equal((await token(c)).statusCode, 200);
  t.equal((await token(c)).statusCode, 429, 'and still enforced');
});

t.test('usage: per hour (48) and day (30), the quota windows now, and the top list', async (t) => {
  clock.set(T0 + 30 * 24 * HOUR); // 2026-12-23T12:00Z: a fresh day and hour
  const c = await register(app, { client_name: 'busy' });
  const quiet = await register(app, { client_name: 'quiet' });
  t.equal((await setQuota(c.client_id, { per_hour: 50, per_day: 500, enforce: true })).statusCode, 200);
  clock.advance(-HOUR); // 11:00: 3 tokens in the previous hour
  for (let i = 0; i < 3; i++) t.equal((await token(c)).statusCode, 200);
  clock.advance(HOUR + 600_000); // 12:10
  for (let i = 0; i < 5; i++) t.equal((await token(c)).statusCode, 200);
  t.equal((await token(quiet)).statusCode, 200);
  const res = await admin(api, 'GET', `/admin/v1/clients/${c.client_id}/usage`);
  t.equal(res.statusCode, 200, res.body);
  const u = res.json() as { client_id: string; hours: { start: string; tokens: number }[]; days: { start: string; tokens: number }[]; quota: Record<string, unknown> };
  t.equal(u.client_id, c.client_id);
  t.equal(u.hours.length, 48);
  t.equal(u.days.length, 30);
  t.same(u.hours[47], { start: '2026-12-23T12:00:00.000Z', tokens: 5 }, 'the current hour');
  t.same(u.hours[46], { start: '2026-12-23T11:00:00.000Z', tokens: 3 }, 'the hour before');
  t.same(u.hours[0], { start: '2026-12-21T13:00:00.000Z', tokens: 0 }, 'the oldest of the 48');
  t.same(u.days[29], { start: '2026-12-23T00:00:00.000Z', tokens: 8 }, 'today');
  t.same(u.days[0], { start: '2026-11-24T00:00:00.000Z', tokens: 0 }, 'the oldest of the 30');
  t.same(u.quota, {
    hour: { limit: 50, used: 5, resets_at: '2026-12-23T13:00:00.000Z' },
    day: { limit: 500, used: 8, resets_at: '2026-12-24T00:00:00.000Z' },
  });
  const top = await admin(api, 'GET', '/admin/v1/usage/top?limit=2');
  t.equal(top.statusCode, 200);
  t.same(top.json(), {
    hour_start: '2026-12-23T12:00:00.000Z',
    items: [
      { client_id: c.client_id, client_name: 'busy', tokens: 5 },
      { client_id: quiet.client_id, client_name: 'quiet', tokens: 1 },
    ],
  });
  t.equal((await admin(api, 'GET', '/admin/v1/usage/top?limit=0')).statusCode, 400, 'limit below 1: 400');
  t.equal((await admin(api, 'GET', '/admin/v1/clients/tmc_nope/usage')).statusCode, 404, 'unknown client: 404');
  t.equal((await admin(api, 'GET', '/admin/v1/usage/top', undefined, null)).statusCode, 401, 'needs the admin token');
  // Durable: rows in token_usage, one per client and hour.
  const { rows } = await rt.sql.query<{ tokens: string }>('SELECT tokens FROM token_usage WHERE client_id = $1 ORDER BY hour_start', [c.client_id]);
  t.same(
    rows.map((r) => Number(r.tokens)),
    [3, 5],
  );
  // Maintenance prunes hours older than 32 days.
  clock.advance(33 * 24 * HOUR);
  await rt.runMaintenance();
  const after = await rt.sql.query('SELECT 1 FROM token_usage WHERE client_id = $1', [c.client_id]);
  t.equal(after.rows.length, 0, 'pruned after 32 days');
});

t.test('a configured default applies to clients without their own', async (t) => {
  const d = await build(t, { TOKEN_QUOTA_DEFAULT: 'per_hour=2,enforce=true' });
  const dapi = adminApp(d);
  const c = await register(d.app);
  const v = (await admin(dapi, 'GET', `/admin/v1/clients/${c.client_id}`)).json() as Record<string, unknown>;
  t.same(v.token_quota, null, 'no own quota');
  t.same(v.effective_token_quota, { per_hour: 2, enforce: true, source: 'default' }, 'the default, named as such');
  expect200(t, await tokenBasic(d.app, c.client_id, c.client_secret!), '"hour";q=2;w=3600', '"hour";r=1;t=3600');
  expect200(t, await tokenBasic(d.app, c.client_id, c.client_secret!), '"hour";q=2;w=3600', '"hour";r=0;t=3600');
  expect429(t, await tokenBasic(d.app, c.client_id, c.client_secret!), 'token quota exceeded: at most 2 tokens per hour; retry after 3600 seconds', 3600, '"hour";q=2;w=3600', '"hour";r=0;t=3600');
  // Its own quota replaces the default (not merged with it). A window counts from when a limit
  // applies to it: the day had no limit before, so its count starts here.
  t.equal((await admin(dapi, 'PATCH', `/admin/v1/clients/${c.client_id}`, { token_quota: { per_day: 100, enforce: true } })).statusCode, 200);
  expect200(t, await tokenBasic(d.app, c.client_id, c.client_secret!), '"day";q=100;w=86400', '"day";r=99;t=43200');
  // Back to the default with null.
  const back = await admin(dapi, 'PATCH', `/admin/v1/clients/${c.client_id}`, { token_quota: null });
  t.same(back.json().effective_token_quota, { per_hour: 2, enforce: true, source: 'default' });
  t.equal((await tokenBasic(d.app, c.client_id, c.client_secret!)).statusCode, 429);
  // Admin create may set its own.
  const created = await admin(dapi, 'POST', '/admin/v1/clients', { client_name: 'own', token_quota: { per_second: 9, enforce: false } });
  t.equal(created.statusCode, 201, created.body);
  t.same(created.json().client.token_quota, { per_second: 9, enforce: false });
  t.ok(ADMIN_TOKEN);
});
