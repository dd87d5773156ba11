// Export/import carries organizations, their clients' org_id and their initial access tokens
// (hashes, expiry, use counts): a restored single-use token that was spent stays spent.
import t from 'tap';
import { build } from '../helper.js';
import { admin, adminApp } from '../admin/support.js';
import { exportData, importData, parseExport } from '../../src/storage/export.js';

t.test('orgs round-trip through export and import', async (t) => {
  const from = await build(t);
  const api = adminApp(from);
  const org = ((await admin(api, 'POST', '/admin/v1/orgs', { name: 'Acme', max_clients: 4 })).json() as { org_id: string }).org_id;
  const iat = (await admin(api, 'POST', `/admin/v1/orgs/${org}/initial-access-tokens`, { expires_in: 3600, max_uses: 1 })).json() as { id: string; token: string };
  const reg = await from.app.inject({ method: 'POST', url: '/oauth2/register', headers: { authorization: `Bearer ${iat.token}`, 'content-type': 'application/json' }, payload: { client_name: 'ci' } });
  t.equal(reg.statusCode, 201);
  const clientId = (reg.json() as { client_id: string }).client_id;

  const doc = parseExport(JSON.stringify(await exportData(from.rt.sql, { now: from.clock.now(), database: 'pglite', kek: null })));
  t.equal(doc.orgs?.length, 1);
  t.match(doc.orgs?.[0], { org_id: org, name: 'Acme', max_clients: 4, status: 'active' });
  t.match(doc.orgs?.[0]?.initial_access_tokens, [{ id: iat.id, uses: 1, max_uses: 1 }]);
  t.notOk(JSON.stringify(doc).includes(iat.token), 'never the token itself');

  const to = await build(t);
  const result = await importData(to.rt.sql, { ...doc, keys: [] }, { now: to.clock.now(), kek: null });
  t.equal(result.orgs, 1);
  const client = (await admin(adminApp(to), 'GET', `/admin/v1/clients/${clientId}`)).json() as { org_id: string };
  t.equal(client.org_id, org, 'the client is in its organization');
  t.match((await admin(adminApp(to), 'GET', `/admin/v1/orgs/${org}`)).json(), { name: 'Acme', max_clients: 4 });
  const spent = await to.app.inject({
    method: 'POST',
    url: '/oauth2/register',
    headers: { authorization: `Bearer ${iat.token}`, 'content-type': 'application/json' },
    payload: { client_name: 'again' },
  });
  t.equal(spent.statusCode, 401, 'the single-use token is still spent');
  // Importing again without --replace: a conflict naming the organization.
  await t.rejects(importData(to.rt.sql, { ...doc, keys: [] }, { now: to.clock.now(), kek: null }), { reason: 'conflict', message: new RegExp(`organization\\(s\\) ${org}`) });
});
