// WORKERS=2 on the embedded default: the primary process owns PGlite, revocations and replay
// markers; two workers serve the listeners and reach the stores over IPC. Which worker answered is
// read from the request log (every line carries its pid), never from a response header; each
// request below opens its own connection, so node:cluster spreads them over both workers.
import t from 'tap';
import { request } from 'node:http';
import { YOUNG_GENERATION_FLAG } from '../../src/lib/node-flags.js';
import { assertion, clientKey } from '../fixtures/assertion.js';
import { basicAuth, registerClient, startServer, type ServerHandle } from './support.js';
import { commandLine } from '../helpers/server-process.js';
import { sleep } from '../helpers/time.js';

t.setTimeout(280_000);

const ADMIN = `workers-embedded-${'w'.repeat(32)}`;
const API = 'https://api.example.com';
const now = () => Math.floor(Date.now() / 1000);

interface Answer {
  status: number;
  body: any;
}

/** One request on a connection of its own (no keep-alive), so consecutive requests can reach different workers. */
function fresh(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: { connection: 'close', ...init.headers }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let body: any;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error('timeout')));
    req.end(init.body);
  });
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function basicToken(s: ServerHandle, id: string, secret: string): Promise<Answer> {
  return fresh(`${s.url}/oauth2/token`, { method: 'POST', headers: { ...FORM, authorization: basicAuth(id, secret) }, body: form({ grant_type: 'client_credentials' }) });
}
function assertionToken(s: ServerHandle, jws: string): Promise<Answer> {
  return fresh(`${s.url}/oauth2/token`, {
    method: 'POST',
    headers: FORM,
    body: form({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: jws }),
  });
}

/** The pids that logged `listening` (the workers) and the primary's (the process itself). */
function workerPids(s: ServerHandle): Set<number> {
  return new Set(
    s
      .jsonLines()
      .filter((l) => l.msg === 'listening')
      .map((l) => Number(l.pid)),
  );
}

/** Request-log lines written since line `from`, for `path`, with `status`: the pids that answered. */
function answeredBy(s: ServerHandle, from: number, path: string, status: number): number[] {
  return s
    .jsonLines()
    .slice(from)
    .filter((l) => l.msg === 'request' && l.path === path && l.status === status)
    .map((l) => Number(l.pid));
}

/** Logs are written asynchronously: wait until `n` matching request lines arrived. */
async function waitForLines(s: ServerHandle, from: number, path: string, status: number, n: number): Promise<number[]> {
  const deadline = Date.now() + 10_000;
  let pids = answeredBy(s, from, path, status);
  while (pids.length < n && Date.now() < deadline) {
    await sleep(50);
    pids = answeredBy(s, from, path, status);
  }
  return pids;
}

