// GET /admin/v1/audit filters (actor, action, target, since: bound SQL parameters), and
// last_used_at for private_key_jwt clients (batched like secrets' last use).
import t from 'tap';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { randomBytes } from 'node:crypto';
import { ISSUER, build, form } from '../helper.js';
import { ADMIN_ACTOR, admin, adminApp } from './support.js';

const b = await build(t);
const api = adminApp(b);

interface AuditEvent {
  at: string;
  actor: string;
  action: string;
  target: string | null;
}
const events = async (query: string) => {
  const res = await admin(api, 'GET', `/admin/v1/audit${query}`);
  t.equal(res.statusCode, 200, `GET /admin/v1/audit${query}: ${res.body.slice(0, 200)}`);
  return (res.json() as { items: AuditEvent[] }).items;
};

t.test('audit filters by actor, action, target and since', async (t) => {
  const a = (await admin(api, 'POST', '/admin/v1/clients', { client_name: 'filter-a' })).json() as { client: { client_id: string } };
  b.clock.advance(60_000);
  const c = (await admin(api, 'POST', '/admin/v1/clients', { client_name: 'filter-b' })).json() as { client: { client_id: string } };
  await admin(api, 'GET', `/admin/v1/clients/${c.client.client_id}`);

  const created = await events('?action=client.create');
  t.ok(created.length >= 2 && created.every((e) => e.action === 'client.create'), 'only client.create');
  const aboutB = await events(`?target=${encodeURIComponent(c.client.client_id)}`);
  t.same([...new Set(aboutB.map((e) => e.target))], [c.client.client_id], 'only events about client b');
  t.same(aboutB.map((e) => e.action).sort(), ['client.create', 'client.read']);
  const both = await events(`?target=${encodeURIComponent(c.client.client_id)}&action=client.read`);
  t.same(
    both.map((e) => e.action),
    ['client.read'],
    'filters combine',
  );
  const byActor = await events(`?actor=${encodeURIComponent(ADMIN_ACTOR)}&limit=500`);
  t.ok(byActor.length > 0 && byActor.every((e) => e.actor === ADMIN_ACTOR));
  t.same(await events('?actor=client%3Anobody'), [], 'an unknown actor: nothing');
  const since = new Date(b.clock.now() - 30_000).toISOString();
  const recent = await events(`?since=${encodeURIComponent(since)}&action=client.create`);
  t.same(
    recent.map((e) => e.target),
    [c.client.client_id],
    'since excludes the older event',
  );
  t.ok(recent.every((e) => e.at >= since));
  t.ok((await events(`?action=client.create&target=${encodeURIComponent(a.client.client_id)}`)).length === 1);

  // Values reach SQL only as parameters.
  t.same(await events(`?actor=${encodeURIComponent("x' OR '1'='1")}`), [], 'a quote is a value');
  const bad = await admin(api, 'GET', '/admin/v1/audit?since=yesterday');
  t.equal(bad.statusCode, 400);
  t.match(bad.json(), { error: 'invalid_request', error_description: /^since: / });
  const unknown = await admin(api, 'GET', '/admin/v1/audit?verb=x');
  t.equal(unknown.statusCode, 400, 'unknown parameters are refused, as before');
});

t.test('last_used_at is recorded for private_key_jwt clients, batched', async (t) => {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const created = await admin(api, 'POST', '/admin/v1/clients', { client_name: 'jwt-client', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] } });
  t.equal(created.statusCode, 201, created.body);
  const id = (created.json() as { client: { client_id: string } }).client.client_id;
  const view = async () => (await admin(api, 'GET', `/admin/v1/clients/${id}`)).json() as { last_used_at: string | null };
  t.equal((await view()).last_used_at, null, 'never used yet');

  const now = Math.floor(b.clock.now() / 1000);
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(id)
    .setSubject(id)
    .setAudience(ISSUER)
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .setJti(randomBytes(12).toString('hex'))
    .sign(privateKey);
  const res = await b.app.inject({
    method: 'POST',
    url: '/oauth2/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ grant_type: 'client_credentials', client_id: id, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion }),
  });
  t.equal(res.statusCode, 200, res.body);
  await b.rt.flushSecretUsage();
  b.rt.clientCache.invalidate(id);
  t.equal((await view()).last_used_at, new Date(b.clock.now()).toISOString(), 'last_used_at is the time of the assertion');
});
