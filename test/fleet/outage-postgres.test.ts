// PostgreSQL stops under a running node and comes back: threat model §3.2, contract "Failure behaviour".
// Cached clients keep getting tokens, writes are 503 temporarily_unavailable with Retry-After,
// readiness names the database, JWKS and metadata are served from memory; afterwards everything
// works again without a restart. A node cannot start without its PostgreSQL or its Redis, and says
// which variable to look at.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { redisTestPrefix } from '../helpers/backends.js';
import { pollUntil, sleep } from '../helpers/time.js';
import {
  admin,
  fetchJson,
  fleetSecrets,
  freePort,
  hasPostgresBinaries,
  introspect,
  register,
  registerOk,
  revoke,
  runToExit,
  startNode,
  throwawayPostgres,
  tokenBasic,
  type JsonResponse,
} from './support.js';

t.setTimeout(240_000);

const API = 'https://api.pg-outage.example';

function checkUnavailable(t: Test, res: JsonResponse, what: string): void {
  t.equal(res.status, 503, `${what}: 503`, res.status === 503 ? {} : { body: res.text.slice(0, 300) });
  t.equal(res.body?.error, 'temporarily_unavailable', `${what}: temporarily_unavailable`);
  t.match(res.headers.get('retry-after') ?? '', /^\d+$/, `${what}: Retry-After`);
}