t.test('WORKERS=2 on the embedded default', async (t) => {
  const s = await startServer(t, { WORKERS: '2', ADMIN_TOKEN: ADMIN }, { readyTimeoutMs: 120_000 });
  // Both workers listen; the primary does not.
  let workers = workerPids(s);
  for (let i = 0; i < 200 && workers.size < 2; i++) {
    await sleep(100);
    workers = workerPids(s);
  }
  t.equal(workers.size, 2, 'two workers listen');
  t.notOk(workers.has(s.pid), 'the primary process serves no listener');
  if (process.platform === 'linux') {
    // Started as `node dist/src/server.cjs` (no options): the primary still gives its workers the young generation's cap.
    t.notOk(commandLine(s.pid).includes(YOUNG_GENERATION_FLAG), 'the primary was started without it');
    for (const pid of workers) t.ok(commandLine(pid).includes(YOUNG_GENERATION_FLAG), `worker ${pid} runs with ${YOUNG_GENERATION_FLAG}`);
  }
  t.ok(
    s.jsonLines().some((l) => l.pid === s.pid && l.msg === 'stores in use (primary process; workers reach them over IPC)'),
    'the primary opened the stores',
  );

  const secretClient = await registerClient(s.url, ADMIN, { client_name: 'workers-basic', scope: 'api:read', audience: [API] });
  const key = await clientKey('ES256');
  const jwtClient = await registerClient(s.url, ADMIN, {
    client_name: 'workers-pkjwt',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [key.publicJwk] },
    scope: 'api:read',
    audience: [API],
  });

  await t.test('tokens come from both workers', async (t) => {
    const from = s.jsonLines().length;
    const answers = await Promise.all(Array.from({ length: 16 }, () => basicToken(s, secretClient.client_id, secretClient.client_secret)));
    t.ok(
      answers.every((a) => a.status === 200 && typeof a.body?.access_token === 'string'),
      'every request got a token',
    );
    const pids = await waitForLines(s, from, '/oauth2/token', 200, 16);
    t.same(new Set(pids), workers, 'answered by both workers (request log pids)');
  });

  await t.test('a client assertion is single-use across workers and connections', async (t) => {
    const jws = await assertion(key, jwtClient.client_id, s.issuer, now());
    t.equal((await assertionToken(s, jws)).status, 200, 'first use: a token');
    const from = s.jsonLines().length;
    const retries = await Promise.all(Array.from({ length: 12 }, () => assertionToken(s, jws)));
    t.ok(
      retries.every((r) => r.status === 401 && r.body?.error === 'invalid_client'),
      'every retry refused with invalid_client',
    );
    const pids = await waitForLines(s, from, '/oauth2/token', 401, 12);
    t.same(new Set(pids), workers, 'the retries reached both workers');

    // Concurrent first uses of one assertion: exactly one wins, wherever they land.
    for (let round = 0; round < 3; round++) {
      const racing = await assertion(key, jwtClient.client_id, s.issuer, now());
      const results = await Promise.all(Array.from({ length: 8 }, () => assertionToken(s, racing)));
      t.equal(results.filter((r) => r.status === 200).length, 1, `round ${round + 1}: exactly one of 8 concurrent uses succeeds`);
    }
  });

  await t.test('a client disabled through the admin API is refused on every worker within 1 s', async (t) => {
    const victim = await registerClient(s.url, ADMIN, { client_name: 'workers-disable', scope: 'api:read', audience: [API] });
    // Warm both workers' client caches (CLIENT_CACHE_TTL is 30 s: without invalidation they would keep serving it).
    const warmFrom = s.jsonLines().length;
    const warm = await Promise.all(Array.from({ length: 12 }, () => basicToken(s, victim.client_id, victim.client_secret)));
    t.ok(
      warm.every((a) => a.status === 200),
      'served before',
    );
    t.same(new Set(await waitForLines(s, warmFrom, '/oauth2/token', 200, 12)), workers, 'both workers hold the client');

    const disabledAt = performance.now();
    const patched = await fresh(`${s.adminUrl}/admin/v1/clients/${victim.client_id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'disabled' }),
    });
    t.equal(patched.status, 200, 'disabled');
    const wait = 1000 - (performance.now() - disabledAt);
    if (wait > 0) await sleep(wait);
    const from = s.jsonLines().length;
    const after = await Promise.all(Array.from({ length: 12 }, () => basicToken(s, victim.client_id, victim.client_secret)));
    t.ok(
      after.every((a) => a.status === 401 && a.body?.error === 'invalid_client'),
      '1 s after the change, every connection is refused',
    );
    t.same(new Set(await waitForLines(s, from, '/oauth2/token', 401, 12)), workers, 'refused by both workers');
  });

  await t.test('a key rotation is in the JWKS every worker serves', async (t) => {
    const rotated = await fresh(`${s.adminUrl}/admin/v1/keys/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ alg: 'ES256' }),
    });
    t.equal(rotated.status, 201, 'rotated');
    const kid = rotated.body?.kid as string;
    t.type(kid, 'string');
    const from = s.jsonLines().length;
    const sets = await Promise.all(Array.from({ length: 12 }, () => fresh(`${s.url}/.well-known/jwks.json`)));
    t.ok(
      sets.every((r) => r.status === 200 && (r.body?.keys ?? []).some((k: { kid?: string }) => k.kid === kid)),
      'every JWKS lists the new key',
    );
    t.same(new Set(await waitForLines(s, from, '/.well-known/jwks.json', 200, 12)), workers, 'served by both workers');
  });

  await t.test('a worker that dies is replaced', async (t) => {
    const [victim] = [...workers];
    process.kill(victim!, 'SIGKILL');
    let next = workerPids(s);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (next.size < 3 || ![...next].some((p) => !workers.has(p)))) {
      await sleep(200);
      next = workerPids(s);
    }
    const replacement = [...next].find((p) => !workers.has(p));
    t.ok(replacement, 'a new worker listens');
    t.ok(
      s.jsonLines().some((l) => l.msg === 'worker died; starting another' && l.worker === victim),
      'the primary logged the death',
    );
    const answers = await Promise.all(Array.from({ length: 8 }, () => basicToken(s, secretClient.client_id, secretClient.client_secret)));
    t.ok(
      answers.every((a) => a.status === 200),
      'tokens are issued after the restart',
    );
    workers = new Set([...workers].filter((p) => p !== victim).concat(replacement ? [replacement] : []));
  });

  await t.test('SIGTERM: workers drain, the primary exits 0', async (t) => {
    const exit = await s.stop('SIGTERM', 60_000);
    t.same(exit, { code: 0, signal: null }, 'exit 0');
    for (const pid of workers) {
      let alive = true;
      try {
        process.kill(pid, 0);
      } catch {
        alive = false;
      }
      t.notOk(alive, `worker ${pid} is gone`);
    }
  });
});
