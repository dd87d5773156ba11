// tokenmill/verify against tokenmill itself (not a stand-in): a resource server verifying offline
// refuses a revoked token, and all tokens of a client-wide revocation, within one second — through
// the HTTP revocation feed on the embedded default, and through Redis on a PostgreSQL + Redis node.
// Also measures the revocation-to-refusal latency (median and worst of 100).
import t from 'tap';
import type { Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { createVerifier } from '@tokenmill/verify';
import { ADMIN_TOKEN, basic, buildListening, form } from '../helper.js';
import { msUntilRefused, registerOverHttp, tokenOverHttp } from './support.js';
import { backendOrSkip, pgTestDatabase, redisTestPrefix } from '../helpers/backends.js';

t.setTimeout(240_000);
const AUDIENCE = 'https://api.example.com';
const wallClock = { now: () => Date.now() };

/** A tokenmill on one listener (public and admin), its issuer the listener's URL, on the wall clock. */
const serve = (t: Test, env: Record<string, string> = {}) => buildListening(t, env, { clock: wallClock as never });
const register = registerOverHttp;
const token = tokenOverHttp;

async function revoke(base: string, c: { client_id: string; client_secret: string }, tok: string): Promise<void> {
  const res = await fetch(`${base}/oauth2/revoke`, {
    method: 'POST',
    headers: { authorization: basic(c.client_id, c.client_secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: form({ token: tok }),
  });
  if (res.status !== 200) throw new Error(`revoke: ${res.status}`);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function scenario(t: Test, base: string, revocations: Parameters<typeof createVerifier>[0]['revocations'], label: string): Promise<void> {
  const caller = await register(base, { client_name: 'caller', scope: 'api:read', audience: [AUDIENCE] });
  const verifier = createVerifier({ issuer: base, audience: AUDIENCE, revocations, clockTolerance: 5 });
  t.teardown(() => verifier.close());
  await verifier.ready();

  const first = await token(base, caller);
  const claims = await verifier.verify(first, { scope: 'api:read' });
  t.equal(claims.client_id, caller.client_id, 'a valid token verifies offline');

  // One token, revoked at the server: refused by the verifier within a second.
  const start = Date.now();
  await revoke(base, caller, first);
  const single = await msUntilRefused(verifier, first, start);
  t.ok(single < 1000, `${label}: a revoked token is refused within 1 s (${single} ms)`);

  // Client-wide: every token the client holds is refused; one minted afterwards is not.
  const older = await Promise.all([token(base, caller), token(base, caller)]);
  const wide = Date.now();
  const res = await fetch(`${base}/admin/v1/clients/${caller.client_id}/revoke-tokens`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  t.equal(res.status, 200, 'client-wide revocation');
  for (const tok of older) t.ok((await msUntilRefused(verifier, tok, wide)) < 1000, `${label}: a token of the revoked client is refused within 1 s`);
  const newer = await token(base, caller);
  t.equal((await verifier.verify(newer)).client_id, caller.client_id, 'a token minted after the client-wide revocation verifies');

  // Latency, revocation → refusal, 100 times.
  const samples: number[] = [];
  for (let i = 0; i < 100; i++) {
    const tok = await token(base, caller);
    await verifier.verify(tok);
    const s = Date.now();
    await revoke(base, caller, tok);
    samples.push(await msUntilRefused(verifier, tok, s));
  }
  const worst = Math.max(...samples);
  t.comment(`${label}: revocation → refusal at the verifier over 100: median ${median(samples)} ms, worst ${worst} ms`);
  t.ok(worst < 1000, `${label}: worst of 100 under 1 s (${worst} ms)`);
}

t.test('embedded default: the verifier follows the HTTP revocation feed', async (t) => {
  const { base } = await serve(t);
  const rs = await register(base, { client_name: 'resource-server', audience: [AUDIENCE] });
  await scenario(t, base, { clientId: rs.client_id, clientSecret: rs.client_secret, pollInterval: 250 }, 'embedded, feed polling');
});

t.test('PostgreSQL + Redis: the verifier follows Redis', async (t) => {
  const redisUrl = backendOrSkip(t, 'redis');
  if (!backendOrSkip(t, 'postgres') || !redisUrl) return;
  const prefix = redisTestPrefix(t);
  const { base } = await serve(t, { DATABASE_URL: await pgTestDatabase(t), REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url') });
  await scenario(t, base, { redisUrl, keyPrefix: prefix }, 'PostgreSQL + Redis, Redis stream');
});
