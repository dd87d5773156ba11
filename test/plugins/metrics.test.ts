// Issue 16 item 7: the domain metrics on /metrics (admin listener) count what was asked of them:
// token requests by auth method and result, tokens issued, client-auth failures by coarse reason,
// revocations, the client cache, signing keys, the replay window, the revocation feed, database
// latency; and the standard process metric names are kept.
import t from 'tap';
import { ADMIN_TOKEN, ISSUER, TestClock, basic, build, form, register, tokenRequest } from '../helper.js';
import { assertion, clientKey } from '../fixtures/assertion.js';
import { parseMetrics, sampleValue, type Sample } from '../helpers/prometheus.js';

const b = await build(t);
const adminApp = b.apps.admin ?? b.app;
const scrape = async (): Promise<Sample[]> => {
  const res = await adminApp.inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain/);
  return parseMetrics(res.body);
};
const nowSeconds = (): number => Math.floor(b.clock.now() / 1000);
const TOKEN = 'tokenmill_token_requests_total';
const FAIL = 'tokenmill_client_auth_failures_total';

t.test('the public listener has no /metrics', async (t) => {
  t.ok(b.apps.admin, 'separate admin listener');
  t.equal((await b.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404);
});

t.test('standard process metric names, without a prefix', async (t) => {
  const names = new Set((await scrape()).map((s) => s.name));
  for (const n of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes'])
    t.ok(names.has(n), n);
  t.notOk(
    [...names].some((n) => n.startsWith('tokenmill_process_') || n.startsWith('tokenmill_nodejs_')),
    'no prefixed defaults',
  );
});

t.test('token requests, tokens issued and client-auth failures', async (t) => {
  const before = await scrape();
  const secretClient = await register(b.app, { client_name: 'm-basic' });
  const postClient = await register(b.app, { client_name: 'm-post', token_endpoint_auth_method: 'client_secret_post' });
  const key = await clientKey();
  const jwtClient = await register(b.app, { client_name: 'm-jwt', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [key.publicJwk] } });
  const auth = basic(secretClient.client_id, secretClient.client_secret as string);

  for (let i = 0; i < 3; i++) t.equal((await tokenRequest(b.app, { grant_type: 'client_credentials' }, { authorization: auth })).statusCode, 200);
  t.equal((await tokenRequest(b.app, { grant_type: 'client_credentials', scope: 'nope' }, { authorization: auth })).statusCode, 400, 'invalid_scope');
  t.equal((await tokenRequest(b.app, { grant_type: 'client_credentials', client_id: postClient.client_id, client_secret: postClient.client_secret as string })).statusCode, 200);
  const a = await assertion(key, jwtClient.client_id, ISSUER, nowSeconds());
  const jwtParams = { grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: a };
  t.equal((await tokenRequest(b.app, jwtParams)).statusCode, 200);
  t.equal((await tokenRequest(b.app, jwtParams)).statusCode, 401, 'replayed assertion');
  // Failures of each class.
  t.equal((await tokenRequest(b.app, { grant_type: 'client_credentials' }, { authorization: basic(secretClient.client_id, 'tmsec_wrong') })).statusCode, 401, 'wrong secret');
  t.equal((await tokenRequest(b.app, { grant_type: 'client_credentials' }, { authorization: basic('no-such-client', 'tmsec_wrong') })).statusCode, 401, 'unknown client');
  t.equal((await tokenRequest(b.app, { grant_type: 'client_credentials' }, { authorization: basic(postClient.client_id, postClient.client_secret as string) })).statusCode, 401, 'method mismatch');
  t.equal((await tokenRequest(b.app, { grant_type: 'client_credentials', client_id: secretClient.client_id })).statusCode, 401, 'no credentials');
  t.equal(
    (await tokenRequest(b.app, { grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: 'a.b.c' })).statusCode,
    401,
    'bad assertion',
  );
  // A secret that expired.
  const rotated = await adminApp.inject({
    method: 'POST',
    url: `/admin/v1/clients/${secretClient.client_id}/secrets`,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    payload: { expires_in: 1 },
  });
  t.equal(rotated.statusCode, 201);
  b.clock.advance(2_000);
  t.equal(
    (await tokenRequest(b.app, { grant_type: 'client_credentials' }, { authorization: basic(secretClient.client_id, (rotated.json() as { client_secret: string }).client_secret) })).statusCode,
    401,
    'expired secret',
  );
  // A disabled client.
  t.equal(
    (
      await adminApp.inject({
        method: 'PATCH',
        url: `/admin/v1/clients/${postClient.client_id}`,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        payload: { status: 'disabled' },
      })
    ).statusCode,
    200,
  );
  t.equal((await tokenRequest(b.app, { grant_type: 'client_credentials', client_id: postClient.client_id, client_secret: postClient.client_secret as string })).statusCode, 401, 'disabled');
  // Introspection with a bad admin bearer.
  t.equal(
    (
      await b.app.inject({
        method: 'POST',
        url: '/oauth2/introspect',
        headers: { authorization: 'Bearer not-the-admin-token', 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ token: 'x' }),
      })
    ).statusCode,
    401,
  );

  const after = await scrape();
  const delta = (name: string, labels: Record<string, string> = {}) => sampleValue(after, name, labels) - sampleValue(before, name, labels);
  t.equal(delta(TOKEN, { auth_method: 'client_secret_basic', result: 'success' }), 3);
  t.equal(delta(TOKEN, { auth_method: 'client_secret_basic', result: 'invalid_scope' }), 1);
  t.equal(delta(TOKEN, { auth_method: 'client_secret_basic', result: 'invalid_client' }), 4, 'wrong, unknown, mismatch, expired');
  t.equal(delta(TOKEN, { auth_method: 'client_secret_post', result: 'success' }), 1);
  t.equal(delta(TOKEN, { auth_method: 'client_secret_post', result: 'invalid_client' }), 1, 'disabled');
  t.equal(delta(TOKEN, { auth_method: 'private_key_jwt', result: 'success' }), 1);
  t.equal(delta(TOKEN, { auth_method: 'private_key_jwt', result: 'invalid_client' }), 2, 'replay, bad assertion');
  t.equal(delta(TOKEN, { auth_method: 'none', result: 'invalid_client' }), 1);
  t.equal(delta('tokenmill_tokens_issued_total'), 5);
  t.same(
    Object.fromEntries(['secret', 'expired_secret', 'assertion', 'replay', 'method_mismatch', 'disabled', 'missing', 'bearer'].map((r) => [r, delta(FAIL, { reason: r })])),
    { secret: 2, expired_secret: 1, assertion: 1, replay: 1, method_mismatch: 1, disabled: 1, missing: 1, bearer: 1 },
    'one failure of each reason class; unknown client and wrong secret are one class',
  );
  t.notOk(
    after.some((s) => Object.values(s.labels).some((v) => v === secretClient.client_id || v === postClient.client_id || v === jwtClient.client_id)),
    'no client_id in any label',
  );
  t.equal(delta('tokenmill_http_requests_total', { route: '/oauth2/token', status: '200', error: '' }), 5);
});

