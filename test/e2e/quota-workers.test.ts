// WORKERS=2 on the embedded default: the workers add their quota counts to the primary in batches
// (every 100 ms over IPC), so a per_hour quota holds across both workers within the README bound,
// and the usage recorded through the primary counts every token.
import t from 'tap';
import { request } from 'node:http';
import { basicAuth, registerClient, startServer } from './support.js';
import { pollUntil } from '../helpers/time.js';

t.setTimeout(240_000);

const ADMIN = `quota-workers-${'q'.repeat(32)}`;

/** One request on a connection of its own, so node:cluster spreads them over both workers. */
function fresh(url: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: body === undefined ? 'GET' : 'POST', headers: { connection: 'close', ...headers }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

t.test('a quota holds across two workers of one node', async (t) => {
  const server = await startServer(t, { ADMIN_TOKEN: ADMIN, WORKERS: '2', LOG_LEVEL: 'info' });
  const c = await registerClient(server.url, ADMIN, { client_name: 'workers-quota' });
  const patched = await fetch(`${server.adminUrl}/admin/v1/clients/${c.client_id}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ token_quota: { per_hour: 100, enforce: true } }),
  });
  t.equal(patched.status, 200);
  const hour = Math.floor(Date.now() / 3_600_000);
  const statuses = new Map<number, number>();
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < 300) {
        next++;
        const res = await fresh(
          `${server.url}/oauth2/token`,
          { authorization: basicAuth(c.client_id, c.client_secret), 'content-type': 'application/x-www-form-urlencoded' },
          'grant_type=client_credentials',
        );
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  if (Math.floor(Date.now() / 3_600_000) !== hour) return void t.comment('crossed a UTC hour: not checked');
  const issued = statuses.get(200) ?? 0;
  const bound = Math.ceil((300 / seconds) * 2 * (0.1 + 0.1));
  t.comment(`issued ${issued} of 300 in ${seconds.toFixed(2)} s with per_hour 100 over 2 workers; overrun ${issued - 100}, bound ${bound}`);
  t.same([...statuses.keys()].sort(), [200, 429], 'only 200 and 429');
  t.ok(issued >= 100 && issued - 100 <= bound, `issued ${issued} within [100, 100 + ${bound}]`);
  const seen = await pollUntil(
    async () => {
      const u = (await (await fetch(`${server.adminUrl}/admin/v1/clients/${c.client_id}/usage`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as {
        quota: { hour?: { used: number } };
        hours: { tokens: number }[];
      };
      return u.quota.hour?.used === issued && u.hours[47]?.tokens === issued;
    },
    { timeoutMs: 15_000, intervalMs: 500 },
  );
  t.ok(seen.ok, 'usage through the primary counts every token of both workers');
});
