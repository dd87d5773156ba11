// Two real tokenmill processes on one PostgreSQL database and one Redis prefix: an admin change made
// at node A reaches node B and offline resource servers within one second (contract "Failure behaviour").
// - Admin rights come from the client's current state: tokenmill:admin removed at A → its admin
//   token is refused at B.
// - Disabling at A publishes a client-wide revocation: a tokenmill/verify verifier (Redis source,
//   and feed source against B) refuses the outstanding token; re-enabling does not bring it back.
import t from 'tap';
import { createVerifier, VerifyError, type Verifier } from '@tokenmill/verify';
import { pollUntil } from '../helpers/time.js';
import { admin, basicAuth, introspect, registerOk, spawnNode, tokenBasic, twoNodeFleet, waitReady } from './support.js';

t.setTimeout(180_000);

const API = 'https://api.fleet.example';
const PROPAGATION_MS = 1000;

async function refusedBy(verifier: Verifier, tok: string): Promise<boolean> {
  try {
    await verifier.verify(tok);
    return false;
  } catch (err) {
    if (err instanceof VerifyError && err.status === 401 && err.code === 'invalid_token') return true;
    throw err;
  }
}

t.test('two nodes: admin changes at A bind B and offline verifiers within 1 s', async (t) => {
  const fleet = await twoNodeFleet(t, 'warn');
  if (!fleet) return;
  const { redisUrl, prefix, issuer, env, portA, portB, adminToken: ADMIN } = fleet;
  const A = await spawnNode(t, { name: 'A', env: { ...env, PORT: String(portA) } });
  await waitReady(A);
  const B = await spawnNode(t, { name: 'B', env: { ...env, PORT: String(portB) } });
  await waitReady(B);

  t.test('tokenmill:admin removed from a client at A: its admin token is refused at B within 1 s', async (t) => {
    const ops = await registerOk(A, ADMIN, { client_name: 'fleet-ops', scope: 'tokenmill:admin api:read', audience: [issuer], access_token_ttl: 900 });
    const minted = await tokenBasic(B, ops.client_id, ops.client_secret, { scope: 'tokenmill:admin' });
    t.equal(minted.status, 200);
    const token: string = minted.body.access_token;
    t.equal((await admin(B, token, 'GET', '/clients?limit=1')).status, 200, 'B accepts the admin token (and caches the client)');

    const demote = await admin(A, ADMIN, 'PATCH', `/clients/${ops.client_id}`, { scope: 'api:read' });
    t.equal(demote.status, 200, 'scope removed at A');
    const since = performance.now();
    const refused = await pollUntil(async () => (await admin(B, token, 'GET', '/clients?limit=1')).status === 403, { timeoutMs: 3000, intervalMs: 20, since });
    t.ok(refused.ok && refused.elapsed < PROPAGATION_MS, `B refuses the admin token within 1 s (${refused.elapsed.toFixed(1)} ms)`);
    const res = await admin(B, token, 'PATCH', `/clients/${ops.client_id}`, { scope: 'tokenmill:admin api:read' });
    t.equal(res.status, 403);
    t.same(res.body, { error: 'insufficient_scope', error_description: 'the access token lacks the required scope' });
    const still = await admin(A, ADMIN, 'GET', `/clients/${ops.client_id}`);
    t.equal(still.body.scope, 'api:read', 'the refused re-grant changed nothing');
  });

  t.test('disabled at A: verifiers (Redis source; feed source at B) refuse the outstanding token within 1 s; re-enabled, it stays refused', async (t) => {
    const rs = await registerOk(A, ADMIN, { client_name: 'fleet-rs', audience: [API] });
    const c = await registerOk(A, ADMIN, { client_name: 'fleet-disable-offline', scope: 'api:read', audience: [API] });
    const viaRedis = createVerifier({ issuer, audience: API, revocations: { redisUrl, keyPrefix: prefix }, clockTolerance: 5 });
    const viaFeed = createVerifier({
      issuer,
      audience: API,
      revocations: { clientId: rs.client_id, clientSecret: rs.client_secret, pollInterval: 250 },
      clockTolerance: 5,
      fetch: (input, init) => fetch(String(input).replace(issuer, B.url), init),
    });
    t.teardown(async () => {
      await viaRedis.close();
      await viaFeed.close();
    });
    await Promise.all([viaRedis.ready(), viaFeed.ready()]);

    const held = await tokenBasic(B, c.client_id, c.client_secret);
    t.equal(held.status, 200);
    const tok: string = held.body.access_token;
    for (const v of [viaRedis, viaFeed]) t.equal((await v.verify(tok)).client_id, c.client_id, 'verifies offline before');

    const patch = await admin(A, ADMIN, 'PATCH', `/clients/${c.client_id}`, { status: 'disabled' });
    t.equal(patch.status, 200, 'disabled at A');
    const since = performance.now();
    const [redisOk, feedOk] = await Promise.all([
      pollUntil(() => refusedBy(viaRedis, tok), { timeoutMs: 3000, intervalMs: 10, since }),
      pollUntil(() => refusedBy(viaFeed, tok), { timeoutMs: 3000, intervalMs: 10, since }),
    ]);
    t.ok(redisOk.ok && redisOk.elapsed < PROPAGATION_MS, `the Redis-fed verifier refuses it within 1 s (${redisOk.elapsed.toFixed(1)} ms)`);
    t.ok(feedOk.ok && feedOk.elapsed < PROPAGATION_MS, `the feed-fed verifier (polling B) refuses it within 1 s (${feedOk.elapsed.toFixed(1)} ms)`);

    const enable = await admin(A, ADMIN, 'PATCH', `/clients/${c.client_id}`, { status: 'active' });
    t.equal(enable.status, 200, 're-enabled at A');
    const fresh = await pollUntil(async () => (await tokenBasic(B, c.client_id, c.client_secret)).status === 200, { timeoutMs: 3000 });
    t.ok(fresh.ok, 'B issues again');
    const after: string = (await tokenBasic(B, c.client_id, c.client_secret)).body.access_token;
    for (const v of [viaRedis, viaFeed]) {
      t.ok(await refusedBy(v, tok), 'the old token stays refused offline');
      t.equal((await v.verify(after)).client_id, c.client_id, 'a token minted after re-enabling verifies offline');
    }
    t.same((await introspect(B, ADMIN, tok)).body, { active: false }, 'the old token is inactive at B');
    t.equal((await introspect(B, ADMIN, after)).body?.active, true, 'the new one is active at B');
    // The feed at B names the client-wide revocation.
    const feed = await fetch(`${B.url}/oauth2/revocations`, { headers: { authorization: basicAuth(rs.client_id, rs.client_secret) } });
    const page = (await feed.json()) as { clients: { client_id: string }[] };
    t.ok(
      page.clients.some((x) => x.client_id === c.client_id),
      'the feed lists the disabled client',
    );
  });
});
