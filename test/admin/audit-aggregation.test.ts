// Issue 10 (trust boundaries): unauthenticated admin and registration attempts are audited as one
// row per source, action and minute with a count; authenticated calls, 403s included, one row each.
import t from 'tap';
import { ISSUER, build, register } from '../helper.js';
import { accessToken, admin, adminApp, tokenBasic } from './support.js';

const b = await build(t, { TRUST_PROXY: 'true' });
const api = adminApp(b);

interface Row {
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  status: number | null;
  count: number;
  source: string | null;
}
const auditRows = async (): Promise<Row[]> => {
  // (optional: this file also runs against code without aggregation, where each refusal is a row)
  await (b.rt as { refusalAudit?: { flush(): Promise<void> } }).refusalAudit?.flush();
  const { rows } = await b.rt.sql.query<{ actor: string; action: string; target: string | null; outcome: string; detail: Record<string, unknown> | null }>(
    'SELECT actor, action, target, outcome, detail FROM audit_log ORDER BY id',
  );
  await b.rt.sql.query('DELETE FROM audit_log');
  return rows.map((r) => ({
    actor: r.actor,
    action: r.action,
    target: r.target,
    outcome: r.outcome,
    status: (r.detail?.status as number) ?? null,
    count: (r.detail?.count as number) ?? 1,
    source: (r.detail?.source as string) ?? null,
  }));
};
const from = (ip: string) => ({ 'x-forwarded-for': ip });

t.test('200 unauthenticated admin calls from one address write one row with count 200 (not 200 rows)', async (t) => {
  await auditRows();
  for (let i = 0; i < 200; i++) {
    const headers: Record<string, string> = { ...from('203.0.113.7') };
    if (i % 2) headers.authorization = 'Bearer not-the-admin-token-0123456789abcdefghijklmnop';
    const res = await api.inject({ method: 'GET', url: '/admin/v1/clients', headers });
    if (res.statusCode !== 401) throw new Error(`expected 401, got ${res.statusCode}`);
  }
  t.strictSame(await auditRows(), [{ actor: 'unauthenticated', action: 'client.list', target: null, outcome: 'failure', status: 401, count: 200, source: '203.0.113.7' }]);
});

t.test('one row per source (request.ip, honouring TRUST_PROXY) and action', async (t) => {
  for (const ip of ['203.0.113.7', '198.51.100.1', '203.0.113.7']) await api.inject({ method: 'GET', url: '/admin/v1/clients', headers: from(ip) });
  await api.inject({ method: 'GET', url: '/admin/v1/keys', headers: from('203.0.113.7') });
  const rows = await auditRows();
  t.strictSame(
    rows.map((r) => [r.action, r.source, r.count]),
    [
      ['client.list', '203.0.113.7', 2],
      ['client.list', '198.51.100.1', 1],
      ['key.list', '203.0.113.7', 1],
    ],
  );
});

t.test('the audit API shows count and source', async (t) => {
  for (let i = 0; i < 3; i++) await api.inject({ method: 'GET', url: '/admin/v1/keys', headers: from('192.0.2.9') });
  await (b.rt as { refusalAudit?: { flush(): Promise<void> } }).refusalAudit?.flush();
  const res = await admin(api, 'GET', '/admin/v1/audit?limit=5');
  t.equal(res.statusCode, 200);
  t.match((res.json() as { items: unknown[] }).items, [{ actor: 'unauthenticated', action: 'key.list', outcome: 'failure', status: 401, count: 3, source: '192.0.2.9' }]);
  await auditRows();
});

t.test('authenticated calls are one row each, 403s of an authenticated caller included', async (t) => {
  const c = await register(b.app, { client_name: 'weak', scope: 'api:read', audience: [ISSUER] });
  await auditRows();
  const token = await accessToken(tokenBasic(b.app, c.client_id, c.client_secret ?? '', { scope: 'api:read' }));
  for (let i = 0; i < 3; i++) t.equal((await admin(api, 'GET', '/admin/v1/clients', undefined, token)).statusCode, 403);
  for (let i = 0; i < 2; i++) t.equal((await admin(api, 'GET', '/admin/v1/clients')).statusCode, 200);
  const rows = await auditRows();
  t.equal(rows.length, 5, 'five rows');
  t.strictSame(
    rows.map((r) => [r.actor.split(':')[0], r.status, r.count, r.source]),
    [
      ['client', 403, 1, null],
      ['client', 403, 1, null],
      ['client', 403, 1, null],
      ['admin-token', 200, 1, null],
      ['admin-token', 200, 1, null],
    ],
  );
});

t.test('failed initial access tokens and registration access tokens are aggregated too', async (t) => {
  const c = await register(b.app, {});
  await auditRows();
  for (let i = 0; i < 50; i++) {
    const res = await b.app.inject({ method: 'POST', url: '/oauth2/register', headers: { authorization: 'Bearer wrong', 'content-type': 'application/json', ...from('203.0.113.8') }, payload: {} });
    if (res.statusCode !== 401) throw new Error(`expected 401, got ${res.statusCode}`);
  }
  for (let i = 0; i < 20; i++) {
    const res = await b.app.inject({ method: 'GET', url: `/oauth2/register/${i % 2 ? c.client_id : `tmc_nosuch${i}`}`, headers: { authorization: 'Bearer wrong', ...from('203.0.113.8') } });
    if (res.statusCode !== 401) throw new Error(`expected 401, got ${res.statusCode}`);
  }
  t.strictSame(
    (await auditRows()).map((r) => [r.actor, r.action, r.target, r.outcome, r.status, r.count, r.source]),
    [
      ['unauthenticated', 'client.register', null, 'failure', 401, 50, '203.0.113.8'],
      ['unauthenticated', 'client.read', null, 'failure', 401, 20, '203.0.113.8'],
    ],
  );
});
