// Organizations with WORKERS=2: the workers reach the primary's organizations over IPC. The limits
// and the initial access token's use count hold there too (refusals keep their meaning across the
// IPC boundary), and an organization admin is confined to its organization.
import t from 'tap';
import { fetchJson, startServer } from './support.js';

t.setTimeout(200_000);
const ADMIN = `workers-orgs-${'o'.repeat(32)}`;

t.test('WORKERS=2: organizations, limits and initial access tokens', async (t) => {
  const s = await startServer(t, { WORKERS: '2', ADMIN_TOKEN: ADMIN }, { readyTimeoutMs: 120_000 });
  const json = { 'content-type': 'application/json' };
  const adminCall = (method: string, path: string, body?: unknown, token = ADMIN) =>
    fetchJson(`${s.adminUrl}/admin/v1${path}`, { method, headers: { authorization: `Bearer ${token}`, ...json }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const registerWith = (token: string, body: unknown) => fetchJson(`${s.url}/oauth2/register`, { method: 'POST', headers: { authorization: `Bearer ${token}`, ...json }, body: JSON.stringify(body) });

  const org = await adminCall('POST', '/orgs', { name: 'w', max_clients: 2 });
  t.equal(org.status, 201);
  const orgId: string = org.body.org_id;
  const iat = await adminCall('POST', `/orgs/${orgId}/initial-access-tokens`, { expires_in: 600, max_uses: 5 });
  t.equal(iat.status, 201);
  const results = await Promise.all([1, 2, 3, 4].map((i) => registerWith(iat.body.token, { client_name: `w${i}` })));
  t.same(results.map((r) => r.status).sort(), [201, 201, 400, 400], 'two land, two are refused');
  for (const r of results.filter((x) => x.status === 400))
    t.same(r.body, { error: 'invalid_client_metadata', error_description: `max_clients: the organization ${orgId} already has its limit of 2 clients` });
  const over = await adminCall('POST', '/clients', { client_name: 'x', org_id: orgId });
  t.same([over.status, over.body.error], [409, 'conflict']);
  t.equal((await registerWith('tmiat_' + 'A'.repeat(49), { client_name: 'x' })).status, 401, 'an unknown initial access token');
  const list = await adminCall('GET', `/clients?org_id=${orgId}`);
  t.equal(list.body.items.length, 2);
});
