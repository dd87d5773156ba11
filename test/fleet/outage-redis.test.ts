// Redis dies under a running node and comes back EMPTY (no persistence): threat model §3.1, contract
// "Failure behaviour". During the outage nothing that needs the revocation list or the replay
// cache answers a wrong 200; secret clients keep getting tokens. Afterwards, without a restart,
// everything works again and revocations made before the outage are re-seeded from PostgreSQL.
import t, { type Test } from 'tap';
import { assertion, clientKey } from '../fixtures/assertion.js';
import { backendOrSkip, pgTestDatabase } from '../helpers/backends.js';
import { randomBytes } from 'node:crypto';
import { pollUntil } from '../helpers/time.js';
import { fetchJson, fleetSecrets, hasBinary, introspect, registerOk, revoke, startNode, throwawayRedis, tokenAssertion, tokenBasic, type JsonResponse } from './support.js';

t.setTimeout(180_000);

const API = 'https://api.outage.example';

function checkUnavailable(t: Test, res: JsonResponse, what: string): void {
  t.equal(res.status, 503, `${what}: 503`);
  t.equal(res.body?.error, 'temporarily_unavailable', `${what}: temporarily_unavailable`);
  t.match(res.headers.get('retry-after') ?? '', /^\d+$/, `${what}: Retry-After`);
  t.match(res.headers.get('cache-control') ?? '', /no-store/, `${what}: Cache-Control: no-store`);
  t.equal(res.headers.get('pragma'), 'no-cache', `${what}: Pragma: no-cache`);
}