t.test('revocations, the revocation feed and the client cache', async (t) => {
  const before = await scrape();
  const c = await register(b.app, { client_name: 'm-rev' });
  const auth = basic(c.client_id, c.client_secret as string);
  const tok = (await tokenRequest(b.app, { grant_type: 'client_credentials' }, { authorization: auth })).json() as { access_token: string };
  t.equal((await tokenRequest(b.app, { grant_type: 'client_credentials' }, { authorization: auth })).statusCode, 200);
  t.equal(
    (await b.app.inject({ method: 'POST', url: '/oauth2/revoke', headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ token: tok.access_token }) }))
      .statusCode,
    200,
  );
  t.equal(
    (await adminApp.inject({ method: 'POST', url: `/admin/v1/clients/${c.client_id}/revoke-tokens`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).statusCode < 300,
    true,
    'client-wide revocation',
  );
  t.equal((await tokenRequest(b.app, { grant_type: 'client_credentials' }, { authorization: basic('unknown-twice', 'tmsec_x') })).statusCode, 401);
  t.equal((await tokenRequest(b.app, { grant_type: 'client_credentials' }, { authorization: basic('unknown-twice', 'tmsec_x') })).statusCode, 401);
  const feed = await b.app.inject({ method: 'GET', url: '/oauth2/revocations', headers: { authorization: auth } });
  t.equal(feed.statusCode, 200);
  t.equal((feed.json() as { has_more: boolean }).has_more, false);

  const after = await scrape();
  const delta = (name: string, labels: Record<string, string> = {}) => sampleValue(after, name, labels) - sampleValue(before, name, labels);
  t.equal(delta('tokenmill_revocations_total', { type: 'token' }), 1);
  t.equal(delta('tokenmill_revocations_total', { type: 'client' }), 1);
  t.ok(delta('tokenmill_client_cache_requests_total', { result: 'hit' }) >= 2, 'cache hits');
  t.ok(delta('tokenmill_client_cache_requests_total', { result: 'miss' }) >= 1, 'cache misses');
  t.equal(delta('tokenmill_client_cache_requests_total', { result: 'negative_hit' }), 1, 'the second unknown lookup is a negative hit');
  t.equal(delta('tokenmill_revocation_feed_polls_total', { result: 'caught_up' }), 1);
  t.equal(sampleValue(after, 'tokenmill_revocation_feed_last_caught_up_timestamp_seconds'), nowSeconds());
});