t.test('PostgreSQL stopped and restarted under a running node', async (t) => {
  if (!hasPostgresBinaries()) {
    t.skip('PostgreSQL 15 binaries not found in /usr/lib/postgresql/15/bin: this suite runs its own cluster', () => {});
    return;
  }
  const pgc = await throwawayPostgres(t);
  const secrets = fleetSecrets();
  const ADMIN = secrets.ADMIN_TOKEN;
  // Redis when the run has one (a unique prefix), else the embedded revocation store.
  const redisEnv: Record<string, string> = process.env.TEST_REDIS_URL ? { REDIS_URL: process.env.TEST_REDIS_URL, REDIS_KEY_PREFIX: redisTestPrefix(t) } : {};
  t.comment(process.env.TEST_REDIS_URL ? 'with Redis (TEST_REDIS_URL)' : 'TEST_REDIS_URL unset: the node runs without Redis');
  const node = await startNode(t, { name: 'node', env: { ...secrets, DATABASE_URL: pgc.url, CLIENT_CACHE_TTL: '1', ...redisEnv } });

  const c = await registerOk(node, ADMIN, { client_name: 'pg-outage', scope: 'api:read', audience: [API] });
  const first = await tokenBasic(node, c.client_id, c.client_secret);
  t.equal(first.status, 200, 'token before the outage (the client is now cached)');
  const jwksBefore = (await fetchJson(`${node.url}/.well-known/jwks.json`)).body;

  await pgc.stop();

  t.test('during the outage', async (t) => {
    for (let i = 0; i < 3; i++) {
      const res = await tokenBasic(node, c.client_id, c.client_secret);
      t.equal(res.status, 200, `token request ${i + 1} for the cached client: 200`, res.status === 200 ? {} : { body: res.text.slice(0, 300) });
    }
    // CLIENT_CACHE_TTL=1: past the TTL the record is served stale-if-error (threat model §3.2, ≤ 5 min).
    await sleep(1500);
    const stale = await tokenBasic(node, c.client_id, c.client_secret);
    t.equal(stale.status, 200, 'past the cache TTL: still 200 (stale-if-error)', stale.status === 200 ? {} : { body: stale.text.slice(0, 300) });
    const tok = await tokenBasic(node, c.client_id, c.client_secret);
    if (redisEnv.REDIS_URL) {
      const i = await introspect(node, ADMIN, tok.body?.access_token ?? '');
      t.equal(i.body?.active, true, 'introspection of a fresh token from the cached client and Redis: active');
    }

    // The durable revocation log is in PostgreSQL: a revocation that cannot be stored is never 200.
    checkUnavailable(t, await revoke(node, c.client_id, c.client_secret, tok.body?.access_token ?? ''), 'revocation');

    checkUnavailable(t, await register(node, ADMIN, { client_name: 'during-outage', scope: 'api:read' }), 'registration');
    const reg = await register(node, ADMIN, { client_name: 'during-outage' });
    t.match(reg.headers.get('cache-control') ?? '', /no-store/, 'registration 503: Cache-Control: no-store');

    checkUnavailable(t, await admin(node, ADMIN, 'PATCH', `/clients/${c.client_id}`, { client_name: 'renamed' }), 'admin PATCH');
    // threat model §3.2: a store error is not "no such client" (401 would tell the client its credentials are bad).
    checkUnavailable(t, await tokenBasic(node, 'no-such-client', 'x'), 'token request for an uncached client');

    const ready = await fetchJson(`${node.url}/readyz`);
    t.equal(ready.status, 503, '/readyz 503');
    t.equal(ready.body?.checks?.database, 'unavailable', 'checks.database = unavailable');

    const jwks = await fetchJson(`${node.url}/.well-known/jwks.json`);
    t.equal(jwks.status, 200, 'JWKS 200 from memory');
    t.same(jwks.body, jwksBefore, 'the same keys');
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const meta = await fetchJson(`${node.url}${path}`);
      t.equal(meta.status, 200, `${path} 200`);
      t.equal(meta.body?.issuer, node.url);
    }
  });

  t.test('a node started while PostgreSQL is down exits non-zero naming DATABASE_URL', async (t) => {
    const url = `postgres://postgres:pw-${randomBytes(6).toString('hex')}@127.0.0.1:${pgc.port}/postgres`;
    const r = await runToExit(t, { name: 'nodb', env: { ...fleetSecrets(), DATABASE_URL: url, ...redisEnv } });
    t.notOk(r.timedOut, 'exits by itself');
    t.ok(r.exit.code !== 0 && r.exit.code !== null, `non-zero exit (${JSON.stringify(r.exit)})`);
    t.match(r.stderr, /DATABASE_URL/, 'stderr names DATABASE_URL');
    t.notOk(r.output.includes(new URL(url).password), 'the password is not printed');
  });

  t.test('PostgreSQL back: recovery without a restart', async (t) => {
    await pgc.start();
    const since = performance.now();
    let last = '';
    const back = await pollUntil(
      async () => {
        const res = await register(node, ADMIN, { client_name: 'after-outage', scope: 'api:read', audience: [API] });
        last = `${res.status} ${res.status === 201 ? '' : res.text.slice(0, 200)}`;
        return res.status === 201;
      },
      { timeoutMs: 15_000, intervalMs: 100, since },
    );
    t.ok(back.ok, `registration works again (${back.elapsed.toFixed(0)} ms after PostgreSQL started)`, back.ok ? {} : { last });
    t.ok(back.elapsed < 5000, 'within 5 s');
    const ready = await pollUntil(async () => (await fetchJson(`${node.url}/readyz`)).status === 200, { timeoutMs: 5000, intervalMs: 100 });
    t.ok(ready.ok, '/readyz 200 again');
    const patch = await admin(node, ADMIN, 'PATCH', `/clients/${c.client_id}`, { client_name: 'renamed' });
    t.equal(patch.status, 200, 'admin PATCH works again');
    t.equal((await tokenBasic(node, c.client_id, c.client_secret)).status, 200, 'tokens still issued');
  });

  t.test('a node started with an unreachable REDIS_URL exits non-zero naming REDIS_URL', async (t) => {
    const port = await freePort(); // nothing listens there
    const url = `redis://:pw-${randomBytes(6).toString('hex')}@127.0.0.1:${port}`;
    const r = await runToExit(t, { name: 'noredis', env: { ...fleetSecrets(), DATABASE_URL: pgc.url, REDIS_URL: url, REDIS_KEY_PREFIX: `tmtest:${randomBytes(6).toString('hex')}:` } });
    t.notOk(r.timedOut, 'exits by itself');
    t.ok(r.exit.code !== 0 && r.exit.code !== null, `non-zero exit (${JSON.stringify(r.exit)})`);
    t.match(r.stderr, /REDIS_URL/, 'stderr names REDIS_URL');
    t.notOk(r.output.includes(new URL(url).password), 'the password is not printed');
  });

  t.test('SIGTERM after the outage: exit 0', async (t) => {
    t.same(await node.stop(), { code: 0, signal: null });
  });
});
