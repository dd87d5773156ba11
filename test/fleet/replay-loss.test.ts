// Two nodes on PostgreSQL and a throwaway Redis lose the replay markers without any node
// restarting (FLUSHALL: an operator, an eviction, a deleted key), then by a Redis restart without
// persistence. A client assertion used before the loss must stay single-use on both nodes
// (RFC 7523 §3 item 7, REQ-J7), whatever its iat (REQ-J6 allows it in the future), while fresh
// assertions work again seconds later and /readyz tells the truth meanwhile.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { assertion, clientKey } from '../fixtures/assertion.js';
import { backendOrSkip, pgTestDatabase } from '../helpers/backends.js';
import { pollUntil } from '../helpers/time.js';
import { fetchJson, fleetSecrets, freePort, hasBinary, registerOk, startNode, throwawayRedis, tokenAssertion, type JsonResponse, type Node } from './support.js';
import { ASSERTION_MAX_FUTURE_IAT_SECONDS as F } from '../../src/storage/types.js';

t.setTimeout(240_000);

const API = 'https://api.replay-loss.example';
const now = () => Math.floor(Date.now() / 1000);

t.test('replay markers lost under two running nodes', async (t) => {
  const pgUrl = backendOrSkip(t, 'postgres');
  if (!pgUrl) return;
  if (!hasBinary('redis-server')) {
    t.skip('redis-server is not on PATH: this suite starts its own Redis', () => {});
    return;
  }
  const databaseUrl = await pgTestDatabase(t);
  const redis = await throwawayRedis(t);
  const secrets = fleetSecrets();
  const issuer = `http://127.0.0.1:${await freePort()}`;
  const env = { ...secrets, ISSUER: issuer, DATABASE_URL: databaseUrl, REDIS_URL: redis.url, REDIS_KEY_PREFIX: `tmtest:${randomBytes(6).toString('hex')}:` };
  const a = await startNode(t, { name: 'a', env });
  const b = await startNode(t, { name: 'b', env });
  const nodes: Node[] = [a, b];
  const key = await clientKey('ES256');
  const pk = await registerOk(a, secrets.ADMIN_TOKEN, {
    client_name: 'replay-loss',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [key.publicJwk] },
    scope: 'api:read',
    audience: [API],
  });
  const raw = new Redis(redis.url, { maxRetriesPerRequest: 1, lazyConnect: true });
  t.teardown(() => raw.disconnect());

  /** Never a token; 401 invalid_client (a replay) or 503 while the store re-seeds. */
  const refused = (res: JsonResponse): boolean => (res.status === 401 && res.body?.error === 'invalid_client') || res.status === 503;

  t.test('an assertion with iat 58 s in the future is refused outright (REQ-J6: at most 10 s)', async (t) => {
    const res = await tokenAssertion(a, await assertion(key, pk.client_id, issuer, now(), { iat: now() + 58, exp: now() + 240 }));
    t.equal(res.status, 401);
    t.equal(res.body?.error, 'invalid_client');
  });

  for (const variant of ['FLUSHALL', 'Redis restarted empty'] as const) {
    t.test(`${variant}: used assertions stay single-use at both nodes; fresh ones work again within seconds`, async (t) => {
      // Wait until an earlier variant's window no longer refuses fresh assertions.
      const clear = await pollUntil(async () => (await tokenAssertion(a, await assertion(key, pk.client_id, issuer, now()))).status === 200, { timeoutMs: 15_000, intervalMs: 200 });
      t.ok(clear.ok, 'fresh assertions accepted before the loss');
      const usedNow = await assertion(key, pk.client_id, issuer, now(), { exp: now() + 240 });
      const usedAhead = await assertion(key, pk.client_id, issuer, now(), { iat: now() + F, exp: now() + 240 });
      t.equal((await tokenAssertion(a, usedNow)).status, 200, 'iat = now: used once at a');
      t.equal((await tokenAssertion(b, usedAhead)).status, 200, `iat = now + ${F}: used once at b`);
      t.equal((await tokenAssertion(b, usedNow)).status, 401, 'replay refused before the loss');

      if (variant === 'FLUSHALL') {
        await raw.connect();
        t.equal(await raw.flushall(), 'OK');
        raw.disconnect();
      } else {
        await redis.kill();
        await redis.start();
      }
      const lossAt = performance.now();

      for (const n of nodes) {
        for (const [label, jws] of [
          ['iat = now', usedNow],
          [`iat = now + ${F}`, usedAhead],
        ] as const) {
          const res = await tokenAssertion(n, jws);
          t.ok(refused(res), `${n.name}: replay of the assertion with ${label} refused`, { got: `${res.status} ${res.body?.error ?? ''}` });
          t.notOk(res.body?.access_token, 'no token');
        }
      }
      // Once re-seeded, each node answers 401 (a replay), not 503.
      for (const n of nodes) {
        const settled = await pollUntil(async () => (await tokenAssertion(n, usedAhead)).status === 401, { timeoutMs: 5000, intervalMs: 100 });
        t.ok(settled.ok, `${n.name}: the replay is answered 401 invalid_client once the store is re-seeded`);
      }

      // /readyz: ready, with the loss window reported.
      const ready = await fetchJson(`${a.url}/readyz`);
      t.equal(ready.status, 200, 'readyz 200 once re-seeded');
      t.equal(ready.body?.checks?.replay, 'ok');
      t.match(ready.body?.notes?.replay ?? '', /replay markers lost at \d+: until \d+, assertions without iat or with iat <= \d+ are refused/, 'readyz reports the untrusted window');

      // A fresh assertion (iat = now) is accepted once now > L + F: within 10 s of the loss, detection included.
      const fresh = await pollUntil(async () => (await tokenAssertion(b, await assertion(key, pk.client_id, issuer, now()))).status === 200, { timeoutMs: 20_000, intervalMs: 200, since: lossAt });
      t.ok(fresh.ok, `a fresh assertion is accepted again (${(fresh.elapsed / 1000).toFixed(1)} s after the loss)`);
      t.ok(fresh.elapsed <= 10_000, 'within 10 s of the loss');
      for (const n of nodes) t.equal((await tokenAssertion(n, usedAhead)).status, 401, `${n.name}: the old assertion is still refused`);
    });
  }

  t.test('SIGTERM: exit 0', async (t) => {
    for (const n of nodes) t.same(await n.stop(), { code: 0, signal: null });
  });
});
