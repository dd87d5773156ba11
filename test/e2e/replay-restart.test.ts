// The embedded default keeps replay markers in the process: a restart loses them. An assertion used
// before the restart must stay single-use after it (RFC 7523 §3 item 7, REQ-J7), whatever its iat
// (REQ-J6: the iat may be in the future), while fresh assertions work again seconds later.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertion, clientKey } from '../fixtures/assertion.js';
import { ASSERTION_MAX_FUTURE_IAT_SECONDS as F } from '../../src/storage/types.js';
import { fetchJson, registerClient, startServer, type ServerHandle } from './support.js';

t.setTimeout(240_000);

const API = 'https://api.example.com';
const now = () => Math.floor(Date.now() / 1000);

function tokenAssertion(s: ServerHandle, jws: string) {
  return fetchJson(`${s.url}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: jws }).toString(),
  });
}

t.test('embedded restart: assertions used before it are refused after it, whatever their iat', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tokenmill-replay-restart-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const adminToken = `replay-restart-${'z'.repeat(32)}`;
  const s1 = await startServer(t, { DATA_DIR: dataDir, ADMIN_TOKEN: adminToken });
  const key = await clientKey('ES256');
  const reg = await registerClient(s1.url, adminToken, {
    client_name: 'replay-restart',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [key.publicJwk] },
    scope: 'api:read',
    audience: [API],
  });

  const ahead58 = await assertion(key, reg.client_id, s1.issuer, now(), { iat: now() + 58, exp: now() + 240 });
  const ahead10 = await assertion(key, reg.client_id, s1.issuer, now(), { iat: now() + F, exp: now() + 240 });
  const r58 = await tokenAssertion(s1, ahead58);
  t.equal(r58.status, 401, `iat 58 s in the future: refused (tokenmill accepts at most ${F} s)`);
  t.equal(r58.body?.error, 'invalid_client');
  t.equal((await tokenAssertion(s1, ahead10)).status, 200, `iat ${F} s in the future: accepted once`);
  t.equal((await tokenAssertion(s1, ahead10)).status, 401, 'and its replay refused');
  t.same(await s1.stop('SIGTERM'), { code: 0, signal: null });

  const restartedAt = performance.now();
  const s2 = await startServer(t, { DATA_DIR: dataDir, ADMIN_TOKEN: adminToken, PORT: String(s1.port), ADMIN_PORT: String(s1.adminPort) });
  for (const [label, jws] of [
    [`iat = now + ${F}`, ahead10],
    ['iat = now + 58', ahead58],
  ] as const) {
    const res = await tokenAssertion(s2, jws);
    t.equal(res.status, 401, `after the restart, the assertion with ${label} is refused`);
    t.equal(res.body?.error, 'invalid_client');
    t.notOk(res.body?.access_token, 'no token');
  }
  const ready = await fetchJson(`${s2.url}/readyz`);
  t.equal(ready.status, 200, 'ready');
  t.equal(ready.body?.checks?.replay, 'ok');
  t.match(ready.body?.notes?.replay ?? '', /^replay markers lost at \d+: until \d+, assertions without iat or with iat <= \d+ are refused$/, 'readyz reports the untrusted window');

  let polls = 0;
  const deadline = performance.now() + 20_000;
  let elapsed = -1;
  while (performance.now() < deadline) {
    polls++;
    if ((await tokenAssertion(s2, await assertion(key, reg.client_id, s2.issuer, now()))).status === 200) {
      elapsed = performance.now() - restartedAt;
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const acceptedAt = Date.now() / 1000;
  const lossAt = Number(/lost at (\d+)/.exec(ready.body?.notes?.replay ?? '')?.[1]);
  t.ok(elapsed >= 0, `a fresh assertion (iat = now) is accepted again ${(elapsed / 1000).toFixed(1)} s after the restart began (${polls} tries)`);
  // L is the process start; the window refuses iat <= L + F, so iat = now passes from L + F + 1 on
  // (a slow start may take longer than that, and then the first try succeeds).
  t.ok(polls === 1 || acceptedAt <= lossAt + 10, `within 10 s of the process start (accepted at L + ${(acceptedAt - lossAt).toFixed(1)} s)`);
  t.equal((await tokenAssertion(s2, ahead10)).status, 401, 'the old assertion is still refused');
  t.same(await s2.stop('SIGTERM'), { code: 0, signal: null });
});