t.test('Redis killed and restarted empty under a running node', async (t) => {
  const pgUrl = backendOrSkip(t, 'postgres');
  if (!pgUrl) return;
  if (!hasBinary('redis-server')) {
    t.skip('redis-server is not on PATH: this suite starts and kills its own Redis', () => {});
    return;
  }
  const databaseUrl = await pgTestDatabase(t);
  const redis = await throwawayRedis(t);
  const secrets = fleetSecrets();
  const ADMIN = secrets.ADMIN_TOKEN;
  const node = await startNode(t, { name: 'node', env: { ...secrets, DATABASE_URL: databaseUrl, REDIS_URL: redis.url, REDIS_KEY_PREFIX: `tmtest:${randomBytes(6).toString('hex')}:` } });
  const issuer = node.url;

  const basic = await registerOk(node, ADMIN, { client_name: 'outage-basic', scope: 'api:read', audience: [API] });
  const key = await clientKey('ES256');
  const pk = await registerOk(node, ADMIN, { client_name: 'outage-pkjwt', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [key.publicJwk] }, scope: 'api:read', audience: [API] });
  const now = () => Math.floor(Date.now() / 1000);

  const t1: string = (await tokenBasic(node, basic.client_id, basic.client_secret)).body.access_token;
  t.equal((await revoke(node, basic.client_id, basic.client_secret, t1)).status, 200, 'T1 revoked before the outage');
  t.same((await introspect(node, ADMIN, t1)).body, { active: false }, 'T1 inactive');
  const t2: string = (await tokenBasic(node, basic.client_id, basic.client_secret)).body.access_token;
  t.equal((await introspect(node, ADMIN, t2)).body?.active, true, 'T2 active before the outage');
  // An assertion used before the outage: single use until its exp "on every node" (contract), also across the outage.
  const usedBefore = await assertion(key, pk.client_id, issuer, now(), { exp: now() + 240 });
  t.equal((await tokenAssertion(node, usedBefore)).status, 200, 'private_key_jwt works before the outage');
  t.equal((await tokenAssertion(node, usedBefore)).status, 401, 'and its replay is refused');

  // ---- outage --------------------------------------------------------------------------------
  await redis.kill();
  const noticed = await pollUntil(async () => (await fetchJson(`${node.url}/readyz`)).status === 503, { timeoutMs: 5000, intervalMs: 50 });
  t.ok(noticed.ok, `readiness turns 503 (${noticed.elapsed.toFixed(0)} ms after SIGKILL)`);

  t.test('during the outage', async (t) => {
    const ready = await fetchJson(`${node.url}/readyz`);
    t.equal(ready.status, 503, '/readyz 503');
    t.equal(ready.body?.checks?.redis, 'unavailable', 'checks.redis = unavailable');
    t.equal(ready.body?.checks?.database, 'ok', 'checks.database = ok');

    const i2 = await introspect(node, ADMIN, t2);
    checkUnavailable(t, i2, 'introspection of an active token');
    t.notOk(i2.text.includes('"active":true'), 'never active:true unchecked');
    const i1 = await introspect(node, ADMIN, t1);
    checkUnavailable(t, i1, 'introspection of a revoked token');

    const r = await revoke(node, basic.client_id, basic.client_secret, t2);
    checkUnavailable(t, r, 'revocation');
    t.not(r.status, 200, 'revocation never says 200 without having stored it');

    const pkRes = await tokenAssertion(node, await assertion(key, pk.client_id, issuer, now()));
    checkUnavailable(t, pkRes, 'private_key_jwt token request (no replay check possible)');
    t.notOk(pkRes.body?.access_token, 'no token');

    const sec = await tokenBasic(node, basic.client_id, basic.client_secret);
    t.equal(sec.status, 200, 'client_secret_basic token request keeps working');
    t.ok(sec.body?.access_token, 'a token');

    const jwks = await fetchJson(`${node.url}/.well-known/jwks.json`);
    t.equal(jwks.status, 200, 'JWKS keeps working');
    t.equal((await fetchJson(`${node.url}/healthz`)).status, 200, '/healthz (alive) keeps working');
  });

  t.test('Redis back, empty, on the same port: recovery without a restart', async (t) => {
    await redis.start();
    const since = performance.now();
    let last = '';
    const back = await pollUntil(
      async () => {
        const res = await introspect(node, ADMIN, t1);
        last = `${res.status} ${res.text}`;
        return res.status === 200;
      },
      { timeoutMs: 15_000, intervalMs: 50, since },
    );
    t.ok(back.ok, `introspection answers again (${back.elapsed.toFixed(0)} ms after Redis restarted; last ${last})`);
    t.ok(back.elapsed < 5000, 'within 5 s');
    t.same((await introspect(node, ADMIN, t1)).body, { active: false }, 'T1 is STILL inactive: re-seeded from PostgreSQL');

    const t3 = await tokenBasic(node, basic.client_id, basic.client_secret);
    t.equal(t3.status, 200);
    const i3 = await introspect(node, ADMIN, t3.body.access_token);
    t.equal(i3.status, 200);
    t.equal(i3.body?.active, true, 'a new token is active');
    const r3 = await revoke(node, basic.client_id, basic.client_secret, t3.body.access_token);
    t.equal(r3.status, 200, 'revocation works');
    t.same((await introspect(node, ADMIN, t3.body.access_token)).body, { active: false }, 'and takes effect');

    // Redis came back without its replay markers: for a while, assertions whose iat is at most 10 s
    // after the loss (REQ-J6 future skew) may have been used before it and are refused.
    const pkBack = await pollUntil(async () => (await tokenAssertion(node, await assertion(key, pk.client_id, issuer, now()))).status === 200, { timeoutMs: 15_000, intervalMs: 100 });
    t.ok(pkBack.ok, `private_key_jwt works again (${pkBack.elapsed.toFixed(0)} ms later)`);
    const a = await assertion(key, pk.client_id, issuer, now());
    t.equal((await tokenAssertion(node, a)).status, 200);
    t.equal((await tokenAssertion(node, a)).status, 401, 'and replay detection with it');

    const ready = await pollUntil(async () => (await fetchJson(`${node.url}/readyz`)).status === 200, { timeoutMs: 5000, intervalMs: 50 });
    t.ok(ready.ok, '/readyz 200 again');
    const body = (await fetchJson(`${node.url}/readyz`)).body;
    t.equal(body?.checks?.redis, 'ok', 'checks.redis = ok');
  });

  // contract: the assertion jti is "single-use until exp on every node"; threat model C7 / §3.1: never a token
  // whose replay check was skipped. Redis came back without its replay markers, so a marker written
  // before the outage is gone: the server must still refuse the replay (or answer 503 until it can tell).
  t.test('an assertion used before the outage stays single-use after Redis came back empty', async (t) => {
    const replay = await tokenAssertion(node, usedBefore);
    t.not(replay.status, 200, 'no token for a replayed assertion', replay.status === 200 ? { got: 200, token_issued: Boolean(replay.body?.access_token) } : {});
    t.ok(
      (replay.status === 401 && replay.body?.error === 'invalid_client') || (replay.status === 503 && replay.body?.error === 'temporarily_unavailable'),
      'refused: 401 invalid_client (a replay), or 503 temporarily_unavailable while replays cannot be ruled out',
      { got: `${replay.status} ${replay.body?.error ?? ''}` },
    );
  });

  t.test('SIGTERM after the outage: exit 0', async (t) => {
    t.same(await node.stop(), { code: 0, signal: null });
  });
});
