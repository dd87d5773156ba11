// The failed-authentication limit across a fleet (README "Failed-authentication limit"; threat
// model REQ-A6, §3.1 "Rate limiter"): two real nodes share one count per source through Redis; the
// node whose count starts a block announces it to every node before it answers that failure;
// with Redis gone, each node counts on its own (weaker, never off) and nothing is answered 5xx.
// The nodes sit behind a "proxy" (TRUST_PROXY=true), so X-Forwarded-For names the source.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { backendOrSkip, pgTestDatabase } from '../helpers/backends.js';
import { pollUntil } from '../helpers/time.js';
import { basicAuth, fetchJson, fleetSecrets, hasBinary, registerOk, startNode, throwawayRedis, twoNodeFleet, type JsonResponse, type Node } from './support.js';

t.setTimeout(240_000);

const API = 'https://api.limit.example';
const MAX = 10;
const LIMIT = { AUTH_FAILURE_MAX: String(MAX), AUTH_FAILURE_WINDOW: '300', AUTH_FAILURE_BLOCK: '300', TRUST_PROXY: 'true' };
const THROTTLED = { error: 'too_many_requests', error_description: 'too many failed authentications from this address; retry later' };

function tokenFrom(node: Node, source: string, id: string, secret: string): Promise<JsonResponse> {
  return fetchJson(`${node.url}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(id, secret), 'x-forwarded-for': source },
    body: 'grant_type=client_credentials',
  });
}

async function failures(node: Node, source: string, id: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await tokenFrom(node, source, id, `wrong-${i}`)).status);
  return out;
}

function checkThrottled(t: Test, res: JsonResponse, what: string): void {
  t.equal(res.status, 429, `${what}: 429`);
  t.equal(res.text, JSON.stringify(THROTTLED), `${what}: exact body`);
  t.match(res.headers.get('retry-after') ?? '', /^[1-9]\d*$/, `${what}: Retry-After`);
  t.equal(res.headers.get('cache-control'), 'no-store', `${what}: Cache-Control: no-store`);
  t.equal(res.headers.get('pragma'), 'no-cache', `${what}: Pragma: no-cache`);
}

const fill = (n: number, status: number) => new Array<number>(n).fill(status);

t.test('two nodes on one Redis share the count per source', async (t) => {
  const fleet = await twoNodeFleet(t, 'info');
  if (!fleet) return;
  const { env, portA, portB, adminToken } = fleet;
  const [A, B] = await Promise.all([startNode(t, { name: 'A', env: { ...env, ...LIMIT, PORT: String(portA) } }), startNode(t, { name: 'B', env: { ...env, ...LIMIT, PORT: String(portB) } })]);
  const c = await registerOk(A, adminToken, { client_name: 'limit', scope: 'api:read', audience: [API] });
  const S = '203.0.113.21';

  // 5 + 5 failures: the shared count is at MAX; per node it would be 5 of 10.
  t.same(await failures(A, S, c.client_id, 5), fill(5, 401), '5 failures at A');
  t.same(await failures(B, S, c.client_id, 5), fill(5, 401), '5 failures at B');
  t.same(await failures(A, S, c.client_id, 1), [401], 'the 11th failure (at A) is answered 401 and starts the block');
  // B has made no failure since the block started: A's announcement reached it before A answered.
  checkThrottled(t, await tokenFrom(B, S, c.client_id, c.client_secret), 'B refuses the right secret from the blocked source at once');
  checkThrottled(t, await tokenFrom(A, S, c.client_id, c.client_secret), 'A refuses the blocked source, right secret or not');
  checkThrottled(t, await tokenFrom(B, S, c.client_id, 'wrong-again'), 'and B a wrong one');

  for (const node of [A, B]) {
    const other = await tokenFrom(node, '198.51.100.21', c.client_id, c.client_secret);
    t.equal(other.status, 200, `${node.name}: the same client from another source still gets tokens (REQ-A6)`);
  }
  t.equal(A.jsonLines().filter((l) => l.msg === 'too many failed authentications from one source: answered 429 until the block ends').length, 1, 'A logs the start of the block once');
  t.equal(B.jsonLines().filter((l) => l.msg === 'too many failed authentications from one source: answered 429 until the block ends').length, 0, 'B, which only heard of it, does not');
});

t.test('Redis down mid-run: each node counts on its own, nothing is answered 5xx, the limit still throttles', async (t) => {
  const pgUrl = backendOrSkip(t, 'postgres');
  if (!pgUrl) return;
  if (!hasBinary('redis-server')) {
    t.skip('redis-server is not on PATH: this suite starts and kills its own Redis', () => {});
    return;
  }
  const databaseUrl = await pgTestDatabase(t);
  const redis = await throwawayRedis(t);
  const secrets = fleetSecrets();
  const env = { ...secrets, ...LIMIT, DATABASE_URL: databaseUrl, REDIS_URL: redis.url, REDIS_KEY_PREFIX: `tmtest:${randomBytes(6).toString('hex')}:` };
  const A = await startNode(t, { name: 'A', env });
  const B = await startNode(t, { name: 'B', env: { ...env, ISSUER: A.url } });
  const c = await registerOk(A, secrets.ADMIN_TOKEN, { client_name: 'limit-outage', scope: 'api:read', audience: [API] });
  const statuses: number[] = [];
  const send = async (node: Node, source: string, secret: string) => {
    const res = await tokenFrom(node, source, c.client_id, secret);
    statuses.push(res.status);
    return res;
  };

  const S = '203.0.113.31';
  for (let i = 0; i < 4; i++) await send(A, S, 'wrong');
  await redis.kill();
  const noticed = await pollUntil(async () => (await fetchJson(`${A.url}/readyz`)).status === 503 && (await fetchJson(`${B.url}/readyz`)).status === 503, { timeoutMs: 10_000, intervalMs: 50 });
  t.ok(noticed.ok, 'both nodes notice the outage');

  // Per node now: MAX failures pass at each node, the next one blocks there.
  const atA: number[] = [];
  for (let i = 0; i < MAX + 1; i++) atA.push((await send(A, S, 'wrong')).status);
  t.same(atA, fill(MAX + 1, 401), `A: ${MAX} failures and the one that starts the block, counted at A alone`);
  checkThrottled(t, await send(A, S, c.client_secret), 'A throttles during the outage');
  const atB: number[] = [];
  for (let i = 0; i < MAX + 1; i++) atB.push((await send(B, S, 'wrong')).status);
  t.same(atB, fill(MAX + 1, 401), `B counts on its own: ${MAX + 1} failures before its block`);
  checkThrottled(t, await send(B, S, 'wrong'), 'B throttles during the outage');

  const ok = await send(A, '198.51.100.31', c.client_secret);
  t.equal(ok.status, 200, 'secret clients from another source keep getting tokens');
  t.same(
    statuses.filter((s) => s >= 500),
    [],
    `no answer was 5xx (${statuses.length} requests)`,
  );
  for (const node of [A, B]) {
    const lines = node.jsonLines().filter((l) => l.msg === 'redis unavailable: failed authentications are counted per node until it is back');
    t.equal(lines.length, 1, `${node.name}: the fallback is logged once`);
  }

  // Redis back: the count is shared again.
  await redis.start();
  const back = await pollUntil(async () => (await fetchJson(`${A.url}/readyz`)).status === 200 && (await fetchJson(`${B.url}/readyz`)).status === 200, { timeoutMs: 20_000, intervalMs: 100 });
  t.ok(back.ok, 'both nodes ready again');
  const S2 = '203.0.113.32';
  t.same(await failures(A, S2, c.client_id, 6), fill(6, 401), '6 failures at A');
  t.same(await failures(B, S2, c.client_id, 5), fill(5, 401), '5 at B: the 11th overall starts the block');
  checkThrottled(t, await tokenFrom(B, S2, c.client_id, c.client_secret), 'B throttles on the shared count');
  t.ok(
    A.jsonLines().some((l) => l.msg === 'redis restored: failed authentications are counted for the fleet again'),
    'A logs that the shared count is back',
  );
});
