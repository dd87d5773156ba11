// Organizations across a fleet: two tokenmill processes on one PostgreSQL and one Redis. An
// organization disabled on A is refused by B's token endpoint and introspection, and its tokens by
// a tokenmill/verify instance following B's revocation feed, within 1 s; re-enabling brings no
// earlier token back. Its clients' org_id reaches the tokens and verify({ org }).
import t from 'tap';
import { createVerifier, VerifyError } from '@tokenmill/verify';
import { pollUntil } from '../helpers/time.js';
import { admin, introspect, registerOk, spawnNode, tokenBasic, twoNodeFleet, waitReady } from './support.js';

t.setTimeout(240_000);
const API = 'https://api.fleet.example';
const PROPAGATION_MS = 1000;

t.test('an organization disabled on A: refused on B and by an offline verifier within 1 s', async (t) => {
  const fleet = await twoNodeFleet(t, 'warn');
  if (!fleet) return;
  const { env, portA, portB, adminToken: ADMIN, issuer } = fleet;
  const A = await spawnNode(t, { name: 'A', env: { ...env, PORT: String(portA) } });
  await waitReady(A);
  const B = await spawnNode(t, { name: 'B', env: { ...env, PORT: String(portB) } });
  await waitReady(B);

  const created = await admin(A, ADMIN, 'POST', '/orgs', { name: 'fleet-org', max_clients: 5 });
  t.equal(created.status, 201);
  const org: string = created.body.org_id;
  const c = await registerOk(A, ADMIN, { client_name: 'tenant-svc', scope: 'api:read', audience: [API], org_id: org });
  const rs = await registerOk(A, ADMIN, { client_name: 'resource-server', audience: [API] });
  const verifier = createVerifier({ issuer, audience: API, revocations: { clientId: rs.client_id, clientSecret: rs.client_secret, pollInterval: 250 }, clockTolerance: 5 });
  t.teardown(() => verifier.close());
  await verifier.ready();

  const held = await tokenBasic(B, c.client_id, c.client_secret);
  t.equal(held.status, 200, 'B issues (and caches the client, with its organization) before');
  const tok: string = held.body.access_token;
  const claims = await verifier.verify(tok, { org });
  t.equal(claims.org_id, org, 'org_id in the verified claims');
  t.equal((await introspect(B, ADMIN, tok)).body?.org_id, org, 'and in introspection');
  const foreign = await verifier.verify(tok, { org: 'org_someoneelse' }).catch((e: unknown) => e);
  t.ok(foreign instanceof VerifyError && foreign.status === 403, 'verify({ org }) refuses it for another organization');

  const since = performance.now();
  const disabled = await admin(A, ADMIN, 'PATCH', `/orgs/${org}`, { status: 'disabled' });
  t.equal(disabled.status, 200, 'disabled on A');
  const offline = await pollUntil(
    async () =>
      await verifier.verify(tok).then(
        () => false,
        (e: unknown) => e instanceof VerifyError && e.status === 401,
      ),
    { timeoutMs: 3000, intervalMs: 20, since },
  );
  t.ok(offline.ok && offline.elapsed < PROPAGATION_MS, `the verifier refuses the organization's token within 1 s (${offline.elapsed.toFixed(1)} ms)`);
  const refused = await pollUntil(async () => (await tokenBasic(B, c.client_id, c.client_secret)).status === 401, { timeoutMs: 3000, since });
  t.ok(refused.ok && refused.elapsed < PROPAGATION_MS, `B's token endpoint refuses its client within 1 s (${refused.elapsed.toFixed(1)} ms)`);
  t.same((await introspect(B, ADMIN, tok)).body, { active: false }, 'inactive at B');

  const enabled = await admin(A, ADMIN, 'PATCH', `/orgs/${org}`, { status: 'active' });
  t.equal(enabled.status, 200);
  const back = await pollUntil(async () => (await tokenBasic(B, c.client_id, c.client_secret)).status === 200, { timeoutMs: 3000, since: performance.now() });
  t.ok(back.ok, 'B issues again after re-enabling');
  t.same((await introspect(B, ADMIN, tok)).body, { active: false }, 'the earlier token stays inactive');
  const still = await verifier.verify(tok).catch((e: unknown) => e);
  t.ok(still instanceof VerifyError && still.status === 401, 'and refused offline');
  const fresh = (await tokenBasic(B, c.client_id, c.client_secret)).body.access_token as string;
  const ok = await pollUntil(
    async () =>
      verifier.verify(fresh, { org }).then(
        () => true,
        () => false,
      ),
    { timeoutMs: 3000 },
  );
  t.ok(ok.ok, 'a new token verifies');
});
