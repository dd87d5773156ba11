// WORKERS=2 on the embedded default: failed authentications are counted by the primary for both
// workers (README "Failed-authentication limit"), so the limit holds for the node, not per worker.
// Each worker keeps its own map of blocked sources; the primary sends a block to every worker
// before the failure that started it is answered, so no worker lets the source through afterwards,
// right secret or not. Every request opens its own connection, so node:cluster spreads them over
// both workers.
import t from 'tap';
import { request } from 'node:http';
import { basicAuth, registerClient, startServer, type ServerHandle } from './support.js';

t.setTimeout(200_000);

const ADMIN = `failure-limit-workers-${'w'.repeat(32)}`;
const MAX = 6;

function token(s: ServerHandle, id: string, secret: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${s.url}/oauth2/token`,
      { method: 'POST', headers: { connection: 'close', 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(id, secret) }, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error('timeout')));
    req.end('grant_type=client_credentials');
  });
}

t.test('WORKERS=2: one count per source for the node', async (t) => {
  const s = await startServer(t, { WORKERS: '2', ADMIN_TOKEN: ADMIN, AUTH_FAILURE_MAX: String(MAX), AUTH_FAILURE_WINDOW: '300', AUTH_FAILURE_BLOCK: '300' }, { readyTimeoutMs: 120_000 });
  const c = await registerClient(s.url, ADMIN, { client_name: 'workers-limit', scope: 'api:read', audience: ['https://api.example.com'] });

  const first: number[] = [];
  for (let i = 0; i < MAX + 1; i++) first.push(await token(s, c.client_id, `wrong-${i}`));
  t.same(first, new Array<number>(MAX + 1).fill(401), `${MAX + 1} failures spread over both workers: the last one starts the block`);
  // Counted per worker, neither worker would be past MAX yet (they share the connections about evenly).
  const next: number[] = [];
  for (let i = 0; i < 20; i++) next.push(await token(s, c.client_id, `wrong-again-${i}`));
  t.same(next, new Array<number>(20).fill(429), 'every later attempt: 429, at either worker (none learns of the block by failing first)');
  for (let i = 0; i < 4; i++) t.equal(await token(s, c.client_id, c.client_secret as string), 429, 'the right secret from the blocked source: 429, whichever worker');
  const starts = s.jsonLines().filter((l) => l.msg === 'too many failed authentications from one source: answered 429 until the block ends');
  t.equal(starts.length, 1, 'the start of the block is logged once, by the worker whose failure started it');
  t.match(starts[0], { level: 40, key: '127.0.0.1', endpoint: 'token', blockSeconds: 300 }, 'with the source and the endpoint');
});