t.test('signing keys, replay window, database', async (t) => {
  const samples = await scrape();
  const keys = samples.filter((s) => s.name === 'tokenmill_signing_key_age_seconds');
  const active = b.rt.keyring.all().filter((k) => b.rt.keyring.stateOf(k) === 'active');
  t.ok(active.length >= 1);
  for (const k of active) t.equal(sampleValue(keys, 'tokenmill_signing_key_age_seconds', { kid: k.kid, state: 'active' }), Math.max(0, (b.clock.now() - k.createdAt) / 1000), `age of ${k.kid}`);
  t.equal(sampleValue(samples, 'tokenmill_signing_key_rotation_interval_seconds'), b.config.keyRotationInterval);
  t.equal(sampleValue(samples, 'tokenmill_replay_untrusted_window_open'), 0, 'a new in-memory database: no loss');
  t.ok(sampleValue(samples, 'tokenmill_db_query_duration_seconds_count') > 10, 'statements timed');
  t.equal(sampleValue(samples, 'tokenmill_db_errors_total', { kind: 'unavailable' }), 0);
});

t.test('the replay window gauge follows the replay cache', async (t) => {
  // The embedded store dates a loss from the process start: a clock near real time sees the window.
  const b2 = await build(t, {}, { persistent: true, clock: new TestClock(Date.now()) });
  await b2.apps.public.close();
  await b2.apps.admin?.close();
  await b2.rt.close();
  // A restart on the same database: the previous process's replay markers are lost.
  const b3 = await build(t, {}, { dataDir: b2.dataDir, persistent: true, clock: b2.clock });
  const res = await (b3.apps.admin ?? b3.app).inject({ method: 'GET', url: '/metrics' });
  t.equal(sampleValue(parseMetrics(res.body), 'tokenmill_replay_untrusted_window_open'), 1);
});

t.test('an unauthenticated caller cannot grow the metric series: random paths, methods and bogus clients fall into bounded labels', async (t) => {
  const series = async () => new Set((await scrape()).filter((s) => s.name.startsWith('tokenmill_')).map((s) => `${s.name}${JSON.stringify(s.labels)}`)).size;
  // Warm every label combination these requests can reach once, then repeat with new random values.
  const hostile = async (i: number) => {
    await b.app.inject({ method: 'GET', url: `/random-${i}-${Math.random().toString(36).slice(2)}?x=${i}` });
    await b.app.inject({ method: 'POST', url: `/oauth2/token/${i}` });
    await tokenRequest(b.app, { grant_type: 'client_credentials' }, { authorization: basic(`tmc_unknown_${i}`, `secret-${i}`) });
    await tokenRequest(b.app, { grant_type: `made-up-${i}` }, { authorization: basic(`tmc_unknown_${i}`, `secret-${i}`) });
  };
  await hostile(0);
  const before = await series();
  for (let i = 1; i <= 200; i++) await hostile(i);
  t.equal(await series(), before, '800 more hostile requests add no series');
});
