// threat model §3.4: a key rotation in the middle of steady traffic costs a resource server nothing.
// A real listener, a jose remote-JWKS verifier with a short cooldown; tokens are requested and
// verified continuously while a rotation with activate_in = 1 s happens. The server runs on an
// injected clock: the test moves it past the activation once the published phase has been seen
// under traffic, and every phase ends on an outcome (tokens counted), never on elapsed time.
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { ADMIN_TOKEN, ISSUER, TestClock, basic, build, register } from '../helper.js';
import { jwsHeader } from '../admin/support.js';
import { pollUntil } from '../helpers/time.js';

// Near the wall clock (the verifiers below use it for exp/nbf), a minute behind so that moving it
// forward past the activation never puts iat/nbf in their future.
const clock = new TestClock(Date.now() - 60_000);
const b = await build(t, { ADMIN_PORT: '8080', PORT: '8080', KEYS_DIR: join(tmpdir(), 'tokenmill-no-such-keys-dir'), KEY_ROTATION_INTERVAL: '0' }, { clock });
await b.app.listen({ port: 0, host: '127.0.0.1' });
const base = `http://127.0.0.1:${(b.app.server.address() as AddressInfo).port}`;
const AUDIENCE = 'https://api.example.com';

const client = await register(b.app, { scope: 'api:read', audience: [AUDIENCE], access_token_ttl: 300 });
const authorization = basic(client.client_id, client.client_secret ?? '');
const jwks = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`), { cooldownDuration: 50, timeoutDuration: 10_000 });

async function getToken(): Promise<string> {
  const res = await fetch(`${base}/oauth2/token`, { method: 'POST', headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}
const verify = (token: string, keys: typeof jwks = jwks) => jwtVerify(token, keys, { issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt', algorithms: ['ES256'] });
// A second resource server that fetches the JWKS once, right after the new key is published, and
// then cannot refetch for a minute: it must accept the new key's tokens from that snapshot alone
// (threat model §3.4: "N+1 tokens are accepted by an RS that cached the JWKS at phase 1").
const snapshotJwks = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`), { cooldownDuration: 60_000, cacheMaxAge: 600_000, timeoutDuration: 10_000 });

t.test('no valid token fails verification across a rotation', async (t) => {
  const oldKid = b.rt.keyring.signingKey('ES256')?.kid;
  t.ok(oldKid);
  // The resource server has cached the JWKS before the rotation starts.
  t.equal((await verify(await getToken())).protectedHeader.kid, oldKid);

  const failures: string[] = [];
  const snapshotFailures: string[] = [];
  let snapshotVerified = 0;
  let snapshotReady = false;
  const tokenErrors: string[] = [];
  const byKid = new Map<string, number>();
  const start = performance.now();
  let newKid: string | null = null;
  let stop = false;
  let snapshotVerifiedNew = 0;
  const count = (kid: string | null | undefined) => byKid.get(kid ?? '') ?? 0;

  const worker = async () => {
    while (!stop) {
      let token: string;
      try {
        token = await getToken();
      } catch (err) {
        tokenErrors.push((err as Error).message);
        continue;
      }
      const kid = String(jwsHeader(token).kid);
      try {
        await verify(token);
        byKid.set(kid, (byKid.get(kid) ?? 0) + 1);
      } catch (err) {
        failures.push(`${kid}: ${(err as Error & { code?: string }).code ?? ''} ${(err as Error).message}`);
      }
      if (snapshotReady) {
        try {
          await verify(token, snapshotJwks);
          snapshotVerified++;
          if (kid === newKid) snapshotVerifiedNew++;
        } catch (err) {
          snapshotFailures.push(`${kid}: ${(err as Error & { code?: string }).code ?? ''} ${(err as Error).message}`);
        }
      }
    }
  };
  const deadline = { timeoutMs: 120_000, intervalMs: 10 };
  const rotation = (async () => {
    try {
      // 1. Steady traffic under the old key.
      t.ok((await pollUntil(() => count(oldKid) >= 20, deadline)).ok, 'traffic under the old key');
      const res = await fetch(`${base}/admin/v1/keys/rotate`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ activate_in: 1 }) });
      t.comment(`rotation at ${(performance.now() - start).toFixed(0)} ms, after ${count(oldKid)} tokens`);
      t.equal(res.status, 201, 'rotation accepted');
      const body = (await res.json()) as { kid: string; state: string };
      t.equal(body.state, 'published', 'the new key is published first');
      newKid = body.kid;
      await snapshotJwks.reload();
      snapshotReady = true;
      // 2. The published phase under traffic: the old key still signs, the snapshot RS has both.
      const published = count(oldKid);
      t.ok((await pollUntil(() => count(oldKid) >= published + 20 && snapshotVerified >= 10, deadline)).ok, 'traffic while the new key is only published');
      t.equal(count(newKid), 0, 'nothing signed by the new key before it activates');
      // 3. activate_in has passed (on the server's clock): the new key signs.
      clock.advance(1_000);
      t.ok((await pollUntil(() => count(newKid) >= 20 && snapshotVerifiedNew >= 10, deadline)).ok, 'traffic under the new key');
    } finally {
      stop = true;
    }
  })();
  await Promise.all([worker(), worker(), worker(), worker(), rotation]);
  t.comment(`stream of ${(performance.now() - start).toFixed(0)} ms`);

  t.same(tokenErrors, [], 'every token request succeeded');
  t.same(failures, [], 'no valid token failed verification');
  t.equal(failures.length, 0);
  t.same(snapshotFailures, [], 'the RS that cached the JWKS at publication verifies every token without refetching');
  t.ok(snapshotVerifiedNew > 0, `${snapshotVerified} tokens checked against the publication-time snapshot, ${snapshotVerifiedNew} of the new key`);
  t.ok(newKid && newKid !== oldKid, 'a new key was created');
  t.same([...byKid.keys()].sort(), [oldKid, newKid].sort(), 'tokens of both kids were issued and verified');
  t.ok((byKid.get(oldKid ?? '') ?? 0) > 0 && (byKid.get(newKid ?? '') ?? 0) > 0, `old: ${byKid.get(oldKid ?? '')}, new: ${byKid.get(newKid ?? '')}`);
  const total = [...byKid.values()].reduce((a, n) => a + n, 0);
  t.ok(total >= 20, `a steady stream (${total} verified tokens)`);
});
