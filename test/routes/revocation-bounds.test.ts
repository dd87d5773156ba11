// Issue 10 (trust boundaries), revocations: an admin revocation cannot outlive the longest token,
// the feed honours `limit` in snapshots too, and a verifier following the cursor gets every event.
import t from 'tap';
import { PollSource } from '../../packages/verify/src/poll-source.js';
import { DenySet } from '../../packages/verify/src/deny-set.js';
import { ADMIN_TOKEN, TestClock, build } from '../helper.js';
import { adminApp, admin } from '../admin/support.js';

interface Feed {
  tokens: { jti: string; exp: number }[];
  clients: unknown[];
  next_cursor: string;
  snapshot: boolean;
  has_more: boolean;
}

const clock = new TestClock(Math.floor(Date.now() / 1000) * 1000);
const b = await build(t, {}, { clock });
const api = adminApp(b);
const now = (): number => Math.floor(clock.now() / 1000);
const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };
const feed = async (query: string): Promise<Feed> => {
  const res = await b.app.inject({ method: 'GET', url: `/oauth2/revocations${query}`, headers: bearer });
  if (res.statusCode !== 200) throw new Error(`feed: ${res.statusCode} ${res.body}`);
  return res.json() as Feed;
};
const rows = async (): Promise<number> => Number((await b.rt.sql.query<{ n: string }>('SELECT count(*) AS n FROM revocations')).rows[0]?.n);

t.test('admin tokens/revoke: an exp beyond now + the longest token lifetime + skew is 400 naming exp, and nothing is stored', async (t) => {
  const before = await rows();
  const snapshot = await feed('');
  for (const exp of [99_999_999_999, 1e300, now() + 86_400 + 61]) {
    const res = await admin(api, 'POST', '/admin/v1/tokens/revoke', { jti: `far-${exp}`, exp });
    t.equal(res.statusCode, 400, `exp ${exp}`);
    t.strictSame(res.json(), { error: 'invalid_request', error_description: 'exp: must be at most 86460 seconds from now (the longest token lifetime plus clock skew)' });
  }
  t.equal(await rows(), before, 'no revocation row');
  t.strictSame((await feed('')).tokens, snapshot.tokens, 'nothing in the feed');

  const edge = now() + 86_400 + 60;
  const ok = await admin(api, 'POST', '/admin/v1/tokens/revoke', { jti: 'edge', exp: edge });
  t.equal(ok.statusCode, 200, 'exactly now + 86460 is accepted');
  t.strictSame(ok.json(), { jti: 'edge', exp: edge, revoked: true });
});

t.test('feed: ?limit=10 without a cursor is a 10-event snapshot page; its cursor continues it, each event once', async (t) => {
  const start = (await feed('')).tokens.length;
  const exp = now() + 600;
  for (let i = 0; i < 25; i++) {
    const res = await admin(api, 'POST', '/admin/v1/tokens/revoke', { jti: `paged-${i}`, exp });
    if (res.statusCode !== 200) throw new Error(res.body);
  }
  const total = start + 25;
  const first = await feed('?limit=10');
  t.equal(first.tokens.length, 10, 'the snapshot page holds limit events');
  t.equal(first.snapshot, true);
  t.equal(first.has_more, true);
  const seen = [...first.tokens];
  let page = first;
  for (let i = 0; page.has_more && i < 10; i++) {
    page = await feed(`?since=${encodeURIComponent(page.next_cursor)}&limit=10`);
    t.ok(page.tokens.length <= 10);
    seen.push(...page.tokens);
  }
  t.equal(seen.length, total, 'every live revocation');
  t.equal(new Set(seen.map((e) => e.jti)).size, total, 'each exactly once');
  t.strictSame(
    seen.slice(-25).map((e) => e.jti),
    Array.from({ length: 25 }, (_, i) => `paged-${i}`),
    'in order',
  );
  t.strictSame(await feed(`?since=${encodeURIComponent(page.next_cursor)}`), { tokens: [], clients: [], next_cursor: page.next_cursor, snapshot: false, has_more: false }, 'caught up');
});

t.test('the verifier (PollSource) follows a paged snapshot to the full deny set', async (t) => {
  const expected = (await feed('?limit=10000')).tokens;
  t.ok(expected.length > 20, 'several pages of revocations');
  const requested: string[] = [];
  const fetchPaged = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    url.searchParams.set('limit', '7');
    requested.push(url.search);
    const res = await b.app.inject({ method: 'GET', url: `${url.pathname}${url.search}`, headers: init?.headers as Record<string, string> });
    return new Response(res.body, { status: res.statusCode, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  const deny = new DenySet(60);
  const client = await admin(api, 'POST', '/admin/v1/clients', { client_name: 'feed reader', scope: 'api:read', audience: ['https://api.example.com'] });
  const created = client.json() as { client: { client_id: string }; client_secret: string };
  t.equal(client.statusCode, 201, 'a feed reader client');
  const source = new PollSource({
    endpoint: 'http://tokenmill.test/oauth2/revocations',
    clientId: created.client.client_id,
    clientSecret: created.client_secret,
    pollInterval: 60_000,
    timeout: 5_000,
    maxBackoff: 1_000,
    deny,
    fetch: fetchPaged,
  });
  t.teardown(() => source.close());
  source.start();
  for (let i = 0; i < 200 && source.cursor === undefined; i++) await new Promise((r) => setTimeout(r, 25));
  t.ok(requested.length >= Math.ceil(expected.length / 7), `the snapshot took ${requested.length} pages`);
  t.strictSame([...deny.tokens.keys()].sort(), expected.map((e) => e.jti).sort(), 'the deny set holds every revocation');
});
