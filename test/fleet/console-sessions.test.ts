// Web console sessions across a fleet (docs/contract.md "Console"): a session signed in on node A is
// served by node B (they share the SQL table), its CSRF token is the same on both, and signing out on
// B ends it on A at once. Two real processes on the test PostgreSQL and Redis.
import t from 'tap';
import { spawnNode, twoNodeFleet, waitReady } from './support.js';

t.setTimeout(300_000);

const cookieOf = (res: Response): string | null => /^tm_console=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1] ?? null;
const csrfOf = (body: string): string | null => /name="_csrf" value="([^"]+)"/.exec(body)?.[1] ?? null;
const page = (base: string, cookie: string) => fetch(`${base}/console/`, { headers: { cookie: `tm_console=${cookie}` }, redirect: 'manual' });
const postForm = (base: string, path: string, fields: Record<string, string>, cookie: string | null) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base, 'sec-fetch-site': 'same-origin', ...(cookie ? { cookie: `tm_console=${cookie}` } : {}) },
    body: new URLSearchParams(fields).toString(),
  });

t.test('a console session works on every node and ends on every node', async (t) => {
  const fleet = await twoNodeFleet(t, 'warn');
  if (!fleet) return;
  const { env, portA, portB, adminToken } = fleet;
  const A = await spawnNode(t, { name: 'A', env: { ...env, PORT: String(portA) } });
  await waitReady(A);
  const B = await spawnNode(t, { name: 'B', env: { ...env, PORT: String(portB) } });
  await waitReady(B);

  const signIn = await postForm(A.adminUrl, '/console/sign-in', { method: 'admin_token', admin_token: adminToken }, null);
  t.equal(signIn.status, 303, 'signed in on A');
  const cookie = cookieOf(signIn);
  if (!cookie) return t.fail('no session cookie');

  const onA = await page(A.adminUrl, cookie);
  const onB = await page(B.adminUrl, cookie);
  t.equal(onA.status, 200, 'A serves the session');
  t.equal(onB.status, 200, 'B serves the session signed in on A');
  const csrfA = csrfOf(await onA.text());
  const csrfB = csrfOf(await onB.text());
  t.ok(csrfA);
  t.equal(csrfB, csrfA, 'the CSRF token is the same on both nodes (derived from the session)');

  const out = await postForm(B.adminUrl, '/console/sign-out', { _csrf: csrfB ?? '' }, cookie);
  t.equal(out.status, 303, 'signed out on B');
  const afterA = await page(A.adminUrl, cookie);
  t.equal(afterA.status, 303, 'the session is dead on A too');
  t.equal(afterA.headers.get('location'), '/console/sign-in?notice=expired');
});
