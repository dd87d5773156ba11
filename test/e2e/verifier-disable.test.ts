// Disabling a client reaches resource servers that verify offline: the disable publishes a
// client-wide revocation (revoked_before = now, as revoke-tokens does) to the revocation feed, so a
// tokenmill/verify verifier refuses the client's outstanding tokens within one second. Re-enabling
// does not bring those tokens back; tokens minted after it work.
import t from 'tap';
import { createVerifier, VerifyError, type Verifier } from '@tokenmill/verify';
import { ADMIN_TOKEN, basic, buildListening, form } from '../helper.js';
import { msUntilRefused, registerOverHttp, tokenOverHttp } from './support.js';

t.setTimeout(180_000);
const AUDIENCE = 'https://api.example.com';
const wallClock = { now: () => Date.now() };

const { base } = await buildListening(t, {}, { clock: wallClock as never });

const register = (metadata: Record<string, unknown>) => registerOverHttp(base, metadata);
const token = (c: { client_id: string; client_secret: string }) => tokenOverHttp(base, c);
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
