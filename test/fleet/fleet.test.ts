// Two real tokenmill processes on one PostgreSQL database and one Redis prefix, started at the same
// moment on an empty database (migration and key-bootstrap races), sharing clients, keys,
// revocations and replay markers (contract "Running it", "Failure behaviour"; threat model §3.6).
import t from 'tap';
import pg from 'pg';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { assertion, clientKey } from '../fixtures/assertion.js';
import { pollUntil } from '../helpers/time.js';
import { admin, fetchJson, introspect, jwsHeader, registerOk, revoke, spawnNode, tokenAssertion, tokenBasic, twoNodeFleet, waitReady, type Node } from './support.js';

t.setTimeout(300_000);

const API = 'https://api.fleet.example';
const PROPAGATION_MS = 1000;

function sortedKeys(jwks: JSONWebKeySet): JSONWebKeySet {
  return { keys: [...jwks.keys].sort((a, b) => String(a.kid).localeCompare(String(b.kid))) };
}

async function jwks(node: Node): Promise<JSONWebKeySet> {
  const res = await fetchJson(`${node.url}/.well-known/jwks.json`);
  if (res.status !== 200) throw new Error(`JWKS at ${node.name}: ${res.status}`);
  return res.body as JSONWebKeySet;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

t.test('two nodes, one PostgreSQL, one Redis', async (t) => {
  const fleet = await twoNodeFleet(t, 'info');
  if (!fleet) return;
  const { databaseUrl, issuer, env, portA, portB, adminToken: ADMIN } = fleet;

  // ---- simultaneous start on the empty database ------------------------------------------------
  const [A, B] = await Promise.all([spawnNode(t, { name: 'A', env: { ...env, PORT: String(portA) } }), spawnNode(t, { name: 'B', env: { ...env, PORT: String(portB) } })]);
  const started = await Promise.allSettled([waitReady(A), waitReady(B)]);
  for (const [i, s] of started.entries())
    t.equal(s.status, 'fulfilled', `node ${i ? 'B' : 'A'} becomes ready after a simultaneous start on an empty database`, s.status === 'rejected' ? { error: String(s.reason) } : {});
  if (started.some((s) => s.status === 'rejected')) return;

  t.test('start-up: one key, one JWKS, the fleet stores named in the log', async (t) => {
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query<{ n: string }>("SELECT count(*)::text AS n FROM tokenmill.signing_keys WHERE alg = 'ES256'");
      t.equal(rows[0]?.n, '1', 'exactly one ES256 signing key in the database after the key-bootstrap race');
    } finally {
      await db.end();
    }
    for (const node of [A, B]) {
      const keys = await admin(node, ADMIN, 'GET', '/keys');
      t.equal(keys.status, 200);
      t.equal((keys.body.keys as { alg: string }[]).filter((k) => k.alg === 'ES256').length, 1, `${node.name}: one ES256 key in GET /admin/v1/keys`);
      const line = node.jsonLines().find((l) => l.msg === 'stores in use');
      t.ok(line, `${node.name}: logs the stores in use`);
      t.equal(line?.database, 'postgresql', `${node.name}: database is postgresql`);
      t.match(String(line?.revocations), /^redis/, `${node.name}: revocations in redis`);
      t.notOk(
        node.jsonLines().some((l) => /per-process/.test(String(l.msg))),
        `${node.name}: no embedded-mode warning`,
      );
    }
    const [ja, jb] = await Promise.all([jwks(A), jwks(B)]);
    t.equal(ja.keys.length, 1, 'one key published');
    t.same(sortedKeys(ja), sortedKeys(jb), 'both nodes publish the same JWKS');
  });

  const reg = await registerOk(A, ADMIN, { client_name: 'fleet', scope: 'api:read api:write', audience: [API] });
  const id: string = reg.client_id;
  const secret: string = reg.client_secret;

  t.test('a client registered on A gets tokens from B, verifiable with either JWKS', async (t) => {
    const res = await tokenBasic(B, id, secret, { scope: 'api:read' });
    t.equal(res.status, 200, 'B issues a token to a client registered on A');
    const tok: string = res.body.access_token;
    for (const node of [A, B]) {
      const { payload } = await jwtVerify(tok, createLocalJWKSet(await jwks(node)), { issuer, audience: API, typ: 'at+jwt' });
      t.equal(payload.client_id, id, `verifies against ${node.name}'s JWKS with the shared issuer`);
    }
    t.equal((await introspect(A, ADMIN, tok)).body?.active, true, 'A says active');
  });

  t.test('a token revoked on A is inactive at B within 1 s', async (t) => {
    const tok: string = (await tokenBasic(A, id, secret)).body.access_token;
    t.equal((await introspect(B, ADMIN, tok)).body?.active, true, 'active at B before');
    const r = await revoke(A, id, secret, tok);
    t.equal(r.status, 200, 'revoked at A');
    const since = performance.now();
    const { ok, elapsed } = await pollUntil(async () => (await introspect(B, ADMIN, tok)).body?.active === false, { timeoutMs: 3000, intervalMs: 20, since });
    t.ok(ok, 'B reports it inactive');
    t.ok(elapsed < PROPAGATION_MS, `within 1 s (${elapsed.toFixed(1)} ms)`);
    t.same((await introspect(B, ADMIN, tok)).body, { active: false }, 'exactly {"active":false}');
  });

  t.test('a client disabled on A is refused by B within 1 s; enabled again, it works', async (t) => {
    const c = await registerOk(A, ADMIN, { client_name: 'fleet-disable', scope: 'api:read', audience: [API] });
    const held = await tokenBasic(B, c.client_id, c.client_secret);
    t.equal(held.status, 200, 'B issues (and caches the client) before');
    t.equal((await introspect(B, ADMIN, held.body.access_token)).body?.active, true);

    const patch = await admin(A, ADMIN, 'PATCH', `/clients/${c.client_id}`, { status: 'disabled' });
    t.equal(patch.status, 200, 'disabled on A');
    const since = performance.now();
    const refused = await pollUntil(async () => (await tokenBasic(B, c.client_id, c.client_secret)).status === 401, { timeoutMs: 3000, since });
    t.ok(refused.ok && refused.elapsed < PROPAGATION_MS, `B refuses the disabled client within 1 s (${refused.elapsed.toFixed(1)} ms)`);
    const denied = await tokenBasic(B, c.client_id, c.client_secret);
    t.equal(denied.status, 401);
    t.equal(denied.body?.error, 'invalid_client');
    t.same((await introspect(B, ADMIN, held.body.access_token)).body, { active: false }, "the disabled client's token is inactive at B");

    const enable = await admin(A, ADMIN, 'PATCH', `/clients/${c.client_id}`, { status: 'active' });
    t.equal(enable.status, 200, 'enabled again on A');
    const since2 = performance.now();
    const back = await pollUntil(async () => (await tokenBasic(B, c.client_id, c.client_secret)).status === 200, { timeoutMs: 3000, since: since2 });
    t.ok(back.ok && back.elapsed < PROPAGATION_MS, `B issues again within 1 s (${back.elapsed.toFixed(1)} ms)`);
  });

  t.test('a client deleted on A is refused by B within 1 s and its old token is inactive on B', async (t) => {
    const c = await registerOk(A, ADMIN, { client_name: 'fleet-delete', scope: 'api:read', audience: [API] });
    const held = await tokenBasic(B, c.client_id, c.client_secret);
    t.equal(held.status, 200);
    t.equal((await introspect(B, ADMIN, held.body.access_token)).body?.active, true, 'active at B before');

    const del = await admin(A, ADMIN, 'DELETE', `/clients/${c.client_id}`);
    t.equal(del.status, 204, 'deleted on A');
    const since = performance.now();
    const refused = await pollUntil(async () => (await tokenBasic(B, c.client_id, c.client_secret)).status === 401, { timeoutMs: 3000, since });
    t.ok(refused.ok && refused.elapsed < PROPAGATION_MS, `B refuses the deleted client within 1 s (${refused.elapsed.toFixed(1)} ms)`);
    const dead = await pollUntil(async () => (await introspect(B, ADMIN, held.body.access_token)).body?.active === false, { timeoutMs: 3000, since });
    t.ok(dead.ok && dead.elapsed < PROPAGATION_MS, `its old token is inactive at B within 1 s (${dead.elapsed.toFixed(1)} ms)`);
    const denied = await tokenBasic(B, c.client_id, c.client_secret);
    t.equal(denied.body?.error, 'invalid_client');
  });

  // threat model §3.2: secret rotation propagates like disable and delete.
  t.test('a secret rotated on A: B refuses the old secret within 1 s and accepts the new one', async (t) => {
    const c = await registerOk(A, ADMIN, { client_name: 'fleet-rotate', scope: 'api:read', audience: [API] });
    t.equal((await tokenBasic(B, c.client_id, c.client_secret)).status, 200, 'B issues with the first secret (and caches the client)');
    const rot = await admin(A, ADMIN, 'POST', `/clients/${c.client_id}/secrets`, { previous_secret_ttl: 0 });
    t.equal(rot.status, 201, 'new secret on A');
    const since = performance.now();
    const refused = await pollUntil(async () => (await tokenBasic(B, c.client_id, c.client_secret)).status === 401, { timeoutMs: 3000, since });
    t.ok(refused.ok && refused.elapsed < PROPAGATION_MS, `B refuses the old secret within 1 s (${refused.elapsed.toFixed(1)} ms)`);
    const fresh = await tokenBasic(B, c.client_id, rot.body?.client_secret ?? '');
    t.equal(fresh.status, 200, 'B accepts the new secret');
  });

  t.test('revoke-tokens on A: the old token is inactive at B within 1 s; new tokens from B are active', async (t) => {
    const c = await registerOk(A, ADMIN, { client_name: 'fleet-revoke-all', scope: 'api:read', audience: [API] });
    const held: string = (await tokenBasic(B, c.client_id, c.client_secret)).body.access_token;
    t.equal((await introspect(B, ADMIN, held)).body?.active, true, 'active at B before');
    const res = await admin(A, ADMIN, 'POST', `/clients/${c.client_id}/revoke-tokens`);
    t.equal(res.status, 200, 'revoke-tokens on A');
    const since = performance.now();
    const dead = await pollUntil(async () => (await introspect(B, ADMIN, held)).body?.active === false, { timeoutMs: 3000, since });
    t.ok(dead.ok && dead.elapsed < PROPAGATION_MS, `the old token is inactive at B within 1 s (${dead.elapsed.toFixed(1)} ms)`);
    const alive = await pollUntil(
      async () => {
        const tok = await tokenBasic(B, c.client_id, c.client_secret);
        return tok.status === 200 && (await introspect(B, ADMIN, tok.body.access_token)).body?.active === true;
      },
      { timeoutMs: 3000, since },
    );
    t.ok(alive.ok && alive.elapsed < PROPAGATION_MS, `B issues tokens that are active again within 1 s (${alive.elapsed.toFixed(1)} ms)`);
    const after: string = (await tokenBasic(B, c.client_id, c.client_secret)).body.access_token;
    t.equal((await introspect(A, ADMIN, after)).body?.active, true, "B's new token is active at A too");
  });

  t.test('a private_key_jwt assertion used at A is a replay at B', async (t) => {
    const key = await clientKey('ES256');
    const c = await registerOk(A, ADMIN, { client_name: 'fleet-pkjwt', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [key.publicJwk] }, scope: 'api:read', audience: [API] });
    const a = await assertion(key, c.client_id, issuer, Math.floor(Date.now() / 1000));
    const first = await tokenAssertion(A, a);
    t.equal(first.status, 200, 'accepted once at A');
    const replay = await tokenAssertion(B, a);
    t.equal(replay.status, 401, 'the same assertion at B is refused');
    t.equal(replay.body?.error, 'invalid_client');
    t.equal(replay.headers.get('www-authenticate'), null, 'without a challenge: the credentials were in the body (C3)');
    const again = await tokenAssertion(A, a);
    t.equal(again.status, 401, 'and at A again');
    const fresh = await tokenAssertion(B, await assertion(key, c.client_id, issuer, Math.floor(Date.now() / 1000)));
    t.equal(fresh.status, 200, 'a fresh assertion works at B');
  });

  t.test('key rotation on A: B publishes the new key within 1 s and signs with it', async (t) => {
    const before = await jwks(B);
    const rot = await admin(A, ADMIN, 'POST', '/keys/rotate', { activate_in: 0 });
    t.equal(rot.status, 201, 'rotated on A');
    const kid: string = rot.body?.kid;
    t.ok(kid && !before.keys.some((k) => k.kid === kid), 'a new kid');
    const since = performance.now();
    const published = await pollUntil(async () => (await jwks(B)).keys.some((k) => k.kid === kid), { timeoutMs: 3000, since });
    t.ok(published.ok && published.elapsed < PROPAGATION_MS, `B's JWKS shows the new key within 1 s (${published.elapsed.toFixed(1)} ms)`);
    let last = '';
    const signs = await pollUntil(
      async () => {
        const res = await tokenBasic(B, id, secret);
        last = res.status === 200 ? String(jwsHeader(res.body.access_token).kid) : `${res.status}`;
        return last === kid;
      },
      { timeoutMs: 3000, since },
    );
    t.ok(signs.ok && signs.elapsed < PROPAGATION_MS, `B signs with the new key within 1 s (${signs.elapsed.toFixed(1)} ms; last kid ${last})`);
    const tok: string = (await tokenBasic(B, id, secret)).body.access_token;
    t.equal(jwsHeader(tok).kid, kid);
    await t.resolves(jwtVerify(tok, createLocalJWKSet(await jwks(A)), { issuer, audience: API }), "B's new token verifies against A's JWKS");
    const [ja, jb] = await Promise.all([jwks(A), jwks(B)]);
    t.same(sortedKeys(ja), sortedKeys(jb), 'both nodes publish the same JWKS after the rotation');
    t.ok(
      ja.keys.some((k) => k.kid !== kid),
      'the previous key stays published',
    );
    const fromA = (await tokenBasic(A, id, secret)).body.access_token as string;
    t.equal(jwsHeader(fromA).kid, kid, 'A signs with the new key too');
  });

  t.test('revocation propagation A → B over 100 iterations', async (t) => {
    const samples: number[] = [];
    const failures: string[] = [];
    for (let i = 0; i < 100; i++) {
      const tok = await tokenBasic(B, id, secret);
      if (tok.status !== 200) {
        failures.push(`iteration ${i}: token ${tok.status}`);
        continue;
      }
      const at: string = tok.body.access_token;
      const before = await introspect(B, ADMIN, at);
      if (before.body?.active !== true) failures.push(`iteration ${i}: not active at B before revocation`);
      const r = await revoke(A, id, secret, at);
      const since = performance.now();
      if (r.status !== 200) {
        failures.push(`iteration ${i}: revoke ${r.status}`);
        continue;
      }
      const { ok, elapsed } = await pollUntil(async () => (await introspect(B, ADMIN, at)).body?.active === false, { timeoutMs: 3000, intervalMs: 5, since });
      if (!ok) failures.push(`iteration ${i}: still active at B after 3 s`);
      samples.push(elapsed);
    }
    t.same(failures, [], 'every iteration ran');
    const worst = Math.max(...samples);
    t.comment(`revocation propagation A→B (200 at A → {"active":false} at B, n=${samples.length}): median ${median(samples).toFixed(1)} ms, worst ${worst.toFixed(1)} ms`);
    t.equal(samples.length, 100);
    t.ok(worst < PROPAGATION_MS, `worst < 1000 ms (${worst.toFixed(1)} ms)`);
  });

  t.test('SIGTERM: both nodes exit 0', async (t) => {
    const [ea, eb] = await Promise.all([A.stop(), B.stop()]);
    t.same(ea, { code: 0, signal: null }, 'A exits 0');
    t.same(eb, { code: 0, signal: null }, 'B exits 0');
  });
});
