// Disabling a client reaches resource servers that verify offline: the disable publishes a
// client-wide revocation (revoked_before = now, as revoke-tokens does) to the revocation feed, so a
// tokenmill/verify verifier refuses the client's outstanding tokens within one second. Re-enabling
// does not bring those tokens back; tokens minted after it work.
import t from 'tap';
import { createServer, type AddressInfo } from 'node:net';
import { createVerifier, VerifyError, type Verifier } from '@tokenmill/verify';
import { ADMIN_TOKEN, basic, build, form } from '../helper.js';

t.setTimeout(180_000);
const AUDIENCE = 'https://api.example.com';
const wallClock = { now: () => Date.now() };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const port = String(await freePort());
const base = `http://127.0.0.1:${port}`;
const b = await build(t, { ISSUER: base, PORT: port, ADMIN_PORT: port }, { clock: wallClock as never });
await b.app.listen({ port: Number(port), host: '127.0.0.1' });

async function register(metadata: Record<string, unknown>): Promise<{ client_id: string; client_secret: string }> {
  const res = await fetch(`${base}/oauth2/register`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(metadata) });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
  return (await res.json()) as { client_id: string; client_secret: string };
}
async function token(c: { client_id: string; client_secret: string }): Promise<string> {
  const res = await fetch(`${base}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: basic(c.client_id, c.client_secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: form({ grant_type: 'client_credentials', scope: 'api:read' }),
  });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}
const setStatus = (id: string, status: 'active' | 'disabled') =>
  fetch(`${base}/admin/v1/clients/${id}`, { method: 'PATCH', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ status }) });
async function introspect(tok: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}/oauth2/introspect`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: form({ token: tok }),
  });
  return (await res.json()) as Record<string, unknown>;
}

/** Milliseconds until `verify` refuses the token with 401 invalid_token (polling every 5 ms, up to 3 s). */
async function msUntilRefused(verifier: Verifier, tok: string, since: number): Promise<number> {
  while (Date.now() - since < 3000) {
    try {
      await verifier.verify(tok);
    } catch (err) {
      if (err instanceof VerifyError && err.status === 401 && err.code === 'invalid_token') return Date.now() - since;
      throw err;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return Infinity;
}

async function refusal(verifier: Verifier, tok: string): Promise<VerifyError | null> {
  try {
    await verifier.verify(tok);
    return null;
  } catch (err) {
    if (err instanceof VerifyError) return err;
    throw err;
  }
}

t.test('disable → the feed carries a client-wide revocation; the verifier refuses old tokens within 1 s; enable → old still refused, new accepted', async (t) => {
  const rs = await register({ client_name: 'resource-server', audience: [AUDIENCE] });
  const caller = await register({ client_name: 'caller', scope: 'api:read', audience: [AUDIENCE] });
  const verifier = createVerifier({ issuer: base, audience: AUDIENCE, revocations: { clientId: rs.client_id, clientSecret: rs.client_secret, pollInterval: 250 }, clockTolerance: 5 });
  t.teardown(() => verifier.close());
  await verifier.ready();

  const held = await Promise.all([token(caller), token(caller)]);
  for (const tok of held) t.equal((await verifier.verify(tok)).client_id, caller.client_id, 'verifies offline before');

  const since = Date.now();
  const res = await setStatus(caller.client_id, 'disabled');
  t.equal(res.status, 200, 'disabled');
  for (const tok of held) {
    const ms = await msUntilRefused(verifier, tok, since);
    t.ok(ms < 1000, `an outstanding token of the disabled client is refused offline within 1 s (${ms} ms)`);
  }
  const err = await refusal(verifier, held[0] ?? '');
  t.equal(err?.status, 401);
  t.equal(err?.code, 'invalid_token');

  const feed = await fetch(`${base}/oauth2/revocations`, { headers: { authorization: basic(rs.client_id, rs.client_secret) } });
  t.equal(feed.status, 200);
  const page = (await feed.json()) as { clients?: { client_id: string; revoked_before: number }[] };
  const entry = page.clients?.find((c) => c.client_id === caller.client_id);
  t.ok(entry, 'the feed lists the disabled client');
  t.ok(entry && entry.revoked_before >= Math.floor(since / 1000), 'revoked_before is the time of the disable');

  t.equal((await setStatus(caller.client_id, 'active')).status, 200, 'enabled again');
  for (const tok of held) {
    const again = await refusal(verifier, tok);
    t.equal(again?.status, 401, 'the old token stays refused offline after re-enabling');
    t.same(await introspect(tok), { active: false }, 'and inactive at introspection');
  }
  const fresh = await token(caller);
  t.equal((await verifier.verify(fresh)).client_id, caller.client_id, 'a token minted after re-enabling verifies');
  t.match(await introspect(fresh), { active: true, client_id: caller.client_id });
});
